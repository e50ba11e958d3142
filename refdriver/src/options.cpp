#include "options.hpp"

#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>

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
}  // namespace

Result<Options> ParseOptions(int argc, char** argv, bool& exit_now, int& exit_code) {
  Options o;
  exit_now = false;
  exit_code = 0;
  CLI::App app{"drahil-refdriver: reference DRA kubelet plugin for NVIDIA GPUs (NVML) and PCI FPGAs (libpci)"};
  std::vector<std::string> bugs;
  bool list_bugs = false;
  int64_t health_ms = 2000, recovery_ms = 6000, program_ms = 1000;
  Flag(app, "--node-name", o.node_name, "Node to publish for; also the pool name", "NODE_NAME");
  Flag(app, "--kubeconfig", o.kubeconfig, "kubeconfig of the API server", "KUBECONFIG");
  Flag(app, "--cdi-root", o.cdi_root, "Where CDI specs are written (created if missing)", "CDI_ROOT");
  Flag(app, "--kubelet-registrar-directory-path", o.registry_dir, "Kubelet plugin registry dir (must exist)",
       "KUBELET_REGISTRAR_DIRECTORY_PATH");
  Flag(app, "--kubelet-plugins-directory-path", o.plugins_dir, "Kubelet plugins dir; <dir>/<driver> is created",
       "KUBELET_PLUGINS_DIRECTORY_PATH");
  Flag(app, "--driver-name", o.driver_name, "Driver name (default gpu.drahil.dev / fpga.drahil.dev / devices.drahil.dev)",
       "DRIVER_NAME");
  Flag(app, "--device-kind", o.device_kind, "gpu | fpga | all", "DEVICE_KIND")
      ->check(CLI::IsMember({"gpu", "fpga", "all"}));
  Flag(app, "--nvml-library", o.nvml_library, "NVML library to dlopen", "NVML_LIBRARY");
  Flag(app, "--sysfs-root", o.sysfs_root, "PCI sysfs dir for libpci (default <dev-root>/sys/bus/pci)", "SYSFS_ROOT");
  Flag(app, "--dev-root", o.dev_root, "Directory holding dev/ with the device nodes (default $DRAHIL_FAKE_ROOT or /)",
       "DEV_ROOT");
  Flag(app, "--sharing", o.sharing, "Default sharing of shares: time-slicing | mps | none", "SHARING")
      ->check(CLI::IsMember({"time-slicing", "mps", "none"}));
  Flag(app, "--partitioning", o.partitioning, "none | mig-static", "PARTITIONING")
      ->check(CLI::IsMember({"none", "mig-static"}));
  app.add_flag("--consumable-capacity", o.consumable_capacity, "Publish GPUs with allowMultipleAllocations")
      ->envname("CONSUMABLE_CAPACITY");
  app.add_flag("--binding-conditions", o.binding_conditions, "FPGA devices wait for region programming")
      ->envname("BINDING_CONDITIONS");
  Flag(app, "--health-interval", health_ms, "Health check and heartbeat interval in ms", "HEALTH_INTERVAL");
  Flag(app, "--health-recovery", recovery_ms, "Quiet time in ms after an Xid before a responsive GPU is healthy again",
       "HEALTH_RECOVERY");
  Flag(app, "--program-delay", program_ms, "Simulated FPGA region programming time in ms", "PROGRAM_DELAY");
  app.add_flag("-v", o.verbosity, "Verbosity (repeat)");
  app.add_option("--bug", bugs, "Plant a bug (repeatable; see --list-bugs)")->envname("DRAHIL_BUG")->delimiter(',');
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
    o.driver_name = o.device_kind == "gpu" ? "gpu.drahil.dev"
                    : o.device_kind == "fpga" ? "fpga.drahil.dev"
                                              : "devices.drahil.dev";
  }
  if (const char* fr = std::getenv("DRAHIL_FAKE_ROOT"); fr && *fr) {
    o.fake_root = fr;
    if (app.count("--dev-root") == 0 && std::getenv("DEV_ROOT") == nullptr) o.dev_root = o.fake_root;
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
