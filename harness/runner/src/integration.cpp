#include "drahil/runner/integration.hpp"

#include <cerrno>
#include <cstdlib>
#include <random>

namespace drahil::runner {

Result<std::optional<uint64_t>> ParseSeed(const std::string& text) {
  if (text == "none") return std::optional<uint64_t>();
  if (text.empty() || text == "random") {
    std::random_device rd;
    uint64_t seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    return std::optional<uint64_t>(seed);
  }
  char* end = nullptr;
  errno = 0;
  uint64_t seed = std::strtoull(text.c_str(), &end, 10);
  if (text.find_first_not_of("0123456789") != std::string::npos || errno != 0 || *end != '\0') {
    return InvalidArgumentError("--seed: expected a number, \"random\" or \"none\", got \"" + text +
                                "\"");
  }
  return std::optional<uint64_t>(seed);
}

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
