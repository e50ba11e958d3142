#include "drahil/reports/compare.hpp"

#include <map>
#include <regex>

namespace drahil::reports {

Comparison CompareRuns(const RunReport& first, const RunReport& second,
                       const CompareOptions& options) {
  Comparison out;
  std::optional<std::regex> allowed;
  if (!options.allowed_skip.empty()) {
    try {
      allowed.emplace(options.allowed_skip);
    } catch (const std::regex_error& e) {
      out.differences.push_back("allowed-skip: bad regular expression: " + std::string(e.what()));
      return out;
    }
  }
  std::map<std::string, const CaseResult*> b;
  for (const auto& s : second.suites)
    for (const auto& c : s.cases) b[s.name + "/" + c.id] = &c;
  auto brief = [](const CaseResult& c) {
    std::string m = c.message.substr(0, c.message.find('\n'));
    return std::string(VerdictName(c.verdict)) + (m.empty() ? "" : " (" + m + ")");
  };
  for (const auto& s : first.suites) {
    for (const auto& c : s.cases) {
      std::string key = s.name + "/" + c.id;
      auto it = b.find(key);
      if (it == b.end()) {
        out.differences.push_back(key + ": only in the first run (" + brief(c) + ")");
        continue;
      }
      const CaseResult& o = *it->second;
      b.erase(it);
      ++out.matched;
      if (o.verdict == c.verdict) {
        ++out.same;
      } else if (c.verdict == Verdict::kPass && o.verdict == Verdict::kSkip && allowed &&
                 std::regex_search(o.message, *allowed)) {
        ++out.allowed;
      } else {
        out.differences.push_back(key + ": " + brief(c) + " vs " + brief(o));
      }
    }
  }
  for (const auto& [key, c] : b)
    out.differences.push_back(key + ": only in the second run (" + brief(*c) + ")");
  return out;
}

}  // namespace drahil::reports
