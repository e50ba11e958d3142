// drahil-probe-fpga against an emulated node root built by drahil-fakenode
// (fakes/profiles/fpga-2card-vfs.yaml: a Xilinx U280 and an Intel N6001 with
// VFs). The kernels check runs for real on the first OpenCL platform (PoCL).
#include "drahil/probe_fpga/fpga_probe.hpp"

#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "drahil/core/child_process.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/testing/testing.hpp"

#ifdef DRAHIL_PROBE_HAVE_OPENCL
#include "drahil/probe_common/opencl.hpp"
#endif

namespace {

struct Run {
  int rc = -1;
  nlohmann::json doc;
  std::string output;
};

Run Probe(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  args.insert(args.begin(), drahil::testing::Bin("drahil-probe-fpga"));
  args.push_back("-q");
  auto r = drahil::RunCommand(args, std::chrono::seconds(120), env);
  REQUIRE_OK(r);
  Run out;
  out.rc = r->exit.exit_code;
  out.output = r->output;
  auto a = r->output.find("{\n");
  if (a != std::string::npos) {
    out.doc = nlohmann::json::parse(r->output.substr(a, r->output.rfind('}') - a + 1));
  }
  return out;
}

const nlohmann::json& Check(const Run& r, const std::string& name) {
  for (const auto& c : r.doc["checks"]) {
    if (c["name"] == name) return c;
  }
  FAIL("no check " << name << " in " << r.output);
  static nlohmann::json none;
  return none;
}

bool Finding(const nlohmann::json& check, const std::string& part) {
  for (const auto& f : check["findings"]) {
    if (f.get<std::string>().find(part) != std::string::npos) return true;
  }
  return false;
}

// NoOpenClDevice(): "" when this process can open an OpenCL device the way
// the probe's kernels check does ($DRAHIL_OPENCL_PLATFORM, else the first
// platform), else why not.
std::string NoOpenClDevice() {
#ifdef DRAHIL_PROBE_HAVE_OPENCL
  const char* platform = std::getenv("DRAHIL_OPENCL_PLATFORM");
  auto s = drahil::probe_common::ClSession::Open(platform ? platform : "", 0);
  return s.ok() ? "" : "no OpenCL device: " + s.status().ToString();
#else
  return "built without OpenCL (no OpenCL loader on this machine)";
#endif
}

// FakeRoot: a node root from the FPGA profile, or empty when drahil-fakenode
// is not part of this build.
struct FakeRoot {
  drahil::TempDir dir;
  std::string root;
};
std::unique_ptr<FakeRoot> MakeRoot(std::string* why) {
  std::string tool = drahil::testing::Bin("drahil-fakenode");
  *why = drahil::testing::RequireBuilt("drahil-fakenode", tool);
  if (!why->empty()) return nullptr;
  auto dir = drahil::TempDir::Create("probe-fpga-");
  REQUIRE_OK(dir);
  std::string root = dir->Join("node");
  auto r = drahil::RunCommand(
      {tool, "create", "--profile",
       drahil::testing::SourceDir() + "/fakes/profiles/fpga-2card-vfs.yaml", "--root", root},
      std::chrono::seconds(60));
  REQUIRE_OK(r);
  INFO(r->output);
  REQUIRE(r->exit.exit_code == 0);
  return std::unique_ptr<FakeRoot>(new FakeRoot{std::move(*dir), root});
}

// ContainerDev(): a private /dev holding only `nodes` (hard links to the
// emulated node files), as the sandbox builds from a CDI spec.
std::string ContainerDev(const FakeRoot& f, const std::vector<std::string>& nodes) {
  static int serial = 0;
  std::string dev = f.dir.Join("cdev" + std::to_string(++serial));
  REQUIRE_OK(drahil::MakeDirs(dev + "/dri"));
  for (const auto& n : nodes) {
    REQUIRE(::link((f.root + "/dev/" + n).c_str(), (dev + "/" + n).c_str()) == 0);
  }
  return dev;
}

const std::vector<std::string> kSmall = {"--dma-size", "1Mi",    "--vadd-elements",
                                         "4096",       "--reps", "1"};

std::vector<std::string> With(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST_CASE("drahil-probe-fpga: host view of an emulated node enumerates both cards",
          "[probe_fpga]") {
  std::string why;
  auto f = MakeRoot(&why);
  if (!f) DRAHIL_SKIP(why);
  // $DRAHIL_FAKE_ROOT selects the emulated sysfs, as inside the sandbox.
  auto r = Probe(
      With({"--checks", "enumerate,nodes,allocation,bitstream", "--dev-root", f->root + "/dev"},
           kSmall),
      {{"DRAHIL_FAKE_ROOT", f->root}});
  INFO(r.output);
  CHECK(r.doc["schema"] == "drahil.probe/v1");
  CHECK(Check(r, "enumerate")["verdict"] == "pass");
  CHECK(Check(r, "enumerate")["measurements"][1]["value"] == 8);  // fpga_functions
  CHECK(Check(r, "bitstream")["details"]["bitstream_ids"][0] == "0xbcce00000000000");
  CHECK(Check(r, "bitstream")["details"]["afu_ids"].size() == 3);
  CHECK(r.rc == 0);
}

TEST_CASE("drahil-probe-fpga: the kernels check runs vector add with a verified checksum",
          "[probe_fpga][opencl]") {
  // Only a machine without an OpenCL device may skip; once the test can open
  // one, an "error" verdict is the probe's fault and fails the test.
  std::string no_device = NoOpenClDevice();
  if (!no_device.empty()) DRAHIL_SKIP(no_device);
  std::string why;
  auto f = MakeRoot(&why);
  if (!f) DRAHIL_SKIP(why);
  auto r = Probe(With({"--checks", "kernels", "--dev-root", f->root + "/dev"}, kSmall),
                 {{"DRAHIL_FAKE_ROOT", f->root}});
  INFO(r.output);
  const auto& k = Check(r, "kernels");
  CHECK(k["verdict"] == "pass");
  CHECK(k["details"]["vadd"]["checksum"] == k["details"]["vadd"]["expected_checksum"]);
  CHECK(r.rc == 0);
}

TEST_CASE("drahil-probe-fpga: the document validates against the drahil.probe/v1 schema",
          "[probe_fpga]") {
  std::string py = drahil::testing::DebianPython();
  if (py.empty()) DRAHIL_SKIP("Debian's /usr/bin/python3 is absent (the schema check needs it)");
  auto have = drahil::RunCommand({py, "-c", "import jsonschema"}, std::chrono::seconds(30));
  if (!have.ok() || !have->exit.success()) {
    DRAHIL_SKIP("python3-jsonschema is not installed for /usr/bin/python3");
  }
  std::string why;
  auto f = MakeRoot(&why);
  if (!f) DRAHIL_SKIP(why);
  // Every check, kernels included: the document must validate whatever their verdicts.
  auto r = Probe(With({"--dev-root", f->root + "/dev"}, kSmall), {{"DRAHIL_FAKE_ROOT", f->root}});
  INFO(r.output);
  REQUIRE(r.doc.is_object());
  std::string doc = f->dir.Join("fpga.json");
  REQUIRE_OK(drahil::AtomicWriteFile(doc, r.doc.dump()));
  auto v = drahil::RunCommand(
      {py, "-c",
       "import json,sys,jsonschema; s=json.load(open(sys.argv[1])); "
       "jsonschema.validate(json.load(open(sys.argv[2])), s)",
       drahil::testing::SourceDir() + "/probes/common/schema/drahil.probe.v1.schema.json", doc},
      std::chrono::seconds(60));
  REQUIRE_OK(v);
  INFO(v->output);
  CHECK(v->exit.exit_code == 0);
}

TEST_CASE("drahil-probe-fpga: a VF claim with exactly its node and bitstream passes",
          "[probe_fpga]") {
  std::string why;
  auto f = MakeRoot(&why);
  if (!f) DRAHIL_SKIP(why);
  std::string dev = ContainerDev(*f, {"dfl-port.0"});
  auto r =
      Probe({"--checks", "enumerate,nodes,allocation,bitstream", "--dev-root", dev, "--expect-vf"},
            {{"DRAHIL_FAKE_ROOT", f->root},
             {"DRAHIL_FPGA_BDFS", "af:00.1"},
             {"DRAHIL_FPGA_BITSTREAM_ID", "0xBCCE00000000000"}});
  INFO(r.output);
  CHECK(r.rc == 0);
  CHECK(Check(r, "nodes")["details"]["expected_nodes"] == nlohmann::json::array({"dfl-port.0"}));
  CHECK(Check(r, "allocation")["details"]["functions"][0]["physfn"] == "0000:af:00.0");
}

TEST_CASE("drahil-probe-fpga: findings name the extra node, the wrong id and the missing function",
          "[probe_fpga]") {
  std::string why;
  auto f = MakeRoot(&why);
  if (!f) DRAHIL_SKIP(why);
  std::string sysfs = f->root + "/sys/bus/pci";
  std::vector<std::string> base = {"--checks", "enumerate,nodes,allocation,bitstream",
                                   "--sysfs-root", sysfs};
  SECTION("a second VF's node is reachable") {
    std::string dev = ContainerDev(*f, {"dfl-port.0", "dfl-port.1"});
    auto r = Probe(With(base, {"--dev-root", dev, "--expect-bdfs", "0000:af:00.1"}));
    CHECK(r.rc == 1);
    CHECK(Check(r, "nodes")["verdict"] == "fail");
    CHECK(Finding(Check(r, "nodes"), "dfl-port.1 opens but was not allocated"));
  }
  SECTION("the allocated node is missing") {
    std::string dev = ContainerDev(*f, {"dfl-port.2"});
    auto r = Probe(With(base, {"--dev-root", dev, "--expect-bdfs", "0000:af:00.1"}));
    CHECK(r.rc == 1);
    CHECK(Finding(Check(r, "nodes"), "allocated node dfl-port.0 does not open"));
  }
  SECTION("the driver reported another bitstream") {
    std::string dev = ContainerDev(*f, {"dfl-port.0"});
    auto r = Probe(With(base, {"--dev-root", dev, "--expect-bdfs", "0000:af:00.1",
                               "--expect-bitstream-id", "0x1234"}));
    CHECK(r.rc == 1);
    CHECK(Finding(Check(r, "bitstream"), "reported bitstream id 0x1234, the device has 0xbcce"));
  }
  SECTION("a PF where a VF was required, and a function that does not exist") {
    std::string dev = ContainerDev(*f, {"dfl-fme.0"});
    auto r = Probe(With(
        base, {"--dev-root", dev, "--expect-bdfs", "0000:af:00.0,0000:d8:00.0", "--expect-vf"}));
    CHECK(r.rc == 1);
    CHECK(Finding(Check(r, "enumerate"), "0000:d8:00.0 is not present"));
    CHECK(Finding(Check(r, "allocation"), "0000:af:00.0 is a physical function"));
  }
  SECTION("an injected region error") {
    auto inj = drahil::RunCommand({drahil::testing::Bin("drahil-fakenode"), "inject", "--root",
                                   f->root, "--device", "fpga1", "--fault", "fpga-region-error"},
                                  std::chrono::seconds(30));
    REQUIRE_OK(inj);
    REQUIRE(inj->exit.exit_code == 0);
    std::string dev = ContainerDev(*f, {"dfl-port.0"});
    auto r = Probe(With(base, {"--dev-root", dev, "--expect-bdfs", "0000:af:00.1"}));
    CHECK(r.rc == 1);
    CHECK(Finding(Check(r, "allocation"), "dfl-port.0 reports errors 0x1"));
  }
}

TEST_CASE("drahil-probe-fpga: usage and environment errors", "[probe_fpga]") {
  CHECK(Probe({"--checks", "teleport"}).rc == 2);
  CHECK(Probe({"--expect-bdfs", "not-a-bdf"}).rc == 2);
  auto r = Probe({"--checks", "enumerate", "--sysfs-root", "/nonexistent/sys/bus/pci"});
  CHECK(r.rc == 3);
  CHECK(Check(r, "enumerate")["verdict"] == "error");
  CHECK(Finding(Check(r, "enumerate"), "/nonexistent/sys/bus/pci"));
  CHECK(drahil::probe_fpga::IsFpgaFunction(0x10ee, 0x500c));
  CHECK(drahil::probe_fpga::IsFpgaFunction(0x8086, 0xbccf));
  CHECK_FALSE(drahil::probe_fpga::IsFpgaFunction(0x8086, 0x1234));
  CHECK_FALSE(drahil::probe_fpga::IsFpgaFunction(0x10de, 0x2330));
}

TEST_CASE("EnumeratePci: reads the real /sys when present", "[probe_fpga]") {
  if (!drahil::PathExists("/sys/bus/pci/devices")) DRAHIL_SKIP("no /sys/bus/pci");
  auto fns = drahil::probe_fpga::EnumeratePci("/sys/bus/pci");
  REQUIRE_OK(fns);
  for (const auto& f : *fns) {
    CHECK(f.bdf.size() == 12);
    CHECK(f.vendor != 0);
  }
}
