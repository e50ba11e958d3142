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
  CHECK(back->suites[0].cases[2].verdict == Verdict::kError);
  // Invalid UTF-8 from a driver does not break the JSON.
  CHECK(RenderJson(*back) == RenderJson(*ParseJsonReport(RenderJson(*back))));
  CHECK_FALSE(ParseJsonReport("{\"schema\":\"other\"}").ok());
  CHECK_FALSE(ParseJsonReport("not json").ok());
}

TEST_CASE("HTML report: well-formed, self-contained, with both charts", "[reports][html]") {
  std::string html = RenderHtml(testing::SampleReport());
  pugi::xml_document doc;
  auto parsed = doc.load_string(html.c_str(), pugi::parse_default | pugi::parse_doctype);
  INFO(parsed.description() << " at offset " << parsed.offset);
  REQUIRE(parsed);
  auto lat = doc.find_node([](pugi::xml_node n) {
    return std::string(n.name()) == "svg" &&
           std::string(n.attribute("id").value()) == "chart-prepare-latency";
  });
  auto bw = doc.find_node([](pugi::xml_node n) {
    return std::string(n.name()) == "svg" &&
           std::string(n.attribute("id").value()) == "chart-probe-bandwidth";
  });
  REQUIRE(lat);
  REQUIRE(bw);
  int lat_bars = 0, bw_bars = 0;
  for (auto n : lat.children("rect")) lat_bars += n ? 1 : 0;
  for (auto n : bw.children("rect")) bw_bars += n ? 1 : 0;
  CHECK(lat_bars == 10);  // ten histogram bins
  CHECK(bw_bars == 2);    // GPU-0 and GPU-1
  CHECK(html.find("GPU-1") != std::string::npos);
  // Self-contained: no scripts, no external resources.
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find(" src=") == std::string::npos);
  CHECK(html.find(" href=") == std::string::npos);
  CHECK(html.find("@import") == std::string::npos);
  // Failures section shows the driver's calls; the matrix shows features.
  CHECK(html.find("drahil-probe-gpu --list -&gt; exit 1") != std::string::npos);
  CHECK(html.find("id=\"feature-matrix\"") != std::string::npos);
  CHECK(html.find("kep-4680") != std::string::npos);
  CHECK(html.find("weird &lt;&amp;&gt;") != std::string::npos);
}

TEST_CASE("HTML report: charts say so when a run has no data", "[reports][html]") {
  RunReport r;
  r.driver_name = "x";
  std::string html = RenderHtml(r);
  pugi::xml_document doc;
  REQUIRE(doc.load_string(html.c_str(), pugi::parse_default | pugi::parse_doctype));
  CHECK(html.find("no data in this run") != std::string::npos);
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
