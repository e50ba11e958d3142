// KubeletStandIn: registration, reconcile loop, calls and state. See
// kubelet.hpp for the contract and docs/reference/protocol.md section 2 for the behaviour
// copied from the kubelet.
#include "drahil/kubelet/kubelet.hpp"

#include <grpcpp/grpcpp.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "claim_cache.hpp"
#include "dra_client.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/core/log.hpp"
#include "drahil/core/poll.hpp"
#include "drahil/core/strings.hpp"
#include "drahil/proto/pluginregistration_v1.grpc.pb.h"
#include "health_watcher.hpp"
#include "plugin_watcher.hpp"
#include "podresources_server.hpp"

namespace drahil::kubelet {

using namespace std::chrono_literals;
using internal::ClaimCache;
using internal::DraClient;
using internal::GoStatusText;
using internal::HealthWatcher;
using internal::PluginWatcher;
using internal::PodResourcesServer;

std::string_view HealthName(HealthState s) {
  switch (s) {
    case HealthState::kHealthy:
      return "Healthy";
    case HealthState::kUnhealthy:
      return "Unhealthy";
    case HealthState::kUnknown:
      break;
  }
  return "Unknown";
}

std::string CallRecord::ToString() const {
  std::ostringstream os;
  os << method << " driver=" << driver << " api=" << api << " endpoint=" << endpoint << " claims=[";
  for (size_t i = 0; i < claim_uids.size(); ++i) os << (i ? "," : "") << claim_uids[i];
  os << "] code=" << CodeName(code) << " latency=" << latency.count() / 1000.0
     << "ms deadline=" << deadline.count() << "ms verdict=" << verdict.ToString();
  if (!grpc_message.empty()) os << " grpc_message=\"" << grpc_message << "\"";
  if (!response.empty()) os << " response={" << response << "}";
  return os.str();
}

std::string Finding::ToString() const {
  std::string s = severity == Severity::kError ? "error" : "warning";
  s += " [" + kind + "]";
  if (!plugin.empty()) s += " plugin=" + plugin;
  if (!socket.empty()) s += " socket=" + socket;
  s += ": " + message;
  if (count > 1) s += " (x" + std::to_string(count) + ")";
  return s;
}

namespace {

constexpr std::chrono::milliseconds kInitialRetry{500};
// The kubelet's operation executor backs off up to 2m2s.
constexpr std::chrono::milliseconds kMaxRetry{122000};

bool IsSocket(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

}  // namespace

class KubeletStandIn::Impl {
 public:
  struct Instance {
    PluginState state;
    uint64_t stamp = 0;
    std::shared_ptr<DraClient> client;
    std::unique_ptr<HealthWatcher> health;
  };

  Options options_;
  std::string registry_dir_;
  std::string plugins_dir_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool running_ = false;
  std::map<std::string, uint64_t> desired_;                  // socket -> creation stamp
  std::map<std::string, std::shared_ptr<Instance>> actual_;  // socket -> instance
  struct Retry {
    uint64_t stamp = 0;
    Clock::TimePoint next;
    std::chrono::milliseconds delay{0};
  };
  std::map<std::string, Retry> retry_;
  std::set<std::string> inflight_;
  struct Op {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Op> ops_;
  uint64_t next_stamp_ = 1;
  std::vector<Finding> findings_;
  std::vector<CallRecord> calls_;
  std::map<std::string, int> registrations_;
  ClaimCache cache_{""};
  std::chrono::milliseconds call_timeout_{45000};
  internal::CallTracker tracker_;  // DRA calls in flight (CancelCalls)
  std::unique_ptr<PluginWatcher> watcher_;
  std::unique_ptr<PodResourcesServer> podres_;
  std::thread reconciler_;
  std::thread monitor_;
  // Monitor state: sockets the monitor took out of the desired state (their
  // file still exists) and consecutive failures of registered sockets.
  std::set<std::string> evicted_;
  std::map<std::string, int> monitor_failures_;
  grpc::ClientContext* monitor_ctx_ = nullptr;  // probe in flight, for TryCancel()
  std::shared_ptr<spdlog::logger> log_ = log::Get("kubelet");

  // --- events and findings --------------------------------------------------

  void Emit(const Event& e) const {
    if (options_.on_event) options_.on_event(e);
  }

  void AddFinding(Finding f) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& old : findings_) {
      if (old.socket == f.socket && old.kind == f.kind && old.message == f.message &&
          old.plugin == f.plugin) {
        ++old.count;
        return;
      }
    }
    log_->warn("finding: {}", f.ToString());
    findings_.push_back(std::move(f));
  }

  // --- start / stop ----------------------------------------------------------

  Status StartLoops() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_ = true;
    }
    auto w = PluginWatcher::Start(registry_dir_, [this](const std::string& path, bool created) {
      OnSocketEvent(path, created);
    });
    if (!w.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      running_ = false;
      return w.status();
    }
    watcher_ = std::move(w).value();
    reconciler_ = std::thread([this] { ReconcileLoop(); });
    if (options_.monitor_interval.count() > 0) monitor_ = std::thread([this] { MonitorLoop(); });
    return OkStatus();
  }

  void StopLoops() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!running_) return;
      running_ = false;
      if (monitor_ctx_ != nullptr) monitor_ctx_->TryCancel();
    }
    cv_.notify_all();
    if (monitor_.joinable()) monitor_.join();
    if (watcher_) watcher_->Stop();
    watcher_.reset();
    if (reconciler_.joinable()) reconciler_.join();
    std::vector<Op> ops;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ops.swap(ops_);
    }
    for (auto& op : ops) op.thread.join();
    std::map<std::string, std::shared_ptr<Instance>> actual;
    {
      std::lock_guard<std::mutex> lock(mu_);
      actual.swap(actual_);
      desired_.clear();
      retry_.clear();
      inflight_.clear();
      evicted_.clear();
      monitor_failures_.clear();
    }
    for (auto& [socket, inst] : actual) {
      if (inst->health) inst->health->Stop();
    }
  }

  void OnSocketEvent(const std::string& path, bool created) {
    std::lock_guard<std::mutex> lock(mu_);
    evicted_.erase(path);
    monitor_failures_.erase(path);
    if (created) {
      desired_[path] = next_stamp_++;
    } else {
      desired_.erase(path);
      retry_.erase(path);
    }
  }

  // --- connection monitor (docs/reference/protocol.md 2.2, monitor.go) -----------------------

  // Probe(): dial + GetInfo with the monitor's timeouts; "" = healthy, else why not.
  std::string Probe(const std::string& socket) {
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
      std::lock_guard<std::mutex> lock(mu_);
      if (!running_) return "stopped";
      monitor_ctx_ = &ctx;
    }
    pluginregistration::PluginInfo info;
    grpc::Status st = stub->GetInfo(&ctx, pluginregistration::InfoRequest(), &info);
    {
      std::lock_guard<std::mutex> lock(mu_);
      monitor_ctx_ = nullptr;
    }
    return st.ok() ? std::string() : "GetInfo: " + GoStatusText(st);
  }

  void MonitorLoop() {
    for (;;) {
      std::vector<std::string> registered, evicted;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, options_.monitor_interval, [this] { return !running_; });
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
          std::lock_guard<std::mutex> lock(mu_);
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
        std::lock_guard<std::mutex> lock(mu_);
        if (evicted_.erase(socket) > 0) desired_[socket] = next_stamp_++;
      }
    }
  }

  // --- reconcile loop (docs/reference/protocol.md 2.2) ---------------------------------------

  void ReconcileLoop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (running_) {
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
        lock.unlock();
        for (auto& inst : gone) {
          if (inst->health) inst->health->Stop();
          log_->info("unregistered plugin {} ({})", inst->state.name,
                     inst->state.registration_socket);
          Emit(
              Event{Event::Kind::kUnregistered, inst->state.name,
                    "unregistered " + inst->state.name + " at " + inst->state.registration_socket});
        }
        gone.clear();
        lock.lock();
        continue;  // re-check running_ and state without waiting
      }
      cv_.wait_for(lock, options_.reconcile_interval, [this] { return !running_; });
    }
  }

  bool Running() const {
    std::lock_guard<std::mutex> lock(mu_);
    return running_;
  }

  // --- registration (docs/reference/protocol.md 2.3, 2.4) ------------------------------------

  void RegisterOp(const std::string& socket, uint64_t stamp) {
    bool ok = Register(socket, stamp);
    std::lock_guard<std::mutex> lock(mu_);
    inflight_.erase(socket);
    if (ok) {
      retry_.erase(socket);
      return;
    }
    Retry& r = retry_[socket];
    if (r.stamp != stamp) r = Retry{stamp, {}, kInitialRetry};
    r.next = options_.clock->Now() + r.delay;
    r.delay = std::min(r.delay * 2, kMaxRetry);
  }

  grpc::Status Notify(pluginregistration::Registration::Stub& stub, bool registered,
                      const std::string& error) {
    pluginregistration::RegistrationStatus req;
    req.set_plugin_registered(registered);
    req.set_error(error);
    pluginregistration::RegistrationStatusResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + options_.notify_timeout);
    return stub.NotifyRegistrationStatus(&ctx, req, &resp);
  }

  // Reject(): tells the plugin and records the finding. The Go helper answers
  // a false status with an error, so the reply is not checked.
  void Reject(pluginregistration::Registration::Stub& stub, const std::string& socket,
              const std::string& plugin, const std::string& kind, const std::string& text) {
    (void)Notify(stub, false, text);
    AddFinding(Finding{Finding::Severity::kError, socket, plugin, kind, text, 1});
    log_->warn("rejected plugin at {}: {}", socket, text);
    Emit(Event{Event::Kind::kRejected, plugin, text});
  }

  void Warn(const std::string& socket, const std::string& plugin, const std::string& kind,
            const std::string& text) {
    AddFinding(Finding{Finding::Severity::kWarning, socket, plugin, kind, text, 1});
  }

  // Register(): one attempt; false = retry later with backoff.
  bool Register(const std::string& socket, uint64_t stamp) {
    auto channel = internal::MakeUnixChannel(socket, options_.max_receive_bytes);
    auto dial_deadline = Clock::Real().Now() + options_.dial_timeout;
    // Blocking dial as the kubelet does, in short slices so Stop() is prompt.
    for (;;) {
      if (channel->WaitForConnected(std::chrono::system_clock::now() + 100ms)) break;
      if (!Running()) return false;
      if (Clock::Real().Now() >= dial_deadline) {
        AddFinding(Finding{Finding::Severity::kError, socket, "", "dial-failed",
                           "dial registration socket: not connected within " +
                               std::to_string(options_.dial_timeout.count()) + "ms",
                           1});
        return false;
      }
    }
    auto stub = pluginregistration::Registration::NewStub(channel);
    pluginregistration::PluginInfo info;
    {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + options_.getinfo_timeout);
      grpc::Status st = stub->GetInfo(&ctx, pluginregistration::InfoRequest(), &info);
      if (!st.ok()) {
        AddFinding(Finding{Finding::Severity::kError, socket, "", "getinfo-failed",
                           "GetInfo: " + GoStatusText(st), 1});
        return false;
      }
    }
    const std::string& name = info.name();
    if (info.type() != kDraPluginType) {
      Reject(*stub, socket, name, "bad-type",
             "RegisterPlugin error -- no handler registered for plugin type: " + info.type() +
                 " at socket " + socket);
      return false;
    }
    std::string endpoint = info.endpoint().empty() ? socket : info.endpoint();
    if (info.endpoint().empty()) {
      Warn(socket, name, "endpoint-empty",
           "PluginInfo.endpoint is empty; the registration socket serves DRA");
    } else if (info.endpoint()[0] != '/') {
      Warn(socket, name, "endpoint-not-absolute",
           "PluginInfo.endpoint " + info.endpoint() + " is not an absolute path");
    } else if (!IsSocket(endpoint)) {
      Warn(socket, name, "endpoint-not-socket",
           "PluginInfo.endpoint " + endpoint + " is not a unix socket (yet)");
    }
    std::vector<std::string> versions(info.supported_versions().begin(),
                                      info.supported_versions().end());
    const std::string kValidation = "RegisterPlugin error -- plugin validation failed with err: ";
    if (name.empty()) {
      Reject(*stub, socket, name, "empty-name", kValidation + "plugin name is empty");
      return false;
    }
    // The kubelet takes the first entry of the plugin's list it supports.
    std::string dra_service;
    for (const auto& v : versions) {
      if (v == kDraV1Service || v == kDraV1beta1Service) {
        dra_service = v;
        break;
      }
    }
    if (dra_service.empty()) {
      Reject(*stub, socket, name,
             versions.empty() ? "empty-supported-versions" : "no-supported-version",
             kValidation + "none of services supported by the plugin [" + Join(versions, " ") +
                 "] are supported by the kubelet");
      return false;
    }
    if (dra_service == kDraV1beta1Service &&
        std::find(versions.begin(), versions.end(), kDraV1Service) != versions.end()) {
      Warn(socket, name, "v1-not-first",
           "supported_versions lists v1beta1.DRAPlugin before v1.DRAPlugin, so the kubelet "
           "uses v1beta1");
    }
    std::string health_service;
    auto has = [&](const char* s) {
      return std::find(versions.begin(), versions.end(), s) != versions.end();
    };
    if (has(kHealthV1Service)) {
      health_service = kHealthV1Service;
    } else if (has(kHealthV1alpha1Service) || options_.health_mode == HealthMode::kAlways) {
      health_service = kHealthV1alpha1Service;
    }

    auto inst = std::make_shared<Instance>();
    inst->stamp = stamp;
    inst->state.name = name;
    inst->state.registration_socket = socket;
    inst->state.endpoint = endpoint;
    inst->state.supported_versions = versions;
    inst->state.dra_service = dra_service;
    inst->state.health_service = health_service;
    inst->state.registered_at = options_.clock->WallNow();
    inst->client =
        std::make_shared<DraClient>(name, endpoint, dra_service, options_.max_receive_bytes);
    if (!health_service.empty()) {
      HealthWatcher::Config hc;
      hc.driver = name;
      hc.service = health_service;
      hc.restart_interval = options_.health_restart_interval;
      hc.default_timeout = options_.health_default_timeout;
      hc.clock = options_.clock;
      hc.on_event = options_.on_event;
      hc.on_finding = [this, socket](Finding f) {
        f.socket = socket;
        AddFinding(std::move(f));
      };
      inst->health = std::make_unique<HealthWatcher>(std::move(hc), inst->client->channel());
    }
    std::string duplicate;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [s, other] : actual_) {
        if (other->state.name == name && other->state.endpoint == endpoint) duplicate = s;
      }
      if (duplicate.empty()) {
        auto d = desired_.find(socket);
        if (!running_ || d == desired_.end() || d->second != stamp) {
          return true;  // socket went away or was re-created meanwhile; drop this attempt
        }
        actual_[socket] = inst;
        ++registrations_[name];
        // Started with the lock held so Stop()/unregister (which take the
        // instance out under the lock first) never race with Start().
        if (inst->health) inst->health->Start();
      }
    }
    if (!duplicate.empty()) {
      Reject(*stub, socket, name, "duplicate-endpoint",
             "RegisterPlugin error -- plugin registration failed with err: endpoint " + endpoint +
                 " of driver " + name + " is already registered through " + duplicate);
      return false;
    }
    grpc::Status nst = Notify(*stub, true, "");
    if (!nst.ok()) {
      // The plugin stays registered (the kubelet does the same); the
      // operation counts as failed only in the finding.
      AddFinding(Finding{Finding::Severity::kError, socket, name, "notify-failed",
                         "NotifyRegistrationStatus(true): " + GoStatusText(nst), 1});
    }
    std::string msg = "registered " + name + " at " + socket + " (endpoint " + endpoint + ", " +
                      dra_service + ", health " +
                      (health_service.empty() ? std::string("not watched") : health_service) + ")";
    log_->info("{}", msg);
    Emit(Event{Event::Kind::kRegistered, name, msg});
    return true;
  }

  // --- instance selection (docs/reference/protocol.md 2.5) -----------------------------------

  // Latest registered instance that is connected, else the latest. Caller
  // holds mu_.
  std::shared_ptr<Instance> PickLocked(const std::string& driver) const {
    std::shared_ptr<Instance> latest, connected;
    for (const auto& [socket, inst] : actual_) {
      if (inst->state.name != driver) continue;
      if (!latest || inst->state.registered_at >= latest->state.registered_at) latest = inst;
      if (inst->client->Connected() &&
          (!connected || inst->state.registered_at >= connected->state.registered_at)) {
        connected = inst;
      }
    }
    return connected ? connected : latest;
  }

  std::shared_ptr<Instance> Pick(const std::string& driver) const {
    std::lock_guard<std::mutex> lock(mu_);
    return PickLocked(driver);
  }

  // --- calls -----------------------------------------------------------------

  static CallResult NotRegistered(const char* method, const std::string& driver,
                                  const std::vector<ClaimRef>& claims) {
    CallResult r;
    r.status = FailedPreconditionError(std::string(method) + ": DRA driver " + driver +
                                       " is not registered");
    r.record.method = method;
    r.record.driver = driver;
    r.record.code = Code::kFailedPrecondition;
    r.record.verdict = r.status;
    for (const auto& c : claims) {
      r.record.claim_uids.push_back(c.uid);
      r.claims.push_back(ClaimResult{c, r.status, {}});
    }
    return r;
  }

  std::chrono::milliseconds Timeout(const CallOptions& call) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto t = call.timeout.value_or(call_timeout_);
    if (call.max_timeout)
      t = std::max(std::chrono::milliseconds(0), std::min(t, *call.max_timeout));
    return t;
  }

  // CallDriver(): one call; records it and applies successful claims to the
  // cache. Does not touch "prepared" or pod references.
  CallResult CallDriver(bool prepare, const std::string& driver,
                        const std::vector<ClaimRef>& claims, const CallOptions& call) {
    const char* method = prepare ? "NodePrepareResources" : "NodeUnprepareResources";
    std::shared_ptr<Instance> inst = Pick(driver);
    if (!inst) return NotRegistered(method, driver, claims);
    auto timeout = Timeout(call);
    std::shared_ptr<DraClient> client = inst->client;
    if (call.api && *call.api != client->api()) {
      const auto& adv = inst->state.supported_versions;
      if (std::find(adv.begin(), adv.end(), *call.api) == adv.end()) {
        CallResult r = NotRegistered(method, driver, claims);
        r.status = FailedPreconditionError(std::string(method) + ": DRA driver " + driver +
                                           " did not advertise " + *call.api + "; no call made");
        r.record.verdict = r.status;
        for (auto& c : r.claims) c.status = r.status;
        return r;
      }
      client = std::make_shared<DraClient>(driver, inst->state.endpoint, *call.api,
                                           options_.max_receive_bytes);
    }
    CallResult r = prepare ? client->Prepare(claims, timeout, &tracker_)
                           : client->Unprepare(claims, timeout, &tracker_);
    log_->debug("{}", r.record.ToString());
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(r.record);
    if (prepare && r.record.code == Code::kOk) {
      for (const auto& c : r.claims) {
        if (c.status.ok()) ClaimCache::SetDevices(cache_.GetOrAdd(c.claim), driver, c.devices);
      }
    }
    return r;
  }

  CallResult Prepare(const std::string& driver, const std::vector<ClaimRef>& claims,
                     const CallOptions& call) {
    CallResult r = CallDriver(true, driver, claims, call);
    std::lock_guard<std::mutex> lock(mu_);
    if (r.status.ok()) {
      for (const auto& c : claims) cache_.GetOrAdd(c).prepared = true;
      Status st = cache_.Save();
      if (!st.ok()) r.status = st;
    }
    return r;
  }

  CallResult Unprepare(const std::string& driver, const std::vector<ClaimRef>& claims,
                       const CallOptions& call) {
    CallResult r = CallDriver(false, driver, claims, call);
    std::lock_guard<std::mutex> lock(mu_);
    if (r.record.code == Code::kOk) {
      for (const auto& c : r.claims) {
        if (!c.status.ok()) continue;
        ClaimInfo* info = cache_.Find(c.claim.uid);
        if (info == nullptr) continue;
        if (info->pod_uids.empty()) {
          cache_.Remove(c.claim.uid);
        } else {
          info->prepared = false;
        }
      }
      Status st = cache_.Save();
      if (r.status.ok() && !st.ok()) r.status = st;
    }
    return r;
  }

  PodResult PreparePod(const Pod& pod, const CallOptions& call) {
    PodResult out;
    std::map<std::string, std::vector<ClaimRef>> batches;  // driver -> claims
    {
      std::lock_guard<std::mutex> lock(mu_);
      // Every driver must be registered before the cache changes, so a pod
      // whose driver never appears can still be removed cleanly.
      for (const auto& pc : pod.claims) {
        for (const auto& d : pc.drivers) {
          if (!PickLocked(d)) {
            out.status =
                FailedPreconditionError("prepare pod " + pod.namespace_name + "/" + pod.name +
                                        ": DRA driver " + d + " is not registered");
            return out;
          }
        }
      }
      cache_.pods()[pod.uid] = pod;
      for (const auto& pc : pod.claims) {
        ClaimInfo& info = cache_.GetOrAdd(pc.claim);
        ClaimCache::AddPod(info, pod.uid);
        if (info.prepared) continue;  // shared with a pod that prepared it already
        for (const auto& d : pc.drivers) batches[d].push_back(pc.claim);
      }
      Status st = cache_.Save();
      if (!st.ok()) {
        out.status = st;
        return out;
      }
    }
    for (const auto& [driver, claims] : batches) {
      CallResult r = CallDriver(true, driver, claims, call);
      if (out.status.ok() && !r.status.ok()) out.status = r.status;
      out.calls.push_back(std::move(r));
    }
    if (out.status.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& pc : pod.claims) cache_.GetOrAdd(pc.claim).prepared = true;
      out.status = cache_.Save();
    }
    if (!out.status.ok()) {
      out.status =
          std::move(out.status).WithContext("prepare pod " + pod.namespace_name + "/" + pod.name);
    }
    return out;
  }

  PodResult UnpreparePod(const std::string& pod_uid, const CallOptions& call) {
    PodResult out;
    Pod pod;
    std::map<std::string, std::vector<ClaimRef>> batches;
    std::vector<std::string> shared;  // claims other pods still use
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = cache_.pods().find(pod_uid);
      if (it == cache_.pods().end()) {
        out.status = NotFoundError("unprepare pod " + pod_uid + ": not prepared by this kubelet");
        return out;
      }
      pod = it->second;
      for (const auto& pc : pod.claims) {
        ClaimInfo* info = cache_.Find(pc.claim.uid);
        if (info == nullptr) continue;
        bool others = std::any_of(info->pod_uids.begin(), info->pod_uids.end(),
                                  [&](const std::string& u) { return u != pod_uid; });
        if (others) {
          shared.push_back(pc.claim.uid);
          continue;
        }
        std::set<std::string> drivers(pc.drivers.begin(), pc.drivers.end());
        for (const auto& [d, devs] : info->drivers) drivers.insert(d);
        for (const auto& d : drivers) batches[d].push_back(pc.claim);
      }
    }
    for (const auto& [driver, claims] : batches) {
      CallResult r = CallDriver(false, driver, claims, call);
      if (out.status.ok() && !r.status.ok()) out.status = r.status;
      out.calls.push_back(std::move(r));
    }
    if (out.status.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& uid : shared) {
        if (ClaimInfo* info = cache_.Find(uid)) ClaimCache::RemovePod(*info, pod_uid);
      }
      for (const auto& [driver, claims] : batches) {
        for (const auto& c : claims) cache_.Remove(c.uid);
      }
      cache_.pods().erase(pod_uid);
      out.status = cache_.Save();
    }
    if (!out.status.ok()) {
      out.status =
          std::move(out.status).WithContext("unprepare pod " + pod.namespace_name + "/" + pod.name);
    }
    return out;
  }

  internal::PodResourcesView PodResourcesSnapshot() const {
    internal::PodResourcesView v;
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [uid, pod] : cache_.pods()) v.pods.push_back(pod);
    v.claims = cache_.claims_map();
    return v;
  }
};

// --- public API ---------------------------------------------------------------

KubeletStandIn::KubeletStandIn() : impl_(std::make_unique<Impl>()) {}
KubeletStandIn::~KubeletStandIn() { Stop(); }

Status KubeletStandIn::Start(const std::string& registry_dir, const std::string& plugins_dir,
                             const Options& options) {
  Impl& m = *impl_;
  if (m.Running()) return FailedPreconditionError("kubelet stand-in already started");
  m.options_ = options;
  m.registry_dir_ = registry_dir;
  m.plugins_dir_ = plugins_dir;
  m.call_timeout_ = options.call_timeout;
  DRAHIL_RETURN_IF_ERROR_CTX(MakeDirs(registry_dir, 0755), "create registry dir");
  if (!plugins_dir.empty()) {
    DRAHIL_RETURN_IF_ERROR_CTX(MakeDirs(plugins_dir, 0755), "create plugins dir");
  }
  std::string checkpoint;
  if (!options.state_dir.empty()) {
    DRAHIL_RETURN_IF_ERROR_CTX(MakeDirs(options.state_dir, 0700), "create state dir");
    checkpoint = options.state_dir + "/dra_manager_state";
  }
  {
    std::lock_guard<std::mutex> lock(m.mu_);
    m.cache_ = ClaimCache(checkpoint);
    DRAHIL_RETURN_IF_ERROR(m.cache_.Load());
  }
  if (!options.podresources_socket.empty()) {
    DRAHIL_ASSIGN_OR_RETURN(m.podres_, PodResourcesServer::Start(options.podresources_socket, [&m] {
                              return m.PodResourcesSnapshot();
                            }));
  }
  Status st = m.StartLoops();
  if (!st.ok() && m.podres_) {
    m.podres_->Stop();
    m.podres_.reset();
  }
  return st;
}

void KubeletStandIn::Stop() {
  impl_->StopLoops();
  if (impl_->podres_) {
    impl_->podres_->Stop();
    impl_->podres_.reset();
  }
}

Result<PluginState> KubeletStandIn::WaitForPlugin(const std::string& name,
                                                  std::chrono::milliseconds timeout) {
  std::optional<PluginState> found;
  Status st = PollFor(Clock::Real(), timeout, {}, "plugin " + name + " registered", [&] {
    for (auto& p : Plugins()) {
      if (p.name == name) {
        found = std::move(p);
        return true;
      }
    }
    return false;
  });
  if (st.ok()) return *found;
  std::string msg =
      "plugin " + name + " not registered within " + std::to_string(timeout.count()) + "ms";
  for (const auto& f : Findings()) msg += "; " + f.ToString();
  return DeadlineExceededError(msg);
}

Status KubeletStandIn::WaitForPluginGone(const std::string& name,
                                         std::chrono::milliseconds timeout) {
  Status st = PollFor(Clock::Real(), timeout, {}, "plugin " + name + " unregistered", [&] {
    auto ps = Plugins();
    return std::none_of(ps.begin(), ps.end(), [&](const PluginState& p) { return p.name == name; });
  });
  if (st.ok()) return st;
  return DeadlineExceededError("plugin " + name + " still registered after " +
                               std::to_string(timeout.count()) + "ms");
}

Result<Finding> KubeletStandIn::WaitForFinding(const std::string& kind, const std::string& socket,
                                               std::chrono::milliseconds timeout) {
  std::optional<Finding> found;
  Status st = PollFor(Clock::Real(), timeout, {}, "finding " + kind, [&] {
    for (auto& f : Findings()) {
      if (f.kind == kind && (socket.empty() || f.socket == socket)) {
        found = f;
        return true;
      }
    }
    return false;
  });
  if (st.ok()) return *found;
  return DeadlineExceededError("no finding " + kind + " within " + std::to_string(timeout.count()) +
                               "ms");
}

std::vector<PluginState> KubeletStandIn::Plugins() const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  std::vector<PluginState> out;
  for (const auto& [socket, inst] : impl_->actual_) {
    PluginState s = inst->state;
    s.connected = inst->client->Connected();
    out.push_back(std::move(s));
  }
  return out;
}

int KubeletStandIn::RegistrationCount(const std::string& name) const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  auto it = impl_->registrations_.find(name);
  return it == impl_->registrations_.end() ? 0 : it->second;
}

CallResult KubeletStandIn::Prepare(const std::string& driver, const std::vector<ClaimRef>& claims,
                                   const CallOptions& call) {
  return impl_->Prepare(driver, claims, call);
}

CallResult KubeletStandIn::Unprepare(const std::string& driver, const std::vector<ClaimRef>& claims,
                                     const CallOptions& call) {
  return impl_->Unprepare(driver, claims, call);
}

PodResult KubeletStandIn::PreparePod(const Pod& pod, const CallOptions& call) {
  return impl_->PreparePod(pod, call);
}

PodResult KubeletStandIn::UnpreparePod(const std::string& pod_uid, const CallOptions& call) {
  return impl_->UnpreparePod(pod_uid, call);
}

PodResult KubeletStandIn::Restart(bool replay_prepares, std::chrono::milliseconds timeout,
                                  const CallOptions& call) {
  Impl& m = *impl_;
  PodResult out;
  auto start = Clock::Real().Now();
  auto deadline = start + timeout;
  m.StopLoops();
  std::vector<Pod> pods;
  {
    std::lock_guard<std::mutex> lock(m.mu_);
    out.status = m.cache_.Load();
    for (const auto& [uid, pod] : m.cache_.pods()) pods.push_back(pod);
  }
  Status st = m.StartLoops();
  if (out.status.ok()) out.status = st;
  if (!out.status.ok() || !replay_prepares) return out;
  for (const auto& pod : pods) {
    for (const auto& pc : pod.claims) {
      for (const auto& d : pc.drivers) {
        auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::Real().Now());
        auto p = WaitForPlugin(d, std::max(left, std::chrono::milliseconds(0)));
        if (!p.ok() && out.status.ok()) out.status = p.status().WithContext("restart replay");
      }
    }
    CallOptions replay = call;
    if (call.max_timeout) {
      auto used =
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::Real().Now() - start);
      replay.max_timeout = std::max(std::chrono::milliseconds(0), *call.max_timeout - used);
    }
    PodResult r = m.PreparePod(pod, replay);
    if (out.status.ok() && !r.status.ok()) out.status = r.status;
    for (auto& c : r.calls) out.calls.push_back(std::move(c));
  }
  return out;
}

void KubeletStandIn::SetCallTimeout(std::chrono::milliseconds timeout) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->call_timeout_ = timeout;
}

void KubeletStandIn::CancelCalls(const std::string& reason) { impl_->tracker_.CancelAll(reason); }

void KubeletStandIn::ResumeCalls() { impl_->tracker_.Reset(); }

HealthSnapshot KubeletStandIn::Health(const std::string& driver) const {
  std::shared_ptr<Impl::Instance> inst = impl_->Pick(driver);
  if (!inst || !inst->health) {
    HealthSnapshot s;
    s.driver = driver;
    return s;
  }
  return inst->health->Snapshot();
}

Result<HealthSnapshot> KubeletStandIn::WaitForHealth(
    const std::string& driver, const std::function<bool(const HealthSnapshot&)>& pred,
    std::chrono::milliseconds timeout) const {
  HealthSnapshot s;
  Status st = PollFor(Clock::Real(), timeout, {}, "health of " + driver, [&] {
    s = Health(driver);
    return pred(s);
  });
  if (st.ok()) return s;
  return DeadlineExceededError("health of " + driver + " did not reach the expected state within " +
                               std::to_string(timeout.count()) + "ms");
}

Result<std::vector<ResourceStatus>> KubeletStandIn::AllocatedResourcesStatus(
    const std::string& pod_uid, const std::string& container) const {
  Pod pod;
  std::map<std::string, ClaimInfo> claims;
  {
    std::lock_guard<std::mutex> lock(impl_->mu_);
    auto it = impl_->cache_.pods().find(pod_uid);
    if (it == impl_->cache_.pods().end()) return NotFoundError("pod " + pod_uid + " not prepared");
    pod = it->second;
    claims = impl_->cache_.claims_map();
  }
  const Container* ct = nullptr;
  for (const auto& c : pod.containers) {
    if (c.name == container) ct = &c;
  }
  if (ct == nullptr) return NotFoundError("pod " + pod_uid + " has no container " + container);
  std::map<std::string, HealthSnapshot> health;
  for (const auto& pc : pod.claims) {
    for (const auto& d : pc.drivers) {
      if (health.count(d) == 0) health[d] = Health(d);
    }
  }
  return internal::DeriveResourceStatus(
      pod, *ct, claims,
      [&](const std::string& driver, const std::string& pool, const std::string& device) {
        auto it = health.find(driver);
        if (it == health.end()) return HealthState::kUnknown;
        for (const auto& d : it->second.devices) {
          if (d.pool_name == pool && d.device_name == device) return d.effective;
        }
        return HealthState::kUnknown;
      });
}

std::vector<Finding> KubeletStandIn::Findings() const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  return impl_->findings_;
}

void KubeletStandIn::ClearFindings() {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->findings_.clear();
}

std::vector<CallRecord> KubeletStandIn::Calls() const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  return impl_->calls_;
}

std::vector<ClaimInfo> KubeletStandIn::Claims() const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  return impl_->cache_.Claims();
}

std::string KubeletStandIn::CheckpointPath() const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  return impl_->cache_.path();
}

const std::string& KubeletStandIn::registry_dir() const { return impl_->registry_dir_; }
const std::string& KubeletStandIn::plugins_dir() const { return impl_->plugins_dir_; }

}  // namespace drahil::kubelet
