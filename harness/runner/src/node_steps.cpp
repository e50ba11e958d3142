// The node-mode wiring: per-case API server, emulated node, kubelet stand-in
// and driver, plus the step handlers that use them. Compiled only when the
// API server, kubelet, allocator, CDI and fake-node modules are in the build
// (DRAHIL_RUNNER_HAVE_NODE); otherwise those steps stay MissingModule errors.
#include "node_steps.hpp"

#if DRAHIL_RUNNER_HAVE_NODE

#include <filesystem>
#include <cmath>
#include <regex>
#include <set>

#include "drahil/allocator/allocator.hpp"
#include "drahil/apiserver/apiserver.hpp"
#include "drahil/cdi/audit.hpp"
#include "drahil/cdi/registry.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/fakenode/fakenode.hpp"
#include "drahil/kubelet/kubelet.hpp"
#include "drahil/runner/driver_process.hpp"
#include "drahil/sandbox/sandbox.hpp"

namespace drahil::runner {
namespace {

using Json = nlohmann::json;
using std::chrono::milliseconds;

// NodeEnv: what set-up started for one case (ctx.services["node"]).
struct NodeEnv {
  std::unique_ptr<apiserver::ApiServer> api;
  std::unique_ptr<kubelet::KubeletStandIn> kubelet;
  std::string driver;
  std::string node;
  std::string fake_root;
  std::mutex mu;
  std::vector<apiserver::FaultHandle> api_faults;
  std::optional<kubelet::CallResult> last_call;
  std::map<std::string, std::vector<std::string>> cdi_ids;  // claim ns/name → IDs from the last prepare
};

std::shared_ptr<NodeEnv> Env(const CaseContext& ctx) {
  auto it = ctx.services.find("node");
  return it == ctx.services.end() ? nullptr : std::static_pointer_cast<NodeEnv>(it->second);
}

double Ms(Clock::Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

const std::map<std::string, std::string>& Plurals() {
  static const std::map<std::string, std::string> k = {
      {"Namespace", "namespaces"},         {"DeviceClass", "deviceclasses"},
      {"ResourceClaim", "resourceclaims"}, {"ResourceClaimTemplate", "resourceclaimtemplates"},
      {"Pod", "pods"},                     {"DeviceTaintRule", "devicetaintrules"},
      {"ResourceSlice", "resourceslices"}, {"ConfigMap", "configmaps"}};
  return k;
}

// SplitRef(): "ns/name" → (ns, name); "name" → ("default", name).
std::pair<std::string, std::string> SplitRef(const std::string& ref) {
  auto slash = ref.find('/');
  if (slash == std::string::npos) return {"default", ref};
  return {ref.substr(0, slash), ref.substr(slash + 1)};
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

std::string DeviceKind(const std::string& name) {
  if (name.find("-mig-") != std::string::npos) return "mig";
  if (name.find("-vf-") != std::string::npos) return "vf";
  auto dash = name.find('-');
  return dash == std::string::npos ? name : name.substr(0, dash);
}

StepOutcome SetUpNode(CaseContext& ctx, const IntegrationOptions& opts) {
  auto env = std::make_shared<NodeEnv>();
  env->driver = ctx.profile.driver_name;
  env->node = ctx.placeholders["node_name"];
  env->fake_root = ctx.dirs["node_root"];
  ctx.services["node"] = env;
  auto t0 = Clock::Real().Now();

  // 1. The emulated node, when the profile asks for one.
  if (!ctx.profile.node_profile.empty()) {
    std::string path = ctx.profile.node_profile;
    if (path.find('/') == std::string::npos) path = opts.node_profiles_dir + "/" + path + ".yaml";
    auto prof = fakenode::LoadProfile(path);
    if (!prof.ok()) return StepOutcome::FromStatus(prof.status(), "node profile");
    fakenode::CreateOptions co;
    co.node_name = env->node;
    auto st = fakenode::CreateNode(*prof, env->fake_root, co);
    if (!st.ok()) return StepOutcome::FromStatus(st.status(), "create emulated node");
    ctx.Record("node", "create emulated node", "OK", Ms(Clock::Real().Now() - t0), path);
  }

  // 2. The API server, with the Node object and a node-restricted kubeconfig.
  apiserver::ApiServer::Options ao;
  auto api = apiserver::ApiServer::Start(ao);
  if (!api.ok()) return StepOutcome::FromStatus(api.status(), "start API server");
  env->api = std::move(*api);
  ctx.cleanup.Add("stop API server", [env] {
    if (env->api) env->api->Stop();
    return OkStatus();
  });
  Json node = {{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", env->node}}}};
  if (auto n = env->api->Create("nodes", node); !n.ok()) return StepOutcome::FromStatus(n.status(), "create Node");
  std::string kubeconfig = ctx.dirs["state_dir"] + "/kubeconfig";
  std::string token = env->api->IssueNodeToken(env->node, env->driver);
  if (Status s = env->api->WriteKubeconfig(kubeconfig, token); !s.ok()) return StepOutcome::FromStatus(s, "kubeconfig");
  ctx.placeholders["kubeconfig"] = kubeconfig;
  ctx.Record("apiserver", "start", "OK", 0, env->api->url());

  // 3. The kubelet stand-in.
  env->kubelet = std::make_unique<kubelet::KubeletStandIn>();
  kubelet::KubeletStandIn::Options ko;
  ko.state_dir = ctx.dirs["state_dir"] + "/kubelet";
  ko.call_timeout = ctx.profile.timeouts.prepare;
  if (Status s = MakeDirs(ko.state_dir); !s.ok()) return StepOutcome::FromStatus(s, "kubelet state dir");
  std::string registry = opts.attach_registry_dir.empty() ? ctx.dirs["registry_dir"] : opts.attach_registry_dir;
  if (Status s = env->kubelet->Start(registry, ctx.dirs["plugins_dir"], ko); !s.ok()) {
    return StepOutcome::FromStatus(s, "start kubelet stand-in");
  }
  ctx.cleanup.Add("stop kubelet stand-in", [env] {
    if (env->kubelet) env->kubelet->Stop();
    return OkStatus();
  });

  // 4. The driver (not in attach mode), then registration and slices.
  if (opts.attach_registry_dir.empty()) {
    auto d = DriverProcess::StartForCase(ctx);
    if (!d.ok()) return StepOutcome::FromStatus(d.status(), "start driver");
  }
  auto reg_timeout = std::min<milliseconds>(ctx.profile.timeouts.registration,
                                            std::chrono::duration_cast<milliseconds>(ctx.case_deadline - Clock::Real().Now()));
  auto t1 = Clock::Real().Now();
  auto plugin = env->kubelet->WaitForPlugin(env->driver, reg_timeout);
  if (!plugin.ok()) {
    std::string findings;
    for (const auto& f : env->kubelet->Findings()) findings += "\n  " + f.ToString();
    auto d = DriverProcess::FromCase(ctx);
    std::string exit = d && !d->Running() ? " (the driver process has exited; see logs/driver.log)" : "";
    return StepOutcome::Fail("driver \"" + env->driver + "\" did not register within " +
                                 FormatDuration(reg_timeout) + exit + ": " + plugin.status().message() + findings,
                             "Registration");
  }
  ctx.Record("registration", env->driver, "OK", Ms(Clock::Real().Now() - t1),
             plugin->dra_service + (plugin->health_service.empty() ? "" : " + " + plugin->health_service));
  auto t2 = Clock::Real().Now();
  auto slice_deadline = std::min(t2 + ctx.profile.timeouts.slices, ctx.case_deadline);
  while (!PoolsComplete(DriverSlices(*env, env->driver))) {
    if (Clock::Real().Now() >= slice_deadline) {
      return StepOutcome::Fail("driver \"" + env->driver + "\" published no complete ResourceSlice pool within " +
                                   FormatDuration(ctx.profile.timeouts.slices),
                               "Slices");
    }
    if (!ctx.cancel.WaitUntil(std::min(Clock::Real().Now() + milliseconds(50), slice_deadline)) &&
        ctx.cancel.cancelled()) {
      return StepOutcome::Error("interrupted: " + ctx.cancel.reason(), "Interrupted");
    }
  }
  ctx.Record("slices", env->driver, "OK", Ms(Clock::Real().Now() - t2),
             std::to_string(DriverSlices(*env, env->driver).size()) + " slice(s)");
  return StepOutcome::Pass();
}

Result<Inventory> Discover(CaseContext& ctx) {
  auto env = Env(ctx);
  if (!env) return FailedPreconditionError("no node environment");
  Inventory inv;
  for (const auto& s : DriverSlices(*env, env->driver)) {
    const auto& spec = s["spec"];
    if (spec.contains("sharedCounters")) inv.capabilities.insert("partitionable-devices");
    for (const auto& d : spec.value("devices", Json::array())) {
      inv.devices[DeviceKind(d.value("name", ""))]++;
      if (d.contains("taints")) inv.capabilities.insert("device-taints");
      if (d.value("allowMultipleAllocations", false)) inv.capabilities.insert("consumable-capacity");
      if (d.contains("bindingConditions")) inv.capabilities.insert("binding-conditions");
      if (d.contains("consumesCounters")) inv.capabilities.insert("partitionable-devices");
    }
  }
  for (const auto& p : env->kubelet->Plugins()) {
    if (p.name != env->driver) continue;
    for (const auto& v : p.supported_versions) {
      if (v == kubelet::kDraV1Service) inv.capabilities.insert("dra-v1");
      if (v == kubelet::kDraV1beta1Service) inv.capabilities.insert("dra-v1beta1");
    }
    if (!p.health_service.empty()) inv.capabilities.insert("health");
  }
  return inv;
}

#define NEED_ENV                                                                             \
  auto env = Env(ctx);                                                                       \
  if (!env || !env->api) return StepOutcome::Error("no node environment for this case", "NoNode")

class ApplyStep final : public StepHandler {
 public:
  StepOutcome Run(const Step& step, CaseContext& ctx) override {
    NEED_ENV;
    if (step.params.is_object() && (step.params.contains("expect-status") || step.params.contains("expect-reason"))) {
      return StepOutcome::Error("apply expect-status/expect-reason needs the REST path, which is not wired yet",
                                "MissingModule");
    }
    for (const auto& m : step.manifests) {
      auto t0 = Clock::Real().Now();
      auto it = Plurals().find(m.Kind());
      if (it == Plurals().end()) return StepOutcome::Error("cannot apply kind " + m.Kind(), "SuiteError");
      auto r = env->api->Create(it->second, m.object);
      ctx.Record("api", "create " + m.Ref(), r.ok() ? "OK" : std::string(CodeName(r.status().code())),
                 Ms(Clock::Real().Now() - t0));
      if (!r.ok()) return StepOutcome::Error("create " + m.Ref() + " (" + m.where.ToString() + "): " + r.status().message(),
                                             "ApplyFailed");
    }
    return StepOutcome::Pass();
  }
};

class DeleteStep final : public StepHandler {
 public:
  StepOutcome Run(const Step& step, CaseContext& ctx) override {
    NEED_ENV;
    std::string kind = step.params["kind"];
    std::string ns = step.params.value("namespace", "");
    Status s = env->api->Delete(Plurals().at(kind), ns, step.params["name"]);
    ctx.Record("api", "delete " + kind + " " + ns + "/" + step.params["name"].get<std::string>(),
               std::string(CodeName(s.code())), 0);
    return StepOutcome::FromStatus(s, "delete");
  }
};

class AllocateStep final : public StepHandler {
 public:
  StepOutcome Run(const Step& step, CaseContext& ctx) override {
    NEED_ENV;
    std::string ref = step.params.is_string() ? step.params.get<std::string>() : step.params["claim"].get<std::string>();
    std::string expect = step.params.is_object() ? step.params.value("expect", "allocated") : "allocated";
    auto [ns, name] = SplitRef(ref);
    auto claim = env->api->Get("resourceclaims", ns, name);
    if (!claim.ok()) return StepOutcome::Error("allocate " + ref + ": " + claim.status().message(), "SuiteError");
    allocator::Inventory inv;
    inv.slices = env->api->List("resourceslices").value_or(std::vector<Json>{});
    inv.device_classes = env->api->List("deviceclasses").value_or(std::vector<Json>{});
    inv.taint_rules = env->api->List("devicetaintrules").value_or(std::vector<Json>{});
    inv.namespaces = env->api->List("namespaces").value_or(std::vector<Json>{});
    for (auto& c : env->api->List("resourceclaims").value_or(std::vector<Json>{})) {
      if (c.contains("status") && c["status"].contains("allocation")) inv.allocated_claims.push_back(std::move(c));
    }
    allocator::Allocator alloc(std::move(inv));
    auto t0 = Clock::Real().Now();
    auto r = alloc.Allocate({*claim}, allocator::NodeInfo{env->node, {}});
    ctx.Record("allocate", ref, r.ok() ? "OK" : std::string(CodeName(r.status().code())), Ms(Clock::Real().Now() - t0),
               r.ok() ? "" : r.status().message());
    if (!r.ok()) {
      if (expect == "unsatisfiable" && r.status().code() == Code::kResourceExhausted) return StepOutcome::Pass();
      if (r.status().code() == Code::kResourceExhausted) {
        return StepOutcome::Fail("claim " + ref + " cannot be allocated from the driver's slices: " + r.status().message(),
                                 "Unschedulable");
      }
      return StepOutcome::Error("allocate " + ref + ": " + r.status().message(), "AllocatorError");
    }
    if (expect == "unsatisfiable") return StepOutcome::Fail("claim " + ref + " was allocated but should not be", "Allocated");
    Json updated = *claim;
    updated["status"]["allocation"] = (*r)[0];
    updated["status"]["reservedFor"] = Json::array();
    auto u = env->api->UpdateStatus("resourceclaims", updated);
    if (!u.ok()) return StepOutcome::Error("write allocation of " + ref + ": " + u.status().message());
    if (step.params.is_object() && step.params.contains("devices")) {
      size_t want = step.params["devices"];
      size_t got = (*r)[0]["devices"].value("results", Json::array()).size();
      if (want != got) {
        return StepOutcome::Fail("claim " + ref + " got " + std::to_string(got) + " device(s), expected " +
                                 std::to_string(want), "AllocationSize");
      }
    }
    return StepOutcome::Pass();
  }
};

class RawCallStep final : public StepHandler {
 public:
  explicit RawCallStep(bool prepare) : prepare_(prepare) {}
  StepOutcome Run(const Step& step, CaseContext& ctx) override {
    NEED_ENV;
    if (!step.params.contains("claims")) {
      return StepOutcome::Error("prepare/unprepare by pod is not wired yet; list the claims", "MissingModule");
    }
    std::vector<kubelet::ClaimRef> refs;
    std::vector<std::string> names;
    for (const auto& c : step.params["claims"]) {
      auto [ns, name] = SplitRef(c.get<std::string>());
      auto obj = env->api->Get("resourceclaims", ns, name);
      if (!obj.ok()) return StepOutcome::Error("claim " + ns + "/" + name + ": " + obj.status().message(), "SuiteError");
      refs.push_back({ns, (*obj)["metadata"].value("uid", ""), name});
      names.push_back(ns + "/" + name);
    }
    int replay = step.params.value("replay", 1);
    Code want = *ParseCodeName(step.params.value("expect-code", "OK"));
    std::map<std::string, std::vector<std::string>> first_ids;
    for (int i = 1; i <= replay; ++i) {
      kubelet::CallResult r = prepare_ ? env->kubelet->Prepare(env->driver, refs) : env->kubelet->Unprepare(env->driver, refs);
      const auto& rec = r.record;
      ctx.Record("grpc", rec.api + "/" + rec.method, std::string(CodeName(rec.code)),
                 std::chrono::duration<double, std::milli>(rec.latency).count(),
                 rec.grpc_message.empty() ? (r.status.ok() ? "" : r.status.message()) : rec.grpc_message);
      if (prepare_) {
        ctx.Measure({std::string(reports::kPrepareLatency),
                     std::chrono::duration<double, std::milli>(rec.latency).count(), "ms", "", {}});
      }
      std::map<std::string, std::vector<std::string>> ids;
      for (size_t k = 0; k < r.claims.size() && k < names.size(); ++k) {
        for (const auto& d : r.claims[k].devices)
          for (const auto& id : d.cdi_device_ids) ids[names[k]].push_back(id);
      }
      {
        std::lock_guard<std::mutex> l(env->mu);
        env->last_call = r;
        if (prepare_) env->cdi_ids = ids;
      }
      ctx.state["last_grpc_code"] = std::string(CodeName(rec.code));
      Code got = rec.code;
      if (got == Code::kOk && !r.status.ok()) got = r.status.code();
      if (got != want) {
        return StepOutcome::Fail(std::string(prepare_ ? "NodePrepareResources" : "NodeUnprepareResources") +
                                     (replay > 1 ? " (call " + std::to_string(i) + " of " + std::to_string(replay) + ")" : "") +
                                     " returned " + std::string(CodeName(got)) + ", expected " +
                                     std::string(CodeName(want)) + ": " + r.status.message(),
                                 "GrpcCodeMismatch");
      }
      if (prepare_ && want == Code::kOk) {
        if (i == 1) first_ids = ids;
        else if (ids != first_ids) {
          return StepOutcome::Fail("replayed NodePrepareResources (call " + std::to_string(i) +
                                       ") returned different CDI device IDs than the first call; prepare must be idempotent",
                                   "NotIdempotent");
        }
      }
    }
    return StepOutcome::Pass();
  }

 private:
  bool prepare_;
};

bool CompareCount(const std::string& spec, int have, std::string& why) {
  static const std::regex re(R"(\s*(>=|<=|==|>|<|=)?\s*([0-9]+)\s*)");
  std::smatch m;
  if (!std::regex_match(spec, m, re)) {
    why = "bad count \"" + spec + "\" (use e.g. \">=2\")";
    return false;
  }
  std::string op = m[1].str();
  int n = std::stoi(m[2].str());
  bool ok = op == ">=" ? have >= n : op == "<=" ? have <= n : op == ">" ? have > n : op == "<" ? have < n : have == n;
  if (!ok) why = "expected " + (op.empty() ? "==" : op) + std::to_string(n) + ", saw " + std::to_string(have);
  return ok;
}

class ExpectStep final : public StepHandler {
 public:
  StepOutcome Run(const Step& step, CaseContext& ctx) override {
    NEED_ENV;
    const Json& p = step.params;
    for (auto it = p.begin(); it != p.end(); ++it) {
      StepOutcome o = One(it.key(), it.value(), ctx, *env);
      if (!o.passed()) return o;
    }
    return StepOutcome::Pass();
  }

 private:
  // Within(): re-checks until it passes or `within` (bounded by the step
  // deadline) runs out.
  template <typename F>
  StepOutcome Within(const Json& v, CaseContext& ctx, F check) {
    Duration within{0};
    if (v.is_object() && v.contains("within")) within = *ParseDuration(v["within"].get<std::string>());
    auto end = std::min(Clock::Real().Now() + within, ctx.step_deadline);
    for (;;) {
      StepOutcome o = check();
      if (o.passed() || o.verdict != Verdict::kFail || Clock::Real().Now() >= end) {
        if (!o.passed() && within.count() > 0) o.message += " (still after " + FormatDuration(within) + ")";
        return o;
      }
      if (!ctx.cancel.WaitUntil(std::min(Clock::Real().Now() + milliseconds(100), end)) && ctx.cancel.cancelled()) {
        return StepOutcome::Error("interrupted", "Interrupted");
      }
    }
  }

  StepOutcome One(const std::string& key, const Json& v, CaseContext& ctx, NodeEnv& env) {
    if (key == "grpc-code") {
      std::string have = ctx.state.value("last_grpc_code", "");
      if (have.empty()) return StepOutcome::Error("expect grpc-code: no DRA call was made yet", "SuiteError");
      return have == v.get<std::string>() ? StepOutcome::Pass()
                                          : StepOutcome::Fail("last DRA call returned " + have + ", expected " + v.get<std::string>(),
                                                              "GrpcCodeMismatch");
    }
    if (key == "claim-error") {
      std::optional<kubelet::CallResult> last;
      {
        std::lock_guard<std::mutex> l(env.mu);
        last = env.last_call;
      }
      if (!last) return StepOutcome::Error("expect claim-error: no DRA call was made yet", "SuiteError");
      auto [ns, name] = SplitRef(v["claim"].get<std::string>());
      for (const auto& c : last->claims) {
        if (c.claim.namespace_name != ns || c.claim.name != name) continue;
        std::string msg = c.status.ok() ? "" : c.status.message();
        if (v.value("empty", false) && !msg.empty()) return StepOutcome::Fail("claim " + ns + "/" + name + " has error: " + msg, "ClaimError");
        if (v.contains("contains") && msg.find(v["contains"].get<std::string>()) == std::string::npos) {
          return StepOutcome::Fail("claim " + ns + "/" + name + " error \"" + msg + "\" does not contain \"" +
                                   v["contains"].get<std::string>() + "\"", "ClaimError");
        }
        return StepOutcome::Pass();
      }
      return StepOutcome::Fail("the last DRA call had no result for claim " + ns + "/" + name, "ClaimError");
    }
    if (key == "cdi-ids") {
      auto [ns, name] = SplitRef(v["claim"].get<std::string>());
      std::vector<std::string> ids;
      {
        std::lock_guard<std::mutex> l(env.mu);
        ids = env.cdi_ids[ns + "/" + name];
      }
      if (v.contains("count") && ids.size() != v["count"].get<size_t>()) {
        std::string list;
        for (const auto& id : ids) list += (list.empty() ? "" : ", ") + id;
        return StepOutcome::Fail("claim " + ns + "/" + name + " got " + std::to_string(ids.size()) + " CDI device ID(s) [" + list +
                                 "], expected " + std::to_string(v["count"].get<size_t>()), "CdiIds");
      }
      for (const auto& pat : v.value("matches", Json::array())) {
        std::regex re(pat.get<std::string>());
        for (const auto& id : ids)
          if (!std::regex_search(id, re)) return StepOutcome::Fail("CDI ID \"" + id + "\" does not match " + pat.get<std::string>(), "CdiIds");
      }
      // Every ID must resolve in the CDI dir, as the container runtime requires.
      auto reg = cdi::Registry::Load({ctx.dirs["cdi_dir"]});
      if (!reg.ok()) return StepOutcome::FromStatus(reg.status(), "load CDI specs");
      for (const auto& id : ids) {
        auto f = reg->Find(id);
        if (!f.ok()) return StepOutcome::Fail("CDI ID \"" + id + "\" does not resolve in " + ctx.dirs["cdi_dir"] + ": " + f.status().message(), "CdiUnresolved");
      }
      return StepOutcome::Pass();
    }
    if (key == "slices") {
      return Within(v, ctx, [&] {
        std::string driver = v.value("driver", env.driver);
        auto slices = DriverSlices(env, driver);
        if (v.contains("pool")) {
          std::vector<Json> keep;
          for (auto& s : slices)
            if (s["spec"]["pool"].value("name", "") == v["pool"].get<std::string>()) keep.push_back(s);
          slices = keep;
        }
        int devices = 0;
        for (const auto& s : slices) devices += static_cast<int>(s["spec"].value("devices", Json::array()).size());
        if (v.contains("count") && static_cast<int>(slices.size()) != v["count"].get<int>())
          return StepOutcome::Fail(std::to_string(slices.size()) + " slice(s) for " + driver + ", expected " + std::to_string(v["count"].get<int>()), "Slices");
        if (v.contains("devices") && devices != v["devices"].get<int>())
          return StepOutcome::Fail(std::to_string(devices) + " device(s) in the slices, expected " + std::to_string(v["devices"].get<int>()), "Slices");
        if (v.contains("min-devices") && devices < v["min-devices"].get<int>())
          return StepOutcome::Fail(std::to_string(devices) + " device(s) in the slices, expected at least " + std::to_string(v["min-devices"].get<int>()), "Slices");
        if (!PoolsComplete(slices)) return StepOutcome::Fail("the driver's pools are incomplete (resourceSliceCount/generation)", "Slices");
        return StepOutcome::Pass();
      });
    }
    if (key == "claim-status") {
      return Within(v, ctx, [&] {
        auto [ns, name] = SplitRef(v["claim"].get<std::string>());
        auto c = env.api->Get("resourceclaims", ns, name);
        if (!c.ok()) return StepOutcome::Fail("claim " + ns + "/" + name + ": " + c.status().message(), "ClaimStatus");
        Json st = c->value("status", Json::object());
        bool allocated = st.contains("allocation");
        if (v.contains("allocated") && allocated != v["allocated"].get<bool>())
          return StepOutcome::Fail(std::string("claim ") + ns + "/" + name + (allocated ? " is" : " is not") + " allocated", "ClaimStatus");
        if (v.contains("devices")) {
          size_t n = allocated ? st["allocation"]["devices"].value("results", Json::array()).size() : 0;
          if (n != v["devices"].get<size_t>()) return StepOutcome::Fail("claim has " + std::to_string(n) + " allocated device(s)", "ClaimStatus");
        }
        if (v.contains("reserved-for")) {
          size_t n = st.value("reservedFor", Json::array()).size();
          if (n != v["reserved-for"].get<size_t>()) return StepOutcome::Fail("claim is reserved for " + std::to_string(n) + " consumer(s)", "ClaimStatus");
        }
        if (v.contains("condition")) {
          std::string type = v["condition"]["type"], want = v["condition"]["status"];
          std::string have = "absent";
          for (const auto& d : st.value("devices", Json::array()))
            for (const auto& cond : d.value("conditions", Json::array()))
              if (cond.value("type", "") == type) have = cond.value("status", "");
          if (have != want) return StepOutcome::Fail("condition " + type + " is " + have + ", expected " + want, "ClaimStatus");
        }
        return StepOutcome::Pass();
      });
    }
    if (key == "health") {
      return Within(v, ctx, [&] {
        std::string dev = v["device"], want = v["state"];
        auto snap = env.kubelet->Health(env.driver);
        for (const auto& d : snap.devices) {
          if (d.device_name != dev) continue;
          std::string have(kubelet::HealthName(d.effective));
          if (have == want) return StepOutcome::Pass();
          return StepOutcome::Fail("device " + dev + " is " + have + ", expected " + want + (d.message.empty() ? "" : " (" + d.message + ")"), "Health");
        }
        return StepOutcome::Fail("the driver reported no health for device " + dev + (snap.stream_open ? "" : " (no health stream open)"), "Health");
      });
    }
    if (key == "taints") {
      return Within(v, ctx, [&] {
        int n = 0;
        for (const auto& s : DriverSlices(env, env.driver))
          for (const auto& d : s["spec"].value("devices", Json::array())) {
            if (v.contains("device") && d.value("name", "") != v["device"].get<std::string>()) continue;
            for (const auto& t : d.value("taints", Json::array())) {
              if (v.contains("key") && t.value("key", "") != v["key"].get<std::string>()) continue;
              if (v.contains("effect") && v["effect"] != "None" && t.value("effect", "") != v["effect"].get<std::string>()) continue;
              ++n;
            }
          }
        int want = v.value("count", 1);
        if (v.value("effect", "") == "None") want = 0;
        if (n != want) return StepOutcome::Fail(std::to_string(n) + " matching taint(s), expected " + std::to_string(want), "Taints");
        return StepOutcome::Pass();
      });
    }
    if (key == "api-audit") {
      int n = 0;
      for (const auto& e : env.api->AuditLog()) {
        if (v.contains("verb") && e.verb != v["verb"].get<std::string>()) continue;
        if (v.contains("resource") && e.resource != v["resource"].get<std::string>()) continue;
        if (v.contains("user") && e.user != v["user"].get<std::string>()) continue;
        ++n;
      }
      if (v.contains("min") && n < v["min"].get<int>()) return StepOutcome::Fail(std::to_string(n) + " matching API request(s), expected at least " + std::to_string(v["min"].get<int>()), "ApiAudit");
      if (v.contains("max") && n > v["max"].get<int>()) return StepOutcome::Fail(std::to_string(n) + " matching API request(s), expected at most " + std::to_string(v["max"].get<int>()), "ApiAudit");
      return StepOutcome::Pass();
    }
    if (key == "calls") {
      auto calls = env.kubelet->Calls();
      for (auto it = v.begin(); it != v.end(); ++it) {
        int n = 0;
        for (const auto& c : calls) n += c.method == it.key() ? 1 : 0;
        std::string why;
        if (!CompareCount(it.value().get<std::string>(), n, why)) return StepOutcome::Fail(it.key() + " calls: " + why, "Calls");
      }
      return StepOutcome::Pass();
    }
    if (key == "audit") {
      // Audit what the last prepare handed out, as the container would get it.
      std::map<std::string, std::vector<std::string>> ids;
      {
        std::lock_guard<std::mutex> l(env.mu);
        ids = env.cdi_ids;
      }
      if (ids.empty()) return StepOutcome::Error("expect audit: no claim was prepared yet", "SuiteError");
      auto reg = cdi::Registry::Load({ctx.dirs["cdi_dir"]});
      if (!reg.ok()) return StepOutcome::FromStatus(reg.status(), "load CDI specs");
      std::vector<cdi::Finding> findings;
      for (const auto& [claim, list] : ids) {
        auto res = reg->Resolve(list);
        if (!res.ok()) return StepOutcome::Fail("claim " + claim + ": CDI IDs do not resolve: " + res.status().message(), "CdiUnresolved");
        cdi::AuditOptions ao;
        if (!env.fake_root.empty()) ao.device_roots.push_back(env.fake_root + "/dev");
        for (auto& f : cdi::AuditResolution(*res, ao)) findings.push_back(std::move(f));
      }
      std::string text;
      int counted = 0;
      for (const auto& f : findings) {
        if (f.severity != cdi::Severity::kInfo) ++counted;
        text += "\n  " + f.ToString();
      }
      for (const auto& rule : v.value("forbid", Json::array()))
        for (const auto& f : findings)
          if (f.rule == rule.get<std::string>()) return StepOutcome::Fail("CDI audit finding " + f.rule + ":" + text, "CdiAudit");
      if (v.contains("max-findings") && counted > v["max-findings"].get<int>())
        return StepOutcome::Fail(std::to_string(counted) + " CDI audit finding(s) above info, expected at most " +
                                 std::to_string(v["max-findings"].get<int>()) + ":" + text, "CdiAudit");
      if (v.contains("max-severity")) {
        auto worst = cdi::MaxSeverity(findings);
        std::string limit = v["max-severity"];
        if (worst && cdi::SeverityName(*worst) != limit) {
          static const std::vector<std::string> order = {"info", "warning", "high", "critical"};
          auto rank = [&](std::string_view n) { return std::find(order.begin(), order.end(), n) - order.begin(); };
          if (rank(cdi::SeverityName(*worst)) > rank(limit))
            return StepOutcome::Fail("CDI audit found severity " + std::string(cdi::SeverityName(*worst)) + " (limit " + limit + "):" + text, "CdiAudit");
        }
      }
      return StepOutcome::Pass();
    }
    return StepOutcome::Error("expect " + key + " is not wired yet (needs the sandbox/probe or CDI audit integration)", "MissingModule");
  }
};

class NodeInjectStep final : public StepHandler {
 public:
  StepOutcome Run(const Step& step, CaseContext& ctx) override {
    NEED_ENV;
    const Json& p = step.params;
    auto t0 = Clock::Real().Now();
    if (p.contains("device-fault")) {
      const Json& f = p["device-fault"];
      std::string dev = f["device"], kind = f["fault"];
      if (kind == "clear") {
        Status s = fakenode::ClearFaults(env->fake_root, dev);
        ctx.Record("inject", "clear faults " + dev, std::string(CodeName(s.code())), Ms(Clock::Real().Now() - t0));
        return StepOutcome::FromStatus(s, "clear faults");
      }
      std::string spec = kind == "xid" ? "xid:" + std::to_string(f.value("xid", 79)) : kind;
      auto r = fakenode::InjectFault(env->fake_root, dev, spec);
      ctx.Record("inject", "device " + dev + " " + spec, r.ok() ? "OK" : r.status().ToString(), Ms(Clock::Real().Now() - t0));
      return StepOutcome::FromStatus(r.status(), "inject device fault");
    }
    if (p.contains("api-fault")) {
      const Json& f = p["api-fault"];
      std::string type = f["type"];
      if (type == "clear") {
        std::lock_guard<std::mutex> l(env->mu);
        env->api_faults.clear();
      } else if (type == "drop-watch") {
        int n = env->api->DropWatches();
        ctx.Record("inject", "drop watches", std::to_string(n) + " dropped", 0);
        return StepOutcome::Pass();
      } else {
        apiserver::FaultRule rule;
        rule.verb = f.value("verb", "");
        rule.path_regex = f.value("path", "");
        rule.times = f.value("times", -1);
        if (type == "status") rule.code = f.value("status", 503);
        if (type == "latency") {
          rule.code = 0;
          rule.latency = *ParseDuration(f.value("latency", "1s"));
        }
        std::lock_guard<std::mutex> l(env->mu);
        env->api_faults.push_back(env->api->InjectFault(rule));
      }
      ctx.Record("inject", "api " + type, "OK", 0, f.dump());
      return StepOutcome::Pass();
    }
    if (p.contains("reboot")) {
      // "Reboot": the CDI dir is a tmpfs on real nodes, so it is wiped; the
      // driver restarts; the kubelet restarts and replays NodePrepareResources
      // for the pods it had checkpointed.
      auto d = DriverProcess::FromCase(ctx);
      if (d) d->Terminate();
      auto names = ListDir(ctx.dirs["cdi_dir"]);
      if (names.ok())
        for (const auto& n : *names) (void)RemoveAll(ctx.dirs["cdi_dir"] + "/" + n);
      if (d) {
        if (Status s = d->Restart(); !s.ok()) return StepOutcome::FromStatus(s, "reboot: restart driver");
      }
      auto r = env->kubelet->Restart(true, std::chrono::duration_cast<milliseconds>(ctx.profile.timeouts.registration));
      ctx.Record("inject", "reboot", r.status.ok() ? "OK" : r.status.ToString(), Ms(Clock::Real().Now() - t0));
      if (!r.status.ok()) return StepOutcome::Fail("after reboot the kubelet's replay failed: " + r.status.message(), "Reboot");
      return StepOutcome::Pass();
    }
    return others_ ? others_->Run(step, ctx) : StepOutcome::Error("unsupported fault", "SuiteError");
  }
  std::shared_ptr<StepHandler> others_;
};

// RunPodStep: the kubelet's pod flow without a container runtime: allocate
// the pod's claims if the scheduler has not, PreparePod, run each
// container's command (the probe) in the sandbox with the CDI edits of its
// claims, read the probe's drahil.probe/v1 report, UnpreparePod.
class RunPodStep final : public StepHandler {
 public:
  explicit RunPodStep(std::shared_ptr<StepHandler> allocate) : allocate_(std::move(allocate)) {}

  StepOutcome Run(const Step& step, CaseContext& ctx) override {
    NEED_ENV;
    std::string ref = step.params.is_string() ? step.params.get<std::string>() : step.params["pod"].get<std::string>();
    Json opts = step.params.is_object() ? step.params : Json::object();
    auto [ns, name] = SplitRef(ref);
    auto pod = env->api->Get("pods", ns, name);
    if (!pod.ok()) return StepOutcome::Error("run-pod " + ref + ": " + pod.status().message(), "SuiteError");
    const Json& spec = (*pod)["spec"];

    kubelet::Pod kp;
    kp.namespace_name = ns;
    kp.name = name;
    kp.uid = (*pod)["metadata"].value("uid", "");
    std::map<std::string, std::string> claim_of;  // pod claim name → ns/claim
    for (const auto& pc : spec.value("resourceClaims", Json::array())) {
      std::string cname = pc.value("resourceClaimName", "");
      if (cname.empty()) {
        return StepOutcome::Error("run-pod " + ref + ": resourceClaimTemplateName is not supported yet; use a ResourceClaim",
                                  "MissingModule");
      }
      auto claim = env->api->Get("resourceclaims", ns, cname);
      if (!claim.ok()) return StepOutcome::Error("pod claim " + cname + ": " + claim.status().message(), "SuiteError");
      if (!(*claim).contains("status") || !(*claim)["status"].contains("allocation")) {
        Step alloc;
        alloc.kind = "allocate";
        alloc.params = ns + "/" + cname;
        alloc.where = step.where;
        StepOutcome o = allocate_->Run(alloc, ctx);
        if (!o.passed()) return o;
        claim = env->api->Get("resourceclaims", ns, cname);
        if (!claim.ok()) return StepOutcome::FromStatus(claim.status(), "reload claim");
      }
      kubelet::PodClaim c;
      c.name = pc.value("name", "");
      c.claim = {ns, (*claim)["metadata"].value("uid", ""), cname};
      std::set<std::string> drivers;
      for (const auto& r : (*claim)["status"]["allocation"]["devices"].value("results", Json::array()))
        drivers.insert(r.value("driver", ""));
      c.drivers.assign(drivers.begin(), drivers.end());
      kp.claims.push_back(c);
      claim_of[c.name] = ns + "/" + cname;
    }
    for (const auto& ct : spec.value("containers", Json::array())) {
      kubelet::Container c;
      c.name = ct.value("name", "");
      for (const auto& rc : ct.value("resources", Json::object()).value("claims", Json::array()))
        c.claims.push_back({rc.value("name", ""), rc.value("request", "")});
      kp.containers.push_back(c);
    }

    auto t0 = Clock::Real().Now();
    kubelet::PodResult prep = env->kubelet->PreparePod(kp);
    std::map<std::string, std::vector<kubelet::Device>> devices;  // ns/claim → devices
    for (const auto& call : prep.calls) {
      ctx.Record("grpc", call.record.api + "/" + call.record.method, std::string(CodeName(call.record.code)),
                 std::chrono::duration<double, std::milli>(call.record.latency).count(), call.status.ok() ? "" : call.status.message());
      ctx.Measure({std::string(reports::kPrepareLatency),
                   std::chrono::duration<double, std::milli>(call.record.latency).count(), "ms", "", {}});
      for (const auto& cr : call.claims)
        for (const auto& d : cr.devices) devices[cr.claim.namespace_name + "/" + cr.claim.name].push_back(d);
    }
    if (!prep.status.ok()) {
      return StepOutcome::Fail("preparing pod " + ref + " failed: " + prep.status.message(), "PrepareFailed");
    }
    bool keep = opts.value("keep-prepared", false);
    if (!keep) {
      ctx.cleanup.Add("unprepare pod " + ref, [env, uid = kp.uid] {
        auto r = env->kubelet->UnpreparePod(uid);
        return r.status;
      });
    }

    StepOutcome result = StepOutcome::Pass();
    for (const auto& ct : spec.value("containers", Json::array())) {
      StepOutcome o = RunContainer(ctx, *env, ref, ct, claim_of, devices, opts);
      if (!o.passed()) {
        result = o;
        break;
      }
    }
    ctx.Record("pod", ref, std::string(reports::VerdictName(result.verdict)), Ms(Clock::Real().Now() - t0));
    return result;
  }

 private:
  StepOutcome RunContainer(CaseContext& ctx, NodeEnv& env, const std::string& pod, const Json& ct,
                           const std::map<std::string, std::string>& claim_of,
                           std::map<std::string, std::vector<kubelet::Device>>& devices, const Json& opts) {
    std::string cname = ct.value("name", "");
    std::vector<std::string> ids;
    for (const auto& rc : ct.value("resources", Json::object()).value("claims", Json::array())) {
      auto it = claim_of.find(rc.value("name", ""));
      if (it == claim_of.end()) continue;
      std::string request = rc.value("request", "");
      for (const auto& d : devices[it->second]) {
        bool serves = request.empty() || d.request_names.empty() ||
                      std::find(d.request_names.begin(), d.request_names.end(), request) != d.request_names.end();
        if (serves) ids.insert(ids.end(), d.cdi_device_ids.begin(), d.cdi_device_ids.end());
      }
    }
    auto reg = cdi::Registry::Load({ctx.dirs["cdi_dir"]});
    if (!reg.ok()) return StepOutcome::FromStatus(reg.status(), "load CDI specs");
    auto res = reg->Resolve(ids);
    if (!res.ok()) {
      return StepOutcome::Fail("container " + cname + ": the driver's CDI IDs do not resolve: " + res.status().message(),
                               "CdiUnresolved");
    }
    sandbox::SandboxSpec sb;
    for (const auto& a : ct.value("command", Json::array())) sb.argv.push_back(a.get<std::string>());
    for (const auto& a : ct.value("args", Json::array())) sb.argv.push_back(a.get<std::string>());
    if (sb.argv.empty()) return StepOutcome::Error("container " + cname + " has no command (pods run their probe)", "SuiteError");
    // A probe named without a path is the one built next to drahil.
    if (sb.argv[0].find('/') == std::string::npos && ctx.placeholders.count("bin_dir")) {
      std::string local = ctx.placeholders["bin_dir"] + "/" + sb.argv[0];
      if (PathExists(local)) sb.argv[0] = local;
    }
    for (const auto& a : ctx.profile.probe.args) sb.argv.push_back(a);
    for (const auto& e : ct.value("env", Json::array()))
      if (e.contains("value")) sb.env[e.value("name", "")] = e["value"].get<std::string>();
    if (!env.fake_root.empty() && !ctx.profile.node_profile.empty()) {
      std::string lib = ctx.placeholders["lib_dir"];
      sb.env["DRAHIL_FAKE_ROOT"] = env.fake_root;
      sb.env["DRAHIL_NVML_LIBRARY"] = lib + "/fake-nvml/libnvidia-ml.so.1";
      sb.env["DRAHIL_GPURT_LIBRARY"] = lib + "/libdrahil-gpurt.so";
      sb.fake_root = env.fake_root;
    }
    sb.edits = res->edits;
    sb.timeout = std::chrono::duration_cast<milliseconds>(ctx.Remaining());
    auto t0 = Clock::Real().Now();
    auto r = sandbox::Sandbox::Run(sb);
    if (!r.ok()) {
      if (r.status().code() == Code::kUnavailable) return StepOutcome::Skip("sandbox unavailable: " + r.status().message());
      return StepOutcome::FromStatus(r.status(), "run container " + cname);
    }
    ctx.Record("probe", pod + "/" + cname + ": " + sb.argv[0], r->exit.Describe(), Ms(Clock::Real().Now() - t0),
               r->stderr_text.substr(0, 2000));
    if (r->timed_out) return StepOutcome::Fail("container " + cname + " did not finish before the step deadline", "ProbeTimeout");

    std::string verdict = r->exit.success() ? "pass" : "fail";
    Json report;
    if (!r->result_json.empty()) {
      try {
        report = Json::parse(r->result_json);
        verdict = report.value("verdict", verdict);
      } catch (const std::exception&) {
        return StepOutcome::Error("container " + cname + " wrote a result that is not JSON", "ProbeOutput");
      }
      std::string device = cname;
      if (report.contains("devices") && report["devices"].is_array() && !report["devices"].empty() &&
          report["devices"][0].is_object()) {
        device = report["devices"][0].value("uuid", report["devices"][0].value("name", cname));
      }
      for (const auto& c : report.value("checks", Json::array())) {
        for (const auto& m : c.value("measurements", Json::array())) {
          std::string unit = m.value("unit", "");
          double v = m.value("value", 0.0);
          ctx.Measure({"probe." + c.value("name", "") + "." + m.value("name", ""), v, unit, device, {{"container", cname}}});
          if (unit == "GB/s") ctx.Measure({std::string(reports::kProbeBandwidth), v, unit, device, {{"check", c.value("name", "")}}});
        }
      }
    }
    if (opts.contains("expect-exit") && (r->exit.signaled || r->exit.exit_code != opts["expect-exit"].get<int>())) {
      return StepOutcome::Fail("container " + cname + " ended with " + r->exit.Describe() + ", expected exit code " +
                               std::to_string(opts["expect-exit"].get<int>()), "ExitCode");
    }
    std::string want = opts.value("expect-probe", "pass");
    if (verdict == "error" || verdict == "skip") {
      return StepOutcome::Error("probe in container " + cname + " could not run (" + verdict + "): " + Findings(report, r->stderr_text), "ProbeError");
    }
    if (verdict != want) {
      return StepOutcome::Fail("probe in container " + cname + " reported " + verdict + ", expected " + want + ": " +
                               Findings(report, r->stderr_text), "ProbeVerdict");
    }
    for (const auto& check : opts.value("values", Json::array())) {
      StepOutcome o = CheckValue(check, report);
      if (!o.passed()) return o;
    }
    return StepOutcome::Pass();
  }

  static std::string Findings(const Json& report, const std::string& stderr_text) {
    std::string out;
    for (const auto& c : report.value("checks", Json::array())) {
      if (c.value("verdict", "pass") == "pass") continue;
      out += "\n  " + c.value("name", "") + ": " + c.value("verdict", "") + " " + c.value("summary", "");
      for (const auto& f : c.value("findings", Json::array())) out += "\n    " + f.get<std::string>();
    }
    if (out.empty()) out = stderr_text.substr(0, 2000);
    return out;
  }

  static StepOutcome CheckValue(const Json& check, const Json& report) {
    std::string name = check["name"];
    std::optional<double> have;
    for (const auto& c : report.value("checks", Json::array()))
      for (const auto& m : c.value("measurements", Json::array()))
        if (m.value("name", "") == name || c.value("name", "") + "." + m.value("name", "") == name) have = m.value("value", 0.0);
    if (!have) return StepOutcome::Fail("the probe reported no value \"" + name + "\"", "ProbeValue");
    double tol = check.value("tolerance", 0.0);
    if (check.contains("equals") && std::abs(*have - check["equals"].get<double>()) > tol)
      return StepOutcome::Fail(name + " = " + std::to_string(*have) + ", expected " + std::to_string(check["equals"].get<double>()) + " ± " + std::to_string(tol), "ProbeValue");
    if (check.contains("min") && *have < check["min"].get<double>() - tol)
      return StepOutcome::Fail(name + " = " + std::to_string(*have) + ", expected at least " + std::to_string(check["min"].get<double>()), "ProbeValue");
    if (check.contains("max") && *have > check["max"].get<double>() + tol)
      return StepOutcome::Fail(name + " = " + std::to_string(*have) + ", expected at most " + std::to_string(check["max"].get<double>()), "ProbeValue");
    return StepOutcome::Pass();
  }

  std::shared_ptr<StepHandler> allocate_;
};

}  // namespace

bool InstallNodeIntegration(StepRegistry& steps, EngineHooks& hooks, const IntegrationOptions& opts) {
  hooks.set_up_case = [opts](CaseContext& ctx) { return SetUpNode(ctx, opts); };
  hooks.discover = [](CaseContext& ctx) { return Discover(ctx); };
  steps.Register("apply", std::make_shared<ApplyStep>());
  steps.Register("delete", std::make_shared<DeleteStep>());
  auto allocate = std::make_shared<AllocateStep>();
  steps.Register("allocate", allocate);
  steps.Register("run-pod", std::make_shared<RunPodStep>(allocate));
  steps.Register("prepare", std::make_shared<RawCallStep>(true));
  steps.Register("unprepare", std::make_shared<RawCallStep>(false));
  steps.Register("expect", std::make_shared<ExpectStep>());
  auto inject = std::make_shared<NodeInjectStep>();
  // Driver process faults stay with the driver handler; the rest come here.
  steps.Register("inject", MakeDriverInjectStep(inject));
  return true;
}

}  // namespace drahil::runner

#else  // !DRAHIL_RUNNER_HAVE_NODE

namespace drahil::runner {
bool InstallNodeIntegration(StepRegistry&, EngineHooks&, const IntegrationOptions&) { return false; }
}  // namespace drahil::runner

#endif
