#include "drahil/core/status.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace drahil {
namespace {
struct CodeEntry {
  Code code;
  std::string_view name;
};
constexpr CodeEntry kCodes[] = {
    {Code::kOk, "OK"},
    {Code::kCancelled, "CANCELLED"},
    {Code::kUnknown, "UNKNOWN"},
    {Code::kInvalidArgument, "INVALID_ARGUMENT"},
    {Code::kDeadlineExceeded, "DEADLINE_EXCEEDED"},
    {Code::kNotFound, "NOT_FOUND"},
    {Code::kAlreadyExists, "ALREADY_EXISTS"},
    {Code::kPermissionDenied, "PERMISSION_DENIED"},
    {Code::kResourceExhausted, "RESOURCE_EXHAUSTED"},
    {Code::kFailedPrecondition, "FAILED_PRECONDITION"},
    {Code::kAborted, "ABORTED"},
    {Code::kOutOfRange, "OUT_OF_RANGE"},
    {Code::kUnimplemented, "UNIMPLEMENTED"},
    {Code::kInternal, "INTERNAL"},
    {Code::kUnavailable, "UNAVAILABLE"},
    {Code::kDataLoss, "DATA_LOSS"},
    {Code::kUnauthenticated, "UNAUTHENTICATED"},
};

std::string Normalize(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '_' || c == '-' || c == ' ') continue;
    out.push_back(static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c));
  }
  return out;
}
}  // namespace

std::string_view CodeName(Code code) {
  for (const auto& e : kCodes)
    if (e.code == code) return e.name;
  return "UNKNOWN_CODE";
}

std::optional<Code> ParseCodeName(std::string_view name) {
  if (name.size() > 1 && name[0] == 'k' && name[1] >= 'A' && name[1] <= 'Z') name.remove_prefix(1);
  std::string want = Normalize(name);
  for (const auto& e : kCodes)
    if (Normalize(e.name) == want) return e.code;
  return std::nullopt;
}

Status Status::WithContext(std::string_view context) const& {
  Status copy = *this;
  return std::move(copy).WithContext(context);
}

Status Status::WithContext(std::string_view context) && {
  if (ok() || context.empty()) return std::move(*this);
  std::string m(context);
  if (!message_.empty()) {
    m += ": ";
    m += message_;
  }
  message_ = std::move(m);
  return std::move(*this);
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s(CodeName(code_));
  if (!message_.empty()) {
    s += ": ";
    s += message_;
  }
  return s;
}

Status InvalidArgumentError(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
Status NotFoundError(std::string m) { return {Code::kNotFound, std::move(m)}; }
Status AlreadyExistsError(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
Status FailedPreconditionError(std::string m) { return {Code::kFailedPrecondition, std::move(m)}; }
Status InternalError(std::string m) { return {Code::kInternal, std::move(m)}; }
Status UnavailableError(std::string m) { return {Code::kUnavailable, std::move(m)}; }
Status DeadlineExceededError(std::string m) { return {Code::kDeadlineExceeded, std::move(m)}; }
Status UnimplementedError(std::string m) { return {Code::kUnimplemented, std::move(m)}; }
Status PermissionDeniedError(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
Status ResourceExhaustedError(std::string m) { return {Code::kResourceExhausted, std::move(m)}; }
Status OutOfRangeError(std::string m) { return {Code::kOutOfRange, std::move(m)}; }
Status AbortedError(std::string m) { return {Code::kAborted, std::move(m)}; }
Status CancelledError(std::string m) { return {Code::kCancelled, std::move(m)}; }
Status UnknownError(std::string m) { return {Code::kUnknown, std::move(m)}; }

Status ErrnoError(int err, std::string_view what) {
  Code code;
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      code = Code::kNotFound;
      break;
    case EEXIST:
      code = Code::kAlreadyExists;
      break;
    case EACCES:
    case EPERM:
    case EROFS:
      code = Code::kPermissionDenied;
      break;
    case EINVAL:
    case ENAMETOOLONG:
      code = Code::kInvalidArgument;
      break;
    case ENOSPC:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
      code = Code::kResourceExhausted;
      break;
    case ETIMEDOUT:
      code = Code::kDeadlineExceeded;
      break;
    case EAGAIN:
    case EINTR:
    case ECONNREFUSED:
    case ECONNRESET:
    case EPIPE:
      code = Code::kUnavailable;
      break;
    case ENOSYS:
    case EOPNOTSUPP:
      code = Code::kUnimplemented;
      break;
    default:
      code = Code::kInternal;
      break;
  }
  std::string m(what);
  m += ": ";
  m += std::strerror(err);
  return {code, std::move(m)};
}

namespace internal {
void DieOnBadResultAccess(const Status& status) {
  std::fprintf(stderr, "drahil: value() called on a Result holding an error: %s\n",
               status.ToString().c_str());
  std::abort();
}
}  // namespace internal
}  // namespace drahil
