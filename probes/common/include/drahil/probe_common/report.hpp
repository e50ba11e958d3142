// File: report.hpp
//
// The probe result model and its wire form, the versioned JSON document
// `drahil.probe/v1` (schema: probes/common/schema/drahil.probe.v1.schema.json,
// prose: docs/probes.md). Both drahil-probe-gpu and drahil-probe-fpga emit
// exactly one such document per run.
//
//   ProbeReport report("gpu", "opencl");
//   CheckResult& c = report.AddCheck("enumerate");
//   c.Measure("runtime_devices", 1, "count");
//   c.Fail("extra device GPU-1234 is visible");   // verdict becomes fail
//   int rc = report.Finish();                      // 0 / 1 / 3, see ExitCode
//   WriteReport(report, fd);
//
// Verdicts (docs/reference/design.md §1): pass, fail (the driver or device broke the
// contract), skip (capability missing, always with a reason), error (the probe
// or its environment broke). Thread-safety: plain values.
#ifndef DRAHIL_PROBE_COMMON_REPORT_HPP_INCLUDED
#define DRAHIL_PROBE_COMMON_REPORT_HPP_INCLUDED

#include <chrono>
#include <deque>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "drahil/core/status.hpp"

namespace drahil::probe_common {

inline constexpr std::string_view kSchemaId = "drahil.probe/v1";

// Process exit codes of both probes.
enum ExitCode : int {
  kExitPass = 0,         // every selected check passed
  kExitCheckFailed = 1,  // at least one check failed
  kExitUsage = 2,        // bad command line
  kExitEnvironment = 3,  // a check could not run (error or skip), or internal error
};

enum class Verdict { kPass, kFail, kSkip, kError };
std::string_view VerdictName(Verdict v);

struct Measurement {
  std::string name;
  double value = 0;
  std::string unit;  // "GB/s", "bytes", "GFLOP/s", "count", "fraction", "s"
};

// CheckResult: one selected check. The verdict starts as pass and only gets
// worse: Fail() over Skip() over pass; Error() is the worst.
struct CheckResult {
  std::string name;
  Verdict verdict = Verdict::kPass;
  std::string summary;                // one line for humans
  std::vector<std::string> findings;  // each failure or notable observation
  std::vector<Measurement> measurements;
  nlohmann::json details = nlohmann::json::object();  // check-specific structured data
  double duration_s = 0;

  void Measure(std::string n, double v, std::string u) {
    measurements.push_back({std::move(n), v, std::move(u)});
  }
  // Note(): a finding that does not change the verdict.
  void Note(std::string text) { findings.push_back(std::move(text)); }
  void Fail(std::string text);
  void Skip(std::string reason);
  void Error(std::string text);
  // ErrorFrom(): Error() with a Status, prefixed by what was being done.
  void ErrorFrom(const Status& s, std::string_view doing);
};

class ProbeReport {
 public:
  ProbeReport(std::string probe, std::string backend);

  // AddCheck(): the returned reference stays valid for the report's life.
  CheckResult& AddCheck(std::string name);
  [[nodiscard]] const std::deque<CheckResult>& checks() const { return checks_; }
  std::deque<CheckResult>& mutable_checks() { return checks_; }

  void set_backend(std::string b) { backend_ = std::move(b); }
  // Top-level facts: devices seen, parameters used, environment notes.
  nlohmann::json& devices() { return devices_; }
  nlohmann::json& parameters() { return parameters_; }
  // SetFatal(): the probe could not run at all (no checks); exit code 3.
  void SetFatal(std::string message) { fatal_ = std::move(message); }

  // Finish(): stamps the duration and overall verdict; returns the exit code.
  int Finish();
  [[nodiscard]] Verdict verdict() const { return verdict_; }
  [[nodiscard]] int exit_code() const { return exit_code_; }

  [[nodiscard]] nlohmann::json ToJson() const;
  // PrintSummary(): the human view (one line per check, findings indented).
  void PrintSummary(std::ostream& out) const;

 private:
  std::string probe_;
  std::string backend_;
  std::string started_at_;
  std::chrono::steady_clock::time_point start_;
  double duration_s_ = 0;
  std::deque<CheckResult> checks_;
  nlohmann::json devices_ = nlohmann::json::array();
  nlohmann::json parameters_ = nlohmann::json::object();
  std::string fatal_;
  Verdict verdict_ = Verdict::kPass;
  int exit_code_ = kExitPass;
};

// OverallVerdict(): fail if any check failed; else error if any check errored
// or was skipped (a selected check that did not run is not a pass); else pass.
Verdict OverallVerdict(const std::deque<CheckResult>& checks);
int ExitCodeFor(Verdict v);

// ResolveResultFd(): the descriptor the JSON goes to: `flag_fd` when >= 0,
// else $DRAHIL_RESULT_FD when set and valid, else 1 (stdout).
Result<int> ResolveResultFd(int flag_fd);
// WriteReport(): the document plus a newline, written fully (EINTR-safe).
Status WriteReport(const ProbeReport& report, int fd);

}  // namespace drahil::probe_common

#endif  // DRAHIL_PROBE_COMMON_REPORT_HPP_INCLUDED
