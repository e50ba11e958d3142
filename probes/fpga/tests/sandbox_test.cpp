// drahil-probe-fpga inside drahil's sandbox: only the CDI-granted FPGA nodes
// in a private /dev ($DRAHIL_FAKE_ROOT/dev masked), the fake sysfs readable,
// DRAHIL_FPGA_BDFS from the CDI env as the reference driver writes it.
#include "drahil/sandbox/sandbox.hpp"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "drahil/core/child_process.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/testing/testing.hpp"

namespace {

bool Finding(const nlohmann::json& check, const std::string& part) {
  for (const auto& f : check["findings"]) {
    if (f.get<std::string>().find(part) != std::string::npos) return true;
  }
  return false;
}

const nlohmann::json& Check(const nlohmann::json& doc, const std::string& name) {
  for (const auto& c : doc["checks"]) {
    if (c["name"] == name) return c;
  }
  FAIL("no check " << name);
  static nlohmann::json none;
  return none;
}

}  // namespace

TEST_CASE("Sandboxed FPGA probe: a VF claim sees its port only, a leaked port is named",
          "[probe_fpga][sandbox]") {
  std::string tool = drahil::testing::Bin("drahil-fakenode");
  DRAHIL_REQUIRE_BUILT("drahil-fakenode", tool);
  if (auto st = drahil::sandbox::Sandbox::Available(); !st.ok()) {
    DRAHIL_SKIP("sandbox unavailable: " + st.ToString());
  }
  auto dir = drahil::TempDir::Create("probe-fpga-sbx-");
  REQUIRE_OK(dir);
  std::string root = dir->Join("node");
  auto made = drahil::RunCommand(
      {tool, "create", "--profile",
       drahil::testing::SourceDir() + "/fakes/profiles/fpga-2card-vfs.yaml", "--root", root},
      std::chrono::seconds(60));
  REQUIRE_OK(made);
  REQUIRE(made->exit.exit_code == 0);

  auto run = [&](const std::vector<std::string>& nodes, int* rc) {
    drahil::sandbox::SandboxSpec spec;
    spec.argv = {drahil::testing::Bin("drahil-probe-fpga"), "-q", "--checks",
                 "enumerate,nodes,allocation,bitstream", "--expect-vf"};
    for (const auto& rel : nodes) {
      drahil::cdi::DeviceNode d;
      d.path = "/dev/" + rel;
      d.host_path = root + "/dev/" + rel;
      spec.edits.device_nodes.push_back(d);
    }
    spec.edits.env = {"DRAHIL_FAKE_ROOT=" + root, "DRAHIL_FPGA_BDFS=0000:af:00.2",
                      "DRAHIL_FPGA_BITSTREAM_ID=0xbcce00000000000"};
    spec.fake_root = root;
    spec.timeout = std::chrono::seconds(60);
    auto r = drahil::sandbox::Sandbox::Run(spec);
    REQUIRE_OK(r);
    INFO(r->stderr_text);
    REQUIRE_FALSE(r->result_json.empty());
    *rc = r->exit.exit_code;
    return nlohmann::json::parse(r->result_json);
  };
  int rc = -1;
  auto ok = run({"dfl-port.1"}, &rc);  // af:00.2 carries port 1
  INFO(ok.dump(2));
  CHECK(rc == 0);
  CHECK(Check(ok, "nodes")["details"]["expected_nodes"] == nlohmann::json::array({"dfl-port.1"}));
  // Outside the sandbox every node of the host view would be listed too.
  CHECK(Check(ok, "nodes")["measurements"][0]["value"] == 1);

  auto leak = run({"dfl-port.1", "dfl-port.2"}, &rc);
  INFO(leak.dump(2));
  CHECK(rc == 1);
  CHECK(Finding(Check(leak, "nodes"), "/dev/dfl-port.2 opens but was not allocated"));
}
