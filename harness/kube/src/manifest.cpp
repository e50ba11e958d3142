// Manifest loading: YAML/JSON documents to lossless JSON objects with the
// scalar types kubectl gives them.
#include "drahil/kube/manifest.hpp"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "drahil/core/file_util.hpp"

namespace drahil::kube {
namespace {

constexpr int kMaxDepth = 256;
constexpr size_t kMaxNodes = 1'000'000;
constexpr size_t kMaxFileBytes = 64u << 20;

struct ConvertError {
  int line;  // 0-based, within the document chunk
  std::string message;
};

bool IsOneOf(std::string_view s, std::initializer_list<std::string_view> list) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

bool IsNullPlain(std::string_view s) { return IsOneOf(s, {"", "~", "null", "Null", "NULL"}); }

std::optional<bool> BoolPlain(std::string_view s) {
  // go-yaml v2 (kubectl) resolves the YAML 1.1 booleans.
  if (IsOneOf(s, {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"})) return true;
  if (IsOneOf(s, {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"})) return false;
  return std::nullopt;
}

// IntPlain(): decimal, 0x hex, 0o or leading-0 octal, 0b binary; '_' ignored.
std::optional<Object> IntPlain(std::string_view in) {
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
  if (s.size() - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
    base = 16, i += 2;
  } else if (s.size() - i > 2 && s[i] == '0' && (s[i + 1] == 'o' || s[i + 1] == 'O')) {
    base = 8, i += 2;
  } else if (s.size() - i > 2 && s[i] == '0' && (s[i + 1] == 'b' || s[i + 1] == 'B')) {
    base = 2, i += 2;
  } else if (s.size() - i > 1 && s[i] == '0') {
    base = 8, i += 1;
  }
  unsigned __int128 v = 0;
  for (; i < s.size(); ++i) {
    char c = s[i];
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return std::nullopt;
    if (d >= base) return std::nullopt;
    v = v * base + d;
    if (v > static_cast<unsigned __int128>(UINT64_MAX)) return std::nullopt;
  }
  if (neg) {
    if (v > static_cast<unsigned __int128>(INT64_MAX) + 1) return std::nullopt;
    return Object(static_cast<int64_t>(-static_cast<__int128>(v)));
  }
  if (v > static_cast<unsigned __int128>(INT64_MAX)) return Object(static_cast<uint64_t>(v));
  return Object(static_cast<int64_t>(v));
}

// FloatPlain(): [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? (go-yaml's
// float form). .inf/.nan are not representable in JSON and stay strings.
std::optional<Object> FloatPlain(std::string_view s) {
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
  return Object(d);
}

Object ResolvePlain(const std::string& s) {
  if (IsNullPlain(s)) return Object();
  if (auto b = BoolPlain(s)) return Object(*b);
  if (auto i = IntPlain(s)) return *i;
  if (auto f = FloatPlain(s)) return *f;
  return Object(s);
}

class Converter {
 public:
  std::optional<ConvertError> error;

  Object Convert(const YAML::Node& node, int depth) {
    if (error) return Object();
    if (depth > kMaxDepth)
      return Fail(node, "document nests deeper than " + std::to_string(kMaxDepth) + " levels");
    if (++nodes_ > kMaxNodes) {
      return Fail(node, "document expands to more than " + std::to_string(kMaxNodes) +
                            " nodes (alias expansion?)");
    }
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        return Object();
      case YAML::NodeType::Scalar:
        return Scalar(node);
      case YAML::NodeType::Sequence: {
        Object arr = Object::array();
        for (const auto& item : node) {
          arr.push_back(Convert(item, depth + 1));
          if (error) break;
        }
        return arr;
      }
      case YAML::NodeType::Map:
        return Map(node, depth);
    }
    return Object();
  }

 private:
  Object Fail(const YAML::Node& node, std::string msg) {
    if (!error) error = ConvertError{node.Mark().line, std::move(msg)};
    return Object();
  }

  Object Scalar(const YAML::Node& node) {
    const std::string& s = node.Scalar();
    const std::string& tag = node.Tag();
    if (tag == "?") return ResolvePlain(s);
    if (tag == "!" || tag == "tag:yaml.org,2002:str") return Object(s);
    if (tag == "tag:yaml.org,2002:int") {
      if (auto i = IntPlain(s)) return *i;
      return Fail(node, "cannot decode !!int `" + s + "`");
    }
    if (tag == "tag:yaml.org,2002:float") {
      if (auto i = IntPlain(s)) return Object(static_cast<double>(i->get<double>()));
      if (auto f = FloatPlain(s)) return *f;
      return Fail(node, "cannot decode !!float `" + s + "`");
    }
    if (tag == "tag:yaml.org,2002:bool") {
      if (auto b = BoolPlain(s)) return Object(*b);
      return Fail(node, "cannot decode !!bool `" + s + "`");
    }
    if (tag == "tag:yaml.org,2002:null") return Object();
    // Unknown local tags: resolve as an untagged scalar.
    return ResolvePlain(s);
  }

  std::string KeyString(const YAML::Node& key) {
    if (!key.IsScalar()) {
      Fail(key, "mapping keys must be scalars");
      return {};
    }
    return key.Scalar();
  }

  void MergeInto(Object& out, const YAML::Node& src, int depth) {
    if (src.IsSequence()) {
      for (const auto& item : src) MergeInto(out, item, depth);
      return;
    }
    if (!src.IsMap()) {
      Fail(src, "merge key '<<' needs a mapping or a list of mappings");
      return;
    }
    Object m = Convert(src, depth + 1);
    if (!m.is_object()) return;
    for (auto& [k, v] : m.items()) {
      if (!out.contains(k)) out[k] = v;
    }
  }

  Object Map(const YAML::Node& node, int depth) {
    Object obj = Object::object();
    std::vector<YAML::Node> merges;
    for (const auto& kv : node) {
      if (kv.first.IsScalar() && kv.first.Tag() == "?" && kv.first.Scalar() == "<<") {
        merges.push_back(kv.second);
        continue;
      }
      std::string key = KeyString(kv.first);
      if (error) return Object();
      if (obj.contains(key)) {
        return Fail(kv.first, "mapping key \"" + key + "\" already defined");
      }
      obj[key] = Convert(kv.second, depth + 1);
      if (error) return Object();
    }
    // Explicit keys win over merged ones, wherever the '<<' appears.
    for (const auto& m : merges) MergeInto(obj, m, depth);
    return obj;
  }

  size_t nodes_ = 0;
};

struct Chunk {
  std::string text;
  int first_line = 0;  // 0-based line of the chunk's first line in the file
};

bool IsMarker(std::string_view line, std::string_view marker) {
  if (line.substr(0, 3) != marker) return false;
  return line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r';
}

// SplitDocuments(): YAML document markers ("---", "...") at column 0 always
// end a document, even inside block scalars, so splitting by line is exact.
std::vector<Chunk> SplitDocuments(std::string_view text) {
  std::vector<Chunk> chunks(1);
  int line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (IsMarker(line, "---")) {
      chunks.push_back(Chunk{"", line_no});
      // Content after "---" on the same line belongs to the new document;
      // blank the marker to keep columns.
      chunks.back().text = "   " + std::string(line.substr(3)) + "\n";
    } else if (IsMarker(line, "...")) {
      chunks.push_back(Chunk{"", line_no + 1});
    } else if (!line.empty() && line[0] == '%') {
      chunks.back().text += "\n";  // directive: ignored, keep line numbers
    } else {
      chunks.back().text += std::string(line) + "\n";
    }
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
    ++line_no;
  }
  return chunks;
}

bool IsBlank(const std::string& text) {
  size_t i = 0;
  while (i < text.size()) {
    size_t nl = text.find('\n', i);
    std::string_view line(text.data() + i, (nl == std::string::npos ? text.size() : nl) - i);
    size_t b = line.find_first_not_of(" \t\r");
    if (b != std::string_view::npos && line[b] != '#') return false;
    if (nl == std::string::npos) break;
    i = nl + 1;
  }
  return true;
}

std::string Where(std::string_view source, int doc, int line) {
  return std::string(source) + ": document " + std::to_string(doc) + " (line " +
         std::to_string(line) + ")";
}

// ParseYamlChunk(): one document; errors carry the absolute 1-based line.
Result<Object> ParseYamlChunk(const Chunk& chunk, std::string_view source, int doc) {
  YAML::Node node;
  try {
    node = YAML::Load(chunk.text);
  } catch (const YAML::Exception& e) {
    int line = chunk.first_line + (e.mark.line >= 0 ? e.mark.line : 0) + 1;
    return InvalidArgumentError(Where(source, doc, line) + ": " + e.msg);
  } catch (const std::exception& e) {
    return InvalidArgumentError(Where(source, doc, chunk.first_line + 1) + ": " + e.what());
  }
  Converter conv;
  Object out;
  try {
    out = conv.Convert(node, 0);
  } catch (const std::exception& e) {
    return InvalidArgumentError(Where(source, doc, chunk.first_line + 1) + ": " + e.what());
  }
  if (conv.error) {
    int line = chunk.first_line + std::max(conv.error->line, 0) + 1;
    return InvalidArgumentError(Where(source, doc, line) + ": " + conv.error->message);
  }
  return out;
}

int LineOfOffset(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + static_cast<int>(std::count(text.begin(),
                                         text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

Status AppendObject(std::vector<ManifestObject>& out, Object value, std::string_view source,
                    int doc, int line, const ManifestOptions& options) {
  std::string where = Where(source, doc, line);
  if (value.is_null()) return OkStatus();
  if (!value.is_object()) {
    return InvalidArgumentError(where + ": expected an API object (a mapping), found " +
                                std::string(value.type_name()));
  }
  auto check_kind = [&](const Object& o, const std::string& w) -> Status {
    if (!options.require_kind) return OkStatus();
    auto av = o.find("apiVersion");
    auto kind = o.find("kind");
    if (av == o.end() || !av->is_string() || av->get_ref<const std::string&>().empty()) {
      return InvalidArgumentError(w + ": apiVersion not set");
    }
    if (kind == o.end() || !kind->is_string() || kind->get_ref<const std::string&>().empty()) {
      return InvalidArgumentError(w + ": kind not set");
    }
    return OkStatus();
  };
  DRAHIL_RETURN_IF_ERROR(check_kind(value, where));
  std::string kind = Kind(value);
  auto items = value.find("items");
  bool is_list = kind.size() >= 4 && kind.compare(kind.size() - 4, 4, "List") == 0 &&
                 items != value.end() && (items->is_array() || items->is_null());
  if (!is_list) {
    out.push_back(ManifestObject{std::move(value), std::string(source), doc, line});
    return OkStatus();
  }
  if (items->is_null()) return OkStatus();
  for (size_t i = 0; i < items->size(); ++i) {
    Object& item = (*items)[i];
    std::string w = where + ": items[" + std::to_string(i) + "]";
    if (!item.is_object()) return InvalidArgumentError(w + ": expected an API object (a mapping)");
    DRAHIL_RETURN_IF_ERROR(check_kind(item, w));
    out.push_back(ManifestObject{std::move(item), std::string(source), doc, line});
  }
  return OkStatus();
}

bool LooksLikeJson(std::string_view text) {
  size_t b = text.find_first_not_of(" \t\r\n");
  return b != std::string_view::npos && (text[b] == '{' || text[b] == '[');
}

Result<std::vector<ManifestObject>> ParseJsonText(std::string_view text, std::string_view source,
                                                  const ManifestOptions& options) {
  std::vector<ManifestObject> out;
  Object value;
  try {
    value = Object::parse(text.begin(), text.end());
  } catch (const Object::parse_error& e) {
    size_t off = e.byte > 0 ? e.byte - 1 : 0;
    return InvalidArgumentError(Where(source, 0, LineOfOffset(text, off)) +
                                ": invalid JSON: " + e.what());
  } catch (const Object::exception& e) {
    // out_of_range: a number too large for a double ("1e999").
    return InvalidArgumentError(Where(source, 0, 1) + ": invalid JSON: " + e.what());
  }
  size_t b = text.find_first_not_of(" \t\r\n");
  DRAHIL_RETURN_IF_ERROR(
      AppendObject(out, std::move(value), source, 0, LineOfOffset(text, b), options));
  return out;
}

bool HasManifestExtension(const std::string& name) {
  for (const char* ext : {".yaml", ".yml", ".json"}) {
    size_t n = std::char_traits<char>::length(ext);
    if (name.size() > n && name.compare(name.size() - n, n, ext) == 0) return true;
  }
  return false;
}

Status LoadPath(const std::string& path, bool top, const ManifestOptions& options,
                std::vector<ManifestObject>& out) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return ErrnoError(errno, "manifests " + path);
  if (S_ISDIR(st.st_mode)) {
    if (!top && !options.recursive) return OkStatus();
    DRAHIL_ASSIGN_OR_RETURN(auto names, ListDir(path));
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      std::string child = path + (path.back() == '/' ? "" : "/") + name;
      struct stat cst {};
      if (::stat(child.c_str(), &cst) != 0) continue;
      if (S_ISDIR(cst.st_mode)) {
        if (options.recursive) DRAHIL_RETURN_IF_ERROR(LoadPath(child, false, options, out));
        continue;
      }
      if (!S_ISREG(cst.st_mode) || !HasManifestExtension(name)) continue;
      DRAHIL_RETURN_IF_ERROR(LoadPath(child, false, options, out));
    }
    return OkStatus();
  }
  DRAHIL_ASSIGN_OR_RETURN(auto text, ReadFile(path, kMaxFileBytes));
  DRAHIL_ASSIGN_OR_RETURN(auto objs, ParseManifests(text, path, options));
  for (auto& o : objs) out.push_back(std::move(o));
  return OkStatus();
}

// ---- JSON → YAML -------------------------------------------------------------

bool PlainSafe(const std::string& s) {
  if (s.empty()) return false;
  if (!ResolvePlain(s).is_string()) return false;  // would read back as another type
  unsigned char c0 = static_cast<unsigned char>(s[0]);
  if (!(std::isalnum(c0) || c0 == '_' || c0 == '/' || c0 == '.')) return false;
  for (unsigned char c : s) {
    if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == '/')) return false;
  }
  return true;
}

std::string ScalarYaml(const Object& v) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    return PlainSafe(s) ? s : v.dump(-1, ' ', false, Object::error_handler_t::replace);
  }
  if (v.is_null()) return "null";
  return v.dump();
}

bool IsScalarYaml(const Object& v) {
  return v.is_primitive() || (v.is_object() && v.empty()) || (v.is_array() && v.empty());
}

std::string InlineYaml(const Object& v) {
  if (v.is_object()) return "{}";
  if (v.is_array()) return "[]";
  return ScalarYaml(v);
}

void EmitYaml(const Object& v, int indent, std::string& out) {
  std::string pad(static_cast<size_t>(indent), ' ');
  if (v.is_object()) {
    for (auto& [k, child] : v.items()) {
      std::string key = ScalarYaml(Object(k));
      // YAML limits implicit keys to 1024 characters; longer ones need the
      // explicit "? key" form.
      bool explicit_key = key.size() > 1000;
      out += pad + (explicit_key ? "? " + key + "\n" + pad + ":" : key + ":");
      if (IsScalarYaml(child)) {
        out += " " + InlineYaml(child) + "\n";
      } else {
        out += "\n";
        EmitYaml(child, child.is_array() && !explicit_key ? indent : indent + 2, out);
      }
    }
  } else if (v.is_array()) {
    for (const auto& child : v) {
      if (IsScalarYaml(child)) {
        out += pad + "- " + InlineYaml(child) + "\n";
        continue;
      }
      std::string sub;
      EmitYaml(child, indent + 2, sub);
      // Put the first line of the nested block after the "- ".
      sub.replace(static_cast<size_t>(indent), 2, "- ");
      out += sub;
    }
  } else {
    out += pad + ScalarYaml(v) + "\n";
  }
}

}  // namespace

std::string ManifestObject::Where() const { return kube::Where(file, document, line); }

Result<std::vector<ManifestObject>> ParseManifests(std::string_view text,
                                                   std::string_view source_name,
                                                   const ManifestOptions& options) {
  if (LooksLikeJson(text)) return ParseJsonText(text, source_name, options);
  std::vector<ManifestObject> out;
  auto chunks = SplitDocuments(text);
  int doc = 0;
  for (const Chunk& c : chunks) {
    if (IsBlank(c.text)) continue;  // empty documents are skipped, not counted
    DRAHIL_ASSIGN_OR_RETURN(Object value, ParseYamlChunk(c, source_name, doc));
    // The document's line: its first non-blank line.
    int line = c.first_line + 1;
    size_t b = c.text.find_first_not_of(" \t\r\n");
    if (b != std::string::npos) line = c.first_line + LineOfOffset(c.text, b);
    DRAHIL_RETURN_IF_ERROR(AppendObject(out, std::move(value), source_name, doc, line, options));
    ++doc;
  }
  return out;
}

Result<std::vector<ManifestObject>> LoadManifests(const std::string& path,
                                                  const ManifestOptions& options) {
  std::vector<ManifestObject> out;
  DRAHIL_RETURN_IF_ERROR(LoadPath(path, true, options, out));
  return out;
}

Result<Object> YamlToJson(std::string_view yaml) {
  auto chunks = SplitDocuments(yaml);
  const Chunk* only = nullptr;
  for (const auto& c : chunks) {
    if (IsBlank(c.text)) continue;
    if (only != nullptr) return InvalidArgumentError("yaml: expected one document, found several");
    only = &c;
  }
  if (only == nullptr) return Object();
  return ParseYamlChunk(*only, "yaml", 0);
}

std::string JsonToYaml(const Object& value) {
  if (IsScalarYaml(value)) return InlineYaml(value) + "\n";
  std::string out;
  EmitYaml(value, 0, out);
  return out;
}

}  // namespace drahil::kube
