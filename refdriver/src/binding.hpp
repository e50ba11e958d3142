// BindingController: for devices with binding conditions (FPGA regions that
// must be programmed), sets the Ready-style condition on the claim's
// status.devices once "programming" finished, or the failure condition when
// the region reports an error (KEP-5007).
#ifndef DRAHIL_REFDRIVER_BINDING_HPP_INCLUDED
#define DRAHIL_REFDRIVER_BINDING_HPP_INCLUDED

#include <atomic>
#include <thread>

#include "drahil/core/clock.hpp"
#include "drahil/kube/rest_client.hpp"
#include "driver.hpp"
#include "health.hpp"

namespace drahil::refdriver {

class BindingController {
 public:
  // clock: when programming counts as done and the conditions' times; must
  // outlive the controller.
  BindingController(const Options& opts, kube::RestClient* api, HealthMonitor* health,
                    Clock& clock = Clock::Real())
      : opts_(opts), api_(api), health_(health), clock_(clock) {}
  ~BindingController() { Stop(); }
  void Start();
  void Stop();

 private:
  void Pass();
  const Options& opts_;
  kube::RestClient* api_;
  HealthMonitor* health_;
  Clock& clock_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::map<std::string, Clock::TimePoint> first_seen_;  // uid/device -> when
};

}  // namespace drahil::refdriver

#endif
