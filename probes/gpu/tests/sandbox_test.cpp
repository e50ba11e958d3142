// drahil-probe-gpu inside drahil's sandbox (harness/sandbox): the container
// view a CDI spec produces, with $DRAHIL_FAKE_ROOT/dev masked and only the
// granted emulated node files in a private /dev. Skipped where namespaces or
// the fakes are unavailable.
#include "drahil/sandbox/sandbox.hpp"

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <utility>

#include "drahil/core/child_process.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/testing/testing.hpp"

namespace {

struct Node {
  drahil::TempDir dir;
  std::string root;
  std::string gpu0_uuid;
  std::string mig_uuid;  // first MIG device of gpu1 (cap node nvidia-cap3)
};

std::unique_ptr<Node> MakeNode(std::string* why) {
  std::string tool = drahil::testing::Bin("drahil-fakenode");
  const std::pair<const char*, std::string> needed[] = {
      {"drahil-fakenode", tool},
      {"drahil_gpurt", drahil::testing::LibDir() + "/libdrahil-gpurt.so"},
      {"drahil_fake_nvml", drahil::testing::LibDir() + "/fake-nvml/libnvidia-ml.so.1"}};
  for (const auto& [target, path] : needed) {
    *why = drahil::testing::RequireBuilt(target, path);
    if (!why->empty()) return nullptr;
  }
  if (auto st = drahil::sandbox::Sandbox::Available(); !st.ok()) {
    *why = "sandbox unavailable: " + st.ToString();
    return nullptr;
  }
  auto dir = drahil::TempDir::Create("probe-gpu-sbx-");
  REQUIRE_OK(dir);
  std::string root = dir->Join("node");
  auto r = drahil::RunCommand(
      {tool, "create", "--profile", drahil::testing::SourceDir() + "/fakes/profiles/mixed.yaml",
       "--root", root},
      std::chrono::seconds(60));
  REQUIRE_OK(r);
  REQUIRE(r->exit.exit_code == 0);
  auto g0 = nlohmann::json::parse(*drahil::ReadFile(root + "/state/gpus/gpu0.json"));
  auto g1 = nlohmann::json::parse(*drahil::ReadFile(root + "/state/gpus/gpu1.json"));
  std::string mig;
  for (const auto& m : g1["mig"]["devices"]) {
    if (m["cap_minor"] == 3) mig = m["uuid"];
  }
  return std::unique_ptr<Node>(new Node{std::move(*dir), root, g0["uuid"], mig});
}

nlohmann::json RunInSandbox(const Node& n, const std::vector<std::string>& nodes,
                            const std::vector<std::string>& probe_args, int* rc) {
  drahil::sandbox::SandboxSpec spec;
  spec.argv = {drahil::testing::Bin("drahil-probe-gpu"), "--backend", "emulated", "-q"};
  spec.argv.insert(spec.argv.end(), probe_args.begin(), probe_args.end());
  for (const auto& rel : nodes) {
    drahil::cdi::DeviceNode d;
    d.path = "/dev/" + rel;
    d.host_path = n.root + "/dev/" + rel;
    spec.edits.device_nodes.push_back(d);
  }
  // What the reference driver's CDI spec passes (containerEdits.env).
  spec.edits.env = {
      "DRAHIL_FAKE_ROOT=" + n.root,
      "DRAHIL_GPURT_LIBRARY=" + drahil::testing::LibDir() + "/libdrahil-gpurt.so",
      "DRAHIL_NVML_LIBRARY=" + drahil::testing::LibDir() + "/fake-nvml/libnvidia-ml.so.1"};
  spec.fake_root = n.root;
  spec.timeout = std::chrono::seconds(60);
  auto r = drahil::sandbox::Sandbox::Run(spec);
  REQUIRE_OK(r);
  INFO(r->stderr_text);
  INFO(r->stdout_text);
  REQUIRE_FALSE(r->timed_out);
  *rc = r->exit.exit_code;
  REQUIRE_FALSE(r->result_json.empty());  // the probe wrote to DRAHIL_RESULT_FD=3
  return nlohmann::json::parse(r->result_json);
}

bool Finding(const nlohmann::json& check, const std::string& part) {
  for (const auto& f : check["findings"]) {
    if (f.get<std::string>().find(part) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("Sandboxed probe: enumerate passes with the one granted GPU, fails naming a second",
          "[probe_gpu][emulated][sandbox]") {
  std::string why;
  auto n = MakeNode(&why);
  if (!n) DRAHIL_SKIP(why);
  REQUIRE_FALSE(n->mig_uuid.empty());
  int rc = -1;
  auto one =
      RunInSandbox(*n, {"nvidia0"}, {"--checks", "enumerate", "--expect-uuids", n->gpu0_uuid}, &rc);
  INFO(one.dump(2));
  CHECK(rc == 0);
  CHECK(one["checks"][0]["verdict"] == "pass");
  CHECK(one["checks"][0]["measurements"][0]["value"] == 1);  // runtime_devices

  // The spec grants a MIG device of the second GPU as well.
  auto two = RunInSandbox(*n, {"nvidia0", "nvidia1", "nvidia-caps/nvidia-cap3"},
                          {"--checks", "enumerate", "--expect-uuids", n->gpu0_uuid}, &rc);
  INFO(two.dump(2));
  CHECK(rc == 1);
  CHECK(Finding(two["checks"][0], n->mig_uuid + " that was not allocated"));
  CHECK(Finding(two["checks"][0], "/dev/nvidia1 opens but belongs to no allocated device"));
}

TEST_CASE("Sandboxed probe: memory-capacity fails when the share has no limit",
          "[probe_gpu][emulated][sandbox]") {
  std::string why;
  auto n = MakeNode(&why);
  if (!n) DRAHIL_SKIP(why);
  int rc = -1;
  auto doc = RunInSandbox(*n, {"nvidia0"},
                          {"--checks", "memory-capacity", "--expect-memory", "80Gi",
                           "--expect-share", "128Mi", "--chunk-size", "64Mi"},
                          &rc);
  INFO(doc.dump(2));
  CHECK(rc == 1);
  CHECK(Finding(doc["checks"][0], "the limit is not enforced"));
}
