// CDI spec output: a Spec as the JSON a runtime reads, and spec files.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "drahil/cdi/spec.hpp"
#include "drahil/core/file_util.hpp"
#include "spec_internal.hpp"

namespace drahil::cdi {
namespace {

using Json = nlohmann::json;
using internal::Quote;

Json DeviceNodeToJson(const DeviceNode& d) {
  Json n = {{"path", d.path}};
  if (!d.host_path.empty()) n["hostPath"] = d.host_path;
  if (!d.type.empty()) n["type"] = d.type;
  if (d.major) n["major"] = *d.major;
  if (d.minor) n["minor"] = *d.minor;
  if (d.file_mode) n["fileMode"] = *d.file_mode;
  if (!d.permissions.empty()) n["permissions"] = d.permissions;
  if (d.uid) n["uid"] = *d.uid;
  if (d.gid) n["gid"] = *d.gid;
  return n;
}

Json HookToJson(const Hook& h) {
  Json o = {{"hookName", h.hook_name}, {"path", h.path}};
  if (!h.args.empty()) o["args"] = h.args;
  if (!h.env.empty()) o["env"] = h.env;
  if (h.timeout) o["timeout"] = *h.timeout;
  return o;
}

Json MountToJson(const Mount& m) {
  Json o = {{"hostPath", m.host_path}, {"containerPath", m.container_path}};
  if (!m.options.empty()) o["options"] = m.options;
  if (!m.type.empty()) o["type"] = m.type;
  return o;
}

Json IntelRdtToJson(const IntelRdt& r) {
  Json o = Json::object();
  if (!r.clos_id.empty()) o["closID"] = r.clos_id;
  if (!r.l3_cache_schema.empty()) o["l3CacheSchema"] = r.l3_cache_schema;
  if (!r.mem_bw_schema.empty()) o["memBwSchema"] = r.mem_bw_schema;
  if (r.has_schemata) o["schemata"] = r.schemata;
  if (r.has_enable_monitoring) o["enableMonitoring"] = r.enable_monitoring;
  return o;
}

Json NetDeviceToJson(const NetDevice& n) {
  return {{"hostInterfaceName", n.host_interface_name}, {"name", n.name}};
}

template <typename T>
Json ArrayToJson(const std::vector<T>& items, Json (*to_json)(const T&)) {
  Json arr = Json::array();
  for (const auto& item : items) arr.push_back(to_json(item));
  return arr;
}

// EditsToJson(): the spec's form of the edits; empty fields are left out.
Json EditsToJson(const ContainerEdits& e) {
  Json j = Json::object();
  if (!e.env.empty()) j["env"] = e.env;
  if (!e.device_nodes.empty()) j["deviceNodes"] = ArrayToJson(e.device_nodes, DeviceNodeToJson);
  if (!e.hooks.empty()) j["hooks"] = ArrayToJson(e.hooks, HookToJson);
  if (!e.mounts.empty()) j["mounts"] = ArrayToJson(e.mounts, MountToJson);
  if (e.intel_rdt) j["intelRdt"] = IntelRdtToJson(*e.intel_rdt);
  if (!e.additional_gids.empty()) j["additionalGids"] = e.additional_gids;
  if (!e.net_devices.empty()) j["netDevices"] = ArrayToJson(e.net_devices, NetDeviceToJson);
  return j;
}

}  // namespace

std::string ToJson(const Spec& spec) {
  Json j = Json::object();
  j["cdiVersion"] = spec.cdi_version.empty() ? MinimumVersion(spec) : spec.cdi_version;
  j["kind"] = spec.kind;
  if (!spec.annotations.empty()) j["annotations"] = spec.annotations;
  Json devices = Json::array();
  for (const auto& d : spec.devices) {
    Json o = {{"name", d.name}};
    if (!d.annotations.empty()) o["annotations"] = d.annotations;
    o["containerEdits"] = EditsToJson(d.edits);
    devices.push_back(std::move(o));
  }
  j["devices"] = std::move(devices);
  if (!spec.edits.Empty()) j["containerEdits"] = EditsToJson(spec.edits);
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

Result<std::string> WriteSpecFile(const Spec& spec, const std::string& dir,
                                  const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name[0] == '.') {
    return InvalidArgumentError("CDI spec file name " + Quote(name) + " must be a plain file name");
  }
  Spec copy = spec;
  if (copy.cdi_version.empty()) copy.cdi_version = MinimumVersion(copy);
  copy.path = dir + "/" + name;
  DRAHIL_RETURN_IF_ERROR(ValidateSpec(copy));
  std::string file = name;
  if (!file.ends_with(".json") && !file.ends_with(".yaml")) file += ".json";
  DRAHIL_RETURN_IF_ERROR(MakeDirs(dir));
  std::string path = dir + "/" + file;
  DRAHIL_RETURN_IF_ERROR_CTX(AtomicWriteFile(path, ToJson(copy)), "write CDI spec");
  return path;
}

}  // namespace drahil::cdi
