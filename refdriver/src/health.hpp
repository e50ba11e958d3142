// HealthMonitor: watches devices (NVML events and queries, FPGA error
// registers) and keeps the per-device health the health stream and the
// slice taints report.
#ifndef DRAHIL_REFDRIVER_HEALTH_HPP_INCLUDED
#define DRAHIL_REFDRIVER_HEALTH_HPP_INCLUDED

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "drahil/core/clock.hpp"
#include "driver.hpp"
#include "nvml.hpp"

namespace drahil::refdriver {

class HealthMonitor {
 public:
  // clock: the time of checks, the Xid recovery window and the reported
  // timestamps; must outlive the monitor.
  HealthMonitor(const Options& opts, const Inventory& inv, Nvml* nvml,
                Clock& clock = Clock::Real());
  ~HealthMonitor();
  // Start(): one check at once, then a background thread.
  void Start(std::function<void()> on_change);
  void Stop();
  std::map<std::string, DeviceHealthState> Snapshot() const;
  // WaitForChange(): blocks until the version differs from `seen` or timeout.
  // It also returns when WakeWaiters() was called (shutting down).
  uint64_t WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const;
  void WakeWaiters();
  uint64_t version() const;
  // EverUnhealthy(): true once any device was reported unhealthy.
  bool EverUnhealthy() const { return ever_unhealthy_; }
  bool stopping() const { return stop_; }

 private:
  void Loop();
  void CheckOnce();
  struct GpuWatch {
    int device_pos;  // in inventory
    nvmlDevice_t handle{};
    unsigned long long ecc_baseline = 0;
    bool lost = false;
    std::string xid_message;
    Clock::TimePoint xid_time{};
    unsigned long long ecc_now = 0;
  };
  // CheckGpu(): one GPU's health from NVML; updates its watch (lost state,
  // Xid message, ECC count).
  DeviceHealthState CheckGpu(GpuWatch& w, int64_t now, Clock::TimePoint steady);
  // DeviceStates(): the health of every published device: its GPU's state
  // (`gpu_state`, by inventory position; a MIG device its parent's), or its
  // FPGA error registers.
  std::map<std::string, DeviceHealthState> DeviceStates(
      const std::map<int, DeviceHealthState>& gpu_state, int64_t now) const;
  // Commit(): stores `next` as the current state (planted bug health-stuck:
  // an unhealthy device stays so); true when anything changed.
  bool Commit(std::map<std::string, DeviceHealthState>& next, int64_t now);
  const Options& opts_;
  const Inventory& inv_;
  Nvml* nvml_;
  Clock& clock_;
  nvmlEventSet_t events_{};
  std::vector<GpuWatch> gpus_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::map<std::string, DeviceHealthState> state_;
  uint64_t version_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> woken_{false};
  std::atomic<bool> ever_unhealthy_{false};
  std::function<void()> on_change_;
  std::thread thread_;
};

}  // namespace drahil::refdriver

#endif
