#include "options.hpp"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <set>
#include <sstream>

namespace drahil::refdriver {

std::string Options::HostDev(const std::string& rel) const {
  std::string root = dev_root;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return (root == "/" ? std::string() : root) + "/dev/" + rel;
}

namespace {
// EnvName("--node-name") == "NODE_NAME": every flag also reads its env var,
// as upstream drivers do.
template <typename T>
CLI::Option* Flag(CLI::App& app, const std::string& name, T& var, const std::string& help,
                  const std::string& env) {
  auto* o = app.add_option(name, var, help);
  o->envname(env);
  return o;
}

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsLower(c) || IsUpper(c) || IsDigit(c); }

// DnsLabel(): a DNS label (RFC 1123).
bool DnsLabel(const std::string& s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  for (char c : s)
    if (!(IsLower(c) || IsDigit(c) || c == '-')) return false;
  return true;
}

// DnsLabelPart(): part of a device name, which must be a DNS label.
bool DnsLabelPart(const std::string& s) { return s.size() <= 40 && DnsLabel(s); }

// DnsSubdomain(): DNS labels joined by dots.
bool DnsSubdomain(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  std::stringstream ss(s);
  std::string label;
  size_t labels = 0;
  while (std::getline(ss, label, '.')) {
    if (!DnsLabel(label)) return false;
    ++labels;
  }
  return labels > 0 && s.back() != '.';
}

// CIdentifier(): an attribute's name without its domain, at most 32 characters.
bool CIdentifier(const std::string& s) {
  if (s.empty() || s.size() > 32 || IsDigit(s[0])) return false;
  for (char c : s)
    if (!(IsAlnum(c) || c == '_')) return false;
  return true;
}

// QualifiedAttribute(): [<DNS subdomain>/]<C identifier>, as a ResourceSlice
// attribute name.
bool QualifiedAttribute(const std::string& s) {
  auto slash = s.find('/');
  if (slash == std::string::npos) return CIdentifier(s);
  return DnsSubdomain(s.substr(0, slash)) && CIdentifier(s.substr(slash + 1));
}

// LabelName(): the name part of a label or taint key.
bool LabelName(const std::string& s) {
  if (s.empty() || s.size() > 63 || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  for (char c : s)
    if (!(IsAlnum(c) || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

// CdiName(): a CDI vendor (dots allowed) or class: alphanumeric ends, inner
// alphanumerics, '_', '-' (and '.' in a vendor).
bool CdiName(const std::string& s, bool vendor) {
  if (s.empty() || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  for (char c : s)
    if (!(IsAlnum(c) || c == '_' || c == '-' || (vendor && c == '.'))) return false;
  return true;
}

bool EnvName(const std::string& s) {
  if (s.empty() || IsDigit(s[0])) return false;
  for (char c : s)
    if (!(IsAlnum(c) || c == '_')) return false;
  return true;
}

// The attribute names the driver publishes (slices.cpp); --attribute-map may
// rename any of them.
const std::set<std::string>& PublishedAttributes() {
  static const std::set<std::string> kNames = {
      "uuid",     "model", "index",  "driverVersion",  "pciBusID",
      "numaNode", "type",  "minor",  "profile",        "parentUUID",
      "vendor",   "shell", "region", "placementStart", "multiprocessors"};
  return kNames;
}

// ParsePerKind(): "X" sets both kinds; "gpu=X,fpga=Y" sets each named kind.
Status ParsePerKind(const std::string& flag, const std::string& value, PerKind& out,
                    const std::function<bool(const std::string&)>& valid, const std::string& what) {
  if (value.empty()) return OkStatus();
  std::vector<std::pair<std::string, std::string>> items;
  if (value.find('=') == std::string::npos) {
    items = {{"gpu", value}, {"fpga", value}};
  } else {
    std::stringstream ss(value);
    std::string item;
    while (std::getline(ss, item, ',')) {
      auto eq = item.find('=');
      std::string k = item.substr(0, eq);
      if (eq == std::string::npos || (k != "gpu" && k != "fpga"))
        return InvalidArgumentError(flag + " " + value + ": want VALUE or gpu=VALUE,fpga=VALUE");
      items.emplace_back(k, item.substr(eq + 1));
    }
  }
  for (const auto& [k, v] : items) {
    if (!valid(v))
      return InvalidArgumentError(flag + " " + value + ": \"" + v + "\" is not " + what);
    (k == "gpu" ? out.gpu : out.fpga) = v;
  }
  return OkStatus();
}

Status ParseAttributeMap(const std::string& value, std::map<std::string, std::string>& out) {
  if (value.empty()) return OkStatus();
  std::stringstream ss(value);
  std::string item;
  while (std::getline(ss, item, ',')) {
    auto eq = item.find('=');
    if (eq == std::string::npos)
      return InvalidArgumentError("--attribute-map " + item + ": want OLD=NEW[,OLD=NEW...]");
    std::string from = item.substr(0, eq), to = item.substr(eq + 1);
    if (PublishedAttributes().count(from) == 0)
      return InvalidArgumentError("--attribute-map " + item +
                                  ": the driver publishes no attribute \"" + from + "\"");
    if (!QualifiedAttribute(to))
      return InvalidArgumentError(
          "--attribute-map " + item + ": \"" + to +
          "\" is not an attribute name ([domain/]C identifier of at most 32 characters)");
    out[from] = to;
  }
  // Renamed attributes must not collide with each other or with the others.
  std::map<std::string, std::string> taken;
  for (const auto& name : PublishedAttributes()) {
    auto it = out.find(name);
    std::string published = it == out.end() ? name : it->second;
    auto [prev, inserted] = taken.emplace(published, name);
    if (!inserted)
      return InvalidArgumentError("--attribute-map: attributes \"" + prev->second + "\" and \"" +
                                  name + "\" would both be published as \"" + published + "\"");
  }
  return OkStatus();
}
}  // namespace

Result<Options> ParseOptions(int argc, char** argv, bool& exit_now, int& exit_code) {
  Options o;
  exit_now = false;
  exit_code = 0;
  CLI::App app{
      "drahil-refdriver: reference DRA kubelet plugin for NVIDIA GPUs (NVML) and PCI FPGAs "
      "(libpci)"};
  std::vector<std::string> bugs;
  bool list_bugs = false;
  int64_t health_ms = 2000, recovery_ms = 6000, program_ms = 1000;
  Flag(app, "--node-name", o.node_name, "Node to publish for; also the pool name", "NODE_NAME");
  Flag(app, "--kubeconfig", o.kubeconfig, "kubeconfig of the API server", "KUBECONFIG");
  Flag(app, "--cdi-root", o.cdi_root, "Where CDI specs are written (created if missing)",
       "CDI_ROOT");
  Flag(app, "--kubelet-registrar-directory-path", o.registry_dir,
       "Kubelet plugin registry dir (must exist)", "KUBELET_REGISTRAR_DIRECTORY_PATH");
  Flag(app, "--kubelet-plugins-directory-path", o.plugins_dir,
       "Kubelet plugins dir; <dir>/<driver> is created", "KUBELET_PLUGINS_DIRECTORY_PATH");
  Flag(app, "--driver-name", o.driver_name,
       "Driver name (default gpu.drahil.dev / fpga.drahil.dev / devices.drahil.dev)",
       "DRIVER_NAME");
  Flag(app, "--device-kind", o.device_kind, "gpu | fpga | all", "DEVICE_KIND")
      ->check(CLI::IsMember({"gpu", "fpga", "all"}));
  Flag(app, "--nvml-library", o.nvml_library, "NVML library to dlopen", "NVML_LIBRARY");
  Flag(app, "--sysfs-root", o.sysfs_root,
       "PCI sysfs dir for libpci (default <dev-root>/sys/bus/pci)", "SYSFS_ROOT");
  Flag(app, "--dev-root", o.dev_root,
       "Directory holding dev/ with the device nodes (default $DRAHIL_FAKE_ROOT or /)", "DEV_ROOT");
  Flag(app, "--sharing", o.sharing, "Default sharing of shares: time-slicing | mps | none",
       "SHARING")
      ->check(CLI::IsMember({"time-slicing", "mps", "none"}));
  Flag(app, "--partitioning", o.partitioning, "none | mig-static", "PARTITIONING")
      ->check(CLI::IsMember({"none", "mig-static"}));
  app.add_flag("--consumable-capacity", o.consumable_capacity,
               "Publish GPUs with allowMultipleAllocations")
      ->envname("CONSUMABLE_CAPACITY");
  app.add_flag("--binding-conditions", o.binding_conditions,
               "FPGA devices wait for region programming")
      ->envname("BINDING_CONDITIONS");
  Flag(app, "--health-interval", health_ms, "Health check and heartbeat interval in ms",
       "HEALTH_INTERVAL");
  Flag(app, "--health-recovery", recovery_ms,
       "Quiet time in ms after an Xid before a responsive GPU is healthy again", "HEALTH_RECOVERY");
  Flag(app, "--program-delay", program_ms, "Simulated FPGA region programming time in ms",
       "PROGRAM_DELAY");
  std::string device_prefix, cdi_class, env_prefix, attribute_map;
  Flag(app, "--device-prefix", device_prefix,
       "Device names <prefix>-<index> (default gpu / fpga; gpu=X,fpga=Y sets each kind)",
       "DEVICE_PREFIX");
  Flag(app, "--partition-infix", o.partition_infix,
       "MIG partition names <prefix>-<i>-<infix>-<profile>-<n>", "PARTITION_INFIX");
  Flag(app, "--attribute-map", attribute_map, "Rename published attributes: OLD=NEW[,OLD=NEW...]",
       "ATTRIBUTE_MAP");
  Flag(app, "--cdi-vendor", o.cdi_vendor,
       "CDI vendor of the kind <vendor>/<class> (default k8s.<driver-name>)", "CDI_VENDOR");
  Flag(app, "--cdi-class", cdi_class, "CDI class (default gpu / fpga; gpu=X,fpga=Y sets each kind)",
       "CDI_CLASS");
  Flag(app, "--taint-key", o.taint_key,
       "Key of the taint on unhealthy devices (default <driver-name>/unhealthy)", "TAINT_KEY");
  Flag(app, "--devices-per-slice", o.devices_per_slice,
       "At most N devices per ResourceSlice (default: 64 with counters or taints, else 128)",
       "DEVICES_PER_SLICE")
      ->check(CLI::Range(0, 128));
  Flag(app, "--exposure", o.exposure,
       "nodes: CDI hands device nodes; env: only <env-prefix>_DEVICE_<n>=<device> variables",
       "EXPOSURE")
      ->check(CLI::IsMember({"nodes", "env"}));
  Flag(app, "--health-service", o.health_service,
       "advertised: serve v1alpha1.DRAResourceHealth and list it in GetInfo; unlisted: serve it "
       "without listing it; none: do not serve it",
       "HEALTH_SERVICE")
      ->check(CLI::IsMember({"advertised", "unlisted", "none"}));
  Flag(app, "--env-prefix", env_prefix,
       "Variable prefix with --exposure env (default GPU / FPGA; gpu=X,fpga=Y sets each kind)",
       "ENV_PREFIX");
  app.add_flag("-v", o.verbosity, "Verbosity (repeat)");
  app.add_option("--bug", bugs, "Plant a bug (repeatable; see --list-bugs)")
      ->envname("DRAHIL_BUG")
      ->delimiter(',');
  app.add_flag("--list-bugs", list_bugs, "Print the planted bugs and exit");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    exit_now = true;
    exit_code = app.exit(e);
    return o;
  }
  if (list_bugs) {
    for (const auto& b : AllBugs()) std::cout << b.name << "\t" << b.description << "\n";
    exit_now = true;
    return o;
  }
  for (const auto& b : bugs) {
    bool known = false;
    for (const auto& k : AllBugs()) known = known || b == k.name;
    if (!known) return InvalidArgumentError("--bug " + b + ": unknown bug (see --list-bugs)");
    o.bugs.insert(b);
  }
  if (o.node_name.empty()) return InvalidArgumentError("--node-name (NODE_NAME) is required");
  if (o.driver_name.empty()) {
    o.driver_name = o.device_kind == "gpu"    ? "gpu.drahil.dev"
                    : o.device_kind == "fpga" ? "fpga.drahil.dev"
                                              : "devices.drahil.dev";
  }
  DRAHIL_RETURN_IF_ERROR(ParsePerKind("--device-prefix", device_prefix, o.device_prefix,
                                      DnsLabelPart,
                                      "a DNS label part (a-z, 0-9, '-', at most 40)"));
  if (!DnsLabelPart(o.partition_infix))
    return InvalidArgumentError("--partition-infix " + o.partition_infix +
                                ": not a DNS label part (a-z, 0-9, '-', at most 40)");
  DRAHIL_RETURN_IF_ERROR(ParseAttributeMap(attribute_map, o.attribute_map));
  if (!o.cdi_vendor.empty() && !CdiName(o.cdi_vendor, /*vendor=*/true))
    return InvalidArgumentError("--cdi-vendor " + o.cdi_vendor +
                                ": not a CDI vendor name (e.g. example.com)");
  if (o.cdi_vendor.empty()) o.cdi_vendor = "k8s." + o.driver_name;
  DRAHIL_RETURN_IF_ERROR(ParsePerKind(
      "--cdi-class", cdi_class, o.cdi_class,
      [](const std::string& v) { return CdiName(v, /*vendor=*/false); },
      "a CDI class (alphanumerics, '_', '-')"));
  if (!o.taint_key.empty()) {
    auto slash = o.taint_key.find('/');
    bool ok = slash == std::string::npos ? LabelName(o.taint_key)
                                         : DnsSubdomain(o.taint_key.substr(0, slash)) &&
                                               LabelName(o.taint_key.substr(slash + 1));
    if (!ok)
      return InvalidArgumentError("--taint-key " + o.taint_key +
                                  ": not a qualified name ([domain/]name)");
  }
  if (o.taint_key.empty()) o.taint_key = o.driver_name + "/unhealthy";
  DRAHIL_RETURN_IF_ERROR(ParsePerKind("--env-prefix", env_prefix, o.env_prefix, EnvName,
                                      "a variable name (A-Z, a-z, 0-9, '_')"));
  // With both kinds on one node, names and CDI kinds must stay apart.
  if (o.device_kind == "all" && o.device_prefix.gpu == o.device_prefix.fpga)
    return InvalidArgumentError(
        "--device-prefix " + o.device_prefix.gpu +
        " with --device-kind all gives GPUs and FPGAs the same names; use gpu=X,fpga=Y");
  if (o.device_kind == "all" && o.cdi_class.gpu == o.cdi_class.fpga)
    return InvalidArgumentError(
        "--cdi-class " + o.cdi_class.gpu +
        " with --device-kind all gives GPUs and FPGAs the same CDI kind; use gpu=X,fpga=Y");
  if (const char* fr = std::getenv("DRAHIL_FAKE_ROOT"); fr && *fr) {
    o.fake_root = fr;
    if (app.count("--dev-root") == 0 && std::getenv("DEV_ROOT") == nullptr)
      o.dev_root = o.fake_root;
  }
  if (o.sysfs_root.empty()) {
    std::string root = o.dev_root == "/" ? "" : o.dev_root;
    o.sysfs_root = root + "/sys/bus/pci";
  }
  if (health_ms <= 0) return InvalidArgumentError("--health-interval must be > 0");
  o.health_interval = std::chrono::milliseconds(health_ms);
  o.health_recovery = std::chrono::milliseconds(recovery_ms);
  o.program_delay = std::chrono::milliseconds(program_ms);
  return o;
}

}  // namespace drahil::refdriver
