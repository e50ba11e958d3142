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
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6) return std::nullopt;
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
    case BindingState::kNotRequired: return "NotRequired";
    case BindingState::kPending: return "Pending";
    case BindingState::kReady: return "Ready";
    case BindingState::kFailed: return "Failed";
    case BindingState::kTimedOut: return "TimedOut";
  }
  return "?";
}

BindingStatus EvaluateBindingConditions(const Json& claim, std::chrono::system_clock::time_point now,
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
          out.reason = "device " + id + ": binding failure condition " + f.get<std::string>() + " is True";
          return out;
        }
      }
    }
    for (const auto& c : bc) {
      if (c.is_string() && !(conds && ConditionTrue(*conds, c.get<std::string>())) && pending.empty()) {
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
  if (uid.empty()) return InvalidArgumentError("reserve claim: pod " + Str(md, "name") + " has no uid");
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

Result<ExtendedResourceClaim> BuildExtendedResourceClaim(const Json& pod, const std::vector<Json>& classes) {
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
        return q.status().WithContext("pod " + Str(md, "name") + " container " + Str(*containers[i], "name") +
                                      " resource " + name);
      }
      int64_t count = q->Value();
      if (count <= 0) continue;  // a zero request asks for nothing
      std::string req_name = "container-" + std::to_string(i) + "-request-" + std::to_string(idx);
      requests.push_back({{"name", req_name},
                          {"exactly", {{"deviceClassName", it->second}, {"allocationMode", "ExactCount"}, {"count", count}}}});
      mappings.push_back({{"containerName", Str(*containers[i], "name")}, {"resourceName", name}, {"requestName", req_name}});
    }
  }
  ExtendedResourceClaim out;
  if (requests.empty()) return out;
  std::string generate = Str(md, "name") + "-extended-resources-";
  std::string name = generate + Suffix(Str(md, "namespace") + "/" + Str(md, "name") + "/" + Str(md, "uid"));
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

}  // namespace

Result<DryRunResult> DryRun(const std::vector<Json>& objects, const Options& options) {
  Inventory inv;
  std::vector<Json> nodes, pods;
  std::map<std::string, Json> claims, templates;
  for (const auto& o : objects) {
    std::string kind = Str(o, "kind");
    if (kind == "ResourceSlice") inv.slices.push_back(o);
    else if (kind == "DeviceClass") inv.device_classes.push_back(o);
    else if (kind == "DeviceTaintRule") inv.taint_rules.push_back(o);
    else if (kind == "Namespace") inv.namespaces.push_back(o);
    else if (kind == "Node") nodes.push_back(o);
    else if (kind == "Pod") pods.push_back(o);
    else if (kind == "ResourceClaim") {
      Json c = o;
      if (Str(Field(c, "metadata"), "namespace").empty()) c["metadata"]["namespace"] = "default";
      claims[Key(c)] = c;
    } else if (kind == "ResourceClaimTemplate") {
      Json t = o;
      if (Str(Field(t, "metadata"), "namespace").empty()) t["metadata"]["namespace"] = "default";
      templates[Key(t)] = t;
    }
  }
  for (const auto& [k, c] : claims) {
    if (Field(Field(c, "status"), "allocation").is_object()) inv.allocated_claims.push_back(c);
  }
  std::vector<Json> classes = inv.device_classes;
  Allocator alloc(std::move(inv), options);
  DryRunResult out;
  for (const auto& w : alloc.warnings()) out.report.push_back("warning: " + w);

  std::vector<NodeInfo> node_list;
  std::set<std::string> seen;
  for (const auto& n : nodes) {
    node_list.push_back(NodeInfo::FromJson(n));
    seen.insert(node_list.back().name);
  }
  for (const auto& n : alloc.Nodes()) {
    if (seen.insert(n).second) node_list.push_back(NodeInfo{n, {}});
  }
  std::sort(node_list.begin(), node_list.end(), [](const NodeInfo& a, const NodeInfo& b) { return a.name < b.name; });
  if (node_list.empty()) node_list.push_back(NodeInfo{"node-0", {}});

  // TryNodes(): the first node (in name order, or the pod's own) that fits.
  auto try_nodes = [&](std::vector<Json*> batch, const std::string& fixed_node,
                       std::string* node_out) -> Result<std::vector<Json>> {
    std::vector<Json> copies;
    for (Json* c : batch) copies.push_back(*c);
    std::string why;
    for (const auto& n : node_list) {
      if (!fixed_node.empty() && n.name != fixed_node) continue;
      auto r = alloc.Allocate(copies, n);
      if (r.ok()) {
        *node_out = n.name;
        return r;
      }
      if (r.status().code() != Code::kResourceExhausted) return r.status().WithContext("node " + n.name);
      why += (why.empty() ? "" : " | ") + ("node " + n.name + ": " + r.status().message());
    }
    if (!fixed_node.empty() && why.empty()) why = "node " + fixed_node + " is unknown";
    return ResourceExhaustedError(why);
  };

  std::sort(pods.begin(), pods.end(), [](const Json& a, const Json& b) { return Key(a) < Key(b); });
  std::set<std::string> claimed_by_pod;
  for (auto& pod : pods) {
    const Json& md = Field(pod, "metadata");
    std::string ns = Str(md, "namespace").empty() ? "default" : Str(md, "namespace");
    pod["metadata"]["namespace"] = ns;
    if (Str(md, "uid").empty()) pod["metadata"]["uid"] = "dryrun-" + Suffix(ns + "/" + Str(md, "name")) + "-pod";
    std::string pod_name = "pod " + ns + "/" + Str(md, "name");
    std::vector<std::string> keys;
    bool broken = false;
    const Json& rcs = Field(Field(pod, "spec"), "resourceClaims");
    Json statuses = Json::array();
    if (rcs.is_array()) {
      for (const auto& rc : rcs) {
        std::string entry = Str(rc, "name");
        if (!Str(rc, "resourceClaimName").empty()) {
          std::string k = ns + "/" + Str(rc, "resourceClaimName");
          if (!claims.count(k)) {
            out.report.push_back(pod_name + ": unschedulable: resource claim " + k + " not found");
            SetScheduled(pod, false, "resource claim " + k + " not found");
            broken = true;
            break;
          }
          keys.push_back(k);
          statuses.push_back({{"name", entry}, {"resourceClaimName", Str(rc, "resourceClaimName")}});
        } else if (!Str(rc, "resourceClaimTemplateName").empty()) {
          std::string tk = ns + "/" + Str(rc, "resourceClaimTemplateName");
          auto it = templates.find(tk);
          if (it == templates.end()) {
            out.report.push_back(pod_name + ": unschedulable: resource claim template " + tk + " not found");
            SetScheduled(pod, false, "resource claim template " + tk + " not found");
            broken = true;
            break;
          }
          const Json& tspec = Field(it->second, "spec");
          std::string name = Str(md, "name") + "-" + entry + "-" + Suffix(ns + "/" + Str(md, "name") + "/" + entry);
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
          std::string k = ns + "/" + name;
          claims[k] = claim;
          keys.push_back(k);
          statuses.push_back({{"name", entry}, {"resourceClaimName", name}});
        }
      }
    }
    if (broken) {
      out.all_allocated = false;
      continue;
    }
    auto ext = BuildExtendedResourceClaim(pod, classes);
    if (!ext.ok()) return ext.status();
    if (!ext->claim.is_null()) {
      std::string k = Key(ext->claim);
      claims[k] = ext->claim;
      keys.push_back(k);
    }
    if (keys.empty()) {
      out.report.push_back(pod_name + ": no resource claims");
      continue;
    }
    std::vector<Json*> batch;
    for (const auto& k : keys) {
      batch.push_back(&claims[k]);
      claimed_by_pod.insert(k);
    }
    std::string node;
    auto r = try_nodes(batch, Str(Field(pod, "spec"), "nodeName"), &node);
    if (!r.ok()) {
      out.report.push_back(pod_name + ": " + (r.status().code() == Code::kResourceExhausted ? "" : "error: ") +
                           r.status().message());
      SetScheduled(pod, false, r.status().message());
      out.all_allocated = false;
      continue;
    }
    std::string names;
    for (size_t i = 0; i < batch.size(); ++i) {
      Json& c = *batch[i];
      c["status"]["allocation"] = (*r)[i];
      DRAHIL_RETURN_IF_ERROR(Reserve(c, pod));
      alloc.AddAllocatedClaim(c);
      names += (i ? ", " : "") + Str(Field(c, "metadata"), "name");
    }
    pod["spec"]["nodeName"] = node;
    SetScheduled(pod, true, "");
    if (!statuses.empty()) pod["status"]["resourceClaimStatuses"] = statuses;
    if (!ext->claim.is_null()) pod["status"]["extendedResourceClaimStatus"] = ext->status;
    out.report.push_back(pod_name + ": scheduled on node " + node + " (claims: " + names + ")");
  }
  for (auto& [k, c] : claims) {
    if (claimed_by_pod.count(k) || Field(Field(c, "status"), "allocation").is_object()) continue;
    std::string node;
    auto r = try_nodes({&c}, "", &node);
    if (!r.ok()) {
      out.report.push_back("claim " + k + ": " + (r.status().code() == Code::kResourceExhausted ? "" : "error: ") +
                           r.status().message());
      out.claim_messages[k] = r.status().message();
      out.all_allocated = false;
      continue;
    }
    c["status"]["allocation"] = (*r)[0];
    alloc.AddAllocatedClaim(c);
    out.report.push_back("claim " + k + ": allocated on node " + node);
  }
  for (auto& [k, c] : claims) out.claims.push_back(c);
  out.pods = std::move(pods);
  return out;
}

}  // namespace drahil::allocator
