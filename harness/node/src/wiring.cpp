#include "drahil/node/node.hpp"
#include "setup.hpp"
#include "steps/steps.hpp"

namespace drahil::node {

void Install(StepRegistry& steps, EngineHooks& hooks, const IntegrationOptions& opts) {
  auto shared = MakeSharedNodes();
  hooks.set_up_case = [opts, shared](CaseContext& ctx) { return SetUpNode(ctx, opts, *shared); };
  hooks.discover = [](CaseContext& ctx) { return Discover(ctx); };
  hooks.explain_failure = [](CaseContext& ctx) { return ExplainDroppedFields(ctx); };
  steps.Register("apply", MakeApplyStep());
  steps.Register("delete", MakeDeleteStep());
  auto allocate = MakeAllocateStep();
  steps.Register("allocate", allocate);
  steps.Register("run-pod", MakeRunPodStep(allocate));
  steps.Register("prepare", MakeRawCallStep(true));
  steps.Register("unprepare", MakeRawCallStep(false));
  steps.Register("expect", MakeExpectStep());
  steps.Register("profile-draft", MakeProfileDraftStep());
  // Driver process faults stay with the runner's driver handler; the rest
  // (device, API, kubelet, reboot) come here.
  steps.Register("inject", MakeDriverInjectStep(MakeNodeInjectStep()));
}

std::vector<std::string> Modules() {
  return {"apiserver", "kubelet", "allocator", "cdi", "sandbox", "fakenode"};
}

}  // namespace drahil::node
