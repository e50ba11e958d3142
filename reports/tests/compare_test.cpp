#include "drahil/reports/compare.hpp"

#include <catch2/catch.hpp>

using namespace drahil::reports;

namespace {
RunReport Run(std::vector<std::pair<std::string, Verdict>> cases, std::string skip_message = "") {
  RunReport r;
  SuiteResult s;
  s.name = "prepare";
  for (const auto& [id, v] : cases) {
    CaseResult c;
    c.id = id;
    c.verdict = v;
    if (v == Verdict::kSkip) c.message = skip_message;
    s.cases.push_back(c);
  }
  r.suites.push_back(s);
  return r;
}
}  // namespace

TEST_CASE("Compare: identical verdicts are the same", "[compare]") {
  auto a = Run({{"one", Verdict::kPass}, {"two", Verdict::kFail}});
  auto c = CompareRuns(a, a);
  CHECK(c.ok());
  CHECK(c.matched == 2);
  CHECK(c.same == 2);
}

TEST_CASE("Compare: a changed verdict is named with both sides", "[compare]") {
  auto a = Run({{"one", Verdict::kPass}, {"two", Verdict::kPass}});
  auto b = Run({{"one", Verdict::kPass}, {"two", Verdict::kFail}});
  auto c = CompareRuns(a, b);
  REQUIRE(c.differences.size() == 1);
  CHECK(c.differences[0] == "prepare/two: pass vs fail");
}

TEST_CASE("Compare: cases missing on either side are differences", "[compare]") {
  auto a = Run({{"one", Verdict::kPass}});
  auto b = Run({{"two", Verdict::kPass}});
  auto c = CompareRuns(a, b);
  REQUIRE(c.differences.size() == 2);
  CHECK(c.differences[0].find("only in the first run") != std::string::npos);
  CHECK(c.differences[1].find("only in the second run") != std::string::npos);
}

TEST_CASE("Compare: a skip is allowed only when its reason matches", "[compare]") {
  auto a = Run({{"probe", Verdict::kPass}});
  auto b =
      Run({{"probe", Verdict::kSkip}}, "probe backend env implements only the enumerate check");
  CHECK_FALSE(CompareRuns(a, b).ok());
  auto c = CompareRuns(a, b, {"probe backend"});
  CHECK(c.ok());
  CHECK(c.allowed == 1);
  CHECK_FALSE(CompareRuns(a, b, {"sandbox unavailable"}).ok());
  // A fail never becomes an allowed skip.
  auto f = Run({{"probe", Verdict::kFail}});
  CHECK_FALSE(CompareRuns(f, b, {"probe backend"}).ok());
}

TEST_CASE("Compare: a bad regex is reported, not thrown", "[compare]") {
  auto a = Run({{"one", Verdict::kPass}});
  auto c = CompareRuns(a, a, {"("});
  REQUIRE_FALSE(c.ok());
  CHECK(c.differences[0].find("allowed-skip") != std::string::npos);
}
