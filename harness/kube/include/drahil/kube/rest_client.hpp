// File: rest_client.hpp
//
// A Kubernetes REST client (Boost.Beast underneath, kept out of this header):
// kubeconfig loading, get/list/create/update/patch/delete, watch with
// newline-delimited JSON events, and retries with backoff.
//
// Contract:
//  - Every network operation has a deadline (RestOptions::timeout per
//    request; Watch has its own). Nothing blocks forever.
//  - Errors are Status values. Their message starts with
//    "<VERB> <path>: HTTP <code> <Reason>: <server Status message>" when the
//    server answered, so HttpCodeOf() can recover the code; the canonical
//    code is mapped from HTTP: 400/422 → kInvalidArgument, 401 →
//    kUnauthenticated, 403 → kPermissionDenied, 404 → kNotFound, 409 →
//    kAlreadyExists (reason AlreadyExists) or kAborted (Conflict), 410 →
//    kOutOfRange (resourceVersion too old), 413 → kResourceExhausted,
//    415 → kInvalidArgument, 429 → kResourceExhausted, 5xx → kUnavailable;
//    transport failures → kUnavailable, timeouts → kDeadlineExceeded.
//  - Retries: 429, 5xx and failed connections are retried with exponential
//    backoff (honouring Retry-After) up to RestOptions::max_retries; 409 is
//    retried only by UpdateWithRetry, which re-reads the object.
//  - Thread-safety: a RestClient may be used from several threads at once;
//    each request uses its own connection (no pooling: the harness makes few
//    requests and a fresh connection keeps failure handling simple).
#ifndef DRAHIL_KUBE_REST_CLIENT_HPP_INCLUDED
#define DRAHIL_KUBE_REST_CLIENT_HPP_INCLUDED

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "drahil/core/clock.hpp"
#include "drahil/core/status.hpp"
#include "drahil/kube/object.hpp"

namespace drahil::kube {

// KubeConfig: the parts of a kubeconfig a client needs, resolved for one
// context. File references (certificate-authority, client-certificate,
// client-key, tokenFile) are read at load time, relative to the
// kubeconfig's directory.
struct KubeConfig {
  std::string context;             // context name used
  std::string server;              // "https://127.0.0.1:6443" or "http://..."
  std::string ca_pem;              // certificate-authority(-data), PEM
  std::string client_cert_pem;     // client-certificate(-data)
  std::string client_key_pem;      // client-key(-data)
  std::string token;               // bearer token (token or tokenFile)
  std::string username, password;  // basic auth (rare)
  std::string tls_server_name;     // overrides the name checked in the server cert
  bool insecure_skip_tls_verify = false;
  std::string namespace_ = "default";  // context namespace

  // Load(): reads path (or $KUBECONFIG's first entry, or ~/.kube/config when
  // path is empty); context "" = current-context.
  static Result<KubeConfig> Load(const std::string& path, const std::string& context = {});
  // Parse(): from text; base_dir resolves relative file references.
  static Result<KubeConfig> Parse(std::string_view text, const std::string& base_dir,
                                  const std::string& context = {});
};

struct RestOptions {
  std::chrono::milliseconds timeout{30000};  // per attempt: connect+write+read
  int max_retries = 4;                       // attempts after the first one
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
  // The backoff waits sleep on this clock (a FakeClock in tests); timeouts
  // of the connection itself are real time. Must outlive the client.
  Clock* clock = &Clock::Real();
  std::string user_agent = "drahil/0.1";
  size_t max_response_bytes = 64u << 20;
};

struct HttpResponse {
  int code = 0;
  std::string reason;                          // "Conflict" (HTTP reason phrase)
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  int64_t limit = 0;  // 0 = no limit
  std::string continue_token;
  std::string resource_version;  // "" = most recent
};

struct DeleteOptions {
  std::string precondition_uid;
  std::string precondition_resource_version;
  std::string propagation_policy;  // "", "Background", "Foreground", "Orphan"
  bool ignore_not_found = false;   // 404 → OK
};

enum class PatchType { kMerge, kJson, kStrategicMerge };

struct WatchOptions {
  std::string resource_version;  // "" = start from now (server's choice)
  std::string label_selector;
  std::string field_selector;
  bool allow_bookmarks = true;
  bool send_initial_events = false;  // watch-list; sets resourceVersionMatch=NotOlderThan
  int timeout_seconds = 0;           // server-side timeoutSeconds; 0 = omit
  // Client-side bound on the whole watch; the watch ends OK when it passes.
  std::chrono::milliseconds deadline{std::chrono::minutes(5)};
  // A silent connection for this long is an error (servers send bookmarks).
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(2)};
};

struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED, BOOKMARK, ERROR
  Object object;
};

// Return false to stop the watch (Watch then returns OK).
using WatchCallback = std::function<bool(const WatchEvent&)>;

// HttpCodeOf(): the HTTP status code named in a RestClient error message,
// 0 when there is none (transport error, or not from RestClient).
int HttpCodeOf(const Status& status);

class RestClient {
 public:
  // Create(): validates the server URL and TLS material (bad PEM fails here).
  static Result<std::unique_ptr<RestClient>> Create(const KubeConfig& config,
                                                    const RestOptions& options = {});
  ~RestClient();
  RestClient(const RestClient&) = delete;
  RestClient& operator=(const RestClient&) = delete;

  const KubeConfig& config() const;

  // Path(): "/apis/resource.k8s.io/v1/namespaces/ns/resourceclaims/name/status";
  // resource is a plural from the registry (FindByResource); ns is ignored for
  // cluster-scoped resources; name and subresource may be empty.
  static Result<std::string> Path(std::string_view resource, std::string_view ns,
                                  std::string_view name = {}, std::string_view subresource = {});

  // Request(): one raw request, with retries on 429/5xx/connection failure
  // when retry is true. A response of any code is returned as a value; only
  // transport failures are errors. path includes the query string.
  Result<HttpResponse> Request(std::string_view method, std::string_view path,
                               std::string_view body = {},
                               std::string_view content_type = "application/json",
                               bool retry = true);

  Result<Object> Get(std::string_view resource, std::string_view ns, std::string_view name);
  // List(): one page (the List object, with metadata.continue when more remain).
  Result<Object> List(std::string_view resource, std::string_view ns,
                      const ListOptions& options = {});
  // ListAll(): follows continue tokens; returns one List with all items.
  Result<Object> ListAll(std::string_view resource, std::string_view ns, ListOptions options = {});
  // Create()/Update()/UpdateStatus(): the resource and namespace come from
  // obj's apiVersion, kind and metadata.namespace (the kubeconfig's namespace
  // when empty for a namespaced kind).
  Result<Object> CreateObject(const Object& obj);
  Result<Object> Update(const Object& obj);
  Result<Object> UpdateStatus(const Object& obj);
  // UpdateWithRetry(): GET, mutate, PUT (status subresource if status); on 409
  // re-GETs and tries again, up to max_retries+1 times. mutate may return an
  // error to abort.
  Result<Object> UpdateWithRetry(std::string_view resource, std::string_view ns,
                                 std::string_view name,
                                 const std::function<Status(Object&)>& mutate, bool status = false);
  Result<Object> Patch(std::string_view resource, std::string_view ns, std::string_view name,
                       PatchType type, const Object& patch, std::string_view subresource = {});
  Status Delete(std::string_view resource, std::string_view ns, std::string_view name,
                const DeleteOptions& options = {});

  // Watch(): streams events to callback until it returns false, the server
  // ends the stream, options.deadline passes, or stop is requested (all OK);
  // errors: connect/HTTP failure, idle timeout, malformed event. An ERROR
  // event is passed to the callback and then ends the watch with an error
  // carrying its Status message and code (410 → kOutOfRange).
  Status Watch(std::string_view resource, std::string_view ns, const WatchOptions& options,
               const WatchCallback& callback, std::stop_token stop = {});

 private:
  struct Impl;
  explicit RestClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace drahil::kube

#endif  // DRAHIL_KUBE_REST_CLIENT_HPP_INCLUDED
