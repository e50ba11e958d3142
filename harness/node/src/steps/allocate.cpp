#include "drahil/allocator/allocator.hpp"
#include "steps.hpp"

namespace drahil::node {
namespace {

// ClaimRefs(): `ns/name`, {claim: ns/name} or, from run-pod, {claims: [...]}:
// all claims of one pod, allocated together as kube-scheduler does.
std::vector<std::string> ClaimRefs(const Json& params) {
  if (params.is_string()) return {params.get<std::string>()};
  if (params.contains("claims")) return params["claims"].get<std::vector<std::string>>();
  return {params["claim"].get<std::string>()};
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

class AllocateStep final : public StepHandler {
 public:
  StepOutcome Run(const Step& step, CaseContext& ctx) override {
    NEED_ENV;
    std::vector<std::string> refs = ClaimRefs(step.params);
    std::string expect =
        step.params.is_object() ? step.params.value("expect", "allocated") : "allocated";
    std::string what = refs.size() == 1 ? "claim " + refs[0] : "claims " + Join(refs);
    MutexLock serial(env->alloc_mu);
    // Fresh, under the lock: a pod sharing a claim may have allocated it.
    std::vector<Json> claims;
    bool pending = false;
    for (const auto& ref : refs) {
      auto [ns, name] = SplitRef(ref);
      auto claim = env->api->Get("resourceclaims", ns, name);
      if (!claim.ok())
        return StepOutcome::Error("allocate " + ref + ": " + claim.status().message(),
                                  "SuiteError");
      pending =
          pending || !(claim->contains("status") && (*claim)["status"].contains("allocation"));
      claims.push_back(std::move(*claim));
    }
    if (!pending) {
      // Already allocated (a pod sharing it got there first): the scheduler
      // keeps an allocation; it never allocates a claim twice.
      if (expect == "unsatisfiable")
        return StepOutcome::Fail(what + " is already allocated", "Allocated");
      return CheckSize(step, claims[0]["status"]["allocation"], refs[0]);
    }
    allocator::Inventory inv;
    inv.slices = env->api->List("resourceslices").value_or(std::vector<Json>{});
    inv.device_classes = env->api->List("deviceclasses").value_or(std::vector<Json>{});
    inv.taint_rules = env->api->List("devicetaintrules").value_or(std::vector<Json>{});
    inv.namespaces = env->api->List("namespaces").value_or(std::vector<Json>{});
    for (auto& c : env->api->List("resourceclaims").value_or(std::vector<Json>{})) {
      if (c.contains("status") && c["status"].contains("allocation"))
        inv.allocated_claims.push_back(std::move(c));
    }
    allocator::Options opts;
    opts.order_seed = env->order_seed;
    // What kube-scheduler's DRA plugin hands its allocator for the run's
    // version and gates (pkg/scheduler/framework/plugins/dynamicresources).
    opts.features = allocator::FeaturesFrom(env->gates);
    allocator::Allocator alloc(std::move(inv), opts);
    auto t0 = Clock::Real().Now();
    // Claims already allocated go in as they are: their devices count as in
    // use and they come back unchanged.
    auto r = alloc.Allocate(claims, NodeInfoOf(*env));
    ctx.Record("allocate", Join(refs), r.ok() ? "OK" : std::string(CodeName(r.status().code())),
               Ms(Clock::Real().Now() - t0), r.ok() ? "" : r.status().message());
    if (!r.ok()) {
      // Exhausted: no devices fit. PermissionDenied: the claim may not have
      // them (admin access outside a labelled namespace). FailedPrecondition:
      // the claim uses a feature whose gate is off. Each way the scheduler
      // leaves the pod unschedulable.
      bool refused = r.status().code() == Code::kResourceExhausted ||
                     r.status().code() == Code::kPermissionDenied ||
                     r.status().code() == Code::kFailedPrecondition;
      if (expect == "unsatisfiable" && refused) return StepOutcome::Pass();
      if (r.status().code() == Code::kFailedPrecondition) {
        return StepOutcome::Fail(what + " cannot be allocated on Kubernetes " +
                                     env->gates.version().ToString() + ": " + r.status().message(),
                                 "FeatureGate");
      }
      if (r.status().code() == Code::kPermissionDenied) {
        return StepOutcome::Fail(what + " may not be allocated: " + r.status().message(),
                                 "Forbidden");
      }
      if (r.status().code() == Code::kResourceExhausted) {
        return StepOutcome::Fail(what + " cannot be allocated" +
                                     (refs.size() > 1 ? " together" : "") +
                                     " from the driver's slices: " + r.status().message(),
                                 "Unschedulable");
      }
      return StepOutcome::Error("allocate " + Join(refs) + ": " + r.status().message(),
                                "AllocatorError");
    }
    if (expect == "unsatisfiable")
      return StepOutcome::Fail(what + " was allocated but should not be", "Allocated");
    for (size_t i = 0; i < claims.size(); ++i) {
      if (claims[i].contains("status") && claims[i]["status"].contains("allocation")) continue;
      Json updated = claims[i];
      updated["status"]["allocation"] = (*r)[i];
      updated["status"]["reservedFor"] = Json::array();
      auto u = env->api->UpdateStatus("resourceclaims", updated);
      if (!u.ok())
        return StepOutcome::Error("write allocation of " + refs[i] + ": " + u.status().message());
    }
    return CheckSize(step, (*r)[0], refs[0]);
  }

 private:
  // CheckSize(): the `devices` argument of a single-claim allocate step.
  static StepOutcome CheckSize(const Step& step, const Json& allocation, const std::string& ref) {
    if (!step.params.is_object() || !step.params.contains("devices")) return StepOutcome::Pass();
    size_t want = step.params["devices"].get<size_t>();
    size_t got = allocation["devices"].value("results", Json::array()).size();
    if (want == got) return StepOutcome::Pass();
    return StepOutcome::Fail("claim " + ref + " has " + std::to_string(got) +
                                 " device(s), expected " + std::to_string(want),
                             "AllocationSize");
  }
};

}  // namespace

std::shared_ptr<StepHandler> MakeAllocateStep() { return std::make_shared<AllocateStep>(); }

}  // namespace drahil::node
