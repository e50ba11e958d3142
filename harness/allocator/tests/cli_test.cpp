// `drahil allocate` end to end, through allocator_cli_driver (the same
// command code) and the real `drahil` binary; allocator_tests depends on both.
#include <chrono>

#include "drahil/allocator/yaml.hpp"
#include "drahil/core/child_process.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/testing/testing.hpp"

namespace {

std::string Testdata(const std::string& name) {
  return drahil::testing::SourceDir() + "/harness/allocator/tests/testdata/" + name;
}

drahil::CommandOutput Run(const std::string& binary, std::vector<std::string> args) {
  args.insert(args.begin(), binary);
  auto r = drahil::RunCommand(args, std::chrono::seconds(60));
  REQUIRE_OK(r);
  return *r;
}

void CheckCommand(const std::string& binary) {
  // Everything fits: exit 0, the claim printed with its allocation.
  auto ok = Run(binary, {"allocate", "--manifests", Testdata("claims-ok.yaml"), "--slices",
                         Testdata("gpus.yaml")});
  INFO(ok.output);
  CHECK(ok.exit.exit_code == 0);
  CHECK(ok.output.find("claim default/two-gpus: allocated on node node-1") != std::string::npos);
  CHECK(ok.output.find("device: gpu-1") != std::string::npos);
  CHECK(ok.output.find("source: FromClass") != std::string::npos);
  // Something does not fit: exit 1, the reason on the claim and in the summary.
  auto some = Run(binary, {"allocate", "--manifests", Testdata("dryrun")});
  INFO(some.output);
  CHECK(some.exit.exit_code == 1);
  CHECK(some.output.find("# node node-1: unschedulable: claim default/greedy, request \"gpus\": "
                         "needs 6 device(s)") != std::string::npos);
  CHECK(some.output.find("pod default/trainer-b: scheduled on node node-1") != std::string::npos);
  CHECK(some.output.find("type: PodScheduled") != std::string::npos);
  // Bad input: exit 2 naming the path.
  auto bad = Run(binary, {"allocate", "--manifests", "/nonexistent/manifests"});
  CHECK(bad.exit.exit_code == 2);
  CHECK(bad.output.find("/nonexistent/manifests") != std::string::npos);
  auto usage = Run(binary, {"allocate"});
  CHECK(usage.exit.exit_code == 2);
}

}  // namespace

TEST_CASE("drahil allocate: dry run prints YAML and sets the exit code", "[allocator][cli]") {
  std::string driver = drahil::testing::Bin("allocator_cli_driver");
  INFO("allocator_cli_driver not built at "
       << driver << " (allocator_tests depends on it when harness/kube is configured)");
  REQUIRE(drahil::PathExists(driver));
  CheckCommand(driver);
}

TEST_CASE("drahil allocate: the full drahil binary has the command", "[allocator][cli]") {
  std::string drahil = drahil::testing::Bin("drahil");
  INFO("drahil binary not built at "
       << drahil << " (allocator_tests depends on it when harness/cli is configured)");
  REQUIRE(drahil::PathExists(drahil));
  CheckCommand(drahil);
}
