#include "drahil/formats/yaml_json.hpp"

#include <yaml-cpp/anchor.h>
#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <utility>

namespace drahil::formats {
namespace {

using Json = nlohmann::json;

// Bytes charged per output node on top of its text: roughly what a
// nlohmann::json value and its container slot cost.
constexpr size_t kNodeOverhead = 32;

bool IsOneOf(std::string_view s, std::initializer_list<std::string_view> list) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

bool IsNullPlain(std::string_view s) { return IsOneOf(s, {"", "~", "null", "Null", "NULL"}); }

std::optional<bool> BoolPlain(std::string_view s) {
  if (IsOneOf(s, {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"})) {
    return true;
  }
  if (IsOneOf(s, {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"})) {
    return false;
  }
  return std::nullopt;
}

// IntPlain(): decimal, 0x hex, 0o or leading-0 octal, 0b binary; '_' ignored.
// nullopt when not an integer or beyond 64 bits.
std::optional<Json> IntPlain(std::string_view in) {
  std::string s;
  for (char c : in) {
    if (c != '_') s += c;
  }
  if (s.empty()) return std::nullopt;
  bool neg = false;
  size_t i = 0;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    i = 1;
  }
  if (i >= s.size()) return std::nullopt;
  int base = 10;
  auto prefix = [&](char lower) {
    return s.size() - i > 2 && s[i] == '0' && (s[i + 1] == lower || s[i + 1] == lower - 32);
  };
  if (prefix('x')) {
    base = 16, i += 2;
  } else if (prefix('o')) {
    base = 8, i += 2;
  } else if (prefix('b')) {
    base = 2, i += 2;
  } else if (s.size() - i > 1 && s[i] == '0') {
    base = 8, i += 1;
  }
  unsigned __int128 v = 0;
  for (; i < s.size(); ++i) {
    char c = s[i];
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      return std::nullopt;
    }
    if (d >= base) return std::nullopt;
    v = v * static_cast<unsigned>(base) + static_cast<unsigned>(d);
    if (v > static_cast<unsigned __int128>(UINT64_MAX)) return std::nullopt;
  }
  if (neg) {
    if (v > static_cast<unsigned __int128>(INT64_MAX) + 1) return std::nullopt;
    return Json(static_cast<int64_t>(-static_cast<__int128>(v)));
  }
  if (v > static_cast<unsigned __int128>(INT64_MAX)) return Json(static_cast<uint64_t>(v));
  return Json(static_cast<int64_t>(v));
}

// FloatPlain(): [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, finite.
std::optional<Json> FloatPlain(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    size_t b = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i - b;
  };
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (digits() == 0) return std::nullopt;
  } else {
    if (digits() == 0) return std::nullopt;
    if (i < s.size() && s[i] == '.') {
      ++i;
      digits();
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (digits() == 0) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  double d = std::strtod(std::string(s).c_str(), nullptr);
  if (!std::isfinite(d)) return std::nullopt;
  return Json(d);
}

std::string TooDeep(const YamlLimits& l) {
  return "YAML nests deeper than " + std::to_string(l.max_depth) + " levels";
}
std::string TooManyNodes(const YamlLimits& l) {
  return "YAML expands to more than " + std::to_string(l.max_nodes) + " nodes (alias expansion?)";
}
std::string TooManyBytes(const YamlLimits& l) {
  return "YAML expands to more than " + std::to_string(l.max_bytes) + " bytes (alias expansion?)";
}

Status ErrorStatus(const std::string& source, const YamlError& e) {
  std::string where = source;
  if (e.line > 0) {
    where += (where.empty() ? "" : ":") + std::to_string(e.line) + ":" + std::to_string(e.column);
  }
  return InvalidArgumentError(where.empty() ? e.message : where + ": " + e.message);
}

}  // namespace

Json ResolvePlainScalar(std::string_view text) {
  if (IsNullPlain(text)) return Json();
  if (auto b = BoolPlain(text)) return Json(*b);
  if (auto i = IntPlain(text)) return *i;
  if (auto f = FloatPlain(text)) return *f;
  return Json(std::string(text));
}

// One Convert() call: a recursive walk that stops at the first failure.
class YamlConverter::Walk {
 public:
  explicit Walk(YamlConverter& c) : c_(c) {}

  Json Convert(const YAML::Node& node, int depth) {
    if (failed()) return Json();
    if (depth > c_.limits_.max_depth) {
      return Fail(node, TooDeep(c_.limits_));
    }
    if (++c_.nodes_ > c_.limits_.max_nodes) {
      return Fail(node, TooManyNodes(c_.limits_));
    }
    if (!Charge(node, kNodeOverhead)) return Json();
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        return Json();
      case YAML::NodeType::Scalar:
        if (!Charge(node, node.Scalar().size())) return Json();
        return Scalar(node);
      case YAML::NodeType::Sequence: {
        Json arr = Json::array();
        for (const auto& item : node) {
          arr.push_back(Convert(item, depth + 1));
          if (failed()) break;
        }
        return arr;
      }
      case YAML::NodeType::Map:
        return Map(node, depth);
    }
    return Json();
  }

  [[nodiscard]] bool failed() const { return !c_.error_.message.empty(); }

 private:
  Json Fail(const YAML::Node& node, std::string message) {
    if (failed()) return Json();
    const YAML::Mark m = node.Mark();
    c_.error_.line = m.line >= 0 ? m.line + 1 : 0;
    c_.error_.column = m.line >= 0 ? m.column + 1 : 0;
    c_.error_.message = std::move(message);
    return Json();
  }

  bool Charge(const YAML::Node& node, size_t bytes) {
    c_.bytes_ += bytes;
    if (c_.bytes_ <= c_.limits_.max_bytes) return true;
    Fail(node, TooManyBytes(c_.limits_));
    return false;
  }

  Json Scalar(const YAML::Node& node) {
    const std::string& s = node.Scalar();
    const std::string& tag = node.Tag();
    if (tag == "?") return ResolvePlainScalar(s);
    if (tag == "!" || tag == "tag:yaml.org,2002:str") return Json(s);
    if (tag == "tag:yaml.org,2002:int") {
      if (auto i = IntPlain(s)) return *i;
      return Fail(node, "cannot decode !!int `" + s + "`");
    }
    if (tag == "tag:yaml.org,2002:float") {
      if (auto i = IntPlain(s)) return Json(i->get<double>());
      if (auto f = FloatPlain(s)) return *f;
      return Fail(node, "cannot decode !!float `" + s + "`");
    }
    if (tag == "tag:yaml.org,2002:bool") {
      if (auto b = BoolPlain(s)) return Json(*b);
      return Fail(node, "cannot decode !!bool `" + s + "`");
    }
    if (tag == "tag:yaml.org,2002:null") return Json();
    return ResolvePlainScalar(s);
  }

  void MergeInto(Json& out, const YAML::Node& src, int depth) {
    if (src.IsSequence()) {
      for (const auto& item : src) {
        MergeInto(out, item, depth);
        if (failed()) return;
      }
      return;
    }
    if (!src.IsMap()) {
      Fail(src, "merge key '<<' needs a mapping or a list of mappings");
      return;
    }
    Json m = Convert(src, depth + 1);
    if (!m.is_object()) return;
    for (auto& [k, v] : m.items()) {
      if (!out.contains(k)) out[k] = std::move(v);
    }
  }

  Json Map(const YAML::Node& node, int depth) {
    Json obj = Json::object();
    std::vector<YAML::Node> merges;
    for (const auto& kv : node) {
      const YAML::Node& key = kv.first;
      if (key.IsScalar() && key.Tag() == "?" && key.Scalar() == "<<") {
        merges.push_back(kv.second);
        continue;
      }
      if (!key.IsScalar()) return Fail(key, "a mapping key must be a scalar");
      const std::string& name = key.Scalar();
      if (!Charge(key, name.size())) return Json();
      if (obj.contains(name)) return Fail(key, "mapping key \"" + name + "\" already defined");
      obj[name] = Convert(kv.second, depth + 1);
      if (failed()) return Json();
    }
    for (const auto& m : merges) {
      MergeInto(obj, m, depth);
      if (failed()) return Json();
    }
    return obj;
  }

  YamlConverter& c_;
};

YamlConverter::YamlConverter(std::string source, YamlLimits limits)
    : source_(std::move(source)), limits_(limits) {}

Result<Json> YamlConverter::Convert(const YAML::Node& node) {
  error_ = YamlError{};
  Walk walk(*this);
  Json out;
  try {
    out = walk.Convert(node, 0);
  } catch (const std::exception& e) {
    // yaml-cpp or the allocator; the limits keep this from being bad_alloc.
    error_ = YamlError{0, 0, e.what()};
  }
  if (!error_.message.empty()) return ErrorStatus(source_, error_);
  return out;
}

namespace {

// DocumentStarts: an event sink that only remembers where each document
// starts. yaml-cpp 0.7 returns the same document forever when one begins
// with a flow entry (a file that is just ","): its LoadAll() never returns.
class DocumentStarts final : public YAML::EventHandler {
 public:
  YAML::Mark last;
  void OnDocumentStart(const YAML::Mark& mark) override { last = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// StuckDocument(): the line and column where the parser stops making
// progress, if it does (a pass over the events only, before LoadAll()).
std::optional<YamlError> StuckDocument(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentStarts starts;
  int previous = -1;
  while (parser.HandleNextDocument(starts)) {
    if (starts.last.pos == previous)
      return YamlError{starts.last.line + 1, starts.last.column + 1,
                       "unexpected ',' where a document should start"};
    previous = starts.last.pos;
  }
  return std::nullopt;
}

}  // namespace

Result<std::vector<YAML::Node>> ParseYamlStream(std::string_view text, std::string_view source) {
  try {
    std::string copy(text);
    if (auto stuck = StuckDocument(copy)) return ErrorStatus(std::string(source), *stuck);
    return YAML::LoadAll(copy);
  } catch (const YAML::Exception& e) {
    YamlError err{e.mark.line >= 0 ? e.mark.line + 1 : 0, e.mark.line >= 0 ? e.mark.column + 1 : 0,
                  e.msg};
    return ErrorStatus(std::string(source), err);
  } catch (const std::exception& e) {
    return ErrorStatus(std::string(source), YamlError{0, 0, e.what()});
  }
}

Status CheckYamlLimits(const std::vector<YAML::Node>& documents, std::string_view source,
                       const YamlLimits& limits) {
  size_t nodes = 0;
  size_t bytes = 0;
  YamlError error;
  // Walk(): false at the first limit broken; counts as Convert() charges.
  std::function<bool(const YAML::Node&, int)> walk = [&](const YAML::Node& n, int depth) {
    auto fail = [&](std::string message) {
      const YAML::Mark m = n.Mark();
      error = YamlError{m.line >= 0 ? m.line + 1 : 0, m.line >= 0 ? m.column + 1 : 0,
                        std::move(message)};
      return false;
    };
    if (depth > limits.max_depth) {
      return fail(TooDeep(limits));
    }
    if (++nodes > limits.max_nodes) {
      return fail(TooManyNodes(limits));
    }
    bytes += kNodeOverhead + (n.IsScalar() ? n.Scalar().size() : 0);
    if (bytes > limits.max_bytes) {
      return fail(TooManyBytes(limits));
    }
    if (n.IsMap()) {
      for (const auto& kv : n) {
        if (kv.first.IsScalar()) bytes += kv.first.Scalar().size();
        if (!walk(kv.second, depth + 1)) return false;
      }
    } else if (n.IsSequence()) {
      for (const auto& item : n) {
        if (!walk(item, depth + 1)) return false;
      }
    }
    return true;
  };
  for (const auto& doc : documents) {
    if (!walk(doc, 0)) return ErrorStatus(std::string(source), error);
  }
  return OkStatus();
}

Result<std::vector<Json>> YamlDocumentsToJson(std::string_view text, std::string_view source,
                                              const YamlLimits& limits) {
  DRAHIL_ASSIGN_OR_RETURN(auto docs, ParseYamlStream(text, source));
  YamlConverter converter{std::string(source), limits};
  std::vector<Json> out;
  out.reserve(docs.size());
  for (const auto& doc : docs) {
    DRAHIL_ASSIGN_OR_RETURN(Json j, converter.Convert(doc));
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace drahil::formats
