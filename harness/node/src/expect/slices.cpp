// expect: slices
#include "expectations.hpp"

namespace drahil::node {

StepOutcome ExpectSlices(const Json& v, CaseContext& ctx, NodeEnv& env) {
  return Within(v, ctx, [&] {
    std::string driver = v.value("driver", env.driver);
    auto slices = DriverSlices(env, driver);
    if (v.contains("pool")) {
      std::vector<Json> keep;
      for (auto& s : slices)
        if (s["spec"]["pool"].value("name", "") == v["pool"].get<std::string>()) keep.push_back(s);
      slices = keep;
    }
    int devices = 0;
    for (const auto& s : slices)
      devices += static_cast<int>(s["spec"].value("devices", Json::array()).size());
    // count: 0 = the driver has no slices (wiped or never published).
    if (v.contains("count") && v["count"].get<int>() == 0 && slices.empty())
      return StepOutcome::Pass();
    if (v.contains("count") && static_cast<int>(slices.size()) != v["count"].get<int>())
      return StepOutcome::Fail(std::to_string(slices.size()) + " slice(s) for " + driver +
                                   ", expected " + std::to_string(v["count"].get<int>()),
                               "Slices");
    if (v.contains("devices") && devices != v["devices"].get<int>())
      return StepOutcome::Fail(std::to_string(devices) + " device(s) in the slices, expected " +
                                   std::to_string(v["devices"].get<int>()),
                               "Slices");
    if (v.contains("min-devices") && devices < v["min-devices"].get<int>())
      return StepOutcome::Fail(std::to_string(devices) +
                                   " device(s) in the slices, expected at least " +
                                   std::to_string(v["min-devices"].get<int>()),
                               "Slices");
    if (!PoolsComplete(slices))
      return StepOutcome::Fail("the driver's pools are incomplete (resourceSliceCount/generation)",
                               "Slices");
    return StepOutcome::Pass();
  });
}

}  // namespace drahil::node
