#include "drahil/core/status.hpp"

#include <cerrno>

#include "drahil/testing/testing.hpp"

using drahil::Code;
using drahil::Result;
using drahil::Status;

namespace {
Result<int> ParsePositive(int v) {
  if (v <= 0)
    return drahil::InvalidArgumentError("value " + std::to_string(v) + " is not positive");
  return v;
}
Result<int> Doubled(int v) {
  DRAHIL_ASSIGN_OR_RETURN(int x, ParsePositive(v));
  return x * 2;
}
Status Check(int v) {
  DRAHIL_RETURN_IF_ERROR_CTX(ParsePositive(v), "check");
  return drahil::OkStatus();
}
}  // namespace

TEST_CASE("Status: codes match gRPC names and numbers", "[core][status]") {
  CHECK(static_cast<int>(Code::kUnavailable) == 14);
  CHECK(static_cast<int>(Code::kDeadlineExceeded) == 4);
  CHECK(drahil::CodeName(Code::kFailedPrecondition) == "FAILED_PRECONDITION");
  CHECK(drahil::ParseCodeName("unavailable") == Code::kUnavailable);
  CHECK(drahil::ParseCodeName("kNotFound") == Code::kNotFound);
  CHECK(drahil::ParseCodeName("DEADLINE_EXCEEDED") == Code::kDeadlineExceeded);
  CHECK_FALSE(drahil::ParseCodeName("NOPE").has_value());
}

TEST_CASE("Status: context chains most recent first", "[core][status]") {
  Status s = drahil::NotFoundError("claim c1").WithContext("prepare").WithContext("case p-01");
  CHECK(s.code() == Code::kNotFound);
  CHECK(s.message() == "case p-01: prepare: claim c1");
  CHECK(s.ToString() == "NOT_FOUND: case p-01: prepare: claim c1");
  CHECK(drahil::OkStatus().WithContext("x").ok());
  CHECK(Status(Code::kOk, "ignored").message().empty());
}

TEST_CASE("Result: values, errors and propagation macros", "[core][status]") {
  auto good = Doubled(4);
  REQUIRE(good.ok());
  CHECK(*good == 8);
  auto bad = Doubled(-1);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == Code::kInvalidArgument);
  CHECK(bad.value_or(7) == 7);
  Status c = Check(0);
  CHECK(c.message() == "check: value 0 is not positive");
  CHECK(Check(3).ok());
  Result<int> from_ok = drahil::OkStatus();
  CHECK(from_ok.status().code() == Code::kInternal);
}

TEST_CASE("Status: errno mapping names the operation", "[core][status]") {
  Status s = drahil::ErrnoError(ENOENT, "open /nope");
  CHECK(s.code() == Code::kNotFound);
  CHECK(s.message() == "open /nope: No such file or directory");
  CHECK(drahil::ErrnoError(EACCES, "x").code() == Code::kPermissionDenied);
}
