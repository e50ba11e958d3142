#include "steps.hpp"

namespace drahil::node {
namespace {

// StaleUid(): a UID of the same shape that is not the claim's.
std::string StaleUid(const std::string& uid) {
  std::string tail = uid.size() >= 12 ? uid.substr(uid.size() - 12) : uid;
  std::string stale = "00000000-dead-beef-0000-" + tail;
  return stale == uid ? "00000000-dead-beef-0000-000000000000" : stale;
}

// CheckRefused(): the call was refused as a whole (a gRPC error) or for
// every claim (the driver's per-claim error). A claim the reply leaves out
// is not a refusal: the kubelet reports it as skipped.
StepOutcome CheckRefused(const kubelet::CallResult& r, const std::vector<std::string>& names,
                         bool prepare) {
  const char* method = prepare ? "NodePrepareResources" : "NodeUnprepareResources";
  if (r.record.code != Code::kOk) return StepOutcome::Pass();
  for (size_t k = 0; k < r.claims.size(); ++k) {
    const auto& c = r.claims[k];
    const std::string& ref = k < names.size() ? names[k] : c.claim.name;
    if (c.status.ok())
      return StepOutcome::Fail(std::string(method) + " accepted claim " + ref + " (UID " +
                                   c.claim.uid + ", " + std::to_string(c.devices.size()) +
                                   " device(s)); expected the driver to refuse it",
                               "NotRefused");
    // The kubelet's per-claim error (code Unknown) carries the driver's
    // error; anything else is its own finding about the reply.
    if (c.status.code() != Code::kUnknown)
      return StepOutcome::Fail(
          std::string(method) + " did not refuse claim " + ref + ": " + c.status.message(),
          "NotRefused");
  }
  return StepOutcome::Pass();
}

class RawCallStep final : public StepHandler {
 public:
  explicit RawCallStep(bool prepare) : prepare_(prepare) {}
  StepOutcome Run(const Step& step, CaseContext& ctx) override {
    NEED_ENV;
    auto claims = StepClaims(step, ctx, *env);
    if (!claims.ok()) return StepOutcome::Error(claims.status().message(), "SuiteError");
    kubelet::KubeletStandIn::CallOptions call = StepCallOptions(ctx);
    if (step.params.contains("api")) {
      call.api = step.params["api"] == "v1beta1" ? std::string(kubelet::kDraV1beta1Service)
                                                 : std::string(kubelet::kDraV1Service);
    }
    std::vector<kubelet::ClaimRef> refs;
    std::vector<std::string> names;
    const bool stale = step.params.value("uid", "") == "stale";
    if (Status s = ClaimRefs(*env, *claims, stale, refs, names); !s.ok())
      return StepOutcome::Error(s.message(), "SuiteError");
    int replay = step.params.value("replay", 1);
    // `expect-code: any`: whatever the driver answers (a call a chaos kill
    // cuts short); the call is still recorded and its CDI IDs remembered.
    const bool any_code = step.params.value("expect-code", "") == "any";
    Code want = any_code ? Code::kOk : *ParseCodeName(step.params.value("expect-code", "OK"));
    const bool refused = step.params.value("expect-refused", false);
    if (refused && step.params.contains("expect-code"))
      return StepOutcome::Error("expect-refused and expect-code exclude each other", "SuiteError");
    CdiIds first_ids;
    // concurrent: one call per claim, all at once (the kubelet's pod
    // workers call a driver concurrently).
    bool concurrent = step.params.value("concurrent", false) && refs.size() > 1;
    for (int i = 1; i <= replay; ++i) {
      std::vector<kubelet::CallResult> results = Call(ctx, *env, call, refs, concurrent);
      RecordCalls(ctx, results);
      kubelet::CallResult r = Merged(results);
      CdiIds ids = Remember(*env, r, names);
      if (refused) {
        if (StepOutcome o = CheckRefused(r, names, prepare_); !o.passed()) return o;
        continue;
      }
      if (any_code) continue;
      if (StepOutcome o = CheckCode(r, want, i, replay); !o.passed()) return o;
      if (prepare_ && want == Code::kOk) {
        if (i == 1)
          first_ids = ids;
        else if (ids != first_ids) {
          return StepOutcome::Fail("replayed NodePrepareResources (call " + std::to_string(i) +
                                       ") returned different CDI device IDs than the first call; "
                                       "prepare must be idempotent",
                                   "NotIdempotent");
        }
      }
    }
    return StepOutcome::Pass();
  }

 private:
  using CdiIds = std::map<std::string, std::vector<std::string>>;  // claim ns/name → CDI IDs

  // StepClaims(): the claims the step names, as (namespace, name): a pod's
  // (made as the resourceclaim controller does) or a list.
  static Result<std::vector<std::pair<std::string, std::string>>> StepClaims(const Step& step,
                                                                             CaseContext& ctx,
                                                                             NodeEnv& env) {
    std::vector<std::pair<std::string, std::string>> claims;
    if (step.params.contains("pod")) {
      auto [pns, pname] = SplitRef(step.params["pod"].get<std::string>());
      auto pc = PodClaims(ctx, env, pns, pname);
      if (!pc.ok())
        return InvalidArgumentError("pod " + pns + "/" + pname + ": " + pc.status().message());
      for (const auto& [pod_claim, claim] : *pc) claims.emplace_back(pns, claim);
    } else {
      for (const auto& c : step.params["claims"]) claims.push_back(SplitRef(c.get<std::string>()));
    }
    return claims;
  }

  // ClaimRefs(): the claims as the kubelet names them to the driver (with
  // their UIDs from the API server), and as "ns/name". stale (`uid: stale`):
  // each claim as it was before being deleted and re-created under the same
  // name (another UID); a driver must refuse it.
  static Status ClaimRefs(NodeEnv& env,
                          const std::vector<std::pair<std::string, std::string>>& claims,
                          bool stale, std::vector<kubelet::ClaimRef>& refs,
                          std::vector<std::string>& names) {
    for (const auto& [ns, name] : claims) {
      auto obj = env.api->Get("resourceclaims", ns, name);
      if (!obj.ok())
        return InvalidArgumentError("claim " + ns + "/" + name + ": " + obj.status().message());
      std::string uid = (*obj)["metadata"].value("uid", "");
      refs.push_back({ns, stale ? StaleUid(uid) : uid, name});
      names.push_back(ns + "/" + name);
    }
    return OkStatus();
  }

  // Call(): one NodePrepareResources / NodeUnprepareResources for all the
  // claims, or with `concurrent` one per claim, all at once.
  std::vector<kubelet::CallResult> Call(const CaseContext& ctx, NodeEnv& env,
                                        const kubelet::KubeletStandIn::CallOptions& call,
                                        const std::vector<kubelet::ClaimRef>& refs,
                                        bool concurrent) const {
    auto one = [&](const std::vector<kubelet::ClaimRef>& batch) {
      auto opts = call;
      opts.max_timeout = StepCallOptions(ctx).max_timeout;  // each replay gets what is left
      return prepare_ ? env.kubelet->Prepare(env.driver, batch, opts)
                      : env.kubelet->Unprepare(env.driver, batch, opts);
    };
    std::vector<kubelet::CallResult> results;
    if (concurrent) {
      results.resize(refs.size());
      {
        std::vector<std::jthread> workers;
        for (size_t k = 0; k < refs.size(); ++k)
          workers.emplace_back([&, k] { results[k] = one({refs[k]}); });
      }
    } else {
      results.push_back(one(refs));
    }
    return results;
  }

  // RecordCalls(): each call in the case's log; a prepare's latency as a
  // measurement.
  void RecordCalls(CaseContext& ctx, const std::vector<kubelet::CallResult>& results) const {
    for (const auto& res : results) {
      const auto& rec = res.record;
      ctx.Record("grpc", rec.api + "/" + rec.method, std::string(CodeName(rec.code)),
                 std::chrono::duration<double, std::milli>(rec.latency).count(),
                 rec.grpc_message.empty() ? (res.status.ok() ? "" : res.status.message())
                                          : rec.grpc_message);
      if (prepare_) {
        ctx.Measure({std::string(reports::kPrepareLatency),
                     std::chrono::duration<double, std::milli>(rec.latency).count(),
                     "ms",
                     "",
                     {}});
      }
    }
  }

  // Merged(): one result in claim order; the first failing call decides the
  // code.
  static kubelet::CallResult Merged(const std::vector<kubelet::CallResult>& results) {
    kubelet::CallResult r = results.front();
    for (size_t k = 1; k < results.size(); ++k) {
      r.claims.insert(r.claims.end(), results[k].claims.begin(), results[k].claims.end());
      bool failed = results[k].record.code != Code::kOk || !results[k].status.ok();
      if (failed && r.record.code == Code::kOk && r.status.ok()) {
        r.record = results[k].record;
        r.status = results[k].status;
      }
    }
    return r;
  }

  // Remember(): the call for `expect: grpc-code` and `claim-error`, and
  // after a prepare the CDI IDs per claim (and the devices that got one) for
  // `expect: cdi-ids`. Returns the CDI IDs.
  CdiIds Remember(NodeEnv& env, const kubelet::CallResult& r,
                  const std::vector<std::string>& names) const {
    CdiIds ids;
    std::map<std::string, std::set<std::string>> covered;
    for (size_t k = 0; k < r.claims.size() && k < names.size(); ++k) {
      for (const auto& d : r.claims[k].devices) {
        for (const auto& id : d.cdi_device_ids) ids[names[k]].push_back(id);
        if (!d.cdi_device_ids.empty()) covered[names[k]].insert(d.pool_name + "/" + d.device_name);
      }
    }
    MutexLock l(env.mu);
    env.last_call = r;
    if (prepare_) {
      env.cdi_ids = ids;
      env.cdi_covered = covered;
    }
    return ids;
  }

  // CheckCode(): the call's gRPC code (or the status of a call that did not
  // get one) against expect-code.
  StepOutcome CheckCode(const kubelet::CallResult& r, Code want, int i, int replay) const {
    // The stand-in could not write its own checkpoint (a full disk): drahil's
    // environment failed, the driver is not judged.
    if (r.checkpoint_failed) return StepOutcome::Error(r.status.message(), "Checkpoint");
    Code got = r.record.code;
    if (got == Code::kOk && !r.status.ok()) got = r.status.code();
    if (got == want) return StepOutcome::Pass();
    return StepOutcome::Fail(
        std::string(prepare_ ? "NodePrepareResources" : "NodeUnprepareResources") +
            (replay > 1 ? " (call " + std::to_string(i) + " of " + std::to_string(replay) + ")"
                        : "") +
            " returned " + std::string(CodeName(got)) + ", expected " +
            std::string(CodeName(want)) + ": " + r.status.message(),
        "GrpcCodeMismatch");
  }

  bool prepare_;
};

}  // namespace

std::shared_ptr<StepHandler> MakeRawCallStep(bool prepare) {
  return std::make_shared<RawCallStep>(prepare);
}

}  // namespace drahil::node
