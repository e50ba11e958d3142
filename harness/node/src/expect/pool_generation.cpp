// expect: pool-generation
#include "expectations.hpp"

namespace drahil::node {
namespace {

// MaxGeneration(): the highest pool generation among the slices (-1: none).
int64_t MaxGeneration(const std::vector<Json>& slices) {
  int64_t g = -1;
  for (const auto& s : slices)
    g = std::max(g, s["spec"].value("pool", Json::object()).value("generation", int64_t{0}));
  return g;
}

}  // namespace

// `record: true` remembers the driver's highest pool generation; `increased:
// true` then requires a higher one, and with `contains` a slice whose spec
// mentions that text (the change the case made, e.g. a taint key). The
// scheduler uses only a pool's newest generation, so a change republished
// under the old one leaves stale devices schedulable.
StepOutcome ExpectPoolGeneration(const Json& v, CaseContext& ctx, NodeEnv& env) {
  if (v.value("record", false)) {
    int64_t g = MaxGeneration(DriverSlices(env, env.driver));
    MutexLock l(env.mu);
    env.recorded_generation = g;
    return StepOutcome::Pass();
  }
  std::optional<int64_t> before;
  {
    MutexLock l(env.mu);
    before = env.recorded_generation;
  }
  if (!before)
    return StepOutcome::Error(
        "expect pool-generation: no generation was recorded (an earlier `pool-generation: "
        "{record: true}`)",
        "SuiteError");
  const std::string contains = v.value("contains", "");
  return Within(v, ctx, [&] {
    auto slices = DriverSlices(env, env.driver);
    bool changed = contains.empty();
    for (const auto& s : slices)
      if (!changed && s["spec"].dump().find(contains) != std::string::npos) changed = true;
    int64_t g = MaxGeneration(slices);
    if (!changed)
      return StepOutcome::Fail("no slice of " + env.driver + " mentions \"" + contains + "\"",
                               "PoolGeneration");
    if (g <= *before)
      return StepOutcome::Fail("the slices changed but the pool generation stayed " +
                                   std::to_string(g) + " (recorded " + std::to_string(*before) +
                                   ")",
                               "PoolGeneration");
    return StepOutcome::Pass();
  });
}

}  // namespace drahil::node
