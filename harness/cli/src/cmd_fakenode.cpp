// `drahil fakenode create|list|inject|clear`: the same subcommands as the
// drahil-fakenode tool (fakes/node).
#include "drahil/cli/commands.hpp"
#include "drahil/fakenode/cli.hpp"

namespace drahil::cli {

void AddFakenodeCommands(CLI::App& app, CliContext& ctx) {
  auto* sub = app.add_subcommand("fakenode", "Emulated GPU/FPGA node roots and fault injection");
  sub->require_subcommand(1);
  drahil::fakenode::AddSubcommands(*sub, &ctx.exit_code);
}

}  // namespace drahil::cli
