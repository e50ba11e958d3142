// Self-contained HTML report: inline CSS, SVG and one inline script (case
// filtering), no network. Written as polyglot XHTML so it is both valid HTML5
// and well-formed XML, which lets tests (and tools) parse it with an XML
// parser; the script sits in a CDATA section behind JavaScript comments.
//
// Layout: run facts, verdict cards, certification per feature, latency
// histograms (log scale) per gRPC method and per API verb, probe figures per
// device, then every case (steps, calls timeline, probe output, driver log)
// with filters by verdict, feature and free text.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <string>

#include "drahil/reports/certification.hpp"
#include "drahil/reports/html.hpp"
#include "drahil/reports/text.hpp"
#include "drahil/reports/writers.hpp"

namespace drahil::reports {

// --- Testable pieces (html.hpp) ----------------------------------------------------

double LogBucketEdge(int i) {
  static constexpr double kSteps[] = {1, 2, 5};
  int decade = i >= 0 ? i / 3 : -((-i + 2) / 3);
  int step = i - decade * 3;
  return kSteps[step] * std::pow(10.0, decade);
}

int LogBucketIndex(double v) {
  // Start from the decade and correct for rounding at exact edges.
  int i = static_cast<int>(std::floor(std::log10(v))) * 3;
  while (LogBucketEdge(i) > v) --i;
  while (LogBucketEdge(i + 1) <= v) ++i;
  return i;
}

std::vector<LogBucket> LogHistogram(const std::vector<double>& values, double floor) {
  std::vector<LogBucket> out;
  if (values.empty()) return out;
  std::vector<int> idx;
  idx.reserve(values.size());
  for (double v : values) idx.push_back(LogBucketIndex(v >= floor ? v : floor));
  auto [lo, hi] = std::minmax_element(idx.begin(), idx.end());
  for (int i = *lo; i <= *hi; ++i) out.push_back({LogBucketEdge(i), LogBucketEdge(i + 1), 0});
  for (int i : idx) ++out[static_cast<size_t>(i - *lo)].count;
  return out;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  double rank = std::ceil(p / 100.0 * static_cast<double>(values.size()));
  size_t i = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return values[std::min(i, values.size() - 1)];
}

std::string FormatMs(double ms) {
  char buf[64];
  if (ms < 1)
    std::snprintf(buf, sizeof buf, "%.3g \xC2\xB5s", ms * 1000);
  else if (ms < 1000)
    std::snprintf(buf, sizeof buf, "%.3g ms", ms);
  else
    std::snprintf(buf, sizeof buf, "%.3g s", ms / 1000);
  return buf;
}

std::string FeatureLabel(std::string_view feature) {
  std::string f(feature);
  std::string_view name = FeatureName(feature);
  if (f.rfind("kep-", 0) == 0) f.replace(0, 3, "KEP");
  return name.empty() ? f : f + " " + std::string(name);
}

namespace {

std::string Num(double v, const char* fmt = "%.3g") {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}

std::string Esc(std::string_view s) { return EscapeHtml(s); }

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

// FeatureOf(): the case's feature as the certification counts it (the suite's
// name when the case has none).
const std::string& FeatureOf(const SuiteResult& s, const CaseResult& c) {
  return c.feature.empty() ? s.name : c.feature;
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
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1200px}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
h3{font-size:1em;margin:.8em 0 .3em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left;vertical-align:top}
.pass{background:#d9f2d9}.fail{background:#f8d0d0}.error{background:#f6e0b0}.skip{background:#e4e4e4}
.zero{color:#aaa}.cards span{display:inline-block;padding:.4em .9em;margin-right:.5em;border-radius:4px;cursor:pointer}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:.85em;white-space:pre-wrap;max-height:24em}
.partial{background:#fde8a8;padding:.5em;border:1px solid #d8b04a}
svg text{font-size:11px;font-family:sans-serif}
.charts{display:flex;flex-wrap:wrap;gap:.5em 1.5em}figure{margin:0}.stats{font-size:.85em;color:#555;margin:0 0 .3em}
#feature-matrix tr[data-feature]{cursor:pointer}#feature-matrix tr[data-feature]:hover td{outline:1px solid #888}
.filters{position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid #ccc;z-index:1}
.filters label{margin-right:1em}
details.case{border:1px solid #ccc;border-radius:4px;margin:.3em 0;padding:.2em .6em}
details.case>summary{cursor:pointer}details.case[open]{padding-bottom:.6em}
.badge{display:inline-block;min-width:3.2em;text-align:center;border-radius:3px;padding:0 .3em;margin-right:.4em;font-size:.85em}
.feat,.dur{color:#555;font-size:.85em;margin-left:.6em}.why{color:#333;font-size:.9em;margin-left:.6em}
table.calls{font-size:.82em;width:100%}table.calls td{padding:.1em .4em}
table.calls td:nth-child(1),table.calls td:nth-child(5){white-space:nowrap}
.tl{display:block;position:relative;height:.8em;min-width:16em;background:#f0f0f0}
.tl i{position:absolute;top:0;bottom:0;background:#4a7fc1;min-width:2px}
.k-grpc i{background:#2f6db5}.k-probe i{background:#7a45b0}.k-inject i{background:#c0392b}.k-api i{background:#3a9a5b}
.bad{color:#b00020;font-weight:600}
)";

// Filters the case list by verdict, feature and free text; clicking a verdict
// card or a feature row sets the filter, and so does the URL's fragment.
constexpr const char* kScript = R"(//<![CDATA[
(function () {
  var verdict = document.getElementById('f-verdict');
  var feature = document.getElementById('f-feature');
  var text = document.getElementById('f-text');
  var count = document.getElementById('f-count');
  var cases = Array.prototype.slice.call(document.querySelectorAll('details.case'));
  function apply() {
    var q = text.value.toLowerCase().trim();
    var shown = 0;
    cases.forEach(function (c) {
      var ok = (!verdict.value || c.dataset.verdict === verdict.value) &&
               (!feature.value || c.dataset.feature === feature.value) &&
               (!q || c.dataset.search.indexOf(q) !== -1);
      c.hidden = !ok;
      if (ok) shown++;
    });
    count.textContent = shown + ' of ' + cases.length + ' cases shown';
    if (shown === 1) cases.forEach(function (c) { if (!c.hidden) c.open = true; });
  }
  function show(v, f) {
    verdict.value = v;
    feature.value = f;
    apply();
    document.getElementById('cases').scrollIntoView();
  }
  [verdict, feature, text].forEach(function (e) { e.addEventListener('input', apply); });
  document.querySelectorAll('#summary span[data-verdict]').forEach(function (s) {
    s.addEventListener('click', function () { show(s.dataset.verdict, ''); });
  });
  document.querySelectorAll('#feature-matrix tr[data-feature]').forEach(function (r) {
    r.addEventListener('click', function () { show('', r.dataset.feature); });
  });
  document.getElementById('f-expand').addEventListener('click', function () {
    cases.forEach(function (c) { if (!c.hidden) c.open = true; });
  });
  document.getElementById('f-collapse').addEventListener('click', function () {
    cases.forEach(function (c) { c.open = false; });
  });
  // A link may carry the filter: report.html#verdict=fail&feature=kep-4381&q=timeout
  var p = new URLSearchParams(location.hash.slice(1));
  if (p.has('verdict')) verdict.value = p.get('verdict');
  if (p.has('feature')) feature.value = p.get('feature');
  if (p.has('q')) text.value = p.get('q');
  apply();
})();
//]]>)";

struct Bar {
  std::string label;
  double value;
  std::string tip;
  const char* fill = "#4a7fc1";
};

std::string Line(int x1, int y1, int x2, int y2) {
  return "<line x1=\"" + std::to_string(x1) + "\" y1=\"" + std::to_string(y1) + "\" x2=\"" +
         std::to_string(x2) + "\" y2=\"" + std::to_string(y2) + "\" stroke=\"#444\"/>";
}

std::string Text(double x, double y, const std::string& s, const std::string& extra = "") {
  return "<text x=\"" + Num(x, "%.1f") + "\" y=\"" + Num(y, "%.1f") + "\"" + extra + ">" + Esc(s) +
         "</text>";
}

// BarChartSvg(): a vertical bar chart; values are drawn to scale from zero.
std::string BarChartSvg(const std::string& id, const std::string& title, const std::string& y_unit,
                        const std::vector<Bar>& bars) {
  const int w = 520, h = 230, left = 50, bottom = 62, top = 34;
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"" + Esc(id) +
                  "\" class=\"chart\" width=\"" + std::to_string(w) + "\" height=\"" +
                  std::to_string(h) + "\" viewBox=\"0 0 " + std::to_string(w) + " " +
                  std::to_string(h) + "\" role=\"img\">";
  s += "<title>" + Esc(title) + "</title>" + Text(left, 14, title);
  int plot_h = h - bottom - top;
  int plot_w = w - left - 10;
  s += Line(left, top, left, top + plot_h) + Line(left, top + plot_h, left + plot_w, top + plot_h);
  if (bars.empty()) return s + Text(left + 20, top + plot_h / 2, "no data in this run") + "</svg>";
  double max = 0;
  for (const auto& b : bars) max = std::max(max, b.value);
  if (max <= 0) max = 1;
  s += Text(2, top + 4, Num(max)) + Text(2, top + plot_h, "0") + Text(2, top + plot_h / 2, y_unit);
  double slot = static_cast<double>(plot_w) / static_cast<double>(bars.size());
  for (size_t i = 0; i < bars.size(); ++i) {
    double bh = std::max(0.0, bars[i].value) / max * plot_h;
    double bw = std::min(slot * 0.8, 56.0);  // one bar does not fill the chart
    double x = left + slot * static_cast<double>(i) + (slot - bw) / 2;
    double y = top + plot_h - bh;
    s += "<rect x=\"" + Num(x, "%.1f") + "\" y=\"" + Num(y, "%.1f") + "\" width=\"" +
         Num(bw, "%.1f") + "\" height=\"" + Num(bh, "%.1f") + "\" fill=\"" + bars[i].fill +
         "\"><title>" +
         Esc(bars[i].tip.empty() ? bars[i].label + ": " + Num(bars[i].value) : bars[i].tip) +
         "</title></rect>";
    if (bars[i].value > 0)  // the value above its bar: a bar of 1 among 300 stays visible
      s += Text(x + bw / 2, y - 3, Num(bars[i].value, "%.4g"), " text-anchor=\"middle\"");
    // Labels are rotated so long device names stay readable.
    double lx = x + bw / 2;
    double ly = top + plot_h + 12;
    s += Text(lx, ly, TruncateUtf8(bars[i].label, 24),
              " transform=\"rotate(30 " + Num(lx, "%.1f") + " " + Num(ly, "%.1f") + ")\"");
  }
  return s + "</svg>";
}

// --- Latency ---------------------------------------------------------------------

// Latencies: durations (ms) by gRPC method or API verb, in first-seen order.
using Latencies = std::vector<std::pair<std::string, std::vector<double>>>;

void AddLatency(Latencies& l, const std::string& key, double ms) {
  auto it = std::find_if(l.begin(), l.end(), [&](const auto& e) { return e.first == key; });
  if (it == l.end()) {
    l.push_back({key, {}});
    it = l.end() - 1;
  }
  it->second.push_back(ms);
}

// CollectLatencies(): gRPC calls by method; API requests by verb (the first
// word of the request, e.g. "create"), only those that were timed.
void CollectLatencies(const RunReport& run, Latencies& grpc, Latencies& api, int& untimed_api) {
  for (const auto& s : run.suites)
    for (const auto& c : s.cases)
      for (const auto& k : c.calls) {
        if (k.kind == "grpc") AddLatency(grpc, k.method, k.duration_ms);
        if (k.kind != "api") continue;
        if (k.duration_ms <= 0) {
          ++untimed_api;
          continue;
        }
        AddLatency(api, Lower(k.method.substr(0, k.method.find(' '))), k.duration_ms);
      }
  auto by_count = [](const auto& a, const auto& b) { return a.second.size() > b.second.size(); };
  std::stable_sort(grpc.begin(), grpc.end(), by_count);
  std::stable_sort(api.begin(), api.end(), by_count);
}

std::string LatencyChart(const std::string& id, const std::string& what,
                         const std::vector<double>& ms) {
  std::vector<Bar> bars;
  for (const auto& b : LogHistogram(ms)) {
    std::string range = FormatMs(b.lo) + " \xE2\x80\x93 " + FormatMs(b.hi);
    bars.push_back({FormatMs(b.lo), static_cast<double>(b.count),
                    range + ": " + std::to_string(b.count) + " calls"});
  }
  std::string h = "<figure class=\"latency\" data-name=\"" + Esc(what) + "\">";
  h += BarChartSvg(id, what + " (log-scale buckets)", "calls", bars);
  h += "<figcaption class=\"stats\">" + std::to_string(ms.size()) +
       (ms.size() == 1 ? " call" : " calls") + "; p50 " + FormatMs(Percentile(ms, 50)) + ", p90 " +
       FormatMs(Percentile(ms, 90)) + ", p99 " + FormatMs(Percentile(ms, 99)) + ", max " +
       FormatMs(ms.empty() ? 0 : *std::max_element(ms.begin(), ms.end())) + "</figcaption>";
  return h + "</figure>";
}

std::string LatencySection(const RunReport& run) {
  Latencies grpc, api;
  int untimed_api = 0;
  CollectLatencies(run, grpc, api, untimed_api);
  std::string h = "<h2 id=\"latency\">Latency</h2>\n<h3>gRPC calls to the driver, per method</h3>";
  h += "<div class=\"charts\" id=\"grpc-latency\">";
  if (grpc.empty()) h += "<p>No gRPC calls in this run.</p>";
  for (size_t i = 0; i < grpc.size(); ++i)
    h += LatencyChart("chart-grpc-" + std::to_string(i), grpc[i].first, grpc[i].second);
  h += "</div>\n<h3>API server requests, per verb</h3><div class=\"charts\" id=\"api-latency\">";
  if (api.empty()) h += "<p>No timed API requests in this run.</p>";
  for (size_t i = 0; i < api.size(); ++i)
    h += LatencyChart("chart-api-" + std::to_string(i), api[i].first, api[i].second);
  h += "</div>\n";
  if (untimed_api > 0)
    h += "<p class=\"stats\">" + std::to_string(untimed_api) +
         " API requests carry no latency (objects drahil wrote itself, e.g. from the driver "
         "profile) and are left out.</p>\n";
  return h;
}

// --- Probe figures -----------------------------------------------------------------

struct Figure {
  std::string unit;
  int n = 0;
  double min = 0, max = 0;
};

struct DeviceFigures {
  std::map<std::string, Figure> figures;  // "check.measurement"
  double peak_gbps = 0;                   // the probe's spec-sheet peak; 0 unknown
};

std::map<std::string, DeviceFigures> CollectProbeFigures(const RunReport& run) {
  std::map<std::string, DeviceFigures> out;
  for (const auto& s : run.suites)
    for (const auto& c : s.cases)
      for (const auto& m : c.measurements) {
        if (m.name.rfind("probe.", 0) != 0) continue;
        auto& d = out[m.device.empty() ? "(unnamed)" : m.device];
        std::string key = m.name.substr(6);
        if (key == "bandwidth.peak") d.peak_gbps = m.value;
        Figure& f = d.figures[key];
        f.unit = m.unit;
        f.min = f.n == 0 ? m.value : std::min(f.min, m.value);
        f.max = f.n == 0 ? m.value : std::max(f.max, m.value);
        ++f.n;
      }
  return out;
}

std::string FormatValue(double v, const std::string& unit) {
  constexpr double kMiB = 1024.0 * 1024, kGiB = kMiB * 1024;
  if (unit == "bytes" && v >= kGiB) return Num(v / kGiB, "%.3g GiB");
  if (unit == "bytes" && v >= kMiB) return Num(v / kMiB, "%.3g MiB");
  if (unit == "fraction") return Num(v * 100, "%.3g %%");
  return Num(v, "%.6g") + (unit.empty() ? "" : " " + unit);
}

std::string DeviceTable(const std::string& device, const DeviceFigures& d) {
  std::string h = "<div class=\"device\"><h3>" + Esc(device) + "</h3>";
  if (d.peak_gbps > 0)
    h += "<p class=\"stats\">memory bandwidth peak (spec sheet): " + Num(d.peak_gbps) + " GB/s</p>";
  bool peak = d.peak_gbps > 0;
  h += "<table class=\"probe-figures\"><tr><th>check.measurement</th><th>runs</th><th>min</th>"
       "<th>max</th>" +
       std::string(peak ? "<th>of peak</th>" : "") + "</tr>";
  for (const auto& [k, f] : d.figures) {
    std::string of_peak;
    // A device-local copy moves every byte twice (read + write).
    if (f.unit == "GB/s" && k != "bandwidth.peak" && peak)
      of_peak = Num(200 * f.max / d.peak_gbps, "%.3g %%");
    h += "<tr><td>" + Esc(k) + "</td><td>" + std::to_string(f.n) + "</td><td>" +
         Esc(FormatValue(f.min, f.unit)) + "</td><td>" + Esc(FormatValue(f.max, f.unit)) + "</td>" +
         (peak ? "<td>" + of_peak + "</td>" : "") + "</tr>";
  }
  return h + "</table></div>\n";
}

std::vector<Bar> BandwidthBars(const RunReport& run,
                               const std::map<std::string, DeviceFigures>& figures) {
  // The best bandwidth per device and transfer, and the device's peak.
  std::map<std::string, double> best;
  for (const auto& s : run.suites)
    for (const auto& c : s.cases)
      for (const auto& m : c.measurements) {
        if (m.name != kProbeBandwidth) continue;
        std::string what;
        for (const auto& [k, v] : m.labels)
          if (k == "measurement") what = " " + v;
        std::string key = (m.device.empty() ? "(unnamed)" : m.device) + what;
        best[key] = std::max(best[key], m.value);
      }
  std::vector<Bar> out;
  for (const auto& [k, v] : best) out.push_back({k, v, k + ": " + Num(v) + " GB/s"});
  for (const auto& [d, f] : figures)
    if (f.peak_gbps > 0)
      out.push_back({d + " peak", f.peak_gbps,
                     d + ": spec-sheet peak " + Num(f.peak_gbps) + " GB/s", "#bbb"});
  return out;
}

int CountCalls(const RunReport& run, const std::string& kind) {
  int n = 0;
  for (const auto& s : run.suites)
    for (const auto& c : s.cases)
      n += static_cast<int>(std::count_if(c.calls.begin(), c.calls.end(),
                                          [&](const CallRecord& k) { return k.kind == kind; }));
  return n;
}

std::string ProbeSection(const RunReport& run) {
  auto figures = CollectProbeFigures(run);
  std::vector<Bar> bars = BandwidthBars(run, figures);
  std::string h = "<h2 id=\"probes\">Probe figures per device</h2>\n";
  bool any_bw = std::any_of(bars.begin(), bars.end(),
                            [](const Bar& b) { return std::string(b.fill) != "#bbb"; });
  if (any_bw) {
    h += "<div>" +
         BarChartSvg("chart-probe-bandwidth", "Probe bandwidth per device (best)", "GB/s", bars) +
         "</div>\n";
  } else {
    int runs = CountCalls(run, "probe");
    h += "<p id=\"no-bandwidth\">No bandwidth figures: " +
         (runs == 0 ? std::string("no probe ran in this run.")
                    : std::to_string(runs) +
                          " probe runs ran no bandwidth check (it measures only where a case "
                          "asks for it); what they measured is below.") +
         "</p>\n";
  }
  for (const auto& [d, f] : figures) h += DeviceTable(d, f);
  return h;
}

// --- Certification -------------------------------------------------------------------

std::string CertificationSection(const RunReport& run) {
  std::string h =
      "<h2 id=\"certification\">Certification</h2>\n<table id=\"feature-matrix\"><tr>"
      "<th>feature</th><th>claimed</th><th>status</th><th>cases</th><th>pass</th><th>fail</th>"
      "<th>error</th><th>skip</th><th>skipped because</th></tr>\n";
  auto cell = [](int n, const char* cls) {
    return std::string("<td class=\"") + (n > 0 ? cls : "zero") + "\">" + std::to_string(n) +
           "</td>";
  };
  for (const auto& f : Certify(run)) {
    std::string reasons;
    for (const auto& r : f.skip_reasons) reasons += (reasons.empty() ? "" : "<br/>") + Esc(r);
    const char* cls = f.status == "failed" ? "fail" : f.status == "verified" ? "pass" : "skip";
    std::string claimed = f.claimed ? "yes" : "no";
    if (!f.capability.empty()) claimed += " (" + f.capability + ")";
    h += "<tr data-feature=\"" + Esc(f.feature) + "\" title=\"show these cases\"><td>" +
         Esc(FeatureLabel(f.feature)) + "</td><td>" + Esc(claimed) + "</td><td class=\"" + cls +
         "\">" + Esc(f.status) + "</td><td>" +
         std::to_string(f.passed + f.failed + f.errors + f.skipped) + "</td>" +
         cell(f.passed, "pass") + cell(f.failed, "fail") + cell(f.errors, "error") +
         cell(f.skipped, "skip") + "<td>" + reasons + "</td></tr>\n";
  }
  return h + "</table>\n";
}

std::string SummaryCards(const RunReport& run) {
  Counts total = CountRun(run);
  auto card = [](const char* v, int n, const char* what) {
    return std::string("<span class=\"") + v + "\" data-verdict=\"" + v + "\">" +
           std::to_string(n) + " " + what + "</span>";
  };
  std::string h = "<p class=\"cards\" id=\"summary\"><span data-verdict=\"\">" +
                  std::to_string(total.tests) + " cases</span>";
  h += card("pass", total.passed, "passed") + card("fail", total.failures, "failed") +
       card("error", total.errors, "errors") + card("skip", total.skipped, "skipped");
  if (total.flaky > 0) h += "<span class=\"fail\">" + std::to_string(total.flaky) + " flaky</span>";
  return h + "</p>\n";
}

// --- Cases ---------------------------------------------------------------------------

std::string FilterBar(const RunReport& run) {
  std::set<std::string> features;
  for (const auto& s : run.suites)
    for (const auto& c : s.cases) features.insert(FeatureOf(s, c));
  std::string h =
      "<div class=\"filters\" id=\"filters\"><label>verdict <select id=\"f-verdict\">"
      "<option value=\"\">all</option><option value=\"fail\">fail</option>"
      "<option value=\"error\">error</option><option value=\"skip\">skip</option>"
      "<option value=\"pass\">pass</option></select></label><label>feature "
      "<select id=\"f-feature\"><option value=\"\">all</option>";
  for (const auto& f : features)
    h += "<option value=\"" + Esc(f) + "\">" + Esc(FeatureLabel(f)) + "</option>";
  h += "</select></label><label>text <input id=\"f-text\" type=\"search\" "
       "placeholder=\"case, message, method\"/></label>"
       "<button type=\"button\" id=\"f-expand\">expand shown</button> "
       "<button type=\"button\" id=\"f-collapse\">collapse all</button> "
       "<span id=\"f-count\"></span></div>\n";
  return h;
}

std::string SearchText(const SuiteResult& s, const CaseResult& c) {
  std::string t = s.name + " " + c.id + " " + c.title + " " + c.feature + " " +
                  FeatureLabel(c.feature) + " " + std::string(VerdictName(c.verdict)) + " " +
                  c.type + " " + TruncateUtf8(c.message, 2000);
  for (const auto& tag : c.tags) t += " " + tag;
  return Lower(t);
}

std::string StepsTable(const CaseResult& c) {
  std::string rows;
  for (const auto& k : c.calls) {
    if (k.kind != "step") continue;
    const char* cls = k.code == "pass" ? "" : " class=\"bad\"";
    rows += "<tr><td>" + Esc(k.method) + "</td><td" + cls + ">" + Esc(k.code) + "</td><td>" +
            Num(k.at_s, "%.3f") + "</td><td>" + Esc(FormatMs(k.duration_ms)) + "</td><td>" +
            Esc(k.detail) + "</td></tr>";
  }
  if (rows.empty()) return "";
  return "<h3>Steps</h3><table class=\"steps\"><tr><th>step</th><th>verdict</th><th>ended at "
         "(s)</th><th>took</th><th>where</th></tr>" +
         rows + "</table>";
}

bool GoodCode(const std::string& code) {
  return code.empty() || code == "OK" || code == "pass" || code == "exit code 0" ||
         code.rfind("pid ", 0) == 0 || code.rfind("2", 0) == 0;
}

// CallsTimeline(): every call but steps and probe output, with a bar from its
// start to its end on the case's time axis (calls are logged when they end).
std::string CallsTimeline(const CaseResult& c, size_t max_rows) {
  double span = c.duration_s;
  for (const auto& k : c.calls) span = std::max(span, k.at_s);
  if (span <= 0) span = 1;
  std::string rows;
  size_t n = 0, left_out = 0;
  for (const auto& k : c.calls) {
    if (k.kind == "step") continue;
    if (++n > max_rows) {
      ++left_out;
      continue;
    }
    double start = std::max(0.0, k.at_s - k.duration_ms / 1000);
    std::string bar = "<span class=\"tl\"><i style=\"left:" + Num(100 * start / span, "%.2f") +
                      "%;width:" + Num(100 * (k.at_s - start) / span, "%.2f") + "%\"></i></span>";
    std::string detail = k.kind == "probe" ? "(probe output below)" : FirstLine(k.detail);
    rows += "<tr class=\"k-" + Esc(k.kind) + "\"><td>" + Num(k.at_s, "%.3f") + "</td><td>" +
            Esc(k.kind) + "</td><td>" + Esc(TruncateUtf8(k.method, 160)) + "</td><td" +
            (GoodCode(k.code) ? "" : " class=\"bad\"") + ">" + Esc(k.code) + "</td><td>" +
            (k.duration_ms > 0 ? Esc(FormatMs(k.duration_ms)) : "") + "</td><td>" + bar +
            "</td><td>" + Esc(TruncateUtf8(detail, 300)) + "</td></tr>";
  }
  if (rows.empty()) return "";
  std::string h =
      "<h3>Calls</h3><table class=\"calls\"><tr><th>ended (s)</th><th>kind</th>"
      "<th>what</th><th>result</th><th>took</th><th>timeline 0\xE2\x80\x93" +
      Num(span, "%.2f") + " s</th><th>detail</th></tr>" + rows + "</table>";
  if (left_out > 0)
    h += "<p class=\"stats\">" + std::to_string(left_out) +
         " more calls not shown (report.json has them all).</p>";
  return h;
}

std::string ProbeOutput(const CaseResult& c, size_t cap) {
  std::string out;
  for (const auto& k : c.calls)
    if (k.kind == "probe")
      out += "$ " + k.method + "  -> " + k.code + "\n" + k.detail + (k.detail.empty() ? "" : "\n");
  if (out.empty()) return "";
  return "<h3>Probe output</h3><pre class=\"probe-output\">" + Esc(TruncateUtf8(out, cap)) +
         "</pre>";
}

std::string CaseBody(const CaseResult& c, const RenderOptions& opts) {
  std::string h;
  if (!c.title.empty()) h += "<p>" + Esc(c.title) + "</p>";
  if (!c.message.empty())
    h += "<pre class=\"message\">" + Esc(TruncateUtf8(c.message, opts.max_case_output_bytes)) +
         "</pre>";
  if (!c.attempts.empty()) {
    h += "<p>attempts:";
    for (const auto& a : c.attempts) h += " " + Esc(std::string(VerdictName(a.verdict)));
    h += "</p>";
  }
  std::string props;
  for (const auto& [k, v] : c.properties) props += (props.empty() ? "" : ", ") + k + "=" + v;
  if (!props.empty()) h += "<p class=\"stats\">" + Esc(props) + "</p>";
  h += StepsTable(c) + CallsTimeline(c, 300) + ProbeOutput(c, opts.max_case_output_bytes);
  if (!c.driver_log.empty())
    h += "<h3>Driver log (end)</h3><pre class=\"driver-log\">" +
         Esc(TruncateUtf8(c.driver_log, opts.max_case_output_bytes)) + "</pre>";
  if (!c.output.empty())
    h += "<h3>Output</h3><pre class=\"output\">" +
         Esc(TruncateUtf8(c.output, opts.max_case_output_bytes)) + "</pre>";
  return h;
}

std::string CaseView(const SuiteResult& s, const CaseResult& c, int n, const RenderOptions& opts) {
  const char* v = VerdictClass(c.verdict);
  bool bad = c.verdict == Verdict::kFail || c.verdict == Verdict::kError;
  std::string h = "<details class=\"case\" id=\"case-" + std::to_string(n) + "\" data-verdict=\"" +
                  v + "\" data-feature=\"" + Esc(FeatureOf(s, c)) + "\" data-search=\"" +
                  Esc(SearchText(s, c)) + "\"" + (bad ? " open=\"open\"" : "") +
                  "><summary><span class=\"badge " + v + "\">" + v + (c.flaky ? " (flaky)" : "") +
                  "</span><b>" + Esc(s.name) + " / " + Esc(c.id) + "</b><span class=\"feat\">" +
                  Esc(FeatureLabel(FeatureOf(s, c))) + "</span><span class=\"dur\">" +
                  Num(c.duration_s, "%.2f") + " s</span>";
  if (!c.message.empty())
    h += "<span class=\"why\">" + Esc(TruncateUtf8(FirstLine(c.message), 200)) + "</span>";
  return h + "</summary>" + CaseBody(c, opts) + "</details>\n";
}

}  // namespace

std::string RenderHtml(const RunReport& run, const RenderOptions& opts) {
  std::string h;
  h += "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n";
  h += "<meta charset=\"utf-8\"/>\n<title>drahil report: " + Esc(run.driver_name) +
       "</title>\n<style>" + std::string(kStyle) + "</style>\n</head>\n<body>\n";
  h += "<h1>drahil report: " + Esc(run.driver_name) + " " + Esc(run.driver_version) + "</h1>\n";
  if (run.partial) {
    h += "<p class=\"partial\" id=\"partial\">Partial report: " +
         Esc(run.interruption.empty() ? "run interrupted" : run.interruption) +
         ". Only cases that finished are shown.</p>\n";
  }
  h += "<table id=\"run\"><tr><th>node</th><td>" + Esc(run.node) +
       "</td></tr><tr><th>hardware</th><td>" + Esc(run.hardware) +
       "</td></tr><tr><th>Kubernetes</th><td>" +
       Esc(run.kubernetes_version.empty() ? "-" : run.kubernetes_version) +
       Esc(run.feature_gates.empty() ? "" : " (feature gates: " + run.feature_gates + ")") +
       "</td></tr><tr><th>seed</th><td>" +
       (run.seed
            ? std::to_string(*run.seed) + " (rerun with --seed " + std::to_string(*run.seed) + ")"
            : std::string("none (fixed pool order)")) +
       "</td></tr><tr><th>started</th><td>" + Esc(FormatJUnitTimestamp(run.started)) +
       "Z</td></tr><tr><th>duration</th><td>" + Num(run.duration_s, "%.1f") +
       " s</td></tr></table>\n";
  h += SummaryCards(run) + CertificationSection(run) + LatencySection(run) + ProbeSection(run);
  h += "<h2 id=\"cases\">Cases</h2>\n" + FilterBar(run) + "<div id=\"case-list\">\n";
  int n = 0;
  for (const auto& s : run.suites)
    for (const auto& c : s.cases) h += CaseView(s, c, n++, opts);
  h += "</div>\n<script>" + std::string(kScript) + "</script>\n</body>\n</html>\n";
  return h;
}

}  // namespace drahil::reports
