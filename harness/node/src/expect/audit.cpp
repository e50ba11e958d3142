// expect: audit
#include "drahil/cdi/audit.hpp"

#include "drahil/cdi/registry.hpp"
#include "expectations.hpp"

namespace drahil::node {

StepOutcome ExpectAudit(const Json& v, CaseContext& ctx, NodeEnv& env) {
  // Audit what the last prepare handed out, as the container would get it.
  std::map<std::string, std::vector<std::string>> ids;
  {
    MutexLock l(env.mu);
    ids = env.cdi_ids;
  }
  if (ids.empty())
    return StepOutcome::Error("expect audit: no claim was prepared yet", "SuiteError");
  auto reg = cdi::Registry::Load({ctx.dirs.cdi_dir});
  if (!reg.ok()) return StepOutcome::FromStatus(reg.status(), "load CDI specs");
  if (auto special = reg->SpecialFiles(); !special.empty())
    return StepOutcome::Fail("the CDI dir is unusable: " + special.front().status.message(),
                             "CdiSpecialFile");
  std::vector<cdi::Finding> findings;
  for (const auto& [claim, list] : ids) {
    auto res = reg->Resolve(list);
    if (!res.ok())
      return StepOutcome::Fail(
          "claim " + claim + ": CDI IDs do not resolve: " + res.status().message(),
          "CdiUnresolved");
    cdi::AuditOptions ao;
    if (!env.fake_root.empty()) ao.device_roots.push_back(env.fake_root + "/dev");
    for (auto& f : cdi::AuditResolution(*res, ao)) findings.push_back(std::move(f));
  }
  std::string text;
  int counted = 0;
  for (const auto& f : findings) {
    if (f.severity != cdi::Severity::kInfo) ++counted;
    text += "\n  " + f.ToString();
  }
  for (const auto& rule : v.value("forbid", Json::array()))
    for (const auto& f : findings)
      if (f.rule == rule.get<std::string>())
        return StepOutcome::Fail("CDI audit finding " + f.rule + ":" + text, "CdiAudit");
  if (v.contains("max-findings") && counted > v["max-findings"].get<int>())
    return StepOutcome::Fail(std::to_string(counted) +
                                 " CDI audit finding(s) above info, expected at most " +
                                 std::to_string(v["max-findings"].get<int>()) + ":" + text,
                             "CdiAudit");
  if (v.contains("max-severity")) {
    auto worst = cdi::MaxSeverity(findings);
    std::string limit = v["max-severity"];
    if (worst && cdi::SeverityName(*worst) != limit) {
      static const std::vector<std::string> order = {"info", "warning", "high", "critical"};
      auto rank = [&](std::string_view n) {
        return std::find(order.begin(), order.end(), n) - order.begin();
      };
      if (rank(cdi::SeverityName(*worst)) > rank(limit))
        return StepOutcome::Fail("CDI audit found severity " +
                                     std::string(cdi::SeverityName(*worst)) + " (limit " + limit +
                                     "):" + text,
                                 "CdiAudit");
    }
  }
  return StepOutcome::Pass();
}

}  // namespace drahil::node
