// Claim lifecycle around an allocation: binding conditions (KEP-5007),
// reservedFor bookkeeping, the extended-resource claim (KEP-5004), and the
// dry-run scheduler behind `drahil allocate`.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <set>

#include "drahil/allocator/allocator.hpp"
#include "drahil/core/quantity.hpp"
#include "drahil/formats/json_fields.hpp"
#include "quantity_util.hpp"

namespace drahil::allocator {
namespace {

// Lenient one-key readers (drahil/formats/json_fields.hpp).
constexpr auto Str = &formats::MemberString;
constexpr auto Field = &formats::Member;

// ParseRfc3339(): "2026-11-26T14:28:57Z", with optional fraction and offset.
std::optional<std::chrono::system_clock::time_point> ParseRfc3339(const std::string& s) {
  int y, mo, d, h, mi, sec, n = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
    return std::nullopt;
  size_t i = static_cast<size_t>(n);
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  }
  long offset = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh = 0, om = 0;
    if (std::sscanf(s.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2) return std::nullopt;
    offset = (s[i] == '+' ? 1 : -1) * (oh * 3600L + om * 60L);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  time_t t = timegm(&tm) - offset;
  return std::chrono::system_clock::from_time_t(t);
}

bool ConditionTrue(const Json& conditions, const std::string& type) {
  if (!conditions.is_array()) return false;
  for (const auto& c : conditions) {
    if (Str(c, "type") == type) return Str(c, "status") == "True";
  }
  return false;
}

// Suffix(): five lower-case alphanumerics derived from text, standing in for
// the API server's random generateName suffix so dry runs are reproducible.
std::string Suffix(const std::string& text) {
  static const char kChars[] = "bcdfghjklmnpqrstvwxz2456789";  // the API server's alphabet
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  std::string out;
  for (int i = 0; i < 5; ++i) {
    out.push_back(kChars[h % (sizeof(kChars) - 1)]);
    h /= (sizeof(kChars) - 1);
  }
  return out;
}

Json OwnerRef(const Json& pod) {
  const Json& md = Field(pod, "metadata");
  return Json::array({{{"apiVersion", "v1"},
                       {"kind", "Pod"},
                       {"name", Str(md, "name")},
                       {"uid", Str(md, "uid")},
                       {"controller", true},
                       {"blockOwnerDeletion", true}}});
}

}  // namespace

const char* BindingStateName(BindingState s) {
  switch (s) {
    case BindingState::kNotRequired:
      return "NotRequired";
    case BindingState::kPending:
      return "Pending";
    case BindingState::kReady:
      return "Ready";
    case BindingState::kFailed:
      return "Failed";
    case BindingState::kTimedOut:
      return "TimedOut";
  }
  return "?";
}

BindingStatus EvaluateBindingConditions(const Json& claim,
                                        std::chrono::system_clock::time_point now,
                                        std::chrono::seconds timeout) {
  const Json& status = Field(claim, "status");
  const Json& alloc = Field(status, "allocation");
  const Json& results = Field(Field(alloc, "devices"), "results");
  const Json& devices = Field(status, "devices");
  BindingStatus out;
  if (!results.is_array()) return out;
  bool any = false;
  std::string pending;
  for (const auto& r : results) {
    const Json& bc = Field(r, "bindingConditions");
    const Json& bfc = Field(r, "bindingFailureConditions");
    if (!(bc.is_array() && !bc.empty())) continue;
    any = true;
    std::string id = Str(r, "driver") + "/" + Str(r, "pool") + "/" + Str(r, "device");
    const Json* conds = nullptr;
    if (devices.is_array()) {
      for (const auto& d : devices) {
        if (Str(d, "driver") == Str(r, "driver") && Str(d, "pool") == Str(r, "pool") &&
            Str(d, "device") == Str(r, "device") && Str(d, "shareID") == Str(r, "shareID")) {
          conds = &Field(d, "conditions");
        }
      }
    }
    if (bfc.is_array()) {
      for (const auto& f : bfc) {
        if (f.is_string() && conds && ConditionTrue(*conds, f.get<std::string>())) {
          out.state = BindingState::kFailed;
          out.reason =
              "device " + id + ": binding failure condition " + f.get<std::string>() + " is True";
          return out;
        }
      }
    }
    for (const auto& c : bc) {
      if (c.is_string() && !(conds && ConditionTrue(*conds, c.get<std::string>())) &&
          pending.empty()) {
        pending = "device " + id + ": waiting for binding condition " + c.get<std::string>();
      }
    }
  }
  if (!any) return out;
  if (pending.empty()) {
    out.state = BindingState::kReady;
    out.reason = "all binding conditions are True";
    return out;
  }
  auto ts = ParseRfc3339(Str(alloc, "allocationTimestamp"));
  if (ts && now - *ts >= timeout) {
    out.state = BindingState::kTimedOut;
    out.reason = pending + " for longer than " + std::to_string(timeout.count()) + "s";
    return out;
  }
  out.state = BindingState::kPending;
  out.reason = pending;
  return out;
}

void Deallocate(Json& claim) {
  if (!claim.is_object() || !claim.contains("status") || !claim["status"].is_object()) return;
  Json& st = claim["status"];
  st.erase("allocation");
  st.erase("devices");
  st.erase("reservedFor");
}

Status Reserve(Json& claim, const Json& pod) {
  const Json& md = Field(pod, "metadata");
  std::string uid = Str(md, "uid");
  if (uid.empty())
    return InvalidArgumentError("reserve claim: pod " + Str(md, "name") + " has no uid");
  Json& rf = claim["status"]["reservedFor"];
  if (!rf.is_array()) rf = Json::array();
  for (const auto& e : rf) {
    if (Str(e, "uid") == uid) return OkStatus();
  }
  if (rf.size() >= 256) {
    return ResourceExhaustedError("reserve claim " + Str(Field(claim, "metadata"), "name") +
                                  ": reservedFor already holds 256 consumers");
  }
  rf.push_back({{"resource", "pods"}, {"name", Str(md, "name")}, {"uid", uid}});
  return OkStatus();
}

bool Unreserve(Json& claim, const std::string& pod_uid) {
  if (!claim.is_object() || !claim.contains("status")) return false;
  Json& st = claim["status"];
  if (!st.is_object() || !st.contains("reservedFor") || !st["reservedFor"].is_array()) return false;
  Json& rf = st["reservedFor"];
  for (size_t i = 0; i < rf.size(); ++i) {
    if (Str(rf[i], "uid") == pod_uid) {
      rf.erase(i);
      break;
    }
  }
  if (!rf.empty() || !st.contains("allocation")) return false;
  Deallocate(claim);
  return true;
}

std::map<std::string, std::string> ExtendedResourceClasses(const std::vector<Json>& classes) {
  std::vector<const Json*> sorted;
  for (const auto& c : classes) sorted.push_back(&c);
  std::sort(sorted.begin(), sorted.end(), [](const Json* a, const Json* b) {
    return Str(Field(*a, "metadata"), "name") < Str(Field(*b, "metadata"), "name");
  });
  std::map<std::string, std::string> out;
  for (const Json* c : sorted) {
    std::string name = Str(Field(*c, "metadata"), "name");
    if (name.empty()) continue;
    out.emplace(kImplicitExtendedResourcePrefix + name, name);
    std::string explicit_name = Str(Field(*c, "spec"), "extendedResourceName");
    if (!explicit_name.empty()) out.emplace(explicit_name, name);
  }
  return out;
}

Result<ExtendedResourceClaim> BuildExtendedResourceClaim(const Json& pod,
                                                         const std::vector<Json>& classes) {
  auto mapping = ExtendedResourceClasses(classes);
  const Json& spec = Field(pod, "spec");
  const Json& md = Field(pod, "metadata");
  std::vector<const Json*> containers;
  for (const char* list : {"initContainers", "containers"}) {
    const Json& cs = Field(spec, list);
    if (cs.is_array()) {
      for (const auto& c : cs) containers.push_back(&c);
    }
  }
  Json requests = Json::array();
  Json mappings = Json::array();
  for (size_t i = 0; i < containers.size(); ++i) {
    const Json& res = Field(*containers[i], "resources");
    // Requests default to limits for extended resources (the API server's
    // defaulting), so the union of both names the container's resources.
    std::map<std::string, Json> effective;
    for (const char* part : {"limits", "requests"}) {
      const Json& m = Field(res, part);
      if (m.is_object()) {
        for (const auto& [k, v] : m.items()) effective[k] = v;
      }
    }
    size_t j = 0;
    for (const auto& [name, qty] : effective) {  // std::map iterates in sorted order
      size_t idx = j++;
      auto it = mapping.find(name);
      if (it == mapping.end()) continue;
      auto q = ParseQuantityJson(qty);
      if (!q.ok()) {
        return q.status().WithContext("pod " + Str(md, "name") + " container " +
                                      Str(*containers[i], "name") + " resource " + name);
      }
      int64_t count = q->Value();
      if (count <= 0) continue;  // a zero request asks for nothing
      std::string req_name = "container-" + std::to_string(i) + "-request-" + std::to_string(idx);
      requests.push_back({{"name", req_name},
                          {"exactly",
                           {{"deviceClassName", it->second},
                            {"allocationMode", "ExactCount"},
                            {"count", count}}}});
      mappings.push_back({{"containerName", Str(*containers[i], "name")},
                          {"resourceName", name},
                          {"requestName", req_name}});
    }
  }
  ExtendedResourceClaim out;
  if (requests.empty()) return out;
  std::string generate = Str(md, "name") + "-extended-resources-";
  std::string name =
      generate + Suffix(Str(md, "namespace") + "/" + Str(md, "name") + "/" + Str(md, "uid"));
  out.claim = {{"apiVersion", "resource.k8s.io/v1"},
               {"kind", "ResourceClaim"},
               {"metadata",
                {{"name", name},
                 {"generateName", generate},
                 {"namespace", Str(md, "namespace")},
                 {"annotations", {{kExtendedResourceClaimAnnotation, "true"}}},
                 {"ownerReferences", OwnerRef(pod)}}},
               {"spec", {{"devices", {{"requests", requests}}}}}};
  out.status = {{"requestMappings", mappings}, {"resourceClaimName", name}};
  return out;
}

// ---- dry run ----------------------------------------------------------------------

namespace {

std::string Key(const Json& obj) {
  const Json& md = Field(obj, "metadata");
  return Str(md, "namespace") + "/" + Str(md, "name");
}

void SetScheduled(Json& pod, bool scheduled, const std::string& message) {
  Json cond = {{"type", "PodScheduled"}, {"status", scheduled ? "True" : "False"}};
  if (!scheduled) {
    cond["reason"] = "Unschedulable";
    cond["message"] = message;
  }
  pod["status"]["conditions"] = Json::array({cond});
  if (!scheduled) pod["status"]["phase"] = "Pending";
}

// The input objects of a dry run, by kind; namespaced claims and templates
// by "namespace/name" (namespace "default" when unset).
struct DryRunObjects {
  Inventory inv;
  std::vector<Json> nodes, pods;
  std::map<std::string, Json> claims, templates;
};

// WithDefaultNamespace(): `o` with metadata.namespace "default" when unset.
Json WithDefaultNamespace(Json o) {
  if (Str(Field(o, "metadata"), "namespace").empty()) o["metadata"]["namespace"] = "default";
  return o;
}

// SortObjects(): the objects by kind; kinds a dry run does not use are
// ignored.
DryRunObjects SortObjects(const std::vector<Json>& objects) {
  DryRunObjects s;
  const std::map<std::string, std::vector<Json>*> lists = {{"ResourceSlice", &s.inv.slices},
                                                           {"DeviceClass", &s.inv.device_classes},
                                                           {"DeviceTaintRule", &s.inv.taint_rules},
                                                           {"Namespace", &s.inv.namespaces},
                                                           {"Node", &s.nodes},
                                                           {"Pod", &s.pods}};
  const std::map<std::string, std::map<std::string, Json>*> keyed = {
      {"ResourceClaim", &s.claims}, {"ResourceClaimTemplate", &s.templates}};
  for (const auto& o : objects) {
    std::string kind = Str(o, "kind");
    if (auto it = lists.find(kind); it != lists.end()) {
      it->second->push_back(o);
    } else if (auto kt = keyed.find(kind); kt != keyed.end()) {
      Json c = WithDefaultNamespace(o);
      (*kt->second)[Key(c)] = c;
    }
  }
  for (const auto& [k, c] : s.claims) {
    if (Field(Field(c, "status"), "allocation").is_object()) s.inv.allocated_claims.push_back(c);
  }
  return s;
}

// NodeList(): the Node objects and the nodes slices name, by name; one
// "node-0" when there are none.
std::vector<NodeInfo> NodeList(const std::vector<Json>& nodes, const Allocator& alloc) {
  std::vector<NodeInfo> node_list;
  std::set<std::string> seen;
  for (const auto& n : nodes) {
    node_list.push_back(NodeInfo::FromJson(n));
    seen.insert(node_list.back().name);
  }
  for (const auto& n : alloc.Nodes()) {
    if (seen.insert(n).second) node_list.push_back(NodeInfo{n, {}});
  }
  std::sort(node_list.begin(), node_list.end(),
            [](const NodeInfo& a, const NodeInfo& b) { return a.name < b.name; });
  if (node_list.empty()) node_list.push_back(NodeInfo{"node-0", {}});
  return node_list;
}

// FailureText(): an allocation failure for the report; errors other than
// "does not fit" are marked as such.
std::string FailureText(const Status& s) {
  return (s.code() == Code::kResourceExhausted ? "" : "error: ") + s.message();
}

// TemplateClaim(): the claim a pod's resourceClaims entry `entry` makes from
// template spec `tspec`, named as the kube-controller-manager would.
Json TemplateClaim(const Json& pod, const Json& md, const std::string& ns, const std::string& entry,
                   const Json& tspec) {
  std::string name =
      Str(md, "name") + "-" + entry + "-" + Suffix(ns + "/" + Str(md, "name") + "/" + entry);
  Json claim = {{"apiVersion", "resource.k8s.io/v1"},
                {"kind", "ResourceClaim"},
                {"metadata",
                 {{"name", name},
                  {"generateName", Str(md, "name") + "-" + entry + "-"},
                  {"namespace", ns},
                  {"annotations", {{"resource.kubernetes.io/pod-claim-name", entry}}},
                  {"ownerReferences", OwnerRef(pod)}}},
                {"spec", Field(tspec, "spec")}};
  const Json& tmd = Field(tspec, "metadata");
  if (Field(tmd, "labels").is_object()) claim["metadata"]["labels"] = tmd["labels"];
  if (Field(tmd, "annotations").is_object()) {
    for (const auto& [k, v] : tmd["annotations"].items()) claim["metadata"]["annotations"][k] = v;
  }
  return claim;
}

// The dry-run scheduler: places pods (in namespace/name order) and then the
// claims no pod uses on the first node that fits, recording the result.
class DryRunner {
 public:
  DryRunner(Allocator* alloc, std::vector<NodeInfo> nodes, const std::vector<Json>* classes,
            std::map<std::string, Json>* claims, const std::map<std::string, Json>* templates,
            DryRunResult* out)
      : alloc_(alloc),
        nodes_(std::move(nodes)),
        classes_(classes),
        claims_(claims),
        templates_(templates),
        out_(out) {}

  // SchedulePod(): allocates the pod's claims and binds it, or marks it
  // unschedulable; errors other than unschedulable are returned.
  Status SchedulePod(Json& pod);
  // AllocateUnusedClaims(): the unallocated claims no pod uses, one by one.
  void AllocateUnusedClaims();

 private:
  // TryNodes(): allocations of `batch` on the first node (in name order, or
  // `fixed_node`) where they fit, and that node.
  Result<std::vector<Json>> TryNodes(const std::vector<Json*>& batch, const std::string& fixed_node,
                                     std::string* node_out) const;
  // ResolveClaims(): the keys and pod status entries of the pod's
  // resourceClaims, claims from templates being added; the message of the
  // first missing claim or template.
  std::optional<std::string> ResolveClaims(const Json& pod, const Json& md, const std::string& ns,
                                           std::vector<std::string>* keys, Json* statuses);
  // CommitAllocations(): stores the allocations in the claims and reserves
  // them for the pod; the claims' names, comma-separated.
  Result<std::string> CommitAllocations(const std::vector<Json*>& batch,
                                        const std::vector<Json>& allocations, const Json& pod);

  Allocator* alloc_;
  std::vector<NodeInfo> nodes_;
  const std::vector<Json>* classes_;
  std::map<std::string, Json>* claims_;
  const std::map<std::string, Json>* templates_;
  DryRunResult* out_;
  std::set<std::string> claimed_by_pod_;
};

Result<std::vector<Json>> DryRunner::TryNodes(const std::vector<Json*>& batch,
                                              const std::string& fixed_node,
                                              std::string* node_out) const {
  std::vector<Json> copies;
  for (Json* c : batch) copies.push_back(*c);
  std::string why;
  for (const auto& n : nodes_) {
    if (!fixed_node.empty() && n.name != fixed_node) continue;
    auto r = alloc_->Allocate(copies, n);
    if (r.ok()) {
      *node_out = n.name;
      return r;
    }
    if (r.status().code() != Code::kResourceExhausted)
      return r.status().WithContext("node " + n.name);
    why += (why.empty() ? "" : " | ") + ("node " + n.name + ": " + r.status().message());
  }
  if (!fixed_node.empty() && why.empty()) why = "node " + fixed_node + " is unknown";
  return ResourceExhaustedError(why);
}

std::optional<std::string> DryRunner::ResolveClaims(const Json& pod, const Json& md,
                                                    const std::string& ns,
                                                    std::vector<std::string>* keys,
                                                    Json* statuses) {
  const Json& rcs = Field(Field(pod, "spec"), "resourceClaims");
  if (!rcs.is_array()) return std::nullopt;
  for (const auto& rc : rcs) {
    std::string entry = Str(rc, "name");
    if (!Str(rc, "resourceClaimName").empty()) {
      std::string k = ns + "/" + Str(rc, "resourceClaimName");
      if (!claims_->count(k)) return "resource claim " + k + " not found";
      keys->push_back(k);
      statuses->push_back({{"name", entry}, {"resourceClaimName", Str(rc, "resourceClaimName")}});
    } else if (!Str(rc, "resourceClaimTemplateName").empty()) {
      std::string tk = ns + "/" + Str(rc, "resourceClaimTemplateName");
      auto it = templates_->find(tk);
      if (it == templates_->end()) return "resource claim template " + tk + " not found";
      Json claim = TemplateClaim(pod, md, ns, entry, Field(it->second, "spec"));
      std::string name = Str(claim["metadata"], "name");
      std::string k = ns + "/" + name;
      (*claims_)[k] = claim;
      keys->push_back(k);
      statuses->push_back({{"name", entry}, {"resourceClaimName", name}});
    }
  }
  return std::nullopt;
}

Result<std::string> DryRunner::CommitAllocations(const std::vector<Json*>& batch,
                                                 const std::vector<Json>& allocations,
                                                 const Json& pod) {
  std::string names;
  for (size_t i = 0; i < batch.size(); ++i) {
    Json& c = *batch[i];
    c["status"]["allocation"] = allocations[i];
    DRAHIL_RETURN_IF_ERROR(Reserve(c, pod));
    alloc_->AddAllocatedClaim(c);
    names += (i ? ", " : "") + Str(Field(c, "metadata"), "name");
  }
  return names;
}

Status DryRunner::SchedulePod(Json& pod) {
  const Json& md = Field(pod, "metadata");
  std::string ns = Str(md, "namespace").empty() ? "default" : Str(md, "namespace");
  pod["metadata"]["namespace"] = ns;
  if (Str(md, "uid").empty())
    pod["metadata"]["uid"] = "dryrun-" + Suffix(ns + "/" + Str(md, "name")) + "-pod";
  std::string pod_name = "pod " + ns + "/" + Str(md, "name");
  std::vector<std::string> keys;
  Json statuses = Json::array();
  if (auto missing = ResolveClaims(pod, md, ns, &keys, &statuses)) {
    out_->report.push_back(pod_name + ": unschedulable: " + *missing);
    SetScheduled(pod, false, *missing);
    out_->all_allocated = false;
    return OkStatus();
  }
  DRAHIL_ASSIGN_OR_RETURN(ExtendedResourceClaim ext, BuildExtendedResourceClaim(pod, *classes_));
  if (!ext.claim.is_null()) {
    std::string k = Key(ext.claim);
    (*claims_)[k] = ext.claim;
    keys.push_back(k);
  }
  if (keys.empty()) {
    out_->report.push_back(pod_name + ": no resource claims");
    return OkStatus();
  }
  std::vector<Json*> batch;
  for (const auto& k : keys) {
    batch.push_back(&(*claims_)[k]);
    claimed_by_pod_.insert(k);
  }
  std::string node;
  auto r = TryNodes(batch, Str(Field(pod, "spec"), "nodeName"), &node);
  if (!r.ok()) {
    out_->report.push_back(pod_name + ": " + FailureText(r.status()));
    SetScheduled(pod, false, r.status().message());
    out_->all_allocated = false;
    return OkStatus();
  }
  DRAHIL_ASSIGN_OR_RETURN(std::string names, CommitAllocations(batch, *r, pod));
  pod["spec"]["nodeName"] = node;
  SetScheduled(pod, true, "");
  if (!statuses.empty()) pod["status"]["resourceClaimStatuses"] = statuses;
  if (!ext.claim.is_null()) pod["status"]["extendedResourceClaimStatus"] = ext.status;
  out_->report.push_back(pod_name + ": scheduled on node " + node + " (claims: " + names + ")");
  return OkStatus();
}

void DryRunner::AllocateUnusedClaims() {
  for (auto& [k, c] : *claims_) {
    if (claimed_by_pod_.count(k) || Field(Field(c, "status"), "allocation").is_object()) continue;
    std::string node;
    auto r = TryNodes({&c}, "", &node);
    if (!r.ok()) {
      out_->report.push_back("claim " + k + ": " + FailureText(r.status()));
      out_->claim_messages[k] = r.status().message();
      out_->all_allocated = false;
      continue;
    }
    c["status"]["allocation"] = (*r)[0];
    alloc_->AddAllocatedClaim(c);
    out_->report.push_back("claim " + k + ": allocated on node " + node);
  }
}

}  // namespace

Result<DryRunResult> DryRun(const std::vector<Json>& objects, const Options& options) {
  DryRunObjects in = SortObjects(objects);
  std::vector<Json> classes = in.inv.device_classes;
  Allocator alloc(std::move(in.inv), options);
  DryRunResult out;
  for (const auto& w : alloc.warnings()) out.report.push_back("warning: " + w);
  DryRunner runner(&alloc, NodeList(in.nodes, alloc), &classes, &in.claims, &in.templates, &out);
  std::sort(in.pods.begin(), in.pods.end(),
            [](const Json& a, const Json& b) { return Key(a) < Key(b); });
  for (auto& pod : in.pods) DRAHIL_RETURN_IF_ERROR(runner.SchedulePod(pod));
  runner.AllocateUnusedClaims();
  for (auto& [k, c] : in.claims) out.claims.push_back(c);
  out.pods = std::move(in.pods);
  return out;
}

}  // namespace drahil::allocator
