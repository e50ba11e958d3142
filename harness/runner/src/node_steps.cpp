// The node-mode wiring: per-case API server, emulated node, kubelet stand-in
// and driver, plus the step handlers that use them. Compiled only when the
// API server, kubelet, allocator, CDI and fake-node modules are in the build
// (DRAHIL_RUNNER_HAVE_NODE); otherwise those steps stay MissingModule errors.
#include "node_steps.hpp"

#if DRAHIL_RUNNER_HAVE_NODE

#include <cmath>
#include <filesystem>
#include <regex>
#include <set>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "drahil/allocator/allocator.hpp"
#include "drahil/apiserver/apiserver.hpp"
#include "drahil/cdi/audit.hpp"
#include "drahil/cdi/registry.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/fakenode/fakenode.hpp"
#include "drahil/kube/rest_client.hpp"
#include "drahil/kubelet/kubelet.hpp"
#include "drahil/proto/podresources_v1.grpc.pb.h"
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
  std::string podresources_socket;  // the kubelet stand-in's PodResources socket ("" = not served)
  std::map<std::string, std::string> pod_uids;  // ns/name → uid of pods run so far
  // ns/pod → the probe reports of its containers (verdict and checks), from
  // the last run-pod of that pod.
  std::map<std::string, std::vector<std::pair<std::string, Json>>> probe_reports;
  // The driver's open fds and RSS once its slices were published (stress cases
  // compare against it).
  struct Usage {
    int fds = -1;
    int64_t rss_kib = -1;
  };
  std::optional<Usage> baseline;
  // api-fault rules with `for:`: removed by fault_timer when their time is up.
  std::vector<std::pair<Clock::TimePoint, apiserver::FaultHandle>> timed_faults;
  // Shared environments (attach mode, `environment: shared` suites): the
  // objects the current case created, deleted again when it ends.
  bool shared = false;
  size_t calls_before = 0;  // kubelet calls made before this case (expect: calls counts the rest)
  std::vector<std::tuple<std::string, std::string, std::string>> created;  // (resource, ns, name)
  void Created(const std::string& resource, const Json& obj) {
    if (!shared) return;
    std::lock_guard<std::mutex> l(mu);
    const Json& md = obj.value("metadata", Json::object());
    created.emplace_back(resource, md.value("namespace", ""), md.value("name", ""));
  }
  std::mutex alloc_mu;    // one allocation at a time (concurrent pods)
  std::jthread fault_timer;  // last member: stopped and joined before the handles go
};

// DriverUsage(): open file descriptors and resident memory of a process.
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

StepOutcome SetUpFresh(CaseContext& ctx, const IntegrationOptions& opts) {
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
  if (!opts.api_listen.empty()) ao.listen = opts.api_listen;
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
  if (!opts.kubeconfig_out.empty()) {
    // For a driver started by hand (attach mode): the same node identity.
    if (Status s = env->api->WriteKubeconfig(opts.kubeconfig_out, token); !s.ok())
      return StepOutcome::FromStatus(s, "write --kubeconfig-out");
  }
  if (!opts.attach_registry_dir.empty()) {
    std::fprintf(stderr,
                 "drahil: API server %s; kubeconfig for the driver: %s\n"
                 "drahil: waiting %s for driver %s to register in %s\n",
                 env->api->url().c_str(), opts.kubeconfig_out.empty() ? kubeconfig.c_str() : opts.kubeconfig_out.c_str(),
                 FormatDuration(ctx.profile.timeouts.registration).c_str(), env->driver.c_str(),
                 opts.attach_registry_dir.c_str());
  }
  ctx.placeholders["kubeconfig"] = kubeconfig;
  ctx.Record("apiserver", "start", "OK", 0, env->api->url());

  // 3. The kubelet stand-in.
  env->kubelet = std::make_unique<kubelet::KubeletStandIn>();
  kubelet::KubeletStandIn::Options ko;
  ko.state_dir = ctx.dirs["state_dir"] + "/kubelet";
  ko.call_timeout = ctx.profile.timeouts.prepare;
  if (Status s = MakeDirs(ko.state_dir); !s.ok()) return StepOutcome::FromStatus(s, "kubelet state dir");
  // PodResources is served on a unix socket, whose path must fit sun_path.
  std::string pr_socket = ko.state_dir + "/pod-resources.sock";
  if (pr_socket.size() < 100) {
    ko.podresources_socket = pr_socket;
    env->podresources_socket = pr_socket;
  }
  std::string registry = opts.attach_registry_dir.empty() ? ctx.dirs["registry_dir"] : opts.attach_registry_dir;
  if (Status s = env->kubelet->Start(registry, ctx.dirs["plugins_dir"], ko); !s.ok()) {
    return StepOutcome::FromStatus(s, "start kubelet stand-in");
  }
  ctx.cleanup.Add("stop kubelet stand-in", [env] {
    if (env->kubelet) env->kubelet->Stop();
    return OkStatus();
  });

  // 4. The driver (not in attach mode), then registration and slices. A case
  // may start it late: the kubelet is up first and must pick up the socket
  // when it appears.
  if (ctx.kase.driver_start_delay.count() > 0 && opts.attach_registry_dir.empty()) {
    ctx.Note("driver started " + FormatDuration(ctx.kase.driver_start_delay) + " after the kubelet stand-in");
    if (!ctx.cancel.WaitUntil(Clock::Real().Now() + ctx.kase.driver_start_delay) && ctx.cancel.cancelled()) {
      return StepOutcome::Error("interrupted: " + ctx.cancel.reason(), "Interrupted");
    }
  }
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
  if (auto d = DriverProcess::FromCase(ctx)) env->baseline = DriverUsage(d->pid());
  return StepOutcome::Pass();
}

// SharedNode: one node environment that several cases use in turn: the whole
// run in attach mode (the driver is not ours to restart per case), or a suite
// marked `environment: shared`. Its directories, API server, kubelet stand-in
// and driver outlive the cases; each case gets it alone (busy) and gives it
// back clean: its pods and claims unprepared, the objects it created deleted,
// faults cleared, the driver running and registered again.
struct SharedNode {
  std::mutex busy;
  bool ready = false;
  StepOutcome failed = StepOutcome::Pass();  // a failed first set-up fails every case
  std::optional<TempDir> root;
  std::map<std::string, std::string> dirs;
  std::map<std::string, std::string> placeholders;
  std::map<std::string, std::shared_ptr<void>> services;
  CleanupTracker teardown;  // what the first set-up started
  ~SharedNode() { (void)teardown.RunAll(); }
};

struct SharedNodes {
  std::mutex mu;
  std::map<std::string, std::shared_ptr<SharedNode>> by_key;
  std::shared_ptr<SharedNode> Get(const std::string& key) {
    std::lock_guard<std::mutex> l(mu);
    auto& n = by_key[key];
    if (!n) n = std::make_shared<SharedNode>();
    return n;
  }
};

// ReturnSharedNode(): the end of a case on a shared node. A driver the case
// left stopped or dead is brought back first, so that what the case
// prepared can be unprepared (the driver's checkpoint would otherwise keep
// the devices booked for the next case).
Status ReturnSharedNode(NodeEnv& env, const std::shared_ptr<DriverProcess>& driver) {
  if (driver) {
    if (driver->Running()) (void)driver->Resume();
    if (!driver->Running()) {
      int before = env.kubelet->RegistrationCount(env.driver);
      DRAHIL_RETURN_IF_ERROR_CTX(driver->Restart(), "returning the shared node: restart the driver");
      auto until = Clock::Real().Now() + std::chrono::seconds(30);
      while (env.kubelet->RegistrationCount(env.driver) <= before && Clock::Real().Now() < until)
        std::this_thread::sleep_for(milliseconds(20));
    }
  }
  std::vector<std::string> pods;
  std::vector<std::tuple<std::string, std::string, std::string>> created;
  {
    std::lock_guard<std::mutex> l(env.mu);
    for (const auto& [ref, uid] : env.pod_uids) pods.push_back(uid);
    created.swap(env.created);
  }
  std::string errors;
  for (const auto& uid : pods) (void)env.kubelet->UnpreparePod(uid);
  // Claims a raw `prepare` left prepared.
  for (const auto& info : env.kubelet->Claims()) {
    auto r = env.kubelet->Unprepare(env.driver, {info.claim});
    if (!r.status.ok() && r.status.code() != Code::kFailedPrecondition)
      errors += "\n  unprepare " + info.claim.namespace_name + "/" + info.claim.name + ": " + r.status.message();
  }
  for (auto it = created.rbegin(); it != created.rend(); ++it) {
    const auto& [resource, ns, name] = *it;
    Status st = env.api->Delete(resource, ns, name);
    if (!st.ok() && st.code() != Code::kNotFound) errors += "\n  delete " + resource + " " + ns + "/" + name + ": " + st.message();
  }
  if (!errors.empty()) return InternalError("returning the shared node:" + errors);
  return OkStatus();
}

// ResetSharedNode(): the start of a later case on a shared node.
StepOutcome ResetSharedNode(CaseContext& ctx, NodeEnv& env) {
  auto t0 = Clock::Real().Now();
  {
    std::lock_guard<std::mutex> l(env.mu);
    env.api_faults.clear();
    env.timed_faults.clear();
    env.last_call.reset();
    env.cdi_ids.clear();
    env.pod_uids.clear();
    env.probe_reports.clear();
  }
  // The API audit log is kept: it counts from the node's start (a shared
  // node's slices were written before this case).
  bool emulated = !env.fake_root.empty() && !ctx.profile.node_profile.empty();
  if (emulated) {
    if (Status s = fakenode::ClearFaults(env.fake_root); !s.ok()) return StepOutcome::FromStatus(s, "clear device faults");
  }
  int registrations = env.kubelet->RegistrationCount(env.driver);
  bool restarted = false;
  if (auto d = DriverProcess::FromCase(ctx)) {
    if (d->Running()) (void)d->Resume();  // a previous case may have left it stopped (SIGSTOP)
    if (!d->Running()) {
      if (Status s = d->Restart(); !s.ok()) return StepOutcome::FromStatus(s, "restart the driver");
      ctx.Record("process", "restart driver", "pid " + std::to_string(d->pid()), 0, "a previous case left it stopped");
      restarted = true;
    }
  }
  auto deadline = std::min(Clock::Real().Now() + ctx.profile.timeouts.registration + ctx.profile.timeouts.slices,
                           ctx.case_deadline);
  // Wait until the node is as a fresh one would be: the driver registered
  // (again, after a restart), its pools complete, and no device still
  // Unhealthy from a fault an earlier case injected.
  auto settled = [&] {
    if (restarted && env.kubelet->RegistrationCount(env.driver) <= registrations) return false;
    if (env.kubelet->Plugins().empty()) return false;
    if (!PoolsComplete(DriverSlices(env, env.driver))) return false;
    if (emulated) {
      for (const auto& d : env.kubelet->Health(env.driver).devices)
        if (d.effective == kubelet::HealthState::kUnhealthy) return false;
    }
    return true;
  };
  while (!settled()) {
    if (Clock::Real().Now() >= deadline) {
      return StepOutcome::Fail("the shared node did not settle (driver registered, pools complete, devices healthy) within " +
                                   FormatDuration(ctx.profile.timeouts.registration + ctx.profile.timeouts.slices),
                               "SharedNode");
    }
    if (!ctx.cancel.WaitUntil(std::min(Clock::Real().Now() + milliseconds(50), deadline)) && ctx.cancel.cancelled())
      return StepOutcome::Error("interrupted: " + ctx.cancel.reason(), "Interrupted");
  }
  env.calls_before = env.kubelet->Calls().size();
  if (auto d = DriverProcess::FromCase(ctx)) env.baseline = DriverUsage(d->pid());
  ctx.Record("node", "reuse shared node", "OK", Ms(Clock::Real().Now() - t0), ctx.dirs["root"]);
  return StepOutcome::Pass();
}

StepOutcome SetUpNode(CaseContext& ctx, const IntegrationOptions& opts, SharedNodes& shared) {
  std::string key = !opts.attach_registry_dir.empty()                       ? "attach"
                    : ctx.suite.shared_environment || opts.shared_node ? "suite/" + ctx.suite.name
                                                                       : "";
  if (key.empty()) return SetUpFresh(ctx, opts);
  auto node = shared.Get(key);
  auto lease = std::make_shared<std::unique_lock<std::mutex>>(node->busy);  // until the case's context goes
  ctx.services["node-lease"] = lease;
  if (!node->failed.passed()) return node->failed;
  if (!node->ready) {
    // First case: the node lives in its own directory, not the case's.
    auto root = TempDir::Create("drahil-shared-");
    if (!root.ok()) return StepOutcome::FromStatus(root.status(), "shared node directory");
    node->root.emplace(std::move(*root));
    auto dirs = PrepareCaseDirs(node->root->path());
    if (!dirs.ok()) return StepOutcome::FromStatus(dirs.status(), "shared node directories");
    if (!opts.attach_cdi_dir.empty()) (*dirs)["cdi_dir"] = opts.attach_cdi_dir;
    for (const auto& [k, v] : *dirs) ctx.dirs[k] = v;
    ctx.placeholders["registry_dir"] = ctx.dirs["registry_dir"];
    ctx.placeholders["plugins_dir"] = ctx.dirs["plugins_dir"];
    ctx.placeholders["cdi_dir"] = ctx.dirs["cdi_dir"];
    ctx.placeholders["fake_root"] = ctx.dirs["node_root"];
    ctx.placeholders["state_dir"] = ctx.dirs["state_dir"];
    StepOutcome o = SetUpFresh(ctx, opts);
    ctx.cleanup.MoveInto(node->teardown);  // API server, kubelet and driver stay up
    node->dirs = ctx.dirs;
    node->placeholders = ctx.placeholders;
    for (const auto& [k, v] : ctx.services)
      if (k != "node-lease") node->services[k] = v;
    if (!o.passed()) {
      node->failed = o;
      return o;
    }
    node->ready = true;
  } else {
    ctx.dirs = node->dirs;
    for (const auto& [k, v] : node->placeholders) ctx.placeholders[k] = v;
    for (const auto& [k, v] : node->services) ctx.services[k] = v;
  }
  auto env = Env(ctx);
  env->shared = true;
  ctx.cleanup.Add("return the shared node",
                  [env, driver = DriverProcess::FromCase(ctx)] { return ReturnSharedNode(*env, driver); });
  return ResetSharedNode(ctx, *env);
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
      inv.device_names.insert(d.value("name", ""));
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

// PodClaims(): the pod's claims as (pod claim name, ResourceClaim name). A
// claim from a ResourceClaimTemplate is created the way the resourceclaim
// controller does (name <pod>-<podClaim>-<suffix>, annotation
// resource.kubernetes.io/pod-claim-name, owned by the pod) and recorded in
// pod.status.resourceClaimStatuses; later calls reuse it.
Result<std::vector<std::pair<std::string, std::string>>> PodClaims(CaseContext& ctx, NodeEnv& env, const std::string& ns,
                                                                   const std::string& pod_name) {
  DRAHIL_ASSIGN_OR_RETURN(Json pod, env.api->Get("pods", ns, pod_name));
  std::vector<std::pair<std::string, std::string>> out;
  std::map<std::string, std::string> generated;
  for (const auto& st : pod.value("status", Json::object()).value("resourceClaimStatuses", Json::array()))
    generated[st.value("name", "")] = st.value("resourceClaimName", "");
  bool changed = false;
  for (const auto& pc : pod["spec"].value("resourceClaims", Json::array())) {
    std::string pc_name = pc.value("name", "");
    if (pc.contains("resourceClaimName")) {
      out.emplace_back(pc_name, pc["resourceClaimName"].get<std::string>());
      continue;
    }
    std::string tmpl = pc.value("resourceClaimTemplateName", "");
    if (tmpl.empty()) return InvalidArgumentError("pod " + ns + "/" + pod_name + " claim " + pc_name + " names no claim or template");
    if (auto it = generated.find(pc_name); it != generated.end() && !it->second.empty()) {
      out.emplace_back(pc_name, it->second);
      continue;
    }
    auto t = env.api->Get("resourceclaimtemplates", ns, tmpl);
    if (!t.ok()) return Status(t.status().code(), "pod " + ns + "/" + pod_name + " claim " + pc_name + ": template " + tmpl + ": " + t.status().message());
    static std::atomic<unsigned> seq{0};
    char suffix[8];
    std::snprintf(suffix, sizeof suffix, "%05x", (++seq * 2654435761u) & 0xfffffu);
    Json claim = {{"apiVersion", "resource.k8s.io/v1"},
                  {"kind", "ResourceClaim"},
                  {"metadata",
                   {{"name", (pod_name + "-" + pc_name).substr(0, 57) + "-" + suffix},
                    {"namespace", ns},
                    {"annotations", {{"resource.kubernetes.io/pod-claim-name", pc_name}}},
                    {"ownerReferences",
                     Json::array({{{"apiVersion", "v1"}, {"kind", "Pod"}, {"name", pod_name},
                                   {"uid", pod["metadata"].value("uid", "")}, {"controller", true},
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

class ApplyStep final : public StepHandler {
 public:
  StepOutcome Run(const Step& step, CaseContext& ctx) override {
    NEED_ENV;
    if (step.params.is_object() && (step.params.contains("expect-status") || step.params.contains("expect-reason"))) {
      return ApplyOverRest(step, ctx, *env);
    }
    for (const auto& m : step.manifests) {
      auto t0 = Clock::Real().Now();
      auto it = Plurals().find(m.Kind());
      if (it == Plurals().end()) return StepOutcome::Error("cannot apply kind " + m.Kind(), "SuiteError");
      auto r = env->api->Create(it->second, m.object);
      ctx.Record("api", "create " + m.Ref(), r.ok() ? "OK" : std::string(CodeName(r.status().code())),
                 Ms(Clock::Real().Now() - t0));
      if (r.ok()) env->Created(it->second, *r);
      if (!r.ok()) return StepOutcome::Error("create " + m.Ref() + " (" + m.where.ToString() + "): " + r.status().message(),
                                             "ApplyFailed");
    }
    return StepOutcome::Pass();
  }

 private:
  // ApplyOverRest(): POSTs each manifest as a client would (validation and
  // admission included) and compares the HTTP status and the Status reason.
  static StepOutcome ApplyOverRest(const Step& step, CaseContext& ctx, NodeEnv& env) {
    int want_code = step.params.value("expect-status", 0);
    std::string want_reason = step.params.value("expect-reason", "");
    kube::KubeConfig kc;
    kc.server = env.api->http_url();
    kc.token = env.api->admin_token();
    kube::RestOptions ro;
    ro.max_retries = 0;
    ro.timeout = std::max<milliseconds>(milliseconds(100), std::chrono::duration_cast<milliseconds>(ctx.Remaining()));
    auto client = kube::RestClient::Create(kc, ro);
    if (!client.ok()) return StepOutcome::FromStatus(client.status(), "REST client");
    for (const auto& m : step.manifests) {
      auto it = Plurals().find(m.Kind());
      if (it == Plurals().end()) return StepOutcome::Error("cannot apply kind " + m.Kind(), "SuiteError");
      std::string ns = m.object.contains("metadata") ? m.object["metadata"].value("namespace", "") : "";
      auto path = kube::RestClient::Path(it->second, ns.empty() ? "default" : ns);
      if (!path.ok()) return StepOutcome::FromStatus(path.status(), "apply " + m.Ref());
      auto t0 = Clock::Real().Now();
      auto resp = (*client)->Request("POST", *path, m.object.dump(), "application/json", /*retry=*/false);
      if (!resp.ok()) return StepOutcome::Error("POST " + *path + ": " + resp.status().message(), "ApiUnavailable");
      std::string reason, message;
      try {
        Json body = Json::parse(resp->body);
        if (body.value("kind", "") == "Status") {
          reason = body.value("reason", "");
          message = body.value("message", "");
        }
      } catch (const std::exception&) {
      }
      ctx.Record("api", "POST " + m.Ref(), std::to_string(resp->code) + (reason.empty() ? "" : " " + reason),
                 Ms(Clock::Real().Now() - t0), message);
      if (resp->code / 100 == 2) {
        try {
          env.Created(it->second, Json::parse(resp->body));
        } catch (const std::exception&) {
        }
      }
      std::string got = "HTTP " + std::to_string(resp->code) + (reason.empty() ? "" : " " + reason) +
                        (message.empty() ? "" : ": " + message);
      if (want_code != 0 && resp->code != want_code) {
        return StepOutcome::Fail("create " + m.Ref() + " (" + m.where.ToString() + ") answered " + got + ", expected HTTP " +
                                     std::to_string(want_code),
                                 "ApiStatus");
      }
      if (!want_reason.empty() && reason != want_reason) {
        return StepOutcome::Fail("create " + m.Ref() + " (" + m.where.ToString() + ") answered " + got +
                                     ", expected reason " + want_reason,
                                 "ApiStatus");
      }
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
    std::lock_guard<std::mutex> serial(env->alloc_mu);
    claim = env->api->Get("resourceclaims", ns, name);  // fresh, under the lock
    if (!claim.ok()) return StepOutcome::Error("allocate " + ref + ": " + claim.status().message(), "SuiteError");
    if (claim->contains("status") && (*claim)["status"].contains("allocation")) {
      // Already allocated (a pod sharing it got there first): the scheduler
      // keeps an allocation; it never allocates a claim twice.
      if (expect == "unsatisfiable") return StepOutcome::Fail("claim " + ref + " is already allocated", "Allocated");
      size_t got = (*claim)["status"]["allocation"]["devices"].value("results", Json::array()).size();
      if (step.params.is_object() && step.params.contains("devices") && step.params["devices"].get<size_t>() != got) {
        return StepOutcome::Fail("claim " + ref + " has " + std::to_string(got) + " device(s), expected " +
                                     std::to_string(step.params["devices"].get<size_t>()),
                                 "AllocationSize");
      }
      return StepOutcome::Pass();
    }
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
      // Exhausted: no devices fit. PermissionDenied: the claim may not have
      // them (admin access outside a labelled namespace). Either way the
      // scheduler leaves the pod unschedulable.
      bool refused = r.status().code() == Code::kResourceExhausted || r.status().code() == Code::kPermissionDenied;
      if (expect == "unsatisfiable" && refused) return StepOutcome::Pass();
      if (r.status().code() == Code::kPermissionDenied) {
        return StepOutcome::Fail("claim " + ref + " may not be allocated: " + r.status().message(), "Forbidden");
      }
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
    std::vector<std::pair<std::string, std::string>> claims;  // (ns, name)
    if (step.params.contains("pod")) {
      auto [pns, pname] = SplitRef(step.params["pod"].get<std::string>());
      auto pc = PodClaims(ctx, *env, pns, pname);
      if (!pc.ok()) return StepOutcome::Error("pod " + pns + "/" + pname + ": " + pc.status().message(), "SuiteError");
      for (const auto& [pod_claim, claim] : *pc) claims.emplace_back(pns, claim);
    } else {
      for (const auto& c : step.params["claims"]) claims.push_back(SplitRef(c.get<std::string>()));
    }
    kubelet::KubeletStandIn::CallOptions call;
    if (step.params.contains("api")) {
      call.api = step.params["api"] == "v1beta1" ? std::string(kubelet::kDraV1beta1Service) : std::string(kubelet::kDraV1Service);
    }
    std::vector<kubelet::ClaimRef> refs;
    std::vector<std::string> names;
    for (const auto& [ns, name] : claims) {
      auto obj = env->api->Get("resourceclaims", ns, name);
      if (!obj.ok()) return StepOutcome::Error("claim " + ns + "/" + name + ": " + obj.status().message(), "SuiteError");
      refs.push_back({ns, (*obj)["metadata"].value("uid", ""), name});
      names.push_back(ns + "/" + name);
    }
    int replay = step.params.value("replay", 1);
    Code want = *ParseCodeName(step.params.value("expect-code", "OK"));
    std::map<std::string, std::vector<std::string>> first_ids;
    // concurrent: one call per claim, all at once (the kubelet's pod
    // workers call a driver concurrently).
    bool concurrent = step.params.value("concurrent", false) && refs.size() > 1;
    auto one = [&](const std::vector<kubelet::ClaimRef>& batch) {
      return prepare_ ? env->kubelet->Prepare(env->driver, batch, call) : env->kubelet->Unprepare(env->driver, batch, call);
    };
    for (int i = 1; i <= replay; ++i) {
      std::vector<kubelet::CallResult> results;
      if (concurrent) {
        results.resize(refs.size());
        {
          std::vector<std::jthread> workers;
          for (size_t k = 0; k < refs.size(); ++k) workers.emplace_back([&, k] { results[k] = one({refs[k]}); });
        }
      } else {
        results.push_back(one(refs));
      }
      for (const auto& res : results) {
        const auto& rec = res.record;
        ctx.Record("grpc", rec.api + "/" + rec.method, std::string(CodeName(rec.code)),
                   std::chrono::duration<double, std::milli>(rec.latency).count(),
                   rec.grpc_message.empty() ? (res.status.ok() ? "" : res.status.message()) : rec.grpc_message);
        if (prepare_) {
          ctx.Measure({std::string(reports::kPrepareLatency),
                       std::chrono::duration<double, std::milli>(rec.latency).count(), "ms", "", {}});
        }
      }
      // One result in claim order; the first failing call decides the code.
      kubelet::CallResult r = results.front();
      for (size_t k = 1; k < results.size(); ++k) {
        r.claims.insert(r.claims.end(), results[k].claims.begin(), results[k].claims.end());
        bool failed = results[k].record.code != Code::kOk || !results[k].status.ok();
        if (failed && r.record.code == Code::kOk && r.status.ok()) {
          r.record = results[k].record;
          r.status = results[k].status;
        }
      }
      const auto& rec = r.record;
      std::map<std::string, std::vector<std::string>> ids;
      for (size_t k = 0; k < r.claims.size() && k < names.size(); ++k) {
        for (const auto& d : r.claims[k].devices)
          for (const auto& id : d.cdi_device_ids) ids[names[k]].push_back(id);
      }
      {
        std::lock_guard<std::mutex> l(env->mu);
        env->last_call = r;
        if (prepare_) env->cdi_ids = ids;
        ctx.state["last_grpc_code"] = std::string(CodeName(rec.code));
      }
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

StepOutcome CheckProbeValue(const Json& check, const Json& report) {
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
      std::string have;
      {
        std::lock_guard<std::mutex> l(env.mu);
        have = ctx.state.value("last_grpc_code", "");
      }
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
        // No cached health (the stream ended and the kubelet dropped the
        // driver's entries, or the device was never reported): pod status
        // shows such a device as Unknown.
        if (want == "Unknown") return StepOutcome::Pass();
        return StepOutcome::Fail("the driver reported no health for device " + dev + " (Unknown)" + (snap.stream_open ? "" : "; no health stream open"), "Health");
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
      calls.erase(calls.begin(), calls.begin() + std::min(calls.size(), env.calls_before));
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
    if (key == "pod-resources") return PodResources(v, ctx, env);
    if (key == "resource-status") {
      return Within(v, ctx, [&] {
        std::string pod = v["pod"], container = v["container"], want = v["health"];
        std::string uid;
        {
          std::lock_guard<std::mutex> l(env.mu);
          if (auto it = env.pod_uids.find(pod); it != env.pod_uids.end()) uid = it->second;
        }
        if (uid.empty()) return StepOutcome::Error("expect resource-status: pod " + pod + " was not run (use run-pod with keep-prepared)", "SuiteError");
        auto rs = env.kubelet->AllocatedResourcesStatus(uid, container);
        if (!rs.ok()) return StepOutcome::Fail("allocatedResourcesStatus of " + pod + "/" + container + ": " + rs.status().message(), "ResourceStatus");
        int n = 0;
        std::string seen;
        for (const auto& entry : *rs) {
          if (v.contains("name") && entry.name != v["name"].get<std::string>()) continue;
          for (const auto& r : entry.resources) {
            ++n;
            seen += (seen.empty() ? "" : ", ") + entry.name + " " + r.resource_id + "=" + r.health;
            if (r.health != want) return StepOutcome::Fail(pod + "/" + container + " " + entry.name + " resource " + r.resource_id + " is " + r.health + ", expected " + want, "ResourceStatus");
          }
        }
        if (n == 0) return StepOutcome::Fail(pod + "/" + container + " has no allocatedResourcesStatus entries" + (v.contains("name") ? " named " + v["name"].get<std::string>() : ""), "ResourceStatus");
        if (v.contains("count") && n != v["count"].get<int>())
          return StepOutcome::Fail(std::to_string(n) + " resource(s) in allocatedResourcesStatus [" + seen + "], expected " + std::to_string(v["count"].get<int>()), "ResourceStatus");
        return StepOutcome::Pass();
      });
    }
    if (key == "driver-growth") {
      auto d = DriverProcess::FromCase(ctx);
      if (!d || !env.baseline) return StepOutcome::Error("expect driver-growth: no driver process baseline (attach mode?)", "NoDriver");
      auto now = DriverUsage(d->pid());
      if (!now) return StepOutcome::Fail("the driver process is gone; cannot read its fds and RSS", "DriverGone");
      int fd_growth = now->fds - env.baseline->fds;
      double rss_growth_mib = static_cast<double>(now->rss_kib - env.baseline->rss_kib) / 1024.0;
      ctx.Measure({"driver.fd_growth", static_cast<double>(fd_growth), "fds", "", {}});
      ctx.Measure({"driver.rss_growth", rss_growth_mib, "MiB", "", {}});
      ctx.Note("driver fds " + std::to_string(env.baseline->fds) + " -> " + std::to_string(now->fds) + ", RSS " +
               std::to_string(env.baseline->rss_kib) + " -> " + std::to_string(now->rss_kib) + " KiB");
      if (v.contains("max-fds") && fd_growth > v["max-fds"].get<int>())
        return StepOutcome::Fail("the driver holds " + std::to_string(fd_growth) + " more file descriptors than after start-up (" +
                                     std::to_string(env.baseline->fds) + " -> " + std::to_string(now->fds) + "), at most " +
                                     std::to_string(v["max-fds"].get<int>()) + " allowed: a descriptor leak",
                                 "FdLeak");
      if (v.contains("max-rss-mib") && rss_growth_mib > v["max-rss-mib"].get<double>())
        return StepOutcome::Fail("the driver's RSS grew by " + std::to_string(rss_growth_mib) + " MiB since start-up, at most " +
                                     std::to_string(v["max-rss-mib"].get<double>()) + " allowed",
                                 "RssGrowth");
      return StepOutcome::Pass();
    }
    if (key == "probe") {
      std::string pod = v["pod"];
      std::vector<std::pair<std::string, Json>> reports;
      {
        std::lock_guard<std::mutex> l(env.mu);
        if (auto it = env.probe_reports.find(pod); it != env.probe_reports.end()) reports = it->second;
      }
      if (reports.empty()) return StepOutcome::Error("expect probe: pod " + pod + " has not run a probe", "SuiteError");
      for (const auto& [container, report] : reports) {
        if (v.contains("container") && container != v["container"].get<std::string>()) continue;
        std::string verdict = report.value("verdict", "");
        if (v.contains("verdict") && verdict != v["verdict"].get<std::string>())
          return StepOutcome::Fail("probe in " + pod + "/" + container + " reported " + verdict + ", expected " + v["verdict"].get<std::string>(), "ProbeVerdict");
        for (const auto& check : v.value("values", Json::array())) {
          StepOutcome o = CheckProbeValue(check, report);
          if (!o.passed()) return o;
        }
      }
      return StepOutcome::Pass();
    }
    return StepOutcome::Error("expect " + key + " has no handler in this build", "MissingModule");
  }

  // PodResources(): asks the kubelet stand-in's PodResources socket (the
  // gRPC API monitoring agents use) for the pod and compares its DRA entries
  // with the claims' allocations in the API server.
  StepOutcome PodResources(const Json& v, CaseContext& ctx, NodeEnv& env) {
    if (env.podresources_socket.empty()) return StepOutcome::Error("PodResources is not served in this case (socket path too long)", "NoPodResources");
    auto [ns, name] = SplitRef(v["pod"].get<std::string>());
    auto channel = grpc::CreateChannel("unix:" + env.podresources_socket, grpc::InsecureChannelCredentials());
    auto stub = ::v1::PodResourcesLister::NewStub(channel);
    grpc::ClientContext gctx;
    gctx.set_deadline(std::chrono::system_clock::now() + std::min<Clock::Duration>(ctx.Remaining(), std::chrono::seconds(10)));
    ::v1::GetPodResourcesRequest req;
    req.set_pod_name(name);
    req.set_pod_namespace(ns);
    ::v1::GetPodResourcesResponse resp;
    auto t0 = Clock::Real().Now();
    grpc::Status st = stub->Get(&gctx, req, &resp);
    ctx.Record("grpc", "v1.PodResourcesLister/Get", st.ok() ? "OK" : std::string(CodeName(static_cast<Code>(st.error_code()))),
               Ms(Clock::Real().Now() - t0), st.error_message());
    bool want_present = v.value("present", true);
    if (!st.ok()) {
      if (!want_present && st.error_code() == grpc::StatusCode::NOT_FOUND) return StepOutcome::Pass();
      return StepOutcome::Fail("PodResources Get " + ns + "/" + name + ": " + st.error_message(), "PodResources");
    }
    if (!want_present) return StepOutcome::Fail("PodResources still lists pod " + ns + "/" + name, "PodResources");
    // (claim ns/name) → set of driver/pool/device from PodResources.
    std::map<std::string, std::set<std::string>> listed;
    int devices = 0;
    for (const auto& ctr : resp.pod_resources().containers()) {
      if (v.contains("container") && ctr.name() != v["container"].get<std::string>()) continue;
      for (const auto& dr : ctr.dynamic_resources()) {
        for (const auto& cr : dr.claim_resources()) {
          listed[dr.claim_namespace() + "/" + dr.claim_name()].insert(cr.driver_name() + "/" + cr.pool_name() + "/" + cr.device_name());
          ++devices;
          if (cr.cdi_devices_size() == 0)
            return StepOutcome::Fail("PodResources entry for device " + cr.device_name() + " of claim " + dr.claim_name() + " has no CDI device", "PodResources");
        }
      }
    }
    if (v.contains("devices") && devices != v["devices"].get<int>())
      return StepOutcome::Fail("PodResources lists " + std::to_string(devices) + " device(s) for " + ns + "/" + name + ", expected " + std::to_string(v["devices"].get<int>()), "PodResources");
    for (const auto& [claim, set] : listed) {
      auto [cns, cname] = SplitRef(claim);
      auto obj = env.api->Get("resourceclaims", cns, cname);
      if (!obj.ok()) return StepOutcome::Fail("PodResources names claim " + claim + " which the API server does not have", "PodResources");
      std::set<std::string> allocated;
      for (const auto& r : obj->value("status", Json::object()).value("allocation", Json::object()).value("devices", Json::object()).value("results", Json::array()))
        allocated.insert(r.value("driver", "") + "/" + r.value("pool", "") + "/" + r.value("device", ""));
      for (const auto& d : set)
        if (!allocated.count(d)) return StepOutcome::Fail("PodResources lists " + d + " for claim " + claim + ", which is not in its allocation", "PodResources");
    }
    if (listed.empty() && v.value("devices", 1) != 0)
      return StepOutcome::Fail("PodResources has no DRA entries for pod " + ns + "/" + name, "PodResources");
    return StepOutcome::Pass();
  }
};

class NodeInjectStep final : public StepHandler {
 public:
  StepOutcome Run(const Step& step, CaseContext& ctx) override {
    NEED_ENV;
    const Json& p = step.params;
    auto t0 = Clock::Real().Now();
    if (p.contains("device-fault")) {
      if (env->fake_root.empty() || ctx.profile.node_profile.empty()) {
        return StepOutcome::Skip("device faults are injected into an emulated node; profile " + ctx.profile.name +
                                 " drives real hardware");
      }
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
        env->timed_faults.clear();
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
        if (f.contains("for")) {
          // Lifted by the timer once its time is up (an outage of that length).
          auto until = Clock::Real().Now() + *ParseDuration(f["for"].get<std::string>());
          env->timed_faults.emplace_back(until, env->api->InjectFault(rule));
          if (!env->fault_timer.joinable()) {
            env->fault_timer = std::jthread([raw = env.get()](std::stop_token stop) {
              while (!stop.stop_requested()) {
                std::this_thread::sleep_for(milliseconds(20));
                std::lock_guard<std::mutex> lk(raw->mu);
                auto now = Clock::Real().Now();
                std::erase_if(raw->timed_faults, [&](const auto& e) { return e.first <= now; });
              }
            });
          }
        } else {
          env->api_faults.push_back(env->api->InjectFault(rule));
        }
      }
      ctx.Record("inject", "api " + type, "OK", 0, f.dump());
      return StepOutcome::Pass();
    }
    if (p.contains("kubelet")) {
      // A kubelet restart without a reboot: in-memory state is rebuilt from
      // the checkpoint, plugins re-register, and running pods' claims are
      // prepared again (the driver must answer from its own state).
      auto r = env->kubelet->Restart(p["kubelet"] == "restart",
                                     std::chrono::duration_cast<milliseconds>(ctx.profile.timeouts.registration));
      ctx.Record("inject", "kubelet " + p["kubelet"].get<std::string>(), r.status.ok() ? "OK" : r.status.ToString(),
                 Ms(Clock::Real().Now() - t0));
      for (const auto& call : r.calls)
        ctx.Record("grpc", call.record.api + "/" + call.record.method, std::string(CodeName(call.record.code)),
                   std::chrono::duration<double, std::milli>(call.record.latency).count(), call.status.ok() ? "" : call.status.message());
      if (!r.status.ok()) return StepOutcome::Fail("after the kubelet restart its replay failed: " + r.status.message(), "KubeletRestart");
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
    Json opts = step.params.is_object() ? step.params : Json::object();
    if (opts.contains("pods")) {
      // Concurrent pods: each pod's whole flow on its own thread, as the
      // kubelet's pod workers do; the first failure (in list order) wins.
      std::vector<std::string> pods;
      for (const auto& p : opts["pods"]) pods.push_back(p.get<std::string>());
      std::vector<StepOutcome> outcomes(pods.size(), StepOutcome::Pass());
      {
        std::vector<std::jthread> workers;
        for (size_t i = 0; i < pods.size(); ++i)
          workers.emplace_back([&, i] { outcomes[i] = RunOne(step, pods[i], opts, ctx, env); });
      }
      for (auto& o : outcomes)
        if (!o.passed()) return o;
      return StepOutcome::Pass();
    }
    std::string ref = step.params.is_string() ? step.params.get<std::string>() : step.params["pod"].get<std::string>();
    return RunOne(step, ref, opts, ctx, env);
  }

 private:
  StepOutcome RunOne(const Step& step, const std::string& ref, const Json& opts, CaseContext& ctx,
                     const std::shared_ptr<NodeEnv>& env) {
    auto [ns, name] = SplitRef(ref);
    {
      std::lock_guard<std::mutex> l(env->mu);
      env->probe_reports[ref].clear();
    }
    auto pc_names = PodClaims(ctx, *env, ns, name);
    if (!pc_names.ok()) return StepOutcome::Error("run-pod " + ref + ": " + pc_names.status().message(), "SuiteError");
    auto pod = env->api->Get("pods", ns, name);
    if (!pod.ok()) return StepOutcome::Error("run-pod " + ref + ": " + pod.status().message(), "SuiteError");

    // Extended resources backed by DRA (KEP-5004): the scheduler makes the
    // pod's special claim and records it in pod.status.extendedResourceClaimStatus;
    // the kubelet maps each container's resource to a request of that claim.
    std::map<std::string, std::vector<kubelet::ContainerClaim>> ext_claims;  // container → (claim, request)
    {
      auto classes = env->api->List("deviceclasses").value_or(std::vector<Json>{});
      auto ext = allocator::BuildExtendedResourceClaim(*pod, classes);
      if (!ext.ok()) return StepOutcome::Error("run-pod " + ref + ": " + ext.status().message(), "SuiteError");
      if (!ext->claim.is_null()) {
        std::string cname = ext->claim["metadata"]["name"];
        if (!env->api->Get("resourceclaims", ns, cname).ok()) {
          auto c = env->api->Create("resourceclaims", ext->claim);
          if (!c.ok()) return StepOutcome::FromStatus(c.status(), "create extended-resource claim " + cname);
          env->Created("resourceclaims", *c);
          ctx.Record("api", "create ResourceClaim " + ns + "/" + cname, "OK", 0, "extended resources of pod " + ref);
        }
        Json updated = *pod;
        updated["status"]["extendedResourceClaimStatus"] = ext->status;
        auto u = env->api->UpdateStatus("pods", updated);
        if (!u.ok()) return StepOutcome::FromStatus(u.status(), "pod status extendedResourceClaimStatus");
        pod = u;
        pc_names->emplace_back(cname, cname);
        for (const auto& m : ext->status.value("requestMappings", Json::array()))
          ext_claims[m.value("containerName", "")].push_back({cname, m.value("requestName", "")});
      }
    }
    const Json& spec = (*pod)["spec"];

    kubelet::Pod kp;
    kp.namespace_name = ns;
    kp.name = name;
    kp.uid = (*pod)["metadata"].value("uid", "");
    std::map<std::string, std::string> claim_of;  // pod claim name → ns/claim
    for (const auto& [pc_name, cname] : *pc_names) {
      auto claim = env->api->Get("resourceclaims", ns, cname);
      if (!claim.ok()) return StepOutcome::Error("pod claim " + cname + ": " + claim.status().message(), "SuiteError");
      if (!(*claim).contains("status") || !(*claim)["status"].contains("allocation")) {
        Step alloc;
        alloc.kind = "allocate";
        alloc.params = ns + "/" + cname;
        alloc.where = step.where;
        StepOutcome o = allocate_->Run(alloc, ctx);
        if (!o.passed()) {
          if (opts.value("expect-schedule", "scheduled") == "unschedulable" && o.verdict == Verdict::kFail &&
              (o.type == "Unschedulable" || o.type == "Forbidden")) {
            ctx.Note("pod " + ref + " is unschedulable, as expected: " + o.message);
            return StepOutcome::Pass();
          }
          return o;
        }
        claim = env->api->Get("resourceclaims", ns, cname);
        if (!claim.ok()) return StepOutcome::FromStatus(claim.status(), "reload claim");
      }
      // The scheduler reserves the claim for the pod, then waits in PreBind
      // for the devices' binding conditions (KEP-5007).
      if (Status s = Reserve(*env, ns, cname, *pod); !s.ok()) return StepOutcome::FromStatus(s, "reserve claim " + cname);
      bool bound = false;
      StepOutcome b = WaitForBinding(ctx, *env, ns, cname, opts, bound);
      if (!b.passed() || !bound) return b;
      claim = env->api->Get("resourceclaims", ns, cname);
      if (!claim.ok()) return StepOutcome::FromStatus(claim.status(), "reload claim");
      kubelet::PodClaim c;
      c.name = pc_name;
      c.claim = {ns, (*claim)["metadata"].value("uid", ""), cname};
      std::set<std::string> drivers;
      for (const auto& r : (*claim)["status"]["allocation"]["devices"].value("results", Json::array()))
        drivers.insert(r.value("driver", ""));
      c.drivers.assign(drivers.begin(), drivers.end());
      kp.claims.push_back(c);
      claim_of[c.name] = ns + "/" + cname;
    }
    if (opts.value("expect-schedule", "scheduled") == "unschedulable") {
      return StepOutcome::Fail("pod " + ref + " was scheduled (all its claims allocated); expected it to stay unschedulable",
                               "Scheduled");
    }
    for (const auto& ct : spec.value("containers", Json::array())) {
      kubelet::Container c;
      c.name = ct.value("name", "");
      for (const auto& rc : ct.value("resources", Json::object()).value("claims", Json::array()))
        c.claims.push_back({rc.value("name", ""), rc.value("request", "")});
      for (const auto& e : ext_claims[c.name]) c.claims.push_back(e);
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
    // A claim another pod prepared already gets no call: its devices come
    // from the kubelet's claim-info cache, as the kubelet's do.
    for (const auto& pc : kp.claims) {
      std::string key = pc.claim.namespace_name + "/" + pc.claim.name;
      if (devices.count(key)) continue;
      for (const auto& info : env->kubelet->Claims()) {
        if (info.claim.uid != pc.claim.uid) continue;
        for (const auto& [driver, list] : info.drivers) devices[key].insert(devices[key].end(), list.begin(), list.end());
      }
    }
    if (!opts.value("keep-prepared", false)) {
      ctx.cleanup.Add("unprepare pod " + ref, [env, uid = kp.uid] {  // CleanupTracker is thread-safe
        auto r = env->kubelet->UnpreparePod(uid);
        return r.status;
      });
    }
    {
      std::lock_guard<std::mutex> l(env->mu);
      env->pod_uids[ref] = kp.uid;
      for (const auto& [key, list] : devices)
        for (const auto& d : list) env->cdi_ids[key].insert(env->cdi_ids[key].end(), d.cdi_device_ids.begin(), d.cdi_device_ids.end());
    }

    StepOutcome result = StepOutcome::Pass();
    for (const auto& ct : spec.value("containers", Json::array())) {
      StepOutcome o = RunContainer(ctx, *env, ref, ct, claim_of, devices, opts, ext_claims[ct.value("name", "")]);
      if (!o.passed()) {
        result = o;
        break;
      }
    }
    ctx.Record("pod", ref, std::string(reports::VerdictName(result.verdict)), Ms(Clock::Real().Now() - t0));
    return result;
  }

  // Reserve(): adds the pod to the claim's status.reservedFor (once).
  static Status Reserve(NodeEnv& env, const std::string& ns, const std::string& claim_name, const Json& pod) {
    std::lock_guard<std::mutex> serial(env.alloc_mu);
    DRAHIL_ASSIGN_OR_RETURN(Json claim, env.api->Get("resourceclaims", ns, claim_name));
    Json& rf = claim["status"]["reservedFor"];
    if (!rf.is_array()) rf = Json::array();
    std::string uid = pod["metadata"].value("uid", "");
    for (const auto& r : rf)
      if (r.value("uid", "") == uid) return OkStatus();
    rf.push_back({{"resource", "pods"}, {"name", pod["metadata"].value("name", "")}, {"uid", uid}});
    return env.api->UpdateStatus("resourceclaims", claim).status();
  }

  // WaitForBinding(): the scheduler's PreBind wait for binding conditions.
  // bound = true when the pod may go on (no conditions, or all True). On a
  // failure condition or the timeout the claim is deallocated, as the
  // scheduler does before it retries; `expect-binding` says which ending the
  // case wants (then the step passes with bound = false and the pod stops).
  static StepOutcome WaitForBinding(CaseContext& ctx, NodeEnv& env, const std::string& ns, const std::string& cname,
                                    const Json& opts, bool& bound) {
    bound = false;
    std::string want = opts.value("expect-binding", "bound");
    auto timeout = opts.contains("binding-timeout")
                       ? std::chrono::duration_cast<std::chrono::seconds>(*ParseDuration(opts["binding-timeout"].get<std::string>()))
                       : allocator::kDefaultBindingTimeout;
    auto t0 = Clock::Real().Now();
    for (;;) {
      auto c = env.api->Get("resourceclaims", ns, cname);
      if (!c.ok()) return StepOutcome::FromStatus(c.status(), "claim " + cname);
      auto bs = allocator::EvaluateBindingConditions(*c, std::chrono::system_clock::now(), timeout);
      if (bs.state == allocator::BindingState::kNotRequired || bs.state == allocator::BindingState::kReady) {
        if (bs.state == allocator::BindingState::kReady)
          ctx.Record("bind", ns + "/" + cname, "Ready", Ms(Clock::Real().Now() - t0), bs.reason);
        if (want != "bound") return StepOutcome::Fail("claim " + ns + "/" + cname + " was bound; expected binding " + want, "Binding");
        bound = true;
        return StepOutcome::Pass();
      }
      if (bs.state == allocator::BindingState::kFailed || bs.state == allocator::BindingState::kTimedOut) {
        std::string got = bs.state == allocator::BindingState::kFailed ? "failed" : "timeout";
        Json claim = *c;
        {
          std::lock_guard<std::mutex> serial(env.alloc_mu);
          allocator::Deallocate(claim);
          auto u = env.api->UpdateStatus("resourceclaims", claim);
          if (!u.ok()) return StepOutcome::FromStatus(u.status(), "deallocate " + cname);
        }
        ctx.Record("bind", ns + "/" + cname, got, Ms(Clock::Real().Now() - t0), bs.reason + "; claim deallocated");
        if (want == got) return StepOutcome::Pass();
        return StepOutcome::Fail("binding of claim " + ns + "/" + cname + " " + (got == "failed" ? "failed" : "timed out after " + FormatDuration(timeout)) +
                                     " (" + bs.reason + "); the scheduler deallocated it",
                                 got == "failed" ? "BindingFailed" : "BindingTimeout");
      }
      if (Clock::Real().Now() >= ctx.step_deadline)
        return StepOutcome::Fail("claim " + ns + "/" + cname + " still waits for binding conditions at the step deadline (" + bs.reason + ")", "BindingPending");
      if (!ctx.cancel.WaitUntil(std::min(Clock::Real().Now() + milliseconds(100), ctx.step_deadline)) && ctx.cancel.cancelled())
        return StepOutcome::Error("interrupted", "Interrupted");
    }
  }

  // SliceDeviceValue(): a capacity (its quantity) or attribute (its value)
  // of a device as the driver's ResourceSlice publishes it.
  static std::optional<std::string> SliceDeviceValue(NodeEnv& env, const kubelet::Device& dev, const std::string& what,
                                                     const std::string& name) {
    for (const auto& s : DriverSlices(env, env.driver)) {
      if (s["spec"]["pool"].value("name", "") != dev.pool_name) continue;
      for (const auto& d : s["spec"].value("devices", Json::array())) {
        if (d.value("name", "") != dev.device_name) continue;
        const Json& map = d.value(what == "capacity" ? "capacity" : "attributes", Json::object());
        if (!map.is_object()) return std::nullopt;
        auto it = map.find(name);
        if (it == map.end()) it = map.find(env.driver + "/" + name);
        if (it == map.end() || !it->is_object()) return std::nullopt;
        if (what == "capacity") return it->contains("value") ? std::optional<std::string>((*it)["value"].get<std::string>()) : std::nullopt;
        for (const auto& [k, v] : it->items()) return v.is_string() ? v.get<std::string>() : v.dump();
        return std::nullopt;
      }
    }
    return std::nullopt;
  }

  StepOutcome RunContainer(CaseContext& ctx, NodeEnv& env, const std::string& pod, const Json& ct,
                           const std::map<std::string, std::string>& claim_of,
                           std::map<std::string, std::vector<kubelet::Device>>& devices, const Json& opts,
                           const std::vector<kubelet::ContainerClaim>& extended) {
    std::string cname = ct.value("name", "");
    std::vector<std::string> ids;
    std::optional<kubelet::Device> first_device;  // for {device.*} in the command
    std::vector<std::pair<std::string, std::string>> uses;  // (pod claim, request)
    for (const auto& rc : ct.value("resources", Json::object()).value("claims", Json::array()))
      uses.emplace_back(rc.value("name", ""), rc.value("request", ""));
    for (const auto& e : extended) uses.emplace_back(e.name, e.request);
    for (const auto& [use_claim, use_request] : uses) {
      auto it = claim_of.find(use_claim);
      if (it == claim_of.end()) continue;
      std::string request = use_request;
      for (const auto& d : devices[it->second]) {
        bool serves = request.empty() || d.request_names.empty() ||
                      std::find(d.request_names.begin(), d.request_names.end(), request) != d.request_names.end();
        if (serves) {
          ids.insert(ids.end(), d.cdi_device_ids.begin(), d.cdi_device_ids.end());
          if (!first_device) first_device = d;
        }
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
    // {device.capacity.NAME} / {device.attribute.NAME}: what the driver's
    // slice says of the container's first device, so a probe can compare the
    // hardware with the published inventory on any node.
    for (auto& arg : sb.argv) {
      static const std::regex kRef(R"(\{device\.(capacity|attribute)\.([A-Za-z0-9_./-]+)\})");
      std::smatch m;
      while (std::regex_search(arg, m, kRef)) {
        if (!first_device)
          return StepOutcome::Error("container " + cname + " uses " + m.str(0) + " but has no device", "SuiteError");
        auto value = SliceDeviceValue(env, *first_device, m.str(1), m.str(2));
        if (!value)
          return StepOutcome::Fail("the slice of device " + first_device->device_name + " has no " + m.str(1) + " \"" +
                                       m.str(2) + "\" (container " + cname + " asks for " + m.str(0) + ")",
                                   "Slices");
        arg = m.prefix().str() + *value + m.suffix().str();
      }
    }
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
    Json report = Json::object();
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
    {
      Json kept = report;
      kept["verdict"] = verdict;
      std::lock_guard<std::mutex> l(env.mu);
      env.probe_reports[pod].emplace_back(cname, std::move(kept));
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
      StepOutcome o = CheckProbeValue(check, report);
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

  std::shared_ptr<StepHandler> allocate_;
};

}  // namespace

bool InstallNodeIntegration(StepRegistry& steps, EngineHooks& hooks, const IntegrationOptions& opts) {
  auto shared = std::make_shared<SharedNodes>();
  hooks.set_up_case = [opts, shared](CaseContext& ctx) { return SetUpNode(ctx, opts, *shared); };
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
