// expect: registration
#include "drahil/core/strings.hpp"
#include "expectations.hpp"

namespace drahil::node {

// The services the driver advertised in GetInfo (PluginInfo.supported_versions)
// when it registered, as the kubelet stand-in recorded them: every service
// the case lists must be among them.
StepOutcome ExpectRegistration(const Json& v, CaseContext& /*ctx*/, NodeEnv& env) {
  std::vector<kubelet::PluginState> mine;
  for (auto& p : env.kubelet->Plugins())
    if (p.name == env.driver) mine.push_back(std::move(p));
  if (mine.empty())
    return StepOutcome::Fail("no registered plugin names driver " + env.driver, "Registration");
  std::vector<std::string> findings;
  for (const auto& p : mine) {
    for (const auto& want : v.value("services", Json::array())) {
      const auto& have = p.supported_versions;
      if (std::find(have.begin(), have.end(), want.get<std::string>()) != have.end()) continue;
      findings.push_back(p.registration_socket + ": supported_versions [" + Join(have, ", ") +
                         "] lacks " + want.get<std::string>());
    }
  }
  if (!findings.empty())
    return StepOutcome::Fail(
        "GetInfo does not advertise every required service: " + Join(findings, "; "),
        "Registration");
  return StepOutcome::Pass();
}

}  // namespace drahil::node
