// File: node.hpp
//
// The node side of a run: for every case, the API server, the kubelet
// stand-in, the emulated node and the driver (fresh, or a shared node), the
// step handlers that use them (apply, delete, allocate, prepare, unprepare,
// run-pod, expect, inject) and discovery of what the driver offers.
//
//   runner::StepRegistry steps = runner::StepRegistry::WithBuiltins();
//   runner::EngineHooks hooks;
//   node::Install(steps, hooks, options);   // before Engine::Run()
//
// Layout (src/): node_env (the case's node environment and shared helpers),
// setup (fresh and shared nodes), discovery, steps/<step>.cpp, and
// expect/<key>.cpp behind Expectations(); wiring.cpp puts them together.
//
// Thread-safety: Install() once before the run; the handlers it registers
// may run for several cases at once (each case has its own environment).
#ifndef DRAHIL_NODE_NODE_HPP_INCLUDED
#define DRAHIL_NODE_NODE_HPP_INCLUDED

#include <string>
#include <vector>

#include "drahil/runner/engine.hpp"
#include "drahil/runner/integration.hpp"

namespace drahil::node {

// Install(): registers the node-side step handlers and the set-up and
// discovery hooks.
void Install(runner::StepRegistry& steps, runner::EngineHooks& hooks,
             const runner::IntegrationOptions& options);

// Modules(): the modules the node side wires together (for `drahil doctor`).
std::vector<std::string> Modules();

}  // namespace drahil::node

#endif  // DRAHIL_NODE_NODE_HPP_INCLUDED
