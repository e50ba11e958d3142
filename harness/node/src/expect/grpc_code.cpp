// expect: grpc-code
#include "expectations.hpp"

namespace drahil::node {

// The code of the last raw prepare/unprepare call (the first failing one of a
// concurrent batch).
StepOutcome ExpectGrpcCode(const Json& v, CaseContext& ctx, NodeEnv& env) {
  std::string have;
  {
    MutexLock l(env.mu);
    if (env.last_call) have = std::string(CodeName(env.last_call->record.code));
  }
  if (have.empty())
    return StepOutcome::Error("expect grpc-code: no DRA call was made yet", "SuiteError");
  return have == v.get<std::string>() ? StepOutcome::Pass()
                                      : StepOutcome::Fail("last DRA call returned " + have +
                                                              ", expected " + v.get<std::string>(),
                                                          "GrpcCodeMismatch");
}

}  // namespace drahil::node
