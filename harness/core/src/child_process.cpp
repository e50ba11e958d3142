#include "drahil/core/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include "drahil/core/poll.hpp"

extern char** environ;

namespace drahil {
namespace {

int PidfdOpen(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  errno = ENOSYS;
  return -1;
#endif
}

ExitInfo FromWaitStatus(int status) {
  ExitInfo info;
  if (WIFSIGNALED(status)) {
    info.signaled = true;
    info.signal = WTERMSIG(status);
  } else if (WIFEXITED(status)) {
    info.exit_code = WEXITSTATUS(status);
  }
  return info;
}

// Writes all of buf to fd, ignoring errors (used only in the forked child).
void WriteAll(int fd, const void* buf, size_t len) {
  const char* p = static_cast<const char*>(buf);
  while (len > 0) {
    ssize_t n = ::write(fd, p, len);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
}

Result<std::string> ReadPipe(UniqueFd& fd, std::chrono::milliseconds timeout, const char* which) {
  if (!fd) return FailedPreconditionError(std::string(which) + " is not a pipe");
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd.get(), POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count())));
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, std::string("poll ") + which);
    }
    if (r == 0) return out;  // nothing more within the timeout
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return ErrnoError(errno, std::string("read ") + which);
    }
    if (n == 0) return out;  // EOF
    out.append(buf, static_cast<size_t>(n));
  }
}

using Stdio = ChildProcess::Stdio;
using SpawnOptions = ChildProcess::Options;

// ChildEnv(): the child's environment as "KEY=value" strings: the parent's
// (unless replaced) with o.env added and overriding.
std::vector<std::string> ChildEnv(const SpawnOptions& o) {
  std::vector<std::string> env_strings;
  if (!o.replace_env) {
    for (char** e = environ; e && *e; ++e) {
      std::string kv = *e;
      std::string k = kv.substr(0, kv.find('='));
      if (o.env.count(k) == 0) env_strings.push_back(std::move(kv));
    }
  }
  for (const auto& [k, v] : o.env) env_strings.push_back(k + "=" + v);
  return env_strings;
}

// CStrings(): pointers to the strings of `v`, null-terminated, for execve.
std::vector<char*> CStrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// ResolveExecutable(): `prog` itself when it has a '/', else the first
// executable match on PATH (a default PATH when unset).
Result<std::string> ResolveExecutable(const std::string& prog) {
  if (prog.find('/') != std::string::npos) return prog;
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string cand = p.substr(start, end - start) + "/" + prog;
    if (::access(cand.c_str(), X_OK) == 0) return cand;
    start = end + 1;
  }
  return NotFoundError("spawn " + prog + ": not found on PATH");
}

// OpenOutput(): the child's end of stdout or stderr (`which`) for `mode`;
// -1 to inherit. For kPipe the parent's read end goes to `parent_end`.
Result<int> OpenOutput(Stdio mode, const std::string& path, bool append, UniqueFd& parent_end,
                       const char* which) {
  switch (mode) {
    case Stdio::kInherit:
      return -1;
    case Stdio::kNull: {
      int fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
      if (fd < 0) return ErrnoError(errno, "open /dev/null");
      return fd;
    }
    case Stdio::kFile: {
      if (path.empty())
        return InvalidArgumentError(std::string("spawn: ") + which + " file path is empty");
      int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
      int fd = ::open(path.c_str(), flags, 0644);
      if (fd < 0) return ErrnoError(errno, std::string("open ") + which + " file " + path);
      return fd;
    }
    case Stdio::kPipe: {
      int p[2];
      if (::pipe2(p, O_CLOEXEC) != 0) return ErrnoError(errno, "pipe");
      parent_end.Reset(p[0]);
      return p[1];
    }
  }
  return -1;
}

// The child's ends of its standard streams (invalid: inherited).
struct ChildStdio {
  UniqueFd in, out, err;
};

// OpenChildStdio(): the child's stdin/stdout/stderr as `o` asks; stdout and
// stderr to one file share one open file description.
Status OpenChildStdio(const SpawnOptions& o, UniqueFd& stdout_pipe, UniqueFd& stderr_pipe,
                      ChildStdio* fds) {
  auto out = OpenOutput(o.stdout_mode, o.stdout_path, o.append, stdout_pipe, "stdout");
  if (!out.ok()) return out.status();
  fds->out.Reset(*out);
  if (o.stderr_mode == Stdio::kFile && o.stdout_mode == Stdio::kFile &&
      o.stderr_path == o.stdout_path) {
    fds->err.Reset(::dup(fds->out.get()));
  } else {
    auto err = OpenOutput(o.stderr_mode, o.stderr_path, o.append, stderr_pipe, "stderr");
    if (!err.ok()) return err.status();
    fds->err.Reset(*err);
  }
  if (o.stdin_mode == Stdio::kNull) fds->in.Reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  return OkStatus();
}

// The soft RLIMIT_NOFILE before RaiseOpenFileLimit() raised it; restored in
// children. rlim_t(-1) (RLIM_INFINITY) is a real value, so "not raised" is
// its own flag.
std::atomic<bool> g_nofile_raised{false};
rlimit g_nofile_original{};

// What the forked child needs, all prepared before fork(): after fork in a
// threaded parent only async-signal-safe calls are allowed.
struct ExecPlan {
  std::string exe;
  std::vector<char*> argv, envp;
  int in_fd = -1, out_fd = -1, err_fd = -1;  // -1: inherit
  bool stderr_to_stdout = false;
  bool die_with_parent = false;
  pid_t parent_pid = 0;
  const char* cwd = nullptr;               // nullptr: the parent's
  std::vector<std::pair<int, int>> extra;  // child fd, parent fd
  int status_fd = -1;                      // write end of the exec-status pipe
};

// ExitWithErrno(): in the child: reports errno on the exec-status pipe and
// exits 127.
[[noreturn]] void ExitWithErrno(int status_fd) {
  int err = errno;
  WriteAll(status_fd, &err, sizeof(err));
  ::_exit(127);
}

// RedirectFds(): in the child: the standard streams and the extra fds onto
// their targets.
void RedirectFds(const ExecPlan& x) {
  // Move extra fds out of the way of their targets first.
  std::vector<int> moved;
  for (const auto& [target, src] : x.extra) {
    int tmp = ::fcntl(src, F_DUPFD_CLOEXEC, 64);
    moved.push_back(tmp);
  }
  if (x.in_fd >= 0) ::dup2(x.in_fd, 0);
  if (x.out_fd >= 0) ::dup2(x.out_fd, 1);
  if (x.err_fd >= 0) ::dup2(x.err_fd, 2);
  if (x.stderr_to_stdout) ::dup2(1, 2);
  for (size_t i = 0; i < x.extra.size(); ++i) {
    if (moved[i] >= 0) ::dup2(moved[i], x.extra[i].first);  // dup2 clears CLOEXEC
  }
}

// ExecChild(): in the forked child: its own process group (so the harness
// can signal everything it starts), default signals, fds and cwd, then
// execve; never returns.
[[noreturn]] void ExecChild(const ExecPlan& x) {
  ::setpgid(0, 0);
  if (x.die_with_parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != x.parent_pid) ::_exit(127);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int s = 1; s < NSIG; ++s) ::signal(s, SIG_DFL);
  RedirectFds(x);
  if (g_nofile_raised.load()) ::setrlimit(RLIMIT_NOFILE, &g_nofile_original);
  if (x.cwd && ::chdir(x.cwd) != 0) ExitWithErrno(x.status_fd);
  ::execve(x.exe.c_str(), x.argv.data(), x.envp.data());
  ExitWithErrno(x.status_fd);
}

// ReadExecErrno(): the child's errno when its exec failed; nullopt when the
// exec-status pipe reached EOF (the exec succeeded).
std::optional<int> ReadExecErrno(int status_fd) {
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(status_fd, &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof(child_errno))) return child_errno;
  return std::nullopt;
}

}  // namespace

std::string ExitInfo::Describe() const {
  if (signaled)
    return "killed by signal " + std::to_string(signal) + " (" + ::strsignal(signal) + ")";
  return "exit code " + std::to_string(exit_code);
}

Result<ChildProcess> ChildProcess::Spawn(const Options& o) {
  if (o.argv.empty() || o.argv[0].empty()) return InvalidArgumentError("spawn: empty argv");
  const std::string& prog = o.argv[0];

  // Everything the child needs is prepared before fork(): after fork in a
  // threaded parent only async-signal-safe calls are allowed.
  ExecPlan plan;
  std::vector<std::string> env_strings = ChildEnv(o);
  plan.envp = CStrings(env_strings);
  std::vector<std::string> argv_copy = o.argv;
  plan.argv = CStrings(argv_copy);
  // Resolve the program on PATH in the parent so the child only calls execve.
  DRAHIL_ASSIGN_OR_RETURN(plan.exe, ResolveExecutable(prog));

  ChildProcess child;
  ChildStdio fds;
  DRAHIL_RETURN_IF_ERROR(OpenChildStdio(o, child.stdout_pipe_, child.stderr_pipe_, &fds));

  // The exec-status pipe tells the parent whether execve succeeded: it is
  // close-on-exec, so EOF means success and 4 bytes of errno mean failure.
  int status_pipe[2];
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) return ErrnoError(errno, "pipe");
  UniqueFd status_read(status_pipe[0]);
  UniqueFd status_write(status_pipe[1]);

  plan.in_fd = fds.in.get();
  plan.out_fd = fds.out.get();
  plan.err_fd = fds.err.get();
  plan.stderr_to_stdout = o.stderr_to_stdout;
  plan.die_with_parent = o.die_with_parent;
  plan.parent_pid = ::getpid();
  plan.cwd = o.cwd.empty() ? nullptr : o.cwd.c_str();
  plan.extra.assign(o.extra_fds.begin(), o.extra_fds.end());
  plan.status_fd = status_write.get();

  pid_t pid = ::fork();
  if (pid < 0) return ErrnoError(errno, "fork for " + prog);
  if (pid == 0) ExecChild(plan);

  // Parent.
  ::setpgid(pid, pid);  // also done in the child; whichever runs first wins
  child.pid_ = pid;
  status_write.Reset();
  if (std::optional<int> child_errno = ReadExecErrno(status_read.get())) {
    int st = 0;
    ::waitpid(pid, &st, 0);
    child.pid_ = -1;
    bool chdir_failed = plan.cwd && *child_errno == ENOENT;
    return ErrnoError(*child_errno,
                      std::string(chdir_failed ? "chdir " + o.cwd + " for " : "exec ") + prog);
  }
  child.pidfd_.Reset(PidfdOpen(pid));
  return child;
}

ChildProcess::ChildProcess(ChildProcess&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      pidfd_(std::move(o.pidfd_)),
      stdout_pipe_(std::move(o.stdout_pipe_)),
      stderr_pipe_(std::move(o.stderr_pipe_)),
      exit_(std::move(o.exit_)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& o) noexcept {
  if (this != &o) {
    if (pid_ > 0 && !exit_) Kill();
    pid_ = std::exchange(o.pid_, -1);
    pidfd_ = std::move(o.pidfd_);
    stdout_pipe_ = std::move(o.stdout_pipe_);
    stderr_pipe_ = std::move(o.stderr_pipe_);
    exit_ = std::move(o.exit_);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !exit_) Kill();
}

bool ChildProcess::TryReap(bool block) {
  if (exit_ || pid_ <= 0) return true;
  int st = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &st, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    exit_ = FromWaitStatus(st);
    pidfd_.Reset();
    return true;
  }
  if (r < 0) {  // ECHILD: someone else reaped it; report unknown exit
    exit_ = ExitInfo{};
    pidfd_.Reset();
    return true;
  }
  return false;
}

bool ChildProcess::Running() { return pid_ > 0 && !TryReap(false); }

Result<ExitInfo> ChildProcess::Wait(std::optional<std::chrono::milliseconds> timeout) {
  if (pid_ <= 0) return FailedPreconditionError("wait: no child process");
  if (exit_) return *exit_;
  if (!timeout) {
    TryReap(true);
    return *exit_;
  }
  // A child runs in real time. With a pidfd the waits end as soon as it
  // exits; without one, reaping is polled every 5 ms.
  PollOptions o;
  o.interval = std::chrono::milliseconds(pidfd_ ? 1000 : 5);
  if (pidfd_) {
    o.wait_until = [this](Clock::TimePoint t) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(t - Clock::Real().Now());
      pollfd p{pidfd_.get(), POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
      return true;
    };
  }
  Status st = PollFor(Clock::Real(), *timeout, o, "pid " + std::to_string(pid_) + " to exit",
                      [this] { return TryReap(false); });
  if (st.ok()) return *exit_;
  return DeadlineExceededError("pid " + std::to_string(pid_) + " still running after " +
                               std::to_string(timeout->count()) + " ms");
}

Status ChildProcess::Signal(int sig) {
  if (pid_ <= 0 || exit_) return FailedPreconditionError("signal: process is not running");
  // The group first (helpers the child started), then the child itself in case
  // it moved to another group.
  if (::kill(-pid_, sig) != 0 && ::kill(pid_, sig) != 0)
    return ErrnoError(errno, "kill " + std::to_string(pid_));
  ::kill(pid_, sig);
  return OkStatus();
}

ExitInfo ChildProcess::Terminate(std::chrono::milliseconds grace) noexcept {
  if (pid_ <= 0) return ExitInfo{};
  if (exit_) return *exit_;
  (void)Signal(SIGTERM);
  if (SIGCONT > 0) (void)Signal(SIGCONT);  // a stopped child cannot act on SIGTERM
  auto r = Wait(grace);
  if (r.ok()) {
    ::kill(-pid_, SIGKILL);  // stragglers in the group
    return *r;
  }
  return Kill();
}

ExitInfo ChildProcess::Kill() noexcept {
  if (pid_ <= 0) return ExitInfo{};
  if (exit_) return *exit_;
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  TryReap(true);
  return *exit_;
}

Result<std::string> ChildProcess::ReadStdout(std::chrono::milliseconds timeout) {
  return ReadPipe(stdout_pipe_, timeout, "stdout");
}
Result<std::string> ChildProcess::ReadStderr(std::chrono::milliseconds timeout) {
  return ReadPipe(stderr_pipe_, timeout, "stderr");
}

Result<CommandOutput> RunCommand(const std::vector<std::string>& argv,
                                 std::chrono::milliseconds timeout,
                                 const std::map<std::string, std::string>& env) {
  ChildProcess::Options o;
  o.argv = argv;
  o.env = env;
  o.stdout_mode = ChildProcess::Stdio::kPipe;
  o.stderr_to_stdout = true;
  DRAHIL_ASSIGN_OR_RETURN(auto child, ChildProcess::Spawn(o));
  // Drain while waiting so a chatty child never blocks on a full pipe.
  auto deadline = std::chrono::steady_clock::now() + timeout;
  CommandOutput out;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      child.Kill();
      return DeadlineExceededError(argv[0] + " did not finish within " +
                                   std::to_string(timeout.count()) + " ms");
    }
    pollfd p{child.stdout_pipe_.get(), POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 100)));
    if (r > 0) {
      char buf[65536];
      ssize_t n = ::read(child.stdout_pipe_.get(), buf, sizeof(buf));
      if (n > 0) {
        out.output.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) break;  // EOF: every writer closed
    }
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  auto exit = child.Wait(std::max(left, std::chrono::milliseconds(1)));
  if (!exit.ok()) {
    child.Kill();
    return exit.status().WithContext(argv[0]);
  }
  out.exit = *exit;
  return out;
}

void RaiseOpenFileLimit() {
  static std::once_flag once;
  std::call_once(once, [] {
    rlimit now{};
    if (::getrlimit(RLIMIT_NOFILE, &now) != 0 || now.rlim_cur >= now.rlim_max) return;
    g_nofile_original = now;
    now.rlim_cur = now.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &now) == 0) g_nofile_raised.store(true);
  });
}

}  // namespace drahil
