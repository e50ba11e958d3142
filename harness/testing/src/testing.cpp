#include "drahil/testing/testing.hpp"

#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <thread>

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

Result<ChildProcess> SpawnLogged(std::vector<std::string> argv, const std::string& out_path,
                                 const std::string& err_path) {
  ChildProcess::Options o;
  o.argv = std::move(argv);
  o.stdout_mode = ChildProcess::Stdio::kFile;
  o.stdout_path = out_path;
  if (err_path.empty()) {
    o.stderr_to_stdout = true;
  } else {
    o.stderr_mode = ChildProcess::Stdio::kFile;
    o.stderr_path = err_path;
  }
  return ChildProcess::Spawn(o);
}

std::string JUnitSchemaErrors(const std::string& path) {
  std::string xsd = SourceDir() + "/reports/schema/junit-ant-strict.xsd";
  auto out = RunCommand({"xmllint", "--noout", "--schema", xsd, path}, std::chrono::seconds(30));
  if (!out.ok()) return out.status().ToString();
  return out->exit.success() ? "" : out->output;
}

bool WaitFor(std::chrono::milliseconds timeout, const std::function<bool()>& pred) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

std::string WaitForText(const std::string& path, const std::string& text,
                        std::chrono::milliseconds timeout) {
  std::string last;
  WaitFor(timeout, [&] {
    last = ReadFile(path).value_or("");
    return last.find(text) != std::string::npos;
  });
  return last;
}
}  // namespace drahil::testing
