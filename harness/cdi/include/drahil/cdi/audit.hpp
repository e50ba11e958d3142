// File: audit.hpp
//
// Security audit of the container edits a DRA driver asks the runtime to
// apply. Each finding says which device, what the edit does and why that
// matters, so a vendor knows what to change.
//
//   AuditOptions opts;
//   opts.device_roots = {fake_root + "/dev"};          // emulated node
//   auto findings = AuditResolution(resolution, opts);  // or AuditSpec(spec, opts)
//
// Rules (rule codes in Finding::rule):
//   node-outside-dev      a device node whose container path is not under /dev
//   node-host-path        a device node whose host path is outside /dev and the device roots
//   sensitive-host-path   a node or mount from /, /etc, /proc, /sys, /boot, /root,
//                         /var/lib/kubelet, /var/lib/containerd, a runtime socket, ...
//   raw-host-device       a node for host memory/disks (/dev/mem, /dev/sd*, block devices)
//   device-dir-mount      a mount exposing a whole device dir (host /dev or a device root)
//   path-traversal        a path with ".." components or not absolute (critical)
//   spec-symlink          a spec file that is a symlink pointing out of its spec dir
//   world-writable        a node whose fileMode (or host file) is writable by others
//   mknod-permission      cgroup permissions include 'm' (also the default ""): rw suffices
//   hook                  every hook, with its stage, path and args
//   env-override          env setting PATH, LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT, ...
//   writable-mount        a host mount without "ro"
//   mount-propagation     a mount with shared propagation
//   net-device            a host network interface moved into the container
//   too-many-devices      more device-bearing CDI devices than the claim was allocated
//   not-allocated         a device node whose host path is not among the allocated nodes
//   duplicate-node        the same container path granted twice
//
// Thread-safety: pure functions.
#ifndef DRAHIL_CDI_AUDIT_HPP_INCLUDED
#define DRAHIL_CDI_AUDIT_HPP_INCLUDED

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "drahil/cdi/registry.hpp"
#include "drahil/cdi/spec.hpp"

namespace drahil::cdi {

enum class Severity { kInfo, kWarning, kHigh, kCritical };
std::string_view SeverityName(Severity s);  // "info", "warning", "high", "critical"

struct Finding {
  Severity severity = Severity::kInfo;
  std::string rule;       // a rule code from the list above
  std::string device;     // "vendor/class=name", or "vendor/class (spec-level edits)"
  std::string file;       // the spec file, when known
  std::string json_path;  // e.g. $.devices[0].containerEdits.deviceNodes[1]
  std::string what;       // what the edit does
  std::string why;        // why it matters, and what to do instead
  [[nodiscard]] std::string ToString() const;
};

struct AuditOptions {
  // Host dirs that hold device nodes besides /dev (e.g. "$DRAHIL_FAKE_ROOT/dev"
  // on an emulated node, whose nodes are plain files).
  std::vector<std::string> device_roots;
  // Stat host paths to learn modes the spec leaves out (world-writable
  // check) and lstat spec files (spec-symlink).
  bool stat_host = true;
  // Allocation facts for AuditResolution(): the number of devices the claim was
  // allocated, and optionally the exact host paths of their nodes.
  std::optional<size_t> allocated_count;
  std::vector<std::string> allocated_host_paths;
  // Nodes every device of a class shares (control nodes); not counted as extra
  // devices and never "not-allocated".
  std::vector<std::string> shared_node_names = {"nvidiactl", "nvidia-uvm", "nvidia-uvm-tools",
                                                "nvidia-modeset", "nvidia-nvswitchctl"};
};

// AuditSpec(): findings over every device and the spec-level edits.
std::vector<Finding> AuditSpec(const Spec& spec, const AuditOptions& options);

// AuditResolution(): findings over the devices a claim was actually given,
// plus the allocation checks (too-many-devices, not-allocated, duplicate-node).
std::vector<Finding> AuditResolution(const Resolution& resolution, const AuditOptions& options);

// MaxSeverity(): the highest severity, or nullopt when there are no findings.
std::optional<Severity> MaxSeverity(const std::vector<Finding>& findings);

}  // namespace drahil::cdi

#endif  // DRAHIL_CDI_AUDIT_HPP_INCLUDED
