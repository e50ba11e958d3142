// File: conversion.hpp (private)
//
// Conversions between an API version a resource is served in and the form
// its objects are stored in, for resources that share storage with another
// group (kube-apiserver converts every request through the internal type and
// stores one version; here the stored JSON is the storage version's).
#ifndef DRAHIL_APISERVER_CONVERSION_HPP_INCLUDED
#define DRAHIL_APISERVER_CONVERSION_HPP_INCLUDED

#include <nlohmann/json.hpp>

namespace drahil::apiserver::internal {

struct ResourceInfo;

// Conversion: both directions for one served version (info). Each takes a
// whole object and returns a new one; fields neither direction knows are
// carried over unchanged.
struct Conversion {
  nlohmann::json (*to_storage)(const nlohmann::json& served, const ResourceInfo& info);
  nlohmann::json (*from_storage)(const nlohmann::json& stored, const ResourceInfo& info);
};

// EventsV1Conversion(): events.k8s.io/v1 Event <-> core/v1 Event, as
// pkg/apis/events/v1/conversion.go (Convert_v1_Event_To_core_Event,
// Convert_core_Event_To_v1_Event) through the internal core type: regarding
// is involvedObject, note is message, deprecatedSource is source,
// deprecatedFirstTimestamp/LastTimestamp/Count are firstTimestamp/
// lastTimestamp/count, and reportingController is the core
// reportingComponent. core/v1 is the storage version.
const Conversion& EventsV1Conversion();

// VersionOnlyConversion(): versions whose schemas are the same: only
// apiVersion changes, to the storage version (ResourceInfo::storage_version)
// when stored and to the served version when read. The versions of a
// CustomResourceDefinition with conversion strategy None (the only one
// served here; apiextensions-apiserver's nopConverter) and DeviceTaintRule's
// v1alpha3 and v1beta2.
const Conversion& VersionOnlyConversion();

}  // namespace drahil::apiserver::internal

#endif  // DRAHIL_APISERVER_CONVERSION_HPP_INCLUDED
