// The resources beyond DRA's own (Leases, ConfigMaps, Secrets,
// events.k8s.io Events, Nodes written by their node), CRDs and their
// objects, the driver policy (RBAC semantics) and per-resource field
// selectors, each against the upstream behaviour named in the test.
#include "drahil/apiserver/apiserver.hpp"
#include "drahil/core/child_process.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/testing/testing.hpp"
#include "test_client.hpp"

using drahil::apiserver::AccessPolicy;
using drahil::apiserver::ApiServer;
using drahil::apiserver::testing::As;
using drahil::apiserver::testing::Http;
using drahil::apiserver::testing::HttpResult;
using drahil::apiserver::testing::Slice;
using drahil::apiserver::testing::WatchStream;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<ApiServer> StartServer(ApiServer::Options opts = {}) {
  opts.tls = false;
  auto s = ApiServer::Start(std::move(opts));
  REQUIRE_OK(s);
  return std::move(*s);
}

json Crd(const std::string& scope, bool status) {
  json version = {
      {"name", "v1"},
      {"served", true},
      {"storage", true},
      {"schema",
       {{"openAPIV3Schema", {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}}}}},
      {"selectableFields", {{{"jsonPath", ".spec.color"}}}}};
  if (status) version["subresources"] = {{"status", json::object()}};
  json beta = version;
  beta["name"] = "v1beta1";
  beta["storage"] = false;
  return {{"apiVersion", "apiextensions.k8s.io/v1"},
          {"kind", "CustomResourceDefinition"},
          {"metadata", {{"name", "gpuconfigs.gpu.example.com"}}},
          {"spec",
           {{"group", "gpu.example.com"},
            {"scope", scope},
            {"names", {{"plural", "gpuconfigs"}, {"kind", "GpuConfig"}, {"shortNames", {"gcfg"}}}},
            {"versions", {version, beta}}}}};
}

// A Watch's next event of the given type (skipping bookmarks).
json NextOf(WatchStream& w, const std::string& type) {
  for (int i = 0; i < 10; ++i) {
    auto e = w.Next(5s);
    REQUIRE(e.has_value());
    if ((*e)["type"] == type) return *e;
  }
  FAIL("no " << type << " event");
  return nullptr;
}

}  // namespace

// pkg/registry/coordination/lease (storage, strategy: no generation) and
// pkg/apis/coordination/validation ValidateLeaseSpec.
TEST_CASE("ApiServer resources: Leases CRUD, watch and ValidateLeaseSpec",
          "[apiserver][resources]") {
  auto server = StartServer();
  const std::string base = "/apis/coordination.k8s.io/v1/namespaces/default/leases";
  WatchStream w(server->port(), base + "?watch=true", server->admin_token());
  REQUIRE(w.status() == 200);
  json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                {"kind", "Lease"},
                {"metadata", {{"name", "gpu-driver-leader"}}},
                {"spec", {{"holderIdentity", "pod-a"}, {"leaseDurationSeconds", 15}}}};
  auto c = Http(*server, "POST", base, lease.dump());
  REQUIRE(c.status == 201);
  CHECK(c.Json()["metadata"]["namespace"] == "default");
  CHECK_FALSE(c.Json()["metadata"].contains("generation"));
  CHECK(NextOf(w, "ADDED")["object"]["spec"]["holderIdentity"] == "pod-a");
  json got = Http(*server, "GET", base + "/gpu-driver-leader").Json();
  got["spec"]["holderIdentity"] = "pod-b";
  got["spec"]["renewTime"] = "2026-01-01T00:00:00.000000Z";
  auto u = Http(*server, "PUT", base + "/gpu-driver-leader", got.dump());
  REQUIRE(u.status == 200);
  CHECK(NextOf(w, "MODIFIED")["object"]["spec"]["holderIdentity"] == "pod-b");
  // A stale resourceVersion (leader election's optimistic lock) conflicts.
  CHECK(Http(*server, "PUT", base + "/gpu-driver-leader", got.dump()).status == 409);

  lease["metadata"]["name"] = "bad";
  lease["spec"]["leaseDurationSeconds"] = 0;
  auto bad = Http(*server, "POST", base, lease.dump());
  CHECK(bad.status == 422);
  CHECK(bad.Json()["message"].get<std::string>().find(
            "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0") !=
        std::string::npos);

  CHECK(Http(*server, "DELETE", base + "/gpu-driver-leader").status == 200);
  CHECK(NextOf(w, "DELETED")["object"]["metadata"]["name"] == "gpu-driver-leader");
  // Discovery: coordination.k8s.io/v1 lists leases.
  auto rl = Http(*server, "GET", "/apis/coordination.k8s.io/v1").Json();
  REQUIRE(rl["resources"].size() == 1);
  CHECK(rl["resources"][0]["name"] == "leases");
  CHECK(rl["resources"][0]["namespaced"] == true);
}

// A protobuf body of a kind without a message here is 415, naming why; one
// without the envelope is a 400, as upstream's decoder answers.
TEST_CASE("ApiServer resources: protobuf bodies of kinds without a codec are 415",
          "[apiserver][resources]") {
  auto server = StartServer();
  const std::string pb = "application/vnd.kubernetes.protobuf";
  auto garbage = Http(*server, "POST", "/api/v1/namespaces/default/configmaps", "nope", pb);
  CHECK(garbage.status == 400);
  CHECK(garbage.Json()["message"].get<std::string>().find("without the k8s envelope") !=
        std::string::npos);
  // "k8s\0" + Unknown{typeMeta{apiVersion "v1", kind "Pod"}}.
  std::string pod("k8s\0\x0a\x09\x0a\x02v1\x12\x03Pod", 15);
  auto other = Http(*server, "POST", "/api/v1/namespaces/default/pods", pod, pb);
  CHECK(other.status == 415);
  CHECK(other.Json()["message"].get<std::string>().find("v1 Pod are not supported") !=
        std::string::npos);
}

// pkg/apis/core/validation ValidateConfigMap (config keys) and the update
// rule for immutable ConfigMaps.
TEST_CASE("ApiServer resources: ConfigMaps CRUD, watch, keys and immutability",
          "[apiserver][resources]") {
  auto server = StartServer();
  const std::string base = "/api/v1/namespaces/default/configmaps";
  WatchStream w(server->port(), base + "?watch=true", server->admin_token());
  json cm = {{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata", {{"name", "gpu-config"}}},
             {"data", {{"sharing.yaml", "strategy: TimeSlicing"}}}};
  REQUIRE(Http(*server, "POST", base, cm.dump()).status == 201);
  CHECK(NextOf(w, "ADDED")["object"]["data"]["sharing.yaml"] == "strategy: TimeSlicing");
  auto p = Http(*server, "PATCH", base + "/gpu-config", R"({"data":{"extra":"1"}})",
                "application/merge-patch+json");
  REQUIRE(p.status == 200);
  CHECK(p.Json()["data"]["extra"] == "1");
  CHECK(NextOf(w, "MODIFIED")["object"]["data"]["extra"] == "1");

  cm["metadata"]["name"] = "bad-key";
  cm["data"] = {{"a/b", "x"}};
  auto bad = Http(*server, "POST", base, cm.dump());
  CHECK(bad.status == 422);
  CHECK(bad.Json()["details"]["causes"][0]["field"] == "data[a/b]");

  cm["metadata"]["name"] = "frozen";
  cm["data"] = {{"a", "1"}};
  cm["immutable"] = true;
  REQUIRE(Http(*server, "POST", base, cm.dump()).status == 201);
  auto frozen = Http(*server, "PATCH", base + "/frozen", R"({"data":{"a":"2"}})",
                     "application/merge-patch+json");
  CHECK(frozen.status == 422);
  CHECK(frozen.Json()["message"].get<std::string>().find(
            "data: Forbidden: field is immutable when `immutable` is set") != std::string::npos);
  CHECK(Http(*server, "DELETE", base + "/gpu-config").status == 200);
  CHECK(NextOf(w, "DELETED")["object"]["metadata"]["name"] == "gpu-config");
}

// Convert_v1_Secret_To_core_Secret (pkg/apis/core/v1/conversion.go):
// stringData overwrites data keys, never stored; data is base64 (a bad value
// is a decode error, 400); type defaults to Opaque; ValidateSecret's
// per-type keys; field label "type" (AddFieldLabelConversionsForSecret).
TEST_CASE("ApiServer resources: Secrets merge stringData into data as upstream",
          "[apiserver][resources]") {
  auto server = StartServer();
  const std::string base = "/api/v1/namespaces/default/secrets";
  json secret = {{"apiVersion", "v1"},
                 {"kind", "Secret"},
                 {"metadata", {{"name", "token"}}},
                 {"data", {{"a", "b2xk"}, {"keep", "eA=="}}},
                 {"stringData", {{"a", "new"}, {"b", "hello"}}}};
  auto c = Http(*server, "POST", base, secret.dump());
  REQUIRE(c.status == 201);
  json s = c.Json();
  CHECK_FALSE(s.contains("stringData"));
  CHECK(s["type"] == "Opaque");
  CHECK(s["data"]["a"] == "bmV3");      // "new"
  CHECK(s["data"]["b"] == "aGVsbG8=");  // "hello"
  CHECK(s["data"]["keep"] == "eA==");
  // An update's stringData merges the same way.
  auto p = Http(*server, "PATCH", base + "/token", R"({"stringData":{"keep":"yz"}})",
                "application/merge-patch+json");
  REQUIRE(p.status == 200);
  CHECK(p.Json()["data"]["keep"] == "eXo=");
  CHECK_FALSE(p.Json().contains("stringData"));

  json bad = {{"apiVersion", "v1"},
              {"kind", "Secret"},
              {"metadata", {{"name", "bad"}}},
              {"data", {{"a", "not*base64"}}}};
  auto b = Http(*server, "POST", base, bad.dump());
  CHECK(b.status == 400);
  CHECK(b.Json()["message"] ==
        "Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data at input "
        "byte 3");

  json tls = {{"apiVersion", "v1"},
              {"kind", "Secret"},
              {"metadata", {{"name", "tls"}}},
              {"type", "kubernetes.io/tls"},
              {"data", {{"tls.crt", "eA=="}}}};
  auto t = Http(*server, "POST", base, tls.dump());
  CHECK(t.status == 422);
  CHECK(t.Json()["details"]["causes"][0]["field"] == "data[tls.key]");
  tls["data"]["tls.key"] = "eA==";
  REQUIRE(Http(*server, "POST", base, tls.dump()).status == 201);

  auto sel = Http(*server, "GET", base + "?fieldSelector=type%3Dkubernetes.io%2Ftls").Json();
  REQUIRE(sel["items"].size() == 1);
  CHECK(sel["items"][0]["metadata"]["name"] == "tls");
}

// events.k8s.io/v1: its own validation (ValidateEventCreate for v1:
// eventTime, reportingController, reportingInstance, action, reason, type)
// and field labels (pkg/apis/events/v1/conversion.go
// AddFieldLabelConversionsForEvent: regarding.*, reportingController).
TEST_CASE("ApiServer resources: events.k8s.io/v1 Events with their validation and selectors",
          "[apiserver][resources]") {
  auto server = StartServer();
  const std::string base = "/apis/events.k8s.io/v1/namespaces/default/events";
  WatchStream w(server->port(), base + "?watch=true", server->admin_token());
  json ev = {{"apiVersion", "events.k8s.io/v1"},
             {"kind", "Event"},
             {"metadata", {{"name", "claim-1.abc"}}},
             {"eventTime", "2026-01-01T00:00:00.000000Z"},
             {"reportingController", "gpu.example.com/driver"},
             {"reportingInstance", "node-1"},
             {"action", "Prepare"},
             {"reason", "Prepared"},
             {"type", "Normal"},
             {"note", "prepared 1 device"},
             {"regarding", {{"kind", "ResourceClaim"}, {"name", "claim-1"}}}};
  REQUIRE(Http(*server, "POST", base, ev.dump()).status == 201);
  CHECK(NextOf(w, "ADDED")["object"]["note"] == "prepared 1 device");
  auto sel = Http(*server, "GET",
                  base +
                      "?fieldSelector=regarding.name%3Dclaim-1,reportingController%3Dgpu."
                      "example.com%2Fdriver")
                 .Json();
  CHECK(sel["items"].size() == 1);
  auto refused = Http(*server, "GET", base + "?fieldSelector=involvedObject.name%3Dclaim-1");
  CHECK(refused.status == 400);
  CHECK(refused.Json()["message"] == "field label not supported: involvedObject.name");

  json bad = {{"apiVersion", "events.k8s.io/v1"},
              {"kind", "Event"},
              {"metadata", {{"name", "bad"}}},
              {"type", "Odd"}};
  auto b = Http(*server, "POST", base, bad.dump());
  CHECK(b.status == 422);
  std::string msg = b.Json()["message"];
  CHECK(msg.find("eventTime: Required value") != std::string::npos);
  CHECK(msg.find("reportingController: Required value") != std::string::npos);
  CHECK(msg.find("type: Unsupported value: \"Odd\": supported values: \"Normal\", \"Warning\"") !=
        std::string::npos);
  // core/v1 events are served beside them, with their own field labels.
  auto core = Http(*server, "GET",
                   "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dx");
  CHECK(core.status == 200);
}

// One Event, two APIs: kube-apiserver stores events.k8s.io/v1 Events as core
// Events (pkg/apis/events/v1/conversion.go Convert_v1_Event_To_core_Event and
// Convert_core_Event_To_v1_Event; the events REST storage of
// pkg/registry/core/event serves both groups). An Event a driver writes
// through client-go's tools/events is what `kubectl get events` lists.
TEST_CASE("ApiServer resources: core and events.k8s.io Events are one object in two versions",
          "[apiserver][resources]") {
  auto server = StartServer();
  const std::string ev_base = "/apis/events.k8s.io/v1/namespaces/default/events";
  const std::string core_base = "/api/v1/namespaces/default/events";
  WatchStream core_watch(server->port(), core_base + "?watch=true", server->admin_token());
  WatchStream ev_watch(server->port(), ev_base + "?watch=true&fieldSelector=regarding.name%3Dpod-1",
                       server->admin_token());

  // Written through events.k8s.io, read through core/v1.
  json ev = {{"apiVersion", "events.k8s.io/v1"},
             {"kind", "Event"},
             {"metadata", {{"name", "claim-1.abc"}}},
             {"eventTime", "2026-01-01T00:00:00.000000Z"},
             {"reportingController", "accel.example.org/driver"},
             {"reportingInstance", "node-1"},
             {"action", "Prepare"},
             {"reason", "Prepared"},
             {"type", "Normal"},
             {"note", "prepared 1 device"},
             {"deprecatedSource", {{"component", "accel-driver"}}},
             {"deprecatedFirstTimestamp", nullptr},
             {"regarding", {{"kind", "ResourceClaim"}, {"name", "claim-1"}}},
             {"series", {{"count", 2}, {"lastObservedTime", "2026-01-01T00:00:01.000000Z"}}}};
  auto created = Http(*server, "POST", ev_base, ev.dump());
  REQUIRE(created.status == 201);
  json ev_obj = created.Json();
  CHECK(ev_obj["apiVersion"] == "events.k8s.io/v1");
  CHECK(ev_obj["note"] == "prepared 1 device");
  CHECK_FALSE(ev_obj.contains("deprecatedFirstTimestamp"));
  auto core = Http(*server, "GET", core_base + "/claim-1.abc");
  REQUIRE(core.status == 200);
  json c = core.Json();
  CHECK(c["apiVersion"] == "v1");
  CHECK(c["kind"] == "Event");
  CHECK(c["message"] == "prepared 1 device");
  CHECK(c["involvedObject"]["name"] == "claim-1");
  CHECK(c["reportingComponent"] == "accel.example.org/driver");
  CHECK(c["reportingInstance"] == "node-1");
  CHECK(c["source"]["component"] == "accel-driver");
  CHECK(c["series"]["count"] == 2);
  CHECK(c["eventTime"] == "2026-01-01T00:00:00.000000Z");
  CHECK_FALSE(c.contains("note"));
  CHECK_FALSE(c.contains("regarding"));
  CHECK(c["metadata"]["uid"] == ev_obj["metadata"]["uid"]);
  CHECK(c["metadata"]["resourceVersion"] == ev_obj["metadata"]["resourceVersion"]);
  json added = NextOf(core_watch, "ADDED")["object"];
  CHECK(added["message"] == "prepared 1 device");
  CHECK(added["apiVersion"] == "v1");
  // Core selectors see it by the core names.
  auto by_component = Http(*server, "GET",
                           core_base +
                               "?fieldSelector=reportingComponent%3Daccel.example.org%2F"
                               "driver,involvedObject.kind%3DResourceClaim,source%3D"
                               "accel-driver")
                          .Json();
  CHECK(by_component["items"].size() == 1);

  // Written through core/v1 (client-go's tools/record), read through
  // events.k8s.io with its own field labels; its watch gets the converted form.
  json core_ev = {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", {{"name", "pod-1.def"}}},
      {"involvedObject", {{"kind", "Pod"}, {"name", "pod-1"}, {"namespace", "default"}}},
      {"reason", "FailedPrepareDynamicResources"},
      {"message", "NodePrepareResources failed"},
      {"type", "Warning"},
      {"count", 3},
      {"source", {{"component", "kubelet"}, {"host", "node-1"}}},
      {"firstTimestamp", "2026-01-01T00:00:00Z"},
      {"lastTimestamp", "2026-01-01T00:00:02Z"},
      {"reportingComponent", ""},
      {"reportingInstance", ""}};
  REQUIRE(Http(*server, "POST", core_base, core_ev.dump()).status == 201);
  json seen = NextOf(ev_watch, "ADDED")["object"];
  CHECK(seen["apiVersion"] == "events.k8s.io/v1");
  CHECK(seen["metadata"]["name"] == "pod-1.def");
  CHECK(seen["note"] == "NodePrepareResources failed");
  CHECK(seen["regarding"]["name"] == "pod-1");
  CHECK(seen["deprecatedCount"] == 3);
  CHECK(seen["deprecatedSource"]["host"] == "node-1");
  CHECK(seen["deprecatedFirstTimestamp"] == "2026-01-01T00:00:00Z");
  CHECK(seen["deprecatedLastTimestamp"] == "2026-01-01T00:00:02Z");
  // Empty strings under omitempty fields are not shown, as Go encodes them.
  CHECK_FALSE(seen.contains("reportingController"));
  CHECK_FALSE(seen.contains("reportingInstance"));
  auto sel = Http(*server, "GET",
                  ev_base + "?fieldSelector=regarding.kind%3DPod,source%3Dkubelet,type%3DWarning")
                 .Json();
  REQUIRE(sel["items"].size() == 1);
  CHECK(sel["items"][0]["metadata"]["name"] == "pod-1.def");
  auto all = Http(*server, "GET", ev_base).Json();
  CHECK(all["items"].size() == 2);
  CHECK(all["items"][0]["apiVersion"] == "events.k8s.io/v1");

  // An update through one API is an update of the other: a merge patch that
  // bumps the series, as tools/events does for a repeated event.
  auto patched = Http(*server, "PATCH", ev_base + "/claim-1.abc",
                      json{{"series", {{"count", 3}}}}.dump(), "application/merge-patch+json");
  REQUIRE(patched.status == 200);
  json after = Http(*server, "GET", core_base + "/claim-1.abc").Json();
  CHECK(after["series"]["count"] == 3);
  CHECK(after["message"] == "prepared 1 device");
  CHECK(after["metadata"]["resourceVersion"] == patched.Json()["metadata"]["resourceVersion"]);
  CHECK(NextOf(core_watch, "MODIFIED")["object"]["series"]["count"] == 3);
  // A PUT of what was read changes nothing: no new resourceVersion.
  json same = Http(*server, "GET", ev_base + "/claim-1.abc").Json();
  auto put = Http(*server, "PUT", ev_base + "/claim-1.abc", same.dump());
  REQUIRE(put.status == 200);
  CHECK(put.Json()["metadata"]["resourceVersion"] == same["metadata"]["resourceVersion"]);

  // Deleted through core/v1: gone from events.k8s.io too, with its own name.
  REQUIRE(Http(*server, "DELETE", core_base + "/pod-1.def").status == 200);
  CHECK(NextOf(ev_watch, "DELETED")["object"]["note"] == "NodePrepareResources failed");
  auto gone = Http(*server, "GET", ev_base + "/pod-1.def");
  CHECK(gone.status == 404);
  CHECK(gone.Json()["message"] == "events.events.k8s.io \"pod-1.def\" not found");
  // The same name cannot be taken twice across the two APIs.
  json dup = ev;
  CHECK(Http(*server, "POST", ev_base, dup.dump()).status == 409);
  core_ev["metadata"]["name"] = "claim-1.abc";
  CHECK(Http(*server, "POST", core_base, core_ev.dump()).status == 409);
}

// The field label conversion funcs: pkg/apis/core/v1/conversion.go (Pod,
// Node, Namespace, Event, Secret), pkg/apis/resource/v1/conversion.go
// (ResourceSlice) and apimachinery's DefaultMetaV1FieldSelectorConversion
// for the rest; values as pkg/registry/core/pod/strategy.go ToSelectableFields.
TEST_CASE("ApiServer field selectors: per-resource labels accepted and refused as upstream",
          "[apiserver][selectors]") {
  auto server = StartServer();
  struct Case {
    std::string path;
    std::string selector;
    int code;
    std::string message;
  };
  std::vector<Case> cases = {
      {"/api/v1/pods", "spec.nodeName=n,status.phase=Running,spec.restartPolicy=Always", 200, ""},
      {"/api/v1/pods", "spec.serviceAccountName=sa,spec.hostNetwork=false,status.podIP=1.2.3.4",
       200, ""},
      {"/api/v1/pods", "spec.host=n,status.nominatedNodeName=x,spec.schedulerName=s", 200, ""},
      {"/api/v1/pods", "spec.containers=x", 400, "field label not supported: spec.containers"},
      {"/api/v1/nodes", "spec.unschedulable=false", 200, ""},
      // Node's conversion func has no metadata.namespace.
      {"/api/v1/nodes", "metadata.namespace=x", 400,
       "field label not supported: metadata.namespace"},
      {"/api/v1/namespaces", "status.phase=Active", 200, ""},
      {"/api/v1/events", "involvedObject.uid=u,reason=r,source=s,type=Normal", 200, ""},
      {"/api/v1/events", "involvedObject.fieldPath=f,reportingComponent=c", 200, ""},
      {"/api/v1/secrets", "type=Opaque", 200, ""},
      {"/api/v1/secrets", "data=x", 400, "field label not supported: data"},
      {"/api/v1/configmaps", "metadata.name=a", 200, ""},
      {"/api/v1/configmaps", "data.x=1", 400,
       "\"data.x\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""},
      {"/apis/coordination.k8s.io/v1/leases", "spec.holderIdentity=x", 400,
       "\"spec.holderIdentity\" is not a known field selector: only \"metadata.name\", "
       "\"metadata.namespace\""},
      {"/apis/resource.k8s.io/v1/resourceslices", "spec.nodeName=n,spec.driver=d", 200, ""},
      // spec.pool.name is not a ResourceSlice field label upstream.
      {"/apis/resource.k8s.io/v1/resourceslices", "spec.pool.name=p", 400,
       "field label not supported for resource.k8s.io/v1, Kind=ResourceSlice: spec.pool.name"},
      {"/apis/resource.k8s.io/v1/resourceclaims", "status.allocation=x", 400,
       "\"status.allocation\" is not a known field selector: only \"metadata.name\", "
       "\"metadata.namespace\""},
  };
  for (const auto& c : cases) {
    INFO(c.path << " " << c.selector);
    std::string sel;
    for (char ch : c.selector) sel += ch == '=' ? std::string("%3D") : std::string(1, ch);
    auto r = Http(*server, "GET", c.path + "?fieldSelector=" + sel);
    CHECK(r.status == c.code);
    if (c.code == 400) {
      CHECK(r.Json()["reason"] == "BadRequest");
      CHECK(r.Json()["message"] == c.message);
    }
  }
  // Absent booleans select as "false" (spec.hostNetwork, spec.unschedulable).
  REQUIRE_OK(server->Create("nodes", {{"metadata", {{"name", "n1"}}}}));
  CHECK(Http(*server, "GET", "/api/v1/nodes?fieldSelector=spec.unschedulable%3Dfalse")
            .Json()["items"]
            .size() == 1);
}

// apiextensions-apiserver: an established CRD serves its group/version/plural
// (customresource_handler.go), with discovery, the status subresource when
// declared (customResourceStrategy: create drops status, the main endpoint
// keeps it), selectableFields, and its objects go with it.
TEST_CASE("ApiServer CRDs: a CRD's objects are served, watched and removed with it",
          "[apiserver][crd]") {
  auto server = StartServer();
  auto made = Http(*server, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                   Crd("Namespaced", true).dump());
  REQUIRE(made.status == 201);
  json crd = made.Json();
  bool established = false;
  for (const auto& c : crd["status"]["conditions"])
    established = established || (c["type"] == "Established" && c["status"] == "True");
  CHECK(established);
  CHECK(crd["status"]["acceptedNames"]["listKind"] == "GpuConfigList");
  CHECK(crd["status"]["storedVersions"] == json::array({"v1"}));

  auto groups = Http(*server, "GET", "/apis").Json();
  json g;
  for (const auto& x : groups["groups"])
    if (x["name"] == "gpu.example.com") g = x;
  REQUIRE(g.is_object());
  CHECK(g["preferredVersion"]["version"] == "v1");
  CHECK(g["versions"].size() == 2);
  auto rl = Http(*server, "GET", "/apis/gpu.example.com/v1").Json();
  REQUIRE(rl["resources"].size() == 2);
  CHECK(rl["resources"][0]["name"] == "gpuconfigs");
  CHECK(rl["resources"][0]["shortNames"] == json::array({"gcfg"}));
  CHECK(rl["resources"][1]["name"] == "gpuconfigs/status");

  const std::string base = "/apis/gpu.example.com/v1/namespaces/default/gpuconfigs";
  WatchStream w(server->port(), base + "?watch=true", server->admin_token());
  json obj = {{"apiVersion", "gpu.example.com/v1"},
              {"kind", "GpuConfig"},
              {"metadata", {{"name", "a"}}},
              {"spec", {{"color", "red"}}},
              {"status", {{"ready", true}}}};
  auto c = Http(*server, "POST", base, obj.dump());
  REQUIRE(c.status == 201);
  CHECK_FALSE(c.Json().contains("status"));
  CHECK(c.Json()["metadata"]["generation"] == 1);
  CHECK(NextOf(w, "ADDED")["object"]["spec"]["color"] == "red");
  json st = c.Json();
  st["status"] = {{"ready", true}};
  REQUIRE(Http(*server, "PUT", base + "/a/status", st.dump()).status == 200);
  auto p = Http(*server, "PATCH", base + "/a", R"({"spec":{"color":"blue"},"status":null})",
                "application/merge-patch+json");
  REQUIRE(p.status == 200);
  CHECK(p.Json()["status"]["ready"] == true);
  CHECK(p.Json()["metadata"]["generation"] == 2);
  // selectableFields: .spec.color is a field label.
  CHECK(Http(*server, "GET", base + "?fieldSelector=spec.color%3Dblue").Json()["items"].size() ==
        1);
  CHECK(Http(*server, "GET", base + "?fieldSelector=spec.size%3D1").status == 400);
  // The C++ API finds it by plural, Kind or plural.group; v1beta1 serves
  // the same objects.
  REQUIRE_OK(server->Get("gpuconfigs", "default", "a"));
  REQUIRE_OK(server->Get("GpuConfig", "default", "a"));
  // Strategy None (apiextensions-apiserver's nopConverter): each version
  // reads the object with its own apiVersion, and objects are stored in the
  // storage version whichever version wrote them.
  const std::string beta_base = "/apis/gpu.example.com/v1beta1/namespaces/default/gpuconfigs";
  WatchStream beta_watch(server->port(), beta_base + "?watch=true", server->admin_token());
  auto as_beta = Http(*server, "GET", beta_base + "/a");
  REQUIRE(as_beta.status == 200);
  CHECK(as_beta.Json()["apiVersion"] == "gpu.example.com/v1beta1");
  CHECK(as_beta.Json()["spec"]["color"] == "blue");
  CHECK(NextOf(beta_watch, "ADDED")["object"]["apiVersion"] == "gpu.example.com/v1beta1");
  json b = obj;
  b["apiVersion"] = "gpu.example.com/v1beta1";
  b["metadata"]["name"] = "b";
  auto cb = Http(*server, "POST", beta_base, b.dump());
  REQUIRE(cb.status == 201);
  CHECK(cb.Json()["apiVersion"] == "gpu.example.com/v1beta1");
  CHECK(NextOf(w, "ADDED")["object"]["apiVersion"] == "gpu.example.com/v1");
  CHECK(NextOf(beta_watch, "ADDED")["object"]["apiVersion"] == "gpu.example.com/v1beta1");
  CHECK(Http(*server, "GET", base + "/b").Json()["apiVersion"] == "gpu.example.com/v1");
  auto listed = Http(*server, "GET", beta_base).Json();
  REQUIRE(listed["items"].size() == 2);
  for (const auto& item : listed["items"]) CHECK(item["apiVersion"] == "gpu.example.com/v1beta1");
  REQUIRE(Http(*server, "DELETE", beta_base + "/b").status == 200);
  CHECK(NextOf(w, "DELETED")["object"]["apiVersion"] == "gpu.example.com/v1");
  // Deleting the CRD deletes its objects and stops serving them.
  REQUIRE(Http(*server, "DELETE",
               "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gpuconfigs.gpu.example.com")
              .status == 200);
  CHECK(NextOf(w, "DELETED")["object"]["metadata"]["name"] == "a");
  CHECK(Http(*server, "GET", base).status == 404);
  CHECK(Http(*server, "GET", "/apis/gpu.example.com/v1").status == 404);
}

TEST_CASE("ApiServer CRDs: cluster scope, validation of the CRD and persistence",
          "[apiserver][crd]") {
  auto dir = drahil::TempDir::Create("apiserver-crd-");
  REQUIRE_OK(dir);
  ApiServer::Options opts;
  opts.data_file = dir->Join("store.json");
  {
    auto server = StartServer(opts);
    json bad = Crd("Galaxy", false);
    bad["metadata"]["name"] = "wrong.gpu.example.com";
    auto b = Http(*server, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                  bad.dump());
    CHECK(b.status == 422);
    std::string msg = b.Json()["message"];
    CHECK(msg.find("metadata.name: Invalid value: \"wrong.gpu.example.com\": must be "
                   "spec.names.plural+\".\"+spec.group") != std::string::npos);
    CHECK(msg.find("spec.scope: Unsupported value: \"Galaxy\"") != std::string::npos);
    // Fixtures create CRDs through the C++ API.
    REQUIRE_OK(server->Create("customresourcedefinitions", Crd("Cluster", false)));
    json obj = {{"apiVersion", "gpu.example.com/v1"},
                {"kind", "GpuConfig"},
                {"metadata", {{"name", "global"}}},
                {"spec", {{"color", "green"}}}};
    auto c = Http(*server, "POST", "/apis/gpu.example.com/v1/gpuconfigs", obj.dump());
    REQUIRE(c.status == 201);
    CHECK_FALSE(c.Json()["metadata"].contains("namespace"));
    obj["metadata"]["name"] = "Bad_Name";
    CHECK(Http(*server, "POST", "/apis/gpu.example.com/v1/gpuconfigs", obj.dump()).status == 422);
    REQUIRE_OK(server->Flush());
  }
  auto again = StartServer(opts);
  auto got = Http(*again, "GET", "/apis/gpu.example.com/v1/gpuconfigs/global");
  REQUIRE(got.status == 200);
  CHECK(got.Json()["spec"]["color"] == "green");
}

// plugin/pkg/auth/authorizer/rbac/rbac.go RuleAllows and
// staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters
// forbiddenMessage + apierrors.NewForbidden for the message.
TEST_CASE("ApiServer policy: the driver's rules allow and deny with upstream's message",
          "[apiserver][policy]") {
  ApiServer::Options opts;
  AccessPolicy policy;
  policy.user = "system:serviceaccount:gpu-system:gpu-driver";
  policy.rules = {
      {{"resource.k8s.io"},
       {"resourceslices"},
       {"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"},
       {}},
      {{"resource.k8s.io"}, {"resourceclaims", "*/status"}, {"get", "list", "watch", "update"}, {}},
      {{"coordination.k8s.io"}, {"leases"}, {"*"}, {}},
      {{""}, {"configmaps"}, {"get", "list", "watch"}, {"gpu-config"}},
      {{""}, {"nodes"}, {"get", "patch"}, {}},
  };
  opts.driver_policy = policy;
  auto server = StartServer(opts);
  REQUIRE_OK(server->Create("nodes", {{"metadata", {{"name", "node-1"}}}}));
  REQUIRE_OK(server->Create("configmaps", {{"metadata", {{"name", "gpu-config"}}}}));
  REQUIRE_OK(server->Create("configmaps", {{"metadata", {{"name", "other"}}}}));
  std::string tok = server->IssueNodeToken("node-1", "gpu.example.com");

  // Allowed: leases (any verb), the named ConfigMap, slices of its node.
  json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                {"kind", "Lease"},
                {"metadata", {{"name", "leader"}}}};
  CHECK(As(*server, tok, "POST", "/apis/coordination.k8s.io/v1/namespaces/default/leases", lease)
            .status == 201);
  CHECK(As(*server, tok, "GET", "/api/v1/namespaces/default/configmaps/gpu-config").status == 200);
  // resourceNames: a list pinned by metadata.name is authorized for that name.
  CHECK(As(*server, tok, "GET",
           "/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dgpu-config")
            .status == 200);
  CHECK(As(*server, tok, "POST", "/apis/resource.k8s.io/v1/resourceslices", Slice("s1", "node-1"))
            .status == 201);

  // Denied, with the exact upstream text.
  auto other = As(*server, tok, "GET", "/api/v1/namespaces/default/configmaps/other");
  CHECK(other.status == 403);
  CHECK(other.Json()["reason"] == "Forbidden");
  CHECK(other.Json()["message"] ==
        "configmaps \"other\" is forbidden: User \"system:serviceaccount:gpu-system:gpu-driver\" "
        "cannot get resource \"configmaps\" in API group \"\" in the namespace \"default\"");
  CHECK(other.Json()["details"]["name"] == "other");
  CHECK(other.Json()["details"]["kind"] == "configmaps");
  auto list = As(*server, tok, "GET", "/api/v1/namespaces/default/configmaps");
  CHECK(list.status == 403);
  CHECK(list.Json()["message"] ==
        "configmaps is forbidden: User \"system:serviceaccount:gpu-system:gpu-driver\" cannot "
        "list resource \"configmaps\" in API group \"\" in the namespace \"default\"");
  auto secrets = As(*server, tok, "GET", "/api/v1/secrets");
  CHECK(secrets.status == 403);
  CHECK(secrets.Json()["message"] ==
        "secrets is forbidden: User \"system:serviceaccount:gpu-system:gpu-driver\" cannot list "
        "resource \"secrets\" in API group \"\" at the cluster scope");
  auto classes = As(*server, tok, "GET", "/apis/resource.k8s.io/v1/deviceclasses/x");
  CHECK(classes.Json()["message"] ==
        "deviceclasses.resource.k8s.io \"x\" is forbidden: User "
        "\"system:serviceaccount:gpu-system:gpu-driver\" cannot get resource \"deviceclasses\" in "
        "API group \"resource.k8s.io\" at the cluster scope");
  auto node_status = As(*server, tok, "PATCH", "/api/v1/nodes/node-1/status", json::object(),
                        "application/merge-patch+json");
  CHECK(node_status.status == 403);
  CHECK(node_status.Json()["message"].get<std::string>().find(
            "cannot patch resource \"nodes/status\" in API group \"\" at the cluster scope") !=
        std::string::npos);
  // "*/status" in a rule grants every resource's status subresource.
  REQUIRE_OK(server->Create("resourceclaims", drahil::apiserver::testing::Claim("default", "c1")));
  json claim = *server->Get("resourceclaims", "default", "c1");
  CHECK(As(*server, tok, "PUT",
           "/apis/resource.k8s.io/v1/namespaces/default/resourceclaims/c1/status", claim)
            .status == 200);
  // The node restriction on slices stays under a policy.
  auto foreign =
      As(*server, tok, "POST", "/apis/resource.k8s.io/v1/resourceslices", Slice("s2", "node-2"));
  CHECK(foreign.status == 403);
  CHECK(foreign.Json()["message"].get<std::string>().find(
            "this user may only write ResourceSlices with spec.nodeName \"node-1\"") !=
        std::string::npos);
  // The audit log names the policy's user.
  bool seen = false;
  for (const auto& e : server->AuditLog())
    seen = seen || (e.user == "system:serviceaccount:gpu-system:gpu-driver" && e.code == 403);
  CHECK(seen);
}

// plugin/pkg/admission/noderestriction admitNode: without a policy, the
// node may update its own Node's labels and status, not kubernetes.io
// labels other than the kubelet's, not node-restriction.kubernetes.io ones,
// not taints, and not other nodes.
TEST_CASE("ApiServer policy: the default node rules let a node label its own Node",
          "[apiserver][policy]") {
  auto server = StartServer();
  REQUIRE_OK(server->Create("nodes", {{"metadata", {{"name", "node-1"}}}}));
  REQUIRE_OK(server->Create("nodes", {{"metadata", {{"name", "node-2"}}}}));
  std::string tok = server->IssueNodeToken("node-1", "gpu.example.com");
  const std::string mp = "application/merge-patch+json";
  auto ok = As(*server, tok, "PATCH", "/api/v1/nodes/node-1",
               {{"metadata", {{"labels", {{"gpu.example.com/present", "true"}}}}}}, mp);
  CHECK(ok.status == 200);
  CHECK(ok.Json()["metadata"]["labels"]["gpu.example.com/present"] == "true");
  auto status = As(*server, tok, "PATCH", "/api/v1/nodes/node-1/status",
                   {{"status", {{"capacity", {{"example.com/gpu", "2"}}}}}}, mp);
  CHECK(status.status == 200);
  CHECK(status.Json()["status"]["capacity"]["example.com/gpu"] == "2");
  auto restricted =
      As(*server, tok, "PATCH", "/api/v1/nodes/node-1",
         {{"metadata", {{"labels", {{"node-restriction.kubernetes.io/pool", "a"}}}}}}, mp);
  CHECK(restricted.status == 403);
  CHECK(restricted.Json()["message"] ==
        "nodes \"node-1\" is forbidden: is not allowed to modify labels: "
        "node-restriction.kubernetes.io/pool");
  auto kube = As(*server, tok, "PATCH", "/api/v1/nodes/node-1",
                 {{"metadata", {{"labels", {{"kubernetes.io/role", "gpu"}}}}}}, mp);
  CHECK(kube.status == 403);
  auto kubelet = As(*server, tok, "PATCH", "/api/v1/nodes/node-1",
                    {{"metadata", {{"labels", {{"node.kubernetes.io/instance-type", "x"}}}}}}, mp);
  CHECK(kubelet.status == 200);
  auto taints = As(*server, tok, "PATCH", "/api/v1/nodes/node-1",
                   {{"spec", {{"taints", {{{"key", "k"}, {"effect", "NoSchedule"}}}}}}}, mp);
  CHECK(taints.status == 403);
  auto other = As(*server, tok, "PATCH", "/api/v1/nodes/node-2",
                  {{"metadata", {{"labels", {{"a", "b"}}}}}}, mp);
  CHECK(other.status == 403);
  CHECK(other.Json()["message"].get<std::string>().find(
            "node \"node-1\" is not allowed to modify node \"node-2\"") != std::string::npos);
  // events.k8s.io Events are writable as core ones; ConfigMaps are not.
  json ev = {{"apiVersion", "events.k8s.io/v1"},
             {"kind", "Event"},
             {"metadata", {{"name", "e1"}}},
             {"eventTime", "2026-01-01T00:00:00.000000Z"},
             {"reportingController", "gpu.example.com/driver"},
             {"reportingInstance", "node-1"},
             {"action", "Prepare"},
             {"reason", "Prepared"},
             {"type", "Normal"}};
  CHECK(As(*server, tok, "POST", "/apis/events.k8s.io/v1/namespaces/default/events", ev).status ==
        201);
  json cm = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "x"}}}};
  CHECK(As(*server, tok, "POST", "/api/v1/namespaces/default/configmaps", cm).status == 403);
}

TEST_CASE("ApiServer clients: kubectl gets leases and configmaps and lists a CRD's objects",
          "[apiserver][clients][kubectl]") {
  std::string kubectl = drahil::testing::FindOnPath("kubectl");
  if (kubectl.empty()) DRAHIL_SKIP("kubectl is not on PATH");
  auto dir = drahil::TempDir::Create("apiserver-kubectl-res-");
  REQUIRE_OK(dir);
  auto s = ApiServer::Start({});
  REQUIRE_OK(s);
  ApiServer& server = **s;
  REQUIRE_OK(server.WriteKubeconfig(dir->Join("kubeconfig")));
  auto run = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {kubectl, "--kubeconfig", dir->Join("kubeconfig"),
                                     "--cache-dir", dir->Join("cache")};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = drahil::RunCommand(argv, 60s);
    REQUIRE_OK(r);
    return *r;
  };
  REQUIRE_OK(server.Create("leases", {{"apiVersion", "coordination.k8s.io/v1"},
                                      {"kind", "Lease"},
                                      {"metadata", {{"name", "leader"}}},
                                      {"spec", {{"holderIdentity", "a"}}}}));
  auto leases = run({"get", "leases", "-o", "json"});
  INFO(leases.output);
  REQUIRE(leases.exit.success());
  CHECK(json::parse(leases.output)["items"][0]["spec"]["holderIdentity"] == "a");
  REQUIRE_OK(
      server.Create("configmaps", {{"metadata", {{"name", "cfg"}}}, {"data", {{"k", "v"}}}}));
  auto cms = run({"get", "configmaps", "cfg", "-o", "jsonpath={.data.k}"});
  INFO(cms.output);
  REQUIRE(cms.exit.success());
  CHECK(cms.output == "v");
  // kubectl's typed generators send protobuf bodies (k8s.io/api/core/v1
  // generated.proto inside the runtime.Unknown envelope).
  auto create_cm = run({"create", "configmap", "made", "--from-literal=a=b"});
  INFO(create_cm.output);
  REQUIRE(create_cm.exit.success());
  CHECK(server.Get("configmaps", "default", "made")->at("data") == json{{"a", "b"}});
  auto create_secret = run({"create", "secret", "generic", "pw", "--from-literal=pw=hunter2"});
  INFO(create_secret.output);
  REQUIRE(create_secret.exit.success());
  auto secret = server.Get("secrets", "default", "pw");
  REQUIRE_OK(secret);
  CHECK((*secret)["data"]["pw"] == "aHVudGVyMg==");
  CHECK((*secret)["type"] == "Opaque");
  auto create_ns = run({"create", "namespace", "gpu-system"});
  INFO(create_ns.output);
  CHECK(create_ns.exit.success());
  REQUIRE_OK(server.Create("customresourcedefinitions", Crd("Namespaced", false)));
  REQUIRE_OK(server.Create("gpuconfigs", {{"apiVersion", "gpu.example.com/v1"},
                                          {"kind", "GpuConfig"},
                                          {"metadata", {{"name", "g1"}}}}));
  auto crs = run({"get", "gcfg", "-o", "name"});
  INFO(crs.output);
  REQUIRE(crs.exit.success());
  CHECK(crs.output.find("gpuconfig.gpu.example.com/g1") != std::string::npos);
}
