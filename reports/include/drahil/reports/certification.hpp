// File: certification.hpp
//
// The certification summary of a run: per feature (a case's JUnit
// classname, usually a KEP tag), whether the driver profile claims it, and
// what the run showed: verified (cases passed, none failed), failed (a case
// failed or errored), or not testable here (every case skipped, with the
// reasons).
//
// Thread-safety: plain functions over values.
#ifndef DRAHIL_REPORTS_CERTIFICATION_HPP_INCLUDED
#define DRAHIL_REPORTS_CERTIFICATION_HPP_INCLUDED

#include <string>
#include <string_view>
#include <vector>

#include "drahil/reports/model.hpp"

namespace drahil::reports {

struct FeatureSummary {
  std::string feature;     // "kep-4815"
  std::string name;        // "Partitionable devices" ("" when not a known KEP)
  std::string capability;  // the profile capability that claims it ("" when none maps)
  bool claimed = false;    // the profile claims that capability (or none maps to it)
  int passed = 0, failed = 0, errors = 0, skipped = 0;
  std::vector<std::string> skip_reasons;  // distinct, in case order
  std::string status;                     // "verified" | "failed" | "not testable here"
};

// FeatureName()/FeatureCapability(): what a KEP tag stands for.
std::string_view FeatureName(std::string_view feature);
std::string_view FeatureCapability(std::string_view feature);

// Certify(): one row per feature, in feature order.
std::vector<FeatureSummary> Certify(const RunReport& run);

// CertificationText(): the summary as terminal lines.
std::string CertificationText(const std::vector<FeatureSummary>& rows);

}  // namespace drahil::reports

#endif  // DRAHIL_REPORTS_CERTIFICATION_HPP_INCLUDED
