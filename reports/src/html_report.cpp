// Self-contained HTML report: inline CSS and SVG, no scripts, no network.
// Written as polyglot XHTML so it is both valid HTML5 and well-formed XML,
// which lets tests (and tools) parse it with an XML parser.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>

#include "drahil/reports/certification.hpp"
#include "drahil/reports/text.hpp"
#include "drahil/reports/writers.hpp"

namespace drahil::reports {
namespace {

std::string Num(double v, const char* fmt = "%.3g") {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}

const char* VerdictClass(Verdict v) {
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

constexpr const char* kStyle = R"(
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}
.pass{background:#d9f2d9}.fail{background:#f8d0d0}.error{background:#f6e0b0}.skip{background:#e4e4e4}
.zero{color:#aaa}.cards span{display:inline-block;padding:.4em .9em;margin-right:.5em;border-radius:4px}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:.85em;white-space:pre-wrap}
.partial{background:#fde8a8;padding:.5em;border:1px solid #d8b04a}
svg text{font-size:11px;font-family:sans-serif}
)";

struct Bar {
  std::string label;
  double value;
};

// BarChartSvg(): a vertical bar chart; values are drawn to scale from zero.
std::string BarChartSvg(const std::string& id, const std::string& title, const std::string& y_unit,
                        const std::vector<Bar>& bars) {
  const int w = 640, h = 260, left = 50, bottom = 60, top = 24;
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"" + id +
                  "\" class=\"chart\" width=\"" + std::to_string(w) + "\" height=\"" +
                  std::to_string(h) + "\" viewBox=\"0 0 " + std::to_string(w) + " " +
                  std::to_string(h) + "\" role=\"img\">";
  s += "<title>" + EscapeHtml(title) + "</title>";
  s += "<text x=\"" + std::to_string(left) + "\" y=\"14\">" + EscapeHtml(title) + "</text>";
  int plot_h = h - bottom - top;
  int plot_w = w - left - 10;
  s += "<line x1=\"" + std::to_string(left) + "\" y1=\"" + std::to_string(top) + "\" x2=\"" +
       std::to_string(left) + "\" y2=\"" + std::to_string(top + plot_h) + "\" stroke=\"#444\"/>";
  s += "<line x1=\"" + std::to_string(left) + "\" y1=\"" + std::to_string(top + plot_h) +
       "\" x2=\"" + std::to_string(left + plot_w) + "\" y2=\"" + std::to_string(top + plot_h) +
       "\" stroke=\"#444\"/>";
  if (bars.empty()) {
    s += "<text x=\"" + std::to_string(left + 20) + "\" y=\"" + std::to_string(top + plot_h / 2) +
         "\">no data in this run</text></svg>";
    return s;
  }
  double max = 0;
  for (const auto& b : bars) max = std::max(max, b.value);
  if (max <= 0) max = 1;
  s += "<text x=\"2\" y=\"" + std::to_string(top + 4) + "\">" + EscapeHtml(Num(max)) + "</text>";
  s += "<text x=\"2\" y=\"" + std::to_string(top + plot_h) + "\">0</text>";
  s += "<text x=\"2\" y=\"" + std::to_string(top + plot_h / 2) + "\">" + EscapeHtml(y_unit) +
       "</text>";
  double slot = static_cast<double>(plot_w) / static_cast<double>(bars.size());
  for (size_t i = 0; i < bars.size(); ++i) {
    double bh = std::max(0.0, bars[i].value) / max * plot_h;
    double x = left + slot * static_cast<double>(i) + slot * 0.1;
    double y = top + plot_h - bh;
    s += "<rect x=\"" + Num(x, "%.1f") + "\" y=\"" + Num(y, "%.1f") + "\" width=\"" +
         Num(slot * 0.8, "%.1f") + "\" height=\"" + Num(bh, "%.1f") +
         "\" fill=\"#4a7fc1\"><title>" + EscapeHtml(bars[i].label + ": " + Num(bars[i].value)) +
         "</title></rect>";
    // Labels are rotated so long device names stay readable.
    double lx = x + slot * 0.4;
    double ly = top + plot_h + 12;
    s += "<text x=\"" + Num(lx, "%.1f") + "\" y=\"" + Num(ly, "%.1f") +
         "\" transform=\"rotate(30 " + Num(lx, "%.1f") + " " + Num(ly, "%.1f") + ")\">" +
         EscapeHtml(TruncateUtf8(bars[i].label, 24)) + "</text>";
  }
  s += "</svg>";
  return s;
}

std::vector<double> PrepareLatencies(const RunReport& run) {
  std::vector<double> ms;
  for (const auto& s : run.suites)
    for (const auto& c : s.cases)
      for (const auto& m : c.measurements)
        if (m.name == kPrepareLatency) ms.push_back(m.value);
  if (!ms.empty()) return ms;
  // No explicit measurement: fall back to the gRPC call log, which the
  // kubelet stand-in fills for every NodePrepareResources call.
  for (const auto& s : run.suites)
    for (const auto& c : s.cases)
      for (const auto& k : c.calls)
        if (k.kind == "grpc" && k.method.ends_with("NodePrepareResources"))
          ms.push_back(k.duration_ms);
  return ms;
}

std::vector<Bar> Histogram(const std::vector<double>& values, int bins) {
  std::vector<Bar> out;
  if (values.empty()) return out;
  auto [lo_it, hi_it] = std::minmax_element(values.begin(), values.end());
  double lo = *lo_it, hi = *hi_it;
  if (hi <= lo) hi = lo + 1;
  double width = (hi - lo) / bins;
  std::vector<int> counts(static_cast<size_t>(bins), 0);
  for (double v : values) {
    int b = static_cast<int>((v - lo) / width);
    counts[static_cast<size_t>(std::clamp(b, 0, bins - 1))]++;
  }
  for (int i = 0; i < bins; ++i) {
    out.push_back({Num(lo + width * i, "%.1f") + "\xE2\x80\x93" + Num(lo + width * (i + 1), "%.1f"),
                   static_cast<double>(counts[static_cast<size_t>(i)])});
  }
  return out;
}

std::vector<Bar> BandwidthPerDevice(const RunReport& run) {
  // The best bandwidth seen per device: a probe may run several transfers
  // and the peak is what says whether a limit was enforced.
  std::map<std::string, double> best;
  for (const auto& s : run.suites)
    for (const auto& c : s.cases)
      for (const auto& m : c.measurements)
        if (m.name == kProbeBandwidth) {
          std::string dev = m.device.empty() ? "(unnamed)" : m.device;
          best[dev] = std::max(best[dev], m.value);
        }
  std::vector<Bar> out;
  for (const auto& [d, v] : best) out.push_back({d, v});
  return out;
}

}  // namespace

std::string RenderHtml(const RunReport& run, const RenderOptions& opts) {
  Counts total = CountRun(run);
  std::string h;
  h += "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n";
  h += "<meta charset=\"utf-8\"/>\n<title>drahil report: " + EscapeHtml(run.driver_name) +
       "</title>\n<style>" + std::string(kStyle) + "</style>\n</head>\n<body>\n";
  h += "<h1>drahil report: " + EscapeHtml(run.driver_name) + " " + EscapeHtml(run.driver_version) +
       "</h1>\n";
  if (run.partial) {
    h += "<p class=\"partial\" id=\"partial\">Partial report: " +
         EscapeHtml(run.interruption.empty() ? "run interrupted" : run.interruption) +
         ". Only cases that finished are shown.</p>\n";
  }
  h += "<table id=\"run\"><tr><th>node</th><td>" + EscapeHtml(run.node) +
       "</td></tr><tr><th>hardware</th><td>" + EscapeHtml(run.hardware) +
       "</td></tr><tr><th>started</th><td>" + EscapeHtml(FormatJUnitTimestamp(run.started)) +
       "Z</td></tr><tr><th>duration</th><td>" + Num(run.duration_s, "%.1f") +
       " s</td></tr></table>\n";

  h += "<h2>Summary</h2>\n<p class=\"cards\" id=\"summary\">";
  h += "<span>" + std::to_string(total.tests) + " cases</span>";
  h += "<span class=\"pass\">" + std::to_string(total.passed) + " passed</span>";
  h += "<span class=\"fail\">" + std::to_string(total.failures) + " failed</span>";
  h += "<span class=\"error\">" + std::to_string(total.errors) + " errors</span>";
  h += "<span class=\"skip\">" + std::to_string(total.skipped) + " skipped</span>";
  if (total.flaky > 0) h += "<span class=\"fail\">" + std::to_string(total.flaky) + " flaky</span>";
  h += "</p>\n";

  // Certification: one row per feature (JUnit classname): claimed by the
  // profile or not, and what the run showed, with the reasons for skips.
  h += "<h2>Certification</h2>\n<table id=\"feature-matrix\"><tr><th>feature</th><th>claimed</th>"
       "<th>status</th><th>cases</th><th>pass</th><th>fail</th><th>error</th><th>skip</th>"
       "<th>not testable because</th></tr>\n";
  auto cell = [](int n, const char* cls) {
    return std::string("<td class=\"") + (n > 0 ? cls : "zero") + "\">" + std::to_string(n) +
           "</td>";
  };
  for (const auto& f : Certify(run)) {
    std::string reasons;
    for (const auto& r : f.skip_reasons)
      reasons += (reasons.empty() ? "" : "<br/>") + EscapeHtml(r);
    const char* cls = f.status == "failed" ? "fail" : f.status == "verified" ? "pass" : "skip";
    h += "<tr><td>" + EscapeHtml(f.feature) + (f.name.empty() ? "" : " " + EscapeHtml(f.name)) +
         "</td><td>" + (f.claimed ? "yes" : "no") + "</td><td class=\"" + cls + "\">" +
         EscapeHtml(f.status) + "</td><td>" +
         std::to_string(f.passed + f.failed + f.errors + f.skipped) + "</td>" +
         cell(f.passed, "pass") + cell(f.failed, "fail") + cell(f.errors, "error") +
         cell(f.skipped, "skip") + "<td>" + reasons + "</td></tr>\n";
  }
  h += "</table>\n";

  h += "<h2>Charts</h2>\n<div>";
  h += BarChartSvg("chart-prepare-latency", "NodePrepareResources latency (histogram)", "calls",
                   Histogram(PrepareLatencies(run), 10));
  h += "</div>\n<div>";
  h += BarChartSvg("chart-probe-bandwidth", "Probe bandwidth per device (best)", "GB/s",
                   BandwidthPerDevice(run));
  h += "</div>\n";

  h += "<h2>Failures and errors</h2>\n<div id=\"failures\">\n";
  bool any = false;
  for (const auto& s : run.suites) {
    for (const auto& c : s.cases) {
      if (c.verdict != Verdict::kFail && c.verdict != Verdict::kError) continue;
      any = true;
      h += "<div class=\"failure\"><h3 class=\"" + std::string(VerdictClass(c.verdict)) + "\">" +
           EscapeHtml(std::string(VerdictName(c.verdict))) + ": " + EscapeHtml(s.name) + " / " +
           EscapeHtml(c.id) + "</h3>\n";
      if (!c.title.empty()) h += "<p>" + EscapeHtml(c.title) + "</p>\n";
      h += "<pre>" + EscapeHtml(TruncateUtf8(c.message, opts.max_case_output_bytes)) + "</pre>\n";
      std::string log = FormatCallLog(c);
      if (!log.empty()) {
        h += "<p>Calls:</p><pre class=\"calls\">" +
             EscapeHtml(TruncateUtf8(log, opts.max_case_output_bytes)) + "</pre>\n";
      }
      h += "</div>\n";
    }
  }
  if (!any) h += "<p>None.</p>\n";
  h += "</div>\n";

  h += "<h2>All cases</h2>\n<table id=\"cases\"><tr><th>suite</th><th>case</th><th>feature</th>"
       "<th>verdict</th><th>time (s)</th><th>reason</th></tr>\n";
  for (const auto& s : run.suites) {
    for (const auto& c : s.cases) {
      std::string first_line = c.message.substr(0, c.message.find('\n'));
      h += "<tr class=\"" + std::string(VerdictClass(c.verdict)) + "\"><td>" + EscapeHtml(s.name) +
           "</td><td title=\"" + EscapeHtml(c.title) + "\">" + EscapeHtml(c.id) + "</td><td>" +
           EscapeHtml(c.feature) + "</td><td>" + EscapeHtml(std::string(VerdictName(c.verdict))) +
           (c.flaky ? " (flaky)" : "") + "</td><td>" + Num(c.duration_s, "%.3f") + "</td><td>" +
           EscapeHtml(TruncateUtf8(first_line, 300)) + "</td></tr>\n";
    }
  }
  h += "</table>\n</body>\n</html>\n";
  return h;
}

}  // namespace drahil::reports
