// File: object.hpp
//
// The Kubernetes object model used by drahil: API objects are nlohmann::json
// values, so a GET → modify → PUT round trip keeps every field, including the
// ones this code has never heard of (newer API fields, vendor annotations).
// Typed helpers sit on top: metadata accessors, the registry of the kinds the
// harness serves, and label/field selectors as the API server parses them.
//
// Thread-safety: free functions are pure; the registry is immutable static
// data, safe to read from any thread. Selectors are values.
#ifndef DRAHIL_KUBE_OBJECT_HPP_INCLUDED
#define DRAHIL_KUBE_OBJECT_HPP_INCLUDED

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "drahil/core/status.hpp"

namespace drahil::kube {

// Object: any API object (or fragment of one), held losslessly.
using Object = nlohmann::json;

// ---- metadata accessors ---------------------------------------------------
// Getters return "" (or 0, or an empty map) when the field is absent or has
// the wrong JSON type; they never throw.
std::string ApiVersion(const Object& obj);
std::string Kind(const Object& obj);
std::string Name(const Object& obj);
std::string GenerateName(const Object& obj);
std::string Namespace(const Object& obj);
std::string Uid(const Object& obj);
std::string ResourceVersion(const Object& obj);
int64_t Generation(const Object& obj);
std::string CreationTimestamp(const Object& obj);
std::string DeletionTimestamp(const Object& obj);
std::map<std::string, std::string> Labels(const Object& obj);
std::map<std::string, std::string> Annotations(const Object& obj);
std::vector<std::string> Finalizers(const Object& obj);

// Setters create `metadata` (and the map) when missing; a non-object
// `metadata` is replaced.
void SetName(Object& obj, std::string_view name);
void SetNamespace(Object& obj, std::string_view ns);
void SetUid(Object& obj, std::string_view uid);
void SetResourceVersion(Object& obj, std::string_view rv);
void SetLabel(Object& obj, std::string_view key, std::string_view value);
void SetAnnotation(Object& obj, std::string_view key, std::string_view value);

// ObjectRef(): "ResourceSlice node1-gpu-abcde" or "ResourceClaim default/c1",
// for log and error messages.
std::string ObjectRef(const Object& obj);

// FieldValue(): the value at a dotted path ("spec.nodeName",
// "metadata.name") rendered the way field selectors compare it: strings as
// they are, booleans "true"/"false", numbers in decimal; "" when absent, null,
// or an object/array.
std::string FieldValue(const Object& obj, std::string_view dotted_path);

// ---- kinds registry -------------------------------------------------------

struct ResourceInfo {
  std::string_view group;     // "" for core
  std::string_view version;   // "v1"
  std::string_view kind;      // "ResourceSlice"
  std::string_view resource;  // plural, "resourceslices"
  std::string_view singular;  // "resourceslice"
  bool namespaced = false;
  bool has_status = false;  // has a /status subresource
  // Field selectors the real API server accepts for this resource, beyond
  // metadata.name and metadata.namespace (which every resource accepts).
  std::span<const std::string_view> field_selectors;
  std::span<const std::string_view> short_names;  // kubectl short names

  // GroupVersion(): "resource.k8s.io/v1", or "v1" for core.
  [[nodiscard]] std::string GroupVersion() const;
  // ListKind(): "ResourceSliceList".
  [[nodiscard]] std::string ListKind() const;
  // SupportsFieldSelector("spec.nodeName").
  [[nodiscard]] bool SupportsFieldSelector(std::string_view field) const;
};

// AllResources(): ResourceSlice, DeviceClass, ResourceClaim,
// ResourceClaimTemplate, DeviceTaintRule (resource.k8s.io/v1) and Namespace,
// Node, Pod, Event (core v1), in that order.
std::span<const ResourceInfo> AllResources();
// FindByKind(): kind alone, or kind in a given apiVersion ("v1",
// "resource.k8s.io/v1"); nullptr when unknown (also for other versions
// such as resource.k8s.io/v1beta1, which the harness does not serve).
const ResourceInfo* FindByKind(std::string_view kind, std::string_view api_version = {});
// FindByResource(): by plural in a group ("" = core); nullptr when unknown.
const ResourceInfo* FindByResource(std::string_view group, std::string_view resource);
// FindByResource(): by plural alone (the plurals are unique across groups).
const ResourceInfo* FindByResource(std::string_view resource);
// ResourceFor(): the entry matching obj's apiVersion and kind.
const ResourceInfo* ResourceFor(const Object& obj);

// ---- selectors ------------------------------------------------------------

// LabelSelector: the string syntax of labels.Parse (kubectl -l, ?labelSelector=):
//   "a=b", "a==b", "a!=b", "a in (x,y)", "a notin (x)", "a", "!a", "a>3", "a<3",
// comma-separated requirements that must all hold. An empty selector matches
// everything. Keys must be qualified names and values valid label values,
// as the API server checks them.
class LabelSelector {
 public:
  enum class Op {
    kEquals,
    kNotEquals,
    kIn,
    kNotIn,
    kExists,
    kDoesNotExist,
    kGreaterThan,
    kLessThan
  };
  struct Requirement {
    std::string key;
    Op op = Op::kExists;
    std::vector<std::string> values;  // sorted, unique
  };

  LabelSelector() = default;
  // Parse(): errors name the offending requirement and position.
  static Result<LabelSelector> Parse(std::string_view text);
  // FromJson(): a metav1.LabelSelector {matchLabels, matchExpressions}.
  // A null/absent selector matches everything.
  static Result<LabelSelector> FromJson(const Object& selector);

  [[nodiscard]] bool Matches(const std::map<std::string, std::string>& labels) const;
  // MatchesObject(): against metadata.labels.
  [[nodiscard]] bool MatchesObject(const Object& obj) const;
  [[nodiscard]] bool Empty() const { return reqs_.empty(); }
  [[nodiscard]] const std::vector<Requirement>& requirements() const { return reqs_; }
  // ToString(): canonical form, requirements sorted by key.
  [[nodiscard]] std::string ToString() const;

 private:
  std::vector<Requirement> reqs_;
};

// FieldSelector: "a=b,c!=d" ("==" is the same as "="); "\," "\=" "\\" escape
// the separators inside values, as fields.ParseSelector does. An empty
// selector matches everything. Whether a field is supported for a resource
// is the server's decision (ResourceInfo::SupportsFieldSelector).
class FieldSelector {
 public:
  struct Requirement {
    std::string field;
    bool equals = true;  // false: "!="
    std::string value;
  };

  FieldSelector() = default;
  static Result<FieldSelector> Parse(std::string_view text);

  // Matches(): against FieldValue(obj, field) for each requirement.
  [[nodiscard]] bool Matches(const Object& obj) const;
  [[nodiscard]] bool Empty() const { return reqs_.empty(); }
  [[nodiscard]] const std::vector<Requirement>& requirements() const { return reqs_; }
  // RequiredValue("spec.nodeName"): the value an "=" requirement pins, so a
  // store can use an index; nullopt when the field is not pinned.
  [[nodiscard]] std::optional<std::string> RequiredValue(std::string_view field) const;
  // ToString(): canonical, requirements in the order given, values escaped.
  [[nodiscard]] std::string ToString() const;

 private:
  std::vector<Requirement> reqs_;
};

}  // namespace drahil::kube

#endif  // DRAHIL_KUBE_OBJECT_HPP_INCLUDED
