// The reference driver against drahil's API server and kubelet stand-in on
// emulated nodes: registration, slices, prepare/unprepare for each feature,
// restarts, health.
#include <thread>

#include "drahil/core/file_util.hpp"
#include "drahil/kube/validation.hpp"
#include "drahil/testing/testing.hpp"
#include "harness.hpp"

using namespace std::chrono_literals;
using drahil::refdriver::testing::Bed;
using drahil::refdriver::testing::BedOptions;
using Json = nlohmann::json;

namespace {

std::unique_ptr<Bed> MustStart(BedOptions o = {}) {
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
  for (const auto& e : spec.value("containerEdits", Json::object()).value("env", Json::array())) {
    std::string s = e.get<std::string>();
    if (s.rfind(name + "=", 0) == 0) return s.substr(name.size() + 1);
  }
  return "";
}

std::vector<std::string> NodePaths(const Json& spec) {
  std::vector<std::string> out;
  for (const auto& d : spec.value("devices", Json::array()))
    for (const auto& n : d["containerEdits"].value("deviceNodes", Json::array()))
      out.push_back(n["path"]);
  return out;
}

Json FindDevice(const std::vector<Json>& devices, const std::string& name) {
  for (const auto& d : devices)
    if (d["name"] == name) return d;
  return Json();
}

template <typename Pred>
bool Eventually(Pred pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

}  // namespace

TEST_CASE("refdriver: registers v1 first and publishes valid slices for the 8-GPU MIG server",
          "[refdriver][slow]") {
  auto bed = MustStart({.args = {"--partitioning", "mig-static"}});
  auto plugin = bed->kubelet().WaitForPlugin("gpu.drahil.dev", 5s);
  REQUIRE_OK(plugin);
  CHECK(plugin->dra_service == "v1.DRAPlugin");
  CHECK(plugin->supported_versions == std::vector<std::string>{"v1.DRAPlugin", "v1beta1.DRAPlugin",
                                                               "v1alpha1.DRAResourceHealth"});
  CHECK(plugin->endpoint == bed->DataDir() + "/dra.sock");

  auto slices = bed->WaitForSlices();
  REQUIRE_OK(slices);
  int counter_sets = 0, devices = 0, migs = 0;
  int64_t gen = (*slices)[0]["spec"]["pool"]["generation"];
  for (const auto& s : *slices) {
    auto errs = drahil::kube::Validate(s);
    for (const auto& e : errs) FAIL_CHECK(e.ToString());
    CHECK(s["spec"]["pool"]["generation"] == gen);
    CHECK(s["spec"]["pool"]["name"] == "gpu-server-1");
    CHECK(s["spec"]["nodeName"] == "gpu-server-1");
    CHECK(s["metadata"]["ownerReferences"][0]["kind"] == "Node");
    CHECK(s["metadata"]["name"].get<std::string>().rfind("0000", 0) == 0);
    counter_sets += static_cast<int>(s["spec"].value("sharedCounters", Json::array()).size());
    for (const auto& d : s["spec"].value("devices", Json::array())) {
      ++devices;
      if (d["attributes"]["type"]["string"] == "mig") {
        ++migs;
        REQUIRE(d.contains("consumesCounters"));
      }
    }
  }
  // gpu0..gpu4 are in MIG mode (gpu4 without instances); 3+7+2+1 MIG devices
  // plus the three whole GPUs.
  CHECK(counter_sets == 5);
  CHECK(migs == 13);
  CHECK(devices == 16);
}

TEST_CASE("refdriver: prepare and unprepare a whole GPU, idempotently", "[refdriver][slow]") {
  auto bed = MustStart();
  auto devs = bed->Devices();
  REQUIRE_OK(devs);
  Json gpu5 = FindDevice(*devs, "gpu-5");
  REQUIRE(gpu5.is_object());
  std::string uuid = gpu5["attributes"]["uuid"]["string"];

  auto claim = bed->AllocatedClaim("c1", {bed->DeviceResult("gpu-5")});
  REQUIRE_OK(claim);
  auto ref = bed->Ref(*claim);
  auto r = bed->Prepare({ref});
  REQUIRE_OK(r.status);
  REQUIRE(r.claims.size() == 1);
  REQUIRE(r.claims[0].devices.size() == 1);
  auto dev = r.claims[0].devices[0];
  CHECK(dev.device_name == "gpu-5");
  CHECK(dev.pool_name == "gpu-server-1");
  CHECK(dev.request_names == std::vector<std::string>{"req"});
  REQUIRE(dev.cdi_device_ids.size() == 2);
  CHECK(dev.cdi_device_ids[0] == "k8s.gpu.drahil.dev/gpu=common");
  CHECK(dev.cdi_device_ids[1] == "k8s.gpu.drahil.dev/gpu=" + ref.uid + "-gpu-5");

  Json spec = Spec(*bed, ref.uid);
  REQUIRE(spec.is_object());
  CHECK(Env(spec, "NVIDIA_VISIBLE_DEVICES") == uuid);
  auto nodes = NodePaths(spec);
  CHECK(std::count(nodes.begin(), nodes.end(), "/dev/nvidia5") == 1);
  CHECK(std::count(nodes.begin(), nodes.end(), "/dev/nvidia0") == 0);

  for (int i = 0; i < 3; ++i) {
    auto again = bed->Prepare({ref});
    REQUIRE_OK(again.status);
    CHECK(again.claims[0].devices == r.claims[0].devices);
  }
  auto empty = bed->Prepare({});
  CHECK_OK(empty.status);

  auto u = bed->Unprepare({ref});
  REQUIRE_OK(u.status);
  CHECK(Spec(*bed, ref.uid).is_null());
  auto unknown = bed->Unprepare({{"default", "00000000-0000-0000-0000-000000000000", "gone"}});
  CHECK_OK(unknown.status);
}

TEST_CASE("refdriver: a MIG partition grants its parent node and capability node only",
          "[refdriver][slow]") {
  auto bed = MustStart({.args = {"--partitioning", "mig-static"}});
  auto devs = bed->Devices();
  REQUIRE_OK(devs);
  std::string mig;
  for (const auto& d : *devs)
    if (d["attributes"]["type"]["string"] == "mig" && d["attributes"]["index"]["int"] == 1)
      mig = d["name"];
  REQUIRE_FALSE(mig.empty());
  auto claim = bed->AllocatedClaim("mig", {bed->DeviceResult(mig)});
  REQUIRE_OK(claim);
  auto r = bed->Prepare({bed->Ref(*claim)});
  REQUIRE_OK(r.status);
  auto nodes = NodePaths(Spec(*bed, bed->Ref(*claim).uid));
  CHECK(std::count(nodes.begin(), nodes.end(), "/dev/nvidia1") == 1);
  int caps = 0;
  for (const auto& n : nodes) caps += n.rfind("/dev/nvidia-caps/nvidia-cap", 0) == 0;
  CHECK(caps == 1);
}

TEST_CASE("refdriver: whole-call errors for unknown, replaced and unallocated claims",
          "[refdriver][slow]") {
  auto bed = MustStart();
  auto missing = bed->Prepare({{"default", "11111111-1111-1111-1111-111111111111", "nope"}});
  CHECK(missing.record.code == drahil::Code::kUnknown);
  CHECK(missing.record.grpc_message.find("retrieve claim default/nope") != std::string::npos);

  auto claim = bed->AllocatedClaim("c2", {bed->DeviceResult("gpu-6")});
  REQUIRE_OK(claim);
  auto ref = bed->Ref(*claim);
  ref.uid = "22222222-2222-2222-2222-222222222222";
  auto replaced = bed->Prepare({ref});
  CHECK(replaced.record.code == drahil::Code::kUnknown);
  CHECK(replaced.record.grpc_message.find("got replaced") != std::string::npos);

  auto bare = bed->AllocatedClaim("c3", {});
  REQUIRE_OK(bare);
  auto unalloc = bed->Prepare({bed->Ref(*bare)});
  CHECK(unalloc.record.code == drahil::Code::kUnknown);
  CHECK(unalloc.record.grpc_message.find("not allocated") != std::string::npos);
}

TEST_CASE("refdriver: a device prepared for one claim is refused to another", "[refdriver][slow]") {
  auto bed = MustStart();
  auto a = bed->AllocatedClaim("a", {bed->DeviceResult("gpu-6")});
  auto b = bed->AllocatedClaim("b", {bed->DeviceResult("gpu-6")});
  REQUIRE_OK(a);
  REQUIRE_OK(b);
  REQUIRE_OK(bed->Prepare({bed->Ref(*a)}).status);
  auto r = bed->Prepare({bed->Ref(*b)});
  REQUIRE(r.claims.size() == 1);
  CHECK_FALSE(r.claims[0].status.ok());
  CHECK(r.claims[0].status.message().find("already prepared") != std::string::npos);
}

TEST_CASE("refdriver: a restart keeps prepared claims and a repeated prepare recreates a lost spec",
          "[refdriver][slow]") {
  auto bed = MustStart();
  auto claim = bed->AllocatedClaim("r1", {bed->DeviceResult("gpu-7")});
  REQUIRE_OK(claim);
  auto ref = bed->Ref(*claim);
  auto first = bed->Prepare({ref});
  REQUIRE_OK(first.status);
  bed->StopDriver(/*kill=*/true);
  // "Node reboot": the CDI dir is on tmpfs and comes back empty.
  for (const auto& f : bed->CdiFiles()) ::unlink((bed->CdiDir() + "/" + f).c_str());
  REQUIRE_OK(bed->StartDriver());
  auto again = bed->Prepare({ref});
  REQUIRE_OK(again.status);
  CHECK(again.claims[0].devices == first.claims[0].devices);
  CHECK(Spec(*bed, ref.uid).is_object());
  // The restarted driver still knows the claim: another claim cannot take gpu-7.
  auto other = bed->AllocatedClaim("r2", {bed->DeviceResult("gpu-7")});
  REQUIRE_OK(other);
  auto r = bed->Prepare({bed->Ref(*other)});
  CHECK_FALSE(r.claims[0].status.ok());
  REQUIRE_OK(bed->Unprepare({ref}).status);
  CHECK(Spec(*bed, ref.uid).is_null());
}

TEST_CASE("refdriver: consumable-capacity shares get share_id and MPS limits",
          "[refdriver][slow]") {
  auto bed = MustStart({.args = {"--consumable-capacity", "--sharing", "mps"}});
  auto devs = bed->Devices();
  REQUIRE_OK(devs);
  Json gpu5 = FindDevice(*devs, "gpu-5");
  CHECK(gpu5["allowMultipleAllocations"] == true);
  CHECK(gpu5["capacity"]["memory"]["requestPolicy"]["validRange"]["step"] == "1Gi");
  std::string uuid = gpu5["attributes"]["uuid"]["string"];
  Json r1 = bed->DeviceResult("gpu-5");
  r1["shareID"] = "aaaaaaaa-0000-0000-0000-000000000001";
  r1["consumedCapacity"] = {{"memory", "4Gi"}};
  Json r2 = bed->DeviceResult("gpu-5");
  r2["shareID"] = "aaaaaaaa-0000-0000-0000-000000000002";
  r2["consumedCapacity"] = {{"memory", "8Gi"}};
  auto a = bed->AllocatedClaim("s1", {r1});
  auto b = bed->AllocatedClaim("s2", {r2});
  REQUIRE_OK(a);
  REQUIRE_OK(b);
  auto pa = bed->Prepare({bed->Ref(*a)});
  auto pb = bed->Prepare({bed->Ref(*b)});
  REQUIRE_OK(pa.status);
  REQUIRE_OK(pb.status);
  REQUIRE(pa.claims[0].status.ok());
  REQUIRE(pb.claims[0].status.ok());
  CHECK(pa.claims[0].devices[0].share_id ==
        std::optional<std::string>(r1["shareID"].get<std::string>()));
  CHECK(pa.claims[0].devices[0].cdi_device_ids[1].find(r1["shareID"].get<std::string>()) !=
        std::string::npos);
  Json spec = Spec(*bed, bed->Ref(*a).uid);
  CHECK(Env(spec, "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT") == uuid + "=4096M");
  CHECK(Env(spec, "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE") == "5");
  CHECK(Env(Spec(*bed, bed->Ref(*b).uid), "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT") == uuid + "=8192M");
}

TEST_CASE("refdriver: FPGA node publishes PFs and VFs and sets binding conditions",
          "[refdriver][fpga][slow]") {
  auto bed = MustStart(
      {.profile = "fpga-2card-vfs",
       .node = "fpga-node-1",
       .driver = "fpga.drahil.dev",
       .args = {"--device-kind", "fpga", "--binding-conditions", "--program-delay", "200"}});
  auto devs = bed->Devices();
  REQUIRE_OK(devs);
  int pfs = 0, vfs = 0;
  for (const auto& d : *devs) {
    std::string t = d["attributes"]["type"]["string"];
    pfs += t == "fpga";
    vfs += t == "fpga-vf";
    CHECK(d["bindingConditions"] == Json::array({"RegionProgrammed"}));
    CHECK(d["bindsToNode"] == true);
  }
  CHECK(pfs == 2);
  CHECK(vfs == 5);
  Json fpga0 = FindDevice(*devs, "fpga-0");
  CHECK(fpga0["attributes"]["vendor"]["string"] == "xilinx");
  CHECK(fpga0["attributes"]["shell"]["string"] == "xilinx_u280_gen3x16_xdma_base_1");

  Json res = bed->DeviceResult("fpga-0-vf-0");
  res["bindingConditions"] = Json::array({"RegionProgrammed"});
  res["bindingFailureConditions"] = Json::array({"RegionProgrammingFailed"});
  auto claim = bed->AllocatedClaim("f1", {res});
  REQUIRE_OK(claim);
  bool ready = Eventually(
      [&] {
        auto c = bed->api().Get("resourceclaims", "default", "f1");
        if (!c.ok()) return false;
        for (const auto& d : c->value("status", Json::object()).value("devices", Json::array()))
          for (const auto& cond : d.value("conditions", Json::array()))
            if (cond["type"] == "RegionProgrammed" && cond["status"] == "True") return true;
        return false;
      },
      10s);
  CHECK(ready);
  auto r = bed->Prepare({bed->Ref(*claim)});
  REQUIRE_OK(r.status);
  auto nodes = NodePaths(Spec(*bed, bed->Ref(*claim).uid));
  CHECK(nodes == std::vector<std::string>{"/dev/dri/renderD129"});
}

TEST_CASE("refdriver: an Xid makes a GPU unhealthy and tainted, and it recovers",
          "[refdriver][health][slow]") {
  auto bed = MustStart({.args = {"--health-recovery", "1500"}});
  auto healthy = bed->kubelet().WaitForHealth(
      "gpu.drahil.dev", [](const drahil::kubelet::HealthSnapshot& h) { return !h.devices.empty(); },
      10s);
  REQUIRE_OK(healthy);
  REQUIRE_OK(bed->Inject("gpu6", "xid:48"));
  auto bad = bed->kubelet().WaitForHealth(
      "gpu.drahil.dev",
      [](const drahil::kubelet::HealthSnapshot& h) {
        for (const auto& d : h.devices)
          if (d.device_name == "gpu-6" && d.reported == drahil::kubelet::HealthState::kUnhealthy)
            return true;
        return false;
      },
      10s);
  REQUIRE_OK(bad);
  bool tainted = Eventually(
      [&] {
        auto devs = bed->Devices();
        return devs.ok() && FindDevice(*devs, "gpu-6").contains("taints");
      },
      10s);
  CHECK(tainted);
  REQUIRE_OK(bed->ClearFaults());
  auto good = bed->kubelet().WaitForHealth(
      "gpu.drahil.dev",
      [](const drahil::kubelet::HealthSnapshot& h) {
        for (const auto& d : h.devices)
          if (d.device_name == "gpu-6" && d.reported == drahil::kubelet::HealthState::kHealthy)
            return true;
        return false;
      },
      15s);
  CHECK_OK(good);
  CHECK(Eventually(
      [&] {
        auto devs = bed->Devices();
        return devs.ok() && !FindDevice(*devs, "gpu-6").contains("taints");
      },
      10s));
}
