// `drahil allocate`: a dry-run scheduler. Reads Kubernetes manifests
// (DeviceClasses, ResourceSlices, claims, templates, pods, nodes, namespaces,
// DeviceTaintRules), allocates devices as kube-scheduler would, and prints
// every claim and pod as YAML with status.allocation / PodScheduled filled in.
#include <cstdio>
#include <string>

#include "drahil/allocator/allocator.hpp"
#include "drahil/cli/commands.hpp"
#include "drahil/kube/manifest.hpp"

namespace drahil::cli {

void AddAllocatorCommands(CLI::App& app, CliContext& ctx) {
  struct Args {
    std::string manifests;
    std::string slices;
    int64_t max_steps = 1'000'000;
    bool quiet = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "allocate",
      "Dry-run the DRA scheduler: allocate devices for every pod and claim in the manifests\n"
      "and print them as YAML (exit 0: all allocated, 1: something unschedulable, 2: bad input)");
  cmd->add_option("--manifests", args->manifests,
                  "File or directory of manifests (*.yaml, *.yml, *.json)")
      ->required();
  cmd->add_option("--slices", args->slices,
                  "Extra file or directory with ResourceSlices (e.g. from a live driver)");
  cmd->add_option("--max-steps", args->max_steps, "Search budget in device trials per pod");
  cmd->add_flag("-q,--quiet", args->quiet, "Print only the summary lines, not the objects");
  cmd->callback([args, &ctx] {
    std::vector<nlohmann::json> objects;
    for (const std::string& path : {args->manifests, args->slices}) {
      if (path.empty()) continue;
      // kubectl's reading rules (drahil::kube): YAML or JSON, "---" documents,
      // List kinds flattened, a directory's *.yaml/*.yml/*.json in order.
      auto docs = kube::LoadManifests(path);
      if (!docs.ok()) {
        std::fprintf(stderr, "drahil allocate: %s\n", docs.status().ToString().c_str());
        ctx.exit_code = kExitUsage;
        return;
      }
      for (auto& d : *docs) objects.push_back(std::move(d.object));
    }
    allocator::Options opts;
    opts.max_steps = args->max_steps;
    auto result = allocator::DryRun(objects, opts);
    if (!result.ok()) {
      std::fprintf(stderr, "drahil allocate: %s\n", result.status().ToString().c_str());
      ctx.exit_code = result.status().code() == Code::kInternal ? kExitInternal : kExitUsage;
      return;
    }
    std::string out;
    if (!args->quiet) {
      for (const auto& c : result->claims) {
        std::string key =
            c["metadata"].value("namespace", "") + "/" + c["metadata"].value("name", "");
        auto it = result->claim_messages.find(key);
        out += "---\n";
        if (it != result->claim_messages.end()) out += "# " + it->second + "\n";
        out += kube::JsonToYaml(c);
      }
      for (const auto& p : result->pods) out += "---\n" + kube::JsonToYaml(p);
    }
    std::fputs(out.c_str(), stdout);
    // The summary goes to stderr so stdout stays valid YAML for kubectl/yq.
    for (const auto& line : result->report) std::fprintf(stderr, "%s\n", line.c_str());
    ctx.exit_code = result->all_allocated ? kExitOk : kExitTestFailures;
  });
}

}  // namespace drahil::cli
