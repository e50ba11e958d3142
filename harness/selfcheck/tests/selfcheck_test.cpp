// selfcheck computes the mutation score from real runs of the runner against
// the reference driver: a two-case suite, one bug it catches and one it
// cannot catch, must score 50% and fail; the catalog's case ids must all be
// documented in docs/catalog.md.
#include "drahil/selfcheck/selfcheck.hpp"

#include <set>

#include "drahil/core/child_process.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/runner/suite.hpp"
#include "drahil/testing/testing.hpp"

namespace {

using drahil::selfcheck::Outcome;
namespace sc = drahil::selfcheck;
namespace t = drahil::testing;

std::string SmallSuite() { return t::SourceDir() + "/harness/selfcheck/tests/testdata/small.yaml"; }
std::string GpuProfile() { return t::SourceDir() + "/suites/drivers/reference-gpu-emulated.yaml"; }

sc::Options SmallOptions(std::vector<std::string> bugs) {
  sc::Options o;
  o.suites = {SmallSuite()};
  o.profiles = {{GpuProfile(), ""}};
  o.bugs = std::move(bugs);
  o.refdriver = t::Bin("drahil-refdriver");
  o.bin_dir = t::BinDir();
  o.lib_dir = t::LibDir();
  o.node_profiles_dir = t::SourceDir() + "/fakes/profiles";
  return o;
}

}  // namespace

TEST_CASE("selfcheck: a mutant profile appends --bug and renames", "[selfcheck]") {
  drahil::runner::DriverProfile p;
  p.name = "ref";
  p.args = {"--node-name=n"};
  auto m = sc::MutantProfile(p, "cdi-leak");
  CHECK(m.name == "ref+cdi-leak");
  CHECK(m.args == std::vector<std::string>{"--node-name=n", "--bug=cdi-leak"});
  CHECK(p.args.size() == 1);
}

TEST_CASE("selfcheck: plans name profiles and their focus", "[selfcheck]") {
  auto plan = sc::ParsePlan(
      "# comment\nreference-gpu-emulated\n/x/y.yaml  consumable-capacity # why\n\n", "/d");
  REQUIRE_OK(plan);
  REQUIRE(plan->size() == 2);
  CHECK((*plan)[0].path == "/d/reference-gpu-emulated.yaml");
  CHECK((*plan)[0].focus.empty());
  CHECK((*plan)[1].path == "/x/y.yaml");
  CHECK((*plan)[1].focus == "consumable-capacity");
  CHECK_FALSE(sc::ParsePlan("a b c\n", "/d").ok());
  CHECK_FALSE(sc::ParsePlan("a ([\n", "/d").ok());
  CHECK_FALSE(sc::ParsePlan("# nothing\n", "/d").ok());
}

TEST_CASE("selfcheck: the refdriver lists its planted bugs", "[selfcheck]") {
  DRAHIL_REQUIRE_BUILT("drahil-refdriver", t::Bin("drahil-refdriver"));
  auto bugs = sc::ListBugs(t::Bin("drahil-refdriver"));
  REQUIRE_OK(bugs);
  CHECK(bugs->size() >= 20);
  std::set<std::string> names;
  for (const auto& b : *bugs) {
    CHECK_FALSE(b.description.empty());
    names.insert(b.name);
  }
  CHECK(names.count("non-idempotent-prepare") == 1);
  CHECK(names.size() == bugs->size());
  CHECK_FALSE(sc::ListBugs("/nonexistent/drahil-refdriver").ok());
}

TEST_CASE("selfcheck: score 50% from real runs - one bug caught, one not", "[selfcheck][slow]") {
  DRAHIL_REQUIRE_BUILT("drahil-refdriver", t::Bin("drahil-refdriver"));
  drahil::runner::CancelToken cancel;
  std::vector<std::string> lines;
  auto r = sc::Run(SmallOptions({"non-idempotent-prepare", "health-stuck"}), cancel,
                   [&](const std::string& l) { lines.push_back(l); });
  REQUIRE_OK(r);
  INFO(sc::FormatTable(*r));
  // The clean run passes both cases.
  CHECK(r->clean_failures.empty());
  CHECK(r->clean_passed == 2);
  REQUIRE(r->bugs.size() == 2);
  // non-idempotent-prepare is caught by the replay case, and only by it.
  CHECK(r->bugs[0].bug.name == "non-idempotent-prepare");
  REQUIRE(r->bugs[0].caught());
  CHECK(r->bugs[0].failures.size() == 1);
  CHECK(r->bugs[0].failures[0].case_id == "small/small-prepare-replay");
  CHECK(r->bugs[0].failures[0].message.find("idempotent") != std::string::npos);
  // health-stuck needs a health case; this suite has none.
  CHECK(r->bugs[1].bug.name == "health-stuck");
  CHECK_FALSE(r->bugs[1].caught());
  CHECK(r->caught() == 1);
  CHECK(r->planted() == 2);
  CHECK(r->Score() == Approx(50.0));
  CHECK_FALSE(r->Passed());
  CHECK(lines.size() == 3);  // one clean run, two bugs

  std::string table = sc::FormatTable(*r);
  CHECK(table.find("non-idempotent-prepare  small/small-prepare-replay") != std::string::npos);
  CHECK(table.find("health-stuck") != std::string::npos);
  CHECK(table.find("NOT CAUGHT") != std::string::npos);
  CHECK(table.find("Mutation score: 1/2 (50.0%)") != std::string::npos);

  auto report = sc::ToReport(*r);
  REQUIRE(report.suites.size() == 2);
  CHECK(report.suites.back().name == "mutation");
  CHECK(report.suites.back().cases[0].verdict == drahil::reports::Verdict::kPass);
  CHECK(report.suites.back().cases[1].verdict == drahil::reports::Verdict::kFail);
  CHECK(report.suites.back().cases[1].type == "BugNotCaught");
}

TEST_CASE("selfcheck: catch maps parse, and errors name the file and line", "[selfcheck]") {
  auto m =
      sc::ParseCatchMap("# header\nbug-a s/one s/two # why\n\nbug-b  t/three\n", "selfcheck.map");
  REQUIRE_OK(m);
  REQUIRE(m->size() == 2);
  CHECK(m->at("bug-a") == std::vector<std::string>{"s/one", "s/two"});
  CHECK(m->at("bug-b") == std::vector<std::string>{"t/three"});
  auto bad = [](const std::string& text, const std::string& want) {
    auto r = sc::ParseCatchMap(text, "m.map");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == drahil::Code::kInvalidArgument);
    CHECK_THAT(r.status().message(), Catch::Contains(want));
  };
  bad("bug-a\n", "m.map:1: bug bug-a: names no case");
  bad("# c\nbug-a one\n", "m.map:2: bug bug-a: case \"one\" is not suite/id");
  bad("bug-a s/\n", "is not suite/id");
  bad("bug-a s/x/y\n", "is not suite/id");
  bad("bug-a s/x\nbug-a s/y\n", "m.map:2: bug bug-a: named twice");
}

TEST_CASE("selfcheck: the written catch map keeps the quickest catching cases per bug",
          "[selfcheck]") {
  Outcome o;
  o.clean.push_back({"ref-gpu", "", {}});
  sc::BugResult a;
  a.bug = {"bug-a", "a"};
  a.failures = {{"ref-gpu", "s/slow", drahil::reports::Verdict::kFail, "", 9.0},
                {"ref-gpu", "s/quick", drahil::reports::Verdict::kFail, "", 1.0},
                {"ref-fpga", "s/slow", drahil::reports::Verdict::kError, "", 2.0},
                {"ref-gpu", "s/mid", drahil::reports::Verdict::kFail, "", 3.0},
                {"ref-gpu", "s/slowest", drahil::reports::Verdict::kFail, "", 20.0}};
  sc::BugResult missed;
  missed.bug = {"bug-0-missed", "never caught"};
  o.bugs = {a, missed};
  std::string text = sc::WriteCatchMap(o, 3);
  CHECK_THAT(text, Catch::Contains("profiles: ref-gpu"));
  CHECK_THAT(text, Catch::Contains("\nbug-a s/quick s/slow s/mid\n"));
  CHECK_THAT(text, !Catch::Contains("bug-0-missed"));
  auto back = sc::ParseCatchMap(text, "written");
  REQUIRE_OK(back);
  CHECK(back->size() == 1);
}

TEST_CASE("selfcheck: with a catch map a bug runs its mapped cases, and a stale map falls back",
          "[selfcheck][slow]") {
  DRAHIL_REQUIRE_BUILT("drahil-refdriver", t::Bin("drahil-refdriver"));
  drahil::runner::CancelToken cancel;
  auto o = SmallOptions({"non-idempotent-prepare"});

  // The mapped case catches the bug: only it runs.
  o.catch_map = sc::CatchMap{{"non-idempotent-prepare", {"small/small-prepare-replay"}}};
  auto r = sc::Run(o, cancel);
  REQUIRE_OK(r);
  INFO(sc::FormatTable(*r));
  REQUIRE(r->bugs.size() == 1);
  CHECK(r->bugs[0].restricted);
  CHECK(r->bugs[0].cases_run == 1);
  CHECK(r->bugs[0].caught());
  CHECK(r->Passed());
  CHECK(r->map_notes.empty());
  CHECK_THAT(sc::FormatTable(*r),
             Catch::Contains("1 of 1 bugs ran only the cases of the catch map"));

  // A stale entry: the mapped case passes with the bug planted, so every
  // case runs and the verdict is the full run's; the stale entry is a note.
  o.catch_map = sc::CatchMap{{"non-idempotent-prepare", {"small/small-slices"}}};
  r = sc::Run(o, cancel);
  REQUIRE_OK(r);
  INFO(sc::FormatTable(*r));
  CHECK_FALSE(r->bugs[0].restricted);
  CHECK(r->bugs[0].cases_run == 2);
  REQUIRE(r->bugs[0].caught());
  CHECK(r->bugs[0].failures[0].case_id == "small/small-prepare-replay");
  CHECK(r->Passed());
  REQUIRE(r->map_notes.size() == 1);
  CHECK_THAT(r->map_notes[0], Catch::Contains("small/small-slices passed with the bug planted"));

  // The same map checked by a full run: the stale entry fails the selfcheck.
  o.map_mode = sc::MapMode::kVerify;
  r = sc::Run(o, cancel);
  REQUIRE_OK(r);
  INFO(sc::FormatTable(*r));
  CHECK_FALSE(r->bugs[0].restricted);
  CHECK(r->bugs[0].caught());
  REQUIRE(r->map_errors.size() == 1);
  CHECK_FALSE(r->Passed());
  auto report = sc::ToReport(*r);
  CHECK(report.suites.back().cases.back().type == "StaleCatchMap");

  // A map whose cases are not in the suites: every case runs.
  o.map_mode = sc::MapMode::kRestrict;
  o.catch_map = sc::CatchMap{{"non-idempotent-prepare", {"catalog/elsewhere"}}};
  r = sc::Run(o, cancel);
  REQUIRE_OK(r);
  CHECK_FALSE(r->bugs[0].restricted);
  CHECK(r->bugs[0].cases_run == 2);
  CHECK(r->Passed());
}

TEST_CASE("selfcheck: bad input is an error, not a score", "[selfcheck]") {
  DRAHIL_REQUIRE_BUILT("drahil-refdriver", t::Bin("drahil-refdriver"));
  drahil::runner::CancelToken cancel;
  auto unknown = sc::Run(SmallOptions({"no-such-bug"}), cancel);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().code() == drahil::Code::kInvalidArgument);
  CHECK(unknown.status().message().find("no-such-bug") != std::string::npos);

  auto o = SmallOptions({"cdi-leak"});
  o.profiles = {{t::SourceDir() + "/suites/drivers/example-go-driver.yaml", ""}};
  auto foreign = sc::Run(o, cancel);
  REQUIRE_FALSE(foreign.ok());
  CHECK(foreign.status().message().find("drahil-refdriver") != std::string::npos);

  o = SmallOptions({});
  o.suites = {"/nonexistent/suite.yaml"};
  CHECK_FALSE(sc::Run(o, cancel).ok());
}

TEST_CASE("selfcheck: drahil selfcheck exits 1 below 100% and 0 at 100%", "[selfcheck][slow]") {
  DRAHIL_REQUIRE_BUILT("drahil-refdriver", t::Bin("drahil-refdriver"));
  DRAHIL_REQUIRE_BUILT("drahil", t::Bin("drahil"));
  auto dir = drahil::TempDir::Create("selfcheck-test-");
  REQUIRE_OK(dir);
  auto below = drahil::RunCommand(
      {t::Bin("drahil"), "selfcheck", "--suite", SmallSuite(), "--driver", GpuProfile(), "--bugs",
       "non-idempotent-prepare,health-stuck", "--junit", dir->path() + "/j.xml"},
      std::chrono::seconds(120));
  REQUIRE_OK(below);
  INFO(below->output);
  CHECK(below->exit.exit_code == 1);
  CHECK(below->output.find("Mutation score: 1/2 (50.0%)") != std::string::npos);
  auto junit = drahil::ReadFile(dir->path() + "/j.xml");
  REQUIRE_OK(junit);
  CHECK(junit->find("BugNotCaught") != std::string::npos);

  auto full = drahil::RunCommand({t::Bin("drahil"), "selfcheck", "--suite", SmallSuite(),
                                  "--driver", GpuProfile(), "--bugs", "non-idempotent-prepare"},
                                 std::chrono::seconds(120));
  REQUIRE_OK(full);
  INFO(full->output);
  CHECK(full->exit.exit_code == 0);
  CHECK(full->output.find("Mutation score: 1/1 (100.0%)") != std::string::npos);

  auto usage = drahil::RunCommand({t::Bin("drahil"), "selfcheck", "--suite", SmallSuite(),
                                   "--driver", GpuProfile(), "--bugs", "no-such-bug"},
                                  std::chrono::seconds(30));
  REQUIRE_OK(usage);
  CHECK(usage->exit.exit_code == 2);

  // A catch map that does not parse, or is missing, is a usage error naming it.
  REQUIRE_OK(drahil::AtomicWriteFile(dir->path() + "/bad.map", "non-idempotent-prepare\n"));
  auto bad_map = drahil::RunCommand({t::Bin("drahil"), "selfcheck", "--suite", SmallSuite(),
                                     "--driver", GpuProfile(), "--map", dir->path() + "/bad.map"},
                                    std::chrono::seconds(30));
  REQUIRE_OK(bad_map);
  CHECK(bad_map->exit.exit_code == 2);
  CHECK_THAT(bad_map->output,
             Catch::Contains("bad.map:1: bug non-idempotent-prepare: names no case"));
  auto no_map = drahil::RunCommand({t::Bin("drahil"), "selfcheck", "--suite", SmallSuite(),
                                    "--driver", GpuProfile(), "--map", dir->path() + "/none.map"},
                                   std::chrono::seconds(30));
  REQUIRE_OK(no_map);
  CHECK(no_map->exit.exit_code == 2);
  CHECK_THAT(no_map->output, Catch::Contains("none.map"));
  // --write-map needs a complete --full run.
  auto partial = drahil::RunCommand(
      {t::Bin("drahil"), "selfcheck", "--suite", SmallSuite(), "--driver", GpuProfile(), "--bugs",
       "non-idempotent-prepare", "--write-map", dir->path() + "/out.map"},
      std::chrono::seconds(120));
  REQUIRE_OK(partial);
  CHECK(partial->exit.exit_code == 2);
  CHECK_THAT(partial->output, Catch::Contains("complete --full run"));
  CHECK_FALSE(drahil::PathExists(dir->path() + "/out.map"));
  auto written = drahil::RunCommand(
      {t::Bin("drahil"), "selfcheck", "--suite", SmallSuite(), "--driver", GpuProfile(), "--bugs",
       "non-idempotent-prepare", "--full", "--write-map", dir->path() + "/out.map"},
      std::chrono::seconds(120));
  REQUIRE_OK(written);
  INFO(written->output);
  CHECK(written->exit.exit_code == 0);
  auto map = drahil::ReadFile(dir->path() + "/out.map");
  REQUIRE_OK(map);
  CHECK_THAT(*map, Catch::Contains("\nnon-idempotent-prepare small/small-prepare-replay\n"));
}

TEST_CASE("selfcheck: every catalog case is documented in docs/catalog.md",
          "[selfcheck][catalog]") {
  auto suites = drahil::runner::LoadSuites({t::SourceDir() + "/suites"});
  REQUIRE_OK(suites);
  auto doc = drahil::ReadFile(t::SourceDir() + "/docs/catalog.md");
  REQUIRE_OK(doc);
  int cases = 0;
  for (const auto& s : *suites) {
    for (const auto& c : s.cases) {
      ++cases;
      INFO(s.file << ": case " << c.id);
      CHECK(doc->find("`" + c.id + "`") != std::string::npos);
      CHECK_FALSE(c.rationale.empty());
      CHECK_FALSE(c.tags.empty());
    }
  }
  CHECK(cases >= 80);
}
