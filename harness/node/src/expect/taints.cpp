// expect: taints
#include "expectations.hpp"

namespace drahil::node {

StepOutcome ExpectTaints(const Json& v, CaseContext& ctx, NodeEnv& env) {
  return Within(v, ctx, [&] {
    int n = 0;
    for (const auto& s : DriverSlices(env, env.driver))
      for (const auto& d : s["spec"].value("devices", Json::array())) {
        if (v.contains("device") && d.value("name", "") != v["device"].get<std::string>()) continue;
        for (const auto& t : d.value("taints", Json::array())) {
          if (v.contains("key") && t.value("key", "") != v["key"].get<std::string>()) continue;
          if (v.contains("effect") && t.value("effect", "") != v["effect"].get<std::string>())
            continue;
          ++n;
        }
      }
    int want = v.value("count", 1);
    if (v.value("absent", false)) want = 0;
    if (n != want)
      return StepOutcome::Fail(
          std::to_string(n) + " matching taint(s), expected " + std::to_string(want), "Taints");
    return StepOutcome::Pass();
  });
}

}  // namespace drahil::node
