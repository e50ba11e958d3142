// AllocationResults as kube-scheduler writes them: results, shareIDs,
// config, node selector and allocationTimestamp.
#include <cstdio>
#include <set>

#include "drahil/core/clock.hpp"
#include "quantity_util.hpp"
#include "search.hpp"

namespace drahil::allocator::internal {
namespace {

std::string ShareId(const std::string& seed, const ClaimState& cs, const std::string& request,
                    const std::string& device, size_t index) {
  std::string key = seed + "\x1f" + cs.ns + "\x1f" + cs.name + "\x1f" + cs.uid + "\x1f" + request +
                    "\x1f" + device + "\x1f" + std::to_string(index);
  auto fnv = [&](uint64_t h) {
    for (unsigned char c : key) {
      h ^= c;
      h *= 1099511628211ull;
    }
    return h;
  };
  uint64_t a = fnv(14695981039346656037ull), b = fnv(a ^ 0x9e3779b97f4a7c15ull);
  // Format as an RFC 4122 version-4 UUID, as a generated UID looks.
  a = (a & 0xffffffffffff0fffull) | 0x0000000000004000ull;
  b = (b & 0x3fffffffffffffffull) | 0x8000000000000000ull;
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xffff),
                static_cast<unsigned>(b >> 48),
                static_cast<unsigned long long>(b & 0xffffffffffffull));
  return buf;
}

// AddRequirement(): appends req unless `to` has one with the same key,
// operator and set of values.
void AddRequirement(const Json& req, Json& to) {
  auto values = [](const Json& r) {
    std::set<std::string> out;
    const Json& v = Field(r, "values");
    for (size_t i = 0; v.is_array() && i < v.size(); ++i)
      out.insert(v[i].is_string() ? v[i].get<std::string>() : v[i].dump());
    return out;
  };
  for (const auto& have : to) {
    if (Str(have, "key") == Str(req, "key") && Str(have, "operator") == Str(req, "operator") &&
        values(have) == values(req)) {
      return;
    }
  }
  to.push_back(req);
}

// AddSelectorTerms(): the requirements of a device's node selector, added
// to the allocation's one term.
Status AddSelectorTerms(const DeviceInfo& dev, Json& term) {
  const Json& terms = Field(dev.node_selector, "nodeSelectorTerms");
  if (terms.size() > 1) {
    return InvalidArgumentError("device " + dev.Id() + ": a node selector with " +
                                std::to_string(terms.size()) +
                                " terms cannot go into an allocation (one term at most)");
  }
  for (const auto& t : terms) {
    for (const char* kind : {"matchFields", "matchExpressions"}) {
      const Json& reqs = Field(t, kind);
      for (size_t i = 0; reqs.is_array() && i < reqs.size(); ++i)
        AddRequirement(reqs[i], term[kind]);
    }
  }
  return OkStatus();
}

// SetNodeSelector(): a node-local allocation selects this node by name;
// otherwise the collected term, when it has requirements.
void SetNodeSelector(bool node_local, const std::string& node_name, Json& term, Json& alloc) {
  if (node_local) {
    alloc["nodeSelector"] = {
        {"nodeSelectorTerms",
         Json::array({{{"matchFields", Json::array({{{"key", "metadata.name"},
                                                     {"operator", "In"},
                                                     {"values", Json::array({node_name})}}})}}})}};
  } else if (!term["matchFields"].empty() || !term["matchExpressions"].empty()) {
    if (term["matchFields"].empty()) term.erase("matchFields");
    if (term["matchExpressions"].empty()) term.erase("matchExpressions");
    alloc["nodeSelector"] = {{"nodeSelectorTerms", Json::array({term})}};
  }
}

}  // namespace

// ResultEntry(): the devices.results entry of pick p; *binding becomes true
// when the device has binding conditions.
Json Search::ResultEntry(const Pick& p, const ClaimState& cs, size_t* share_index,
                         bool* binding) const {
  const Alt& alt = requests_[p.request].alts[p.alt];
  const DeviceInfo& dev = Dev(p.device);
  Json r = {{"request", alt.result_name},
            {"driver", dev.driver},
            {"pool", dev.pool},
            {"device", dev.name}};
  if (alt.admin) r["adminAccess"] = true;
  if (alt.tolerations.is_array() && !alt.tolerations.empty()) r["tolerations"] = alt.tolerations;
  const Json& bc = Field(dev.json, "bindingConditions");
  const Json& bfc = Field(dev.json, "bindingFailureConditions");
  if (bc.is_array() && !bc.empty()) {
    r["bindingConditions"] = bc;
    *binding = true;
  }
  if (bfc.is_array() && !bfc.empty()) r["bindingFailureConditions"] = bfc;
  if (dev.multi) {
    r["shareID"] =
        ShareId(impl_.opts.share_id_seed, cs, alt.result_name, dev.Id(), (*share_index)++);
    Json cc = Json::object();
    for (const auto& [ci, amt] : p.consumed)
      cc[dev.capacity[ci].key] = FormatNanos(amt, dev.capacity[ci].format);
    r["consumedCapacity"] = cc;
  }
  return r;
}

// ClaimConfig(): class configuration first (per request, in request order),
// then the claim's own, as the scheduler writes them.
Json Search::ClaimConfig(size_t claim_index, const ClaimState& cs) const {
  Json config = Json::array();
  for (size_t ri = 0; ri < requests_.size(); ++ri) {
    const Request& req = requests_[ri];
    if (req.claim != static_cast<int>(claim_index)) continue;
    const Alt& alt = req.alts[chosen_alt_[ri]];
    if (!alt.cls) continue;
    const Json& cfgs = Field(Field(*alt.cls->json, "spec"), "config");
    if (!cfgs.is_array()) continue;
    for (const auto& c : cfgs) {
      Json e = {{"source", "FromClass"}, {"requests", Json::array({alt.result_name})}};
      for (const auto& [k, v] : c.items()) e[k] = v;
      config.push_back(std::move(e));
    }
  }
  const Json& claim_cfgs = Field(Field(Field(*cs.claim, "spec"), "devices"), "config");
  if (claim_cfgs.is_array()) {
    for (const auto& c : claim_cfgs) {
      Json e = {{"source", "FromClaim"}};
      for (const auto& [k, v] : c.items()) e[k] = v;
      config.push_back(std::move(e));
    }
  }
  return config;
}

Result<Json> Search::BuildAllocation(size_t claim_index) {
  const ClaimState& cs = claims_[claim_index];
  Json results = Json::array();
  bool node_local = false;
  // One term that collects the requirements of every device's node
  // selector, without repeats (createNodeSelector() in allocator_stable.go).
  Json term = {{"matchFields", Json::array()}, {"matchExpressions", Json::array()}};
  bool binding = false;
  size_t share_index = 0;
  for (const Pick& p : picks_) {
    const Request& req = requests_[p.request];
    if (req.claim != static_cast<int>(claim_index)) continue;
    const DeviceInfo& dev = Dev(p.device);
    results.push_back(ResultEntry(p, cs, &share_index, &binding));
    if (dev.node_kind == DeviceInfo::NodeKind::kNodeName || dev.binds_to_node) node_local = true;
    if (dev.node_kind == DeviceInfo::NodeKind::kSelector)
      DRAHIL_RETURN_IF_ERROR(AddSelectorTerms(dev, term));
  }
  // The limit again on the result: an All request counted 1 before the
  // search (allocator_stable.go checks the allocation too).
  if (results.size() > static_cast<size_t>(kAllocationResultsMaxSize)) {
    return ResourceExhaustedError("claim " + cs.ns + "/" + cs.name +
                                  ": number of requested devices " +
                                  std::to_string(results.size()) + " exceeds the claim limit of " +
                                  std::to_string(kAllocationResultsMaxSize));
  }
  Json config = ClaimConfig(claim_index, cs);
  // Moved, not copied in initializer lists: a pod's claims are built one
  // after the other and each result array is copied twice otherwise.
  Json devices = Json::object();
  devices["results"] = std::move(results);
  if (!config.empty()) devices["config"] = std::move(config);
  Json alloc = Json::object();
  alloc["devices"] = std::move(devices);
  SetNodeSelector(node_local, node_.name, term, alloc);
  if (binding) {
    auto now = impl_.opts.now ? impl_.opts.now() : std::chrono::system_clock::now();
    alloc["allocationTimestamp"] = FormatRfc3339(now);
  }
  return alloc;
}

}  // namespace drahil::allocator::internal
