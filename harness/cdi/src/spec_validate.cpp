// CDI spec validation: the Go library's rules for specs, names and versions
// (docs/reference/protocol.md 5.2-5.3).
#include <algorithm>
#include <iterator>
#include <set>
#include <string>

#include "drahil/cdi/spec.hpp"
#include "spec_internal.hpp"

namespace drahil::cdi {
namespace {

using internal::Fail;
using internal::Quote;
using internal::SpecFailure;
using internal::ToStatus;
using internal::ValidateOrThrow;

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

}  // namespace

namespace internal {

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

}  // namespace internal

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

Status ValidateSpec(const Spec& spec) {
  try {
    ValidateOrThrow(spec);
    return OkStatus();
  } catch (const SpecFailure& f) {
    return ToStatus(f, spec.path);
  }
}

std::string MinimumVersion(const Spec& spec) { return ComputeNeed(spec).version; }

}  // namespace drahil::cdi
