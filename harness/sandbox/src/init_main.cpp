// drahil-sandbox-init: the helper Sandbox::Run() executes. It is a separate,
// single-threaded program because unshare(CLONE_NEWUSER) needs a
// single-threaded caller and because mount setup between fork and exec in a
// multi-threaded test process could deadlock on a lock held by another thread.
//
// Stage 1 (this process, host PID namespace): optional user namespace, then
// clone() the init with new PID, mount, IPC, UTS (and network) namespaces; runs the
// runtime-namespace hooks (prestart, createRuntime, poststart, poststop);
// enforces the wall-clock deadline by killing the init, which makes the kernel
// kill every process in the PID namespace.
//
// Init (PID 1 inside): builds the container view (private /dev, masks, CDI
// mounts, /proc), runs createContainer/startContainer hooks, drops all
// capabilities, starts the command, forwards signals, reaps orphans, and
// reports the command's wait status.
//
// The files: see init_internal.hpp.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string>

#include "drahil/core/file_util.hpp"
#include "init_internal.hpp"

namespace drahil::sandbox::internal {
namespace {

Status WriteProcFile(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Errno(Code::kUnavailable, "open " + path);
  ssize_t n = ::write(fd, text.data(), text.size());
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size())) {
    errno = err;
    return Errno(Code::kUnavailable, "write " + path);
  }
  return OkStatus();
}

// EnterUserNamespace(): a new user namespace whose root is the calling
// user (`uid`, `gid`).
Status EnterUserNamespace(uid_t uid, gid_t gid) {
  if (::unshare(CLONE_NEWUSER) != 0) return Errno(Code::kUnavailable, "unshare(CLONE_NEWUSER)");
  Status s = WriteProcFile("/proc/self/setgroups", "deny");
  if (s.ok()) s = WriteProcFile("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1");
  if (s.ok()) s = WriteProcFile("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1");
  if (!s.ok()) return s;
  Log("user namespace: container root is host uid " + std::to_string(uid));
  return OkStatus();
}

// What stage 1 saw of the container while supervising its init.
struct Stage1Outcome {
  bool timed_out = false;
  bool started = false;
  std::string exit_msg;  // the init's last "exit:<wait status>"
  Status hook_error;     // a create hook that failed
};

// HandleInitMessage(): one message from the init: "ready" runs the create
// hooks and lets it go on, "started" runs the poststart hooks, "exit:..."
// is kept. false when supervision must stop (a hook failed or ran out of
// time).
bool HandleInitMessage(const InitConfig& c, int sock, pid_t init, const std::string& m,
                       Stage1Outcome* out) {
  if (m == "ready") {
    out->hook_error = RunHooks(c, {"prestart", "createRuntime"}, "created", init);
    if (out->hook_error.code() == Code::kCancelled) {
      out->hook_error = OkStatus();
      out->timed_out = true;
      return false;
    }
    if (!out->hook_error.ok()) return false;
    SendMsg(sock, "go:" + std::to_string(init));
  } else if (m == "started") {
    out->started = true;
    if (Status s = RunHooks(c, {"poststart"}, "running", init); !s.ok()) {
      Log("poststart hook failed (the command keeps running): " + s.message());
    }
  } else if (m.rfind("exit:", 0) == 0) {
    out->exit_msg = m;
  }
  return true;
}

// Supervise(): serves the init's messages until it exits, the deadline
// passes or a create hook fails; *init becomes -1 when it was reaped here.
void Supervise(const InitConfig& c, int sock, pid_t* init, Stage1Outcome* out) {
  int pidfd = PidfdOpen(*init);
  for (;;) {
    int64_t left = c.deadline_mono_ms - MonotonicMs();
    if (left <= 0) {
      out->timed_out = true;
      return;
    }
    pollfd p[2] = {{sock, POLLIN, 0}, {pidfd, POLLIN, 0}};
    int n = ::poll(p, pidfd >= 0 ? 2 : 1,
                   static_cast<int>(std::min<int64_t>(left, pidfd >= 0 ? 1000 : 20)));
    if (n < 0 && errno != EINTR) return;
    if (p[0].revents & POLLIN) {
      if (!HandleInitMessage(c, sock, *init, RecvMsg(sock), out)) return;
    } else if (p[0].revents & (POLLHUP | POLLERR)) {
      return;  // the init closed its end: it is exiting
    }
    if (pidfd >= 0 && (p[1].revents & POLLIN)) return;
    int st;
    if (pidfd < 0 && ::waitpid(*init, &st, WNOHANG) == *init) {
      *init = -1;
      return;
    }
  }
}

// DrainMessages(): a final message sent just before the init exited.
void DrainMessages(int sock, Stage1Outcome* out) {
  for (;;) {
    pollfd p{sock, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)) return;
    std::string m = RecvMsg(sock);
    if (m.empty()) return;
    if (m.rfind("exit:", 0) == 0) out->exit_msg = m;
    if (m == "started") out->started = true;
  }
}

// ReportOutcome(): the container's end as events, then the poststop hooks
// of a container that started.
void ReportOutcome(const InitConfig& c, const Stage1Outcome& out) {
  if (!out.hook_error.ok()) EmitError(out.hook_error);
  if (out.timed_out) {
    Emit({{"ev", "timeout"}});
  } else if (!out.exit_msg.empty()) {
    Emit({{"ev", "exit"}, {"status", std::atoi(out.exit_msg.c_str() + 5)}});
  }
  if (!out.started) return;
  InitConfig post = c;
  post.deadline_mono_ms = std::max(c.deadline_mono_ms, MonotonicMs() + 10000);
  if (Status s = RunHooks(post, {"poststop"}, "stopped", 0); !s.ok())
    Log("poststop hook failed: " + s.message());
}

int Stage1(const InitConfig& c) {
  uid_t uid = ::getuid();
  gid_t gid = ::getgid();
  if (c.user_namespace) {
    if (Status s = EnterUserNamespace(uid, gid); !s.ok()) {
      EmitError(s);
      return 1;
    }
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    EmitError(Errno(Code::kInternal, "socketpair"));
    return 1;
  }
  // clone() rather than unshare(CLONE_NEWPID): only the init enters the new
  // PID namespace, so hooks this process forks later stay in the host's.
  // Without host_network the container gets its own network namespace
  // (only loopback), as a pod without spec.hostNetwork does.
  unsigned long flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;
  if (!c.host_network) flags |= CLONE_NEWNET;
  long r = ::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (r < 0) {
    EmitError(Errno(Code::kUnavailable,
                    std::string("clone(CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWIPC|CLONE_NEWUTS") +
                        (c.host_network ? ")" : "|CLONE_NEWNET) (host_network=false)")));
    return 1;
  }
  if (r == 0) {
    ::close(sv[0]);
    ::_exit(InitMain(c, sv[1]));
  }
  pid_t init = static_cast<pid_t>(r);
  ::close(sv[1]);
  int sock = sv[0];
  Stage1Outcome out;
  Supervise(c, sock, &init, &out);
  if (init > 0) {
    if (out.timed_out || !out.hook_error.ok()) ::kill(init, SIGKILL);
    // Reaping the init returns only after the kernel has killed and reaped
    // every other process of its PID namespace.
    int st;
    while (::waitpid(init, &st, 0) < 0 && errno == EINTR) {
    }
  }
  DrainMessages(sock, &out);
  ReportOutcome(c, out);
  return 0;
}

}  // namespace
}  // namespace drahil::sandbox::internal

int main(int argc, char** argv) {
  using namespace drahil::sandbox::internal;
  ::fcntl(kEventFd, F_SETFD, FD_CLOEXEC);
  ::signal(SIGPIPE, SIG_IGN);
  if (argc != 2) {
    EmitError(drahil::InvalidArgumentError(
        "usage: drahil-sandbox-init CONFIG.json (run by drahil::sandbox)"));
    return 2;
  }
  auto text = drahil::ReadFile(argv[1], 16u << 20);
  if (!text.ok()) {
    EmitError(text.status());
    return 2;
  }
  auto config = DecodeConfig(*text);
  if (!config.ok()) {
    EmitError(config.status());
    return 2;
  }
  if (config->argv.empty()) {
    EmitError(drahil::InvalidArgumentError("empty argv"));
    return 2;
  }
  return Stage1(*config);
}
