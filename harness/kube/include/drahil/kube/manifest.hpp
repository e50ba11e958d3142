// File: manifest.hpp
//
// Loading Kubernetes manifests the way `kubectl apply -f` reads them:
// YAML or JSON, several documents per file ("---"), List kinds flattened into
// their items, empty documents skipped, and a directory read as all its
// *.yaml, *.yml and *.json files in sorted order (not recursive, as kubectl
// without -R).
//
// YAML becomes JSON through drahil::formats::YamlConverter, with the types
// kubectl gives them (go-yaml v2): plain 12 → integer, 1.5 → number,
// true/false/yes/no/on/off → boolean, null/~/empty → null, anything quoted
// stays a string ("true", "12"); anchors, aliases and merge keys ("<<") are
// expanded. The full table is in drahil/formats/yaml_json.hpp.
//
// Errors name the file, the document index (0-based) and the line (1-based):
//   "pods.yaml: document 2 (line 14): mapping values are not allowed here".
//
// Limits, so hostile input cannot exhaust memory: the converter's defaults
// (nesting 256 deep, 1,000,000 nodes and 64 MiB after alias expansion) for
// all documents of one text together.
//
// Thread-safety: pure functions.
#ifndef DRAHIL_KUBE_MANIFEST_HPP_INCLUDED
#define DRAHIL_KUBE_MANIFEST_HPP_INCLUDED

#include <string>
#include <string_view>
#include <vector>

#include "drahil/core/status.hpp"
#include "drahil/kube/object.hpp"

namespace drahil::kube {

struct ManifestObject {
  Object object;
  std::string file;  // path as given (or the source name for strings)
  int document = 0;  // 0-based index of the document within the file
  int line = 1;      // 1-based line where the document starts
  // Where(): "dir/a.yaml: document 1 (line 9)", for error messages.
  [[nodiscard]] std::string Where() const;
};

struct ManifestOptions {
  // Require apiVersion and kind (strings) on every object, as kubectl does.
  bool require_kind = true;
  // Read sub-directories too (kubectl -R).
  bool recursive = false;
};

// ParseManifests(): all objects in one text (YAML or JSON); source_name is
// used in errors and in ManifestObject::file.
Result<std::vector<ManifestObject>> ParseManifests(std::string_view text,
                                                   std::string_view source_name,
                                                   const ManifestOptions& options = {});
// LoadManifests(): a file or a directory (see above).
Result<std::vector<ManifestObject>> LoadManifests(const std::string& path,
                                                  const ManifestOptions& options = {});

// YamlToJson(): one YAML document → JSON (types as above). Several documents
// are an error; an empty document gives null.
Result<Object> YamlToJson(std::string_view yaml);
// JsonToYaml(): block-style YAML that YamlToJson() reads back to an equal
// value (strings that would change type are quoted).
std::string JsonToYaml(const Object& value);

}  // namespace drahil::kube

#endif  // DRAHIL_KUBE_MANIFEST_HPP_INCLUDED
