// File: authorization.hpp (private)
//
// Who may do what: the RBAC-like policy a driver profile declares
// (ApiServer::Options::driver_policy), the default node rule set, and the
// node restrictions that hold either way (NodeRestriction admission and the
// node authorizer's ResourceSlice rule). Defined in authorization.cpp.
#ifndef DRAHIL_APISERVER_AUTHORIZATION_HPP_INCLUDED
#define DRAHIL_APISERVER_AUTHORIZATION_HPP_INCLUDED

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "api_error.hpp"
#include "drahil/apiserver/apiserver.hpp"
#include "handler.hpp"

namespace drahil::apiserver::internal {

// RuleAllows(): rbac's RuleAllows (plugin/pkg/auth/authorizer/rbac/rbac.go:
// VerbMatches, APIGroupMatches, ResourceMatches, ResourceNameMatches).
bool RuleAllows(const PolicyRule& rule, const std::string& verb, const std::string& group,
                const std::string& resource, const std::string& subresource,
                const std::string& name);

// ForbiddenMessage(): "<resource>.<group> \"<name>\" is forbidden: User
// \"<user>\" cannot <verb> resource \"<resource>[/<sub>]\" in API group
// \"<group>\" in the namespace \"<ns>\"" (or "at the cluster scope"), as
// apierrors.NewForbidden over responsewriters' forbiddenMessage; reason, when
// given, follows after ": ".
std::string ForbiddenMessage(const Identity& id, const Route& route, const std::string& name,
                             const std::string& reason = "");
// ForbiddenError(): that message as a 403 Status with details.
ApiError ForbiddenError(const Identity& id, const Route& route, const std::string& name,
                        const std::string& reason = "");

// AuthorizeRequest(): RBAC for an identity with a policy (any verb); name is
// the object's name, or the metadata.name a list/watch field selector pins
// (RequestInfoFactory does the same). nullopt: allowed, or no policy.
std::optional<ApiError> AuthorizeRequest(const Identity& id, const Route& route,
                                         const std::string& name);

// AuthorizeWrite(): for non-admin identities, checked on the stored object
// and on the result of a write (old: the stored object, when obj is the
// result of an update): the node authorizer's rule that a node writes only
// ResourceSlices of its node (and driver, when bound); without a policy, the
// default node rule set (ResourceClaim status, Events, its own Node under
// NodeRestriction's label and taint rules). A ResourceClaim status write
// (old given) also passes pkg/registry/resource/authz.go's checks on the
// synthetic subresources resourceclaims/binding (status.allocation,
// status.reservedFor) and resourceclaims/driver (each changed driver's
// status.devices entries): 422 Invalid with FieldValueForbidden causes, as
// upstream's status strategy answers. The default node rule set holds
// associated-node update/patch on its driver and nothing on binding.
std::optional<ApiError> AuthorizeWrite(const Identity& id, const Route& route,
                                       const nlohmann::json& obj,
                                       const nlohmann::json* old = nullptr);

}  // namespace drahil::apiserver::internal

#endif  // DRAHIL_APISERVER_AUTHORIZATION_HPP_INCLUDED
