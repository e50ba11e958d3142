// drahil verify-bundle — checks a certification bundle (docs/bundle.md).
//
// Exit codes: 0 the bundle is whole and its reports parse; 1 it is tampered
// with or invalid (the message names the member and what is wrong); 2 usage
// errors (no such file, unreadable).
#include <cstdio>

#include "drahil/cli/commands.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/reports/bundle.hpp"

namespace drahil::cli {
namespace {

int DoVerifyBundle(const std::string& path) {
  auto bytes = ReadFile(path, 256u << 20);
  if (!bytes.ok()) {
    std::fprintf(stderr, "drahil verify-bundle: %s\n", bytes.status().message().c_str());
    return kExitUsage;
  }
  auto summary = reports::VerifyBundle(*bytes);
  if (!summary.ok()) {
    std::printf("INVALID %s: %s\n", path.c_str(), summary.status().message().c_str());
    return kExitTestFailures;
  }
  std::printf("%s", reports::BundleSummaryText(*summary).c_str());
  std::printf("OK %s\n", path.c_str());
  return kExitOk;
}

}  // namespace

void AddReportsCommands(CLI::App& app, CliContext& ctx) {
  static std::string bundle_path;
  auto* verify = app.add_subcommand(
      "verify-bundle",
      "Check a certification bundle (drahil run --bundle): every member against "
      "MANIFEST.sha256, the reports parsed; prints driver, versions, counts and certification");
  verify->add_option("bundle", bundle_path, "The .tar.gz written by --bundle")->required();
  verify->callback([&ctx] { ctx.exit_code = DoVerifyBundle(bundle_path); });
}

}  // namespace drahil::cli
