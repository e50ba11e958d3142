// Internal: the `expect` step's expectations, one function (and file) per
// key, found through Expectations().
#ifndef DRAHIL_NODE_SRC_EXPECT_EXPECTATIONS_HPP_INCLUDED
#define DRAHIL_NODE_SRC_EXPECT_EXPECTATIONS_HPP_INCLUDED

#include "../node_env.hpp"

namespace drahil::node {

// Expectation: checks one key of an `expect` step (v is its value).
using Expectation = StepOutcome (*)(const Json& v, CaseContext& ctx, NodeEnv& env);

// Expectations(): key → expectation, for every key the suite loader accepts.
const std::map<std::string, Expectation>& Expectations();

// Within(): re-checks until it passes or `within` (bounded by the step
// deadline) runs out.
template <typename F>
StepOutcome Within(const Json& v, CaseContext& ctx, F check) {
  Duration within{0};
  if (v.is_object() && v.contains("within"))
    within = *ParseDuration(v["within"].get<std::string>());
  auto end = std::min(Clock::Real().Now() + within, ctx.step_deadline);
  StepOutcome o;
  Status polled = PollUntil(Clock::Real(), end, CancellablePoll(ctx, milliseconds(100)),
                            "the expectation", [&] {
                              o = check();
                              return o.passed() || o.verdict != Verdict::kFail;
                            });
  if (polled.code() == Code::kCancelled) return StepOutcome::Error("interrupted", "Interrupted");
  if (!o.passed() && within.count() > 0)
    o.message += " (still after " + FormatDuration(within) + ")";
  return o;
}

StepOutcome ExpectGrpcCode(const Json& v, CaseContext& ctx, NodeEnv& env);
StepOutcome ExpectClaimError(const Json& v, CaseContext& ctx, NodeEnv& env);
StepOutcome ExpectCdiIds(const Json& v, CaseContext& ctx, NodeEnv& env);
StepOutcome ExpectSlices(const Json& v, CaseContext& ctx, NodeEnv& env);
StepOutcome ExpectClaimStatus(const Json& v, CaseContext& ctx, NodeEnv& env);
StepOutcome ExpectHealth(const Json& v, CaseContext& ctx, NodeEnv& env);
StepOutcome ExpectTaints(const Json& v, CaseContext& ctx, NodeEnv& env);
StepOutcome ExpectApiAudit(const Json& v, CaseContext& ctx, NodeEnv& env);
StepOutcome ExpectCalls(const Json& v, CaseContext& ctx, NodeEnv& env);
StepOutcome ExpectAudit(const Json& v, CaseContext& ctx, NodeEnv& env);
StepOutcome ExpectPodResources(const Json& v, CaseContext& ctx, NodeEnv& env);
StepOutcome ExpectResourceStatus(const Json& v, CaseContext& ctx, NodeEnv& env);
StepOutcome ExpectDriverGrowth(const Json& v, CaseContext& ctx, NodeEnv& env);
StepOutcome ExpectProbe(const Json& v, CaseContext& ctx, NodeEnv& env);
StepOutcome ExpectRegistration(const Json& v, CaseContext& ctx, NodeEnv& env);
StepOutcome ExpectCdiClean(const Json& v, CaseContext& ctx, NodeEnv& env);
StepOutcome ExpectCounters(const Json& v, CaseContext& ctx, NodeEnv& env);
StepOutcome ExpectPoolGeneration(const Json& v, CaseContext& ctx, NodeEnv& env);
StepOutcome ExpectShareIds(const Json& v, CaseContext& ctx, NodeEnv& env);
StepOutcome ExpectPodStatus(const Json& v, CaseContext& ctx, NodeEnv& env);

}  // namespace drahil::node

#endif  // DRAHIL_NODE_SRC_EXPECT_EXPECTATIONS_HPP_INCLUDED
