// Per-case node set-up: the emulated node, the API server, the kubelet
// stand-in and the driver; and shared nodes that several cases use in turn.
#include "setup.hpp"

#include <algorithm>

#include "drahil/core/temp_dir.hpp"
#include "drahil/fakenode/fakenode.hpp"
#include "drahil/kube/manifest.hpp"

namespace drahil::node {
namespace {

// KubeletArch(): GOARCH of this build, as the kubelet labels its Node.
const char* KubeletArch() {
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#elif defined(__powerpc64__)
  return "ppc64le";
#elif defined(__s390x__)
  return "s390x";
#elif defined(__riscv)
  return "riscv64";
#else
  return "unknown";
#endif
}

// NodeObject(): the Node the kubelet would register: its well-known labels
// (kubernetes.io/hostname, kubernetes.io/os, kubernetes.io/arch and their
// beta.kubernetes.io/ twins), then the profile's node.labels on top, so
// slices with a nodeSelector or per-device node selection can match.
Json NodeObject(const std::string& name, const DriverProfile& profile) {
  Json labels = {{"kubernetes.io/hostname", name},
                 {"kubernetes.io/os", "linux"},
                 {"kubernetes.io/arch", KubeletArch()},
                 {"beta.kubernetes.io/os", "linux"},
                 {"beta.kubernetes.io/arch", KubeletArch()}};
  for (const auto& [k, v] : profile.node_labels) labels[k] = v;
  return {
      {"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", name}, {"labels", labels}}}};
}

// SliceWiper(): how the kubelet stand-in deletes the node's ResourceSlices
// (of one driver, "" = all): as the kubelet's DeleteCollection with a
// spec.nodeName[,spec.driver] field selector, through the store.
std::function<Status(const std::string&)> SliceWiper(apiserver::ApiServer& api,
                                                     const std::string& node) {
  return [&api, node](const std::string& driver) {
    std::string selector = "spec.nodeName=" + node;
    if (!driver.empty()) selector += ",spec.driver=" + driver;
    auto slices = api.List("resourceslices", "", "", selector);
    if (!slices.ok()) return slices.status();
    for (const auto& s : *slices) {
      Status st = api.Delete("resourceslices", "", s["metadata"].value("name", ""));
      if (!st.ok() && st.code() != Code::kNotFound) return st;
    }
    return OkStatus();
  };
}

// RefusedSliceWrites(): the ResourceSlice writes the API server refused since
// `since` (by anyone but drahil itself), as lines for a failure message: the
// code, verb, object and the server's message, at most three distinct ones,
// each with how often it came. A driver whose slices are invalid or
// forbidden sees exactly these answers; they say why no pool appeared.
std::string RefusedSliceWrites(const apiserver::ApiServer& api,
                               std::chrono::system_clock::time_point since) {
  struct Seen {
    std::string line;
    int count = 0;
  };
  std::vector<Seen> seen;
  int more = 0;
  for (const auto& e : api.AuditLog()) {
    if (e.time < since || e.code < 400 || e.user == "drahil-admin") continue;
    if (e.resource.rfind("resourceslices", 0) != 0) continue;
    if (e.verb == "get" || e.verb == "list" || e.verb == "watch") continue;
    std::string msg = e.message.size() > 400 ? e.message.substr(0, 400) + "…" : e.message;
    std::string line = std::to_string(e.code) + " " + e.verb + " " + e.resource +
                       (e.name.empty() ? "" : "/" + e.name) + ": " + msg;
    auto it = std::find_if(seen.begin(), seen.end(), [&](const Seen& x) { return x.line == line; });
    if (it != seen.end()) {
      ++it->count;
    } else if (seen.size() < 3) {
      seen.push_back({line, 1});
    } else {
      ++more;
    }
  }
  if (seen.empty()) return "";
  std::string out = "; the API server refused its ResourceSlice writes:";
  for (const auto& x : seen)
    out += "\n  " + x.line + (x.count > 1 ? " (" + std::to_string(x.count) + " times)" : "");
  if (more > 0) out += "\n  and " + std::to_string(more) + " other refusal(s)";
  return out;
}

// DriverPolicy(): the profile's apiserver.rules as the API server's driver
// policy; none (the default node rule set) when the profile gives no rules.
std::optional<apiserver::AccessPolicy> DriverPolicy(const runner::DriverProfile& profile) {
  if (!profile.api.has_rules) return std::nullopt;
  apiserver::AccessPolicy policy;
  policy.user = profile.api.user;
  for (const auto& r : profile.api.rules) {
    policy.rules.push_back({r.api_groups, r.resources, r.verbs, r.resource_names});
  }
  return policy;
}

// InstallProfileObjects(): what a cluster admin installs with the driver:
// the DeviceClasses of the profile's device model and the profile's CRDs.
StepOutcome InstallProfileObjects(CaseContext& ctx, apiserver::ApiServer& api) {
  for (const auto& c : ClassManifests(ctx.profile)) {
    auto made = api.Create("deviceclasses", c);
    if (!made.ok())
      return StepOutcome::FromStatus(made.status(), "create DeviceClass from the driver profile");
    ctx.Record("api", "create DeviceClass " + c["metadata"].value("name", ""), "OK", 0,
               "driver profile");
  }
  for (const auto& path : ctx.profile.api.crds) {
    auto objs = kube::LoadManifests(path);
    if (!objs.ok()) return StepOutcome::FromStatus(objs.status(), "CRDs of the driver profile");
    for (const auto& o : *objs) {
      auto made = api.Create("customresourcedefinitions", o.object);
      if (!made.ok()) return StepOutcome::FromStatus(made.status(), "create CRD from " + o.Where());
      ctx.Record("api", "create CustomResourceDefinition " + o.object["metadata"].value("name", ""),
                 "OK", 0, "driver profile");
    }
  }
  return StepOutcome::Pass();
}

StepOutcome SetUpFresh(CaseContext& ctx, const IntegrationOptions& opts) {
  auto env = std::make_shared<NodeEnv>();
  env->driver = ctx.profile.driver_name;
  env->node = ctx.placeholders["node_name"];
  env->fake_root = ctx.dirs.node_root;
  ctx.SetNode(env);
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
  ao.gates = opts.gates;
  ao.driver_policy = DriverPolicy(ctx.profile);
  auto api = apiserver::ApiServer::Start(ao);
  if (!api.ok()) return StepOutcome::FromStatus(api.status(), "start API server");
  env->api = std::move(*api);
  ctx.cleanup.Add("stop API server", [env] {
    if (env->api) env->api->Stop();
    return OkStatus();
  });
  env->order_seed = opts.allocator_seed;
  env->gates = opts.gates;
  if (auto n = env->api->Create("nodes", NodeObject(env->node, ctx.profile)); !n.ok())
    return StepOutcome::FromStatus(n.status(), "create Node");
  if (StepOutcome o = InstallProfileObjects(ctx, *env->api); !o.passed()) return o;
  std::string kubeconfig = ctx.dirs.state_dir + "/kubeconfig";
  std::string token = env->api->IssueNodeToken(env->node, env->driver);
  if (Status s = env->api->WriteKubeconfig(kubeconfig, token); !s.ok())
    return StepOutcome::FromStatus(s, "kubeconfig");
  if (!opts.kubeconfig_out.empty()) {
    // For a driver started by hand (attach mode): the same node identity.
    if (Status s = env->api->WriteKubeconfig(opts.kubeconfig_out, token); !s.ok())
      return StepOutcome::FromStatus(s, "write --kubeconfig-out");
  }
  if (!opts.attach_registry_dir.empty()) {
    std::fprintf(stderr,
                 "drahil: API server %s; kubeconfig for the driver: %s\n"
                 "drahil: waiting %s for driver %s to register in %s\n",
                 env->api->url().c_str(),
                 opts.kubeconfig_out.empty() ? kubeconfig.c_str() : opts.kubeconfig_out.c_str(),
                 FormatDuration(ctx.profile.timeouts.registration).c_str(), env->driver.c_str(),
                 opts.attach_registry_dir.c_str());
  }
  ctx.placeholders["kubeconfig"] = kubeconfig;
  ctx.Record("apiserver", "start", "OK", 0, env->api->url());

  // 3. The kubelet stand-in.
  env->kubelet = std::make_unique<kubelet::KubeletStandIn>();
  kubelet::KubeletStandIn::Options ko;
  ko.state_dir = ctx.dirs.state_dir + "/kubelet";
  ko.call_timeout = ctx.profile.timeouts.prepare;
  if (opts.pod_sync_backoff) ko.pod_sync_backoff = *opts.pod_sync_backoff;
  // With ResourceHealthStatus the 1.34-1.36 kubelet opens a health stream to
  // every plugin and retries a failed one every 5 s
  // (pkg/kubelet/cm/dra/plugin/dra_plugin_manager.go, DRAPluginManager.add).
  ko.health_mode = opts.gates.Enabled(features::kResourceHealthStatus)
                       ? kubelet::KubeletStandIn::HealthMode::kAlways
                       : kubelet::KubeletStandIn::HealthMode::kOff;
  if (Status s = MakeDirs(ko.state_dir); !s.ok())
    return StepOutcome::FromStatus(s, "kubelet state dir");
  // PodResources is served on a unix socket, whose path must fit sun_path.
  std::string pr_socket = ko.state_dir + "/pod-resources.sock";
  if (pr_socket.size() < 100) {
    ko.podresources_socket = pr_socket;
    env->podresources_socket = pr_socket;
  }
  // The kubelet deletes its node's ResourceSlices at start and 30 s after a
  // driver's last plugin left (DeleteCollection with a spec.nodeName[,
  // spec.driver] field selector); the stand-in does it through the store.
  ko.wipe_slices = SliceWiper(*env->api, env->node);

  std::string registry =
      opts.attach_registry_dir.empty() ? ctx.dirs.registry_dir : opts.attach_registry_dir;
  if (Status s = env->kubelet->Start(registry, ctx.dirs.plugins_dir, ko); !s.ok()) {
    return StepOutcome::FromStatus(s, "start kubelet stand-in");
  }
  ctx.cleanup.Add("stop kubelet stand-in", [env] {
    if (env->kubelet) env->kubelet->Stop();
    return OkStatus();
  });

  auto wall_driver_start = std::chrono::system_clock::now();
  // 4. The driver (not in attach mode), then registration and slices. A case
  // may start it late: the kubelet is up first and must pick up the socket
  // when it appears.
  if (ctx.kase.driver_start_delay.count() > 0 && opts.attach_registry_dir.empty()) {
    ctx.Note("driver started " + FormatDuration(ctx.kase.driver_start_delay) +
             " after the kubelet stand-in");
    if (!ctx.cancel.WaitUntil(Clock::Real().Now() + ctx.kase.driver_start_delay) &&
        ctx.cancel.cancelled()) {
      return StepOutcome::Error("interrupted: " + ctx.cancel.reason(), "Interrupted");
    }
  }
  if (opts.attach_registry_dir.empty()) {
    auto d = DriverProcess::StartForCase(ctx);
    if (!d.ok()) return StepOutcome::FromStatus(d.status(), "start driver");
  }
  auto reg_timeout = std::min<milliseconds>(
      ctx.profile.timeouts.registration,
      std::chrono::duration_cast<milliseconds>(ctx.case_deadline - Clock::Real().Now()));
  auto t1 = Clock::Real().Now();
  // The wait ends early when the driver process exits (it cannot register
  // any more) or the run is interrupted.
  auto reg_deadline = t1 + reg_timeout;
  auto driver = DriverProcess::FromCase(ctx);
  Result<kubelet::PluginState> plugin = DeadlineExceededError("not waited");
  std::optional<ExitInfo> exited;
  for (;;) {
    auto left = std::chrono::duration_cast<milliseconds>(reg_deadline - Clock::Real().Now());
    plugin = env->kubelet->WaitForPlugin(env->driver,
                                         std::clamp(left, milliseconds(0), milliseconds(100)));
    if (plugin.ok() || left <= milliseconds(0)) break;
    if (ctx.cancel.cancelled())
      return StepOutcome::Error("interrupted: " + ctx.cancel.reason(), "Interrupted");
    if (driver && (exited = driver->Exited())) break;
  }
  if (!plugin.ok()) {
    std::string findings;
    for (const auto& f : env->kubelet->Findings()) findings += "\n  " + f.ToString();
    if (exited) {
      return StepOutcome::Fail("driver \"" + env->driver + "\" exited before it registered (" +
                                   exited->Describe() + "; see logs/driver.log)" + findings,
                               "Registration");
    }
    std::string exit =
        driver && !driver->Running() ? " (the driver process has exited; see logs/driver.log)" : "";
    return StepOutcome::Fail("driver \"" + env->driver + "\" did not register within " +
                                 FormatDuration(reg_timeout) + exit +
                                 (findings.empty() ? "" : ":" + findings),
                             "Registration");
  }
  ctx.Record(
      "registration", env->driver, "OK", Ms(Clock::Real().Now() - t1),
      plugin->dra_service + (plugin->health_service.empty() ? "" : " + " + plugin->health_service));
  auto t2 = Clock::Real().Now();
  auto slice_deadline = std::min(t2 + ctx.profile.timeouts.slices, ctx.case_deadline);
  Status pools = PollUntil(Clock::Real(), slice_deadline, CancellablePoll(ctx, milliseconds(50)),
                           "complete ResourceSlice pools",
                           [&] { return PoolsComplete(DriverSlices(*env, env->driver)); });
  if (pools.code() == Code::kCancelled) {
    return StepOutcome::Error("interrupted: " + ctx.cancel.reason(), "Interrupted");
  }
  if (!pools.ok()) {
    return StepOutcome::Fail("driver \"" + env->driver +
                                 "\" published no complete ResourceSlice pool within " +
                                 FormatDuration(ctx.profile.timeouts.slices) +
                                 RefusedSliceWrites(*env->api, wall_driver_start),
                             "Slices");
  }
  ctx.Record("slices", env->driver, "OK", Ms(Clock::Real().Now() - t2),
             std::to_string(DriverSlices(*env, env->driver).size()) + " slice(s)");
  if (auto d = DriverProcess::FromCase(ctx)) env->baseline = DriverUsage(d->pid());
  return StepOutcome::Pass();
}

}  // namespace

// SharedNode: one node environment that several cases use in turn: the whole
// run in attach mode (the driver is not ours to restart per case), or a suite
// marked `environment: shared`. Its directories, API server, kubelet stand-in
// and driver outlive the cases; each case gets it alone (busy) and gives it
// back clean: its pods and claims unprepared, the objects it created deleted,
// faults cleared, the driver running and registered again.
struct SharedNode {
  // Held by the case whose turn it is, from its set-up until its context
  // goes (a lease in CaseContext::Hold()).
  Mutex busy;
  bool ready DRAHIL_GUARDED_BY(busy) = false;
  // A failed first set-up fails every case.
  StepOutcome failed DRAHIL_GUARDED_BY(busy) = StepOutcome::Pass();
  std::optional<TempDir> root DRAHIL_GUARDED_BY(busy);
  CaseDirs dirs DRAHIL_GUARDED_BY(busy);
  std::map<std::string, std::string> placeholders DRAHIL_GUARDED_BY(busy);
  std::shared_ptr<NodeEnv> env DRAHIL_GUARDED_BY(busy);
  std::shared_ptr<DriverProcess> driver DRAHIL_GUARDED_BY(busy);
  CleanupTracker teardown;  // what the first set-up started (thread-safe itself)
  ~SharedNode() { (void)teardown.RunAll(); }
};

struct SharedNodes {
  Mutex mu;
  std::map<std::string, std::shared_ptr<SharedNode>> by_key DRAHIL_GUARDED_BY(mu);
  std::shared_ptr<SharedNode> Get(const std::string& key) DRAHIL_EXCLUDES(mu) {
    MutexLock l(mu);
    auto& n = by_key[key];
    if (!n) n = std::make_shared<SharedNode>();
    return n;
  }
};

namespace {

// ReturnSharedNode(): the end of a case on a shared node. A driver the case
// left stopped or dead is brought back first, so that what the case
// prepared can be unprepared (the driver's checkpoint would otherwise keep
// the devices booked for the next case).
Status ReturnSharedNode(NodeEnv& env, const std::shared_ptr<DriverProcess>& driver) {
  if (driver) {
    if (driver->Running()) (void)driver->Resume();
    if (!driver->Running()) {
      int before = env.kubelet->RegistrationCount(env.driver);
      DRAHIL_RETURN_IF_ERROR_CTX(driver->Restart(),
                                 "returning the shared node: restart the driver");
      // Best effort: the unprepare calls below report a driver still away.
      (void)PollFor(Clock::Real(), std::chrono::seconds(30), {}, "the driver registered again",
                    [&] { return env.kubelet->RegistrationCount(env.driver) > before; });
    }
  }
  std::vector<std::string> pods;
  std::vector<std::tuple<std::string, std::string, std::string>> created;
  {
    MutexLock l(env.mu);
    for (const auto& [ref, uid] : env.pod_uids) pods.push_back(uid);
    created.swap(env.created);
  }
  std::string errors;
  for (const auto& uid : pods) (void)env.kubelet->UnpreparePod(uid);
  // Claims a raw `prepare` left prepared.
  for (const auto& info : env.kubelet->Claims()) {
    auto r = env.kubelet->Unprepare(env.driver, {info.claim});
    if (!r.status.ok() && r.status.code() != Code::kFailedPrecondition)
      errors += "\n  unprepare " + info.claim.namespace_name + "/" + info.claim.name + ": " +
                r.status.message();
  }
  for (auto it = created.rbegin(); it != created.rend(); ++it) {
    const auto& [resource, ns, name] = *it;
    Status st = env.api->Delete(resource, ns, name);
    if (!st.ok() && st.code() != Code::kNotFound)
      errors += "\n  delete " + resource + " " + ns + "/" + name + ": " + st.message();
  }
  if (!errors.empty()) return InternalError("returning the shared node:" + errors);
  return OkStatus();
}

// ResetSharedNode(): the start of a later case on a shared node.
StepOutcome ResetSharedNode(CaseContext& ctx, NodeEnv& env) {
  auto t0 = Clock::Real().Now();
  {
    MutexLock l(env.mu);
    env.api_faults.clear();
    env.timed_faults.clear();
    env.last_call.reset();
    env.cdi_ids.clear();
    env.cdi_covered.clear();
    env.pod_uids.clear();
    env.probe_reports.clear();
  }
  // The API audit log is kept: it counts from the node's start (a shared
  // node's slices were written before this case).
  bool emulated = !env.fake_root.empty() && !ctx.profile.node_profile.empty();
  if (emulated) {
    if (Status s = fakenode::ClearFaults(env.fake_root); !s.ok())
      return StepOutcome::FromStatus(s, "clear device faults");
  }
  int registrations = env.kubelet->RegistrationCount(env.driver);
  bool restarted = false;
  if (auto d = DriverProcess::FromCase(ctx)) {
    if (d->Running()) (void)d->Resume();  // a previous case may have left it stopped (SIGSTOP)
    if (!d->Running()) {
      if (Status s = d->Restart(); !s.ok()) return StepOutcome::FromStatus(s, "restart the driver");
      ctx.Record("process", "restart driver", "pid " + std::to_string(d->pid()), 0,
                 "a previous case left it stopped");
      restarted = true;
    }
  }
  auto deadline = std::min(
      Clock::Real().Now() + ctx.profile.timeouts.registration + ctx.profile.timeouts.slices,
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
  Status settle = PollUntil(Clock::Real(), deadline, CancellablePoll(ctx, milliseconds(50)),
                            "the shared node to settle", settled);
  if (settle.code() == Code::kCancelled)
    return StepOutcome::Error("interrupted: " + ctx.cancel.reason(), "Interrupted");
  if (!settle.ok()) {
    return StepOutcome::Fail(
        "the shared node did not settle (driver registered, pools complete, devices healthy) "
        "within " +
            FormatDuration(ctx.profile.timeouts.registration + ctx.profile.timeouts.slices),
        "SharedNode");
  }
  env.calls_before = env.kubelet->CallCounts();
  if (auto d = DriverProcess::FromCase(ctx)) env.baseline = DriverUsage(d->pid());
  ctx.Record("node", "reuse shared node", "OK", Ms(Clock::Real().Now() - t0), ctx.dirs.root);
  return StepOutcome::Pass();
}

// CancelDriverCalls(): while the case runs, SIGINT/SIGTERM cut its driver
// calls in flight short and refuse later ones (its cleanup's included), so
// an interrupted run ends at once even when the driver hangs.
void CancelDriverCalls(CaseContext& ctx) {
  auto env = Env(ctx);
  if (!env || !env->kubelet) return;
  int hook =
      ctx.cancel.OnCancel([env](const std::string& reason) { env->kubelet->CancelCalls(reason); });
  ctx.cleanup.Add("forget the cancel hook", [&cancel = ctx.cancel, hook] {
    cancel.RemoveOnCancel(hook);
    return OkStatus();
  });
}

StepOutcome SetUpNodeFor(CaseContext& ctx, const IntegrationOptions& opts, SharedNodes& shared) {
  if (opts.allocator_seed) ctx.Property("allocator.seed", std::to_string(*opts.allocator_seed));
  std::string key = !opts.attach_registry_dir.empty()                  ? "attach"
                    : ctx.suite.shared_environment || opts.shared_node ? "suite/" + ctx.suite.name
                                                                       : "";
  if (key.empty()) return SetUpFresh(ctx, opts);
  auto node = shared.Get(key);
  auto lease =
      std::make_shared<std::unique_lock<Mutex>>(node->busy);  // until the case's context goes
  ctx.Hold(lease);
  // The lease holds busy past this function, where the analysis cannot
  // follow it (a lock owned by the case's context).
  node->busy.AssertHeld();
  if (!node->failed.passed()) return node->failed;
  if (!node->ready) {
    // First case: the node lives in its own directory, not the case's.
    auto root = TempDir::Create("drahil-shared-");
    if (!root.ok()) return StepOutcome::FromStatus(root.status(), "shared node directory");
    (void)root->MarkOwned();  // left to the next run if this one is killed
    node->root.emplace(std::move(*root));
    auto dirs = PrepareCaseDirs(node->root->path());
    if (!dirs.ok()) return StepOutcome::FromStatus(dirs.status(), "shared node directories");
    if (!opts.attach_cdi_dir.empty()) dirs->cdi_dir = opts.attach_cdi_dir;
    ctx.dirs = *dirs;
    for (auto& [k, v] : ctx.dirs.Placeholders()) ctx.placeholders[k] = v;
    StepOutcome o = SetUpFresh(ctx, opts);
    ctx.cleanup.MoveInto(node->teardown);  // API server, kubelet and driver stay up
    node->dirs = ctx.dirs;
    node->placeholders = ctx.placeholders;
    node->env = ctx.Node();
    node->driver = ctx.Driver();
    if (!o.passed()) {
      node->failed = o;
      return o;
    }
    node->ready = true;
  } else {
    ctx.dirs = node->dirs;
    for (const auto& [k, v] : node->placeholders) ctx.placeholders[k] = v;
    ctx.SetNode(node->env);
    ctx.SetDriver(node->driver);
  }
  auto env = Env(ctx);
  env->shared = true;
  ctx.cleanup.Add("return the shared node", [env, driver = DriverProcess::FromCase(ctx)] {
    return ReturnSharedNode(*env, driver);
  });
  return ResetSharedNode(ctx, *env);
}

}  // namespace

StepOutcome SetUpNode(CaseContext& ctx, const IntegrationOptions& opts, SharedNodes& shared) {
  StepOutcome o = SetUpNodeFor(ctx, opts, shared);
  CancelDriverCalls(ctx);
  return o;
}

std::shared_ptr<SharedNodes> MakeSharedNodes() { return std::make_shared<SharedNodes>(); }

std::string ExplainDroppedFields(CaseContext& ctx) {
  auto env = Env(ctx);
  if (!env || !env->api) return "";
  auto dropped = env->api->DroppedFields();
  if (dropped.empty()) return "";
  // One line per object and gate, at most kMaxLines of them.
  constexpr size_t kMaxLines = 8;
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> by_object_gate;
  for (const auto& d : dropped) {
    std::string object = d.resource + " " + (d.ns.empty() ? "" : d.ns + "/") + d.name;
    auto& fields = by_object_gate[{object, d.gate}];
    if (std::find(fields.begin(), fields.end(), d.field) == fields.end()) fields.push_back(d.field);
  }
  std::string out = "note: the API server (Kubernetes " + env->gates.version().ToString() +
                    ") dropped fields from objects written in this case, as kube-apiserver does "
                    "when their feature gate is off:";
  size_t n = 0;
  for (const auto& [key, fields] : by_object_gate) {
    if (n++ == kMaxLines) {
      out += "\n  ... and " + std::to_string(by_object_gate.size() - kMaxLines) + " more";
      break;
    }
    std::string list;
    for (size_t i = 0; i < fields.size() && i < 3; ++i) list += (i ? ", " : "") + fields[i];
    if (fields.size() > 3) list += ", ... (" + std::to_string(fields.size()) + " fields)";
    out += "\n  " + key.first + ": " + list + " — gate " + env->gates.Describe(key.second);
  }
  return out;
}

}  // namespace drahil::node
