// Runs the built `drahil` binary and checks the exit-code contract.
#include "drahil/core/child_process.hpp"
#include "drahil/testing/testing.hpp"

using namespace std::chrono_literals;

namespace {
drahil::CommandOutput Drahil(std::vector<std::string> args) {
  args.insert(args.begin(), drahil::testing::Bin("drahil"));
  auto r = drahil::RunCommand(args, 30s);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return *r;
}
}  // namespace

TEST_CASE("drahil CLI: --version prints the version and exits 0", "[cli]") {
  auto r = Drahil({"--version"});
  CHECK(r.exit.exit_code == 0);
  CHECK(r.output.find("drahil 0.") != std::string::npos);
}

TEST_CASE("drahil CLI: --help describes the tool and exits 0", "[cli]") {
  auto r = Drahil({"--help"});
  CHECK(r.exit.exit_code == 0);
  CHECK(r.output.find("DRA") != std::string::npos);
}

TEST_CASE("drahil CLI: usage errors exit 2 with a message", "[cli]") {
  auto none = Drahil({});
  CHECK(none.exit.exit_code == 2);
  auto unknown = Drahil({"no-such-subcommand"});
  CHECK(unknown.exit.exit_code == 2);
  auto badflag = Drahil({"--no-such-flag"});
  CHECK(badflag.exit.exit_code == 2);
  CHECK_FALSE(badflag.output.empty());
}
