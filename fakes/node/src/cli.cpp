// The fakenode subcommands; a thin layer over fakenode.hpp.
#include "drahil/fakenode/cli.hpp"

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "drahil/fakenode/fakenode.hpp"

namespace drahil::fakenode {
namespace {

struct Options {
  std::string profile, root, node_name, device, fault;
  uint64_t after = 0;
  bool force = false;
  bool json = false;
};

int ReportError(const Status& s) {
  std::fprintf(stderr, "drahil-fakenode: %s\n", s.ToString().c_str());
  bool usage = s.code() == Code::kInvalidArgument || s.code() == Code::kNotFound ||
               s.code() == Code::kAlreadyExists || s.code() == Code::kFailedPrecondition;
  return usage ? 2 : 3;
}

std::string HumanBytes(uint64_t b) {
  char buf[32];
  if (b % (1ull << 30) == 0) {
    std::snprintf(buf, sizeof(buf), "%lluGi", static_cast<unsigned long long>(b >> 30));
  } else {
    std::snprintf(buf, sizeof(buf), "%lluMi", static_cast<unsigned long long>(b >> 20));
  }
  return buf;
}

int RunCreate(const Options& o) {
  auto profile = LoadProfile(o.profile);
  if (!profile.ok()) return ReportError(profile.status());
  auto node = CreateNode(*profile, o.root, CreateOptions{o.node_name, o.force});
  if (!node.ok()) return ReportError(node.status().WithContext("create node root " + o.root));
  std::printf("node %s (profile %s) at %s\n", node->node_name.c_str(), node->profile.c_str(),
              o.root.c_str());
  for (const auto& g : node->gpus) {
    std::printf("  gpu%u  %s  %s  %s  %s%s\n", g.minor, g.bdf.c_str(), g.uuid.c_str(),
                g.name.c_str(), HumanBytes(g.memory_bytes).c_str(), g.mig_enabled ? "  MIG" : "");
    for (const auto& m : g.mig_devices) {
      std::printf("    mig%u  %-8s %s  %s  gi %u  cap %u\n", m.index, m.profile.c_str(),
                  m.uuid.c_str(), HumanBytes(m.memory_bytes).c_str(), m.gi_id, m.cap_minor);
    }
  }
  for (const auto& f : node->fpgas) {
    std::printf("  fpga%u %s  %s  %s  %zu VF(s)\n", f.index, f.mgmt_bdf.c_str(), f.uuid.c_str(),
                f.name.c_str(), f.vfs.size());
  }
  std::printf("export DRAHIL_FAKE_ROOT=%s\n", o.root.c_str());
  return 0;
}

int RunList(const Options& o) {
  auto devs = ListDevices(o.root);
  if (!devs.ok()) return ReportError(devs.status());
  if (o.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& d : *devs) {
      arr.push_back({{"key", d.key},
                     {"kind", d.kind},
                     {"uuid", d.uuid},
                     {"bdf", d.bdf},
                     {"name", d.name},
                     {"nodes", d.nodes},
                     {"faults", d.faults}});
    }
    std::printf("%s\n", arr.dump(2).c_str());
    return 0;
  }
  for (const auto& d : *devs) {
    std::string nodes, faults;
    for (const auto& n : d.nodes) nodes += (nodes.empty() ? "" : ",") + n;
    for (const auto& f : d.faults) faults += (faults.empty() ? "" : ",") + f;
    std::printf("%-12s %-5s %-42s %-13s %s  [%s]%s%s\n", d.key.c_str(), d.kind.c_str(),
                d.uuid.empty() ? "-" : d.uuid.c_str(), d.bdf.empty() ? "-" : d.bdf.c_str(),
                d.name.c_str(), nodes.c_str(), faults.empty() ? "" : "  faults: ", faults.c_str());
  }
  return 0;
}

int RunInject(const Options& o) {
  auto f = InjectFault(o.root, o.device, o.fault, o.after);
  if (!f.ok()) return ReportError(f.status());
  std::printf("injected %s on %s (fault id %llu, after %llu calls)\n", FaultToString(*f).c_str(),
              o.device.c_str(), static_cast<unsigned long long>(f->id),
              static_cast<unsigned long long>(f->after));
  return 0;
}

int RunClear(const Options& o) {
  Status s = ClearFaults(o.root, o.device);
  if (!s.ok()) return ReportError(s);
  std::printf("cleared faults of %s\n", o.device.empty() ? "every device" : o.device.c_str());
  return 0;
}

}  // namespace

void AddSubcommands(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  auto wrap = [exit_code, o](int (*fn)(const Options&)) {
    return [exit_code, o, fn] {
      try {
        *exit_code = fn(*o);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "drahil-fakenode: internal error: %s\n", e.what());
        *exit_code = 3;
      }
    };
  };

  auto* create = app.add_subcommand("create", "Build an emulated node root from a profile");
  create->add_option("--profile", o->profile, "Node profile (fakes/profiles/*.yaml)")->required();
  create->add_option("--root", o->root, "Directory to create the node root in")->required();
  create->add_option("--node-name", o->node_name, "Node name (seeds the device UUIDs)");
  create->add_flag("--force", o->force, "Replace an existing node root");
  create->callback(wrap(RunCreate));

  auto* list = app.add_subcommand("list", "List the devices of a node root and their faults");
  list->add_option("--root", o->root, "Node root")->required();
  list->add_flag("--json", o->json, "Print JSON");
  list->callback(wrap(RunList));

  auto* inject = app.add_subcommand("inject", "Inject a device fault");
  inject->add_option("--root", o->root, "Node root")->required();
  inject
      ->add_option("--device", o->device,
                   "gpu<N>, GPU-/MIG- UUID, PCI address, fpga<N> or FPGA- id")
      ->required();
  inject->add_option("--fault", o->fault, "xid:<n> | lost | ecc | pcie-aer | fpga-region-error")
      ->required();
  inject->add_option("--after", o->after,
                     "Calls a process makes on the device before the fault hits it");
  inject->callback(wrap(RunInject));

  auto* clear = app.add_subcommand("clear", "Clear injected faults");
  clear->add_option("--root", o->root, "Node root")->required();
  clear->add_option("--device", o->device, "Only this device (default: all)");
  clear->callback(wrap(RunClear));
}

}  // namespace drahil::fakenode
