// expect: pod-resources
#include <grpcpp/grpcpp.h>

#include "drahil/proto/podresources_v1.grpc.pb.h"
#include "expectations.hpp"

namespace drahil::node {

StepOutcome ExpectPodResources(const Json& v, CaseContext& ctx, NodeEnv& env) {
  if (env.podresources_socket.empty())
    return StepOutcome::Error("PodResources is not served in this case (socket path too long)",
                              "NoPodResources");
  auto [ns, name] = SplitRef(v["pod"].get<std::string>());
  auto channel =
      grpc::CreateChannel("unix:" + env.podresources_socket, grpc::InsecureChannelCredentials());
  auto stub = ::v1::PodResourcesLister::NewStub(channel);
  grpc::ClientContext gctx;
  gctx.set_deadline(std::chrono::system_clock::now() +
                    std::min<Clock::Duration>(ctx.Remaining(), std::chrono::seconds(10)));
  ::v1::GetPodResourcesRequest req;
  req.set_pod_name(name);
  req.set_pod_namespace(ns);
  ::v1::GetPodResourcesResponse resp;
  auto t0 = Clock::Real().Now();
  grpc::Status st = stub->Get(&gctx, req, &resp);
  ctx.Record("grpc", "v1.PodResourcesLister/Get",
             st.ok() ? "OK" : std::string(CodeName(static_cast<Code>(st.error_code()))),
             Ms(Clock::Real().Now() - t0), st.error_message());
  bool want_present = v.value("present", true);
  if (!st.ok()) {
    if (!want_present && st.error_code() == grpc::StatusCode::NOT_FOUND) return StepOutcome::Pass();
    return StepOutcome::Fail("PodResources Get " + ns + "/" + name + ": " + st.error_message(),
                             "PodResources");
  }
  if (!want_present)
    return StepOutcome::Fail("PodResources still lists pod " + ns + "/" + name, "PodResources");
  // (claim ns/name) → set of driver/pool/device from PodResources.
  std::map<std::string, std::set<std::string>> listed;
  int devices = 0;
  for (const auto& ctr : resp.pod_resources().containers()) {
    if (v.contains("container") && ctr.name() != v["container"].get<std::string>()) continue;
    for (const auto& dr : ctr.dynamic_resources()) {
      for (const auto& cr : dr.claim_resources()) {
        listed[dr.claim_namespace() + "/" + dr.claim_name()].insert(
            cr.driver_name() + "/" + cr.pool_name() + "/" + cr.device_name());
        ++devices;
        if (cr.cdi_devices_size() == 0)
          return StepOutcome::Fail("PodResources entry for device " + cr.device_name() +
                                       " of claim " + dr.claim_name() + " has no CDI device",
                                   "PodResources");
      }
    }
  }
  if (v.contains("devices") && devices != v["devices"].get<int>())
    return StepOutcome::Fail("PodResources lists " + std::to_string(devices) + " device(s) for " +
                                 ns + "/" + name + ", expected " +
                                 std::to_string(v["devices"].get<int>()),
                             "PodResources");
  for (const auto& [claim, set] : listed) {
    auto [cns, cname] = SplitRef(claim);
    auto obj = env.api->Get("resourceclaims", cns, cname);
    if (!obj.ok())
      return StepOutcome::Fail(
          "PodResources names claim " + claim + " which the API server does not have",
          "PodResources");
    std::set<std::string> allocated;
    for (const auto& r : obj->value("status", Json::object())
                             .value("allocation", Json::object())
                             .value("devices", Json::object())
                             .value("results", Json::array()))
      allocated.insert(r.value("driver", "") + "/" + r.value("pool", "") + "/" +
                       r.value("device", ""));
    for (const auto& d : set)
      if (!allocated.count(d))
        return StepOutcome::Fail(
            "PodResources lists " + d + " for claim " + claim + ", which is not in its allocation",
            "PodResources");
  }
  if (listed.empty() && v.value("devices", 1) != 0)
    return StepOutcome::Fail("PodResources has no DRA entries for pod " + ns + "/" + name,
                             "PodResources");
  return StepOutcome::Pass();
}

}  // namespace drahil::node
