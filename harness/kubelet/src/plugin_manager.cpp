// The plugin manager's loops (docs/reference/protocol.md 2.2): the reconcile
// loop that registers new sockets and drops gone ones, and the connection
// monitor (kubelet monitor.go) that unregisters a plugin which stopped
// answering until it answers again.
#include <sys/stat.h>

#include <algorithm>

#include "kubelet_impl.hpp"

namespace drahil::kubelet {

using namespace std::chrono_literals;
using internal::GoStatusText;
using internal::IsSocket;
using internal::PluginWatcher;

namespace internal {

bool IsSocket(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

}  // namespace internal

Status KubeletStandIn::Impl::StartLoops() {
  {
    MutexLock lock(mu_);
    running_ = true;
  }
  auto w = PluginWatcher::Start(registry_dir_, [this](const std::string& path, bool created) {
    OnSocketEvent(path, created);
  });
  if (!w.ok()) {
    MutexLock lock(mu_);
    running_ = false;
    return w.status();
  }
  watcher_ = std::move(w).value();
  if (options_.wipe_slices) {
    // At start no driver is registered yet, so none is usable: the node
    // advertises nothing until its drivers come back. The kubelet wipes in
    // the background, in practice before any plugin registers; the stand-in
    // wipes before it watches for plugins, so a case sees the wipe done when
    // Start() or Restart() returns. A failure is retried by the loop.
    Status st = options_.wipe_slices("");
    if (st.ok()) {
      log_->info("deleted the node's ResourceSlices of every driver");
      Emit(Event{Event::Kind::kSlicesWiped, "", "deleted the ResourceSlices of every driver"});
    } else {
      log_->warn("deleting the node's ResourceSlices: {} (retrying)", st.message());
      MutexLock lock(mu_);
      pending_wipes_[""] = options_.clock->Now() + std::chrono::seconds(1);
    }
    wiper_ = std::thread([this] { WipeLoop(); });
  }
  reconciler_ = std::thread([this] { ReconcileLoop(); });
  if (options_.monitor_interval.count() > 0) monitor_ = std::thread([this] { MonitorLoop(); });
  return OkStatus();
}

void KubeletStandIn::Impl::StopLoops() {
  {
    MutexLock lock(mu_);
    if (!running_) return;
    running_ = false;
    if (monitor_ctx_ != nullptr) monitor_ctx_->TryCancel();
  }
  cv_.notify_all();
  if (monitor_.joinable()) monitor_.join();
  if (wiper_.joinable()) wiper_.join();
  if (watcher_) watcher_->Stop();
  watcher_.reset();
  if (reconciler_.joinable()) reconciler_.join();
  std::vector<Op> ops;
  {
    MutexLock lock(mu_);
    ops.swap(ops_);
  }
  for (auto& op : ops) op.thread.join();
  std::map<std::string, std::shared_ptr<Instance>> actual;
  {
    MutexLock lock(mu_);
    actual.swap(actual_);
    desired_.clear();
    retry_.clear();
    inflight_.clear();
    evicted_.clear();
    monitor_failures_.clear();
    pending_wipes_.clear();
  }
  for (auto& [socket, inst] : actual) {
    if (inst->health) inst->health->Stop();
  }
}

void KubeletStandIn::Impl::OnSocketEvent(const std::string& path, bool created) {
  MutexLock lock(mu_);
  evicted_.erase(path);
  monitor_failures_.erase(path);
  if (created) {
    desired_[path] = next_stamp_++;
  } else {
    desired_.erase(path);
    retry_.erase(path);
  }
  // The reconciler acts on the change now rather than at its next tick.
  kick_ = true;
  cv_.notify_all();
}

bool KubeletStandIn::Impl::Running() const {
  MutexLock lock(mu_);
  return running_;
}

void KubeletStandIn::Impl::ReconcileLoop() {
  MutexLock lock(mu_);
  while (running_) {
    kick_ = false;
    std::vector<std::shared_ptr<Instance>> gone;
    for (auto it = actual_.begin(); it != actual_.end();) {
      auto d = desired_.find(it->first);
      if (d == desired_.end() || d->second != it->second->stamp) {
        gone.push_back(it->second);
        it = actual_.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto& inst : gone) SyncWipeLocked(inst->state.name);
    for (auto it = ops_.begin(); it != ops_.end();) {
      if (it->done->load()) {
        it->thread.join();
        it = ops_.erase(it);
      } else {
        ++it;
      }
    }
    auto now = options_.clock->Now();
    for (const auto& [socket, stamp] : desired_) {
      if (actual_.count(socket) != 0 || inflight_.count(socket) != 0) continue;
      auto r = retry_.find(socket);
      if (r != retry_.end() && r->second.stamp == stamp && now < r->second.next) continue;
      inflight_.insert(socket);
      auto done = std::make_shared<std::atomic<bool>>(false);
      ops_.push_back(Op{std::thread([this, socket = socket, stamp = stamp, done] {
                          RegisterOp(socket, stamp);
                          done->store(true);
                        }),
                        done});
    }
    if (!gone.empty()) {
      lock.Unlock();
      for (auto& inst : gone) {
        if (inst->health) inst->health->Stop();
        log_->info("unregistered plugin {} ({})", inst->state.name,
                   inst->state.registration_socket);
        Emit(Event{Event::Kind::kUnregistered, inst->state.name,
                   "unregistered " + inst->state.name + " at " + inst->state.registration_socket});
      }
      gone.clear();
      lock.Lock();
      continue;  // re-check running_ and state without waiting
    }
    cv_.wait_for(lock, options_.reconcile_interval,
                 [this]() DRAHIL_REQUIRES(mu_) { return !running_ || kick_; });
  }
}

void KubeletStandIn::Impl::SyncWipeLocked(const std::string& driver) {
  if (!options_.wipe_slices) return;
  // The kubelet asks whether a plugin of the driver is connected; the
  // stand-in counts registered ones (an unreachable plugin leaves through
  // the connection monitor), so the delay starts a little later.
  for (const auto& [socket, inst] : actual_) {
    if (inst->state.name == driver) {
      pending_wipes_.erase(driver);
      return;
    }
  }
  pending_wipes_.emplace(driver, options_.clock->Now() + options_.wipe_delay);
}

void KubeletStandIn::Impl::WipeLoop() {
  std::map<std::string, std::chrono::milliseconds> backoff;  // per driver, after failures
  MutexLock lock(mu_);
  while (running_) {
    const auto now = options_.clock->Now();
    auto due = std::find_if(pending_wipes_.begin(), pending_wipes_.end(),
                            [&](const auto& p) { return p.second <= now; });
    if (due == pending_wipes_.end()) {
      cv_.wait_for(lock, options_.reconcile_interval,
                   [this]() DRAHIL_REQUIRES(mu_) { return !running_; });
      continue;
    }
    const std::string driver = due->first;
    pending_wipes_.erase(due);
    lock.Unlock();
    Status st = options_.wipe_slices(driver);
    std::string what = driver.empty() ? std::string("every driver") : driver;
    if (st.ok()) {
      log_->info("deleted the node's ResourceSlices of {}", what);
      Emit(Event{Event::Kind::kSlicesWiped, driver, "deleted the ResourceSlices of " + what});
    } else {
      log_->warn("deleting the node's ResourceSlices of {}: {} (retrying)", what, st.message());
    }
    lock.Lock();
    if (st.ok()) {
      backoff.erase(driver);
      continue;
    }
    auto& d = backoff[driver];
    d = d.count() == 0 ? std::chrono::milliseconds(1000)
                       : std::min<std::chrono::milliseconds>(d * 2, std::chrono::minutes(5));
    // A retry stands only while the driver is still gone (a registration
    // cancels it, as it cancels the kubelet's pending wipe).
    bool registered = std::any_of(actual_.begin(), actual_.end(), [&](const auto& p) {
      return !driver.empty() && p.second->state.name == driver;
    });
    if (!registered) pending_wipes_.emplace(driver, options_.clock->Now() + d);
  }
}

std::string KubeletStandIn::Impl::Probe(const std::string& socket) {
  auto channel = internal::MakeUnixChannel(socket, options_.max_receive_bytes);
  // gRPC connects in real time, so the dial timeout does too.
  auto dial_deadline = Clock::Real().Now() + options_.monitor_dial_timeout;
  while (!channel->WaitForConnected(std::chrono::system_clock::now() + 100ms)) {
    if (!Running()) return "stopped";
    if (Clock::Real().Now() >= dial_deadline) return "dial timed out";
  }
  auto stub = pluginregistration::Registration::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + options_.monitor_getinfo_timeout);
  {
    MutexLock lock(mu_);
    if (!running_) return "stopped";
    monitor_ctx_ = &ctx;
  }
  pluginregistration::PluginInfo info;
  grpc::Status st = stub->GetInfo(&ctx, pluginregistration::InfoRequest(), &info);
  {
    MutexLock lock(mu_);
    monitor_ctx_ = nullptr;
  }
  return st.ok() ? std::string() : "GetInfo: " + GoStatusText(st);
}

void KubeletStandIn::Impl::MonitorLoop() {
  for (;;) {
    std::vector<std::string> registered, evicted;
    {
      MutexLock lock(mu_);
      cv_.wait_for(lock, options_.monitor_interval,
                   [this]() DRAHIL_REQUIRES(mu_) { return !running_; });
      if (!running_) return;
      for (const auto& [socket, inst] : actual_) registered.push_back(socket);
      evicted.assign(evicted_.begin(), evicted_.end());
    }
    for (const auto& socket : registered) {
      std::string why = Probe(socket);
      if (!Running()) return;
      std::string plugin;
      bool evict = false;
      {
        MutexLock lock(mu_);
        auto it = actual_.find(socket);
        if (it != actual_.end()) plugin = it->second->state.name;
        if (why.empty()) {
          monitor_failures_.erase(socket);
          continue;
        }
        int n = ++monitor_failures_[socket];
        if (n >= options_.monitor_failures && desired_.erase(socket) > 0) {
          evicted_.insert(socket);
          monitor_failures_.erase(socket);
          evict = true;
        }
      }
      if (evict) {
        AddFinding(Finding{Finding::Severity::kError, socket, plugin, "monitor-unresponsive",
                           "connection monitor: " + std::to_string(options_.monitor_failures) +
                               " failed probes in a row (last: " + why +
                               "); plugin unregistered until it answers again",
                           1});
      }
    }
    for (const auto& socket : evicted) {
      if (!IsSocket(socket)) continue;
      std::string why = Probe(socket);
      if (!Running()) return;
      if (!why.empty()) continue;
      MutexLock lock(mu_);
      if (evicted_.erase(socket) > 0) desired_[socket] = next_stamp_++;
    }
  }
}

}  // namespace drahil::kubelet
