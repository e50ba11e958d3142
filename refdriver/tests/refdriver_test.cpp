// Tests of drahil-refdriver run the real binary.
#include <set>
#include <sstream>

#include "drahil/core/child_process.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/testing/testing.hpp"

using namespace std::chrono_literals;

namespace {
drahil::CommandOutput Driver(std::vector<std::string> args,
                             std::map<std::string, std::string> env = {}) {
  args.insert(args.begin(), drahil::testing::Bin("drahil-refdriver"));
  auto r = drahil::RunCommand(args, 30s, env);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return *r;
}
}  // namespace

TEST_CASE("refdriver: --list-bugs names at least 15 planted bugs with descriptions",
          "[refdriver]") {
  auto r = Driver({"--list-bugs"});
  REQUIRE(r.exit.exit_code == 0);
  std::istringstream in(r.output);
  std::string line;
  std::set<std::string> names;
  while (std::getline(in, line)) {
    auto tab = line.find('\t');
    REQUIRE(tab != std::string::npos);
    CHECK(line.size() > tab + 10);  // a real description
    names.insert(line.substr(0, tab));
  }
  CHECK(names.size() >= 15);
  for (const char* must :
       {"non-idempotent-prepare", "cdi-leak", "unprepare-unknown-fails", "no-uid-check",
        "double-book", "env-all-gpus", "extra-device-node", "no-mps-limit", "wrong-counters",
        "health-silent", "health-stuck", "no-checkpoint", "no-cdi-recreate", "v1beta1-only",
        "subrequest-names", "slice-too-big", "register-before-socket", "crash-on-empty-prepare"}) {
    INFO(must);
    CHECK(names.count(must) == 1);
  }
}

TEST_CASE("refdriver: an unknown bug is a usage error naming it", "[refdriver]") {
  auto r = Driver({"--node-name", "n1", "--bug", "no-such-bug"});
  CHECK(r.exit.exit_code == 2);
  CHECK(r.output.find("no-such-bug") != std::string::npos);
}

TEST_CASE("refdriver: a missing registry dir fails at start, naming the dir", "[refdriver]") {
  auto r =
      Driver({"--node-name", "n1", "--kubelet-registrar-directory-path", "/nonexistent/registry"});
  CHECK(r.exit.exit_code == 1);
  CHECK(r.output.find("/nonexistent/registry") != std::string::npos);
}

TEST_CASE("refdriver: every flag can be set by its environment variable", "[refdriver]") {
  auto r = Driver(
      {}, {{"NODE_NAME", "n1"}, {"KUBELET_REGISTRAR_DIRECTORY_PATH", "/nonexistent/from-env"}});
  CHECK(r.exit.exit_code == 1);
  CHECK(r.output.find("/nonexistent/from-env") != std::string::npos);
}
