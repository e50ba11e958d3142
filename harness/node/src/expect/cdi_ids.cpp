// expect: cdi-ids
#include "drahil/cdi/audit.hpp"
#include "drahil/cdi/registry.hpp"
#include "expectations.hpp"

namespace drahil::node {

StepOutcome ExpectCdiIds(const Json& v, CaseContext& ctx, NodeEnv& env) {
  auto [ns, name] = SplitRef(v["claim"].get<std::string>());
  std::vector<std::string> ids;
  {
    MutexLock l(env.mu);
    ids = env.cdi_ids[ns + "/" + name];
  }
  if (v.contains("count") && ids.size() != v["count"].get<size_t>()) {
    std::string list;
    for (const auto& id : ids) list += (list.empty() ? "" : ", ") + id;
    return StepOutcome::Fail("claim " + ns + "/" + name + " got " + std::to_string(ids.size()) +
                                 " CDI device ID(s) [" + list + "], expected " +
                                 std::to_string(v["count"].get<size_t>()),
                             "CdiIds");
  }
  for (const auto& pat : v.value("matches", Json::array())) {
    std::regex re(pat.get<std::string>());
    for (const auto& id : ids)
      if (!std::regex_search(id, re))
        return StepOutcome::Fail("CDI ID \"" + id + "\" does not match " + pat.get<std::string>(),
                                 "CdiIds");
  }
  // The vendor prefix is a convention (k8s.<driver>/...), not a contract:
  // a different one is worth a warning, never a verdict.
  if (v.contains("prefix")) {
    std::regex re;
    try {
      re = std::regex(v["prefix"].get<std::string>());
    } catch (const std::regex_error& e) {
      return StepOutcome::Error(
          "cdi-ids prefix " + v["prefix"].get<std::string>() + " is not a regex: " + e.what(),
          "SuiteError");
    }
    for (const auto& id : ids)
      if (!std::regex_search(id, re)) {
        ctx.Note("warning: CDI ID \"" + id + "\" does not match the expected vendor pattern " +
                 v["prefix"].get<std::string>());
        ctx.Property("warning.cdi-vendor", id);
      }
  }
  // Every device allocated to the claim by this driver needs a CDI ID:
  // the runtime can only hand a container what the IDs name.
  if (!v.contains("count") && v.value("cover", true)) {
    auto claim = env.api->Get("resourceclaims", ns, name);
    if (!claim.ok()) return StepOutcome::FromStatus(claim.status(), "claim " + ns + "/" + name);
    std::set<std::string> covered;
    {
      MutexLock l(env.mu);
      covered = env.cdi_covered[ns + "/" + name];
    }
    const Json& results = (*claim)
                              .value("status", Json::object())
                              .value("allocation", Json::object())
                              .value("devices", Json::object())
                              .value("results", Json::array());
    for (const auto& r : results) {
      if (r.value("driver", "") != env.driver || r.value("adminAccess", false)) continue;
      std::string dev = r.value("pool", "") + "/" + r.value("device", "");
      if (!covered.count(dev))
        return StepOutcome::Fail("device " + dev + " allocated to claim " + ns + "/" + name +
                                     " got no CDI device ID from NodePrepareResources",
                                 "CdiIds");
    }
    if (ids.empty() && !results.empty())
      return StepOutcome::Fail("claim " + ns + "/" + name + " got no CDI device IDs", "CdiIds");
  }
  // Every ID must resolve in the CDI dir, as the container runtime requires.
  auto reg = cdi::Registry::Load({ctx.dirs.cdi_dir});
  if (!reg.ok()) return StepOutcome::FromStatus(reg.status(), "load CDI specs");
  if (auto special = reg->SpecialFiles(); !special.empty())
    return StepOutcome::Fail("the CDI dir is unusable: " + special.front().status.message(),
                             "CdiSpecialFile");
  for (const auto& id : ids) {
    auto f = reg->Find(id);
    if (!f.ok())
      return StepOutcome::Fail("CDI ID \"" + id + "\" does not resolve in " + ctx.dirs.cdi_dir +
                                   ": " + f.status().message(),
                               "CdiUnresolved");
  }
  return StepOutcome::Pass();
}

}  // namespace drahil::node
