#include "drahil/runner/binding.hpp"

#include <functional>
#include <regex>

#include "drahil/core/strings.hpp"

namespace drahil::runner {
namespace {

using Json = nlohmann::json;

// A placeholder: a lowercase first segment, then dot-separated segments.
// "{device.capacity.{memory.gpu}}" renders the inner one first; CEL map
// literals and JSON in strings never match (quotes, colons, spaces).
const std::regex& PlaceholderRe() {
  static const std::regex kRe(R"(\{([a-z][a-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*)\})");
  return kRe;
}

void CollectStrings(const Json& v, const Location& where, std::vector<PlaceholderUse>& out) {
  auto scan = [&](const std::string& s) {
    for (std::sregex_iterator it(s.begin(), s.end(), PlaceholderRe()), end; it != end; ++it) {
      std::string name = (*it)[1];
      if (name.rfind("device.", 0) == 0) continue;
      out.push_back({name, where});
    }
  };
  if (v.is_string()) {
    scan(v.get<std::string>());
  } else if (v.is_object()) {
    for (const auto& [k, x] : v.items()) {
      scan(k);
      CollectStrings(x, where, out);
    }
  } else if (v.is_array()) {
    for (const auto& x : v) CollectStrings(x, where, out);
  }
}

void CollectSteps(const std::vector<Step>& steps, std::vector<PlaceholderUse>& out) {
  for (const auto& s : steps) {
    CollectStrings(s.params, s.where, out);
    for (const auto& m : s.manifests) CollectStrings(m.object, m.where, out);
    CollectSteps(s.children, out);
  }
}

const DeviceRequirement* FindRole(const Case& kase, const std::string& role) {
  for (const auto& d : kase.requires_.devices)
    if (d.role == role) return &d;
  return nullptr;
}

Status Unbound(const std::string& key) { return FailedPreconditionError(key); }

const DeviceKindModel* Kind(const DriverProfile& p, const std::string& kind) {
  auto it = p.devices.kinds.find(kind);
  return it == p.devices.kinds.end() ? nullptr : &it->second;
}

// RenderString(): a string with its placeholders replaced. A string that is
// exactly one placeholder takes that value whole (JSON for {config.*}).
Json RenderString(const std::string& s, const Binding& b, std::set<std::string>& missing) {
  std::smatch m;
  if (std::regex_match(s, m, PlaceholderRe()) && m[1].str().rfind("device.", 0) != 0) {
    auto v = ResolvePlaceholder(m[1], b);
    if (!v.ok()) {
      missing.insert(v.status().message());
      return s;
    }
    return *v;
  }
  std::string out, rest = s;
  // Inner placeholders first, so "{device.capacity.{memory.gpu}}" works.
  for (int guard = 0; guard < 64; ++guard) {
    std::string next;
    bool changed = false;
    auto begin = std::sregex_iterator(rest.begin(), rest.end(), PlaceholderRe());
    size_t last = 0;
    for (auto it = begin; it != std::sregex_iterator(); ++it) {
      const auto& mm = *it;
      next += rest.substr(last, static_cast<size_t>(mm.position(0)) - last);
      last = static_cast<size_t>(mm.position(0) + mm.length(0));
      std::string name = mm[1];
      if (name.rfind("device.", 0) == 0) {
        next += mm.str(0);
        continue;
      }
      auto v = ResolvePlaceholder(name, b);
      if (!v.ok()) {
        missing.insert(v.status().message());
        next += mm.str(0);
        continue;
      }
      next += v->is_string() ? v->get<std::string>() : v->dump();
      changed = true;
    }
    next += rest.substr(last);
    rest = next;
    if (!changed) break;
  }
  return rest;
}

Json RenderJson(const Json& v, const Binding& b, std::set<std::string>& missing) {
  if (v.is_string()) return RenderString(v.get<std::string>(), b, missing);
  if (v.is_object()) {
    Json out = Json::object();
    for (const auto& [k, x] : v.items()) {
      Json key = RenderString(k, b, missing);
      out[key.is_string() ? key.get<std::string>() : k] = RenderJson(x, b, missing);
    }
    return out;
  }
  if (v.is_array()) {
    Json out = Json::array();
    for (const auto& x : v) out.push_back(RenderJson(x, b, missing));
    return out;
  }
  return v;
}

std::vector<Step> RenderSteps(const std::vector<Step>& steps, const Binding& b,
                              std::set<std::string>& missing) {
  std::vector<Step> out = steps;
  for (auto& s : out) {
    s.params = RenderJson(s.params, b, missing);
    for (auto& m : s.manifests) m.object = RenderJson(m.object, b, missing);
    s.children = RenderSteps(s.children, b, missing);
  }
  return out;
}

}  // namespace

std::vector<PlaceholderUse> CasePlaceholders(const Suite& suite, const Case& kase) {
  std::vector<PlaceholderUse> out;
  for (const auto& m : suite.fixtures) CollectStrings(m.object, m.where, out);
  for (const auto& m : kase.fixtures) CollectStrings(m.object, m.where, out);
  CollectSteps(kase.steps, out);
  return out;
}

Status CheckPlaceholder(const std::string& name, const Case& kase) {
  auto parts = Split(name, '.');
  const std::string& ns = parts[0];
  auto want = [&](size_t n, const char* form) -> Status {
    if (parts.size() == n) return OkStatus();
    return InvalidArgumentError("placeholder {" + name + "} should read " + form);
  };
  if (ns == "driver") return want(1, "{driver}");
  if (ns == "class") return want(2, "{class.KIND}");
  if (ns == "memory") return want(2, "{memory.KIND}");
  if (ns == "config") return want(2, "{config.NAME}");
  if (ns == "taint") return want(2, "{taint.FAULT}");
  if (ns == "cdi") {
    if (parts.size() == 2 && parts[1] == "pattern") return OkStatus();
    return InvalidArgumentError("placeholder {" + name + "} should read {cdi.pattern}");
  }
  if (ns == "attr") {
    if (parts.size() == 3 && (parts[2] == "identity" || parts[2] == "parent")) return OkStatus();
    return InvalidArgumentError("placeholder {" + name +
                                "} should read {attr.KIND.identity} or {attr.KIND.parent}");
  }
  auto role_declared = [&](const std::string& role) -> Status {
    if (FindRole(kase, role)) return OkStatus();
    return InvalidArgumentError(
        "placeholder {" + name + "} names role \"" + role + "\", which case " + kase.id +
        " does not declare (requires.devices: [{role: " + role + ", kind: ...}])");
  };
  if (ns == "role") {
    DRAHIL_RETURN_IF_ERROR(want(2, "{role.ROLE}"));
    return role_declared(parts[1]);
  }
  if (ns == "cel" && parts.size() >= 2) {
    if (parts[1] == "class") return want(3, "{cel.class.KIND}");
    if (parts[1] == "shape") return want(4, "{cel.shape.KIND.SHAPE}");
    if (parts[1] == "role") {
      DRAHIL_RETURN_IF_ERROR(want(3, "{cel.role.ROLE}"));
      return role_declared(parts[2]);
    }
  }
  return InvalidArgumentError(
      "unknown placeholder {" + name +
      "} (known: {driver}, {class.KIND}, {cel.class.KIND}, {attr.KIND.identity|parent}, "
      "{memory.KIND}, {cel.shape.KIND.SHAPE}, {role.ROLE}, {cel.role.ROLE}, {config.NAME}, "
      "{taint.FAULT}, {cdi.pattern}, {device.capacity|attribute.NAME})");
}

Status CheckSuitePlaceholders(const Suite& suite) {
  for (const auto& c : suite.cases) {
    for (const auto& use : CasePlaceholders(suite, c)) {
      Status s = CheckPlaceholder(use.name, c);
      if (!s.ok())
        return InvalidArgumentError(use.where.ToString() + ": case " + c.id + ": " + s.message());
    }
  }
  return OkStatus();
}

std::string QualifiedAttribute(const std::string& driver, const std::string& attr) {
  if (attr.empty() || attr.find('/') != std::string::npos) return attr;
  return driver + "/" + attr;
}

std::string AttributeCel(const std::string& qualified) {
  auto slash = qualified.rfind('/');
  std::string domain = qualified.substr(0, slash), name = qualified.substr(slash + 1);
  static const std::regex kIdent("[A-Za-z_][A-Za-z0-9_]*");
  if (std::regex_match(name, kIdent)) return "device.attributes[\"" + domain + "\"]." + name;
  return "device.attributes[\"" + domain + "\"][\"" + name + "\"]";
}

const Json* FindAttribute(const Json& attributes, const std::string& driver,
                          const std::string& qualified) {
  if (!attributes.is_object() || qualified.empty()) return nullptr;
  if (auto it = attributes.find(qualified); it != attributes.end()) return &*it;
  std::string prefix = driver + "/";
  if (qualified.rfind(prefix, 0) == 0) {
    if (auto it = attributes.find(qualified.substr(prefix.size())); it != attributes.end())
      return &*it;
  }
  return nullptr;
}

std::optional<std::string> AttributeText(const Json& typed) {
  if (!typed.is_object() || typed.empty()) return std::nullopt;
  const Json& v = typed.begin().value();
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer() || v.is_boolean()) return v.dump();
  return std::nullopt;
}

std::optional<std::string> CelLiteral(const Json& typed) {
  if (!typed.is_object() || typed.size() != 1) return std::nullopt;
  const std::string k = typed.begin().key();
  const Json& v = typed.begin().value();
  if (k == "string" && v.is_string()) return Json(v.get<std::string>()).dump();
  if (k == "int" && v.is_number_integer()) return v.dump();
  if (k == "bool" && v.is_boolean()) return v.dump();
  if (k == "version" && v.is_string()) return "semver(" + Json(v.get<std::string>()).dump() + ")";
  return std::nullopt;
}

std::string DeviceClassSelector(const Json& device_class, const std::string& driver) {
  std::string all;
  for (const auto& s :
       device_class.value("spec", Json::object()).value("selectors", Json::array())) {
    if (!s.contains("cel")) continue;
    all += (all.empty() ? "" : " && ") + ("(" + s["cel"].value("expression", "") + ")");
  }
  return all.empty() ? "device.driver == " + Json(driver).dump() : all;
}

std::string ClassSelector(const DriverProfile& profile, const DeviceKindModel& kind) {
  if (!kind.selector.empty())
    return "device.driver == " + Json(profile.driver_name).dump() + " && (" + kind.selector + ")";
  if (kind.class_manifest.is_object())
    return DeviceClassSelector(kind.class_manifest, profile.driver_name);
  return "";
}

std::vector<Json> ClassManifests(const DriverProfile& profile) {
  std::vector<Json> out;
  for (const auto& [kind, k] : profile.devices.kinds) {
    if (k.class_manifest.is_object()) {
      out.push_back(k.class_manifest);
    } else if (!k.selector.empty()) {
      out.push_back(
          {{"apiVersion", "resource.k8s.io/v1"},
           {"kind", "DeviceClass"},
           {"metadata", {{"name", k.class_name}, {"labels", {{"drahil.dev/kind", kind}}}}},
           {"spec",
            {{"selectors",
              Json::array({{{"cel", {{"expression", ClassSelector(profile, k)}}}}})}}}});
    }
  }
  return out;
}

std::string RegexEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (std::string_view(R"(\^$.|?*+()[]{})").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

std::string DefaultCdiPattern(const std::string& driver) {
  return "^k8s\\." + RegexEscape(driver) + "/";
}

namespace {

// Resolving one placeholder: a function per first segment, each answering
// for the forms it knows; nullopt is a form it does not know (an unknown
// placeholder).
using Parts = std::vector<std::string>;
using Resolved = std::optional<Result<Json>>;

Resolved ResolveDriver(const Parts&, const Binding& b) { return Json(b.profile->driver_name); }

Resolved ResolveClass(const Parts& parts, const Binding& b) {
  if (parts.size() != 2) return std::nullopt;
  const auto* k = Kind(*b.profile, parts[1]);
  if (!k) return Unbound("devices." + parts[1] + ".class");
  return Json(k->class_name);
}

Resolved ResolveMemory(const Parts& parts, const Binding& b) {
  if (parts.size() != 2) return std::nullopt;
  const auto* k = Kind(*b.profile, parts[1]);
  if (!k || k->memory.empty()) return Unbound("devices." + parts[1] + ".memory");
  return Json(k->memory);
}

Resolved ResolveAttr(const Parts& parts, const Binding& b) {
  if (parts.size() != 3) return std::nullopt;
  const auto* k = Kind(*b.profile, parts[1]);
  const std::string& a = !k ? std::string() : parts[2] == "identity" ? k->identity : k->parent;
  if (a.empty()) return Unbound("devices." + parts[1] + "." + parts[2]);
  return Json(a);
}

Resolved ResolveConfig(const Parts& parts, const Binding& b) {
  if (parts.size() != 2) return std::nullopt;
  const auto& configs = b.profile->devices.configs;
  auto it = configs.find(parts[1]);
  if (it == configs.end()) return Unbound("configs." + parts[1]);
  return it->second;
}

Resolved ResolveTaint(const Parts& parts, const Binding& b) {
  if (parts.size() != 2) return std::nullopt;
  const auto& taints = b.profile->devices.taints;
  auto it = taints.find(parts[1]);
  if (it == taints.end()) return Unbound("taints." + parts[1]);
  return Json(it->second);
}

Resolved ResolveCdi(const Parts&, const Binding& b) {
  const DriverProfile& p = *b.profile;
  return Json(p.devices.cdi_pattern.empty() ? DefaultCdiPattern(p.driver_name)
                                            : p.devices.cdi_pattern);
}

Resolved ResolveRole(const Parts& parts, const Binding& b) {
  if (parts.size() != 2) return std::nullopt;
  auto it = b.roles.find(parts[1]);
  if (it == b.roles.end()) return Unbound("a device for role " + parts[1]);
  return Json(it->second.name);
}

// ResolveCelRole(): {cel.role.ROLE}: a CEL test that pins the role's device
// by the identity attribute of its kind.
Result<Json> ResolveCelRole(const std::string& role, const Binding& b) {
  const DriverProfile& p = *b.profile;
  auto it = b.roles.find(role);
  if (it == b.roles.end()) return Unbound("a device for role " + role);
  const DeviceRecord& d = it->second;
  std::string key;
  for (const auto& kind : d.kinds) {
    const auto* k = Kind(p, kind);
    if (k && !k->identity.empty()) {
      key = k->identity;
      break;
    }
  }
  std::string first_kind = d.kinds.empty() ? "KIND" : *d.kinds.begin();
  if (key.empty()) return Unbound("devices." + first_kind + ".identity");
  const Json* v = FindAttribute(d.attributes, p.driver_name, key);
  auto lit = v ? CelLiteral(*v) : std::nullopt;
  if (!lit)
    return Unbound("devices." + first_kind + ".identity (device " + d.name +
                   " publishes no usable " + key + ")");
  return Json(AttributeCel(key) + " == " + *lit);
}

Resolved ResolveCel(const Parts& parts, const Binding& b) {
  if (parts.size() < 3) return std::nullopt;
  const DriverProfile& p = *b.profile;
  if (parts[1] == "class") {
    const auto* k = Kind(p, parts[2]);
    std::string sel = k ? ClassSelector(p, *k) : "";
    if (sel.empty()) return Unbound("devices." + parts[2] + ".class.selector");
    return Json(sel);
  }
  if (parts[1] == "shape" && parts.size() == 4) {
    const auto* k = Kind(p, parts[2]);
    if (!k || !k->shapes.count(parts[3]))
      return Unbound("devices." + parts[2] + ".shapes." + parts[3]);
    return Json(k->shapes.at(parts[3]));
  }
  if (parts[1] == "role") return ResolveCelRole(parts[2], b);
  return std::nullopt;
}

using Resolver = Resolved (*)(const Parts&, const Binding&);
const std::map<std::string, Resolver>& Resolvers() {
  static const std::map<std::string, Resolver> kResolvers = {
      {"driver", ResolveDriver}, {"class", ResolveClass},   {"memory", ResolveMemory},
      {"attr", ResolveAttr},     {"config", ResolveConfig}, {"taint", ResolveTaint},
      {"cdi", ResolveCdi},       {"role", ResolveRole},     {"cel", ResolveCel}};
  return kResolvers;
}

}  // namespace

Result<Json> ResolvePlaceholder(const std::string& name, const Binding& b) {
  if (!b.profile) return Unbound("a driver profile");
  auto parts = Split(name, '.');
  if (auto it = Resolvers().find(parts[0]); it != Resolvers().end()) {
    if (Resolved r = it->second(parts, b)) return *std::move(r);
  }
  return InvalidArgumentError("unknown placeholder {" + name + "}");
}

std::set<std::string> ProfileKeysNeeded(const Suite& suite, const Case& kase,
                                        const DriverProfile& profile) {
  std::set<std::string> keys;
  Binding unbound_roles{&profile, {}};
  for (const auto& use : CasePlaceholders(suite, kase)) {
    auto parts = Split(use.name, '.');
    if (parts[0] == "role" || (parts[0] == "cel" && parts.size() > 1 && parts[1] == "role"))
      continue;
    auto v = ResolvePlaceholder(use.name, unbound_roles);
    if (!v.ok()) keys.insert(v.status().message());
  }
  for (const auto& d : kase.requires_.devices) {
    if (!d.name.empty()) continue;
    const auto* k = Kind(profile, d.kind);
    if (!k) {
      keys.insert("devices." + d.kind);
    } else if (!d.shape.empty() && !k->shapes.count(d.shape)) {
      keys.insert("devices." + d.kind + ".shapes." + d.shape);
    }
  }
  return keys;
}

RenderedCase RenderCase(const Suite& suite, const Case& kase, const Binding& binding) {
  RenderedCase out;
  for (const auto* list : {&suite.fixtures, &kase.fixtures}) {
    for (const auto& m : *list) {
      Manifest r = m;
      r.object = RenderJson(m.object, binding, out.missing);
      out.fixtures.push_back(std::move(r));
    }
  }
  out.steps = RenderSteps(kase.steps, binding, out.missing);
  return out;
}

std::vector<RenderedManifest> ManifestsForCheck(const Suite& suite, const DriverProfile& profile) {
  std::vector<RenderedManifest> out;
  for (const auto& c : suite.cases) {
    Binding b;
    b.profile = &profile;
    for (const auto& d : c.requires_.devices) {
      if (d.role.empty()) continue;
      DeviceRecord rec;
      rec.name = "validate-" + d.role;
      rec.pool = "validate";
      rec.kinds.insert(d.kind);
      if (const auto* k = Kind(profile, d.kind); k && !k->identity.empty())
        rec.attributes[k->identity] = {{"string", rec.name}};
      b.roles[d.role] = std::move(rec);
    }
    auto add = [&](const Manifest& m) {
      std::set<std::string> missing;
      RenderedManifest r;
      r.manifest = m;
      r.manifest.object = RenderJson(m.object, b, missing);
      r.case_id = c.id;
      r.bound = missing.empty();
      out.push_back(std::move(r));
    };
    for (const auto* list : {&suite.fixtures, &c.fixtures})
      for (const auto& m : *list) add(m);
    std::function<void(const std::vector<Step>&)> walk = [&](const std::vector<Step>& steps) {
      for (const auto& s : steps) {
        bool refused =
            s.kind == "apply" && s.params.is_object() && s.params.value("expect-status", 0) >= 400;
        if (!refused)
          for (const auto& m : s.manifests) add(m);
        walk(s.children);
      }
    };
    walk(c.steps);
  }
  return out;
}

}  // namespace drahil::runner
