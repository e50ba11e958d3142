// The fake NVML and the emulated runtime inside drahil's real sandbox
// (harness/sandbox): a container granted one GPU's node (and one MIG
// capability) through CDI device nodes sees exactly that, nothing else.
#include "drahil/sandbox/sandbox.hpp"

#include <chrono>
#include <string>

#include "drahil/core/temp_dir.hpp"
#include "drahil/fakenode/fakenode.hpp"
#include "drahil/gpurt/gpurt.h"
#include "drahil/testing/testing.hpp"

using namespace drahil;
using namespace drahil::fakenode;

namespace {

cdi::DeviceNode Grant(const std::string& root, const std::string& rel) {
  cdi::DeviceNode n;
  n.path = "/" + rel;  // "dev/nvidia2" -> "/dev/nvidia2"
  n.host_path = root + "/" + rel;
  return n;
}

}  // namespace

TEST_CASE("FakeNvml+Gpurt in the sandbox: one granted GPU and one MIG slice are all it sees",
          "[nvml][gpurt][sandbox]") {
  Status avail = sandbox::Sandbox::Available();
  if (!avail.ok()) DRAHIL_SKIP(avail.message());
  DRAHIL_REQUIRE_BUILT("drahil-sandbox-init", sandbox::Sandbox::FindInit());
  auto dir = TempDir::Create("fake-sandbox-");
  REQUIRE_OK(dir);
  std::string root = dir->Join("node");
  auto profile = LoadProfile(testing::SourceDir() + "/fakes/profiles/gpu-8x-mig-server.yaml");
  REQUIRE_OK(profile);
  auto node = CreateNode(*profile, root);
  REQUIRE_OK(node);
  const Gpu& whole = node->gpus[6];
  const Gpu& migpu = node->gpus[0];
  const MigDevice& slice = migpu.mig_devices[1];  // 2g.20gb

  sandbox::SandboxSpec spec;
  spec.edits.device_nodes = {Grant(root, "dev/nvidiactl"), Grant(root, whole.node_file),
                             Grant(root, migpu.node_file), Grant(root, slice.cap_file)};
  spec.edits.env = {"DRAHIL_FAKE_ROOT=" + root};
  spec.fake_root = root;
  spec.timeout = std::chrono::seconds(60);

  spec.argv = {testing::Bin("drahil-nvml-list"),
               testing::LibDir() + "/fake-nvml/libnvidia-ml.so.1"};
  auto nvml = sandbox::Sandbox::Run(spec);
  REQUIRE_OK(nvml);
  INFO(nvml->stdout_text << nvml->stderr_text);
  REQUIRE(nvml->exit.success());
  CHECK(nvml->stdout_text.find("count 2\n") != std::string::npos);
  CHECK(nvml->stdout_text.find("gpu 0 " + migpu.uuid) != std::string::npos);
  CHECK(nvml->stdout_text.find("gpu 1 " + whole.uuid) != std::string::npos);
  CHECK(nvml->stdout_text.find("mig 0 " + slice.uuid) != std::string::npos);
  CHECK(nvml->stdout_text.find(migpu.mig_devices[0].uuid) == std::string::npos);
  CHECK(nvml->stdout_text.find(node->gpus[7].uuid) == std::string::npos);

  spec.argv = {testing::Bin("drahil-gpurt-smoke"), testing::LibDir() + "/libdrahil-gpurt.so",
               "info"};
  auto rt = sandbox::Sandbox::Run(spec);
  REQUIRE_OK(rt);
  INFO(rt->stdout_text << rt->stderr_text);
  REQUIRE(rt->exit.success());
  CHECK(rt->stdout_text.find("count 2\n") != std::string::npos);
  CHECK(rt->stdout_text.find(slice.uuid + " " + std::to_string(20ull << 30)) != std::string::npos);
  CHECK(rt->stdout_text.find(whole.uuid + " " + std::to_string(80ull << 30)) != std::string::npos);

  // A kernel really runs inside the container on its granted GPU.
  spec.argv = {testing::Bin("drahil-gpurt-smoke"), testing::LibDir() + "/libdrahil-gpurt.so",
               "vecadd", "4096"};
  spec.edits.env.push_back("CUDA_VISIBLE_DEVICES=" + whole.uuid);
  auto vec = sandbox::Sandbox::Run(spec);
  REQUIRE_OK(vec);
  INFO(vec->stdout_text << vec->stderr_text);
  CHECK(vec->stdout_text == "vecadd ok\n");
}
