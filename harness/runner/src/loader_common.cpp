#include "loader_common.hpp"

#include <algorithm>

#include "drahil/formats/yaml_json.hpp"

namespace drahil::runner::loader {

using schema::ErrorAt;
using schema::Where;

namespace {

// Capabilities a driver can claim and a case can require. "x-" names are
// free for vendors; anything else must be known so a typo cannot turn a case
// into a silent skip.
const std::vector<std::string>& KnownCapabilities() {
  static const std::vector<std::string> kCaps = {"dra-v1",
                                                 "dra-v1beta1",
                                                 "structured-parameters",
                                                 "admin-access",
                                                 "prioritized-list",
                                                 "extended-resources",
                                                 "consumable-capacity",
                                                 "binding-conditions",
                                                 "health",
                                                 "partitionable-devices",
                                                 "device-taints",
                                                 "shared-claims",
                                                 "time-slicing",
                                                 "mps",
                                                 "space-partitioning",
                                                 "mig",
                                                 "checkpoint",
                                                 "pod-resources",
                                                 "cdi",
                                                 "device-status",
                                                 "rolling-update",
                                                 "seamless-upgrade"};
  return kCaps;
}

}  // namespace

const std::vector<std::string>& ProbeBackends() {
  static const std::vector<std::string> kBackends = {"emulated", "opencl", "cuda", "fpga",
                                                     "env",      "exec",   "none"};
  return kBackends;
}

Result<nlohmann::json> ToJson(const YAML::Node& n, const std::string& file) {
  return formats::YamlConverter(file).Convert(n);
}

Status CheckCapabilities(const YAML::Node& n, const Where& w) {
  if (!n) return OkStatus();
  for (size_t i = 0; i < n.size(); ++i) {
    std::string c = n[i].Scalar();
    const auto& known = KnownCapabilities();
    if (c.rfind("x-", 0) == 0 || std::find(known.begin(), known.end(), c) != known.end()) continue;
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    return ErrorAt(n[i], w.Index(i),
                   "unknown capability \"" + c + "\" (known: " + list +
                       "; vendor-specific names start with x-)");
  }
  return OkStatus();
}

Result<YAML::Node> ParseYaml(const std::string& text, const std::string& file) {
  DRAHIL_ASSIGN_OR_RETURN(std::vector<YAML::Node> docs, formats::ParseYamlStream(text, file));
  std::vector<YAML::Node> real;
  for (auto& d : docs)
    if (!d.IsNull()) real.push_back(d);
  if (real.size() != 1) {
    return InvalidArgumentError(file + ": expected exactly one YAML document, found " +
                                std::to_string(real.size()));
  }
  DRAHIL_RETURN_IF_ERROR(formats::CheckYamlLimits(real, file));
  return real[0];
}

}  // namespace drahil::runner::loader
