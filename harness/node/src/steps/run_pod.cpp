#include <filesystem>

#include "drahil/allocator/allocator.hpp"
#include "drahil/cdi/audit.hpp"
#include "drahil/cdi/registry.hpp"
#include "drahil/sandbox/sandbox.hpp"
#include "steps.hpp"

namespace drahil::node {
namespace {

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
    std::string ref = step.params.is_string() ? step.params.get<std::string>()
                                              : step.params["pod"].get<std::string>();
    return RunOne(step, ref, opts, ctx, env);
  }

 private:
  using ExtendedClaims =
      std::map<std::string, std::vector<kubelet::ContainerClaim>>;  // container → (claim, request)
  using ClaimDevices = std::map<std::string, std::vector<kubelet::Device>>;  // ns/claim → devices
  using PodClaimNames = std::vector<std::pair<std::string, std::string>>;    // (pod claim, claim)

  StepOutcome RunOne(const Step& step, const std::string& ref, const Json& opts, CaseContext& ctx,
                     const std::shared_ptr<NodeEnv>& env) {
    auto [ns, name] = SplitRef(ref);
    {
      MutexLock l(env->mu);
      env->probe_reports[ref].clear();
    }
    auto pc_names = PodClaims(ctx, *env, ns, name);
    if (!pc_names.ok())
      return StepOutcome::Error("run-pod " + ref + ": " + pc_names.status().message(),
                                "SuiteError");
    auto pod = env->api->Get("pods", ns, name);
    if (!pod.ok())
      return StepOutcome::Error("run-pod " + ref + ": " + pod.status().message(), "SuiteError");
    ExtendedClaims ext_claims;
    if (StepOutcome o = ExtendedResourceClaim(ctx, *env, ref, ns, *pod, *pc_names, ext_claims);
        !o.passed())
      return o;
    const Json& spec = (*pod)["spec"];

    kubelet::Pod kp;
    kp.namespace_name = ns;
    kp.name = name;
    kp.uid = (*pod)["metadata"].value("uid", "");
    std::map<std::string, std::string> claim_of;  // pod claim name → ns/claim
    if (auto ended = AllocatePending(step, ctx, *env, ref, ns, *pc_names, opts)) {
      if (ended->verdict == Verdict::kPass || ended->type == "Unschedulable" ||
          ended->type == "Forbidden" || ended->type == "FeatureGate")
        MarkUnschedulable(*env, ns, name);
      return *ended;
    }
    if (auto ended = ReserveAndBind(ctx, *env, ns, *pod, *pc_names, opts, kp, claim_of))
      return *ended;
    if (opts.value("expect-schedule", "scheduled") == "unschedulable") {
      return StepOutcome::Fail(
          "pod " + ref +
              " was scheduled (all its claims allocated); expected it to stay unschedulable",
          "Scheduled");
    }
    for (const auto& ct : spec.value("containers", Json::array()))
      kp.containers.push_back(PodContainer(ct, ext_claims));
    BindPod(ctx, *env, ns, name);

    auto t0 = Clock::Real().Now();
    kubelet::PodResult prep = SyncPod(ctx, *env, ref, kp);
    ClaimDevices devices = PreparedDevices(ctx, prep);
    bool want_failed = opts.value("expect-start", "started") == "failed";
    if (!prep.status.ok()) {
      if (ctx.cancel.cancelled())
        return StepOutcome::Error("interrupted: " + ctx.cancel.reason(), "Interrupted");
      // The stand-in's own checkpoint write failed (a full disk): drahil's
      // environment, not the driver.
      if (prep.checkpoint_failed) return StepOutcome::Error(prep.status.message(), "Checkpoint");
      MarkPrepareFailed(*env, ns, name, prep.status.message());
      if (want_failed) {
        ctx.Note("pod " + ref + " did not start, as expected: " + prep.status.message());
        return StepOutcome::Pass();
      }
      return StepOutcome::Fail("preparing pod " + ref + " failed: " + prep.status.message(),
                               "PrepareFailed");
    }
    if (want_failed) {
      // Prepared: the cleanup below still unprepares it.
      ctx.cleanup.Add("unprepare pod " + ref,
                      [env, uid = kp.uid] { return env->kubelet->UnpreparePod(uid).status; });
      return StepOutcome::Fail("pod " + ref +
                                   " started (its resources were prepared); expected the driver "
                                   "to refuse them",
                               "Started");
    }
    AddCachedDevices(*env, kp, devices);
    if (!opts.value("keep-prepared", false)) {
      ctx.cleanup.Add("unprepare pod " + ref,
                      [env, uid = kp.uid] {  // CleanupTracker is thread-safe
                        auto r = env->kubelet->UnpreparePod(uid);
                        return r.status;
                      });
    }
    RememberPod(*env, ref, kp.uid, devices);
    MarkRunning(*env, ns, name);

    StepOutcome result = StepOutcome::Pass();
    Json terminated = Json::object();  // container name → its terminated state
    for (const auto& ct : spec.value("containers", Json::array())) {
      StepOutcome o = RunContainer(
          ctx, *env, ref, ct, claim_of, devices, opts, ext_claims[ct.value("name", "")],
          spec.contains("hostNetwork") && spec["hostNetwork"].is_boolean() &&
              spec["hostNetwork"].get<bool>(),
          &terminated);
      if (!o.passed()) {
        result = o;
        break;
      }
    }
    if (!ctx.cancel.cancelled()) MarkFinished(*env, ns, name, terminated);
    ctx.Record("pod", ref, std::string(reports::VerdictName(result.verdict)),
               Ms(Clock::Real().Now() - t0));
    return result;
  }

  // Pod lifecycle as the API shows it to a driver that watches pods: the
  // scheduler binds the pod to the node (pods/binding sets spec.nodeName) or
  // marks it unschedulable; the kubelet's status manager writes the phase and
  // container states (pkg/kubelet/status, pkg/kubelet/kubelet_pods.go
  // getPhase()). Best effort: a pod object the case deleted meanwhile is left
  // alone, and the verdict never depends on these writes.
  template <typename Fn>
  static void EditPod(NodeEnv& env, const std::string& ns, const std::string& name, bool spec,
                      Fn&& edit) {
    for (int attempt = 0; attempt < 3; ++attempt) {  // a conflict: read again
      auto pod = env.api->Get("pods", ns, name);
      if (!pod.ok()) return;
      edit(*pod);
      auto r = spec ? env.api->Update("pods", *pod) : env.api->UpdateStatus("pods", *pod);
      if (r.ok() || r.status().code() != Code::kAborted) return;
    }
  }
  static void SetCondition(Json& pod, const std::string& type, const std::string& status,
                           const std::string& reason = "", const std::string& message = "") {
    Json c = {{"type", type},
              {"status", status},
              {"lastProbeTime", nullptr},
              {"lastTransitionTime", FormatRfc3339(std::chrono::system_clock::now())}};
    if (!reason.empty()) c["reason"] = reason;
    if (!message.empty()) c["message"] = message;
    Json& conds = pod["status"]["conditions"];
    if (!conds.is_array()) conds = Json::array();
    for (auto& old : conds) {
      if (old.value("type", "") != type) continue;
      if (old.value("status", "") == status) c["lastTransitionTime"] = old["lastTransitionTime"];
      old = c;
      return;
    }
    conds.push_back(c);
  }
  static Json ContainerStatuses(const Json& pod, const std::function<Json(const Json&)>& state) {
    Json out = Json::array();
    for (const auto& ct : pod["spec"].value("containers", Json::array())) {
      Json st = state(ct);
      bool running = st.contains("running");
      out.push_back({{"name", ct.value("name", "")},
                     {"image", ct.value("image", "")},
                     {"imageID", ""},
                     {"ready", running},
                     {"started", running},
                     {"restartCount", 0},
                     {"state", st}});
    }
    return out;
  }
  // BindPod(): the scheduler's Bind (DefaultBinder → pods/binding) sets
  // spec.nodeName; PodScheduled turns True.
  static void BindPod(CaseContext& ctx, NodeEnv& env, const std::string& ns,
                      const std::string& name) {
    EditPod(env, ns, name, true, [&](Json& pod) { pod["spec"]["nodeName"] = env.node; });
    EditPod(env, ns, name, false, [&](Json& pod) { SetCondition(pod, "PodScheduled", "True"); });
    ctx.Record("scheduler", "bind pod " + ns + "/" + name, "OK", 0, "node " + env.node);
  }
  // MarkUnschedulable(): the scheduler's FitError on a one-node cluster when
  // the DRA plugin's Filter refuses it (dynamicresources: "cannot allocate
  // all claims"; schedule_one.go: the preemption part).
  static void MarkUnschedulable(NodeEnv& env, const std::string& ns, const std::string& name) {
    EditPod(env, ns, name, false, [](Json& pod) {
      SetCondition(pod, "PodScheduled", "False", "Unschedulable",
                   "0/1 nodes are available: 1 cannot allocate all claims. preemption: 0/1 "
                   "nodes are available: 1 Preemption is not helpful for scheduling.");
    });
  }
  // MarkPrepareFailed(): the kubelet leaves the pod Pending, its containers
  // waiting in ContainerCreating, and records a FailedPrepareDynamicResources
  // event (pkg/kubelet/kubelet.go SyncPod → PrepareDynamicResources).
  static void MarkPrepareFailed(NodeEnv& env, const std::string& ns, const std::string& name,
                                const std::string& message) {
    Json involved;
    EditPod(env, ns, name, false, [&](Json& pod) {
      pod["status"]["phase"] = "Pending";
      pod["status"]["containerStatuses"] = ContainerStatuses(pod, [](const Json&) {
        return Json{{"waiting", {{"reason", "ContainerCreating"}}}};
      });
      involved = {{"kind", "Pod"},
                  {"apiVersion", "v1"},
                  {"namespace", ns},
                  {"name", name},
                  {"uid", pod["metadata"].value("uid", "")}};
    });
    if (involved.is_null()) return;
    auto t = std::chrono::system_clock::now();
    std::string now = FormatRfc3339(t);
    // The recorder names an event "<object>.<UnixNano in hex>"
    // (client-go tools/record/event.go makeEvent()).
    char nano[24];
    std::snprintf(
        nano, sizeof nano, "%llx",
        static_cast<unsigned long long>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count()));
    auto made =
        env.api->Create("events", {{"apiVersion", "v1"},
                                   {"kind", "Event"},
                                   {"metadata", {{"name", name + "." + nano}, {"namespace", ns}}},
                                   {"involvedObject", involved},
                                   {"reason", "FailedPrepareDynamicResources"},
                                   {"message", "Failed to prepare dynamic resources: " + message},
                                   {"type", "Warning"},
                                   {"source", {{"component", "kubelet"}, {"host", env.node}}},
                                   {"reportingComponent", "kubelet"},
                                   {"reportingInstance", env.node},
                                   {"firstTimestamp", now},
                                   {"lastTimestamp", now},
                                   {"count", 1}});
    (void)made;  // best effort, as the kubelet's event recorder
  }
  // MarkRunning(): resources prepared, containers started: Running, Ready.
  static void MarkRunning(NodeEnv& env, const std::string& ns, const std::string& name) {
    std::string now = FormatRfc3339(std::chrono::system_clock::now());
    EditPod(env, ns, name, false, [&](Json& pod) {
      pod["status"]["phase"] = "Running";
      pod["status"]["startTime"] = now;
      for (const char* c : {"PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady"})
        SetCondition(pod, c, "True");
      pod["status"]["containerStatuses"] = ContainerStatuses(pod, [&](const Json&) {
        return Json{{"running", {{"startedAt", now}}}};
      });
    });
  }
  // MarkFinished(): every container has run once (probe pods run to
  // completion): Succeeded when all exited 0, else Failed, as getPhase()
  // decides for restartPolicy Never/OnFailure; a container that never ran
  // (an earlier one failed the step) counts as failed.
  static void MarkFinished(NodeEnv& env, const std::string& ns, const std::string& name,
                           const Json& terminated) {
    EditPod(env, ns, name, false, [&](Json& pod) {
      bool ok = true;
      pod["status"]["containerStatuses"] = ContainerStatuses(pod, [&](const Json& ct) {
        auto it = terminated.find(ct.value("name", ""));
        if (it == terminated.end()) {
          ok = false;
          return Json{{"terminated", {{"exitCode", 137}, {"reason", "ContainerStatusUnknown"}}}};
        }
        if ((*it)["exitCode"] != 0) ok = false;
        return Json{{"terminated", *it}};
      });
      pod["status"]["phase"] = ok ? "Succeeded" : "Failed";
      for (const char* c : {"Ready", "ContainersReady"})
        SetCondition(pod, c, "False", "PodCompleted");
    });
  }

  // ExtendedResourceClaim(): extended resources backed by DRA (KEP-5004): the
  // scheduler makes the pod's special claim and records it in
  // pod.status.extendedResourceClaimStatus; the kubelet maps each container's
  // resource to a request of that claim. The claim joins pc_names, the
  // mapping ext_claims.
  static StepOutcome ExtendedResourceClaim(CaseContext& ctx, NodeEnv& env, const std::string& ref,
                                           const std::string& ns, Json& pod,
                                           PodClaimNames& pc_names, ExtendedClaims& ext_claims) {
    auto classes = env.api->List("deviceclasses").value_or(std::vector<Json>{});
    auto ext = allocator::BuildExtendedResourceClaim(pod, classes);
    if (!ext.ok())
      return StepOutcome::Error("run-pod " + ref + ": " + ext.status().message(), "SuiteError");
    if (ext->claim.is_null()) return StepOutcome::Pass();
    std::string cname = ext->claim["metadata"]["name"];
    if (!env.api->Get("resourceclaims", ns, cname).ok()) {
      auto c = env.api->Create("resourceclaims", ext->claim);
      if (!c.ok())
        return StepOutcome::FromStatus(c.status(), "create extended-resource claim " + cname);
      env.Created("resourceclaims", *c);
      ctx.Record("api", "create ResourceClaim " + ns + "/" + cname, "OK", 0,
                 "extended resources of pod " + ref);
    }
    Json updated = pod;
    updated["status"]["extendedResourceClaimStatus"] = ext->status;
    auto u = env.api->UpdateStatus("pods", updated);
    if (!u.ok())
      return StepOutcome::FromStatus(u.status(), "pod status extendedResourceClaimStatus");
    pod = *u;
    pc_names.emplace_back(cname, cname);
    for (const auto& m : ext->status.value("requestMappings", Json::array()))
      ext_claims[m.value("containerName", "")].push_back({cname, m.value("requestName", "")});
    return StepOutcome::Pass();
  }

  // AllocatePending(): the scheduler allocates all of a pod's pending claims
  // in one search (dynamicresources Filter → structured Allocator.Allocate
  // with every claim of the pod), never one claim after the other. Set when
  // the pod's run ends here (an error, or unschedulable as expected).
  std::optional<StepOutcome> AllocatePending(const Step& step, CaseContext& ctx, NodeEnv& env,
                                             const std::string& ref, const std::string& ns,
                                             const PodClaimNames& pc_names, const Json& opts) {
    std::vector<std::string> pending;
    for (const auto& [pc_name, cname] : pc_names) {
      auto claim = env.api->Get("resourceclaims", ns, cname);
      if (!claim.ok())
        return StepOutcome::Error("pod claim " + cname + ": " + claim.status().message(),
                                  "SuiteError");
      if (!(*claim).contains("status") || !(*claim)["status"].contains("allocation"))
        pending.push_back(ns + "/" + cname);
    }
    if (pending.empty()) return std::nullopt;
    Step alloc;
    alloc.kind = "allocate";
    alloc.params = {{"claims", pending}};
    alloc.where = step.where;
    StepOutcome o = allocate_->Run(alloc, ctx);
    if (o.passed()) return std::nullopt;
    if (opts.value("expect-schedule", "scheduled") == "unschedulable" &&
        o.verdict == Verdict::kFail && (o.type == "Unschedulable" || o.type == "Forbidden")) {
      ctx.Note("pod " + ref + " is unschedulable, as expected: " + o.message);
      return StepOutcome::Pass();
    }
    return o;
  }

  // ReserveAndBind(): per claim, the scheduler reserves it for the pod, then
  // waits in PreBind for the devices' binding conditions (KEP-5007); the
  // claim joins the kubelet's pod. Set when the pod's run ends here.
  static std::optional<StepOutcome> ReserveAndBind(CaseContext& ctx, NodeEnv& env,
                                                   const std::string& ns, const Json& pod,
                                                   const PodClaimNames& pc_names, const Json& opts,
                                                   kubelet::Pod& kp,
                                                   std::map<std::string, std::string>& claim_of) {
    for (const auto& [pc_name, cname] : pc_names) {
      if (Status s = Reserve(env, ns, cname, pod); !s.ok())
        return StepOutcome::FromStatus(s, "reserve claim " + cname);
      bool bound = false;
      StepOutcome b = WaitForBinding(ctx, env, ns, cname, opts, bound);
      if (!b.passed() || !bound) return b;
      auto claim = env.api->Get("resourceclaims", ns, cname);
      if (!claim.ok()) return StepOutcome::FromStatus(claim.status(), "reload claim");
      kubelet::PodClaim c;
      c.name = pc_name;
      c.claim = {ns, (*claim)["metadata"].value("uid", ""), cname};
      std::set<std::string> drivers;
      for (const auto& r :
           (*claim)["status"]["allocation"]["devices"].value("results", Json::array()))
        drivers.insert(r.value("driver", ""));
      c.drivers.assign(drivers.begin(), drivers.end());
      kp.claims.push_back(c);
      claim_of[c.name] = ns + "/" + cname;
    }
    return std::nullopt;
  }

  // PodContainer(): a container of the pod spec as the kubelet sees it: its
  // claims, and the requests of the extended-resource claim it maps to.
  static kubelet::Container PodContainer(const Json& ct, ExtendedClaims& ext_claims) {
    kubelet::Container c;
    c.name = ct.value("name", "");
    for (const auto& rc : ct.value("resources", Json::object()).value("claims", Json::array()))
      c.claims.push_back({rc.value("name", ""), rc.value("request", "")});
    for (const auto& e : ext_claims[c.name]) c.claims.push_back(e);
    return c;
  }

  // SyncPod(): the kubelet's pod sync as far as DRA goes: PreparePod(), and
  // after a failure the pod worker's retry once its backoff has passed
  // (KubeletStandIn::PodSyncBackoff()), as long as the step's time left
  // holds the wait plus a second for the call, at most PodSyncRetries()
  // times. A driver whose first prepare fails transiently therefore passes,
  // as the pod would start in a cluster. The calls of failed attempts go to
  // the case's log; the result is the last attempt's, its message counting
  // the attempts.
  static kubelet::PodResult SyncPod(CaseContext& ctx, NodeEnv& env, const std::string& ref,
                                    const kubelet::Pod& kp) {
    kubelet::PodResult prep = env.kubelet->PreparePod(kp, StepCallOptions(ctx));
    int attempt = 1;
    for (; !prep.status.ok() && !prep.checkpoint_failed && attempt <= env.kubelet->PodSyncRetries();
         ++attempt) {
      auto wait = env.kubelet->PodSyncBackoff(kp.uid, attempt);
      if (ctx.Remaining() < wait + std::chrono::seconds(1)) break;
      (void)PreparedDevices(ctx, prep);
      ctx.Record("pod", "sync " + ref, "Backoff", 0,
                 "attempt " + std::to_string(attempt) + " failed (" + prep.status.message() +
                     "); the kubelet syncs the pod again in " + FormatDuration(wait));
      if (!ctx.Sleep(wait)) break;
      prep = env.kubelet->PreparePod(kp, StepCallOptions(ctx));
    }
    if (!prep.status.ok() && attempt > 1) {
      prep.status =
          Status(prep.status.code(), prep.status.message() + " (" + std::to_string(attempt) +
                                         " pod syncs, the kubelet's backoff between)");
    }
    return prep;
  }

  // PreparedDevices(): the pod's prepare calls into the case's log and
  // measurements; the devices they returned, by claim.
  static ClaimDevices PreparedDevices(CaseContext& ctx, const kubelet::PodResult& prep) {
    ClaimDevices devices;
    for (const auto& call : prep.calls) {
      ctx.Record("grpc", call.record.api + "/" + call.record.method,
                 std::string(CodeName(call.record.code)),
                 std::chrono::duration<double, std::milli>(call.record.latency).count(),
                 call.status.ok() ? "" : call.status.message());
      ctx.Measure({std::string(reports::kPrepareLatency),
                   std::chrono::duration<double, std::milli>(call.record.latency).count(),
                   "ms",
                   "",
                   {}});
      for (const auto& cr : call.claims)
        for (const auto& d : cr.devices)
          devices[cr.claim.namespace_name + "/" + cr.claim.name].push_back(d);
    }
    return devices;
  }

  // AddCachedDevices(): a claim another pod prepared already gets no call:
  // its devices come from the kubelet's claim-info cache, as the kubelet's do.
  static void AddCachedDevices(NodeEnv& env, const kubelet::Pod& kp, ClaimDevices& devices) {
    for (const auto& pc : kp.claims) {
      std::string key = pc.claim.namespace_name + "/" + pc.claim.name;
      if (devices.count(key)) continue;
      for (const auto& info : env.kubelet->Claims()) {
        if (info.claim.uid != pc.claim.uid) continue;
        for (const auto& [driver, list] : info.drivers)
          devices[key].insert(devices[key].end(), list.begin(), list.end());
      }
    }
  }

  // RememberPod(): the pod's UID (a shared node unprepares it when the case
  // ends) and its claims' CDI IDs, for the expectations.
  static void RememberPod(NodeEnv& env, const std::string& ref, const std::string& uid,
                          const ClaimDevices& devices) {
    MutexLock l(env.mu);
    env.pod_uids[ref] = uid;
    for (const auto& [key, list] : devices)
      for (const auto& d : list) {
        env.cdi_ids[key].insert(env.cdi_ids[key].end(), d.cdi_device_ids.begin(),
                                d.cdi_device_ids.end());
        if (!d.cdi_device_ids.empty())
          env.cdi_covered[key].insert(d.pool_name + "/" + d.device_name);
      }
  }

  // Reserve(): adds the pod to the claim's status.reservedFor (once).
  static Status Reserve(NodeEnv& env, const std::string& ns, const std::string& claim_name,
                        const Json& pod) {
    MutexLock serial(env.alloc_mu);
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
  static StepOutcome WaitForBinding(CaseContext& ctx, NodeEnv& env, const std::string& ns,
                                    const std::string& cname, const Json& opts, bool& bound) {
    bound = false;
    std::string want = opts.value("expect-binding", "bound");
    auto timeout = opts.contains("binding-timeout")
                       ? std::chrono::duration_cast<std::chrono::seconds>(
                             *ParseDuration(opts["binding-timeout"].get<std::string>()))
                       : allocator::kDefaultBindingTimeout;
    auto t0 = Clock::Real().Now();
    std::optional<StepOutcome> ended;  // set by the check when the wait is over
    std::string pending;               // why the claim still waits, from the last check
    Status polled = PollUntil(
        Clock::Real(), ctx.step_deadline, CancellablePoll(ctx, milliseconds(100)),
        "binding conditions of claim " + ns + "/" + cname, [&] {
          auto c = env.api->Get("resourceclaims", ns, cname);
          if (!c.ok()) {
            ended = StepOutcome::FromStatus(c.status(), "claim " + cname);
            return true;
          }
          // Binding timeouts compare against the claim's API timestamps: wall time.
          auto bs = allocator::EvaluateBindingConditions(*c, Clock::Real().WallNow(), timeout);
          if (bs.state == allocator::BindingState::kNotRequired ||
              bs.state == allocator::BindingState::kReady) {
            if (bs.state == allocator::BindingState::kReady)
              ctx.Record("bind", ns + "/" + cname, "Ready", Ms(Clock::Real().Now() - t0),
                         bs.reason);
            if (want != "bound") {
              ended = StepOutcome::Fail(
                  "claim " + ns + "/" + cname + " was bound; expected binding " + want, "Binding");
            } else {
              bound = true;
              ended = StepOutcome::Pass();
            }
            return true;
          }
          if (bs.state == allocator::BindingState::kFailed ||
              bs.state == allocator::BindingState::kTimedOut) {
            std::string got = bs.state == allocator::BindingState::kFailed ? "failed" : "timeout";
            Json claim = *c;
            {
              MutexLock serial(env.alloc_mu);
              allocator::Deallocate(claim);
              auto u = env.api->UpdateStatus("resourceclaims", claim);
              if (!u.ok()) {
                ended = StepOutcome::FromStatus(u.status(), "deallocate " + cname);
                return true;
              }
            }
            ctx.Record("bind", ns + "/" + cname, got, Ms(Clock::Real().Now() - t0),
                       bs.reason + "; claim deallocated");
            if (want == got) {
              ended = StepOutcome::Pass();
            } else {
              ended = StepOutcome::Fail(
                  "binding of claim " + ns + "/" + cname + " " +
                      (got == "failed" ? "failed" : "timed out after " + FormatDuration(timeout)) +
                      " (" + bs.reason + "); the scheduler deallocated it",
                  got == "failed" ? "BindingFailed" : "BindingTimeout");
            }
            return true;
          }
          pending = bs.reason;
          return false;
        });
    if (ended) return *ended;
    if (polled.code() == Code::kCancelled) return StepOutcome::Error("interrupted", "Interrupted");
    return StepOutcome::Fail("claim " + ns + "/" + cname +
                                 " still waits for binding conditions at the step deadline (" +
                                 pending + ")",
                             "BindingPending");
  }

  // SliceDeviceValue(): a capacity (its quantity) or attribute (its value)
  // of a device as the driver's ResourceSlice publishes it.
  static std::optional<std::string> SliceDeviceValue(NodeEnv& env, const kubelet::Device& dev,
                                                     const std::string& what,
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
        if (what == "capacity")
          return it->contains("value")
                     ? std::optional<std::string>((*it)["value"].get<std::string>())
                     : std::nullopt;
        for (const auto& [k, v] : it->items())
          return v.is_string() ? v.get<std::string>() : v.dump();
        return std::nullopt;
      }
    }
    return std::nullopt;
  }

  StepOutcome RunContainer(CaseContext& ctx, NodeEnv& env, const std::string& pod, const Json& ct,
                           const std::map<std::string, std::string>& claim_of,
                           ClaimDevices& devices, const Json& opts,
                           const std::vector<kubelet::ContainerClaim>& extended, bool host_network,
                           Json* terminated) {
    std::string cname = ct.value("name", "");
    ContainerDevices mine = DevicesOf(ct, claim_of, devices, extended);
    sandbox::SandboxSpec sb;
    if (StepOutcome o = ResolveCdi(ctx, env, cname, mine.ids, sb.edits); !o.passed()) return o;
    for (const auto& a : ct.value("command", Json::array()))
      sb.argv.push_back(a.get<std::string>());
    for (const auto& a : ct.value("args", Json::array())) sb.argv.push_back(a.get<std::string>());
    if (StepOutcome o = ExpandDeviceRefs(env, cname, mine.first, sb.argv); !o.passed()) return o;
    if (sb.argv.empty())
      return StepOutcome::Error("container " + cname + " has no command (pods run their probe)",
                                "SuiteError");
    bool env_probe = ctx.profile.probe.backend == "env" && IsProbe(ct, sb.argv);
    if (env_probe) {
      if (StepOutcome o = UseEnvBackend(ctx, cname, sb.argv); !o.passed()) return o;
    }
    if (ctx.profile.probe.backend == "exec" && IsProbe(ct, sb.argv)) {
      if (StepOutcome o = UseExecBackend(ctx, cname, sb.argv); !o.passed()) return o;
    }
    CompleteSandbox(ctx, env, ct, sb);
    // The pod's spec.hostNetwork, as Kubernetes spells it: the container
    // shares the node's network; otherwise it gets its own, loopback only.
    sb.host_network = host_network;
    sb.timeout = std::chrono::duration_cast<milliseconds>(ctx.Remaining());
    auto t0 = Clock::Real().Now();
    auto r = sandbox::Sandbox::Run(sb);
    if (!r.ok()) {
      if (r.status().code() == Code::kUnavailable)
        return StepOutcome::Skip("sandbox unavailable: " + r.status().message());
      return StepOutcome::FromStatus(r.status(), "run container " + cname);
    }
    ctx.Record("probe", pod + "/" + cname + ": " + sb.argv[0], r->exit.Describe(),
               Ms(Clock::Real().Now() - t0), r->stderr_text.substr(0, 2000));
    // As the container runtime reports a finished container: exit code 128+N
    // for a signal, reason Completed or Error.
    int code = r->exit.signaled ? 128 + r->exit.signal : r->exit.exit_code;
    (*terminated)[cname] = {{"exitCode", code},
                            {"reason", code == 0 ? "Completed" : "Error"},
                            {"startedAt", FormatRfc3339(std::chrono::system_clock::now())},
                            {"finishedAt", FormatRfc3339(std::chrono::system_clock::now())}};
    if (r->exit.signaled) (*terminated)[cname]["signal"] = r->exit.signal;
    if (r->timed_out)
      return StepOutcome::Fail("container " + cname + " did not finish before the step deadline",
                               "ProbeTimeout");

    if (env_probe) r->result_json = EnvProbeReport(ctx, env, r->stdout_text, mine.served).dump();
    std::string verdict = r->exit.success() ? "pass" : "fail";
    Json report = Json::object();
    if (!r->result_json.empty()) {
      try {
        report = Json::parse(r->result_json);
        verdict = report.value("verdict", verdict);
      } catch (const std::exception&) {
        return StepOutcome::Error("container " + cname + " wrote a result that is not JSON",
                                  "ProbeOutput");
      }
      MeasureProbe(ctx, cname, report);
    }
    {
      Json kept = report;
      kept["verdict"] = verdict;
      MutexLock l(env.mu);
      env.probe_reports[pod].emplace_back(cname, std::move(kept));
    }
    return CheckContainer(opts, cname, *r, verdict, report);
  }

  // ContainerDevices: the devices of its pod a container uses.
  struct ContainerDevices {
    std::vector<std::string> ids;          // their CDI IDs
    std::optional<kubelet::Device> first;  // for {device.*} in the command
    std::vector<kubelet::Device> served;   // every device the container uses
  };

  // DevicesOf(): the devices serving the container's claims (and requests,
  // when it names one) and its extended resources.
  static ContainerDevices DevicesOf(const Json& ct,
                                    const std::map<std::string, std::string>& claim_of,
                                    ClaimDevices& devices,
                                    const std::vector<kubelet::ContainerClaim>& extended) {
    ContainerDevices out;
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
                      std::find(d.request_names.begin(), d.request_names.end(), request) !=
                          d.request_names.end();
        if (serves) {
          out.ids.insert(out.ids.end(), d.cdi_device_ids.begin(), d.cdi_device_ids.end());
          out.served.push_back(d);
          if (!out.first) out.first = d;
        }
      }
    }
    return out;
  }

  // ResolveCdi(): the container's CDI IDs against the spec files in the
  // case's CDI dir, as a runtime would; then the CDI audit over exactly
  // what the container gets (its devices and their specs' edits). A
  // critical finding refuses the edits: the case fails naming it and the
  // sandbox never starts.
  static StepOutcome ResolveCdi(CaseContext& ctx, const NodeEnv& env, const std::string& cname,
                                const std::vector<std::string>& ids, cdi::ContainerEdits& edits) {
    auto reg = cdi::Registry::Load({ctx.dirs.cdi_dir});
    if (!reg.ok()) return StepOutcome::FromStatus(reg.status(), "load CDI specs");
    if (auto special = reg->SpecialFiles(); !special.empty())
      return StepOutcome::Fail("the CDI dir is unusable: " + special.front().status.message(),
                               "CdiSpecialFile");
    auto res = reg->Resolve(ids);
    if (!res.ok()) {
      return StepOutcome::Fail(
          "container " + cname + ": the driver's CDI IDs do not resolve: " + res.status().message(),
          "CdiUnresolved");
    }
    if (StepOutcome o = RefuseCritical(ctx, env, cname, *res); !o.passed()) return o;
    edits = res->edits;
    return StepOutcome::Pass();
  }

  // RefuseCritical(): the audit's critical findings (cdi::AuditResolution(),
  // the same rules as `drahil cdi audit`) fail the container before anything
  // is applied: a mount of / or /etc, a raw host device, a shell hook, a '..'
  // path, a spec file linked out of the CDI dir... The allocation checks are
  // left to the probes (they are what the isolation cases test).
  static StepOutcome RefuseCritical(CaseContext& ctx, const NodeEnv& env, const std::string& cname,
                                    const cdi::Resolution& res) {
    cdi::AuditOptions opts;
    if (!env.fake_root.empty()) opts.device_roots = {env.fake_root + "/dev"};
    std::vector<std::string> critical;
    for (const auto& f : cdi::AuditResolution(res, opts)) {
      if (f.severity != cdi::Severity::kCritical) continue;
      critical.push_back(f.ToString());
      ctx.Record("cdi", "audit " + f.rule, "Refused", 0, f.ToString());
    }
    if (critical.empty()) return StepOutcome::Pass();
    std::string msg = "container " + cname + ": the driver's CDI edits are refused, the sandbox " +
                      "was not started (" + std::to_string(critical.size()) +
                      " critical audit finding(s)):";
    for (const auto& c : critical) msg += "\n  " + c;
    return StepOutcome::Fail(msg, "CdiRefused");
  }

  // ExpandDeviceRefs(): {device.capacity.NAME} / {device.attribute.NAME}:
  // what the driver's slice says of the container's first device, so a probe
  // can compare the hardware with the published inventory on any node.
  static StepOutcome ExpandDeviceRefs(NodeEnv& env, const std::string& cname,
                                      const std::optional<kubelet::Device>& first_device,
                                      std::vector<std::string>& argv) {
    for (auto& arg : argv) {
      static const std::regex kRef(R"(\{device\.(capacity|attribute)\.([A-Za-z0-9_./-]+)\})");
      std::smatch m;
      while (std::regex_search(arg, m, kRef)) {
        if (!first_device)
          return StepOutcome::Error(
              "container " + cname + " uses " + m.str(0) + " but has no device", "SuiteError");
        auto value = SliceDeviceValue(env, *first_device, m.str(1), m.str(2));
        if (!value)
          return StepOutcome::Fail("the slice of device " + first_device->device_name + " has no " +
                                       m.str(1) + " \"" + m.str(2) + "\" (container " + cname +
                                       " asks for " + m.str(0) + ")",
                                   "Slices");
        arg = m.prefix().str() + *value + m.suffix().str();
      }
    }
    return StepOutcome::Pass();
  }

  // UseEnvBackend(): the env backend: the driver hands devices to containers
  // as variables only, so the probe the case names becomes a look at the
  // container's environment; it can enumerate, nothing more.
  static StepOutcome UseEnvBackend(const CaseContext& ctx, const std::string& cname,
                                   std::vector<std::string>& argv) {
    std::vector<std::string> checks = ProbeChecks(argv);
    for (const auto& c : checks) {
      if (c != "enumerate")
        return StepOutcome::Skip("probe backend env (driver profile " + ctx.profile.name +
                                 ") implements only the " + "enumerate check; container " + cname +
                                 " needs " + c);
    }
    argv = {"/usr/bin/env"};
    return StepOutcome::Pass();
  }

  // UseExecBackend(): the exec backend: the vendor's own probe in place of
  // drahil's, with the same arguments, for the checks it says it implements.
  static StepOutcome UseExecBackend(CaseContext& ctx, const std::string& cname,
                                    std::vector<std::string>& argv) {
    const auto& have = ctx.profile.probe.checks;
    for (const auto& c : ProbeChecks(argv)) {
      if (std::find(have.begin(), have.end(), c) == have.end())
        return StepOutcome::Skip("probe backend exec (driver profile " + ctx.profile.name +
                                 ") does not implement the " + c + " check that container " +
                                 cname + " needs");
    }
    std::vector<std::string> vendor = ctx.profile.probe.command;
    vendor.insert(vendor.end(), argv.begin() + 1, argv.end());
    for (auto& a : vendor) {
      auto e = ExpandPlaceholders(a, ctx.placeholders);
      if (!e.ok())
        return StepOutcome::Error("profile probe.command: " + e.status().message(), "ProfileError");
      a = *e;
    }
    argv = std::move(vendor);
    return StepOutcome::Pass();
  }

  // CompleteSandbox(): the probe's path, the profile's probe arguments, and
  // the container's environment (plus what the check container and an
  // emulated node need).
  static void CompleteSandbox(CaseContext& ctx, const NodeEnv& env, const Json& ct,
                              sandbox::SandboxSpec& sb) {
    // A probe named without a path is the one built next to drahil.
    if (sb.argv[0].find('/') == std::string::npos && ctx.placeholders.count("bin_dir")) {
      std::string local = ctx.placeholders["bin_dir"] + "/" + sb.argv[0];
      if (PathExists(local)) sb.argv[0] = local;
    }
    // drahil's own probes and libraries stay reachable when drahil lives
    // under /tmp (a build or an install prefix there), which the sandbox's
    // private /tmp would hide: bound back read-only at their paths.
    for (const char* key : {"bin_dir", "lib_dir"}) {
      auto it = ctx.placeholders.find(key);
      if (it == ctx.placeholders.end()) continue;
      std::error_code ec;
      std::string dir = std::filesystem::weakly_canonical(it->second, ec).string();
      if (ec || dir.rfind("/tmp/", 0) != 0 || !PathExists(dir)) continue;
      sb.extra_binds.push_back({dir, "", true});
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
  }

  // MeasureProbe(): the measurements of the probe's checks, per device (its
  // first device's UUID or name); bandwidths also as the report's
  // probe-bandwidth measurement.
  static void MeasureProbe(CaseContext& ctx, const std::string& cname, const Json& report) {
    std::string device = cname;
    if (report.contains("devices") && report["devices"].is_array() && !report["devices"].empty() &&
        report["devices"][0].is_object()) {
      device = report["devices"][0].value("uuid", report["devices"][0].value("name", cname));
    }
    for (const auto& c : report.value("checks", Json::array())) {
      for (const auto& m : c.value("measurements", Json::array())) {
        std::string unit = m.value("unit", "");
        double v = m.value("value", 0.0);
        ctx.Measure({"probe." + c.value("name", "") + "." + m.value("name", ""),
                     v,
                     unit,
                     device,
                     {{"container", cname}}});
        // The bandwidth check's "peak" is a spec-sheet figure, not a
        // transfer: it stays probe.bandwidth.peak only.
        if (unit == "GB/s" && m.value("name", "") != "peak")
          ctx.Measure({std::string(reports::kProbeBandwidth),
                       v,
                       unit,
                       device,
                       {{"check", c.value("name", "")}, {"measurement", m.value("name", "")}}});
      }
    }
  }

  // CheckContainer(): the container's ending against the step: expect-exit,
  // the probe's verdict against expect-probe, and the values it must report.
  static StepOutcome CheckContainer(const Json& opts, const std::string& cname,
                                    const sandbox::SandboxResult& r, const std::string& verdict,
                                    const Json& report) {
    if (opts.contains("expect-exit") &&
        (r.exit.signaled || r.exit.exit_code != opts["expect-exit"].get<int>())) {
      return StepOutcome::Fail("container " + cname + " ended with " + r.exit.Describe() +
                                   ", expected exit code " +
                                   std::to_string(opts["expect-exit"].get<int>()),
                               "ExitCode");
    }
    std::string want = opts.value("expect-probe", "pass");
    if (verdict == "error" || verdict == "skip") {
      return StepOutcome::Error("probe in container " + cname + " could not run (" + verdict +
                                    "): " + Findings(report, r.stderr_text),
                                "ProbeError");
    }
    if (verdict != want) {
      return StepOutcome::Fail("probe in container " + cname + " reported " + verdict +
                                   ", expected " + want + ": " + Findings(report, r.stderr_text),
                               "ProbeVerdict");
    }
    for (const auto& check : opts.value("values", Json::array())) {
      StepOutcome o = CheckProbeValue(check, report);
      if (!o.passed()) return o;
    }
    return StepOutcome::Pass();
  }

  // IsProbe(): a container that runs one of drahil's probes.
  static bool IsProbe(const Json& ct, const std::vector<std::string>& argv) {
    if (ct.value("image", "").rfind("drahil/probe-", 0) == 0) return true;
    std::string base = argv[0].substr(argv[0].rfind('/') + 1);
    return base.rfind("drahil-probe-", 0) == 0;
  }

  // ProbeChecks(): the checks a probe command line asks for (the probes'
  // own default when it names none).
  static std::vector<std::string> ProbeChecks(const std::vector<std::string>& argv) {
    std::string list = "enumerate,bandwidth,compute,health";
    for (size_t i = 0; i + 1 < argv.size(); ++i)
      if (argv[i] == "--checks") list = argv[i + 1];
    for (const auto& a : argv)
      if (a.rfind("--checks=", 0) == 0) list = a.substr(9);
    std::vector<std::string> out;
    std::stringstream in(list);
    for (std::string c; std::getline(in, c, ',');)
      if (!c.empty()) out.push_back(c);
    return out;
  }

  // EnvProbeReport(): the enumerate check of the env backend as a
  // drahil.probe/v1 report: the variables matching the profile's pattern
  // must name exactly the container's devices (by name, or by the value of
  // the attribute env-value names).
  static Json EnvProbeReport(CaseContext& ctx, NodeEnv& env, const std::string& environ_text,
                             const std::vector<kubelet::Device>& served) {
    const auto& pc = ctx.profile.probe;
    std::regex pattern(pc.env_pattern);
    std::multiset<std::string> seen;
    std::vector<std::string> vars;
    std::stringstream in(environ_text);
    for (std::string line; std::getline(in, line);) {
      auto eq = line.find('=');
      if (eq == std::string::npos) continue;
      std::string name = line.substr(0, eq);
      if (!std::regex_search(name, pattern)) continue;
      seen.insert(line.substr(eq + 1));
      vars.push_back(name);
    }
    std::multiset<std::string> want;
    std::vector<std::string> findings;
    for (const auto& d : served) {
      if (pc.env_value == "name") {
        want.insert(d.device_name);
        continue;
      }
      std::string attr = pc.env_value.substr(std::string("attribute:").size());
      auto v = SliceDeviceValue(env, d, "attribute", attr);
      if (!v)
        findings.push_back("device " + d.device_name + " publishes no attribute " + attr);
      else
        want.insert(*v);
    }
    for (const auto& w : want)
      if (!seen.count(w))
        findings.push_back("allocated device " + w + " is not among the variables matching " +
                           pc.env_pattern);
    for (const auto& s : seen)
      if (!want.count(s))
        findings.push_back("variable names " + s + ", which is not allocated to this container");
    if (findings.empty() && seen.size() != want.size())
      findings.push_back(std::to_string(seen.size()) + " matching variable(s) for " +
                         std::to_string(want.size()) + " device(s)");
    std::string verdict = findings.empty() ? "pass" : "fail";
    Json devices = Json::array();
    for (const auto& s : seen) devices.push_back({{"name", s}});
    std::string vlist;
    for (const auto& v : vars) vlist += (vlist.empty() ? "" : ", ") + v;
    return {
        {"apiVersion", "drahil.probe/v1"},
        {"verdict", verdict},
        {"backend", "env"},
        {"devices", devices},
        {"checks",
         Json::array({{{"name", "enumerate"},
                       {"verdict", verdict},
                       {"summary", std::to_string(seen.size()) + " device variable(s): " + vlist},
                       {"findings", findings}}})}};
  }

  static std::string Findings(const Json& report, const std::string& stderr_text) {
    std::string out;
    for (const auto& c : report.value("checks", Json::array())) {
      if (c.value("verdict", "pass") == "pass") continue;
      out += "\n  " + c.value("name", "") + ": " + c.value("verdict", "") + " " +
             c.value("summary", "");
      for (const auto& f : c.value("findings", Json::array()))
        out += "\n    " + f.get<std::string>();
    }
    if (out.empty()) out = stderr_text.substr(0, 2000);
    return out;
  }

  std::shared_ptr<StepHandler> allocate_;
};

}  // namespace

std::shared_ptr<StepHandler> MakeRunPodStep(std::shared_ptr<StepHandler> allocate) {
  return std::make_shared<RunPodStep>(std::move(allocate));
}

}  // namespace drahil::node
