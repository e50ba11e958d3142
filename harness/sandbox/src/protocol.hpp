// Internal: the configuration Sandbox::Run() hands to drahil-sandbox-init, and
// the event lines the helper writes back. Not a public API.
//
// Helper fd layout: 0 /dev/null, 1 stdout pipe, 2 stderr pipe, 3 result pipe,
// 4 event pipe. argv[1] is the path of the config JSON file.
// Events, one JSON object per line on fd 4:
//   {"ev":"log","msg":...}
//   {"ev":"error","code":<grpc code number>,"msg":...}
//   {"ev":"exit","status":<wait status>}
//   {"ev":"timeout"}
#ifndef DRAHIL_SANDBOX_SRC_PROTOCOL_HPP_INCLUDED
#define DRAHIL_SANDBOX_SRC_PROTOCOL_HPP_INCLUDED

#include <cstdint>
#include <string>
#include <vector>

#include "drahil/cdi/spec.hpp"
#include "drahil/core/status.hpp"
#include "drahil/sandbox/sandbox.hpp"

namespace drahil::sandbox::internal {

inline constexpr int kResultFd = 3;
inline constexpr int kEventFd = 4;

struct InitConfig {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // final NAME=VALUE list
  cdi::ContainerEdits edits;
  std::string fake_root;
  std::vector<std::string> mask_dirs;
  std::vector<Bind> extra_binds;
  std::string cwd = "/";
  std::string hostname;
  bool private_run = true;
  bool read_only_root = true;
  bool host_network = false;
  bool user_namespace = false;
  bool allow_hooks = false;
  std::string staging_dir;       // an empty dir the helper mounts the new /dev on first
  std::string staging_tmp_dir;   // the same for the private /tmp (read_only_root)
  int64_t deadline_mono_ms = 0;  // CLOCK_MONOTONIC, absolute
};

std::string EncodeConfig(const InitConfig& c);
Result<InitConfig> DecodeConfig(const std::string& text);

int64_t MonotonicMs();

}  // namespace drahil::sandbox::internal

#endif  // DRAHIL_SANDBOX_SRC_PROTOCOL_HPP_INCLUDED
