// File: commands.hpp
//
// The hooks through which modules add subcommands to `drahil`.
//
// Each hook is defined in harness/cli/src/cmd_<module>.cpp. Hooks are declared
// weak so the CLI links while a module is absent from the build; main() calls
// only the hooks that are defined.
//
// A subcommand callback stores its exit code in CliContext::exit_code:
//   0 all passed, 1 test failures, 2 usage/config error, 3 internal error.
#ifndef DRAHIL_CLI_COMMANDS_HPP_INCLUDED
#define DRAHIL_CLI_COMMANDS_HPP_INCLUDED

#include <string>

#include <CLI/CLI.hpp>

namespace drahil::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitTestFailures = 1,
  kExitUsage = 2,
  kExitInternal = 3,
};

struct CliContext {
  int verbosity = 0;        // -v count
  int exit_code = kExitOk;  // set by the subcommand that ran
  std::string argv0;        // how drahil was invoked (to find sibling binaries)
};

// SiblingBinary("drahil-refdriver"): the path next to the running drahil.
std::string SiblingBinary(const CliContext& ctx, const std::string& name);

#define DRAHIL_CLI_HOOK(name) \
  __attribute__((weak)) void name(CLI::App& app, CliContext& ctx)

DRAHIL_CLI_HOOK(AddKubeletCommands);    // drahil kubelet
DRAHIL_CLI_HOOK(AddApiserverCommands);  // drahil apiserver
DRAHIL_CLI_HOOK(AddAllocatorCommands);  // drahil allocate
DRAHIL_CLI_HOOK(AddCdiCommands);        // drahil cdi validate|audit, drahil sandbox
DRAHIL_CLI_HOOK(AddFakenodeCommands);   // drahil fakenode (also drahil-fakenode)
DRAHIL_CLI_HOOK(AddRunnerCommands);     // drahil demo|run|list|validate|doctor
DRAHIL_CLI_HOOK(AddSelfcheckCommands);  // drahil selfcheck

#undef DRAHIL_CLI_HOOK

}  // namespace drahil::cli

#endif  // DRAHIL_CLI_COMMANDS_HPP_INCLUDED
