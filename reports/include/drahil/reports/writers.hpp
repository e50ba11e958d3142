// File: writers.hpp
//
// Rendering a RunReport as JUnit XML, JSON and self-contained HTML, and
// writing the files atomically (a reader or a CI uploader never sees half a
// report, even when drahil is killed while writing).
//
//   reports::RunReport run = ...;
//   reports::WriteOptions w{.junit = "out/junit.xml", .json = "out/report.json",
//                           .html = "out/report.html"};
//   DRAHIL_RETURN_IF_ERROR(reports::WriteReports(run, w));
//
// JUnit follows the Ant/Jenkins shape: <testsuites> (bare root) → one
// <testsuite> per suite with name, tests, failures, errors, skipped, time,
// timestamp (ISO 8601, UTC, no zone), hostname, id, package; <properties>
// with the driver's name/version, node and hardware; <testcase name=ID
// classname=FEATURE time=S> with at most one of <failure>/<error>/<skipped>
// (message + type) and <system-out> holding the call log; empty suite-level
// <system-out/>/<system-err/>. Output validates against both the permissive
// Jenkins xunit junit-10 schema and the strict Ant schema (reports/schema/).
//
// Thread-safety: pure functions of their arguments.
#ifndef DRAHIL_REPORTS_WRITERS_HPP_INCLUDED
#define DRAHIL_REPORTS_WRITERS_HPP_INCLUDED

#include <cstddef>
#include <string>

#include "drahil/core/status.hpp"
#include "drahil/reports/model.hpp"

namespace drahil::reports {

struct RenderOptions {
  // Cap on one case's <system-out> (the call log); the rest is cut with a
  // note. GitLab refuses JUnit files above 30 MB, so keep bulk elsewhere.
  size_t max_case_output_bytes = 256 * 1024;
};

// FormatCallLog(): the call log as text, one line per call:
//   "[  0.012s] grpc /…/NodePrepareResources -> OK (3.1 ms) claims=1"
std::string FormatCallLog(const CaseResult& c);

std::string RenderJUnit(const RunReport& run, const RenderOptions& opts = {});
std::string RenderJson(const RunReport& run);
std::string RenderHtml(const RunReport& run, const RenderOptions& opts = {});

// ParseJsonReport(): reads what RenderJson() wrote (for re-rendering and tests).
Result<RunReport> ParseJsonReport(const std::string& text);

struct WriteOptions {
  std::string junit;  // empty: not written
  std::string json;
  std::string html;
  RenderOptions render;
};

// WriteReports(): renders and writes each requested file atomically (via
// drahil::AtomicWriteFile), creating parent directories. Tries every file even
// after one fails; the error names each path that failed.
Status WriteReports(const RunReport& run, const WriteOptions& opts);

// CheckReportPaths(): before a run, that WriteReports() will be able to
// write each requested file: its directory exists or can be made, a file
// can be created there, and the path is not a directory. The error names
// every path that cannot be written.
Status CheckReportPaths(const WriteOptions& opts);

// FormatJUnitTime(): seconds with three decimals and '.', no separators ("12.345").
std::string FormatJUnitTime(double seconds);
// FormatJUnitTimestamp(): "2026-07-01T12:00:00" (UTC, no zone, as the Ant schema wants).
std::string FormatJUnitTimestamp(std::chrono::system_clock::time_point t);

}  // namespace drahil::reports

#endif  // DRAHIL_REPORTS_WRITERS_HPP_INCLUDED
