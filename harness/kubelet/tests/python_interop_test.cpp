// Interop with an independent gRPC implementation: a Python plugin on
// Debian's python3-grpcio, with stubs generated at test time by
// grpc_python_plugin from drahil's own .proto files, registers and serves
// prepare/unprepare/health; the stand-in drives it.
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <string>
#include <thread>

#include "drahil/core/child_process.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/kubelet/kubelet.hpp"
#include "drahil/testing/testing.hpp"

namespace drahil::kubelet {
namespace {

using namespace std::chrono_literals;

constexpr char kGrpcPythonPlugin[] = "/usr/bin/grpc_python_plugin";

bool WaitForText(const std::string& path, const std::string& text,
                 std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto t = ReadFile(path);
    if (t.ok() && t->find(text) != std::string::npos) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

}  // namespace

TEST_CASE("KubeletStandIn: interoperates with a Python grpcio plugin", "[kubelet][grpc][interop]") {
  std::string python = drahil::testing::DebianPython();
  if (python.empty()) DRAHIL_SKIP("Debian's /usr/bin/python3 is not installed");
  auto probe = RunCommand({python, "-c", "import grpc, google.protobuf"}, 30s);
  if (!probe.ok() || !probe->exit.success()) {
    DRAHIL_SKIP("/usr/bin/python3 lacks grpc (install python3-grpcio python3-protobuf)");
  }
  if (::access(kGrpcPythonPlugin, X_OK) != 0) {
    DRAHIL_SKIP("grpc_python_plugin not found (install protobuf-compiler-grpc)");
  }
  std::string protoc = drahil::testing::FindOnPath("protoc");
  if (protoc.empty()) DRAHIL_SKIP("protoc not on PATH");

  auto tmp = TempDir::Create("drahil-pyinterop-");
  REQUIRE_OK(tmp);
  std::string stubs = tmp->Join("stubs");
  REQUIRE_OK(MakeDirs(stubs));
  std::string proto_dir = drahil::testing::SourceDir() + "/harness/proto/drahil/proto";
  std::vector<std::string> gen = {protoc, "-I" + proto_dir, "--python_out=" + stubs,
                                  "--grpc_out=" + stubs,
                                  std::string("--plugin=protoc-gen-grpc=") + kGrpcPythonPlugin};
  for (const char* f : {"dra_v1.proto", "dra_v1beta1.proto", "dra_health_v1alpha1.proto",
                        "pluginregistration_v1.proto"}) {
    gen.push_back(proto_dir + "/" + f);
  }
  auto out = RunCommand(gen, 60s);
  REQUIRE_OK(out);
  INFO(out->output);
  REQUIRE(out->exit.success());

  KubeletStandIn kubelet;
  KubeletStandIn::Options opts;
  opts.state_dir = tmp->Join("state");
  opts.reconcile_interval = 50ms;
  opts.call_timeout = 10s;
  std::string registry = tmp->Join("registry");
  std::string plugins = tmp->Join("plugins");
  REQUIRE_OK(kubelet.Start(registry, plugins, opts));

  std::string events = tmp->Join("events.txt");
  ChildProcess::Options po;
  po.argv = {
      python,       drahil::testing::SourceDir() + "/harness/kubelet/tests/python/dra_plugin.py",
      "--stubs",    stubs,
      "--registry", registry,
      "--plugins",  plugins,
      "--driver",   "py.drahil.io",
      "--events",   events};
  po.stdout_mode = ChildProcess::Stdio::kFile;
  po.stdout_path = tmp->Join("plugin.log");
  po.stderr_to_stdout = true;
  auto child = ChildProcess::Spawn(po);
  REQUIRE_OK(child);

  // What the plugin printed and, from its events, how far it got.
  auto plugin_output = [&] {
    auto log = ReadFile(tmp->Join("plugin.log"));
    auto ev = ReadFile(events);
    return "plugin log: " + (log.ok() ? *log : log.status().ToString()) +
           "\nplugin events: " + (ev.ok() ? *ev : ev.status().ToString());
  };
  auto p = kubelet.WaitForPlugin("py.drahil.io", 30s);
  if (!p.ok()) {
    INFO(plugin_output());
    REQUIRE_OK(p);
  }
  CHECK(p->dra_service == kDraV1Service);
  CHECK(p->health_service == kHealthV1alpha1Service);
  CHECK(p->endpoint == plugins + "/py.drahil.io/dra.sock");
  CHECK(WaitForText(events, "notify True \n", 5s));

  std::vector<ClaimRef> claims = {{"default", "u1", "claim-1"}, {"default", "u2", "bad-2"}};
  CallResult r = kubelet.Prepare("py.drahil.io", claims);
  CHECK(r.status.message() ==
        "NodePrepareResources failed for ResourceClaim bad-2: python plugin refuses bad-2");
  REQUIRE(r.claims[0].status.ok());
  REQUIRE(r.claims[0].devices.size() == 1);
  const Device& d = r.claims[0].devices[0];
  CHECK(d.pool_name == "py-pool");
  CHECK(d.device_name == "py-claim-1");
  CHECK(d.request_names == std::vector<std::string>{"gpu"});
  CHECK(d.cdi_device_ids == std::vector<std::string>{"python.example/gpu=u1"});
  REQUIRE(d.share_id.has_value());  // explicit presence survives both stacks
  CHECK(*d.share_id == "share-u1");
  REQUIRE_OK(kubelet.Prepare("py.drahil.io", {claims[0]}).status);

  auto h = kubelet.WaitForHealth(
      "py.drahil.io",
      [](const HealthSnapshot& s) {
        return s.devices.size() == 1 && s.devices[0].effective == HealthState::kHealthy;
      },
      10s);
  REQUIRE_OK(h);
  CHECK(h->devices[0].timeout == 10s);
  CHECK(h->devices[0].message == "python says fine");
  CHECK(h->devices[0].plugin_last_updated_unix > 0);

  CallResult u = kubelet.Unprepare("py.drahil.io", claims);
  REQUIRE_OK(u.status);
  CHECK(WaitForText(events, "unprepare u1,u2", 5s));
  CHECK(kubelet.Claims().empty());

  REQUIRE_OK(child->Signal(SIGTERM));
  auto exit = child->Wait(15s);
  if (!exit.ok()) {
    INFO(plugin_output());  // its events name each step of the shutdown
    REQUIRE_OK(exit);
  }
  CHECK(exit->success());
  REQUIRE_OK(kubelet.WaitForPluginGone("py.drahil.io", 10s));
}

}  // namespace drahil::kubelet
