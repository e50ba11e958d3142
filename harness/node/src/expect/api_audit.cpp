// expect: api-audit
#include "expectations.hpp"

namespace drahil::node {

StepOutcome ExpectApiAudit(const Json& v, CaseContext& ctx, NodeEnv& env) {
  int n = 0;
  for (const auto& e : env.api->AuditLog()) {
    if (v.contains("verb") && e.verb != v["verb"].get<std::string>()) continue;
    if (v.contains("resource") && e.resource != v["resource"].get<std::string>()) continue;
    if (v.contains("user") && e.user != v["user"].get<std::string>()) continue;
    ++n;
  }
  if (v.contains("min") && n < v["min"].get<int>())
    return StepOutcome::Fail(std::to_string(n) + " matching API request(s), expected at least " +
                                 std::to_string(v["min"].get<int>()),
                             "ApiAudit");
  if (v.contains("max") && n > v["max"].get<int>())
    return StepOutcome::Fail(std::to_string(n) + " matching API request(s), expected at most " +
                                 std::to_string(v["max"].get<int>()),
                             "ApiAudit");
  return StepOutcome::Pass();
}

}  // namespace drahil::node
