#include "api_error.hpp"

#include "resources.hpp"

namespace drahil::apiserver::internal {

namespace {

nlohmann::json Details(const ResourceInfo& info, const std::string& name) {
  nlohmann::json d = {{"name", name}, {"kind", info.resource}};
  if (!info.group.empty()) d["group"] = info.group;
  return d;
}

}  // namespace

std::string ReasonForCode(int code) {
  switch (code) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 406:
      return "NotAcceptable";
    case 409:
      return "Conflict";
    case 410:
      return "Expired";
    case 413:
      return "RequestEntityTooLarge";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return code >= 500 ? "InternalError" : "";
  }
}

nlohmann::json ApiError::ToStatusJson() const {
  nlohmann::json s = {
      {"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", nlohmann::json::object()},
      {"status", "Failure"}, {"message", message}, {"code", code}};
  if (!reason.empty()) s["reason"] = reason;
  if (!details.is_null()) s["details"] = details;
  return s;
}

Status ApiError::ToStatus() const {
  Code c = Code::kInternal;
  switch (code) {
    case 400:
    case 422:
      c = Code::kInvalidArgument;
      break;
    case 401:
      c = Code::kUnauthenticated;
      break;
    case 403:
      c = Code::kPermissionDenied;
      break;
    case 404:
      c = Code::kNotFound;
      break;
    case 409:
      c = reason == "AlreadyExists" ? Code::kAlreadyExists : Code::kAborted;
      break;
    case 410:
      c = Code::kOutOfRange;
      break;
    case 413:
      c = Code::kResourceExhausted;
      break;
    case 429:
    case 503:
      c = Code::kUnavailable;
      break;
    default:
      c = code >= 500 ? Code::kInternal : Code::kUnknown;
      break;
  }
  return Status(c, message + " (HTTP " + std::to_string(code) + " " + reason + ")");
}

ApiError NotFound(const ResourceInfo& info, const std::string& name) {
  return {404, "NotFound", info.GroupResource() + " \"" + name + "\" not found",
          Details(info, name)};
}

ApiError AlreadyExists(const ResourceInfo& info, const std::string& name) {
  return {409, "AlreadyExists", info.GroupResource() + " \"" + name + "\" already exists",
          Details(info, name)};
}

ApiError Conflict(const ResourceInfo& info, const std::string& name, const std::string& why) {
  return {409, "Conflict",
          "Operation cannot be fulfilled on " + info.GroupResource() + " \"" + name + "\": " + why,
          Details(info, name)};
}

ApiError Invalid(const ResourceInfo& info, const std::string& name,
                 const std::vector<FieldCause>& causes) {
  std::string msg =
      info.kind + (info.group.empty() ? "" : "." + info.group) + " \"" + name + "\" is invalid: ";
  if (causes.size() > 1) msg += "[";
  nlohmann::json jc = nlohmann::json::array();
  for (size_t i = 0; i < causes.size(); ++i) {
    if (i > 0) msg += ", ";
    msg += causes[i].field.empty() ? causes[i].message : causes[i].field + ": " + causes[i].message;
    jc.push_back(
        {{"reason", causes[i].type}, {"message", causes[i].message}, {"field", causes[i].field}});
  }
  if (causes.size() > 1) msg += "]";
  auto d = Details(info, name);
  d["kind"] = info.kind;
  d["causes"] = jc;
  return {422, "Invalid", msg, d};
}

ApiError BadRequest(const std::string& message) { return {400, "BadRequest", message, nullptr}; }
ApiError Forbidden(const std::string& message) { return {403, "Forbidden", message, nullptr}; }
ApiError Unauthorized() { return {401, "Unauthorized", "Unauthorized", nullptr}; }
ApiError Gone(const std::string& message) { return {410, "Expired", message, nullptr}; }
ApiError MethodNotAllowed(const std::string& message) {
  return {405, "MethodNotAllowed", message, nullptr};
}
ApiError UnsupportedMediaType(const std::string& content_type) {
  return {415, "UnsupportedMediaType",
          "the body of the request was in an unknown format - accepted media types include: "
          "application/json, application/json-patch+json, application/merge-patch+json, "
          "application/strategic-merge-patch+json (got \"" +
              content_type + "\")",
          nullptr};
}
ApiError NotAcceptable(const std::string& message) {
  return {406, "NotAcceptable", message, nullptr};
}
ApiError TooLarge() {
  return {413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728", nullptr};
}
ApiError PlainNotFound(const std::string& message) { return {404, "NotFound", message, nullptr}; }
ApiError Internal(const std::string& message) {
  return {500, "InternalError", "Internal error occurred: " + message, nullptr};
}
ApiError WithCode(int code, const std::string& message) {
  return {code, ReasonForCode(code), message, nullptr};
}

}  // namespace drahil::apiserver::internal
