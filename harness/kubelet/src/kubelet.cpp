// KubeletStandIn: the public API over KubeletStandIn::Impl
// (kubelet_impl.hpp), and the findings it records. See kubelet.hpp for the
// contract and docs/reference/protocol.md section 2 for the behaviour copied
// from the kubelet.
#include "drahil/kubelet/kubelet.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <sstream>

#include "drahil/core/file_util.hpp"
#include "drahil/core/poll.hpp"
#include "kubelet_impl.hpp"

namespace drahil::kubelet {

using internal::ClaimCache;
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

const std::vector<std::string>& CallRecord::ClaimUids() const {
  static const std::vector<std::string> kNone;
  return claim_uids ? *claim_uids : kNone;
}

std::string CallRecord::ToString() const {
  std::ostringstream os;
  os << method << " driver=" << driver << " api=" << api << " endpoint=" << endpoint << " claims=[";
  const auto& uids = ClaimUids();
  for (size_t i = 0; i < uids.size(); ++i) os << (i ? "," : "") << uids[i];
  os << "] code=" << CodeName(code) << " latency=" << latency.count() / 1000.0
     << "ms deadline=" << deadline.count() << "ms verdict=" << verdict.ToString();
  if (!grpc_message.empty()) os << " grpc_message=\"" << grpc_message << "\"";
  if (response_bytes && !response_bytes->empty()) os << " response={" << ResponseText() << "}";
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

void KubeletStandIn::Impl::AddFinding(Finding f) {
  MutexLock lock(mu_);
  // A driver that keeps producing new findings (a health stream flood of
  // devices never seen before) must not grow the stand-in without bound:
  // an identical finding only counts; past kMaxFindingsPerKind distinct
  // messages of one kind (per socket and plugin) the rest count on the first
  // of them; past kMaxFindings in all, a new one is counted as dropped.
  Finding* first_of_kind = nullptr;
  size_t same_kind = 0;
  for (auto& old : findings_) {
    if (old.socket != f.socket || old.kind != f.kind || old.plugin != f.plugin) continue;
    if (old.message == f.message) {
      ++old.count;
      return;
    }
    if (first_of_kind == nullptr) first_of_kind = &old;
    ++same_kind;
  }
  if (same_kind >= kMaxFindingsPerKind) {
    ++first_of_kind->count;
    if (first_of_kind->message.find(kMoreLikeThis) == std::string::npos)
      first_of_kind->message += kMoreLikeThis;
    return;
  }
  if (findings_.size() >= kMaxFindings) {
    if (++dropped_findings_ == 1) log_->warn("finding: more than {} kept; dropping", kMaxFindings);
    return;
  }
  log_->warn("finding: {}", f.ToString());
  findings_.push_back(std::move(f));
}

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
  {
    MutexLock lock(m.mu_);
    m.call_timeout_ = options.call_timeout;
  }
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
    MutexLock lock(m.mu_);
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
  MutexLock lock(impl_->mu_);
  std::vector<PluginState> out;
  for (const auto& [socket, inst] : impl_->actual_) {
    PluginState s = inst->state;
    s.connected = inst->client->Connected();
    out.push_back(std::move(s));
  }
  return out;
}

int KubeletStandIn::RegistrationCount(const std::string& name) const {
  MutexLock lock(impl_->mu_);
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
    MutexLock lock(m.mu_);
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

std::chrono::milliseconds KubeletStandIn::PodSyncBackoff(const std::string& pod_uid,
                                                         int attempt) const {
  // wait.Jitter(backOffPeriod, 0.5): backOffPeriod + rand[0,1) * 0.5 * backOffPeriod.
  // FNV-1a of "uid/attempt" stands in for rand, so the same run waits the same.
  uint64_t h = 1469598103934665603ull;
  for (char c : pod_uid + "/" + std::to_string(attempt)) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  double j = static_cast<double>(h % 1000000) / 1000000.0;
  auto base = impl_->options_.pod_sync_backoff;
  return base + std::chrono::milliseconds(static_cast<int64_t>(base.count() * j / 2));
}

int KubeletStandIn::PodSyncRetries() const { return impl_->options_.pod_sync_retries; }

void KubeletStandIn::SetCallTimeout(std::chrono::milliseconds timeout) {
  MutexLock lock(impl_->mu_);
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
    MutexLock lock(impl_->mu_);
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
  MutexLock lock(impl_->mu_);
  return impl_->findings_;
}

void KubeletStandIn::ClearFindings() {
  MutexLock lock(impl_->mu_);
  impl_->findings_.clear();
  impl_->dropped_findings_ = 0;
}

std::vector<CallRecord> KubeletStandIn::Calls() const {
  MutexLock lock(impl_->mu_);
  return {impl_->calls_.begin(), impl_->calls_.end()};
}

std::map<std::string, uint64_t> KubeletStandIn::CallCounts() const {
  MutexLock lock(impl_->mu_);
  return impl_->call_counts_;
}

std::vector<ClaimInfo> KubeletStandIn::Claims() const {
  MutexLock lock(impl_->mu_);
  return impl_->cache_.Claims();
}

std::string KubeletStandIn::CheckpointPath() const {
  MutexLock lock(impl_->mu_);
  return impl_->cache_.path();
}

const std::string& KubeletStandIn::registry_dir() const { return impl_->registry_dir_; }
const std::string& KubeletStandIn::plugins_dir() const { return impl_->plugins_dir_; }

}  // namespace drahil::kubelet
