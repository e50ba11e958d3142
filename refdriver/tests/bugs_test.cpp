// Every planted bug of drahil-refdriver changes behaviour observably. Each
// test runs the driver with one bug and shows the defect; the same check
// passes on the well-behaved driver (integration_test.cpp).
#include <thread>

#include "drahil/core/file_util.hpp"
#include "drahil/testing/testing.hpp"
#include "harness.hpp"

using namespace std::chrono_literals;
using drahil::kubelet::HealthSnapshot;
using drahil::kubelet::HealthState;
using drahil::refdriver::testing::Bed;
using drahil::refdriver::testing::BedOptions;
using Json = nlohmann::json;

namespace {

std::unique_ptr<Bed> WithBug(const std::string& bug, std::vector<std::string> args = {},
                             std::string profile = "gpu-8x-mig-server",
                             std::string node = "gpu-server-1") {
  BedOptions o;
  o.profile = profile;
  o.node = node;
  o.args = std::move(args);
  o.args.push_back("--bug");
  o.args.push_back(bug);
  auto bed = Bed::Start(o);
  INFO(bed.status().ToString());
  REQUIRE(bed.ok());
  return std::move(*bed);
}

Json Spec(Bed& bed, const std::string& uid) {
  for (const auto& f : bed.CdiFiles()) {
    if (f.find(uid) == std::string::npos) continue;
    auto text = drahil::ReadFile(bed.CdiDir() + "/" + f);
    REQUIRE_OK(text);
    return Json::parse(*text);
  }
  return Json();
}

std::string Env(const Json& spec, const std::string& name) {
  if (!spec.is_object()) return "";
  for (const auto& e : spec.value("containerEdits", Json::object()).value("env", Json::array())) {
    std::string s = e.get<std::string>();
    if (s.rfind(name + "=", 0) == 0) return s.substr(name.size() + 1);
  }
  return "";
}

drahil::kubelet::ClaimRef Claim(Bed& bed, const std::string& name, std::vector<Json> results) {
  auto c = bed.AllocatedClaim(name, results);
  INFO(c.status().ToString());
  REQUIRE(c.ok());
  return bed.Ref(*c);
}

bool SawHealth(Bed& bed, const std::string& device, HealthState state,
               std::chrono::milliseconds within) {
  auto r = bed.kubelet().WaitForHealth(
      bed.options().driver,
      [&](const HealthSnapshot& h) {
        for (const auto& d : h.devices)
          if (d.device_name == device && d.reported == state) return true;
        return false;
      },
      within);
  return r.ok();
}

Json Share(Bed& bed, const std::string& id, const std::string& mem) {
  Json r = bed.DeviceResult("gpu-5");
  r["shareID"] = id;
  r["consumedCapacity"] = {{"memory", mem}};
  return r;
}

}  // namespace

TEST_CASE("refdriver bug non-idempotent-prepare: a repeated prepare returns new CDI IDs",
          "[refdriver][bugs][slow]") {
  auto bed = WithBug("non-idempotent-prepare");
  auto ref = Claim(*bed, "c", {bed->DeviceResult("gpu-5")});
  auto a = bed->Prepare({ref});
  auto b = bed->Prepare({ref});
  REQUIRE_OK(a.status);
  REQUIRE_OK(b.status);
  CHECK(a.claims[0].devices[0].cdi_device_ids != b.claims[0].devices[0].cdi_device_ids);
}

TEST_CASE("refdriver bug cdi-leak: the CDI spec survives unprepare", "[refdriver][bugs][slow]") {
  auto bed = WithBug("cdi-leak");
  auto ref = Claim(*bed, "c", {bed->DeviceResult("gpu-5")});
  REQUIRE_OK(bed->Prepare({ref}).status);
  REQUIRE_OK(bed->Unprepare({ref}).status);
  CHECK(Spec(*bed, ref.uid).is_object());
}

TEST_CASE("refdriver bug unprepare-unknown-fails: unprepare of an unknown claim fails",
          "[refdriver][bugs][slow]") {
  auto bed = WithBug("unprepare-unknown-fails");
  auto r = bed->Unprepare({{"default", "33333333-3333-3333-3333-333333333333", "gone"}});
  CHECK_FALSE(r.status.ok());
}

TEST_CASE("refdriver bug no-uid-check: a replaced claim is prepared", "[refdriver][bugs][slow]") {
  auto bed = WithBug("no-uid-check");
  auto ref = Claim(*bed, "c", {bed->DeviceResult("gpu-5")});
  ref.uid = "44444444-4444-4444-4444-444444444444";
  auto r = bed->Prepare({ref});
  CHECK(r.record.code == drahil::Code::kOk);
}

TEST_CASE("refdriver bug no-allocation-check: an unallocated claim is prepared",
          "[refdriver][bugs][slow]") {
  auto bed = WithBug("no-allocation-check");
  auto ref = Claim(*bed, "c", {});
  auto r = bed->Prepare({ref});
  CHECK(r.record.code == drahil::Code::kOk);
}

TEST_CASE("refdriver bug double-book: one device is prepared for two claims",
          "[refdriver][bugs][slow]") {
  auto bed = WithBug("double-book");
  auto a = Claim(*bed, "a", {bed->DeviceResult("gpu-5")});
  auto b = Claim(*bed, "b", {bed->DeviceResult("gpu-5")});
  REQUIRE_OK(bed->Prepare({a}).status);
  auto r = bed->Prepare({b});
  REQUIRE(r.claims.size() == 1);
  CHECK(r.claims[0].status.ok());
}

TEST_CASE("refdriver bug env-all-gpus: the env names every GPU of the node",
          "[refdriver][bugs][slow]") {
  auto bed = WithBug("env-all-gpus");
  auto ref = Claim(*bed, "c", {bed->DeviceResult("gpu-5")});
  REQUIRE_OK(bed->Prepare({ref}).status);
  CHECK(Env(Spec(*bed, ref.uid), "NVIDIA_VISIBLE_DEVICES").find(',') != std::string::npos);
}

TEST_CASE("refdriver bug extra-device-node: the spec grants an unallocated GPU's node",
          "[refdriver][bugs][slow]") {
  auto bed = WithBug("extra-device-node");
  auto ref = Claim(*bed, "c", {bed->DeviceResult("gpu-5")});
  REQUIRE_OK(bed->Prepare({ref}).status);
  CHECK(Spec(*bed, ref.uid).dump().find("/dev/nvidia6") != std::string::npos);
}

TEST_CASE("refdriver bug no-mps-limit: a share gets no pinned-memory limit",
          "[refdriver][bugs][slow]") {
  auto bed = WithBug("no-mps-limit", {"--consumable-capacity", "--sharing", "mps"});
  auto ref = Claim(*bed, "c", {Share(*bed, "bbbbbbbb-0000-0000-0000-000000000001", "4Gi")});
  REQUIRE_OK(bed->Prepare({ref}).status);
  Json spec = Spec(*bed, ref.uid);
  REQUIRE(spec.is_object());
  CHECK(Env(spec, "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT").empty());
}

TEST_CASE("refdriver bug wrong-counters: partitions consume fewer counters than they occupy",
          "[refdriver][bugs][slow]") {
  auto bed = WithBug("wrong-counters", {"--partitioning", "mig-static"});
  auto devs = bed->Devices();
  REQUIRE_OK(devs);
  bool found = false;
  for (const auto& d : *devs) {
    if (d["attributes"].value("profile", Json::object()).value("string", "") != "3g.40gb") continue;
    int slices = 0;
    for (auto& [k, v] : d["consumesCounters"][0]["counters"].items())
      slices += k.rfind("memslice", 0) == 0;
    CHECK(slices < 4);  // a 3g.40gb instance occupies four memory slices
    found = true;
  }
  CHECK(found);
}

TEST_CASE("refdriver bug health-silent: the health stream stops after a fault",
          "[refdriver][bugs][health][slow]") {
  auto bed = WithBug("health-silent");
  REQUIRE(SawHealth(*bed, "gpu-6", HealthState::kHealthy, 10s));
  REQUIRE_OK(bed->Inject("gpu6", "xid:48"));
  CHECK_FALSE(SawHealth(*bed, "gpu-6", HealthState::kUnhealthy, 3s));
  int before = bed->kubelet().Health(bed->options().driver).messages;
  std::this_thread::sleep_for(1500ms);  // five heartbeat intervals
  CHECK(bed->kubelet().Health(bed->options().driver).messages == before);
}

TEST_CASE("refdriver bug health-stuck: a device never becomes healthy again",
          "[refdriver][bugs][health][slow]") {
  auto bed = WithBug("health-stuck", {"--health-recovery", "1000"});
  REQUIRE_OK(bed->Inject("gpu6", "xid:48"));
  REQUIRE(SawHealth(*bed, "gpu-6", HealthState::kUnhealthy, 10s));
  REQUIRE_OK(bed->ClearFaults());
  CHECK_FALSE(SawHealth(*bed, "gpu-6", HealthState::kHealthy, 4s));
}

TEST_CASE("refdriver bug no-checkpoint: a restarted driver forgets prepared claims",
          "[refdriver][bugs][slow]") {
  auto bed = WithBug("no-checkpoint");
  auto a = Claim(*bed, "a", {bed->DeviceResult("gpu-5")});
  REQUIRE_OK(bed->Prepare({a}).status);
  CHECK_FALSE(drahil::PathExists(bed->DataDir() + "/checkpoint.json"));
  bed->StopDriver(true);
  REQUIRE_OK(bed->StartDriver());
  auto b = Claim(*bed, "b", {bed->DeviceResult("gpu-5")});
  auto r = bed->Prepare({b});
  REQUIRE(r.claims.size() == 1);
  CHECK(r.claims[0].status.ok());  // gpu-5 handed out twice
}

TEST_CASE("refdriver bug no-cdi-recreate: a spec lost in a reboot is not written again",
          "[refdriver][bugs][slow]") {
  auto bed = WithBug("no-cdi-recreate");
  auto ref = Claim(*bed, "c", {bed->DeviceResult("gpu-5")});
  REQUIRE_OK(bed->Prepare({ref}).status);
  bed->StopDriver(true);
  for (const auto& f : bed->CdiFiles()) ::unlink((bed->CdiDir() + "/" + f).c_str());
  REQUIRE_OK(bed->StartDriver());
  REQUIRE_OK(bed->Prepare({ref}).status);
  CHECK(Spec(*bed, ref.uid).is_null());
}

TEST_CASE("refdriver bug v1beta1-only: only the v1beta1 DRA service is advertised",
          "[refdriver][bugs][slow]") {
  auto bed = WithBug("v1beta1-only");
  auto p = bed->kubelet().WaitForPlugin(bed->options().driver, 5s);
  REQUIRE_OK(p);
  CHECK(p->dra_service == "v1beta1.DRAPlugin");
}

TEST_CASE("refdriver bug subrequest-names: request names keep the subrequest",
          "[refdriver][bugs][slow]") {
  auto bed = WithBug("subrequest-names");
  Json requests = Json::array({Json{
      {"name", "req"},
      {"firstAvailable", Json::array({Json{{"name", "big"}, {"deviceClassName", "gpu"}},
                                      Json{{"name", "small"}, {"deviceClassName", "gpu"}}})}}});
  auto c =
      bed->AllocatedClaim("c", {bed->DeviceResult("gpu-5", "req/big")}, Json::array(), requests);
  REQUIRE_OK(c);
  auto ref = bed->Ref(*c);
  auto r = bed->Prepare({ref});
  REQUIRE_OK(r.status);
  CHECK(r.claims[0].devices[0].request_names == std::vector<std::string>{"req/big"});
}

TEST_CASE("refdriver: 112 partitions behind counters are split into slices of at most 64",
          "[refdriver][slow]") {
  BedOptions o;
  o.profile = "gpu-16x-mig-dense";
  o.node = "gpu-dense-1";
  o.args = {"--partitioning", "mig-static"};
  auto bed = Bed::Start(o);
  REQUIRE_OK(bed);
  auto devs = (*bed)->Devices();
  REQUIRE_OK(devs);
  CHECK(devs->size() == 112);
}

TEST_CASE("refdriver bug slice-too-big: a slice over the limit is rejected by the API server",
          "[refdriver][bugs][slow]") {
  BedOptions o;
  o.profile = "gpu-16x-mig-dense";
  o.node = "gpu-dense-1";
  o.args = {"--partitioning", "mig-static", "--bug", "slice-too-big"};
  o.slices_timeout = 5s;
  auto bed = Bed::Start(o);
  // The pool never becomes complete: the 112-device slice fails validation.
  REQUIRE_FALSE(bed.ok());
  CHECK(bed.status().message().find("Too many") != std::string::npos);
}

TEST_CASE("refdriver bug register-before-socket: registration precedes the DRA socket",
          "[refdriver][bugs][slow]") {
  auto bed = WithBug("register-before-socket");
  // The driver registered, yet its DRA endpoint does not answer yet.
  auto r = bed->Prepare({});
  CHECK(r.record.code == drahil::Code::kUnavailable);
}

TEST_CASE("refdriver bug crash-on-empty-prepare: an empty prepare kills the driver",
          "[refdriver][bugs][slow]") {
  auto bed = WithBug("crash-on-empty-prepare");
  auto r = bed->Prepare({});
  CHECK_FALSE(r.status.ok());
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (bed->DriverRunning() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  CHECK_FALSE(bed->DriverRunning());
}

TEST_CASE("refdriver bug no-taint-on-fault: an unhealthy device stays untainted",
          "[refdriver][bugs][health][slow]") {
  auto bed = WithBug("no-taint-on-fault");
  REQUIRE_OK(bed->Inject("gpu6", "xid:48"));
  REQUIRE(SawHealth(*bed, "gpu-6", HealthState::kUnhealthy, 10s));
  std::this_thread::sleep_for(1s);
  auto devs = bed->Devices();
  REQUIRE_OK(devs);
  for (const auto& d : *devs) CHECK_FALSE(d.contains("taints"));
}

TEST_CASE("refdriver bug stale-generation: a changed pool keeps its generation",
          "[refdriver][bugs][slow]") {
  auto bed = WithBug("stale-generation");
  auto before = bed->WaitForSlices();
  REQUIRE_OK(before);
  int64_t gen = (*before)[0]["spec"]["pool"]["generation"];
  REQUIRE_OK(bed->Inject("gpu6", "xid:48"));
  REQUIRE(SawHealth(*bed, "gpu-6", HealthState::kUnhealthy, 10s));
  bool changed = false;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!changed && std::chrono::steady_clock::now() < deadline) {
    auto s = bed->WaitForSlices();
    REQUIRE_OK(s);
    changed = s->dump().find("unhealthy") != std::string::npos;
    if (changed) CHECK((*s)[0]["spec"]["pool"]["generation"] == gen);
    std::this_thread::sleep_for(50ms);
  }
  CHECK(changed);
}

TEST_CASE("refdriver bug no-share-id: a share comes back without share_id",
          "[refdriver][bugs][slow]") {
  auto bed = WithBug("no-share-id", {"--consumable-capacity"});
  auto ref = Claim(*bed, "c", {Share(*bed, "cccccccc-0000-0000-0000-000000000001", "4Gi")});
  auto r = bed->Prepare({ref});
  REQUIRE_OK(r.status);
  CHECK_FALSE(r.claims[0].devices[0].share_id.has_value());
}
