// Authorization: the driver policy (RBAC semantics), the default node rule
// set and the node restrictions (see authorization.hpp).
#include "authorization.hpp"

#include <algorithm>
#include <set>
#include <vector>

namespace drahil::apiserver::internal {

using nlohmann::json;

namespace {

bool Has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string ScopeText(const Route& r) {
  return r.ns.empty() ? "at the cluster scope" : "in the namespace \"" + r.ns + "\"";
}

// The label's prefix ("kubernetes.io" of "kubernetes.io/hostname").
std::string LabelNamespace(const std::string& label) {
  auto slash = label.find('/');
  return slash == std::string::npos ? "" : label.substr(0, slash);
}

bool InDomain(const std::string& ns, const std::string& domain) {
  return ns == domain ||
         (ns.size() > domain.size() &&
          ns.compare(ns.size() - domain.size() - 1, std::string::npos, "." + domain) == 0);
}

// plugin/pkg/admission/noderestriction: a node may not set
// node-restriction.kubernetes.io labels, nor kubernetes.io/k8s.io labels
// other than the kubelet's (k8s.io/kubelet/pkg/apis IsKubeletLabel).
bool IsForbiddenNodeLabel(const std::string& label) {
  static const std::set<std::string> kKubeletLabels = {"kubernetes.io/hostname",
                                                       "topology.kubernetes.io/zone",
                                                       "topology.kubernetes.io/region",
                                                       "failure-domain.beta.kubernetes.io/zone",
                                                       "failure-domain.beta.kubernetes.io/region",
                                                       "beta.kubernetes.io/instance-type",
                                                       "node.kubernetes.io/instance-type",
                                                       "kubernetes.io/os",
                                                       "kubernetes.io/arch",
                                                       "beta.kubernetes.io/os",
                                                       "beta.kubernetes.io/arch"};
  std::string ns = LabelNamespace(label);
  if (InDomain(ns, "node-restriction.kubernetes.io")) return true;
  bool kube = InDomain(ns, "kubernetes.io") || InDomain(ns, "k8s.io");
  if (!kube) return false;
  bool kubelet = kKubeletLabels.count(label) != 0 || InDomain(ns, "kubelet.kubernetes.io") ||
                 InDomain(ns, "node.kubernetes.io");
  return !kubelet;
}

json LabelsOf(const json& obj) {
  if (!obj.contains("metadata") || !obj["metadata"].is_object()) return json::object();
  json l = obj["metadata"].value("labels", json::object());
  return l.is_object() ? l : json::object();
}

json TaintsOf(const json& obj) {
  if (!obj.contains("spec") || !obj["spec"].is_object()) return json::array();
  json t = obj["spec"].value("taints", json::array());
  return t.is_null() ? json::array() : t;
}

// NodeWrite(): NodeRestriction's admitNode for an update of the node's
// own Node object.
std::optional<ApiError> NodeWrite(const Identity& id, const Route& route, const json& obj,
                                  const json* old) {
  if (route.name != id.node) {
    return ForbiddenError(
        id, route, route.name,
        "node \"" + id.node + "\" is not allowed to modify node \"" + route.name + "\"");
  }
  if (old == nullptr) return std::nullopt;
  json a = LabelsOf(*old), b = LabelsOf(obj);
  std::set<std::string> keys;
  for (const auto& [k, v] : a.items()) keys.insert(k);
  for (const auto& [k, v] : b.items()) keys.insert(k);
  std::vector<std::string> bad;
  for (const auto& k : keys) {
    if (a.value(k, json()) != b.value(k, json()) && IsForbiddenNodeLabel(k)) bad.push_back(k);
  }
  if (!bad.empty()) {
    std::string list;
    for (const auto& k : bad) list += (list.empty() ? "" : ", ") + k;
    ApiError e = ForbiddenError(id, route, route.name, "");
    // admission.NewForbidden: the plugin's reason replaces the RBAC text.
    e.message = route.info->GroupResource() + " \"" + route.name +
                "\" is forbidden: is not allowed to modify labels: " + list;
    return e;
  }
  if (TaintsOf(*old) != TaintsOf(obj)) {
    ApiError e = ForbiddenError(id, route, route.name, "");
    e.message = route.info->GroupResource() + " \"" + route.name + "\" is forbidden: node \"" +
                id.node + "\" is not allowed to modify taints";
    return e;
  }
  return std::nullopt;
}

}  // namespace

bool RuleAllows(const PolicyRule& rule, const std::string& verb, const std::string& group,
                const std::string& resource, const std::string& subresource,
                const std::string& name) {
  if (!Has(rule.verbs, "*") && !Has(rule.verbs, verb)) return false;
  if (!Has(rule.api_groups, "*") && !Has(rule.api_groups, group)) return false;
  std::string combined = subresource.empty() ? resource : resource + "/" + subresource;
  bool resource_ok = Has(rule.resources, "*") || Has(rule.resources, combined) ||
                     (!subresource.empty() && Has(rule.resources, "*/" + subresource));
  if (!resource_ok) return false;
  if (rule.resource_names.empty()) return true;
  return !name.empty() && Has(rule.resource_names, name);
}

std::string ForbiddenMessage(const Identity& id, const Route& route, const std::string& name,
                             const std::string& reason) {
  const ResourceInfo& info = *route.info;
  std::string what = info.GroupResource() + (name.empty() ? "" : " \"" + name + "\"");
  std::string msg = what + " is forbidden: User \"" + id.user + "\" cannot " + route.verb +
                    " resource \"" + info.resource +
                    (route.subresource.empty() ? "" : "/" + route.subresource) +
                    "\" in API group \"" + info.group + "\" " + ScopeText(route);
  if (!reason.empty()) msg += ": " + reason;
  return msg;
}

ApiError ForbiddenError(const Identity& id, const Route& route, const std::string& name,
                        const std::string& reason) {
  ApiError e = Forbidden(ForbiddenMessage(id, route, name, reason));
  json d = {{"name", name}, {"kind", route.info->resource}};
  if (!route.info->group.empty()) d["group"] = route.info->group;
  e.details = d;
  return e;
}

std::optional<ApiError> AuthorizeRequest(const Identity& id, const Route& route,
                                         const std::string& name) {
  if (id.admin || !id.policy) return std::nullopt;
  const ResourceInfo& info = *route.info;
  for (const auto& rule : id.policy->rules) {
    if (RuleAllows(rule, route.verb, info.group, info.resource, route.subresource, name)) {
      return std::nullopt;
    }
  }
  return ForbiddenError(id, route, name);
}

std::optional<ApiError> AuthorizeWrite(const Identity& id, const Route& route, const json& obj,
                                       const json* old) {
  if (id.admin) return std::nullopt;
  const ResourceInfo& info = *route.info;
  if (id.node.empty()) return ForbiddenError(id, route, route.name);
  if (info.group == kResourceGroup && info.resource == "resourceslices") {
    const json spec = obj.value("spec", json::object());
    std::string node = spec.is_object() ? spec.value("nodeName", "") : "";
    std::string driver = spec.is_object() ? spec.value("driver", "") : "";
    if (node != id.node) {
      return ForbiddenError(id, route, route.name,
                            "this user may only write ResourceSlices with spec.nodeName \"" +
                                id.node + "\" (got \"" + node + "\")");
    }
    if (!id.driver.empty() && driver != id.driver) {
      return ForbiddenError(id, route, route.name,
                            "this user may only write ResourceSlices with spec.driver \"" +
                                id.driver + "\" (got \"" + driver + "\")");
    }
    return std::nullopt;
  }
  // With a policy, RBAC (AuthorizeRequest) already decided the rest.
  if (id.policy) return std::nullopt;
  if (info.group == kResourceGroup && info.resource == "resourceclaims" &&
      route.subresource == "status") {
    return std::nullopt;
  }
  if (info.resource == "events" && (info.group.empty() || info.group == "events.k8s.io")) {
    return std::nullopt;
  }
  if (info.group.empty() && info.resource == "nodes" &&
      (route.verb == "update" || route.verb == "patch")) {
    return NodeWrite(id, route, obj, old);
  }
  return ForbiddenError(id, route, route.name,
                        "node-bound tokens may write only their node's ResourceSlices and Node, "
                        "ResourceClaim status and Events");
}

}  // namespace drahil::apiserver::internal
