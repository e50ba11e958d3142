#include "schema.hpp"

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
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Undefined: return "nothing";
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
    case Type::kMap: case Type::kFreeMap: case Type::kStringMap: return n.IsMap();
    case Type::kSeq: case Type::kSteps: return n.IsSequence();
    case Type::kAlt: return false;
    default: return n.IsScalar();
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
SchemaPtr Code() { return Make(Basic(Type::kCode, "a gRPC code name like OK or UNAVAILABLE")); }
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

Status Check(const YAML::Node& n, const Schema& s, const Where& w) {
  if (s.type == Type::kAlt) {
    for (const auto& a : s.alts) {
      if (Fits(*a, n)) return Check(n, *a, w);
    }
    return ErrorAt(n, w, "expected " + s.what + ", got " + NodeKind(n));
  }
  if (!Fits(s, n)) return ErrorAt(n, w, "expected " + s.what + ", got " + NodeKind(n));
  switch (s.type) {
    case Type::kString:
      return OkStatus();
    case Type::kName: {
      static const std::regex kNameRe("[a-z0-9]([-a-z0-9.]*[a-z0-9])?");
      if (n.Scalar().size() > 253 || !std::regex_match(n.Scalar(), kNameRe)) {
        return ErrorAt(n, w, "expected " + s.what + ", got " + Quote(n.Scalar()));
      }
      return OkStatus();
    }
    case Type::kInt: {
      auto v = AsInt(n);
      if (!v || *v < s.min_int) return ErrorAt(n, w, "expected " + s.what + ", got " + Quote(n.Scalar()));
      return OkStatus();
    }
    case Type::kNumber:
      if (!AsNum(n)) return ErrorAt(n, w, "expected " + s.what + ", got " + Quote(n.Scalar()));
      return OkStatus();
    case Type::kBool:
      if (!AsBool(n)) return ErrorAt(n, w, "expected " + s.what + ", got " + Quote(n.Scalar()));
      return OkStatus();
    case Type::kDuration: {
      auto d = ParseDuration(n.Scalar());
      if (!d.ok()) return ErrorAt(n, w, d.status().message());
      return OkStatus();
    }
    case Type::kCode:
      if (!ParseCodeName(n.Scalar())) {
        return ErrorAt(n, w, "expected " + s.what + ", got " + Quote(n.Scalar()));
      }
      return OkStatus();
    case Type::kRegex:
      try {
        std::regex re(n.Scalar());
      } catch (const std::regex_error& e) {
        return ErrorAt(n, w, "bad regular expression " + Quote(n.Scalar()) + ": " + e.what());
      }
      return OkStatus();
    case Type::kEnum:
      for (const auto& v : s.values) {
        if (v == n.Scalar()) return OkStatus();
      }
      return ErrorAt(n, w, "expected " + s.what + ", got " + Quote(n.Scalar()));
    case Type::kSeq: {
      if (n.size() < s.min_items) {
        return ErrorAt(n, w, "needs at least " + std::to_string(s.min_items) + " item(s)");
      }
      for (size_t i = 0; i < n.size(); ++i) DRAHIL_RETURN_IF_ERROR(Check(n[i], *s.item, w.Index(i)));
      return OkStatus();
    }
    case Type::kFreeMap:
    case Type::kStringMap: {
      std::set<std::string> seen;
      for (auto it = n.begin(); it != n.end(); ++it) {
        if (!it->first.IsScalar()) return ErrorAt(it->first, w, "keys must be strings");
        std::string k = it->first.Scalar();
        if (!seen.insert(k).second) return ErrorAt(it->first, w.Key(k), "duplicate key");
        if (s.type == Type::kStringMap && !it->second.IsScalar()) {
          return ErrorAt(it->second, w.Key(k), std::string("expected a string, got ") + NodeKind(it->second));
        }
      }
      return OkStatus();
    }
    case Type::kMap: {
      std::set<std::string> seen;
      for (auto it = n.begin(); it != n.end(); ++it) {
        if (!it->first.IsScalar()) return ErrorAt(it->first, w, "keys must be strings");
        std::string k = it->first.Scalar();
        if (!seen.insert(k).second) return ErrorAt(it->first, w.Key(k), "duplicate key");
        const Field* f = nullptr;
        for (const auto& cand : s.fields) {
          if (cand.key == k) f = &cand;
        }
        if (f == nullptr) {
          std::string allowed;
          for (const auto& cand : s.fields) allowed += (allowed.empty() ? "" : ", ") + cand.key;
          return ErrorAt(it->first, w.Key(k), "unknown key (allowed: " + allowed + ")");
        }
        if (f->schema->type != Type::kSteps) DRAHIL_RETURN_IF_ERROR(Check(it->second, *f->schema, w.Key(k)));
      }
      for (const auto& f : s.fields) {
        if (f.required && !seen.count(f.key)) return ErrorAt(n, w, "missing required key \"" + f.key + "\"");
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
      if (s.at_least_one && seen.empty()) {
        std::string allowed;
        for (const auto& f : s.fields) allowed += (allowed.empty() ? "" : ", ") + f.key;
        return ErrorAt(n, w, "needs at least one of: " + allowed);
      }
      return OkStatus();
    }
    case Type::kSteps:
    case Type::kAlt:
      return OkStatus();
  }
  return OkStatus();
}

}  // namespace drahil::runner::schema
