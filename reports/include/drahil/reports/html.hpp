// File: html.hpp
//
// Pieces of the HTML report (RenderHtml() in writers.hpp) that are worth
// testing on their own: the log-scale latency buckets, percentiles and the
// labels features get.
//
// Thread-safety: pure functions.
#ifndef DRAHIL_REPORTS_HTML_HPP_INCLUDED
#define DRAHIL_REPORTS_HTML_HPP_INCLUDED

#include <string>
#include <string_view>
#include <vector>

namespace drahil::reports {

// LogBucket: values v with lo <= v < hi.
struct LogBucket {
  double lo = 0, hi = 0;
  int count = 0;
};

// LogBucketEdge(i): the i-th edge of the 1-2-5 series: ..., 0.5, 1, 2, 5, 10,
// 20, ... with LogBucketEdge(0) == 1.
double LogBucketEdge(int i);
// LogBucketIndex(v): the i with LogBucketEdge(i) <= v < LogBucketEdge(i + 1); v > 0.
int LogBucketIndex(double v);

// LogHistogram(): the values in 1-2-5 buckets (three per decade), from the
// bucket of the smallest to the bucket of the largest, empty ones included so
// the axis stays uniform. Values below floor (zero, negative, NaN) count in
// floor's bucket. Empty input: no buckets.
std::vector<LogBucket> LogHistogram(const std::vector<double>& values, double floor = 1e-3);

// Percentile(): nearest-rank percentile (p in 0..100) of values; 0 when empty.
double Percentile(std::vector<double> values, double p);

// FormatMs(): a duration in milliseconds as people read it: "850 µs",
// "12.5 ms", "1.4 s".
std::string FormatMs(double ms);

// FeatureLabel(): "kep-4381" -> "KEP-4381 Structured parameters (DRA core)";
// a feature without a known name is returned as it is.
std::string FeatureLabel(std::string_view feature);

}  // namespace drahil::reports

#endif  // DRAHIL_REPORTS_HTML_HPP_INCLUDED
