// expect: calls
#include "expectations.hpp"

namespace drahil::node {

StepOutcome ExpectCalls(const Json& v, CaseContext& ctx, NodeEnv& env) {
  auto calls = env.kubelet->Calls();
  calls.erase(calls.begin(), calls.begin() + std::min(calls.size(), env.calls_before));
  for (auto it = v.begin(); it != v.end(); ++it) {
    int n = 0;
    for (const auto& c : calls) n += c.method == it.key() ? 1 : 0;
    std::string why;
    if (!CompareCount(it.value().get<std::string>(), n, why))
      return StepOutcome::Fail(it.key() + " calls: " + why, "Calls");
  }
  return StepOutcome::Pass();
}

}  // namespace drahil::node
