// CDI spec decoding and validation. Decoding goes through nlohmann::json for
// both formats: YAML is first converted to a JSON value with the scalar typing
// the Go runtime's YAML reader (YAML 1.1) applies, so a spec means the same
// thing here as in containerd/CRI-O (drahil/formats/yaml_json.hpp).
#include "drahil/cdi/spec.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "drahil/core/file_util.hpp"
#include "drahil/formats/json_fields.hpp"
#include "drahil/formats/yaml_json.hpp"

namespace drahil::cdi {
namespace {

using Json = nlohmann::json;

// Raised inside this file only; converted to a Status at the API boundary.
struct SpecFailure {
  std::string path;
  std::string rule;
  std::string detail;
};

[[noreturn]] void Fail(std::string path, std::string rule, std::string detail) {
  throw SpecFailure{std::move(path), std::move(rule), std::move(detail)};
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 200)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      static const char* kHex = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  if (s.size() > 200) out += "...";
  return out + "\"";
}

// YAML goes through drahil::formats::YamlConverter: go-yaml v2 typing, which
// sigs.k8s.io/yaml uses under the runtime's CDI parser. A spec is small, so
// its limits are tighter than the converter's defaults.
formats::YamlLimits SpecYamlLimits() {
  formats::YamlLimits l;
  l.max_depth = 64;
  l.max_nodes = 200000;
  l.max_bytes = size_t{32} << 20;
  return l;
}

// Utf8Error(): offset of the first byte that breaks UTF-8, or npos. The Go
// YAML reader refuses such input, and JSON output could not carry it.
size_t Utf8Error(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xe  ? 3
                 : (c >> 3) == 0x1e ? 4
                                    : 0;
    if (len == 0 || i + len > s.size() || (len == 2 && c < 0xc2)) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return i;
    }
    if (len == 3) {
      unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
      if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0)) return i;  // overlong, surrogate
    }
    if (len == 4) {
      unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
      if ((c == 0xf0 && c1 < 0x90) || c > 0xf4 || (c == 0xf4 && c1 >= 0x90)) return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

// ---------------------------------------------------------------------------
// Strict decoding: every object may hold only the listed keys.

using formats::TypeName;

void CheckKeys(const Json& obj, const std::string& path,
               std::initializer_list<const char*> allowed) {
  if (!obj.is_object()) Fail(path, "type", std::string("must be an object, got ") + TypeName(obj));
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string& key = it.key();
    bool known =
        std::any_of(allowed.begin(), allowed.end(), [&](const char* k) { return key == k; });
    if (!known) {
      std::string list;
      for (const char* k : allowed) list += (list.empty() ? "" : ", ") + std::string(k);
      Fail(path + "." + key, "unknown-field",
           "unknown field " + Quote(key) + " (allowed: " + list + ")");
    }
  }
}

// Present(): the key exists and is not null (null means "absent", as in Go).
const Json* Present(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string GetString(const Json& obj, const std::string& path, const char* key, bool required) {
  const Json* v = Present(obj, key);
  std::string p = path + "." + key;
  if (v == nullptr) {
    if (required) Fail(p, "required", std::string("field ") + key + " is required");
    return "";
  }
  if (!v->is_string()) {
    std::string hint = v->is_boolean() ? " (an unquoted y/n/yes/no/on/off/true/false in YAML is a "
                                         "boolean; quote it)"
                                       : "";
    Fail(p, "type", std::string("must be a string, got ") + TypeName(*v) + hint);
  }
  std::string s = v->get<std::string>();
  if (required && s.empty())
    Fail(p, "required", std::string("field ") + key + " must not be empty");
  return s;
}

template <typename T>
T ToInt(const Json& v, const std::string& p) {
  if (!v.is_number_integer())
    Fail(p, "type", std::string("must be an integer, got ") + TypeName(v));
  if (v.is_number_unsigned()) {
    auto u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
      Fail(p, "integer-range", std::to_string(u) + " does not fit the field's type");
    }
    return static_cast<T>(u);
  }
  auto s = v.get<int64_t>();
  if (s < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
      (s > 0 && static_cast<uint64_t>(s) > static_cast<uint64_t>(std::numeric_limits<T>::max()))) {
    Fail(p, "integer-range", std::to_string(s) + " does not fit the field's type");
  }
  return static_cast<T>(s);
}

template <typename T>
std::optional<T> GetInt(const Json& obj, const std::string& path, const char* key) {
  const Json* v = Present(obj, key);
  if (v == nullptr) return std::nullopt;
  return ToInt<T>(*v, path + "." + key);
}

std::vector<std::string> GetStringList(const Json& obj, const std::string& path, const char* key) {
  std::vector<std::string> out;
  const Json* v = Present(obj, key);
  if (v == nullptr) return out;
  std::string p = path + "." + key;
  if (!v->is_array()) Fail(p, "type", std::string("must be an array, got ") + TypeName(*v));
  for (size_t i = 0; i < v->size(); ++i) {
    const Json& e = (*v)[i];
    if (!e.is_string()) {
      Fail(p + "[" + std::to_string(i) + "]", "type",
           std::string("must be a string, got ") + TypeName(e));
    }
    out.push_back(e.get<std::string>());
  }
  return out;
}

const Json* GetArray(const Json& obj, const std::string& path, const char* key) {
  const Json* v = Present(obj, key);
  if (v != nullptr && !v->is_array()) {
    Fail(path + "." + key, "type", std::string("must be an array, got ") + TypeName(*v));
  }
  return v;
}

std::map<std::string, std::string> GetAnnotations(const Json& obj, const std::string& path) {
  std::map<std::string, std::string> out;
  const Json* v = Present(obj, "annotations");
  if (v == nullptr) return out;
  std::string p = path + ".annotations";
  if (!v->is_object()) Fail(p, "type", std::string("must be an object, got ") + TypeName(*v));
  for (const auto& [k, val] : v->items()) {
    if (!val.is_string()) {
      Fail(p + "." + k, "type", std::string("must be a string, got ") + TypeName(val));
    }
    out[k] = val.get<std::string>();
  }
  return out;
}

ContainerEdits DecodeEdits(const Json& j, const std::string& path) {
  CheckKeys(j, path,
            {"env", "deviceNodes", "hooks", "mounts", "intelRdt", "additionalGids", "netDevices"});
  ContainerEdits e;
  e.env = GetStringList(j, path, "env");
  if (const Json* nodes = GetArray(j, path, "deviceNodes")) {
    for (size_t i = 0; i < nodes->size(); ++i) {
      std::string p = path + ".deviceNodes[" + std::to_string(i) + "]";
      const Json& n = (*nodes)[i];
      CheckKeys(
          n, p,
          {"path", "hostPath", "type", "major", "minor", "fileMode", "permissions", "uid", "gid"});
      DeviceNode d;
      d.path = GetString(n, p, "path", true);
      d.host_path = GetString(n, p, "hostPath", false);
      d.type = GetString(n, p, "type", false);
      d.major = GetInt<int64_t>(n, p, "major");
      d.minor = GetInt<int64_t>(n, p, "minor");
      d.file_mode = GetInt<uint32_t>(n, p, "fileMode");
      d.permissions = GetString(n, p, "permissions", false);
      d.uid = GetInt<uint32_t>(n, p, "uid");
      d.gid = GetInt<uint32_t>(n, p, "gid");
      e.device_nodes.push_back(std::move(d));
    }
  }
  if (const Json* hooks = GetArray(j, path, "hooks")) {
    for (size_t i = 0; i < hooks->size(); ++i) {
      std::string p = path + ".hooks[" + std::to_string(i) + "]";
      const Json& h = (*hooks)[i];
      CheckKeys(h, p, {"hookName", "path", "args", "env", "timeout"});
      Hook hook;
      hook.hook_name = GetString(h, p, "hookName", true);
      hook.path = GetString(h, p, "path", true);
      hook.args = GetStringList(h, p, "args");
      hook.env = GetStringList(h, p, "env");
      hook.timeout = GetInt<int64_t>(h, p, "timeout");
      e.hooks.push_back(std::move(hook));
    }
  }
  if (const Json* mounts = GetArray(j, path, "mounts")) {
    for (size_t i = 0; i < mounts->size(); ++i) {
      std::string p = path + ".mounts[" + std::to_string(i) + "]";
      const Json& m = (*mounts)[i];
      CheckKeys(m, p, {"hostPath", "containerPath", "options", "type"});
      Mount mount;
      mount.host_path = GetString(m, p, "hostPath", true);
      mount.container_path = GetString(m, p, "containerPath", true);
      mount.options = GetStringList(m, p, "options");
      mount.type = GetString(m, p, "type", false);
      e.mounts.push_back(std::move(mount));
    }
  }
  if (const Json* rdt = Present(j, "intelRdt")) {
    std::string p = path + ".intelRdt";
    CheckKeys(*rdt, p, {"closID", "l3CacheSchema", "memBwSchema", "schemata", "enableMonitoring"});
    IntelRdt r;
    r.clos_id = GetString(*rdt, p, "closID", false);
    r.l3_cache_schema = GetString(*rdt, p, "l3CacheSchema", false);
    r.mem_bw_schema = GetString(*rdt, p, "memBwSchema", false);
    r.has_schemata = Present(*rdt, "schemata") != nullptr;
    r.schemata = GetStringList(*rdt, p, "schemata");
    if (const Json* mon = Present(*rdt, "enableMonitoring")) {
      if (!mon->is_boolean()) {
        Fail(p + ".enableMonitoring", "type",
             std::string("must be a boolean, got ") + TypeName(*mon));
      }
      r.has_enable_monitoring = true;
      r.enable_monitoring = mon->get<bool>();
    }
    e.intel_rdt = std::move(r);
  }
  if (const Json* gids = GetArray(j, path, "additionalGids")) {
    for (size_t i = 0; i < gids->size(); ++i) {
      std::string p = path + ".additionalGids[" + std::to_string(i) + "]";
      e.additional_gids.push_back(ToInt<uint32_t>((*gids)[i], p));
    }
  }
  if (const Json* nets = GetArray(j, path, "netDevices")) {
    for (size_t i = 0; i < nets->size(); ++i) {
      std::string p = path + ".netDevices[" + std::to_string(i) + "]";
      const Json& n = (*nets)[i];
      CheckKeys(n, p, {"hostInterfaceName", "name"});
      NetDevice nd;
      nd.host_interface_name = GetString(n, p, "hostInterfaceName", true);
      nd.name = GetString(n, p, "name", true);
      e.net_devices.push_back(std::move(nd));
    }
  }
  return e;
}

Spec DecodeSpec(const Json& root) {
  CheckKeys(root, "$", {"cdiVersion", "kind", "annotations", "devices", "containerEdits"});
  Spec spec;
  spec.cdi_version = GetString(root, "$", "cdiVersion", true);
  spec.kind = GetString(root, "$", "kind", true);
  spec.annotations = GetAnnotations(root, "$");
  const Json* devices = GetArray(root, "$", "devices");
  if (devices == nullptr) Fail("$.devices", "required", "field devices is required");
  for (size_t i = 0; i < devices->size(); ++i) {
    std::string p = "$.devices[" + std::to_string(i) + "]";
    const Json& d = (*devices)[i];
    CheckKeys(d, p, {"name", "annotations", "containerEdits"});
    Device dev;
    dev.name = GetString(d, p, "name", true);
    dev.annotations = GetAnnotations(d, p);
    if (const Json* e = Present(d, "containerEdits"))
      dev.edits = DecodeEdits(*e, p + ".containerEdits");
    spec.devices.push_back(std::move(dev));
  }
  if (const Json* e = Present(root, "containerEdits"))
    spec.edits = DecodeEdits(*e, "$.containerEdits");
  return spec;
}

// ---------------------------------------------------------------------------
// Validation (the Go library's rules; docs/reference/protocol.md 5.2-5.3).

bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsLetter(c) || IsDigit(c); }

// ValidateQualifierPart(): vendor and class share one rule set.
std::string CheckQualifierPart(std::string_view what, std::string_view s, size_t max_len) {
  if (s.empty()) return std::string(what) + " is empty";
  if (s.size() > max_len) {
    return std::string(what) + " " + Quote(s) + " is longer than " + std::to_string(max_len) +
           " characters";
  }
  if (!IsLetter(s.front())) return std::string(what) + " " + Quote(s) + " must start with a letter";
  if (!IsAlnum(s.back()))
    return std::string(what) + " " + Quote(s) + " must end with a letter or digit";
  for (char c : s.substr(1, s.size() - 1)) {
    if (!IsAlnum(c) && c != '_' && c != '.' && c != '-') {
      return std::string(what) + " " + Quote(s) + " contains invalid character " +
             Quote(std::string(1, c));
    }
  }
  return "";
}

std::string CheckDeviceName(std::string_view s) {
  if (s.empty()) return "device name is empty";
  if (!IsAlnum(s.front())) return "device name " + Quote(s) + " must start with a letter or digit";
  if (!IsAlnum(s.back())) return "device name " + Quote(s) + " must end with a letter or digit";
  for (char c : s) {
    if (!IsAlnum(c) && c != '_' && c != '.' && c != ':' && c != '-') {
      return "device name " + Quote(s) + " contains invalid character " + Quote(std::string(1, c));
    }
  }
  return "";
}

// Annotation keys follow Kubernetes' qualified-name rule: [prefix/]name with
// a DNS-subdomain prefix and a name of at most 63 characters.
std::string CheckAnnotationKey(const std::string& key) {
  std::string_view name = key;
  auto slash = key.find('/');
  if (slash != std::string::npos) {
    std::string_view prefix = std::string_view(key).substr(0, slash);
    name = std::string_view(key).substr(slash + 1);
    if (prefix.empty() || prefix.size() > 253)
      return "key prefix must be a DNS subdomain of 1-253 characters";
    for (char c : prefix) {
      if (!(c >= 'a' && c <= 'z') && !IsDigit(c) && c != '-' && c != '.') {
        return "key prefix must be a lower-case DNS subdomain";
      }
    }
    if (!IsAlnum(prefix.front()) || !IsAlnum(prefix.back()))
      return "key prefix must start and end alphanumeric";
  }
  if (name.empty() || name.size() > 63) return "key name must be 1-63 characters";
  if (!IsAlnum(name.front()) || !IsAlnum(name.back()))
    return "key name must start and end alphanumeric";
  for (char c : name) {
    if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') return "key name has an invalid character";
  }
  return "";
}

void CheckAnnotations(const std::map<std::string, std::string>& a, const std::string& path) {
  size_t total = 0;
  for (const auto& [k, v] : a) {
    total += k.size() + v.size();
    std::string err = CheckAnnotationKey(k);
    if (!err.empty()) Fail(path + ".annotations." + k, "annotation", Quote(k) + ": " + err);
  }
  if (total > 256 * 1024)
    Fail(path + ".annotations", "annotation", "annotations exceed 256 KiB in total");
}

void CheckEnv(const std::vector<std::string>& env, const std::string& path) {
  for (size_t i = 0; i < env.size(); ++i) {
    auto eq = env[i].find('=');
    if (eq == std::string::npos || eq == 0) {
      Fail(path + "[" + std::to_string(i) + "]", "env-format",
           Quote(env[i]) + " is not NAME=VALUE");
    }
  }
}

bool IsAbsolute(const std::string& p) { return !p.empty() && p[0] == '/'; }

void ValidateEdits(const ContainerEdits& e, const std::string& path) {
  CheckEnv(e.env, path + ".env");
  for (size_t i = 0; i < e.device_nodes.size(); ++i) {
    const DeviceNode& d = e.device_nodes[i];
    std::string p = path + ".deviceNodes[" + std::to_string(i) + "]";
    if (d.path.empty()) Fail(p + ".path", "required", "device node path is empty");
    if (!IsAbsolute(d.path))
      Fail(p + ".path", "node-path", "device path " + Quote(d.path) + " is not absolute");
    static const std::set<std::string> kTypes = {"", "b", "c", "u", "p"};
    if (!kTypes.count(d.type)) {
      Fail(p + ".type", "node-type",
           "device " + Quote(d.path) + ": invalid type " + Quote(d.type) +
               " (allowed: b, c, u, p or empty)");
    }
    if (d.permissions != "none") {
      for (char c : d.permissions) {
        if (c != 'r' && c != 'w' && c != 'm') {
          Fail(p + ".permissions", "node-permissions",
               "device " + Quote(d.path) + ": invalid permissions " + Quote(d.permissions) +
                   " (letters r, w, m, or \"none\")");
        }
      }
    }
    if ((d.major && *d.major < 0) || (d.minor && *d.minor < 0)) {
      Fail(p, "node-major-minor", "device " + Quote(d.path) + ": major/minor must not be negative");
    }
  }
  for (size_t i = 0; i < e.mounts.size(); ++i) {
    const Mount& m = e.mounts[i];
    std::string p = path + ".mounts[" + std::to_string(i) + "]";
    if (m.host_path.empty()) Fail(p + ".hostPath", "required", "mount hostPath is empty");
    if (m.container_path.empty())
      Fail(p + ".containerPath", "required", "mount containerPath is empty");
    if (!IsAbsolute(m.container_path)) {
      Fail(p + ".containerPath", "mount-path",
           "containerPath " + Quote(m.container_path) + " is not absolute");
    }
  }
  static const std::set<std::string> kHooks = {"prestart",       "createRuntime", "createContainer",
                                               "startContainer", "poststart",     "poststop"};
  for (size_t i = 0; i < e.hooks.size(); ++i) {
    const Hook& h = e.hooks[i];
    std::string p = path + ".hooks[" + std::to_string(i) + "]";
    if (!kHooks.count(h.hook_name)) {
      Fail(p + ".hookName", "hook-name",
           "invalid hook name " + Quote(h.hook_name) +
               " (allowed: prestart, createRuntime, createContainer, startContainer, poststart, "
               "poststop)");
    }
    if (!IsAbsolute(h.path))
      Fail(p + ".path", "hook-path", "hook path " + Quote(h.path) + " is not absolute");
    CheckEnv(h.env, p + ".env");
    if (h.timeout && *h.timeout <= 0) {
      Fail(p + ".timeout", "hook-timeout",
           "timeout must be > 0, got " + std::to_string(*h.timeout));
    }
  }
  if (e.intel_rdt) {
    const std::string& c = e.intel_rdt->clos_id;
    std::string p = path + ".intelRdt.closID";
    if (c.size() >= 4096) Fail(p, "intel-rdt-closid", "closID must be under 4096 characters");
    if (c == "." || c == "..") Fail(p, "intel-rdt-closid", "closID must not be \".\" or \"..\"");
    if (c.find('/') != std::string::npos || c.find('\n') != std::string::npos) {
      Fail(p, "intel-rdt-closid", "closID " + Quote(c) + " must not contain '/' or a newline");
    }
  }
  std::set<std::string> host_names, names;
  for (size_t i = 0; i < e.net_devices.size(); ++i) {
    const NetDevice& n = e.net_devices[i];
    std::string p = path + ".netDevices[" + std::to_string(i) + "]";
    if (n.host_interface_name.empty())
      Fail(p + ".hostInterfaceName", "required", "hostInterfaceName is empty");
    if (n.name.empty()) Fail(p + ".name", "required", "name is empty");
    if (!host_names.insert(n.host_interface_name).second) {
      Fail(p + ".hostInterfaceName", "net-device-duplicate",
           "host interface " + Quote(n.host_interface_name) + " is listed twice");
    }
    if (!names.insert(n.name).second) {
      Fail(p + ".name", "net-device-duplicate",
           "container interface " + Quote(n.name) + " is listed twice");
    }
  }
}

struct VersionNeed {
  std::string version = "0.3.0";
  std::string path;
  std::string feature;
};

void Need(VersionNeed& need, const char* version, std::string path, std::string feature) {
  if (CompareVersions(version, need.version) > 0)
    need = {version, std::move(path), std::move(feature)};
}

void EditsNeed(VersionNeed& need, const ContainerEdits& e, const std::string& path) {
  for (size_t i = 0; i < e.mounts.size(); ++i) {
    if (!e.mounts[i].type.empty()) {
      Need(need, "0.4.0", path + ".mounts[" + std::to_string(i) + "].type", "mount type");
    }
  }
  for (size_t i = 0; i < e.device_nodes.size(); ++i) {
    if (!e.device_nodes[i].host_path.empty()) {
      Need(need, "0.5.0", path + ".deviceNodes[" + std::to_string(i) + "].hostPath",
           "device node hostPath");
    }
  }
  if (e.intel_rdt) {
    Need(need, "0.7.0", path + ".intelRdt", "intelRdt");
    if (e.intel_rdt->has_schemata)
      Need(need, "1.1.0", path + ".intelRdt.schemata", "intelRdt.schemata");
    if (e.intel_rdt->has_enable_monitoring) {
      Need(need, "1.1.0", path + ".intelRdt.enableMonitoring", "intelRdt.enableMonitoring");
    }
  }
  if (!e.additional_gids.empty()) Need(need, "0.7.0", path + ".additionalGids", "additionalGids");
  if (!e.net_devices.empty()) Need(need, "1.1.0", path + ".netDevices", "netDevices");
}

VersionNeed ComputeNeed(const Spec& spec) {
  VersionNeed need;
  if (!spec.annotations.empty()) Need(need, "0.6.0", "$.annotations", "spec annotations");
  auto slash = spec.kind.find('/');
  if (slash != std::string::npos && spec.kind.find('.', slash + 1) != std::string::npos) {
    Need(need, "0.6.0", "$.kind", "a '.' in the class part of kind");
  }
  EditsNeed(need, spec.edits, "$.containerEdits");
  for (size_t i = 0; i < spec.devices.size(); ++i) {
    const Device& d = spec.devices[i];
    std::string p = "$.devices[" + std::to_string(i) + "]";
    if (!d.name.empty() && IsDigit(d.name[0]))
      Need(need, "0.5.0", p + ".name", "a device name starting with a digit");
    if (!d.annotations.empty()) Need(need, "0.6.0", p + ".annotations", "device annotations");
    EditsNeed(need, d.edits, p + ".containerEdits");
  }
  return need;
}

void ValidateOrThrow(const Spec& spec) {
  bool known = std::any_of(std::begin(kKnownVersions), std::end(kKnownVersions),
                           [&](const char* v) { return spec.cdi_version == v; });
  if (!known) {
    Fail("$.cdiVersion", "version-known",
         "unsupported cdiVersion " + Quote(spec.cdi_version) + " (supported: 0.3.0 to 1.1.0)");
  }
  auto slash = spec.kind.find('/');
  if (slash == std::string::npos) {
    Fail("$.kind", "kind", "kind " + Quote(spec.kind) + " is not <vendor>/<class>");
  }
  std::string err = CheckQualifierPart("vendor", std::string_view(spec.kind).substr(0, slash), 253);
  if (err.empty())
    err = CheckQualifierPart("class", std::string_view(spec.kind).substr(slash + 1), 63);
  if (!err.empty()) Fail("$.kind", "kind", "kind " + Quote(spec.kind) + ": " + err);
  CheckAnnotations(spec.annotations, "$");
  VersionNeed need = ComputeNeed(spec);
  if (CompareVersions(spec.cdi_version, need.version) < 0) {
    Fail(need.path, "version-minimum",
         need.feature + " needs cdiVersion " + need.version + " or later, spec declares " +
             spec.cdi_version);
  }
  ValidateEdits(spec.edits, "$.containerEdits");
  if (spec.devices.empty())
    Fail("$.devices", "no-devices", "a spec must define at least one device");
  std::set<std::string> names;
  for (size_t i = 0; i < spec.devices.size(); ++i) {
    const Device& d = spec.devices[i];
    std::string p = "$.devices[" + std::to_string(i) + "]";
    std::string name_err = CheckDeviceName(d.name);
    if (!name_err.empty()) Fail(p + ".name", "device-name", name_err);
    if (!names.insert(d.name).second)
      Fail(p + ".name", "unique-name", "device name " + Quote(d.name) + " is used twice");
    CheckAnnotations(d.annotations, p);
    if (d.edits.Empty())
      Fail(p + ".containerEdits", "empty-edits",
           "device " + Quote(d.name) + " has no container edits");
    ValidateEdits(d.edits, p + ".containerEdits");
  }
}

Status ToStatus(const SpecFailure& f, std::string_view source) {
  std::string msg;
  if (!source.empty()) msg = std::string(source) + ": ";
  msg += f.path + ": [" + f.rule + "] " + f.detail;
  return InvalidArgumentError(std::move(msg));
}

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

std::string DeviceNode::EffectivePermissions() const {
  if (permissions.empty()) return "rwm";
  if (permissions == "none") return "";
  return permissions;
}

bool ContainerEdits::Empty() const {
  return env.empty() && device_nodes.empty() && hooks.empty() && mounts.empty() && !intel_rdt &&
         additional_gids.empty() && net_devices.empty();
}

void ContainerEdits::Append(const ContainerEdits& o) {
  env.insert(env.end(), o.env.begin(), o.env.end());
  device_nodes.insert(device_nodes.end(), o.device_nodes.begin(), o.device_nodes.end());
  hooks.insert(hooks.end(), o.hooks.begin(), o.hooks.end());
  mounts.insert(mounts.end(), o.mounts.begin(), o.mounts.end());
  if (o.intel_rdt) intel_rdt = o.intel_rdt;
  additional_gids.insert(additional_gids.end(), o.additional_gids.begin(), o.additional_gids.end());
  net_devices.insert(net_devices.end(), o.net_devices.begin(), o.net_devices.end());
}

std::string Spec::Vendor() const {
  auto slash = kind.find('/');
  return slash == std::string::npos ? kind : kind.substr(0, slash);
}

std::string Spec::Class() const {
  auto slash = kind.find('/');
  return slash == std::string::npos ? "" : kind.substr(slash + 1);
}

std::string Spec::QualifiedName(const std::string& device) const { return kind + "=" + device; }

int CompareVersions(std::string_view a, std::string_view b) {
  auto parts = [](std::string_view v) {
    std::vector<long> out;
    size_t start = 0;
    while (start <= v.size()) {
      size_t dot = v.find('.', start);
      std::string piece(
          v.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
      out.push_back(std::strtol(piece.c_str(), nullptr, 10));
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
    out.resize(3, 0);
    return out;
  };
  auto pa = parts(a), pb = parts(b);
  for (size_t i = 0; i < 3; ++i) {
    if (pa[i] != pb[i]) return pa[i] < pb[i] ? -1 : 1;
  }
  return 0;
}

Status ValidateVendorName(std::string_view vendor) {
  std::string err = CheckQualifierPart("vendor", vendor, 253);
  return err.empty() ? OkStatus() : InvalidArgumentError(err);
}

Status ValidateClassName(std::string_view class_name) {
  std::string err = CheckQualifierPart("class", class_name, 63);
  return err.empty() ? OkStatus() : InvalidArgumentError(err);
}

Status ValidateDeviceName(std::string_view name) {
  std::string err = CheckDeviceName(name);
  return err.empty() ? OkStatus() : InvalidArgumentError(err);
}

Result<QualifiedName> ParseQualifiedName(std::string_view id) {
  auto bad = [&](const std::string& why) {
    return InvalidArgumentError("CDI device ID " + Quote(id) +
                                " is not fully qualified (vendor/class=name): " + why);
  };
  if (!id.empty() && id[0] == '/') return bad("it starts with '/'");
  auto eq = id.find('=');
  if (eq == std::string_view::npos) return bad("no '='");
  if (id.find('=', eq + 1) != std::string_view::npos) return bad("more than one '='");
  std::string_view qualifier = id.substr(0, eq);
  std::string_view name = id.substr(eq + 1);
  auto slash = qualifier.find('/');
  if (slash == std::string_view::npos) return bad("no '/' between vendor and class");
  QualifiedName q{std::string(qualifier.substr(0, slash)), std::string(qualifier.substr(slash + 1)),
                  std::string(name)};
  std::string err = CheckQualifierPart("vendor", q.vendor, 253);
  if (err.empty()) err = CheckQualifierPart("class", q.class_name, 63);
  if (err.empty()) err = CheckDeviceName(q.name);
  if (!err.empty()) return bad(err);
  return q;
}

Result<Spec> ParseSpec(std::string_view text, std::string_view source, Format format) {
  if (format == Format::kAuto) {
    size_t i = 0;
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    format = (i < text.size() && text[i] == '{') ? Format::kJson : Format::kYaml;
  }
  try {
    Json root;
    if (format == Format::kJson) {
      try {
        root = Json::parse(text.begin(), text.end());
      } catch (const Json::parse_error& e) {
        Fail("$", "syntax", std::string("invalid JSON: ") + e.what());
      }
    } else {
      if (size_t bad = Utf8Error(text); bad != std::string_view::npos) {
        Fail("$", "syntax", "invalid UTF-8 at byte " + std::to_string(bad));
      }
      // The first document, as the Go reader takes it.
      auto docs = formats::ParseYamlStream(text, "");
      if (!docs.ok()) Fail("$", "syntax", "invalid YAML: " + docs.status().message());
      formats::YamlConverter converter{std::string(source), SpecYamlLimits()};
      if (!docs->empty()) {
        auto converted = converter.Convert(docs->front());
        if (!converted.ok()) Fail("$", "syntax", converter.error().message);
        root = std::move(*converted);
      }
    }
    if (!root.is_object())
      Fail("$", "type", std::string("a spec must be an object, got ") + TypeName(root));
    Spec spec = DecodeSpec(root);
    ValidateOrThrow(spec);
    return spec;
  } catch (const SpecFailure& f) {
    return ToStatus(f, source);
  } catch (const std::exception& e) {
    // Defensive: a library error must not escape (e.g. bad_alloc on huge input).
    return InvalidArgumentError(std::string(source) + ": $: [syntax] " + e.what());
  }
}

Result<Spec> LoadSpecFile(const std::string& path) {
  Format format;
  if (path.ends_with(".json")) {
    format = Format::kJson;
  } else if (path.ends_with(".yaml")) {
    format = Format::kYaml;
  } else {
    return InvalidArgumentError(path + ": [file-extension] CDI spec files end in .json or .yaml");
  }
  // A driver controls these files: a FIFO or device node named *.json must
  // not hang drahil (nor would it be readable by a runtime without hanging).
  auto read = ReadRegularFile(path, 8u << 20);
  if (!read.ok() && read.status().code() == Code::kFailedPrecondition) {
    std::string what = read.status().message();
    if (what.rfind(path, 0) == 0) what = what.substr(path.size() + 1);
    if (what.rfind("is ", 0) == 0) what = what.substr(3);
    return InvalidArgumentError(path + ": [file-type] " + what +
                                " (a container runtime reading it would block or fail on it)");
  }
  DRAHIL_ASSIGN_OR_RETURN(std::string text, std::move(read));
  // A .json file may still hold YAML in practice; the Go parser accepts that
  // too because it always goes through the YAML reader. Follow it.
  if (format == Format::kJson) format = Format::kAuto;
  DRAHIL_ASSIGN_OR_RETURN(Spec spec, ParseSpec(text, path, format));
  spec.path = path;
  return spec;
}

Status ValidateSpec(const Spec& spec) {
  try {
    ValidateOrThrow(spec);
    return OkStatus();
  } catch (const SpecFailure& f) {
    return ToStatus(f, spec.path);
  }
}

std::string MinimumVersion(const Spec& spec) { return ComputeNeed(spec).version; }

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
