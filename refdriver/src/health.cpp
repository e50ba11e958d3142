#include "health.hpp"

#include <spdlog/spdlog.h>

#include "drahil/core/file_util.hpp"

namespace drahil::refdriver {
namespace {
int64_t UnixSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
bool NonZeroRegister(const std::string& text) {
  for (char c : text) {
    if (c == 'x' || c == 'X' || c == '0' || c == '\n' || c == ' ') continue;
    return true;
  }
  return false;
}

// FpgaHealth(): unhealthy when one of the FPGA's error registers is set
// (the first one set is named).
DeviceHealthState FpgaHealth(const Device& d, int64_t now) {
  for (const auto& f : d.sysfs_error_files) {
    auto text = ReadFile(f);
    if (!text.ok() || !NonZeroRegister(*text)) continue;
    std::string v = *text;
    while (!v.empty() && v.back() == '\n') v.pop_back();
    return {2,
            "FPGA " + d.pci_bus_id + " error register " + f.substr(f.rfind("/fpga_region/") + 1) +
                " = " + v,
            false, now};
  }
  return {1, "", false, now};
}
}  // namespace

HealthMonitor::HealthMonitor(const Options& opts, const Inventory& inv, Nvml* nvml, Clock& clock)
    : opts_(opts), inv_(inv), nvml_(nvml), clock_(clock) {
  for (const auto& d : inv_.devices)
    if (Published(d))
      state_[d.name] = DeviceHealthState{1, "", false, UnixSeconds(clock_.WallNow())};
  if (nvml_ == nullptr) return;
  if (nvml_->nvmlEventSetCreate(&events_) != NVML_SUCCESS) events_ = nullptr;
  for (size_t i = 0; i < inv_.devices.size(); ++i) {
    const Device& d = inv_.devices[i];
    if (d.type != DeviceType::kGpu) continue;
    GpuWatch w;
    w.device_pos = static_cast<int>(i);
    if (nvml_->nvmlDeviceGetHandleByIndex_v2(static_cast<unsigned>(d.index), &w.handle) !=
        NVML_SUCCESS)
      continue;
    nvml_->nvmlDeviceGetTotalEccErrors(w.handle, NVML_MEMORY_ERROR_TYPE_UNCORRECTED,
                                       NVML_VOLATILE_ECC, &w.ecc_baseline);
    w.ecc_now = w.ecc_baseline;
    if (events_ != nullptr)
      nvml_->nvmlDeviceRegisterEvents(
          w.handle, nvmlEventTypeXidCriticalError | nvmlEventTypeDoubleBitEccError, events_);
    gpus_.push_back(w);
  }
}

HealthMonitor::~HealthMonitor() {
  Stop();
  if (events_ != nullptr && nvml_ != nullptr) nvml_->nvmlEventSetFree(events_);
}

void HealthMonitor::Start(std::function<void()> on_change) {
  on_change_ = std::move(on_change);
  CheckOnce();
  thread_ = std::thread([this] { Loop(); });
}

void HealthMonitor::Stop() {
  stop_ = true;
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::map<std::string, DeviceHealthState> HealthMonitor::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

uint64_t HealthMonitor::version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return version_;
}

uint64_t HealthMonitor::WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return version_ != seen || stop_ || woken_; });
  return version_;
}

void HealthMonitor::WakeWaiters() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void HealthMonitor::Loop() {
  auto next_check = clock_.Now() + opts_.health_interval;
  while (!stop_) {
    // Xid and ECC events arrive through the event set; wait in short slices
    // so Stop() is prompt.
    if (events_ != nullptr) {
      nvmlEventData_t ev{};
      nvmlReturn_t r = nvml_->nvmlEventSetWait_v2(events_, &ev, 50);
      if (r == NVML_SUCCESS) {
        for (auto& w : gpus_) {
          if (w.handle != ev.device) continue;
          w.xid_time = clock_.Now();
          if (ev.eventType == nvmlEventTypeXidCriticalError) {
            w.xid_message =
                "Xid " + std::to_string(ev.eventData) + " on " + inv_.devices[w.device_pos].uuid;
            if (ev.eventData == 79) w.lost = true;  // fallen off the bus
          } else {
            w.xid_message = "double-bit ECC error on " + inv_.devices[w.device_pos].uuid;
          }
          spdlog::warn("health: {}", w.xid_message);
        }
        CheckOnce();
        continue;
      }
    } else {
      clock_.SleepFor(std::chrono::milliseconds(50));
    }
    if (clock_.Now() >= next_check) {
      CheckOnce();
      next_check = clock_.Now() + opts_.health_interval;
    }
  }
}

DeviceHealthState HealthMonitor::CheckGpu(GpuWatch& w, int64_t now, Clock::TimePoint steady) {
  nvmlMemory_t mem{};
  nvmlReturn_t r = nvml_->nvmlDeviceGetMemoryInfo(w.handle, &mem);
  const std::string& uuid = inv_.devices[w.device_pos].uuid;
  if (r == NVML_ERROR_GPU_IS_LOST)
    return {2, "GPU " + uuid + " is lost (fallen off the bus)", true, now};
  if (w.lost && r == NVML_SUCCESS && steady - w.xid_time > opts_.health_recovery) w.lost = false;
  unsigned long long ecc = 0;
  if (nvml_->nvmlDeviceGetTotalEccErrors(w.handle, NVML_MEMORY_ERROR_TYPE_UNCORRECTED,
                                         NVML_VOLATILE_ECC, &ecc) == NVML_SUCCESS)
    w.ecc_now = ecc;
  bool xid_recent = !w.xid_message.empty() && steady - w.xid_time <= opts_.health_recovery;
  if (!xid_recent && r == NVML_SUCCESS) w.xid_message.clear();
  if (w.lost)
    return {2, w.xid_message.empty() ? "GPU " + uuid + " is lost" : w.xid_message, true, now};
  if (!w.xid_message.empty()) return {2, w.xid_message, false, now};
  if (w.ecc_now > w.ecc_baseline) {
    std::string n = std::to_string(w.ecc_now - w.ecc_baseline);
    return {2, n + " uncorrectable ECC error(s) on " + uuid, false, now};
  }
  if (r != NVML_SUCCESS) return {0, nvml_->Error("nvmlDeviceGetMemoryInfo", r), false, now};
  return {1, "", false, now};
}

std::map<std::string, DeviceHealthState> HealthMonitor::DeviceStates(
    const std::map<int, DeviceHealthState>& gpu_state, int64_t now) const {
  std::map<std::string, DeviceHealthState> next;
  for (size_t i = 0; i < inv_.devices.size(); ++i) {
    const Device& d = inv_.devices[i];
    if (!Published(d)) continue;
    DeviceHealthState s{1, "", false, now};
    if (IsFpgaType(d.type)) {
      s = FpgaHealth(d, now);
    } else {
      // A MIG device has its parent GPU's health.
      int pos = d.type == DeviceType::kMig ? d.parent : static_cast<int>(i);
      if (auto it = gpu_state.find(pos); it != gpu_state.end()) s = it->second;
    }
    if (s.message.size() > 1024) s.message = s.message.substr(0, 1021) + "...";
    next[d.name] = s;
  }
  return next;
}

bool HealthMonitor::Commit(std::map<std::string, DeviceHealthState>& next, int64_t now) {
  bool changed = false;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [name, s] : next) {
    auto& old = state_[name];
    // Planted bug: once unhealthy, never healthy again.
    if (opts_.Bug("health-stuck") && old.health == 2 && s.health != 2) s = old;
    if (old.health != s.health || old.message != s.message || old.lost != s.lost) changed = true;
    if (s.health == 2) ever_unhealthy_ = true;
  }
  for (auto& [name, s] : next) {
    if (!(opts_.Bug("health-stuck") && state_[name].health == 2 && s.health != 2)) state_[name] = s;
    state_[name].last_updated = now;
  }
  if (changed) ++version_;
  return changed;
}

void HealthMonitor::CheckOnce() {
  int64_t now = UnixSeconds(clock_.WallNow());
  auto steady = clock_.Now();
  std::map<int, DeviceHealthState> gpu_state;  // by inventory position
  for (auto& w : gpus_) gpu_state[w.device_pos] = CheckGpu(w, now, steady);
  std::map<std::string, DeviceHealthState> next = DeviceStates(gpu_state, now);
  if (!Commit(next, now)) return;
  cv_.notify_all();
  spdlog::info("health changed");
  if (on_change_) on_change_();
}

}  // namespace drahil::refdriver
