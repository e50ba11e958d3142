// File: admission.hpp (private)
//
// Admission steps shared by the Handler (verbs.cpp) and the in-process object
// API (apiserver.cpp); defined in admission.cpp.
#ifndef DRAHIL_APISERVER_ADMISSION_HPP_INCLUDED
#define DRAHIL_APISERVER_ADMISSION_HPP_INCLUDED

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "api_error.hpp"
#include "resources.hpp"

namespace drahil::apiserver::internal {

// CheckTypeMeta(): checks apiVersion/kind (filling them when missing).
std::optional<ApiError> CheckTypeMeta(const ResourceInfo& info, nlohmann::json& obj);
// FillTimeAdded(): server-set timeAdded on device taints (slices, taint rules):
// `now` (RFC 3339) unless the taint has one or old holds the same taint with one.
void FillTimeAdded(const ResourceInfo& info, nlohmann::json& obj, const nlohmann::json* old,
                   const std::string& now);
// AdminAccessCheck(): 1.34+ admission; appends a warning for the old label.
std::optional<ApiError> AdminAccessCheck(const ResourceInfo& info, const nlohmann::json& obj,
                                         const nlohmann::json* ns_obj,
                                         std::vector<std::string>* warnings);

// Desired(): what a write of `incoming` produces from `current` through the
// main endpoint (sub "": status kept) or /status (sub "status": only status).
nlohmann::json Desired(const ResourceInfo& info, const std::string& sub,
                       const nlohmann::json& current, nlohmann::json incoming);

}  // namespace drahil::apiserver::internal

#endif  // DRAHIL_APISERVER_ADMISSION_HPP_INCLUDED
