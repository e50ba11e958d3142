// expect: probe
#include "expectations.hpp"

namespace drahil::node {

StepOutcome ExpectProbe(const Json& v, CaseContext& ctx, NodeEnv& env) {
  std::string pod = v["pod"];
  std::vector<std::pair<std::string, Json>> reports;
  {
    MutexLock l(env.mu);
    if (auto it = env.probe_reports.find(pod); it != env.probe_reports.end()) reports = it->second;
  }
  if (reports.empty())
    return StepOutcome::Error("expect probe: pod " + pod + " has not run a probe", "SuiteError");
  for (const auto& [container, report] : reports) {
    if (v.contains("container") && container != v["container"].get<std::string>()) continue;
    std::string verdict = report.value("verdict", "");
    if (v.contains("verdict") && verdict != v["verdict"].get<std::string>())
      return StepOutcome::Fail("probe in " + pod + "/" + container + " reported " + verdict +
                                   ", expected " + v["verdict"].get<std::string>(),
                               "ProbeVerdict");
    for (const auto& check : v.value("values", Json::array())) {
      StepOutcome o = CheckProbeValue(check, report);
      if (!o.passed()) return o;
    }
  }
  return StepOutcome::Pass();
}

}  // namespace drahil::node
