// Runs the built `drahil` binary and checks the exit-code contract and that
// --help lists a module's subcommands exactly when the module is in the build.
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

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

// The names under "Subcommands:" in `drahil --help` (an entry starts two
// spaces in; its wrapped description is indented further).
std::set<std::string> HelpSubcommands(const std::string& help) {
  std::set<std::string> names;
  std::istringstream in(help);
  std::string line;
  bool in_section = false;
  while (std::getline(in, line)) {
    if (line == "Subcommands:") {
      in_section = true;
    } else if (in_section && line.empty()) {
      break;
    } else if (in_section && line.size() > 2 && line.compare(0, 2, "  ") == 0 && line[2] != ' ') {
      names.insert(line.substr(2, line.find(' ', 2) - 2));
    }
  }
  return names;
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

TEST_CASE("drahil CLI: --help lists a module's subcommands if and only if the module is built",
          "[cli]") {
  // The command functions the build compiled in (harness/cli/CMakeLists.txt).
  std::set<std::string> in_build;
  std::istringstream list(DRAHIL_CLI_COMMANDS_IN_BUILD);
  for (std::string fn; std::getline(list, fn, ',');) in_build.insert(fn);
  // What each module's command function adds: listed when it is in the build,
  // absent otherwise. (A module missing from this table is simply not checked.)
  const std::map<std::string, std::vector<std::string>> kAdds = {
      {"AddAllocatorCommands", {"allocate"}},
      {"AddApiserverCommands", {"apiserver"}},
      {"AddCdiCommands", {"cdi", "sandbox"}},
      {"AddFakenodeCommands", {"fakenode"}},
      {"AddKubeletCommands", {"kubelet"}},
      {"AddRunnerCommands", {"validate", "compare", "list", "run", "demo", "profile", "doctor"}},
      {"AddReportsCommands", {"verify-bundle"}},
      {"AddSelfcheckCommands", {"selfcheck"}},
  };
  auto r = Drahil({"--help"});
  REQUIRE(r.exit.exit_code == 0);
  std::set<std::string> listed = HelpSubcommands(r.output);
  INFO("drahil --help:\n" << r.output << "\nin the build: " << DRAHIL_CLI_COMMANDS_IN_BUILD);
  for (const auto& [fn, names] : kAdds) {
    for (const auto& name : names) {
      INFO(fn << " adds `drahil " << name << "`");
      CHECK(listed.count(name) == in_build.count(fn));
    }
  }
}
