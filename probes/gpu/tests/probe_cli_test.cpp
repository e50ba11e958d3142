// drahil-probe-gpu as a process: exit codes, result fd, JSON schema.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "drahil/core/child_process.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/testing/testing.hpp"

#ifdef DRAHIL_PROBE_HAVE_OPENCL
#include "drahil/probe_common/opencl.hpp"
#endif

namespace {

drahil::CommandOutput Run(std::vector<std::string> args,
                          const std::map<std::string, std::string>& env = {}) {
  args.insert(args.begin(), drahil::testing::Bin("drahil-probe-gpu"));
  auto r = drahil::RunCommand(args, std::chrono::seconds(120), env);
  REQUIRE_OK(r);
  return *r;
}

// The merged output starts with PoCL/stderr noise; the document is the
// outermost {...} block.
nlohmann::json Doc(const std::string& out) {
  auto a = out.find("{\n");
  auto b = out.rfind("}");
  REQUIRE(a != std::string::npos);
  return nlohmann::json::parse(out.substr(a, b - a + 1));
}

// NoOpenClDevice(): "" when this process can open an OpenCL device the way
// the probe's opencl backend does (first device of $DRAHIL_OPENCL_PLATFORM,
// else of the first platform), else why not. Asked of the OpenCL runtime, not
// of the probe under test, so a probe that fails to start fails the tests
// instead of skipping them.
std::string NoOpenClDevice() {
#ifdef DRAHIL_PROBE_HAVE_OPENCL
  const char* platform = std::getenv("DRAHIL_OPENCL_PLATFORM");
  auto s = drahil::probe_common::ClSession::Open(platform ? platform : "", 0);
  return s.ok() ? "" : "no OpenCL device: " + s.status().ToString();
#else
  return "drahil-probe-gpu was built without OpenCL";
#endif
}

// NoSchemaValidator(): "" when Debian's python3 with jsonschema is there to
// validate documents, else what is missing.
std::string NoSchemaValidator() {
  std::string py = drahil::testing::DebianPython();
  if (py.empty()) return "Debian's /usr/bin/python3 is absent (the schema check needs it)";
  auto r = drahil::RunCommand({py, "-c", "import jsonschema"}, std::chrono::seconds(30));
  if (!r.ok() || !r->exit.success()) {
    return "python3-jsonschema is not installed for /usr/bin/python3";
  }
  return "";
}

}  // namespace

TEST_CASE("drahil-probe-gpu: usage errors exit 2", "[probe_gpu][cli]") {
  CHECK(Run({"--checks", "nope"}).exit.exit_code == 2);
  CHECK(Run({"--checks", "memory-capacity"}).exit.exit_code == 2);
  CHECK(Run({"--expect-memory", "1.5"}).exit.exit_code == 2);
  CHECK(Run({"--no-such-flag"}).exit.exit_code == 2);
  CHECK(Run({"--result-fd", "999"}).exit.exit_code == 2);
}

TEST_CASE("drahil-probe-gpu: JSON on the result fd validates against the v1 schema",
          "[probe_gpu][cli]") {
  std::string no_device = NoOpenClDevice();
  if (!no_device.empty()) DRAHIL_SKIP(no_device);
  std::string no_validator = NoSchemaValidator();
  if (!no_validator.empty()) DRAHIL_SKIP(no_validator);
  auto dir = drahil::TempDir::Create("probe-gpu-cli-");
  REQUIRE_OK(dir);
  std::string out = dir->Join("result.json");
  // The shell opens fd 7 for the probe, as the sandbox passes DRAHIL_RESULT_FD.
  auto r = drahil::RunCommand(
      {"/bin/sh", "-c",
       "exec 7>\"$OUT\"; exec \"$PROBE\" --backend opencl --checks all --expect-memory 1Gi "
       "--expect-share 8Mi --memory-tolerance 1000 --bandwidth-size 2Mi --reps 1 "
       "--fma-items 4096 --fma-iters 16 --stress-seconds 0.05 --canary-size 64Ki "
       "--chunk-size 4Mi --scan-size 4Mi"},
      std::chrono::seconds(120),
      {{"OUT", out},
       {"PROBE", drahil::testing::Bin("drahil-probe-gpu")},
       {"DRAHIL_RESULT_FD", "7"}});
  REQUIRE_OK(r);
  // memory-capacity fails on PoCL (no limit is enforced): exit 1.
  CHECK(r->exit.exit_code == 1);
  CHECK(r->output.find("drahil-probe-gpu (opencl): fail") != std::string::npos);
  auto text = drahil::ReadFile(out);
  REQUIRE_OK(text);
  auto j = nlohmann::json::parse(*text);
  CHECK(j["schema"] == "drahil.probe/v1");
  CHECK(j["exit_code"] == 1);
  REQUIRE(j["checks"].size() == 6);
  CHECK(j["checks"][1]["name"] == "memory-capacity");
  CHECK(j["checks"][1]["verdict"] == "fail");
  for (int i : {0, 2, 3, 4, 5}) CHECK(j["checks"][i]["verdict"] == "pass");

  auto v =
      drahil::RunCommand({drahil::testing::DebianPython(), "-c",
                          "import json,sys,jsonschema; s=json.load(open(sys.argv[1])); "
                          "jsonschema.Draft202012Validator.check_schema(s); "
                          "jsonschema.validate(json.load(open(sys.argv[2])), s); print('valid')",
                          DRAHIL_PROBE_SCHEMA, out},
                         std::chrono::seconds(60));
  REQUIRE_OK(v);
  INFO(v->output);
  CHECK(v->exit.exit_code == 0);
}

TEST_CASE("drahil-probe-gpu: passing checks exit 0 with the document on stdout",
          "[probe_gpu][cli]") {
  std::string no_device = NoOpenClDevice();
  if (!no_device.empty()) DRAHIL_SKIP(no_device);
  auto r = Run({"--backend", "opencl", "--checks", "enumerate,compute", "--fma-items", "4096",
                "--fma-iters", "16", "--expect-count", "1", "-q"});
  auto j = Doc(r.output);
  CHECK(r.exit.exit_code == 0);
  CHECK(j["verdict"] == "pass");
  CHECK(j["backend"] == "opencl");
  auto bad = Run({"--backend", "opencl", "--checks", "enumerate", "--expect-count", "5", "-q"});
  CHECK(bad.exit.exit_code == 1);
  CHECK(Doc(bad.output)["checks"][0]["findings"].dump().find("expected 5") != std::string::npos);
}

TEST_CASE("drahil-probe-gpu: a backend that cannot start exits 3 with a document",
          "[probe_gpu][cli]") {
  auto r = Run({"--backend", "emulated", "--gpurt-library", "/nonexistent/lib.so", "-q"});
  CHECK(r.exit.exit_code == 3);
  auto j = Doc(r.output);
  CHECK(j["verdict"] == "error");
  CHECK(j["error"].get<std::string>().find("/nonexistent/lib.so") != std::string::npos);
}

TEST_CASE("drahil-probe-gpu: the watchdog ends a run that outlives --timeout", "[probe_gpu][cli]") {
  std::string no_device = NoOpenClDevice();
  if (!no_device.empty()) DRAHIL_SKIP(no_device);
  auto start = std::chrono::steady_clock::now();
  auto r = Run({"--backend", "opencl", "--checks", "memory-isolation", "--write-canary", "w",
                "--hold", "60", "--timeout", "1", "--canary-size", "64Ki", "-q"});
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(30));
  CHECK(r.exit.exit_code == 3);
  CHECK(Doc(r.output)["error"].get<std::string>().find("watchdog") != std::string::npos);
}
