#include "drahil/sandbox/sandbox.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstring>
#include <nlohmann/json.hpp>

#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/core/unique_fd.hpp"
#include "protocol.hpp"

namespace drahil::sandbox {
namespace {

using internal::MonotonicMs;

bool UseUserNamespace(UserNamespace u) {
  switch (u) {
    case UserNamespace::kAlways:
      return true;
    case UserNamespace::kNever:
      return false;
    case UserNamespace::kAuto:
      return ::geteuid() != 0;
  }
  return false;
}

struct Pipe {
  UniqueFd read, write;
};

Result<Pipe> MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoError(errno, "pipe2");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Stream: one captured pipe.
struct Stream {
  UniqueFd fd;
  std::string* sink;
  size_t limit;
  bool* truncated;
  bool open = true;
};

// ReadSome(): one read; false at EOF or error.
bool ReadSome(Stream& s) {
  char buf[65536];
  ssize_t n = ::read(s.fd.get(), buf, sizeof(buf));
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) return false;
  size_t room = s.limit > s.sink->size() ? s.limit - s.sink->size() : 0;
  size_t take = std::min(room, static_cast<size_t>(n));
  s.sink->append(buf, take);
  if (take < static_cast<size_t>(n)) *s.truncated = true;
  return true;
}

internal::InitConfig MakeInitConfig(const SandboxSpec& spec, const std::string& staging,
                                    const std::string& staging_tmp, int64_t start) {
  internal::InitConfig cfg;
  cfg.argv = spec.argv;
  std::map<std::string, std::string> env = spec.env;
  // Under a read-only root $HOME (/root) is not writable: caches (an OpenCL
  // runtime's compiled kernels, for one) go to the private /tmp instead.
  if (spec.read_only_root) env.emplace("XDG_CACHE_HOME", "/tmp/.cache");
  cfg.env = MergeEnv(env, spec.edits.env, spec.hostname);
  cfg.edits = spec.edits;
  cfg.fake_root = spec.fake_root;
  cfg.mask_dirs = spec.mask_dirs;
  cfg.extra_binds = spec.extra_binds;
  cfg.cwd = spec.cwd.empty() ? "/" : spec.cwd;
  cfg.hostname = spec.hostname;
  cfg.private_run = spec.private_run;
  cfg.read_only_root = spec.read_only_root;
  cfg.host_network = spec.host_network;
  cfg.staging_tmp_dir = staging_tmp;
  cfg.user_namespace = UseUserNamespace(spec.user_namespace);
  cfg.allow_hooks = spec.allow_hooks;
  cfg.staging_dir = staging;
  cfg.deadline_mono_ms = start + spec.timeout.count();
  return cfg;
}

// HelperPipes: the helper's fds 0-4 (see protocol.hpp), both ends of each pipe.
struct HelperPipes {
  Pipe out, err, res, ev;
  UniqueFd devnull;
};

Result<HelperPipes> MakeHelperPipes() {
  HelperPipes p;
  DRAHIL_ASSIGN_OR_RETURN(p.out, MakePipe());
  DRAHIL_ASSIGN_OR_RETURN(p.err, MakePipe());
  DRAHIL_ASSIGN_OR_RETURN(p.res, MakePipe());
  DRAHIL_ASSIGN_OR_RETURN(p.ev, MakePipe());
  p.devnull = UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!p.devnull) return ErrnoError(errno, "open /dev/null");
  return p;
}

// SpawnHelper(): forks and execs the helper with the pipes' write ends as fds
// 1-4 and /dev/null as fd 0, then closes those ends here.
Result<pid_t> SpawnHelper(const std::string& init, const std::string& config_path,
                          HelperPipes& pipes) {
  // Everything the child needs is prepared before fork(): between fork and
  // exec it makes only async-signal-safe calls.
  std::string arg0 = init, arg1 = config_path;
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  std::string env0 = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  char* envp[] = {env0.data(), nullptr};
  const std::array<int, 5> src = {pipes.devnull.get(), pipes.out.write.get(), pipes.err.write.get(),
                                  pipes.res.write.get(), pipes.ev.write.get()};

  pid_t helper = ::fork();
  if (helper < 0) return ErrnoError(errno, "fork sandbox helper");
  if (helper == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    int tmp[5];
    for (int i = 0; i < 5; ++i) tmp[i] = ::fcntl(src[static_cast<size_t>(i)], F_DUPFD, 10);
    for (int i = 0; i < 5; ++i) ::dup2(tmp[i], i);
    if (::syscall(SYS_close_range, 5u, ~0u, 0u) != 0) {
      for (int fd = 5; fd < 65536; ++fd) ::close(fd);  // kernels before 5.9
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(argv[0], argv, envp);
    ::_exit(127);
  }
  pipes.out.write.Reset();
  pipes.err.write.Reset();
  pipes.res.write.Reset();
  pipes.ev.write.Reset();
  pipes.devnull.Reset();
  return helper;
}

constexpr size_t kStreams = 4;  // stdout, stderr, result, events

// HelperEnd: how the helper process ended.
struct HelperEnd {
  bool killed = false;  // by the backstop deadline
  int status = 0;       // its wait status
};

// PumpHelper(): reads the streams until the helper has been reaped and every
// pipe is closed, or a second after it was reaped (a hook's daemon may keep a
// pipe open). Kills the helper once hard_deadline passes.
Result<HelperEnd> PumpHelper(pid_t helper, Stream (&streams)[kStreams], int64_t hard_deadline) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, helper, 0)));
  HelperEnd end;
  bool helper_done = false;
  int64_t drain_until = 0;
  for (;;) {
    std::vector<pollfd> pfds;
    std::vector<Stream*> owners;
    for (auto& s : streams) {
      if (s.open) {
        pfds.push_back({s.fd.get(), POLLIN, 0});
        owners.push_back(&s);
      }
    }
    if (!helper_done && pidfd) pfds.push_back({pidfd.get(), POLLIN, 0});
    if (helper_done && owners.empty()) break;
    int64_t now = MonotonicMs();
    if (helper_done && now >= drain_until) break;  // a hook's daemon kept a pipe open
    int64_t wait_ms = helper_done ? drain_until - now : std::max<int64_t>(0, hard_deadline - now);
    if (!pidfd && !helper_done) wait_ms = std::min<int64_t>(wait_ms, 20);
    int n = ::poll(pfds.data(), pfds.size(), static_cast<int>(std::min<int64_t>(wait_ms, 1000)));
    if (n < 0 && errno != EINTR) return ErrnoError(errno, "poll sandbox pipes");
    for (size_t i = 0; i < owners.size(); ++i) {
      if (pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        if (!ReadSome(*owners[i])) owners[i]->open = false;
      }
    }
    if (!helper_done) {
      pid_t r = ::waitpid(helper, &end.status, WNOHANG);
      if (r == helper) {
        helper_done = true;
        drain_until = MonotonicMs() + 1000;
      } else if (MonotonicMs() >= hard_deadline && !end.killed) {
        ::kill(helper, SIGKILL);  // the init follows through PR_SET_PDEATHSIG
        end.killed = true;
      }
    }
  }
  return end;
}

// EventSummary: what the helper's event lines said beyond the result's fields.
struct EventSummary {
  Status first_error;
  bool got_exit = false;
};

void ApplyEvent(const nlohmann::json& j, SandboxResult& result, EventSummary& summary) {
  std::string kind = j.value("ev", "");
  if (kind == "log") {
    result.log.push_back(j.value("msg", ""));
  } else if (kind == "error" && summary.first_error.ok()) {
    int code = j.value("code", static_cast<int>(Code::kInternal));
    if (code <= 0 || code > 16) code = static_cast<int>(Code::kInternal);
    summary.first_error =
        Status(static_cast<Code>(code), "sandbox: " + j.value("msg", std::string("unknown error")));
  } else if (kind == "timeout") {
    result.timed_out = true;
  } else if (kind == "exit") {
    int st = j.value("status", 0);
    summary.got_exit = true;
    if (WIFSIGNALED(st)) {
      result.exit.signaled = true;
      result.exit.signal = WTERMSIG(st);
    } else {
      result.exit.exit_code = WEXITSTATUS(st);
    }
  }
}

// ApplyEvents(): applies each event line (one JSON object per line; others
// are skipped) to the result.
EventSummary ApplyEvents(const std::string& events, SandboxResult& result) {
  EventSummary summary;
  size_t pos = 0;
  while (pos < events.size()) {
    size_t nl = events.find('\n', pos);
    if (nl == std::string::npos) nl = events.size();
    std::string line = events.substr(pos, nl - pos);
    pos = nl + 1;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    ApplyEvent(j, result, summary);
  }
  return summary;
}

// Conclude(): the reported error, the timeout, the command's exit, or an
// error for a helper that ended without reporting the exit.
Result<SandboxResult> Conclude(SandboxResult result, const EventSummary& summary,
                               const HelperEnd& end, const std::string& init) {
  if (!summary.first_error.ok()) {
    std::string ctx;
    if (!result.stderr_text.empty()) ctx = " (stderr: " + result.stderr_text.substr(0, 2000) + ")";
    return Status(summary.first_error.code(), summary.first_error.message() + ctx);
  }
  if (result.timed_out || end.killed) {
    result.timed_out = true;
    result.exit.signaled = true;
    result.exit.signal = SIGKILL;
    result.exit.exit_code = -1;
    return result;
  }
  if (!summary.got_exit) {
    std::string how = WIFEXITED(end.status) ? "exit code " + std::to_string(WEXITSTATUS(end.status))
                                            : "signal " + std::to_string(WTERMSIG(end.status));
    return InternalError("sandbox helper " + init + " ended (" + how +
                         ") without reporting the command's exit");
  }
  return result;
}

}  // namespace

std::vector<std::string> MergeEnv(const std::map<std::string, std::string>& extra,
                                  const std::vector<std::string>& cdi_env,
                                  const std::string& hostname) {
  std::vector<std::pair<std::string, std::string>> env = {
      {"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
      {"HOME", "/root"},
      {"HOSTNAME", hostname},
  };
  auto set = [&](const std::string& name, const std::string& value) {
    for (auto& [n, v] : env) {
      if (n == name) {
        v = value;
        return;
      }
    }
    env.emplace_back(name, value);
  };
  for (const auto& [k, v] : extra) set(k, v);
  // The runtime replaces an existing variable of the same name (CDI wins).
  for (const auto& e : cdi_env) {
    auto eq = e.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    set(e.substr(0, eq), e.substr(eq + 1));
  }
  set("DRAHIL_RESULT_FD", std::to_string(internal::kResultFd));
  std::vector<std::string> out;
  for (const auto& [n, v] : env) out.push_back(n + "=" + v);
  return out;
}

std::string Sandbox::FindInit() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n > 0) {
    std::string self(buf, static_cast<size_t>(n));
    std::string cand = self.substr(0, self.rfind('/')) + "/drahil-sandbox-init";
    if (::access(cand.c_str(), X_OK) == 0) return cand;
  }
  if (const char* dir = ::getenv("DRAHIL_BIN_DIR"); dir != nullptr && *dir != '\0') {
    std::string cand = std::string(dir) + "/drahil-sandbox-init";
    if (::access(cand.c_str(), X_OK) == 0) return cand;
  }
  return "";
}

Status Sandbox::Available(UserNamespace user_namespace) {
  bool userns = UseUserNamespace(user_namespace);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoError(errno, "pipe2");
  UniqueFd rd(fds[0]), wr(fds[1]);
  pid_t pid = ::fork();
  if (pid < 0) return ErrnoError(errno, "fork");
  if (pid == 0) {
    // Only raw syscalls here: the parent may be multi-threaded. Reports
    // {step, errno} on failure.
    int report[2] = {0, 0};
    if (userns && ::unshare(CLONE_NEWUSER) != 0) {
      report[0] = 1;
    } else if (::unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET) !=
               0) {
      report[0] = 2;
    } else if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      report[0] = 3;
    } else if (::mount("tmpfs", "/tmp", "tmpfs", 0, "size=4k") != 0) {
      report[0] = 4;
    }
    if (report[0] != 0) {
      report[1] = errno;
      ssize_t n = ::write(wr.get(), report, sizeof(report));
      (void)n;
      ::_exit(1);
    }
    ::_exit(0);
  }
  wr.Reset();
  int report[2] = {0, 0};
  ssize_t n;
  do {
    n = ::read(rd.get(), report, sizeof(report));
  } while (n < 0 && errno == EINTR);
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return OkStatus();
  static const char* kSteps[] = {
      "namespace check died", "unshare(CLONE_NEWUSER)",
      "unshare(CLONE_NEWNS|CLONE_NEWPID|CLONE_NEWIPC|CLONE_NEWUTS|CLONE_NEWNET)",
      "make mounts private", "mount tmpfs in a new mount namespace"};
  int step =
      n == static_cast<ssize_t>(sizeof(report)) && report[0] >= 1 && report[0] <= 4 ? report[0] : 0;
  std::string why = kSteps[step];
  if (step != 0) why += std::string(": ") + std::strerror(report[1]);
  if (step == 1 && report[1] == EINVAL) why += " (the process is multi-threaded?)";
  if (step == 1 && (report[1] == EPERM || report[1] == ENOSPC)) {
    why += " (unprivileged user namespaces disabled, or the limit reached)";
  }
  if (step >= 2 && report[1] == EPERM)
    why += " (no CAP_SYS_ADMIN; run as root or allow user namespaces)";
  return UnavailableError("sandbox unavailable: " + why);
}

Result<SandboxResult> Sandbox::Run(const SandboxSpec& spec) {
  const int64_t start = MonotonicMs();
  if (spec.argv.empty() || spec.argv[0].empty()) return InvalidArgumentError("sandbox: empty argv");
  std::string init = spec.init_path.empty() ? FindInit() : spec.init_path;
  if (init.empty() || ::access(init.c_str(), X_OK) != 0) {
    return FailedPreconditionError(
        "sandbox: drahil-sandbox-init not found next to this executable or in $DRAHIL_BIN_DIR "
        "(build the drahil-sandbox-init target)");
  }
  DRAHIL_ASSIGN_OR_RETURN(TempDir work, TempDir::Create("drahil-sandbox-"));
  (void)work.MarkOwned();  // a run killed mid-container leaves it to the next run
  const std::string staging = work.Join("dev");
  if (::mkdir(staging.c_str(), 0700) != 0) return ErrnoError(errno, "mkdir " + staging);
  const std::string staging_tmp = work.Join("tmp");
  if (::mkdir(staging_tmp.c_str(), 0700) != 0) return ErrnoError(errno, "mkdir " + staging_tmp);

  const std::string config_path = work.Join("config.json");
  DRAHIL_RETURN_IF_ERROR(AtomicWriteFile(
      config_path, internal::EncodeConfig(MakeInitConfig(spec, staging, staging_tmp, start)),
      0600));

  DRAHIL_ASSIGN_OR_RETURN(HelperPipes pipes, MakeHelperPipes());
  DRAHIL_ASSIGN_OR_RETURN(pid_t helper, SpawnHelper(init, config_path, pipes));

  SandboxResult result;
  std::string events;
  bool truncated = false, ev_truncated = false;
  Stream streams[kStreams] = {
      {std::move(pipes.out.read), &result.stdout_text, spec.max_output_bytes, &truncated},
      {std::move(pipes.err.read), &result.stderr_text, spec.max_output_bytes, &truncated},
      {std::move(pipes.res.read), &result.result_json, spec.max_output_bytes, &truncated},
      {std::move(pipes.ev.read), &events, 4u << 20, &ev_truncated},
  };
  // The helper enforces the deadline itself; this is the backstop for a
  // helper that hangs.
  const int64_t hard_deadline = start + spec.timeout.count() + 15000;
  DRAHIL_ASSIGN_OR_RETURN(HelperEnd end, PumpHelper(helper, streams, hard_deadline));
  result.output_truncated = truncated;
  result.duration = std::chrono::milliseconds(MonotonicMs() - start);

  const EventSummary summary = ApplyEvents(events, result);
  return Conclude(std::move(result), summary, end, init);
}

}  // namespace drahil::sandbox
