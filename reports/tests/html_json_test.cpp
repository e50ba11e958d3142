#include <pugixml.hpp>
#include <regex>

#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/reports/writers.hpp"
#include "drahil/testing/testing.hpp"
#include "sample_report.hpp"

using namespace drahil::reports;

TEST_CASE("JSON report: round-trips every measurement, call and attempt", "[reports][json]") {
  RunReport r = testing::SampleReport();
  r.partial = true;
  r.interruption = "SIGTERM";
  r.suites[0].cases[1].attempts = {{Verdict::kPass, "", 0.1}, {Verdict::kFail, "boom", 0.2}};
  r.suites[0].cases[1].flaky = true;
  r.suites[0].cases[1].driver_log = "I1203 prepare claim-a\n";
  std::string text = RenderJson(r);
  auto back = ParseJsonReport(text);
  REQUIRE_OK(back);
  CHECK(back->driver_name == r.driver_name);
  CHECK(back->partial);
  CHECK(back->interruption == "SIGTERM");
  CHECK(back->started == r.started);
  REQUIRE(back->suites.size() == 2);
  const auto& c0 = back->suites[0].cases[0];
  REQUIRE(c0.measurements.size() == 3);
  CHECK(c0.measurements[1].name == "probe_bandwidth");
  CHECK(c0.measurements[1].value == 410.5);
  CHECK(c0.measurements[1].labels == Properties{{"copy", "d2d"}});
  CHECK(c0.calls.size() == 2);
  CHECK(back->suites[0].cases[1].attempts.size() == 2);
  CHECK(back->suites[0].cases[1].flaky);
  CHECK(back->suites[0].cases[1].driver_log == "I1203 prepare claim-a\n");
  CHECK(back->suites[0].cases[2].verdict == Verdict::kError);
  // Invalid UTF-8 from a driver does not break the JSON.
  CHECK(RenderJson(*back) == RenderJson(*ParseJsonReport(RenderJson(*back))));
  CHECK_FALSE(ParseJsonReport("{\"schema\":\"other\"}").ok());
  CHECK_FALSE(ParseJsonReport("not json").ok());
}

TEST_CASE("Reports: the run's seed is in every format, exact past 2^53", "[reports][seed]") {
  RunReport r = testing::SampleReport();
  r.seed = 18446744073709551557ull;  // a double would read it as ...1616
  auto back = ParseJsonReport(RenderJson(r));
  REQUIRE_OK(back);
  REQUIRE(back->seed.has_value());
  CHECK(*back->seed == 18446744073709551557ull);
  CHECK(RenderJson(r).find("\"seed\": \"18446744073709551557\"") != std::string::npos);
  CHECK(RenderJUnit(r).find("<property name=\"seed\" value=\"18446744073709551557\"") !=
        std::string::npos);
  CHECK(RenderHtml(r).find("--seed 18446744073709551557") != std::string::npos);
  // No seed: the pool order was fixed; the JSON says null and reads back unset.
  r.seed.reset();
  back = ParseJsonReport(RenderJson(r));
  REQUIRE_OK(back);
  CHECK_FALSE(back->seed.has_value());
  CHECK(RenderJUnit(r).find("name=\"seed\"") == std::string::npos);
  CHECK(RenderHtml(r).find("none (fixed pool order)") != std::string::npos);
  // A seed that is not a decimal number is refused, by name.
  std::string text = RenderJson(r);
  auto at = text.find("\"seed\": null");
  REQUIRE(at != std::string::npos);
  text.replace(at, 12, "\"seed\": \"-3\"");
  auto bad = ParseJsonReport(text);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("seed") != std::string::npos);
}

TEST_CASE("WriteReports: writes all three atomically and creates directories", "[reports]") {
  auto dir = drahil::TempDir::Create("drahil-reports-");
  REQUIRE_OK(dir);
  WriteOptions w;
  w.junit = dir->Join("a/b/junit.xml");
  w.json = dir->Join("a/report.json");
  w.html = dir->Join("report.html");
  REQUIRE_OK(WriteReports(testing::SampleReport(), w));
  for (const auto& p : {w.junit, w.json, w.html}) {
    auto text = drahil::ReadFile(p);
    REQUIRE_OK(text);
    CHECK(text->size() > 100);
  }
  auto names = drahil::ListDir(dir->Join("a/b"));
  REQUIRE_OK(names);
  CHECK(*names == std::vector<std::string>{"junit.xml"});  // no temporary left behind
  // A path that cannot be written names itself; the other files are still written.
  REQUIRE_OK(drahil::AtomicWriteFile(dir->Join("file"), "x"));
  w.junit = dir->Join("file/sub/junit.xml");
  w.html = dir->Join("second.html");
  auto st = WriteReports(testing::SampleReport(), w);
  CHECK_FALSE(st.ok());
  CHECK(st.message().find("file/sub/junit.xml") != std::string::npos);
  CHECK(drahil::PathExists(w.html));
}
