#include "node_env.hpp"

#include "drahil/core/file_util.hpp"

namespace drahil::node {

std::optional<NodeEnv::Usage> DriverUsage(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  NodeEnv::Usage u;
  auto fds = ListDir("/proc/" + std::to_string(pid) + "/fd");
  if (!fds.ok()) return std::nullopt;
  u.fds = static_cast<int>(fds->size());
  auto status = ReadFile("/proc/" + std::to_string(pid) + "/status");
  if (!status.ok()) return std::nullopt;
  auto at = status->find("VmRSS:");
  if (at != std::string::npos) u.rss_kib = std::strtoll(status->c_str() + at + 6, nullptr, 10);
  return u;
}

std::shared_ptr<NodeEnv> Env(const CaseContext& ctx) { return ctx.Node(); }

double Ms(Clock::Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

const std::map<std::string, std::string>& Plurals() {
  static const std::map<std::string, std::string> k = {
      {"Namespace", "namespaces"},
      {"DeviceClass", "deviceclasses"},
      {"ResourceClaim", "resourceclaims"},
      {"ResourceClaimTemplate", "resourceclaimtemplates"},
      {"Pod", "pods"},
      {"DeviceTaintRule", "devicetaintrules"},
      {"ResourceSlice", "resourceslices"},
      {"ConfigMap", "configmaps"}};
  return k;
}

// SplitRef(): "ns/name" → (ns, name); "name" → ("default", name).
std::pair<std::string, std::string> SplitRef(const std::string& ref) {
  auto slash = ref.find('/');
  if (slash == std::string::npos) return {"default", ref};
  return {ref.substr(0, slash), ref.substr(slash + 1)};
}

allocator::NodeInfo NodeInfoOf(NodeEnv& env) {
  auto node = env.api->Get("nodes", "", env.node);
  if (!node.ok()) return allocator::NodeInfo{env.node, {}};
  return allocator::NodeInfo::FromJson(*node);
}

std::vector<Json> DriverSlices(NodeEnv& env, const std::string& driver) {
  std::vector<Json> out;
  auto all = env.api->List("resourceslices");
  if (!all.ok()) return out;
  for (auto& s : *all) {
    if (s.contains("spec") && s["spec"].value("driver", "") == driver) out.push_back(std::move(s));
  }
  return out;
}

// PoolsComplete(): every pool has as many slices as its resourceSliceCount
// says, at its highest generation (what the scheduler waits for).
bool PoolsComplete(const std::vector<Json>& slices) {
  if (slices.empty()) return false;
  std::map<std::string, std::pair<int64_t, int64_t>> want;  // pool → (generation, count)
  std::map<std::string, int64_t> have;
  for (const auto& s : slices) {
    const auto& pool = s["spec"]["pool"];
    std::string name = pool.value("name", "");
    int64_t gen = pool.value("generation", 0);
    auto& w = want[name];
    if (gen > w.first) {
      w = {gen, pool.value("resourceSliceCount", 1)};
      have[name] = 0;
    }
    if (gen == w.first) ++have[name];
  }
  for (const auto& [pool, w] : want)
    if (have[pool] != w.second) return false;
  return true;
}

// PodClaims(): the pod's claims as (pod claim name, ResourceClaim name). A
// claim from a ResourceClaimTemplate is created the way the resourceclaim
// controller does (name <pod>-<podClaim>-<suffix>, annotation
// resource.kubernetes.io/pod-claim-name, owned by the pod) and recorded in
// pod.status.resourceClaimStatuses; later calls reuse it.
Result<std::vector<std::pair<std::string, std::string>>> PodClaims(CaseContext& ctx, NodeEnv& env,
                                                                   const std::string& ns,
                                                                   const std::string& pod_name) {
  DRAHIL_ASSIGN_OR_RETURN(Json pod, env.api->Get("pods", ns, pod_name));
  std::vector<std::pair<std::string, std::string>> out;
  std::map<std::string, std::string> generated;
  for (const auto& st :
       pod.value("status", Json::object()).value("resourceClaimStatuses", Json::array()))
    generated[st.value("name", "")] = st.value("resourceClaimName", "");
  bool changed = false;
  for (const auto& pc : pod["spec"].value("resourceClaims", Json::array())) {
    std::string pc_name = pc.value("name", "");
    if (pc.contains("resourceClaimName")) {
      out.emplace_back(pc_name, pc["resourceClaimName"].get<std::string>());
      continue;
    }
    std::string tmpl = pc.value("resourceClaimTemplateName", "");
    if (tmpl.empty())
      return InvalidArgumentError("pod " + ns + "/" + pod_name + " claim " + pc_name +
                                  " names no claim or template");
    if (auto it = generated.find(pc_name); it != generated.end() && !it->second.empty()) {
      out.emplace_back(pc_name, it->second);
      continue;
    }
    auto t = env.api->Get("resourceclaimtemplates", ns, tmpl);
    if (!t.ok())
      return Status(t.status().code(), "pod " + ns + "/" + pod_name + " claim " + pc_name +
                                           ": template " + tmpl + ": " + t.status().message());
    static std::atomic<unsigned> seq{0};
    char suffix[8];
    std::snprintf(suffix, sizeof suffix, "%05x", (++seq * 2654435761u) & 0xfffffu);
    Json claim = {{"apiVersion", "resource.k8s.io/v1"},
                  {"kind", "ResourceClaim"},
                  {"metadata",
                   {{"name", (pod_name + "-" + pc_name).substr(0, 57) + "-" + suffix},
                    {"namespace", ns},
                    {"annotations", {{"resource.kubernetes.io/pod-claim-name", pc_name}}},
                    {"ownerReferences", Json::array({{{"apiVersion", "v1"},
                                                      {"kind", "Pod"},
                                                      {"name", pod_name},
                                                      {"uid", pod["metadata"].value("uid", "")},
                                                      {"controller", true},
                                                      {"blockOwnerDeletion", true}}})}}},
                  {"spec", (*t)["spec"].value("spec", Json::object())}};
    if ((*t)["spec"].contains("metadata")) {
      const Json& tm = (*t)["spec"]["metadata"];
      for (const auto& key : {"labels", "annotations"})
        if (tm.contains(key)) claim["metadata"][key].update(tm[key]);
    }
    DRAHIL_ASSIGN_OR_RETURN(Json created, env.api->Create("resourceclaims", claim));
    env.Created("resourceclaims", created);
    std::string cname = created["metadata"]["name"];
    ctx.Record("api", "create ResourceClaim " + ns + "/" + cname, "OK", 0, "from template " + tmpl);
    generated[pc_name] = cname;
    out.emplace_back(pc_name, cname);
    changed = true;
  }
  if (changed) {
    Json st = Json::array();
    for (const auto& [n, c] : generated) st.push_back({{"name", n}, {"resourceClaimName", c}});
    pod["status"]["resourceClaimStatuses"] = st;
    DRAHIL_RETURN_IF_ERROR(env.api->UpdateStatus("pods", pod).status());
  }
  return out;
}

kubelet::KubeletStandIn::CallOptions StepCallOptions(const CaseContext& ctx) {
  kubelet::KubeletStandIn::CallOptions call;
  // ctx.Remaining() is the step's time left, which never outlasts the case's.
  call.max_timeout = std::chrono::duration_cast<milliseconds>(ctx.Remaining());
  return call;
}

bool CompareCount(const std::string& spec, int have, std::string& why) {
  static const std::regex re(R"(\s*(>=|<=|==|>|<|=)?\s*([0-9]+)\s*)");
  std::smatch m;
  if (!std::regex_match(spec, m, re)) {
    why = "bad count \"" + spec + "\" (use e.g. \">=2\")";
    return false;
  }
  std::string op = m[1].str();
  int n = std::stoi(m[2].str());
  bool ok = op == ">="   ? have >= n
            : op == "<=" ? have <= n
            : op == ">"  ? have > n
            : op == "<"  ? have < n
                         : have == n;
  if (!ok)
    why = "expected " + (op.empty() ? "==" : op) + std::to_string(n) + ", saw " +
          std::to_string(have);
  return ok;
}

StepOutcome CheckProbeValue(const Json& check, const Json& report) {
  std::string name = check["name"];
  std::optional<double> have;
  for (const auto& c : report.value("checks", Json::array()))
    for (const auto& m : c.value("measurements", Json::array()))
      if (m.value("name", "") == name || c.value("name", "") + "." + m.value("name", "") == name)
        have = m.value("value", 0.0);
  if (!have) return StepOutcome::Fail("the probe reported no value \"" + name + "\"", "ProbeValue");
  double tol = check.value("tolerance", 0.0);
  if (check.contains("equals") && std::abs(*have - check["equals"].get<double>()) > tol)
    return StepOutcome::Fail(name + " = " + std::to_string(*have) + ", expected " +
                                 std::to_string(check["equals"].get<double>()) + " ± " +
                                 std::to_string(tol),
                             "ProbeValue");
  if (check.contains("min") && *have < check["min"].get<double>() - tol)
    return StepOutcome::Fail(name + " = " + std::to_string(*have) + ", expected at least " +
                                 std::to_string(check["min"].get<double>()),
                             "ProbeValue");
  if (check.contains("max") && *have > check["max"].get<double>() + tol)
    return StepOutcome::Fail(name + " = " + std::to_string(*have) + ", expected at most " +
                                 std::to_string(check["max"].get<double>()),
                             "ProbeValue");
  return StepOutcome::Pass();
}

}  // namespace drahil::node
