// The loader for drahil.driver/v1: a driver profile and its device model.
// The format is described as schema data (schema.hpp) so the docs, the checks
// and the error messages agree.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <regex>

#include "drahil/core/feature_gates.hpp"
#include "drahil/core/file_util.hpp"
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

const std::vector<std::string>& ProfilePlaceholders() {
  static const std::vector<std::string> kNames = {
      "kubeconfig", "node_name", "registry_dir", "plugins_dir", "cdi_dir",
      "fake_root",  "bin_dir",   "lib_dir",      "state_dir",   "driver_name"};
  return kNames;
}

Result<std::string> ExpandPlaceholders(std::string_view text,
                                       const std::map<std::string, std::string>& values) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
      out += '{';
      ++i;
    } else if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
      out += '}';
      ++i;
    } else if (c == '{') {
      auto end = text.find('}', i);
      if (end == std::string_view::npos)
        return InvalidArgumentError("unclosed \"{\" in \"" + std::string(text) + "\"");
      std::string name(text.substr(i + 1, end - i - 1));
      auto it = values.find(name);
      if (it == values.end()) {
        std::string known;
        for (const auto& p : ProfilePlaceholders())
          known += (known.empty() ? "" : ", ") + ("{" + p + "}");
        return InvalidArgumentError("unknown placeholder {" + name + "} (known: " + known + ")");
      }
      out += it->second;
      i = end;
    } else if (c == '}') {
      return InvalidArgumentError("unmatched \"}\" in \"" + std::string(text) +
                                  "\" (write }} for a brace)");
    } else {
      out += c;
    }
  }
  return out;
}

namespace {
// LoadClassManifest(): class: {manifest: FILE}: the vendor's own DeviceClass,
// read relative to the profile.
Status LoadClassManifest(const YAML::Node& c, const Where& kw, const std::string& file,
                         DeviceKindModel& k) {
  if (c["selector"]) return ErrorAt(c, kw.Key("class"), "give selector or manifest, not both");
  std::string rel = c["manifest"].Scalar();
  std::string path =
      rel[0] == '/' ? rel
                    : (std::filesystem::path(file).parent_path() / rel).lexically_normal().string();
  auto text = ReadFile(path, 1u << 20);
  if (!text.ok())
    return ErrorAt(c["manifest"], kw.Key("class").Key("manifest"), text.status().message());
  DRAHIL_ASSIGN_OR_RETURN(YAML::Node doc, ParseYaml(*text, path));
  DRAHIL_ASSIGN_OR_RETURN(k.class_manifest, ToJson(doc, path));
  if (!k.class_manifest.is_object() || k.class_manifest.value("kind", "") != "DeviceClass") {
    return ErrorAt(c["manifest"], kw.Key("class").Key("manifest"), path + " is not a DeviceClass");
  }
  k.class_name = k.class_manifest["metadata"].value("name", k.class_name);
  return OkStatus();
}

// LoadDeviceKind(): one entry of devices: (its class, identity, parent,
// memory, shapes and fault target).
Status LoadDeviceKind(const YAML::Node& n, const Where& kw, const std::string& file,
                      const std::string& driver, DeviceKindModel& k) {
  auto c = n["class"];
  if (!c) {
    return ErrorAt(n, kw,
                   "needs class: {selector: CEL} (drahil creates the class), {manifest: FILE} "
                   "or {name: CLASS}");
  }
  if (c["name"]) k.class_name = c["name"].Scalar();
  if (c["selector"]) k.selector = c["selector"].Scalar();
  if (c["manifest"]) DRAHIL_RETURN_IF_ERROR(LoadClassManifest(c, kw, file, k));
  if (n["identity"]) k.identity = QualifiedAttribute(driver, n["identity"].Scalar());
  if (n["parent"]) k.parent = QualifiedAttribute(driver, n["parent"].Scalar());
  if (n["memory"]) k.memory = n["memory"].Scalar();
  if (n["shapes"])
    for (auto s = n["shapes"].begin(); s != n["shapes"].end(); ++s)
      k.shapes[s->first.Scalar()] = s->second.Scalar();
  k.fault_target =
      n["fault-target"] ? QualifiedAttribute(driver, n["fault-target"].Scalar()) : k.identity;
  return OkStatus();
}

// LoadDeviceKinds(): the profile's devices, by kind name.
Status LoadDeviceKinds(const YAML::Node& d, const Where& w, const std::string& file,
                       const DriverProfile& p, DeviceModel& m) {
  static const SchemaPtr kKind =
      Map({Opt("class", Map({Opt("name", Name()), Opt("selector", Str()), Opt("manifest", Str())})),
           Opt("identity", Str()), Opt("parent", Str()), Opt("memory", Str()),
           Opt("shapes", StringMap()), Opt("fault-target", Str())});
  for (auto it = d.begin(); it != d.end(); ++it) {
    std::string kind = it->first.Scalar();
    Where kw = w.Key("devices").Key(kind);
    static const std::regex kKindName("[a-z][a-z0-9-]*");
    if (!std::regex_match(kind, kKindName))
      return ErrorAt(it->first, kw, "a device kind is a lowercase name");
    DRAHIL_RETURN_IF_ERROR(Check(it->second, *kKind, kw));
    DeviceKindModel k;
    k.class_name = kind + "." + p.driver_name;
    DRAHIL_RETURN_IF_ERROR(LoadDeviceKind(it->second, kw, file, p.driver_name, k));
    m.kinds[kind] = std::move(k);
  }
  return OkStatus();
}

// LoadConfigs(): configs: name → an opaque device config (the driver's by
// default).
Status LoadConfigs(const YAML::Node& c, const Where& w, const std::string& file,
                   const std::string& driver, DeviceModel& m) {
  for (auto it = c.begin(); it != c.end(); ++it) {
    DRAHIL_ASSIGN_OR_RETURN(nlohmann::json v, ToJson(it->second, file));
    if (!v.is_object() || !v.contains("parameters")) {
      return ErrorAt(
          it->second, w.Key("configs").Key(it->first.Scalar()),
          "an opaque device config: {driver: NAME (default: the driver), parameters: {...}}");
    }
    if (!v.contains("driver")) v["driver"] = driver;
    m.configs[it->first.Scalar()] = v;
  }
  return OkStatus();
}

// LoadFaults(): how faults are injected (faults, fault-commands).
Status LoadFaults(const YAML::Node& root, const Where& w, const DriverProfile& p, DeviceModel& m) {
  m.faults =
      root["faults"] ? root["faults"].Scalar() : (p.node_profile.empty() ? "none" : "emulated");
  if (auto fc = root["fault-commands"]) {
    for (const auto& a : fc["inject"]) m.fault_inject.push_back(a.Scalar());
    for (const auto& a : fc["clear"]) m.fault_clear.push_back(a.Scalar());
    if (fc["timeout"]) m.fault_timeout = *ParseDuration(fc["timeout"].Scalar());
  }
  if (m.faults == "exec" && m.fault_inject.empty()) {
    return ErrorAt(root["faults"], w.Key("faults"),
                   "faults: exec needs fault-commands: {inject: [...], clear: [...]}");
  }
  return OkStatus();
}

// LoadDeviceModel(): the profile's devices/cdi/taints/configs/errors/faults.
Status LoadDeviceModel(const YAML::Node& root, const Where& w, const std::string& file,
                       DriverProfile& p) {
  DeviceModel& m = p.devices;
  if (auto d = root["devices"]) DRAHIL_RETURN_IF_ERROR(LoadDeviceKinds(d, w, file, p, m));
  if (root["cdi"] && root["cdi"]["pattern"]) m.cdi_pattern = root["cdi"]["pattern"].Scalar();
  if (auto t = root["taints"])
    for (auto it = t.begin(); it != t.end(); ++it)
      m.taints[it->first.Scalar()] = it->second.Scalar();
  if (auto e = root["errors"])
    for (auto it = e.begin(); it != e.end(); ++it)
      m.errors[it->first.Scalar()] = it->second.Scalar();
  if (auto c = root["configs"]) DRAHIL_RETURN_IF_ERROR(LoadConfigs(c, w, file, p.driver_name, m));
  return LoadFaults(root, w, p, m);
}

// LoadKubernetes(): the Kubernetes release the vendor ships against and its
// gate overrides, checked now so that a typo fails `drahil validate`.
Status LoadKubernetes(const YAML::Node& k, const Where& w, DriverProfile& p) {
  KubeVersion version = KubeVersion::Newest();
  if (auto v = k["version"]) {
    auto parsed = KubeVersion::Parse(v.Scalar());
    if (!parsed.ok()) return ErrorAt(v, w.Key("version"), parsed.status().message());
    version = *parsed;
    p.kubernetes_version = version.ToString();
  }
  if (auto g = k["feature-gates"]) {
    std::string overrides;
    for (auto it = g.begin(); it != g.end(); ++it) {
      std::string item = it->first.Scalar() + "=" + it->second.Scalar();
      if (auto gates = FeatureGates::For(version, item); !gates.ok())
        return ErrorAt(it->second, w.Key("feature-gates").Key(it->first.Scalar()),
                       gates.status().message());
      overrides += (overrides.empty() ? "" : ",") + item;
    }
    p.feature_gates = overrides;
  }
  return OkStatus();
}

// LoadApiAccess(): apiserver: {user, rules, crds}: the driver's rights
// (ClusterRole rules) and the CRDs installed with it.
Status LoadApiAccess(const YAML::Node& a, const Where& w, const std::string& file,
                     DriverProfile& p) {
  static const std::vector<std::string> kVerbs = {
      "get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "*"};
  if (a["user"]) p.api.user = a["user"].Scalar();
  if (auto rules = a["rules"]) {
    p.api.has_rules = true;
    for (size_t i = 0; i < rules.size(); ++i) {
      const YAML::Node r = rules[i];
      Where rw = w.Key("rules").Index(i);
      ApiRule rule;
      for (const auto& g : r["apiGroups"]) rule.api_groups.push_back(g.Scalar());
      for (const auto& x : r["resources"]) rule.resources.push_back(x.Scalar());
      for (const auto& v : r["verbs"]) {
        if (std::find(kVerbs.begin(), kVerbs.end(), v.Scalar()) == kVerbs.end()) {
          return ErrorAt(v, rw.Key("verbs"),
                         "unknown verb \"" + v.Scalar() +
                             "\" (get, list, watch, create, update, patch, delete, "
                             "deletecollection or *)");
        }
        rule.verbs.push_back(v.Scalar());
      }
      if (r["resourceNames"])
        for (const auto& n : r["resourceNames"]) rule.resource_names.push_back(n.Scalar());
      p.api.rules.push_back(std::move(rule));
    }
  }
  if (auto crds = a["crds"]) {
    for (size_t i = 0; i < crds.size(); ++i) {
      std::string rel = crds[i].Scalar();
      std::string path =
          rel[0] == '/'
              ? rel
              : (std::filesystem::path(file).parent_path() / rel).lexically_normal().string();
      if (!std::filesystem::exists(path)) {
        return ErrorAt(crds[i], w.Key("crds").Index(i), "no such file or directory: " + path);
      }
      p.api.crds.push_back(path);
    }
  }
  return OkStatus();
}

Result<DriverProfile> LoadDriverProfileImpl(const std::string& text, const std::string& file) {
  static const SchemaPtr kSchema = Map(
      {Req("spec", Enum({std::string(kDriverSpec)})),
       Req("name", Name()),
       Req("driver", Name()),
       Opt("version", Str()),
       Opt("description", Str()),
       Req("command", Str()),
       Opt("args", Seq(Str())),
       Opt("env", StringMap()),
       Opt("node", Map({Opt("profile", Str()), Opt("labels", StringMap())})),
       Opt("capabilities", Seq(Name())),
       Opt("probe", Map({Req("backend", Enum(ProbeBackends())), Opt("env-pattern", Regex()),
                         Opt("env-value", Str()), Opt("command", Seq(Str(), 1)),
                         Opt("checks", Seq(Enum({"enumerate", "memory-capacity", "memory-isolation",
                                                 "bandwidth", "compute", "health"}))),
                         Opt("args", Seq(Str()))})),
       Opt("devices", FreeMap()),
       Opt("cdi", Map({Opt("pattern", Regex())})),
       Opt("taints", StringMap()),
       Opt("configs", FreeMap()),
       Opt("errors", StringMap()),
       Opt("faults", Enum({"emulated", "nvml", "exec", "none"})),
       Opt("fault-commands",
           Map({Req("inject", Seq(Str(), 1)), Req("clear", Seq(Str(), 1)), Opt("timeout", Dur())})),
       Opt("kubernetes", Map({Opt("version", Str()), Opt("feature-gates", StringMap())})),
       Opt("apiserver",
           Map({Opt("user", Str()),
                Opt("rules",
                    Seq(Map({Req("apiGroups", Seq(Str())), Req("resources", Seq(Str(), 1)),
                             Req("verbs", Seq(Str(), 1)), Opt("resourceNames", Seq(Str()))}))),
                Opt("crds", Seq(Str()))})),
       Opt("timeouts", Map({Opt("registration", Dur()), Opt("slices", Dur()), Opt("prepare", Dur()),
                            Opt("unprepare", Dur()), Opt("shutdown", Dur())}))});
  DRAHIL_ASSIGN_OR_RETURN(YAML::Node root, ParseYaml(text, file));
  Where w{file, ""};
  DRAHIL_RETURN_IF_ERROR(Check(root, *kSchema, w));
  DRAHIL_RETURN_IF_ERROR(CheckCapabilities(root["capabilities"], w.Key("capabilities")));
  DriverProfile p;
  p.file = file;
  p.name = root["name"].Scalar();
  p.driver_name = root["driver"].Scalar();
  if (root["version"]) p.version = root["version"].Scalar();
  if (root["description"]) p.description = root["description"].Scalar();
  p.command = root["command"].Scalar();
  if (root["args"])
    for (const auto& a : root["args"]) p.args.push_back(a.Scalar());
  if (root["env"])
    for (auto it = root["env"].begin(); it != root["env"].end(); ++it)
      p.env[it->first.Scalar()] = it->second.Scalar();
  if (root["node"] && root["node"]["profile"]) p.node_profile = root["node"]["profile"].Scalar();
  if (root["node"] && root["node"]["labels"]) {
    for (auto it = root["node"]["labels"].begin(); it != root["node"]["labels"].end(); ++it)
      p.node_labels[it->first.Scalar()] = it->second.Scalar();
  }
  if (root["capabilities"])
    for (const auto& c : root["capabilities"]) p.capabilities.push_back(c.Scalar());
  if (auto pr = root["probe"]) {
    p.probe.backend = pr["backend"].Scalar();
    if (pr["env-pattern"]) p.probe.env_pattern = pr["env-pattern"].Scalar();
    if (pr["args"])
      for (const auto& a : pr["args"]) p.probe.args.push_back(a.Scalar());
    if (pr["env-value"]) p.probe.env_value = pr["env-value"].Scalar();
    if (p.probe.env_value != "name" && p.probe.env_value.rfind("attribute:", 0) != 0) {
      return ErrorAt(pr["env-value"], w.Key("probe").Key("env-value"),
                     "expected \"name\" or \"attribute:NAME\", got \"" + p.probe.env_value + "\"");
    }
    if (pr["command"])
      for (const auto& a : pr["command"]) p.probe.command.push_back(a.Scalar());
    if (pr["checks"])
      for (const auto& a : pr["checks"]) p.probe.checks.push_back(a.Scalar());
    if (p.probe.backend == "exec" && (p.probe.command.empty() || p.probe.checks.empty())) {
      return ErrorAt(pr, w.Key("probe"),
                     "backend exec needs command (your probe) and checks (what it implements)");
    }
    if (p.probe.backend == "env" && p.probe.env_pattern.empty()) {
      return ErrorAt(pr, w.Key("probe"),
                     "backend env needs env-pattern (a regex on variable names)");
    }
  }
  DRAHIL_RETURN_IF_ERROR(LoadDeviceModel(root, w, file, p));
  if (auto k = root["kubernetes"])
    DRAHIL_RETURN_IF_ERROR(LoadKubernetes(k, w.Key("kubernetes"), p));
  if (auto a = root["apiserver"])
    DRAHIL_RETURN_IF_ERROR(LoadApiAccess(a, w.Key("apiserver"), file, p));
  if (auto t = root["timeouts"]) {
    if (t["registration"]) p.timeouts.registration = *ParseDuration(t["registration"].Scalar());
    if (t["slices"]) p.timeouts.slices = *ParseDuration(t["slices"].Scalar());
    if (t["prepare"]) p.timeouts.prepare = *ParseDuration(t["prepare"].Scalar());
    if (t["unprepare"]) p.timeouts.unprepare = *ParseDuration(t["unprepare"].Scalar());
    if (t["shutdown"]) p.timeouts.shutdown = *ParseDuration(t["shutdown"].Scalar());
  }
  // Placeholders are checked now, so a typo fails `drahil validate`, not a run.
  std::map<std::string, std::string> dummy;
  for (const auto& n : ProfilePlaceholders()) dummy[n] = "x";
  auto check = [&](const std::string& s, const YAML::Node& at, const Where& aw) -> Status {
    auto r = ExpandPlaceholders(s, dummy);
    if (!r.ok()) return ErrorAt(at, aw, r.status().message());
    return OkStatus();
  };
  DRAHIL_RETURN_IF_ERROR(check(p.command, root["command"], w.Key("command")));
  for (size_t i = 0; i < p.args.size(); ++i)
    DRAHIL_RETURN_IF_ERROR(check(p.args[i], root["args"][i], w.Key("args").Index(i)));
  if (root["env"])
    for (auto it = root["env"].begin(); it != root["env"].end(); ++it)
      DRAHIL_RETURN_IF_ERROR(
          check(it->second.Scalar(), it->second, w.Key("env").Key(it->first.Scalar())));
  return p;
}

}  // namespace

Result<DriverProfile> LoadDriverProfileString(const std::string& text, const std::string& file) {
  try {
    return LoadDriverProfileImpl(text, file);
  } catch (const std::exception& e) {
    return InvalidArgumentError(file + ": " + e.what());
  }
}

Result<DriverProfile> LoadDriverProfileFile(const std::string& path) {
  DRAHIL_ASSIGN_OR_RETURN(auto text, ReadFile(path, 1u << 20));
  return LoadDriverProfileString(text, path);
}

}  // namespace drahil::runner
