// RestClient: the verbs (get, list, create, update, patch, delete) over the
// transport of rest_transport.cpp, with retries and backoff, and the mapping
// of HTTP answers to Status. The watch is in rest_watch.cpp, kubeconfig
// parsing in kubeconfig.cpp.
#include "drahil/kube/rest_client.hpp"

#include <algorithm>
#include <cstdlib>

#include "rest_internal.hpp"

namespace drahil::kube {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using internal::AddQuery;
using internal::Attempt;
using internal::ErrorFromResponse;
using internal::OpenSslErrors;
using internal::ParseJsonBody;
using internal::ParseServer;
using internal::UrlEncode;

// ---- HTTP status → Status ---------------------------------------------------------

namespace internal {

Code CodeForHttp(int http, const std::string& reason) {
  switch (http) {
    case 400:
    case 415:
    case 422:
      return Code::kInvalidArgument;
    case 401:
      return Code::kUnauthenticated;
    case 403:
      return Code::kPermissionDenied;
    case 404:
      return Code::kNotFound;
    case 409:
      return reason == "AlreadyExists" ? Code::kAlreadyExists : Code::kAborted;
    case 410:
      return Code::kOutOfRange;
    case 413:
    case 429:
      return Code::kResourceExhausted;
    case 504:
      return Code::kDeadlineExceeded;
    default:
      break;
  }
  if (http >= 500) return Code::kUnavailable;
  return Code::kUnknown;
}

Status ErrorFromResponse(std::string_view method, std::string_view path, const HttpResponse& r) {
  std::string message, reason;
  try {
    Object body = Object::parse(r.body);
    if (body.is_object()) {
      message = body.value("message", "");
      reason = body.value("reason", "");
    }
  } catch (const std::exception&) {
    message = r.body.substr(0, 512);
  }
  std::string text = std::string(method) + " " + std::string(path) + ": HTTP " +
                     std::to_string(r.code) + " " + (reason.empty() ? r.reason : reason);
  if (!message.empty()) text += ": " + message;
  return Status(CodeForHttp(r.code, reason), text);
}

Result<Object> ParseJsonBody(std::string_view method, std::string_view path,
                             const HttpResponse& r) {
  try {
    return Object::parse(r.body);
  } catch (const std::exception& e) {
    return InternalError(std::string(method) + " " + std::string(path) +
                         ": response is not JSON: " + e.what());
  }
}

}  // namespace internal

int HttpCodeOf(const Status& status) {
  const std::string& m = status.message();
  size_t pos = 0;
  while ((pos = m.find("HTTP ", pos)) != std::string::npos) {
    if (pos + 8 <= m.size() && std::isdigit(static_cast<unsigned char>(m[pos + 5])) &&
        std::isdigit(static_cast<unsigned char>(m[pos + 6])) &&
        std::isdigit(static_cast<unsigned char>(m[pos + 7])) &&
        (pos + 8 == m.size() || m[pos + 8] == ' ')) {
      return std::stoi(m.substr(pos + 5, 3));
    }
    pos += 5;
  }
  return 0;
}

// ---- RestClient --------------------------------------------------------------------

RestClient::RestClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RestClient::~RestClient() = default;

const KubeConfig& RestClient::config() const { return impl_->config; }

Result<std::unique_ptr<RestClient>> RestClient::Create(const KubeConfig& config,
                                                       const RestOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->options = options;
  DRAHIL_ASSIGN_OR_RETURN(impl->endpoint, ParseServer(config.server));
  if (impl->endpoint.tls) {
    try {
      impl->ssl_ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
      if (config.insecure_skip_tls_verify) {
        impl->ssl_ctx->set_verify_mode(ssl::verify_none);
      } else {
        impl->ssl_ctx->set_verify_mode(ssl::verify_peer);
        if (!config.ca_pem.empty()) {
          impl->ssl_ctx->add_certificate_authority(net::buffer(config.ca_pem));
        } else {
          impl->ssl_ctx->set_default_verify_paths();
        }
      }
      if (!config.client_cert_pem.empty()) {
        impl->ssl_ctx->use_certificate_chain(net::buffer(config.client_cert_pem));
        impl->ssl_ctx->use_private_key(net::buffer(config.client_key_pem), ssl::context::pem);
      }
    } catch (const std::exception& e) {
      return InvalidArgumentError("TLS setup for " + config.server + ": " + e.what() + " " +
                                  OpenSslErrors());
    }
  }
  return std::unique_ptr<RestClient>(new RestClient(std::move(impl)));
}

Result<std::string> RestClient::Path(std::string_view resource, std::string_view ns,
                                     std::string_view name, std::string_view subresource) {
  const ResourceInfo* info = FindByResource(resource);
  if (info == nullptr)
    return InvalidArgumentError("unknown resource \"" + std::string(resource) + "\"");
  std::string p = info->group.empty() ? "/api/v1" : "/apis/" + info->GroupVersion();
  if (info->namespaced && !ns.empty()) p += "/namespaces/" + UrlEncode(ns);
  p += "/" + std::string(info->resource);
  if (!name.empty()) p += "/" + UrlEncode(name);
  if (!subresource.empty()) {
    if (name.empty()) return InvalidArgumentError("subresource without a name");
    p += "/" + std::string(subresource);
  }
  return p;
}

Result<HttpResponse> RestClient::Request(std::string_view method, std::string_view path,
                                         std::string_view body, std::string_view content_type,
                                         bool retry) {
  const RestOptions& o = impl_->options;
  int attempts = retry ? 1 + std::max(0, o.max_retries) : 1;
  bool idempotent = method == "GET" || method == "PUT" || method == "DELETE" || method == "HEAD";
  auto backoff = o.initial_backoff;
  Attempt a;
  for (int i = 0; i < attempts; ++i) {
    a = impl_->Once(method, std::string(path), body, content_type);
    bool last = i + 1 == attempts;
    std::chrono::milliseconds wait = backoff;
    if (!a.status.ok()) {
      // Connection failures before sending are always safe to retry.
      if (last || (a.sent && !idempotent)) return a.status;
    } else {
      int c = a.response.code;
      bool retryable = c == 429 || c == 502 || c == 503 || c == 504 || (c == 500 && idempotent);
      if (!retryable || last) return a.response;
      if (auto it = a.response.headers.find("retry-after"); it != a.response.headers.end()) {
        int secs = std::atoi(it->second.c_str());
        if (secs > 0) wait = std::chrono::seconds(secs);
      }
    }
    o.clock->SleepFor(std::min(wait, o.max_backoff));
    backoff = std::min(backoff * 2, o.max_backoff);
  }
  return a.status.ok() ? Result<HttpResponse>(a.response) : Result<HttpResponse>(a.status);
}

namespace {
Result<Object> ExpectObject(std::string_view method, const std::string& path,
                            const Result<HttpResponse>& r) {
  if (!r.ok()) return r.status();
  if (r->code < 200 || r->code > 299) return ErrorFromResponse(method, path, *r);
  return ParseJsonBody(method, path, *r);
}
}  // namespace

Result<Object> RestClient::Get(std::string_view resource, std::string_view ns,
                               std::string_view name) {
  DRAHIL_ASSIGN_OR_RETURN(std::string path, Path(resource, ns, name));
  return ExpectObject("GET", path, Request("GET", path));
}

Result<Object> RestClient::List(std::string_view resource, std::string_view ns,
                                const ListOptions& options) {
  DRAHIL_ASSIGN_OR_RETURN(std::string path, Path(resource, ns));
  if (!options.label_selector.empty()) AddQuery(path, "labelSelector", options.label_selector);
  if (!options.field_selector.empty()) AddQuery(path, "fieldSelector", options.field_selector);
  if (options.limit > 0) AddQuery(path, "limit", std::to_string(options.limit));
  if (!options.continue_token.empty()) AddQuery(path, "continue", options.continue_token);
  if (!options.resource_version.empty())
    AddQuery(path, "resourceVersion", options.resource_version);
  return ExpectObject("GET", path, Request("GET", path));
}

Result<Object> RestClient::ListAll(std::string_view resource, std::string_view ns,
                                   ListOptions options) {
  Object all;
  for (int page = 0; page < 100000; ++page) {
    DRAHIL_ASSIGN_OR_RETURN(Object list, List(resource, ns, options));
    if (all.is_null()) {
      all = list;
      if (!all.contains("items") || !all["items"].is_array()) all["items"] = Object::array();
    } else if (list.contains("items") && list["items"].is_array()) {
      for (auto& item : list["items"]) all["items"].push_back(std::move(item));
      all["metadata"] = list.value("metadata", Object::object());
    }
    std::string next = FieldValue(list, "metadata.continue");
    if (next.empty()) break;
    options.continue_token = next;
  }
  if (all.contains("metadata") && all["metadata"].is_object()) all["metadata"].erase("continue");
  return all;
}

namespace {
Result<std::string> ObjectPath(const Object& obj, const std::string& default_ns, bool with_name,
                               std::string_view subresource) {
  const ResourceInfo* info = ResourceFor(obj);
  if (info == nullptr) {
    return InvalidArgumentError("no resource for apiVersion \"" + ApiVersion(obj) + "\" kind \"" +
                                Kind(obj) + "\"");
  }
  std::string ns = Namespace(obj);
  if (ns.empty()) ns = default_ns;
  std::string name = Name(obj);
  if (with_name && name.empty())
    return InvalidArgumentError(ObjectRef(obj) + ": metadata.name is required");
  return RestClient::Path(info->resource, ns, with_name ? name : "", subresource);
}
}  // namespace

Result<Object> RestClient::CreateObject(const Object& obj) {
  DRAHIL_ASSIGN_OR_RETURN(std::string path, ObjectPath(obj, impl_->config.namespace_, false, ""));
  return ExpectObject("POST", path, Request("POST", path, obj.dump()));
}

Result<Object> RestClient::Update(const Object& obj) {
  DRAHIL_ASSIGN_OR_RETURN(std::string path, ObjectPath(obj, impl_->config.namespace_, true, ""));
  return ExpectObject("PUT", path, Request("PUT", path, obj.dump()));
}

Result<Object> RestClient::UpdateStatus(const Object& obj) {
  DRAHIL_ASSIGN_OR_RETURN(std::string path,
                          ObjectPath(obj, impl_->config.namespace_, true, "status"));
  return ExpectObject("PUT", path, Request("PUT", path, obj.dump()));
}

Result<Object> RestClient::UpdateWithRetry(std::string_view resource, std::string_view ns,
                                           std::string_view name,
                                           const std::function<Status(Object&)>& mutate,
                                           bool status) {
  const RestOptions& o = impl_->options;
  auto backoff = o.initial_backoff;
  Status last;
  for (int i = 0; i <= std::max(0, o.max_retries); ++i) {
    DRAHIL_ASSIGN_OR_RETURN(Object obj, Get(resource, ns, name));
    DRAHIL_RETURN_IF_ERROR(mutate(obj));
    auto r = status ? UpdateStatus(obj) : Update(obj);
    if (r.ok() || HttpCodeOf(r.status()) != 409) return r;
    last = r.status();
    o.clock->SleepFor(backoff);
    backoff = std::min(backoff * 2, o.max_backoff);
  }
  return last;
}

Result<Object> RestClient::Patch(std::string_view resource, std::string_view ns,
                                 std::string_view name, PatchType type, const Object& patch,
                                 std::string_view subresource) {
  DRAHIL_ASSIGN_OR_RETURN(std::string path, Path(resource, ns, name, subresource));
  const char* ct = type == PatchType::kMerge  ? "application/merge-patch+json"
                   : type == PatchType::kJson ? "application/json-patch+json"
                                              : "application/strategic-merge-patch+json";
  return ExpectObject("PATCH", path, Request("PATCH", path, patch.dump(), ct));
}

Status RestClient::Delete(std::string_view resource, std::string_view ns, std::string_view name,
                          const DeleteOptions& options) {
  DRAHIL_ASSIGN_OR_RETURN(std::string path, Path(resource, ns, name));
  std::string body;
  if (!options.precondition_uid.empty() || !options.precondition_resource_version.empty() ||
      !options.propagation_policy.empty()) {
    Object b = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
    if (!options.precondition_uid.empty()) b["preconditions"]["uid"] = options.precondition_uid;
    if (!options.precondition_resource_version.empty()) {
      b["preconditions"]["resourceVersion"] = options.precondition_resource_version;
    }
    if (!options.propagation_policy.empty()) b["propagationPolicy"] = options.propagation_policy;
    body = b.dump();
  }
  DRAHIL_ASSIGN_OR_RETURN(HttpResponse r, Request("DELETE", path, body));
  if (r.code == 404 && options.ignore_not_found) return OkStatus();
  if (r.code < 200 || r.code > 299) return ErrorFromResponse("DELETE", path, r);
  return OkStatus();
}

}  // namespace drahil::kube
