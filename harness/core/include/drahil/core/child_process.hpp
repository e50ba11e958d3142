// File: child_process.hpp
//
// ChildProcess: spawn a program, capture its output, stop it reliably.
//
//   ChildProcess::Options opts;
//   opts.argv = {"/usr/bin/drahil-refdriver", "--node-name", "n1"};
//   opts.stdout_path = dir + "/driver.log";        // or capture to a pipe
//   DRAHIL_ASSIGN_OR_RETURN(auto child, ChildProcess::Spawn(opts));
//   ...
//   child.Terminate(std::chrono::seconds(5));     // SIGTERM, then SIGKILL
//
// The child runs in its own process group; Terminate()/Kill() signal the whole
// group so helpers it started go too. The destructor kills and reaps a child
// that is still running, so no zombie is ever left behind.
//
// Thread-safety: one ChildProcess is used from one thread at a time.
#ifndef DRAHIL_CORE_CHILD_PROCESS_HPP_INCLUDED
#define DRAHIL_CORE_CHILD_PROCESS_HPP_INCLUDED

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "drahil/core/status.hpp"
#include "drahil/core/unique_fd.hpp"

namespace drahil {

// ExitInfo: how a child ended.
struct ExitInfo {
  int exit_code = -1;  // valid when !signaled
  int signal = 0;      // the terminating signal when signaled
  bool signaled = false;
  [[nodiscard]] bool success() const { return !signaled && exit_code == 0; }
  // Describe(): "exit code 3" or "killed by signal 9 (Killed)".
  [[nodiscard]] std::string Describe() const;
};

// CommandOutput: what RunCommand() returns.
struct CommandOutput {
  ExitInfo exit;
  std::string output;
};

class ChildProcess {
 public:
  enum class Stdio {
    kInherit,  // share the parent's stream
    kNull,     // /dev/null
    kFile,     // the given path (created/truncated, or appended)
    kPipe,     // a pipe the parent reads with ReadStdout()/ReadStderr()
  };

  struct Options {
    std::vector<std::string> argv;  // argv[0] is looked up on PATH if it has no '/'
    // Environment: when replace_env is false, env entries are added to (and
    // override) the parent's environment; when true they are the whole of it.
    std::map<std::string, std::string> env;
    bool replace_env = false;
    std::string cwd;
    Stdio stdin_mode = Stdio::kNull;
    Stdio stdout_mode = Stdio::kInherit;
    Stdio stderr_mode = Stdio::kInherit;
    std::string stdout_path;        // with kFile
    std::string stderr_path;        // with kFile; may equal stdout_path
    bool append = false;            // kFile opens with O_APPEND instead of O_TRUNC
    bool stderr_to_stdout = false;  // stderr goes wherever stdout goes (2>&1)
    // Extra descriptors passed to the child: child_fd -> parent fd (dup2'd).
    std::map<int, int> extra_fds;
    // Deliver SIGKILL to the child if the parent dies (PR_SET_PDEATHSIG).
    bool die_with_parent = true;
  };

  // Spawn(): starts the program. Fails (naming argv[0]) when it cannot be
  // executed; an exec failure is reported here, not as exit code 127.
  static Result<ChildProcess> Spawn(const Options& options);

  ChildProcess(ChildProcess&& o) noexcept;
  ChildProcess& operator=(ChildProcess&& o) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // ~ChildProcess(): Kill() and reap when still running.
  ~ChildProcess();

  [[nodiscard]] pid_t pid() const { return pid_; }
  // Running(): true until the child has been reaped.
  [[nodiscard]] bool Running();

  // Wait(): blocks until exit, or until timeout passes (then kDeadlineExceeded
  // and the child keeps running). nullopt waits forever.
  Result<ExitInfo> Wait(std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  // Signal(): sends sig to the child's process group.
  Status Signal(int sig);
  // Terminate(): SIGTERM to the group, wait up to grace, then SIGKILL; reaps.
  ExitInfo Terminate(std::chrono::milliseconds grace) noexcept;
  // Kill(): SIGKILL to the group and reap.
  ExitInfo Kill() noexcept;

  // With Stdio::kPipe: reads whatever is available until EOF or timeout.
  // Call after Wait() to drain everything.
  Result<std::string> ReadStdout(std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  Result<std::string> ReadStderr(std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

  // exit_info(): set once reaped.
  [[nodiscard]] const std::optional<ExitInfo>& exit_info() const { return exit_; }

 private:
  friend Result<CommandOutput> RunCommand(const std::vector<std::string>&,
                                          std::chrono::milliseconds,
                                          const std::map<std::string, std::string>&);
  ChildProcess() = default;
  bool TryReap(bool block);
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  UniqueFd stdout_pipe_;
  UniqueFd stderr_pipe_;
  std::optional<ExitInfo> exit_;
};

// RunCommand(): spawn, capture stdout+stderr (merged), wait with timeout
// (killing the group on expiry). For short helper commands in tests and tools.
Result<CommandOutput> RunCommand(const std::vector<std::string>& argv,
                                 std::chrono::milliseconds timeout,
                                 const std::map<std::string, std::string>& env = {});

// RaiseOpenFileLimit(): the process's soft RLIMIT_NOFILE raised to its hard
// limit (as the Go runtime does for every Go program, kube-apiserver and the
// kubelet included): drahil holds the API server's connections, the kubelet
// stand-in's sockets and its files in one process. Children started by
// ChildProcess get the original soft limit back, as Go's os/exec gives it
// back. Call once, early in main(); later calls do nothing.
void RaiseOpenFileLimit();

}  // namespace drahil

#endif  // DRAHIL_CORE_CHILD_PROCESS_HPP_INCLUDED
