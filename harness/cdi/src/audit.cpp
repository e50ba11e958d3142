#include "drahil/cdi/audit.hpp"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <set>

#include "drahil/core/strings.hpp"

namespace drahil::cdi {
namespace {

// Lexical normalisation: collapses "//" and "/./"; keeps ".." (reported).
std::string Clean(const std::string& p) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    std::string part = p.substr(i, j - i);
    if (part == "..") {
      if (!parts.empty() && parts.back() != "..") parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out;
  for (const auto& part : parts) out += "/" + part;
  return out.empty() ? "/" : out;
}

bool HasDotDot(const std::string& p) {
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    if (p.compare(i, j - i, "..") == 0 && j - i == 2) return true;
    i = j + 1;
  }
  return false;
}

// Under(p, dir): p equals dir or lies below it (both cleaned).
bool Under(const std::string& p, const std::string& dir) {
  if (dir == "/") return true;
  return p == dir ||
         (p.size() > dir.size() && p.compare(0, dir.size(), dir) == 0 && p[dir.size()] == '/');
}

std::string Basename(const std::string& p) {
  auto s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

// SensitiveHostPath(): why a host path must never reach a container, or "".
std::string SensitiveHostPath(const std::string& raw) {
  std::string p = Clean(raw);
  if (p == "/") return "the host's root filesystem";
  static const std::vector<std::pair<std::string, std::string>> kDirs = {
      {"/etc", "host configuration (credentials, kubelet and runtime config)"},
      {"/proc", "host process information and kernel knobs"},
      {"/sys", "host kernel and device control files"},
      {"/boot", "host kernel images and boot config"},
      {"/root", "the host root user's home"},
      {"/var/lib/kubelet",
       "the kubelet's state: pod volumes, secrets, plugin sockets, checkpoints"},
      {"/var/lib/containerd", "the container runtime's state"},
      {"/var/lib/docker", "the container runtime's state"},
      {"/run/containerd", "the container runtime's control socket and state"},
      {"/var/run/containerd", "the container runtime's control socket and state"},
      {"/run/crio", "the container runtime's control socket"},
      {"/var/run/crio", "the container runtime's control socket"},
      {"/etc/kubernetes", "cluster credentials"},
      {"/var/lib/etcd", "cluster state"},
      {"/run/cdi", "the CDI spec dir: a container could rewrite other containers' device grants"},
      {"/var/run/cdi",
       "the CDI spec dir: a container could rewrite other containers' device grants"},
      {"/etc/cdi", "the CDI spec dir: a container could rewrite other containers' device grants"},
  };
  for (const auto& [dir, why] : kDirs) {
    if (Under(p, dir)) return why;
  }
  if ((Under(p, "/run") || Under(p, "/var/run")) && p.size() > 5 && p.ends_with(".sock")) {
    return "a host control socket";
  }
  if (p == "/run" || p == "/var/run" || p == "/var" || p == "/var/lib" || p == "/usr" ||
      p == "/home") {
    return "a whole top-level host directory";
  }
  return "";
}

// RawHostDevice(): host nodes that give access to memory, disks or the kernel.
std::string RawHostDevice(const std::string& raw) {
  std::string p = Clean(raw);
  static const std::set<std::string> kExact = {
      "/dev/mem",       "/dev/kmem",           "/dev/port", "/dev/kmsg",
      "/dev/cpu",       "/dev/mapper/control", "/dev/fuse", "/dev/kvm",
      "/dev/vhost-net", "/dev/loop-control"};
  if (kExact.count(p)) return "gives access to host memory, I/O ports or kernel facilities";
  std::string base = Basename(p);
  for (const char* prefix :
       {"sd", "hd", "vd", "xvd", "nvme", "dm-", "md", "loop", "mmcblk", "sg"}) {
    std::string pre(prefix);
    if (Under(p, "/dev") && base.size() > pre.size() && base.compare(0, pre.size(), pre) == 0 &&
        std::isdigit(static_cast<unsigned char>(base[pre.size()])) != 0) {
      return "is a host disk or block device";
    }
    if (Under(p, "/dev") && base.size() > pre.size() && base.compare(0, pre.size(), pre) == 0 &&
        (pre == "sd" || pre == "hd" || pre == "vd" || pre == "xvd") &&
        base.size() <= pre.size() + 2) {
      return "is a host disk or block device";
    }
  }
  return "";
}

struct Ctx {
  const AuditOptions& opts;
  std::vector<Finding>& out;
  std::string device;
  std::string file;
  std::string path;  // JSON path of the edits block

  void Add(Severity sev, std::string rule, std::string sub, std::string what,
           std::string why) const {
    out.push_back(
        Finding{sev, std::move(rule), device, file, path + sub, std::move(what), std::move(why)});
  }
};

bool InDeviceRoot(const std::string& host, const AuditOptions& o) {
  std::string p = Clean(host);
  if (Under(p, "/dev")) return true;
  for (const auto& r : o.device_roots) {
    if (!r.empty() && Under(p, Clean(r))) return true;
  }
  return false;
}

// IsDeviceDir(): p is /dev itself or a device root itself (or above one).
bool IsDeviceDir(const std::string& host, const AuditOptions& o) {
  std::string p = Clean(host);
  if (p == "/dev" || p == "/dev/dri" || p == "/dev/nvidia-caps" || p == "/dev/vfio" ||
      p == "/dev/dfl") {
    return true;
  }
  for (const auto& r : o.device_roots) {
    if (!r.empty() && Under(Clean(r), p)) return true;  // the root, or an ancestor of it
  }
  return false;
}

// ListText(): ["a", "b"], for findings.
std::string ListText(const std::vector<std::string>& v) {
  std::vector<std::string> quoted;
  for (const auto& s : v) quoted.push_back("\"" + s + "\"");
  return "[" + Join(quoted, ", ") + "]";
}

// AuditNodePaths(): a device node's container and host paths: clean,
// absolute, under /dev, not sensitive and not a raw host device.
void AuditNodePaths(const DeviceNode& d, const std::string& node, const std::string& sub,
                    const Ctx& c) {
  const std::string host = d.HostPath();
  if (HasDotDot(d.path) || HasDotDot(host) || host.empty() || host[0] != '/') {
    c.Add(Severity::kCritical, "path-traversal", sub, node + " uses '..' or a relative path",
          "a path that escapes its directory can point the runtime at any host file; use clean "
          "absolute paths");
  }
  if (!Under(Clean(d.path), "/dev")) {
    c.Add(Severity::kHigh, "node-outside-dev", sub + ".path",
          node + " is placed outside /dev in the container",
          "device nodes belong under /dev; a node elsewhere can shadow container files (" + d.path +
              ") and hides the grant from tools that inspect /dev");
  }
  std::string sensitive = SensitiveHostPath(host);
  if (!sensitive.empty()) {
    c.Add(Severity::kCritical, "sensitive-host-path", sub + ".hostPath",
          node + " comes from host path " + host, "that is " + sensitive + "; no device needs it");
  } else if (!InDeviceRoot(host, c.opts)) {
    c.Add(Severity::kHigh, "node-host-path", sub + ".hostPath",
          node + " comes from host path " + host + ", outside /dev and the device roots",
          "a device node's host path should be a device under /dev (or the emulated node's dev "
          "dir); anything else hands the container an arbitrary host file");
  }
  std::string raw = RawHostDevice(host);
  if (raw.empty() && d.type == "b") raw = "is a block device";
  if (!raw.empty()) {
    c.Add(Severity::kCritical, "raw-host-device", sub, node + " " + raw,
          "raw host devices break out of every container boundary; grant only the accelerator's "
          "nodes");
  }
}

// AuditNodeAccess(): a device node's file mode (the host file's when unset
// and --stat-host) and cgroup permissions.
void AuditNodeAccess(const DeviceNode& d, const std::string& node, const std::string& sub,
                     const Ctx& c) {
  std::optional<uint32_t> mode = d.file_mode;
  bool from_host = false;
  if (!mode && c.opts.stat_host) {
    struct stat st {};
    if (::stat(d.HostPath().c_str(), &st) == 0) {
      mode = st.st_mode & 07777;
      from_host = true;
    }
  }
  if (mode && (*mode & 0002u) != 0) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "%04o", *mode & 07777u);
    c.Add(from_host ? Severity::kInfo : Severity::kWarning, "world-writable", sub + ".fileMode",
          node + " is world-writable (mode " + buf + (from_host ? ", from the host file)" : ")"),
          "any user in the container (and, for a created node, on a shared host path) can write to "
          "the device; use 0660 with a gid the workload runs with");
  }
  std::string perms = d.EffectivePermissions();
  if (perms.find('m') != std::string::npos) {
    c.Add(Severity::kWarning, "mknod-permission", sub + ".permissions",
          node + " grants cgroup permissions \"" + perms + "\"" +
              (d.permissions.empty() ? " (the default for an empty field)" : ""),
          "'m' lets the container mknod more nodes with this major:minor; a workload needs only "
          "\"rw\"");
  }
}

void AuditDeviceNode(const DeviceNode& d, const std::string& sub, const Ctx& c) {
  std::string node =
      "device node " + d.path + (d.host_path.empty() ? "" : " (host " + d.host_path + ")");
  AuditNodePaths(d, node, sub, c);
  AuditNodeAccess(d, node, sub, c);
}

bool HasOption(const Mount& m, const char* opt) {
  return std::find(m.options.begin(), m.options.end(), opt) != m.options.end();
}

// AuditBindSource(): what a bind mount's host path exposes; the reason it
// is sensitive, or "".
std::string AuditBindSource(const Mount& m, const std::string& sub, const std::string& what,
                            const Ctx& c) {
  std::string sensitive = SensitiveHostPath(m.host_path);
  if (!sensitive.empty()) {
    c.Add(Severity::kCritical, "sensitive-host-path", sub + ".hostPath", what,
          "the host path is " + sensitive + "; a device driver never needs it in a container");
  } else if (IsDeviceDir(m.host_path, c.opts)) {
    c.Add(Severity::kCritical, "device-dir-mount", sub + ".hostPath",
          what + " exposes a whole device directory",
          "every device node below it becomes reachable, including devices allocated to other "
          "claims; grant individual deviceNodes instead");
  } else if (InDeviceRoot(m.host_path, c.opts)) {
    c.Add(Severity::kHigh, "device-dir-mount", sub + ".hostPath", what + " mounts a device path",
          "device nodes should be granted as deviceNodes so the runtime adds cgroup rules for "
          "them");
  }
  return sensitive;
}

void AuditMount(const Mount& m, const std::string& sub, const Ctx& c) {
  std::string what = "mount " + m.host_path + " -> " + m.container_path;
  bool bind = m.type.empty() || m.type == "none" || m.type == "bind" || HasOption(m, "bind") ||
              HasOption(m, "rbind");
  if (HasDotDot(m.container_path) || (bind && (HasDotDot(m.host_path) || m.host_path[0] != '/'))) {
    c.Add(Severity::kCritical, "path-traversal", sub, what + " uses '..' or a relative path",
          "a path that escapes its directory can point the runtime at any host file");
  }
  if (!bind) {
    c.Add(Severity::kInfo, "mount", sub, what + " (filesystem type " + m.type + ")",
          "not a bind mount of host files; listed for completeness");
    return;
  }
  std::string sensitive = AuditBindSource(m, sub, what, c);
  if (!HasOption(m, "ro") && sensitive.empty()) {
    c.Add(Severity::kInfo, "writable-mount", sub + ".options",
          what + " is writable (no \"ro\" option)",
          "the container can modify host files there; add \"ro\" unless writes are required");
  }
  for (const auto& opt : m.options) {
    if (opt == "shared" || opt == "rshared") {
      c.Add(Severity::kWarning, "mount-propagation", sub + ".options",
            what + " uses " + opt + " propagation",
            "mounts made inside the container propagate back to the host");
    }
  }
}

void AuditHook(const Hook& h, const std::string& sub, const Ctx& c) {
  bool runtime_ns = h.hook_name == "prestart" || h.hook_name == "createRuntime" ||
                    h.hook_name == "poststart" || h.hook_name == "poststop";
  std::string what = h.hook_name + " hook runs " + h.path + " with args " + ListText(h.args);
  if (!h.env.empty()) what += " and env " + ListText(h.env);
  std::string clean = Clean(h.path);
  bool unsafe_location = Under(clean, "/tmp") || Under(clean, "/var/tmp") ||
                         Under(clean, "/dev/shm") || Under(clean, "/home") || HasDotDot(h.path);
  std::string base = Basename(clean);
  bool shell = base == "sh" || base == "bash" || base == "dash" || base == "zsh" ||
               base == "python3" || base == "python";
  Severity sev = unsafe_location || shell ? Severity::kCritical
                 : runtime_ns             ? Severity::kHigh
                                          : Severity::kWarning;
  std::string why = std::string("hooks run with the runtime's full privileges") +
                    (runtime_ns ? " in the host's namespaces"
                                : " in the container's namespaces before it starts") +
                    "; review the binary and arguments";
  if (unsafe_location)
    why += ". The binary lives in a user-writable location, so anyone can replace it";
  if (shell) why += ". It runs an interpreter, so the arguments are arbitrary code";
  c.Add(sev, "hook", sub, what, why);
}

// AuditEnv(): variables that change what every process of the container
// runs or loads.
void AuditEnv(const std::vector<std::string>& env, const Ctx& c) {
  static const std::map<std::string, std::pair<Severity, std::string>> kEnv = {
      {"PATH", {Severity::kWarning, "changes which binaries the workload runs"}},
      {"LD_PRELOAD",
       {Severity::kHigh, "injects a shared library into every process of the container"}},
      {"LD_LIBRARY_PATH",
       {Severity::kWarning, "changes which shared libraries every process loads"}},
      {"LD_AUDIT", {Severity::kHigh, "injects an audit library into every process"}},
      {"LD_BIND_NOW", {Severity::kInfo, "changes dynamic linking for every process"}},
      {"BASH_ENV", {Severity::kHigh, "runs a script in every non-interactive bash"}},
      {"ENV", {Severity::kWarning, "runs a script in every interactive sh"}},
      {"PYTHONPATH", {Severity::kWarning, "changes which Python modules load"}},
  };
  for (size_t i = 0; i < env.size(); ++i) {
    std::string name = env[i].substr(0, env[i].find('='));
    auto it = kEnv.find(name);
    if (it == kEnv.end()) continue;
    c.Add(it->second.first, "env-override", ".env[" + std::to_string(i) + "]", "sets " + env[i],
          name + " " + it->second.second +
              "; the CDI env wins over the image's, so the workload cannot opt out");
  }
}

// AuditGroups(): moved host interfaces and low supplementary gids.
void AuditGroups(const ContainerEdits& e, const Ctx& c) {
  for (size_t i = 0; i < e.net_devices.size(); ++i) {
    const NetDevice& n = e.net_devices[i];
    c.Add(Severity::kWarning, "net-device", ".netDevices[" + std::to_string(i) + "]",
          "moves host interface " + n.host_interface_name + " into the container as " + n.name,
          "the host loses the interface while the container runs");
  }
  for (size_t i = 0; i < e.additional_gids.size(); ++i) {
    uint32_t g = e.additional_gids[i];
    if (g == 0 || g >= 100) continue;
    c.Add(Severity::kInfo, "additional-gid", ".additionalGids[" + std::to_string(i) + "]",
          "adds supplementary group " + std::to_string(g),
          "a low system gid (disk, kmem, video...) may open host files beyond the granted devices");
  }
}

void AuditEdits(const ContainerEdits& e, const Ctx& c) {
  for (size_t i = 0; i < e.device_nodes.size(); ++i)
    AuditDeviceNode(e.device_nodes[i], ".deviceNodes[" + std::to_string(i) + "]", c);
  for (size_t i = 0; i < e.mounts.size(); ++i)
    AuditMount(e.mounts[i], ".mounts[" + std::to_string(i) + "]", c);
  for (size_t i = 0; i < e.hooks.size(); ++i)
    AuditHook(e.hooks[i], ".hooks[" + std::to_string(i) + "]", c);
  AuditEnv(e.env, c);
  AuditGroups(e, c);
}

// RealPath(): the path with every symlink resolved, or "" when it does not
// resolve.
std::string RealPath(const std::string& p) {
  char buf[PATH_MAX];
  if (::realpath(p.c_str(), buf) == nullptr) return "";
  return buf;
}

// AuditSpecFile(): a spec file that is a symlink pointing out of its spec
// dir: the runtime follows it, so the edits come from a file the dir's owner
// does not control (or a host file the driver wants read as a spec).
void AuditSpecFile(const Spec& spec, const Ctx& c) {
  if (!c.opts.stat_host || spec.path.empty()) return;
  struct stat st {};
  if (::lstat(spec.path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return;
  auto slash = spec.path.rfind('/');
  std::string dir = RealPath(slash == std::string::npos ? "." : spec.path.substr(0, slash));
  std::string target = RealPath(spec.path);
  if (!dir.empty() && !target.empty() && Under(target, dir)) return;
  c.Add(Severity::kCritical, "spec-symlink", "",
        "spec file " + spec.path + " is a symlink to " + (target.empty() ? "?" : target) +
            ", outside its CDI dir " + (dir.empty() ? "?" : dir),
        "the runtime follows the link, so the device's edits come from a file outside the spec "
        "dir that anyone able to write there controls; write the spec into the CDI dir itself");
}

}  // namespace

std::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kHigh:
      return "high";
    case Severity::kCritical:
      return "critical";
  }
  return "?";
}

std::string Finding::ToString() const {
  std::string s = std::string(SeverityName(severity)) + " [" + rule + "] " + device;
  if (!file.empty())
    s += " (" + file + " " + json_path + ")";
  else if (!json_path.empty())
    s += " (" + json_path + ")";
  return s + ": " + what + " — " + why;
}

std::vector<Finding> AuditSpec(const Spec& spec, const AuditOptions& options) {
  std::vector<Finding> out;
  AuditSpecFile(spec, Ctx{options, out, spec.kind, spec.path, "$"});
  Ctx spec_ctx{options, out, spec.kind + " (spec-level edits)", spec.path, "$.containerEdits"};
  AuditEdits(spec.edits, spec_ctx);
  for (size_t i = 0; i < spec.devices.size(); ++i) {
    Ctx c{options, out, spec.QualifiedName(spec.devices[i].name), spec.path,
          "$.devices[" + std::to_string(i) + "].containerEdits"};
    AuditEdits(spec.devices[i].edits, c);
  }
  return out;
}

std::vector<Finding> AuditResolution(const Resolution& res, const AuditOptions& options) {
  std::vector<Finding> out;
  std::set<const Spec*> specs_seen;
  std::map<std::string, std::string> node_owner;  // container path -> device
  std::set<std::string> allocated;
  for (const auto& p : options.allocated_host_paths) allocated.insert(Clean(p));
  auto shared = [&](const std::string& path) {
    return std::find(options.shared_node_names.begin(), options.shared_node_names.end(),
                     Basename(Clean(path))) != options.shared_node_names.end();
  };
  size_t bearing = 0;
  std::vector<std::string> bearing_ids;
  for (const ResolvedDevice& rd : res.devices) {
    const Spec& spec = *rd.spec;
    size_t index = static_cast<size_t>(rd.device - spec.devices.data());
    bool has_own_node = false;
    auto visit_nodes = [&](const ContainerEdits& e, const std::string& who, const std::string& jp,
                           bool counts) {
      for (size_t i = 0; i < e.device_nodes.size(); ++i) {
        const DeviceNode& d = e.device_nodes[i];
        std::string sub = jp + ".deviceNodes[" + std::to_string(i) + "]";
        if (counts && !shared(d.path)) has_own_node = true;
        auto [it, inserted] = node_owner.emplace(Clean(d.path), who);
        if (!inserted && it->second != who) {
          out.push_back({Severity::kInfo, "duplicate-node", who, spec.path, sub,
                         "device node " + d.path + " is also granted by " + it->second,
                         "two CDI devices of one claim grant the same node; harmless but usually a "
                         "driver bookkeeping slip"});
        }
        if (!allocated.empty() && !shared(d.path) && !allocated.count(Clean(d.HostPath()))) {
          out.push_back({Severity::kCritical, "not-allocated", who, spec.path, sub,
                         "device node " + d.path + " (host " + d.HostPath() +
                             ") is not one of the claim's allocated devices",
                         "the container can reach a device the scheduler did not give it, possibly "
                         "one allocated to another claim"});
        }
      }
    };
    if (specs_seen.insert(&spec).second) {
      std::string who = spec.kind + " (spec-level edits)";
      AuditSpecFile(spec, Ctx{options, out, spec.kind, spec.path, "$"});
      AuditEdits(spec.edits, Ctx{options, out, who, spec.path, "$.containerEdits"});
      visit_nodes(spec.edits, who, "$.containerEdits", false);
    }
    std::string json_path = "$.devices[" + std::to_string(index) + "].containerEdits";
    AuditEdits(rd.device->edits, Ctx{options, out, rd.id, spec.path, json_path});
    visit_nodes(rd.device->edits, rd.id, json_path, true);
    if (has_own_node) {
      ++bearing;
      bearing_ids.push_back(rd.id);
    }
  }
  if (options.allocated_count && bearing > *options.allocated_count) {
    std::string ids;
    for (const auto& id : bearing_ids) ids += (ids.empty() ? "" : ", ") + id;
    out.push_back({Severity::kCritical, "too-many-devices", ids, "", "",
                   std::to_string(bearing) + " CDI devices with device nodes are granted (" + ids +
                       ") but the claim was allocated " + std::to_string(*options.allocated_count),
                   "the container gets more devices than the scheduler allocated"});
  }
  return out;
}

std::optional<Severity> MaxSeverity(const std::vector<Finding>& findings) {
  std::optional<Severity> best;
  for (const auto& f : findings) {
    if (!best || f.severity > *best) best = f.severity;
  }
  return best;
}

}  // namespace drahil::cdi
