// drahil-sandbox-init: the init, PID 1 of the sandbox. It builds the
// container view, runs the createContainer/startContainer hooks, drops all
// capabilities, starts the command, forwards signals, reaps orphans and
// reports the command's wait status to stage 1.
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

#include "drahil/core/file_util.hpp"
#include "init_internal.hpp"

namespace drahil::sandbox::internal {
namespace {

Status DropCapabilities() {
  int last = 63;
  if (auto text = ReadFile("/proc/sys/kernel/cap_last_cap", 64); text.ok())
    last = std::atoi(text->c_str());
  for (int cap = 0; cap <= last; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
      return Errno(Code::kInternal,
                   "drop capability " + std::to_string(cap) + " from the bounding set");
    }
  }
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    return Errno(Code::kInternal, "clear ambient capabilities");
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return Errno(Code::kInternal, "set no_new_privs");
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capset, &hdr, data) != 0) return Errno(Code::kInternal, "capset");
  return OkStatus();
}

std::string FindOnPath(const std::string& prog, const std::vector<std::string>& env) {
  if (prog.find('/') != std::string::npos) return prog;
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& e : env) {
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  }
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find(':', i);
    if (j == std::string::npos) j = path.size();
    std::string dir = path.substr(i, j - i);
    std::string cand = (dir.empty() ? "." : dir) + "/" + prog;
    if (::access(cand.c_str(), X_OK) == 0) return cand;
    i = j + 1;
  }
  return prog;
}

}  // namespace

int InitMain(const InitConfig& c, int sock) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  sigset_t all;
  sigfillset(&all);
  ::sigprocmask(SIG_BLOCK, &all, nullptr);
  if (!c.host_network) {
    if (Status s = LoopbackUp(); !s.ok()) {
      EmitError(s);
      return 1;
    }
  }
  if (Status s = SetupMounts(c); !s.ok()) {
    EmitError(s);
    return 1;
  }
  if (!SendMsg(sock, "ready")) return 1;
  std::string go = RecvMsg(sock);
  if (go.rfind("go:", 0) != 0) return 1;  // stage 1 refused (a hook failed) or died
  pid_t host_pid = std::atoi(go.c_str() + 3);
  if (Status s = RunHooks(c, {"createContainer"}, "created", host_pid, 60000); !s.ok()) {
    EmitError(s);
    return 1;
  }
  std::vector<gid_t> gids;
  for (uint32_t g : c.edits.additional_gids) {
    if (g != 0) gids.push_back(g);
  }
  if (!gids.empty()) {
    if (c.user_namespace) {
      Log("additionalGids not applied: setgroups is denied in a user namespace");
    } else if (::setgroups(gids.size(), gids.data()) != 0) {
      EmitError(Errno(Code::kFailedPrecondition, "setgroups(additionalGids)"));
      return 1;
    }
  }
  if (Status s = DropCapabilities(); !s.ok()) {
    EmitError(s);
    return 1;
  }
  Log("capabilities dropped, no_new_privs set");
  if (Status s = RunHooks(c, {"startContainer"}, "created", host_pid, 60000); !s.ok()) {
    EmitError(s);
    return 1;
  }
  std::vector<std::string> argv_s = c.argv;
  std::vector<std::string> env_s = c.env;
  std::string prog = FindOnPath(c.argv[0], c.env);
  auto argv = CStrings(argv_s);
  auto envp = CStrings(env_s);
  int ep[2];
  if (::pipe2(ep, O_CLOEXEC) != 0) {
    EmitError(Errno(Code::kInternal, "pipe"));
    return 1;
  }
  pid_t cmd = ::fork();
  if (cmd < 0) {
    EmitError(Errno(Code::kInternal, "fork the command"));
    return 1;
  }
  if (cmd == 0) {
    ResetSignals();
    int err = 0;
    if (::chdir(c.cwd.c_str()) != 0) {
      err = errno;
    } else {
      ::execve(prog.c_str(), argv.data(), envp.data());
      err = errno;
    }
    ssize_t w = ::write(ep[1], &err, sizeof(err));
    (void)w;
    ::_exit(127);
  }
  ::close(ep[1]);
  int err = 0;
  ssize_t got;
  do {
    got = ::read(ep[0], &err, sizeof(err));
  } while (got < 0 && errno == EINTR);
  ::close(ep[0]);
  if (got == static_cast<ssize_t>(sizeof(err))) {
    int st;
    ::waitpid(cmd, &st, 0);
    errno = err;
    EmitError(Errno(err == ENOENT ? Code::kNotFound : Code::kFailedPrecondition,
                    "exec " + prog + " (cwd " + c.cwd + ")"));
    return 1;
  }
  ::close(kResultFd);  // EOF on the result pipe then depends on the command alone
  SendMsg(sock, "started");
  int cmd_status = 0;
  bool done = false;
  while (!done) {
    siginfo_t info{};
    int sig = ::sigwaitinfo(&all, &info);
    if (sig < 0) continue;
    if (sig == SIGCHLD) {
      int st;
      pid_t r;
      while ((r = ::waitpid(-1, &st, WNOHANG)) > 0) {
        if (r == cmd) {
          cmd_status = st;
          done = true;
        }
      }
    } else if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT ||
               sig == SIGUSR1 || sig == SIGUSR2 || sig == SIGWINCH || sig == SIGCONT) {
      ::kill(cmd, sig);
    }
  }
  SendMsg(sock, "exit:" + std::to_string(cmd_status));
  // The container ends with its main process: nothing else survives it.
  ::kill(-1, SIGKILL);
  while (::waitpid(-1, nullptr, 0) > 0 || errno == EINTR) {
  }
  return 0;
}

}  // namespace drahil::sandbox::internal
