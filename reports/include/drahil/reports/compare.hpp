// File: compare.hpp
//
// Comparing two runs case by case: the same catalog against one driver
// under two identities (its own, and a renamed one), or a driver before and
// after a change. Cases are matched by suite name and case id.
//
//   auto diff = reports::CompareRuns(own, foreign, {.allowed_skip = "probe backend"});
//   if (!diff.same()) for (const auto& d : diff.differences) puts(d.c_str());
//
// Thread-safety: plain functions over values.
#ifndef DRAHIL_REPORTS_COMPARE_HPP_INCLUDED
#define DRAHIL_REPORTS_COMPARE_HPP_INCLUDED

#include <string>
#include <vector>

#include "drahil/reports/model.hpp"

namespace drahil::reports {

struct CompareOptions {
  // A case that passed in the first run may be skipped in the second when the
  // skip message matches this ECMAScript regex (e.g. the second driver lacks
  // a probe backend); "" allows none.
  std::string allowed_skip;
};

struct Comparison {
  int matched = 0;                       // cases present in both runs
  int same = 0;                          // ... with the same verdict
  int allowed = 0;                       // ... differing only by an allowed skip
  std::vector<std::string> differences;  // "suite/case: pass vs fail (message)"
  [[nodiscard]] bool ok() const { return differences.empty(); }
};

// CompareRuns(): every case of either run must be in the other with the same
// verdict (or an allowed skip). A bad allowed_skip regex is a difference.
Comparison CompareRuns(const RunReport& first, const RunReport& second,
                       const CompareOptions& options = {});

}  // namespace drahil::reports

#endif  // DRAHIL_REPORTS_COMPARE_HPP_INCLUDED
