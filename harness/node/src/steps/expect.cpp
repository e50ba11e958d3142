#include "../expect/expectations.hpp"
#include "steps.hpp"

namespace drahil::node {
namespace {

// ExpectStep: every key of the step is one expectation (expect/<key>.cpp),
// checked in the order written; the first that does not pass ends the step.
class ExpectStep final : public StepHandler {
 public:
  StepOutcome Run(const Step& step, CaseContext& ctx) override {
    NEED_ENV;
    const Json& p = step.params;
    for (auto it = p.begin(); it != p.end(); ++it) {
      auto e = Expectations().find(it.key());
      if (e == Expectations().end())
        return StepOutcome::Error("expect " + it.key() + " has no handler in this build",
                                  "MissingModule");
      StepOutcome o = e->second(it.value(), ctx, *env);
      if (!o.passed()) return o;
    }
    return StepOutcome::Pass();
  }
};

}  // namespace

std::shared_ptr<StepHandler> MakeExpectStep() { return std::make_shared<ExpectStep>(); }

}  // namespace drahil::node
