// Admission shared by the Handler and the in-process object API: type
// metadata, server-set taint times, the admin-access namespace label and
// what a write through the main endpoint or /status produces.
#include "admission.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "drahil/formats/json_fields.hpp"

namespace drahil::apiserver::internal {

using nlohmann::json;

namespace {

const char kAdminLabel[] = "resource.kubernetes.io/admin-access";
// The spelling in the Kubernetes 1.34 release announcement; accepted with a
// warning so a suite written from the announcement still runs.
const char kOldAdminLabel[] = "resource.k8s.io/admin-access";

void WalkTaints(json& taints, const json* old_taints, const std::string& now) {
  if (!taints.is_array()) return;
  for (size_t i = 0; i < taints.size(); ++i) {
    json& t = taints[i];
    if (!t.is_object() || (t.contains("timeAdded") && !t["timeAdded"].is_null())) continue;
    // Keep the time of an unchanged taint that a client round-tripped without it.
    if (old_taints && old_taints->is_array()) {
      for (const auto& o : *old_taints) {
        if (o.is_object() && o.value("key", "") == t.value("key", "") &&
            o.value("value", "") == t.value("value", "") &&
            o.value("effect", "") == t.value("effect", "") && o.contains("timeAdded")) {
          t["timeAdded"] = o["timeAdded"];
        }
      }
    }
    if (!t.contains("timeAdded") || t["timeAdded"].is_null()) t["timeAdded"] = now;
  }
}

const char kB64Std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64(const std::string& in) {
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kB64Std[(n >> s) & 0x3F]);
  }
  if (i + 1 == in.size()) {
    uint32_t n = static_cast<unsigned char>(in[i]) << 16;
    out.push_back(kB64Std[(n >> 18) & 0x3F]);
    out.push_back(kB64Std[(n >> 12) & 0x3F]);
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t n =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out.push_back(kB64Std[(n >> 18) & 0x3F]);
    out.push_back(kB64Std[(n >> 12) & 0x3F]);
    out.push_back(kB64Std[(n >> 6) & 0x3F]);
    out.push_back('=');
  }
  return out;
}

// BadBase64At(): Go's base64.StdEncoding (how encoding/json decodes
// []byte): the offset of the first illegal byte, or -1 when valid.
long BadBase64At(const std::string& s) {
  size_t n = s.size();
  for (size_t i = 0; i < n; ++i) {
    char c = s[i];
    bool alpha = std::strchr(kB64Std, c) != nullptr && c != '\0';
    if (alpha) continue;
    if (c == '=' && i % 4 >= 2) {
      // Padding: the rest must be padding that completes the quantum.
      if (i % 4 == 2 && (i + 1 >= n || s[i + 1] != '=')) return static_cast<long>(i);
      size_t end = i % 4 == 2 ? i + 2 : i + 1;
      if (end != n) return static_cast<long>(end);
      return -1;
    }
    return static_cast<long>(i);
  }
  if (n % 4 != 0) return static_cast<long>(n / 4 * 4);
  return -1;
}

std::optional<ApiError> CheckBase64Map(const ResourceInfo& info, const json& obj,
                                       const char* field) {
  if (!obj.contains(field) || !obj[field].is_object()) return std::nullopt;
  for (const auto& [k, v] : obj[field].items()) {
    long at = v.is_string() ? BadBase64At(v.get<std::string>()) : 0;
    if (at >= 0) {
      return BadRequest(info.kind + " in version \"" + info.version + "\" cannot be handled as a " +
                        info.kind + ": illegal base64 data at input byte " + std::to_string(at));
    }
  }
  return std::nullopt;
}

// CrdStatus(): the status the apiextensions naming and establishing
// controllers give a CRD whose names are free.
void SetCrdStatus(json& obj, const json* old, const std::string& now) {
  json& spec = obj["spec"];
  if (!spec.is_object()) return;
  json& names = spec["names"];
  if (!names.is_object()) return;
  // SetDefaults_CustomResourceDefinitionSpec.
  std::string kind = names.value("kind", "");
  if (names.value("singular", "").empty() && !kind.empty()) {
    std::string s = kind;
    for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    names["singular"] = s;
  }
  if (names.value("listKind", "").empty() && !kind.empty()) names["listKind"] = kind + "List";
  if (!spec.contains("conversion")) spec["conversion"] = {{"strategy", "None"}};
  json status = old != nullptr ? old->value("status", json::object()) : json::object();
  if (!status.is_object()) status = json::object();
  status["acceptedNames"] = names;
  auto cond = [&](const std::string& type, const std::string& reason, const std::string& msg) {
    json c = {{"type", type},
              {"status", "True"},
              {"reason", reason},
              {"message", msg},
              {"lastTransitionTime", now}};
    if (status.contains("conditions") && status["conditions"].is_array()) {
      for (const auto& o : status["conditions"]) {
        if (o.value("type", "") == type && o.value("status", "") == "True") return o;
      }
    }
    return c;
  };
  status["conditions"] = json::array(
      {cond("NamesAccepted", "NoConflicts", "no conflicts found"),
       cond("Established", "InitialNamesAccepted", "the initial names have been accepted")});
  json stored = status.value("storedVersions", json::array());
  if (!stored.is_array()) stored = json::array();
  if (spec.contains("versions") && spec["versions"].is_array()) {
    for (const auto& v : spec["versions"]) {
      if (v.is_object() && v.value("storage", false) && v.contains("name") &&
          std::find(stored.begin(), stored.end(), v["name"]) == stored.end()) {
        stored.push_back(v["name"]);
      }
    }
  }
  status["storedVersions"] = stored;
  obj["status"] = status;
}

std::optional<ApiError> PrepareSecret(const ResourceInfo& info, json& obj) {
  if (auto e = CheckBase64Map(info, obj, "data")) return e;
  if (obj.contains("stringData")) {
    const json sd = obj["stringData"];
    obj.erase("stringData");
    if (sd.is_object()) {
      if (!obj.contains("data") || !obj["data"].is_object()) obj["data"] = json::object();
      for (const auto& [k, v] : sd.items()) {
        if (!v.is_string()) {
          return BadRequest(
              "Secret in version \"v1\" cannot be handled as a Secret: "
              "stringData." +
              k + ": expected a string");
        }
        obj["data"][k] = Base64(v.get<std::string>());
      }
    }
  }
  if (!obj.contains("type") || !obj["type"].is_string() || obj["type"] == "")
    obj["type"] = "Opaque";
  return std::nullopt;
}

bool IsCore(const ResourceInfo& info, const char* resource) {
  return info.group.empty() && info.resource == resource;
}

}  // namespace

std::optional<ApiError> PrepareForCreate(const ResourceInfo& info, json& obj, bool rest,
                                         const std::string& now) {
  if (IsCore(info, "secrets")) return PrepareSecret(info, obj);
  if (IsCore(info, "configmaps")) return CheckBase64Map(info, obj, "binaryData");
  if (info.group == kCrdGroup && info.resource == "customresourcedefinitions") {
    SetCrdStatus(obj, nullptr, now);
  } else if (!info.crd.empty() && info.has_status && rest) {
    obj.erase("status");
  }
  return std::nullopt;
}

std::optional<ApiError> PrepareForUpdate(const ResourceInfo& info, json& obj, const json& old,
                                         const std::string& now) {
  if (IsCore(info, "secrets")) return PrepareSecret(info, obj);
  if (IsCore(info, "configmaps")) return CheckBase64Map(info, obj, "binaryData");
  if (info.group == kCrdGroup && info.resource == "customresourcedefinitions") {
    SetCrdStatus(obj, &old, now);
  }
  return std::nullopt;
}

std::optional<ApiError> CheckTypeMeta(const ResourceInfo& info, json& obj) {
  std::string gv = info.GroupVersion();
  if (!obj.contains("apiVersion") || obj["apiVersion"].is_null() || obj["apiVersion"] == "") {
    obj["apiVersion"] = gv;
  }
  if (!obj.contains("kind") || obj["kind"].is_null() || obj["kind"] == "") obj["kind"] = info.kind;
  if (!obj["apiVersion"].is_string() || !obj["kind"].is_string()) {
    return BadRequest("apiVersion and kind must be strings");
  }
  if (obj["apiVersion"] != gv) {
    return BadRequest("the API version in the data (" + obj["apiVersion"].get<std::string>() +
                      ") does not match the expected API version (" + gv + ")");
  }
  if (obj["kind"] != info.kind) {
    return BadRequest("the kind in the data (" + obj["kind"].get<std::string>() +
                      ") does not match the expected kind (" + info.kind + ")");
  }
  return std::nullopt;
}

void FillTimeAdded(const ResourceInfo& info, json& obj, const json* old, const std::string& now) {
  if (info.resource == "resourceslices") {
    if (!obj.contains("spec") || !obj["spec"].is_object()) return;
    json& devices = obj["spec"]["devices"];
    if (!devices.is_array()) {
      if (devices.is_null()) obj["spec"].erase("devices");
      return;
    }
    const json* old_devices = nullptr;
    if (old && old->contains("spec") && (*old)["spec"].is_object() &&
        (*old)["spec"].contains("devices")) {
      old_devices = &(*old)["spec"]["devices"];
    }
    for (auto& d : devices) {
      if (!d.is_object() || !d.contains("taints")) continue;
      const json* old_taints = nullptr;
      if (old_devices && old_devices->is_array()) {
        for (const auto& od : *old_devices) {
          if (od.is_object() && od.value("name", "") == d.value("name", "") &&
              od.contains("taints")) {
            old_taints = &od["taints"];
          }
        }
      }
      WalkTaints(d["taints"], old_taints, now);
    }
  } else if (info.resource == "devicetaintrules") {
    if (!obj.contains("spec") || !obj["spec"].is_object() || !obj["spec"].contains("taint")) return;
    json arr = json::array({obj["spec"]["taint"]});
    json old_arr;
    if (old && old->contains("spec") && (*old)["spec"].is_object() &&
        (*old)["spec"].contains("taint")) {
      old_arr = json::array({(*old)["spec"]["taint"]});
    }
    WalkTaints(arr, old_arr.is_null() ? nullptr : &old_arr, now);
    obj["spec"]["taint"] = arr[0];
  }
}

std::optional<ApiError> AdminAccessCheck(const ResourceInfo& info, const json& obj,
                                         const json* ns_obj, std::vector<std::string>* warnings) {
  json::json_pointer ptr;
  std::string prefix;
  if (info.resource == "resourceclaims") {
    ptr = json::json_pointer("/spec/devices/requests");
    prefix = "spec.devices.requests";
  } else if (info.resource == "resourceclaimtemplates") {
    ptr = json::json_pointer("/spec/spec/devices/requests");
    prefix = "spec.spec.devices.requests";
  } else {
    return std::nullopt;
  }
  if (!obj.contains(ptr) || !obj.at(ptr).is_array()) return std::nullopt;
  json labels = json::object();
  std::string ns_name;
  if (ns_obj != nullptr) {
    ns_name = formats::StringOr(*ns_obj, "metadata.name");
    if ((*ns_obj)["metadata"].contains("labels")) labels = (*ns_obj)["metadata"]["labels"];
  }
  auto label_true = [&](const char* key) {
    return labels.is_object() && labels.contains(key) && labels[key] == "true";
  };
  std::vector<FieldCause> causes;
  const json& reqs = obj.at(ptr);
  for (size_t i = 0; i < reqs.size(); ++i) {
    const json& r = reqs[i];
    if (!r.is_object() || !r.contains("exactly") || !r["exactly"].is_object()) continue;
    const json& ex = r["exactly"];
    if (!(ex.contains("adminAccess") && ex["adminAccess"] == true)) continue;
    if (label_true(kAdminLabel)) continue;
    if (label_true(kOldAdminLabel)) {
      warnings->push_back("namespace \"" + ns_name + "\" grants admin access with the label " +
                          kOldAdminLabel + "; Kubernetes 1.34+ checks " + kAdminLabel +
                          ": \"true\"");
      continue;
    }
    std::string field = prefix + "[" + std::to_string(i) + "].exactly.adminAccess";
    causes.push_back({"FieldValueForbidden", field,
                      std::string("Forbidden: admin access to devices requires the `") +
                          kAdminLabel + ": true` label on the containing namespace"});
  }
  if (causes.empty()) return std::nullopt;
  return Invalid(info, formats::StringOr(obj, "metadata.name"), causes);
}

// Desired(): the object a write through the main endpoint or /status should
// produce, given the current one and the client's full object.
json Desired(const ResourceInfo& info, const std::string& sub, const json& current, json incoming) {
  if (sub == "status") {
    // /status changes status only; spec and metadata stay (metadata except
    // the resourceVersion/uid the client sent as preconditions).
    json d = current;
    if (incoming.contains("status")) {
      d["status"] = incoming["status"];
    } else {
      d.erase("status");
    }
    if (d["status"].is_null()) d.erase("status");
    d["metadata"]["resourceVersion"] = formats::StringOr(incoming, "metadata.resourceVersion");
    d["metadata"]["uid"] = formats::StringOr(incoming, "metadata.uid");
    return d;
  }
  if (info.has_status) {
    // The main endpoint ignores status changes.
    if (current.contains("status")) {
      incoming["status"] = current["status"];
    } else {
      incoming.erase("status");
    }
  }
  return incoming;
}

}  // namespace drahil::apiserver::internal
