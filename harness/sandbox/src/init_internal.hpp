// Internal to drahil-sandbox-init (see init_main.cpp): what its files share.
//   init_io.cpp     event lines to Sandbox::Run(); messages between stage 1 and the init
//   init_mounts.cpp the container view: private /dev, /run, CDI device nodes and mounts, masks
//   init_hooks.cpp  OCI hooks and the helpers for the processes the helper starts
//   init_pid1.cpp   the init (PID 1 of the sandbox) and the command it starts
//   init_main.cpp   stage 1 (user namespace, clone, supervision, hooks) and main()
#ifndef DRAHIL_SANDBOX_SRC_INIT_INTERNAL_HPP_INCLUDED
#define DRAHIL_SANDBOX_SRC_INIT_INTERNAL_HPP_INCLUDED

#include <sys/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "drahil/core/status.hpp"
#include "protocol.hpp"

namespace drahil::sandbox::internal {

// Events (init_io.cpp): one JSON object per line on kEventFd.
void WriteAll(int fd, const std::string& s);
void Emit(const nlohmann::json& j);
void Log(const std::string& msg);
void EmitError(const Status& s);
// Errno(): a Status with `code` and "what: strerror(errno)".
Status Errno(Code code, const std::string& what);

// Messages between stage 1 and the init over their socket pair (init_io.cpp).
bool SendMsg(int sock, const std::string& m);
std::string RecvMsg(int sock);

// SetupMounts() (init_mounts.cpp): the init's view of the container, in the
// new mount namespace: private /dev with the CDI device nodes, private /run,
// the CDI mounts and extra binds, the masks, and /proc.
Status SetupMounts(const InitConfig& c);
// LoopbackUp() (init_mounts.cpp): brings up `lo` in the new network namespace.
Status LoopbackUp();

// Processes and hooks (init_hooks.cpp).
int PidfdOpen(pid_t pid);
// CStrings(): argv/envp pointers into `v`, null-terminated.
std::vector<char*> CStrings(std::vector<std::string>& v);
// ResetSignals(): a child's empty signal mask and default dispositions.
void ResetSignals();
Status RunHooks(const InitConfig& c, const std::vector<std::string>& stages,
                const std::string& state_status, pid_t pid, int64_t slack_ms = 0);

// InitMain() (init_pid1.cpp): PID 1 of the sandbox; `sock` is its end of the
// socket pair with stage 1. Returns its exit code.
int InitMain(const InitConfig& c, int sock);

}  // namespace drahil::sandbox::internal

#endif  // DRAHIL_SANDBOX_SRC_INIT_INTERNAL_HPP_INCLUDED
