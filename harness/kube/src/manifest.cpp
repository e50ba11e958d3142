// Manifest loading: YAML/JSON documents to lossless JSON objects with the
// scalar types kubectl gives them.
#include "drahil/kube/manifest.hpp"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "drahil/core/file_util.hpp"
#include "drahil/formats/yaml_json.hpp"

namespace drahil::kube {
namespace {

constexpr size_t kMaxFileBytes = 64u << 20;

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

// ParseYamlChunk(): one document; errors carry the absolute 1-based line. The
// converter's budget covers all documents of a text.
Result<Object> ParseYamlChunk(const Chunk& chunk, std::string_view source, int doc,
                              formats::YamlConverter& converter) {
  YAML::Node node;
  try {
    node = YAML::Load(chunk.text);
  } catch (const YAML::Exception& e) {
    int line = chunk.first_line + (e.mark.line >= 0 ? e.mark.line : 0) + 1;
    return InvalidArgumentError(Where(source, doc, line) + ": " + e.msg);
  } catch (const std::exception& e) {
    return InvalidArgumentError(Where(source, doc, chunk.first_line + 1) + ": " + e.what());
  }
  auto out = converter.Convert(node);
  if (!out.ok()) {
    int line = chunk.first_line + std::max(converter.error().line, 1);
    return InvalidArgumentError(Where(source, doc, line) + ": " + converter.error().message);
  }
  return std::move(*out);
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
  bool is_list =
      kind.ends_with("List") && items != value.end() && (items->is_array() || items->is_null());
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
  for (std::string_view ext : {".yaml", ".yml", ".json"}) {
    if (name.size() > ext.size() && name.ends_with(ext)) return true;
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
  // Would read back as another type?
  if (!formats::ResolvePlainScalar(s).is_string()) return false;
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
  formats::YamlConverter converter{std::string(source_name)};
  int doc = 0;
  for (const Chunk& c : chunks) {
    if (IsBlank(c.text)) continue;  // empty documents are skipped, not counted
    DRAHIL_ASSIGN_OR_RETURN(Object value, ParseYamlChunk(c, source_name, doc, converter));
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
  formats::YamlConverter converter{"yaml"};
  return ParseYamlChunk(*only, "yaml", 0, converter);
}

std::string JsonToYaml(const Object& value) {
  if (IsScalarYaml(value)) return InlineYaml(value) + "\n";
  std::string out;
  EmitYaml(value, 0, out);
  return out;
}

}  // namespace drahil::kube
