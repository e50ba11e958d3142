// File: sandbox.hpp
//
// Sandbox: run a command the way a container runtime would run it after
// applying a claim's CDI edits, so a probe sees exactly the container view the
// driver produced.
//
//   sandbox::SandboxSpec spec;
//   spec.argv = {probe, "--json"};
//   spec.edits = resolution.edits;              // from cdi::Registry::Resolve()
//   spec.fake_root = node_root;                 // masks <fake_root>/dev
//   spec.timeout = std::chrono::seconds(30);
//   DRAHIL_ASSIGN_OR_RETURN(auto r, sandbox::Sandbox::Run(spec));
//   // r.exit, r.stdout_text, r.stderr_text, r.result_json, r.timed_out
//
// What the command gets (see docs/sandbox.md):
//   - new mount, PID, IPC, UTS and network namespaces (the network one has only
//     loopback; host_network keeps the host's); a user namespace when not root
//     (or when user_namespace == kAlways). PID 1 is the sandbox init, which
//     reaps orphans and forwards SIGTERM/SIGINT/SIGHUP/SIGQUIT/SIGUSR1/SIGUSR2;
//   - the host's root filesystem (like a container whose image is the host),
//     read-only unless read_only_root is false, a private tmpfs /tmp, with a
//     private tmpfs /dev holding only null, zero, full, random, urandom,
//     tty, shm, pts and the CDI device nodes, bind-mounted from their host paths
//     (an emulated node's regular files work the same way); a private /run;
//     <fake_root>/dev masked by an empty tmpfs; a fresh /proc;
//   - CDI mounts (sorted by depth, as the runtime does) and extra_binds;
//   - env = minimal base, then SandboxSpec::env, then the CDI env (CDI wins, as
//     in the runtime), then DRAHIL_RESULT_FD=3;
//   - CDI hooks only when allow_hooks (otherwise each is logged as skipped);
//   - all capabilities dropped (bounding, ambient, effective, permitted) and
//     no_new_privs set: no CAP_SYS_ADMIN, so a probe cannot see around its grant;
//   - fd 3 writes to result_json; stdout/stderr are captured.
// When the command exits, everything else in its PID namespace is killed. At
// the timeout the whole namespace is killed; Run() returns only after every
// process of the sandbox is gone.
//
// Errors: kUnavailable when this host cannot create the namespaces (callers
// Skip isolation tests with that message); kNotFound / kInvalidArgument /
// kFailedPrecondition when the CDI edits cannot be applied (a missing host
// path, a path with "..", a mount point that would have to be created on the
// host filesystem); kNotFound when the command cannot be executed; kInternal
// when the helper breaks. A command that runs and fails is not an error: see
// SandboxResult::exit.
//
// Thread-safety: Run() may be called from several threads at once; each call
// forks its own helper (drahil-sandbox-init) and waits for it.
#ifndef DRAHIL_SANDBOX_SANDBOX_HPP_INCLUDED
#define DRAHIL_SANDBOX_SANDBOX_HPP_INCLUDED

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "drahil/cdi/spec.hpp"
#include "drahil/core/child_process.hpp"
#include "drahil/core/status.hpp"

namespace drahil::sandbox {

struct Bind {
  std::string host_path;
  std::string container_path;  // empty: same as host_path
  bool read_only = true;
};

enum class UserNamespace { kAuto, kAlways, kNever };

struct SandboxSpec {
  std::vector<std::string> argv;  // argv[0] without '/' is looked up on the sandbox PATH
  cdi::ContainerEdits edits;
  std::map<std::string, std::string> env;
  std::string fake_root;               // when set, <fake_root>/dev is masked
  std::vector<std::string> mask_dirs;  // more host dirs to hide behind empty tmpfs
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  bool allow_hooks = false;
  std::vector<Bind> extra_binds;
  std::string cwd = "/";
  std::string hostname = "drahil-sandbox";
  bool private_run = true;  // a private tmpfs on /run (hides host sockets and CDI dirs)
  // The host's root filesystem, remounted read-only (recursively) inside the
  // private mount namespace; /tmp becomes a private tmpfs. CDI mounts and
  // extra_binds keep their own rw/ro options; fake_root stays visible
  // (read-only) at its path.
  bool read_only_root = true;
  // false: a new network namespace with only loopback (up). true: the
  // host's network (pod spec.hostNetwork).
  bool host_network = false;
  UserNamespace user_namespace = UserNamespace::kAuto;
  size_t max_output_bytes = 16u << 20;  // per stream; the rest is discarded
  // The helper binary; default: drahil-sandbox-init next to the running
  // executable, else in $DRAHIL_BIN_DIR.
  std::string init_path;
};

struct SandboxResult {
  ExitInfo exit;
  std::string stdout_text;
  std::string stderr_text;
  std::string result_json;  // what the command wrote to fd 3
  std::chrono::milliseconds duration{0};
  bool timed_out = false;
  bool output_truncated = false;
  std::vector<std::string> log;  // what the sandbox did: mounts, hooks, masks
};

class Sandbox {
 public:
  static Result<SandboxResult> Run(const SandboxSpec& spec);
  // Available(): OK when this process can create the sandbox's namespaces;
  // kUnavailable (with the reason) otherwise. Cheap: forks once.
  static Status Available(UserNamespace user_namespace = UserNamespace::kAuto);
  // InitPath(): where Run() looks for drahil-sandbox-init ("" when absent).
  static std::string FindInit();
};

// MergeEnv(): the environment Run() gives the command (exposed for tests and
// for reports): base, then extra, then CDI env entries (NAME=VALUE, a later
// one replacing an earlier one of the same name).
std::vector<std::string> MergeEnv(const std::map<std::string, std::string>& extra,
                                  const std::vector<std::string>& cdi_env,
                                  const std::string& hostname);

}  // namespace drahil::sandbox

#endif  // DRAHIL_SANDBOX_SANDBOX_HPP_INCLUDED
