#include "drahil/reports/model.hpp"

#include <cctype>
#include <cstdio>

namespace drahil::reports {

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kPass:
      return "pass";
    case Verdict::kFail:
      return "fail";
    case Verdict::kError:
      return "error";
    case Verdict::kSkip:
      return "skip";
  }
  return "error";
}

std::optional<Verdict> ParseVerdict(std::string_view name) {
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (Verdict v : {Verdict::kPass, Verdict::kFail, Verdict::kError, Verdict::kSkip}) {
    if (VerdictName(v) == lower) return v;
  }
  return std::nullopt;
}

namespace {
int Rank(Verdict v) {
  switch (v) {
    case Verdict::kPass:
      return 0;
    case Verdict::kSkip:
      return 1;
    case Verdict::kFail:
      return 2;
    case Verdict::kError:
      return 3;
  }
  return 3;
}
}  // namespace

Verdict Worse(Verdict a, Verdict b) { return Rank(a) >= Rank(b) ? a : b; }

void Counts::Add(const CaseResult& c) {
  ++tests;
  switch (c.verdict) {
    case Verdict::kPass:
      ++passed;
      break;
    case Verdict::kFail:
      ++failures;
      break;
    case Verdict::kError:
      ++errors;
      break;
    case Verdict::kSkip:
      ++skipped;
      break;
  }
  if (c.flaky) ++flaky;
}

void Counts::Add(const Counts& o) {
  tests += o.tests;
  passed += o.passed;
  failures += o.failures;
  errors += o.errors;
  skipped += o.skipped;
  flaky += o.flaky;
}

Counts CountSuite(const SuiteResult& s) {
  Counts c;
  for (const auto& k : s.cases) c.Add(k);
  return c;
}

Counts CountRun(const RunReport& r) {
  Counts c;
  for (const auto& s : r.suites) c.Add(CountSuite(s));
  return c;
}

std::string SummaryLine(const RunReport& r) {
  Counts c = CountRun(r);
  char buf[256];
  std::snprintf(buf, sizeof(buf), "%d cases: %d passed, %d failed, %d errors, %d skipped", c.tests,
                c.passed, c.failures, c.errors, c.skipped);
  std::string s = buf;
  if (c.flaky > 0) s += " (" + std::to_string(c.flaky) + " flaky)";
  std::snprintf(buf, sizeof(buf), " in %.1fs", r.duration_s);
  s += buf;
  if (r.partial)
    s += " [partial: " + (r.interruption.empty() ? "interrupted" : r.interruption) + "]";
  return s;
}

}  // namespace drahil::reports
