// File: suite.hpp
//
// The suite format (drahil.suite/v1) and driver profiles (drahil.driver/v1):
// the data model and the schema-checking loaders. docs/suite-format.md is
// the user-facing description; this header is the contract.
//
//   auto suite = runner::LoadSuiteFile("suites/prepare.yaml");
//   if (!suite.ok()) { /* "suites/prepare.yaml:12:7: cases[0].steps[2].prepare.replay:
//                          expected an integer, got "two"" */ }
//
// The loader rejects unknown keys, wrong types, duplicate keys and duplicate
// case ids; every error names file:line:column and the key path. Manifests
// referenced by path are read at load time (relative to the suite file), so
// a loaded Suite is self-contained and running it never fails on a missing
// file.
//
// Thread-safety: loaders are reentrant; the model is plain values.
#ifndef DRAHIL_RUNNER_SUITE_HPP_INCLUDED
#define DRAHIL_RUNNER_SUITE_HPP_INCLUDED

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "drahil/core/status.hpp"

namespace drahil::runner {

using Duration = std::chrono::milliseconds;

inline constexpr std::string_view kSuiteSpec = "drahil.suite/v1";
inline constexpr std::string_view kDriverSpec = "drahil.driver/v1";

// Location: where something was written, for messages ("a.yaml:12:7").
struct Location {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based
  [[nodiscard]] std::string ToString() const;
};

// ParseDuration(): "500ms", "30s", "2m", "1h", "1.5s", "1m30s". Rejects
// negative values, missing units and trailing garbage.
Result<Duration> ParseDuration(std::string_view text);
std::string FormatDuration(Duration d);

// Manifest: one Kubernetes object, as JSON (YAML scalars are typed the YAML
// 1.2 core-schema way, quoted scalars stay strings).
struct Manifest {
  nlohmann::json object;
  Location where;  // the document (or inline map) it came from
  [[nodiscard]] std::string Kind() const;
  // Ref(): "ResourceClaim default/gpu-claim" (namespace omitted when empty).
  [[nodiscard]] std::string Ref() const;
};

// Step: one action. params holds the step's validated arguments (the value
// under the kind key) as JSON; children holds the nested steps of
// eventually/consistently.
struct Step {
  std::string kind;  // "apply", "allocate", "run-pod", "prepare", "unprepare", "expect",
                     // "inject", "wait", "eventually", "consistently", "delete"
  nlohmann::json params;
  std::string name;                 // optional label for logs
  std::optional<Duration> timeout;  // per-step timeout; default from the suite
  std::vector<Manifest> manifests;  // apply: manifests resolved at load time
  std::vector<Step> children;
  Location where;
};

struct DeviceRequirement {
  std::string kind;  // an abstract kind of the profile's device model ("gpu", "mig", "fpga", ...)
  int count = 1;     // at least this many
  // A role: one device of `kind`, bound from discovery when the case starts
  // (distinct from the case's other roles) and named in the case as
  // {role.NAME} (its device name) and {cel.role.NAME} (a CEL test that pins it).
  std::string role;
  // Or one device by its ResourceSlice name ("gpu-5"). Only for suites
  // written for one driver: the catalog uses roles.
  std::string name;
  // exclusive: only devices that one claim at a time may hold count (and
  // are bound): not allowMultipleAllocations (KEP-5075 consumable
  // capacity), whose sharing between claims is legal. A case whose premise
  // is one claim per device (double booking, isolation between claims)
  // says so; on a driver whose devices are all shareable it Skips.
  bool exclusive = false;
  // shape: only devices of `kind` that the profile's partition shape of this
  // name (devices.KIND.shapes.SHAPE, a CEL selector) accepts count (and are
  // bound). A case that writes {cel.shape.KIND.SHAPE} and declares no such
  // requirement needs at least one device of that shape all the same.
  std::string shape;
};

// Requires: unmet requirements make a case Skip with the reason.
struct Requires {
  std::vector<std::string> capabilities;    // driver capabilities (profile or discovered)
  std::vector<DeviceRequirement> devices;   // from the driver's slices (discovery)
  std::vector<std::string> probe_backends;  // the profile's probe backend must be one of these
  // Kubernetes feature gates (drahil/core/feature_gates.hpp) the case needs
  // on: off in the run's Kubernetes version (--kubernetes-version,
  // --feature-gates) makes the case Skip, naming the gate.
  std::vector<std::string> feature_gates;
  [[nodiscard]] bool empty() const {
    return capabilities.empty() && devices.empty() && probe_backends.empty() &&
           feature_gates.empty();
  }
};

struct Case {
  std::string id;
  std::string title;
  std::string feature;  // JUnit classname; explicit, else the first kep-* tag, else first tag
  std::vector<std::string> tags;
  std::string rationale;
  Requires requires_;
  std::vector<Manifest> fixtures;  // applied, in order, before the first step
  std::vector<Step> steps;
  std::optional<Duration> timeout;  // whole case
  // The driver starts this long after the kubelet stand-in (0 = at once), so
  // a case can check that a late plugin socket is picked up.
  Duration driver_start_delay{0};
  Location where;
};

struct Suite {
  std::string name;
  std::string description;
  std::string file;  // path it was loaded from ("" for strings)
  Duration case_timeout{std::chrono::minutes(5)};
  Duration step_timeout{std::chrono::seconds(60)};
  // environment: shared — the cases run one after another on one node
  // (API server, kubelet stand-in, driver) instead of a fresh one each.
  bool shared_environment = false;
  std::vector<Manifest> fixtures;  // applied before each case's own fixtures
  std::vector<Case> cases;
};

// Step kinds the loader knows; the engine needs a handler for each.
const std::vector<std::string>& StepKinds();

// LoadSuiteFile()/LoadSuiteString(): parse + schema check. `file` in the
// string form names the source in messages and is the base for relative paths.
Result<Suite> LoadSuiteFile(const std::string& path);
Result<Suite> LoadSuiteString(const std::string& text, const std::string& file);

// LoadSuites(): each path is a file or a directory (every *.yaml / *.yml in it,
// recursively, sorted; directories named "drivers" or "manifests" are not
// suites and are skipped). Fails on the first bad file; case ids must be
// unique across all suites loaded together.
Result<std::vector<Suite>> LoadSuites(const std::vector<std::string>& paths);

// --- driver profiles ---------------------------------------------------

struct ProbeConfig {
  std::string backend = "emulated";  // emulated | opencl | cuda | fpga | env | exec | none
  // env backend: the driver exposes devices only as environment variables
  // (dra-example-driver style). env_pattern is an ECMAScript regex on the
  // variable *name*; isolation means exactly the allocated devices appear.
  std::string env_pattern;
  // env backend: what each matching variable's value names: "name" (the
  // device's name in its slice) or "attribute:NAME" (that attribute's value).
  std::string env_value = "name";
  // exec backend: the vendor's own probe, run in the sandbox in place of
  // drahil-probe-* with the same arguments; it writes drahil.probe/v1 to
  // $DRAHIL_RESULT_FD and implements the checks listed.
  std::vector<std::string> command;
  std::vector<std::string> checks;
  std::vector<std::string> args;  // extra probe arguments
};

struct DriverTimeouts {
  Duration registration{std::chrono::seconds(30)};
  Duration slices{std::chrono::seconds(30)};
  Duration prepare{std::chrono::seconds(45)};  // the kubelet's own default
  Duration unprepare{std::chrono::seconds(45)};
  Duration shutdown{std::chrono::seconds(10)};
};

// DeviceKindModel: how one abstract device kind of the catalog ("gpu",
// "mig", "fpga", "vf", or a vendor's own) looks in this driver's slices.
struct DeviceKindModel {
  // The DeviceClass the catalog names as {class.KIND}. With a selector drahil
  // creates it (`device.driver == DRIVER && (selector)`); with a manifest the
  // vendor's own class object is created; with neither it must already exist.
  std::string class_name;
  std::string selector;           // CEL over `device`
  nlohmann::json class_manifest;  // null unless given
  std::string identity;           // qualified attribute naming one device ("domain/name")
  std::string parent;             // qualified attribute partitions share with their parent
  std::string memory;             // capacity name of the device memory
  std::map<std::string, std::string> shapes;  // shape name → CEL selector
  std::string fault_target;  // qualified attribute the fault injector takes (default identity)
};

// DeviceModel: the driver-profile half of a binding: everything the catalog
// needs to know about a driver to judge it by behaviour, never by names.
struct DeviceModel {
  std::map<std::string, DeviceKindModel> kinds;
  std::string cdi_pattern;                    // regex on CDI IDs; default ^k8s\.<driver>/
  std::map<std::string, std::string> taints;  // fault ("unhealthy") → taint key
  std::map<std::string, nlohmann::json>
      configs;                                // name → opaque device config {driver, parameters}
  std::map<std::string, std::string> errors;  // error name → text the driver's message contains
  // "emulated" (drahil's emulated node) | "nvml" (the same, and the driver
  // finds the fake libnvidia-ml.so.1 first on LD_LIBRARY_PATH) | "exec" |
  // "none".
  std::string faults;
  // faults: exec — the vendor's commands ({target} {device} {fault} {xid}).
  std::vector<std::string> fault_inject;
  std::vector<std::string> fault_clear;
  Duration fault_timeout{std::chrono::seconds(30)};
};

// ApiRule: one rule of the apiserver.rules list, a ClusterRole rule
// (rbac.authorization.k8s.io/v1 PolicyRule).
struct ApiRule {
  std::vector<std::string> api_groups;  // "" = core, "*"
  std::vector<std::string> resources;   // "configmaps", "nodes/status", "*"
  std::vector<std::string> verbs;       // "get", ..., "*"
  std::vector<std::string> resource_names;
};

// ApiAccess: the profile's apiserver section: what the driver's
// credentials may do (what the vendor's Helm chart grants its service
// account) and the CustomResourceDefinitions installed with the driver.
struct ApiAccess {
  // rules given: they replace the default node rule set (RBAC semantics;
  // the node restriction on ResourceSlices stays).
  bool has_rules = false;
  std::string user;  // "" = system:node:<node>
  std::vector<ApiRule> rules;
  // Manifest files or directories (absolute) of the CRDs to install before
  // the driver starts.
  std::vector<std::string> crds;
};

struct DriverProfile {
  std::string name;         // profile name
  std::string driver_name;  // the DRA driver name, e.g. "gpu.drahil.dev"
  std::string version;
  std::string description;
  std::string command;  // may contain placeholders
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  std::string node_profile;  // emulated node profile (fakes/profiles); "" = real hardware
  // node.labels: labels of the Node object besides the kubelet's well-known
  // ones (kubernetes.io/hostname, kubernetes.io/os, kubernetes.io/arch),
  // which they may override.
  std::map<std::string, std::string> node_labels;
  std::vector<std::string> capabilities;
  ProbeConfig probe;
  DriverTimeouts timeouts;
  DeviceModel devices;  // empty kinds: cases that need a device kind Skip with the reason
  // kubernetes.version / kubernetes.feature-gates: the Kubernetes release
  // the vendor ships against ("" = drahil's newest) and gate overrides
  // ("A=true,B=false"). --kubernetes-version and --feature-gates win.
  std::string kubernetes_version;
  std::string feature_gates;
  ApiAccess api;  // apiserver: {user, rules, crds}
  std::string file;
};

// The placeholders a profile may use in command, args and env.
const std::vector<std::string>& ProfilePlaceholders();

Result<DriverProfile> LoadDriverProfileFile(const std::string& path);
Result<DriverProfile> LoadDriverProfileString(const std::string& text, const std::string& file);

// ExpandPlaceholders(): replaces {name} with values.at(name); "{{" and "}}" are
// literal braces. Unknown names and unbalanced braces are errors.
Result<std::string> ExpandPlaceholders(std::string_view text,
                                       const std::map<std::string, std::string>& values);

}  // namespace drahil::runner

#endif  // DRAHIL_RUNNER_SUITE_HPP_INCLUDED
