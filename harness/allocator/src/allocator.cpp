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
