#include "drahil/runner/driver_process.hpp"

#include <csignal>
#include <cstdlib>

#include "drahil/runner/engine.hpp"

namespace drahil::runner {

Result<std::vector<std::string>> DriverProcess::BuildArgv(
    const DriverProfile& p, const std::map<std::string, std::string>& values) {
  std::vector<std::string> argv;
  auto cmd = ExpandPlaceholders(p.command, values);
  if (!cmd.ok()) return cmd.status().WithContext("driver profile " + p.name + ": command");
  argv.push_back(*cmd);
  for (size_t i = 0; i < p.args.size(); ++i) {
    auto a = ExpandPlaceholders(p.args[i], values);
    if (!a.ok())
      return a.status().WithContext("driver profile " + p.name + ": args[" + std::to_string(i) +
                                    "]");
    argv.push_back(*a);
  }
  return argv;
}

Result<std::map<std::string, std::string>> DriverProcess::BuildEnv(
    const DriverProfile& p, const std::map<std::string, std::string>& values) {
  std::map<std::string, std::string> env;
  for (const auto& [k, v] : p.env) {
    auto e = ExpandPlaceholders(v, values);
    if (!e.ok()) return e.status().WithContext("driver profile " + p.name + ": env." + k);
    env[k] = *e;
  }
  // faults: nvml — an NVML-based driver drahil did not build, launched on the
  // emulated node against the fake libnvidia-ml.so.1: its dlopen() finds the
  // fake first, so device faults injected into the node reach it unchanged.
  if (p.devices.faults == "nvml" && !env.count("LD_LIBRARY_PATH") && values.count("lib_dir")) {
    std::string path = values.at("lib_dir") + "/fake-nvml";
    if (const char* cur = std::getenv("LD_LIBRARY_PATH"); cur != nullptr && *cur != '\0')
      path += std::string(":") + cur;
    env["LD_LIBRARY_PATH"] = path;
  }
  return env;
}

Result<std::shared_ptr<DriverProcess>> DriverProcess::Start(Options options) {
  std::shared_ptr<DriverProcess> d(new DriverProcess());
  DRAHIL_ASSIGN_OR_RETURN(d->argv_, BuildArgv(options.profile, options.placeholders));
  DRAHIL_ASSIGN_OR_RETURN(d->env_, BuildEnv(options.profile, options.placeholders));
  d->options_ = std::move(options);
  MutexLock l(d->mu_);
  DRAHIL_RETURN_IF_ERROR(d->SpawnLocked());
  return d;
}

Status DriverProcess::SpawnLocked() {
  ChildProcess::Options o;
  o.argv = argv_;
  o.env = env_;
  if (!options_.log_path.empty()) {
    o.stdout_mode = ChildProcess::Stdio::kFile;
    o.stderr_mode = ChildProcess::Stdio::kFile;
    o.stdout_path = options_.log_path;
    o.stderr_path = options_.log_path;
    o.append = true;  // a restarted driver's log continues the same file
  }
  auto c = ChildProcess::Spawn(o);
  if (!c.ok()) return c.status().WithContext("start driver " + options_.profile.name);
  child_.emplace(std::move(*c));
  ++starts_;
  paused_ = false;
  return OkStatus();
}

Result<std::shared_ptr<DriverProcess>> DriverProcess::StartForCase(CaseContext& ctx) {
  Options o;
  o.profile = ctx.profile;
  o.placeholders = ctx.placeholders;
  if (!ctx.dirs.logs_dir.empty()) o.log_path = ctx.dirs.logs_dir + "/driver.log";
  DRAHIL_ASSIGN_OR_RETURN(auto d, Start(std::move(o)));
  ctx.SetDriver(d);
  ctx.Record("process", "start driver", "pid " + std::to_string(d->pid()), 0, d->argv().front());
  std::weak_ptr<DriverProcess> weak = d;
  ctx.cleanup.Add("stop driver", [weak]() -> Status {
    if (auto p = weak.lock()) p->Terminate();
    return OkStatus();
  });
  return d;
}

std::shared_ptr<DriverProcess> DriverProcess::FromCase(const CaseContext& ctx) {
  return ctx.Driver();
}

DriverProcess::~DriverProcess() { Terminate(); }

ExitInfo DriverProcess::Terminate() noexcept {
  MutexLock l(mu_);
  if (!child_) return {};
  // A stopped process cannot act on SIGTERM; continue it first.
  if (paused_) (void)child_->Signal(SIGCONT);
  paused_ = false;
  ExitInfo e = child_->Terminate(options_.profile.timeouts.shutdown);
  child_.reset();
  return e;
}

ExitInfo DriverProcess::Kill() noexcept {
  MutexLock l(mu_);
  if (!child_) return {};
  ExitInfo e = child_->Kill();
  child_.reset();
  paused_ = false;
  return e;
}

Status DriverProcess::Restart() {
  Terminate();
  MutexLock l(mu_);
  return SpawnLocked();
}

Status DriverProcess::Pause() {
  MutexLock l(mu_);
  if (!child_ || !child_->Running()) return FailedPreconditionError("driver is not running");
  DRAHIL_RETURN_IF_ERROR(child_->Signal(SIGSTOP));
  paused_ = true;
  return OkStatus();
}

Status DriverProcess::Resume() {
  MutexLock l(mu_);
  if (!child_ || !child_->Running()) return FailedPreconditionError("driver is not running");
  DRAHIL_RETURN_IF_ERROR(child_->Signal(SIGCONT));
  paused_ = false;
  return OkStatus();
}

bool DriverProcess::Running() {
  MutexLock l(mu_);
  return child_ && child_->Running();
}

std::optional<ExitInfo> DriverProcess::Exited() {
  MutexLock l(mu_);
  if (!child_ || child_->Running()) return std::nullopt;
  return child_->exit_info();
}

pid_t DriverProcess::pid() {
  MutexLock l(mu_);
  return child_ ? child_->pid() : -1;
}

int DriverProcess::starts() const {
  MutexLock l(mu_);
  return starts_;
}

namespace {

class DriverInjectStep final : public StepHandler {
 public:
  explicit DriverInjectStep(std::shared_ptr<StepHandler> others) : others_(std::move(others)) {}
  StepOutcome Run(const Step& step, CaseContext& ctx) override {
    if (!step.params.contains("driver")) {
      if (others_) return others_->Run(step, ctx);
      return StepOutcome::Error("no handler for this fault kind", "MissingModule");
    }
    std::string what = step.params["driver"].get<std::string>();
    auto d = DriverProcess::FromCase(ctx);
    if (!d) {
      return StepOutcome::Error("inject driver " + what +
                                    ": no driver process was started for this case "
                                    "(attach mode, or the case set-up started none)",
                                "NoDriver");
    }
    auto t0 = Clock::Real().Now();
    Status s;
    std::string code;
    if (what == "kill") {
      code = d->Kill().Describe();
    } else if (what == "terminate") {
      code = d->Terminate().Describe();
    } else if (what == "restart") {
      s = d->Restart();
      code = s.ok() ? "pid " + std::to_string(d->pid()) : s.ToString();
    } else if (what == "sigstop") {
      s = d->Pause();
      code = s.ok() ? "stopped" : s.ToString();
    } else if (what == "sigcont") {
      s = d->Resume();
      code = s.ok() ? "continued" : s.ToString();
    } else {
      return StepOutcome::Error("unknown driver fault \"" + what + "\"", "SuiteError");
    }
    ctx.Record("inject", "driver " + what, code,
               std::chrono::duration<double, std::milli>(Clock::Real().Now() - t0).count());
    return StepOutcome::FromStatus(s, "inject driver " + what);
  }

 private:
  std::shared_ptr<StepHandler> others_;
};

}  // namespace

std::shared_ptr<StepHandler> MakeDriverInjectStep(std::shared_ptr<StepHandler> others) {
  return std::make_shared<DriverInjectStep>(std::move(others));
}

}  // namespace drahil::runner
