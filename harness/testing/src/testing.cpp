#include "drahil/testing/testing.hpp"

#include <unistd.h>

#include <cstdlib>
#include <sstream>

namespace drahil::testing {
namespace {
std::string EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return (v && *v) ? v : fallback;
}
}  // namespace

std::string BinDir() { return EnvOr("DRAHIL_BIN_DIR", DRAHIL_TEST_BIN_DIR); }
std::string LibDir() { return DRAHIL_TEST_LIB_DIR; }
std::string SourceDir() { return EnvOr("DRAHIL_SOURCE_DIR", DRAHIL_TEST_SOURCE_DIR); }
std::string Bin(const std::string& name) { return BinDir() + "/" + name; }

std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (!path) return "";
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string DebianPython() {
  return ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "";
}
}  // namespace drahil::testing
