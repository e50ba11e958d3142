#include "resources.hpp"

#include <algorithm>
#include <regex>

namespace drahil::apiserver::internal {

using nlohmann::json;

namespace {

const std::vector<std::string> kAllVerbs = {"create", "delete", "deletecollection", "get",
                                            "list",   "patch",  "update",           "watch"};

// Plain labels whose value is the field of the same path.
std::vector<FieldLabel> Labels(std::vector<std::string> names) {
  std::vector<FieldLabel> out;
  for (auto& n : names) out.push_back({n, n, ""});
  return out;
}

std::vector<FieldLabel> DefaultMetaLabels() {
  return Labels({"metadata.name", "metadata.namespace"});
}

std::vector<ResourceInfo> BuildResources() {
  std::vector<ResourceInfo> r;
  auto add = [&](std::string group, std::string resource, std::string kind, std::string singular,
                 bool namespaced, bool has_status,
                 std::vector<std::string> short_names) -> ResourceInfo& {
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
    info.fields = DefaultMetaLabels();
    info.storage = info.GroupResource();
    r.push_back(std::move(info));
    return r.back();
  };
  // Core objects a DRA driver or the harness touches. Field labels: the
  // conversion funcs of pkg/apis/core/v1/conversion.go (addConversionFuncs,
  // AddFieldLabelConversionsForEvent/Namespace/Secret) over the values of
  // pkg/registry/core/<resource>/strategy.go (GetAttrs/ToSelectableFields).
  {
    auto& ns = add("", "namespaces", "Namespace", "namespace", false, false, {"ns"});
    ns.fields = Labels({"metadata.name", "status.phase"});
    ns.field_error = FieldLabelError::kNotSupported;
  }
  {
    // Node: metadata.name and spec.unschedulable only (no metadata.namespace).
    auto& node = add("", "nodes", "Node", "node", false, true, {"no"});
    node.fields = {{"metadata.name", "metadata.name", ""},
                   {"spec.unschedulable", "spec.unschedulable", "false"}};
    node.field_error = FieldLabelError::kNotSupported;
  }
  {
    auto& pod = add("", "pods", "Pod", "pod", true, true, {"po"});
    pod.fields = Labels({"metadata.name", "metadata.namespace", "spec.nodeName",
                         "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
                         "status.phase", "status.podIP", "status.nominatedNodeName"});
    pod.fields.push_back({"spec.hostNetwork", "spec.hostNetwork", "false"});
    // status.podIPs selects on the primary IP; spec.host is the v1 alias of
    // spec.nodeName (conversion.go maps it).
    pod.fields.push_back({"status.podIPs", "status.podIP", ""});
    pod.fields.push_back({"spec.host", "spec.nodeName", ""});
    pod.field_error = FieldLabelError::kNotSupported;
    pod.categories = {"all"};
  }
  {
    auto& ev = add("", "events", "Event", "event", true, false, {"ev"});
    ev.sets_generation = false;
    ev.fields = Labels({"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                        "involvedObject.uid", "involvedObject.apiVersion",
                        "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
                        "reportingComponent", "type", "metadata.namespace", "metadata.name"});
    // source selects on source.component (event strategy ToSelectableFields).
    ev.fields.push_back({"source", "source.component", ""});
    ev.field_error = FieldLabelError::kNotSupported;
  }
  {
    auto& cm = add("", "configmaps", "ConfigMap", "configmap", true, false, {"cm"});
    cm.sets_generation = false;
  }
  {
    auto& secret = add("", "secrets", "Secret", "secret", true, false, {});
    secret.sets_generation = false;
    secret.fields = Labels({"type", "metadata.namespace", "metadata.name"});
    secret.field_error = FieldLabelError::kNotSupported;
  }
  // coordination.k8s.io/v1: the Lease of leader election and node heartbeats.
  {
    auto& lease = add("coordination.k8s.io", "leases", "Lease", "lease", true, false, {});
    lease.sets_generation = false;
  }
  // events.k8s.io/v1: the same objects as core/v1 Events, stored in the
  // core form and converted (pkg/apis/events/v1/conversion.go). Field labels:
  // AddFieldLabelConversionsForEvent there maps the events.k8s.io names to
  // the core event's selectable fields ("source" stays source.component).
  {
    auto& ev = add("events.k8s.io", "events", "Event", "event", true, false, {"ev"});
    ev.sets_generation = false;
    ev.storage = "events";
    ev.conversion = &EventsV1Conversion();
    ev.fields = Labels({"reason", "type", "metadata.namespace", "metadata.name"});
    for (const char* f :
         {"kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"}) {
      ev.fields.push_back({std::string("regarding.") + f, std::string("involvedObject.") + f, ""});
    }
    ev.fields.push_back({"reportingController", "reportingComponent", ""});
    ev.fields.push_back({"source", "source.component", ""});
    ev.field_error = FieldLabelError::kNotSupported;
  }
  // apiextensions.k8s.io/v1.
  {
    auto& crd = add(std::string(kCrdGroup), "customresourcedefinitions", "CustomResourceDefinition",
                    "customresourcedefinition", false, true, {"crd", "crds"});
    crd.categories = {"api-extensions"};
  }
  // resource.k8s.io/v1. ResourceSlice: pkg/apis/resource/v1/conversion.go
  // (metadata.name, spec.nodeName, spec.driver); the others have no
  // conversion func, so apimachinery's default (metadata.name/namespace).
  std::string g(kResourceGroup);
  add(g, "deviceclasses", "DeviceClass", "deviceclass", false, false, {});
  // DeviceTaintRule: resource.k8s.io/v1alpha3 (1.33 on) and, from 1.36, also
  // v1beta2 (staging/src/k8s.io/api/resource/<version>/register.go; not in
  // v1 before 1.37). Both off by default upstream; here served when the
  // gate is on (see Served()). Stored as v1alpha3.
  {
    auto& alpha =
        add(g, "devicetaintrules", "DeviceTaintRule", "devicetaintrule", false, false, {});
    alpha.version = "v1alpha3";
    auto& beta = add(g, "devicetaintrules", "DeviceTaintRule", "devicetaintrule", false, false, {});
    beta.version = "v1beta2";
    beta.storage_version = "v1alpha3";
    beta.conversion = &VersionOnlyConversion();
  }
  add(g, "resourceclaims", "ResourceClaim", "resourceclaim", true, true, {});
  add(g, "resourceclaimtemplates", "ResourceClaimTemplate", "resourceclaimtemplate", true, false,
      {});
  {
    auto& slice = add(g, "resourceslices", "ResourceSlice", "resourceslice", false, false, {});
    slice.fields = Labels({"metadata.name", "spec.nodeName", "spec.driver"});
    slice.field_error = FieldLabelError::kNotSupportedForKind;
  }
  return r;
}

bool Matches(const ResourceInfo& r, std::string_view name) {
  return r.resource == name || r.kind == name || r.GroupResource() == name || r.singular == name;
}

}  // namespace

std::string ResourceInfo::GroupVersion() const {
  return group.empty() ? version : group + "/" + version;
}

std::string ResourceInfo::GroupResource() const {
  return group.empty() ? resource : resource + "." + group;
}

const FieldLabel* ResourceInfo::FindField(std::string_view label) const {
  for (const auto& f : fields) {
    if (f.label == label) return &f;
  }
  return nullptr;
}

std::string ResourceInfo::UnsupportedFieldMessage(std::string_view label) const {
  switch (field_error) {
    case FieldLabelError::kNotSupported:
      return "field label not supported: " + std::string(label);
    case FieldLabelError::kNotSupportedForKind:
      // schema.GroupVersionKind's String().
      return "field label not supported for " + GroupVersion() + ", Kind=" + kind + ": " +
             std::string(label);
    case FieldLabelError::kDefaultMeta:
      break;
  }
  return "\"" + std::string(label) +
         "\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"";
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
    if (Matches(r, name)) return &r;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------
// CRDs

int CompareKubeVersions(const std::string& a, const std::string& b) {
  // k8s.io/apimachinery/pkg/version CompareKubeAwareVersionStrings.
  static const std::regex kRe("^v([0-9]+)(?:(alpha|beta)([0-9]+))?$");
  auto rank = [](const std::string& v, int* major, int* stage, int* minor) {
    std::smatch m;
    if (!std::regex_match(v, m, kRe)) return false;
    *major = std::stoi(m[1].str());
    *stage = !m[2].matched ? 2 : (m[2].str() == "beta" ? 1 : 0);
    *minor = m[3].matched ? std::stoi(m[3].str()) : 0;
    return true;
  };
  int ma = 0, sa = 0, na = 0, mb = 0, sb = 0, nb = 0;
  bool ka = rank(a, &ma, &sa, &na), kb = rank(b, &mb, &sb, &nb);
  if (ka != kb) return ka ? -1 : 1;
  if (!ka) return a.compare(b);
  if (sa != sb) return sb - sa;
  if (ma != mb) return mb - ma;
  return nb - na;
}

std::vector<ResourceInfo> CrdResources(const json& crd) {
  std::vector<ResourceInfo> out;
  if (!crd.is_object() || !crd.contains("spec") || !crd["spec"].is_object()) return out;
  const json& spec = crd["spec"];
  const json names = spec.value("names", json::object());
  if (!names.is_object()) return out;
  std::string group = spec.value("group", "");
  std::string plural = names.value("plural", "");
  std::string kind = names.value("kind", "");
  if (group.empty() || plural.empty() || kind.empty()) return out;
  const json versions = spec.value("versions", json::array());
  if (!versions.is_array()) return out;
  std::string storage_version;
  for (const auto& v : versions) {
    if (v.is_object() && v.value("storage", false) && v.contains("name") && v["name"].is_string())
      storage_version = v["name"].get<std::string>();
  }
  for (const auto& v : versions) {
    if (!v.is_object() || !v.value("served", false) || !v["name"].is_string()) continue;
    ResourceInfo info;
    info.group = group;
    info.version = v["name"].get<std::string>();
    info.resource = plural;
    info.kind = kind;
    info.singular = names.value("singular", "");
    if (info.singular.empty()) {
      info.singular = kind;
      std::transform(info.singular.begin(), info.singular.end(), info.singular.begin(), ::tolower);
    }
    info.namespaced = spec.value("scope", "") == "Namespaced";
    const json sub = v.value("subresources", json::object());
    info.has_status = sub.is_object() && sub.contains("status");
    info.sets_generation = true;
    if (names.contains("shortNames") && names["shortNames"].is_array()) {
      for (const auto& s : names["shortNames"])
        if (s.is_string()) info.short_names.push_back(s);
    }
    if (names.contains("categories") && names["categories"].is_array()) {
      for (const auto& s : names["categories"])
        if (s.is_string()) info.categories.push_back(s);
    }
    info.verbs = kAllVerbs;
    // Custom resources: metadata.name, metadata.namespace and the version's
    // selectableFields (".spec.color" → "spec.color").
    info.fields = DefaultMetaLabels();
    info.field_error = FieldLabelError::kNotSupported;
    if (v.contains("selectableFields") && v["selectableFields"].is_array()) {
      for (const auto& f : v["selectableFields"]) {
        std::string path = f.is_object() ? f.value("jsonPath", "") : "";
        if (!path.empty() && path[0] == '.') path.erase(0, 1);
        if (!path.empty()) info.fields.push_back({path, path, ""});
      }
    }
    info.storage = plural + "." + group;
    // With several versions, objects are stored in the storage version and
    // read in the one asked for.
    if (versions.size() > 1 && !storage_version.empty()) {
      info.storage_version = storage_version;
      info.conversion = &VersionOnlyConversion();
    }
    info.crd = crd.contains("metadata") ? crd["metadata"].value("name", "") : "";
    out.push_back(std::move(info));
  }
  return out;
}

const ResourceInfo* Registry::Find(std::string_view group, std::string_view version,
                                   std::string_view resource) const {
  if (const ResourceInfo* r = FindResource(group, version, resource)) return r;
  MutexLock lock(mu_);
  for (const auto& [name, infos] : active_) {
    for (const ResourceInfo* r : infos) {
      if (r->group == group && r->version == version && r->resource == resource) return r;
    }
  }
  return nullptr;
}

const ResourceInfo* Registry::Lookup(std::string_view name) const {
  if (const ResourceInfo* r = LookupResource(name)) return r;
  MutexLock lock(mu_);
  const ResourceInfo* best = nullptr;
  for (const auto& [crd, infos] : active_) {
    for (const ResourceInfo* r : infos) {
      // The preferred (highest-priority) version of a CRD answers.
      if (Matches(*r, name) &&
          (best == nullptr ||
           (best->storage == r->storage && CompareKubeVersions(r->version, best->version) < 0))) {
        best = r;
      }
    }
  }
  return best;
}

std::vector<const ResourceInfo*> Registry::All() const {
  std::vector<const ResourceInfo*> out;
  for (const auto& r : Resources()) out.push_back(&r);
  MutexLock lock(mu_);
  std::vector<const ResourceInfo*> crds;
  for (const auto& [name, infos] : active_) crds.insert(crds.end(), infos.begin(), infos.end());
  std::sort(crds.begin(), crds.end(), [](const ResourceInfo* a, const ResourceInfo* b) {
    if (a->group != b->group) return a->group < b->group;
    if (a->version != b->version) return CompareKubeVersions(a->version, b->version) < 0;
    return a->resource < b->resource;
  });
  out.insert(out.end(), crds.begin(), crds.end());
  return out;
}

bool Registry::ServesGroupVersion(std::string_view group, std::string_view version) const {
  for (const auto& r : Resources()) {
    if (r.group == group && r.version == version) return true;
  }
  MutexLock lock(mu_);
  for (const auto& [name, infos] : active_) {
    for (const ResourceInfo* r : infos) {
      if (r->group == group && r->version == version) return true;
    }
  }
  return false;
}

std::vector<const ResourceInfo*> Registry::ForCrd(const std::string& crd_name) const {
  MutexLock lock(mu_);
  auto it = active_.find(crd_name);
  return it == active_.end() ? std::vector<const ResourceInfo*>{} : it->second;
}

void Registry::SetCrd(const json& crd) {
  std::vector<ResourceInfo> wanted = CrdResources(crd);
  std::string name = crd.contains("metadata") ? crd["metadata"].value("name", "") : "";
  MutexLock lock(mu_);
  std::vector<const ResourceInfo*> infos;
  for (auto& w : wanted) {
    // Reuse an identical entry so open watches and the history stay valid.
    const ResourceInfo* found = nullptr;
    for (const auto& o : owned_) {
      if (o->crd == w.crd && o->group == w.group && o->version == w.version &&
          o->resource == w.resource && o->kind == w.kind && o->namespaced == w.namespaced &&
          o->has_status == w.has_status && o->short_names == w.short_names &&
          o->categories == w.categories && o->singular == w.singular) {
        bool same_fields = o->fields.size() == w.fields.size();
        for (size_t i = 0; same_fields && i < w.fields.size(); ++i)
          same_fields = o->fields[i].label == w.fields[i].label;
        if (same_fields) found = o.get();
      }
    }
    if (found == nullptr) {
      owned_.push_back(std::make_unique<ResourceInfo>(std::move(w)));
      found = owned_.back().get();
    }
    infos.push_back(found);
  }
  if (infos.empty()) {
    active_.erase(name);
  } else {
    active_[name] = std::move(infos);
  }
}

void Registry::RemoveCrd(const std::string& crd_name) {
  MutexLock lock(mu_);
  active_.erase(crd_name);
}

}  // namespace drahil::apiserver::internal
