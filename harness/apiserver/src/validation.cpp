#include "validation.hpp"

#include <regex>

#include "drahil/kube/validation.hpp"

namespace drahil::apiserver::internal {

using nlohmann::json;

namespace {

using kube::FieldError;

std::vector<FieldCause> Convert(const std::vector<FieldError>& errors) {
  std::vector<FieldCause> out;
  out.reserve(errors.size());
  for (const auto& e : errors) {
    out.push_back({std::string(kube::ErrorTypeReason(e.type)), e.field, e.Body()});
  }
  return out;
}

// KnownToKube(): drahil::kube validates this kind itself.
bool KnownToKube(const json& obj) {
  return kube::FindByKind(obj.value("kind", ""), obj.value("apiVersion", "")) != nullptr;
}

// ValidateMeta(): ObjectMeta rules (apimachinery ValidateObjectMeta with
// NameIsDNSSubdomain, which every kind here uses): drahil::kube's, run on
// the metadata alone under a kube-known kind of the same scope whose only
// rules are metadata ones (namespaced: Event; cluster: Node).
std::vector<FieldError> ValidateMeta(const ResourceInfo& info, const json& obj) {
  json probe = {{"apiVersion", "v1"},
                {"kind", info.namespaced ? "Event" : "Node"},
                {"metadata", obj.value("metadata", json::object())}};
  return kube::Validate(probe);
}

// IsConfigMapKey(): k8s.io/apimachinery validation.IsConfigMapKey.
void CheckConfigKeys(const json& m, const std::string& field, std::vector<FieldError>& errs) {
  static const std::regex kKey("[-._a-zA-Z0-9]+");
  if (!m.is_object()) return;
  for (const auto& [k, v] : m.items()) {
    std::string f = field + "[" + k + "]";
    if (k.size() > 253) {
      errs.push_back(kube::Invalid(f, k, "must be no more than 253 characters"));
    } else if (!std::regex_match(k, kKey)) {
      errs.push_back(kube::Invalid(
          f, k,
          "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "
          "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
          "'[-._a-zA-Z0-9]+')"));
    } else if (k == "." || k == ".." || k.rfind("..", 0) == 0) {
      errs.push_back(kube::Invalid(f, k,
                                   k.rfind("..", 0) == 0 && k.size() > 2
                                       ? "must not start with '..'"
                                       : "must not be '.' or '..'"));
    }
  }
}

size_t DecodedSize(const std::string& b64) {
  size_t pad = 0;
  if (!b64.empty() && b64.back() == '=') ++pad;
  if (b64.size() > 1 && b64[b64.size() - 2] == '=') ++pad;
  return b64.size() / 4 * 3 - pad;
}

constexpr size_t kMaxDataBytes = 1 << 20;  // core validation MaxSecretSize / config map

// Immutable data (ValidateConfigMapUpdate/ValidateSecretUpdate): once
// `immutable: true`, data may not change and immutable may not be unset.
void CheckImmutableData(const json& obj, const json& old, const std::vector<std::string>& fields,
                        std::vector<FieldError>& errs) {
  if (!(old.contains("immutable") && old["immutable"] == true)) return;
  if (!(obj.contains("immutable") && obj["immutable"] == true)) {
    errs.push_back(kube::Forbidden("immutable", "field is immutable when `immutable` is set"));
  }
  for (const auto& f : fields) {
    if (obj.value(f, json()) != old.value(f, json())) {
      errs.push_back(kube::Forbidden(f, "field is immutable when `immutable` is set"));
    }
  }
}

// pkg/apis/core/validation ValidateConfigMap.
void ValidateConfigMap(const json& obj, std::vector<FieldError>& errs) {
  size_t total = 0;
  const json data = obj.value("data", json::object());
  const json bin = obj.value("binaryData", json::object());
  CheckConfigKeys(data, "data", errs);
  CheckConfigKeys(bin, "binaryData", errs);
  if (data.is_object()) {
    for (const auto& [k, v] : data.items()) {
      if (v.is_string()) total += v.get<std::string>().size();
      if (bin.is_object() && bin.contains(k)) {
        errs.push_back(
            kube::Invalid("data[" + k + "]", k, "duplicate of key present in binaryData"));
      }
    }
  }
  if (bin.is_object()) {
    for (const auto& [k, v] : bin.items())
      if (v.is_string()) total += DecodedSize(v.get<std::string>());
  }
  if (total > kMaxDataBytes) errs.push_back(kube::TooLong("", kMaxDataBytes));
}

// pkg/apis/core/validation ValidateSecret: keys, total size and the keys
// each well-known type requires.
void ValidateSecret(const json& obj, std::vector<FieldError>& errs) {
  const json data = obj.value("data", json::object());
  CheckConfigKeys(data, "data", errs);
  size_t total = 0;
  if (data.is_object()) {
    for (const auto& [k, v] : data.items())
      if (v.is_string()) total += DecodedSize(v.get<std::string>());
  }
  if (total > kMaxDataBytes) errs.push_back(kube::TooLong("data", kMaxDataBytes));
  std::string type = obj.value("type", "Opaque");
  auto has = [&](const char* k) { return data.is_object() && data.contains(k); };
  auto need = [&](const char* k) {
    if (!has(k)) errs.push_back(kube::Required(std::string("data[") + k + "]"));
  };
  if (type == "kubernetes.io/service-account-token") {
    const json ann = obj.value("metadata", json::object()).value("annotations", json::object());
    if (!ann.is_object() || !ann.contains("kubernetes.io/service-account.name")) {
      errs.push_back(kube::Required("metadata.annotations[kubernetes.io/service-account.name]"));
    }
  } else if (type == "kubernetes.io/dockercfg") {
    need(".dockercfg");
  } else if (type == "kubernetes.io/dockerconfigjson") {
    need(".dockerconfigjson");
  } else if (type == "kubernetes.io/basic-auth") {
    if (!has("username") && !has("password")) {
      errs.push_back(kube::Required("data[username]"));
      errs.push_back(kube::Required("data[password]"));
    }
  } else if (type == "kubernetes.io/ssh-auth") {
    need("ssh-privatekey");
  } else if (type == "kubernetes.io/tls") {
    need("tls.crt");
    need("tls.key");
  }
}

// pkg/apis/coordination/validation ValidateLeaseSpec.
void ValidateLease(const json& obj, std::vector<FieldError>& errs) {
  const json spec = obj.value("spec", json::object());
  if (!spec.is_object()) return;
  if (spec.contains("leaseDurationSeconds") && spec["leaseDurationSeconds"].is_number() &&
      spec["leaseDurationSeconds"].get<double>() <= 0) {
    errs.push_back(kube::Invalid("spec.leaseDurationSeconds", spec["leaseDurationSeconds"],
                                 "must be greater than 0"));
  }
  if (spec.contains("leaseTransitions") && spec["leaseTransitions"].is_number() &&
      spec["leaseTransitions"].get<double>() < 0) {
    errs.push_back(kube::Invalid("spec.leaseTransitions", spec["leaseTransitions"],
                                 "must be greater than or equal to 0"));
  }
}

// pkg/apis/core/validation ValidateEventCreate for events.k8s.io/v1 (the
// fields the new API requires).
void ValidateEventsV1(const json& obj, std::vector<FieldError>& errs) {
  auto str = [&](const char* k) {
    return obj.value(k, json()).is_string() ? obj.value(k, "") : "";
  };
  if (str("eventTime").empty()) errs.push_back(kube::Required("eventTime"));
  std::string rc = str("reportingController");
  if (rc.empty()) {
    errs.push_back(kube::Required("reportingController"));
  } else {
    for (const auto& m : kube::IsQualifiedName(rc))
      errs.push_back(kube::Invalid("reportingController", rc, m));
  }
  for (const char* f : {"reportingInstance", "action", "reason"}) {
    std::string v = str(f);
    if (v.empty()) {
      errs.push_back(kube::Required(f));
    } else if (v.size() > 128) {
      errs.push_back(kube::TooLong(f, 128));
    }
  }
  std::string type = str("type");
  if (type != "Normal" && type != "Warning") {
    errs.push_back(kube::NotSupported("type", type, {"Normal", "Warning"}));
  }
  if (str("note").size() > 1024) errs.push_back(kube::TooLong("note", 1024));
  if (obj.contains("series") && obj["series"].is_object()) {
    const json& s = obj["series"];
    if (!(s.contains("count") && s["count"].is_number() && s["count"].get<double>() >= 2)) {
      errs.push_back(
          kube::Invalid("series.count", s.value("count", json()), "should be at least 2"));
    }
    if (!s.contains("lastObservedTime")) errs.push_back(kube::Required("series.lastObservedTime"));
  }
}

// ValidateCoreEvent(): pkg/apis/core/validation/events.go legacyValidateEvent
// for a core/v1 Event that sets eventTime (the new-style fields, with
// ReportingInstanceLengthLimit, ActionLengthLimit, ReasonLengthLimit and
// NoteLengthLimit). Upstream checks no lengths on an Event without eventTime;
// its size is then bounded only by the store (max_object_bytes, as etcd).
// The namespace agreement rule of events without eventTime is not modelled.
void ValidateCoreEvent(const json& obj, std::vector<FieldError>& errs) {
  auto str = [&](const char* k) {
    return obj.value(k, json()).is_string() ? obj.value(k, "") : "";
  };
  if (str("eventTime").empty()) return;
  const json involved = obj.value("involvedObject", json::object());
  std::string ns = obj.value("metadata", json::object()).value("namespace", "");
  if ((!involved.is_object() || involved.value("namespace", "").empty()) && ns != "default" &&
      ns != "kube-system") {
    errs.push_back(kube::Invalid("involvedObject.namespace", "", "does not match event.namespace"));
  }
  // The JSON field reportingComponent is the internal ReportingController.
  std::string rc = str("reportingComponent");
  if (rc.empty()) errs.push_back(kube::Required("reportingController"));
  for (const auto& m : kube::IsQualifiedName(rc))
    errs.push_back(kube::Invalid("reportingController", rc, m));
  for (const char* f : {"reportingInstance", "action", "reason"}) {
    std::string v = str(f);
    if (v.empty()) {
      errs.push_back(kube::Required(f));
    } else if (v.size() > 128) {
      errs.push_back(kube::Invalid(f, "", "can have at most 128 characters"));
    }
  }
  if (str("message").size() > 1024) {
    errs.push_back(kube::Invalid("message", "", "can have at most 1024 characters"));
  }
}

bool IsCoreEvent(const ResourceInfo& info) {
  return info.group.empty() && info.resource == "events";
}

// apiextensions validation ValidateCustomResourceDefinition: the parts that
// decide what is served (names, group, scope, versions).
void ValidateCrd(const json& obj, std::vector<FieldError>& errs) {
  const json spec = obj.value("spec", json::object());
  if (!spec.is_object()) {
    errs.push_back(kube::Required("spec"));
    return;
  }
  std::string group = spec.value("group", "");
  const json names = spec.value("names", json::object());
  std::string plural = names.is_object() ? names.value("plural", "") : "";
  std::string kind = names.is_object() ? names.value("kind", "") : "";
  std::string name = obj.value("metadata", json::object()).value("name", "");
  if (name != plural + "." + group) {
    errs.push_back(
        kube::Invalid("metadata.name", name, "must be spec.names.plural+\".\"+spec.group"));
  }
  if (group.empty()) {
    errs.push_back(kube::Required("spec.group"));
  } else if (group.find('.') == std::string::npos) {
    errs.push_back(kube::Invalid("spec.group", group, "should be a domain with at least one dot"));
  }
  if (plural.empty()) errs.push_back(kube::Required("spec.names.plural"));
  if (kind.empty()) errs.push_back(kube::Required("spec.names.kind"));
  std::string scope = spec.value("scope", "");
  if (scope != "Cluster" && scope != "Namespaced") {
    errs.push_back(kube::NotSupported("spec.scope", scope, {"Cluster", "Namespaced"}));
  }
  const json versions = spec.value("versions", json::array());
  if (!versions.is_array() || versions.empty()) {
    errs.push_back(kube::Invalid("spec.versions", versions,
                                 "must have exactly one version marked as storage version"));
    return;
  }
  int storage = 0;
  for (size_t i = 0; i < versions.size(); ++i) {
    const json& v = versions[i];
    std::string f = "spec.versions[" + std::to_string(i) + "]";
    if (!v.is_object() || !v.contains("name") || !v["name"].is_string()) {
      errs.push_back(kube::Required(f + ".name"));
      continue;
    }
    for (const auto& m : kube::IsDns1123Label(v["name"].get<std::string>()))
      errs.push_back(kube::Invalid(f + ".name", v["name"], m));
    if (v.value("storage", false)) ++storage;
  }
  if (storage != 1) {
    errs.push_back(kube::Invalid("spec.versions", versions,
                                 "must have exactly one version marked as storage version"));
  }
}

std::vector<FieldError> ValidateExtra(const ResourceInfo& info, const json& obj) {
  std::vector<FieldError> errs = ValidateMeta(info, obj);
  if (info.group.empty() && info.resource == "configmaps") {
    ValidateConfigMap(obj, errs);
  } else if (info.group.empty() && info.resource == "secrets") {
    ValidateSecret(obj, errs);
  } else if (info.group == "coordination.k8s.io" && info.resource == "leases") {
    ValidateLease(obj, errs);
  } else if (info.group == "events.k8s.io" && info.resource == "events") {
    ValidateEventsV1(obj, errs);
  } else if (info.group == kCrdGroup && info.resource == "customresourcedefinitions") {
    ValidateCrd(obj, errs);
  }
  // Custom resources: metadata only (their OpenAPI schema is not checked).
  return errs;
}

void Immutable(const json& obj, const json& old, const std::string& dotted,
               std::vector<FieldError>& errs) {
  json a = kube::FieldValue(old, dotted), b = kube::FieldValue(obj, dotted);
  if (a != b) errs.push_back(kube::Invalid(dotted, b, "field is immutable"));
}

std::vector<FieldError> ValidateExtraUpdate(const ResourceInfo& info, const json& obj,
                                            const json& old) {
  std::vector<FieldError> errs = ValidateExtra(info, obj);
  Immutable(obj, old, "metadata.name", errs);
  Immutable(obj, old, "metadata.namespace", errs);
  if (info.group.empty() && info.resource == "configmaps") {
    CheckImmutableData(obj, old, {"data", "binaryData"}, errs);
  } else if (info.group.empty() && info.resource == "secrets") {
    Immutable(obj, old, "type", errs);
    CheckImmutableData(obj, old, {"data"}, errs);
  } else if (info.group == kCrdGroup && info.resource == "customresourcedefinitions") {
    Immutable(obj, old, "spec.group", errs);
    Immutable(obj, old, "spec.scope", errs);
  }
  return errs;
}

// KubeForm(): obj as drahil::kube knows it: a version whose schema is the
// storage version's (DeviceTaintRule v1beta2) is validated as the storage
// version.
json KubeForm(const ResourceInfo& info, const json& obj) {
  if (info.conversion != &VersionOnlyConversion()) return obj;
  return info.conversion->to_storage(obj, info);
}

}  // namespace

const char* ValidatorName() { return "drahil::kube (the chosen Kubernetes version's rules)"; }

std::vector<FieldCause> ValidateCreate(const ResourceInfo& info, const json& served,
                                       KubeVersion version) {
  json obj = KubeForm(info, served);
  if (!KnownToKube(obj)) return Convert(ValidateExtra(info, obj));
  auto errs = kube::Validate(obj, version);
  if (IsCoreEvent(info)) ValidateCoreEvent(obj, errs);
  return Convert(errs);
}

std::vector<FieldCause> ValidateUpdate(const ResourceInfo& info, const json& served,
                                       const json& served_old, KubeVersion version) {
  json obj = KubeForm(info, served);
  json old = KubeForm(info, served_old);
  if (!KnownToKube(obj)) return Convert(ValidateExtraUpdate(info, obj, old));
  auto errs = kube::ValidateUpdate(old, obj, version);
  if (IsCoreEvent(info)) ValidateCoreEvent(obj, errs);
  return Convert(errs);
}

std::vector<FieldCause> ValidateStatusUpdate(const ResourceInfo& info, const json& served,
                                             const json& served_old, KubeVersion version) {
  json obj = KubeForm(info, served);
  json old = KubeForm(info, served_old);
  if (!KnownToKube(obj)) {
    std::vector<FieldError> errs;
    Immutable(obj, old, "metadata.name", errs);
    Immutable(obj, old, "metadata.namespace", errs);
    return Convert(errs);
  }
  return Convert(kube::ValidateStatusUpdate(old, obj, version));
}

}  // namespace drahil::apiserver::internal
