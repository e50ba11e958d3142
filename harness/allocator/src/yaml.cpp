#include "drahil/allocator/yaml.hpp"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include "drahil/core/file_util.hpp"
#include "drahil/formats/yaml_json.hpp"

namespace drahil::allocator {
namespace {

using Json = nlohmann::json;

bool NeedsQuotes(const std::string& s) {
  if (s.empty()) return true;
  Json j = formats::ResolvePlainScalar(s);
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
    case Json::value_t::boolean:
      out << (v.get<bool>() ? "true" : "false");
      break;
    case Json::value_t::null:
      out << YAML::Null;
      break;
    default:
      out << v.dump();
      break;
  }
}

}  // namespace

Result<std::vector<Json>> ParseYamlDocuments(std::string_view text, std::string_view source) {
  DRAHIL_ASSIGN_OR_RETURN(auto docs, formats::YamlDocumentsToJson(text, source));
  std::vector<Json> out;
  for (auto& j : docs) {
    if (j.is_null()) continue;
    if (j.is_object() && j.value("kind", "") == "List" && j["items"].is_array()) {
      for (auto& item : j["items"]) out.push_back(std::move(item));
    } else {
      out.push_back(std::move(j));
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
      if (n.ends_with(".yaml") || n.ends_with(".yml") || n.ends_with(".json")) {
        files.push_back(path + "/" + n);
      }
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
