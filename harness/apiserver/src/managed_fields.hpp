// File: managed_fields.hpp (private)
//
// Server-side apply and field ownership, as kube-apiserver does them with
// sigs.k8s.io/structured-merge-diff (k8s.io/apiserver
// pkg/endpoints/handlers/fieldmanager, pkg/util/managedfields): the field
// sets of objects in the FieldsV1 encoding ("f:spec", "k:{\"uid\":\"…\"}",
// "v:\"x\""), metadata.managedFields entries, the apply merge (maps merge,
// list-maps merge by key, sets union, atomic lists replaced), pruning of the
// fields an applier stopped applying, conflicts between managers, and the
// ownership an Update (PUT, non-apply PATCH, POST) records.
//
// The schema knowledge is a table of the granular lists and the maps with
// free keys of the served resources (from the +listType/+listMapKey markers
// of k8s.io/api); every other list is atomic (see docs/apiserver.md).
#ifndef DRAHIL_APISERVER_MANAGED_FIELDS_HPP_INCLUDED
#define DRAHIL_APISERVER_MANAGED_FIELDS_HPP_INCLUDED

#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "api_error.hpp"
#include "resources.hpp"

namespace drahil::apiserver::internal {

// A field path: path elements as FieldsV1 spells them ("f:spec",
// "k:{\"name\":\"gpu-0\"}", "v:\"x\"").
using FieldPath = std::vector<std::string>;
using FieldSet = std::set<FieldPath>;

// ToFieldSet(): the fields of obj, as structured-merge-diff's ToFieldSet
// (typed/tofieldset.go), without the fields the server owns (stripMetaManager:
// apiVersion, kind, metadata.name, uid, resourceVersion, …, managedFields).
FieldSet ToFieldSet(const ResourceInfo& info, const nlohmann::json& obj);
// FieldsV1 encoding of a set and back.
nlohmann::json EncodeFieldsV1(const FieldSet& set);
FieldSet DecodeFieldsV1(const nlohmann::json& fields);
// PathString(): ".spec.devices[name=\"gpu-0\"].attributes", as fieldpath.Path.String().
std::string PathString(const FieldPath& path);

struct ApplyRequest {
  std::string manager;      // fieldManager
  std::string subresource;  // "" or "status"
  bool force = false;
  std::string now;  // RFC 3339, the time of the entry
};

// ServerSideApply(): applies config to live (an empty object to create),
// as fieldmanager's Apply with the structured-merge-diff Updater: merge,
// prune what the manager applied before and no longer applies (unless
// another manager owns it), reset(merged) (the strategy's reset fields: the
// status on the main endpoint, the rest on /status), conflicts with other
// managers (409 unless force, which takes the fields over) and the
// managedFields of the result. reset may be empty.
Expected<nlohmann::json> ServerSideApply(
    const ResourceInfo& info, const nlohmann::json& live, const nlohmann::json& config,
    const ApplyRequest& req, const std::function<nlohmann::json(nlohmann::json)>& reset);

// TrackUpdate(): the managedFields of updated after an Update operation of
// manager on live (nullptr on create): the fields it changed become its own
// and leave other managers (fieldmanager's Update with
// managedFieldsUpdater). A request object carrying managedFields of its own
// sets them (main endpoint only); `[{}]` resets them, as upstream.
void TrackUpdate(const ResourceInfo& info, const nlohmann::json* live, nlohmann::json& updated,
                 const nlohmann::json& request_managed_fields, const ApplyRequest& req);

// ManagerFromUserAgent(): the default manager of an Update: the user agent
// up to its first "/" (prefixFromUserAgent in handlers/rest.go).
std::string ManagerFromUserAgent(const std::string& user_agent);

}  // namespace drahil::apiserver::internal

#endif  // DRAHIL_APISERVER_MANAGED_FIELDS_HPP_INCLUDED
