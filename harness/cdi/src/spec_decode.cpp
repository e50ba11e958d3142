// CDI spec decoding. Decoding goes through nlohmann::json for both formats:
// YAML is first converted to a JSON value with the scalar typing the Go
// runtime's YAML reader (YAML 1.1) applies, so a spec means the same thing here
// as in containerd/CRI-O (drahil/formats/yaml_json.hpp).
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

#include "drahil/cdi/spec.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/formats/json_fields.hpp"
#include "drahil/formats/yaml_json.hpp"
#include "spec_internal.hpp"

namespace drahil::cdi {
namespace {

using Json = nlohmann::json;
using internal::Fail;
using internal::Quote;
using internal::SpecFailure;
using internal::ToStatus;
using internal::ValidateOrThrow;

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

}  // namespace

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

}  // namespace drahil::cdi
