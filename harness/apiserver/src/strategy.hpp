// File: strategy.hpp (private)
//
// The feature-gate part of kube-apiserver's registry strategies for the
// resource.k8s.io kinds (upstream pkg/registry/resource/*/strategy.go and
// pkg/registry/resource/resourceclaimspec): fields of a disabled gate are
// dropped from a new or updated object unless the old object already uses
// the feature. Works on the stored resource.k8s.io/v1 JSON; every dropped
// field is reported with its precise path and the gate that removed it.
#ifndef DRAHIL_APISERVER_STRATEGY_HPP_INCLUDED
#define DRAHIL_APISERVER_STRATEGY_HPP_INCLUDED

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "drahil/core/feature_gates.hpp"
#include "resources.hpp"

namespace drahil::apiserver::internal {

struct Drop {
  std::string field;  // "spec.devices[2].taints"
  std::string gate;   // "DRADeviceTaints"
};

// Which part of the object a write may change, as the strategies see it.
enum class WriteScope {
  kMain,    // main endpoint: spec (claims keep the stored status)
  kStatus,  // /status: status only (claims)
  kAll,     // the in-process Create/Update: both
};

// DropDisabledFields(): PrepareForCreate (old == nullptr) or
// PrepareForUpdate's dropDisabledFields for obj; returns what was dropped.
std::vector<Drop> DropDisabledFields(const ResourceInfo& info, const FeatureGates& gates,
                                     nlohmann::json& obj, const nlohmann::json* old,
                                     WriteScope scope);

// TaintRuleGate(): the gate that serves DeviceTaintRule in this version
// (1.34: DRADeviceTaints, which brought the API; 1.35+: DRADeviceTaintRules).
const char* TaintRuleGate(const FeatureGates& gates);
// Served(): whether the version and its gates serve the resource.
bool Served(const ResourceInfo& info, const FeatureGates& gates);

}  // namespace drahil::apiserver::internal

#endif  // DRAHIL_APISERVER_STRATEGY_HPP_INCLUDED
