// Admission shared by the Handler and the in-process object API: type
// metadata, server-set taint times, the admin-access namespace label and
// what a write through the main endpoint or /status produces.
#include "admission.hpp"

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

}  // namespace

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
