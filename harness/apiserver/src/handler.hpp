// File: handler.hpp (private)
//
// Handler: the REST semantics of the API server, independent of the socket
// layer. The HTTP session parses a request into Request, asks Classify() for
// who and what it is (for audit and fault injection), then Serve() for the
// answer. A watch answer carries a Watcher the session streams from.
#ifndef DRAHIL_APISERVER_HANDLER_HPP_INCLUDED
#define DRAHIL_APISERVER_HANDLER_HPP_INCLUDED

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api_error.hpp"
#include "drahil/apiserver/apiserver.hpp"
#include "drahil/core/feature_gates.hpp"
#include "drahil/core/mutex.hpp"
#include "store.hpp"

namespace drahil::apiserver::internal {

struct Request {
  std::string method;  // "GET"
  std::string path;    // decoded path, no query
  std::string query;   // raw query
  std::map<std::string, std::string> params;
  std::string content_type;
  std::string accept;
  std::string authorization;
  std::string user_agent;
  std::string body;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string error;                 // an error answer's Status message (for the audit log)
  std::shared_ptr<Watcher> watcher;  // set: stream this watch instead of body
  bool protobuf_watch = false;       // the watch's events go out in protobuf framing
  std::chrono::seconds watch_timeout{0};
};

struct Identity {
  std::string user;
  bool authenticated = false;
  bool admin = false;
  std::string node;    // node-bound tokens
  std::string driver;  // optional driver binding
  // The driver policy's rules (RBAC) instead of the default node rule set.
  std::shared_ptr<const AccessPolicy> policy;
  // Kubernetes 1.36+ (DRAResourceClaimGranularStatusAuthorization, beta and
  // on): a policy's ResourceClaim status writes also need the synthetic
  // resourceclaims/binding and resourceclaims/driver permissions.
  bool granular_claim_status = true;
};

// Route: what a URL path addresses.
struct Route {
  const ResourceInfo* info = nullptr;  // null: non-resource path
  std::string ns;
  std::string name;
  std::string subresource;
  std::string verb;               // Kubernetes verb, or lower-case method for non-resource
  std::optional<ApiError> error;  // the path itself is bad (404/405)
};

struct Classified {
  Identity identity;
  Route route;
};

class Handler {
 public:
  struct Config {
    std::string git_version;
    std::string admin_token;
    bool allow_anonymous = false;
    std::chrono::seconds default_watch_timeout{1800};
    FeatureGates gates = FeatureGates::Newest();
    // Called for every field dropped from an accepted write.
    std::function<void(DroppedField)> on_drop;
    // Options::driver_policy: the rights of IssueNodeToken's tokens.
    std::optional<AccessPolicy> driver_policy;
  };
  Handler(Store& store, Config config);

  void SetServerAddress(std::string host_port) { server_address_ = std::move(host_port); }
  std::string IssueNodeToken(const std::string& node, const std::string& driver)
      DRAHIL_EXCLUDES(tokens_mu_);

  Classified Classify(const Request& req) const DRAHIL_EXCLUDES(tokens_mu_);
  Response Serve(const Request& req, const Classified& c);

  // Shared with the C++ API: prepare + validate helpers.
  static Response ErrorResponse(const ApiError& err);

 private:
  // Health, version, discovery and OpenAPI (discovery.cpp).
  Response ServeNonResource(const Request& req, const Route& route);
  Response OpenApiV3(const std::string& gv_path);
  // The verbs on resources (verbs.cpp; ServeResource() dispatches).
  Response ServeResource(const Request& req, const Classified& c);
  Response Get(const Request& req, const Classified& c);
  Response List(const Request& req, const Classified& c);
  Response Watch(const Request& req, const Classified& c);
  Response Create(const Request& req, const Classified& c);
  Response Update(const Request& req, const Classified& c);
  Response Patch(const Request& req, const Classified& c);
  // Server-side apply (application/apply-patch+yaml), verbs.cpp.
  Response Apply(const Request& req, const Classified& c);
  // CreateObject(): the create of obj (parsed) as Create does it; track, when
  // set, records field ownership once the object is normalized.
  Response CreateObject(nlohmann::json obj, const Classified& c,
                        const std::function<void(nlohmann::json&)>& track);
  Response Delete(const Request& req, const Classified& c);
  Response DeleteCollection(const Request& req, const Classified& c);
  // PrepareWrite(): the strategy's dropDisabledFields on d (old: the stored
  // object, nullptr on create); the drops go to *drops.
  void PrepareWrite(const ResourceInfo& info, const std::string& sub, nlohmann::json& d,
                    const nlohmann::json* old, std::vector<DroppedField>* drops,
                    const Classified& c) const;
  void Report(std::vector<DroppedField> drops) const;

  Store& store_;
  Config config_;
  std::string server_address_;
  mutable Mutex tokens_mu_;
  std::map<std::string, Identity> tokens_ DRAHIL_GUARDED_BY(tokens_mu_);
  uint64_t token_counter_ DRAHIL_GUARDED_BY(tokens_mu_) = 0;
};

}  // namespace drahil::apiserver::internal

#endif  // DRAHIL_APISERVER_HANDLER_HPP_INCLUDED
