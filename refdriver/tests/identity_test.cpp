// The reference driver under a foreign identity: other device names,
// attribute names, CDI kind and taint key, and dra-example-driver's way of
// handing devices out (variables, no device nodes). The catalog must judge
// such a driver by what it does, so the driver must really change every name.
#include <algorithm>
#include <regex>
#include <set>
#include <thread>

#include "drahil/core/child_process.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/kube/validation.hpp"
#include "drahil/testing/testing.hpp"
#include "harness.hpp"

using namespace std::chrono_literals;
using drahil::refdriver::testing::Bed;
using drahil::refdriver::testing::BedOptions;
using Json = nlohmann::json;

namespace {

constexpr const char* kDriver = "accel.example.com";

// The identity of the brief: nothing the driver publishes or hands out
// carries its own names.
std::vector<std::string> Foreign(std::vector<std::string> more = {},
                                 const std::string& prefix = "accel") {
  std::vector<std::string> a = {
      "--device-prefix",   prefix,
      "--partition-infix", "part",
      "--attribute-map",   "uuid=serial,type=kind,profile=shape,parentUUID=parent,index=slot",
      "--cdi-vendor",      "example.com",
      "--cdi-class",       "accel",
      "--taint-key",       "accel.example.com/fault"};
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

std::unique_ptr<Bed> MustStart(BedOptions o) {
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

// AllEnv(): every variable of the spec, its own and its devices'.
std::vector<std::string> AllEnv(const Json& spec) {
  std::vector<std::string> out;
  for (const auto& e : spec.value("containerEdits", Json::object()).value("env", Json::array()))
    out.push_back(e);
  for (const auto& d : spec.value("devices", Json::array()))
    for (const auto& e : d["containerEdits"].value("env", Json::array())) out.push_back(e);
  return out;
}

// DeviceVars(): NAME=value of the variables whose name matches pattern, as
// the catalog's env probe backend reads them.
std::map<std::string, std::string> DeviceVars(const Json& spec, const std::string& pattern) {
  std::map<std::string, std::string> out;
  std::regex re(pattern);
  for (const auto& e : AllEnv(spec)) {
    auto eq = e.find('=');
    if (std::regex_match(e.substr(0, eq), re)) out[e.substr(0, eq)] = e.substr(eq + 1);
  }
  return out;
}

std::set<std::string> Values(const std::map<std::string, std::string>& vars) {
  std::set<std::string> out;
  for (const auto& [k, v] : vars) out.insert(v);
  return out;
}

size_t DeviceNodeCount(const Json& spec) {
  size_t n =
      spec.value("containerEdits", Json::object()).value("deviceNodes", Json::array()).size();
  for (const auto& d : spec.value("devices", Json::array()))
    n += d["containerEdits"].value("deviceNodes", Json::array()).size() +
         d["containerEdits"].value("mounts", Json::array()).size();
  return n;
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

drahil::CommandOutput Driver(std::vector<std::string> args,
                             std::map<std::string, std::string> env = {}) {
  args.insert(args.begin(), drahil::testing::Bin("drahil-refdriver"));
  auto r = drahil::RunCommand(args, 30s, env);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return *r;
}

}  // namespace

TEST_CASE("refdriver identity: foreign names for devices, partitions, attributes, counter sets",
          "[refdriver][identity][slow]") {
  auto bed = MustStart({.driver = kDriver, .args = Foreign({"--partitioning", "mig-static"})});
  auto slices = bed->WaitForSlices();
  REQUIRE_OK(slices);
  int devices = 0, parts = 0, counter_sets = 0;
  std::set<std::string> names;
  for (const auto& s : *slices) {
    for (const auto& e : drahil::kube::Validate(s)) FAIL_CHECK(e.ToString());
    CHECK(s["spec"]["driver"] == kDriver);
    // What the slice says about its devices (the pool is named after the
    // node, gpu-server-1).
    std::string dump = s["spec"].value("devices", Json::array()).dump() +
                       s["spec"].value("sharedCounters", Json::array()).dump();
    CHECK(dump.find("drahil") == std::string::npos);
    CHECK(dump.find("-mig-") == std::string::npos);
    CHECK(dump.find("\"gpu-") == std::string::npos);
    for (const auto& c : s["spec"].value("sharedCounters", Json::array())) {
      ++counter_sets;
      CHECK(std::regex_match(c["name"].get<std::string>(), std::regex("accel-[0-4]-counters")));
    }
    for (const auto& d : s["spec"].value("devices", Json::array())) {
      ++devices;
      std::string name = d["name"];
      names.insert(name);
      const Json& a = d["attributes"];
      INFO(name << " " << a.dump());
      for (const char* old : {"uuid", "type", "index", "profile", "parentUUID"})
        CHECK_FALSE(a.contains(old));
      REQUIRE(a.contains("serial"));
      REQUIRE(a.contains("kind"));
      REQUIRE(a.contains("slot"));
      CHECK(a.contains("model"));  // not renamed: kept
      std::string serial = a["serial"]["string"];
      int slot = a["slot"]["int"];
      if (a["kind"]["string"] == "mig") {
        CHECK(serial.rfind("MIG-", 0) == 0);
        ++parts;
        CHECK(std::regex_match(
            name, std::regex("accel-" + std::to_string(slot) + "-part-[0-9]g-[0-9]+gb-[0-7]")));
        REQUIRE(a.contains("shape"));
        REQUIRE(a.contains("parent"));
        // The shape is the profile ("1g.10gb"), in the name as a DNS label.
        std::string shape = a["shape"]["string"];
        std::replace(shape.begin(), shape.end(), '.', '-');
        CHECK(name.find("-part-" + shape + "-") != std::string::npos);
        CHECK(a["parent"]["string"].get<std::string>().rfind("GPU-", 0) == 0);
        REQUIRE(d.contains("consumesCounters"));
        CHECK(d["consumesCounters"][0]["counterSet"] ==
              "accel-" + std::to_string(slot) + "-counters");
      } else {
        CHECK(a["kind"]["string"] == "gpu");
        CHECK(serial.rfind("GPU-", 0) == 0);
        CHECK(name == "accel-" + std::to_string(slot));
        CHECK_FALSE(a.contains("shape"));
      }
    }
  }
  // As with the driver's own names: 5 MIG GPUs, 13 partitions, 3 whole GPUs.
  CHECK(counter_sets == 5);
  CHECK(parts == 13);
  CHECK(devices == 16);
  CHECK(names.count("accel-5") == 1);
  CHECK(names.count("accel-7") == 1);
  CHECK(names.count("gpu-5") == 0);
}

TEST_CASE("refdriver identity: the foreign CDI kind on prepare and taint key on a fault",
          "[refdriver][identity][health][slow]") {
  auto bed = MustStart({.driver = kDriver, .args = Foreign({"--health-recovery", "1500"})});
  auto devs = bed->Devices();
  REQUIRE_OK(devs);
  REQUIRE(FindDevice(*devs, "accel-5").is_object());

  auto claim = bed->AllocatedClaim("c1", {bed->DeviceResult("accel-5")});
  REQUIRE_OK(claim);
  auto ref = bed->Ref(*claim);
  auto r = bed->Prepare({ref});
  REQUIRE_OK(r.status);
  REQUIRE(r.claims.size() == 1);
  INFO(r.claims[0].status.ToString());
  REQUIRE(r.claims[0].devices.size() == 1);
  const auto& dev = r.claims[0].devices[0];
  CHECK(dev.device_name == "accel-5");
  REQUIRE(dev.cdi_device_ids.size() == 2);
  CHECK(dev.cdi_device_ids[0] == "example.com/accel=common");
  CHECK(dev.cdi_device_ids[1] == "example.com/accel=" + ref.uid + "-accel-5");
  for (const auto& id : dev.cdi_device_ids) CHECK(id.rfind("example.com/accel=", 0) == 0);

  // Spec files follow the kind: <vendor>-<class>_<name>.json.
  auto files = bed->CdiFiles();
  std::set<std::string> file_set(files.begin(), files.end());
  CHECK(file_set.count("example.com-accel_common.json") == 1);
  CHECK(file_set.count("example.com-accel_" + ref.uid + ".json") == 1);
  for (const auto& f : files) CHECK(f.find("drahil") == std::string::npos);
  Json spec = Spec(*bed, ref.uid);
  REQUIRE(spec.is_object());
  CHECK(spec["kind"] == "example.com/accel");
  REQUIRE(spec["devices"].size() == 1);
  CHECK(spec["devices"][0]["name"] == ref.uid + "-accel-5");
  // Default exposure: the device nodes.
  CHECK(DeviceNodeCount(spec) > 0);

  // An Xid on the GPU behind accel-6: unhealthy on the health stream, and
  // tainted with the foreign key in its slice.
  REQUIRE_OK(bed->Inject("gpu6", "xid:48"));
  auto bad = bed->kubelet().WaitForHealth(
      kDriver,
      [](const drahil::kubelet::HealthSnapshot& h) {
        for (const auto& d : h.devices)
          if (d.device_name == "accel-6" && d.reported == drahil::kubelet::HealthState::kUnhealthy)
            return true;
        return false;
      },
      10s);
  REQUIRE_OK(bad);
  Json taints;
  bool tainted = Eventually(
      [&] {
        auto d = bed->Devices();
        if (!d.ok()) return false;
        taints = FindDevice(*d, "accel-6").value("taints", Json());
        return taints.is_array() && !taints.empty();
      },
      10s);
  REQUIRE(tainted);
  REQUIRE(taints.size() == 1);
  CHECK(taints[0]["key"] == "accel.example.com/fault");
  CHECK(taints[0]["effect"] == "NoSchedule");
  auto after = bed->Devices();
  REQUIRE_OK(after);
  CHECK_FALSE(FindDevice(*after, "accel-5").contains("taints"));
}

TEST_CASE("refdriver identity: --exposure env hands one variable per device and no device nodes",
          "[refdriver][identity][slow]") {
  auto bed = MustStart({.driver = kDriver, .args = Foreign({"--exposure", "env"})});
  auto claim =
      bed->AllocatedClaim("e1", {bed->DeviceResult("accel-6"), bed->DeviceResult("accel-5")});
  REQUIRE_OK(claim);
  auto ref = bed->Ref(*claim);
  auto r = bed->Prepare({ref});
  REQUIRE_OK(r.status);
  INFO(r.claims[0].status.ToString());
  REQUIRE(r.claims[0].devices.size() == 2);
  CHECK(r.claims[0].devices[0].cdi_device_ids[1] == "example.com/accel=" + ref.uid + "-accel-6");
  Json spec = Spec(*bed, ref.uid);
  REQUIRE(spec.is_object());
  INFO(spec.dump());
  CHECK(spec["kind"] == "example.com/accel");
  CHECK(DeviceNodeCount(spec) == 0);
  CHECK_FALSE(spec.dump().find("deviceNodes") != std::string::npos);
  // In result order, each variable in its own device's edits.
  auto vars = DeviceVars(spec, "^GPU_DEVICE_[0-9]+$");
  CHECK(vars == std::map<std::string, std::string>{{"GPU_DEVICE_0", "accel-6"},
                                                   {"GPU_DEVICE_1", "accel-5"}});
  REQUIRE(spec["devices"].size() == 2);
  CHECK(spec["devices"][0]["containerEdits"]["env"] == Json::array({"GPU_DEVICE_0=accel-6"}));
  CHECK(spec["devices"][1]["containerEdits"]["env"] == Json::array({"GPU_DEVICE_1=accel-5"}));
  // No other way to the devices: no visible-devices variables by UUID.
  for (const auto& e : AllEnv(spec)) {
    CHECK(e.rfind("NVIDIA_VISIBLE_DEVICES=", 0) != 0);
    CHECK(e.rfind("CUDA_VISIBLE_DEVICES=", 0) != 0);
  }
  // The common spec keeps the node-wide variables.
  auto common = drahil::ReadFile(bed->CdiDir() + "/example.com-accel_common.json");
  REQUIRE_OK(common);
  CHECK(common->find("KUBERNETES_NODE_NAME=gpu-server-1") != std::string::npos);
  REQUIRE_OK(bed->Unprepare({ref}).status);
  CHECK(Spec(*bed, ref.uid).is_null());
}

TEST_CASE("refdriver identity: planted bugs still show under --exposure env and --env-prefix",
          "[refdriver][identity][bugs][slow]") {
  const std::string pattern = "^ACCEL_DEVICE_[0-9]+$";
  SECTION("well-behaved: exactly the allocated device") {
    auto bed = MustStart(
        {.driver = kDriver, .args = Foreign({"--exposure", "env", "--env-prefix", "ACCEL"})});
    auto claim = bed->AllocatedClaim("b0", {bed->DeviceResult("accel-5")});
    REQUIRE_OK(claim);
    REQUIRE_OK(bed->Prepare({bed->Ref(*claim)}).status);
    Json spec = Spec(*bed, bed->Ref(*claim).uid);
    CHECK(Values(DeviceVars(spec, pattern)) == std::set<std::string>{"accel-5"});
  }
  SECTION("env-all-gpus: every GPU device of the node has its variable") {
    auto bed = MustStart(
        {.driver = kDriver,
         .args = Foreign({"--exposure", "env", "--env-prefix", "ACCEL", "--bug", "env-all-gpus"})});
    auto claim = bed->AllocatedClaim("b1", {bed->DeviceResult("accel-5")});
    REQUIRE_OK(claim);
    REQUIRE_OK(bed->Prepare({bed->Ref(*claim)}).status);
    Json spec = Spec(*bed, bed->Ref(*claim).uid);
    INFO(spec.dump());
    CHECK(DeviceNodeCount(spec) == 0);
    auto vars = DeviceVars(spec, pattern);
    CHECK(vars.size() == 3);
    CHECK(Values(vars) == std::set<std::string>{"accel-5", "accel-6", "accel-7"});
  }
  SECTION("extra-device-node: an unallocated GPU is handed too") {
    auto bed = MustStart({.driver = kDriver,
                          .args = Foreign({"--exposure", "env", "--env-prefix", "ACCEL", "--bug",
                                           "extra-device-node"})});
    auto claim = bed->AllocatedClaim("b2", {bed->DeviceResult("accel-5")});
    REQUIRE_OK(claim);
    REQUIRE_OK(bed->Prepare({bed->Ref(*claim)}).status);
    Json spec = Spec(*bed, bed->Ref(*claim).uid);
    INFO(spec.dump());
    CHECK(Values(DeviceVars(spec, pattern)) == std::set<std::string>{"accel-5", "accel-6"});
  }
}

TEST_CASE("refdriver identity: FPGA PFs and VFs take the foreign prefix and exposure",
          "[refdriver][identity][fpga][slow]") {
  auto bed = MustStart({.profile = "fpga-2card-vfs",
                        .node = "fpga-node-1",
                        .driver = kDriver,
                        .args = Foreign({"--device-kind", "fpga", "--exposure", "env"}, "fabric")});
  auto devs = bed->Devices();
  REQUIRE_OK(devs);
  std::set<std::string> names;
  for (const auto& d : *devs) {
    names.insert(d["name"]);
    CHECK(d["attributes"].contains("kind"));
    CHECK_FALSE(d["attributes"].contains("type"));
  }
  CHECK(names == std::set<std::string>{"fabric-0", "fabric-0-vf-0", "fabric-0-vf-1", "fabric-1",
                                       "fabric-1-vf-0", "fabric-1-vf-1", "fabric-1-vf-2"});
  auto claim = bed->AllocatedClaim("f1", {bed->DeviceResult("fabric-0-vf-0")});
  REQUIRE_OK(claim);
  auto ref = bed->Ref(*claim);
  auto r = bed->Prepare({ref});
  REQUIRE_OK(r.status);
  INFO(r.claims[0].status.ToString());
  REQUIRE(r.claims[0].devices.size() == 1);
  CHECK(r.claims[0].devices[0].cdi_device_ids[1] ==
        "example.com/accel=" + ref.uid + "-fabric-0-vf-0");
  Json spec = Spec(*bed, ref.uid);
  INFO(spec.dump());
  CHECK(DeviceNodeCount(spec) == 0);
  CHECK(DeviceVars(spec, "^FPGA_DEVICE_[0-9]+$") ==
        std::map<std::string, std::string>{{"FPGA_DEVICE_0", "fabric-0-vf-0"}});
  for (const auto& e : AllEnv(spec)) CHECK(e.rfind("DRAHIL_FPGA_NODES=", 0) != 0);
}

TEST_CASE("refdriver identity: identity flags are checked, also from their environment variables",
          "[refdriver]") {
  auto unknown = Driver({"--node-name", "n1", "--attribute-map", "uuid=serial,nosuch=x"});
  CHECK(unknown.exit.exit_code == 2);
  CHECK(unknown.output.find("nosuch") != std::string::npos);

  auto clash = Driver({"--node-name", "n1", "--attribute-map", "uuid=model"});
  CHECK(clash.exit.exit_code == 2);
  CHECK(clash.output.find("\"model\"") != std::string::npos);

  auto bad_name = Driver({"--node-name", "n1", "--attribute-map", "uuid=9lives"});
  CHECK(bad_name.exit.exit_code == 2);
  CHECK(bad_name.output.find("9lives") != std::string::npos);

  auto same = Driver({"--node-name", "n1", "--device-kind", "all", "--device-prefix", "accel"});
  CHECK(same.exit.exit_code == 2);
  CHECK(same.output.find("gpu=X,fpga=Y") != std::string::npos);

  auto prefix = Driver({"--node-name", "n1", "--device-prefix", "Accel_"});
  CHECK(prefix.exit.exit_code == 2);
  CHECK(prefix.output.find("Accel_") != std::string::npos);

  auto exposure = Driver({"--node-name", "n1", "--exposure", "mounts"});
  CHECK(exposure.exit.exit_code != 0);
  CHECK(exposure.output.find("mounts") != std::string::npos);

  // Read from the environment: the same checks fire.
  auto from_env = Driver({}, {{"NODE_NAME", "n1"}, {"ATTRIBUTE_MAP", "bogusattr=x"}});
  CHECK(from_env.exit.exit_code == 2);
  CHECK(from_env.output.find("bogusattr") != std::string::npos);
  auto taint_env = Driver({}, {{"NODE_NAME", "n1"}, {"TAINT_KEY", "not a key"}});
  CHECK(taint_env.exit.exit_code == 2);
  CHECK(taint_env.output.find("not a key") != std::string::npos);
  auto cdi_env = Driver({}, {{"NODE_NAME", "n1"}, {"CDI_VENDOR", "-bad-"}});
  CHECK(cdi_env.exit.exit_code == 2);
  CHECK(cdi_env.output.find("-bad-") != std::string::npos);
  // Valid identity flags get past parsing (to the missing registry dir).
  auto ok = Driver(
      {"--node-name", "n1", "--kubelet-registrar-directory-path", "/nonexistent/identity-ok"},
      {{"DEVICE_PREFIX", "gpu=accel,fpga=fabric"},
       {"PARTITION_INFIX", "part"},
       {"CDI_CLASS", "gpu=accel,fpga=fabric"},
       {"EXPOSURE", "env"},
       {"ENV_PREFIX", "ACCEL"}});
  CHECK(ok.exit.exit_code == 1);
  CHECK(ok.output.find("/nonexistent/identity-ok") != std::string::npos);
}
