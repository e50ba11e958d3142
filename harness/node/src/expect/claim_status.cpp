// expect: claim-status
#include "expectations.hpp"

namespace drahil::node {

StepOutcome ExpectClaimStatus(const Json& v, CaseContext& ctx, NodeEnv& env) {
  return Within(v, ctx, [&] {
    auto [ns, name] = SplitRef(v["claim"].get<std::string>());
    auto c = env.api->Get("resourceclaims", ns, name);
    if (!c.ok())
      return StepOutcome::Fail("claim " + ns + "/" + name + ": " + c.status().message(),
                               "ClaimStatus");
    Json st = c->value("status", Json::object());
    bool allocated = st.contains("allocation");
    if (v.contains("allocated") && allocated != v["allocated"].get<bool>())
      return StepOutcome::Fail(
          std::string("claim ") + ns + "/" + name + (allocated ? " is" : " is not") + " allocated",
          "ClaimStatus");
    if (v.contains("devices")) {
      size_t n = allocated ? st["allocation"]["devices"].value("results", Json::array()).size() : 0;
      if (n != v["devices"].get<size_t>())
        return StepOutcome::Fail("claim has " + std::to_string(n) + " allocated device(s)",
                                 "ClaimStatus");
    }
    if (v.contains("reserved-for")) {
      size_t n = st.value("reservedFor", Json::array()).size();
      if (n != v["reserved-for"].get<size_t>())
        return StepOutcome::Fail("claim is reserved for " + std::to_string(n) + " consumer(s)",
                                 "ClaimStatus");
    }
    if (v.contains("condition")) {
      std::string type = v["condition"]["type"], want = v["condition"]["status"];
      std::string have = "absent";
      for (const auto& d : st.value("devices", Json::array()))
        for (const auto& cond : d.value("conditions", Json::array()))
          if (cond.value("type", "") == type) have = cond.value("status", "");
      if (have != want)
        return StepOutcome::Fail("condition " + type + " is " + have + ", expected " + want,
                                 "ClaimStatus");
    }
    return StepOutcome::Pass();
  });
}

}  // namespace drahil::node
