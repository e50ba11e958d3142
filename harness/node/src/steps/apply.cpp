#include "drahil/kube/rest_client.hpp"
#include "steps.hpp"

namespace drahil::node {
namespace {

class ApplyStep final : public StepHandler {
 public:
  StepOutcome Run(const Step& step, CaseContext& ctx) override {
    NEED_ENV;
    if (step.params.is_object() &&
        (step.params.contains("expect-status") || step.params.contains("expect-reason"))) {
      return ApplyOverRest(step, ctx, *env);
    }
    for (const auto& m : step.manifests) {
      auto t0 = Clock::Real().Now();
      auto it = Plurals().find(m.Kind());
      if (it == Plurals().end())
        return StepOutcome::Error("cannot apply kind " + m.Kind(), "SuiteError");
      auto r = env->api->Create(it->second, m.object);
      ctx.Record("api", "create " + m.Ref(),
                 r.ok() ? "OK" : std::string(CodeName(r.status().code())),
                 Ms(Clock::Real().Now() - t0));
      if (r.ok()) env->Created(it->second, *r);
      if (!r.ok())
        return StepOutcome::Error(
            "create " + m.Ref() + " (" + m.where.ToString() + "): " + r.status().message(),
            "ApplyFailed");
    }
    return StepOutcome::Pass();
  }

 private:
  // ApplyOverRest(): POSTs each manifest as a client would (validation and
  // admission included) and compares the HTTP status and the Status reason.
  static StepOutcome ApplyOverRest(const Step& step, CaseContext& ctx, NodeEnv& env) {
    int want_code = step.params.value("expect-status", 0);
    std::string want_reason = step.params.value("expect-reason", "");
    kube::KubeConfig kc;
    kc.server = env.api->http_url();
    kc.token = env.api->admin_token();
    kube::RestOptions ro;
    ro.max_retries = 0;
    ro.timeout = std::max<milliseconds>(milliseconds(100),
                                        std::chrono::duration_cast<milliseconds>(ctx.Remaining()));
    auto client = kube::RestClient::Create(kc, ro);
    if (!client.ok()) return StepOutcome::FromStatus(client.status(), "REST client");
    for (const auto& m : step.manifests) {
      auto it = Plurals().find(m.Kind());
      if (it == Plurals().end())
        return StepOutcome::Error("cannot apply kind " + m.Kind(), "SuiteError");
      std::string ns =
          m.object.contains("metadata") ? m.object["metadata"].value("namespace", "") : "";
      auto path = kube::RestClient::Path(it->second, ns.empty() ? "default" : ns);
      if (!path.ok()) return StepOutcome::FromStatus(path.status(), "apply " + m.Ref());
      auto t0 = Clock::Real().Now();
      auto resp =
          (*client)->Request("POST", *path, m.object.dump(), "application/json", /*retry=*/false);
      if (!resp.ok())
        return StepOutcome::Error("POST " + *path + ": " + resp.status().message(),
                                  "ApiUnavailable");
      std::string reason, message;
      try {
        Json body = Json::parse(resp->body);
        if (body.value("kind", "") == "Status") {
          reason = body.value("reason", "");
          message = body.value("message", "");
        }
      } catch (const std::exception&) {
      }
      ctx.Record("api", "POST " + m.Ref(),
                 std::to_string(resp->code) + (reason.empty() ? "" : " " + reason),
                 Ms(Clock::Real().Now() - t0), message);
      if (resp->code / 100 == 2) {
        try {
          env.Created(it->second, Json::parse(resp->body));
        } catch (const std::exception&) {
        }
      }
      std::string got = "HTTP " + std::to_string(resp->code) +
                        (reason.empty() ? "" : " " + reason) +
                        (message.empty() ? "" : ": " + message);
      if (want_code != 0 && resp->code != want_code) {
        return StepOutcome::Fail("create " + m.Ref() + " (" + m.where.ToString() + ") answered " +
                                     got + ", expected HTTP " + std::to_string(want_code),
                                 "ApiStatus");
      }
      if (!want_reason.empty() && reason != want_reason) {
        return StepOutcome::Fail("create " + m.Ref() + " (" + m.where.ToString() + ") answered " +
                                     got + ", expected reason " + want_reason,
                                 "ApiStatus");
      }
    }
    return StepOutcome::Pass();
  }
};

}  // namespace

std::shared_ptr<StepHandler> MakeApplyStep() { return std::make_shared<ApplyStep>(); }

}  // namespace drahil::node
