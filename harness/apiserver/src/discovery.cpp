// Handler: the non-resource paths: health, version, API discovery and the
// OpenAPI v3 documents kubectl reads.
#include <algorithm>
#include <map>

#include "drahil/core/strings.hpp"
#include "handler.hpp"
#include "handler_util.hpp"
#include "strategy.hpp"

namespace drahil::apiserver::internal {

using nlohmann::json;

namespace {

json ResourceListJson(const std::vector<const ResourceInfo*>& all, const std::string& group,
                      const std::string& version, const FeatureGates& gates) {
  json resources = json::array();
  for (const ResourceInfo* r : all) {
    if (r->group != group || r->version != version || !Served(*r, gates)) continue;
    json e = {{"name", r->resource},
              {"singularName", r->singular},
              {"namespaced", r->namespaced},
              {"kind", r->kind},
              {"verbs", r->verbs}};
    if (!r->short_names.empty()) e["shortNames"] = r->short_names;
    if (!r->categories.empty()) e["categories"] = r->categories;
    resources.push_back(e);
    if (r->has_status) {
      resources.push_back({{"name", r->resource + "/status"},
                           {"singularName", ""},
                           {"namespaced", r->namespaced},
                           {"kind", r->kind},
                           {"verbs", {"get", "patch", "update"}}});
    }
  }
  return {{"kind", "APIResourceList"},
          {"apiVersion", "v1"},
          {"groupVersion", group.empty() ? version : group + "/" + version},
          {"resources", resources}};
}

// GroupVersions(): the served versions of each non-core group, in
// Kubernetes' version priority (the first is the preferred one).
std::map<std::string, std::vector<std::string>> GroupVersions(
    const std::vector<const ResourceInfo*>& all, const FeatureGates& gates) {
  std::map<std::string, std::vector<std::string>> out;
  for (const ResourceInfo* r : all) {
    if (r->group.empty() || !Served(*r, gates)) continue;
    auto& v = out[r->group];
    if (std::find(v.begin(), v.end(), r->version) == v.end()) v.push_back(r->version);
  }
  for (auto& [g, v] : out) {
    std::sort(v.begin(), v.end(), [](const std::string& a, const std::string& b) {
      return CompareKubeVersions(a, b) < 0;
    });
  }
  return out;
}

json GroupJson(const std::string& group, const std::vector<std::string>& versions) {
  json vs = json::array();
  for (const auto& v : versions) vs.push_back({{"groupVersion", group + "/" + v}, {"version", v}});
  return {{"kind", "APIGroup"},
          {"apiVersion", "v1"},
          {"name", group},
          {"versions", vs},
          {"preferredVersion", vs.empty() ? json::object() : vs[0]}};
}

// SchemaName(): the OpenAPI definition name of a kind, as kube-apiserver
// names them ("io.k8s.api.core.v1.ConfigMap"; a CRD's group reversed:
// "com.example.gpu.v1.GpuConfig").
std::string SchemaName(const ResourceInfo& r) {
  if (!r.crd.empty()) {
    auto parts = Split(r.group, '.', {.skip_empty = true});
    std::string rev;
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) rev += *it + ".";
    return rev + r.version + "." + r.kind;
  }
  if (r.group == kCrdGroup) {
    return "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions." + r.version + "." + r.kind;
  }
  std::string short_group = r.group.empty() ? "core" : r.group.substr(0, r.group.find('.'));
  return "io.k8s.api." + short_group + "." + r.version + "." + r.kind;
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
  auto all = store_.registry().All();
  if (segs.size() == 2 && segs[0] == "api" && segs[1] == "v1") {
    return JsonResponse(200, ResourceListJson(all, "", "v1", config_.gates));
  }
  auto groups = GroupVersions(all, config_.gates);
  if (segs.size() == 1 && segs[0] == "apis") {
    json list = json::array();
    for (const auto& [g, versions] : groups) {
      json gj = GroupJson(g, versions);
      gj.erase("kind");
      gj.erase("apiVersion");
      list.push_back(gj);
    }
    return JsonResponse(200, {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", list}});
  }
  if (segs.size() == 2 && segs[0] == "apis" && groups.count(segs[1]) != 0) {
    return JsonResponse(200, GroupJson(segs[1], groups[segs[1]]));
  }
  if (segs.size() == 3 && segs[0] == "apis" && groups.count(segs[1]) != 0) {
    const auto& vs = groups[segs[1]];
    if (std::find(vs.begin(), vs.end(), segs[2]) != vs.end()) {
      return JsonResponse(200, ResourceListJson(all, segs[1], segs[2], config_.gates));
    }
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
  auto all = store_.registry().All();
  auto gv_path_of = [](const ResourceInfo& r) {
    return r.group.empty() ? "api/" + r.version : "apis/" + r.group + "/" + r.version;
  };
  if (gv_path.empty()) {
    json paths = json::object();
    for (const ResourceInfo* r : all) {
      if (!Served(*r, config_.gates)) continue;
      std::string p = gv_path_of(*r);
      paths[p] = {{"serverRelativeURL", "/openapi/v3/" + p + "?hash=drahil"}};
    }
    return JsonResponse(200, {{"paths", paths}});
  }
  bool known = false;
  for (const ResourceInfo* r : all) known = known || gv_path_of(*r) == gv_path;
  if (!known) return ErrorResponse(NoSuchPath());
  json paths = json::object();
  json schemas = json::object();
  for (const ResourceInfo* rp : all) {
    const ResourceInfo& r = *rp;
    if (gv_path_of(r) != gv_path || !Served(r, config_.gates)) continue;
    json gvk = {{"group", r.group}, {"version", r.version}, {"kind", r.kind}};
    std::string schema_name = SchemaName(r);
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
