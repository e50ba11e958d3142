// File: bundle.hpp
//
// A certification bundle: one gzip'd ustar file with everything a run's
// certification rests on, and its check. docs/bundle.md lists the members:
//
//   bundle.json         format version, created time, versions, member list
//   junit.xml           the JUnit report
//   report.json         the JSON report
//   report.html         the HTML report
//   profile/<file>      the driver profile the run used
//   inventory.json      what discovery found (devices, capabilities, probe backends)
//   logs/<suite>/<case>/...  the logs of kept case directories (--keep)
//   MANIFEST.sha256     `sha256sum` lines for every other member
//
//   reports::BundleInputs in{.report = run, .profile_path = "p.yaml", ...};
//   DRAHIL_RETURN_IF_ERROR(reports::WriteBundle("out/cert.tar.gz", in));
//   auto v = reports::VerifyBundle(bytes);   // error names the member
//
// The manifest catches a member that was changed, added or dropped after the
// bundle was made; it is not a signature (whoever edits a member can rewrite
// the manifest too).
//
// Thread-safety: plain functions over values.
#ifndef DRAHIL_REPORTS_BUNDLE_HPP_INCLUDED
#define DRAHIL_REPORTS_BUNDLE_HPP_INCLUDED

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "drahil/core/status.hpp"
#include "drahil/reports/certification.hpp"
#include "drahil/reports/model.hpp"
#include "drahil/reports/writers.hpp"

namespace drahil::reports {

inline constexpr int kBundleFormatVersion = 1;
inline constexpr std::string_view kBundleManifest = "MANIFEST.sha256";
inline constexpr std::string_view kBundleInfo = "bundle.json";

struct BundleInputs {
  RunReport report;
  RenderOptions render;
  std::string profile_path;  // the driver profile file; "" = none
  // versions: "drahil", "drahil_commit", "driver", "driver_version", ...
  std::map<std::string, std::string> versions;
  std::string inventory_json;  // a JSON document; "" = "{}"
  // extra files: member path (under logs/) → file on disk. A file that cannot
  // be read is left out with a note in bundle.json.
  std::vector<std::pair<std::string, std::string>> files;
  std::chrono::system_clock::time_point created = std::chrono::system_clock::now();
};

// Sha256Hex(): lower-case hex digest (OpenSSL).
std::string Sha256Hex(std::string_view data);

// BuildBundle(): the .tar.gz bytes.
Result<std::string> BuildBundle(const BundleInputs& in);
// WriteBundle(): BuildBundle() written atomically to path (parents made).
Status WriteBundle(const std::string& path, const BundleInputs& in);

struct BundleSummary {
  int format_version = 0;
  std::string created;
  std::map<std::string, std::string> versions;
  std::string driver_name, driver_version, hardware;
  bool partial = false;
  std::vector<std::string> members;  // in archive order
  Counts json_counts;                // from report.json
  Counts junit_counts;               // from junit.xml (tests, failures, errors, skipped)
  std::vector<FeatureSummary> certification;
};

// VerifyBundle(): reads the .tar.gz (bounded), checks that the manifest
// lists every other member exactly once with its hash, and parses
// bundle.json, junit.xml and report.json. An error names the member and what
// is wrong with it.
Result<BundleSummary> VerifyBundle(std::string_view gz);

// BundleSummaryText(): what `drahil verify-bundle` prints.
std::string BundleSummaryText(const BundleSummary& s);

}  // namespace drahil::reports

#endif  // DRAHIL_REPORTS_BUNDLE_HPP_INCLUDED
