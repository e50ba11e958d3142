// File: driver_process.hpp
//
// DriverProcess: the driver under test, launched from its profile
// (suites/drivers/*.yaml) with the case's placeholders filled in, and the
// process-level faults the `inject: {driver: ...}` step applies to it
// (kill, terminate, restart, SIGSTOP/SIGCONT), now or after a delay (a
// kill that lands in the middle of the next step's call: chaos cases).
//
//   DRAHIL_ASSIGN_OR_RETURN(auto drv, DriverProcess::StartForCase(ctx));
//   // registered as ctx.Driver(), stopped by ctx.cleanup
//
// The driver runs in its own process group (ChildProcess), so helpers it
// starts are signalled too; stdout and stderr go to <logs_dir>/driver.log.
//
// Thread-safety: all methods may be called from any thread (internal mutex).
#ifndef DRAHIL_RUNNER_DRIVER_PROCESS_HPP_INCLUDED
#define DRAHIL_RUNNER_DRIVER_PROCESS_HPP_INCLUDED

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "drahil/core/child_process.hpp"
#include "drahil/core/mutex.hpp"
#include "drahil/core/status.hpp"
#include "drahil/runner/suite.hpp"

namespace drahil::runner {

class CaseContext;

class DriverProcess {
 public:
  struct Options {
    DriverProfile profile;
    std::map<std::string, std::string> placeholders;
    std::string log_path;  // "" = inherit drahil's stderr
  };

  // BuildArgv()/BuildEnv(): the expanded command line and environment.
  static Result<std::vector<std::string>> BuildArgv(
      const DriverProfile& p, const std::map<std::string, std::string>& values);
  static Result<std::map<std::string, std::string>> BuildEnv(
      const DriverProfile& p, const std::map<std::string, std::string>& values);

  // Start(): spawns the driver. Fails naming the command when it cannot run.
  static Result<std::shared_ptr<DriverProcess>> Start(Options options);
  // StartForCase(): Start() with ctx's placeholders, log in ctx.dirs.logs_dir,
  // stored as ctx.Driver(), terminated by ctx.cleanup.
  static Result<std::shared_ptr<DriverProcess>> StartForCase(CaseContext& ctx);
  // FromCase(): the driver StartForCase() stored, or nullptr.
  static std::shared_ptr<DriverProcess> FromCase(const CaseContext& ctx);

  ~DriverProcess();
  DriverProcess(const DriverProcess&) = delete;
  DriverProcess& operator=(const DriverProcess&) = delete;

  // Terminate(): SIGTERM, then SIGKILL after the profile's shutdown timeout.
  ExitInfo Terminate() noexcept DRAHIL_EXCLUDES(mu_);
  // Kill(): SIGKILL now (a crash, as the kubelet would see it).
  ExitInfo Kill() noexcept DRAHIL_EXCLUDES(mu_);
  // Restart(): Terminate() (if running) and start again with the same argv.
  Status Restart() DRAHIL_EXCLUDES(mu_);
  // Pause()/Resume(): SIGSTOP/SIGCONT; a paused driver keeps its sockets but
  // answers nothing, which is how a hung driver looks to the kubelet.
  Status Pause() DRAHIL_EXCLUDES(mu_);
  Status Resume() DRAHIL_EXCLUDES(mu_);
  // KillAfter(): SIGKILL once `delay` has passed, from a thread of its own,
  // so the kill lands while the case goes on (in a driver call, a publish).
  // One pending kill at a time: a second KillAfter() first lets the pending
  // one land. Every other method (Terminate, Kill, Restart, Pause, Resume)
  // lets a pending kill land before it acts, so `inject: {driver: restart}`
  // after a delayed kill restarts a dead driver; the destructor drops it.
  void KillAfter(std::chrono::milliseconds delay) DRAHIL_EXCLUDES(mu_, join_mu_, kill_mu_);
  // AwaitPendingKill(): waits for the pending delayed kill to land; what it
  // did ("signal 9 after 12 ms", "not running (exited 0) after 12 ms"), or
  // nullopt when none was pending.
  std::optional<std::string> AwaitPendingKill() DRAHIL_EXCLUDES(mu_, join_mu_, kill_mu_);
  bool Running() DRAHIL_EXCLUDES(mu_);
  // Exited(): how the driver ended when it exited by itself (not through
  // Terminate()/Kill()); nullopt while it runs.
  std::optional<ExitInfo> Exited() DRAHIL_EXCLUDES(mu_);
  pid_t pid() DRAHIL_EXCLUDES(mu_);
  int starts() const DRAHIL_EXCLUDES(mu_);  // 1 after Start(), +1 per Restart()
  const std::vector<std::string>& argv() const { return argv_; }

 private:
  DriverProcess() = default;
  Status SpawnLocked() DRAHIL_REQUIRES(mu_);
  ExitInfo KillNow() noexcept DRAHIL_EXCLUDES(mu_);
  // DropPendingKill(): the destructor's: the pending kill does not land.
  void DropPendingKill() DRAHIL_EXCLUDES(kill_mu_);
  ExitInfo TerminateNow() noexcept DRAHIL_EXCLUDES(mu_);
  mutable Mutex mu_;
  // Set by Start() before the object is shared; read-only after.
  Options options_;
  std::vector<std::string> argv_;
  std::map<std::string, std::string> env_;
  // The running process and what was done to it.
  std::optional<ChildProcess> child_ DRAHIL_GUARDED_BY(mu_);
  int starts_ DRAHIL_GUARDED_BY(mu_) = 0;
  bool paused_ DRAHIL_GUARDED_BY(mu_) = false;
  // The delayed kill (KillAfter()): its thread (started and joined under
  // join_mu_), whether it should give up, and what it did (kill_mu_, which
  // the thread waits on). Apart from mu_, which the kill itself takes.
  Mutex join_mu_;
  std::thread killer_ DRAHIL_GUARDED_BY(join_mu_);
  Mutex kill_mu_;
  CondVar kill_cv_;
  bool kill_dropped_ DRAHIL_GUARDED_BY(kill_mu_) = false;
  std::optional<std::string> kill_result_ DRAHIL_GUARDED_BY(kill_mu_);
};

class StepHandler;
// MakeDriverInjectStep(): an `inject` handler that applies `driver: kill |
// terminate | restart | sigstop | sigcont` to the case's DriverProcess and
// hands every other fault kind to `others` (the fault-injection module).
std::shared_ptr<StepHandler> MakeDriverInjectStep(std::shared_ptr<StepHandler> others);

// DrawDelay(): a delay in [lo, hi] drawn from the case's seed, suite, case,
// attempt and `salt` (a step's line): reproducible across runs and machines,
// different per attempt of --repeat.
std::chrono::milliseconds DrawDelay(const CaseContext& ctx, int salt, std::chrono::milliseconds lo,
                                    std::chrono::milliseconds hi);

}  // namespace drahil::runner

#endif  // DRAHIL_RUNNER_DRIVER_PROCESS_HPP_INCLUDED
