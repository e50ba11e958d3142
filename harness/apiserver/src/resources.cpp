#include "resources.hpp"

#include <algorithm>

namespace drahil::apiserver::internal {

namespace {

const std::vector<std::string> kAllVerbs = {"create", "delete", "deletecollection", "get",
                                            "list",   "patch",  "update",           "watch"};

std::vector<ResourceInfo> BuildResources() {
  std::vector<ResourceInfo> r;
  auto add = [&](std::string group, std::string resource, std::string kind, std::string singular,
                 bool namespaced, bool has_status, std::vector<std::string> short_names,
                 std::vector<std::string> fields) {
    ResourceInfo info;
    info.group = std::move(group);
    info.version = "v1";
    info.resource = std::move(resource);
    info.kind = std::move(kind);
    info.singular = std::move(singular);
    info.namespaced = namespaced;
    info.has_status = has_status;
    info.short_names = std::move(short_names);
    info.verbs = kAllVerbs;
    info.fields = std::move(fields);
    r.push_back(std::move(info));
  };
  // Core objects a DRA driver or the harness touches.
  add("", "namespaces", "Namespace", "namespace", false, false, {"ns"}, {"status.phase"});
  add("", "nodes", "Node", "node", false, false, {"no"}, {"spec.unschedulable"});
  add("", "pods", "Pod", "pod", true, true, {"po"}, {"spec.nodeName", "status.phase"});
  add("", "events", "Event", "event", true, false, {"ev"},
      {"involvedObject.kind", "involvedObject.name", "involvedObject.namespace",
       "involvedObject.uid", "reason", "type"});
  r.back().sets_generation = false;
  // resource.k8s.io/v1.
  std::string g(kResourceGroup);
  add(g, "deviceclasses", "DeviceClass", "deviceclass", false, false, {}, {});
  add(g, "devicetaintrules", "DeviceTaintRule", "devicetaintrule", false, false, {}, {});
  add(g, "resourceclaims", "ResourceClaim", "resourceclaim", true, true, {}, {});
  add(g, "resourceclaimtemplates", "ResourceClaimTemplate", "resourceclaimtemplate", true, false,
      {}, {});
  add(g, "resourceslices", "ResourceSlice", "resourceslice", false, false, {},
      {"spec.driver", "spec.nodeName", "spec.pool.name"});
  return r;
}

}  // namespace

std::string ResourceInfo::GroupVersion() const {
  return group.empty() ? version : group + "/" + version;
}

std::string ResourceInfo::GroupResource() const {
  return group.empty() ? resource : resource + "." + group;
}

bool ResourceInfo::SupportsField(std::string_view field) const {
  if (field == "metadata.name" || field == "metadata.namespace") return true;
  return std::find(fields.begin(), fields.end(), field) != fields.end();
}

const std::vector<ResourceInfo>& Resources() {
  static const std::vector<ResourceInfo> kResources = BuildResources();
  return kResources;
}

const ResourceInfo* FindResource(std::string_view group, std::string_view version,
                                 std::string_view resource) {
  for (const auto& r : Resources()) {
    if (r.group == group && r.version == version && r.resource == resource) return &r;
  }
  return nullptr;
}

const ResourceInfo* LookupResource(std::string_view name) {
  for (const auto& r : Resources()) {
    if (r.resource == name || r.kind == name || r.GroupResource() == name || r.singular == name) {
      return &r;
    }
  }
  return nullptr;
}

}  // namespace drahil::apiserver::internal
