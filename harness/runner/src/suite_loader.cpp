// The loader for drahil.suite/v1. The format is described as schema data
// (below) so the docs, the checks and the error messages agree.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <regex>
#include <set>

#include "drahil/core/feature_gates.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/formats/yaml_json.hpp"
#include "drahil/runner/binding.hpp"
#include "drahil/runner/suite.hpp"
#include "loader_common.hpp"
#include "schema.hpp"

namespace drahil::runner {

using namespace schema;  // NOLINT: the schema DSL reads better unqualified here
using loader::CheckCapabilities;
using loader::ParseYaml;
using loader::ProbeBackends;
using loader::ToJson;

std::string Location::ToString() const {
  std::string s = file.empty() ? "<input>" : file;
  if (line > 0) s += ":" + std::to_string(line);
  if (column > 0) s += ":" + std::to_string(column);
  return s;
}

Result<Duration> ParseDuration(std::string_view text) {
  static const std::regex kPart(R"(([0-9]+(?:\.[0-9]+)?)(ms|s|m|h))");
  std::string s(text);
  if (s.empty()) return InvalidArgumentError("empty duration");
  double total_ms = 0;
  auto begin = std::sregex_iterator(s.begin(), s.end(), kPart);
  size_t pos = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    if (static_cast<size_t>(it->position()) != pos) break;
    double v = std::stod((*it)[1].str());
    std::string unit = (*it)[2].str();
    double mult = unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "m" ? 60000 : 3600000;
    total_ms += v * mult;
    pos += static_cast<size_t>(it->length());
  }
  if (pos != s.size() || pos == 0) {
    return InvalidArgumentError("bad duration \"" + s +
                                "\" (expected e.g. 500ms, 30s, 2m, 1h, 1m30s)");
  }
  if (total_ms > 7 * 24 * 3600e3)
    return InvalidArgumentError("duration \"" + s + "\" is longer than a week");
  return Duration(static_cast<long long>(std::ceil(total_ms)));
}

std::string FormatDuration(Duration d) {
  auto ms = d.count();
  if (ms % 3600000 == 0 && ms > 0) return std::to_string(ms / 3600000) + "h";
  if (ms % 60000 == 0 && ms > 0) return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0 && ms > 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string Manifest::Kind() const { return object.value("kind", ""); }

std::string Manifest::Ref() const {
  std::string ns, name;
  if (object.contains("metadata") && object["metadata"].is_object()) {
    ns = object["metadata"].value("namespace", "");
    name = object["metadata"].value("name", "");
    if (name.empty()) name = object["metadata"].value("generateName", "") + "*";
  }
  return Kind() + " " + (ns.empty() ? "" : ns + "/") + name;
}

const std::vector<std::string>& StepKinds() {
  static const std::vector<std::string> kKinds = {"apply",   "delete",     "allocate",    "run-pod",
                                                  "prepare", "unprepare",  "expect",      "inject",
                                                  "wait",    "eventually", "consistently"};
  return kKinds;
}

namespace {

const std::vector<std::string> kManifestKinds = {
    "Namespace", "DeviceClass",     "ResourceClaim", "ResourceClaimTemplate",
    "Pod",       "DeviceTaintRule", "ResourceSlice", "ConfigMap"};

SchemaPtr ValueCheck() {
  return Map({Req("name", Str()), Opt("equals", Num()), Opt("min", Num()), Opt("max", Num()),
              Opt("tolerance", Num()), Opt("device", Str())});
}

SchemaPtr StepSchema(const std::string& kind) {
  static const std::map<std::string, SchemaPtr> kSchemas = [] {
    std::map<std::string, SchemaPtr> m;
    auto fixture_map =
        Map({Opt("path", Str()), Opt("manifest", FreeMap()), Opt("manifests", Seq(FreeMap(), 1)),
             Opt("expect-status", Int(100)), Opt("expect-reason", Str())},
            {{"path", "manifest", "manifests"}});
    m["apply"] = Alt({Str(), fixture_map});
    m["delete"] = Map({Req("kind", Enum(kManifestKinds)), Req("name", Str()),
                       Opt("namespace", Str()), Opt("expect-status", Int(100))});
    m["allocate"] =
        Alt({Str(), Map({Req("claim", Str()), Opt("expect", Enum({"allocated", "unsatisfiable"})),
                         Opt("devices", Int(0))})});
    m["run-pod"] = Alt({Str(), Map({Opt("pod", Str()), Opt("pods", Seq(Str(), 2)),
                                    Opt("expect-probe", Enum({"pass", "fail"})),
                                    Opt("expect-exit", Int(0)), Opt("keep-prepared", Bool()),
                                    Opt("expect-binding", Enum({"bound", "failed", "timeout"})),
                                    Opt("binding-timeout", Dur()),
                                    Opt("expect-schedule", Enum({"scheduled", "unschedulable"})),
                                    Opt("expect-start", Enum({"started", "failed"})),
                                    Opt("values", Seq(ValueCheck()))},
                                   {{"pod", "pods"}})});
    auto raw = Map({Opt("claims", Seq(Str(), 0)), Opt("pod", Str()), Opt("replay", Int(1)),
                    Opt("concurrent", Bool()), Opt("expect-code", Code({"any"})),
                    Opt("expect-refused", Bool()), Opt("uid", Enum({"stale"})),
                    Opt("api", Enum({"v1", "v1beta1"}))},
                   {{"claims", "pod"}});
    m["prepare"] = raw;
    m["unprepare"] = raw;
    m["expect"] = Map(
        {Opt("grpc-code", Code()),
         Opt("claim-error", Map({Req("claim", Str()), Opt("contains", Str()), Opt("empty", Bool()),
                                 Opt("message", Name())})),
         Opt("cdi-ids",
             Map({Req("claim", Str()), Opt("count", Int(0)), Opt("matches", Seq(Regex())),
                  Opt("prefix", Str()), Opt("cover", Bool())})),
         Opt("slices", Map({Opt("driver", Str()), Opt("pool", Str()), Opt("count", Int(0)),
                            Opt("devices", Int(0)), Opt("min-devices", Int(0)),
                            Opt("device-attributes", FreeMap()), Opt("within", Dur())})),
         Opt("claim-status",
             Map({Req("claim", Str()), Opt("allocated", Bool()), Opt("devices", Int(0)),
                  Opt("reserved-for", Int(0)),
                  Opt("condition",
                      Map({Req("type", Str()), Req("status", Enum({"True", "False", "Unknown"}))})),
                  Opt("within", Dur())})),
         Opt("probe",
             Map({Req("pod", Str()), Opt("container", Str()),
                  Opt("verdict", Enum({"pass", "fail"})), Opt("values", Seq(ValueCheck()))})),
         Opt("pod-resources", Map({Req("pod", Str()), Opt("container", Str()),
                                   Opt("devices", Int(0)), Opt("present", Bool())})),
         Opt("resource-status", Map({Req("pod", Str()), Req("container", Str()), Opt("name", Str()),
                                     Req("health", Enum({"Healthy", "Unhealthy", "Unknown"})),
                                     Opt("count", Int(0)), Opt("within", Dur())})),
         Opt("driver-growth", Map({Opt("max-fds", Int(0)), Opt("max-rss-mib", Num())})),
         Opt("health",
             Map({Req("device", Str()), Req("state", Enum({"Healthy", "Unhealthy", "Unknown"})),
                  Opt("within", Dur())})),
         Opt("taints", Map({Opt("device", Str()), Opt("key", Str()), Opt("count", Int(0)),
                            Opt("effect", Enum({"NoSchedule", "NoExecute", "None"})),
                            Opt("absent", Bool()), Opt("within", Dur())})),
         Opt("audit", Map({Opt("max-findings", Int(0)), Opt("forbid", Seq(Str())),
                           Opt("max-severity", Enum({"info", "warning", "high", "critical"}))})),
         Opt("api-audit", Map({Opt("verb", Str()), Opt("resource", Str()), Opt("user", Str()),
                               Opt("min", Int(0)), Opt("max", Int(0))})),
         Opt("calls", StringMap()),
         Opt("registration", Map({Req("services", Seq(Str(), 1))})),
         Opt("cdi-clean", Map({Req("claims", Seq(Str(), 1))})),
         Opt("counters", Map({Opt("kind", Str()), Opt("min-devices", Int(0))})),
         Opt("pool-generation", Map({Opt("record", Bool()), Opt("increased", Bool()),
                                     Opt("contains", Str()), Opt("within", Dur())},
                                    {{"record", "increased"}})),
         Opt("share-ids", Map({Req("claim", Str())})),
         Opt("pod-status",
             Map({Req("pod", Str()), Opt("bound", Bool()),
                  Opt("phase", Enum({"Pending", "Running", "Succeeded", "Failed", "Unknown"})),
                  Opt("condition",
                      Map({Req("type", Str()), Req("status", Enum({"True", "False", "Unknown"})),
                           Opt("reason", Str())})),
                  Opt("event", Str()), Opt("within", Dur())}))},
        {}, /*at_least_one=*/true);
    m["inject"] = Map(
        {Opt("device-fault", Map({Req("device", Str()),
                                  Req("fault", Enum({"xid", "lost", "ecc", "pcie-aer",
                                                     "fpga-region-error", "clear"})),
                                  Opt("xid", Int(0))})),
         Opt("driver", Enum({"kill", "terminate", "restart", "sigstop", "sigcont"})),
         Opt("after", Alt({Dur(), Map({Req("max", Dur()), Opt("min", Dur())})})),
         Opt("reboot", Bool()), Opt("kubelet", Enum({"restart", "restart-no-replay"})),
         Opt("api-fault", Map({Req("type", Enum({"status", "latency", "drop-watch", "clear"})),
                               Opt("status", Int(100)), Opt("latency", Dur()), Opt("path", Regex()),
                               Opt("verb", Str()), Opt("times", Int(1)), Opt("for", Dur())}))},
        {{"device-fault", "driver", "reboot", "kubelet", "api-fault"}});
    m["wait"] = Alt({Dur(), Map({Req("for", Dur())})});
    m["eventually"] = Map({Req("timeout", Dur()), Opt("interval", Dur()), Req("steps", Steps())});
    m["consistently"] = Map({Req("for", Dur()), Opt("interval", Dur()), Req("steps", Steps())});
    return m;
  }();
  auto it = kSchemas.find(kind);
  return it == kSchemas.end() ? nullptr : it->second;
}

Status CheckManifest(const nlohmann::json& o, const YAML::Node& n, const Where& w) {
  if (!o.is_object()) return ErrorAt(n, w, "a manifest must be a mapping");
  if (!o.contains("apiVersion") || !o["apiVersion"].is_string()) {
    return ErrorAt(n, w, "manifest has no apiVersion");
  }
  if (!o.contains("kind") || !o["kind"].is_string()) return ErrorAt(n, w, "manifest has no kind");
  std::string kind = o["kind"];
  if (std::find(kManifestKinds.begin(), kManifestKinds.end(), kind) == kManifestKinds.end()) {
    std::string allowed;
    for (const auto& k : kManifestKinds) allowed += (allowed.empty() ? "" : ", ") + k;
    return ErrorAt(n, w.Key("kind"),
                   "kind \"" + kind + "\" is not supported (supported: " + allowed + ")");
  }
  std::string api = o["apiVersion"];
  bool core = kind == "Namespace" || kind == "Pod" || kind == "ConfigMap";
  if (core ? api != "v1" : api.rfind("resource.k8s.io/", 0) != 0) {
    return ErrorAt(n, w.Key("apiVersion"), "apiVersion \"" + api + "\" does not serve " + kind);
  }
  if (!o.contains("metadata") || !o["metadata"].is_object())
    return ErrorAt(n, w, "manifest has no metadata");
  const auto& md = o["metadata"];
  bool has_name =
      md.contains("name") && md["name"].is_string() && !md["name"].get<std::string>().empty();
  bool has_gen = md.contains("generateName") && md["generateName"].is_string();
  if (!has_name && !has_gen) return ErrorAt(n, w.Key("metadata"), "needs name or generateName");
  return OkStatus();
}

Result<std::vector<Manifest>> LoadManifestFile(const std::string& rel, const std::string& base_file,
                                               const YAML::Node& at, const Where& w) {
  std::string path = rel;
  if (!rel.empty() && rel[0] != '/') {
    path = (std::filesystem::path(base_file).parent_path() / rel).lexically_normal().string();
  }
  auto text = ReadFile(path, 16u << 20);
  if (!text.ok()) return ErrorAt(at, w, "cannot read manifest file: " + text.status().message());
  DRAHIL_ASSIGN_OR_RETURN(std::vector<YAML::Node> docs, formats::ParseYamlStream(*text, path));
  DRAHIL_RETURN_IF_ERROR(formats::CheckYamlLimits(docs, path));
  std::vector<Manifest> out;
  Where inner{path, ""};
  for (size_t i = 0; i < docs.size(); ++i) {
    if (docs[i].IsNull()) continue;
    Where dw = docs.size() > 1 ? Where{path, "document[" + std::to_string(i) + "]"} : inner;
    DRAHIL_RETURN_IF_ERROR(Check(docs[i], *FreeMap(), dw));
    DRAHIL_ASSIGN_OR_RETURN(nlohmann::json object, ToJson(docs[i], path));
    Manifest m{std::move(object), LocOf(docs[i], path)};
    DRAHIL_RETURN_IF_ERROR(CheckManifest(m.object, docs[i], dw));
    out.push_back(std::move(m));
  }
  if (out.empty()) return ErrorAt(at, w, "manifest file " + path + " holds no objects");
  return out;
}

// Fixtures and apply steps: a path (string), or {path|manifest|manifests}.
Result<std::vector<Manifest>> LoadManifests(const YAML::Node& n, const Where& w,
                                            const std::string& file) {
  std::vector<Manifest> out;
  auto add_inline = [&](const YAML::Node& m, const Where& mw) -> Status {
    DRAHIL_ASSIGN_OR_RETURN(nlohmann::json object, ToJson(m, file));
    Manifest man{std::move(object), LocOf(m, file)};
    DRAHIL_RETURN_IF_ERROR(CheckManifest(man.object, m, mw));
    out.push_back(std::move(man));
    return OkStatus();
  };
  if (n.IsScalar()) return LoadManifestFile(n.Scalar(), file, n, w);
  if (n["path"]) return LoadManifestFile(n["path"].Scalar(), file, n["path"], w.Key("path"));
  if (n["manifest"]) DRAHIL_RETURN_IF_ERROR(add_inline(n["manifest"], w.Key("manifest")));
  if (n["manifests"]) {
    for (size_t i = 0; i < n["manifests"].size(); ++i) {
      DRAHIL_RETURN_IF_ERROR(add_inline(n["manifests"][i], w.Key("manifests").Index(i)));
    }
  }
  return out;
}

SchemaPtr FixtureSchema() {
  return Alt({Str(), Map({Opt("path", Str()), Opt("manifest", FreeMap()),
                          Opt("manifests", Seq(FreeMap(), 1))},
                         {{"path", "manifest", "manifests"}})});
}

Result<std::vector<Manifest>> LoadFixtures(const YAML::Node& n, const Where& w,
                                           const std::string& file) {
  std::vector<Manifest> out;
  if (!n) return out;
  for (size_t i = 0; i < n.size(); ++i) {
    DRAHIL_ASSIGN_OR_RETURN(auto ms, LoadManifests(n[i], w.Index(i), file));
    for (auto& m : ms) out.push_back(std::move(m));
  }
  return out;
}

Result<std::vector<Step>> ParseSteps(const YAML::Node& n, const Where& w, size_t min_items,
                                     int depth);

Result<Step> ParseStep(const YAML::Node& n, const Where& w, int depth) {
  if (!n.IsMap())
    return ErrorAt(n, w, std::string("a step must be a mapping like {prepare: {...}}"));
  Step step;
  step.where = LocOf(n, w.file);
  std::set<std::string> seen;
  YAML::Node params;
  Where pw = w;
  for (auto it = n.begin(); it != n.end(); ++it) {
    if (!it->first.IsScalar()) return ErrorAt(it->first, w, "keys must be strings");
    std::string k = it->first.Scalar();
    if (!seen.insert(k).second) return ErrorAt(it->first, w.Key(k), "duplicate key");
    if (k == "timeout") {
      DRAHIL_RETURN_IF_ERROR(Check(it->second, *Dur(), w.Key(k)));
      step.timeout = *ParseDuration(it->second.Scalar());
    } else if (k == "name") {
      DRAHIL_RETURN_IF_ERROR(Check(it->second, *Str(), w.Key(k)));
      step.name = it->second.Scalar();
    } else if (StepSchema(k) != nullptr) {
      if (!step.kind.empty()) {
        return ErrorAt(it->first, w.Key(k),
                       "a step has one kind; found \"" + step.kind + "\" and \"" + k + "\"");
      }
      step.kind = k;
      params = it->second;
      pw = w.Key(k);
    } else {
      std::string kinds;
      for (const auto& s : StepKinds()) kinds += (kinds.empty() ? "" : ", ") + s;
      return ErrorAt(it->first, w.Key(k),
                     "unknown step kind (known: " + kinds + "; also timeout, name)");
    }
  }
  if (step.kind.empty()) return ErrorAt(n, w, "step has no kind");
  DRAHIL_RETURN_IF_ERROR(Check(params, *StepSchema(step.kind), pw));
  DRAHIL_ASSIGN_OR_RETURN(step.params, ToJson(params, w.file));
  if (step.kind == "apply") {
    DRAHIL_ASSIGN_OR_RETURN(step.manifests, LoadManifests(params, pw, w.file));
  }
  if (step.kind == "eventually" || step.kind == "consistently") {
    if (depth >= 4) return ErrorAt(n, pw, "eventually/consistently nested too deep");
    DRAHIL_ASSIGN_OR_RETURN(step.children,
                            ParseSteps(params["steps"], pw.Key("steps"), 1, depth + 1));
    for (const auto& c : step.children) {
      if (c.kind != "expect" && c.kind != "allocate" && c.kind != "prepare" &&
          c.kind != "unprepare" && c.kind != "run-pod" && c.kind != "eventually" &&
          c.kind != "consistently") {
        return ErrorAt(params["steps"], pw.Key("steps"),
                       "\"" + c.kind + "\" cannot be retried; only checks and calls may be nested");
      }
    }
  }
  return step;
}

Result<std::vector<Step>> ParseSteps(const YAML::Node& n, const Where& w, size_t min_items,
                                     int depth) {
  if (!n.IsSequence()) return ErrorAt(n, w, "expected a list of steps");
  if (n.size() < min_items) return ErrorAt(n, w, "needs at least one step");
  std::vector<Step> out;
  for (size_t i = 0; i < n.size(); ++i) {
    DRAHIL_ASSIGN_OR_RETURN(auto s, ParseStep(n[i], w.Index(i), depth));
    out.push_back(std::move(s));
  }
  return out;
}

SchemaPtr SuiteSchema() {
  static const SchemaPtr kSchema = [] {
    auto requires_ =
        Map({Opt("capabilities", Seq(Name())),
             Opt("devices",
                 Seq(Map({Opt("kind", Name()), Opt("count", Int(1)), Opt("role", Name()),
                          Opt("name", Name()), Opt("exclusive", Bool()), Opt("shape", Name())},
                         {{"kind", "name"}}))),
             Opt("probe-backends", Seq(Enum(ProbeBackends()))), Opt("feature-gates", Seq(Str()))});
    auto kase = Map({Req("id", Name()), Req("title", Str()), Opt("tags", Seq(Name())),
                     Opt("feature", Name()), Opt("rationale", Str()), Opt("timeout", Dur()),
                     Opt("requires", requires_), Opt("driver-start-delay", Dur()),
                     Opt("fixtures", Seq(FixtureSchema())), Req("steps", Steps())});
    return Map({Req("spec", Enum({std::string(kSuiteSpec)})), Req("name", Name()),
                Opt("description", Str()),
                Opt("defaults", Map({Opt("case-timeout", Dur()), Opt("step-timeout", Dur())})),
                Opt("environment", Enum({"per-case", "shared"})),
                Opt("fixtures", Seq(FixtureSchema())), Req("cases", Seq(kase, 1))});
  }();
  return kSchema;
}

// CaseFeature(): the case's JUnit classname: its own feature, else its first
// kep-* tag, else its first tag, else the suite's name.
std::string CaseFeature(const YAML::Node& c, const std::vector<std::string>& tags,
                        const std::string& suite_name) {
  if (c["feature"]) return c["feature"].Scalar();
  std::string feature;
  for (const auto& t : tags)
    if (feature.empty() && t.rfind("kep-", 0) == 0) feature = t;
  if (feature.empty()) feature = tags.empty() ? suite_name : tags.front();
  return feature;
}

// LoadDeviceRequirement(): one entry of requires.devices: a device by name,
// or `count` devices of a kind, or one device of a kind for a role.
Status LoadDeviceRequirement(const YAML::Node& d, const Where& dw, Requires& out) {
  if (d["name"]) {
    if (d["shape"]) return ErrorAt(d["shape"], dw, "a device by name has no shape (give a kind)");
    DeviceRequirement named;
    named.name = d["name"].Scalar();
    out.devices.push_back(std::move(named));
    return OkStatus();
  }
  std::string role = d["role"] ? d["role"].Scalar() : "";
  if (!role.empty() && d["count"] && d["count"].as<int>() != 1)
    return ErrorAt(d["count"], dw, "a role is one device (no count)");
  DeviceRequirement of_kind;
  of_kind.kind = d["kind"].Scalar();
  of_kind.count = d["count"] ? d["count"].as<int>() : 1;
  of_kind.role = role;
  of_kind.exclusive = d["exclusive"] && d["exclusive"].as<bool>();
  if (d["shape"]) of_kind.shape = d["shape"].Scalar();
  out.devices.push_back(std::move(of_kind));
  return OkStatus();
}

// LoadRequires(): a case's requires: capabilities, devices, probe backends.
Status LoadRequires(const YAML::Node& r, const Where& rw, Requires& out) {
  DRAHIL_RETURN_IF_ERROR(CheckCapabilities(r["capabilities"], rw.Key("capabilities")));
  if (r["capabilities"])
    for (const auto& x : r["capabilities"]) out.capabilities.push_back(x.Scalar());
  if (r["devices"]) {
    for (const auto& d : r["devices"])
      DRAHIL_RETURN_IF_ERROR(LoadDeviceRequirement(d, rw.Key("devices"), out));
  }
  if (r["probe-backends"])
    for (const auto& x : r["probe-backends"]) out.probe_backends.push_back(x.Scalar());
  if (auto g = r["feature-gates"]) {
    for (size_t i = 0; i < g.size(); ++i) {
      if (!FeatureGates::Exists(g[i].Scalar())) {
        return ErrorAt(g[i], rw.Key("feature-gates").Index(i),
                       "unknown feature gate \"" + g[i].Scalar() +
                           "\" (drahil knows the DRA gates of Kubernetes 1.34 to 1.36; "
                           "docs/kubernetes-versions.md)");
      }
      out.feature_gates.push_back(g[i].Scalar());
    }
  }
  return OkStatus();
}

// LoadCaseBody(): everything of a case after its id, which the caller has
// checked is unique in the suite.
Status LoadCaseBody(const YAML::Node& c, const Where& cw, const std::string& file,
                    const std::string& suite_name, Case& k) {
  k.title = c["title"].Scalar();
  if (c["rationale"]) k.rationale = c["rationale"].Scalar();
  if (c["tags"]) {
    for (const auto& t : c["tags"]) k.tags.push_back(t.Scalar());
  }
  k.feature = CaseFeature(c, k.tags, suite_name);
  if (c["timeout"]) k.timeout = *ParseDuration(c["timeout"].Scalar());
  if (c["driver-start-delay"])
    k.driver_start_delay = *ParseDuration(c["driver-start-delay"].Scalar());
  if (auto r = c["requires"])
    DRAHIL_RETURN_IF_ERROR(LoadRequires(r, cw.Key("requires"), k.requires_));
  DRAHIL_ASSIGN_OR_RETURN(k.fixtures, LoadFixtures(c["fixtures"], cw.Key("fixtures"), file));
  DRAHIL_ASSIGN_OR_RETURN(k.steps, ParseSteps(c["steps"], cw.Key("steps"), 1, 0));
  return OkStatus();
}

// LoadSuiteHeader(): the suite's name, description, environment, defaults
// and fixtures (everything but its cases).
Status LoadSuiteHeader(const YAML::Node& root, const Where& w, const std::string& file,
                       Suite& suite) {
  suite.file = file;
  suite.name = root["name"].Scalar();
  if (root["description"]) suite.description = root["description"].Scalar();
  suite.shared_environment = root["environment"] && root["environment"].Scalar() == "shared";
  if (auto d = root["defaults"]) {
    if (d["case-timeout"]) suite.case_timeout = *ParseDuration(d["case-timeout"].Scalar());
    if (d["step-timeout"]) suite.step_timeout = *ParseDuration(d["step-timeout"].Scalar());
  }
  DRAHIL_ASSIGN_OR_RETURN(suite.fixtures, LoadFixtures(root["fixtures"], w.Key("fixtures"), file));
  return OkStatus();
}

Result<Suite> LoadSuiteStringImpl(const std::string& text, const std::string& file) {
  DRAHIL_ASSIGN_OR_RETURN(YAML::Node root, ParseYaml(text, file));
  Where w{file, ""};
  DRAHIL_RETURN_IF_ERROR(Check(root, *SuiteSchema(), w));
  Suite suite;
  DRAHIL_RETURN_IF_ERROR(LoadSuiteHeader(root, w, file, suite));
  std::map<std::string, Location> ids;
  auto cases = root["cases"];
  for (size_t i = 0; i < cases.size(); ++i) {
    const YAML::Node& c = cases[i];
    Where cw = w.Key("cases").Index(i);
    Case k;
    k.where = LocOf(c, file);
    k.id = c["id"].Scalar();
    if (auto [it, fresh] = ids.emplace(k.id, k.where); !fresh) {
      return ErrorAt(c["id"], cw.Key("id"),
                     "duplicate case id \"" + k.id + "\" (first at " + it->second.ToString() + ")");
    }
    DRAHIL_RETURN_IF_ERROR(LoadCaseBody(c, cw, file, suite.name, k));
    suite.cases.push_back(std::move(k));
  }
  DRAHIL_RETURN_IF_ERROR(CheckSuitePlaceholders(suite));
  return suite;
}

}  // namespace

Result<Suite> LoadSuiteString(const std::string& text, const std::string& file) {
  // The schema check runs before any conversion, so yaml-cpp should not
  // throw here; the catch keeps a missed case from escaping the module.
  try {
    return LoadSuiteStringImpl(text, file);
  } catch (const std::exception& e) {
    return InvalidArgumentError(file + ": " + e.what());
  }
}

Result<Suite> LoadSuiteFile(const std::string& path) {
  DRAHIL_ASSIGN_OR_RETURN(auto text, ReadFile(path, 16u << 20));
  return LoadSuiteString(text, path);
}

Result<std::vector<Suite>> LoadSuites(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const auto& p : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      std::vector<std::string> found;
      auto it = std::filesystem::recursive_directory_iterator(p, ec);
      if (ec) return NotFoundError("suite directory " + p + ": " + ec.message());
      for (; it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) return InternalError("walk " + p + ": " + ec.message());
        std::string name = it->path().filename().string();
        if (it->is_directory() &&
            (name == "drivers" || name == "manifests" || name == "testdata")) {
          it.disable_recursion_pending();
          continue;
        }
        auto ext = it->path().extension();
        if (it->is_regular_file() && (ext == ".yaml" || ext == ".yml"))
          found.push_back(it->path().string());
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (std::filesystem::exists(p, ec)) {
      files.push_back(p);
    } else {
      return NotFoundError("suite " + p + ": no such file or directory");
    }
  }
  std::vector<Suite> out;
  std::map<std::string, std::string> ids;
  std::map<std::string, std::string> names;
  for (const auto& f : files) {
    DRAHIL_ASSIGN_OR_RETURN(auto s, LoadSuiteFile(f));
    if (auto [it, fresh] = names.emplace(s.name, f); !fresh) {
      return InvalidArgumentError(f + ": suite name \"" + s.name + "\" is also used by " +
                                  it->second);
    }
    for (const auto& c : s.cases) {
      if (auto [it, fresh] = ids.emplace(c.id, c.where.ToString()); !fresh) {
        return InvalidArgumentError(c.where.ToString() + ": case id \"" + c.id +
                                    "\" is also used at " + it->second);
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace drahil::runner
