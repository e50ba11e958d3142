// Authorization: the driver policy (RBAC semantics), the default node rule
// set and the node restrictions (see authorization.hpp).
#include "authorization.hpp"

#include <algorithm>
#include <map>
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

// ---------------------------------------------------------------------------
// ResourceClaim status: pkg/registry/resource/authz.go (Kubernetes 1.36,
// DRAResourceClaimGranularStatusAuthorization). Changing status.allocation or
// status.reservedFor needs the request's verb on the synthetic subresource
// resourceclaims/binding (cluster-wide); changing a driver's status.devices
// entries needs "associated-node:<verb>" (a writer on the node the claim is
// allocated to) or "arbitrary-node:<verb>" on resourceclaims/driver, named by
// the driver, in the claim's namespace.

const char kVerbAssociatedNode[] = "associated-node:";
const char kVerbArbitraryNode[] = "arbitrary-node:";

// DefaultNodeRules(): what the default node rule set grants on the synthetic
// subresources, as the example driver's ClusterRole does
// (kubernetes-sigs/dra-example-driver deployments/helm clusterrole.yaml):
// associated-node update/patch on resourceclaims/driver for its own driver
// (any driver when the token is not bound to one), and no
// resourceclaims/binding: allocation and reservedFor belong to the scheduler
// and the resourceclaim controller.
std::vector<PolicyRule> DefaultNodeRules(const Identity& id) {
  PolicyRule driver;
  driver.api_groups = {std::string(kResourceGroup)};
  driver.resources = {"resourceclaims/driver"};
  driver.verbs = {std::string(kVerbAssociatedNode) + "update",
                  std::string(kVerbAssociatedNode) + "patch"};
  if (!id.driver.empty()) driver.resource_names = {id.driver};
  return {driver};
}

bool Allowed(const Identity& id, const std::string& verb, const std::string& sub,
             const std::string& name) {
  const std::vector<PolicyRule> defaults =
      id.policy ? std::vector<PolicyRule>{} : DefaultNodeRules(id);
  const std::vector<PolicyRule>& rules = id.policy ? id.policy->rules : defaults;
  for (const auto& rule : rules) {
    if (RuleAllows(rule, verb, std::string(kResourceGroup), "resourceclaims", sub, name))
      return true;
  }
  return false;
}

// NodeNameFromAllocation(): authz.go nodeNameFromAllocation: the node of a
// single-node allocation (one term, one matchFields metadata.name In [node]).
std::string NodeNameFromAllocation(const json& status) {
  if (!status.is_object()) return "";
  const json alloc = status.value("allocation", json());
  if (!alloc.is_object()) return "";
  const json sel = alloc.value("nodeSelector", json());
  if (!sel.is_object()) return "";
  const json terms = sel.value("nodeSelectorTerms", json());
  if (!terms.is_array() || terms.size() != 1 || !terms[0].is_object()) return "";
  const json exprs = terms[0].value("matchExpressions", json::array());
  const json fields = terms[0].value("matchFields", json::array());
  if ((exprs.is_array() && !exprs.empty()) || !fields.is_array() || fields.size() != 1) return "";
  const json& f = fields[0];
  if (!f.is_object() || f.value("key", "") != "metadata.name" || f.value("operator", "") != "In")
    return "";
  const json values = f.value("values", json());
  if (!values.is_array() || values.size() != 1 || !values[0].is_string()) return "";
  return values[0].get<std::string>();
}

// Associated(): authz.go saAssociatedWithAllocatedNode. Upstream the writer
// must be a service account whose token carries the node-name claim; a
// drahil node token stands in for the driver's service account on its node,
// so it counts as associated with its node (with a policy too, whatever user
// the policy names).
bool Associated(const Identity& id, const json& status) {
  std::string node = NodeNameFromAllocation(status);
  return !node.empty() && node == id.node;
}

// ModifiedDrivers(): authz.go getModifiedDrivers: drivers whose
// status.devices entries (keyed by driver, pool, device, shareID) were added,
// removed or changed.
std::set<std::string> ModifiedDrivers(const json& status, const json& old_status) {
  auto devices = [](const json& st) {
    std::map<std::string, json> out;
    if (!st.is_object() || !st.contains("devices") || !st["devices"].is_array()) return out;
    for (const auto& d : st["devices"]) {
      if (!d.is_object()) continue;
      std::string key = json::array({d.value("driver", json()), d.value("pool", json()),
                                     d.value("device", json()), d.value("shareID", json())})
                            .dump();
      out[key] = d;
    }
    return out;
  };
  auto now = devices(status), before = devices(old_status);
  std::set<std::string> drivers;
  auto driver_of = [](const json& d) {
    return d.contains("driver") && d["driver"].is_string() ? d["driver"].get<std::string>() : "";
  };
  for (const auto& [k, d] : now) {
    auto it = before.find(k);
    if (it == before.end() || it->second != d) drivers.insert(driver_of(d));
    if (it != before.end()) before.erase(it);
  }
  for (const auto& [k, d] : before) drivers.insert(driver_of(d));
  return drivers;
}

std::optional<ApiError> AuthorizeClaimStatus(const Identity& id, const Route& route,
                                             const json& obj, const json& old) {
  const json status = obj.value("status", json::object());
  const json old_status = old.value("status", json::object());
  auto field = [](const json& st, const char* k) {
    return st.is_object() && st.contains(k) ? st[k] : json();
  };
  std::vector<FieldCause> causes;
  const std::string& verb = route.verb;
  // AuthorizedForBinding.
  if (field(status, "allocation") != field(old_status, "allocation") ||
      field(status, "reservedFor") != field(old_status, "reservedFor")) {
    if (!Allowed(id, verb, "binding", "")) {
      Route r = route;
      r.ns.clear();
      r.verb = verb;
      r.subresource = "binding";
      causes.push_back({"FieldValueForbidden", "status",
                        "Forbidden: changing status.allocation or status.reservedFor requires "
                        "resource=\"resourceclaims/binding\", verb=\"" +
                            verb + "\" permission: " + ForbiddenMessage(id, r, "")});
    }
  }
  // AuthorizedForDeviceStatus: associated-node first when the writer is on
  // the claim's node, then arbitrary-node.
  std::vector<std::string> verbs;
  if (Associated(id, status)) verbs.push_back(kVerbAssociatedNode + verb);
  verbs.push_back(kVerbArbitraryNode + verb);
  std::string verb_list;
  for (const auto& v : verbs) verb_list += (verb_list.empty() ? "" : " ") + v;
  for (const auto& driver : ModifiedDrivers(status, old_status)) {
    bool ok = false;
    for (const auto& v : verbs) ok = ok || Allowed(id, v, "driver", driver);
    if (ok) continue;
    Route r = route;
    r.verb = verbs.front();
    r.subresource = "driver";
    causes.push_back({"FieldValueForbidden", "status.devices",
                      "Forbidden: changing status.devices requires "
                      "resource=\"resourceclaims/driver\", verb=\"[" +
                          verb_list + "]\" permission: " + ForbiddenMessage(id, r, driver)});
  }
  if (causes.empty()) return std::nullopt;
  return Invalid(*route.info, route.name, causes);
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
  bool claim_status = info.group == kResourceGroup && info.resource == "resourceclaims" &&
                      route.subresource == "status";
  // The written status against the stored one (see AuthorizeClaimStatus).
  if (claim_status && old != nullptr && (!id.policy || id.granular_claim_status)) {
    if (auto e = AuthorizeClaimStatus(id, route, obj, *old)) return e;
  }
  // With a policy, RBAC (AuthorizeRequest) already decided the rest.
  if (id.policy) return std::nullopt;
  if (claim_status) return std::nullopt;
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
