// Handler: the non-resource paths: health, version, API discovery and the
// OpenAPI v3 documents kubectl reads.
#include "drahil/core/strings.hpp"
#include "handler.hpp"
#include "handler_util.hpp"
#include "strategy.hpp"

namespace drahil::apiserver::internal {

using nlohmann::json;

namespace {

json ResourceListJson(const std::string& group_version, const std::string& group,
                      const FeatureGates& gates) {
  json resources = json::array();
  for (const auto& r : Resources()) {
    if (r.group != group || !Served(r, gates)) continue;
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

}  // namespace

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
    return JsonResponse(200, ResourceListJson("v1", "", config_.gates));
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
    return JsonResponse(200, ResourceListJson(std::string(kResourceGroup) + "/v1",
                                              std::string(kResourceGroup), config_.gates));
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
    if (r.group != group || !Served(r, config_.gates)) continue;
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

}  // namespace drahil::apiserver::internal
