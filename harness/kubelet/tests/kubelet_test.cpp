// Integration tests of the kubelet stand-in against TestPlugin over real
// unix sockets (issue 3, "Must show").
#include "drahil/kubelet/kubelet.hpp"

#include <grpcpp/grpcpp.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "drahil/core/clock.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/core/mutex.hpp"
#include "drahil/core/poll.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/proto/podresources_v1.grpc.pb.h"
#include "drahil/testing/testing.hpp"
#include "test_plugin.hpp"

namespace drahil::kubelet {
namespace {

using namespace std::chrono_literals;
using testing::HealthReport;
using testing::TestPlugin;
using testing::TestPluginConfig;

struct Env {
  TempDir tmp = TempDir::Create("drahil-kubelet-").value();
  std::string registry = tmp.Join("registry");
  std::string plugins = tmp.Join("plugins");
  std::string state = tmp.Join("state");
  KubeletStandIn::Options opts;
  // Tests that drive time by hand set opts.clock = &clock.
  FakeClock clock;
  KubeletStandIn kubelet;

  Env() {
    opts.state_dir = state;
    opts.reconcile_interval = 50ms;
    opts.health_restart_interval = 300ms;
    opts.call_timeout = 10s;
  }
  Status Start() { return kubelet.Start(registry, plugins, opts); }
  std::unique_ptr<TestPlugin> MakePlugin(TestPluginConfig c = {}) {
    REQUIRE_OK(MakeDirs(registry));
    return std::make_unique<TestPlugin>(registry, plugins, std::move(c));
  }
};

ClaimRef Claim(const std::string& uid, const std::string& name = "") {
  return ClaimRef{"default", uid, name.empty() ? "claim-" + uid : name};
}

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("KubeletStandIn: registers an existing plugin offering v1 and v1beta1",
          "[kubelet][grpc]") {
  Env env;
  auto plugin = env.MakePlugin();
  REQUIRE_OK(plugin->Start());
  REQUIRE_OK(env.Start());  // the socket exists before the watcher starts
  auto p = env.kubelet.WaitForPlugin("test.drahil.io", 5s);
  REQUIRE_OK(p);
  CHECK(p->dra_service == kDraV1Service);
  CHECK(p->endpoint == plugin->dra_socket());
  CHECK(p->registration_socket == plugin->reg_socket());
  CHECK(p->health_service.empty());
  REQUIRE(plugin->WaitForNotification(5s));
  auto n = plugin->Notifications();
  REQUIRE(n.size() == 1);
  CHECK(n[0].registered);
  CHECK(n[0].error.empty());
  CHECK(env.kubelet.RegistrationCount("test.drahil.io") == 1);
  for (const auto& f : env.kubelet.Findings()) {
    INFO(f.ToString());
    CHECK(f.severity != Finding::Severity::kError);
  }
}

TEST_CASE("KubeletStandIn: picks the first DRA version the plugin lists", "[kubelet][grpc]") {
  Env env;
  REQUIRE_OK(env.Start());
  TestPluginConfig c;
  std::string want_api, want_call;
  SECTION("v1 only") {
    c.versions = {"v1.DRAPlugin"};
    c.serve_v1beta1 = false;
    want_api = kDraV1Service;
    want_call = "v1/NodePrepareResources:u1";
  }
  SECTION("v1beta1 only") {
    c.versions = {"v1beta1.DRAPlugin"};
    c.serve_v1 = false;
    want_api = kDraV1beta1Service;
    want_call = "v1beta1/NodePrepareResources:u1";
  }
  SECTION("both, v1beta1 listed first") {
    c.versions = {"v1beta1.DRAPlugin", "v1.DRAPlugin"};
    want_api = kDraV1beta1Service;
    want_call = "v1beta1/NodePrepareResources:u1";
  }
  auto plugin = env.MakePlugin(c);
  REQUIRE_OK(plugin->Start());
  auto p = env.kubelet.WaitForPlugin("test.drahil.io", 5s);
  REQUIRE_OK(p);
  CHECK(p->dra_service == want_api);
  CallResult r = env.kubelet.Prepare("test.drahil.io", {Claim("u1")});
  REQUIRE_OK(r.status);
  CHECK(r.record.api == want_api);
  REQUIRE(r.claims.size() == 1);
  REQUIRE(r.claims[0].devices.size() == 1);
  CHECK(r.claims[0].devices[0].cdi_device_ids == std::vector<std::string>{"drahil.io/test=u1"});
  CHECK_FALSE(r.claims[0].devices[0].share_id.has_value());
  auto calls = plugin->Calls();
  CHECK(std::find(calls.begin(), calls.end(), want_call) != calls.end());
  if (c.versions.size() == 2) {
    REQUIRE_OK(env.kubelet.WaitForFinding("v1-not-first", plugin->reg_socket(), 2s));
  }
}

TEST_CASE(
    "KubeletStandIn: a call may use another advertised DRA service, never an unadvertised one",
    "[kubelet][grpc]") {
  Env env;
  REQUIRE_OK(env.Start());
  TestPluginConfig c;
  c.versions = {"v1.DRAPlugin", "v1beta1.DRAPlugin"};
  auto plugin = env.MakePlugin(c);
  REQUIRE_OK(plugin->Start());
  REQUIRE_OK(env.kubelet.WaitForPlugin("test.drahil.io", 5s));
  KubeletStandIn::CallOptions older;
  older.api = kDraV1beta1Service;
  CallResult r = env.kubelet.Prepare("test.drahil.io", {Claim("u1")}, older);
  REQUIRE_OK(r.status);
  CHECK(r.record.api == kDraV1beta1Service);
  CHECK(plugin->Calls().back() == "v1beta1/NodePrepareResources:u1");
  // The registered service is still the default for later calls.
  CallResult again = env.kubelet.Unprepare("test.drahil.io", {Claim("u1")});
  REQUIRE_OK(again.status);
  CHECK(again.record.api == kDraV1Service);

  TestPluginConfig only_v1;
  only_v1.driver = "v1only.drahil.io";
  only_v1.versions = {"v1.DRAPlugin"};
  only_v1.serve_v1beta1 = false;
  auto p1 = env.MakePlugin(only_v1);
  REQUIRE_OK(p1->Start());
  REQUIRE_OK(env.kubelet.WaitForPlugin("v1only.drahil.io", 5s));
  CallResult refused = env.kubelet.Prepare("v1only.drahil.io", {Claim("u2")}, older);
  CHECK(refused.status.code() == Code::kFailedPrecondition);
  CHECK(refused.status.message().find("did not advertise v1beta1.DRAPlugin") != std::string::npos);
  CHECK(p1->Calls().empty());
}

TEST_CASE("KubeletStandIn: rejects a plugin of another type with the kubelet's text",
          "[kubelet][grpc]") {
  Env env;
  REQUIRE_OK(env.Start());
  TestPluginConfig c;
  c.type = "CSIPlugin";
  auto plugin = env.MakePlugin(c);
  REQUIRE_OK(plugin->Start());
  auto f = env.kubelet.WaitForFinding("bad-type", plugin->reg_socket(), 5s);
  REQUIRE_OK(f);
  REQUIRE(plugin->WaitForNotification(5s));
  auto n = plugin->Notifications();
  CHECK_FALSE(n[0].registered);
  CHECK(n[0].error ==
        "RegisterPlugin error -- no handler registered for plugin type: CSIPlugin "
        "at socket " +
            plugin->reg_socket());
  CHECK(f->message == n[0].error);
  CHECK(env.kubelet.Plugins().empty());
}

TEST_CASE("KubeletStandIn: rejects plugins without a supported DRA service", "[kubelet][grpc]") {
  Env env;
  REQUIRE_OK(env.Start());
  TestPluginConfig c;
  std::string kind, list;
  SECTION("legacy alpha service only") {
    c.versions = {"v1alpha3.NodeService", "v1alpha1.DRAResourceHealth"};
    kind = "no-supported-version";
    list = "[v1alpha3.NodeService v1alpha1.DRAResourceHealth]";
  }
  SECTION("empty list") {
    c.versions = {};
    kind = "empty-supported-versions";
    list = "[]";
  }
  auto plugin = env.MakePlugin(c);
  REQUIRE_OK(plugin->Start());
  REQUIRE_OK(env.kubelet.WaitForFinding(kind, plugin->reg_socket(), 5s));
  REQUIRE(plugin->WaitForNotification(5s));
  auto n = plugin->Notifications();
  CHECK_FALSE(n[0].registered);
  CHECK(n[0].error ==
        "RegisterPlugin error -- plugin validation failed with err: none of "
        "services supported by the plugin " +
            list + " are supported by the kubelet");
  CHECK(env.kubelet.Plugins().empty());
}

TEST_CASE("KubeletStandIn: an empty endpoint means the registration socket serves DRA",
          "[kubelet][grpc]") {
  Env env;
  REQUIRE_OK(env.Start());
  TestPluginConfig c;
  c.endpoint_empty = true;
  auto plugin = env.MakePlugin(c);
  REQUIRE_OK(plugin->Start());
  auto p = env.kubelet.WaitForPlugin("test.drahil.io", 5s);
  REQUIRE_OK(p);
  CHECK(p->endpoint == plugin->reg_socket());
  CallResult r = env.kubelet.Prepare("test.drahil.io", {Claim("u1")});
  REQUIRE_OK(r.status);
  CHECK(r.record.endpoint == plugin->reg_socket());
  REQUIRE_OK(env.kubelet.WaitForFinding("endpoint-empty", plugin->reg_socket(), 1s));
}

TEST_CASE("KubeletStandIn: a failing NotifyRegistrationStatus is a finding", "[kubelet][grpc]") {
  Env env;
  REQUIRE_OK(env.Start());
  TestPluginConfig c;
  c.fail_notify = true;
  auto plugin = env.MakePlugin(c);
  REQUIRE_OK(plugin->Start());
  REQUIRE_OK(env.kubelet.WaitForPlugin("test.drahil.io", 5s));
  auto f = env.kubelet.WaitForFinding("notify-failed", plugin->reg_socket(), 5s);
  REQUIRE_OK(f);
  CHECK(Contains(f->message, "code = Internal desc = notify broken"));
}

TEST_CASE("KubeletStandIn: re-registers a re-created socket, unregisters a removed one",
          "[kubelet][grpc]") {
  Env env;
  REQUIRE_OK(env.Start());
  auto plugin = env.MakePlugin();
  REQUIRE_OK(plugin->Start());
  REQUIRE_OK(env.kubelet.WaitForPlugin("test.drahil.io", 5s));
  // The plugin counts as registered before NotifyRegistrationStatus reaches
  // it; stopping it first would cancel that call.
  REQUIRE(plugin->WaitForNotification(5s, 1));
  plugin->Stop();  // removes both sockets
  REQUIRE_OK(env.kubelet.WaitForPluginGone("test.drahil.io", 5s));
  CHECK(env.kubelet.Prepare("test.drahil.io", {Claim("u1")}).status.code() ==
        Code::kFailedPrecondition);
  REQUIRE_OK(plugin->Start());
  REQUIRE_OK(env.kubelet.WaitForPlugin("test.drahil.io", 5s));
  CHECK(env.kubelet.RegistrationCount("test.drahil.io") == 2);
  REQUIRE(plugin->WaitForNotification(5s, 2));
  CHECK(plugin->Notifications()[1].registered);
  REQUIRE_OK(env.kubelet.Prepare("test.drahil.io", {Claim("u1")}).status);
}

// The kubelet deletes the node's ResourceSlices when it starts (no driver
// is usable yet) and 30 s after a driver's last plugin went away, unless one
// registers again first (dra_plugin_manager.go: wipeResourceSlices, sync).
TEST_CASE("KubeletStandIn: wipes slices at start and 30 s after a driver's last plugin left",
          "[kubelet][grpc][wipe]") {
  Env env;
  env.opts.clock = &env.clock;
  env.opts.reconcile_interval = 5ms;
  env.opts.monitor_interval = 0ms;
  Mutex mu;
  std::vector<std::string> wiped;  // driver per wipe ("" = every driver)
  int failures_left = 0;
  env.opts.wipe_slices = [&](const std::string& driver) {
    MutexLock l(mu);
    if (failures_left > 0) {
      --failures_left;
      return UnavailableError("API server unreachable");
    }
    wiped.push_back(driver);
    return OkStatus();
  };
  auto wipes = [&] {
    MutexLock l(mu);
    return wiped;
  };
  auto await_wipes = [&](size_t n) {
    return PollFor(Clock::Real(), 10s, {}, std::to_string(n) + " wipes",
                   [&] { return wipes().size() >= n; });
  };
  // The failed attempts, awaited rather than slept for: the fake clock may
  // move on only after the stand-in made the attempt (a loaded machine can
  // take longer than any fixed sleep).
  auto await_failures_left = [&](int n) {
    return PollFor(Clock::Real(), 10s, {}, "failed wipes", [&] {
      MutexLock l(mu);
      return failures_left == n;
    });
  };
  REQUIRE_OK(env.Start());
  CHECK(wipes() == std::vector<std::string>{""});  // done before Start() returns

  auto plugin = env.MakePlugin();
  REQUIRE_OK(plugin->Start());
  REQUIRE_OK(env.kubelet.WaitForPlugin("test.drahil.io", 5s));
  plugin->Stop();
  REQUIRE_OK(env.kubelet.WaitForPluginGone("test.drahil.io", 5s));
  env.clock.Advance(29s);
  std::this_thread::sleep_for(100ms);
  CHECK(wipes().size() == 1);  // not before the delay
  env.clock.Advance(1s);
  REQUIRE_OK(await_wipes(2));
  CHECK(wipes().back() == "test.drahil.io");

  // Back within the delay: nothing is wiped.
  REQUIRE_OK(plugin->Start());
  REQUIRE_OK(env.kubelet.WaitForPlugin("test.drahil.io", 5s));
  plugin->Stop();
  REQUIRE_OK(env.kubelet.WaitForPluginGone("test.drahil.io", 5s));
  env.clock.Advance(20s);
  REQUIRE_OK(plugin->Start());
  REQUIRE_OK(env.kubelet.WaitForPlugin("test.drahil.io", 5s));
  env.clock.Advance(60s);
  std::this_thread::sleep_for(100ms);
  CHECK(wipes().size() == 2);

  // A failed wipe is retried after 1 s, then 2 s.
  {
    MutexLock l(mu);
    failures_left = 2;
  }
  plugin->Stop();
  REQUIRE_OK(env.kubelet.WaitForPluginGone("test.drahil.io", 5s));
  env.clock.Advance(30s);  // first attempt fails
  REQUIRE_OK(await_failures_left(1));
  std::this_thread::sleep_for(100ms);  // its retry is scheduled right after
  env.clock.Advance(1s);               // second attempt fails
  REQUIRE_OK(await_failures_left(0));
  std::this_thread::sleep_for(100ms);
  CHECK(wipes().size() == 2);
  env.clock.Advance(1999ms);
  std::this_thread::sleep_for(100ms);
  CHECK(wipes().size() == 2);
  env.clock.Advance(1ms);
  REQUIRE_OK(await_wipes(3));
  CHECK(wipes().back() == "test.drahil.io");
}

TEST_CASE("KubeletStandIn: the connection monitor unregisters a hung plugin until it answers",
          "[kubelet][grpc]") {
  Env env;
  env.opts.monitor_interval = 100ms;
  env.opts.monitor_getinfo_timeout = 200ms;
  REQUIRE_OK(env.Start());
  auto plugin = env.MakePlugin();
  REQUIRE_OK(plugin->Start());
  REQUIRE_OK(env.kubelet.WaitForPlugin("test.drahil.io", 5s));
  plugin->SetGetInfoHang(true);  // the socket stays, the plugin stops answering
  REQUIRE_OK(env.kubelet.WaitForPluginGone("test.drahil.io", 10s));
  auto f = env.kubelet.WaitForFinding("monitor-unresponsive", plugin->reg_socket(), 1s);
  REQUIRE_OK(f);
  CHECK(Contains(f->message, "DeadlineExceeded"));
  CHECK(PathExists(plugin->reg_socket()));
  plugin->SetGetInfoHang(false);
  REQUIRE_OK(env.kubelet.WaitForPlugin("test.drahil.io", 10s));
  CHECK(env.kubelet.RegistrationCount("test.drahil.io") == 2);
}

TEST_CASE("KubeletStandIn: a failed registration is retried with the kubelet's backoff",
          "[kubelet][grpc]") {
  Env env;
  env.opts.clock = &env.clock;
  env.opts.reconcile_interval = 5ms;
  env.opts.getinfo_timeout = 100ms;
  env.opts.monitor_interval = 0ms;
  REQUIRE_OK(env.Start());
  auto plugin = env.MakePlugin();
  plugin->SetGetInfoHang(true);
  REQUIRE_OK(plugin->Start());
  // Failed attempts so far: the getinfo-failed finding counts its repeats.
  auto failures = [&] {
    for (const auto& f : env.kubelet.Findings()) {
      if (f.kind == "getinfo-failed") return f.count;
    }
    return 0;
  };
  auto await_failures = [&](int n) {
    return PollFor(Clock::Real(), 10s, {}, std::to_string(n) + " failed registrations",
                   [&] { return failures() >= n; });
  };
  REQUIRE_OK(await_failures(1));
  // Many reconcile passes run in real time; none retries before the fake
  // clock reaches the backoff: 500 ms, then 1 s.
  std::this_thread::sleep_for(200ms);
  CHECK(failures() == 1);
  env.clock.Advance(499ms);
  std::this_thread::sleep_for(100ms);
  CHECK(failures() == 1);
  env.clock.Advance(1ms);
  REQUIRE_OK(await_failures(2));
  std::this_thread::sleep_for(200ms);
  env.clock.Advance(999ms);
  std::this_thread::sleep_for(100ms);
  CHECK(failures() == 2);
  env.clock.Advance(1ms);
  REQUIRE_OK(await_failures(3));
  // The plugin answers again: the next retry (after 2 s) registers it.
  plugin->SetGetInfoHang(false);
  std::this_thread::sleep_for(200ms);
  CHECK(env.kubelet.Plugins().empty());
  env.clock.Advance(2s);
  REQUIRE_OK(env.kubelet.WaitForPlugin("test.drahil.io", 10s));
  CHECK(failures() == 3);
}

TEST_CASE("KubeletStandIn: ignores dot-files and non-sockets, watches subdirectories",
          "[kubelet][grpc]") {
  Env env;
  REQUIRE_OK(MakeDirs(env.registry));
  REQUIRE_OK(AtomicWriteFile(env.registry + "/plain-reg.sock", "not a socket"));
  TestPluginConfig hidden_cfg;
  hidden_cfg.driver = "hidden.drahil.io";
  hidden_cfg.reg_socket_name = ".hidden-reg.sock";
  auto hidden = env.MakePlugin(hidden_cfg);
  REQUIRE_OK(hidden->Start());
  REQUIRE_OK(env.Start());
  REQUIRE_OK(MakeDirs(env.registry + "/sub"));
  TestPluginConfig sub_cfg;
  sub_cfg.driver = "sub.drahil.io";
  sub_cfg.reg_socket_name = "sub/sub.drahil.io-reg.sock";
  auto sub = env.MakePlugin(sub_cfg);
  REQUIRE_OK(sub->Start());
  REQUIRE_OK(env.kubelet.WaitForPlugin("sub.drahil.io", 5s));
  auto plugins = env.kubelet.Plugins();
  REQUIRE(plugins.size() == 1);
  CHECK(plugins[0].name == "sub.drahil.io");
  CHECK(hidden->Notifications().empty());
  CHECK(env.kubelet.Findings().empty() == true);
}

TEST_CASE("KubeletStandIn: prepares and unprepares one and N claims", "[kubelet][grpc]") {
  Env env;
  REQUIRE_OK(env.Start());
  auto plugin = env.MakePlugin();
  REQUIRE_OK(plugin->Start());
  REQUIRE_OK(env.kubelet.WaitForPlugin("test.drahil.io", 5s));

  CallResult one = env.kubelet.Prepare("test.drahil.io", {Claim("u1")});
  REQUIRE_OK(one.status);
  CHECK(one.record.method == "NodePrepareResources");
  CHECK(one.record.code == Code::kOk);
  CHECK(one.record.ClaimUids() == std::vector<std::string>{"u1"});
  CHECK(one.record.deadline == 10s);
  CHECK(one.record.latency.count() > 0);
  CHECK(Contains(one.record.ResponseText(), "drahil.io/test=u1"));
  REQUIRE(one.claims[0].devices.size() == 1);
  CHECK(one.claims[0].devices[0].pool_name == "pool-a");
  CHECK(one.claims[0].devices[0].request_names == std::vector<std::string>{"req-0"});

  CallResult many = env.kubelet.Prepare("test.drahil.io", {Claim("u2"), Claim("u3"), Claim("u4")});
  REQUIRE_OK(many.status);
  REQUIRE(many.claims.size() == 3);
  CHECK(many.claims[2].claim.uid == "u4");
  CHECK(many.claims[2].devices[0].device_name == "dev-u4");
  CHECK(plugin->Calls().back() == "v1/NodePrepareResources:u2,u3,u4");
  CHECK(env.kubelet.Claims().size() == 4);
  auto cp = ReadFile(env.kubelet.CheckpointPath());
  REQUIRE_OK(cp);
  CHECK(Contains(*cp, "drahil.io/test=u4"));

  CallResult un =
      env.kubelet.Unprepare("test.drahil.io", {Claim("u1"), Claim("u2"), Claim("u3"), Claim("u4")});
  REQUIRE_OK(un.status);
  CHECK(un.record.method == "NodeUnprepareResources");
  CHECK(env.kubelet.Claims().empty());
  CHECK(env.kubelet.Calls().size() == 3);
  CHECK(Contains(env.kubelet.Calls()[0].ToString(), "NodePrepareResources driver=test.drahil.io"));
  CHECK(Contains(env.kubelet.Calls()[0].ToString(), "response={claims { key: \"u1\""));
  CHECK(env.kubelet.CallCounts() == std::map<std::string, uint64_t>{{"NodePrepareResources", 2},
                                                                    {"NodeUnprepareResources", 1}});
}

TEST_CASE("KubeletStandIn: keeps the last max_call_records calls and counts them all",
          "[kubelet][grpc]") {
  Env env;
  env.opts.max_call_records = 3;
  REQUIRE_OK(env.Start());
  auto plugin = env.MakePlugin();
  REQUIRE_OK(plugin->Start());
  REQUIRE_OK(env.kubelet.WaitForPlugin("test.drahil.io", 5s));
  for (int i = 0; i < 5; ++i) {
    std::string uid = "u" + std::to_string(i);
    REQUIRE_OK(env.kubelet.Prepare("test.drahil.io", {Claim(uid)}).status);
  }
  REQUIRE_OK(env.kubelet.Unprepare("test.drahil.io", {Claim("u0")}).status);
  auto calls = env.kubelet.Calls();
  REQUIRE(calls.size() == 3);
  CHECK(calls[0].ClaimUids() == std::vector<std::string>{"u3"});
  CHECK(calls[2].method == "NodeUnprepareResources");
  // The reply is kept as bytes and shown as text on demand.
  CHECK(calls[1].ResponseText().rfind("claims { key: \"u4\" value { devices { ", 0) == 0);
  CHECK(calls[2].ResponseText() == "claims { key: \"u0\" value { } }");
  CHECK(env.kubelet.CallCounts() == std::map<std::string, uint64_t>{{"NodePrepareResources", 5},
                                                                    {"NodeUnprepareResources", 1}});
}

TEST_CASE("KubeletStandIn: applies the kubelet's response checks", "[kubelet][grpc]") {
  Env env;
  REQUIRE_OK(env.Start());
  auto plugin = env.MakePlugin();
  REQUIRE_OK(plugin->Start());
  REQUIRE_OK(env.kubelet.WaitForPlugin("test.drahil.io", 5s));
  std::vector<ClaimRef> claims = {Claim("u1", "good"), Claim("u2", "bad-claim")};

  SECTION("per-claim error") {
    plugin->SetMode(TestPlugin::Mode::kClaimError);
    CallResult r = env.kubelet.Prepare("test.drahil.io", claims);
    CHECK(r.status.message() ==
          "NodePrepareResources failed for ResourceClaim bad-claim: no device left for bad-claim");
    CHECK(r.record.code == Code::kOk);
    CHECK(r.claims[0].status.ok());
    CHECK_FALSE(r.claims[1].status.ok());
    CallResult u = env.kubelet.Unprepare("test.drahil.io", claims);
    CHECK(u.status.message() ==
          "NodeUnprepareResources failed for ResourceClaim bad-claim: cannot release bad-claim");
  }
  SECTION("missing map entry") {
    plugin->SetMode(TestPlugin::Mode::kMissingEntry);
    CallResult r = env.kubelet.Prepare("test.drahil.io", claims);
    CHECK(r.status.message() == "NodePrepareResources skipped 1 ResourceClaims");
    CHECK(r.claims[0].status.ok());
    CHECK(Contains(r.claims[1].status.message(), "no result for ResourceClaim bad-claim"));
  }
  SECTION("unknown claim UID") {
    plugin->SetMode(TestPlugin::Mode::kUnknownUid);
    CallResult r = env.kubelet.Prepare("test.drahil.io", claims);
    CHECK(r.status.message() ==
          "NodePrepareResources returned result for unknown claim UID stray-uid");
  }
  SECTION("gRPC error") {
    plugin->SetMode(TestPlugin::Mode::kGrpcError);
    CallResult r = env.kubelet.Prepare("test.drahil.io", claims);
    CHECK(r.status.code() == Code::kUnavailable);
    CHECK(r.status.message() ==
          "NodePrepareResources: rpc error: code = Unavailable desc = driver busy");
    CHECK(r.record.code == Code::kUnavailable);
    CHECK(r.record.grpc_message == "driver busy");
    CHECK(env.kubelet.Claims().empty());
  }
  SECTION("driver not registered: no call") {
    CallResult r = env.kubelet.Prepare("other.drahil.io", claims);
    CHECK(r.status.code() == Code::kFailedPrecondition);
    CHECK(env.kubelet.Calls().empty());
  }
}

TEST_CASE("KubeletStandIn: a hanging plugin fails with DEADLINE_EXCEEDED in time",
          "[kubelet][grpc]") {
  Env env;
  REQUIRE_OK(env.Start());
  auto plugin = env.MakePlugin();
  REQUIRE_OK(plugin->Start());
  REQUIRE_OK(env.kubelet.WaitForPlugin("test.drahil.io", 5s));
  plugin->SetMode(TestPlugin::Mode::kHang);
  KubeletStandIn::CallOptions call;
  call.timeout = 300ms;
  CallResult r = env.kubelet.Prepare("test.drahil.io", {Claim("u1")}, call);
  CHECK(r.status.code() == Code::kDeadlineExceeded);
  CHECK(Contains(r.status.message(), "NodePrepareResources: rpc error: code = DeadlineExceeded"));
  CHECK(r.record.deadline == 300ms);
  CHECK(r.record.latency >= 290ms);
  CHECK(r.record.latency < 3s);

  env.kubelet.SetCallTimeout(200ms);
  CallResult u = env.kubelet.Unprepare("test.drahil.io", {Claim("u1")});
  CHECK(u.status.code() == Code::kDeadlineExceeded);
  CHECK(u.record.deadline == 200ms);
  CHECK(u.record.latency < 3s);
}

TEST_CASE("KubeletStandIn: max_timeout caps the call deadline, CancelCalls cuts calls short",
          "[kubelet][grpc]") {
  Env env;
  REQUIRE_OK(env.Start());
  auto plugin = env.MakePlugin();
  REQUIRE_OK(plugin->Start());
  REQUIRE_OK(env.kubelet.WaitForPlugin("test.drahil.io", 5s));
  plugin->SetMode(TestPlugin::Mode::kHang);
  // The caller's time left wins over the (45 s) built-in call timeout.
  KubeletStandIn::CallOptions call;
  call.max_timeout = 400ms;
  CallResult r = env.kubelet.Prepare("test.drahil.io", {Claim("u1")}, call);
  CHECK(r.status.code() == Code::kDeadlineExceeded);
  CHECK(r.record.deadline == 400ms);
  CHECK(Contains(r.status.message(), "(deadline exceeded after 0.4s)"));
  CHECK(r.record.latency < 3s);
  // ... and never lengthens a shorter one.
  call.timeout = 200ms;
  call.max_timeout = 10s;
  CHECK(env.kubelet.Prepare("test.drahil.io", {Claim("u1")}, call).record.deadline == 200ms);

  // A call in flight is cancelled from another thread, and later calls are
  // refused without reaching the plugin until ResumeCalls().
  auto t0 = std::chrono::steady_clock::now();
  std::thread canceller([&] {
    std::this_thread::sleep_for(300ms);
    env.kubelet.CancelCalls("SIGTERM");
  });
  CallResult c = env.kubelet.Prepare("test.drahil.io", {Claim("u1")});
  canceller.join();
  CHECK(c.status.code() == Code::kCancelled);
  CHECK(Contains(c.status.message(), "SIGTERM"));
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  size_t calls = env.kubelet.Calls().size();
  CallResult later = env.kubelet.Unprepare("test.drahil.io", {Claim("u1")});
  CHECK(later.status.code() == Code::kCancelled);
  CHECK(Contains(later.status.message(), "no call made"));
  CHECK(env.kubelet.Calls().size() == calls + 1);
  env.kubelet.ResumeCalls();
  plugin->SetMode(TestPlugin::Mode::kOk);
  CHECK(env.kubelet.Prepare("test.drahil.io", {Claim("u1")}).status.ok());
}

// grpc-go's default client receive limit (4 MiB), which the kubelet's DRA
// client keeps (pkg/kubelet/cm/dra/plugin: no MaxCallRecvMsgSize option).
TEST_CASE("KubeletStandIn: a reply over 4 MiB is an error naming the call, 3 MiB is accepted",
          "[kubelet][grpc]") {
  Env env;
  REQUIRE_OK(env.Start());
  auto plugin = env.MakePlugin();
  REQUIRE_OK(plugin->Start());
  REQUIRE_OK(env.kubelet.WaitForPlugin("test.drahil.io", 5s));
  // Generous deadline: moving MiBs is slow under ThreadSanitizer.
  env.kubelet.SetCallTimeout(120s);
  plugin->SetMode(TestPlugin::Mode::kLarge);
  REQUIRE_OK(env.kubelet.Prepare("test.drahil.io", {Claim("u0")}).status);
  REQUIRE_OK(env.kubelet.Unprepare("test.drahil.io", {Claim("u0")}).status);
  plugin->SetMode(TestPlugin::Mode::kHuge);
  env.kubelet.SetCallTimeout(120s);
  CallResult r = env.kubelet.Prepare("test.drahil.io", {Claim("u1")});
  CHECK(r.status.code() == Code::kResourceExhausted);
  CHECK(Contains(r.status.message(), "NodePrepareResources: rpc error: code = ResourceExhausted"));
  CHECK(env.kubelet.Claims().empty());
  plugin->SetMode(TestPlugin::Mode::kOk);
  REQUIRE_OK(env.kubelet.Prepare("test.drahil.io", {Claim("u1")}).status);
}

TEST_CASE("KubeletStandIn: a malformed reply is an error naming the call", "[kubelet][grpc]") {
  Env env;
  REQUIRE_OK(env.Start());
  TestPluginConfig c;
  c.use_raw_reply = true;
  c.raw_reply = std::string("\x0a\xff\xff\xff\xff\x0f", 6);  // field 1, absurd length
  auto plugin = env.MakePlugin(c);
  REQUIRE_OK(plugin->Start());
  REQUIRE_OK(env.kubelet.WaitForPlugin("test.drahil.io", 5s));
  CallResult r = env.kubelet.Prepare("test.drahil.io", {Claim("u1")});
  INFO(r.status.ToString());
  CHECK_FALSE(r.status.ok());
  CHECK(Contains(r.status.message(), "NodePrepareResources: rpc error"));
  CallResult u = env.kubelet.Unprepare("test.drahil.io", {Claim("u1")});
  CHECK_FALSE(u.status.ok());
  CHECK(Contains(u.status.message(), "NodeUnprepareResources: rpc error"));
}

TEST_CASE("KubeletStandIn: health stream updates, staleness, drop and reconnect",
          "[kubelet][grpc][health]") {
  Env env;
  env.opts.clock = &env.clock;
  REQUIRE_OK(env.Start());
  TestPluginConfig c;
  c.versions = {"v1.DRAPlugin", "v1beta1.DRAPlugin", "v1alpha1.DRAResourceHealth"};
  c.serve_health_v1alpha1 = true;
  auto plugin = env.MakePlugin(c);
  REQUIRE_OK(plugin->Start());
  auto p = env.kubelet.WaitForPlugin("test.drahil.io", 5s);
  REQUIRE_OK(p);
  CHECK(p->health_service == kHealthV1alpha1Service);
  CHECK(p->registered_at == env.clock.WallNow());

  std::string long_msg(2000, 'm');
  plugin->PushHealth({{"pool-a", "d0", 1, 0, "ok"}, {"pool-a", "d1", 2, 1, long_msg}});
  auto both = [](const HealthSnapshot& s) { return s.devices.size() == 2; };
  auto s = env.kubelet.WaitForHealth("test.drahil.io", both, 5s);
  REQUIRE_OK(s);
  CHECK(s->devices[0].device_name == "d0");
  CHECK(s->devices[0].effective == HealthState::kHealthy);
  CHECK(s->devices[1].reported == HealthState::kUnhealthy);
  CHECK(s->devices[1].timeout == 1s);
  CHECK(s->devices[0].timeout == 30s);
  CHECK(s->devices[1].message.size() == 1024);
  CHECK(s->devices[1].message.substr(1021) == "...");
  CHECK(s->stream_open);
  CHECK(s->devices[0].received_at == env.clock.WallNow());
  REQUIRE_OK(env.kubelet.WaitForFinding("health-message-too-long", "", 1s));

  // d1 is not reported again: once more than its 1 s timeout has passed on
  // the kubelet's clock it reads Unknown; d0, reported again, stays Healthy.
  int messages = s->messages;
  plugin->PushHealth({{"pool-a", "d0", 1, 0, "ok"}});
  REQUIRE_OK(env.kubelet.WaitForHealth(
      "test.drahil.io", [&](const HealthSnapshot& h) { return h.messages > messages; }, 5s));
  env.clock.Advance(1s);
  HealthSnapshot at_limit = env.kubelet.Health("test.drahil.io");
  REQUIRE(at_limit.devices.size() == 2);
  CHECK(at_limit.devices[1].effective == HealthState::kUnhealthy);
  env.clock.Advance(1ns);
  HealthSnapshot stale = env.kubelet.Health("test.drahil.io");
  REQUIRE(stale.devices.size() == 2);
  CHECK(stale.devices[1].effective == HealthState::kUnknown);
  CHECK(stale.devices[1].reported == HealthState::kUnhealthy);
  CHECK(stale.devices[0].effective == HealthState::kHealthy);
  CHECK(stale.devices[1].received_at == env.clock.WallNow() - 1s - 1ns);

  // Stream ends: cached health dropped, then the stream is reopened after the
  // restart interval and the plugin's current snapshot arrives again.
  int starts = stale.stream_starts;
  plugin->CloseHealthStreams();
  auto reopened = env.kubelet.WaitForHealth(
      "test.drahil.io",
      [&](const HealthSnapshot& h) {
        return h.stream_starts > starts && h.devices.size() == 1 &&
               h.devices[0].effective == HealthState::kHealthy;
      },
      5s);
  REQUIRE_OK(reopened);
  CHECK(reopened->last_stream_end.ok());
}

// A driver may report any number of devices it never published, each with
// an overlong message: the stand-in keeps a bounded number of devices and of
// findings, and says so.
TEST_CASE("KubeletStandIn: a health flood of new devices is bounded in devices and findings",
          "[kubelet][grpc][health]") {
  Env env;
  REQUIRE_OK(env.Start());
  TestPluginConfig c;
  c.versions = {"v1.DRAPlugin", "v1.DRAResourceHealth"};
  c.serve_health_v1 = true;
  auto plugin = env.MakePlugin(c);
  REQUIRE_OK(plugin->Start());
  REQUIRE_OK(env.kubelet.WaitForPlugin("test.drahil.io", 5s));
  const std::string long_msg(1100, 'm');
  REQUIRE(drahil::testing::WaitFor(5s, [&] { return plugin->OpenHealthStreams() == 1; }));
  int sent = 0;
  Result<HealthSnapshot> s = DeadlineExceededError("not sent");
  for (int batch = 1; batch <= 10; ++batch) {
    std::vector<HealthReport> reports;
    for (int i = 0; i < 2000; ++i, ++sent)
      reports.push_back({"pool-a", "flood-" + std::to_string(sent), 2, 0, long_msg});
    plugin->PushHealth(std::move(reports));
    s = env.kubelet.WaitForHealth(
        "test.drahil.io", [&](const HealthSnapshot& h) { return h.messages >= batch; }, 10s);
    REQUIRE_OK(s);
  }
  CHECK(s->devices.size() == 16384);
  REQUIRE_OK(env.kubelet.WaitForFinding("health-too-many-devices", "", 1s));
  auto findings = env.kubelet.Findings();
  CHECK(findings.size() <= 40);
  int too_long = 0;
  for (const auto& f : findings)
    if (f.kind == "health-message-too-long") too_long += f.count;
  CHECK(too_long == 20000);  // every overlong message is counted, kept apart or not
}

TEST_CASE("KubeletStandIn: health service choice", "[kubelet][grpc][health]") {
  Env env;
  TestPluginConfig c;
  SECTION("v1 preferred over v1alpha1") {
    REQUIRE_OK(env.Start());
    c.versions = {"v1.DRAPlugin", "v1alpha1.DRAResourceHealth", "v1.DRAResourceHealth"};
    c.serve_health_v1 = true;
    c.serve_health_v1alpha1 = true;
    auto plugin = env.MakePlugin(c);
    REQUIRE_OK(plugin->Start());
    auto p = env.kubelet.WaitForPlugin("test.drahil.io", 5s);
    REQUIRE_OK(p);
    CHECK(p->health_service == kHealthV1Service);
    plugin->PushHealth({{"pool-a", "d0", 2, 0, ""}});
    auto s = env.kubelet.WaitForHealth(
        "test.drahil.io", [](const HealthSnapshot& h) { return h.devices.size() == 1; }, 5s);
    REQUIRE_OK(s);
    CHECK(s->devices[0].effective == HealthState::kUnhealthy);
  }
  SECTION("1.34-1.36 mode watches an unadvertised service and sees UNIMPLEMENTED") {
    env.opts.health_mode = KubeletStandIn::HealthMode::kAlways;
    REQUIRE_OK(env.Start());
    auto plugin = env.MakePlugin(c);
    REQUIRE_OK(plugin->Start());
    auto p = env.kubelet.WaitForPlugin("test.drahil.io", 5s);
    REQUIRE_OK(p);
    CHECK(p->health_service == kHealthV1alpha1Service);
    auto s = env.kubelet.WaitForHealth(
        "test.drahil.io",
        [](const HealthSnapshot& h) { return h.last_stream_end.code() == Code::kUnimplemented; },
        5s);
    REQUIRE_OK(s);
  }
}

TEST_CASE(
    "KubeletStandIn: pods batch per driver, share claims, report health and "
    "PodResources",
    "[kubelet][grpc][pod]") {
  Env env;
  env.opts.podresources_socket = env.tmp.Join("pod-resources.sock");
  REQUIRE_OK(env.Start());
  TestPluginConfig ca;
  ca.driver = "a.drahil.io";
  ca.versions = {"v1.DRAPlugin", "v1alpha1.DRAResourceHealth"};
  ca.serve_health_v1alpha1 = true;
  TestPluginConfig cb;
  cb.driver = "b.drahil.io";
  auto a = env.MakePlugin(ca);
  auto b = env.MakePlugin(cb);
  REQUIRE_OK(a->Start());
  REQUIRE_OK(b->Start());
  REQUIRE_OK(env.kubelet.WaitForPlugin("a.drahil.io", 5s));
  REQUIRE_OK(env.kubelet.WaitForPlugin("b.drahil.io", 5s));

  Pod pod1;
  pod1.namespace_name = "default";
  pod1.name = "pod1";
  pod1.uid = "pod-uid-1";
  pod1.claims = {{"gpu", Claim("u1", "c1"), {"a.drahil.io"}},
                 {"both", Claim("u2", "c2"), {"a.drahil.io", "b.drahil.io"}}};
  pod1.containers = {{"ctr", {{"gpu", ""}, {"both", "req-0"}}}};
  Pod pod2 = pod1;
  pod2.name = "pod2";
  pod2.uid = "pod-uid-2";
  pod2.claims = {pod1.claims[0]};
  pod2.containers = {{"ctr", {{"gpu", ""}}}};

  Pod orphan = pod1;
  orphan.uid = "pod-uid-x";
  orphan.claims = {{"gpu", Claim("u9"), {"missing.drahil.io"}}};
  CHECK(env.kubelet.PreparePod(orphan).status.code() == Code::kFailedPrecondition);
  CHECK(env.kubelet.Claims().empty());

  PodResult r1 = env.kubelet.PreparePod(pod1);
  REQUIRE_OK(r1.status);
  CHECK(r1.calls.size() == 2);
  CHECK(a->Calls().back() == "v1/NodePrepareResources:u1,u2");
  CHECK(b->Calls().back() == "v1/NodePrepareResources:u2");
  PodResult r2 = env.kubelet.PreparePod(pod2);  // c1 is prepared already: no call
  REQUIRE_OK(r2.status);
  CHECK(r2.calls.empty());
  CHECK(a->Calls().size() == 1);
  // The cache is keyed by namespace/name (pkg/kubelet/cm/dra/claiminfo.go): c1
  // recreated with a new UID while the old one is cached fails the pod, naming
  // the old UID, and nothing is called (manager.go prepareResources).
  Pod recreated = pod2;
  recreated.name = "pod3";
  recreated.uid = "pod-uid-3";
  recreated.claims = {{"gpu", Claim("u1-new", "c1"), {"a.drahil.io"}}};
  PodResult r3 = env.kubelet.PreparePod(recreated);
  CHECK(r3.status.code() == Code::kFailedPrecondition);
  CHECK(Contains(r3.status.message(),
                 "old ResourceClaim with same name c1 and different UID u1 still exists"));
  CHECK(r3.calls.empty());
  CHECK(a->Calls().size() == 1);

  a->PushHealth({{"pool-a", "dev-u1", 1, 0, ""}, {"pool-a", "dev-u2", 2, 0, ""}});
  REQUIRE_OK(env.kubelet.WaitForHealth(
      "a.drahil.io", [](const HealthSnapshot& h) { return h.devices.size() == 2; }, 5s));
  auto rs = env.kubelet.AllocatedResourcesStatus("pod-uid-1", "ctr");
  REQUIRE_OK(rs);
  REQUIRE(rs->size() == 2);
  CHECK((*rs)[0].name == "claim:gpu");
  REQUIRE((*rs)[0].resources.size() == 1);
  CHECK((*rs)[0].resources[0].resource_id == "drahil.io/test=u1");
  CHECK((*rs)[0].resources[0].health == "Healthy");
  CHECK((*rs)[1].name == "claim:both/req-0");
  REQUIRE((*rs)[1].resources.size() == 2);
  CHECK((*rs)[1].resources[0].health == "Unhealthy");  // a's device
  CHECK((*rs)[1].resources[1].health == "Unknown");    // b has no health stream

  // PodResources over its unix socket, with a plain generated client.
  auto channel = grpc::CreateChannel("unix:" + env.opts.podresources_socket,
                                     grpc::InsecureChannelCredentials());
  auto stub = ::v1::PodResourcesLister::NewStub(channel);
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    ::v1::ListPodResourcesResponse resp;
    grpc::Status st = stub->List(&ctx, ::v1::ListPodResourcesRequest(), &resp);
    REQUIRE(st.ok());
    CHECK(resp.pod_resources_size() == 2);
  }
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    ::v1::GetPodResourcesRequest req;
    req.set_pod_name("pod1");
    req.set_pod_namespace("default");
    ::v1::GetPodResourcesResponse resp;
    REQUIRE(stub->Get(&ctx, req, &resp).ok());
    const auto& ctr = resp.pod_resources().containers(0);
    CHECK(ctr.name() == "ctr");
    REQUIRE(ctr.dynamic_resources_size() == 2);
    CHECK(ctr.dynamic_resources(0).claim_name() == "c1");
    CHECK(ctr.dynamic_resources(0).claim_namespace() == "default");
    REQUIRE(ctr.dynamic_resources(0).claim_resources_size() == 1);
    const auto& res = ctr.dynamic_resources(0).claim_resources(0);
    CHECK(res.driver_name() == "a.drahil.io");
    CHECK(res.pool_name() == "pool-a");
    CHECK(res.device_name() == "dev-u1");
    CHECK(res.cdi_devices(0).name() == "drahil.io/test=u1");
    CHECK(ctr.dynamic_resources(1).claim_resources_size() == 2);
  }
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    ::v1::GetPodResourcesRequest req;
    req.set_pod_name("nope");
    req.set_pod_namespace("default");
    ::v1::GetPodResourcesResponse resp;
    CHECK(stub->Get(&ctx, req, &resp).error_code() == grpc::StatusCode::NOT_FOUND);
  }

  // pod1 goes: c2 is unprepared at both drivers, c1 stays (pod2 uses it).
  PodResult u1 = env.kubelet.UnpreparePod("pod-uid-1");
  REQUIRE_OK(u1.status);
  CHECK(a->Calls().back() == "v1/NodeUnprepareResources:u2");
  CHECK(b->Calls().back() == "v1/NodeUnprepareResources:u2");
  auto claims = env.kubelet.Claims();
  REQUIRE(claims.size() == 1);
  CHECK(claims[0].claim.uid == "u1");
  CHECK(claims[0].pod_uids == std::vector<std::string>{"pod-uid-2"});
  REQUIRE_OK(env.kubelet.UnpreparePod("pod-uid-2").status);
  CHECK(a->Calls().back() == "v1/NodeUnprepareResources:u1");
  CHECK(env.kubelet.Claims().empty());
  CHECK(env.kubelet.UnpreparePod("pod-uid-2").status.code() == Code::kNotFound);
}

TEST_CASE("KubeletStandIn: Restart replays prepares from the checkpoint", "[kubelet][grpc]") {
  Env env;
  REQUIRE_OK(env.Start());
  auto plugin = env.MakePlugin();
  REQUIRE_OK(plugin->Start());
  REQUIRE_OK(env.kubelet.WaitForPlugin("test.drahil.io", 5s));
  Pod pod;
  pod.namespace_name = "default";
  pod.name = "p";
  pod.uid = "pod-uid";
  pod.claims = {{"gpu", Claim("u1"), {"test.drahil.io"}}};
  pod.containers = {{"ctr", {{"gpu", ""}}}};
  REQUIRE_OK(env.kubelet.PreparePod(pod).status);
  REQUIRE(plugin->Calls().size() == 1);

  PodResult r = env.kubelet.Restart(/*replay_prepares=*/true, 5s);
  REQUIRE_OK(r.status);
  REQUIRE(r.calls.size() == 1);
  CHECK(plugin->Calls().size() == 2);
  CHECK(plugin->Calls().back() == "v1/NodePrepareResources:u1");
  auto claims = env.kubelet.Claims();
  REQUIRE(claims.size() == 1);
  CHECK(claims[0].prepared);
  CHECK(env.kubelet.RegistrationCount("test.drahil.io") == 2);

  // A second stand-in over the same state dir sees the same claims; a
  // corrupted file is refused with its path.
  env.kubelet.Stop();
  {
    KubeletStandIn again;
    REQUIRE_OK(again.Start(env.registry, env.plugins, env.opts));
    CHECK(again.Claims().size() == 1);
  }
  auto text = ReadFile(env.kubelet.CheckpointPath());
  REQUIRE_OK(text);
  std::string bad = *text;
  bad.replace(bad.find("u1"), 2, "u7");
  REQUIRE_OK(AtomicWriteFile(env.kubelet.CheckpointPath(), bad));
  KubeletStandIn corrupt;
  Status st = corrupt.Start(env.registry, env.plugins, env.opts);
  CHECK(st.code() == Code::kDataLoss);
  CHECK(Contains(st.message(), env.kubelet.CheckpointPath()));
}

// pkg/kubelet/pod_workers.go completeWork: a failed sync is requeued after
// wait.Jitter(backOffPeriod, 0.5); backOffPeriod is 10 s (pkg/kubelet/kubelet.go).
TEST_CASE("KubeletStandIn: the pod-sync backoff is 10 s jittered up to +50%, reproducibly",
          "[kubelet][podsync]") {
  KubeletStandIn k;
  CHECK(k.PodSyncRetries() == 2);
  std::set<int64_t> seen;
  for (int i = 0; i < 50; ++i) {
    std::string uid = "pod-" + std::to_string(i);
    for (int attempt = 1; attempt <= 2; ++attempt) {
      auto d = k.PodSyncBackoff(uid, attempt);
      CHECK(d >= 10s);
      CHECK(d < 15s);
      CHECK(d == k.PodSyncBackoff(uid, attempt));
      seen.insert(d.count());
    }
  }
  // Spread over the window, not one value.
  CHECK(seen.size() > 50);
  CHECK(*seen.begin() < 11000);
  CHECK(*seen.rbegin() > 14000);
}

}  // namespace drahil::kubelet
