// JSON report: everything in the model, including every measurement and call,
// so other tools can re-render or compare runs. Schema id "drahil.report/v1".
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>

#include "drahil/reports/certification.hpp"
#include "drahil/reports/writers.hpp"

namespace drahil::reports {
namespace {

using nlohmann::json;

constexpr const char* kSchema = "drahil.report/v1";

std::string Iso(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<std::chrono::system_clock::time_point> ParseIso(const std::string& s) {
  std::tm tm{};
  const char* end = ::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

json PropsToJson(const Properties& p) {
  json a = json::array();
  for (const auto& [k, v] : p) a.push_back({{"name", k}, {"value", v}});
  return a;
}

Properties PropsFromJson(const json& a) {
  Properties p;
  for (const auto& e : a)
    p.emplace_back(e.at("name").get<std::string>(), e.at("value").get<std::string>());
  return p;
}

json CaseToJson(const CaseResult& c) {
  json j = {{"id", c.id},
            {"title", c.title},
            {"feature", c.feature},
            {"tags", c.tags},
            {"verdict", std::string(VerdictName(c.verdict))},
            {"message", c.message},
            {"type", c.type},
            {"duration_s", c.duration_s},
            {"properties", PropsToJson(c.properties)},
            {"flaky", c.flaky},
            {"output", c.output},
            {"driver_log", c.driver_log}};
  json calls = json::array();
  for (const auto& k : c.calls) {
    calls.push_back({{"at_s", k.at_s},
                     {"kind", k.kind},
                     {"method", k.method},
                     {"code", k.code},
                     {"duration_ms", k.duration_ms},
                     {"detail", k.detail}});
  }
  j["calls"] = std::move(calls);
  json ms = json::array();
  for (const auto& m : c.measurements) {
    ms.push_back({{"name", m.name},
                  {"value", m.value},
                  {"unit", m.unit},
                  {"device", m.device},
                  {"labels", PropsToJson(m.labels)}});
  }
  j["measurements"] = std::move(ms);
  json at = json::array();
  for (const auto& a : c.attempts) {
    at.push_back({{"verdict", std::string(VerdictName(a.verdict))},
                  {"message", a.message},
                  {"duration_s", a.duration_s}});
  }
  j["attempts"] = std::move(at);
  return j;
}

Verdict VerdictFrom(const json& j) {
  auto v = ParseVerdict(j.get<std::string>());
  if (!v) throw std::runtime_error("unknown verdict \"" + j.get<std::string>() + "\"");
  return *v;
}

CaseResult CaseFromJson(const json& j) {
  CaseResult c;
  c.id = j.at("id").get<std::string>();
  c.title = j.value("title", "");
  c.feature = j.value("feature", "");
  c.tags = j.value("tags", std::vector<std::string>{});
  c.verdict = VerdictFrom(j.at("verdict"));
  c.message = j.value("message", "");
  c.type = j.value("type", "");
  c.duration_s = j.value("duration_s", 0.0);
  c.properties = PropsFromJson(j.value("properties", json::array()));
  c.flaky = j.value("flaky", false);
  c.output = j.value("output", "");
  c.driver_log = j.value("driver_log", "");
  for (const auto& k : j.value("calls", json::array())) {
    c.calls.push_back({k.value("at_s", 0.0), k.value("kind", ""), k.value("method", ""),
                       k.value("code", ""), k.value("duration_ms", 0.0), k.value("detail", "")});
  }
  for (const auto& m : j.value("measurements", json::array())) {
    c.measurements.push_back({m.at("name").get<std::string>(), m.at("value").get<double>(),
                              m.value("unit", ""), m.value("device", ""),
                              PropsFromJson(m.value("labels", json::array()))});
  }
  for (const auto& a : j.value("attempts", json::array())) {
    c.attempts.push_back(
        {VerdictFrom(a.at("verdict")), a.value("message", ""), a.value("duration_s", 0.0)});
  }
  return c;
}

}  // namespace

std::string RenderJson(const RunReport& run) {
  Counts counts = CountRun(run);
  json j = {
      {"schema", kSchema},
      {"driver", {{"name", run.driver_name}, {"version", run.driver_version}}},
      {"node", run.node},
      {"hardware", run.hardware},
      {"kubernetes", {{"version", run.kubernetes_version}, {"featureGates", run.feature_gates}}},
      // A string: a 64-bit seed does not survive a JSON reader that holds
      // numbers as doubles.
      {"seed", run.seed ? json(std::to_string(*run.seed)) : json(nullptr)},
      {"started", Iso(run.started)},
      {"duration_s", run.duration_s},
      {"partial", run.partial},
      {"interruption", run.interruption},
      {"summary",
       {{"tests", counts.tests},
        {"passed", counts.passed},
        {"failures", counts.failures},
        {"errors", counts.errors},
        {"skipped", counts.skipped},
        {"flaky", counts.flaky}}}};
  json suites = json::array();
  for (const auto& s : run.suites) {
    json cases = json::array();
    for (const auto& c : s.cases) cases.push_back(CaseToJson(c));
    suites.push_back({{"name", s.name},
                      {"file", s.file},
                      {"timestamp", Iso(s.timestamp)},
                      {"hostname", s.hostname},
                      {"duration_s", s.duration_s},
                      {"properties", PropsToJson(s.properties)},
                      {"cases", std::move(cases)}});
  }
  j["suites"] = std::move(suites);
  j["claimed"] = run.claimed;
  json cert = json::array();
  for (const auto& f : Certify(run)) {
    cert.push_back({{"feature", f.feature},
                    {"name", f.name},
                    {"capability", f.capability},
                    {"claimed", f.claimed},
                    {"status", f.status},
                    {"passed", f.passed},
                    {"failed", f.failed},
                    {"errors", f.errors},
                    {"skipped", f.skipped},
                    {"skip_reasons", f.skip_reasons}});
  }
  j["certification"] = std::move(cert);
  // Drivers can return anything; invalid UTF-8 becomes U+FFFD instead of
  // making dump() throw.
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<RunReport> ParseJsonReport(const std::string& text) {
  try {
    json j = json::parse(text);
    if (j.value("schema", "") != kSchema) {
      return InvalidArgumentError(std::string("report: schema is not ") + kSchema);
    }
    RunReport r;
    r.driver_name = j.at("driver").value("name", "");
    r.driver_version = j.at("driver").value("version", "");
    r.node = j.value("node", "");
    r.hardware = j.value("hardware", "");
    if (j.contains("kubernetes") && j["kubernetes"].is_object()) {
      r.kubernetes_version = j["kubernetes"].value("version", "");
      r.feature_gates = j["kubernetes"].value("featureGates", "");
    }
    if (j.contains("seed") && j["seed"].is_string()) {
      const std::string& text = j["seed"].get_ref<const std::string&>();
      char* end = nullptr;
      errno = 0;
      uint64_t v = std::strtoull(text.c_str(), &end, 10);
      if (text.empty() || text[0] == '-' || errno != 0 || *end != '\0')
        return InvalidArgumentError("report: seed is not a number: \"" + text + "\"");
      r.seed = v;
    }
    if (auto t = ParseIso(j.value("started", ""))) r.started = *t;
    r.duration_s = j.value("duration_s", 0.0);
    r.partial = j.value("partial", false);
    r.interruption = j.value("interruption", "");
    for (const auto& c : j.value("claimed", json::array()))
      r.claimed.push_back(c.get<std::string>());
    for (const auto& s : j.at("suites")) {
      SuiteResult sr;
      sr.name = s.at("name").get<std::string>();
      sr.file = s.value("file", "");
      if (auto t = ParseIso(s.value("timestamp", ""))) sr.timestamp = *t;
      sr.hostname = s.value("hostname", "");
      sr.duration_s = s.value("duration_s", 0.0);
      sr.properties = PropsFromJson(s.value("properties", json::array()));
      for (const auto& c : s.at("cases")) sr.cases.push_back(CaseFromJson(c));
      r.suites.push_back(std::move(sr));
    }
    return r;
  } catch (const std::exception& e) {
    return InvalidArgumentError(std::string("report: ") + e.what());
  }
}

}  // namespace drahil::reports
