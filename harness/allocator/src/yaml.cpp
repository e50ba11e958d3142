#include "drahil/allocator/yaml.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <regex>

#include <yaml-cpp/yaml.h>

#include "drahil/core/file_util.hpp"

namespace drahil::allocator {
namespace {

using Json = nlohmann::json;

constexpr int kMaxDepth = 256;

// PlainScalar(): go-yaml v2 resolution of an unquoted scalar.
Json PlainScalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  static const char* const kTrue[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"};
  static const char* const kFalse[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N"};
  for (const char* t : kTrue) {
    if (s == t) return true;
  }
  for (const char* f : kFalse) {
    if (s == f) return false;
  }
  static const std::regex kInt("[-+]?(0|[1-9][0-9]*)");
  static const std::regex kHex("0x[0-9a-fA-F]+");
  static const std::regex kFloat("[-+]?([0-9]+\\.[0-9]*|\\.[0-9]+|[0-9]+)([eE][-+]?[0-9]+)?");
  if (std::regex_match(s, kInt)) {
    errno = 0;
    long long v = std::strtoll(s.c_str(), nullptr, 10);
    if (errno == 0) return v;
    return s;
  }
  if (std::regex_match(s, kHex)) return static_cast<long long>(std::strtoll(s.c_str(), nullptr, 16));
  if (std::regex_match(s, kFloat)) return std::strtod(s.c_str(), nullptr);
  return s;
}

Result<Json> Convert(const YAML::Node& n, int depth) {
  if (depth > kMaxDepth) return InvalidArgumentError("document nests deeper than " + std::to_string(kMaxDepth));
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return Json(nullptr);
    case YAML::NodeType::Scalar:
      if (n.Tag() == "!" || n.Tag() == "tag:yaml.org,2002:str") return Json(n.Scalar());
      return PlainScalar(n.Scalar());
    case YAML::NodeType::Sequence: {
      Json arr = Json::array();
      for (const auto& e : n) {
        DRAHIL_ASSIGN_OR_RETURN(Json v, Convert(e, depth + 1));
        arr.push_back(std::move(v));
      }
      return arr;
    }
    case YAML::NodeType::Map: {
      Json obj = Json::object();
      for (const auto& kv : n) {
        if (!kv.first.IsScalar()) return InvalidArgumentError("line " + std::to_string(kv.first.Mark().line + 1) + ": non-scalar map key");
        DRAHIL_ASSIGN_OR_RETURN(Json v, Convert(kv.second, depth + 1));
        obj[kv.first.Scalar()] = std::move(v);
      }
      return obj;
    }
  }
  return Json(nullptr);
}

bool NeedsQuotes(const std::string& s) {
  if (s.empty()) return true;
  Json j = PlainScalar(s);
  if (!j.is_string()) return true;
  static const std::string kSpecial = ":#{}[],&*!|>'\"%@`\n\t";
  if (s.find_first_of(kSpecial) != std::string::npos) return true;
  if (s.front() == ' ' || s.back() == ' ' || s.front() == '-' || s.front() == '?') return true;
  return false;
}

void Emit(YAML::Emitter& out, const Json& v) {
  switch (v.type()) {
    case Json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [k, x] : v.items()) {
        out << YAML::Key;
        if (NeedsQuotes(k)) out << YAML::DoubleQuoted;
        out << k << YAML::Value;
        Emit(out, x);
      }
      out << YAML::EndMap;
      break;
    case Json::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& x : v) Emit(out, x);
      out << YAML::EndSeq;
      break;
    case Json::value_t::string: {
      const std::string& s = v.get_ref<const std::string&>();
      if (NeedsQuotes(s)) out << YAML::DoubleQuoted;
      out << s;
      break;
    }
    case Json::value_t::boolean: out << (v.get<bool>() ? "true" : "false"); break;
    case Json::value_t::null: out << YAML::Null; break;
    default: out << v.dump(); break;
  }
}

}  // namespace

Result<std::vector<Json>> ParseYamlDocuments(std::string_view text, std::string_view source) {
  std::vector<Json> out;
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(std::string(source) + ": line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  for (size_t i = 0; i < docs.size(); ++i) {
    auto j = Convert(docs[i], 0);
    if (!j.ok()) return j.status().WithContext(std::string(source) + ": document " + std::to_string(i));
    if (j->is_null()) continue;
    if (j->is_object() && j->value("kind", "") == "List" && (*j)["items"].is_array()) {
      for (auto& item : (*j)["items"]) out.push_back(item);
    } else {
      out.push_back(std::move(*j));
    }
  }
  return out;
}

Result<std::vector<Json>> LoadYamlPath(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return ErrnoError(errno, "stat " + path);
  std::vector<std::string> files;
  if (S_ISDIR(st.st_mode)) {
    DRAHIL_ASSIGN_OR_RETURN(auto names, ListDir(path));
    for (const auto& n : names) {
      auto ends = [&](const std::string& suf) {
        return n.size() >= suf.size() && n.compare(n.size() - suf.size(), suf.size(), suf) == 0;
      };
      if (ends(".yaml") || ends(".yml") || ends(".json")) files.push_back(path + "/" + n);
    }
  } else {
    files.push_back(path);
  }
  std::vector<Json> out;
  for (const auto& f : files) {
    DRAHIL_ASSIGN_OR_RETURN(std::string text, ReadFile(f));
    DRAHIL_ASSIGN_OR_RETURN(auto docs, ParseYamlDocuments(text, f));
    for (auto& d : docs) out.push_back(std::move(d));
  }
  return out;
}

std::string ToYaml(const Json& value) {
  YAML::Emitter out;
  Emit(out, value);
  return std::string(out.c_str()) + "\n";
}

}  // namespace drahil::allocator
