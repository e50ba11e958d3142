// Structured-parameters allocation (KEP-4381 and follow-ons), after the
// behaviour of kube-scheduler's DRA plugin. See allocator.hpp for the
// contract and docs/allocator.md for the design. The work is split:
// pools.cpp (inventory), node_selector.cpp, device_checks.cpp, and the
// search (search_setup.cpp, search.cpp, results.cpp).
#include "drahil/allocator/allocator.hpp"

#include <algorithm>
#include <set>

#include "allocator_internal.hpp"

namespace drahil::allocator {

using internal::DeviceInfo;
using internal::Field;
using internal::Str;

// FeaturesFrom(): AllocatorFeatures() in
// pkg/scheduler/framework/plugins/dynamicresources/dynamicresources.go
// (1.34 filled the same fields inline in PreFilter, with DeviceBinding and
// DeviceStatus separate; the allocator only uses them together).
Features FeaturesFrom(const FeatureGates& gates) {
  Features f;
  f.admin_access = gates.Enabled(features::kDRAAdminAccess);
  f.consumable_capacity = gates.Enabled(features::kDRAConsumableCapacity);
  f.device_binding_and_status = gates.Enabled(features::kDRADeviceBindingConditions) &&
                                gates.Enabled(features::kDRAResourceClaimDeviceStatus);
  f.device_taints = gates.Enabled(features::kDRADeviceTaints);
  f.partitionable_devices = gates.Enabled(features::kDRAPartitionableDevices);
  f.prioritized_list = gates.Enabled(features::kDRAPrioritizedList);
  // DRADeviceTaintRules split off DRADeviceTaints in 1.35; before that the
  // taints gate covered the rules too.
  f.device_taint_rules = f.device_taints && (!gates.Known(features::kDRADeviceTaintRules) ||
                                             gates.Enabled(features::kDRADeviceTaintRules));
  f.version = gates.version();
  return f;
}

std::string Features::ToString() const {
  std::string off;
  auto add = [&](bool on, const char* name) {
    if (!on) off += (off.empty() ? "" : ", ") + std::string(name);
  };
  add(admin_access, "AdminAccess");
  add(consumable_capacity, "ConsumableCapacity");
  add(device_binding_and_status, "DeviceBindingAndStatus");
  add(device_taints, "DeviceTaints");
  add(device_taint_rules, "DeviceTaintRules");
  add(partitionable_devices, "PartitionableDevices");
  add(prioritized_list, "PrioritizedList");
  return "Kubernetes " + version.ToString() + (off.empty() ? ", all features on" : ", off: " + off);
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

Result<std::vector<Json>> Allocator::Allocate(const std::vector<Json>& claims,
                                              const NodeInfo& node) const {
  return internal::RunSearch(*impl_, claims, node);
}

}  // namespace drahil::allocator
