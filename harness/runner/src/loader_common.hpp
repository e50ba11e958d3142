// Internal: what the suite and driver-profile loaders share: one YAML
// document within the converter's limits, its JSON, and the vocabularies both
// formats check against (capabilities, probe backends). Not a public header.
#ifndef DRAHIL_RUNNER_SRC_LOADER_COMMON_HPP_INCLUDED
#define DRAHIL_RUNNER_SRC_LOADER_COMMON_HPP_INCLUDED

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "drahil/core/status.hpp"
#include "schema.hpp"

namespace drahil::runner::loader {

// ProbeBackends(): the probe backends a profile may use and a case may require.
const std::vector<std::string>& ProbeBackends();

// ToJson(): part of a document that ParseYaml() or LoadManifestFile() has
// checked against the converter's limits, as JSON (typing policy:
// drahil/formats/yaml_json.hpp).
Result<nlohmann::json> ToJson(const YAML::Node& n, const std::string& file);

// CheckCapabilities(): every capability in the list n is known or "x-".
Status CheckCapabilities(const YAML::Node& n, const schema::Where& w);

// ParseYaml(): the one document of a suite, profile or class manifest, within
// the converter's limits (an alias bomb fails here, naming the file).
Result<YAML::Node> ParseYaml(const std::string& text, const std::string& file);

}  // namespace drahil::runner::loader

#endif  // DRAHIL_RUNNER_SRC_LOADER_COMMON_HPP_INCLUDED
