// The step registry and the built-in steps: wait, eventually, consistently,
// and the handlers that name a module this build lacks (engine.hpp).
#include <algorithm>

#include "drahil/runner/driver_process.hpp"
#include "drahil/runner/engine.hpp"
#include "engine_internal.hpp"

namespace drahil::runner {
namespace {

class MissingModuleStep final : public StepHandler {
 public:
  MissingModuleStep(std::string kind, std::string module)
      : kind_(std::move(kind)), module_(std::move(module)) {}
  StepOutcome Run(const Step& step, CaseContext&) override {
    return StepOutcome::Error(
        "step \"" + kind_ + "\" needs " + module_ + ", which this drahil build does not include",
        "MissingModule");
  }

 private:
  std::string kind_, module_;
};

Duration ParamDuration(const nlohmann::json& params, const char* key, Duration fallback) {
  if (params.is_string()) {
    auto d = ParseDuration(params.get<std::string>());
    return d.ok() ? *d : fallback;
  }
  if (params.is_object() && params.contains(key) && params[key].is_string()) {
    auto d = ParseDuration(params[key].get<std::string>());
    return d.ok() ? *d : fallback;
  }
  return fallback;
}

class WaitStep final : public StepHandler {
 public:
  StepOutcome Run(const Step& step, CaseContext& ctx) override {
    Duration d = ParamDuration(step.params, "for", Duration(0));
    if (d > ctx.Remaining()) {
      return StepOutcome::Error(
          "wait " + FormatDuration(d) + " is longer than the time left for this step (" +
              FormatDuration(std::chrono::duration_cast<Duration>(ctx.Remaining())) +
              "); raise the step's timeout",
          "SuiteError");
    }
    if (!ctx.Sleep(d))
      return StepOutcome::Error("interrupted: " + ctx.cancel.reason(), kInterrupted);
    return StepOutcome::Pass();
  }
};

// Eventually: repeats its children until they all pass or the window closes.
// A Fail is retried; an Error (the harness broke) ends the step at once.
class EventuallyStep final : public StepHandler {
 public:
  explicit EventuallyStep(const StepRegistry* reg) : reg_(reg) {}
  StepOutcome Run(const Step& step, CaseContext& ctx) override {
    Duration window = ParamDuration(step.params, "timeout", Duration(0));
    Duration interval =
        ParamDuration(step.params.value("interval", nlohmann::json("500ms")), "", Duration(500));
    auto start = Clock::Real().Now();
    auto end = std::min(start + window, ctx.step_deadline);
    auto saved = ctx.step_deadline;
    int tries = 0;
    StepOutcome last;
    for (;;) {
      ++tries;
      ctx.step_deadline = end;
      last = reg_->RunSteps(step.children, ctx);
      ctx.step_deadline = saved;
      if (last.passed()) return last;
      if (last.verdict != Verdict::kFail) return last;
      if (Clock::Real().Now() + interval >= end) break;
      if (!ctx.cancel.WaitUntil(Clock::Real().Now() + interval)) {
        return StepOutcome::Error("interrupted: " + ctx.cancel.reason(), kInterrupted);
      }
    }
    return StepOutcome::Fail("did not pass within " + FormatDuration(window) + " (" +
                                 std::to_string(tries) + " tries); last: " + last.message,
                             last.type);
  }

 private:
  const StepRegistry* reg_;
};

// Consistently: its children must pass on every check for the whole window.
class ConsistentlyStep final : public StepHandler {
 public:
  explicit ConsistentlyStep(const StepRegistry* reg) : reg_(reg) {}
  StepOutcome Run(const Step& step, CaseContext& ctx) override {
    Duration window = ParamDuration(step.params, "for", Duration(0));
    Duration interval =
        ParamDuration(step.params.value("interval", nlohmann::json("500ms")), "", Duration(500));
    auto start = Clock::Real().Now();
    auto end = start + window;
    if (end > ctx.step_deadline) {
      return StepOutcome::Error(
          "consistently for " + FormatDuration(window) +
              " does not fit in the step's time left; raise the step's timeout",
          "SuiteError");
    }
    auto saved = ctx.step_deadline;
    int checks = 0;
    for (;;) {
      ++checks;
      StepOutcome o = reg_->RunSteps(step.children, ctx);
      ctx.step_deadline = saved;
      if (!o.passed()) {
        double at = std::chrono::duration<double>(Clock::Real().Now() - start).count();
        if (o.verdict != Verdict::kFail) return o;
        return StepOutcome::Fail("stopped holding after " + std::to_string(at).substr(0, 5) +
                                     "s (check " + std::to_string(checks) + "): " + o.message,
                                 o.type);
      }
      if (Clock::Real().Now() >= end) return StepOutcome::Pass();
      auto next = std::min(Clock::Real().Now() + interval, end);
      if (!ctx.cancel.WaitUntil(next) && ctx.cancel.cancelled()) {
        return StepOutcome::Error("interrupted: " + ctx.cancel.reason(), kInterrupted);
      }
    }
  }

 private:
  const StepRegistry* reg_;
};

}  // namespace

StepRegistry StepRegistry::WithBuiltins() {
  StepRegistry r;
  r.RegisterMissing("apply", "the API server stand-in (harness/apiserver)");
  r.RegisterMissing("delete", "the API server stand-in (harness/apiserver)");
  r.RegisterMissing("allocate",
                    "the allocator (harness/allocator) and API server (harness/apiserver)");
  r.RegisterMissing(
      "run-pod",
      "the kubelet stand-in, sandbox and probes (harness/kubelet, harness/sandbox, probes/)");
  r.RegisterMissing("prepare", "the kubelet stand-in (harness/kubelet)");
  r.RegisterMissing("unprepare", "the kubelet stand-in (harness/kubelet)");
  r.RegisterMissing("expect",
                    "the node stand-ins (harness/kubelet, harness/apiserver, harness/cdi)");
  r.RegisterMissing("inject", "fault injection (harness/faults)");
  // Process faults on the driver need only the runner itself.
  r.Register("inject", MakeDriverInjectStep(r.handlers_["inject"]));
  r.Register("wait", std::make_shared<WaitStep>());
  // eventually/consistently are dispatched in Run() so they always recurse
  // into the registry that runs them, even after it was copied or moved.
  return r;
}

void StepRegistry::Register(const std::string& kind, std::shared_ptr<StepHandler> handler) {
  handlers_[kind] = std::move(handler);
}

void StepRegistry::RegisterMissing(const std::string& kind, const std::string& module) {
  handlers_[kind] = std::make_shared<MissingModuleStep>(kind, module);
}

StepHandler* StepRegistry::Find(const std::string& kind) const {
  auto it = handlers_.find(kind);
  return it == handlers_.end() ? nullptr : it->second.get();
}

StepOutcome StepRegistry::Run(const Step& step, CaseContext& ctx) const {
  // eventually/consistently are built in and always refer to this registry,
  // so a registry that was copied or moved still recurses into itself.
  if (step.kind == "eventually" && !handlers_.count("eventually"))
    return EventuallyStep(this).Run(step, ctx);
  if (step.kind == "consistently" && !handlers_.count("consistently"))
    return ConsistentlyStep(this).Run(step, ctx);
  StepHandler* h = Find(step.kind);
  if (h == nullptr)
    return StepOutcome::Error("no handler for step kind \"" + step.kind + "\"", "MissingModule");
  try {
    return h->Run(step, ctx);
  } catch (const std::exception& e) {
    return StepOutcome::Error("step handler for \"" + step.kind + "\" threw: " + e.what());
  } catch (...) {
    return StepOutcome::Error("step handler for \"" + step.kind + "\" threw");
  }
}

StepOutcome StepRegistry::RunSteps(const std::vector<Step>& steps, CaseContext& ctx) const {
  const auto outer = ctx.step_deadline;
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& step = steps[i];
    if (ctx.cancel.cancelled()) {
      ctx.step_deadline = outer;
      return StepOutcome::Error(
          "interrupted before step " + std::to_string(i + 1) + ": " + ctx.cancel.reason(),
          kInterrupted);
    }
    auto now = Clock::Real().Now();
    Duration limit = ctx.suite.step_timeout;
    // A retry window is the step's own time budget unless a timeout is set.
    if (step.kind == "eventually")
      limit = ParamDuration(step.params, "timeout", limit) + Duration(1000);
    if (step.kind == "consistently")
      limit = ParamDuration(step.params, "for", limit) + Duration(1000);
    if (step.kind == "wait")
      limit = std::max(limit, ParamDuration(step.params, "for", limit) + Duration(1000));
    if (step.timeout) limit = *step.timeout;
    ctx.step_deadline = std::min(now + limit, outer);
    StepOutcome o = Run(step, ctx);
    auto end = Clock::Real().Now();
    double ms = std::chrono::duration<double, std::milli>(end - now).count();
    std::string label = step.kind + (step.name.empty() ? "" : " \"" + step.name + "\"");
    ctx.Record("step", label, std::string(reports::VerdictName(o.verdict)), ms,
               step.where.ToString());
    // 50 ms of grace absorbs scheduling noise on a loaded CI machine.
    if (o.passed() && end > ctx.step_deadline + std::chrono::milliseconds(50)) {
      o = StepOutcome::Fail(
          "took " + std::to_string(static_cast<long long>(ms)) + " ms, past its deadline (" +
              FormatDuration(std::chrono::duration_cast<Duration>(ctx.step_deadline - now)) + ")",
          "StepTimeout");
    }
    ctx.step_deadline = outer;
    if (!o.passed()) {
      o.message = "step " + std::to_string(i + 1) + " (" + label + ", " + step.where.ToString() +
                  "): " + o.message;
      return o;
    }
  }
  return StepOutcome::Pass();
}

}  // namespace drahil::runner
