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

// The kind strategies beyond feature gates, for REST (rest = true) and the
// C++ API writes:
// PrepareForCreate(): Secret: stringData merged into data
// (Convert_v1_Secret_To_core_Secret), data checked as base64, type
// defaulted to Opaque; ConfigMap binaryData checked as base64;
// CustomResourceDefinition: names defaulted and status set as the
// apiextensions controllers leave an accepted CRD (NamesAccepted,
// Established, acceptedNames, storedVersions); a custom resource with a
// status subresource starts without status over REST
// (customResourceStrategy.PrepareForCreate). An error is a decode error (400).
std::optional<ApiError> PrepareForCreate(const ResourceInfo& info, nlohmann::json& obj, bool rest,
                                         const std::string& now);
// PrepareForUpdate(): the same for an update of old (the CRD's status
// follows its names and versions).
std::optional<ApiError> PrepareForUpdate(const ResourceInfo& info, nlohmann::json& obj,
                                         const nlohmann::json& old, const std::string& now);

// Desired(): what a write of `incoming` produces from `current` through the
// main endpoint (sub "": status kept) or /status (sub "status": only status).
nlohmann::json Desired(const ResourceInfo& info, const std::string& sub,
                       const nlohmann::json& current, nlohmann::json incoming);

}  // namespace drahil::apiserver::internal

#endif  // DRAHIL_APISERVER_ADMISSION_HPP_INCLUDED
