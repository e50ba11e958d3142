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

DriverProcess::~DriverProcess() {
  DropPendingKill();
  (void)AwaitPendingKill();
  TerminateNow();
}

void DriverProcess::KillAfter(std::chrono::milliseconds delay) {
  MutexLock j(join_mu_);
  if (killer_.joinable()) killer_.join();  // the pending one lands first
  {
    MutexLock l(kill_mu_);
    kill_dropped_ = false;
    kill_result_.reset();
  }
  killer_ = std::thread([this, delay] {
    auto t0 = std::chrono::steady_clock::now();
    {
      MutexLock l(kill_mu_);
      if (kill_cv_.wait_for(l, delay, [this]() DRAHIL_REQUIRES(kill_mu_) { return kill_dropped_; }))
        return;
    }
    bool was_running = Running();
    ExitInfo e = KillNow();
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    MutexLock l(kill_mu_);
    kill_result_ = (was_running ? e.Describe() : std::string("not running")) + " after " +
                   std::to_string(ms) + " ms";
  });
}

std::optional<std::string> DriverProcess::AwaitPendingKill() {
  MutexLock j(join_mu_);
  if (!killer_.joinable()) return std::nullopt;
  killer_.join();
  MutexLock l(kill_mu_);
  std::optional<std::string> r = std::move(kill_result_);
  kill_result_.reset();
  if (!r) r = "dropped";
  return r;
}

void DriverProcess::DropPendingKill() {
  MutexLock l(kill_mu_);
  kill_dropped_ = true;
  kill_cv_.notify_all();
}

ExitInfo DriverProcess::Terminate() noexcept {
  (void)AwaitPendingKill();
  return TerminateNow();
}

ExitInfo DriverProcess::TerminateNow() noexcept {
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
  (void)AwaitPendingKill();
  return KillNow();
}

ExitInfo DriverProcess::KillNow() noexcept {
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
  (void)AwaitPendingKill();
  MutexLock l(mu_);
  if (!child_ || !child_->Running()) return FailedPreconditionError("driver is not running");
  DRAHIL_RETURN_IF_ERROR(child_->Signal(SIGSTOP));
  paused_ = true;
  return OkStatus();
}

Status DriverProcess::Resume() {
  (void)AwaitPendingKill();
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
      if (step.params.contains("after"))
        return StepOutcome::Error("inject: `after` goes with `driver: kill` only", "SuiteError");
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
    // A delayed kill of an earlier step lands before this one acts.
    if (auto landed = d->AwaitPendingKill())
      ctx.Record("inject", "driver kill (delayed)", *landed, 0);
    auto t0 = Clock::Real().Now();
    Status s;
    std::string code;
    if (step.params.contains("after")) {
      if (what != "kill")
        return StepOutcome::Error("inject: `after` goes with `driver: kill` only", "SuiteError");
      auto delay = DelayOf(step, ctx);
      if (!delay.ok()) return StepOutcome::Error(delay.status().message(), "SuiteError");
      d->KillAfter(*delay);
      ctx.Record("inject", "driver kill after " + std::to_string(delay->count()) + " ms",
                 "scheduled", 0, "seed " + std::to_string(ctx.seed));
      return StepOutcome::Pass();
    }
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
  // DelayOf(): `after: D` is D; `after: {max: D[, min: E]}` is drawn
  // uniformly from [E, D] (E default 0) by DrawDelay().
  static Result<std::chrono::milliseconds> DelayOf(const Step& step, const CaseContext& ctx) {
    const auto& a = step.params["after"];
    auto ms = [](const std::string& text) -> Result<std::chrono::milliseconds> {
      DRAHIL_ASSIGN_OR_RETURN(auto d, ParseDuration(text));
      return std::chrono::duration_cast<std::chrono::milliseconds>(d);
    };
    if (a.is_string()) return ms(a.get<std::string>());
    DRAHIL_ASSIGN_OR_RETURN(auto hi, ms(a.value("max", "0s")));
    DRAHIL_ASSIGN_OR_RETURN(auto lo, ms(a.value("min", "0s")));
    if (lo > hi) return InvalidArgumentError("inject: after.min is above after.max");
    return DrawDelay(ctx, step.where.line, lo, hi);
  }

  std::shared_ptr<StepHandler> others_;
};

}  // namespace

std::chrono::milliseconds DrawDelay(const CaseContext& ctx, int salt, std::chrono::milliseconds lo,
                                    std::chrono::milliseconds hi) {
  // FNV-1a over the suite, case, attempt and salt, mixed with the seed
  // (splitmix64's finaliser): the same inputs give the same delay on every
  // machine, unlike std::uniform_int_distribution, whose algorithm is the
  // library's.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](const std::string& text) {
    for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  };
  mix(ctx.suite.name);
  mix("/" + ctx.kase.id + "#" + std::to_string(ctx.attempt) + "@" + std::to_string(salt));
  uint64_t z = h ^ (ctx.seed + 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  auto span = static_cast<uint64_t>((hi - lo).count()) + 1;
  return lo + std::chrono::milliseconds(static_cast<int64_t>(z % span));
}

std::shared_ptr<StepHandler> MakeDriverInjectStep(std::shared_ptr<StepHandler> others) {
  return std::make_shared<DriverInjectStep>(std::move(others));
}

}  // namespace drahil::runner
