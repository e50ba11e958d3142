// profile-draft: what `drahil profile init` runs on a node with the driver
// up. It reads the driver's slices and writes a draft device model: kinds
// from a low-cardinality attribute, identity and parent attributes, the
// memory capacity, partition shapes, and the CDI ID pattern seen in one
// prepare. Every guess is written as a comment-marked draft for the vendor
// to review; nothing here decides a verdict.
#include <fstream>

#include "drahil/allocator/allocator.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/core/quantity.hpp"
#include "steps.hpp"

namespace drahil::node {
namespace {

struct Dev {
  std::string name;
  Json attributes;  // qualified name → typed value
  Json capacity;    // name → {value}
  bool partition = false;
};

// Qualify(): attribute keys as "domain/name" (unqualified ones are the driver's).
Json Qualify(const Json& attrs, const std::string& driver) {
  Json out = Json::object();
  for (const auto& [k, v] : attrs.items())
    out[k.find('/') == std::string::npos ? driver + "/" + k : k] = v;
  return out;
}

std::string Text(const Json& typed) { return AttributeText(typed).value_or(""); }
bool IsString(const Json& typed) { return typed.is_object() && typed.contains("string"); }

std::string Short(const std::string& qualified, const std::string& driver) {
  return qualified.rfind(driver + "/", 0) == 0 ? qualified.substr(driver.size() + 1) : qualified;
}

std::string KindName(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (std::isalnum(static_cast<unsigned char>(c)))
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    else if (!out.empty() && out.back() != '-')
      out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  if (out.empty() || !std::isalpha(static_cast<unsigned char>(out[0]))) out = "k" + out;
  return out;
}

// Distinct(): the values of an attribute over devices (absent → skipped).
std::map<std::string, int> Distinct(const std::vector<const Dev*>& devs, const std::string& attr) {
  std::map<std::string, int> out;
  for (const auto* d : devs)
    if (d->attributes.contains(attr)) ++out[Text(d->attributes[attr])];
  return out;
}

// Shared(): the attributes every device has.
std::vector<std::string> Shared(const std::vector<const Dev*>& devs) {
  std::map<std::string, size_t> seen;
  for (const auto* d : devs)
    for (const auto& [k, v] : d->attributes.items()) ++seen[k];
  std::vector<std::string> out;
  for (const auto& [k, n] : seen)
    if (n == devs.size()) out.push_back(k);
  return out;
}

int NamePreference(const std::string& attr, std::initializer_list<const char*> words) {
  std::string lower;
  for (char c : attr) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  int score = 0;
  for (const char* w : words)
    if (lower.find(w) != std::string::npos) ++score;
  return score;
}

double Bytes(const Json& cap) {
  if (!cap.is_object() || !cap.contains("value")) return 0;
  auto q = Quantity::Parse(cap["value"].get<std::string>());
  return q.ok() ? static_cast<double>(q->Value()) : 0;
}

// DraftDevices(): the devices of the driver's slices, attributes qualified.
std::vector<Dev> DraftDevices(NodeEnv& env, const std::string& driver) {
  std::vector<Dev> devs;
  for (const auto& s : DriverSlices(env, driver)) {
    for (const auto& d : s["spec"].value("devices", Json::array())) {
      devs.push_back({d.value("name", ""), Qualify(d.value("attributes", Json::object()), driver),
                      d.value("capacity", Json::object()), d.contains("consumesCounters")});
    }
  }
  return devs;
}

// KindAttribute(): a string attribute every device has with 2..8 values
// (fewer than the devices), the one whose name says so first ("type",
// "kind", "class"); "" when none.
std::string KindAttribute(const std::vector<const Dev*>& all, const std::string& driver) {
  std::string kind_attr;
  int best = -1;
  for (const auto& a : Shared(all)) {
    if (!IsString(all[0]->attributes[a])) continue;
    auto values = Distinct(all, a);
    if (values.size() < 2 || values.size() > 8 || values.size() >= all.size()) continue;
    int score = NamePreference(Short(a, driver), {"type", "kind", "class"}) * 100 -
                static_cast<int>(values.size());
    if (score > best) best = score, kind_attr = a;
  }
  return kind_attr;
}

// IdentityAttribute(): an attribute unique over the kind's devices; strings
// named like ids first. "" when none.
std::string IdentityAttribute(const std::vector<const Dev*>& members, const std::string& kind_attr,
                              const std::string& driver) {
  std::string identity;
  int ibest = -1;
  for (const auto& a : Shared(members)) {
    if (a == kind_attr) continue;
    auto values = Distinct(members, a);
    if (values.size() != members.size()) continue;
    std::string n = Short(a, driver);
    int score = NamePreference(n, {"uuid", "serial"}) * 20 + NamePreference(n, {"id"}) * 10 +
                (IsString(members[0]->attributes[a]) ? 5 : 0);
    if (score > ibest) ibest = score, identity = a;
  }
  return identity;
}

// ParentAttribute(): a string attribute shared by several devices and named
// like a parent (the last such); "" when none.
std::string ParentAttribute(const std::vector<const Dev*>& members, const std::string& kind_attr,
                            const std::string& identity, const std::string& driver) {
  std::string parent;
  for (const auto& a : Shared(members)) {
    if (a == kind_attr || a == identity || !IsString(members[0]->attributes[a])) continue;
    auto values = Distinct(members, a);
    if (values.size() < 2 || values.size() >= members.size()) continue;
    if (NamePreference(Short(a, driver), {"parent"}) > 0) parent = a;
  }
  return parent;
}

// MemoryCapacity(): a capacity named like memory, else the largest; "" when
// the devices have none.
std::string MemoryCapacity(const std::vector<const Dev*>& members) {
  std::string memory;
  double biggest = -1;
  for (const auto& [k, v] : members[0]->capacity.items()) {
    double b = Bytes(v) + (NamePreference(k, {"mem"}) > 0 ? 1e30 : 0);
    if (b > biggest) biggest = b, memory = k;
  }
  return memory;
}

// ShapeAttribute(): a string attribute of partitions with 2..8 values (fewer
// than the devices), one named like a shape preferred; "" when none.
std::string ShapeAttribute(const std::vector<const Dev*>& members,
                           const std::set<std::string>& taken, const std::string& driver) {
  std::string shape_attr;
  for (const auto& a : Shared(members)) {
    if (taken.count(a) || !IsString(members[0]->attributes[a])) continue;
    auto values = Distinct(members, a);
    if (values.size() < 2 || values.size() > 8 || values.size() >= members.size()) continue;
    if (shape_attr.empty() || NamePreference(Short(a, driver), {"profile", "shape", "size"}) > 0)
      shape_attr = a;
  }
  return shape_attr;
}

// ShapesYaml(): the shapes: block, the values of `shape_attr` named
// small..large by the memory of the devices that have them.
std::string ShapesYaml(const std::vector<const Dev*>& members, const std::string& shape_attr,
                       const std::string& memory) {
  std::vector<std::pair<double, std::string>> by_memory;
  for (const auto& [v, n] : Distinct(members, shape_attr)) {
    double mem = 0;
    for (const auto* d : members)
      if (Text(d->attributes[shape_attr]) == v && !memory.empty())
        mem = Bytes(d->capacity.value(memory, Json()));
    by_memory.emplace_back(mem, v);
  }
  std::sort(by_memory.begin(), by_memory.end());
  static const char* kNames[] = {"small", "medium", "large", "xlarge"};
  std::string y = "    shapes:\n";
  for (size_t i = 0; i < by_memory.size() && i < 4; ++i)
    y += std::string("      ") + kNames[i] + ": '" + AttributeCel(shape_attr) +
         " == " + Json(by_memory[i].second).dump() + "'\n";
  return y;
}

// KindYaml(): the devices: entry of one kind (the devices whose kind
// attribute is `value`): class, identity, parent, memory and shapes.
std::string KindYaml(const std::string& kind, const std::string& selector,
                     const std::vector<const Dev*>& members, const std::string& kind_attr,
                     const std::string& driver) {
  std::string y = "  " + kind + ":\n    class:\n      name: " + kind + "." + driver +
                  "\n      selector: '" + selector + "'\n";
  std::string identity = IdentityAttribute(members, kind_attr, driver);
  if (!identity.empty()) {
    y += "    identity: " + Short(identity, driver) + "\n";
  } else {
    y += "    # identity: no attribute is unique per device; cases that pin a device will skip\n";
  }
  bool partition =
      std::any_of(members.begin(), members.end(), [](const Dev* d) { return d->partition; });
  std::string parent = ParentAttribute(members, kind_attr, identity, driver);
  if (!parent.empty()) y += "    parent: " + Short(parent, driver) + "\n";
  std::string memory = MemoryCapacity(members);
  if (!memory.empty()) y += "    memory: " + memory + "\n";
  if (!partition && parent.empty()) return y;
  std::string shape_attr = ShapeAttribute(members, {kind_attr, identity, parent}, driver);
  if (!shape_attr.empty()) y += ShapesYaml(members, shape_attr, memory);
  return y;
}

// WriteDraft(): the draft to `out`, stdout for "" or "-".
Status WriteDraft(const std::string& out, const std::string& text) {
  if (out.empty() || out == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return OkStatus();
  }
  return AtomicWriteFile(out, text);
}

class ProfileDraftStep final : public StepHandler {
 public:
  StepOutcome Run(const Step& step, CaseContext& ctx) override {
    NEED_ENV;
    const std::string& driver = env->driver;
    std::vector<Dev> devs = DraftDevices(*env, driver);
    if (devs.empty())
      return StepOutcome::Fail("driver " + driver + " publishes no devices to draft a profile from",
                               "Slices");
    std::vector<const Dev*> all;
    for (const auto& d : devs) all.push_back(&d);

    // 1. Kinds, then per kind 2. identity, 3. parent, 4. memory, 5. shapes.
    std::string kind_attr = KindAttribute(all, driver);
    std::map<std::string, std::vector<const Dev*>> kinds;  // kind value → devices
    for (const auto* d : all)
      kinds[kind_attr.empty() ? "" : Text(d->attributes[kind_attr])].push_back(d);

    std::string y = "# Device model drafted by `drahil profile init` from the slices of " + driver +
                    ".\n"
                    "# Review every line: these are guesses from " +
                    std::to_string(devs.size()) + " published device(s), not facts.\n";
    y += "devices:\n";
    std::string cdi_kind_selector;
    for (const auto& [value, members] : kinds) {
      std::string kind = value.empty() ? "device" : KindName(value);
      std::string selector =
          value.empty() ? "true" : AttributeCel(kind_attr) + " == " + Json(value).dump();
      if (cdi_kind_selector.empty()) cdi_kind_selector = selector;
      y += KindYaml(kind, selector, members, kind_attr, driver);
    }

    // 6. The CDI ID pattern: one device of the first kind, allocated and
    // prepared as the kubelet would, then unprepared.
    auto pattern = CdiPattern(ctx, *env, cdi_kind_selector);
    if (pattern.ok()) {
      y += "cdi:\n  pattern: '" + *pattern + "'\n";
    } else {
      y += "# cdi.pattern: not drafted (" + pattern.status().message() + ")\n";
    }
    y += "# taints: {unhealthy: KEY}   the taint key the driver publishes on a faulted device\n"
         "# configs: {time-slicing: {parameters: ...}, mps: ..., invalid: ...}   opaque configs "
         "for the sharing cases\n"
         "# faults: emulated | exec | none\n";

    std::string out = step.params.value("out", "");
    std::string base = step.params.value("base", "");
    if (Status s = WriteDraft(out, LaunchPart(base) + y); !s.ok()) {
      return StepOutcome::FromStatus(s, "write the draft profile");
    }
    ctx.Note("draft profile: " + (out.empty() ? std::string("stdout") : out));
    return StepOutcome::Pass();
  }

 private:
  // LaunchPart(): the base profile without the keys the draft writes.
  static std::string LaunchPart(const std::string& path) {
    if (path.empty()) return "";
    auto text = ReadFile(path, 1u << 20);
    if (!text.ok()) return "";
    static const std::set<std::string> kDrafted = {
        "devices", "cdi", "taints", "configs", "faults", "fault-commands", "errors"};
    std::string out;
    bool skipping = false;
    std::istringstream in(*text);
    for (std::string line; std::getline(in, line);) {
      bool top = !line.empty() && line[0] != ' ' && line[0] != '#' && line[0] != '-';
      if (top) {
        std::string key = line.substr(0, line.find(':'));
        skipping = kDrafted.count(key) > 0;
      }
      if (!skipping) out += line + "\n";
    }
    return out;
  }

  static Result<std::string> CdiPattern(CaseContext& ctx, NodeEnv& env,
                                        const std::string& selector) {
    std::string cls = "drahil-profile-init";
    Json dc = {{"apiVersion", "resource.k8s.io/v1"},
               {"kind", "DeviceClass"},
               {"metadata", {{"name", cls}}},
               {"spec",
                {{"selectors",
                  Json::array({{{"cel",
                                 {{"expression", "device.driver == " + Json(env.driver).dump() +
                                                     " && (" + selector + ")"}}}}})}}}};
    Json ns = {{"apiVersion", "v1"},
               {"kind", "Namespace"},
               {"metadata", {{"name", "drahil-profile-init"}}}};
    Json claim = {
        {"apiVersion", "resource.k8s.io/v1"},
        {"kind", "ResourceClaim"},
        {"metadata", {{"name", "probe"}, {"namespace", "drahil-profile-init"}}},
        {"spec",
         {{"devices",
           {{"requests",
             Json::array({{{"name", "d"}, {"exactly", {{"deviceClassName", cls}}}}})}}}}}};
    (void)env.api->Create("namespaces", ns);
    (void)env.api->Create("deviceclasses", dc);
    DRAHIL_ASSIGN_OR_RETURN(Json made, env.api->Create("resourceclaims", claim));
    allocator::Inventory inv;
    inv.slices = env.api->List("resourceslices").value_or(std::vector<Json>{});
    inv.device_classes = env.api->List("deviceclasses").value_or(std::vector<Json>{});
    inv.namespaces = env.api->List("namespaces").value_or(std::vector<Json>{});
    allocator::Allocator alloc(std::move(inv));
    DRAHIL_ASSIGN_OR_RETURN(auto allocation, alloc.Allocate({made}, NodeInfoOf(env)));
    made["status"]["allocation"] = allocation[0];
    DRAHIL_RETURN_IF_ERROR(env.api->UpdateStatus("resourceclaims", made).status());
    kubelet::ClaimRef ref{"drahil-profile-init", made["metadata"].value("uid", ""), "probe"};
    auto r = env.kubelet->Prepare(env.driver, {ref}, StepCallOptions(ctx));
    ctx.Record("grpc", "NodePrepareResources (profile init)", std::string(CodeName(r.record.code)),
               0);
    std::string id;
    for (const auto& c : r.claims)
      for (const auto& d : c.devices)
        for (const auto& i : d.cdi_device_ids)
          if (id.empty() || i.find("common") == std::string::npos) id = i;
    (void)env.kubelet->Unprepare(env.driver, {ref}, StepCallOptions(ctx));
    (void)env.api->Delete("resourceclaims", "drahil-profile-init", "probe");
    (void)env.api->Delete("deviceclasses", "", cls);
    if (!r.status.ok()) return r.status;
    auto eq = id.find('=');
    if (eq == std::string::npos) return NotFoundError("the prepare returned no CDI device ID");
    return "^" + RegexEscape(id.substr(0, eq + 1));
  }
};

}  // namespace

std::shared_ptr<StepHandler> MakeProfileDraftStep() { return std::make_shared<ProfileDraftStep>(); }

}  // namespace drahil::node
