// drahil-sandbox-init: OCI hooks, and the helpers for the processes the
// helper starts (the hooks and the command).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "init_internal.hpp"

namespace drahil::sandbox::internal {

using Json = nlohmann::json;

int PidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

std::vector<char*> CStrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

void ResetSignals() {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
  }
}

namespace {

// WaitWithDeadline(): waitpid with a deadline (CLOCK_MONOTONIC ms). Returns
// false on timeout (the child keeps running).
bool WaitWithDeadline(pid_t pid, int* status, int64_t deadline) {
  int pidfd = PidfdOpen(pid);
  for (;;) {
    pid_t r = ::waitpid(pid, status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) {
      if (pidfd >= 0) ::close(pidfd);
      return true;
    }
    int64_t left = deadline - MonotonicMs();
    if (left <= 0) {
      if (pidfd >= 0) ::close(pidfd);
      return false;
    }
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
    } else {
      ::poll(nullptr, 0, static_cast<int>(std::min<int64_t>(left, 10)));
    }
  }
}

std::string StateJson(const std::string& status, pid_t pid, const std::string& bundle) {
  return Json({{"ociVersion", "1.0.2"},
               {"id", "drahil-sandbox"},
               {"status", status},
               {"pid", pid},
               {"bundle", bundle}})
      .dump(-1, ' ', false, Json::error_handler_t::replace);
}

// RunHook(): an OCI hook: state JSON on stdin, args as argv (argv[0]
// included, as OCI specifies), its own env only, output to our stderr.
Status RunHook(const cdi::Hook& h, const std::string& state, int64_t deadline) {
  int in[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return Errno(Code::kInternal, "pipe");
  std::vector<std::string> args = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
  std::vector<std::string> env = h.env;
  auto argv = CStrings(args);
  auto envp = CStrings(env);
  std::string desc = h.hook_name + " hook " + h.path;
  pid_t pid = ::fork();
  if (pid < 0) return Errno(Code::kInternal, "fork " + desc);
  if (pid == 0) {
    ResetSignals();
    ::dup2(in[0], 0);
    ::dup2(2, 1);
    ::execve(h.path.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::signal(SIGPIPE, SIG_IGN);
  WriteAll(in[1], state);
  ::close(in[1]);
  int64_t hook_deadline = deadline;
  bool own_timeout = false;
  if (h.timeout && MonotonicMs() + *h.timeout * 1000 < deadline) {
    hook_deadline = MonotonicMs() + *h.timeout * 1000;
    own_timeout = true;
  }
  int status = 0;
  if (!WaitWithDeadline(pid, &status, hook_deadline)) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    // The hook's own timeout is a hook failure; the run's deadline is the
    // run timing out (kCancelled tells the caller which).
    if (own_timeout)
      return DeadlineExceededError(desc + " timed out after " + std::to_string(*h.timeout) + " s");
    return CancelledError(desc + " was still running at the run's deadline");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string how = WIFEXITED(status) ? "exit code " + std::to_string(WEXITSTATUS(status))
                                        : "signal " + std::to_string(WTERMSIG(status));
    return FailedPreconditionError(desc + " failed: " + how);
  }
  Log("ran " + desc);
  return OkStatus();
}

}  // namespace

// RunHooks(): the hooks of the given stages, in order. `slack_ms` extends the
// run's deadline for hooks inside the container, so that stage 1, not the
// init, enforces the run's deadline there.
Status RunHooks(const InitConfig& c, const std::vector<std::string>& stages,
                const std::string& state_status, pid_t pid, int64_t slack_ms) {
  for (const auto& h : c.edits.hooks) {
    if (std::find(stages.begin(), stages.end(), h.hook_name) == stages.end()) continue;
    if (!c.allow_hooks) {
      Log("skipped " + h.hook_name + " hook " + h.path + " (hooks not allowed)");
      continue;
    }
    DRAHIL_RETURN_IF_ERROR(
        RunHook(h, StateJson(state_status, pid, c.staging_dir), c.deadline_mono_ms + slack_ms));
  }
  return OkStatus();
}

}  // namespace drahil::sandbox::internal
