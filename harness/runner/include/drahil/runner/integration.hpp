// File: integration.hpp
//
// The options of the node side (harness/node: per-case API server, kubelet
// stand-in, emulated node and driver, and the step handlers that use them),
// and the fallback for a build without it: node::Install() registers the real
// handlers; InstallIntegration() leaves every node step a "MissingModule"
// error and refuses --attach.
//
// Thread-safety: either is called once before Engine::Run().
#ifndef DRAHIL_RUNNER_INTEGRATION_HPP_INCLUDED
#define DRAHIL_RUNNER_INTEGRATION_HPP_INCLUDED

#include <chrono>
#include <cstdint>
#include <optional>
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
  std::string bin_dir;            // where drahil-refdriver, drahil-probe-* live
  std::string node_profiles_dir;  // fakes/profiles: emulated node profiles by name
  // --seed: the allocator tries pools and slices in an order shuffled by it
  // (unset: a fixed order, by name); recorded as the case property
  // allocator.seed. Discovery lists devices in the same order, so roles
  // bind from its end whatever the seed.
  std::optional<uint64_t> allocator_seed;
  // --pod-sync-backoff: the kubelet stand-in's wait before it syncs a pod
  // whose prepare failed again (kubelet::KubeletStandIn::Options, 10 s as
  // the kubelet); unset = the kubelet's.
  std::optional<std::chrono::milliseconds> pod_sync_backoff;
  // The Kubernetes version the API server, scheduler and kubelet stand-ins
  // behave as, with its feature gates (RunOptions::gates, the same value).
  FeatureGates gates = FeatureGates::Newest();
};

// ParseSeed(): a --seed value. "random" (and "", the default) draws a fresh
// seed, so every run tries pools in another order, as kube-scheduler does
// (its pool order is a Go map's); a decimal number repeats a run's order;
// "none" keeps the fixed order by name (unset). Anything else is an
// InvalidArgument naming the flag.
Result<std::optional<uint64_t>> ParseSeed(const std::string& text);

// InstallIntegration(): the fallback without harness/node (see above).
void InstallIntegration(StepRegistry& steps, EngineHooks& hooks, const IntegrationOptions& options);

}  // namespace drahil::runner

#endif  // DRAHIL_RUNNER_INTEGRATION_HPP_INCLUDED
