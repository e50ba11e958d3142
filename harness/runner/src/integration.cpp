#include "drahil/runner/integration.hpp"

#include "node_steps.hpp"

namespace drahil::runner {

void InstallIntegration(StepRegistry& steps, EngineHooks& hooks, const IntegrationOptions& options) {
  if (InstallNodeIntegration(steps, hooks, options)) return;
  if (!options.attach_registry_dir.empty()) {
    hooks.set_up_case = [dir = options.attach_registry_dir](CaseContext&) {
      return StepOutcome::Error("--attach " + dir + " needs the kubelet stand-in (harness/kubelet), "
                                "which this drahil build does not include", "MissingModule");
    };
  }
}

std::vector<std::string> IntegratedModules() {
#if DRAHIL_RUNNER_HAVE_NODE
  return {"apiserver", "kubelet", "allocator", "cdi", "sandbox", "fakenode"};
#else
  return {};
#endif
}

}  // namespace drahil::runner
