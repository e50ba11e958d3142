// drahil-fakenode: build emulated node roots and inject device faults.
#include <cstdio>

#include "drahil/fakenode/cli.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "drahil-fakenode: emulated GPU/FPGA node roots and fault injection "
      "(docs/emulation.md)"};
  app.require_subcommand(1);
  int exit_code = 0;
  drahil::fakenode::AddSubcommands(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return exit_code;
}
