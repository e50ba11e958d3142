// Feature-gated field dropping of kube-apiserver's registry strategies, on the
// stored resource.k8s.io/v1 JSON. Each function names the upstream function
// it mirrors; "in use" checks look at the old object as upstream does (a
// pointer field counts when set, a list or map when non-empty).
#include "strategy.hpp"

#include <set>
#include <tuple>

namespace drahil::apiserver::internal {

using nlohmann::json;

namespace {

namespace f = drahil::features;

// Field(): the value at key, nullptr when absent or null (Go's nil).
const json* Field(const json* parent, const char* key) {
  if (parent == nullptr || !parent->is_object()) return nullptr;
  auto it = parent->find(key);
  if (it == parent->end() || it->is_null()) return nullptr;
  return &*it;
}
json* Field(json* parent, const char* key) {
  return const_cast<json*>(Field(static_cast<const json*>(parent), key));
}
// NonEmpty(): Go's len(x) > 0 for a list or map; set for anything else.
bool NonEmpty(const json* v) {
  if (v == nullptr) return false;
  if (v->is_array() || v->is_object()) return !v->empty();
  return true;
}
// Items(): the elements of a list field (empty when absent or not a list).
template <typename J>
std::vector<J*> Items(J* parent, const char* key) {
  std::vector<J*> out;
  auto* v = Field(parent, key);
  if (v == nullptr || !v->is_array()) return out;
  for (auto& e : *v) out.push_back(&e);
  return out;
}
std::string At(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

class Dropper {
 public:
  explicit Dropper(std::vector<Drop>& drops) : drops_(drops) {}
  // Erase(): removes key from parent; a value that was set is recorded.
  void Erase(json* parent, const char* key, const std::string& path, const char* gate) {
    if (parent == nullptr || !parent->is_object()) return;
    auto it = parent->find(key);
    if (it == parent->end()) return;
    bool had = !it->is_null() && !((it->is_array() || it->is_object()) && it->empty());
    parent->erase(it);
    if (had) drops_.push_back({path + "." + key, gate});
  }

 private:
  std::vector<Drop>& drops_;
};

// ---- ResourceSlice (pkg/registry/resource/resourceslice/strategy.go) -------

const json* Spec(const json* o) { return Field(o, "spec"); }

// draDeviceTaintsFeatureInUse
bool SliceTaintsInUse(const json* old) {
  for (const json* d : Items(Spec(old), "devices")) {
    if (NonEmpty(Field(d, "taints"))) return true;
  }
  return false;
}
// draPartitionableDevicesFeatureInUse
bool SlicePartitionableInUse(const json* old) {
  const json* spec = Spec(old);
  if (NonEmpty(Field(spec, "sharedCounters")) || Field(spec, "perDeviceNodeSelection") != nullptr)
    return true;
  for (const json* d : Items(spec, "devices")) {
    if (NonEmpty(Field(d, "consumesCounters"))) return true;
    for (const char* k : {"nodeName", "nodeSelector", "allNodes"}) {
      if (Field(d, k) != nullptr) return true;
    }
  }
  return false;
}
// draBindingConditionsFeatureInUse
bool SliceBindingInUse(const json* old) {
  for (const json* d : Items(Spec(old), "devices")) {
    if (NonEmpty(Field(d, "bindingConditions")) || NonEmpty(Field(d, "bindingFailureConditions")) ||
        Field(d, "bindsToNode") != nullptr)
      return true;
  }
  return false;
}
// draConsumableCapacityFeatureInUse
bool SliceConsumableInUse(const json* old) {
  for (const json* d : Items(Spec(old), "devices")) {
    if (Field(d, "allowMultipleAllocations") != nullptr) return true;
    if (const json* caps = Field(d, "capacity"); caps && caps->is_object()) {
      for (const auto& c : *caps) {
        if (Field(&c, "requestPolicy") != nullptr) return true;
      }
    }
  }
  return false;
}
// The list-typed attribute values (DRAListTypeAttributes, 1.36).
constexpr const char* kListValues[] = {"bools", "ints", "strings", "versions"};
// draListTypeAttributesFeatureInUse
bool SliceListAttrsInUse(const json* old) {
  for (const json* d : Items(Spec(old), "devices")) {
    if (const json* attrs = Field(d, "attributes"); attrs && attrs->is_object()) {
      for (const auto& a : *attrs) {
        for (const char* l : kListValues) {
          if (Field(&a, l) != nullptr) return true;
        }
      }
    }
  }
  return false;
}

// dropDisabledFields of the slice strategy, in upstream's order.
void DropSlice(const FeatureGates& g, json& obj, const json* old, Dropper& d) {
  json* spec = Field(&obj, "spec");
  if (spec == nullptr) return;
  auto devices = Items(spec, "devices");
  const std::string dp = "spec.devices";
  // dropDisabledDRADeviceTaintsFields
  if (!g.Enabled(f::kDRADeviceTaints) && !SliceTaintsInUse(old)) {
    for (size_t i = 0; i < devices.size(); ++i)
      d.Erase(devices[i], "taints", At(dp, i), f::kDRADeviceTaints);
  }
  // dropDisabledDRAPartitionableDevicesFields
  if (!g.Enabled(f::kDRAPartitionableDevices) && !SlicePartitionableInUse(old)) {
    d.Erase(spec, "sharedCounters", "spec", f::kDRAPartitionableDevices);
    d.Erase(spec, "perDeviceNodeSelection", "spec", f::kDRAPartitionableDevices);
    for (size_t i = 0; i < devices.size(); ++i) {
      for (const char* k : {"consumesCounters", "nodeName", "nodeSelector", "allNodes"})
        d.Erase(devices[i], k, At(dp, i), f::kDRAPartitionableDevices);
    }
  }
  // dropDisabledDRADeviceBindingConditionsFields: needs both gates.
  bool binding_on =
      g.Enabled(f::kDRADeviceBindingConditions) && g.Enabled(f::kDRAResourceClaimDeviceStatus);
  if (!binding_on && !SliceBindingInUse(old)) {
    const char* gate = g.Enabled(f::kDRADeviceBindingConditions) ? f::kDRAResourceClaimDeviceStatus
                                                                 : f::kDRADeviceBindingConditions;
    for (size_t i = 0; i < devices.size(); ++i) {
      for (const char* k : {"bindingConditions", "bindingFailureConditions", "bindsToNode"})
        d.Erase(devices[i], k, At(dp, i), gate);
    }
  }
  // dropDisabledDRAConsumableCapacityFields
  if (!g.Enabled(f::kDRAConsumableCapacity) && !SliceConsumableInUse(old)) {
    for (size_t i = 0; i < devices.size(); ++i) {
      d.Erase(devices[i], "allowMultipleAllocations", At(dp, i), f::kDRAConsumableCapacity);
      if (json* caps = Field(devices[i], "capacity"); caps && caps->is_object()) {
        for (auto it = caps->begin(); it != caps->end(); ++it) {
          d.Erase(&it.value(), "requestPolicy", At(dp, i) + ".capacity[" + it.key() + "]",
                  f::kDRAConsumableCapacity);
        }
      }
    }
  }
  // dropDisableDRAListTypeAttributesFields. The attribute stays, without a
  // value, so validation then refuses it as upstream's does.
  if (!g.Enabled(f::kDRAListTypeAttributes) && !SliceListAttrsInUse(old)) {
    for (size_t i = 0; i < devices.size(); ++i) {
      if (json* attrs = Field(devices[i], "attributes"); attrs && attrs->is_object()) {
        for (auto it = attrs->begin(); it != attrs->end(); ++it) {
          for (const char* l : kListValues) {
            d.Erase(&it.value(), l, At(dp, i) + ".attributes[" + it.key() + "]",
                    f::kDRAListTypeAttributes);
          }
        }
      }
    }
  }
}

// ---- ResourceClaimSpec (pkg/registry/resource/resourceclaimspec/strategy.go)

// draPrioritizedListFeatureInUse
bool PrioritizedListInUse(const json* spec) {
  for (const json* r : Items(Field(spec, "devices"), "requests")) {
    if (NonEmpty(Field(r, "firstAvailable"))) return true;
  }
  return false;
}
// draDeviceTaintsInUse
bool TolerationsInUse(const json* spec) {
  for (const json* r : Items(Field(spec, "devices"), "requests")) {
    if (NonEmpty(Field(Field(r, "exactly"), "tolerations"))) return true;
    for (const json* s : Items(r, "firstAvailable")) {
      if (NonEmpty(Field(s, "tolerations"))) return true;
    }
  }
  return false;
}
// DRAAdminAccessFeatureInUse
bool SpecAdminAccessInUse(const json* spec) {
  for (const json* r : Items(Field(spec, "devices"), "requests")) {
    if (Field(Field(r, "exactly"), "adminAccess") != nullptr) return true;
  }
  return false;
}
// DRAConsumableCapacityFeatureInUse
bool SpecConsumableInUse(const json* spec) {
  for (const json* c : Items(Field(spec, "devices"), "constraints")) {
    if (Field(c, "distinctAttribute") != nullptr) return true;
  }
  for (const json* r : Items(Field(spec, "devices"), "requests")) {
    if (Field(Field(r, "exactly"), "capacity") != nullptr) return true;
    for (const json* s : Items(r, "firstAvailable")) {
      if (Field(s, "capacity") != nullptr) return true;
    }
  }
  return false;
}

// DropDisabledFields of resourceclaimspec; prefix "spec" or "spec.spec".
void DropClaimSpec(const FeatureGates& g, json* spec, const json* old_spec,
                   const std::string& prefix, Dropper& d) {
  if (spec == nullptr) return;
  json* devices = Field(spec, "devices");
  const std::string rp = prefix + ".devices.requests";
  auto requests = Items(devices, "requests");
  // dropDisabledDRAPrioritizedListFields
  if (!g.Enabled(f::kDRAPrioritizedList) && !PrioritizedListInUse(old_spec)) {
    for (size_t i = 0; i < requests.size(); ++i)
      d.Erase(requests[i], "firstAvailable", At(rp, i), f::kDRAPrioritizedList);
  }
  // dropDisabledDRADeviceTaintsFields (after the prioritized list, as upstream)
  if (!g.Enabled(f::kDRADeviceTaints) && !TolerationsInUse(old_spec)) {
    for (size_t i = 0; i < requests.size(); ++i) {
      d.Erase(Field(requests[i], "exactly"), "tolerations", At(rp, i) + ".exactly",
              f::kDRADeviceTaints);
      auto subs = Items(requests[i], "firstAvailable");
      for (size_t j = 0; j < subs.size(); ++j) {
        d.Erase(subs[j], "tolerations", At(At(rp, i) + ".firstAvailable", j), f::kDRADeviceTaints);
      }
    }
  }
  // dropDisabledDRAAdminAccessFields
  if (!g.Enabled(f::kDRAAdminAccess) && !SpecAdminAccessInUse(old_spec)) {
    for (size_t i = 0; i < requests.size(); ++i)
      d.Erase(Field(requests[i], "exactly"), "adminAccess", At(rp, i) + ".exactly",
              f::kDRAAdminAccess);
  }
  // dropDisabledDRAResourceClaimConsumableCapacityFields. Upstream's loop
  // over spec.devices.constraints assigns distinctAttribute = nil to a copy
  // of each constraint, so distinctAttribute is in fact kept; so here.
  if (!g.Enabled(f::kDRAConsumableCapacity) && !SpecConsumableInUse(old_spec)) {
    for (size_t i = 0; i < requests.size(); ++i) {
      d.Erase(Field(requests[i], "exactly"), "capacity", At(rp, i) + ".exactly",
              f::kDRAConsumableCapacity);
      auto subs = Items(requests[i], "firstAvailable");
      for (size_t j = 0; j < subs.size(); ++j) {
        d.Erase(subs[j], "capacity", At(At(rp, i) + ".firstAvailable", j),
                f::kDRAConsumableCapacity);
      }
    }
  }
}

// ---- ResourceClaim status (pkg/registry/resource/resourceclaim/strategy.go)

std::vector<const json*> Results(const json* claim) {
  return Items(Field(Field(Field(claim, "status"), "allocation"), "devices"), "results");
}
std::vector<json*> Results(json* claim) {
  return Items(Field(Field(Field(claim, "status"), "allocation"), "devices"), "results");
}
const char kResultsPath[] = "status.allocation.devices.results";

// draAdminAccessFeatureInUse (claim)
bool ClaimAdminAccessInUse(const json* old) {
  if (old == nullptr) return false;
  if (SpecAdminAccessInUse(Spec(old))) return true;
  for (const json* r : Results(old)) {
    if (Field(r, "adminAccess") != nullptr) return true;
  }
  return false;
}
// isDRAResourceClaimDeviceStatusInUse
bool DeviceStatusInUse(const json* old) { return NonEmpty(Field(Field(old, "status"), "devices")); }
// draConsumableCapacityFeatureInUse (claim)
bool ClaimConsumableInUse(const json* old) {
  if (old == nullptr) return false;
  if (SpecConsumableInUse(Spec(old))) return true;
  for (const json* r : Results(old)) {
    if (Field(r, "shareID") != nullptr || Field(r, "consumedCapacity") != nullptr) return true;
  }
  for (const json* dv : Items(Field(old, "status"), "devices")) {
    if (Field(dv, "shareID") != nullptr) return true;
  }
  return false;
}
// draDeviceBindingConditionsInUse
bool ClaimBindingInUse(const json* old) {
  for (const json* r : Results(old)) {
    if (Field(r, "bindingConditions") != nullptr || Field(r, "bindingFailureConditions") != nullptr)
      return true;
  }
  return false;
}

using DeviceId = std::tuple<std::string, std::string, std::string, std::string>;
DeviceId IdOf(const json& e) {
  auto s = [&](const char* k) {
    const json* v = Field(&e, k);
    return v && v->is_string() ? v->get<std::string>() : std::string();
  };
  return {s("driver"), s("pool"), s("device"), s("shareID")};
}

// dropDisabledStatusFields + dropDeallocatedStatusDevices.
void DropClaimStatus(const FeatureGates& g, json& obj, const json* old, Dropper& d) {
  json* status = Field(&obj, "status");
  if (status == nullptr) return;
  // dropDisabledDRAResourceClaimDeviceStatusFields
  if (!g.Enabled(f::kDRAResourceClaimDeviceStatus) && !DeviceStatusInUse(old)) {
    d.Erase(status, "devices", "status", f::kDRAResourceClaimDeviceStatus);
  }
  auto results = Results(&obj);
  // dropDisabledDRAAdminAccessStatusFields
  if (!g.Enabled(f::kDRAAdminAccess) && !ClaimAdminAccessInUse(old)) {
    for (size_t i = 0; i < results.size(); ++i)
      d.Erase(results[i], "adminAccess", At(kResultsPath, i), f::kDRAAdminAccess);
  }
  // dropDisabledDRAResourceClaimConsumableCapacityStatusFields
  if (!g.Enabled(f::kDRAConsumableCapacity) && !ClaimConsumableInUse(old)) {
    for (size_t i = 0; i < results.size(); ++i) {
      d.Erase(results[i], "shareID", At(kResultsPath, i), f::kDRAConsumableCapacity);
      d.Erase(results[i], "consumedCapacity", At(kResultsPath, i), f::kDRAConsumableCapacity);
    }
    auto devs = Items(status, "devices");
    for (size_t i = 0; i < devs.size(); ++i)
      d.Erase(devs[i], "shareID", At("status.devices", i), f::kDRAConsumableCapacity);
  }
  // dropDeviceBindingConditionsFields (claim status: this gate alone)
  if (!g.Enabled(f::kDRADeviceBindingConditions) && !ClaimBindingInUse(old)) {
    for (size_t i = 0; i < results.size(); ++i) {
      d.Erase(results[i], "bindingConditions", At(kResultsPath, i), f::kDRADeviceBindingConditions);
      d.Erase(results[i], "bindingFailureConditions", At(kResultsPath, i),
              f::kDRADeviceBindingConditions);
    }
  }
  // dropDeallocatedStatusDevices: status.devices entries of devices the old
  // allocation had and the new one has not go (not a gate drop: unrecorded).
  if (old == nullptr || (!g.Enabled(f::kDRAResourceClaimDeviceStatus) && !DeviceStatusInUse(old)))
    return;
  std::set<DeviceId> gone;
  for (const json* r : Results(old)) gone.insert(IdOf(*r));
  for (const json* r : Results(&obj)) gone.erase(IdOf(*r));
  json* devs = Field(status, "devices");
  if (devs == nullptr || !devs->is_array() || gone.empty()) return;
  json kept = json::array();
  for (auto& e : *devs) {
    if (gone.count(IdOf(e)) == 0) kept.push_back(std::move(e));
  }
  if (kept.empty()) {
    status->erase("devices");
  } else {
    *devs = std::move(kept);
  }
}

// ---- DeviceClass (pkg/registry/resource/deviceclass/strategy.go) ----------

void DropDeviceClass(const FeatureGates& g, json& obj, const json* old, Dropper& d) {
  // dropDisabledDRAExtendedResourceFields / draExtendedResourceFeatureInUse
  if (g.Enabled(f::kDRAExtendedResource) || Field(Spec(old), "extendedResourceName") != nullptr)
    return;
  d.Erase(Field(&obj, "spec"), "extendedResourceName", "spec", f::kDRAExtendedResource);
}

}  // namespace

std::vector<Drop> DropDisabledFields(const ResourceInfo& info, const FeatureGates& gates, json& obj,
                                     const json* old, WriteScope scope) {
  std::vector<Drop> drops;
  if (info.group != kResourceGroup || !obj.is_object()) return drops;
  Dropper d(drops);
  const std::string& r = info.resource;
  if (r == "resourceslices") {
    DropSlice(gates, obj, old, d);
  } else if (r == "deviceclasses") {
    DropDeviceClass(gates, obj, old, d);
  } else if (r == "resourceclaimtemplates") {
    DropClaimSpec(gates, Field(Field(&obj, "spec"), "spec"), Field(Spec(old), "spec"), "spec.spec",
                  d);
  } else if (r == "resourceclaims") {
    if (scope != WriteScope::kStatus)
      DropClaimSpec(gates, Field(&obj, "spec"), Spec(old), "spec", d);
    if (scope != WriteScope::kMain) DropClaimStatus(gates, obj, old, d);
  }
  return drops;
}

const char* TaintRuleGate(const FeatureGates& gates) {
  return gates.Known(features::kDRADeviceTaintRules) ? features::kDRADeviceTaintRules
                                                     : features::kDRADeviceTaints;
}

bool Served(const ResourceInfo& info, const FeatureGates& gates) {
  if (info.group == kResourceGroup && info.resource == "devicetaintrules") {
    // v1beta2 holds DeviceTaintRule from 1.36 on.
    if (info.version == "v1beta2" && gates.version() < KubeVersion{36}) return false;
    return gates.Enabled(TaintRuleGate(gates));
  }
  return true;
}

}  // namespace drahil::apiserver::internal
