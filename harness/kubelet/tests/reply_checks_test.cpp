// The kubelet stand-in's checks of one DRA reply, given as wire bytes
// (CheckSerializedReply, the path every call's reply takes): unknown UIDs,
// including when the request names a claim twice, per-claim errors and
// missing entries, with the kubelet's messages.
#include <string>
#include <vector>

#include "dra_client.hpp"
#include "drahil/proto/dra_v1.pb.h"
#include "drahil/testing/testing.hpp"

using drahil::kubelet::ClaimRef;
using drahil::kubelet::kDraV1Service;
using drahil::kubelet::internal::CheckSerializedReply;
namespace dra1 = k8s::io::kubelet::pkg::apis::dra::v1;

namespace {

std::string Reply(const std::vector<std::string>& uids, const std::string& error_for = "") {
  dra1::NodePrepareResourcesResponse resp;
  for (const auto& uid : uids) {
    auto& entry = (*resp.mutable_claims())[uid];
    if (uid == error_for) {
      entry.set_error("device busy");
      continue;
    }
    auto* d = entry.add_devices();
    d->set_pool_name("pool");
    d->set_device_name("dev-" + uid);
    d->add_request_names("req");
    d->add_cdi_device_ids("vendor.example/dev=" + uid);
  }
  return resp.SerializeAsString();
}

std::vector<ClaimRef> Claims(const std::vector<std::string>& uids) {
  std::vector<ClaimRef> out;
  for (const auto& uid : uids) out.push_back({"ns", uid, "claim-" + uid});
  return out;
}

}  // namespace

TEST_CASE("Reply checks: a reply answering every claim is OK, devices in request order",
          "[kubelet][reply]") {
  auto r =
      CheckSerializedReply(kDraV1Service, true, Claims({"b", "a", "c"}), Reply({"a", "b", "c"}));
  REQUIRE_OK(r.status);
  REQUIRE(r.claims.size() == 3);
  CHECK(r.claims[0].devices.at(0).device_name == "dev-b");
  CHECK(r.claims[1].devices.at(0).device_name == "dev-a");
  CHECK(r.claims[2].devices.at(0).cdi_device_ids.at(0) == "vendor.example/dev=c");
  CHECK(r.claims[2].devices.at(0).request_names.at(0) == "req");
}

TEST_CASE("Reply checks: the least unknown UID is named, also when the request repeats a claim",
          "[kubelet][reply]") {
  SECTION("one extra entry") {
    auto r = CheckSerializedReply(kDraV1Service, true, Claims({"a", "b"}),
                                  Reply({"a", "b", "zz", "stray"}));
    CHECK(r.status.message() == "NodePrepareResources returned result for unknown claim UID stray");
  }
  SECTION("as many entries as claims, as the request names one claim twice") {
    auto r = CheckSerializedReply(kDraV1Service, true, Claims({"a", "a"}), Reply({"a", "x"}));
    CHECK(r.status.message() == "NodePrepareResources returned result for unknown claim UID x");
  }
  SECTION("a repeated claim answered once is no unknown UID") {
    auto r = CheckSerializedReply(kDraV1Service, true, Claims({"a", "a", "b"}), Reply({"a", "b"}));
    REQUIRE_OK(r.status);
  }
  SECTION("an unknown UID comes before a claim's error and a missing entry") {
    auto r = CheckSerializedReply(kDraV1Service, true, Claims({"a", "b", "c"}),
                                  Reply({"a", "b", "q"}, "a"));
    CHECK(r.status.message() == "NodePrepareResources returned result for unknown claim UID q");
    CHECK(r.claims[0].status.message() ==
          "NodePrepareResources failed for ResourceClaim claim-a: device busy");
    CHECK(r.claims[1].status.ok());
    CHECK(r.claims[2].status.message() ==
          "NodePrepareResources returned no result for ResourceClaim claim-c");
  }
}

TEST_CASE("Reply checks: a claim's error, then missing entries, make the verdict",
          "[kubelet][reply]") {
  auto err = CheckSerializedReply(kDraV1Service, true, Claims({"a", "b"}), Reply({"a", "b"}, "b"));
  CHECK(err.status.message() ==
        "NodePrepareResources failed for ResourceClaim claim-b: device busy");
  auto missing = CheckSerializedReply(kDraV1Service, true, Claims({"a", "b", "c"}), Reply({"b"}));
  CHECK(missing.status.message() == "NodePrepareResources skipped 2 ResourceClaims");
  auto garbage =
      CheckSerializedReply(kDraV1Service, true, Claims({"a"}), std::string("\x0a\xff", 2));
  CHECK(garbage.status.message() == "NodePrepareResources: the reply does not parse");
}
