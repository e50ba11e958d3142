// expect: health
#include "expectations.hpp"

namespace drahil::node {

StepOutcome ExpectHealth(const Json& v, CaseContext& ctx, NodeEnv& env) {
  return Within(v, ctx, [&] {
    std::string dev = v["device"], want = v["state"];
    auto snap = env.kubelet->Health(env.driver);
    for (const auto& d : snap.devices) {
      if (d.device_name != dev) continue;
      std::string have(kubelet::HealthName(d.effective));
      if (have == want) return StepOutcome::Pass();
      return StepOutcome::Fail("device " + dev + " is " + have + ", expected " + want +
                                   (d.message.empty() ? "" : " (" + d.message + ")"),
                               "Health");
    }
    // No cached health (the stream ended and the kubelet dropped the
    // driver's entries, or the device was never reported): pod status
    // shows such a device as Unknown.
    if (want == "Unknown") return StepOutcome::Pass();
    std::string stream =
        snap.stream_open ? ""
        : snap.service.empty()
            ? "; the kubelet watches no health service of this driver instance"
            : "; no " + snap.service + " stream open (" + std::to_string(snap.stream_starts) +
                  " opened so far" +
                  (snap.stream_starts > 0
                       ? ", the last ended: " + (snap.last_stream_end.ok()
                                                     ? std::string("EOF")
                                                     : snap.last_stream_end.message())
                       : std::string()) +
                  ")";
    return StepOutcome::Fail(
        "the driver reported no health for device " + dev + " (Unknown)" + stream, "Health");
  });
}

}  // namespace drahil::node
