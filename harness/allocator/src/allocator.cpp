// Structured-parameters allocation (KEP-4381 and follow-ons), after the
// behaviour of kube-scheduler's DRA plugin. See allocator.hpp for the
// contract and docs/allocator.md for the design.
#include "drahil/allocator/allocator.hpp"

#include <algorithm>
#include <mutex>
#include <set>
#include <unordered_map>

#include "drahil/core/clock.hpp"
#include "drahil/core/quantity.hpp"
#include "drahil/formats/json_fields.hpp"
#include "quantity_util.hpp"

namespace drahil::allocator {
namespace {

using Nanos = __int128;

// Lenient one-key readers (drahil/formats/json_fields.hpp).
constexpr auto Str = &formats::MemberString;
constexpr auto Field = &formats::Member;
constexpr auto Bool = &formats::MemberBool;

// Qualify(): "memory" in driver d's domain is "d/memory".
std::string Qualify(const std::string& name, const std::string& driver) {
  return name.find('/') == std::string::npos ? driver + "/" + name : name;
}

// ---- node selection ---------------------------------------------------------

bool MatchRequirement(const Json& req, const std::string* value) {
  std::string op = Str(req, "operator");
  const Json& values = Field(req, "values");
  auto in_values = [&](const std::string& v) {
    if (!values.is_array()) return false;
    for (const auto& x : values) {
      if (x.is_string() && x.get<std::string>() == v) return true;
    }
    return false;
  };
  if (op == "In") return value && in_values(*value);
  if (op == "NotIn") return !value || !in_values(*value);
  if (op == "Exists") return value != nullptr;
  if (op == "DoesNotExist") return value == nullptr;
  if (op == "Gt" || op == "Lt") {
    if (!value || !values.is_array() || values.size() != 1 || !values[0].is_string()) return false;
    try {
      long long have = std::stoll(*value);
      long long want = std::stoll(values[0].get<std::string>());
      return op == "Gt" ? have > want : have < want;
    } catch (...) {
      return false;
    }
  }
  return false;
}

// MatchNodeSelector(): core/v1 NodeSelector: terms are ORed, requirements in
// a term ANDed; an empty term matches nothing.
bool MatchNodeSelector(const Json& sel, const NodeInfo& node) {
  const Json& terms = Field(sel, "nodeSelectorTerms");
  if (!terms.is_array()) return false;
  for (const auto& term : terms) {
    const Json& exprs = Field(term, "matchExpressions");
    const Json& fields = Field(term, "matchFields");
    bool any = false, ok = true;
    if (exprs.is_array()) {
      for (const auto& r : exprs) {
        any = true;
        std::string key = Str(r, "key");
        auto it = node.labels.find(key);
        if (!MatchRequirement(r, it == node.labels.end() ? nullptr : &it->second)) ok = false;
      }
    }
    if (fields.is_array()) {
      for (const auto& r : fields) {
        any = true;
        if (Str(r, "key") != "metadata.name" || !MatchRequirement(r, &node.name)) ok = false;
      }
    }
    if (any && ok) return true;
  }
  return false;
}

// ---- tolerations ------------------------------------------------------------

bool Tolerates(const Json& tol, const Json& taint) {
  std::string effect = Str(tol, "effect");
  if (!effect.empty() && effect != Str(taint, "effect")) return false;
  std::string op = Str(tol, "operator");
  if (op.empty()) op = "Equal";
  std::string key = Str(tol, "key");
  if (op == "Exists") return key.empty() || key == Str(taint, "key");
  return key == Str(taint, "key") && Str(tol, "value") == Str(taint, "value");
}

// UntoleratedTaint(): the first NoSchedule/NoExecute taint not tolerated.
const Json* UntoleratedTaint(const std::vector<Json>& taints, const Json& tolerations) {
  for (const auto& t : taints) {
    std::string effect = Str(t, "effect");
    if (effect != "NoSchedule" && effect != "NoExecute") continue;  // "None" is informational
    bool ok = false;
    if (tolerations.is_array()) {
      for (const auto& tol : tolerations) {
        if (Tolerates(tol, t)) {
          ok = true;
          break;
        }
      }
    }
    if (!ok) return &t;
  }
  return nullptr;
}

// ---- indexed inventory --------------------------------------------------------

struct Capacity {
  std::string key;  // as written in the slice
  std::string fqn;
  Nanos value = 0;
  Quantity::Format format = Quantity::Format::kDecimalSI;
  const Json* policy = nullptr;  // requestPolicy or null
};

struct CounterSet {
  std::string name;
  std::vector<std::string> names;
  std::vector<Nanos> capacity;
  std::vector<Quantity::Format> formats;  // as written, for messages
};

struct DeviceInfo {
  std::string driver, pool, name;
  int pool_index = 0;
  Json json;
  cel::Device cel;
  enum class NodeKind { kNodeName, kAllNodes, kSelector } node_kind = NodeKind::kAllNodes;
  std::string node_name;
  Json node_selector;
  bool multi = false;
  bool binds_to_node = false;
  std::vector<Capacity> capacity;
  // consumes: (global counter set index, [(counter index, amount)]).
  std::vector<std::pair<int, std::vector<std::pair<int, Nanos>>>> consumes;
  std::vector<Json> taints;
  std::map<std::string, Json> attributes;  // FQN → DeviceAttribute
  std::string Id() const { return driver + "/" + pool + "/" + name; }
};

struct PoolInfo {
  std::string driver, name;
  int64_t generation = 0;
  bool complete = true;
  std::string problem;
  std::set<std::string> nodes;  // nodeName values of its slices (for "incomplete" checks)
  bool has_non_node_slices = false;
};

struct ClassInfo {
  std::string name;
  const Json* json = nullptr;
};

}  // namespace

NodeInfo NodeInfo::FromJson(const Json& node) {
  NodeInfo n;
  const Json& md = Field(node, "metadata");
  n.name = Str(md, "name");
  const Json& labels = Field(md, "labels");
  if (labels.is_object()) {
    for (const auto& [k, v] : labels.items()) {
      if (v.is_string()) n.labels[k] = v.get<std::string>();
    }
  }
  return n;
}

struct Allocator::Impl {
  Inventory inv;
  Options opts;
  std::vector<PoolInfo> pools;
  std::vector<DeviceInfo> devices;
  std::vector<CounterSet> counter_sets;
  std::map<std::string, ClassInfo> classes;
  std::unordered_map<std::string, int> device_index;  // driver/pool/device → index
  std::vector<std::string> warnings;
  mutable cel::CompileCache cache;
  // Selector results per (program, device): CEL is pure and devices do not
  // change for the Allocator's lifetime, so a result computed for one claim
  // holds for the next. Errors are not cached (they abort anyway).
  mutable std::mutex selector_mu;
  mutable std::unordered_map<const cel::Program*, std::vector<int8_t>> selector_results;

  Result<bool> EvaluateSelector(const cel::Program& prog, int d) const {
    {
      std::lock_guard<std::mutex> lock(selector_mu);
      auto it = selector_results.find(&prog);
      if (it != selector_results.end() && it->second[d] != 0) return it->second[d] > 0;
    }
    auto r = prog.Evaluate(devices[d].cel);
    if (r.ok()) {
      std::lock_guard<std::mutex> lock(selector_mu);
      auto& v = selector_results[&prog];
      if (v.empty()) v.assign(devices.size(), 0);
      v[d] = *r ? 1 : -1;
    }
    return r;
  }

  Impl(Inventory i, Options o) : inv(std::move(i)), opts(std::move(o)), cache(opts.cel) {}
  void Index();
  Status IndexPool(const std::vector<const Json*>& slices, int pool_index);
};

void Allocator::Impl::Index() {
  for (const auto& c : inv.device_classes) {
    std::string name = Str(Field(c, "metadata"), "name");
    if (!name.empty()) classes[name] = ClassInfo{name, &c};
  }
  // Group slices by (driver, pool); keep the highest generation only.
  std::map<std::pair<std::string, std::string>, std::vector<const Json*>> by_pool;
  for (const auto& s : inv.slices) {
    const Json& spec = Field(s, "spec");
    std::string driver = Str(spec, "driver");
    std::string pool = Str(Field(spec, "pool"), "name");
    if (driver.empty() || pool.empty()) {
      warnings.push_back("ResourceSlice " + Str(Field(s, "metadata"), "name") + ": missing driver or pool name; ignored");
      continue;
    }
    by_pool[{driver, pool}].push_back(&s);
  }
  for (auto& [key, slices] : by_pool) {
    int64_t gen = 0;
    for (const Json* s : slices) {
      const Json& g = Field(Field(Field(*s, "spec"), "pool"), "generation");
      if (g.is_number_integer()) gen = std::max(gen, g.get<int64_t>());
    }
    std::vector<const Json*> current;
    for (const Json* s : slices) {
      const Json& g = Field(Field(Field(*s, "spec"), "pool"), "generation");
      if ((g.is_number_integer() ? g.get<int64_t>() : 0) == gen) current.push_back(s);
    }
    PoolInfo p;
    p.driver = key.first;
    p.name = key.second;
    p.generation = gen;
    const Json& count = Field(Field(Field(*current[0], "spec"), "pool"), "resourceSliceCount");
    int64_t want = count.is_number_integer() ? count.get<int64_t>() : 1;
    if (static_cast<int64_t>(current.size()) != want) {
      p.complete = false;
      p.problem = "pool " + p.driver + "/" + p.name + " is incomplete (" + std::to_string(current.size()) +
                  " of " + std::to_string(want) + " slices at generation " + std::to_string(gen) + ")";
    }
    for (const Json* s : current) {
      std::string nn = Str(Field(*s, "spec"), "nodeName");
      if (!nn.empty()) {
        p.nodes.insert(nn);
      } else {
        p.has_non_node_slices = true;
      }
    }
    pools.push_back(std::move(p));
    int pi = static_cast<int>(pools.size()) - 1;
    size_t first_device = devices.size();
    size_t first_set = counter_sets.size();
    Status st = IndexPool(current, pi);
    if (!st.ok()) {
      // A broken pool is unusable as a whole, as an invalid pool is in Kubernetes.
      devices.resize(first_device);
      counter_sets.resize(first_set);
      pools[pi].complete = false;
      pools[pi].problem = "pool " + pools[pi].driver + "/" + pools[pi].name + " is invalid: " + st.message();
      warnings.push_back(pools[pi].problem);
    } else if (!pools[pi].complete) {
      warnings.push_back(pools[pi].problem);
    }
  }
  for (size_t i = 0; i < devices.size(); ++i) device_index[devices[i].Id()] = static_cast<int>(i);
  // DeviceTaintRules add taints to the devices they select.
  for (const auto& rule : inv.taint_rules) {
    const Json& spec = Field(rule, "spec");
    const Json& sel = Field(spec, "deviceSelector");
    const Json& taint = Field(spec, "taint");
    if (!taint.is_object()) continue;
    std::string d = Str(sel, "driver"), p = Str(sel, "pool"), n = Str(sel, "device");
    for (auto& dev : devices) {
      if ((d.empty() || d == dev.driver) && (p.empty() || p == dev.pool) && (n.empty() || n == dev.name)) {
        dev.taints.push_back(taint);
      }
    }
  }
}

Status Allocator::Impl::IndexPool(const std::vector<const Json*>& slices, int pool_index) {
  const PoolInfo& pool = pools[pool_index];
  std::map<std::string, int> sets;  // name → global index
  for (const Json* s : slices) {
    const Json& shared = Field(Field(*s, "spec"), "sharedCounters");
    if (!shared.is_array()) continue;
    for (const auto& cs : shared) {
      CounterSet set;
      set.name = Str(cs, "name");
      if (sets.count(set.name)) return InvalidArgumentError("duplicate counter set " + set.name);
      const Json& counters = Field(cs, "counters");
      if (counters.is_object()) {
        for (const auto& [cname, c] : counters.items()) {
          auto q = ParseQuantityJson(Field(c, "value"));
          if (!q.ok()) return q.status().WithContext("counter set " + set.name + " counter " + cname);
          set.names.push_back(cname);
          set.capacity.push_back(q->nanos());
          set.formats.push_back(q->format());
        }
      }
      counter_sets.push_back(std::move(set));
      sets[counter_sets.back().name] = static_cast<int>(counter_sets.size()) - 1;
    }
  }
  std::set<std::string> names;
  for (const Json* s : slices) {
    const Json& spec = Field(*s, "spec");
    const Json& devs = Field(spec, "devices");
    if (!devs.is_array()) continue;
    bool per_device = Bool(spec, "perDeviceNodeSelection");
    for (const auto& d : devs) {
      DeviceInfo info;
      info.driver = pool.driver;
      info.pool = pool.name;
      info.pool_index = pool_index;
      info.name = Str(d, "name");
      if (info.name.empty()) return InvalidArgumentError("device without a name");
      if (!names.insert(info.name).second) return InvalidArgumentError("duplicate device name " + info.name);
      info.json = d;
      auto cd = cel::Device::FromJson(info.driver, d);
      if (!cd.ok()) return cd.status();
      info.cel = std::move(*cd);
      const Json& where = per_device ? d : spec;
      if (!Str(where, "nodeName").empty()) {
        info.node_kind = DeviceInfo::NodeKind::kNodeName;
        info.node_name = Str(where, "nodeName");
      } else if (Field(where, "nodeSelector").is_object()) {
        info.node_kind = DeviceInfo::NodeKind::kSelector;
        info.node_selector = Field(where, "nodeSelector");
      } else {
        info.node_kind = DeviceInfo::NodeKind::kAllNodes;
      }
      info.multi = Bool(d, "allowMultipleAllocations");
      info.binds_to_node = Bool(d, "bindsToNode");
      const Json& caps = Field(d, "capacity");
      if (caps.is_object()) {
        for (const auto& [k, c] : caps.items()) {
          auto q = ParseQuantityJson(Field(c, "value"));
          if (!q.ok()) return q.status().WithContext("device " + info.name + " capacity " + k);
          Capacity cap;
          cap.key = k;
          cap.fqn = Qualify(k, info.driver);
          cap.value = q->nanos();
          cap.format = q->format();
          info.capacity.push_back(std::move(cap));
        }
      }
      const Json& attrs = Field(d, "attributes");
      if (attrs.is_object()) {
        for (const auto& [k, a] : attrs.items()) info.attributes[Qualify(k, info.driver)] = a;
      }
      const Json& consumes = Field(d, "consumesCounters");
      if (consumes.is_array()) {
        for (const auto& c : consumes) {
          std::string set_name = Str(c, "counterSet");
          auto it = sets.find(set_name);
          if (it == sets.end()) {
            return InvalidArgumentError("device " + info.name + " consumes unknown counter set " + set_name);
          }
          const CounterSet& set = counter_sets[it->second];
          std::vector<std::pair<int, Nanos>> amounts;
          const Json& counters = Field(c, "counters");
          if (counters.is_object()) {
            for (const auto& [cname, cv] : counters.items()) {
              auto pos = std::find(set.names.begin(), set.names.end(), cname);
              if (pos == set.names.end()) {
                return InvalidArgumentError("device " + info.name + " consumes unknown counter " + set_name + "/" + cname);
              }
              auto q = ParseQuantityJson(Field(cv, "value"));
              if (!q.ok()) return q.status().WithContext("device " + info.name + " counter " + cname);
              amounts.emplace_back(static_cast<int>(pos - set.names.begin()), q->nanos());
            }
          }
          info.consumes.emplace_back(it->second, std::move(amounts));
        }
      }
      const Json& taints = Field(d, "taints");
      if (taints.is_array()) {
        for (const auto& t : taints) info.taints.push_back(t);
      }
      devices.push_back(std::move(info));
    }
  }
  // Capacity policies point into the stored JSON of each device.
  for (auto& dev : devices) {
    if (dev.pool_index != pool_index) continue;
    const Json& caps = Field(dev.json, "capacity");
    for (auto& cap : dev.capacity) {
      const Json& pol = Field(Field(caps, cap.key.c_str()), "requestPolicy");
      cap.policy = pol.is_object() ? &pol : nullptr;
    }
  }
  return OkStatus();
}

Allocator::Allocator(Inventory inventory, Options options)
    : impl_(std::make_unique<Impl>(std::move(inventory), std::move(options))) {
  impl_->Index();
}
Allocator::~Allocator() = default;

const std::vector<std::string>& Allocator::warnings() const { return impl_->warnings; }

std::vector<std::string> Allocator::Nodes() const {
  std::set<std::string> names;
  for (const auto& d : impl_->devices) {
    if (d.node_kind == DeviceInfo::NodeKind::kNodeName) names.insert(d.node_name);
  }
  return {names.begin(), names.end()};
}

void Allocator::AddAllocatedClaim(const Json& claim) {
  const Json& md = Field(claim, "metadata");
  RemoveAllocatedClaim(Str(md, "namespace"), Str(md, "name"));
  impl_->inv.allocated_claims.push_back(claim);
}

void Allocator::RemoveAllocatedClaim(const std::string& ns, const std::string& name) {
  auto& v = impl_->inv.allocated_claims;
  v.erase(std::remove_if(v.begin(), v.end(),
                         [&](const Json& c) {
                           const Json& md = Field(c, "metadata");
                           return Str(md, "namespace") == ns && Str(md, "name") == name;
                         }),
          v.end());
}

// ---- the search -----------------------------------------------------------------

namespace {

struct Alt {
  std::string result_name;  // "req" or "req/sub"
  std::string sub_name;
  const ClassInfo* cls = nullptr;
  std::string class_name;
  std::vector<std::pair<std::string, std::shared_ptr<const cel::Program>>> selectors;  // (who, program)
  bool all = false;
  int64_t count = 1;
  bool admin = false;
  Json tolerations;
  std::vector<std::pair<std::string, Nanos>> capacity_requests;  // raw key, amount
};

struct Request {
  int claim = 0;
  std::string name;
  std::vector<Alt> alts;
};

struct Constraint {
  std::set<std::string> requests;  // empty = all
  bool match = true;               // matchAttribute, else distinctAttribute
  std::string attribute;           // fully qualified
  std::vector<const Json*> values;  // values of the devices picked so far
  bool Applies(const std::string& req, const std::string& result_name) const {
    return requests.empty() || requests.count(req) || requests.count(result_name);
  }
};

struct ClaimState {
  const Json* claim = nullptr;
  std::string ns, name, uid;
  bool preallocated = false;
  std::vector<Constraint> constraints;
};

struct Pick {
  int request = 0;
  int alt = 0;
  int device = 0;
  bool charged_counters = false;
  std::vector<std::pair<int, Nanos>> consumed;  // capacity index, amount (multi only)
};

// Static eligibility of (alt, device), memoised per Allocate call.
struct Eligibility {
  enum State : int8_t { kUnknown, kYes, kNo };
  std::vector<int8_t> state;
  // stage: how far a rejected device got (1 class, 2 selectors, 3 taints,
  // 4 capacity names, 5 capacity amounts), so the explanation can name the closest miss.
  std::vector<int8_t> stage;
  // Sparse: most devices pass or fail without either, and the search state
  // is rebuilt for every Allocate() call.
  std::unordered_map<int, std::string> reason;
  std::unordered_map<int, std::vector<std::pair<int, Nanos>>> consumed;
};

class Search {
 public:
  Search(const Allocator::Impl& impl, const NodeInfo& node) : impl_(impl), node_(node) {}

  Status Prepare(const std::vector<Json>& claims);
  Result<std::vector<Json>> Run();

 private:
  const DeviceInfo& Dev(int d) const { return impl_.devices[d]; }
  Status BuildAlt(const ClaimState& cs, const std::string& req_name, const Json& spec, bool allow_admin, Alt* alt);
  Status AddInUse(const Json& allocation);
  bool OnNode(const DeviceInfo& d) const;

  bool SearchFrom(size_t ri);
  bool PickDevices(size_t ri, int alt, size_t start, int64_t remaining);
  // StaticCheck(): "" when (alt, device) passes selectors, taints and capacity.
  const std::string& StaticCheck(size_t ri, int alt, int d);
  std::string DynamicCheck(size_t ri, int alt, int d);
  void Apply(Pick& p);
  void Undo(const Pick& p);
  void NoteFailure(size_t ri, const std::string& why);
  std::string Describe(size_t ri) const;
  Json BuildAllocation(size_t claim_index);

  const Allocator::Impl& impl_;
  const NodeInfo& node_;
  std::vector<ClaimState> claims_;
  std::vector<Request> requests_;
  std::vector<int> node_devices_;  // indices of usable devices on this node, in order
  std::vector<std::string> incomplete_pools_;  // problems of pools relevant to this node
  std::vector<std::vector<Eligibility>> elig_;  // [request][alt]
  // In-use state.
  std::vector<char> exclusive_;
  // Consumed(): per capacity, what the shares of a multi-allocatable device use.
  std::vector<Nanos>& Consumed(int d) {
    auto& v = consumed_[d];
    if (v.empty()) v.assign(impl_.devices[d].capacity.size(), 0);
    return v;
  }
  std::unordered_map<int, std::vector<Nanos>> consumed_;
  std::vector<int> shares_;                   // allocations per multi device
  std::vector<std::vector<Nanos>> counters_used_;
  std::vector<Pick> picks_;
  std::vector<int> chosen_alt_;
  int64_t steps_ = 0;
  bool budget_exceeded_ = false;
  bool hopeless_ = false;
  Status error_;
  size_t fail_ri_ = 0;
  std::string fail_why_;
  std::string scan_reason_;  // first rejection seen in the current request's scan
};

bool Search::OnNode(const DeviceInfo& d) const {
  switch (d.node_kind) {
    case DeviceInfo::NodeKind::kNodeName: return d.node_name == node_.name;
    case DeviceInfo::NodeKind::kAllNodes: return true;
    case DeviceInfo::NodeKind::kSelector: return MatchNodeSelector(d.node_selector, node_);
  }
  return false;
}

Status Search::BuildAlt(const ClaimState& cs, const std::string& req_name, const Json& spec, bool allow_admin,
                        Alt* alt) {
  alt->class_name = Str(spec, "deviceClassName");
  if (alt->class_name.empty()) return InvalidArgumentError("request " + req_name + ": deviceClassName is required");
  auto cit = impl_.classes.find(alt->class_name);
  if (cit != impl_.classes.end()) {
    alt->cls = &cit->second;
    const Json& sels = Field(Field(*alt->cls->json, "spec"), "selectors");
    if (sels.is_array()) {
      for (size_t i = 0; i < sels.size(); ++i) {
        std::string expr = Str(Field(sels[i], "cel"), "expression");
        auto prog = impl_.cache.Get(expr);
        std::string who = "selector " + std::to_string(i) + " of device class \"" + alt->class_name + "\"";
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
      std::string who = "selector " + std::to_string(i) + " of request \"" + alt->result_name + "\"";
      if (!prog.ok()) return prog.status().WithContext(who);
      alt->selectors.emplace_back(who, *prog);
    }
  }
  std::string mode = Str(spec, "allocationMode");
  if (mode.empty() || mode == "ExactCount") {
    const Json& count = Field(spec, "count");
    alt->count = count.is_number_integer() ? count.get<int64_t>() : 1;
    if (alt->count <= 0) return InvalidArgumentError("request " + alt->result_name + ": count must be positive");
  } else if (mode == "All") {
    alt->all = true;
  } else {
    return InvalidArgumentError("request " + alt->result_name + ": unknown allocationMode \"" + mode + "\"");
  }
  alt->admin = allow_admin && Bool(spec, "adminAccess");
  if (alt->admin && impl_.opts.check_admin_namespace) {
    bool labelled = false;
    for (const auto& ns : impl_.inv.namespaces) {
      const Json& md = Field(ns, "metadata");
      if (Str(md, "name") == cs.ns && Str(Field(md, "labels"), kAdminAccessLabel) == "true") labelled = true;
    }
    if (!labelled) {
      return PermissionDeniedError("request " + alt->result_name + ": adminAccess is only allowed in namespaces labelled " +
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
    auto it = impl_.device_index.find(Str(r, "driver") + "/" + Str(r, "pool") + "/" + Str(r, "device"));
    if (it == impl_.device_index.end()) continue;  // device gone from the slices
    int d = it->second;
    const DeviceInfo& dev = Dev(d);
    bool charge_counters = true;
    if (dev.multi || r.contains("shareID") || r.contains("consumedCapacity")) {
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

Status Search::Prepare(const std::vector<Json>& claims) {
  size_t nd = impl_.devices.size();
  exclusive_.assign(nd, 0);
  shares_.assign(nd, 0);
  counters_used_.resize(impl_.counter_sets.size());
  for (size_t s = 0; s < counters_used_.size(); ++s) counters_used_[s].assign(impl_.counter_sets[s].capacity.size(), 0);

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

  for (size_t ci = 0; ci < claims.size(); ++ci) {
    const Json& c = claims[ci];
    ClaimState cs;
    cs.claim = &c;
    const Json& md = Field(c, "metadata");
    cs.ns = Str(md, "namespace");
    cs.name = Str(md, "name");
    cs.uid = Str(md, "uid");
    std::string where = "claim " + cs.ns + "/" + cs.name;
    const Json& alloc = Field(Field(c, "status"), "allocation");
    if (alloc.is_object()) {
      const Json& ns = Field(alloc, "nodeSelector");
      if (ns.is_object() && !MatchNodeSelector(ns, node_)) {
        return ResourceExhaustedError("unschedulable: " + where + " is allocated with a node selector that node \"" +
                                      node_.name + "\" does not match");
      }
      cs.preallocated = true;
      DRAHIL_RETURN_IF_ERROR(AddInUse(alloc));
      claims_.push_back(std::move(cs));
      continue;
    }
    const Json& devices = Field(Field(c, "spec"), "devices");
    const Json& reqs = Field(devices, "requests");
    if (reqs.is_array()) {
      for (const auto& r : reqs) {
        Request req;
        req.claim = static_cast<int>(ci);
        req.name = Str(r, "name");
        if (req.name.empty()) return InvalidArgumentError(where + ": request without a name");
        const Json& exactly = Field(r, "exactly");
        const Json& first = Field(r, "firstAvailable");
        if (exactly.is_object() == first.is_array()) {
          return InvalidArgumentError(where + ", request " + req.name + ": exactly one of exactly or firstAvailable must be set");
        }
        if (exactly.is_object()) {
          Alt alt;
          alt.result_name = req.name;
          DRAHIL_RETURN_IF_ERROR_CTX(BuildAlt(cs, req.name, exactly, true, &alt), where);
          req.alts.push_back(std::move(alt));
        } else {
          if (first.empty() || first.size() > 8) {
            return InvalidArgumentError(where + ", request " + req.name + ": firstAvailable needs 1 to 8 subrequests");
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
      }
    }
    const Json& constraints = Field(devices, "constraints");
    if (constraints.is_array()) {
      for (const auto& k : constraints) {
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
        cs.constraints.push_back(std::move(con));
      }
    }
    claims_.push_back(std::move(cs));
  }

  for (size_t d = 0; d < impl_.devices.size(); ++d) {
    const DeviceInfo& dev = impl_.devices[d];
    if (!impl_.pools[dev.pool_index].complete) continue;
    if (OnNode(dev)) node_devices_.push_back(static_cast<int>(d));
  }
  for (const auto& p : impl_.pools) {
    if (!p.complete && (p.has_non_node_slices || p.nodes.count(node_.name))) incomplete_pools_.push_back(p.problem);
  }
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

// RoundUp(): the amount a request consumes under a capacity's requestPolicy
// (KEP-5075): validValues → the smallest valid value ≥ request; validRange →
// at least min, rounded up to min + k*step, at most max.
std::optional<Nanos> ApplyPolicy(const Capacity& cap, std::optional<Nanos> requested, std::string* why) {
  const Json* pol = cap.policy;
  if (!requested) {
    if (pol) {
      auto def = ParseQuantityJson(Field(*pol, "default"));
      if (def.ok() && !Field(*pol, "default").is_null()) return def->nanos();
    }
    return cap.value;  // no request and no default: the whole capacity
  }
  Nanos r = *requested;
  if (!pol) return r;
  const Json& values = Field(*pol, "validValues");
  if (values.is_array() && !values.empty()) {
    std::vector<Nanos> vs;
    for (const auto& v : values) {
      auto q = ParseQuantityJson(v);
      if (q.ok()) vs.push_back(q->nanos());
    }
    std::sort(vs.begin(), vs.end());
    for (Nanos v : vs) {
      if (v >= r) return v;
    }
    *why = "no valid value of capacity " + cap.key + " is large enough for " + FormatNanos(r, cap.format);
    return std::nullopt;
  }
  const Json& range = Field(*pol, "validRange");
  if (range.is_object()) {
    auto min = ParseQuantityJson(Field(range, "min"));
    Nanos lo = min.ok() ? min->nanos() : 0;
    Nanos v = r < lo ? lo : r;
    if (!Field(range, "step").is_null()) {
      auto step = ParseQuantityJson(Field(range, "step"));
      if (step.ok() && step->nanos() > 0) {
        Nanos s = step->nanos();
        Nanos k = (v - lo + s - 1) / s;
        v = lo + k * s;
      }
    }
    if (!Field(range, "max").is_null()) {
      auto max = ParseQuantityJson(Field(range, "max"));
      if (max.ok() && v > max->nanos()) {
        *why = "request " + FormatNanos(r, cap.format) + " for capacity " + cap.key + " exceeds the policy maximum " +
               max->ToString();
        return std::nullopt;
      }
    }
    return v;
  }
  return r;
}

const std::string& Search::StaticCheck(size_t ri, int ai, int d) {
  Eligibility& e = elig_[ri][ai];
  static const std::string kPass;
  if (e.state[d] == Eligibility::kYes) return kPass;
  if (e.state[d] == Eligibility::kNo) return e.reason[d];
  const Alt& alt = requests_[ri].alts[ai];
  const DeviceInfo& dev = Dev(d);
  int8_t stage = 1;
  auto no = [&](std::string why) -> const std::string& {
    e.state[d] = Eligibility::kNo;
    e.stage[d] = stage;
    e.reason[d] = "device " + dev.Id() + ": " + std::move(why);
    return e.reason[d];
  };
  if (!alt.cls) return no("device class \"" + alt.class_name + "\" not found");
  stage = 2;
  for (const auto& [who, prog] : alt.selectors) {
    auto r = impl_.EvaluateSelector(*prog, d);
    if (!r.ok()) {
      if (error_.ok()) {
        error_ = r.status().WithContext("claim " + claims_[requests_[ri].claim].ns + "/" +
                                        claims_[requests_[ri].claim].name + ", request \"" + alt.result_name +
                                        "\", device " + dev.Id() + ", " + who + " `" + prog->expression() + "`");
      }
      return no("selector error");
    }
    if (!*r) return no(who + " `" + prog->expression() + "` is false");
  }
  stage = 3;
  if (const Json* t = UntoleratedTaint(dev.taints, alt.tolerations)) {
    return no("taint " + Str(*t, "key") + "=" + Str(*t, "value") + ":" + Str(*t, "effect") + " is not tolerated");
  }
  stage = 4;
  // Capacity requests must name capacities the device has.
  std::vector<std::optional<Nanos>> requested(dev.capacity.size());
  for (const auto& [key, amount] : alt.capacity_requests) {
    std::string fqn = Qualify(key, dev.driver);
    bool found = false;
    for (size_t ci = 0; ci < dev.capacity.size(); ++ci) {
      if (dev.capacity[ci].fqn == fqn) {
        requested[ci] = amount;
        found = true;
      }
    }
    if (!found) return no("has no capacity " + key);
  }
  stage = 5;
  if (dev.multi) {
    std::vector<std::pair<int, Nanos>> consumed;
    for (size_t ci = 0; ci < dev.capacity.size(); ++ci) {
      std::string why;
      auto v = ApplyPolicy(dev.capacity[ci], requested[ci], &why);
      if (!v) return no(why);
      if (*v > dev.capacity[ci].value) {
        return no("capacity " + dev.capacity[ci].key + " is " + FormatNanos(dev.capacity[ci].value, dev.capacity[ci].format) +
                  ", less than the " + FormatNanos(*v, dev.capacity[ci].format) + " requested");
      }
      consumed.emplace_back(static_cast<int>(ci), *v);
    }
    e.consumed[d] = std::move(consumed);
  } else {
    for (size_t ci = 0; ci < dev.capacity.size(); ++ci) {
      if (requested[ci] && *requested[ci] > dev.capacity[ci].value) {
        return no("capacity " + dev.capacity[ci].key + " is " + FormatNanos(dev.capacity[ci].value, dev.capacity[ci].format) +
                  ", less than the " + FormatNanos(*requested[ci], dev.capacity[ci].format) + " requested");
      }
    }
  }
  e.state[d] = Eligibility::kYes;
  return kPass;
}

std::string Search::DynamicCheck(size_t ri, int ai, int d) {
  const Alt& alt = requests_[ri].alts[ai];
  const DeviceInfo& dev = Dev(d);
  const Request& req = requests_[ri];
  if (!alt.admin) {
    if (dev.multi) {
      const auto& need = elig_[ri][ai].consumed[d];
      for (const auto& [ci, amt] : need) {
        if (Consumed(d)[ci] + amt > dev.capacity[ci].value) {
          return "device " + dev.Id() + ": capacity " + dev.capacity[ci].key + " has " +
                 FormatNanos(dev.capacity[ci].value - Consumed(d)[ci], dev.capacity[ci].format) + " left, " +
                 FormatNanos(amt, dev.capacity[ci].format) + " needed";
        }
      }
    } else if (exclusive_[d]) {
      return "device " + dev.Id() + " is already allocated";
    }
    if (!dev.multi || shares_[d] == 0) {
      for (const auto& [set, amounts] : dev.consumes) {
        const CounterSet& cs = impl_.counter_sets[set];
        for (const auto& [ci, amt] : amounts) {
          if (counters_used_[set][ci] + amt > cs.capacity[ci]) {
            return "device " + dev.Id() + ": counter " + cs.name + "/" + cs.names[ci] + " has " +
                   FormatNanos(cs.capacity[ci] - counters_used_[set][ci], cs.formats[ci]) + " left, " +
                   FormatNanos(amt, cs.formats[ci]) + " needed";
          }
        }
      }
    }
  }
  for (const auto& con : claims_[req.claim].constraints) {
    if (!con.Applies(req.name, alt.result_name)) continue;
    auto it = dev.attributes.find(con.attribute);
    if (it == dev.attributes.end()) {
      return "device " + dev.Id() + " lacks attribute " + con.attribute + " (constraint " +
             (con.match ? "matchAttribute" : "distinctAttribute") + ")";
    }
    if (con.match) {
      if (!con.values.empty() && *con.values.front() != it->second) {
        return "device " + dev.Id() + ": matchAttribute " + con.attribute + " is " + it->second.dump() + ", not " +
               con.values.front()->dump();
      }
    } else {
      for (const Json* v : con.values) {
        if (*v == it->second) {
          return "device " + dev.Id() + ": distinctAttribute " + con.attribute + " value " + it->second.dump() +
                 " is already used";
        }
      }
    }
  }
  return "";
}

void Search::Apply(Pick& p) {
  const Alt& alt = requests_[p.request].alts[p.alt];
  const DeviceInfo& dev = Dev(p.device);
  if (!alt.admin) {
    if (dev.multi) {
      p.charged_counters = shares_[p.device] == 0;
      ++shares_[p.device];
      p.consumed = elig_[p.request][p.alt].consumed[p.device];
      for (const auto& [ci, amt] : p.consumed) Consumed(p.device)[ci] += amt;
    } else {
      exclusive_[p.device] = 1;
      p.charged_counters = true;
    }
    if (p.charged_counters) {
      for (const auto& [set, amounts] : dev.consumes) {
        for (const auto& [ci, amt] : amounts) counters_used_[set][ci] += amt;
      }
    }
  } else if (dev.multi) {
    p.consumed = elig_[p.request][p.alt].consumed[p.device];
  }
  const Request& req = requests_[p.request];
  for (auto& con : claims_[req.claim].constraints) {
    if (con.Applies(req.name, alt.result_name)) con.values.push_back(&dev.attributes.at(con.attribute));
  }
}

void Search::Undo(const Pick& p) {
  const Alt& alt = requests_[p.request].alts[p.alt];
  const DeviceInfo& dev = Dev(p.device);
  if (!alt.admin) {
    if (dev.multi) {
      --shares_[p.device];
      for (const auto& [ci, amt] : p.consumed) Consumed(p.device)[ci] -= amt;
    } else {
      exclusive_[p.device] = 0;
    }
    if (p.charged_counters) {
      for (const auto& [set, amounts] : dev.consumes) {
        for (const auto& [ci, amt] : amounts) counters_used_[set][ci] -= amt;
      }
    }
  }
  const Request& req = requests_[p.request];
  for (auto& con : claims_[req.claim].constraints) {
    if (con.Applies(req.name, alt.result_name)) con.values.pop_back();
  }
}

std::string Search::Describe(size_t ri) const {
  const Request& r = requests_[ri];
  const ClaimState& cs = claims_[r.claim];
  return "claim " + cs.ns + "/" + cs.name + ", request \"" + r.name + "\"";
}

void Search::NoteFailure(size_t ri, const std::string& why) {
  if (fail_why_.empty() || ri > fail_ri_) {
    fail_ri_ = ri;
    fail_why_ = why;
  }
}

bool Search::SearchFrom(size_t ri) {
  if (ri == requests_.size()) return true;
  const Request& req = requests_[ri];
  std::string why;
  bool any_static = false;
  for (size_t ai = 0; ai < req.alts.size(); ++ai) {
    const Alt& alt = req.alts[ai];
    chosen_alt_[ri] = static_cast<int>(ai);
    scan_reason_.clear();
    std::string prefix = req.alts.size() > 1 ? "subrequest \"" + alt.sub_name + "\": " : "";
    // Statically eligible devices: with too few of them no choice made by
    // earlier requests can help (see hopeless_). ExactCount requests scan
    // lazily and count only when the search fails, so CEL runs on as few
    // devices as kube-scheduler's allocator would evaluate.
    int64_t eligible = 0;
    std::string first_static;  // the rejection of the device that got furthest
    auto count_static = [&]() {
      int8_t best_stage = 0;
      for (int d : node_devices_) {
        const std::string& r = StaticCheck(ri, static_cast<int>(ai), d);
        if (!error_.ok()) return;
        if (r.empty()) {
          ++eligible;
        } else if (elig_[ri][ai].stage[d] > best_stage) {
          best_stage = elig_[ri][ai].stage[d];
          first_static = r;
        }
      }
    };
    if (alt.all) {
      count_static();
      if (!error_.ok()) return false;
      if (!incomplete_pools_.empty()) {
        why += (why.empty() ? "" : "; ") + prefix + "asks for all devices, but " + incomplete_pools_.front();
        continue;
      }
      if (eligible == 0) {
        why += (why.empty() ? "" : "; ") + prefix + "asks for all devices, but none match on node \"" + node_.name +
               "\"" + (first_static.empty() ? "" : " (closest match rejected: " + first_static + ")");
        continue;
      }
      any_static = true;
      std::vector<Pick> added;
      std::string dyn;
      for (int d : node_devices_) {
        if (!StaticCheck(ri, static_cast<int>(ai), d).empty()) continue;
        ++steps_;
        dyn = DynamicCheck(ri, static_cast<int>(ai), d);
        if (!dyn.empty()) break;
        Pick p;
        p.request = static_cast<int>(ri);
        p.alt = static_cast<int>(ai);
        p.device = d;
        Apply(p);
        added.push_back(std::move(p));
      }
      if (dyn.empty()) {
        for (auto& p : added) picks_.push_back(p);
        if (SearchFrom(ri + 1)) return true;
        for (size_t k = 0; k < added.size(); ++k) picks_.pop_back();
        if (hopeless_ || budget_exceeded_ || !error_.ok()) {
          for (auto it = added.rbegin(); it != added.rend(); ++it) Undo(*it);
          return false;
        }
        dyn = "the requests after it cannot be satisfied with this choice";
      }
      for (auto it = added.rbegin(); it != added.rend(); ++it) Undo(*it);
      why += (why.empty() ? "" : "; ") + prefix + "asks for all " + std::to_string(eligible) +
             " matching device(s): " + dyn;
      continue;
    }
    if (PickDevices(ri, static_cast<int>(ai), 0, alt.count)) return true;
    if (!error_.ok() || budget_exceeded_ || hopeless_) return false;
    count_static();
    if (!error_.ok()) return false;
    if (scan_reason_.empty()) {
      // Busy devices were skipped unexplained; name the first one now.
      for (int d : node_devices_) {
        if (!StaticCheck(ri, static_cast<int>(ai), d).empty()) continue;
        scan_reason_ = DynamicCheck(ri, static_cast<int>(ai), d);
        if (!scan_reason_.empty()) break;
      }
    }
    if (eligible < alt.count) {
      why += (why.empty() ? "" : "; ") + prefix + "needs " + std::to_string(alt.count) + " device(s), " +
             std::to_string(eligible) + " of " + std::to_string(node_devices_.size()) + " on node \"" + node_.name +
             "\" match" + (first_static.empty() ? "" : " (closest match rejected: " + first_static + ")");
      continue;
    }
    any_static = true;
    why += (why.empty() ? "" : "; ") + prefix + "needs " + std::to_string(alt.count) + " device(s) and " +
           std::to_string(eligible) + " match, but they cannot be allocated" +
           (scan_reason_.empty() ? "" : " (first rejection: " + scan_reason_ + ")");
  }
  NoteFailure(ri, Describe(ri) + ": " + why);
  // With no statically eligible devices for any alternative, backtracking
  // into earlier requests cannot help: stop the whole search.
  if (!any_static) hopeless_ = true;
  return false;
}

bool Search::PickDevices(size_t ri, int ai, size_t start, int64_t remaining) {
  if (remaining == 0) return SearchFrom(ri + 1);
  for (size_t pos = start; pos < node_devices_.size(); ++pos) {
    if (node_devices_.size() - pos < static_cast<size_t>(remaining)) return false;
    int d = node_devices_[pos];
    // A device taken exclusively cannot be picked: skip it before paying for
    // its selectors (they still run when the failure is explained).
    if (exclusive_[d] && !Dev(d).multi && !requests_[ri].alts[ai].admin &&
        elig_[ri][ai].state[d] == Eligibility::kUnknown) {
      continue;
    }
    if (!StaticCheck(ri, ai, d).empty()) {
      if (!error_.ok()) return false;
      continue;
    }
    if (++steps_ > impl_.opts.max_steps) {
      budget_exceeded_ = true;
      return false;
    }
    std::string dyn = DynamicCheck(ri, ai, d);
    if (!dyn.empty()) {
      if (scan_reason_.empty()) scan_reason_ = dyn;
      continue;
    }
    Pick p;
    p.request = static_cast<int>(ri);
    p.alt = ai;
    p.device = d;
    Apply(p);
    picks_.push_back(p);
    if (PickDevices(ri, ai, pos + 1, remaining - 1)) return true;
    picks_.pop_back();
    Undo(p);
    if (!error_.ok() || budget_exceeded_ || hopeless_) return false;
  }
  return false;
}

std::string ShareId(const std::string& seed, const ClaimState& cs, const std::string& request, const std::string& device,
                    size_t index) {
  std::string key = seed + "\x1f" + cs.ns + "\x1f" + cs.name + "\x1f" + cs.uid + "\x1f" + request + "\x1f" + device +
                    "\x1f" + std::to_string(index);
  auto fnv = [&](uint64_t h) {
    for (unsigned char c : key) {
      h ^= c;
      h *= 1099511628211ull;
    }
    return h;
  };
  uint64_t a = fnv(14695981039346656037ull), b = fnv(a ^ 0x9e3779b97f4a7c15ull);
  // Format as an RFC 4122 version-4 UUID, as a generated UID looks.
  a = (a & 0xffffffffffff0fffull) | 0x0000000000004000ull;
  b = (b & 0x3fffffffffffffffull) | 0x8000000000000000ull;
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xffff),
                static_cast<unsigned>(b >> 48), static_cast<unsigned long long>(b & 0xffffffffffffull));
  return buf;
}

Json Search::BuildAllocation(size_t claim_index) {
  const ClaimState& cs = claims_[claim_index];
  Json results = Json::array();
  Json config = Json::array();
  bool node_local = false;
  const Json* selector = nullptr;
  bool binding = false;
  size_t share_index = 0;
  for (const Pick& p : picks_) {
    const Request& req = requests_[p.request];
    if (req.claim != static_cast<int>(claim_index)) continue;
    const Alt& alt = req.alts[p.alt];
    const DeviceInfo& dev = Dev(p.device);
    Json r = {{"request", alt.result_name}, {"driver", dev.driver}, {"pool", dev.pool}, {"device", dev.name}};
    if (alt.admin) r["adminAccess"] = true;
    if (alt.tolerations.is_array() && !alt.tolerations.empty()) r["tolerations"] = alt.tolerations;
    const Json& bc = Field(dev.json, "bindingConditions");
    const Json& bfc = Field(dev.json, "bindingFailureConditions");
    if (bc.is_array() && !bc.empty()) {
      r["bindingConditions"] = bc;
      binding = true;
    }
    if (bfc.is_array() && !bfc.empty()) r["bindingFailureConditions"] = bfc;
    if (dev.multi) {
      r["shareID"] = ShareId(impl_.opts.share_id_seed, cs, alt.result_name, dev.Id(), share_index++);
      Json cc = Json::object();
      for (const auto& [ci, amt] : p.consumed) cc[dev.capacity[ci].key] = FormatNanos(amt, dev.capacity[ci].format);
      r["consumedCapacity"] = cc;
    }
    results.push_back(std::move(r));
    if (dev.node_kind == DeviceInfo::NodeKind::kNodeName || dev.binds_to_node) node_local = true;
    if (dev.node_kind == DeviceInfo::NodeKind::kSelector && !selector) selector = &dev.node_selector;
  }
  // Class configuration first (per request, in request order), then the
  // claim's own, as the scheduler writes them.
  for (size_t ri = 0; ri < requests_.size(); ++ri) {
    const Request& req = requests_[ri];
    if (req.claim != static_cast<int>(claim_index)) continue;
    const Alt& alt = req.alts[chosen_alt_[ri]];
    if (!alt.cls) continue;
    const Json& cfgs = Field(Field(*alt.cls->json, "spec"), "config");
    if (!cfgs.is_array()) continue;
    for (const auto& c : cfgs) {
      Json e = {{"source", "FromClass"}, {"requests", Json::array({alt.result_name})}};
      for (const auto& [k, v] : c.items()) e[k] = v;
      config.push_back(std::move(e));
    }
  }
  const Json& claim_cfgs = Field(Field(Field(*cs.claim, "spec"), "devices"), "config");
  if (claim_cfgs.is_array()) {
    for (const auto& c : claim_cfgs) {
      Json e = {{"source", "FromClaim"}};
      for (const auto& [k, v] : c.items()) e[k] = v;
      config.push_back(std::move(e));
    }
  }
  Json devices = {{"results", results}};
  if (!config.empty()) devices["config"] = config;
  Json alloc = {{"devices", devices}};
  if (node_local) {
    alloc["nodeSelector"] = {{"nodeSelectorTerms",
                              Json::array({{{"matchFields", Json::array({{{"key", "metadata.name"},
                                                                           {"operator", "In"},
                                                                           {"values", Json::array({node_.name})}}})}}})}};
  } else if (selector) {
    alloc["nodeSelector"] = *selector;
  }
  if (binding) {
    auto now = impl_.opts.now ? impl_.opts.now() : std::chrono::system_clock::now();
    alloc["allocationTimestamp"] = FormatRfc3339(now);
  }
  return alloc;
}

Result<std::vector<Json>> Search::Run() {
  bool ok = SearchFrom(0);
  if (!error_.ok()) return error_;
  if (!ok) {
    if (budget_exceeded_) {
      return ResourceExhaustedError("unschedulable: search exceeded the step budget of " +
                                    std::to_string(impl_.opts.max_steps) + " device trials" +
                                    (fail_why_.empty() ? "" : "; deepest failure: " + fail_why_));
    }
    return ResourceExhaustedError("unschedulable: " + fail_why_);
  }
  std::vector<Json> out;
  for (size_t ci = 0; ci < claims_.size(); ++ci) {
    if (claims_[ci].preallocated) {
      out.push_back(Field(Field(*claims_[ci].claim, "status"), "allocation"));
    } else {
      out.push_back(BuildAllocation(ci));
    }
  }
  return out;
}

}  // namespace

Result<std::vector<Json>> Allocator::Allocate(const std::vector<Json>& claims, const NodeInfo& node) const {
  Search search(*impl_, node);
  DRAHIL_RETURN_IF_ERROR(search.Prepare(claims));
  return search.Run();
}

}  // namespace drahil::allocator
