// gRPC side of the driver: DRA v1 and v1beta1 node services and the
// v1alpha1 health stream on the DRA socket; plugin registration on the
// registration socket.
#ifndef DRAHIL_REFDRIVER_SERVER_HPP_INCLUDED
#define DRAHIL_REFDRIVER_SERVER_HPP_INCLUDED

#include <memory>

#include "driver.hpp"
#include "health.hpp"
#include "state.hpp"

namespace drahil::refdriver {

class Servers {
 public:
  Servers(const Options& opts, DriverState* state, HealthMonitor* health);
  ~Servers();
  // StartDra()/StartRegistration(): listen on the sockets (stale files are
  // removed first). Upstream starts the DRA socket first.
  Status StartDra();
  Status StartRegistration();
  // Shutdown(): stops both servers (cancelling health streams) and removes
  // the socket files.
  void Shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace drahil::refdriver

#endif
