// `drahil kubelet` as a process: registers a plugin, logs health, serves
// PodResources and stops cleanly on SIGTERM. kubelet_tests depends on the
// `drahil` target, so a missing binary fails the tests.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <string>
#include <thread>

#include "drahil/core/child_process.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/proto/podresources_v1.grpc.pb.h"
#include "drahil/testing/testing.hpp"
#include "test_plugin.hpp"

namespace drahil::kubelet {
namespace {

using namespace std::chrono_literals;

bool WaitForLog(const std::string& path, const std::string& text,
                std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto t = ReadFile(path);
    if (t.ok() && t->find(text) != std::string::npos) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

// DrahilBin(): the built `drahil`; a missing one fails the calling test.
std::string DrahilBin() {
  std::string bin = drahil::testing::Bin("drahil");
  INFO("drahil CLI not built at " << bin);
  REQUIRE(::access(bin.c_str(), X_OK) == 0);
  return bin;
}

}  // namespace

TEST_CASE("drahil kubelet: runs in the foreground and stops on SIGTERM", "[kubelet][cli]") {
  std::string bin = DrahilBin();
  auto tmp = TempDir::Create("drahil-kubelet-cli-");
  REQUIRE_OK(tmp);
  std::string registry = tmp->Join("registry");
  std::string plugins = tmp->Join("plugins");
  std::string podres = tmp->Join("podres.sock");
  std::string log = tmp->Join("kubelet.log");
  REQUIRE_OK(MakeDirs(registry));

  testing::TestPluginConfig c;
  c.versions = {"v1.DRAPlugin", "v1alpha1.DRAResourceHealth"};
  c.serve_health_v1alpha1 = true;
  testing::TestPlugin plugin(registry, plugins, c);
  REQUIRE_OK(plugin.Start());
  plugin.PushHealth({{"pool-a", "d0", 1, 0, ""}});

  ChildProcess::Options o;
  o.argv = {bin,
            "kubelet",
            "--registry-dir",
            registry,
            "--plugins-dir",
            plugins,
            "--podresources-socket",
            podres,
            "--state-dir",
            tmp->Join("state")};
  o.stdout_mode = ChildProcess::Stdio::kFile;
  o.stdout_path = log;
  o.stderr_to_stdout = true;
  auto child = ChildProcess::Spawn(o);
  REQUIRE_OK(child);
  bool registered = WaitForLog(log, "registered test.drahil.io at", 20s);
  if (!registered) {
    auto text = ReadFile(log);
    INFO("log: " << (text.ok() ? *text : std::string()));
    REQUIRE(registered);
  }
  CHECK(WaitForLog(log, "health of test.drahil.io: pool-a/d0=Healthy", 10s));
  REQUIRE(plugin.WaitForNotification(5s));
  CHECK(plugin.Notifications()[0].registered);

  auto stub = ::v1::PodResourcesLister::NewStub(
      grpc::CreateChannel("unix:" + podres, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  ::v1::ListPodResourcesResponse resp;
  CHECK(stub->List(&ctx, ::v1::ListPodResourcesRequest(), &resp).ok());
  CHECK(resp.pod_resources_size() == 0);

  REQUIRE_OK(child->Signal(SIGTERM));
  auto exit = child->Wait(15s);
  REQUIRE_OK(exit);
  CHECK(exit->success());
  CHECK_FALSE(PathExists(podres));
  CHECK(WaitForLog(log, "stopping", 1s));
}

TEST_CASE("drahil kubelet: --registry-dir is required", "[kubelet][cli]") {
  std::string bin = DrahilBin();
  auto out = RunCommand({bin, "kubelet"}, 20s);
  REQUIRE_OK(out);
  CHECK(out->exit.exit_code == 2);
  CHECK(out->output.find("--registry-dir") != std::string::npos);
}

}  // namespace drahil::kubelet
