// expect: share-ids
#include "drahil/core/strings.hpp"
#include "expectations.hpp"

namespace drahil::node {

// The last NodePrepareResources returned, for each device of the claim, the
// shareID its allocation result carries (DRA v1, KEP-5075): the kubelet
// tells shares of one device apart by it.
StepOutcome ExpectShareIds(const Json& v, CaseContext& /*ctx*/, NodeEnv& env) {
  auto [ns, name] = SplitRef(v["claim"].get<std::string>());
  const std::string ref = ns + "/" + name;
  auto claim = env.api->Get("resourceclaims", ns, name);
  if (!claim.ok()) return StepOutcome::FromStatus(claim.status(), "claim " + ref);
  std::map<std::string, std::string> want;  // pool/device → shareID
  const Json& results = (*claim)
                            .value("status", Json::object())
                            .value("allocation", Json::object())
                            .value("devices", Json::object())
                            .value("results", Json::array());
  for (const auto& r : results)
    if (r.value("driver", "") == env.driver && !r.value("shareID", "").empty())
      want[r.value("pool", "") + "/" + r.value("device", "")] = r["shareID"].get<std::string>();
  if (want.empty())
    return StepOutcome::Error("expect share-ids: claim " + ref +
                                  " has no allocation result with a shareID for " + env.driver,
                              "SuiteError");
  std::optional<kubelet::CallResult> last;
  {
    MutexLock l(env.mu);
    last = env.last_call;
  }
  if (!last || last->record.method != "NodePrepareResources")
    return StepOutcome::Error("expect share-ids: no NodePrepareResources call was made yet",
                              "SuiteError");
  std::vector<std::string> findings;
  int seen = 0;
  for (const auto& c : last->claims) {
    if (c.claim.namespace_name != ns || c.claim.name != name) continue;
    if (!c.status.ok())
      return StepOutcome::Fail("prepare of " + ref + " failed: " + c.status.message(), "ShareId");
    for (const auto& d : c.devices) {
      ++seen;
      auto it = want.find(d.pool_name + "/" + d.device_name);
      if (it == want.end()) continue;
      std::string got = d.share_id.value_or("");
      if (got != it->second)
        findings.push_back("device " + it->first + ": share_id \"" + got +
                           "\", the allocation has shareID \"" + it->second + "\"");
    }
  }
  if (seen == 0) findings.push_back("the last NodePrepareResources lists no device of " + ref);
  if (!findings.empty())
    return StepOutcome::Fail(
        "NodePrepareResources does not return the allocation's shareID: " + Join(findings, "; "),
        "ShareId");
  return StepOutcome::Pass();
}

}  // namespace drahil::node
