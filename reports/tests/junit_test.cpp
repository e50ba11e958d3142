#include <cmath>
#include <cstdlib>
#include <pugixml.hpp>
#include <regex>
#include <set>

#include "drahil/core/child_process.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/reports/text.hpp"
#include "drahil/reports/writers.hpp"
#include "drahil/testing/testing.hpp"
#include "sample_report.hpp"

namespace {

using namespace drahil::reports;

// Normalise(): what changes between runs (times, timestamps, host names) is
// replaced before comparing with the golden file (docs/reference/design.md §3).
std::string Normalise(const std::string& xml) {
  std::string s = std::regex_replace(xml, std::regex(R"( time="[0-9.]+")"), R"( time="T")");
  s = std::regex_replace(s, std::regex(R"( timestamp="[^"]*")"), R"( timestamp="TS")");
  s = std::regex_replace(s, std::regex(R"( hostname="[^"]*")"), R"( hostname="HOST")");
  return s;
}

std::string SchemaPath(const std::string& name) {
  return drahil::testing::SourceDir() + "/reports/schema/" + name;
}

// XmlLint(): validates file against the schema; returns xmllint's output on failure.
std::string XmlLint(const std::string& schema, const std::string& file) {
  auto out = drahil::RunCommand({"xmllint", "--noout", "--schema", schema, file},
                                std::chrono::seconds(30));
  if (!out.ok()) return out.status().ToString();
  if (!out->exit.success()) return out->output;
  return "";
}

void CheckGolden(const std::string& name, const std::string& actual) {
  std::string path = drahil::testing::SourceDir() + "/reports/tests/golden/" + name;
  if (std::getenv("DRAHIL_UPDATE_GOLDEN") != nullptr) {
    REQUIRE_OK(drahil::AtomicWriteFile(path, actual));
  }
  auto expected = drahil::ReadFile(path);
  REQUIRE_OK(expected);
  INFO("golden " << path << " (rerun with DRAHIL_UPDATE_GOLDEN=1 to accept)");
  CHECK(actual == *expected);
}

}  // namespace

TEST_CASE("JUnit: matches the golden file with times normalised", "[reports][junit]") {
  RunReport r = testing::SampleReport();
  // Times differ between runs; the normaliser must hide them.
  r.suites[0].duration_s = 17.125;
  r.suites[0].hostname = "";
  CheckGolden("sample.junit.xml", Normalise(RenderJUnit(r)));
}

TEST_CASE("JUnit: suite counts equal the children, verdicts map to elements", "[reports][junit]") {
  std::string xml = RenderJUnit(testing::SampleReport());
  pugi::xml_document doc;
  REQUIRE(doc.load_string(xml.c_str()));
  auto root = doc.child("testsuites");
  REQUIRE(root);
  CHECK(root.first_attribute().empty());  // bare root
  int suites = 0;
  for (auto ts : root.children("testsuite")) {
    ++suites;
    int tests = 0, failures = 0, errors = 0, skipped = 0;
    for (auto tc : ts.children("testcase")) {
      ++tests;
      failures += tc.child("failure") ? 1 : 0;
      errors += tc.child("error") ? 1 : 0;
      skipped += tc.child("skipped") ? 1 : 0;
      CHECK(!std::string(tc.attribute("classname").value()).empty());
    }
    CHECK(ts.attribute("tests").as_int() == tests);
    CHECK(ts.attribute("failures").as_int() == failures);
    CHECK(ts.attribute("errors").as_int() == errors);
    CHECK(ts.attribute("skipped").as_int() == skipped);
  }
  CHECK(suites == 2);
  auto first = root.child("testsuite");
  CHECK(std::string(first.attribute("timestamp").value()) == "2026-07-01T12:00:00");
  CHECK(std::string(first.child("properties")
                        .find_child_by_attribute("property", "name", "driver.name")
                        .attribute("value")
                        .value()) == "gpu.drahil.dev");
  auto fail = first.find_child_by_attribute("testcase", "name", "isolation-one-device");
  REQUIRE(fail);
  CHECK(std::string(fail.attribute("classname").value()) == "isolation");
  CHECK(std::string(fail.child("failure").attribute("type").value()) == "ProbeVerdict");
  // The attribute carries the first line; the body the whole message.
  CHECK(std::string(fail.child("failure").attribute("message").value()).find("\n") ==
        std::string::npos);
  CHECK(std::string(fail.child("failure").text().get()).find("visible: GPU-0") !=
        std::string::npos);
  auto pass = first.find_child_by_attribute("testcase", "name", "prepare-single-gpu");
  CHECK(std::string(pass.child("system-out").text().get()).find("NodePrepareResources -> OK") !=
        std::string::npos);
  CHECK(std::string(pass.attribute("time").value()) == "1.234");  // at most three decimals
}

// What CI servers read (docs/ci-templates.md): GitLab shows a case's
// failure/error/skipped body as its details and keys cases by (classname,
// name); Jenkins needs classname and shows <system-out> and <properties>;
// Jenkins xUnit validates against junit-10, which takes `file` on
// <testsuite> only.
TEST_CASE("JUnit: what GitLab and Jenkins read is there", "[reports][junit][ci]") {
  std::string xml = RenderJUnit(testing::SampleReport());
  pugi::xml_document doc;
  REQUIRE(doc.load_string(xml.c_str()));
  auto first = doc.child("testsuites").child("testsuite");
  CHECK(std::string(first.attribute("file").value()) == "suites/prepare.yaml");
  CHECK(first.child("properties").find_child_by_attribute("property", "name", "node"));
  std::set<std::string> keys;
  for (auto ts : doc.child("testsuites").children("testsuite")) {
    for (auto tc : ts.children("testcase")) {
      CHECK(!tc.attribute("file"));  // junit-10 refuses it there
      std::string classname = tc.attribute("classname").value();
      CHECK(!classname.empty());
      CHECK(keys.insert(classname + "/" + tc.attribute("name").value()).second);
      for (const char* outcome : {"failure", "error", "skipped"}) {
        auto e = tc.child(outcome);
        if (!e) continue;
        INFO(tc.attribute("name").value() << " " << outcome);
        CHECK(!std::string(e.text().get()).empty());
      }
    }
  }
  auto pass = first.find_child_by_attribute("testcase", "name", "prepare-single-gpu");
  CHECK(!std::string(pass.child("system-out").text().get()).empty());
}

TEST_CASE("JUnit: hostile driver output is escaped and still well-formed",
          "[reports][junit][escape]") {
  std::string xml = RenderJUnit(testing::SampleReport());
  CHECK(IsXmlSafe(xml));
  pugi::xml_document doc;
  REQUIRE(doc.load_string(xml.c_str()));
  auto tc = doc.child("testsuites").last_child().child("testcase");
  CHECK(std::string(tc.attribute("name").value()) == "weird <&> \"name\"");
  std::string body = tc.child("failure").text().get();
  CHECK(body.find("\\x1B[31mred") != std::string::npos);
  CHECK(body.find("\\x00") != std::string::npos);
  CHECK(body.find("]]>") != std::string::npos);  // text, not CDATA: nothing to split
}

TEST_CASE("JUnit: output validates against junit-10 and the strict Ant schema",
          "[reports][junit][xmllint]") {
  if (drahil::testing::FindOnPath("xmllint").empty())
    DRAHIL_SKIP("xmllint not on PATH (libxml2-utils)");
  auto dir = drahil::TempDir::Create("drahil-junit-");
  REQUIRE_OK(dir);
  std::string file = dir->Join("junit.xml");
  RunReport r = testing::SampleReport();
  // Also an empty suite, an empty run and huge output.
  SuiteResult empty;
  empty.name = "empty";
  r.suites.push_back(empty);
  r.suites[0].cases[0].output = std::string(400 * 1024, 'x');
  REQUIRE_OK(drahil::AtomicWriteFile(file, RenderJUnit(r)));
  for (const char* xsd : {"junit-10.xsd", "junit-ant-strict.xsd"}) {
    INFO(xsd);
    CHECK(XmlLint(SchemaPath(xsd), file) == "");
  }
  REQUIRE_OK(drahil::AtomicWriteFile(file, RenderJUnit(RunReport{})));
  CHECK(XmlLint(SchemaPath("junit-10.xsd"), file) == "");
  CHECK(XmlLint(SchemaPath("junit-ant-strict.xsd"), file) == "");
}

TEST_CASE("JUnit: the strict schema rejects what the writer must never produce",
          "[reports][junit][xmllint]") {
  if (drahil::testing::FindOnPath("xmllint").empty())
    DRAHIL_SKIP("xmllint not on PATH (libxml2-utils)");
  auto dir = drahil::TempDir::Create("drahil-junit-");
  REQUIRE_OK(dir);
  std::string file = dir->Join("bad.xml");
  // Two outcomes on one case, a thousands separator and a zoned timestamp.
  REQUIRE_OK(drahil::AtomicWriteFile(
      file,
      "<testsuites><testsuite name=\"s\" timestamp=\"2026-07-01T12:00:00Z\" hostname=\"h\" "
      "tests=\"1\" failures=\"1\" errors=\"1\" time=\"1,234.5\" id=\"0\" package=\"s\">"
      "<properties/><testcase name=\"c\" classname=\"f\" time=\"1\"><failure type=\"t\"/>"
      "<error type=\"t\"/></testcase><system-out/><system-err/></testsuite></testsuites>"));
  CHECK(XmlLint(SchemaPath("junit-ant-strict.xsd"), file) != "");
  // The permissive schema accepts the same file: it is the lenient consumer's view.
  CHECK(XmlLint(SchemaPath("junit-10.xsd"), file) == "");
}

TEST_CASE("JUnit: time and timestamp formats", "[reports][junit]") {
  CHECK(FormatJUnitTime(1234.56789) == "1234.568");
  CHECK(FormatJUnitTime(-1) == "0.000");
  CHECK(FormatJUnitTime(std::nan("")) == "0.000");
  CHECK(FormatJUnitTimestamp(std::chrono::system_clock::time_point(std::chrono::seconds(0))) ==
        "1970-01-01T00:00:00");
}
