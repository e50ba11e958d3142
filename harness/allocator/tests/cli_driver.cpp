// A minimal host for `drahil allocate` (harness/cli/src/cmd_allocator.cpp), so
// the command is tested end to end without linking every module into the
// full `drahil` binary. The command code is the same file the CLI compiles.
#include <CLI/CLI.hpp>

#include "drahil/cli/commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"allocator CLI test driver"};
  drahil::cli::CliContext ctx;
  app.require_subcommand(1);
  drahil::cli::AddAllocatorCommands(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? drahil::cli::kExitOk : drahil::cli::kExitUsage;
  }
  return ctx.exit_code;
}
