#include "handler.hpp"

#include <algorithm>
#include <random>

#include "drahil/core/strings.hpp"
#include "drahil/formats/json_fields.hpp"
#include "validation.hpp"

namespace drahil::apiserver::internal {

namespace {

using nlohmann::json;

const char kAdminLabel[] = "resource.kubernetes.io/admin-access";
// The spelling in the Kubernetes 1.34 release announcement; accepted with a
// warning so a suite written from the announcement still runs.
const char kOldAdminLabel[] = "resource.k8s.io/admin-access";

Response JsonResponse(int status, const json& body) {
  Response r;
  r.status = status;
  r.body = body.dump();
  return r;
}

ApiError NoSuchPath() {
  return {404, "NotFound", "the server could not find the requested resource", json::object()};
}

bool MediaIsJson(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  t.erase(std::remove_if(t.begin(), t.end(), ::isspace), t.end());
  std::transform(t.begin(), t.end(), t.begin(), ::tolower);
  return t.empty() || t == "application/json";
}

std::string MediaType(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  t.erase(std::remove_if(t.begin(), t.end(), ::isspace), t.end());
  std::transform(t.begin(), t.end(), t.begin(), ::tolower);
  return t;
}

// AcceptsJson(): plain JSON is acceptable for this Accept header. Ranges
// asking for another shape of JSON ("as=Table", "as=APIGroupDiscoveryList")
// do not count; clients list plain JSON after them as the fallback.
bool AcceptsJson(const std::string& accept) {
  if (accept.empty()) return true;
  size_t start = 0;
  while (start <= accept.size()) {
    size_t comma = accept.find(',', start);
    std::string range =
        accept.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    std::string type = MediaType(range);
    if (type == "*/*" || type == "application/*") return true;
    if (type == "application/json" && range.find("as=") == std::string::npos) return true;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return false;
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

json& Meta(json& obj) {
  json& m = obj["metadata"];
  if (!m.is_object()) m = json::object();
  return m;
}

Expected<json> ParseObjectBody(const Request& req, const ResourceInfo& info) {
  if (!MediaIsJson(req.content_type)) return UnsupportedMediaType(req.content_type);
  json obj = json::parse(req.body, nullptr, false);
  if (obj.is_discarded()) {
    return BadRequest("couldn't get version/kind; json parse error: invalid JSON in request body");
  }
  if (!obj.is_object()) {
    return BadRequest("couldn't get version/kind; json parse error: body is not a JSON object");
  }
  if (auto err = CheckTypeMeta(info, obj)) return *err;
  if (obj.contains("metadata") && !obj["metadata"].is_object()) {
    return BadRequest("metadata: must be an object");
  }
  return obj;
}

std::string ListKind(const ResourceInfo& info) { return info.kind + "List"; }

json ListJson(const ResourceInfo& info, const std::vector<ObjPtr>& items, uint64_t rv,
              const std::string& cont, int64_t remaining) {
  json list = {{"kind", ListKind(info)},
               {"apiVersion", info.GroupVersion()},
               {"metadata", {{"resourceVersion", std::to_string(rv)}}}};
  if (!cont.empty()) {
    list["metadata"]["continue"] = cont;
    list["metadata"]["remainingItemCount"] = remaining;
  }
  json arr = json::array();
  for (const auto& o : items) arr.push_back(*o);
  list["items"] = std::move(arr);
  return list;
}

// StripSmpDirectives(): removes strategic-merge-patch directives so the rest
// can be applied as a JSON merge patch (see docs/apiserver.md).
void StripSmpDirectives(json& patch) {
  if (!patch.is_object()) return;
  for (auto it = patch.begin(); it != patch.end();) {
    if (!it.key().empty() && it.key()[0] == '$') {
      it = patch.erase(it);
      continue;
    }
    if (it.key().rfind("$setElementOrder/", 0) == 0 ||
        it.key().rfind("$deleteFromPrimitiveList/", 0) == 0 ||
        it.key().rfind("$retainKeys", 0) == 0) {
      it = patch.erase(it);
      continue;
    }
    StripSmpDirectives(it.value());
    ++it;
  }
}

std::string ScopeText(const Route& r) {
  return r.ns.empty() ? "at the cluster scope" : "in the namespace \"" + r.ns + "\"";
}

// AuthorizeWrite(): the node restriction for node-bound tokens.
std::optional<ApiError> AuthorizeWrite(const Identity& id, const Route& route, const json& obj) {
  if (id.admin) return std::nullopt;
  const ResourceInfo& info = *route.info;
  std::string what = info.GroupResource() + (route.name.empty() ? "" : " \"" + route.name + "\"");
  std::string head = what + " is forbidden: User \"" + id.user + "\" cannot " + route.verb +
                     " resource \"" + info.resource +
                     (route.subresource.empty() ? "" : "/" + route.subresource) +
                     "\" in API group \"" + info.group + "\" " + ScopeText(route);
  if (id.node.empty()) return Forbidden(head);
  if (info.resource == "resourceslices") {
    const json spec = obj.value("spec", json::object());
    std::string node = spec.is_object() ? spec.value("nodeName", "") : "";
    std::string driver = spec.is_object() ? spec.value("driver", "") : "";
    if (node != id.node) {
      return Forbidden(head + ": this user may only write ResourceSlices with spec.nodeName \"" +
                       id.node + "\" (got \"" + node + "\")");
    }
    if (!id.driver.empty() && driver != id.driver) {
      return Forbidden(head + ": this user may only write ResourceSlices with spec.driver \"" +
                       id.driver + "\" (got \"" + driver + "\")");
    }
    return std::nullopt;
  }
  if (info.resource == "resourceclaims" && route.subresource == "status") return std::nullopt;
  if (info.resource == "events") return std::nullopt;
  return Forbidden(head +
                   ": node-bound tokens may write only their node's ResourceSlices, "
                   "ResourceClaim status and Events");
}

json ResourceListJson(const std::string& group_version, const std::string& group) {
  json resources = json::array();
  for (const auto& r : Resources()) {
    if (r.group != group) continue;
    json e = {{"name", r.resource},
              {"singularName", r.singular},
              {"namespaced", r.namespaced},
              {"kind", r.kind},
              {"verbs", r.verbs}};
    if (!r.short_names.empty()) e["shortNames"] = r.short_names;
    resources.push_back(e);
    if (r.has_status) {
      resources.push_back({{"name", r.resource + "/status"},
                           {"singularName", ""},
                           {"namespaced", r.namespaced},
                           {"kind", r.kind},
                           {"verbs", {"get", "patch", "update"}}});
    }
  }
  return {{"kind", "APIResourceList"},
          {"apiVersion", "v1"},
          {"groupVersion", group_version},
          {"resources", resources}};
}

json ResourceGroupJson() {
  std::string gv = std::string(kResourceGroup) + "/v1";
  json version = {{"groupVersion", gv}, {"version", "v1"}};
  return {{"kind", "APIGroup"},
          {"apiVersion", "v1"},
          {"name", std::string(kResourceGroup)},
          {"versions", json::array({version})},
          {"preferredVersion", version}};
}

void WalkTaints(json& taints, const json* old_taints, const std::string& now) {
  if (!taints.is_array()) return;
  for (size_t i = 0; i < taints.size(); ++i) {
    json& t = taints[i];
    if (!t.is_object() || (t.contains("timeAdded") && !t["timeAdded"].is_null())) continue;
    // Keep the time of an unchanged taint that a client round-tripped without it.
    if (old_taints && old_taints->is_array()) {
      for (const auto& o : *old_taints) {
        if (o.is_object() && o.value("key", "") == t.value("key", "") &&
            o.value("value", "") == t.value("value", "") &&
            o.value("effect", "") == t.value("effect", "") && o.contains("timeAdded")) {
          t["timeAdded"] = o["timeAdded"];
        }
      }
    }
    if (!t.contains("timeAdded") || t["timeAdded"].is_null()) t["timeAdded"] = now;
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// Shared helpers

std::optional<ApiError> CheckTypeMeta(const ResourceInfo& info, json& obj) {
  std::string gv = info.GroupVersion();
  if (!obj.contains("apiVersion") || obj["apiVersion"].is_null() || obj["apiVersion"] == "") {
    obj["apiVersion"] = gv;
  }
  if (!obj.contains("kind") || obj["kind"].is_null() || obj["kind"] == "") obj["kind"] = info.kind;
  if (!obj["apiVersion"].is_string() || !obj["kind"].is_string()) {
    return BadRequest("apiVersion and kind must be strings");
  }
  if (obj["apiVersion"] != gv) {
    return BadRequest("the API version in the data (" + obj["apiVersion"].get<std::string>() +
                      ") does not match the expected API version (" + gv + ")");
  }
  if (obj["kind"] != info.kind) {
    return BadRequest("the kind in the data (" + obj["kind"].get<std::string>() +
                      ") does not match the expected kind (" + info.kind + ")");
  }
  return std::nullopt;
}

void FillTimeAdded(const ResourceInfo& info, json& obj, const json* old, const std::string& now) {
  if (info.resource == "resourceslices") {
    if (!obj.contains("spec") || !obj["spec"].is_object()) return;
    json& devices = obj["spec"]["devices"];
    if (!devices.is_array()) {
      if (devices.is_null()) obj["spec"].erase("devices");
      return;
    }
    const json* old_devices = nullptr;
    if (old && old->contains("spec") && (*old)["spec"].is_object() &&
        (*old)["spec"].contains("devices")) {
      old_devices = &(*old)["spec"]["devices"];
    }
    for (auto& d : devices) {
      if (!d.is_object() || !d.contains("taints")) continue;
      const json* old_taints = nullptr;
      if (old_devices && old_devices->is_array()) {
        for (const auto& od : *old_devices) {
          if (od.is_object() && od.value("name", "") == d.value("name", "") &&
              od.contains("taints")) {
            old_taints = &od["taints"];
          }
        }
      }
      WalkTaints(d["taints"], old_taints, now);
    }
  } else if (info.resource == "devicetaintrules") {
    if (!obj.contains("spec") || !obj["spec"].is_object() || !obj["spec"].contains("taint")) return;
    json arr = json::array({obj["spec"]["taint"]});
    json old_arr;
    if (old && old->contains("spec") && (*old)["spec"].is_object() &&
        (*old)["spec"].contains("taint")) {
      old_arr = json::array({(*old)["spec"]["taint"]});
    }
    WalkTaints(arr, old_arr.is_null() ? nullptr : &old_arr, now);
    obj["spec"]["taint"] = arr[0];
  }
}

std::optional<ApiError> AdminAccessCheck(const ResourceInfo& info, const json& obj,
                                         const json* ns_obj, std::vector<std::string>* warnings) {
  json::json_pointer ptr;
  std::string prefix;
  if (info.resource == "resourceclaims") {
    ptr = json::json_pointer("/spec/devices/requests");
    prefix = "spec.devices.requests";
  } else if (info.resource == "resourceclaimtemplates") {
    ptr = json::json_pointer("/spec/spec/devices/requests");
    prefix = "spec.spec.devices.requests";
  } else {
    return std::nullopt;
  }
  if (!obj.contains(ptr) || !obj.at(ptr).is_array()) return std::nullopt;
  json labels = json::object();
  std::string ns_name;
  if (ns_obj != nullptr) {
    ns_name = formats::StringOr(*ns_obj, "metadata.name");
    if ((*ns_obj)["metadata"].contains("labels")) labels = (*ns_obj)["metadata"]["labels"];
  }
  auto label_true = [&](const char* key) {
    return labels.is_object() && labels.contains(key) && labels[key] == "true";
  };
  std::vector<FieldCause> causes;
  const json& reqs = obj.at(ptr);
  for (size_t i = 0; i < reqs.size(); ++i) {
    const json& r = reqs[i];
    if (!r.is_object() || !r.contains("exactly") || !r["exactly"].is_object()) continue;
    const json& ex = r["exactly"];
    if (!(ex.contains("adminAccess") && ex["adminAccess"] == true)) continue;
    if (label_true(kAdminLabel)) continue;
    if (label_true(kOldAdminLabel)) {
      warnings->push_back("namespace \"" + ns_name + "\" grants admin access with the label " +
                          kOldAdminLabel + "; Kubernetes 1.34+ checks " + kAdminLabel +
                          ": \"true\"");
      continue;
    }
    std::string field = prefix + "[" + std::to_string(i) + "].exactly.adminAccess";
    causes.push_back({"FieldValueForbidden", field,
                      std::string("Forbidden: admin access to devices requires the `") +
                          kAdminLabel + ": true` label on the containing namespace"});
  }
  if (causes.empty()) return std::nullopt;
  return Invalid(info, formats::StringOr(obj, "metadata.name"), causes);
}

// ---------------------------------------------------------------------------
// Handler

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
  std::lock_guard<std::mutex> lock(tokens_mu_);
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
    std::lock_guard<std::mutex> lock(tokens_mu_);
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
  bool known_gv =
      (group.empty() && version == "v1") || (group == kResourceGroup && version == "v1");
  if (!known_gv) {
    r.error = NoSuchPath();
    return c;
  }
  // Namespaced form: namespaces/{ns}/{resource}[/{name}[/{sub}]].
  const ResourceInfo* info = nullptr;
  if (rest[0] == "namespaces" && rest.size() >= 3) {
    const ResourceInfo* inner = FindResource(group, version, rest[2]);
    if (inner != nullptr && inner->namespaced) {
      info = inner;
      r.ns = rest[1];
      rest.erase(rest.begin(), rest.begin() + 2);
    }
  }
  if (info == nullptr) {
    info = FindResource(group, version, rest[0]);
    if (info == nullptr) {
      r.error = NoSuchPath();
      return c;
    }
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
  bool public_path = req.path == "/version" || req.path == "/healthz" || req.path == "/livez" ||
                     req.path == "/readyz" || req.path.rfind("/openapi", 0) == 0;
  if (!c.identity.authenticated && !public_path) return ErrorResponse(Unauthorized());
  if (c.route.error) return ErrorResponse(*c.route.error);
  // OpenAPI v2 is not served whatever the Accept header asks for (kubectl
  // asks for protobuf); v3 is served in JSON (see OpenApiV3).
  if (req.path.rfind("/openapi/v2", 0) == 0) return ErrorResponse(NoSuchPath());
  if (!AcceptsJson(req.accept)) {
    return ErrorResponse(
        NotAcceptable("only the following media types are accepted: "
                      "application/json"));
  }
  if (c.route.info == nullptr) return ServeNonResource(req, c.route);
  try {
    return ServeResource(req, c);
  } catch (const std::exception& e) {
    // A bug must not take the server down; report it to the client instead.
    return ErrorResponse(Internal(e.what()));
  }
}

Response Handler::ServeNonResource(const Request& req, const Route& route) {
  const std::string& p = req.path;
  if (req.method != "GET" && req.method != "HEAD") {
    return ErrorResponse(MethodNotAllowed("the server does not allow this method"));
  }
  if (p == "/healthz" || p == "/livez" || p == "/readyz") {
    Response r;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "ok";
    return r;
  }
  if (p == "/version" || p == "/version/") {
    std::string v = config_.git_version;
    std::string minor = "34";
    if (v.size() > 3 && v[0] == 'v') {
      size_t d1 = v.find('.');
      size_t d2 = v.find('.', d1 + 1);
      if (d1 != std::string::npos && d2 != std::string::npos) minor = v.substr(d1 + 1, d2 - d1 - 1);
    }
    return JsonResponse(200, {{"major", "1"},
                              {"minor", minor},
                              {"gitVersion", v},
                              {"gitCommit", "0000000000000000000000000000000000000000"},
                              {"gitTreeState", "clean"},
                              {"buildDate", "2026-01-01T00:00:00Z"},
                              {"goVersion", "go1.24"},
                              {"compiler", "gc"},
                              {"platform", "linux/amd64"}});
  }
  auto segs = Split(p, '/', {.skip_empty = true});
  if (segs.size() == 1 && segs[0] == "api") {
    return JsonResponse(200,
                        {{"kind", "APIVersions"},
                         {"versions", {"v1"}},
                         {"serverAddressByClientCIDRs",
                          {{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", server_address_}}}}});
  }
  if (segs.size() == 2 && segs[0] == "api" && segs[1] == "v1") {
    return JsonResponse(200, ResourceListJson("v1", ""));
  }
  if (segs.size() == 1 && segs[0] == "apis") {
    json g = ResourceGroupJson();
    g.erase("kind");
    g.erase("apiVersion");
    return JsonResponse(200, {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", {g}}});
  }
  if (segs.size() == 2 && segs[0] == "apis" && segs[1] == kResourceGroup) {
    return JsonResponse(200, ResourceGroupJson());
  }
  if (segs.size() == 3 && segs[0] == "apis" && segs[1] == kResourceGroup && segs[2] == "v1") {
    return JsonResponse(
        200, ResourceListJson(std::string(kResourceGroup) + "/v1", std::string(kResourceGroup)));
  }
  if (segs.size() >= 2 && segs[0] == "openapi" && segs[1] == "v3") {
    std::string gv_path;
    for (size_t i = 2; i < segs.size(); ++i) gv_path += (gv_path.empty() ? "" : "/") + segs[i];
    return OpenApiV3(gv_path);
  }
  return ErrorResponse(NoSuchPath());
}

// OpenApiV3(): just enough OpenAPI v3 for kubectl. Each kind's PATCH
// operation carries its group/version/kind and the fieldValidation
// parameter, which tells kubectl (>= 1.27) to leave validation to the server
// instead of downloading OpenAPI v2 for client-side checks. Schemas are
// open objects: the server's own validation is drahil::kube's.
Response Handler::OpenApiV3(const std::string& gv_path) {
  if (gv_path.empty()) {
    json paths = json::object();
    paths["api/v1"] = {{"serverRelativeURL", "/openapi/v3/api/v1?hash=drahil"}};
    paths[std::string("apis/") + std::string(kResourceGroup) + "/v1"] = {
        {"serverRelativeURL",
         std::string("/openapi/v3/apis/") + std::string(kResourceGroup) + "/v1?hash=drahil"}};
    return JsonResponse(200, {{"paths", paths}});
  }
  std::string group;
  if (gv_path == "api/v1") {
    group = "";
  } else if (gv_path == std::string("apis/") + std::string(kResourceGroup) + "/v1") {
    group = std::string(kResourceGroup);
  } else {
    return ErrorResponse(NoSuchPath());
  }
  json paths = json::object();
  json schemas = json::object();
  for (const auto& r : Resources()) {
    if (r.group != group) continue;
    json gvk = {{"group", r.group}, {"version", r.version}, {"kind", r.kind}};
    std::string schema_name =
        "io.k8s.api." + (r.group.empty() ? std::string("core") : "resource") + ".v1." + r.kind;
    schemas[schema_name] = {{"type", "object"},
                            {"x-kubernetes-group-version-kind", json::array({gvk})},
                            {"x-kubernetes-preserve-unknown-fields", true}};
    std::string base =
        "/" + gv_path + (r.namespaced ? "/namespaces/{namespace}/" : "/") + r.resource + "/{name}";
    json ref = {{"$ref", "#/components/schemas/" + schema_name}};
    json ok = {
        {"200", {{"description", "OK"}, {"content", {{"application/json", {{"schema", ref}}}}}}}};
    json op = {{"operationId", "patch" + r.kind},
               {"x-kubernetes-action", "patch"},
               {"x-kubernetes-group-version-kind", gvk},
               {"parameters",
                {{{"name", "fieldValidation"}, {"in", "query"}, {"schema", {{"type", "string"}}}},
                 {{"name", "fieldManager"}, {"in", "query"}, {"schema", {{"type", "string"}}}}}},
               {"responses", ok}};
    json get = op;
    get["operationId"] = "read" + r.kind;
    get["x-kubernetes-action"] = "get";
    get.erase("parameters");
    paths[base] = {{"get", get}, {"patch", op}};
  }
  return JsonResponse(200, {{"openapi", "3.0.0"},
                            {"info", {{"title", "Kubernetes"}, {"version", config_.git_version}}},
                            {"paths", paths},
                            {"components", {{"schemas", schemas}}}});
}

Response Handler::ServeResource(const Request& req, const Classified& c) {
  const std::string& v = c.route.verb;
  // A dry run that silently wrote would be worse than a refusal.
  if (!Param(req, "dryRun").empty() && v != "get" && v != "list" && v != "watch") {
    return ErrorResponse(BadRequest("dryRun is not supported by drahil's API server"));
  }
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

namespace {

Expected<Filter> ParseFilter(const Request& req, const Route& route) {
  Filter f;
  f.ns = route.ns;
  std::string err;
  auto labels = LabelSelector::Parse(Param(req, "labelSelector"), &err);
  if (!labels) return BadRequest(err);
  f.labels = std::move(*labels);
  auto fields = FieldSelector::Parse(Param(req, "fieldSelector"), *route.info, &err);
  if (!fields) return BadRequest(err);
  f.fields = std::move(*fields);
  return f;
}

}  // namespace

Response Handler::Get(const Request& req, const Classified& c) {
  auto r = store_.Get(*c.route.info, c.route.ns, c.route.name);
  if (!r.ok()) return ErrorResponse(r.error());
  return JsonResponse(200, *r.value());
}

Response Handler::List(const Request& req, const Classified& c) {
  auto filter = ParseFilter(req, c.route);
  if (!filter.ok()) return ErrorResponse(filter.error());
  int64_t limit = 0;
  std::string lim = Param(req, "limit");
  if (!lim.empty()) {
    try {
      limit = std::stoll(lim);
    } catch (...) {
      return ErrorResponse(BadRequest("limit: invalid value " + lim));
    }
  }
  auto r = store_.List(*c.route.info, filter.value(), limit, Param(req, "continue"));
  if (!r.ok()) return ErrorResponse(r.error());
  const auto& lr = r.value();
  return JsonResponse(
      200, ListJson(*c.route.info, lr.items, lr.resource_version, lr.continue_token, lr.remaining));
}

Response Handler::Watch(const Request& req, const Classified& c) {
  auto filter = ParseFilter(req, c.route);
  if (!filter.ok()) return ErrorResponse(filter.error());
  WatchRequest w;
  w.info = c.route.info;
  w.filter = std::move(filter.value());
  w.bookmarks = ParamTrue(req, "allowWatchBookmarks");
  std::string rv = Param(req, "resourceVersion");
  if (!rv.empty()) {
    if (rv.find_first_not_of("0123456789") != std::string::npos || rv.size() > 19) {
      return ErrorResponse(BadRequest("invalid resource version: " + rv));
    }
    w.resource_version = std::stoull(rv);
  }
  std::string sie = Param(req, "sendInitialEvents");
  std::string rvm = Param(req, "resourceVersionMatch");
  std::vector<FieldCause> causes;
  if (!sie.empty()) {
    w.send_initial_events = ParseBool(sie);
    if (rvm != "NotOlderThan") {
      causes.push_back({"FieldValueForbidden", "resourceVersionMatch",
                        "Forbidden: sendInitialEvents requires setting resourceVersionMatch to "
                        "NotOlderThan"});
    }
    if (!w.bookmarks) {
      causes.push_back({"FieldValueForbidden", "allowWatchBookmarks",
                        "Forbidden: sendInitialEvents requires allowWatchBookmarks=true"});
    }
    if (!w.send_initial_events && !w.resource_version) {
      // sendInitialEvents=false with no resourceVersion means "from now".
      w.resource_version = store_.ResourceVersion();
    }
  } else if (!rvm.empty()) {
    causes.push_back({"FieldValueForbidden", "resourceVersionMatch",
                      "Forbidden: resourceVersionMatch is forbidden for watch unless "
                      "sendInitialEvents is provided"});
  }
  if (!causes.empty()) {
    ApiError err = Invalid(*c.route.info, "", causes);
    err.message =
        "ListOptions.meta.k8s.io \"\" is invalid: " + causes[0].field + ": " + causes[0].message;
    return ErrorResponse(err);
  }
  auto watcher = store_.Watch(w);
  if (!watcher.ok()) return ErrorResponse(watcher.error());
  Response r;
  r.watcher = watcher.value();
  r.watch_timeout = config_.default_watch_timeout;
  std::string ts = Param(req, "timeoutSeconds");
  if (!ts.empty()) {
    try {
      long long t = std::stoll(ts);
      if (t > 0) r.watch_timeout = std::chrono::seconds(t);
    } catch (...) {
      store_.Unwatch(r.watcher);
      return ErrorResponse(BadRequest("timeoutSeconds: invalid value " + ts));
    }
  }
  return r;
}

Response Handler::Create(const Request& req, const Classified& c) {
  const ResourceInfo& info = *c.route.info;
  auto parsed = ParseObjectBody(req, info);
  if (!parsed.ok()) return ErrorResponse(parsed.error());
  json obj = std::move(parsed.value());
  json& m = Meta(obj);
  if (info.namespaced) {
    std::string ns = m.value("namespace", "");
    if (ns.empty()) {
      m["namespace"] = c.route.ns;
    } else if (ns != c.route.ns) {
      return ErrorResponse(BadRequest(
          "the namespace of the provided object does not match the namespace sent on the request"));
    }
  } else {
    m.erase("namespace");
  }
  for (const char* f : {"uid", "resourceVersion", "creationTimestamp", "deletionTimestamp",
                        "deletionGracePeriodSeconds", "generation"}) {
    m.erase(f);
  }
  // Status is written through /status only; a new object starts without one
  // (pods start Pending, as the pod strategy sets).
  if (info.resource == "resourceclaims") obj.erase("status");
  if (info.resource == "pods") obj["status"] = {{"phase", "Pending"}};
  FillTimeAdded(info, obj, nullptr, NowRfc3339(store_.clock()));
  auto causes = ValidateCreate(info, obj);
  if (!causes.empty()) return ErrorResponse(Invalid(info, m.value("name", ""), causes));
  std::vector<std::string> warnings;
  Route route = c.route;
  auto created = store_.Create(info, std::move(obj),
                               [&](const json& o, const json* ns_obj) -> std::optional<ApiError> {
                                 if (auto e = AuthorizeWrite(c.identity, route, o)) return e;
                                 return AdminAccessCheck(info, o, ns_obj, &warnings);
                               });
  if (!created.ok()) return ErrorResponse(created.error());
  Response r = JsonResponse(201, *created.value());
  for (const auto& w : warnings) r.headers.emplace_back("Warning", "299 - " + json(w).dump());
  return r;
}

// Desired(): the object a write through the main endpoint or /status should
// produce, given the current one and the client's full object.
json Desired(const ResourceInfo& info, const std::string& sub, const json& current, json incoming) {
  if (sub == "status") {
    // /status changes status only; spec and metadata stay (metadata except
    // the resourceVersion/uid the client sent as preconditions).
    json d = current;
    if (incoming.contains("status")) {
      d["status"] = incoming["status"];
    } else {
      d.erase("status");
    }
    if (d["status"].is_null()) d.erase("status");
    d["metadata"]["resourceVersion"] = formats::StringOr(incoming, "metadata.resourceVersion");
    d["metadata"]["uid"] = formats::StringOr(incoming, "metadata.uid");
    return d;
  }
  if (info.has_status) {
    // The main endpoint ignores status changes.
    if (current.contains("status")) {
      incoming["status"] = current["status"];
    } else {
      incoming.erase("status");
    }
  }
  return incoming;
}

Response Handler::Update(const Request& req, const Classified& c) {
  const ResourceInfo& info = *c.route.info;
  auto parsed = ParseObjectBody(req, info);
  if (!parsed.ok()) return ErrorResponse(parsed.error());
  json obj = std::move(parsed.value());
  json& m = Meta(obj);
  std::string name = m.value("name", "");
  if (name != c.route.name) {
    return ErrorResponse(BadRequest("the name of the object (" + name +
                                    ") does not match the name on the URL (" + c.route.name + ")"));
  }
  if (info.namespaced && m.value("namespace", "") != "" && m["namespace"] != c.route.ns) {
    return ErrorResponse(BadRequest(
        "the namespace of the provided object does not match the namespace sent on the request"));
  }
  std::vector<std::string> warnings;
  auto updated = store_.Update(info, c.route.ns, c.route.name,
                               [&](const json& current, const json* ns_obj) -> Expected<json> {
                                 if (auto e = AuthorizeWrite(c.identity, c.route, current))
                                   return *e;
                                 json d = Desired(info, c.route.subresource, current, obj);
                                 FillTimeAdded(info, d, &current, NowRfc3339(store_.clock()));
                                 if (auto e = AuthorizeWrite(c.identity, c.route, d)) return *e;
                                 auto causes = c.route.subresource == "status"
                                                   ? ValidateStatusUpdate(info, d, current)
                                                   : ValidateUpdate(info, d, current);
                                 if (!causes.empty()) return Invalid(info, c.route.name, causes);
                                 if (c.route.subresource.empty()) {
                                   if (auto e = AdminAccessCheck(info, d, ns_obj, &warnings))
                                     return *e;
                                 }
                                 return d;
                               });
  if (!updated.ok()) return ErrorResponse(updated.error());
  Response r = JsonResponse(200, *updated.value());
  for (const auto& w : warnings) r.headers.emplace_back("Warning", "299 - " + json(w).dump());
  return r;
}

Response Handler::Patch(const Request& req, const Classified& c) {
  const ResourceInfo& info = *c.route.info;
  std::string type = MediaType(req.content_type);
  enum { kMerge, kJsonPatch } kind;
  if (type == "application/merge-patch+json" || type == "application/strategic-merge-patch+json") {
    kind = kMerge;
  } else if (type == "application/json-patch+json") {
    kind = kJsonPatch;
  } else {
    return ErrorResponse(UnsupportedMediaType(req.content_type));
  }
  json patch = json::parse(req.body, nullptr, false);
  if (patch.is_discarded()) return ErrorResponse(BadRequest("invalid JSON in patch body"));
  if (kind == kJsonPatch && !patch.is_array()) {
    return ErrorResponse(BadRequest("json patch must be an array of operations"));
  }
  if (kind == kMerge && !patch.is_object()) {
    return ErrorResponse(BadRequest("merge patch must be a JSON object"));
  }
  if (type == "application/strategic-merge-patch+json") StripSmpDirectives(patch);
  std::vector<std::string> warnings;
  auto updated = store_.Update(
      info, c.route.ns, c.route.name,
      [&](const json& current, const json* ns_obj) -> Expected<json> {
        if (auto e = AuthorizeWrite(c.identity, c.route, current)) return *e;
        json patched;
        if (kind == kMerge) {
          patched = current;
          patched.merge_patch(patch);
        } else {
          try {
            patched = current.patch(patch);
          } catch (const json::exception& e) {
            return WithCode(422, std::string("the server rejected our request due to an error "
                                             "in our request: ") +
                                     e.what());
          }
        }
        if (!patched.is_object()) return BadRequest("patch did not produce an object");
        if (auto e = CheckTypeMeta(info, patched)) return *e;
        if (formats::StringOr(patched, "metadata.name") != c.route.name) {
          return BadRequest("the name of the object may not be changed by a patch");
        }
        json d = Desired(info, c.route.subresource, current, patched);
        FillTimeAdded(info, d, &current, NowRfc3339(store_.clock()));
        if (auto e = AuthorizeWrite(c.identity, c.route, d)) return *e;
        auto causes = c.route.subresource == "status" ? ValidateStatusUpdate(info, d, current)
                                                      : ValidateUpdate(info, d, current);
        if (!causes.empty()) return Invalid(info, c.route.name, causes);
        if (c.route.subresource.empty()) {
          if (auto e = AdminAccessCheck(info, d, ns_obj, &warnings)) return *e;
        }
        return d;
      });
  if (!updated.ok()) return ErrorResponse(updated.error());
  Response r = JsonResponse(200, *updated.value());
  for (const auto& w : warnings) r.headers.emplace_back("Warning", "299 - " + json(w).dump());
  return r;
}

Response Handler::Delete(const Request& req, const Classified& c) {
  Store::Preconditions pre;
  if (!req.body.empty()) {
    json opts = json::parse(req.body, nullptr, false);
    if (opts.is_discarded() || !opts.is_object()) {
      return ErrorResponse(BadRequest("invalid DeleteOptions in request body"));
    }
    if (opts.contains("preconditions") && opts["preconditions"].is_object()) {
      const json& p = opts["preconditions"];
      if (p.contains("uid") && p["uid"].is_string()) pre.uid = p["uid"];
      if (p.contains("resourceVersion") && p["resourceVersion"].is_string()) {
        pre.resource_version = p["resourceVersion"];
      }
    }
  }
  auto deleted = store_.Delete(
      *c.route.info, c.route.ns, c.route.name, pre,
      [&](const json& o, const json*) { return AuthorizeWrite(c.identity, c.route, o); });
  if (!deleted.ok()) return ErrorResponse(deleted.error());
  return JsonResponse(200, *deleted.value());
}

Response Handler::DeleteCollection(const Request& req, const Classified& c) {
  auto filter = ParseFilter(req, c.route);
  if (!filter.ok()) return ErrorResponse(filter.error());
  auto deleted = store_.DeleteCollection(
      *c.route.info, filter.value(),
      [&](const json& o, const json*) { return AuthorizeWrite(c.identity, c.route, o); });
  if (!deleted.ok()) return ErrorResponse(deleted.error());
  return JsonResponse(200,
                      ListJson(*c.route.info, deleted.value(), store_.ResourceVersion(), "", 0));
}

}  // namespace drahil::apiserver::internal
