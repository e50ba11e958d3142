// Checks that the generated code puts every service on the wire path the
// kubelet and Go drivers use, and that field numbers match
// docs/reference/protocol.md (a wrong number would still compile and round-trip
// with ourselves, so only descriptor checks catch it).
#include <catch2/catch.hpp>
#include <string>

#include "drahil/proto/dra_health_v1.grpc.pb.h"
#include "drahil/proto/dra_health_v1alpha1.grpc.pb.h"
#include "drahil/proto/dra_v1.grpc.pb.h"
#include "drahil/proto/dra_v1beta1.grpc.pb.h"
#include "drahil/proto/pluginregistration_v1.grpc.pb.h"
#include "drahil/proto/podresources_v1.grpc.pb.h"

namespace {

namespace dra1 = k8s::io::kubelet::pkg::apis::dra::v1;
namespace dra1b = k8s::io::kubelet::pkg::apis::dra::v1beta1;
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

int Num(const Descriptor* d, const std::string& field) {
  const FieldDescriptor* f = d->FindFieldByName(field);
  return f == nullptr ? -1 : f->number();
}

}  // namespace

TEST_CASE("proto: service full names match the wire paths", "[proto]") {
  CHECK(dra1::DRAPlugin::service_full_name() ==
        std::string("k8s.io.kubelet.pkg.apis.dra.v1.DRAPlugin"));
  CHECK(dra1b::DRAPlugin::service_full_name() ==
        std::string("k8s.io.kubelet.pkg.apis.dra.v1beta1.DRAPlugin"));
  CHECK(pluginregistration::Registration::service_full_name() ==
        std::string("pluginregistration.Registration"));
  CHECK(v1alpha1::DRAResourceHealth::service_full_name() ==
        std::string("v1alpha1.DRAResourceHealth"));
  CHECK(v1::DRAResourceHealth::service_full_name() == std::string("v1.DRAResourceHealth"));
  CHECK(v1::PodResourcesLister::service_full_name() == std::string("v1.PodResourcesLister"));
  const auto* svc =
      dra1::NodePrepareResourcesRequest::descriptor()->file()->FindServiceByName("DRAPlugin");
  REQUIRE(svc != nullptr);
  CHECK(svc->FindMethodByName("NodePrepareResources") != nullptr);
  CHECK(svc->FindMethodByName("NodeUnprepareResources") != nullptr);
  const auto* hsvc = v1alpha1::NodeWatchResourcesRequest::descriptor()->file()->FindServiceByName(
      "DRAResourceHealth");
  REQUIRE(hsvc != nullptr);
  CHECK(hsvc->FindMethodByName("NodeWatchResources")->server_streaming());
}

TEST_CASE("proto: DRA field numbers follow docs/reference/protocol.md 1.1/1.2", "[proto]") {
  CHECK(Num(dra1::Claim::descriptor(), "namespace") == 1);
  CHECK(Num(dra1::Claim::descriptor(), "uid") == 2);
  CHECK(Num(dra1::Claim::descriptor(), "name") == 3);
  CHECK(Num(dra1::Device::descriptor(), "request_names") == 1);
  CHECK(Num(dra1::Device::descriptor(), "pool_name") == 2);
  CHECK(Num(dra1::Device::descriptor(), "device_name") == 3);
  CHECK(Num(dra1::Device::descriptor(), "cdi_device_ids") == 4);
  CHECK(Num(dra1::Device::descriptor(), "share_id") == 5);
  CHECK(dra1::Device::descriptor()->FindFieldByName("share_id")->has_presence());
  CHECK(Num(dra1b::Device::descriptor(), "share_id") == -1);
  CHECK(Num(dra1b::Device::descriptor(), "cdi_device_ids") == 4);
  CHECK(Num(dra1::NodePrepareResourceResponse::descriptor(), "devices") == 1);
  CHECK(Num(dra1::NodePrepareResourceResponse::descriptor(), "error") == 2);
  CHECK(Num(dra1::NodeUnprepareResourceResponse::descriptor(), "error") == 1);
  CHECK(Num(dra1b::NodeUnprepareResourceResponse::descriptor(), "error") == 1);
  CHECK(dra1::NodePrepareResourcesResponse::descriptor()->FindFieldByName("claims")->is_map());
}

TEST_CASE("proto: registration, health and PodResource field numbers", "[proto]") {
  const auto* info = pluginregistration::PluginInfo::descriptor();
  CHECK(Num(info, "type") == 1);
  CHECK(Num(info, "name") == 2);
  CHECK(Num(info, "endpoint") == 3);
  CHECK(Num(info, "supported_versions") == 4);
  CHECK(Num(pluginregistration::RegistrationStatus::descriptor(), "plugin_registered") == 1);
  CHECK(Num(pluginregistration::RegistrationStatus::descriptor(), "error") == 2);
  for (const Descriptor* d :
       {v1alpha1::DeviceHealth::descriptor(), v1::DeviceHealth::descriptor()}) {
    CHECK(Num(d, "device") == 1);
    CHECK(Num(d, "health") == 2);
    CHECK(Num(d, "last_updated_time") == 3);
    CHECK(Num(d, "health_check_timeout_seconds") == 4);
    CHECK(Num(d, "message") == 5);
  }
  CHECK(v1alpha1::UNHEALTHY == 2);
  CHECK(v1::HEALTHY == 1);
  CHECK(Num(v1::ContainerResources::descriptor(), "dynamic_resources") == 5);
  CHECK(Num(v1::DynamicResource::descriptor(), "claim_name") == 2);
  CHECK(Num(v1::DynamicResource::descriptor(), "claim_namespace") == 3);
  CHECK(Num(v1::DynamicResource::descriptor(), "claim_resources") == 4);
  CHECK(Num(v1::ClaimResource::descriptor(), "share_id") == 5);
  CHECK(Num(v1::ClaimResource::descriptor(), "driver_name") == 2);
  CHECK(Num(v1::CDIDevice::descriptor(), "name") == 1);
  CHECK(Num(v1::GetPodResourcesRequest::descriptor(), "pod_namespace") == 2);
}

TEST_CASE("proto: v1 bytes decode as v1beta1 and an empty map value means no error", "[proto]") {
  dra1::NodePrepareResourcesResponse r;
  auto& entry = (*r.mutable_claims())["uid-1"];
  auto* dev = entry.add_devices();
  dev->set_pool_name("pool");
  dev->set_device_name("gpu-0");
  dev->add_cdi_device_ids("vendor.com/gpu=gpu-0");
  dev->set_share_id("s1");
  (*r.mutable_claims())["uid-2"];  // present key, absent value
  std::string wire = r.SerializeAsString();
  dra1b::NodePrepareResourcesResponse b;
  REQUIRE(b.ParseFromString(wire));
  REQUIRE(b.claims().size() == 2);
  CHECK(b.claims().at("uid-1").devices(0).cdi_device_ids(0) == "vendor.com/gpu=gpu-0");
  CHECK(b.claims().at("uid-2").error().empty());
  dra1::Device empty_share;
  empty_share.set_share_id("");
  dra1::Device back;
  REQUIRE(back.ParseFromString(empty_share.SerializeAsString()));
  CHECK(back.has_share_id());
}
