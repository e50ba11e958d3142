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
  // DeviceTaintRules add taints to the devices they select.
  for (const auto& rule : inv.taint_rules) {
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
          if (!q.ok())
            return q.status().WithContext("counter set " + set.name + " counter " + cname);
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
  for (size_t si = 0; si < slices.size(); ++si) {
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
            return InvalidArgumentError("device " + info.name + " consumes unknown counter set " +
                                        set_name);
          }
          const CounterSet& set = counter_sets[it->second];
          std::vector<std::pair<int, Nanos>> amounts;
          const Json& counters = Field(c, "counters");
          if (counters.is_object()) {
            for (const auto& [cname, cv] : counters.items()) {
              auto pos = std::find(set.names.begin(), set.names.end(), cname);
              if (pos == set.names.end()) {
                return InvalidArgumentError("device " + info.name + " consumes unknown counter " +
                                            set_name + "/" + cname);
              }
              auto q = ParseQuantityJson(Field(cv, "value"));
              if (!q.ok())
                return q.status().WithContext("device " + info.name + " counter " + cname);
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

}  // namespace drahil::allocator
