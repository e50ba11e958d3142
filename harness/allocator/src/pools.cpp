// The indexed inventory: slices grouped into pools, devices, counter sets
// and DeviceTaintRules, built once per Allocator.
#include <algorithm>

#include "allocator_internal.hpp"
#include "quantity_util.hpp"

namespace drahil::allocator {

using internal::Bool;
using internal::Capacity;
using internal::ClassInfo;
using internal::CounterSet;
using internal::DeviceInfo;
using internal::Field;
using internal::Nanos;
using internal::PoolInfo;
using internal::Qualify;
using internal::Str;

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
      warnings.push_back("ResourceSlice " + Str(Field(s, "metadata"), "name") +
                         ": missing driver or pool name; ignored");
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
      p.problem = "pool " + p.driver + "/" + p.name + " is incomplete (" +
                  std::to_string(current.size()) + " of " + std::to_string(want) +
                  " slices at generation " + std::to_string(gen) + ")";
    }
    p.slices = current;
    pools.push_back(std::move(p));
    int pi = static_cast<int>(pools.size()) - 1;
    size_t first_device = devices.size();
    size_t first_set = counter_sets.size();
    Status st = IndexPool(current, pi);
    if (!st.ok()) {
      // A broken pool is unusable as a whole, as an invalid pool is in Kubernetes.
      devices.resize(first_device);
      counter_sets.resize(first_set);
      pools[pi].invalid = true;
      pools[pi].problem =
          "pool " + pools[pi].driver + "/" + pools[pi].name + " is invalid: " + st.message();
      warnings.push_back(pools[pi].problem);
    } else if (!pools[pi].complete) {
      warnings.push_back(pools[pi].problem);
    }
  }
  for (size_t i = 0; i < devices.size(); ++i) device_index[devices[i].Id()] = static_cast<int>(i);
  // DeviceTaintRules add taints to the devices they select, when the gates
  // let the scheduler's slice tracker apply them (ListWithDeviceTaintRules()
  // returns the slices unchanged otherwise).
  const Features& f = opts.features;
  for (const auto& rule :
       (f.device_taints && f.device_taint_rules) ? inv.taint_rules : std::vector<Json>{}) {
    const Json& spec = Field(rule, "spec");
    const Json& sel = Field(spec, "deviceSelector");
    const Json& taint = Field(spec, "taint");
    if (!taint.is_object()) continue;
    std::string d = Str(sel, "driver"), p = Str(sel, "pool"), n = Str(sel, "device");
    for (auto& dev : devices) {
      if ((d.empty() || d == dev.driver) && (p.empty() || p == dev.pool) &&
          (n.empty() || n == dev.name)) {
        dev.taints.push_back(taint);
      }
    }
  }
}

namespace {

// ReadCounters(): the counters of one shared counter set.
Status ReadCounters(const Json& counters, CounterSet* set) {
  if (!counters.is_object()) return OkStatus();
  for (const auto& [cname, c] : counters.items()) {
    auto q = ParseQuantityJson(Field(c, "value"));
    if (!q.ok()) return q.status().WithContext("counter set " + set->name + " counter " + cname);
    set->names.push_back(cname);
    set->capacity.push_back(q->nanos());
    set->formats.push_back(q->format());
  }
  return OkStatus();
}

// IndexCounterSets(): the shared counter sets of a pool's slices, appended to
// counter_sets; *sets maps their names to their indices there.
Status IndexCounterSets(const std::vector<const Json*>& slices,
                        std::vector<CounterSet>& counter_sets, std::map<std::string, int>* sets) {
  for (const Json* s : slices) {
    const Json& shared = Field(Field(*s, "spec"), "sharedCounters");
    if (!shared.is_array()) continue;
    for (const auto& cs : shared) {
      CounterSet set;
      set.name = Str(cs, "name");
      if (sets->count(set.name)) return InvalidArgumentError("duplicate counter set " + set.name);
      DRAHIL_RETURN_IF_ERROR(ReadCounters(Field(cs, "counters"), &set));
      counter_sets.push_back(std::move(set));
      (*sets)[counter_sets.back().name] = static_cast<int>(counter_sets.size()) - 1;
    }
  }
  return OkStatus();
}

// SetNodeSelection(): nodeName, nodeSelector or all nodes, from the slice
// spec or, with perDeviceNodeSelection, from the device.
void SetNodeSelection(const Json& where, DeviceInfo* info) {
  if (!Str(where, "nodeName").empty()) {
    info->node_kind = DeviceInfo::NodeKind::kNodeName;
    info->node_name = Str(where, "nodeName");
  } else if (Field(where, "nodeSelector").is_object()) {
    info->node_kind = DeviceInfo::NodeKind::kSelector;
    info->node_selector = Field(where, "nodeSelector");
  } else {
    info->node_kind = DeviceInfo::NodeKind::kAllNodes;
  }
}

Status ReadCapacity(const Json& d, DeviceInfo* info) {
  const Json& caps = Field(d, "capacity");
  if (!caps.is_object()) return OkStatus();
  for (const auto& [k, c] : caps.items()) {
    auto q = ParseQuantityJson(Field(c, "value"));
    if (!q.ok()) return q.status().WithContext("device " + info->name + " capacity " + k);
    Capacity cap;
    cap.key = k;
    cap.fqn = Qualify(k, info->driver);
    cap.value = q->nanos();
    cap.format = q->format();
    info->capacity.push_back(std::move(cap));
  }
  return OkStatus();
}

// ReadCounterAmounts(): what one consumesCounters entry of device `device`
// takes from `set` (named set_name), as (counter index, amount).
Status ReadCounterAmounts(const Json& counters, const CounterSet& set, const std::string& set_name,
                          const std::string& device, std::vector<std::pair<int, Nanos>>* amounts) {
  if (!counters.is_object()) return OkStatus();
  for (const auto& [cname, cv] : counters.items()) {
    auto pos = std::find(set.names.begin(), set.names.end(), cname);
    if (pos == set.names.end()) {
      return InvalidArgumentError("device " + device + " consumes unknown counter " + set_name +
                                  "/" + cname);
    }
    auto q = ParseQuantityJson(Field(cv, "value"));
    if (!q.ok()) return q.status().WithContext("device " + device + " counter " + cname);
    amounts->emplace_back(static_cast<int>(pos - set.names.begin()), q->nanos());
  }
  return OkStatus();
}

Status ReadConsumedCounters(const Json& d, const std::map<std::string, int>& sets,
                            const std::vector<CounterSet>& counter_sets, bool partitionable,
                            DeviceInfo* info) {
  const Json& consumes = Field(d, "consumesCounters");
  if (!consumes.is_array()) return OkStatus();
  info->consumes_counters = !consumes.empty();
  // PartitionableDevices off: counters are neither read nor validated
  // (buildPool() stops before validateDeviceCounterConsumption()); the
  // device is not allocatable (allocateDevice()).
  if (!partitionable) return OkStatus();
  for (const auto& c : consumes) {
    std::string set_name = Str(c, "counterSet");
    auto it = sets.find(set_name);
    if (it == sets.end()) {
      return InvalidArgumentError("device " + info->name + " consumes unknown counter set " +
                                  set_name);
    }
    std::vector<std::pair<int, Nanos>> amounts;
    DRAHIL_RETURN_IF_ERROR(ReadCounterAmounts(Field(c, "counters"), counter_sets[it->second],
                                              set_name, info->name, &amounts));
    info->consumes.emplace_back(it->second, std::move(amounts));
  }
  return OkStatus();
}

// ReadDevice(): device d beyond its name and place: its JSON and CEL view,
// node selection (from `where`), flags, capacity, attributes, counters and
// taints.
Status ReadDevice(const Json& d, const Json& where, const std::map<std::string, int>& sets,
                  const std::vector<CounterSet>& counter_sets, const Features& f,
                  DeviceInfo* info) {
  info->json = d;
  auto cd = cel::Device::FromJson(info->driver, d);
  if (!cd.ok()) return cd.status();
  info->cel = std::move(*cd);
  SetNodeSelection(where, info);
  // ConsumableCapacity off: allowMultipleAllocations is ignored, the device
  // is allocated exclusively (allocateDevice() in allocator_incubating.go).
  info->multi = f.consumable_capacity && Bool(d, "allowMultipleAllocations");
  info->binds_to_node = Bool(d, "bindsToNode");
  const Json& bc = Field(d, "bindingConditions");
  info->has_binding_conditions = bc.is_array() && !bc.empty();
  DRAHIL_RETURN_IF_ERROR(ReadCapacity(d, info));
  const Json& attrs = Field(d, "attributes");
  if (attrs.is_object()) {
    for (const auto& [k, a] : attrs.items()) info->attributes[Qualify(k, info->driver)] = a;
  }
  DRAHIL_RETURN_IF_ERROR(
      ReadConsumedCounters(d, sets, counter_sets, f.partitionable_devices, info));
  const Json& taints = Field(d, "taints");
  if (taints.is_array()) {
    for (const auto& t : taints) info->taints.push_back(t);
  }
  return OkStatus();
}

// LinkCapacityPolicies(): capacity policies point into the stored JSON of
// each device of the pool (set once the devices no longer move).
void LinkCapacityPolicies(std::vector<DeviceInfo>& devices, int pool_index) {
  for (auto& dev : devices) {
    if (dev.pool_index != pool_index) continue;
    const Json& caps = Field(dev.json, "capacity");
    for (auto& cap : dev.capacity) {
      const Json& pol = Field(Field(caps, cap.key.c_str()), "requestPolicy");
      cap.policy = pol.is_object() ? &pol : nullptr;
    }
  }
}

}  // namespace

namespace internal {

std::string IgnoredSlice(const Json& spec, const Features& f) {
  const Json& shared = Field(spec, "sharedCounters");
  bool has_counters = shared.is_array() && !shared.empty();
  bool per_device = spec.is_object() && spec.contains("perDeviceNodeSelection") &&
                    !spec["perDeviceNodeSelection"].is_null();
  bool v134 = f.version.minor <= 34;
  if (!f.partitionable_devices) {
    if (per_device) return "it uses perDeviceNodeSelection and DRAPartitionableDevices is off";
    if (has_counters && !v134) return "it has sharedCounters and DRAPartitionableDevices is off";
    return "";
  }
  const Json& devs = Field(spec, "devices");
  if (has_counters && !v134 && devs.is_array() && !devs.empty()) {
    return "it has sharedCounters beside its devices (the Kubernetes 1.34 layout); from 1.35 "
           "such a slice only contributes counter sets";
  }
  return "";
}

}  // namespace internal

Status Allocator::Impl::IndexPool(const std::vector<const Json*>& slices, int pool_index) {
  PoolInfo& pool = pools[pool_index];
  const Features& f = opts.features;
  std::map<std::string, int> sets;  // name → global index
  pool.ignored.assign(slices.size(), 0);
  std::vector<const Json*> counter_slices;
  for (size_t si = 0; si < slices.size(); ++si) {
    std::string why = internal::IgnoredSlice(Field(*slices[si], "spec"), f);
    if (!why.empty()) {
      pool.ignored[si] = 1;
      warnings.push_back("ResourceSlice " + Str(Field(*slices[si], "metadata"), "name") +
                         ": devices not used: " + why);
    }
    // Counter sets come from every slice that has them, also one whose
    // devices are ignored (1.35+), unless partitionable devices are off.
    if (f.partitionable_devices) counter_slices.push_back(slices[si]);
  }
  DRAHIL_RETURN_IF_ERROR(IndexCounterSets(counter_slices, counter_sets, &sets));
  std::set<std::string> names;
  for (size_t si = 0; si < slices.size(); ++si) {
    if (pool.ignored[si]) continue;
    const Json* s = slices[si];
    const Json& spec = Field(*s, "spec");
    const Json& devs = Field(spec, "devices");
    if (!devs.is_array()) continue;
    bool per_device = Bool(spec, "perDeviceNodeSelection");
    for (const auto& d : devs) {
      DeviceInfo info;
      info.driver = pool.driver;
      info.pool = pool.name;
      info.pool_index = pool_index;
      info.slice_index = static_cast<int>(si);
      info.name = Str(d, "name");
      if (info.name.empty()) return InvalidArgumentError("device without a name");
      if (!names.insert(info.name).second)
        return InvalidArgumentError("duplicate device name " + info.name);
      DRAHIL_RETURN_IF_ERROR(ReadDevice(d, per_device ? d : spec, sets, counter_sets, f, &info));
      devices.push_back(std::move(info));
    }
  }
  LinkCapacityPolicies(devices, pool_index);
  return OkStatus();
}

}  // namespace drahil::allocator
