// Handler (handler.hpp): authentication by bearer token, routing a path to a
// resource and verb (Classify), and dispatch (Serve); also the request and
// response helpers the Handler's sources share. The non-resource paths are in
// discovery.cpp, the verbs in verbs.cpp.
#include "handler.hpp"

#include <algorithm>
#include <random>

#include "authorization.hpp"
#include "drahil/core/strings.hpp"
#include "handler_util.hpp"
#include "protobuf.hpp"
#include "strategy.hpp"

namespace drahil::apiserver::internal {

using nlohmann::json;

// ---------------------------------------------------------------------------
// Request and response helpers (handler_util.hpp)

Response JsonResponse(int status, const json& body) {
  Response r;
  r.status = status;
  r.body = body.dump();
  if (status >= 400 && body.is_object() && body.value("kind", "") == "Status")
    r.error = body.value("message", "");
  return r;
}

ApiError NoSuchPath() {
  return {404, "NotFound", "the server could not find the requested resource", json::object()};
}

std::string MediaType(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  t.erase(std::remove_if(t.begin(), t.end(), ::isspace), t.end());
  std::transform(t.begin(), t.end(), t.begin(), ::tolower);
  return t;
}

std::string Param(const Request& req, const std::string& key) {
  auto it = req.params.find(key);
  return it == req.params.end() ? std::string() : it->second;
}

// ParseBool(): Go's strconv.ParseBool, which Kubernetes uses for query
// flags (the Python client sends "True").
bool ParseBool(const std::string& v) {
  return v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" || v == "True";
}

bool ParamTrue(const Request& req, const std::string& key) { return ParseBool(Param(req, key)); }

namespace {

// ToProtobuf(): the answer in protobuf for a client that prefers it
// (negotiation.NegotiateOutputMediaType chose it): watches switch to the
// protobuf stream framing, JSON bodies (objects, lists, Status errors) are
// encoded. A body that cannot be encoded stays JSON where JSON is acceptable,
// else becomes a 500 Status in protobuf.
Response ToProtobuf(const Request& req, Response r) {
  if (r.watcher) {
    r.content_type = kProtobufWatchMediaType;
    r.protobuf_watch = true;
    return r;
  }
  if (r.content_type != "application/json") return r;
  json body = json::parse(r.body, nullptr, false);
  if (body.is_discarded()) return r;
  std::string err;
  auto bytes = EncodeProtobufObject(body, &err);
  if (!bytes) {
    if (AcceptsJsonOutput(req.accept)) return r;
    bytes = EncodeProtobufObject(
        Internal("unable to encode the answer as protobuf: " + err).ToStatusJson(), &err);
    r.status = 500;
    r.headers.clear();
    if (!bytes) return r;
  }
  r.body = std::move(*bytes);
  r.content_type = kProtobufMediaType;
  return r;
}

}  // namespace

// ---------------------------------------------------------------------------
// Handler: authentication, routing and dispatch

Handler::Handler(Store& store, Config config) : store_(store), config_(std::move(config)) {
  Identity admin;
  admin.user = "drahil-admin";
  admin.authenticated = true;
  admin.admin = true;
  tokens_[config_.admin_token] = admin;
}

std::string Handler::IssueNodeToken(const std::string& node, const std::string& driver) {
  static const char kHex[] = "0123456789abcdef";
  std::random_device rd;
  std::string token = "drahil-node-";
  for (int i = 0; i < 32; ++i) token.push_back(kHex[rd() % 16]);
  Identity id;
  id.user = "system:node:" + node;
  id.authenticated = true;
  id.node = node;
  id.driver = driver;
  if (config_.driver_policy) {
    id.policy = std::make_shared<const AccessPolicy>(*config_.driver_policy);
    if (!id.policy->user.empty()) id.user = id.policy->user;
    id.granular_claim_status = config_.gates.version().minor >= 36;
  }
  MutexLock lock(tokens_mu_);
  tokens_[token] = id;
  ++token_counter_;
  return token;
}

Response Handler::ErrorResponse(const ApiError& err) {
  return JsonResponse(err.code, err.ToStatusJson());
}

Classified Handler::Classify(const Request& req) const {
  Classified c;
  // Authentication: bearer tokens only.
  c.identity.user = "system:anonymous";
  const std::string kBearer = "Bearer ";
  if (req.authorization.rfind(kBearer, 0) == 0) {
    std::string token = req.authorization.substr(kBearer.size());
    MutexLock lock(tokens_mu_);
    auto it = tokens_.find(token);
    if (it != tokens_.end()) c.identity = it->second;
  } else if (config_.allow_anonymous) {
    c.identity.authenticated = true;
    c.identity.admin = true;
  }

  Route& r = c.route;
  std::string method = req.method;
  r.verb = method;
  std::transform(r.verb.begin(), r.verb.end(), r.verb.begin(), ::tolower);
  auto segs = Split(req.path, '/', {.skip_empty = true});
  std::vector<std::string> rest;
  std::string group, version;
  if (segs.size() >= 2 && segs[0] == "api") {
    version = segs[1];
    rest.assign(segs.begin() + 2, segs.end());
  } else if (segs.size() >= 3 && segs[0] == "apis") {
    group = segs[1];
    version = segs[2];
    rest.assign(segs.begin() + 3, segs.end());
  } else {
    return c;  // non-resource path
  }
  if (rest.empty()) return c;  // discovery document
  const Registry& registry = store_.registry();
  if (!registry.ServesGroupVersion(group, version)) {
    r.error = NoSuchPath();
    return c;
  }
  // Namespaced form: namespaces/{ns}/{resource}[/{name}[/{sub}]].
  const ResourceInfo* info = nullptr;
  if (rest[0] == "namespaces" && rest.size() >= 3) {
    const ResourceInfo* inner = registry.Find(group, version, rest[2]);
    if (inner != nullptr && inner->namespaced) {
      info = inner;
      r.ns = rest[1];
      rest.erase(rest.begin(), rest.begin() + 2);
    }
  }
  if (info == nullptr) {
    info = registry.Find(group, version, rest[0]);
    if (info == nullptr) {
      r.error = NoSuchPath();
      return c;
    }
  }
  // A resource the gates do not serve is absent, as in kube-apiserver
  // (DeviceTaintRule without its gate).
  if (!Served(*info, config_.gates)) {
    r.error = NoSuchPath();
    return c;
  }
  r.info = info;
  if (rest.size() >= 2) r.name = rest[1];
  if (rest.size() >= 3) r.subresource = rest[2];
  if (rest.size() > 3 ||
      (!r.subresource.empty() && !(r.subresource == "status" && info->has_status))) {
    r.error = NoSuchPath();
    return c;
  }
  bool collection = r.name.empty();
  if (method == "GET") {
    r.verb = collection ? (ParamTrue(req, "watch") ? "watch" : "list") : "get";
  } else if (method == "POST") {
    r.verb = "create";
  } else if (method == "PUT") {
    r.verb = "update";
  } else if (method == "PATCH") {
    r.verb = "patch";
  } else if (method == "DELETE") {
    r.verb = collection ? "deletecollection" : "delete";
  } else {
    r.error = MethodNotAllowed("the server does not allow this method on the requested resource");
    return c;
  }
  bool bad = (method == "POST" && !collection) ||
             ((method == "PUT" || method == "PATCH") && collection) ||
             (info->namespaced && r.ns.empty() && r.verb != "list" && r.verb != "watch");
  if (bad) {
    r.error = MethodNotAllowed("the server does not allow this method on the requested resource");
  }
  return c;
}

Response Handler::Serve(const Request& req, const Classified& c) {
  // Output negotiation: protobuf for the kinds protobuf.cpp encodes, JSON
  // for everything (protobuf.hpp).
  const ResourceInfo* info = c.route.info;
  bool protobuf_ok = info != nullptr && ProtobufEncodable(info->GroupVersion(), info->kind);
  OutputMedia media = NegotiateOutput(req.accept, protobuf_ok);
  auto answer = [&](Response r) {
    return media == OutputMedia::kProtobuf ? ToProtobuf(req, std::move(r)) : r;
  };
  bool public_path = req.path == "/version" || req.path == "/healthz" || req.path == "/livez" ||
                     req.path == "/readyz" || req.path.rfind("/openapi", 0) == 0;
  if (!c.identity.authenticated && !public_path) return answer(ErrorResponse(Unauthorized()));
  if (c.route.error) return ErrorResponse(*c.route.error);
  // OpenAPI v2 is not served whatever the Accept header asks for (kubectl
  // asks for protobuf); v3 is served in JSON (see OpenApiV3).
  if (req.path.rfind("/openapi/v2", 0) == 0) return ErrorResponse(NoSuchPath());
  if (media == OutputMedia::kNone) {
    return ErrorResponse(
        NotAcceptable(std::string("only the following media types are accepted: application/json") +
                      (protobuf_ok ? std::string(", ") + kProtobufMediaType : std::string())));
  }
  if (info == nullptr) return ServeNonResource(req, c.route);
  try {
    return answer(ServeResource(req, c));
  } catch (const std::exception& e) {
    // A bug must not take the server down; report it to the client instead.
    return answer(ErrorResponse(Internal(e.what())));
  }
}

Response Handler::ServeResource(const Request& req, const Classified& c) {
  const std::string& v = c.route.verb;
  // A dry run that silently wrote would be worse than a refusal.
  if (!Param(req, "dryRun").empty() && v != "get" && v != "list" && v != "watch") {
    return ErrorResponse(BadRequest("dryRun is not supported by drahil's API server"));
  }
  // RBAC for a driver policy, before anything is read or written
  // (kube-apiserver's WithAuthorization filter). A list or watch pinned to
  // one name by its field selector is authorized for that name.
  std::string authz_name = c.route.name;
  if (authz_name.empty() && (v == "list" || v == "watch")) {
    std::string err;
    auto fs = FieldSelector::Parse(Param(req, "fieldSelector"), *c.route.info, &err);
    if (fs) authz_name = fs->ExactName().value_or("");
  }
  if (auto e = AuthorizeRequest(c.identity, c.route, authz_name)) return ErrorResponse(*e);
  if (v == "get") return Get(req, c);
  if (v == "list") return List(req, c);
  if (v == "watch") return Watch(req, c);
  if (v == "create") return Create(req, c);
  if (v == "update") return Update(req, c);
  if (v == "patch") return Patch(req, c);
  if (v == "delete") return Delete(req, c);
  if (v == "deletecollection") return DeleteCollection(req, c);
  return ErrorResponse(MethodNotAllowed("unsupported verb " + v));
}

}  // namespace drahil::apiserver::internal
