// Search set-up: the claims' requests and constraints, the devices in use
// and the devices on the node.
#include <algorithm>
#include <tuple>

#include "quantity_util.hpp"
#include "search.hpp"

namespace drahil::allocator::internal {

Result<bool> Search::OnNode(const DeviceInfo& d) const {
  switch (d.node_kind) {
    case DeviceInfo::NodeKind::kNodeName:
      return d.node_name == node_.name;
    case DeviceInfo::NodeKind::kAllNodes:
      return true;
    case DeviceInfo::NodeKind::kSelector:
      return MatchNodeSelector(d.node_selector, node_);
  }
  return false;
}

Status Search::BuildAlt(const ClaimState& cs, const std::string& req_name, const Json& spec,
                        bool allow_admin, Alt* alt) {
  alt->class_name = Str(spec, "deviceClassName");
  if (alt->class_name.empty())
    return InvalidArgumentError("request " + req_name + ": deviceClassName is required");
  auto cit = impl_.classes.find(alt->class_name);
  if (cit != impl_.classes.end()) {
    alt->cls = &cit->second;
    const Json& sels = Field(Field(*alt->cls->json, "spec"), "selectors");
    if (sels.is_array()) {
      for (size_t i = 0; i < sels.size(); ++i) {
        std::string expr = Str(Field(sels[i], "cel"), "expression");
        auto prog = impl_.cache.Get(expr);
        std::string who =
            "selector " + std::to_string(i) + " of device class \"" + alt->class_name + "\"";
        if (!prog.ok()) return prog.status().WithContext(who);
        alt->selectors.emplace_back(who, *prog);
      }
    }
  }
  const Json& sels = Field(spec, "selectors");
  if (sels.is_array()) {
    for (size_t i = 0; i < sels.size(); ++i) {
      std::string expr = Str(Field(sels[i], "cel"), "expression");
      auto prog = impl_.cache.Get(expr);
      std::string who =
          "selector " + std::to_string(i) + " of request \"" + alt->result_name + "\"";
      if (!prog.ok()) return prog.status().WithContext(who);
      alt->selectors.emplace_back(who, *prog);
    }
  }
  std::string mode = Str(spec, "allocationMode");
  if (mode.empty() || mode == "ExactCount") {
    const Json& count = Field(spec, "count");
    alt->count = count.is_number_integer() ? count.get<int64_t>() : 1;
    if (alt->count <= 0)
      return InvalidArgumentError("request " + alt->result_name + ": count must be positive");
  } else if (mode == "All") {
    alt->all = true;
  } else {
    return InvalidArgumentError("request " + alt->result_name + ": unknown allocationMode \"" +
                                mode + "\"");
  }
  alt->admin = allow_admin && Bool(spec, "adminAccess");
  if (alt->admin && impl_.opts.check_admin_namespace) {
    bool labelled = false;
    for (const auto& ns : impl_.inv.namespaces) {
      const Json& md = Field(ns, "metadata");
      if (Str(md, "name") == cs.ns && Str(Field(md, "labels"), kAdminAccessLabel) == "true")
        labelled = true;
    }
    if (!labelled) {
      return PermissionDeniedError(
          "request " + alt->result_name + ": adminAccess is only allowed in namespaces labelled " +
          std::string(kAdminAccessLabel) + "=true, and namespace \"" + cs.ns + "\" is not");
    }
  }
  alt->tolerations = Field(spec, "tolerations");
  const Json& reqs = Field(Field(spec, "capacity"), "requests");
  if (reqs.is_object()) {
    for (const auto& [k, v] : reqs.items()) {
      auto q = ParseQuantityJson(v);
      if (!q.ok()) return q.status().WithContext("request " + alt->result_name + " capacity " + k);
      alt->capacity_requests.emplace_back(k, q->nanos());
    }
  }
  return OkStatus();
}

Status Search::AddInUse(const Json& allocation) {
  const Json& results = Field(Field(allocation, "devices"), "results");
  if (!results.is_array()) return OkStatus();
  for (const auto& r : results) {
    if (Bool(r, "adminAccess")) continue;  // admin access does not count as allocated
    auto it =
        impl_.device_index.find(Str(r, "driver") + "/" + Str(r, "pool") + "/" + Str(r, "device"));
    if (it == impl_.device_index.end()) continue;  // device gone from the slices
    int d = it->second;
    const DeviceInfo& dev = Dev(d);
    bool charge_counters = true;
    // ConsumableCapacity off: every allocated device counts as taken
    // (the plugin lists allocated devices only, without shares).
    if (dev.multi || (impl_.opts.features.consumable_capacity &&
                      (r.contains("shareID") || r.contains("consumedCapacity")))) {
      charge_counters = shares_[d] == 0;
      ++shares_[d];
      const Json& cc = Field(r, "consumedCapacity");
      if (cc.is_object()) {
        for (const auto& [k, v] : cc.items()) {
          auto q = ParseQuantityJson(v);
          if (!q.ok()) continue;
          for (size_t ci = 0; ci < dev.capacity.size(); ++ci) {
            if (dev.capacity[ci].fqn == Qualify(k, dev.driver)) Consumed(d)[ci] += q->nanos();
          }
        }
      }
    } else {
      charge_counters = !exclusive_[d];
      exclusive_[d] = 1;
    }
    if (charge_counters) {
      for (const auto& [set, amounts] : dev.consumes) {
        for (const auto& [ci, amt] : amounts) counters_used_[set][ci] += amt;
      }
    }
  }
  return OkStatus();
}

namespace {

// ParseConstraint(): one entry of a claim's spec.devices.constraints.
Result<Constraint> ParseConstraint(const Json& k, const std::string& where) {
  Constraint con;
  const Json& rs = Field(k, "requests");
  if (rs.is_array()) {
    for (const auto& n : rs) {
      if (n.is_string()) con.requests.insert(n.get<std::string>());
    }
  }
  if (!Str(k, "matchAttribute").empty()) {
    con.match = true;
    con.attribute = Str(k, "matchAttribute");
  } else if (!Str(k, "distinctAttribute").empty()) {
    con.match = false;
    con.attribute = Str(k, "distinctAttribute");
  } else {
    return InvalidArgumentError(where + ": constraint needs matchAttribute or distinctAttribute");
  }
  return con;
}

}  // namespace

// AddAllocatedClaims(): the devices of the inventory's allocated claims are
// in use, except those of the claims being allocated now.
Status Search::AddAllocatedClaims(const std::vector<Json>& claims) {
  std::set<std::pair<std::string, std::string>> given;
  for (const auto& c : claims) {
    const Json& md = Field(c, "metadata");
    given.insert({Str(md, "namespace"), Str(md, "name")});
  }
  for (const auto& c : impl_.inv.allocated_claims) {
    const Json& md = Field(c, "metadata");
    if (given.count({Str(md, "namespace"), Str(md, "name")})) continue;
    DRAHIL_RETURN_IF_ERROR(AddInUse(Field(Field(c, "status"), "allocation")));
  }
  return OkStatus();
}

// AddPreallocated(): a claim that already has an allocation keeps it, if its
// node selector admits this node.
Status Search::AddPreallocated(ClaimState cs, const Json& alloc, const std::string& where) {
  const Json& ns = Field(alloc, "nodeSelector");
  Result<bool> on_node = ns.is_object() ? MatchNodeSelector(ns, node_) : Result<bool>(true);
  if (!on_node.ok()) return on_node.status().WithContext(where + ", allocation.nodeSelector");
  if (!*on_node) {
    return ResourceExhaustedError("unschedulable: " + where +
                                  " is allocated with a node selector that node \"" + node_.name +
                                  "\" does not match");
  }
  cs.preallocated = true;
  DRAHIL_RETURN_IF_ERROR(AddInUse(alloc));
  claims_.push_back(std::move(cs));
  return OkStatus();
}

// CheckFeatures(): a request that needs a feature Options::features has
// off is refused with upstream's message (Allocate() in allocator_stable.go
// and allocator_incubating.go, before any device is looked at; the
// scheduler plugin's PreFilter refuses firstAvailable the same way).
Status Search::CheckFeatures(const ClaimState& cs, const std::string& req_name, const Json& exactly,
                             const Json& first) const {
  const Features& f = impl_.opts.features;
  std::string claim = "claim " + cs.ns + "/" + cs.name;
  if (!f.prioritized_list && first.is_array() && !first.empty()) {
    return FailedPreconditionError(claim + ", request " + req_name +
                                   ": has subrequests, but the DRAPrioritizedList feature is "
                                   "disabled");
  }
  if (!f.consumable_capacity) {
    auto has_capacity = [](const Json& spec) {
      return spec.is_object() && spec.contains("capacity") && !spec["capacity"].is_null();
    };
    if (has_capacity(exactly)) {
      return FailedPreconditionError(claim + ", request " + req_name +
                                     ": has capacity requests, but the DRAConsumableCapacity "
                                     "feature is disabled");
    }
    for (size_t i = 0; first.is_array() && i < first.size(); ++i) {
      if (has_capacity(first[i])) {
        return FailedPreconditionError(claim + ", subrequest " + Str(first[i], "name") +
                                       ": has capacity requests, but the "
                                       "DRAConsumableCapacity feature is disabled");
      }
    }
  }
  // AdminAccess off: a request that sets adminAccess at all (true or false)
  // is refused (validateDeviceRequest() in allocator_stable.go and
  // allocator_incubating.go). Subrequests cannot set it.
  if (!f.admin_access && exactly.is_object() && exactly.contains("adminAccess") &&
      !exactly["adminAccess"].is_null()) {
    return FailedPreconditionError(claim + ", request " + req_name +
                                   ": admin access is requested, but the feature is disabled");
  }
  return OkStatus();
}

// AddRequest(): request r of claim ci, with its alternatives (exactly, or
// the subrequests of firstAvailable).
Status Search::AddRequest(size_t ci, const ClaimState& cs, const Json& r,
                          const std::string& where) {
  Request req;
  req.claim = static_cast<int>(ci);
  req.name = Str(r, "name");
  if (req.name.empty()) return InvalidArgumentError(where + ": request without a name");
  const Json& exactly = Field(r, "exactly");
  const Json& first = Field(r, "firstAvailable");
  DRAHIL_RETURN_IF_ERROR(CheckFeatures(cs, req.name, exactly, first));
  if (exactly.is_object() == first.is_array()) {
    return InvalidArgumentError(where + ", request " + req.name +
                                ": exactly one of exactly or firstAvailable must be set");
  }
  if (exactly.is_object()) {
    Alt alt;
    alt.result_name = req.name;
    DRAHIL_RETURN_IF_ERROR_CTX(BuildAlt(cs, req.name, exactly, true, &alt), where);
    req.alts.push_back(std::move(alt));
  } else {
    if (first.empty() || first.size() > 8) {
      return InvalidArgumentError(where + ", request " + req.name +
                                  ": firstAvailable needs 1 to 8 subrequests");
    }
    for (const auto& sub : first) {
      Alt alt;
      alt.sub_name = Str(sub, "name");
      alt.result_name = req.name + "/" + alt.sub_name;
      DRAHIL_RETURN_IF_ERROR_CTX(BuildAlt(cs, req.name, sub, false, &alt), where);
      req.alts.push_back(std::move(alt));
    }
  }
  requests_.push_back(std::move(req));
  return OkStatus();
}

// AddClaim(): claim ci to allocate: its requests and constraints, or its
// existing allocation.
Status Search::AddClaim(size_t ci, const Json& c) {
  ClaimState cs;
  cs.claim = &c;
  const Json& md = Field(c, "metadata");
  cs.ns = Str(md, "namespace");
  cs.name = Str(md, "name");
  cs.uid = Str(md, "uid");
  std::string where = "claim " + cs.ns + "/" + cs.name;
  const Json& alloc = Field(Field(c, "status"), "allocation");
  if (alloc.is_object()) return AddPreallocated(std::move(cs), alloc, where);
  const Json& devices = Field(Field(c, "spec"), "devices");
  const Json& reqs = Field(devices, "requests");
  if (reqs.is_array()) {
    for (const auto& r : reqs) DRAHIL_RETURN_IF_ERROR(AddRequest(ci, cs, r, where));
  }
  const Json& constraints = Field(devices, "constraints");
  if (constraints.is_array()) {
    for (const auto& k : constraints) {
      DRAHIL_ASSIGN_OR_RETURN(Constraint con, ParseConstraint(k, where));
      cs.constraints.push_back(std::move(con));
    }
  }
  claims_.push_back(std::move(cs));
  return OkStatus();
}

// CheckClaimLimits(): a claim's allocation holds at most
// kAllocationResultsMaxSize devices; allocator_stable.go Allocate() sums,
// per claim, the fewest devices each request can take (the smallest
// subrequest of a firstAvailable list) and fails the call above the limit,
// before any search. An All request counts 1 here (upstream counts the
// devices it matches); BuildAllocation() checks the result as well.
Status Search::CheckClaimLimits() const {
  std::vector<int64_t> fewest(claims_.size(), 0);
  for (const Request& req : requests_) {
    int64_t least = -1;
    for (const Alt& alt : req.alts) {
      int64_t n = alt.all ? 1 : alt.count;
      if (least < 0 || n < least) least = n;
    }
    if (req.claim >= 0 && static_cast<size_t>(req.claim) < fewest.size())
      fewest[req.claim] += std::max<int64_t>(least, 0);
  }
  for (size_t ci = 0; ci < claims_.size(); ++ci) {
    if (fewest[ci] > kAllocationResultsMaxSize) {
      return ResourceExhaustedError("claim " + claims_[ci].ns + "/" + claims_[ci].name +
                                    ": number of requested devices " + std::to_string(fewest[ci]) +
                                    " exceeds the claim limit of " +
                                    std::to_string(kAllocationResultsMaxSize));
    }
  }
  return OkStatus();
}

// CheckAllModePools(): allocationMode All needs every device of every
// relevant pool: an incomplete or invalid one fails the whole call, also for
// a subrequest that has alternatives (validateDeviceRequest() in
// allocator_stable.go runs before the search).
Status Search::CheckAllModePools() const {
  std::vector<std::string> unusable = incomplete_pools_;
  unusable.insert(unusable.end(), invalid_pools_.begin(), invalid_pools_.end());
  for (size_t ri = 0; ri < requests_.size() && !unusable.empty(); ++ri) {
    for (const Alt& alt : requests_[ri].alts) {
      if (!alt.all) continue;
      const ClaimState& cs = claims_[requests_[ri].claim];
      return ResourceExhaustedError("unschedulable: claim " + cs.ns + "/" + cs.name +
                                    ", request \"" + alt.result_name +
                                    "\": asks for all devices, but " + unusable.front());
    }
  }
  return OkStatus();
}

Status Search::Prepare(const std::vector<Json>& claims) {
  size_t nd = impl_.devices.size();
  exclusive_.assign(nd, 0);
  shares_.assign(nd, 0);
  counters_used_.resize(impl_.counter_sets.size());
  for (size_t s = 0; s < counters_used_.size(); ++s)
    counters_used_[s].assign(impl_.counter_sets[s].capacity.size(), 0);

  DRAHIL_RETURN_IF_ERROR(AddAllocatedClaims(claims));
  for (size_t ci = 0; ci < claims.size(); ++ci) DRAHIL_RETURN_IF_ERROR(AddClaim(ci, claims[ci]));
  DRAHIL_RETURN_IF_ERROR(CheckClaimLimits());

  DRAHIL_RETURN_IF_ERROR(GatherDevices());
  DRAHIL_RETURN_IF_ERROR(CheckAllModePools());
  elig_.resize(requests_.size());
  for (size_t ri = 0; ri < requests_.size(); ++ri) {
    elig_[ri].resize(requests_[ri].alts.size());
    for (auto& e : elig_[ri]) {
      e.state.assign(impl_.devices.size(), Eligibility::kUnknown);
      e.stage.assign(impl_.devices.size(), 0);
    }
  }
  chosen_alt_.assign(requests_.size(), 0);
  return OkStatus();
}

// GatherDevices(): the devices this node can use, after GatherPools() in
// k8s.io/dynamic-resource-allocation/structured/internal/stable/pools_stable.go.
// A pool is relevant when one of its slices (at the pool's highest
// generation) has shared counters or selects the node, by slice or, with
// perDeviceNodeSelection, by one of its devices; a node selector that does
// not parse aborts the allocation. Relevant pools that are incomplete or
// invalid give no devices (allocateOne() skips them) but are remembered:
// allocationMode All fails on them, and a failed search names the invalid
// ones. Devices come in pool, slice and device order; Options::order_seed
// shuffles pools and slices (upstream's pool order is a Go map's).
Status Search::GatherDevices() {
  std::vector<std::vector<std::vector<int>>> devices_of(impl_.pools.size());
  for (size_t pi = 0; pi < impl_.pools.size(); ++pi)
    devices_of[pi].resize(impl_.pools[pi].slices.size());
  for (size_t d = 0; d < impl_.devices.size(); ++d) {
    const DeviceInfo& dev = impl_.devices[d];
    devices_of[dev.pool_index][dev.slice_index].push_back(static_cast<int>(d));
  }
  std::vector<int> pool_order(impl_.pools.size());
  for (size_t pi = 0; pi < pool_order.size(); ++pi) pool_order[pi] = static_cast<int>(pi);
  const std::optional<uint64_t>& seed = impl_.opts.order_seed;
  if (seed) {
    std::stable_sort(pool_order.begin(), pool_order.end(), [&](int a, int b) {
      return OrderKey(*seed, impl_.pools[a].driver + "/" + impl_.pools[a].name) <
             OrderKey(*seed, impl_.pools[b].driver + "/" + impl_.pools[b].name);
    });
  }
  const Features& f = impl_.opts.features;
  for (int pi : pool_order) {
    const PoolInfo& pool = impl_.pools[pi];
    bool relevant = false;
    for (size_t si = 0; si < pool.slices.size(); ++si) {
      const Json* slice = pool.slices[si];
      const Json& spec = Field(*slice, "spec");
      std::string name = Str(Field(*slice, "metadata"), "name");
      bool counters =
          Field(spec, "sharedCounters").is_array() && !Field(spec, "sharedCounters").empty();
      // 1.35+ (PartitionableDevices on): a slice with shared counters makes
      // its pool relevant whatever its node selection. 1.34 had no such rule:
      // such a slice also carried devices and counted by its node selection.
      if (counters && f.partitionable_devices && f.version.minor > 34) {
        relevant = true;
      } else if (!pool.ignored.empty() && pool.ignored[si]) {
        continue;  // IgnoredSlice(): not gathered at all
      } else if (Bool(spec, "perDeviceNodeSelection")) {
        const Json& devs = Field(spec, "devices");
        for (size_t i = 0; devs.is_array() && i < devs.size(); ++i) {
          auto m = NodeMatches(devs[i], node_);
          if (!m.ok()) {
            return m.status().WithContext("node selection for device " + Str(devs[i], "name") +
                                          " in slice " + name);
          }
          if (*m) {
            relevant = true;
            break;
          }
        }
      } else {
        auto m = NodeMatches(spec, node_);
        if (!m.ok()) return m.status().WithContext("node selection for slice " + name);
        relevant = relevant || *m;
      }
    }
    if (!relevant) continue;
    if (pool.invalid) {
      invalid_pools_.push_back(pool.problem);
      continue;
    }
    if (!pool.complete) {
      incomplete_pools_.push_back(pool.problem);
      continue;
    }
    std::vector<int> slice_order(pool.slices.size());
    for (size_t si = 0; si < slice_order.size(); ++si) slice_order[si] = static_cast<int>(si);
    if (seed) {
      std::stable_sort(slice_order.begin(), slice_order.end(), [&](int a, int b) {
        return SliceOrderKey(*seed, *pool.slices[a]) < SliceOrderKey(*seed, *pool.slices[b]);
      });
    }
    for (int si : slice_order) {
      for (int d : devices_of[pi][si]) {
        auto on = OnNode(Dev(d));
        if (!on.ok()) return on.status().WithContext("node selection for device " + Dev(d).Id());
        if (*on) node_devices_.push_back(d);
      }
    }
  }
  return OkStatus();
}

uint64_t SliceOrderKey(uint64_t seed, const Json& slice) {
  const Json& spec = Field(slice, "spec");
  for (const char* list : {"devices", "sharedCounters"}) {
    const Json& items = Field(spec, list);
    if (items.is_array() && !items.empty()) return OrderKey(seed, Str(items[0], "name"));
  }
  return OrderKey(seed, Str(Field(slice, "metadata"), "name"));
}

// OrderKey(): a pseudo-random position for name under seed (FNV-1a, then
// splitmix64), the same on every platform.
uint64_t OrderKey(uint64_t seed, const std::string& name) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ull;
  }
  uint64_t z = h ^ (seed + 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace drahil::allocator::internal

namespace drahil::allocator {

std::vector<size_t> SearchOrder(const std::vector<Json>& slices,
                                const std::optional<uint64_t>& order_seed) {
  using internal::Field;
  using internal::OrderKey;
  using internal::Str;
  struct Key {
    uint64_t pool_key = 0;  // the seed's position for the pool (0 without one)
    std::string driver, pool;
    uint64_t slice_key = 0;  // the seed's position for the slice in its pool
    size_t index = 0;        // as listed
  };
  std::vector<Key> keys(slices.size());
  for (size_t i = 0; i < slices.size(); ++i) {
    const Json& spec = Field(slices[i], "spec");
    Key& k = keys[i];
    k.driver = Str(spec, "driver");
    k.pool = Str(Field(spec, "pool"), "name");
    k.index = i;
    if (order_seed) {
      // As GatherDevices(): pools in (driver, pool) order, stably shuffled by
      // OrderKey over "driver/pool"; slices as listed, stably shuffled by
      // SliceOrderKey.
      k.pool_key = OrderKey(*order_seed, k.driver + "/" + k.pool);
      k.slice_key = internal::SliceOrderKey(*order_seed, slices[i]);
    }
  }
  std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
    return std::tie(a.pool_key, a.driver, a.pool, a.slice_key, a.index) <
           std::tie(b.pool_key, b.driver, b.pool, b.slice_key, b.index);
  });
  std::vector<size_t> out;
  out.reserve(keys.size());
  for (const auto& k : keys) out.push_back(k.index);
  return out;
}

}  // namespace drahil::allocator
