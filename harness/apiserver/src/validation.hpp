// File: validation.hpp (private)
//
// The server's validation entry points, a thin adapter over drahil::kube's
// Validate/ValidateUpdate/ValidateStatusUpdate (the real API server's rules
// and limits) that turns kube::FieldError into Status causes.
#ifndef DRAHIL_APISERVER_VALIDATION_HPP_INCLUDED
#define DRAHIL_APISERVER_VALIDATION_HPP_INCLUDED

#include <nlohmann/json.hpp>
#include <vector>

#include "api_error.hpp"
#include "drahil/core/feature_gates.hpp"
#include "resources.hpp"

namespace drahil::apiserver::internal {

// version: whose rules apply (kube::Validate's version differences).
// ValidateCreate(): causes for a new object (empty = valid).
std::vector<FieldCause> ValidateCreate(const ResourceInfo& info, const nlohmann::json& obj,
                                       KubeVersion version);
// ValidateUpdate(): causes for obj replacing old through the main endpoint.
std::vector<FieldCause> ValidateUpdate(const ResourceInfo& info, const nlohmann::json& obj,
                                       const nlohmann::json& old, KubeVersion version);
// ValidateStatusUpdate(): causes for obj replacing old through /status.
std::vector<FieldCause> ValidateStatusUpdate(const ResourceInfo& info, const nlohmann::json& obj,
                                             const nlohmann::json& old, KubeVersion version);
// ValidatorName(): which rules are in force, for the startup log line.
const char* ValidatorName();

}  // namespace drahil::apiserver::internal

#endif  // DRAHIL_APISERVER_VALIDATION_HPP_INCLUDED
