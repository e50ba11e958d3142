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
    std::vector<std::pair<std::string, std::string>> claims;  // (ns, name)
    if (step.params.contains("pod")) {
      auto [pns, pname] = SplitRef(step.params["pod"].get<std::string>());
      auto pc = PodClaims(ctx, *env, pns, pname);
      if (!pc.ok())
        return StepOutcome::Error("pod " + pns + "/" + pname + ": " + pc.status().message(),
                                  "SuiteError");
      for (const auto& [pod_claim, claim] : *pc) claims.emplace_back(pns, claim);
    } else {
      for (const auto& c : step.params["claims"]) claims.push_back(SplitRef(c.get<std::string>()));
    }
    kubelet::KubeletStandIn::CallOptions call = StepCallOptions(ctx);
    if (step.params.contains("api")) {
      call.api = step.params["api"] == "v1beta1" ? std::string(kubelet::kDraV1beta1Service)
                                                 : std::string(kubelet::kDraV1Service);
    }
    std::vector<kubelet::ClaimRef> refs;
    std::vector<std::string> names;
    for (const auto& [ns, name] : claims) {
      auto obj = env->api->Get("resourceclaims", ns, name);
      if (!obj.ok())
        return StepOutcome::Error("claim " + ns + "/" + name + ": " + obj.status().message(),
                                  "SuiteError");
      std::string uid = (*obj)["metadata"].value("uid", "");
      // uid: stale: the claim as it was before being deleted and re-created
      // under the same name (another UID); a driver must refuse it.
      if (step.params.value("uid", "") == "stale") uid = StaleUid(uid);
      refs.push_back({ns, uid, name});
      names.push_back(ns + "/" + name);
    }
    int replay = step.params.value("replay", 1);
    Code want = *ParseCodeName(step.params.value("expect-code", "OK"));
    const bool refused = step.params.value("expect-refused", false);
    if (refused && step.params.contains("expect-code"))
      return StepOutcome::Error("expect-refused and expect-code exclude each other", "SuiteError");
    std::map<std::string, std::vector<std::string>> first_ids;
    // concurrent: one call per claim, all at once (the kubelet's pod
    // workers call a driver concurrently).
    bool concurrent = step.params.value("concurrent", false) && refs.size() > 1;
    auto one = [&](const std::vector<kubelet::ClaimRef>& batch) {
      auto opts = call;
      opts.max_timeout = StepCallOptions(ctx).max_timeout;  // each replay gets what is left
      return prepare_ ? env->kubelet->Prepare(env->driver, batch, opts)
                      : env->kubelet->Unprepare(env->driver, batch, opts);
    };
    for (int i = 1; i <= replay; ++i) {
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
      std::map<std::string, std::set<std::string>> covered;
      for (size_t k = 0; k < r.claims.size() && k < names.size(); ++k) {
        for (const auto& d : r.claims[k].devices) {
          for (const auto& id : d.cdi_device_ids) ids[names[k]].push_back(id);
          if (!d.cdi_device_ids.empty())
            covered[names[k]].insert(d.pool_name + "/" + d.device_name);
        }
      }
      {
        std::lock_guard<std::mutex> l(env->mu);
        env->last_call = r;
        if (prepare_) {
          env->cdi_ids = ids;
          env->cdi_covered = covered;
        }
      }
      if (refused) {
        auto o = CheckRefused(r, names, prepare_);
        if (!o.passed()) return o;
        continue;
      }
      Code got = rec.code;
      if (got == Code::kOk && !r.status.ok()) got = r.status.code();
      if (got != want) {
        return StepOutcome::Fail(
            std::string(prepare_ ? "NodePrepareResources" : "NodeUnprepareResources") +
                (replay > 1 ? " (call " + std::to_string(i) + " of " + std::to_string(replay) + ")"
                            : "") +
                " returned " + std::string(CodeName(got)) + ", expected " +
                std::string(CodeName(want)) + ": " + r.status.message(),
            "GrpcCodeMismatch");
      }
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
  bool prepare_;
};

}  // namespace

std::shared_ptr<StepHandler> MakeRawCallStep(bool prepare) {
  return std::make_shared<RawCallStep>(prepare);
}

}  // namespace drahil::node
