// File: api_error.hpp (private)
//
// ApiError: a request failure as Kubernetes reports it (a metav1.Status with
// code, reason, message and details), and Expected<T>, a value or an ApiError.
#ifndef DRAHIL_APISERVER_API_ERROR_HPP_INCLUDED
#define DRAHIL_APISERVER_API_ERROR_HPP_INCLUDED

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "drahil/core/status.hpp"

namespace drahil::apiserver::internal {

struct ResourceInfo;

struct FieldCause {
  std::string type;     // "FieldValueInvalid", "FieldValueRequired", "FieldValueForbidden", ...
  std::string field;    // "spec.devices[3].name"
  std::string message;  // without the field: "Invalid value: \"X\": must be ..."
};

struct ApiError {
  int code = 500;
  std::string reason;  // "NotFound", "AlreadyExists", "Conflict", "Invalid", ...
  std::string message;
  nlohmann::json details;  // null or {name, group, kind, causes:[...]}

  // ToStatusJson(): the metav1.Status object sent on the wire.
  [[nodiscard]] nlohmann::json ToStatusJson() const;
  // ToStatus(): for the C++ API. 404 → kNotFound, 409 AlreadyExists →
  // kAlreadyExists, 409 Conflict → kAborted (retry with fresh data), 400/422 →
  // kInvalidArgument, 401 → kUnauthenticated, 403 → kPermissionDenied,
  // 410 → kOutOfRange, anything else → kInternal or kUnavailable (5xx).
  [[nodiscard]] Status ToStatus() const;
};

ApiError NotFound(const ResourceInfo& info, const std::string& name);
ApiError AlreadyExists(const ResourceInfo& info, const std::string& name);
ApiError Conflict(const ResourceInfo& info, const std::string& name, const std::string& why);
ApiError Invalid(const ResourceInfo& info, const std::string& name,
                 const std::vector<FieldCause>& causes);
ApiError BadRequest(const std::string& message);
ApiError Forbidden(const std::string& message);
ApiError Unauthorized();
ApiError Gone(const std::string& message);
ApiError MethodNotAllowed(const std::string& message);
ApiError UnsupportedMediaType(const std::string& content_type);
ApiError NotAcceptable(const std::string& message);
ApiError TooLarge();
ApiError PlainNotFound(const std::string& message);
ApiError Internal(const std::string& message);
ApiError WithCode(int code, const std::string& message);

// ReasonForCode(): the metav1.StatusReason Kubernetes uses for an HTTP code.
std::string ReasonForCode(int code);

template <typename T>
class Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}
  Expected(ApiError error) : v_(std::move(error)) {}
  [[nodiscard]] bool ok() const { return v_.index() == 0; }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  const ApiError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, ApiError> v_;
};

}  // namespace drahil::apiserver::internal

#endif  // DRAHIL_APISERVER_API_ERROR_HPP_INCLUDED
