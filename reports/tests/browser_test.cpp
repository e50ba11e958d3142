// The HTML report in a real browser: headless Chromium (Debian package
// `chromium`) loads a report with many cases and must run its script without a
// console message, show every case, filter them from the URL's fragment, and
// draw it (a PNG screenshot kept in the build dir as a test artifact:
// build/test-artifacts/html-report/report.png).
//
// DRAHIL_BROWSER_REPORT_JSON=out/report.json renders that report instead of
// the built-in model (how docs/images/report.png was made).
#include <cstdlib>
#include <regex>

#include "drahil/core/child_process.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/reports/writers.hpp"
#include "drahil/testing/testing.hpp"
#include "sample_report.hpp"

using namespace drahil::reports;
namespace dt = drahil::testing;

namespace {

constexpr const char* kFeatures[] = {"kep-4381", "kep-4815", "kep-4680", "kep-5018", "isolation"};

CaseResult GeneratedCase(int i) {
  CaseResult c;
  c.id = "generated-" + std::to_string(i);
  c.title = "Generated case " + std::to_string(i);
  c.feature = kFeatures[i % 5];
  c.verdict = i % 11 == 0 ? Verdict::kFail : i % 7 == 0 ? Verdict::kSkip : Verdict::kPass;
  if (c.verdict == Verdict::kFail) c.message = "driver returned <b>UNAVAILABLE</b> & gave up";
  if (c.verdict == Verdict::kSkip) c.message = "needs 2 GPUs; the node has 1";
  c.duration_s = 0.5 + i % 9 * 0.3;
  double t = 0;
  for (int k = 0; k < 6; ++k) {
    double ms = 0.3 * (1 << (k + i % 4));
    t += ms / 1000 + 0.05;
    c.calls.push_back({t, "grpc", "v1.DRAPlugin/NodePrepareResources", "OK", ms, "claims=1"});
    c.calls.push_back({t + 0.01, "api", "create ResourceClaim ns/c" + std::to_string(k), "OK",
                       0.02 * (k + 1), ""});
  }
  c.calls.push_back({t + 0.2, "probe", "ns/pod/probe: drahil-probe-gpu", "exit code 0", 110,
                     "[pass] enumerate: 1 runtime device(s)\n"});
  c.calls.push_back({t + 0.25, "step", "run-pod", c.verdict == Verdict::kFail ? "fail" : "pass",
                     150, "suites/prepare.yaml:40:5"});
  c.measurements.push_back(
      {"probe.enumerate.runtime_devices", 1, "count", "GPU-" + std::to_string(i % 3), {}});
  c.driver_log = "I1203 12:00:00 driver.go:42] prepared claim c" + std::to_string(i) + "\n";
  return c;
}

RunReport ManyCases(int n) {
  RunReport r = drahil::reports::testing::SampleReport();
  SuiteResult s;
  s.name = "generated";
  s.timestamp = r.started;
  for (int i = 0; i < n; ++i) s.cases.push_back(GeneratedCase(i));
  r.suites.push_back(s);
  return r;
}

struct Browser {
  std::string dom, log;
};

// RunChromium(): headless Chromium on url with extra flags; its stdout (the
// DOM for --dump-dom) and its log (stderr, where console messages land).
Browser RunChromium(const std::string& chromium, const std::string& dir,
                    std::vector<std::string> extra, const std::string& url) {
  std::vector<std::string> argv = {chromium,         "--headless",
                                   "--disable-gpu",  "--no-sandbox",
                                   "--no-first-run", "--enable-logging=stderr",
                                   "--v=0",          "--user-data-dir=" + dir + "/profile"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(url);
  auto child = dt::SpawnLogged(argv, dir + "/stdout", dir + "/stderr");
  REQUIRE_OK(child);
  auto exit = child->Wait(std::chrono::seconds(90));
  if (!exit.ok()) child->Kill();
  REQUIRE_OK(exit);
  Browser b{drahil::ReadFile(dir + "/stdout").value_or(""),
            drahil::ReadFile(dir + "/stderr").value_or("")};
  INFO(b.log);
  CHECK(exit->success());
  return b;
}

// ConsoleLines(): the console messages and uncaught errors in Chromium's log.
std::string ConsoleLines(const std::string& log) {
  std::string out;
  static const std::regex kLine(R"([^\n]*(:CONSOLE|Uncaught)[^\n]*)");
  for (std::sregex_iterator it(log.begin(), log.end(), kLine), end; it != end; ++it)
    out += it->str() + "\n";
  return out;
}

size_t Count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("Chromium: the report runs without console errors, shows and filters every case",
          "[reports][browser]") {
  std::string chromium = dt::FindOnPath("chromium");
  if (chromium.empty())
    DRAHIL_SKIP("chromium not on PATH (Debian package chromium; ci/install-deps.sh installs it)");
  auto tmp = drahil::TempDir::Create("drahil-browser-");
  REQUIRE_OK(tmp);

  // The check itself: a page whose script throws must show up in the log.
  REQUIRE_OK(drahil::AtomicWriteFile(tmp->Join("bad.html"),
                                     "<!DOCTYPE html><html><body><script>noSuchFunction();"
                                     "</script></body></html>"));
  Browser bad =
      RunChromium(chromium, tmp->path(), {"--dump-dom"}, "file://" + tmp->Join("bad.html"));
  CHECK(ConsoleLines(bad.log).find("Uncaught ReferenceError") != std::string::npos);

  RunReport run = ManyCases(160);
  if (const char* json = std::getenv("DRAHIL_BROWSER_REPORT_JSON")) {
    auto text = drahil::ReadFile(json);
    REQUIRE_OK(text);
    auto parsed = ParseJsonReport(*text);
    REQUIRE_OK(parsed);
    run = *parsed;
  }
  Counts counts = CountRun(run);
  std::string artifacts = dt::BinDir() + "/../test-artifacts/html-report";
  REQUIRE_OK(drahil::MakeDirs(artifacts));
  WriteOptions w;
  w.html = artifacts + "/report.html";
  REQUIRE_OK(WriteReports(run, w));
  std::string url = "file://" + w.html;

  // Unfiltered: the script ran (it wrote the count) and every case is there.
  Browser all = RunChromium(chromium, tmp->path(), {"--dump-dom"}, url);
  CHECK(ConsoleLines(all.log).empty());
  REQUIRE(all.dom.find("id=\"case-list\"") != std::string::npos);
  CHECK(Count(all.dom, "<details class=\"case") == static_cast<size_t>(counts.tests));
  for (int i = 0; i < counts.tests; ++i)
    CHECK(all.dom.find("id=\"case-" + std::to_string(i) + "\"") != std::string::npos);
  std::string total = std::to_string(counts.tests);
  CHECK(all.dom.find(">" + total + " of " + total + " cases shown<") != std::string::npos);
  CHECK(all.dom.find("getElementById('f-verdict')") != std::string::npos);

  // Filtered from the fragment: only the failures stay visible.
  Browser failed = RunChromium(chromium, tmp->path(), {"--dump-dom"}, url + "#verdict=fail");
  CHECK(ConsoleLines(failed.log).empty());
  CHECK(failed.dom.find(">" + std::to_string(counts.failures) + " of " + total + " cases shown<") !=
        std::string::npos);
  CHECK(Count(failed.dom, "<details class=\"case") - Count(failed.dom, " hidden=\"\"") ==
        static_cast<size_t>(counts.failures));

  // A screenshot, kept as the test's artifact.
  std::string png = artifacts + "/report.png";
  std::remove(png.c_str());
  Browser shot =
      RunChromium(chromium, tmp->path(),
                  {"--hide-scrollbars", "--window-size=1280,1600", "--screenshot=" + png}, url);
  CHECK(ConsoleLines(shot.log).empty());
  auto image = drahil::ReadFile(png);
  REQUIRE_OK(image);
  CHECK(image->size() > 20000);
  CHECK(image->compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
}
