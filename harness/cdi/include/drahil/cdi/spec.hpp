// File: spec.hpp
//
// CDI (Container Device Interface) spec model, parser, validator and writer.
//
// A spec file is JSON or YAML (docs/reference/protocol.md section 5). ParseSpec() applies every
// rule the runtime's Go library applies when it loads a spec: a known cdiVersion
// (0.3.0 .. 1.1.0) that is at least the minimum the contents need, a valid
// `kind`, valid and unique device names, non-empty device edits, NAME=VALUE env,
// device node / mount / hook / intelRdt / netDevices field rules, and no
// unknown fields. An error names the file, the JSON path and the rule:
//
//   INVALID_ARGUMENT: /var/run/cdi/x.yaml: $.devices[0].containerEdits.env[1]:
//     [env-format] "FOO" is not NAME=VALUE
//
// Thread-safety: plain values and pure functions.
#ifndef DRAHIL_CDI_SPEC_HPP_INCLUDED
#define DRAHIL_CDI_SPEC_HPP_INCLUDED

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "drahil/core/status.hpp"

namespace drahil::cdi {

// The spec versions the Go library loads, oldest first.
inline constexpr const char* kKnownVersions[] = {"0.3.0", "0.4.0", "0.5.0", "0.6.0",
                                                 "0.7.0", "0.8.0", "1.0.0", "1.1.0"};
inline constexpr const char* kCurrentVersion = "1.1.0";

struct DeviceNode {
  std::string path;       // path inside the container (required)
  std::string host_path;  // empty: same as path
  std::string type;       // "", "b", "c", "u" or "p"
  std::optional<int64_t> major;
  std::optional<int64_t> minor;
  std::optional<uint32_t> file_mode;
  std::string permissions;  // r/w/m letters; "" means rwm; "none" means none
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;

  // HostPath(): host_path, or path when host_path is empty.
  [[nodiscard]] const std::string& HostPath() const { return host_path.empty() ? path : host_path; }
  // EffectivePermissions(): "rwm" for "", "" for "none", else permissions.
  [[nodiscard]] std::string EffectivePermissions() const;
};

struct Mount {
  std::string host_path;
  std::string container_path;
  std::vector<std::string> options;
  std::string type;
};

struct Hook {
  std::string hook_name;  // prestart, createRuntime, createContainer, startContainer,
                          // poststart, poststop
  std::string path;       // absolute
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int64_t> timeout;  // seconds, > 0
};

struct IntelRdt {
  std::string clos_id;
  std::string l3_cache_schema;
  std::string mem_bw_schema;
  std::vector<std::string> schemata;  // 1.1.0
  bool enable_monitoring = false;     // 1.1.0
  bool has_schemata = false;          // the field was present (version gate)
  bool has_enable_monitoring = false;
};

struct NetDevice {
  std::string host_interface_name;
  std::string name;
};

// ContainerEdits: what a spec (or one device of it) asks the runtime to do.
struct ContainerEdits {
  std::vector<std::string> env;
  std::vector<DeviceNode> device_nodes;
  std::vector<Hook> hooks;
  std::vector<Mount> mounts;
  std::optional<IntelRdt> intel_rdt;
  std::vector<uint32_t> additional_gids;
  std::vector<NetDevice> net_devices;

  [[nodiscard]] bool Empty() const;
  // Append(): the runtime's merge: lists are concatenated in order; a later
  // intelRdt replaces an earlier one.
  void Append(const ContainerEdits& other);
};

struct Device {
  std::string name;
  std::map<std::string, std::string> annotations;
  ContainerEdits edits;
};

struct Spec {
  std::string cdi_version;
  std::string kind;  // vendor/class
  std::map<std::string, std::string> annotations;
  std::vector<Device> devices;
  ContainerEdits edits;  // spec-level edits, applied once if any device is used

  // Filled by the loader.
  std::string path;  // source file ("" when parsed from memory)
  int priority = 0;  // index of the spec dir; higher wins

  [[nodiscard]] std::string Vendor() const;
  [[nodiscard]] std::string Class() const;
  // QualifiedName("gpu0"): "vendor.com/class=gpu0".
  [[nodiscard]] std::string QualifiedName(const std::string& device) const;
};

// A fully qualified device name, vendor.com/class=name.
struct QualifiedName {
  std::string vendor;
  std::string class_name;
  std::string name;
  [[nodiscard]] std::string Kind() const { return vendor + "/" + class_name; }
  [[nodiscard]] std::string ToString() const { return Kind() + "=" + name; }
};

// Name rules (docs/reference/protocol.md 5.3). Each returns kInvalidArgument saying why.
Status ValidateVendorName(std::string_view vendor);
Status ValidateClassName(std::string_view class_name);
Status ValidateDeviceName(std::string_view name);
// ParseQualifiedName(): "vendor/class=name" with all three parts validated.
Result<QualifiedName> ParseQualifiedName(std::string_view id);

enum class Format { kAuto, kJson, kYaml };

// ParseSpec(): parse and fully validate one spec document. `source` names the
// document in errors (usually the file path). kAuto treats text starting with
// '{' as JSON and everything else as YAML (YAML is a superset of JSON).
// Never throws; hostile input yields kInvalidArgument.
Result<Spec> ParseSpec(std::string_view text, std::string_view source,
                       Format format = Format::kAuto);

// LoadSpecFile(): ReadFile + ParseSpec with the format taken from the
// extension (.json or .yaml; anything else is kInvalidArgument). Sets path.
Result<Spec> LoadSpecFile(const std::string& path);

// ValidateSpec(): the rules ParseSpec() applies after decoding, for specs built
// in code (e.g. by a driver before writing them). Errors carry JSON paths.
Status ValidateSpec(const Spec& spec);

// MinimumVersion(): the lowest spec version whose features cover the spec
// (docs/reference/protocol.md 5.1), at least 0.3.0.
std::string MinimumVersion(const Spec& spec);

// ToJson(): the spec as a JSON document (fields in the schema's spelling;
// empty optional fields omitted). When cdi_version is empty, MinimumVersion()
// is written.
std::string ToJson(const Spec& spec);

// WriteSpecFile(): validates and writes the spec atomically into dir as
// `name` (".json" appended when name has no .json/.yaml extension; a .yaml
// name still gets JSON content, which is valid YAML). Returns the path.
Result<std::string> WriteSpecFile(const Spec& spec, const std::string& dir,
                                  const std::string& name);

// CompareVersions(): <0, 0, >0 for two "x.y.z" CDI versions.
int CompareVersions(std::string_view a, std::string_view b);

}  // namespace drahil::cdi

#endif  // DRAHIL_CDI_SPEC_HPP_INCLUDED
