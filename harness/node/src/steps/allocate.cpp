#include "steps.hpp"

#include "drahil/allocator/allocator.hpp"

namespace drahil::node {
namespace {

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

}  // namespace

std::shared_ptr<StepHandler> MakeAllocateStep() { return std::make_shared<AllocateStep>(); }

}  // namespace drahil::node
