// drahil: the command-line entry point. Subcommands come from the modules in
// the build through AddModuleCommands() (see commands.hpp).
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <exception>

#include "drahil/cli/commands.hpp"
#include "drahil/core/child_process.hpp"
#include "drahil/core/log.hpp"

namespace drahil::cli {

std::string SiblingBinary(const CliContext& ctx, const std::string& name) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  std::string self = n > 0 ? std::string(buf, static_cast<size_t>(n)) : ctx.argv0;
  auto slash = self.rfind('/');
  return (slash == std::string::npos ? std::string(".") : self.substr(0, slash)) + "/" + name;
}

}  // namespace drahil::cli

int main(int argc, char** argv) {
  using namespace drahil::cli;
  CliContext ctx;
  ctx.argv0 = argc > 0 ? argv[0] : "drahil";
  drahil::RaiseOpenFileLimit();

  CLI::App app{
      "drahil: hardware-in-the-loop test and validation for Kubernetes DRA drivers.\n"
      "Stands in for the kubelet, API server and scheduler on one node, drives a DRA\n"
      "driver through its whole life and probes the devices it hands to containers."};
  app.set_version_flag("--version", std::string("drahil ") + DRAHIL_VERSION);
  app.add_flag("-v,--verbose", ctx.verbosity, "More log output (repeat for more)");
  app.require_subcommand(1);
  app.fallthrough();
  app.parse_complete_callback([&] { drahil::log::Init(ctx.verbosity); });

  AddModuleCommands(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "drahil: internal error: %s\n", e.what());
    return kExitInternal;
  }
  return ctx.exit_code;
}
