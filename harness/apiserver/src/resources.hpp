// File: resources.hpp (private)
//
// The table of resources the embedded API server serves: what discovery
// advertises, what the router accepts and which field selectors each supports.
#ifndef DRAHIL_APISERVER_RESOURCES_HPP_INCLUDED
#define DRAHIL_APISERVER_RESOURCES_HPP_INCLUDED

#include <string>
#include <string_view>
#include <vector>

namespace drahil::apiserver::internal {

struct ResourceInfo {
  std::string group;     // "" for core
  std::string version;   // "v1"
  std::string resource;  // plural, "resourceslices"
  std::string kind;      // "ResourceSlice"
  std::string singular;  // "resourceslice"
  bool namespaced = false;
  bool has_status = false;  // serves <resource>/status with status semantics
  bool sets_generation = true;
  std::vector<std::string> short_names;
  std::vector<std::string> verbs;
  // Field selector labels beyond metadata.name and metadata.namespace.
  std::vector<std::string> fields;

  // GroupVersion(): "resource.k8s.io/v1" or "v1".
  [[nodiscard]] std::string GroupVersion() const;
  // GroupResource(): "resourceslices.resource.k8s.io" or "pods", as Kubernetes
  // names a resource in error messages.
  [[nodiscard]] std::string GroupResource() const;
  [[nodiscard]] bool SupportsField(std::string_view field) const;
};

// Resources(): every served resource, core first.
const std::vector<ResourceInfo>& Resources();
// FindResource(group, version, plural): nullptr when not served.
const ResourceInfo* FindResource(std::string_view group, std::string_view version,
                                 std::string_view resource);
// LookupResource("resourceslices" | "resourceslices.resource.k8s.io" |
// "ResourceSlice"): the C++ API's way of naming a resource; nullptr if unknown.
const ResourceInfo* LookupResource(std::string_view name);

inline constexpr std::string_view kResourceGroup = "resource.k8s.io";

}  // namespace drahil::apiserver::internal

#endif  // DRAHIL_APISERVER_RESOURCES_HPP_INCLUDED
