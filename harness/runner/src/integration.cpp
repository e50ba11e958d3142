#include "drahil/runner/integration.hpp"

namespace drahil::runner {

void InstallIntegration(StepRegistry& steps, EngineHooks& hooks,
                        const IntegrationOptions& options) {
  // Without the node side (harness/node) the node steps stay MissingModule
  // errors; attach mode says so at once.
  if (!options.attach_registry_dir.empty()) {
    hooks.set_up_case = [dir = options.attach_registry_dir](CaseContext&) {
      return StepOutcome::Error("--attach " + dir +
                                    " needs the node side (harness/node), "
                                    "which this drahil build does not include",
                                "MissingModule");
    };
  }
}

}  // namespace drahil::runner
