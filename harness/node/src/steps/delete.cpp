#include "steps.hpp"

namespace drahil::node {
namespace {

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

}  // namespace

std::shared_ptr<StepHandler> MakeDeleteStep() { return std::make_shared<DeleteStep>(); }

}  // namespace drahil::node
