#include "drahil/runner/driver_process.hpp"

#include <signal.h>

#include <fstream>
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
