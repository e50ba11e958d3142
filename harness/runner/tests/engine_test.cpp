#include "drahil/runner/engine.hpp"

#include <atomic>
#include <thread>

#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/testing/testing.hpp"

using namespace drahil::runner;
using drahil::reports::Verdict;

namespace {

// ScriptedExpect: an `expect` handler driven by `calls: {mode: ...}` so the
// engine's control flow can be tested without the node stand-ins.
//   pass | fail | error | throw | slow (sleeps past the deadline, then passes)
//   pass-after-N (fails N times per case, then passes) | flaky (fails every other call)
class ScriptedExpect final : public StepHandler {
 public:
  StepOutcome Run(const Step& step, CaseContext& ctx) override {
    std::string mode = step.params["calls"]["mode"];
    ctx.Record("grpc", "/test/Expect", "OK", 1.5, mode);
    if (mode == "pass") return StepOutcome::Pass();
    if (mode == "fail") return StepOutcome::Fail("scripted failure", "Scripted");
    if (mode == "error") return StepOutcome::Error("scripted error");
    if (mode == "throw") throw std::runtime_error("boom");
    if (mode == "slow") {
      std::this_thread::sleep_for(ctx.Remaining() + std::chrono::milliseconds(200));
      return StepOutcome::Pass();
    }
    if (mode == "measure") {
      ctx.Measure({"prepare_latency", 2.5, "ms", "gpu-0", {}});
      return StepOutcome::Pass();
    }
    if (mode == "cut") {
      // A driver call the cancellation cuts short: it ends in a Fail of its own.
      std::atomic<bool> cut{false};
      int h = ctx.cancel.OnCancel([&](const std::string&) { cut = true; });
      while (!cut && ctx.Remaining().count() > 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      ctx.cancel.RemoveOnCancel(h);
      return StepOutcome::Fail("NodePrepareResources: rpc error: code = Canceled",
                               "GrpcCodeMismatch");
    }
    if (mode == "huge") return StepOutcome::Fail(std::string(100000, 'x'), "Scripted");
    if (mode.rfind("driver-log-", 0) == 0) {
      // A driver that logged N lines ("driver-log-N-pass" or "-fail").
      std::string text;
      int lines = std::stoi(mode.substr(11));
      for (int i = 1; i <= lines; ++i) text += "I driver line " + std::to_string(i) + "\n";
      if (!drahil::AtomicWriteFile(ctx.dirs.logs_dir + "/driver.log", text).ok())
        return StepOutcome::Error("cannot write driver.log");
      return mode.find("fail") != std::string::npos ? StepOutcome::Fail("scripted failure")
                                                    : StepOutcome::Pass();
    }
    if (mode == "flaky")
      return (++flaky_ % 2 == 0) ? StepOutcome::Fail("sometimes") : StepOutcome::Pass();
    if (mode.rfind("pass-after-", 0) == 0) {
      int n = std::stoi(mode.substr(11));
      int& c = counts_[ctx.kase.id];
      return ++c > n ? StepOutcome::Pass()
                     : StepOutcome::Fail("not yet (" + std::to_string(c) + ")");
    }
    return StepOutcome::Error("unknown mode " + mode);
  }

 private:
  std::atomic<int> flaky_{0};
  std::map<std::string, int> counts_;
};

Suite MustLoad(const std::string& cases, const std::string& defaults = "") {
  auto s = LoadSuiteString("spec: drahil.suite/v1\nname: eng\n" + defaults + "cases:\n" + cases,
                           "eng.yaml");
  if (!s.ok()) FAIL(s.status().ToString());
  return *s;
}

std::string CaseYaml(const std::string& id, const std::string& steps,
                     const std::string& extra = "") {
  return "  - {id: " + id + ", title: t, tags: [kep-1, " + id + "-tag]" + extra + ", steps: [" +
         steps + "]}\n";
}

std::string Expect(const std::string& mode) { return "{expect: {calls: {mode: " + mode + "}}}"; }

RunOptions Options() {
  RunOptions o;
  o.profile.name = "test-profile";
  o.profile.driver_name = "gpu.drahil.dev";
  o.profile.capabilities = {"structured-parameters"};
  o.profile.probe.backend = "emulated";
  DeviceKindModel gpu;
  gpu.class_name = "gpu.drahil.dev";
  gpu.selector = "true";
  gpu.identity = "gpu.drahil.dev/uuid";
  o.profile.devices.kinds["gpu"] = gpu;
  return o;
}

drahil::reports::RunReport RunSuite(const Suite& s, RunOptions o = Options(),
                                    EngineHooks hooks = {}, CancelToken* cancel = nullptr) {
  StepRegistry reg = StepRegistry::WithBuiltins();
  reg.Register("expect", std::make_shared<ScriptedExpect>());
  Engine e(std::move(reg), std::move(hooks), std::move(o));
  CancelToken own;
  auto r = e.Run({s}, cancel ? *cancel : own);
  REQUIRE_OK(r);
  return *r;
}

const drahil::reports::CaseResult& Only(const drahil::reports::RunReport& r) {
  REQUIRE(r.suites.size() == 1);
  REQUIRE(r.suites[0].cases.size() == 1);
  return r.suites[0].cases[0];
}

}  // namespace

TEST_CASE("Engine: a step whose module is missing ends the case with Error naming it",
          "[runner][engine]") {
  auto r = RunSuite(MustLoad(CaseYaml("a", "{prepare: {claims: [x]}}")));
  const auto& c = Only(r);
  CHECK(c.verdict == Verdict::kError);
  CHECK(c.type == "MissingModule");
  CHECK(c.message.find("harness/kubelet") != std::string::npos);
  CHECK(c.message.find("eng.yaml:4") != std::string::npos);  // where the step is
  // Fixtures need the API server too: never a silent pass.
  auto f = RunSuite(MustLoad(CaseYaml(
      "b", Expect("pass"),
      ", fixtures: [{manifest: {apiVersion: v1, kind: Namespace, metadata: {name: ns}}}]")));
  CHECK(Only(f).verdict == Verdict::kError);
  CHECK(Only(f).message.find("apply \"fixtures\"") != std::string::npos);
}

TEST_CASE("Engine: verdicts map from steps, and the call log is kept", "[runner][engine]") {
  auto r = RunSuite(MustLoad(CaseYaml("p", Expect("pass") + ", " + Expect("measure")) +
                             CaseYaml("f", Expect("fail") + ", " + Expect("pass")) +
                             CaseYaml("e", Expect("error")) + CaseYaml("t", Expect("throw"))));
  REQUIRE(r.suites[0].cases.size() == 4);
  const auto& p = r.suites[0].cases[0];
  CHECK(p.verdict == Verdict::kPass);
  CHECK(p.feature == "kep-1");
  CHECK(p.measurements.size() == 1);
  const auto& f = r.suites[0].cases[1];
  CHECK(f.verdict == Verdict::kFail);
  CHECK(f.type == "Scripted");
  CHECK(f.message.find("step 1 (expect") != std::string::npos);
  int expects = 0;
  for (const auto& call : f.calls) expects += call.method == "/test/Expect" ? 1 : 0;
  CHECK(expects == 1);  // stopped at the first failing step
  CHECK(r.suites[0].cases[2].verdict == Verdict::kError);
  CHECK(r.suites[0].cases[3].verdict == Verdict::kError);
  CHECK(r.suites[0].cases[3].message.find("threw: boom") != std::string::npos);
  CHECK_FALSE(r.partial);
}

TEST_CASE("Engine: per-step timeouts", "[runner][engine]") {
  auto slow = RunSuite(MustLoad(CaseYaml("s", "{expect: {calls: {mode: slow}}, timeout: 200ms}")));
  CHECK(Only(slow).verdict == Verdict::kFail);
  CHECK(Only(slow).type == "StepTimeout");
  auto wait = RunSuite(MustLoad(CaseYaml("w", "{wait: 5s, timeout: 100ms}")));
  CHECK(Only(wait).verdict == Verdict::kError);
  CHECK(Only(wait).message.find("raise the step's timeout") != std::string::npos);
  // The case timeout bounds every step.
  auto whole = RunSuite(MustLoad(
      CaseYaml("c", "{wait: 100ms}, {expect: {calls: {mode: slow}}}", ", timeout: 300ms")));
  CHECK(Only(whole).type == "StepTimeout");
  CHECK(Only(whole).duration_s < 2.0);
}

TEST_CASE("Engine: eventually retries failures, consistently holds for its window",
          "[runner][engine]") {
  auto ev = RunSuite(MustLoad(CaseYaml("e", "{eventually: {timeout: 3s, interval: 20ms, steps: [" +
                                                Expect("pass-after-3") + "]}}")));
  CHECK(Only(ev).verdict == Verdict::kPass);
  auto never = RunSuite(MustLoad(CaseYaml(
      "n", "{eventually: {timeout: 200ms, interval: 20ms, steps: [" + Expect("fail") + "]}}")));
  CHECK(Only(never).verdict == Verdict::kFail);
  CHECK(Only(never).message.find("did not pass within 200ms") != std::string::npos);
  auto err = RunSuite(
      MustLoad(CaseYaml("x", "{eventually: {timeout: 5s, steps: [" + Expect("error") + "]}}")));
  CHECK(Only(err).verdict == Verdict::kError);
  CHECK(Only(err).duration_s < 2.0);  // errors are not retried
  auto cons = RunSuite(MustLoad(CaseYaml(
      "c", "{consistently: {for: 300ms, interval: 50ms, steps: [" + Expect("pass") + "]}}")));
  CHECK(Only(cons).verdict == Verdict::kPass);
  CHECK(Only(cons).duration_s >= 0.29);
  auto breaks = RunSuite(MustLoad(CaseYaml(
      "b", "{consistently: {for: 2s, interval: 10ms, steps: [" + Expect("flaky") + "]}}")));
  CHECK(Only(breaks).verdict == Verdict::kFail);
  CHECK(Only(breaks).message.find("stopped holding after") != std::string::npos);
}

TEST_CASE("Engine: requires → Skip with the reason, discovery for devices", "[runner][engine]") {
  auto cap = RunSuite(MustLoad(CaseYaml("c", Expect("pass"), ", requires: {capabilities: [mig]}")));
  CHECK(Only(cap).verdict == Verdict::kSkip);
  CHECK(Only(cap).message.find("capability \"mig\"") != std::string::npos);
  auto probe =
      RunSuite(MustLoad(CaseYaml("p", Expect("pass"), ", requires: {probe-backends: [cuda]}")));
  CHECK(Only(probe).verdict == Verdict::kSkip);
  CHECK(Only(probe).message.find("\"emulated\"") != std::string::npos);
  auto nodisc = RunSuite(
      MustLoad(CaseYaml("d", Expect("pass"), ", requires: {devices: [{kind: gpu, count: 2}]}")));
  CHECK(Only(nodisc).verdict == Verdict::kError);

  int calls = 0;
  EngineHooks hooks;
  hooks.discover = [&](CaseContext&) -> drahil::Result<Inventory> {
    ++calls;
    Inventory inv;
    inv.devices["gpu"] = 2;
    inv.capabilities.insert("mig");
    return inv;
  };
  auto disc = RunSuite(
      MustLoad(CaseYaml("d2", Expect("pass"), ", requires: {devices: [{kind: gpu, count: 2}]}") +
               CaseYaml("d4", Expect("pass"), ", requires: {devices: [{kind: gpu, count: 4}]}") +
               CaseYaml("m", Expect("pass"), ", requires: {capabilities: [mig]}")),
      Options(), hooks);
  CHECK(disc.suites[0].cases[0].verdict == Verdict::kPass);
  CHECK(disc.suites[0].cases[1].verdict == Verdict::kSkip);
  CHECK(disc.suites[0].cases[1].message.find("publishes 2") != std::string::npos);
  CHECK(disc.suites[0].cases[2].verdict == Verdict::kPass);  // discovered, not claimed
  CHECK(calls == 1);                                         // once per run

  // A kind the profile's device model does not bind skips before any node.
  auto unbound = RunSuite(
      MustLoad(CaseYaml("u", Expect("pass"), ", requires: {devices: [{kind: fpga, count: 1}]}")),
      Options(), hooks);
  CHECK(Only(unbound).verdict == Verdict::kSkip);
  CHECK(Only(unbound).message.find("has no devices.fpga") != std::string::npos);
}

TEST_CASE("Engine: roles bind distinct devices from the end, recorded as case properties",
          "[runner][engine]") {
  EngineHooks hooks;
  hooks.discover = [&](CaseContext&) -> drahil::Result<Inventory> {
    Inventory inv;
    for (int i = 0; i < 4; ++i) {
      DeviceRecord d;
      d.name = "accel-" + std::to_string(i);
      d.kinds = {"gpu"};
      d.attributes = {{"uuid", {{"string", "U" + std::to_string(i)}}}};
      d.tainted = i == 3;  // a tainted device is taken last
      inv.device_list.push_back(d);
      inv.device_names.insert(d.name);
    }
    inv.devices["gpu"] = 4;
    return inv;
  };
  // The expectation sees the rendered role names through its params.
  auto two = RunSuite(
      MustLoad(CaseYaml("r", Expect("pass"),
                        ", requires: {devices: [{role: a, kind: gpu}, {role: b, kind: gpu}]}")),
      Options(), hooks);
  REQUIRE(Only(two).verdict == Verdict::kPass);
  CHECK(Only(two).properties.size() >= 2);
  std::map<std::string, std::string> props(Only(two).properties.begin(),
                                           Only(two).properties.end());
  CHECK(props["role.a"] == "accel-2");
  CHECK(props["role.b"] == "accel-1");
  auto many = RunSuite(
      MustLoad(CaseYaml("m", Expect("pass"),
                        ", requires: {devices: [{role: a, kind: gpu}, {role: b, kind: gpu}, "
                        "{role: c, kind: gpu}, {role: d, kind: gpu}, {role: e, kind: gpu}]}")),
      Options(), hooks);
  CHECK(Only(many).verdict == Verdict::kSkip);
  CHECK(Only(many).message.find("needs 5 device(s) of kind \"gpu\" (for its roles)") !=
        std::string::npos);
}

// KEP-5075: a device with allowMultipleAllocations may be given to several
// claims at once, so a case whose premise is one claim per device asks for
// exclusive devices: only those count and bind, and a driver with none skips.
TEST_CASE("Engine: exclusive device requirements skip shareable devices", "[runner][engine]") {
  int shareable_from = 0;  // devices at this index and above allow multiple allocations
  EngineHooks hooks;
  hooks.discover = [&](CaseContext&) -> drahil::Result<Inventory> {
    Inventory inv;
    for (int i = 0; i < 4; ++i) {
      DeviceRecord d;
      d.name = "accel-" + std::to_string(i);
      d.kinds = {"gpu"};
      d.shareable = i >= shareable_from;
      inv.device_list.push_back(d);
      inv.device_names.insert(d.name);
      inv.devices["gpu"]++;
      if (!d.shareable) inv.exclusive["gpu"]++;
    }
    return inv;
  };
  auto role = MustLoad(CaseYaml("x", Expect("pass"),
                                ", requires: {devices: [{role: a, kind: gpu, exclusive: true}]}"));
  auto count = MustLoad(CaseYaml(
      "c", Expect("pass"), ", requires: {devices: [{kind: gpu, count: 2, exclusive: true}]}"));
  auto plain =
      MustLoad(CaseYaml("p", Expect("pass"), ", requires: {devices: [{role: a, kind: gpu}]}"));
  // Two exclusive devices (accel-0, accel-1), two shareable ones at the end
  // of the order: the role skips past the shareable ones.
  shareable_from = 2;
  auto bound = RunSuite(role, Options(), hooks);
  REQUIRE(Only(bound).verdict == Verdict::kPass);
  std::map<std::string, std::string> props(Only(bound).properties.begin(),
                                           Only(bound).properties.end());
  CHECK(props["role.a"] == "accel-1");
  CHECK(Only(RunSuite(count, Options(), hooks)).verdict == Verdict::kPass);
  auto unpinned = RunSuite(plain, Options(), hooks);
  std::map<std::string, std::string> plain_props(Only(unpinned).properties.begin(),
                                                 Only(unpinned).properties.end());
  CHECK(plain_props["role.a"] == "accel-3");  // without the flag any device binds
  // Every device shareable (a consumable-capacity driver): Skip, saying why.
  shareable_from = 0;
  for (const auto* suite : {&role, &count}) {
    auto r = RunSuite(*suite, Options(), hooks);
    CHECK(Only(r).verdict == Verdict::kSkip);
    INFO(Only(r).message);
    CHECK(Only(r).message.find("exclusive device(s) of kind \"gpu\"") != std::string::npos);
    CHECK(Only(r).message.find("allow multiple allocations (consumable capacity)") !=
          std::string::npos);
  }
  CHECK(Only(RunSuite(plain, Options(), hooks)).verdict == Verdict::kPass);
}

TEST_CASE("PrepareCaseDirs: every directory exists under the root, placeholders name them",
          "[runner][engine]") {
  auto work = drahil::TempDir::Create("drahil-eng-");
  REQUIRE_OK(work);
  auto d = drahil::runner::PrepareCaseDirs(work->path() + "/case");
  REQUIRE_OK(d);
  for (const auto* dir : {&d->root, &d->node_root, &d->registry_dir, &d->plugins_dir, &d->cdi_dir,
                          &d->state_dir, &d->logs_dir}) {
    INFO(*dir);
    CHECK(drahil::PathExists(*dir));
    CHECK(dir->rfind(work->path() + "/case", 0) == 0);
  }
  CHECK(d->registry_dir != d->plugins_dir);
  auto p = d->Placeholders();
  CHECK(p == std::map<std::string, std::string>{{"cdi_dir", d->cdi_dir},
                                                {"fake_root", d->node_root},
                                                {"plugins_dir", d->plugins_dir},
                                                {"registry_dir", d->registry_dir},
                                                {"state_dir", d->state_dir}});
  // A root that cannot be made is an error naming the directory.
  auto bad = drahil::runner::PrepareCaseDirs("/proc/self/no-such/case");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("/proc/self/no-such/case") != std::string::npos);
}

TEST_CASE("Engine: cleanup always runs, in reverse, and its failure is an Error",
          "[runner][engine]") {
  auto work = drahil::TempDir::Create("drahil-eng-");
  REQUIRE_OK(work);
  std::vector<std::string> order;
  std::string case_dir;
  EngineHooks hooks;
  hooks.set_up_case = [&](CaseContext& ctx) {
    case_dir = ctx.dirs.root;
    CHECK(drahil::PathExists(ctx.dirs.cdi_dir));
    CHECK(ctx.placeholders["registry_dir"] == ctx.dirs.registry_dir);
    ctx.cleanup.Add("first", [&] {
      order.push_back("first");
      return drahil::OkStatus();
    });
    ctx.cleanup.Add("second", [&] {
      order.push_back("second");
      return drahil::OkStatus();
    });
    if (ctx.kase.id == "bad-cleanup") {
      ctx.cleanup.Add("broken", [] { return drahil::InternalError("could not remove x"); });
    }
    return StepOutcome::Pass();
  };
  RunOptions o = Options();
  o.work_dir = work->path();
  auto r = RunSuite(MustLoad(CaseYaml("fails", Expect("fail"))), o, hooks);
  CHECK(Only(r).verdict == Verdict::kFail);
  CHECK(order == std::vector<std::string>{"second", "first"});
  CHECK_FALSE(drahil::PathExists(case_dir));  // the case dir is gone
  order.clear();
  auto bad = RunSuite(MustLoad(CaseYaml("bad-cleanup", Expect("pass"))), o, hooks);
  CHECK(Only(bad).verdict == Verdict::kError);
  CHECK(Only(bad).type == "CleanupFailed");
  CHECK(Only(bad).message.find("broken: INTERNAL: could not remove x") != std::string::npos);
  CHECK(order.size() == 2);  // the others still ran

  drahil::runner::CleanupTracker t;
  int n = 0;
  int h = t.Add("dismissed", [&] {
    ++n;
    return drahil::OkStatus();
  });
  t.Add("kept", [&] {
    n += 10;
    return drahil::OkStatus();
  });
  t.Dismiss(h);
  CHECK_OK(t.RunAll());
  CHECK_OK(t.RunAll());  // idempotent
  CHECK(n == 10);
}

TEST_CASE("Engine: --focus and --skip match ids, suite/id and tags", "[runner][engine]") {
  // Select() returns pointers into the suites, so they must outlive it.
  std::vector<Suite> s = {MustLoad(CaseYaml("alpha", Expect("pass")) +
                                   CaseYaml("beta", Expect("pass")) +
                                   CaseYaml("gamma", Expect("pass")))};
  RunOptions o = Options();
  o.focus = {"^(alpha|beta)$"};
  o.skip = {"beta-tag"};
  Engine e(StepRegistry::WithBuiltins(), {}, o);
  auto sel = e.Select(s);
  REQUIRE_OK(sel);
  REQUIRE(sel->size() == 1);
  CHECK(sel->front().kase->id == "alpha");
  RunOptions bad = Options();
  bad.focus = {"("};
  CHECK_FALSE(Engine(StepRegistry::WithBuiltins(), {}, bad).Select(s).ok());
  RunOptions by_suite = Options();
  by_suite.focus = {"^eng/gamma$"};
  CHECK(Engine(StepRegistry::WithBuiltins(), {}, by_suite).Select(s)->size() == 1);
}

TEST_CASE("Engine: --repeat reports flakes as failures with every attempt", "[runner][engine]") {
  RunOptions o = Options();
  o.repeat = 4;
  auto r = RunSuite(MustLoad(CaseYaml("f", Expect("flaky")) + CaseYaml("p", Expect("pass"))), o);
  const auto& f = r.suites[0].cases[0];
  CHECK(f.flaky);
  CHECK(f.verdict == Verdict::kFail);
  CHECK(f.type == "Flaky");
  CHECK(f.attempts.size() == 4);
  CHECK(f.message.find("flaky: 2 of 4") != std::string::npos);
  const auto& p = r.suites[0].cases[1];
  CHECK(p.verdict == Verdict::kPass);
  CHECK_FALSE(p.flaky);
  CHECK(p.attempts.size() == 4);
}

TEST_CASE("Engine: --fail-fast stops scheduling after the first failure", "[runner][engine]") {
  RunOptions o = Options();
  o.fail_fast = true;
  auto r = RunSuite(MustLoad(CaseYaml("a", Expect("pass")) + CaseYaml("b", Expect("fail")) +
                             CaseYaml("c", Expect("pass"))),
                    o);
  REQUIRE(r.suites[0].cases.size() == 2);
  CHECK(r.partial);
  CHECK(r.interruption.find("--fail-fast after eng/b") != std::string::npos);
}

TEST_CASE("Engine: --parallel runs cases at the same time", "[runner][engine]") {
  std::string cases;
  for (int i = 0; i < 4; ++i) cases += CaseYaml("w" + std::to_string(i), "{wait: 400ms}");
  RunOptions o = Options();
  o.parallel = 4;
  auto t0 = std::chrono::steady_clock::now();
  auto r = RunSuite(MustLoad(cases), o);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  REQUIRE(r.suites[0].cases.size() == 4);
  for (const auto& c : r.suites[0].cases) CHECK(c.verdict == Verdict::kPass);
  CHECK(s < 1.4);                          // 4 x 400 ms in sequence would be 1.6 s
  CHECK(r.suites[0].cases[0].id == "w0");  // report keeps suite order
}

TEST_CASE("Engine: cancellation keeps only finished cases and marks the report partial",
          "[runner][engine]") {
  Suite s =
      MustLoad(CaseYaml("quick", Expect("pass")) + CaseYaml("long", "{wait: 20s, timeout: 30s}") +
               CaseYaml("never", Expect("pass")));
  CancelToken cancel;
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel.Cancel("SIGTERM");
  });
  auto t0 = std::chrono::steady_clock::now();
  auto r = RunSuite(s, Options(), {}, &cancel);
  t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(secs < 5);
  CHECK(r.partial);
  CHECK(r.interruption == "SIGTERM");
  REQUIRE(r.suites.size() == 1);
  REQUIRE(r.suites[0].cases.size() == 1);
  CHECK(r.suites[0].cases[0].id == "quick");
}

TEST_CASE("Engine: a case whose step the cancellation cut short is left out, not a Fail",
          "[runner][engine]") {
  Suite s = MustLoad(CaseYaml("quick", Expect("pass")) +
                     CaseYaml("cut", Expect("cut"), ", timeout: 60s") +
                     CaseYaml("never", Expect("pass")));
  CancelToken cancel;
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel.Cancel("SIGTERM");
  });
  auto r = RunSuite(s, Options(), {}, &cancel);
  t.join();
  CHECK(r.partial);
  REQUIRE(r.suites.size() == 1);
  REQUIRE(r.suites[0].cases.size() == 1);
  CHECK(r.suites[0].cases[0].id == "quick");

  // OnCancel() after the cancellation runs at once; removed hooks never run.
  std::string seen;
  CancelToken c2;
  int h = c2.OnCancel([&](const std::string& why) { seen += "removed:" + why; });
  c2.OnCancel([&](const std::string& why) { seen += "kept:" + why; });
  c2.RemoveOnCancel(h);
  c2.Cancel("SIGINT");
  c2.OnCancel([&](const std::string& why) { seen += ",late:" + why; });
  CHECK(seen == "kept:SIGINT,late:SIGINT");
}

TEST_CASE("Engine: long failure messages are capped, a kept case dir has the full text",
          "[runner][engine]") {
  auto work = drahil::TempDir::Create("drahil-eng-");
  REQUIRE_OK(work);
  RunOptions o = Options();
  o.work_dir = work->path();
  auto r = RunSuite(MustLoad(CaseYaml("huge", Expect("huge"))), o);
  const auto& c = Only(r);
  CHECK(c.message.size() < kMaxMessageBytes + 64);
  CHECK(c.message.find("\u2026 (") != std::string::npos);
  CHECK(c.message.find(" more bytes)") != std::string::npos);
  o.keep_dirs = true;
  auto kept = RunSuite(MustLoad(CaseYaml("huge", Expect("huge"))), o);
  const std::string& m = Only(kept).message;
  auto at = m.find("full text in ");
  REQUIRE(at != std::string::npos);
  std::string path = m.substr(at + 13, m.size() - at - 14);
  auto full = drahil::ReadFile(path);
  REQUIRE_OK(full);
  CHECK(full->find(std::string(100000, 'x')) != std::string::npos);
  // UTF-8 sequences are never split.
  CHECK(CapMessage("ab\xc3\xa9z", 3) == "ab\u2026 (3 more bytes)");
  CHECK(CapMessage("short", 10) == "short");
}

TEST_CASE("Engine: a case keeps the end of its driver log, more of it when it failed",
          "[runner][engine]") {
  auto r = RunSuite(MustLoad(CaseYaml("small", Expect("driver-log-3-pass")) +
                             CaseYaml("big", Expect("driver-log-5000-pass")) +
                             CaseYaml("bigfail", Expect("driver-log-5000-fail")) +
                             CaseYaml("none", Expect("pass"))));
  REQUIRE(r.suites[0].cases.size() == 4);
  const auto& small = r.suites[0].cases[0];
  CHECK(small.driver_log == "I driver line 1\nI driver line 2\nI driver line 3\n");
  const auto& big = r.suites[0].cases[1];
  CHECK(big.driver_log.size() <= drahil::reports::kDriverLogTailBytes + 100);
  CHECK(big.driver_log.size() > drahil::reports::kDriverLogTailBytes / 2);
  CHECK(big.driver_log.rfind("[", 0) == 0);  // says what was left out
  CHECK(big.driver_log.find("earlier bytes of driver.log not kept]\nI driver line ") !=
        std::string::npos);  // starts at a whole line
  CHECK(big.driver_log.size() - big.driver_log.rfind("I driver line 5000\n") == 19);
  const auto& bigfail = r.suites[0].cases[2];
  CHECK(bigfail.verdict == Verdict::kFail);
  CHECK(bigfail.driver_log.size() > drahil::reports::kDriverLogTailBytes * 4);
  CHECK(bigfail.driver_log.size() <= drahil::reports::kDriverLogTailBytesFailed + 100);
  CHECK(r.suites[0].cases[3].driver_log.empty());
}

TEST_CASE("Engine: requires.feature-gates → Skip naming the gate and how to turn it on",
          "[runner][engine][feature-gates]") {
  std::string kase =
      CaseYaml("t", Expect("pass"), ", requires: {feature-gates: [DRADeviceTaints]}");
  RunOptions o134 = Options();
  o134.gates = drahil::FeatureGates::For(drahil::KubeVersion::Parse("1.34").value()).value();
  auto off = RunSuite(MustLoad(kase), o134);
  CHECK(Only(off).verdict == Verdict::kSkip);
  CHECK(Only(off).message ==
        "needs feature gate DRADeviceTaints (alpha in Kubernetes 1.34, off by default); turn it "
        "on with --feature-gates DRADeviceTaints=true");
  CHECK(off.kubernetes_version == "1.34");
  // On 1.36 the gate is beta and on: the case runs.
  auto on = RunSuite(MustLoad(kase));
  CHECK(Only(on).verdict == Verdict::kPass);
  // An unknown gate is the suite's error, at load time, naming where.
  auto bad = LoadSuiteString(
      "spec: drahil.suite/v1\nname: eng\ncases:\n" +
          CaseYaml("x", Expect("pass"), ", requires: {feature-gates: [DRANoSuchGate]}"),
      "eng.yaml");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("eng.yaml:4") != std::string::npos);
  CHECK(bad.status().message().find("unknown feature gate \"DRANoSuchGate\"") != std::string::npos);
}

TEST_CASE("Engine: a failed case gets the explain_failure hook's note, a passed one not",
          "[runner][engine][feature-gates]") {
  EngineHooks hooks;
  hooks.explain_failure = [](CaseContext&) { return std::string("note: gate X was off"); };
  auto r = RunSuite(MustLoad(CaseYaml("f", Expect("fail")) + CaseYaml("p", Expect("pass"))),
                    Options(), hooks);
  CHECK(r.suites[0].cases[0].verdict == Verdict::kFail);
  CHECK(r.suites[0].cases[0].message.find("scripted failure") != std::string::npos);
  CHECK(r.suites[0].cases[0].message.find("note: gate X was off") != std::string::npos);
  CHECK(r.suites[0].cases[1].verdict == Verdict::kPass);
  CHECK(r.suites[0].cases[1].message.find("gate X") == std::string::npos);
}

TEST_CASE("GatesForRun: flag over profile over newest, profile gates for another version noted",
          "[runner][feature-gates]") {
  auto profile = LoadDriverProfileString(
      "spec: drahil.driver/v1\nname: p\ndriver: accel.example.com\ncommand: /bin/true\n"
      "kubernetes: {version: \"1.36\", feature-gates: {DRADeviceTaintRules: true}}\n",
      "p.yaml");
  REQUIRE_OK(profile);
  // The profile's version and gates.
  auto own = GatesForRun(*profile, "", "");
  REQUIRE_OK(own);
  CHECK(own->version().ToString() == "1.36");
  CHECK(own->Enabled("DRADeviceTaintRules"));
  // --feature-gates wins over the profile.
  auto flag = GatesForRun(*profile, "", "DRADeviceTaintRules=false");
  REQUIRE_OK(flag);
  CHECK_FALSE(flag->Enabled("DRADeviceTaintRules"));
  // --kubernetes-version 1.34: the 1.36 profile's gate that 1.34 lacks is
  // left out, with a note; 1.34's defaults apply.
  std::vector<std::string> notes;
  auto old = GatesForRun(*profile, "1.34", "", &notes);
  REQUIRE_OK(old);
  CHECK(old->version().ToString() == "1.34");
  CHECK_FALSE(old->Enabled("DRADeviceTaints"));
  REQUIRE(notes.size() == 1);
  CHECK(notes[0] ==
        "p.yaml: kubernetes.feature-gates: DRADeviceTaintRules does not exist in "
        "Kubernetes 1.34; left out for this run");
  // A gate named on the command line must exist in the version.
  auto missing = GatesForRun(*profile, "1.34", "DRADeviceTaintRules=true");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message().rfind("--feature-gates: ", 0) == 0);
  auto badv = GatesForRun(*profile, "1.29", "");
  REQUIRE_FALSE(badv.ok());
  CHECK(badv.status().message().rfind("--kubernetes-version: ", 0) == 0);
  // The profile's own version decides when no flag is given: a gate it does
  // not have is the profile's error.
  auto wrong = LoadDriverProfileString(
      "spec: drahil.driver/v1\nname: p\ndriver: accel.example.com\ncommand: /bin/true\n"
      "kubernetes: {version: \"1.34\", feature-gates: {DRADeviceTaintRules: true}}\n",
      "w.yaml");
  if (wrong.ok()) {
    auto g = GatesForRun(*wrong, "", "");
    REQUIRE_FALSE(g.ok());
    CHECK(g.status().message().find("w.yaml: kubernetes.feature-gates: ") != std::string::npos);
  } else {
    CHECK(wrong.status().message().find("w.yaml") != std::string::npos);
  }
}

// Partition shapes: a requirement with `shape:` counts and binds only devices
// the profile's shape selector accepts (discovery records them), and a case
// that selects a shape with {cel.shape.KIND.SHAPE} needs one such device
// even without a requirement naming it: a claim for a shape the node does not
// publish cannot be allocated, which says nothing about the driver.
TEST_CASE("Engine: partition shape requirements count and bind devices of the shape",
          "[runner][engine]") {
  int halves = 0;  // how many of the four devices have the "half" shape (the last ones)
  EngineHooks hooks;
  hooks.discover = [&](CaseContext&) -> drahil::Result<Inventory> {
    Inventory inv;
    for (int i = 0; i < 4; ++i) {
      DeviceRecord d;
      d.name = "slice-" + std::to_string(i);
      d.kinds = {"part"};
      if (i >= 4 - halves) d.shapes = {"part.half"};
      inv.device_list.push_back(d);
      inv.device_names.insert(d.name);
      inv.devices["part"]++;
      inv.exclusive["part"]++;
    }
    if (halves == 0) inv.shape_errors["part.half"] = "device slice-0: no such key: profile";
    return inv;
  };
  RunOptions o = Options();
  DeviceKindModel part;
  part.class_name = "part.vendor.example";
  part.selector = "true";
  part.identity = "uuid";
  part.shapes = {{"half", "device.attributes[\"vendor.example\"].profile == \"half\""},
                 {"whole", "false"}};
  o.profile.devices.kinds["part"] = part;

  auto count = MustLoad(CaseYaml("c", Expect("pass"),
                                 ", requires: {devices: [{kind: part, shape: half, count: 2}]}"));
  auto role = MustLoad(
      CaseYaml("r", Expect("pass"), ", requires: {devices: [{role: a, kind: part, shape: half}]}"));
  auto by_placeholder =
      MustLoad(CaseYaml("p", "{expect: {calls: {mode: pass, driver: '{cel.shape.part.half}'}}}"));
  // After a case that discovered (the inventory is cached), as in a real run.
  auto unknown_shape = MustLoad(
      CaseYaml("c", Expect("pass"), ", requires: {devices: [{kind: part, count: 1}]}") +
      CaseYaml("u", Expect("pass"), ", requires: {devices: [{kind: part, shape: quarter}]}"));

  halves = 2;
  CHECK(Only(RunSuite(count, o, hooks)).verdict == Verdict::kPass);
  auto selected = RunSuite(by_placeholder, o, hooks);
  INFO(Only(selected).message);
  CHECK(Only(selected).verdict == Verdict::kPass);
  auto bound = RunSuite(role, o, hooks);
  REQUIRE(Only(bound).verdict == Verdict::kPass);
  std::map<std::string, std::string> props(Only(bound).properties.begin(),
                                           Only(bound).properties.end());
  CHECK(props["role.a"] == "slice-3");

  // One device of the shape: two are needed.
  halves = 1;
  auto few = RunSuite(count, o, hooks);
  CHECK(Only(few).verdict == Verdict::kSkip);
  CHECK(Only(few).message ==
        "needs 2 device(s) of kind \"part\" with partition shape \"half\" "
        "(devices.part.shapes.half); the driver publishes 1");
  // None: the case that only selects the shape skips too, and the selector's
  // failure on a device is named.
  halves = 0;
  auto none = RunSuite(by_placeholder, o, hooks);
  CHECK(Only(none).verdict == Verdict::kSkip);
  INFO(Only(none).message);
  CHECK(Only(none).message.find("needs 1 device(s) of kind \"part\" with partition shape "
                                "\"half\"") != std::string::npos);
  CHECK(Only(none).message.find("(the shape's selector failed on device slice-0: no such key") !=
        std::string::npos);
  CHECK(Only(RunSuite(role, o, hooks)).verdict == Verdict::kSkip);
  // A shape the profile does not declare is a profile key the case needs.
  o.parallel = 1;
  auto undeclared = RunSuite(unknown_shape, o, hooks);
  REQUIRE(undeclared.suites.at(0).cases.size() == 2);
  const auto& u = undeclared.suites.at(0).cases.at(1);
  CHECK(u.verdict == Verdict::kSkip);
  INFO(u.message);
  CHECK(u.message.find("does not bind devices.part.shapes.quarter") != std::string::npos);
}
