// Internal: setting up the node for a case (fresh or shared) and discovering
// what the driver offers.
#ifndef DRAHIL_NODE_SRC_SETUP_HPP_INCLUDED
#define DRAHIL_NODE_SRC_SETUP_HPP_INCLUDED

#include "node_env.hpp"

namespace drahil::node {

// SharedNodes: the node environments cases share (attach mode, `environment:
// shared` suites, --shared-node), by key. Thread-safe.
struct SharedNodes;
std::shared_ptr<SharedNodes> MakeSharedNodes();

// SetUpNode(): the engine's set_up_case hook: a fresh node for the case, or
// its turn on a shared one, left clean when the case ends.
StepOutcome SetUpNode(CaseContext& ctx, const IntegrationOptions& opts, SharedNodes& shared);

// Discover(): the engine's discover hook: the driver's registration and
// slices, device kinds by the profile's class selectors.
Result<Inventory> Discover(CaseContext& ctx);
// ExplainDroppedFields(): the engine's explain_failure hook: the fields the
// API server dropped from written objects because their feature gate is off
// in the run's Kubernetes version (ApiServer::DroppedFields()), each with the
// gate; "" when none were.
std::string ExplainDroppedFields(CaseContext& ctx);

}  // namespace drahil::node

#endif  // DRAHIL_NODE_SRC_SETUP_HPP_INCLUDED
