#include "drahil/runner/driver_process.hpp"

#include <signal.h>

#include <cerrno>
#include <fstream>
#include <set>
#include <thread>

#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/runner/engine.hpp"
#include "drahil/testing/testing.hpp"

using namespace drahil::runner;

namespace {

char ProcState(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(f, line);
  auto close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() ? '?' : line[close + 2];
}

bool WaitState(pid_t pid, char want) {
  for (int i = 0; i < 200; ++i) {
    if (ProcState(pid) == want) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

DriverProfile SleepProfile() {
  DriverProfile p;
  p.name = "sleeper";
  p.driver_name = "sleep.example.com";
  p.command = "/bin/sh";
  p.args = {"-c", "echo started node={node_name} cdi={cdi_dir} env=$DRV_ENV; exec sleep 60"};
  p.env = {{"DRV_ENV", "{state_dir}/x"}};
  p.timeouts.shutdown = std::chrono::seconds(2);
  return p;
}

}  // namespace

TEST_CASE("DriverProcess: starts from a profile with placeholders, logs, restarts, pauses",
          "[runner][driver]") {
  auto dir = drahil::TempDir::Create("drahil-drv-");
  REQUIRE_OK(dir);
  DriverProcess::Options o;
  o.profile = SleepProfile();
  o.placeholders = {{"node_name", "n1"}, {"cdi_dir", "/cdi"}, {"state_dir", "/st"}};
  o.log_path = dir->Join("driver.log");
  auto d = DriverProcess::Start(o);
  REQUIRE_OK(d);
  auto drv = *d;
  CHECK(drv->Running());
  pid_t first = drv->pid();
  CHECK(drv->argv()[2].find("node=n1 cdi=/cdi") != std::string::npos);
  std::string log;
  for (int i = 0; i < 200 && log.find("started") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    log = drahil::ReadFile(o.log_path).value_or("");
  }
  CHECK(log.find("env=/st/x") != std::string::npos);

  REQUIRE_OK(drv->Pause());
  CHECK(WaitState(first, 'T'));
  REQUIRE_OK(drv->Resume());
  CHECK(WaitState(first, 'S'));

  REQUIRE_OK(drv->Restart());
  CHECK(drv->Running());
  CHECK(drv->pid() != first);
  CHECK(drv->starts() == 2);

  // A paused driver still terminates (SIGCONT before SIGTERM).
  REQUIRE_OK(drv->Pause());
  auto e = drv->Terminate();
  CHECK(e.signaled);
  CHECK_FALSE(drv->Running());
  CHECK_FALSE(drv->Pause().ok());
}

TEST_CASE("DriverProcess: placeholders are expanded in args", "[runner][driver]") {
  DriverProfile p = SleepProfile();
  p.args = {"--node={node_name}", "{{x}}"};
  auto argv = DriverProcess::BuildArgv(p, {{"node_name", "n1"}});
  REQUIRE_OK(argv);
  CHECK((*argv)[1] == "--node=n1");
  CHECK((*argv)[2] == "{x}");
  p.command = "/nonexistent/driver";
  CHECK_FALSE(DriverProcess::Start({p, {{"node_name", "n"}}, ""}).ok());
}

TEST_CASE("Engine: inject driver kill/restart through the case's DriverProcess",
          "[runner][driver]") {
  auto s = LoadSuiteString(
      "spec: drahil.suite/v1\nname: inj\ncases:\n"
      "  - {id: restart, title: t, steps: [{inject: {driver: sigstop}}, {inject: {driver: "
      "sigcont}}, {inject: {driver: restart}}, {inject: {driver: kill}}]}\n"
      "  - {id: device, title: t, steps: [{inject: {device-fault: {device: g, fault: xid}}}]}\n",
      "inj.yaml");
  REQUIRE_OK(s);
  RunOptions o;
  o.profile = SleepProfile();
  int starts = 0;
  EngineHooks hooks;
  hooks.set_up_case = [&](CaseContext& ctx) {
    auto d = DriverProcess::StartForCase(ctx);
    if (!d.ok()) return StepOutcome::FromStatus(d.status(), "start driver");
    return StepOutcome::Pass();
  };
  Engine e(StepRegistry::WithBuiltins(), hooks, o);
  CancelToken cancel;
  auto r = e.Run({*s}, cancel);
  REQUIRE_OK(r);
  const auto& c = r->suites[0].cases[0];
  INFO(c.message);
  CHECK(c.verdict == drahil::reports::Verdict::kPass);
  for (const auto& call : c.calls) starts += call.method == "start driver" ? 1 : 0;
  CHECK(starts == 1);
  bool saw_kill = false;
  for (const auto& call : c.calls)
    saw_kill |= call.method == "driver kill" && call.code.find("signal 9") != std::string::npos;
  CHECK(saw_kill);
  const auto& dev = r->suites[0].cases[1];
  CHECK(dev.verdict == drahil::reports::Verdict::kError);
  CHECK(dev.message.find("harness/faults") != std::string::npos);
}

TEST_CASE("DriverProcess: faults: nvml puts the fake NVML first on the driver's library path",
          "[runner][driver]") {
  drahil::runner::DriverProfile p;
  p.name = "nvml-driver";
  p.devices.faults = "nvml";
  auto env = drahil::runner::DriverProcess::BuildEnv(p, {{"lib_dir", "/opt/drahil/lib"}});
  REQUIRE_OK(env);
  REQUIRE(env->count("LD_LIBRARY_PATH"));
  CHECK(env->at("LD_LIBRARY_PATH").rfind("/opt/drahil/lib/fake-nvml", 0) == 0);
  // A profile that sets the path itself keeps it; other fault modes add nothing.
  p.env["LD_LIBRARY_PATH"] = "/vendor/lib";
  CHECK(drahil::runner::DriverProcess::BuildEnv(p, {{"lib_dir", "/x"}})->at("LD_LIBRARY_PATH") ==
        "/vendor/lib");
  p.env.clear();
  p.devices.faults = "emulated";
  CHECK_FALSE(
      drahil::runner::DriverProcess::BuildEnv(p, {{"lib_dir", "/x"}})->count("LD_LIBRARY_PATH"));
}

TEST_CASE("DriverProcess: KillAfter() kills from its own thread, a restart lets it land first",
          "[runner][driver][chaos]") {
  DriverProcess::Options o;
  o.profile = SleepProfile();
  o.placeholders = {{"node_name", "n1"}, {"cdi_dir", "/cdi"}, {"state_dir", "/st"}};
  auto d = DriverProcess::Start(o);
  REQUIRE_OK(d);
  auto drv = *d;
  pid_t first = drv->pid();
  auto t0 = std::chrono::steady_clock::now();
  drv->KillAfter(std::chrono::milliseconds(150));
  CHECK(drv->Running());  // returns at once: the kill is pending
  // Restart() waits for the pending kill, then starts a new process.
  REQUIRE_OK(drv->Restart());
  CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(150));
  CHECK(drv->pid() != first);
  CHECK(drv->Running());
  CHECK(drv->starts() == 2);
  CHECK(::kill(first, 0) != 0);
  CHECK_FALSE(drv->AwaitPendingKill().has_value());  // nothing pending any more

  drv->KillAfter(std::chrono::milliseconds(0));
  auto landed = drv->AwaitPendingKill();
  REQUIRE(landed.has_value());
  CHECK(landed->find("signal 9") != std::string::npos);
  CHECK(landed->find(" after ") != std::string::npos);
  CHECK_FALSE(drv->Running());

  // Destroyed with a kill pending: it is dropped, the process terminated.
  REQUIRE_OK(drv->Restart());
  pid_t third = drv->pid();
  drv->KillAfter(std::chrono::hours(1));
  t0 = std::chrono::steady_clock::now();
  drv.reset();
  d->reset();
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));
  CHECK(drahil::testing::WaitFor(std::chrono::seconds(5),
                                 [&] { return ::kill(third, 0) != 0 && errno == ESRCH; }));
}

TEST_CASE("DrawDelay: the same seed, case and attempt give the same delay, in bounds",
          "[runner][chaos]") {
  auto s = LoadSuiteString(
      "spec: drahil.suite/v1\nname: c\ncases:\n  - {id: a, title: t, steps: [wait: 1ms]}\n",
      "c.yaml");
  REQUIRE_OK(s);
  DriverProfile p;
  CancelToken cancel;
  using ms = std::chrono::milliseconds;
  std::set<long> seen;
  for (int attempt = 1; attempt <= 17; ++attempt) {
    CaseContext a(*s, s->cases[0], p, cancel, attempt);
    CaseContext b(*s, s->cases[0], p, cancel, attempt);
    a.seed = b.seed = 42;
    ms x = DrawDelay(a, 7, ms(10), ms(60));
    CHECK(x == DrawDelay(b, 7, ms(10), ms(60)));
    CHECK(x >= ms(10));
    CHECK(x <= ms(60));
    seen.insert(x.count());
  }
  CHECK(seen.size() >= 8);  // attempts draw different instants
  CaseContext c(*s, s->cases[0], p, cancel, 1);
  c.seed = 42;
  CaseContext other(*s, s->cases[0], p, cancel, 1);
  other.seed = 43;
  int differ = 0;
  for (int salt = 0; salt < 10; ++salt)
    differ += DrawDelay(c, salt, ms(0), ms(1000)) != DrawDelay(other, salt, ms(0), ms(1000));
  CHECK(differ >= 8);  // another seed, other instants
  CHECK(DrawDelay(c, 1, ms(5), ms(5)) == ms(5));
}

TEST_CASE("Engine: inject driver kill after a delay lands during the next step",
          "[runner][driver][chaos]") {
  auto s = LoadSuiteString(
      "spec: drahil.suite/v1\nname: inj\ncases:\n"
      "  - {id: later, title: t, steps: [{inject: {driver: kill, after: {max: 80ms, min: "
      "40ms}}}, {wait: 300ms}, {inject: {driver: restart}}]}\n"
      "  - {id: bad, title: t, steps: [{inject: {driver: restart, after: 10ms}}]}\n",
      "inj.yaml");
  REQUIRE_OK(s);
  RunOptions o;
  o.profile = SleepProfile();
  o.seed = 9;
  EngineHooks hooks;
  hooks.set_up_case = [&](CaseContext& ctx) {
    auto d = DriverProcess::StartForCase(ctx);
    if (!d.ok()) return StepOutcome::FromStatus(d.status(), "start driver");
    return StepOutcome::Pass();
  };
  Engine e(StepRegistry::WithBuiltins(), hooks, o);
  CancelToken cancel;
  auto r = e.Run({*s}, cancel);
  REQUIRE_OK(r);
  const auto& c = r->suites[0].cases[0];
  INFO(c.message);
  CHECK(c.verdict == drahil::reports::Verdict::kPass);
  bool scheduled = false, landed = false;
  for (const auto& call : c.calls) {
    scheduled |= call.method.rfind("driver kill after ", 0) == 0 && call.detail == "seed 9";
    landed |=
        call.method == "driver kill (delayed)" && call.code.find("signal 9") != std::string::npos;
  }
  CHECK(scheduled);
  CHECK(landed);
  const auto& bad = r->suites[0].cases[1];
  CHECK(bad.verdict == drahil::reports::Verdict::kError);
  CHECK(bad.message.find("`after` goes with `driver: kill` only") != std::string::npos);
}
