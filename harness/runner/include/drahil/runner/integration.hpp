// File: integration.hpp
//
// Wires the node-side modules (API server, kubelet stand-in, allocator, CDI,
// sandbox, fake node, probes) into the engine: the step handlers for apply,
// allocate, prepare, run-pod, expect, inject and the per-case set-up that
// starts the stand-ins and the driver. Each piece is installed only when its
// module is part of the build; the rest stay "MissingModule" errors.
//
// Thread-safety: InstallIntegration() is called once before Engine::Run().
#ifndef DRAHIL_RUNNER_INTEGRATION_HPP_INCLUDED
#define DRAHIL_RUNNER_INTEGRATION_HPP_INCLUDED

#include <string>
#include <vector>

#include "drahil/runner/engine.hpp"

namespace drahil::runner {

struct IntegrationOptions {
  std::string attach_registry_dir;  // --attach: the driver already runs; watch this dir
  std::string attach_cdi_dir;       // --cdi-dir: where the attached driver writes CDI specs
  // The API server's listen address ("" = 127.0.0.1, any free port) and a
  // file to write the driver's kubeconfig to (attach mode: start the driver
  // with it; the whole run shares one node).
  std::string api_listen;
  std::string kubeconfig_out;
  // --shared-node: every suite runs its cases on one node, as if it said
  // `environment: shared`.
  bool shared_node = false;
  std::string bin_dir;              // where drahil-refdriver, drahil-probe-* live
  std::string node_profiles_dir;    // fakes/profiles: emulated node profiles by name
};

// InstallIntegration(): registers handlers and hooks for every module built in.
void InstallIntegration(StepRegistry& steps, EngineHooks& hooks, const IntegrationOptions& options);

// IntegratedModules(): which modules InstallIntegration() wired, for `drahil doctor`.
std::vector<std::string> IntegratedModules();

}  // namespace drahil::runner

#endif  // DRAHIL_RUNNER_INTEGRATION_HPP_INCLUDED
