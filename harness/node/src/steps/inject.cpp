#include "drahil/core/child_process.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/fakenode/fakenode.hpp"
#include "steps.hpp"

namespace drahil::node {
namespace {

// RestartWait(): how long a kubelet restart waits for the drivers to
// register again: the profile's registration timeout, within the step's time.
milliseconds RestartWait(const CaseContext& ctx) {
  return std::min(std::chrono::duration_cast<milliseconds>(ctx.profile.timeouts.registration),
                  std::chrono::duration_cast<milliseconds>(ctx.Remaining()));
}

class NodeInjectStep final : public StepHandler {
 public:
  // ExecFault(): `faults: exec` — the vendor's own commands inject and clear
  // a fault ({target}, {device}, {fault}, {xid}, {fault_spec} = "xid:48" or the
  // fault, and the profile placeholders such as {fake_root} filled in); exit 0
  // is done.
  static StepOutcome ExecFault(CaseContext& ctx, const Json& f, const std::string& target,
                               const std::string& kind, Clock::TimePoint t0) {
    const auto& dm = ctx.profile.devices;
    const std::vector<std::string>& tmpl = kind == "clear" ? dm.fault_clear : dm.fault_inject;
    std::map<std::string, std::string> values = {
        {"target", target},
        {"device", f.value("device", "")},
        {"fault", kind},
        {"xid", std::to_string(f.value("xid", 79))},
        {"fault_spec", kind == "xid" ? "xid:" + std::to_string(f.value("xid", 79)) : kind}};
    for (const auto& [k, v] : ctx.placeholders)
      values.emplace(k, v);  // {fake_root}, {bin_dir}, ...
    std::vector<std::string> argv;
    for (const auto& a : tmpl) {
      auto e = ExpandPlaceholders(a, values);
      if (!e.ok())
        return StepOutcome::Error("profile fault-commands: " + e.status().message(),
                                  "ProfileError");
      argv.push_back(*e);
    }
    auto timeout =
        std::min(std::chrono::duration_cast<milliseconds>(ctx.Remaining()), dm.fault_timeout);
    auto r = RunCommand(argv, timeout);
    std::string what = (kind == "clear" ? "clear faults " : "device " + kind + " ") + target;
    if (!r.ok()) {
      ctx.Record("inject", what, r.status().ToString(), Ms(Clock::Real().Now() - t0));
      return StepOutcome::Error("fault command " + argv[0] + ": " + r.status().message(),
                                "FaultCommand");
    }
    ctx.Record("inject", what, r->exit.Describe(), Ms(Clock::Real().Now() - t0),
               r->output.substr(0, 2000));
    if (!r->exit.success())
      return StepOutcome::Error("fault command " + argv[0] + " ended with " + r->exit.Describe() +
                                    ": " + r->output.substr(0, 500),
                                "FaultCommand");
    return StepOutcome::Pass();
  }

  StepOutcome Run(const Step& step, CaseContext& ctx) override {
    NEED_ENV;
    const Json& p = step.params;
    auto t0 = Clock::Real().Now();
    if (p.contains("device-fault")) return DeviceFault(ctx, *env, p["device-fault"], t0);
    if (p.contains("api-fault")) return ApiFault(ctx, *env, p["api-fault"]);
    if (p.contains("kubelet")) return KubeletRestart(ctx, *env, p["kubelet"], t0);
    if (p.contains("reboot")) return Reboot(ctx, *env, t0);
    return others_ ? others_->Run(step, ctx)
                   : StepOutcome::Error("unsupported fault", "SuiteError");
  }
  std::shared_ptr<StepHandler> others_;

 private:
  // KindFaultTarget(): the value of the fault-target attribute of one of the
  // device's kinds (the first kind that has one); "" when none does.
  static std::string KindFaultTarget(const CaseContext& ctx, const std::string& driver,
                                     const DeviceRecord& d) {
    std::string target;
    for (const auto& k : d.kinds) {
      auto it = ctx.profile.devices.kinds.find(k);
      if (it == ctx.profile.devices.kinds.end() || it->second.fault_target.empty()) continue;
      if (const Json* a = FindAttribute(d.attributes, driver, it->second.fault_target)) {
        if (auto text = AttributeText(*a)) target = *text;
      }
      if (!target.empty()) break;
    }
    return target;
  }

  // FaultTarget(): a published device name becomes what the emulated node
  // knows it by: the value of its kind's fault-target attribute (a UUID, a
  // BDF). A name discovery did not see is left as it is; a device without
  // the attribute skips the case.
  static StepOutcome FaultTarget(CaseContext& ctx, const std::string& driver, std::string& dev) {
    if (!ctx.inventory) return StepOutcome::Pass();
    for (const auto& d : ctx.inventory->device_list) {
      if (d.name != dev) continue;
      std::string target = KindFaultTarget(ctx, driver, d);
      if (target.empty())
        return StepOutcome::Skip(
            "device " + dev +
            " publishes no fault-target attribute (profile devices.KIND.fault-target)");
      ctx.Note("fault on " + dev + " injected as " + target);
      dev = target;
      break;
    }
    return StepOutcome::Pass();
  }

  // DeviceFault(): `device-fault`: through the profile's fault commands, or
  // into the emulated node (faults: emulated and nvml).
  static StepOutcome DeviceFault(CaseContext& ctx, NodeEnv& env, const Json& f,
                                 Clock::TimePoint t0) {
    if (ctx.profile.devices.faults == "none") {
      return StepOutcome::Skip("driver profile " + ctx.profile.name +
                               " has no fault injector (faults: none)");
    }
    std::string dev = f["device"], kind = f["fault"];
    if (StepOutcome o = FaultTarget(ctx, env.driver, dev); !o.passed()) return o;
    if (ctx.profile.devices.faults == "exec") return ExecFault(ctx, f, dev, kind, t0);
    // emulated and nvml: the emulated node takes the fault.
    if (env.fake_root.empty() || ctx.profile.node_profile.empty()) {
      return StepOutcome::Skip("device faults are injected into an emulated node; profile " +
                               ctx.profile.name + " drives real hardware");
    }
    if (kind == "clear") {
      Status s = fakenode::ClearFaults(env.fake_root, dev);
      ctx.Record("inject", "clear faults " + dev, std::string(CodeName(s.code())),
                 Ms(Clock::Real().Now() - t0));
      return StepOutcome::FromStatus(s, "clear faults");
    }
    std::string spec = kind == "xid" ? "xid:" + std::to_string(f.value("xid", 79)) : kind;
    auto r = fakenode::InjectFault(env.fake_root, dev, spec);
    ctx.Record("inject", "device " + dev + " " + spec, r.ok() ? "OK" : r.status().ToString(),
               Ms(Clock::Real().Now() - t0));
    return StepOutcome::FromStatus(r.status(), "inject device fault");
  }

  // ApiRule(): the API server fault rule of an `api-fault` of type status or
  // latency.
  static apiserver::FaultRule ApiRule(const Json& f, const std::string& type) {
    apiserver::FaultRule rule;
    rule.verb = f.value("verb", "");
    rule.path_regex = f.value("path", "");
    rule.times = f.value("times", -1);
    if (type == "status") rule.code = f.value("status", 503);
    if (type == "latency") {
      rule.code = 0;
      rule.latency = *ParseDuration(f.value("latency", "1s"));
    }
    return rule;
  }

  // StartFaultTimer(): once per node, a thread that lifts the timed faults
  // whose time is up.
  static void StartFaultTimer(NodeEnv& env) DRAHIL_REQUIRES(env.mu) {
    if (env.fault_timer.joinable()) return;
    env.fault_timer = std::jthread([raw = &env](std::stop_token stop) {
      // Every 20 ms lift the faults whose time is up, until stopped.
      (void)PollUntil(Clock::Real(), Clock::TimePoint::max(), {}, "the fault timer to stop", [&] {
        MutexLock lk(raw->mu);
        auto now = Clock::Real().Now();
        std::erase_if(raw->timed_faults, [&](const auto& e) { return e.first <= now; });
        return stop.stop_requested();
      });
    });
  }

  // ApiFault(): `api-fault`: clear the API faults, drop the watches, or add a
  // rule (lifted by the timer after `for`, else kept until cleared).
  static StepOutcome ApiFault(CaseContext& ctx, NodeEnv& env, const Json& f) {
    std::string type = f["type"];
    if (type == "clear") {
      MutexLock l(env.mu);
      env.api_faults.clear();
      env.timed_faults.clear();
    } else if (type == "drop-watch") {
      int n = env.api->DropWatches();
      ctx.Record("inject", "drop watches", std::to_string(n) + " dropped", 0);
      return StepOutcome::Pass();
    } else {
      apiserver::FaultRule rule = ApiRule(f, type);
      MutexLock l(env.mu);
      if (f.contains("for")) {
        // Lifted by the timer once its time is up (an outage of that length).
        auto until = Clock::Real().Now() + *ParseDuration(f["for"].get<std::string>());
        env.timed_faults.emplace_back(until, env.api->InjectFault(rule));
        StartFaultTimer(env);
      } else {
        env.api_faults.push_back(env.api->InjectFault(rule));
      }
    }
    ctx.Record("inject", "api " + type, "OK", 0, f.dump());
    return StepOutcome::Pass();
  }

  // KubeletRestart(): a kubelet restart without a reboot: in-memory state is
  // rebuilt from the checkpoint, plugins re-register, and running pods'
  // claims are prepared again (the driver must answer from its own state).
  static StepOutcome KubeletRestart(CaseContext& ctx, NodeEnv& env, const Json& how,
                                    Clock::TimePoint t0) {
    auto r = env.kubelet->Restart(how == "restart", RestartWait(ctx), StepCallOptions(ctx));
    ctx.Record("inject", "kubelet " + how.get<std::string>(),
               r.status.ok() ? "OK" : r.status.ToString(), Ms(Clock::Real().Now() - t0));
    for (const auto& call : r.calls)
      ctx.Record("grpc", call.record.api + "/" + call.record.method,
                 std::string(CodeName(call.record.code)),
                 std::chrono::duration<double, std::milli>(call.record.latency).count(),
                 call.status.ok() ? "" : call.status.message());
    if (!r.status.ok())
      return StepOutcome::Fail("after the kubelet restart its replay failed: " + r.status.message(),
                               "KubeletRestart");
    return StepOutcome::Pass();
  }

  // Reboot(): the CDI dir is a tmpfs on real nodes, so it is wiped; the
  // driver restarts; the kubelet restarts and replays NodePrepareResources
  // for the pods it had checkpointed.
  static StepOutcome Reboot(CaseContext& ctx, NodeEnv& env, Clock::TimePoint t0) {
    auto d = DriverProcess::FromCase(ctx);
    if (d) d->Terminate();
    auto names = ListDir(ctx.dirs.cdi_dir);
    if (names.ok())
      for (const auto& n : *names) (void)RemoveAll(ctx.dirs.cdi_dir + "/" + n);
    if (d) {
      if (Status s = d->Restart(); !s.ok())
        return StepOutcome::FromStatus(s, "reboot: restart driver");
    }
    auto r = env.kubelet->Restart(true, RestartWait(ctx), StepCallOptions(ctx));
    ctx.Record("inject", "reboot", r.status.ok() ? "OK" : r.status.ToString(),
               Ms(Clock::Real().Now() - t0));
    if (!r.status.ok())
      return StepOutcome::Fail("after reboot the kubelet's replay failed: " + r.status.message(),
                               "Reboot");
    return StepOutcome::Pass();
  }
};

// RunPodStep: the kubelet's pod flow without a container runtime: allocate
// the pod's claims if the scheduler has not, PreparePod, run each
// container's command (the probe) in the sandbox with the CDI edits of its
// claims, read the probe's drahil.probe/v1 report, UnpreparePod.

}  // namespace

std::shared_ptr<StepHandler> MakeNodeInjectStep() { return std::make_shared<NodeInjectStep>(); }

}  // namespace drahil::node
