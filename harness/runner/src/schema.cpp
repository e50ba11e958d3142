#include "schema.hpp"

#include <algorithm>
#include <regex>
#include <set>

namespace drahil::runner::schema {
namespace {

SchemaPtr Make(Schema s) { return std::make_shared<const Schema>(std::move(s)); }

Schema Basic(Type t, std::string what) {
  Schema s;
  s.type = t;
  s.what = std::move(what);
  return s;
}

const char* NodeKind(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Undefined:
      return "nothing";
  }
  return "something else";
}

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s.substr(0, 80)) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + (s.size() > 80 ? "...\"" : "\"");
}

bool Fits(const Schema& s, const YAML::Node& n) {
  switch (s.type) {
    case Type::kMap:
    case Type::kFreeMap:
    case Type::kStringMap:
      return n.IsMap();
    case Type::kSeq:
    case Type::kSteps:
      return n.IsSequence();
    case Type::kAlt:
      return false;
    default:
      return n.IsScalar();
  }
}

bool IsPlain(const YAML::Node& n) { return n.Tag() != "!"; }

std::optional<long long> AsInt(const YAML::Node& n) {
  if (!n.IsScalar() || !IsPlain(n)) return std::nullopt;
  static const std::regex kInt("[-+]?[0-9]+");
  const std::string& s = n.Scalar();
  if (!std::regex_match(s, kInt)) return std::nullopt;
  try {
    return std::stoll(s);
  } catch (...) {
    return std::nullopt;
  }
}

std::optional<double> AsNum(const YAML::Node& n) {
  if (!n.IsScalar() || !IsPlain(n)) return std::nullopt;
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  const std::string& s = n.Scalar();
  if (!std::regex_match(s, kFloat)) return std::nullopt;
  try {
    return std::stod(s);
  } catch (...) {
    return std::nullopt;
  }
}

std::optional<bool> AsBool(const YAML::Node& n) {
  if (!n.IsScalar() || !IsPlain(n)) return std::nullopt;
  const std::string& s = n.Scalar();
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

}  // namespace

SchemaPtr Str() { return Make(Basic(Type::kString, "a string")); }
SchemaPtr Name() {
  return Make(Basic(Type::kName, "a name (lower-case letters, digits, '-', '.')"));
}
SchemaPtr Int(long long min) {
  Schema s = Basic(Type::kInt, "an integer");
  s.min_int = min;
  if (min != LLONG_MIN) s.what = "an integer >= " + std::to_string(min);
  return Make(std::move(s));
}
SchemaPtr Num() { return Make(Basic(Type::kNumber, "a number")); }
SchemaPtr Bool() { return Make(Basic(Type::kBool, "true or false")); }
SchemaPtr Dur() { return Make(Basic(Type::kDuration, "a duration like 500ms, 30s, 2m")); }
SchemaPtr Code(std::vector<std::string> also) {
  std::string what = "a gRPC code name like OK or UNAVAILABLE";
  for (const auto& v : also) what += " or " + v;
  Schema s = Basic(Type::kCode, what);
  s.values = std::move(also);
  return Make(std::move(s));
}
SchemaPtr Regex() { return Make(Basic(Type::kRegex, "a regular expression")); }
SchemaPtr Enum(std::vector<std::string> values) {
  std::string what = "one of";
  for (const auto& v : values) what += " " + v;
  Schema s = Basic(Type::kEnum, what);
  s.values = std::move(values);
  return Make(std::move(s));
}
SchemaPtr Seq(SchemaPtr item, size_t min_items) {
  Schema s = Basic(Type::kSeq, "a list of " + item->what);
  s.item = std::move(item);
  s.min_items = min_items;
  return Make(std::move(s));
}
SchemaPtr Map(std::vector<Field> fields, std::vector<std::vector<std::string>> exactly_one_of,
              bool at_least_one) {
  Schema s = Basic(Type::kMap, "a mapping");
  s.fields = std::move(fields);
  s.exactly_one_of = std::move(exactly_one_of);
  s.at_least_one = at_least_one;
  return Make(std::move(s));
}
SchemaPtr FreeMap() { return Make(Basic(Type::kFreeMap, "a mapping")); }
SchemaPtr StringMap() { return Make(Basic(Type::kStringMap, "a mapping of names to strings")); }
SchemaPtr Alt(std::vector<SchemaPtr> alts) {
  std::string what;
  for (const auto& a : alts) what += (what.empty() ? "" : " or ") + a->what;
  Schema s = Basic(Type::kAlt, what);
  s.alts = std::move(alts);
  return Make(std::move(s));
}
SchemaPtr Steps() { return Make(Basic(Type::kSteps, "a list of steps")); }
Field Req(std::string key, SchemaPtr s) { return Field{std::move(key), std::move(s), true}; }
Field Opt(std::string key, SchemaPtr s) { return Field{std::move(key), std::move(s), false}; }

Where Where::Key(const std::string& k) const { return {file, path.empty() ? k : path + "." + k}; }
Where Where::Index(size_t i) const { return {file, path + "[" + std::to_string(i) + "]"}; }

Location LocOf(const YAML::Node& n, const std::string& file) {
  Location l;
  l.file = file;
  if (n.IsDefined()) {
    auto m = n.Mark();
    if (m.line >= 0) l.line = m.line + 1;
    if (m.column >= 0) l.column = m.column + 1;
  }
  return l;
}

Status ErrorAt(const YAML::Node& n, const Where& w, const std::string& message) {
  std::string where = LocOf(n, w.file).ToString();
  return InvalidArgumentError(where + ": " + (w.path.empty() ? "" : w.path + ": ") + message);
}

std::string Describe(const Schema& s) { return s.what; }

namespace {

// Mismatch(): "expected <what>, got <the scalar, quoted>".
Status Mismatch(const YAML::Node& n, const Schema& s, const Where& w) {
  return ErrorAt(n, w, "expected " + s.what + ", got " + Quote(n.Scalar()));
}

bool IsName(const std::string& v) {
  static const std::regex kNameRe("[a-z0-9]([-a-z0-9.]*[a-z0-9])?");
  return v.size() <= 253 && std::regex_match(v, kNameRe);
}

bool IsOneOf(const std::vector<std::string>& values, const std::string& v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

Status CheckDuration(const YAML::Node& n, const Where& w) {
  auto d = ParseDuration(n.Scalar());
  if (!d.ok()) return ErrorAt(n, w, d.status().message());
  return OkStatus();
}

Status CheckRegex(const YAML::Node& n, const Where& w) {
  try {
    std::regex re(n.Scalar());
  } catch (const std::regex_error& e) {
    return ErrorAt(n, w, "bad regular expression " + Quote(n.Scalar()) + ": " + e.what());
  }
  return OkStatus();
}

// CheckScalar(): the value of a scalar `n` against a scalar type.
Status CheckScalar(const YAML::Node& n, const Schema& s, const Where& w) {
  switch (s.type) {
    case Type::kName:
      return IsName(n.Scalar()) ? OkStatus() : Mismatch(n, s, w);
    case Type::kInt: {
      auto v = AsInt(n);
      return v && *v >= s.min_int ? OkStatus() : Mismatch(n, s, w);
    }
    case Type::kNumber:
      return AsNum(n) ? OkStatus() : Mismatch(n, s, w);
    case Type::kBool:
      return AsBool(n) ? OkStatus() : Mismatch(n, s, w);
    case Type::kDuration:
      return CheckDuration(n, w);
    case Type::kCode:
      return ParseCodeName(n.Scalar()) || IsOneOf(s.values, n.Scalar()) ? OkStatus()
                                                                        : Mismatch(n, s, w);
    case Type::kRegex:
      return CheckRegex(n, w);
    case Type::kEnum:
      return IsOneOf(s.values, n.Scalar()) ? OkStatus() : Mismatch(n, s, w);
    default:
      return OkStatus();  // kString: any scalar
  }
}

Status CheckSeq(const YAML::Node& n, const Schema& s, const Where& w) {
  if (n.size() < s.min_items) {
    return ErrorAt(n, w, "needs at least " + std::to_string(s.min_items) + " item(s)");
  }
  for (size_t i = 0; i < n.size(); ++i) DRAHIL_RETURN_IF_ERROR(Check(n[i], *s.item, w.Index(i)));
  return OkStatus();
}

// CheckKey(): a mapping key must be a string, and appear once (`seen`).
Status CheckKey(const YAML::Node& key, const Where& w, std::set<std::string>* seen) {
  if (!key.IsScalar()) return ErrorAt(key, w, "keys must be strings");
  std::string k = key.Scalar();
  if (!seen->insert(k).second) return ErrorAt(key, w.Key(k), "duplicate key");
  return OkStatus();
}

// CheckFreeMap(): any keys; a kStringMap's values must be scalars.
Status CheckFreeMap(const YAML::Node& n, const Schema& s, const Where& w) {
  std::set<std::string> seen;
  for (auto it = n.begin(); it != n.end(); ++it) {
    DRAHIL_RETURN_IF_ERROR(CheckKey(it->first, w, &seen));
    if (s.type == Type::kStringMap && !it->second.IsScalar()) {
      return ErrorAt(it->second, w.Key(it->first.Scalar()),
                     std::string("expected a string, got ") + NodeKind(it->second));
    }
  }
  return OkStatus();
}

// FieldKeys(): the keys a kMap allows, comma-separated.
std::string FieldKeys(const Schema& s) {
  std::string allowed;
  for (const auto& f : s.fields) allowed += (allowed.empty() ? "" : ", ") + f.key;
  return allowed;
}

// CheckMapEntry(): one entry of a kMap: a known key, and its value (steps
// are checked by the step registry, not here).
Status CheckMapEntry(const YAML::Node& key, const YAML::Node& value, const Schema& s,
                     const Where& w) {
  std::string k = key.Scalar();
  const Field* f = nullptr;
  for (const auto& cand : s.fields) {
    if (cand.key == k) f = &cand;
  }
  if (f == nullptr) return ErrorAt(key, w.Key(k), "unknown key (allowed: " + FieldKeys(s) + ")");
  if (f->schema->type == Type::kSteps) return OkStatus();
  return Check(value, *f->schema, w.Key(k));
}

// CheckKeySet(): the keys a kMap has (`seen`): the required ones, exactly one
// of each exclusive group, and at least one when the schema asks.
Status CheckKeySet(const YAML::Node& n, const Schema& s, const Where& w,
                   const std::set<std::string>& seen) {
  for (const auto& f : s.fields) {
    if (f.required && !seen.count(f.key))
      return ErrorAt(n, w, "missing required key \"" + f.key + "\"");
  }
  for (const auto& group : s.exactly_one_of) {
    int present = 0;
    std::string names;
    for (const auto& k : group) {
      present += seen.count(k) ? 1 : 0;
      names += (names.empty() ? "" : ", ") + k;
    }
    if (present != 1) return ErrorAt(n, w, "needs exactly one of: " + names);
  }
  if (s.at_least_one && seen.empty())
    return ErrorAt(n, w, "needs at least one of: " + FieldKeys(s));
  return OkStatus();
}

Status CheckMap(const YAML::Node& n, const Schema& s, const Where& w) {
  std::set<std::string> seen;
  for (auto it = n.begin(); it != n.end(); ++it) {
    DRAHIL_RETURN_IF_ERROR(CheckKey(it->first, w, &seen));
    DRAHIL_RETURN_IF_ERROR(CheckMapEntry(it->first, it->second, s, w));
  }
  return CheckKeySet(n, s, w, seen);
}

}  // namespace

Status Check(const YAML::Node& n, const Schema& s, const Where& w) {
  if (s.type == Type::kAlt) {
    for (const auto& a : s.alts) {
      if (Fits(*a, n)) return Check(n, *a, w);
    }
    return ErrorAt(n, w, "expected " + s.what + ", got " + NodeKind(n));
  }
  if (!Fits(s, n)) return ErrorAt(n, w, "expected " + s.what + ", got " + NodeKind(n));
  switch (s.type) {
    case Type::kSeq:
      return CheckSeq(n, s, w);
    case Type::kFreeMap:
    case Type::kStringMap:
      return CheckFreeMap(n, s, w);
    case Type::kMap:
      return CheckMap(n, s, w);
    case Type::kSteps:
    case Type::kAlt:
      return OkStatus();
    default:
      return CheckScalar(n, s, w);
  }
}

}  // namespace drahil::runner::schema
