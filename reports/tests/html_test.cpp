// The HTML report: structure, escaping of hostile text and the latency
// buckets. The browser test (browser_test.cpp) runs the page in Chromium.
#include "drahil/reports/html.hpp"

#include <pugixml.hpp>

#include "drahil/reports/writers.hpp"
#include "drahil/testing/testing.hpp"
#include "sample_report.hpp"

using namespace drahil::reports;

namespace {

pugi::xml_node ById(const pugi::xml_document& doc, const std::string& id) {
  return doc.find_node([&](pugi::xml_node n) { return id == n.attribute("id").value(); });
}

int CountNodes(pugi::xml_node root, const std::string& name, const std::string& cls) {
  int n = 0;
  for (auto x : root.select_nodes((".//*[local-name()='" + name + "']").c_str())) {
    std::string c = x.node().attribute("class").value();
    if (cls.empty() || (" " + c + " ").find(" " + cls + " ") != std::string::npos) ++n;
  }
  return n;
}

size_t Occurrences(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

void Parse(const std::string& html, pugi::xml_document& doc) {
  auto parsed = doc.load_string(html.c_str(), pugi::parse_default | pugi::parse_doctype);
  INFO(parsed.description() << " at offset " << parsed.offset);
  REQUIRE(parsed);
}

}  // namespace

TEST_CASE("LogBucketEdge/LogBucketIndex: the 1-2-5 series, exact at edges", "[reports][html]") {
  CHECK(LogBucketEdge(0) == 1);
  CHECK(LogBucketEdge(1) == 2);
  CHECK(LogBucketEdge(2) == 5);
  CHECK(LogBucketEdge(3) == 10);
  CHECK(LogBucketEdge(-1) == Approx(0.5));
  CHECK(LogBucketEdge(-3) == Approx(0.1));
  CHECK(LogBucketEdge(9) == Approx(1000));
  CHECK(LogBucketIndex(1) == 0);
  CHECK(LogBucketIndex(1.999) == 0);
  CHECK(LogBucketIndex(2) == 1);
  CHECK(LogBucketIndex(4.99) == 1);
  CHECK(LogBucketIndex(5) == 2);
  CHECK(LogBucketIndex(10) == 3);
  CHECK(LogBucketIndex(0.3) == -2);  // [0.2, 0.5)
  CHECK(LogBucketIndex(0.1) == -3);
  CHECK(LogBucketIndex(1000) == 9);
  CHECK(LogBucketIndex(1400) == 9);
  for (int i = -15; i < 20; ++i) {
    INFO(i);
    CHECK(LogBucketIndex(LogBucketEdge(i)) == i);
    CHECK(LogBucketIndex(LogBucketEdge(i) * 1.0001) == i);
    CHECK(LogBucketIndex(LogBucketEdge(i + 1) * 0.9999) == i);
  }
}

TEST_CASE("LogHistogram: contiguous buckets from the smallest to the largest value",
          "[reports][html]") {
  CHECK(LogHistogram({}).empty());
  // 0.3 ms .. 1.4 s: the old linear histogram put all but one in its first bar.
  auto b = LogHistogram({0.3, 0.4, 3, 3.5, 12, 1400});
  REQUIRE(b.size() == 12);  // [0.2,0.5) .. [1000,2000)
  CHECK(b.front().lo == Approx(0.2));
  CHECK(b.front().hi == Approx(0.5));
  CHECK(b.front().count == 2);
  CHECK(b[3].lo == Approx(2));
  CHECK(b[3].count == 2);
  CHECK(b[4].count == 0);  // [5,10) stays, empty
  CHECK(b[5].count == 1);  // [10,20)
  CHECK(b.back().lo == Approx(1000));
  CHECK(b.back().count == 1);
  int total = 0;
  for (const auto& x : b) total += x.count;
  CHECK(total == 6);
  for (size_t i = 1; i < b.size(); ++i) CHECK(b[i].lo == b[i - 1].hi);
  // Zero, negative and NaN values count in the floor's bucket.
  auto z = LogHistogram({0, -1, 0.0005, 1}, 1e-3);
  CHECK(z.front().lo == Approx(1e-3));
  CHECK(z.front().count == 3);
  CHECK(LogHistogram({7}).size() == 1);
}

TEST_CASE("Percentile, FormatMs and FeatureLabel", "[reports][html]") {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  CHECK(Percentile(v, 50) == 50);
  CHECK(Percentile(v, 99) == 99);
  CHECK(Percentile(v, 100) == 100);
  CHECK(Percentile({}, 50) == 0);
  CHECK(Percentile({4}, 90) == 4);
  CHECK(FormatMs(0.85) == "850 \xC2\xB5s");
  CHECK(FormatMs(12.5) == "12.5 ms");
  CHECK(FormatMs(1400) == "1.4 s");
  CHECK(FeatureLabel("kep-4381") == "KEP-4381 Structured parameters (DRA core)");
  CHECK(FeatureLabel("kep-9999") == "KEP-9999");
  CHECK(FeatureLabel("isolation") == "isolation");
}

TEST_CASE("HTML report: well-formed, self-contained, certification first, every case",
          "[reports][html]") {
  RunReport r = testing::SampleReport();
  r.claimed = {"structured-parameters"};
  r.suites[0].cases[1].driver_log = "I1203 driver: prepared GPU-1 for claim a\n";
  r.suites[0].cases[1].calls.push_back({0.2, "step", "run-pod", "fail", 150, "suite.yaml:3:5"});
  std::string html = RenderHtml(r);
  pugi::xml_document doc;
  Parse(html, doc);
  // Self-contained: one inline script, no external resources.
  CHECK(Occurrences(html, "<script") == 1);
  CHECK(html.find(" src=") == std::string::npos);
  CHECK(html.find(" href=") == std::string::npos);
  CHECK(html.find("@import") == std::string::npos);
  CHECK(html.find("url(") == std::string::npos);
  // The certification comes before the charts and the cases.
  size_t cert = html.find("id=\"feature-matrix\"");
  REQUIRE(cert != std::string::npos);
  CHECK(cert < html.find("id=\"latency\""));
  CHECK(html.find("id=\"latency\"") < html.find("id=\"cases\""));
  CHECK(html.find("KEP-4381 Structured parameters (DRA core)") != std::string::npos);
  CHECK(html.find("KEP-4680 Device health in pod status") != std::string::npos);
  auto matrix = ById(doc, "feature-matrix");
  CHECK(CountNodes(matrix, "tr", "") == 6);  // header + 5 features
  // Every case is there, with its verdict and feature for the filters.
  auto list = ById(doc, "case-list");
  REQUIRE(list);
  CHECK(CountNodes(list, "details", "case") == 5);
  CHECK(CountNodes(list, "details", "case") == CountRun(r).tests);
  auto failed = ById(doc, "case-1");
  CHECK(std::string(failed.attribute("data-verdict").value()) == "fail");
  CHECK(std::string(failed.attribute("data-feature").value()) == "isolation");
  CHECK(std::string(failed.attribute("open").value()) == "open");
  CHECK(std::string(ById(doc, "case-0").attribute("open").value()).empty());
  // A case shows its steps, calls, probe output and driver log.
  CHECK(CountNodes(failed, "table", "steps") == 1);
  CHECK(CountNodes(failed, "table", "calls") == 1);
  CHECK(CountNodes(failed, "pre", "probe-output") == 1);
  CHECK(CountNodes(failed, "pre", "driver-log") == 1);
  CHECK(html.find("prepared GPU-1 for claim a") != std::string::npos);
  CHECK(html.find("drahil-probe-gpu --list  -&gt; exit 1") != std::string::npos);
  // The filter controls and the script that uses them.
  for (const char* id : {"f-verdict", "f-feature", "f-text", "f-count"}) CHECK(ById(doc, id));
  CHECK(html.find("getElementById('f-verdict')") != std::string::npos);
}

TEST_CASE("HTML report: latency per gRPC method on log buckets, probe figures per device",
          "[reports][html]") {
  RunReport r = testing::SampleReport();
  auto& c = r.suites[0].cases[0];
  for (double ms : {0.4, 3.0, 3.5, 12.0, 1400.0})
    c.calls.push_back({1, "grpc", "/DRAPlugin/NodePrepareResources", "OK", ms, ""});
  c.calls.push_back({1, "api", "create ResourceClaim ns/a", "OK", 0.05, ""});
  c.calls.push_back({1, "api", "create DeviceClass x", "OK", 0, "driver profile"});
  c.measurements.push_back({"probe.bandwidth.kernel_copy", 1500, "GB/s", "GPU-0", {}});
  c.measurements.push_back({"probe.bandwidth.peak", 4800, "GB/s", "GPU-0", {}});
  c.measurements.push_back(
      {"probe.memory-capacity.reported_total", 80.0 * (1 << 30), "bytes", "GPU-1", {}});
  std::string html = RenderHtml(r);
  pugi::xml_document doc;
  Parse(html, doc);
  auto grpc = ById(doc, "grpc-latency");
  REQUIRE(grpc);
  // Two methods: NodePrepareResources (6 calls) first, then NodeUnprepareResources.
  CHECK(CountNodes(grpc, "svg", "chart") == 2);
  auto first = ById(doc, "chart-grpc-0");
  REQUIRE(first);
  CHECK(std::string(first.parent().attribute("data-name").value()) ==
        "/DRAPlugin/NodePrepareResources");
  // The calls are 0.4 .. 1400 ms: buckets [0.2,0.5) .. [1000,2000).
  CHECK(CountNodes(first, "rect", "") == 12);
  CHECK(html.find("6 calls; p50 3.25 ms") != std::string::npos);
  auto api = ById(doc, "api-latency");
  CHECK(CountNodes(api, "svg", "chart") == 1);
  CHECK(html.find("data-name=\"create\"") != std::string::npos);
  CHECK(html.find("1 API requests carry no latency") != std::string::npos);
  // Bandwidth: GPU-0 d2d best, GPU-1, and GPU-0's spec-sheet peak.
  auto bw = ById(doc, "chart-probe-bandwidth");
  REQUIRE(bw);
  CHECK(CountNodes(bw, "rect", "") == 3);
  CHECK(html.find("memory bandwidth peak (spec sheet): 4.8e+03 GB/s") != std::string::npos);
  CHECK(html.find("62.5 %") != std::string::npos);  // 2 x 1500 of 4800
  CHECK(html.find("80 GiB") != std::string::npos);
}

TEST_CASE("HTML report: says why there are no bandwidth figures", "[reports][html]") {
  RunReport r = testing::SampleReport();
  for (auto& s : r.suites)
    for (auto& c : s.cases) c.measurements.clear();
  std::string html = RenderHtml(r);
  CHECK(html.find("id=\"chart-probe-bandwidth\"") == std::string::npos);
  CHECK(html.find("1 probe runs ran no bandwidth check") != std::string::npos);
  RunReport empty;
  empty.driver_name = "x";
  html = RenderHtml(empty);
  pugi::xml_document doc;
  Parse(html, doc);
  CHECK(html.find("no probe ran in this run") != std::string::npos);
  CHECK(html.find("No gRPC calls in this run") != std::string::npos);
  CHECK(CountNodes(ById(doc, "case-list"), "details", "case") == 0);
}

TEST_CASE("HTML report: hostile text from a driver stays text", "[reports][html]") {
  RunReport r = testing::SampleReport();
  CaseResult& c = r.suites[1].cases[0];
  const std::string evil = "</script><script>alert(1)</script><img src=x onerror=alert(2)>";
  c.message = "boom " + evil + "\n]]>//]]>";
  c.title = "\"' onmouseover=alert(3) x=\"";
  c.feature = "f\"eat<ure>";
  c.driver_log = evil + "\x1b[31m";
  c.calls.push_back({0.1, "probe", "p" + evil, "exit 1", 1, evil});
  c.calls.push_back({0.2, "grpc", evil, "UNKNOWN", 1, evil});
  c.tags = {evil};
  std::string html = RenderHtml(r);
  pugi::xml_document doc;
  Parse(html, doc);  // still well-formed
  CHECK(Occurrences(html, "<script") == 1);
  CHECK(html.find("<img") == std::string::npos);
  CHECK(html.find("\x1b") == std::string::npos);
  CHECK(Occurrences(html, "]]>") == 1);  // the script's own CDATA end
  CHECK(html.find("&lt;/script&gt;&lt;script&gt;alert(1)") != std::string::npos);
  // Attributes keep the text intact once parsed.
  auto v = ById(doc, "case-4");
  REQUIRE(v);
  CHECK(std::string(v.attribute("data-feature").value()) == "f\"eat<ure>");
  CHECK(std::string(v.attribute("data-search").value()).find("onmouseover=alert(3)") !=
        std::string::npos);
  CHECK_FALSE(v.attribute("onmouseover"));
}
