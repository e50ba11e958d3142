// File: resources.hpp (private)
//
// The table of resources the embedded API server serves: what discovery
// advertises, what the router accepts and which field selectors each supports.
// Built-in resources are a static table; the resources of
// CustomResourceDefinitions are added and removed at run time by a Registry
// (one per server, owned by its Store).
#ifndef DRAHIL_APISERVER_RESOURCES_HPP_INCLUDED
#define DRAHIL_APISERVER_RESOURCES_HPP_INCLUDED

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "conversion.hpp"
#include "drahil/core/mutex.hpp"

namespace drahil::apiserver::internal {

// FieldLabel: a field selector label and where its value is in the stored
// object (kube-apiserver: the registry's GetAttrs/SelectableFields plus the
// version's field label conversion func).
struct FieldLabel {
  std::string label;   // as the client writes it: "regarding.name"
  std::string path;    // dotted path in the stored JSON: "regarding.name"
  std::string absent;  // value when the field is absent ("false" for booleans)
};

// How an unsupported field label is refused; each mirrors an upstream
// conversion func's error text.
enum class FieldLabelError {
  // pkg/apis/core/v1/conversion.go: "field label not supported: X"
  kNotSupported,
  // pkg/apis/resource/v1/conversion.go: "field label not supported for
  // resource.k8s.io/v1, Kind=ResourceSlice: X"
  kNotSupportedForKind,
  // apimachinery runtime.DefaultMetaV1FieldSelectorConversion:
  // "\"X\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
  kDefaultMeta,
};

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
  std::vector<std::string> categories;
  std::vector<std::string> verbs;
  // Field selector labels (metadata.name/metadata.namespace included where
  // upstream accepts them) and how others are refused.
  std::vector<FieldLabel> fields;
  FieldLabelError field_error = FieldLabelError::kDefaultMeta;
  // Where the objects live in the store: "resourceslices.resource.k8s.io".
  // The versions of one CRD share it, and events.k8s.io/v1 Events share
  // core/v1's.
  std::string storage;
  // How objects are converted between this version and the stored form;
  // nullptr when they are stored as served.
  const Conversion* conversion = nullptr;
  // The version objects are stored in, for a CRD with several versions.
  std::string storage_version;
  // The CustomResourceDefinition that serves it; "" for built-ins.
  std::string crd;

  // GroupVersion(): "resource.k8s.io/v1" or "v1".
  [[nodiscard]] std::string GroupVersion() const;
  // GroupResource(): "resourceslices.resource.k8s.io" or "pods", as Kubernetes
  // names a resource in error messages.
  [[nodiscard]] std::string GroupResource() const;
  // FindField(): the label's entry; nullptr when not supported.
  [[nodiscard]] const FieldLabel* FindField(std::string_view label) const;
  // UnsupportedFieldMessage(): upstream's 400 text for an unsupported label.
  [[nodiscard]] std::string UnsupportedFieldMessage(std::string_view label) const;
};

// Resources(): every built-in resource, core first.
const std::vector<ResourceInfo>& Resources();
// FindResource(group, version, plural): a built-in; nullptr when not served.
const ResourceInfo* FindResource(std::string_view group, std::string_view version,
                                 std::string_view resource);
// LookupResource("resourceslices" | "resourceslices.resource.k8s.io" |
// "ResourceSlice"): a built-in by the C++ API's names; nullptr if unknown.
const ResourceInfo* LookupResource(std::string_view name);

inline constexpr std::string_view kResourceGroup = "resource.k8s.io";
inline constexpr std::string_view kCrdGroup = "apiextensions.k8s.io";
// Where CustomResourceDefinition objects are stored.
inline constexpr std::string_view kCrdStorage = "customresourcedefinitions.apiextensions.k8s.io";

// Registry: the built-in resources plus those of the established
// CustomResourceDefinitions. ResourceInfo pointers stay valid for the
// registry's life (a removed CRD's entries are kept, unserved), so watchers
// and the event history may hold them.
class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  const ResourceInfo* Find(std::string_view group, std::string_view version,
                           std::string_view resource) const DRAHIL_EXCLUDES(mu_);
  // Lookup(): plural, "plural.group", Kind or singular; built-ins first.
  const ResourceInfo* Lookup(std::string_view name) const DRAHIL_EXCLUDES(mu_);
  // All(): built-ins, then CRD resources ordered by group, version, plural.
  std::vector<const ResourceInfo*> All() const DRAHIL_EXCLUDES(mu_);
  // ServesGroupVersion(): some resource is served at group/version.
  bool ServesGroupVersion(std::string_view group, std::string_view version) const
      DRAHIL_EXCLUDES(mu_);
  // ForCrd(): the resources a CRD serves now (one per served version).
  std::vector<const ResourceInfo*> ForCrd(const std::string& crd_name) const DRAHIL_EXCLUDES(mu_);

  // SetCrd(): serves the CRD's served versions (replacing what it served).
  void SetCrd(const nlohmann::json& crd) DRAHIL_EXCLUDES(mu_);
  // RemoveCrd(): stops serving the CRD's resources.
  void RemoveCrd(const std::string& crd_name) DRAHIL_EXCLUDES(mu_);

 private:
  mutable Mutex mu_;
  std::vector<std::unique_ptr<ResourceInfo>> owned_ DRAHIL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<const ResourceInfo*>> active_ DRAHIL_GUARDED_BY(mu_);
};

// CrdResources(): the ResourceInfo entries a CRD object describes (served
// versions), without registering them. Also used to validate a CRD.
std::vector<ResourceInfo> CrdResources(const nlohmann::json& crd);

// CompareKubeVersions(): Kubernetes' version priority (GA > beta > alpha,
// then higher numbers first; other strings last, alphabetically): < 0 when a
// comes first.
int CompareKubeVersions(const std::string& a, const std::string& b);

}  // namespace drahil::apiserver::internal

#endif  // DRAHIL_APISERVER_RESOURCES_HPP_INCLUDED
