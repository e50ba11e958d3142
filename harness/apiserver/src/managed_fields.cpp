// Server-side apply and field ownership (managed_fields.hpp): what
// k8s.io/apiserver's fieldmanager (pkg/util/managedfields/internal:
// structuredmerge.go, managedfieldsupdater.go, stripmeta.go, fieldmanager.go)
// does with sigs.k8s.io/structured-merge-diff (merge/update.go Updater,
// typed/merge.go, typed/tofieldset.go, typed/compare.go, typed/remove.go).
#include "managed_fields.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <tuple>

namespace drahil::apiserver::internal {

using nlohmann::json;

namespace {

// ---------------------------------------------------------------------------
// Schema: the granular lists and free-key maps of the served resources, from
// the +listType/+listMapKey markers of k8s.io/api (resource/v1, core/v1,
// meta/v1). A path names fields by name, list items as "[]" and the entries
// of a free-key map as "*". Every list not named here is atomic, as
// structured-merge-diff treats lists of a deduced schema.

enum class RuleKind { kListMap, kSet, kFreeMap, kDeduced };

struct Rule {
  const char* resource;  // "" for every resource
  const char* path;
  RuleKind kind;
  std::vector<std::string> keys;  // kListMap
};

const std::vector<Rule>& Rules() {
  static const std::vector<Rule> kRules = {
      // meta/v1 ObjectMeta.
      {"", "metadata.labels", RuleKind::kFreeMap, {}},
      {"", "metadata.annotations", RuleKind::kFreeMap, {}},
      {"", "metadata.finalizers", RuleKind::kSet, {}},
      {"", "metadata.ownerReferences", RuleKind::kListMap, {"uid"}},
      // resource/v1 ResourceClaimStatus. ResourceSlice spec.devices and
      // sharedCounters, the claim's requests, constraints, config and the
      // allocation results are all +listType=atomic upstream.
      {"resourceclaims", "status.reservedFor", RuleKind::kListMap, {"uid"}},
      {"resourceclaims",
       "status.devices",
       RuleKind::kListMap,
       {"driver", "device", "pool", "shareID"}},
      {"resourceclaims", "status.devices[].conditions", RuleKind::kListMap, {"type"}},
      {"resourceclaims", "status.devices[].data", RuleKind::kDeduced, {}},
      {"devicetaintrules", "status.conditions", RuleKind::kListMap, {"type"}},
      // core/v1 Pod.
      {"pods", "spec.containers", RuleKind::kListMap, {"name"}},
      {"pods", "spec.initContainers", RuleKind::kListMap, {"name"}},
      {"pods", "spec.ephemeralContainers", RuleKind::kListMap, {"name"}},
      {"pods", "spec.volumes", RuleKind::kListMap, {"name"}},
      {"pods", "spec.imagePullSecrets", RuleKind::kListMap, {"name"}},
      {"pods", "spec.resourceClaims", RuleKind::kListMap, {"name"}},
      {"pods", "spec.nodeSelector", RuleKind::kFreeMap, {}},
      {"pods", "spec.overhead", RuleKind::kFreeMap, {}},
      {"pods", "spec.containers[].ports", RuleKind::kListMap, {"containerPort", "protocol"}},
      {"pods", "spec.containers[].env", RuleKind::kListMap, {"name"}},
      {"pods", "spec.containers[].volumeMounts", RuleKind::kListMap, {"mountPath"}},
      {"pods", "spec.containers[].resources.claims", RuleKind::kListMap, {"name"}},
      {"pods", "spec.containers[].resources.limits", RuleKind::kFreeMap, {}},
      {"pods", "spec.containers[].resources.requests", RuleKind::kFreeMap, {}},
      {"pods", "spec.initContainers[].env", RuleKind::kListMap, {"name"}},
      {"pods", "spec.initContainers[].volumeMounts", RuleKind::kListMap, {"mountPath"}},
      {"pods", "spec.initContainers[].resources.limits", RuleKind::kFreeMap, {}},
      {"pods", "spec.initContainers[].resources.requests", RuleKind::kFreeMap, {}},
      {"pods", "status.conditions", RuleKind::kListMap, {"type"}},
      {"pods", "status.podIPs", RuleKind::kListMap, {"ip"}},
      {"pods", "status.hostIPs", RuleKind::kListMap, {"ip"}},
      // core/v1 Node and Namespace.
      {"nodes", "status.conditions", RuleKind::kListMap, {"type"}},
      {"nodes", "status.addresses", RuleKind::kListMap, {"type"}},
      {"nodes", "status.capacity", RuleKind::kFreeMap, {}},
      {"nodes", "status.allocatable", RuleKind::kFreeMap, {}},
      {"namespaces", "status.conditions", RuleKind::kListMap, {"type"}},
      // core/v1 ConfigMap (free-key data maps).
      {"configmaps", "data", RuleKind::kFreeMap, {}},
      {"configmaps", "binaryData", RuleKind::kFreeMap, {}},
  };
  return kRules;
}

class Schema {
 public:
  explicit Schema(const ResourceInfo& info) : resource_(info.resource) {}
  const Rule* Find(const std::string& path) const {
    for (const auto& r : Rules()) {
      if ((r.resource[0] == '\0' || resource_ == r.resource) && path == r.path) return &r;
    }
    return nullptr;
  }
  bool FreeMap(const std::string& path, bool deduced) const {
    if (deduced) return true;
    const Rule* r = Find(path);
    return r != nullptr && (r->kind == RuleKind::kFreeMap || r->kind == RuleKind::kDeduced);
  }
  bool Deduced(const std::string& path, bool deduced) const {
    if (deduced) return true;
    const Rule* r = Find(path);
    return r != nullptr && r->kind == RuleKind::kDeduced;
  }
  // ListRule(): nullptr for an atomic list.
  const Rule* ListRule(const std::string& path, bool deduced) const {
    if (deduced) return nullptr;
    const Rule* r = Find(path);
    if (r == nullptr || (r->kind != RuleKind::kListMap && r->kind != RuleKind::kSet))
      return nullptr;
    return r;
  }

 private:
  std::string resource_;
};

std::string ChildPath(const std::string& parent, const std::string& key, bool free) {
  std::string k = free ? "*" : key;
  return parent.empty() ? k : parent + "." + k;
}

// ItemElement(): the path element of a list item: "k:{…}" with the key
// fields it has (sorted, as structured-merge-diff's FieldList), "v:…" for a
// set; "i:N" for an item that is not an object in a list-map.
std::string ItemElement(const Rule& rule, const json& item, size_t index) {
  if (rule.kind == RuleKind::kSet) return "v:" + item.dump();
  if (!item.is_object()) return "i:" + std::to_string(index);
  json key = json::object();
  for (const auto& k : rule.keys) {
    if (item.contains(k)) key[k] = item[k];
  }
  return "k:" + key.dump();
}

// Node: one member of an object's field set, with its value; a leaf is a
// scalar, an atomic list, a set item, null or an empty map (what
// typed/compare.go compares by value).
struct Node {
  const json* value;
  bool leaf;
};
using NodeMap = std::map<FieldPath, Node>;

void Walk(const Schema& s, const json& v, const std::string& spath, bool deduced, FieldPath& path,
          NodeMap& out) {
  if (v.is_object()) {
    bool free = !spath.empty() && s.FreeMap(spath, deduced);
    bool ded = !spath.empty() && s.Deduced(spath, deduced);
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (spath == "metadata" && it.key() == "managedFields") continue;
      path.push_back("f:" + it.key());
      const json& cv = it.value();
      Walk(s, cv, ChildPath(spath, it.key(), free), ded, path, out);
      bool empty = cv.is_null() || (cv.is_object() && cv.empty());
      if (empty || free) out.emplace(path, Node{&cv, empty});
      path.pop_back();
    }
    return;
  }
  if (v.is_array()) {
    const Rule* rule = s.ListRule(spath, deduced);
    if (rule == nullptr) {
      out[path] = Node{&v, true};
      return;
    }
    for (size_t i = 0; i < v.size(); ++i) {
      path.push_back(ItemElement(*rule, v[i], i));
      if (rule->kind == RuleKind::kListMap && v[i].is_object()) {
        Walk(s, v[i], spath + "[]", false, path, out);
      }
      out.emplace(path, Node{&v[i], rule->kind == RuleKind::kSet || !v[i].is_object()});
      path.pop_back();
    }
    return;
  }
  out[path] = Node{&v, true};
}

// The fields stripMetaManager keeps out of every manager's set.
bool Stripped(const FieldPath& p) {
  if (p.size() == 1) return p[0] == "f:apiVersion" || p[0] == "f:kind" || p[0] == "f:metadata";
  if (p.size() == 2 && p[0] == "f:metadata") {
    static const std::set<std::string> kMeta = {
        "f:name",        "f:namespace",  "f:creationTimestamp", "f:selfLink",       "f:uid",
        "f:clusterName", "f:generation", "f:managedFields",     "f:resourceVersion"};
    return kMeta.count(p[1]) > 0;
  }
  return false;
}

NodeMap Nodes(const Schema& s, const json& obj) {
  NodeMap out;
  FieldPath path;
  Walk(s, obj, "", false, path, out);
  for (auto it = out.begin(); it != out.end();) {
    it = Stripped(it->first) ? out.erase(it) : std::next(it);
  }
  return out;
}

FieldSet KeysOf(const NodeMap& m) {
  FieldSet s;
  for (const auto& [p, n] : m) s.insert(s.end(), p);
  return s;
}

FieldSet Difference(const FieldSet& a, const FieldSet& b) {
  FieldSet out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()));
  return out;
}
FieldSet Intersection(const FieldSet& a, const FieldSet& b) {
  FieldSet out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()));
  return out;
}
FieldSet Union(const FieldSet& a, const FieldSet& b) {
  FieldSet out = a;
  out.insert(b.begin(), b.end());
  return out;
}

bool HasStrictDescendant(const FieldSet& set, const FieldPath& p) {
  for (auto it = set.upper_bound(p); it != set.end(); ++it) {
    if (it->size() <= p.size() || !std::equal(p.begin(), p.end(), it->begin())) break;
    return true;
  }
  return false;
}

// IsKeyField(): p names a key field of a list-map item ("k:{…}", "f:name").
bool IsKeyField(const FieldPath& p) {
  if (p.size() < 2 || p[p.size() - 2].rfind("k:", 0) != 0 || p.back().rfind("f:", 0) != 0) {
    return false;
  }
  json key = json::parse(p[p.size() - 2].substr(2), nullptr, false);
  return key.is_object() && key.contains(p.back().substr(2));
}

// Comparison (typed/compare.go): added, removed and modified fields.
struct Comparison {
  FieldSet added, removed, modified;
};

Comparison Compare(const Schema& s, const json& a, const json& b) {
  NodeMap na = Nodes(s, a), nb = Nodes(s, b);
  Comparison c;
  for (const auto& [p, n] : nb) {
    auto it = na.find(p);
    if (it == na.end()) {
      c.added.insert(p);
    } else if ((n.leaf || it->second.leaf) && *n.value != *it->second.value) {
      c.modified.insert(p);
    }
  }
  for (const auto& [p, n] : na) {
    if (nb.find(p) == nb.end()) c.removed.insert(p);
  }
  return c;
}

// ---------------------------------------------------------------------------
// Merge (typed/merge.go): maps merge key by key, list-maps and sets merge by
// item, anything else (scalars, atomic lists) is taken from the applied side.

json Merge(const Schema& s, const json& l, const json& r, const std::string& spath, bool deduced);

json MergeList(const Schema& s, const Rule& rule, const json& l, const json& r,
               const std::string& spath) {
  std::vector<std::string> lk, rk;
  for (size_t i = 0; i < l.size(); ++i) lk.push_back(ItemElement(rule, l[i], i));
  for (size_t i = 0; i < r.size(); ++i) rk.push_back(ItemElement(rule, r[i], i));
  std::map<std::string, size_t> lindex, rindex;
  for (size_t i = 0; i < lk.size(); ++i) lindex.emplace(lk[i], i);
  for (size_t i = 0; i < rk.size(); ++i) rindex.emplace(rk[i], i);
  std::set<std::string> emitted;
  json out = json::array();
  auto merged_item = [&](const std::string& key) {
    auto li = lindex.find(key);
    const json& ri = r[rindex.at(key)];
    if (li == lindex.end() || rule.kind == RuleKind::kSet) return ri;
    return Merge(s, l[li->second], ri, spath + "[]", false);
  };
  // The order of typed/merge.go visitListItems: live items stay in place;
  // an item both sides have is emitted when the applied order reaches it
  // (the shared items follow the applied order), new applied items come
  // where the applied order puts them.
  std::vector<std::string> shared;
  for (const auto& k : rk) {
    if (lindex.count(k) > 0) shared.push_back(k);
  }
  size_t next_shared = 0;
  auto advance_shared = [&](const std::string& key) {
    if (next_shared < shared.size() && shared[next_shared] == key) ++next_shared;
  };
  auto emit = [&](const std::string& key, const json& item) {
    if (emitted.insert(key).second) out.push_back(item);
  };
  size_t i = 0, j = 0;
  while (i < lk.size() || j < rk.size()) {
    if (i < lk.size() && j < rk.size()) {
      if (lk[i] == rk[j]) {
        emit(lk[i], merged_item(lk[i]));
        advance_shared(lk[i]);
        ++i;
        ++j;
        continue;
      }
      // A shared item whose turn has not come yet.
      if (rindex.count(lk[i]) > 0 && next_shared < shared.size() && shared[next_shared] != lk[i]) {
        ++i;
        continue;
      }
    }
    if (i < lk.size()) {
      if (rindex.count(lk[i]) == 0) {
        emit(lk[i], l[i]);
        ++i;
        continue;
      }
      if (emitted.count(lk[i]) > 0) {
        ++i;
        continue;
      }
    }
    if (j < rk.size()) {
      emit(rk[j], merged_item(rk[j]));
      advance_shared(rk[j]);
      ++j;
      continue;
    }
    ++i;  // a shared item left over (not reachable with distinct keys)
  }
  return out;
}

json Merge(const Schema& s, const json& l, const json& r, const std::string& spath, bool deduced) {
  if (l.is_object() && r.is_object()) {
    bool free = !spath.empty() && s.FreeMap(spath, deduced);
    bool ded = !spath.empty() && s.Deduced(spath, deduced);
    json out = l;
    for (auto it = r.begin(); it != r.end(); ++it) {
      auto li = l.find(it.key());
      out[it.key()] = li == l.end()
                          ? it.value()
                          : Merge(s, *li, it.value(), ChildPath(spath, it.key(), free), ded);
    }
    return out;
  }
  if (l.is_array() && r.is_array()) {
    const Rule* rule = s.ListRule(spath, deduced);
    if (rule != nullptr) return MergeList(s, *rule, l, r, spath);
  }
  return r;
}

// RemoveNulls(): an applied null unsets the field (Go's decoding of the
// merged object drops it).
void RemoveNulls(json& v) {
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end();) {
      if (it.value().is_null()) {
        it = v.erase(it);
      } else {
        RemoveNulls(it.value());
        ++it;
      }
    }
  } else if (v.is_array()) {
    for (auto& e : v) RemoveNulls(e);
  }
}

// Locate(): the index of a path element in an array.
std::optional<size_t> LocateItem(const json& arr, const std::string& pe) {
  if (pe.rfind("i:", 0) == 0) {
    // From managedFields a client may have written: parse defensively.
    std::string digits = pe.substr(2);
    if (digits.empty() || digits.size() > 9 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
    size_t n = std::stoul(digits);
    return n < arr.size() ? std::optional<size_t>(n) : std::nullopt;
  }
  json want = json::parse(pe.substr(2), nullptr, false);
  if (want.is_discarded()) return std::nullopt;
  for (size_t i = 0; i < arr.size(); ++i) {
    if (pe[0] == 'v') {
      if (arr[i] == want) return i;
      continue;
    }
    if (!arr[i].is_object()) continue;
    bool match = true;
    for (auto it = want.begin(); it != want.end() && match; ++it) {
      match = arr[i].contains(it.key()) && arr[i][it.key()] == it.value();
    }
    if (match) return i;
  }
  return std::nullopt;
}

// RemovePath() (typed/remove.go): removes the value at p; maps and lists the
// removal leaves empty below the top level go too (Go's omitempty).
bool RemovePath(json& node, const FieldPath& p, size_t i) {
  const std::string& pe = p[i];
  bool last = i + 1 == p.size();
  if (pe.rfind("f:", 0) == 0) {
    if (!node.is_object()) return false;
    auto it = node.find(pe.substr(2));
    if (it == node.end()) return false;
    if (last) {
      node.erase(it);
      return true;
    }
    bool removed = RemovePath(*it, p, i + 1);
    if (removed && i >= 1 && (it->is_object() || it->is_array()) && it->empty()) node.erase(it);
    return removed;
  }
  if (!node.is_array()) return false;
  auto idx = LocateItem(node, pe);
  if (!idx) return false;
  if (last) {
    node.erase(*idx);
    return true;
  }
  json& child = node[*idx];
  bool removed = RemovePath(child, p, i + 1);
  if (removed && child.is_object() && child.empty()) node.erase(*idx);
  return removed;
}

// ---------------------------------------------------------------------------
// managedFields entries.

struct Manager {
  std::string manager;
  std::string operation;  // "Apply" | "Update"
  std::string api_version;
  std::string time;  // "" when none
  std::string subresource;
  FieldSet set;
  // Identity (BuildManagerIdentifier): appliers regardless of apiVersion.
  bool Same(const Manager& o) const {
    return manager == o.manager && operation == o.operation && subresource == o.subresource &&
           (operation == "Apply" || api_version == o.api_version);
  }
};

std::vector<Manager> DecodeManagers(const json& mf) {
  std::vector<Manager> out;
  if (!mf.is_array()) return out;
  for (const auto& e : mf) {
    if (!e.is_object()) continue;
    auto str = [&](const char* key) {
      auto it = e.find(key);
      return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    Manager m;
    m.manager = str("manager");
    m.operation = str("operation");
    m.api_version = str("apiVersion");
    m.time = str("time");
    m.subresource = str("subresource");
    if (e.contains("fieldsV1")) m.set = DecodeFieldsV1(e["fieldsV1"]);
    out.push_back(std::move(m));
  }
  return out;
}

// EncodeManagers(): sorted as sortEncodedManagedFields (operation, time,
// manager, apiVersion, subresource); managers left without fields go.
json EncodeManagers(std::vector<Manager> ms) {
  ms.erase(std::remove_if(ms.begin(), ms.end(), [](const Manager& m) { return m.set.empty(); }),
           ms.end());
  std::stable_sort(ms.begin(), ms.end(), [](const Manager& p, const Manager& q) {
    return std::tie(p.operation, p.time, p.manager, p.api_version, p.subresource) <
           std::tie(q.operation, q.time, q.manager, q.api_version, q.subresource);
  });
  json out = json::array();
  for (const auto& m : ms) {
    json e = {{"manager", m.manager}, {"operation", m.operation}, {"apiVersion", m.api_version}};
    if (!m.time.empty()) e["time"] = m.time;
    e["fieldsType"] = "FieldsV1";
    e["fieldsV1"] = EncodeFieldsV1(m.set);
    if (!m.subresource.empty()) e["subresource"] = m.subresource;
    out.push_back(std::move(e));
  }
  return out;
}

void SetManagedFields(json& obj, const std::vector<Manager>& ms) {
  json enc = EncodeManagers(ms);
  json& meta = obj["metadata"];
  if (!meta.is_object()) meta = json::object();
  if (enc.empty()) {
    meta.erase("managedFields");
  } else {
    meta["managedFields"] = std::move(enc);
  }
}

const json& ManagedFieldsOf(const json& obj) {
  static const json kNull;
  if (!obj.is_object() || !obj.contains("metadata") || !obj["metadata"].is_object()) return kNull;
  auto it = obj["metadata"].find("managedFields");
  return it == obj["metadata"].end() ? kNull : *it;
}

// printManager() of fieldmanager's conflict error.
std::string Describe(const Manager& m) {
  std::string s = json(m.manager).dump();
  if (!m.subresource.empty()) s += " with subresource " + json(m.subresource).dump();
  if (m.operation == "Update") s += " using " + m.api_version;
  return s;
}

ApiError ConflictError(const std::vector<std::pair<const Manager*, FieldSet>>& conflicts) {
  json causes = json::array();
  size_t total = 0;
  std::string first;
  std::string detail;
  for (const auto& [m, set] : conflicts) {
    detail += (detail.empty() ? "" : "\n") + std::string("conflicts with ") + Describe(*m) + ":";
    for (const auto& p : set) {
      std::string path = PathString(p);
      causes.push_back({{"reason", "FieldManagerConflict"},
                        {"message", "conflict with " + Describe(*m)},
                        {"field", path}});
      detail += "\n- " + path;
      if (total++ == 0) first = "conflict with " + Describe(*m) + ": " + path;
    }
  }
  ApiError e;
  e.code = 409;
  e.reason = "Conflict";
  e.message = total == 1 ? "Apply failed with 1 conflict: " + first
                         : "Apply failed with " + std::to_string(total) + " conflicts: " + detail;
  // errors.NewApplyConflict: the details carry only the causes.
  e.details = {{"causes", causes}};
  return e;
}

const char kKubectl[] = "kubectl";
const char kLastApplied[] = "kubectl.kubernetes.io/last-applied-configuration";

// LastApplied(): the client-side apply annotation of obj, nullptr if none.
const json* LastApplied(const json& obj) {
  const json* ann = obj.is_object() && obj.contains("metadata") && obj["metadata"].is_object() &&
                            obj["metadata"].contains("annotations")
                        ? &obj["metadata"]["annotations"]
                        : nullptr;
  if (ann == nullptr || !ann->is_object() || !ann->contains(kLastApplied)) return nullptr;
  const json& v = (*ann)[kLastApplied];
  return v.is_string() && !v.get<std::string>().empty() ? &v : nullptr;
}

}  // namespace

// ---------------------------------------------------------------------------

FieldSet ToFieldSet(const ResourceInfo& info, const json& obj) {
  return KeysOf(Nodes(Schema(info), obj));
}

namespace {
// LastAppliedSet(): the fields of the last-applied configuration
// (allowedConflictsFromLastApplied); empty when there is none.
FieldSet LastAppliedSet(const ResourceInfo& info, const json& live) {
  const json* v = LastApplied(live);
  if (v == nullptr) return {};
  json obj = json::parse(v->get<std::string>(), nullptr, false);
  if (!obj.is_object()) return {};
  return ToFieldSet(info, obj);
}
}  // namespace

json EncodeFieldsV1(const FieldSet& set) {
  json root = json::object();
  for (const auto& p : set) {
    json* node = &root;
    for (const auto& pe : p) node = &(*node)[pe];
    if (!node->is_object()) *node = json::object();
  }
  // A member with children carries ".": {}.
  for (const auto& p : set) {
    json* node = &root;
    for (const auto& pe : p) node = &(*node)[pe];
    if (!node->empty() && !node->contains(".")) (*node)["."] = json::object();
  }
  return root;
}

namespace {
void DecodeInto(const json& node, FieldPath& path, FieldSet& out) {
  if (!node.is_object()) return;
  if (node.empty() && !path.empty()) out.insert(path);
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (it.key() == ".") {
      if (!path.empty()) out.insert(path);
      continue;
    }
    path.push_back(it.key());
    DecodeInto(it.value(), path, out);
    path.pop_back();
  }
}
}  // namespace

FieldSet DecodeFieldsV1(const json& fields) {
  FieldSet out;
  FieldPath path;
  DecodeInto(fields, path, out);
  return out;
}

std::string PathString(const FieldPath& path) {
  std::string s;
  for (const auto& pe : path) {
    if (pe.rfind("f:", 0) == 0) {
      s += "." + pe.substr(2);
    } else if (pe.rfind("k:", 0) == 0) {
      json key = json::parse(pe.substr(2), nullptr, false);
      s += "[";
      bool first = true;
      if (key.is_object()) {
        for (auto it = key.begin(); it != key.end(); ++it) {
          s += (first ? "" : ",") + it.key() + "=" + it.value().dump();
          first = false;
        }
      }
      s += "]";
    } else if (pe.rfind("v:", 0) == 0) {
      s += "[=" + pe.substr(2) + "]";
    } else if (pe.rfind("i:", 0) == 0) {
      s += "[" + pe.substr(2) + "]";
    }
  }
  return s;
}

std::string ManagerFromUserAgent(const std::string& user_agent) {
  return user_agent.substr(0, user_agent.find('/'));
}

Expected<json> ServerSideApply(const ResourceInfo& info, const json& live, const json& config,
                               const ApplyRequest& req, const std::function<json(json)>& reset) {
  Schema s(info);
  std::vector<Manager> managers = DecodeManagers(ManagedFieldsOf(live));
  bool untracked = managers.empty();
  Manager self{req.manager, "Apply", info.GroupVersion(), "", req.subresource, {}};
  FieldSet last;
  auto self_it = std::find_if(managers.begin(), managers.end(),
                              [&](const Manager& m) { return m.Same(self); });
  if (self_it != managers.end()) {
    last = self_it->set;
    self.time = self_it->time;
    managers.erase(self_it);
  }
  // The fields the strategy resets do not count (GetResetFields: status on
  // the main endpoint, everything but status on /status).
  auto tracked = [&](const FieldSet& set) {
    FieldSet out;
    for (const auto& p : set) {
      bool is_status = p[0] == "f:status";
      if (info.has_status && (req.subresource == "status" ? !is_status : is_status)) continue;
      out.insert(out.end(), p);
    }
    return out;
  };
  // skipNonAppliedManager.Apply: an existing object without managedFields
  // first gets its fields assigned to "before-first-apply".
  if (untracked) {
    FieldSet existing = tracked(ToFieldSet(info, live));
    if (!existing.empty()) {
      managers.push_back({"before-first-apply", "Update", info.GroupVersion(), req.now,
                          req.subresource, existing});
    }
  }
  FieldSet applied = tracked(ToFieldSet(info, config));

  // Merge, then prune what this manager applied before and no longer does,
  // unless another manager owns it (Updater.Apply → prune).
  json merged = Merge(s, live, config, "", false);
  FieldSet others;
  for (const auto& m : managers) others.insert(m.set.begin(), m.set.end());
  FieldSet owned = Union(applied, others);
  FieldSet removed = Difference(last, owned);
  // Parents first: a removed item takes its subtree. An item kept because
  // another manager owns part of it keeps its key fields.
  for (const auto& p : removed) {
    if (HasStrictDescendant(owned, p) || IsKeyField(p)) continue;
    RemovePath(merged, p, 0);
  }
  RemoveNulls(merged);
  if (reset) merged = reset(std::move(merged));

  // Conflicts with the other managers (Updater.update).
  Comparison cmp = Compare(s, live, merged);
  FieldSet changed = Union(cmp.modified, cmp.added);
  std::vector<std::pair<const Manager*, FieldSet>> conflicts;
  for (const auto& m : managers) {
    FieldSet c = Intersection(m.set, changed);
    if (!c.empty()) conflicts.emplace_back(&m, std::move(c));
  }
  if (!conflicts.empty() && !req.force && req.manager == kKubectl) {
    // lastAppliedManager.Apply: kubectl's server-side apply may take over
    // the fields of its client-side last-applied configuration.
    FieldSet allowed = LastAppliedSet(info, live);
    for (auto& c : conflicts) c.second = Difference(c.second, allowed);
    conflicts.erase(std::remove_if(conflicts.begin(), conflicts.end(),
                                   [](const auto& c) { return c.second.empty(); }),
                    conflicts.end());
  }
  if (!conflicts.empty() && !req.force) {
    std::sort(conflicts.begin(), conflicts.end(), [](const auto& a, const auto& b) {
      return std::tie(a.first->manager, a.first->operation) <
             std::tie(b.first->manager, b.first->operation);
    });
    return ConflictError(conflicts);
  }
  for (auto& m : managers) {
    m.set = Difference(Difference(m.set, changed), cmp.removed);
  }
  self.set = applied;
  // managedFieldsUpdater.Apply: the time moves when the object changed (a
  // new co-owner of unchanged fields gets none).
  if (!cmp.added.empty() || !cmp.removed.empty() || !cmp.modified.empty()) self.time = req.now;
  managers.push_back(std::move(self));
  SetManagedFields(merged, managers);
  // lastAppliedUpdater.Apply: kubectl's apply keeps an existing
  // client-side last-applied annotation in step with what it applied.
  if (req.manager == kKubectl && req.subresource.empty() && LastApplied(live) != nullptr) {
    json last = config;
    if (last.contains("metadata") && last["metadata"].contains("annotations") &&
        last["metadata"]["annotations"].is_object()) {
      last["metadata"]["annotations"].erase(kLastApplied);
    }
    merged["metadata"]["annotations"][kLastApplied] = last.dump() + "\n";
  }
  return merged;
}

namespace {

// CapUpdateManagers(): capManagersManager.capUpdateManagers
// (apimachinery pkg/util/managedfields/internal/capmanagers.go, with
// DefaultMaxUpdateManagers 10): while there are more than max entries from
// updates, the oldest (by time in seconds, then identity) are merged into
// one "ancient-changes" entry per apiVersion, which takes the time of the
// last entry merged into it.
constexpr size_t kMaxUpdateManagers = 10;

void CapUpdateManagers(std::vector<Manager>& managers, size_t max) {
  std::vector<size_t> updaters;
  for (size_t i = 0; i < managers.size(); ++i) {
    if (managers[i].operation != "Apply") updaters.push_back(i);
  }
  if (updaters.size() <= max) return;
  auto key = [&](size_t i) {
    const Manager& m = managers[i];
    return std::tie(m.time, m.manager, m.api_version, m.subresource);
  };
  std::sort(updaters.begin(), updaters.end(), [&](size_t a, size_t b) { return key(a) < key(b); });
  const std::string kBucket = "ancient-changes";
  std::vector<bool> gone(managers.size(), false);
  auto bucket_of = [&](const std::string& version) -> Manager* {
    for (size_t i = 0; i < managers.size(); ++i) {
      Manager& m = managers[i];
      if (!gone[i] && m.manager == kBucket && m.operation == "Update" && m.api_version == version &&
          m.subresource.empty())
        return &m;
    }
    return nullptr;
  };
  std::map<std::string, size_t> first_of_version;
  size_t length = updaters.size();
  for (size_t k = 0; k < updaters.size() && length > max; ++k) {
    size_t i = updaters[k];
    const std::string version = managers[i].api_version;
    auto first = first_of_version.find(version);
    if (first == first_of_version.end()) {
      first_of_version[version] = i;
      continue;
    }
    Manager* bucket = bucket_of(version);
    if (bucket == nullptr) {
      // The first entry of this version becomes the bucket.
      bucket = &managers[first->second];
      bucket->manager = kBucket;
      bucket->operation = "Update";
      bucket->subresource.clear();
    }
    bucket->set = Union(managers[i].set, bucket->set);
    bucket->time = managers[i].time;
    gone[i] = true;
    --length;
  }
  std::vector<Manager> kept;
  for (size_t i = 0; i < managers.size(); ++i) {
    if (!gone[i]) kept.push_back(std::move(managers[i]));
  }
  managers = std::move(kept);
}

}  // namespace

void TrackUpdate(const ResourceInfo& info, const json* live, json& updated,
                 const json& request_managed_fields, const ApplyRequest& req) {
  Schema s(info);
  static const json kEmpty = json::object();
  const json& base = live != nullptr ? *live : kEmpty;
  // decodeLiveOrNew(): managedFields the request sets win on the main
  // endpoint; `[{}]` resets them; otherwise the live object's.
  std::vector<Manager> managers;
  bool reset = request_managed_fields.is_array() && request_managed_fields.size() == 1 &&
               request_managed_fields[0].is_object() && request_managed_fields[0].empty();
  if (!reset) {
    std::vector<Manager> from_request;
    if (req.subresource.empty()) from_request = DecodeManagers(request_managed_fields);
    managers = from_request.empty() ? DecodeManagers(ManagedFieldsOf(base)) : from_request;
  }
  // skipNonAppliedManager.Update: an existing object without managedFields
  // stays untracked (creates are tracked: DefaultTrackOnCreateProbability 1).
  if (live != nullptr && managers.empty()) {
    SetManagedFields(updated, managers);
    return;
  }
  Comparison cmp = Compare(s, base, updated);
  FieldSet changed = Union(cmp.modified, cmp.added);
  for (auto& m : managers) m.set = Difference(Difference(m.set, changed), cmp.removed);
  if (!changed.empty()) {
    Manager self{req.manager, "Update", info.GroupVersion(), req.now, req.subresource, {}};
    auto it = std::find_if(managers.begin(), managers.end(),
                           [&](const Manager& m) { return m.Same(self); });
    if (it == managers.end()) {
      self.set = changed;
      managers.push_back(std::move(self));
    } else {
      it->set = Union(it->set, changed);
      it->time = req.now;
    }
  }
  CapUpdateManagers(managers, kMaxUpdateManagers);
  SetManagedFields(updated, managers);
}

}  // namespace drahil::apiserver::internal
