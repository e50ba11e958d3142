// expect: claim-error
#include "expectations.hpp"

namespace drahil::node {

StepOutcome ExpectClaimError(const Json& v, CaseContext& ctx, NodeEnv& env) {
  std::optional<kubelet::CallResult> last;
  {
    MutexLock l(env.mu);
    last = env.last_call;
  }
  if (!last)
    return StepOutcome::Error("expect claim-error: no DRA call was made yet", "SuiteError");
  auto [ns, name] = SplitRef(v["claim"].get<std::string>());
  for (const auto& c : last->claims) {
    if (c.claim.namespace_name != ns || c.claim.name != name) continue;
    std::string msg = c.status.ok() ? "" : c.status.message();
    if (v.value("empty", false) && !msg.empty())
      return StepOutcome::Fail("claim " + ns + "/" + name + " has error: " + msg, "ClaimError");
    if (v.contains("empty") && !v["empty"].get<bool>() && msg.empty())
      return StepOutcome::Fail(
          "claim " + ns + "/" + name + " has no error; expected the driver to refuse it",
          "ClaimError");
    // message: a named error whose text the profile may supply; without
    // it any non-empty error satisfies the case.
    if (v.contains("message")) {
      if (msg.empty())
        return StepOutcome::Fail("claim " + ns + "/" + name + " has no error; expected " +
                                     v["message"].get<std::string>(),
                                 "ClaimError");
      auto it = ctx.profile.devices.errors.find(v["message"].get<std::string>());
      if (it != ctx.profile.devices.errors.end() && msg.find(it->second) == std::string::npos)
        return StepOutcome::Fail("claim " + ns + "/" + name + " error \"" + msg +
                                     "\" does not contain \"" + it->second + "\" (profile errors." +
                                     it->first + ")",
                                 "ClaimError");
    }
    if (v.contains("contains") && msg.find(v["contains"].get<std::string>()) == std::string::npos) {
      return StepOutcome::Fail("claim " + ns + "/" + name + " error \"" + msg +
                                   "\" does not contain \"" + v["contains"].get<std::string>() +
                                   "\"",
                               "ClaimError");
    }
    return StepOutcome::Pass();
  }
  return StepOutcome::Fail("the last DRA call had no result for claim " + ns + "/" + name,
                           "ClaimError");
}

}  // namespace drahil::node
