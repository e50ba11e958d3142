// Internal: node-mode wiring (see node_steps.cpp).
#ifndef DRAHIL_RUNNER_SRC_NODE_STEPS_HPP_INCLUDED
#define DRAHIL_RUNNER_SRC_NODE_STEPS_HPP_INCLUDED

#include "drahil/runner/engine.hpp"
#include "drahil/runner/integration.hpp"

namespace drahil::runner {
// InstallNodeIntegration(): false when the node modules are not built in.
bool InstallNodeIntegration(StepRegistry& steps, EngineHooks& hooks, const IntegrationOptions& options);
}  // namespace drahil::runner

#endif
