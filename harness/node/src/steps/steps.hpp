// Internal: the node-side step handlers, one file each.
#ifndef DRAHIL_NODE_SRC_STEPS_STEPS_HPP_INCLUDED
#define DRAHIL_NODE_SRC_STEPS_STEPS_HPP_INCLUDED

#include "../node_env.hpp"

namespace drahil::node {

std::shared_ptr<StepHandler> MakeApplyStep();                // apply: manifests over REST
std::shared_ptr<StepHandler> MakeDeleteStep();               // delete: one object
std::shared_ptr<StepHandler> MakeAllocateStep();             // allocate: the scheduler's allocation
std::shared_ptr<StepHandler> MakeRawCallStep(bool prepare);  // prepare / unprepare: raw DRA calls
std::shared_ptr<StepHandler> MakeExpectStep();               // expect: Expectations() by key
std::shared_ptr<StepHandler> MakeNodeInjectStep();  // inject: device and API faults, restarts
std::shared_ptr<StepHandler> MakeRunPodStep(std::shared_ptr<StepHandler> allocate);  // run-pod
std::shared_ptr<StepHandler> MakeProfileDraftStep();  // profile-draft: `drahil profile init`

}  // namespace drahil::node

#endif  // DRAHIL_NODE_SRC_STEPS_STEPS_HPP_INCLUDED
