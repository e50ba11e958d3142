// Where the running drahil finds its catalog, node profiles, helper binaries
// and libraries: the same lookups in a build tree (build/bin, build/lib, the
// source tree's suites/) and in an installed layout (<prefix>/bin,
// <prefix>/lib/drahil, <prefix>/share/drahil; docs/packaging.md).
#include <cstdlib>
#include <filesystem>

#include "drahil/cli/commands.hpp"

namespace drahil::cli {
namespace {

namespace fs = std::filesystem;

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* e = std::getenv(name);
  return e != nullptr && *e != '\0' ? std::string(e) : fallback;
}

}  // namespace

std::string ExeDir(const CliContext& ctx) {
  std::string p = SiblingBinary(ctx, "x");
  return p.substr(0, p.size() - 2);
}

std::string SuitesDir(const CliContext& ctx) {
  if (const char* e = std::getenv("DRAHIL_SUITES_DIR"); e != nullptr && *e != '\0') return e;
  std::string exe = ExeDir(ctx);
  for (const std::string& c : {exe + "/../share/drahil/suites", exe + "/../../suites"}) {
    std::error_code ec;
    if (fs::is_directory(c, ec)) return fs::weakly_canonical(c, ec).string();
  }
  return "suites";
}

std::string NodeProfilesDir(const std::string& suites_dir) {
  return EnvOr("DRAHIL_NODE_PROFILES_DIR", suites_dir + "/../fakes/profiles");
}

std::string LibDir(const CliContext& ctx) {
  std::string exe = ExeDir(ctx);
  std::error_code ec;
  std::string installed = exe + "/../lib/drahil";
  if (fs::is_directory(installed, ec)) return fs::weakly_canonical(installed, ec).string();
  return exe + "/../lib";
}

}  // namespace drahil::cli
