// Handler: the verbs on resources (get, list, watch, create, update, patch,
// delete, deletecollection), with the node restriction on writes.
#include <algorithm>

#include "admission.hpp"
#include "authorization.hpp"
#include "drahil/formats/json_fields.hpp"
#include "drahil/formats/yaml_json.hpp"
#include "handler.hpp"
#include "handler_util.hpp"
#include "managed_fields.hpp"
#include "protobuf.hpp"
#include "strategy.hpp"
#include "validation.hpp"

namespace drahil::apiserver::internal {

using nlohmann::json;

namespace {

bool MediaIsJson(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  t.erase(std::remove_if(t.begin(), t.end(), ::isspace), t.end());
  std::transform(t.begin(), t.end(), t.begin(), ::tolower);
  return t.empty() || t == "application/json";
}

json& Meta(json& obj) {
  json& m = obj["metadata"];
  if (!m.is_object()) m = json::object();
  return m;
}

Expected<json> ParseObjectBody(const Request& req, const ResourceInfo& info) {
  json obj;
  if (MediaType(req.content_type) == kProtobufMediaType) {
    // Typed clients: kubectl's generators (create configmap|secret|namespace),
    // client-go with ContentType protobuf (resource.k8s.io/v1).
    std::string err;
    bool unsupported = false;
    auto decoded = DecodeProtobufObject(req.body, &err, &unsupported);
    if (!decoded && unsupported) return UnsupportedMediaType(req.content_type + " (" + err + ")");
    if (!decoded) return BadRequest("error decoding protobuf body: " + err);
    obj = std::move(*decoded);
  } else if (!MediaIsJson(req.content_type)) {
    return UnsupportedMediaType(req.content_type);
  } else {
    obj = json::parse(req.body, nullptr, false);
  }
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

// UpdateManager(): the manager an Update operation records: fieldManager, or
// the user agent's name (handlers/rest.go prefixFromUserAgent).
std::string UpdateManager(const Request& req) {
  std::string m = Param(req, "fieldManager");
  return m.empty() ? ManagerFromUserAgent(req.user_agent) : m;
}

const json& RequestManagedFields(const json& obj) {
  static const json kNull;
  if (!obj.is_object() || !obj.contains("metadata") || !obj["metadata"].is_object()) return kNull;
  auto it = obj["metadata"].find("managedFields");
  return it == obj["metadata"].end() ? kNull : *it;
}

// PatchOptionsInvalid(): ValidatePatchOptions' 422
// ("PatchOptions.meta.k8s.io \"\" is invalid: …").
ApiError PatchOptionsInvalid(const std::string& type, const std::string& field,
                             const std::string& message) {
  ApiError e;
  e.code = 422;
  e.reason = "Invalid";
  e.message = "PatchOptions.meta.k8s.io \"\" is invalid: " + field + ": " + message;
  e.details = {
      {"name", ""},
      {"group", "meta.k8s.io"},
      {"kind", "PatchOptions"},
      {"causes", json::array({{{"reason", type}, {"message", message}, {"field", field}}})}};
  return e;
}

// ParseApplyConfig(): the body of an apply patch, YAML or JSON, with the
// checks of fieldmanager's Apply (version, kind, no managedFields) and of the
// handler (name and namespace as on the URL).
Expected<json> ParseApplyConfig(const Request& req, const Route& route) {
  const ResourceInfo& info = *route.info;
  auto docs = formats::YamlDocumentsToJson(req.body, "");
  if (!docs.ok()) return BadRequest("error decoding YAML: " + docs.status().message());
  if (docs->size() != 1 || !(*docs)[0].is_object()) {
    return BadRequest("error decoding YAML: the apply patch must be one object");
  }
  json config = std::move((*docs)[0]);
  std::string gv = info.GroupVersion();
  if (!config.contains("apiVersion") || config["apiVersion"] != gv) {
    std::string got = config.contains("apiVersion") && config["apiVersion"].is_string()
                          ? config["apiVersion"].get<std::string>()
                          : "";
    return BadRequest("Incorrect version specified in apply patch. Specified patch version: " +
                      got + ", expected: " + gv);
  }
  if (!config.contains("kind") || !config["kind"].is_string() || config["kind"] == "") {
    return BadRequest("Object 'Kind' is missing in apply patch");
  }
  if (config["kind"] != info.kind) {
    return BadRequest("the kind in the data (" + config["kind"].get<std::string>() +
                      ") does not match the expected kind (" + info.kind + ")");
  }
  json& m = Meta(config);
  if (m.contains("managedFields") && !m["managedFields"].is_null()) {
    return BadRequest("metadata.managedFields must be nil");
  }
  std::string name = m.value("name", "");
  if (name.empty()) {
    m["name"] = route.name;
  } else if (name != route.name) {
    return BadRequest("the name of the object (" + name + ") does not match the name on the URL (" +
                      route.name + ")");
  }
  if (info.namespaced) {
    std::string ns = m.value("namespace", "");
    if (!ns.empty() && ns != route.ns) {
      return BadRequest(
          "the namespace of the provided object does not match the namespace sent on the request");
    }
  }
  return config;
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
  json request_mf = RequestManagedFields(parsed.value());
  ApplyRequest track{UpdateManager(req), "", false, NowRfc3339(store_.clock())};
  return CreateObject(std::move(parsed.value()), c,
                      [&](json& obj) { TrackUpdate(info, nullptr, obj, request_mf, track); });
}

Response Handler::CreateObject(json obj, const Classified& c,
                               const std::function<void(json&)>& track) {
  const ResourceInfo& info = *c.route.info;
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
  if (track) track(obj);
  FillTimeAdded(info, obj, nullptr, NowRfc3339(store_.clock()));
  if (auto e = PrepareForCreate(info, obj, true, NowRfc3339(store_.clock()))) {
    return ErrorResponse(*e);
  }
  std::vector<DroppedField> drops;
  PrepareWrite(info, "", obj, nullptr, &drops, c);
  auto causes = ValidateCreate(info, obj, config_.gates.version());
  if (!causes.empty()) {
    // Recorded also when refused: a drop can be why (a request left without
    // firstAvailable, an attribute without its list value).
    Report(std::move(drops));
    return ErrorResponse(Invalid(info, m.value("name", ""), causes));
  }
  std::vector<std::string> warnings;
  Route route = c.route;
  auto created = store_.Create(info, std::move(obj),
                               [&](const json& o, const json* ns_obj) -> std::optional<ApiError> {
                                 if (auto e = AuthorizeWrite(c.identity, route, o)) return e;
                                 return AdminAccessCheck(info, o, ns_obj, &warnings);
                               });
  if (!created.ok()) return ErrorResponse(created.error());
  // The name a generateName create got, for the record.
  for (auto& d : drops) {
    if (d.name.empty()) d.name = (*created.value())["metadata"].value("name", "");
  }
  Report(std::move(drops));
  Response r = JsonResponse(201, *created.value());
  for (const auto& w : warnings) r.headers.emplace_back("Warning", "299 - " + json(w).dump());
  return r;
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
  std::vector<DroppedField> drops;
  const json& request_mf = RequestManagedFields(obj);
  ApplyRequest track{UpdateManager(req), c.route.subresource, false, NowRfc3339(store_.clock())};
  auto updated = store_.Update(
      info, c.route.ns, c.route.name,
      [&](const json& current, const json* ns_obj) -> Expected<json> {
        if (auto e = AuthorizeWrite(c.identity, c.route, current)) return *e;
        json d = Desired(info, c.route.subresource, current, obj);
        TrackUpdate(info, &current, d, request_mf, track);
        FillTimeAdded(info, d, &current, NowRfc3339(store_.clock()));
        if (c.route.subresource.empty()) {
          if (auto e = PrepareForUpdate(info, d, current, NowRfc3339(store_.clock()))) return *e;
        }
        drops.clear();
        PrepareWrite(info, c.route.subresource, d, &current, &drops, c);
        if (auto e = AuthorizeWrite(c.identity, c.route, d, &current)) return *e;
        auto v = config_.gates.version();
        auto causes = c.route.subresource == "status" ? ValidateStatusUpdate(info, d, current, v)
                                                      : ValidateUpdate(info, d, current, v);
        if (!causes.empty()) return Invalid(info, c.route.name, causes);
        if (c.route.subresource.empty()) {
          if (auto e = AdminAccessCheck(info, d, ns_obj, &warnings)) return *e;
        }
        return d;
      });
  if (!updated.ok()) {
    if (updated.error().code == 422) Report(std::move(drops));
    return ErrorResponse(updated.error());
  }
  Report(std::move(drops));
  Response r = JsonResponse(200, *updated.value());
  for (const auto& w : warnings) r.headers.emplace_back("Warning", "299 - " + json(w).dump());
  return r;
}

Response Handler::Patch(const Request& req, const Classified& c) {
  const ResourceInfo& info = *c.route.info;
  std::string type = MediaType(req.content_type);
  if (type == "application/apply-patch+yaml") return Apply(req, c);
  if (!Param(req, "force").empty()) {
    return ErrorResponse(PatchOptionsInvalid(
        "FieldValueForbidden", "force", "Forbidden: may not be specified for non-apply patch"));
  }
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
  std::vector<DroppedField> drops;
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
        TrackUpdate(info, &current, d, RequestManagedFields(patched),
                    {UpdateManager(req), c.route.subresource, false, NowRfc3339(store_.clock())});
        FillTimeAdded(info, d, &current, NowRfc3339(store_.clock()));
        if (c.route.subresource.empty()) {
          if (auto e = PrepareForUpdate(info, d, current, NowRfc3339(store_.clock()))) return *e;
        }
        drops.clear();
        PrepareWrite(info, c.route.subresource, d, &current, &drops, c);
        if (auto e = AuthorizeWrite(c.identity, c.route, d, &current)) return *e;
        auto v = config_.gates.version();
        auto causes = c.route.subresource == "status" ? ValidateStatusUpdate(info, d, current, v)
                                                      : ValidateUpdate(info, d, current, v);
        if (!causes.empty()) return Invalid(info, c.route.name, causes);
        if (c.route.subresource.empty()) {
          if (auto e = AdminAccessCheck(info, d, ns_obj, &warnings)) return *e;
        }
        return d;
      });
  if (!updated.ok()) {
    if (updated.error().code == 422) Report(std::move(drops));
    return ErrorResponse(updated.error());
  }
  Report(std::move(drops));
  Response r = JsonResponse(200, *updated.value());
  for (const auto& w : warnings) r.headers.emplace_back("Warning", "299 - " + json(w).dump());
  return r;
}

// Apply(): server-side apply (application/apply-patch+yaml), as
// handlers/patch.go's applyPatcher: the fieldmanager merges the applied
// configuration into the live object, then the write goes through the same
// strategy, admission and validation as any patch. A missing object is
// created (the patch handler's forceAllowCreate); a /status apply needs the
// object (status stores do not create).
Response Handler::Apply(const Request& req, const Classified& c) {
  const ResourceInfo& info = *c.route.info;
  const std::string& sub = c.route.subresource;
  std::string manager = Param(req, "fieldManager");
  if (manager.empty()) {
    return ErrorResponse(PatchOptionsInvalid("FieldValueRequired", "fieldManager",
                                             "Required value: is required for apply patch"));
  }
  auto parsed = ParseApplyConfig(req, c.route);
  if (!parsed.ok()) return ErrorResponse(parsed.error());
  const json& config = parsed.value();
  ApplyRequest ar{manager, sub, ParamTrue(req, "force"), NowRfc3339(store_.clock())};
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::vector<std::string> warnings;
    std::vector<DroppedField> drops;
    auto updated = store_.Update(
        info, c.route.ns, c.route.name,
        [&](const json& current, const json* ns_obj) -> Expected<json> {
          if (auto e = AuthorizeWrite(c.identity, c.route, current)) return *e;
          auto applied = ServerSideApply(info, current, config, ar, [&](json merged) {
            return Desired(info, sub, current, std::move(merged));
          });
          if (!applied.ok()) return applied.error();
          json d = std::move(applied.value());
          if (auto e = CheckTypeMeta(info, d)) return *e;
          FillTimeAdded(info, d, &current, NowRfc3339(store_.clock()));
          if (sub.empty()) {
            if (auto e = PrepareForUpdate(info, d, current, NowRfc3339(store_.clock()))) return *e;
          }
          drops.clear();
          PrepareWrite(info, sub, d, &current, &drops, c);
          if (auto e = AuthorizeWrite(c.identity, c.route, d, &current)) return *e;
          auto v = config_.gates.version();
          auto causes = sub == "status" ? ValidateStatusUpdate(info, d, current, v)
                                        : ValidateUpdate(info, d, current, v);
          if (!causes.empty()) return Invalid(info, c.route.name, causes);
          if (sub.empty()) {
            if (auto e = AdminAccessCheck(info, d, ns_obj, &warnings)) return *e;
          }
          return d;
        });
    if (updated.ok()) {
      Report(std::move(drops));
      Response r = JsonResponse(200, *updated.value());
      for (const auto& w : warnings) r.headers.emplace_back("Warning", "299 - " + json(w).dump());
      return r;
    }
    if (updated.error().code == 422) Report(std::move(drops));
    if (updated.error().code != 404 || !sub.empty()) return ErrorResponse(updated.error());
    // Create on apply: the configuration applied to an empty object.
    json empty = {{"apiVersion", info.GroupVersion()}, {"kind", info.kind}};
    auto applied = ServerSideApply(info, empty, config, ar, [&](json merged) {
      if (info.has_status) merged.erase("status");
      return merged;
    });
    if (!applied.ok()) return ErrorResponse(applied.error());
    Response r = CreateObject(std::move(applied.value()), c, {});
    // Lost a race with another create: apply to what it created.
    if (r.status == 409 &&
        json::parse(r.body, nullptr, false).value("reason", "") == "AlreadyExists") {
      continue;
    }
    return r;
  }
  return ErrorResponse(Conflict(info, c.route.name, "the object changed while applying"));
}

Response Handler::Delete(const Request& req, const Classified& c) {
  Store::Preconditions pre;
  if (!req.body.empty()) {
    json opts;
    if (MediaType(req.content_type) == kProtobufMediaType) {
      // client-go sends DeleteOptions in its content type.
      std::string err;
      auto decoded = DecodeProtobufObject(req.body, &err);
      if (!decoded) return ErrorResponse(BadRequest("invalid DeleteOptions: " + err));
      opts = std::move(*decoded);
    } else {
      opts = json::parse(req.body, nullptr, false);
    }
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

void Handler::PrepareWrite(const ResourceInfo& info, const std::string& sub, json& d,
                           const json* old, std::vector<DroppedField>* drops,
                           const Classified& c) const {
  WriteScope scope = sub == "status" ? WriteScope::kStatus : WriteScope::kMain;
  auto now = store_.clock().WallNow();
  for (auto& drop : DropDisabledFields(info, config_.gates, d, old, scope)) {
    drops->push_back({now, info.resource, formats::StringOr(d, "metadata.namespace"),
                      formats::StringOr(d, "metadata.name"), std::move(drop.field),
                      std::move(drop.gate), c.identity.user});
  }
}

void Handler::Report(std::vector<DroppedField> drops) const {
  if (!config_.on_drop) return;
  for (auto& d : drops) config_.on_drop(std::move(d));
}

}  // namespace drahil::apiserver::internal
