#include "drahil/kube/object.hpp"

#include <algorithm>
#include <array>

#include "drahil/core/strings.hpp"
#include "drahil/formats/json_fields.hpp"
#include "drahil/kube/validation.hpp"

namespace drahil::kube {
namespace {

const Object* Meta(const Object& obj) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find("metadata");
  if (it == obj.end() || !it->is_object()) return nullptr;
  return &*it;
}

std::string StringField(const Object* o, const char* key) {
  if (o == nullptr || !o->is_object()) return {};
  auto it = o->find(key);
  if (it == o->end() || !it->is_string()) return {};
  return it->get<std::string>();
}

std::map<std::string, std::string> StringMap(const Object* meta, const char* key) {
  std::map<std::string, std::string> out;
  if (meta == nullptr) return out;
  auto it = meta->find(key);
  if (it == meta->end() || !it->is_object()) return out;
  for (auto& [k, v] : it->items()) {
    if (v.is_string()) out.emplace(k, v.get<std::string>());
  }
  return out;
}

Object& MutableMeta(Object& obj) {
  if (!obj.is_object()) obj = Object::object();
  Object& m = obj["metadata"];
  if (!m.is_object()) m = Object::object();
  return m;
}

constexpr std::array<std::string_view, 2> kSliceFields = {"spec.driver", "spec.nodeName"};
constexpr std::array<std::string_view, 1> kClaimFields = {"status.allocation"};
constexpr std::array<std::string_view, 1> kNamespaceFields = {"status.phase"};
constexpr std::array<std::string_view, 1> kNodeFields = {"spec.unschedulable"};
constexpr std::array<std::string_view, 5> kPodFields = {
    "spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "status.phase", "status.podIP"};
constexpr std::array<std::string_view, 9> kEventFields = {"involvedObject.kind",
                                                          "involvedObject.namespace",
                                                          "involvedObject.name",
                                                          "involvedObject.uid",
                                                          "involvedObject.apiVersion",
                                                          "involvedObject.resourceVersion",
                                                          "involvedObject.fieldPath",
                                                          "reason",
                                                          "type"};
constexpr std::array<std::string_view, 1> kNsShort = {"ns"};
constexpr std::array<std::string_view, 1> kNoShort2 = {"no"};
constexpr std::array<std::string_view, 1> kPoShort = {"po"};
constexpr std::array<std::string_view, 1> kEvShort = {"ev"};

constexpr std::string_view kResourceGroup = "resource.k8s.io";

const std::array<ResourceInfo, 9>& Registry() {
  static const std::array<ResourceInfo, 9> kRegistry = {{
      {kResourceGroup, "v1", "ResourceSlice", "resourceslices", "resourceslice", false, false,
       kSliceFields, std::span<const std::string_view>()},
      {kResourceGroup, "v1", "DeviceClass", "deviceclasses", "deviceclass", false, false, {}, {}},
      {kResourceGroup,
       "v1",
       "ResourceClaim",
       "resourceclaims",
       "resourceclaim",
       true,
       true,
       kClaimFields,
       {}},
      {kResourceGroup,
       "v1",
       "ResourceClaimTemplate",
       "resourceclaimtemplates",
       "resourceclaimtemplate",
       true,
       false,
       {},
       {}},
      {kResourceGroup,
       "v1alpha3",
       "DeviceTaintRule",
       "devicetaintrules",
       "devicetaintrule",
       false,
       true,
       {},
       {}},
      {"", "v1", "Namespace", "namespaces", "namespace", false, true, kNamespaceFields, kNsShort},
      {"", "v1", "Node", "nodes", "node", false, true, kNodeFields, kNoShort2},
      {"", "v1", "Pod", "pods", "pod", true, true, kPodFields, kPoShort},
      {"", "v1", "Event", "events", "event", true, false, kEventFields, kEvShort},
  }};
  return kRegistry;
}

}  // namespace

std::string ApiVersion(const Object& obj) {
  return obj.is_object() ? StringField(&obj, "apiVersion") : "";
}
std::string Kind(const Object& obj) { return obj.is_object() ? StringField(&obj, "kind") : ""; }
std::string Name(const Object& obj) { return StringField(Meta(obj), "name"); }
std::string GenerateName(const Object& obj) { return StringField(Meta(obj), "generateName"); }
std::string Namespace(const Object& obj) { return StringField(Meta(obj), "namespace"); }
std::string Uid(const Object& obj) { return StringField(Meta(obj), "uid"); }
std::string ResourceVersion(const Object& obj) { return StringField(Meta(obj), "resourceVersion"); }
std::string CreationTimestamp(const Object& obj) {
  return StringField(Meta(obj), "creationTimestamp");
}
std::string DeletionTimestamp(const Object& obj) {
  return StringField(Meta(obj), "deletionTimestamp");
}

int64_t Generation(const Object& obj) {
  const Object* m = Meta(obj);
  if (m == nullptr) return 0;
  auto it = m->find("generation");
  if (it == m->end() || !it->is_number_integer()) return 0;
  return it->get<int64_t>();
}

std::map<std::string, std::string> Labels(const Object& obj) {
  return StringMap(Meta(obj), "labels");
}
std::map<std::string, std::string> Annotations(const Object& obj) {
  return StringMap(Meta(obj), "annotations");
}

std::vector<std::string> Finalizers(const Object& obj) {
  std::vector<std::string> out;
  const Object* m = Meta(obj);
  if (m == nullptr) return out;
  auto it = m->find("finalizers");
  if (it == m->end() || !it->is_array()) return out;
  for (const auto& f : *it) {
    if (f.is_string()) out.push_back(f.get<std::string>());
  }
  return out;
}

void SetName(Object& obj, std::string_view name) { MutableMeta(obj)["name"] = std::string(name); }
void SetNamespace(Object& obj, std::string_view ns) {
  MutableMeta(obj)["namespace"] = std::string(ns);
}
void SetUid(Object& obj, std::string_view uid) { MutableMeta(obj)["uid"] = std::string(uid); }
void SetResourceVersion(Object& obj, std::string_view rv) {
  MutableMeta(obj)["resourceVersion"] = std::string(rv);
}
void SetLabel(Object& obj, std::string_view key, std::string_view value) {
  Object& m = MutableMeta(obj);
  if (!m["labels"].is_object()) m["labels"] = Object::object();
  m["labels"][std::string(key)] = std::string(value);
}
void SetAnnotation(Object& obj, std::string_view key, std::string_view value) {
  Object& m = MutableMeta(obj);
  if (!m["annotations"].is_object()) m["annotations"] = Object::object();
  m["annotations"][std::string(key)] = std::string(value);
}

std::string ObjectRef(const Object& obj) {
  std::string kind = Kind(obj);
  if (kind.empty()) kind = "object";
  std::string name = Name(obj);
  if (name.empty()) name = GenerateName(obj).empty() ? "<unnamed>" : GenerateName(obj) + "*";
  std::string ns = Namespace(obj);
  return kind + " " + (ns.empty() ? name : ns + "/" + name);
}

std::string FieldValue(const Object& obj, std::string_view dotted_path) {
  const Object* cur = formats::Find(obj, dotted_path);
  if (cur == nullptr) return {};
  if (cur->is_string()) return cur->get<std::string>();
  if (cur->is_boolean()) return cur->get<bool>() ? "true" : "false";
  if (cur->is_number()) return cur->dump();
  return {};
}

// ---- registry ---------------------------------------------------------------

std::string ResourceInfo::GroupVersion() const {
  if (group.empty()) return std::string(version);
  return std::string(group) + "/" + std::string(version);
}

std::string ResourceInfo::ListKind() const { return std::string(kind) + "List"; }

bool ResourceInfo::SupportsFieldSelector(std::string_view field) const {
  if (field == "metadata.name") return true;
  if (field == "metadata.namespace") return namespaced || kind == "Namespace";
  return std::find(field_selectors.begin(), field_selectors.end(), field) != field_selectors.end();
}

std::span<const ResourceInfo> AllResources() { return Registry(); }

const ResourceInfo* FindByKind(std::string_view kind, std::string_view api_version) {
  for (const auto& r : Registry()) {
    if (r.kind != kind) continue;
    if (!api_version.empty() && r.GroupVersion() != api_version) continue;
    return &r;
  }
  return nullptr;
}

const ResourceInfo* FindByResource(std::string_view group, std::string_view resource) {
  for (const auto& r : Registry()) {
    if (r.group == group && r.resource == resource) return &r;
  }
  return nullptr;
}

const ResourceInfo* FindByResource(std::string_view resource) {
  for (const auto& r : Registry()) {
    if (r.resource == resource) return &r;
  }
  return nullptr;
}

const ResourceInfo* ResourceFor(const Object& obj) {
  std::string av = ApiVersion(obj);
  if (av.empty()) return nullptr;
  return FindByKind(Kind(obj), av);
}

// ---- label selector -----------------------------------------------------------

namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

class SelectorLexer {
 public:
  explicit SelectorLexer(std::string_view s) : s_(s) {}
  void SkipSpace() {
    while (pos_ < s_.size() && IsSpace(s_[pos_])) ++pos_;
  }
  bool AtEnd() {
    SkipSpace();
    return pos_ >= s_.size();
  }
  char Peek() {
    SkipSpace();
    return pos_ < s_.size() ? s_[pos_] : '\0';
  }
  bool Consume(std::string_view tok) {
    SkipSpace();
    if (s_.substr(pos_, tok.size()) == tok) {
      pos_ += tok.size();
      return true;
    }
    return false;
  }
  // Word(): a run of characters that are not separators or operators.
  std::string Word() {
    SkipSpace();
    size_t b = pos_;
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (IsSpace(c) || c == ',' || c == '=' || c == '!' || c == '(' || c == ')' || c == '<' ||
          c == '>') {
        break;
      }
      ++pos_;
    }
    return std::string(s_.substr(b, pos_ - b));
  }
  size_t pos() const { return pos_; }
  void set_pos(size_t p) { pos_ = p; }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

Status SelectorError(std::string_view text, size_t pos, const std::string& what) {
  return InvalidArgumentError("label selector \"" + std::string(text) + "\": at " +
                              std::to_string(pos) + ": " + what);
}

Status CheckKey(std::string_view text, size_t pos, const std::string& key) {
  auto errs = IsQualifiedName(key);
  if (!errs.empty())
    return SelectorError(text, pos, "invalid key \"" + key + "\": " + Join(errs, "; "));
  return OkStatus();
}

Status CheckValue(std::string_view text, size_t pos, const std::string& value) {
  auto errs = IsValidLabelValue(value);
  if (!errs.empty()) {
    return SelectorError(text, pos, "invalid value \"" + value + "\": " + Join(errs, "; "));
  }
  return OkStatus();
}

bool ParseInt64(const std::string& s, int64_t* out) {
  if (s.empty()) return false;
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i == s.size()) return false;
  __int128 v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
    if (v > (static_cast<__int128>(1) << 63)) return false;
  }
  if (s[0] == '-') v = -v;
  if (v > INT64_MAX || v < INT64_MIN) return false;
  *out = static_cast<int64_t>(v);
  return true;
}

void Normalize(LabelSelector::Requirement& r) {
  std::sort(r.values.begin(), r.values.end());
  r.values.erase(std::unique(r.values.begin(), r.values.end()), r.values.end());
}

}  // namespace

Result<LabelSelector> LabelSelector::Parse(std::string_view text) {
  LabelSelector sel;
  SelectorLexer lx(text);
  if (lx.AtEnd()) return sel;
  while (true) {
    Requirement r;
    size_t start = lx.pos();
    bool negated = lx.Consume("!");
    r.key = lx.Word();
    if (r.key.empty()) return SelectorError(text, lx.pos(), "expected a label key");
    DRAHIL_RETURN_IF_ERROR(CheckKey(text, start, r.key));
    if (negated) {
      r.op = Op::kDoesNotExist;
    } else if (lx.AtEnd() || lx.Peek() == ',') {
      r.op = Op::kExists;
    } else if (lx.Consume("==") || lx.Consume("=")) {
      r.op = Op::kEquals;
    } else if (lx.Consume("!=")) {
      r.op = Op::kNotEquals;
    } else if (lx.Consume(">")) {
      r.op = Op::kGreaterThan;
    } else if (lx.Consume("<")) {
      r.op = Op::kLessThan;
    } else {
      size_t p = lx.pos();
      std::string word = lx.Word();
      if (word == "in") {
        r.op = Op::kIn;
      } else if (word == "notin") {
        r.op = Op::kNotIn;
      } else {
        return SelectorError(
            text, p, "expected an operator (=, ==, !=, in, notin, <, >), found \"" + word + "\"");
      }
    }
    if (r.op == Op::kEquals || r.op == Op::kNotEquals) {
      size_t p = lx.pos();
      std::string v = lx.Word();
      DRAHIL_RETURN_IF_ERROR(CheckValue(text, p, v));
      r.values.push_back(v);
    } else if (r.op == Op::kGreaterThan || r.op == Op::kLessThan) {
      size_t p = lx.pos();
      std::string v = lx.Word();
      int64_t n = 0;
      if (!ParseInt64(v, &n))
        return SelectorError(text, p,
                             "for '<' and '>' the value must be an integer, found \"" + v + "\"");
      r.values.push_back(v);
    } else if (r.op == Op::kIn || r.op == Op::kNotIn) {
      if (!lx.Consume("(")) return SelectorError(text, lx.pos(), "expected '(' after set operator");
      while (true) {
        size_t p = lx.pos();
        std::string v = lx.Word();
        DRAHIL_RETURN_IF_ERROR(CheckValue(text, p, v));
        r.values.push_back(v);
        if (lx.Consume(")")) break;
        if (!lx.Consume(","))
          return SelectorError(text, lx.pos(), "expected ',' or ')' in value set");
      }
    }
    Normalize(r);
    sel.reqs_.push_back(std::move(r));
    if (lx.AtEnd()) break;
    if (!lx.Consume(",")) return SelectorError(text, lx.pos(), "expected ',' between requirements");
    if (lx.AtEnd()) return SelectorError(text, lx.pos(), "expected a requirement after ','");
  }
  std::stable_sort(sel.reqs_.begin(), sel.reqs_.end(),
                   [](const Requirement& a, const Requirement& b) { return a.key < b.key; });
  return sel;
}

Result<LabelSelector> LabelSelector::FromJson(const Object& selector) {
  LabelSelector sel;
  if (selector.is_null()) return sel;
  if (!selector.is_object()) return InvalidArgumentError("label selector: must be an object");
  if (auto it = selector.find("matchLabels"); it != selector.end() && !it->is_null()) {
    if (!it->is_object()) return InvalidArgumentError("label selector: matchLabels must be a map");
    for (auto& [k, v] : it->items()) {
      if (!v.is_string())
        return InvalidArgumentError("label selector: matchLabels." + k + " must be a string");
      DRAHIL_RETURN_IF_ERROR(CheckKey(k, 0, k));
      DRAHIL_RETURN_IF_ERROR(CheckValue(v.get<std::string>(), 0, v.get<std::string>()));
      sel.reqs_.push_back({k, Op::kEquals, {v.get<std::string>()}});
    }
  }
  if (auto it = selector.find("matchExpressions"); it != selector.end() && !it->is_null()) {
    if (!it->is_array())
      return InvalidArgumentError("label selector: matchExpressions must be a list");
    for (const auto& e : *it) {
      if (!e.is_object() || !e.contains("key") || !e["key"].is_string() ||
          !e.contains("operator") || !e["operator"].is_string()) {
        return InvalidArgumentError(
            "label selector: each matchExpressions entry needs key and operator");
      }
      Requirement r;
      r.key = e["key"].get<std::string>();
      DRAHIL_RETURN_IF_ERROR(CheckKey(r.key, 0, r.key));
      std::string op = e["operator"].get<std::string>();
      if (op == "In")
        r.op = Op::kIn;
      else if (op == "NotIn")
        r.op = Op::kNotIn;
      else if (op == "Exists")
        r.op = Op::kExists;
      else if (op == "DoesNotExist")
        r.op = Op::kDoesNotExist;
      else
        return InvalidArgumentError("label selector: \"" + op +
                                    "\" is not a valid label selector operator");
      if (auto v = e.find("values"); v != e.end() && v->is_array()) {
        for (const auto& s : *v) {
          if (!s.is_string()) return InvalidArgumentError("label selector: values must be strings");
          r.values.push_back(s.get<std::string>());
        }
      }
      bool set_op = r.op == Op::kIn || r.op == Op::kNotIn;
      if (set_op && r.values.empty()) {
        return InvalidArgumentError(
            "label selector: for 'in', 'notin' operators, values set can't be empty");
      }
      if (!set_op && !r.values.empty()) {
        return InvalidArgumentError(
            "label selector: values set must be empty for exists and does not exist");
      }
      Normalize(r);
      sel.reqs_.push_back(std::move(r));
    }
  }
  std::stable_sort(sel.reqs_.begin(), sel.reqs_.end(),
                   [](const Requirement& a, const Requirement& b) { return a.key < b.key; });
  return sel;
}

bool LabelSelector::Matches(const std::map<std::string, std::string>& labels) const {
  for (const auto& r : reqs_) {
    auto it = labels.find(r.key);
    bool has = it != labels.end();
    auto in_values = [&] {
      return has && std::binary_search(r.values.begin(), r.values.end(), it->second);
    };
    switch (r.op) {
      case Op::kEquals:
      case Op::kIn:
        if (!in_values()) return false;
        break;
      case Op::kNotEquals:
      case Op::kNotIn:
        // As in labels.Requirement.Matches: a missing key satisfies != and notin.
        if (in_values()) return false;
        break;
      case Op::kExists:
        if (!has) return false;
        break;
      case Op::kDoesNotExist:
        if (has) return false;
        break;
      case Op::kGreaterThan:
      case Op::kLessThan: {
        int64_t have = 0, want = 0;
        if (!has || !ParseInt64(it->second, &have) || !ParseInt64(r.values[0], &want)) return false;
        if (r.op == Op::kGreaterThan ? !(have > want) : !(have < want)) return false;
        break;
      }
    }
  }
  return true;
}

bool LabelSelector::MatchesObject(const Object& obj) const { return Matches(Labels(obj)); }

std::string LabelSelector::ToString() const {
  std::string out;
  for (const auto& r : reqs_) {
    if (!out.empty()) out += ",";
    auto joined = [&] {
      std::string s;
      for (const auto& v : r.values) s += (s.empty() ? "" : ",") + v;
      return s;
    };
    switch (r.op) {
      case Op::kEquals:
        out += r.key + "=" + r.values[0];
        break;
      case Op::kNotEquals:
        out += r.key + "!=" + r.values[0];
        break;
      case Op::kIn:
        out += r.key + " in (" + joined() + ")";
        break;
      case Op::kNotIn:
        out += r.key + " notin (" + joined() + ")";
        break;
      case Op::kExists:
        out += r.key;
        break;
      case Op::kDoesNotExist:
        out += "!" + r.key;
        break;
      case Op::kGreaterThan:
        out += r.key + ">" + r.values[0];
        break;
      case Op::kLessThan:
        out += r.key + "<" + r.values[0];
        break;
    }
  }
  return out;
}

// ---- field selector -----------------------------------------------------------

namespace {

std::string EscapeFieldValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == ',' || c == '=') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

Result<FieldSelector> FieldSelector::Parse(std::string_view text) {
  FieldSelector sel;
  auto err = [&](const std::string& what) {
    return InvalidArgumentError("field selector \"" + std::string(text) + "\": " + what);
  };
  // Split on unescaped commas first, keeping escapes for the value step.
  std::vector<std::string> terms;
  std::string cur;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\') {
      if (i + 1 >= text.size()) return err("trailing backslash");
      cur += c;
      cur += text[++i];
    } else if (c == ',') {
      terms.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  terms.push_back(cur);
  if (terms.size() == 1 && terms[0].find_first_not_of(" \t") == std::string::npos) return sel;
  for (const auto& term : terms) {
    // Find the operator: the first unescaped "!=", "==" or "=".
    size_t op = std::string::npos;
    size_t op_len = 0;
    bool equals = true;
    for (size_t i = 0; i < term.size(); ++i) {
      if (term[i] == '\\') {
        ++i;
        continue;
      }
      if (term.compare(i, 2, "!=") == 0) {
        op = i, op_len = 2, equals = false;
        break;
      }
      if (term.compare(i, 2, "==") == 0) {
        op = i, op_len = 2;
        break;
      }
      if (term[i] == '=') {
        op = i, op_len = 1;
        break;
      }
    }
    if (op == std::string::npos)
      return err("invalid selector: '" + term + "'; can't understand '" + term + "'");
    std::string field = term.substr(0, op);
    field = Trim(field);
    if (field.empty()) return err("empty field name in '" + term + "'");
    if (field.find('\\') != std::string::npos)
      return err("field name may not be escaped: '" + field + "'");
    std::string raw = term.substr(op + op_len);
    std::string value;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 1 < raw.size()) {
        char n = raw[++i];
        if (n != '\\' && n != ',' && n != '=')
          return err(std::string("invalid escape sequence \\") + n);
        value += n;
      } else if (raw[i] == '=') {
        return err("unescaped '=' in value of '" + term + "'");
      } else {
        value += raw[i];
      }
    }
    sel.reqs_.push_back({field, equals, value});
  }
  return sel;
}

bool FieldSelector::Matches(const Object& obj) const {
  for (const auto& r : reqs_) {
    bool eq = FieldValue(obj, r.field) == r.value;
    if (eq != r.equals) return false;
  }
  return true;
}

std::optional<std::string> FieldSelector::RequiredValue(std::string_view field) const {
  for (const auto& r : reqs_) {
    if (r.equals && r.field == field) return r.value;
  }
  return std::nullopt;
}

std::string FieldSelector::ToString() const {
  std::string out;
  for (const auto& r : reqs_) {
    if (!out.empty()) out += ",";
    out += r.field + (r.equals ? "=" : "!=") + EscapeFieldValue(r.value);
  }
  return out;
}

}  // namespace drahil::kube
