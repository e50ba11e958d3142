#include "conversion.hpp"

#include <array>
#include <string_view>
#include <utility>

#include "resources.hpp"

namespace drahil::apiserver::internal {

using nlohmann::json;

namespace {

// events.k8s.io/v1 name, core/v1 name. The fields both share by name
// (eventTime, series, related, action, reason, type, reportingInstance) are
// not listed: they pass through as unknown fields do.
constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kEventRenames = {{
    {"regarding", "involvedObject"},
    {"note", "message"},
    {"deprecatedSource", "source"},
    {"deprecatedFirstTimestamp", "firstTimestamp"},
    {"deprecatedLastTimestamp", "lastTimestamp"},
    {"deprecatedCount", "count"},
    {"reportingController", "reportingComponent"},
}};

// Fields that events.k8s.io/v1 marks omitempty: a zero value read from a
// core object is not shown (Go's encoder leaves it out).
bool OmittedInEventsV1(std::string_view key, const json& v) {
  if (v.is_string() && v.get_ref<const std::string&>().empty()) {
    return key == "reportingController" || key == "reportingInstance" || key == "action" ||
           key == "reason" || key == "note" || key == "type";
  }
  if (v.is_number_integer() && v.get<int64_t>() == 0) return key == "deprecatedCount";
  return false;
}

// Rename(): a copy of in with each top-level key renamed by the table (from
// = first or second element); nulls are dropped (a zero Time or MicroTime
// is null in JSON and absent in the internal object).
json Rename(const json& in, bool to_core, const char* api_version) {
  json out = json::object();
  for (const auto& [key, value] : in.items()) {
    if (value.is_null()) continue;
    std::string name = key;
    for (const auto& [ev, core] : kEventRenames) {
      if (key == (to_core ? ev : core)) {
        name = std::string(to_core ? core : ev);
        break;
      }
    }
    if (!to_core && OmittedInEventsV1(name, value)) continue;
    out[name] = value;
  }
  out["apiVersion"] = api_version;
  out["kind"] = "Event";
  return out;
}

json EventToCore(const json& served, const ResourceInfo& /*info*/) {
  if (!served.is_object()) return served;
  return Rename(served, /*to_core=*/true, "v1");
}

json EventFromCore(const json& stored, const ResourceInfo& /*info*/) {
  if (!stored.is_object()) return stored;
  return Rename(stored, /*to_core=*/false, "events.k8s.io/v1");
}

json WithApiVersion(const json& obj, const std::string& api_version) {
  if (!obj.is_object()) return obj;
  json out = obj;
  out["apiVersion"] = api_version;
  return out;
}

json VersionToStorage(const json& served, const ResourceInfo& info) {
  return WithApiVersion(served, info.group + "/" + info.storage_version);
}

json VersionFromStorage(const json& stored, const ResourceInfo& info) {
  return WithApiVersion(stored, info.GroupVersion());
}

}  // namespace

const Conversion& VersionOnlyConversion() {
  static const Conversion kConversion{&VersionToStorage, &VersionFromStorage};
  return kConversion;
}

const Conversion& EventsV1Conversion() {
  static const Conversion kConversion{&EventToCore, &EventFromCore};
  return kConversion;
}

}  // namespace drahil::apiserver::internal
