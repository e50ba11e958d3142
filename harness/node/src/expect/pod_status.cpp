// expect: pod-status
#include "expectations.hpp"

namespace drahil::node {

// ExpectPodStatus(): the pod as the API shows it: bound to the node
// (spec.nodeName), its phase, a condition, an event about it.
StepOutcome ExpectPodStatus(const Json& v, CaseContext& ctx, NodeEnv& env) {
  return Within(v, ctx, [&] {
    auto [ns, name] = SplitRef(v["pod"].get<std::string>());
    std::string what = "pod " + ns + "/" + name;
    auto p = env.api->Get("pods", ns, name);
    if (!p.ok()) return StepOutcome::Fail(what + ": " + p.status().message(), "PodStatus");
    const Json& spec = (*p)["spec"];
    Json st = p->value("status", Json::object());
    if (v.contains("bound")) {
      std::string node = spec.value("nodeName", "");
      bool bound = !node.empty();
      if (bound != v["bound"].get<bool>()) {
        return StepOutcome::Fail(
            what + (bound ? " is bound to node " + node : " is not bound to a node"), "PodStatus");
      }
      if (bound && node != env.node)
        return StepOutcome::Fail(what + " is bound to " + node + ", not " + env.node, "PodStatus");
    }
    if (v.contains("phase")) {
      std::string have = st.value("phase", "");
      if (have != v["phase"].get<std::string>()) {
        return StepOutcome::Fail(what + " is in phase " + (have.empty() ? "(none)" : have) +
                                     ", expected " + v["phase"].get<std::string>(),
                                 "PodStatus");
      }
    }
    if (v.contains("condition")) {
      const Json& want = v["condition"];
      std::string type = want["type"];
      const Json conds = st.value("conditions", Json::array());
      const Json* found = nullptr;
      for (const auto& c : conds)
        if (c.value("type", "") == type) found = &c;
      std::string have = found ? found->value("status", "") : "absent";
      if (have != want["status"].get<std::string>()) {
        return StepOutcome::Fail(what + ": condition " + type + " is " + have + ", expected " +
                                     want["status"].get<std::string>(),
                                 "PodStatus");
      }
      if (want.contains("reason") && found->value("reason", "") != want["reason"]) {
        return StepOutcome::Fail(what + ": condition " + type + " has reason \"" +
                                     found->value("reason", "") + "\", expected \"" +
                                     want["reason"].get<std::string>() + "\"",
                                 "PodStatus");
      }
    }
    if (v.contains("event")) {
      std::string reason = v["event"];
      bool seen = false;
      for (const auto& e : env.api->List("events", ns).value_or(std::vector<Json>{})) {
        const Json& io = e.value("involvedObject", Json::object());
        if (io.value("kind", "") == "Pod" && io.value("name", "") == name &&
            e.value("reason", "") == reason)
          seen = true;
      }
      if (!seen) return StepOutcome::Fail(what + " has no event " + reason, "PodStatus");
    }
    return StepOutcome::Pass();
  });
}

}  // namespace drahil::node
