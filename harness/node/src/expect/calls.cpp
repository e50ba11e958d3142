// expect: calls
#include "expectations.hpp"

namespace drahil::node {

StepOutcome ExpectCalls(const Json& v, CaseContext& ctx, NodeEnv& env) {
  auto now = env.kubelet->CallCounts();
  for (auto it = v.begin(); it != v.end(); ++it) {
    auto count = [&](const std::map<std::string, uint64_t>& m) -> uint64_t {
      auto f = m.find(it.key());
      return f == m.end() ? 0 : f->second;
    };
    int n = static_cast<int>(count(now) - count(env.calls_before));
    std::string why;
    if (!CompareCount(it.value().get<std::string>(), n, why))
      return StepOutcome::Fail(it.key() + " calls: " + why, "Calls");
  }
  return StepOutcome::Pass();
}

}  // namespace drahil::node
