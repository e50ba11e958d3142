// File: yaml.hpp
//
// Minimal manifest I/O for the allocator's tests, benchmarks and the
// `drahil allocate` dry run: YAML (several documents per file) or JSON to
// nlohmann::json through drahil::formats::YamlConverter (its typing policy and
// limits: plain scalars typed as kubectl types them, quoted ones stay
// strings), and JSON back to block YAML that reads back equal.
//
// drahil::kube's manifest loader is the general tool; this one exists so the
// allocator does not depend on it (see docs/allocator.md).
//
// Thread-safety: pure functions.
#ifndef DRAHIL_ALLOCATOR_YAML_HPP_INCLUDED
#define DRAHIL_ALLOCATOR_YAML_HPP_INCLUDED

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "drahil/core/status.hpp"

namespace drahil::allocator {

// ParseYamlDocuments(): every non-empty document; kind: List objects are
// flattened into their items. Errors name source and line.
Result<std::vector<nlohmann::json>> ParseYamlDocuments(std::string_view text,
                                                       std::string_view source);
// LoadYamlPath(): a file, or every *.yaml/*.yml/*.json file of a directory in
// name order (not recursive).
Result<std::vector<nlohmann::json>> LoadYamlPath(const std::string& path);
// ToYaml(): block-style YAML of one value.
std::string ToYaml(const nlohmann::json& value);

}  // namespace drahil::allocator

#endif  // DRAHIL_ALLOCATOR_YAML_HPP_INCLUDED
