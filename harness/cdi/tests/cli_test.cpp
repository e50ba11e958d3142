// Runs the built `drahil cdi ...` commands over the fixtures.
#include <set>

#include "drahil/core/child_process.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/testing/testing.hpp"
#include "fixtures.hpp"

namespace drahil::cdi {
namespace {

using namespace std::chrono_literals;

TEST_CASE("drahil cdi audit: flags every hostile fixture with what and why", "[cdi][cli]") {
  const std::string drahil = drahil::testing::Bin("drahil");
  if (!PathExists(drahil)) DRAHIL_SKIP("drahil CLI not built");
  auto r = RunCommand({drahil, "cdi", "audit", "--min-severity", "warning", testdata::Dir("hostile")}, 30s);
  REQUIRE_OK(r);
  INFO(r->output);
  CHECK(r->exit.exit_code == 1);  // findings at warning or above
  for (const auto& f : testdata::Files("hostile")) {
    INFO(f);
    auto head = r->output.find(f + ": ");
    REQUIRE(head != std::string::npos);
    CHECK(r->output.compare(head + f.size() + 2, 2, "0 ") != 0);  // at least one finding
    for (const auto& rule : testdata::ExpectWords(f, "expect-audit")) {
      INFO(rule);
      CHECK(r->output.find("[" + rule + "]", head) != std::string::npos);
    }
  }
  CHECK(r->output.find("    what: ") != std::string::npos);
  CHECK(r->output.find("    why:  ") != std::string::npos);
}

TEST_CASE("drahil cdi validate: valid fixtures pass, invalid ones fail with the rule", "[cdi][cli]") {
  const std::string drahil = drahil::testing::Bin("drahil");
  if (!PathExists(drahil)) DRAHIL_SKIP("drahil CLI not built");
  auto ok = RunCommand({drahil, "cdi", "validate", testdata::Dir("valid")}, 30s);
  REQUIRE_OK(ok);
  INFO(ok->output);
  CHECK(ok->exit.exit_code == 0);
  CHECK(ok->output.find("0 problem(s)") != std::string::npos);
  auto bad = RunCommand({drahil, "cdi", "validate", testdata::Dir("invalid/node-bad-perms.yaml")}, 30s);
  REQUIRE_OK(bad);
  CHECK(bad->exit.exit_code == 1);
  CHECK(bad->output.find("[node-permissions]") != std::string::npos);
}

}  // namespace
}  // namespace drahil::cdi
