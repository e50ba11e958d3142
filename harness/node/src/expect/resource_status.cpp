// expect: resource-status
#include "expectations.hpp"

namespace drahil::node {

StepOutcome ExpectResourceStatus(const Json& v, CaseContext& ctx, NodeEnv& env) {
  return Within(v, ctx, [&] {
    std::string pod = v["pod"], container = v["container"], want = v["health"];
    std::string uid;
    {
      MutexLock l(env.mu);
      if (auto it = env.pod_uids.find(pod); it != env.pod_uids.end()) uid = it->second;
    }
    if (uid.empty())
      return StepOutcome::Error(
          "expect resource-status: pod " + pod + " was not run (use run-pod with keep-prepared)",
          "SuiteError");
    auto rs = env.kubelet->AllocatedResourcesStatus(uid, container);
    if (!rs.ok())
      return StepOutcome::Fail(
          "allocatedResourcesStatus of " + pod + "/" + container + ": " + rs.status().message(),
          "ResourceStatus");
    int n = 0;
    std::string seen;
    for (const auto& entry : *rs) {
      if (v.contains("name") && entry.name != v["name"].get<std::string>()) continue;
      for (const auto& r : entry.resources) {
        ++n;
        seen += (seen.empty() ? "" : ", ") + entry.name + " " + r.resource_id + "=" + r.health;
        if (r.health != want)
          return StepOutcome::Fail(pod + "/" + container + " " + entry.name + " resource " +
                                       r.resource_id + " is " + r.health + ", expected " + want,
                                   "ResourceStatus");
      }
    }
    if (n == 0)
      return StepOutcome::Fail(
          pod + "/" + container + " has no allocatedResourcesStatus entries" +
              (v.contains("name") ? " named " + v["name"].get<std::string>() : ""),
          "ResourceStatus");
    if (v.contains("count") && n != v["count"].get<int>())
      return StepOutcome::Fail(std::to_string(n) + " resource(s) in allocatedResourcesStatus [" +
                                   seen + "], expected " + std::to_string(v["count"].get<int>()),
                               "ResourceStatus");
    return StepOutcome::Pass();
  });
}

}  // namespace drahil::node
