// File: status.hpp
//
// drahil::Status and drahil::Result<T>: recoverable errors as values.
//
// Codes are the gRPC canonical codes, so a driver's gRPC reply maps over
// unchanged. Choose codes by Abseil's rule: kUnavailable means "retry the
// call", kAborted "retry at a higher level", kFailedPrecondition "do not retry
// until the state is fixed".
//
// Context is added as an error travels up, most recent first:
//
//   drahil::Result<Config> LoadConfig(const std::string& path) {
//     DRAHIL_ASSIGN_OR_RETURN(auto text, ReadFile(path));      // propagates
//     auto cfg = Parse(text);
//     if (!cfg.ok()) return cfg.status().WithContext("load " + path);
//     return cfg;
//   }
//
// Status::ToString() of the above reads "load a.yaml: line 3: bad key".
//
// Thread-safety: values; no shared state.
#ifndef DRAHIL_CORE_STATUS_HPP_INCLUDED
#define DRAHIL_CORE_STATUS_HPP_INCLUDED

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace drahil {

// Code: the gRPC canonical status codes, with the same numeric values.
enum class Code : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// CodeName(): "OK", "INVALID_ARGUMENT", ... as gRPC spells them.
std::string_view CodeName(Code code);
// ParseCodeName(): the inverse of CodeName(); accepts any case and an optional
// "k" prefix ("unavailable", "UNAVAILABLE", "kUnavailable").
std::optional<Code> ParseCodeName(std::string_view name);

class [[nodiscard]] Status {
 public:
  // Status(): OK.
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {
    if (code_ == Code::kOk) message_.clear();
  }

  [[nodiscard]] bool ok() const { return code_ == Code::kOk; }
  [[nodiscard]] Code code() const { return code_; }
  // message(): the full message including any context prefixes.
  [[nodiscard]] const std::string& message() const { return message_; }

  // WithContext(): returns a copy whose message is "<context>: <message>".
  // An OK status stays OK.
  [[nodiscard]] Status WithContext(std::string_view context) const&;
  [[nodiscard]] Status WithContext(std::string_view context) &&;

  // ToString(): "INVALID_ARGUMENT: load a.yaml: bad key", or "OK".
  [[nodiscard]] std::string ToString() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status OkStatus() { return Status(); }
// Short constructors for the common codes.
Status InvalidArgumentError(std::string message);
Status NotFoundError(std::string message);
Status AlreadyExistsError(std::string message);
Status FailedPreconditionError(std::string message);
Status InternalError(std::string message);
Status UnavailableError(std::string message);
Status DeadlineExceededError(std::string message);
Status UnimplementedError(std::string message);
Status PermissionDeniedError(std::string message);
Status ResourceExhaustedError(std::string message);
Status OutOfRangeError(std::string message);
Status AbortedError(std::string message);
Status CancelledError(std::string message);
Status UnknownError(std::string message);
// ErrnoError(): maps errno to a code (ENOENT → kNotFound, EACCES → kPermissionDenied, ...)
// and appends strerror(): "open /x: No such file or directory".
Status ErrnoError(int err, std::string_view what);

// Result<T>: either a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<std::decay_t<T>, Status>, "Result<Status> is not allowed");

 public:
  // Implicit from a value or from an error, so `return value;` and
  // `return NotFoundError(...)` both work.
  Result(const T& value) : v_(value) {}
  Result(T&& value) : v_(std::move(value)) {}
  template <typename U, typename = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                                    !std::is_same_v<std::decay_t<U>, Status> &&
                                                    !std::is_same_v<std::decay_t<U>, Result<T>>>>
  Result(U&& value) : v_(T(std::forward<U>(value))) {}
  Result(Status status) : v_(std::move(status)) {
    if (std::get<Status>(v_).ok())
      v_ = Status(Code::kInternal, "Result constructed from OK status");
  }

  [[nodiscard]] bool ok() const { return std::holds_alternative<T>(v_); }
  // status(): OK when a value is held.
  [[nodiscard]] Status status() const { return ok() ? Status() : std::get<Status>(v_); }

  // value(): precondition ok(); calling it on an error is a bug and aborts.
  T& value() & {
    CheckOk();
    return std::get<T>(v_);
  }
  const T& value() const& {
    CheckOk();
    return std::get<T>(v_);
  }
  T&& value() && {
    CheckOk();
    return std::get<T>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  template <typename U>
  T value_or(U&& fallback) const& {
    return ok() ? std::get<T>(v_) : T(std::forward<U>(fallback));
  }

 private:
  void CheckOk() const;
  std::variant<T, Status> v_;
};

namespace internal {
[[noreturn]] void DieOnBadResultAccess(const Status& status);
}

template <typename T>
void Result<T>::CheckOk() const {
  if (!ok()) internal::DieOnBadResultAccess(std::get<Status>(v_));
}

namespace internal {
inline Status AsStatus(const Status& s) { return s; }
inline Status AsStatus(Status&& s) { return std::move(s); }
template <typename T>
Status AsStatus(const Result<T>& r) {
  return r.status();
}
}  // namespace internal

}  // namespace drahil

// DRAHIL_RETURN_IF_ERROR(expr): expr is a Status or Result<T>; returns its
// status from the enclosing function when it is not OK.
#define DRAHIL_RETURN_IF_ERROR(expr)                                      \
  do {                                                                    \
    ::drahil::Status drahil_status_ = ::drahil::internal::AsStatus(expr); \
    if (!drahil_status_.ok()) return drahil_status_;                      \
  } while (0)

// DRAHIL_RETURN_IF_ERROR_CTX(expr, context): as above, prefixing context.
#define DRAHIL_RETURN_IF_ERROR_CTX(expr, context)                                    \
  do {                                                                               \
    ::drahil::Status drahil_status_ = ::drahil::internal::AsStatus(expr);            \
    if (!drahil_status_.ok()) return std::move(drahil_status_).WithContext(context); \
  } while (0)

#define DRAHIL_CONCAT_INNER_(a, b) a##b
#define DRAHIL_CONCAT_(a, b) DRAHIL_CONCAT_INNER_(a, b)

// DRAHIL_ASSIGN_OR_RETURN(lhs, expr): expr is a Result<T>; on error returns
// its status, otherwise assigns (or declares, with `auto x`) lhs.
#define DRAHIL_ASSIGN_OR_RETURN(lhs, expr) \
  DRAHIL_ASSIGN_OR_RETURN_IMPL_(DRAHIL_CONCAT_(drahil_result_, __LINE__), lhs, expr)
#define DRAHIL_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()

#endif  // DRAHIL_CORE_STATUS_HPP_INCLUDED
