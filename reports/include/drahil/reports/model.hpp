// File: model.hpp
//
// The result model every report is rendered from:
//
//   RunReport ─► SuiteResult (one per suite file) ─► CaseResult (one per case)
//
// A CaseResult carries its verdict (docs/reference/design.md §1: Pass, Fail =
// the driver broke a contract, Error = drahil or the environment broke, Skip =
// capability or hardware missing, always with a reason), the call log the case produced
// (gRPC calls, API requests, probe runs, injected faults) and every
// measurement (latencies, bandwidths) so the JSON and HTML reports can show
// them.
//
// Strings here are raw: whatever a driver returned, including control bytes
// and invalid UTF-8. The writers sanitise on output, so the model never
// loses information.
//
// Thread-safety: plain values.
#ifndef DRAHIL_REPORTS_MODEL_HPP_INCLUDED
#define DRAHIL_REPORTS_MODEL_HPP_INCLUDED

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace drahil::reports {

enum class Verdict { kPass, kFail, kError, kSkip };

// VerdictName(): "pass", "fail", "error", "skip".
std::string_view VerdictName(Verdict v);
// ParseVerdict(): the inverse of VerdictName() (any case); nullopt otherwise.
std::optional<Verdict> ParseVerdict(std::string_view name);
// Worse(): the verdict that wins when two are combined: Error > Fail > Skip > Pass.
// Error wins over Fail because a broken environment makes a failure untrustworthy.
Verdict Worse(Verdict a, Verdict b);

using Properties = std::vector<std::pair<std::string, std::string>>;

// Measurement: one number a case measured.
struct Measurement {
  std::string name;  // e.g. "prepare_latency", "probe_bandwidth"
  double value = 0;
  std::string unit;    // e.g. "ms", "GB/s"
  std::string device;  // device the value belongs to; empty when none
  Properties labels;   // anything else that identifies it (claim, sharing mode)
};

// Well-known measurement names the HTML charts look for.
inline constexpr std::string_view kPrepareLatency = "prepare_latency";  // unit ms
inline constexpr std::string_view kProbeBandwidth = "probe_bandwidth";  // unit GB/s

// How much of a case's driver log the runner keeps (the end of it): more for
// a case that failed or errored, whose log the vendor has to read.
inline constexpr size_t kDriverLogTailBytes = 2 * 1024;
inline constexpr size_t kDriverLogTailBytesFailed = 16 * 1024;

// CallRecord: one thing the case did or observed, in order.
struct CallRecord {
  double at_s = 0;     // seconds since the case started
  std::string kind;    // "grpc", "http", "probe", "inject", "step", "note"
  std::string method;  // "/k8s.io.kubelet.pkg.apis.dra.v1.DRAPlugin/NodePrepareResources"
  std::string code;    // "OK", "UNAVAILABLE", "200", "exit 0"; empty when not applicable
  double duration_ms = 0;
  std::string detail;  // short request/response summary
};

// Attempt: one run of a case when --repeat runs it more than once.
struct Attempt {
  Verdict verdict = Verdict::kPass;
  std::string message;
  double duration_s = 0;
};

struct CaseResult {
  std::string id;  // unique within the suite; the JUnit testcase name
  std::string title;
  std::string feature;  // the JUnit classname (e.g. "kep-4815" or "partitioning")
  std::vector<std::string> tags;
  Verdict verdict = Verdict::kPass;
  std::string message;  // why it failed/errored/skipped; empty on pass
  std::string type;     // short machine-readable kind, e.g. "GrpcCodeMismatch"
  double duration_s = 0;
  Properties properties;
  std::vector<CallRecord> calls;
  std::vector<Measurement> measurements;
  std::string output;  // free-form log lines (appended after the call log)
  // driver_log: the end of the driver's log for this case (logs/driver.log of
  // the case's node), bounded by the runner (kDriverLogTailBytes); empty when
  // the case started no driver. Shown by the HTML and kept in the JSON.
  std::string driver_log;
  std::vector<Attempt> attempts;  // filled only when the case ran more than once
  bool flaky = false;             // attempts disagreed
};

struct SuiteResult {
  std::string name;
  std::string file;  // path the suite came from
  std::chrono::system_clock::time_point timestamp{};
  std::string hostname;
  double duration_s = 0;
  Properties properties;  // suite-specific extras; driver facts come from RunReport
  std::vector<CaseResult> cases;
};

struct RunReport {
  std::string driver_name;
  std::string driver_version;
  std::string node;
  std::string hardware;              // "emulated: 8-gpu-mig" or "real: 2x NVIDIA H100"
  std::vector<std::string> claimed;  // the capabilities the driver profile claims
  // The Kubernetes version the stand-ins behaved as ("1.36"; "" in reports
  // from before versions) and the feature gates set away from its defaults
  // ("A=true,B=false"; "" = none).
  std::string kubernetes_version;
  std::string feature_gates;
  // The run's seed (--seed): the order in which the scheduler stand-in tries
  // pools and slices, and chaos delays; unset = a fixed order.
  std::optional<uint64_t> seed;
  std::chrono::system_clock::time_point started{};
  double duration_s = 0;
  // partial: the run was interrupted (SIGINT/SIGTERM, --fail-fast) and this
  // report holds only what finished; interruption says why.
  bool partial = false;
  std::string interruption;
  std::vector<SuiteResult> suites;
};

struct Counts {
  int tests = 0, passed = 0, failures = 0, errors = 0, skipped = 0, flaky = 0;
  void Add(const CaseResult& c);
  void Add(const Counts& o);
};
Counts CountSuite(const SuiteResult& s);
Counts CountRun(const RunReport& r);

// SummaryLine(): "12 cases: 10 passed, 1 failed, 0 errors, 1 skipped (0 flaky) in 3.2s".
std::string SummaryLine(const RunReport& r);

}  // namespace drahil::reports

#endif  // DRAHIL_REPORTS_MODEL_HPP_INCLUDED
