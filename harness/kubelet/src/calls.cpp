// DRA calls (docs/reference/protocol.md 2.5, 2.7, 2.8): which instance of a
// driver is called, the call's deadline, and how the claim-info cache and
// its checkpoint follow the answers, per claim and per pod.
#include <algorithm>
#include <map>
#include <set>

#include "kubelet_impl.hpp"

namespace drahil::kubelet {

using internal::ClaimCache;
using internal::DraClient;

std::shared_ptr<KubeletStandIn::Impl::Instance> KubeletStandIn::Impl::PickLocked(
    const std::string& driver) const {
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

std::shared_ptr<KubeletStandIn::Impl::Instance> KubeletStandIn::Impl::Pick(
    const std::string& driver) const {
  MutexLock lock(mu_);
  return PickLocked(driver);
}

CallResult KubeletStandIn::Impl::NotRegistered(const char* method, const std::string& driver,
                                               const std::vector<ClaimRef>& claims) {
  CallResult r;
  r.status = FailedPreconditionError(std::string(method) + ": DRA driver " + driver +
                                     " is not registered");
  r.record.method = method;
  r.record.driver = driver;
  r.record.code = Code::kFailedPrecondition;
  r.record.verdict = r.status;
  auto uids = std::make_shared<std::vector<std::string>>();
  for (const auto& c : claims) {
    uids->push_back(c.uid);
    r.claims.push_back(ClaimResult{c, r.status, {}});
  }
  r.record.claim_uids = std::move(uids);
  return r;
}

std::chrono::milliseconds KubeletStandIn::Impl::Timeout(const CallOptions& call) const {
  MutexLock lock(mu_);
  auto t = call.timeout.value_or(call_timeout_);
  if (call.max_timeout) t = std::max(std::chrono::milliseconds(0), std::min(t, *call.max_timeout));
  return t;
}

CallResult KubeletStandIn::Impl::CallDriver(bool prepare, const std::string& driver,
                                            const std::vector<ClaimRef>& claims,
                                            const CallOptions& call) {
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
  if (log_->should_log(spdlog::level::debug)) log_->debug("{}", r.record.ToString());
  MutexLock lock(mu_);
  calls_.push_back(r.record);
  ++call_counts_[r.record.method];
  while (calls_.size() > std::max<size_t>(1, options_.max_call_records)) calls_.pop_front();
  if (prepare && r.record.code == Code::kOk) {
    for (const auto& c : r.claims) {
      if (c.status.ok()) ClaimCache::SetDevices(cache_.GetOrAdd(c.claim), driver, c.devices);
    }
  }
  return r;
}

CallResult KubeletStandIn::Impl::Prepare(const std::string& driver,
                                         const std::vector<ClaimRef>& claims,
                                         const CallOptions& call) {
  CallResult r = CallDriver(true, driver, claims, call);
  MutexLock lock(mu_);
  if (r.status.ok()) {
    for (const auto& c : claims) cache_.GetOrAdd(c).prepared = true;
    Status st = cache_.Save();
    if (!st.ok()) {
      r.status = st;
      r.checkpoint_failed = true;
    }
  }
  return r;
}

CallResult KubeletStandIn::Impl::Unprepare(const std::string& driver,
                                           const std::vector<ClaimRef>& claims,
                                           const CallOptions& call) {
  CallResult r = CallDriver(false, driver, claims, call);
  MutexLock lock(mu_);
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
    if (r.status.ok() && !st.ok()) {
      r.status = st;
      r.checkpoint_failed = true;
    }
  }
  return r;
}

PodResult KubeletStandIn::Impl::PreparePod(const Pod& pod, const CallOptions& call) {
  PodResult out;
  std::map<std::string, std::vector<ClaimRef>> batches;  // driver -> claims
  {
    MutexLock lock(mu_);
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
    // The kubelet's claim cache is keyed by namespace/name; a cached claim
    // of the same name with another UID (its pod force-deleted, the claim
    // recreated) fails the pod until it is unprepared (pkg/kubelet/cm/dra/
    // manager.go prepareResources).
    for (const auto& pc : pod.claims) {
      const ClaimInfo* old = cache_.FindByName(pc.claim.namespace_name, pc.claim.name);
      if (old != nullptr && old->claim.uid != pc.claim.uid) {
        out.status =
            FailedPreconditionError("prepare pod " + pod.namespace_name + "/" + pod.name +
                                    ": old ResourceClaim with same name " + pc.claim.name +
                                    " and different UID " + old->claim.uid + " still exists");
        return out;
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
      out.status = std::move(st).WithContext("prepare pod " + pod.namespace_name + "/" + pod.name);
      out.checkpoint_failed = true;
      return out;
    }
  }
  for (const auto& [driver, claims] : batches) {
    CallResult r = CallDriver(true, driver, claims, call);
    if (out.status.ok() && !r.status.ok()) out.status = r.status;
    out.calls.push_back(std::move(r));
  }
  if (out.status.ok()) {
    MutexLock lock(mu_);
    for (const auto& pc : pod.claims) cache_.GetOrAdd(pc.claim).prepared = true;
    out.status = cache_.Save();
    out.checkpoint_failed = !out.status.ok();
  }
  if (!out.status.ok()) {
    out.status =
        std::move(out.status).WithContext("prepare pod " + pod.namespace_name + "/" + pod.name);
  }
  return out;
}

PodResult KubeletStandIn::Impl::UnpreparePod(const std::string& pod_uid, const CallOptions& call) {
  PodResult out;
  Pod pod;
  std::map<std::string, std::vector<ClaimRef>> batches;
  std::vector<std::string> shared;  // claims other pods still use
  {
    MutexLock lock(mu_);
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
    MutexLock lock(mu_);
    for (const auto& uid : shared) {
      if (ClaimInfo* info = cache_.Find(uid)) ClaimCache::RemovePod(*info, pod_uid);
    }
    for (const auto& [driver, claims] : batches) {
      for (const auto& c : claims) cache_.Remove(c.uid);
    }
    cache_.pods().erase(pod_uid);
    out.status = cache_.Save();
    out.checkpoint_failed = !out.status.ok();
  }
  if (!out.status.ok()) {
    out.status =
        std::move(out.status).WithContext("unprepare pod " + pod.namespace_name + "/" + pod.name);
  }
  return out;
}

internal::PodResourcesView KubeletStandIn::Impl::PodResourcesSnapshot() const {
  internal::PodResourcesView v;
  MutexLock lock(mu_);
  for (const auto& [uid, pod] : cache_.pods()) v.pods.push_back(pod);
  v.claims = cache_.claims_map();
  return v;
}

}  // namespace drahil::kubelet
