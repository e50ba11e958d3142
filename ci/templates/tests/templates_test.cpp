// The CI templates a vendor copies (ci/templates), checked with the CI
// systems' own tools, and drahil's JUnit read by an independent consumer:
// - GitHub's workflow parser (@actions/workflow-parser) accepts
//   github-actions.yml;
// - gitlab-ci-local runs gitlab-ci.yml's job with the built drahil on the
//   emulated node: it passes and keeps the JUnit, and fails when a case fails;
// - xunit-viewer counts a real run's JUnit as drahil does.
// The npm tools come from ci/install-npm-tools.sh; without them (or node) the
// cases skip with the reason.
#include <pugixml.hpp>

#include "drahil/core/child_process.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/reports/writers.hpp"
#include "drahil/testing/testing.hpp"

using namespace std::chrono_literals;

namespace {

std::string NpmTools() {
  const char* env = std::getenv("DRAHIL_NPM_TOOLS");
  if (env != nullptr && *env != '\0') return env;
  return DRAHIL_NPM_TOOLS_DEFAULT;
}

// NpmToolMissing(): why a case needing the npm package `pkg` cannot run, or "".
std::string NpmToolMissing(const std::string& pkg) {
  if (drahil::testing::FindOnPath("node").empty()) return "node not on PATH (Node.js)";
  std::string dir = NpmTools() + "/" + pkg;
  if (!drahil::PathExists(dir + "/package.json"))
    return pkg + " not installed in " + NpmTools() +
           " (run ci/install-npm-tools.sh, or set DRAHIL_NPM_TOOLS)";
  return "";
}

std::string Source(const std::string& rel) { return drahil::testing::SourceDir() + "/" + rel; }

drahil::CommandOutput Run(std::vector<std::string> argv, std::chrono::milliseconds timeout,
                          const std::map<std::string, std::string>& env = {}) {
  auto r = drahil::RunCommand(argv, timeout, env);
  INFO(argv[0] << ": " << r.status().ToString());
  REQUIRE(r.ok());
  return *r;
}

drahil::CommandOutput Node(std::vector<std::string> args) {
  args.insert(args.begin(), drahil::testing::FindOnPath("node"));
  return Run(args, 60s);
}

// The outputs a `drahil run` on the emulated node needs; skips a build that
// leaves them out (DRAHIL_MODULES).
#define REQUIRE_DRAHIL_BUILT()                                                                \
  do {                                                                                        \
    DRAHIL_REQUIRE_BUILT("drahil", drahil::testing::Bin("drahil"));                           \
    DRAHIL_REQUIRE_BUILT("drahil-refdriver", drahil::testing::Bin("drahil-refdriver"));       \
    DRAHIL_REQUIRE_BUILT("drahil-fakenode", drahil::testing::Bin("drahil-fakenode"));         \
    DRAHIL_REQUIRE_BUILT("drahil_fake_nvml",                                                  \
                         drahil::testing::LibDir() + "/fake-nvml/libnvidia-ml.so.1");         \
    DRAHIL_REQUIRE_BUILT("drahil-sandbox-init", drahil::testing::Bin("drahil-sandbox-init")); \
  } while (0)

// A driver that exits at once: every case that needs it fails (Registration).
const char* kIdleProfile =
    "spec: drahil.driver/v1\nname: idle\ndriver: idle.example.com\nversion: \"1.2\"\n"
    "command: /bin/true\nprobe: {backend: emulated}\ntimeouts: {registration: 2s}\n";

struct Dir {
  drahil::TempDir dir = std::move(drahil::TempDir::Create("drahil-ci-templates-").value());
  std::string Write(const std::string& name, const std::string& text) {
    std::string p = dir.Join(name);
    REQUIRE_OK(drahil::AtomicWriteFile(p, text));
    return p;
  }
};

}  // namespace

TEST_CASE("github-actions.yml: GitHub's workflow parser accepts it", "[ci][templates][github]") {
  std::string missing = NpmToolMissing("@actions/workflow-parser");
  if (!missing.empty()) DRAHIL_SKIP(missing);
  std::string script = Source("ci/templates/tests/parse-workflow.mjs");
  std::string workflow = Source("ci/templates/github-actions.yml");
  auto ok = Node({script, NpmTools(), workflow});
  INFO(ok.output);
  CHECK(ok.exit.exit_code == 0);
  CHECK(ok.output.find("ok: jobs: drahil") != std::string::npos);

  // The parser does judge: a copy with a misspelt key and a bad expression is refused.
  auto text = drahil::ReadFile(workflow);
  REQUIRE_OK(text);
  std::string broken = *text;
  auto at = broken.find("    runs-on:");
  REQUIRE(at != std::string::npos);
  broken.replace(at, 12, "    runs_on:");
  Dir d;
  auto bad = Node({script, NpmTools(), d.Write("broken.yml", broken)});
  INFO(bad.output);
  CHECK(bad.exit.exit_code == 1);
  CHECK(bad.output.find("runs_on") != std::string::npos);
}

TEST_CASE(
    "gitlab-ci.yml: gitlab-ci-local runs the job on the emulated node, and fails it when a case "
    "fails",
    "[ci][templates][gitlab][slow]") {
  std::string missing = NpmToolMissing("gitlab-ci-local");
  if (!missing.empty()) DRAHIL_SKIP(missing);
  for (const char* tool : {"git", "rsync"}) {
    if (drahil::testing::FindOnPath(tool).empty())
      DRAHIL_SKIP(std::string(tool) + " not on PATH (gitlab-ci-local needs it)");
  }
  REQUIRE_DRAHIL_BUILT();
  Dir d;
  // gitlab-ci-local runs jobs from a git checkout.
  auto text = drahil::ReadFile(Source("ci/templates/gitlab-ci.yml"));
  REQUIRE_OK(text);
  d.Write(".gitlab-ci.yml", *text);
  std::string idle = d.Write("idle.yaml", kIdleProfile);
  std::string git = drahil::testing::FindOnPath("git");
  for (std::vector<std::string> g :
       {std::vector<std::string>{"init", "-q"},
        {"add", ".gitlab-ci.yml"},
        {"-c", "user.name=drahil", "-c", "user.email=drahil@localhost", "commit", "-qm", "ci"}}) {
    g.insert(g.begin(), {git, "-C", d.dir.path()});
    auto r = Run(g, 30s);
    INFO(r.output);
    REQUIRE(r.exit.success());
  }

  // The built drahil instead of the .deb: the install step is skipped and
  // build/bin comes first on PATH.
  const std::map<std::string, std::string> env = {
      {"PATH", drahil::testing::BinDir() + ":" + std::getenv("PATH")}, {"HOME", d.dir.path()}};
  auto job = [&](const std::string& profile) {
    REQUIRE(drahil::RemoveAll(d.dir.Join(".gitlab-ci-local/artifacts")).ok());
    // It wants to be started in the checkout (--cwd takes relative paths only).
    return Run({"/usr/bin/env", "-C", d.dir.path(), NpmTools() + "/.bin/gitlab-ci-local",
                "drahil-emulated", "--force-shell-executor", "--no-color", "--variable",
                "DRAHIL_SKIP_INSTALL=true", "--variable", "DRAHIL_PROFILE=" + profile, "--variable",
                "DRAHIL_ARGS=--focus reg-getinfo-v1"},
               150s, env);
  };
  std::string junit = d.dir.Join(".gitlab-ci-local/artifacts/drahil-emulated/out/junit.xml");

  auto pass = job("reference-gpu-emulated");
  {
    INFO(pass.output);
    CHECK(pass.exit.exit_code == 0);
    CHECK(pass.output.find("PASS registration/reg-getinfo-v1") != std::string::npos);
    CHECK(pass.output.find("PASS  drahil-emulated") != std::string::npos);
    auto xml = drahil::ReadFile(junit);
    REQUIRE_OK(xml);
    CHECK(xml->find("name=\"reg-getinfo-v1\"") != std::string::npos);
    CHECK(xml->find("<failure") == std::string::npos);
  }

  auto fail = job(idle);
  INFO(fail.output);
  CHECK(fail.exit.exit_code != 0);
  CHECK(fail.output.find("FAIL registration/reg-getinfo-v1") != std::string::npos);
  CHECK(fail.output.find("drahil: a case failed or errored") != std::string::npos);
  CHECK(fail.output.find("FAIL  drahil-emulated") != std::string::npos);
  auto xml = drahil::ReadFile(junit);  // artifacts: when: always
  REQUIRE_OK(xml);
  CHECK(xml->find("<failure") != std::string::npos);
}

TEST_CASE(
    "JUnit: xunit-viewer counts a real run's tests, failures, errors and skips as drahil does",
    "[ci][templates][junit]") {
  std::string missing = NpmToolMissing("xunit-viewer");
  if (!missing.empty()) DRAHIL_SKIP(missing);
  REQUIRE_DRAHIL_BUILT();
  Dir d;
  std::string prof = d.Write("idle.yaml", kIdleProfile);
  std::string suite =
      d.Write("mixed.yaml",
              "spec: drahil.suite/v1\nname: mixed\ncases:\n"
              "  - {id: passes, title: t, tags: [kep-4381], steps: [wait: 10ms]}\n"
              "  - {id: fails, title: t, tags: [kep-4381], steps: [{prepare: {claims: [a/b]}}]}\n"
              "  - {id: skips, title: t, tags: [kep-4381], requires: {probe-backends: [cuda]},\n"
              "     steps: [wait: 10ms]}\n"
              "  - {id: errs, title: t, tags: [kep-4680], steps: [{wait: 5s, timeout: 100ms}]}\n");
  auto run = Run({drahil::testing::Bin("drahil"), "run", "--driver", prof, "--suite", suite,
                  "--out", d.dir.Join("out"), "--progress", "none"},
                 60s);
  INFO(run.output);
  CHECK(run.exit.exit_code == 1);
  auto report = drahil::reports::ParseJsonReport(
      drahil::ReadFile(d.dir.Join("out/report.json")).value_or(""));
  REQUIRE_OK(report);
  auto c = drahil::reports::CountRun(*report);
  // The suite has one case of each verdict; a run that lost one would make
  // the comparison below vacuous.
  REQUIRE(c.tests == 4);
  REQUIRE(c.passed == 1);
  REQUIRE(c.failures == 1);
  REQUIRE(c.errors == 1);
  REQUIRE(c.skipped == 1);
  std::string junit = d.dir.Join("out/junit.xml");

  // drahil's own counts in the JUnit attributes.
  pugi::xml_document doc;
  REQUIRE(doc.load_file(junit.c_str()));
  int tests = 0, failures = 0, errors = 0, skipped = 0;
  for (auto ts : doc.child("testsuites").children("testsuite")) {
    tests += ts.attribute("tests").as_int();
    failures += ts.attribute("failures").as_int();
    errors += ts.attribute("errors").as_int();
    skipped += ts.attribute("skipped").as_int();
  }
  CHECK(tests == c.tests);
  CHECK(failures == c.failures);
  CHECK(errors == c.errors);
  CHECK(skipped == c.skipped);

  // The consumer counts the elements it finds.
  auto viewer = Node({Source("ci/templates/tests/junit-counts.mjs"), NpmTools(), junit});
  INFO(viewer.output);
  CHECK(viewer.exit.exit_code == 0);
  std::string expected =
      "tests=" + std::to_string(c.tests) + " failures=" + std::to_string(c.failures) +
      " errors=" + std::to_string(c.errors) + " skipped=" + std::to_string(c.skipped) +
      " passed=" + std::to_string(c.passed) + "\n";
  CHECK(viewer.output.find(expected) != std::string::npos);
}
