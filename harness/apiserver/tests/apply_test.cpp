// Server-side apply over HTTP (application/apply-patch+yaml): create on
// apply, merging by list-map key, pruning what a manager stopped applying,
// conflicts and force, managedFields and /status, each checked against what
// kube-apiserver (handlers/patch.go applyPatcher, the fieldmanager and
// sigs.k8s.io/structured-merge-diff) does.
#include <set>

#include "drahil/apiserver/apiserver.hpp"
#include "drahil/core/clock.hpp"
#include "drahil/core/feature_gates.hpp"
#include "drahil/testing/testing.hpp"
#include "test_client.hpp"

using drahil::apiserver::ApiServer;
using drahil::apiserver::testing::Claim;
using drahil::apiserver::testing::Http;
using drahil::apiserver::testing::HttpResult;
using drahil::apiserver::testing::Slice;
using nlohmann::json;

namespace {

const std::string kSlices = "/apis/resource.k8s.io/v1/resourceslices";
const std::string kClaims = "/apis/resource.k8s.io/v1/namespaces/default/resourceclaims";
const char kApply[] = "application/apply-patch+yaml";

std::unique_ptr<ApiServer> StartServer() {
  auto s = ApiServer::Start({});
  REQUIRE_OK(s);
  return std::move(*s);
}

HttpResult ApplyAs(const ApiServer& s, const std::string& path, const std::string& manager,
                   const std::string& body, bool force = false) {
  std::string q = "?fieldManager=" + manager + (force ? "&force=true" : "");
  return Http(s, "PATCH", path + q, body, kApply);
}

const json* Entry(const json& obj, const std::string& manager, const std::string& operation) {
  if (!obj.contains("metadata") || !obj["metadata"].contains("managedFields")) return nullptr;
  for (const auto& e : obj["metadata"]["managedFields"]) {
    if (e["manager"] == manager && e["operation"] == operation) return &e;
  }
  return nullptr;
}

// Owns(): fieldsV1 of the entry holds the path ("f:spec", "f:devices").
bool Owns(const json* entry, const std::vector<std::string>& path) {
  if (entry == nullptr) return false;
  const json* node = &(*entry)["fieldsV1"];
  for (const auto& pe : path) {
    if (!node->is_object() || !node->contains(pe)) return false;
    node = &(*node)[pe];
  }
  return true;
}

const char kSliceYaml[] = R"(apiVersion: resource.k8s.io/v1
kind: ResourceSlice
metadata:
  name: node-1-gpu
  labels:
    tier: gold
    zone: a
spec:
  driver: gpu.example.com
  nodeName: node-1
  pool: {name: node-1, generation: 1, resourceSliceCount: 1}
  devices:
  - name: gpu-0
    attributes:
      model: {string: X1}
)";

}  // namespace

TEST_CASE("Upstream applyPatcher: apply creates a missing object and records an Apply entry",
          "[apiserver][apply]") {
  auto server = StartServer();
  auto created = ApplyAs(*server, kSlices + "/node-1-gpu", "driver-a", kSliceYaml);
  INFO(created.body);
  REQUIRE(created.status == 201);
  json obj = created.Json();
  CHECK(obj["spec"]["devices"][0]["attributes"]["model"]["string"] == "X1");
  CHECK(obj["metadata"]["labels"]["zone"] == "a");
  REQUIRE(obj["metadata"]["managedFields"].size() == 1);
  const json& e = obj["metadata"]["managedFields"][0];
  CHECK(e["manager"] == "driver-a");
  CHECK(e["operation"] == "Apply");
  CHECK(e["apiVersion"] == "resource.k8s.io/v1");
  CHECK(e["fieldsType"] == "FieldsV1");
  CHECK(e["time"].is_string());
  CHECK_FALSE(e.contains("subresource"));
  // ResourceSlice spec.devices is +listType=atomic upstream: owned whole.
  CHECK(e["fieldsV1"] == json::parse(R"({"f:metadata":{"f:labels":{"f:tier":{},"f:zone":{}}},
                        "f:spec":{"f:devices":{},"f:driver":{},"f:nodeName":{},
                                  "f:pool":{"f:generation":{},"f:name":{},
                                            "f:resourceSliceCount":{}}}})"));
  // Applying the same configuration again changes nothing.
  auto again = ApplyAs(*server, kSlices + "/node-1-gpu", "driver-a", kSliceYaml);
  REQUIRE(again.status == 200);
  CHECK(again.Json()["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]);
  CHECK(again.Json()["metadata"]["managedFields"] == obj["metadata"]["managedFields"]);
  // JSON is YAML: a JSON body applies as well.
  json j = Slice("json-slice", "node-2");
  auto js = ApplyAs(*server, kSlices + "/json-slice", "driver-b", j.dump());
  CHECK(js.status == 201);
}

TEST_CASE("Upstream applyPatcher: fieldManager is required and force only goes with apply",
          "[apiserver][apply]") {
  auto server = StartServer();
  auto r = Http(*server, "PATCH", kSlices + "/x", kSliceYaml, kApply);
  REQUIRE(r.status == 422);
  CHECK(r.Json()["message"] ==
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for "
        "apply patch");
  CHECK(r.Json()["details"]["causes"][0]["field"] == "fieldManager");
  auto f = Http(*server, "PATCH", kSlices + "/x?force=true", "{}", "application/merge-patch+json");
  CHECK(f.status == 422);
  // The name in the body must be the one on the URL; managedFields may not be applied.
  CHECK(ApplyAs(*server, kSlices + "/other", "m", kSliceYaml).status == 400);
  CHECK(ApplyAs(*server, kSlices + "/x", "m", "apiVersion: v1\nkind: ResourceSlice\n").status ==
        400);
  CHECK(ApplyAs(*server, kSlices + "/x", "m",
                "apiVersion: resource.k8s.io/v1\nkind: ResourceSlice\nmetadata:\n  "
                "managedFields: [{manager: x}]\n")
            .status == 400);
  CHECK(ApplyAs(*server, kSlices + "/x", "m", "a: [").status == 400);
}

TEST_CASE(
    "Upstream structured-merge-diff: fields a manager stops applying are removed unless "
    "another manager owns them",
    "[apiserver][apply]") {
  auto server = StartServer();
  std::string path = kSlices + "/node-1-gpu";
  REQUIRE(ApplyAs(*server, path, "driver-a", kSliceYaml).status == 201);
  // Another manager applies zone with the same value: shared, no conflict.
  auto shared = ApplyAs(*server, path, "labeler",
                        "apiVersion: resource.k8s.io/v1\nkind: ResourceSlice\nmetadata:\n  "
                        "name: node-1-gpu\n  labels:\n    zone: a\n    extra: x\n");
  INFO(shared.body);
  REQUIRE(shared.status == 200);
  CHECK(shared.Json()["metadata"]["labels"]["extra"] == "x");
  // driver-a drops both labels: tier goes, zone stays (labeler owns it).
  std::string without_labels = kSliceYaml;
  without_labels.replace(without_labels.find("  labels:\n    tier: gold\n    zone: a\n"),
                         std::string("  labels:\n    tier: gold\n    zone: a\n").size(), "");
  auto pruned = ApplyAs(*server, path, "driver-a", without_labels);
  INFO(pruned.body);
  REQUIRE(pruned.status == 200);
  json labels = pruned.Json()["metadata"]["labels"];
  CHECK_FALSE(labels.contains("tier"));
  CHECK(labels["zone"] == "a");
  CHECK(labels["extra"] == "x");
  CHECK_FALSE(Owns(Entry(pruned.Json(), "driver-a", "Apply"), {"f:metadata"}));
  // A field only set by an Update operation is not pruned by an applier.
  auto upd =
      Http(*server, "PATCH", path + "?fieldManager=editor",
           R"({"metadata":{"annotations":{"note":"kept"}}})", "application/merge-patch+json");
  REQUIRE(upd.status == 200);
  CHECK(Owns(Entry(upd.Json(), "editor", "Update"), {"f:metadata", "f:annotations", "f:note"}));
  auto re = ApplyAs(*server, path, "driver-a", without_labels);
  REQUIRE(re.status == 200);
  CHECK(re.Json()["metadata"]["annotations"]["note"] == "kept");
}

TEST_CASE(
    "Upstream structured-merge-diff: list-map items merge by key (claim status.devices, "
    "keyed by driver, device, pool and shareID) through /status",
    "[apiserver][apply]") {
  auto server = StartServer();
  REQUIRE_OK(server->Create("resourceclaims", Claim("default", "c1")));
  auto claim = server->Get("resourceclaims", "default", "c1");
  REQUIRE_OK(claim);
  json c = *claim;
  json results = json::array();
  for (const char* d : {"gpu-0", "gpu-1"}) {
    results.push_back(
        {{"request", "gpu"}, {"driver", "gpu.example.com"}, {"pool", "node-1"}, {"device", d}});
  }
  c["status"]["allocation"] = {{"devices", {{"results", results}}}};
  REQUIRE_OK(server->UpdateStatus("resourceclaims", c));

  auto status_for = [](const std::string& device, const std::string& cond) {
    return "apiVersion: resource.k8s.io/v1\nkind: ResourceClaim\nmetadata:\n  name: c1\n  "
           "namespace: default\nstatus:\n  devices:\n  - driver: gpu.example.com\n    pool: "
           "node-1\n    device: " +
           device + "\n    conditions:\n    - type: " + cond +
           "\n      status: \"True\"\n      reason: Ok\n      message: fine\n      "
           "lastTransitionTime: \"2026-01-01T00:00:00Z\"\n";
  };
  std::string status_path = kClaims + "/c1/status";
  auto a = ApplyAs(*server, status_path, "plugin-0", status_for("gpu-0", "Ready"));
  INFO(a.body);
  REQUIRE(a.status == 200);
  auto b = ApplyAs(*server, status_path, "plugin-1", status_for("gpu-1", "Ready"));
  INFO(b.body);
  REQUIRE(b.status == 200);
  json devices = b.Json()["status"]["devices"];
  REQUIRE(devices.size() == 2);
  CHECK(devices[0]["device"] == "gpu-0");
  CHECK(devices[1]["device"] == "gpu-1");
  CHECK(b.Json()["status"]["allocation"]["devices"]["results"].size() == 2);
  json bj = b.Json();
  const json* e = Entry(bj, "plugin-1", "Apply");
  REQUIRE(e != nullptr);
  CHECK((*e)["subresource"] == "status");
  std::string key = R"(k:{"device":"gpu-1","driver":"gpu.example.com","pool":"node-1"})";
  CHECK(Owns(e, {"f:status", "f:devices", key, "."}));
  CHECK(
      Owns(e, {"f:status", "f:devices", key, "f:conditions", R"(k:{"type":"Ready"})", "f:status"}));
  // Conditions merge by type inside the item.
  auto more = ApplyAs(*server, status_path, "plugin-1b", status_for("gpu-1", "Healthy"));
  REQUIRE(more.status == 200);
  CHECK(more.Json()["status"]["devices"][1]["conditions"].size() == 2);
  // plugin-0 stops applying its entry: it goes, the other stays.
  auto gone = ApplyAs(
      *server, status_path, "plugin-0",
      "apiVersion: resource.k8s.io/v1\nkind: ResourceClaim\nmetadata:\n  name: c1\n  namespace: "
      "default\n");
  INFO(gone.body);
  REQUIRE(gone.status == 200);
  REQUIRE(gone.Json()["status"]["devices"].size() == 1);
  CHECK(gone.Json()["status"]["devices"][0]["device"] == "gpu-1");
  CHECK(Entry(gone.Json(), "plugin-0", "Apply") == nullptr);
  // The main endpoint ignores status in an apply; /status ignores spec.
  auto main = ApplyAs(*server, kClaims + "/c1", "plugin-0", status_for("gpu-0", "Ready"));
  REQUIRE(main.status == 200);
  CHECK(main.Json()["status"]["devices"].size() == 1);
  // /status does not create (status stores do not allow create on update).
  std::string missing = status_for("gpu-0", "Ready");
  missing.replace(missing.find("name: c1"), 8, "name: missing");
  CHECK(ApplyAs(*server, kClaims + "/missing/status", "m", missing).status == 404);
}

TEST_CASE(
    "Upstream structured-merge-diff: a conflicting apply is 409 naming each field and "
    "manager, force takes the fields over",
    "[apiserver][apply]") {
  auto server = StartServer();
  std::string path = kSlices + "/node-1-gpu";
  REQUIRE(ApplyAs(*server, path, "driver-a", kSliceYaml).status == 201);
  std::string changed = kSliceYaml;
  changed.replace(changed.find("X1"), 2, "X2");
  changed.replace(changed.find("tier: gold"), 10, "tier: iron");
  auto conflict = ApplyAs(*server, path, "driver-b", changed);
  INFO(conflict.body);
  REQUIRE(conflict.status == 409);
  json st = conflict.Json();
  CHECK(st["reason"] == "Conflict");
  CHECK(st["message"] ==
        "Apply failed with 2 conflicts: conflicts with \"driver-a\":\n- .metadata.labels.tier\n- "
        ".spec.devices");
  std::set<std::string> fields;
  for (const auto& cause : st["details"]["causes"]) {
    CHECK(cause["reason"] == "FieldManagerConflict");
    CHECK(cause["message"] == "conflict with \"driver-a\"");
    fields.insert(cause["field"].get<std::string>());
  }
  CHECK(fields == std::set<std::string>{".metadata.labels.tier", ".spec.devices"});
  // Nothing was written.
  auto cur = server->Get("resourceslices", "", "node-1-gpu");
  REQUIRE_OK(cur);
  CHECK((*cur)["spec"]["devices"][0]["attributes"]["model"]["string"] == "X1");

  auto forced = ApplyAs(*server, path, "driver-b", changed, true);
  INFO(forced.body);
  REQUIRE(forced.status == 200);
  json obj = forced.Json();
  CHECK(obj["spec"]["devices"][0]["attributes"]["model"]["string"] == "X2");
  CHECK(Owns(Entry(obj, "driver-b", "Apply"), {"f:spec", "f:devices"}));
  CHECK_FALSE(Owns(Entry(obj, "driver-a", "Apply"), {"f:spec", "f:devices"}));
  CHECK_FALSE(Owns(Entry(obj, "driver-a", "Apply"), {"f:metadata", "f:labels", "f:tier"}));
  // Unchanged fields stay shared.
  CHECK(Owns(Entry(obj, "driver-a", "Apply"), {"f:spec", "f:driver"}));
  CHECK(Owns(Entry(obj, "driver-b", "Apply"), {"f:spec", "f:driver"}));

  // An Update operation takes fields over silently; the applier then conflicts with it.
  auto upd = Http(*server, "PATCH", path + "?fieldManager=editor",
                  R"({"spec":{"pool":{"generation":2}}})", "application/merge-patch+json");
  REQUIRE(upd.status == 200);
  CHECK(Owns(Entry(upd.Json(), "editor", "Update"), {"f:spec", "f:pool", "f:generation"}));
  auto back = ApplyAs(*server, path, "driver-b", changed);
  REQUIRE(back.status == 409);
  CHECK(back.Json()["details"]["causes"][0]["message"] ==
        "conflict with \"editor\" using resource.k8s.io/v1");
  CHECK(back.Json()["details"]["causes"][0]["field"] == ".spec.pool.generation");
}

TEST_CASE(
    "Upstream fieldmanager: Update operations record their manager, the user agent's name "
    "by default, and managedFields stay well-formed",
    "[apiserver][apply]") {
  auto server = StartServer();
  auto created = Http(*server, "POST", kSlices + "?fieldManager=creator",
                      Slice("s1", "node-1").dump(), "application/json");
  REQUIRE(created.status == 201);
  json obj = created.Json();
  REQUIRE(obj["metadata"]["managedFields"].size() == 1);
  const json* e = Entry(obj, "creator", "Update");
  REQUIRE(e != nullptr);
  CHECK(Owns(e, {"f:spec", "f:devices"}));
  CHECK_FALSE(Owns(e, {"f:metadata", "f:name"}));
  // A PUT changing nothing keeps everything, resourceVersion included.
  auto put = Http(*server, "PUT", kSlices + "/s1?fieldManager=other", obj.dump());
  REQUIRE(put.status == 200);
  CHECK(put.Json()["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]);
  CHECK(put.Json()["metadata"]["managedFields"] == obj["metadata"]["managedFields"]);
  // Apply entries sort before Update entries; each entry has the upstream fields.
  auto applied = ApplyAs(*server, kSlices + "/s1", "zzz",
                         "apiVersion: resource.k8s.io/v1\nkind: ResourceSlice\nmetadata:\n  "
                         "name: s1\n  labels: {a: b}\n");
  REQUIRE(applied.status == 200);
  json mf = applied.Json()["metadata"]["managedFields"];
  REQUIRE(mf.size() == 2);
  CHECK(mf[0]["operation"] == "Apply");
  CHECK(mf[1]["operation"] == "Update");
  for (const auto& entry : mf) {
    for (const char* k : {"manager", "operation", "apiVersion", "time", "fieldsType", "fieldsV1"}) {
      CHECK(entry.contains(k));
    }
  }
  // Sending managedFields [{}] strips them; an object without them is not
  // tracked by Update operations (skipNonAppliedManager)...
  json reset = applied.Json();
  reset["metadata"]["managedFields"] = json::array({json::object()});
  reset["metadata"]["labels"]["c"] = "d";
  auto r = Http(*server, "PUT", kSlices + "/s1?fieldManager=resetter", reset.dump());
  REQUIRE(r.status == 200);
  CHECK_FALSE(r.Json()["metadata"].contains("managedFields"));
  // ...and the first apply hands the existing fields to "before-first-apply".
  auto first = ApplyAs(*server, kSlices + "/s1", "late",
                       "apiVersion: resource.k8s.io/v1\nkind: ResourceSlice\nmetadata:\n  "
                       "name: s1\n  labels: {c: changed}\n");
  REQUIRE(first.status == 409);
  CHECK(first.Json()["details"]["causes"][0]["message"] ==
        "conflict with \"before-first-apply\" using resource.k8s.io/v1");
  CHECK(first.Json()["details"]["causes"][0]["field"] == ".metadata.labels.c");
  // Malformed managedFields from a client do not hurt the server.
  json bad = *server->Get("resourceslices", "", "s1");
  bad["metadata"]["managedFields"] = json::parse(
      R"([{"manager":5,"operation":"Apply","fieldsV1":{"f:spec":{"i:x":{},"k:{":{}}}}])");
  auto b = Http(*server, "PUT", kSlices + "/s1?fieldManager=x", bad.dump());
  CHECK(b.status < 500);
  auto ab = ApplyAs(*server, kSlices + "/s1", "",
                    "apiVersion: resource.k8s.io/v1\nkind: ResourceSlice\n");
  CHECK(ab.status == 422);
}

TEST_CASE(
    "Upstream structured-merge-diff: sets union per manager (finalizers), list-maps by "
    "their keys (ownerReferences by uid, pod containers by name), atomic lists replace",
    "[apiserver][apply]") {
  auto server = StartServer();
  std::string path = "/apis/resource.k8s.io/v1/deviceclasses/c1";
  auto head = [](const std::string& meta) {
    return "apiVersion: resource.k8s.io/v1\nkind: DeviceClass\nmetadata:\n  name: c1\n" + meta;
  };
  REQUIRE(ApplyAs(*server, path, "a",
                  head("  finalizers: [example.com/a]\n  ownerReferences:\n  - {apiVersion: v1, "
                       "kind: Node, name: n1, uid: u1}\n"))
              .status == 201);
  auto b = ApplyAs(*server, path, "b",
                   head("  finalizers: [example.com/b]\n  ownerReferences:\n  - {apiVersion: v1, "
                        "kind: Node, name: n2, uid: u2}\n"));
  INFO(b.body);
  REQUIRE(b.status == 200);
  CHECK(b.Json()["metadata"]["finalizers"] == json({"example.com/a", "example.com/b"}));
  CHECK(b.Json()["metadata"]["ownerReferences"].size() == 2);
  json bj = b.Json();
  CHECK(Owns(Entry(bj, "b", "Apply"), {"f:metadata", "f:finalizers", "v:\"example.com/b\""}));
  CHECK(Owns(Entry(bj, "b", "Apply"), {"f:metadata", "f:ownerReferences", "k:{\"uid\":\"u2\"}"}));
  auto a = ApplyAs(*server, path, "a", head(""));
  REQUIRE(a.status == 200);
  CHECK(a.Json()["metadata"]["finalizers"] == json({"example.com/b"}));
  REQUIRE(a.Json()["metadata"]["ownerReferences"].size() == 1);
  CHECK(a.Json()["metadata"]["ownerReferences"][0]["uid"] == "u2");

  // Pods (generic core kind): containers merge by name, a container's args
  // (atomic) are replaced.
  std::string pods = "/api/v1/namespaces/default/pods/p1";
  auto pod = [](const std::string& container, const std::string& arg) {
    return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p1\nspec:\n  containers:\n  - name: " +
           container + "\n    image: busybox\n    args: [" + arg + "]\n";
  };
  REQUIRE(ApplyAs(*server, pods, "main", pod("app", "ax")).status == 201);
  auto side = ApplyAs(*server, pods, "sidecar", pod("side", "ay"));
  INFO(side.body);
  REQUIRE(side.status == 200);
  json containers = side.Json()["spec"]["containers"];
  REQUIRE(containers.size() == 2);
  CHECK(containers[0]["name"] == "app");
  CHECK(containers[1]["name"] == "side");
  auto re = ApplyAs(*server, pods, "main", pod("app", "az"));
  REQUIRE(re.status == 200);
  CHECK(re.Json()["spec"]["containers"][0]["args"] == json({"az"}));
  CHECK(re.Json()["spec"]["containers"].size() == 2);

  // The order of a merged list (visitListItems): live items stay in place,
  // shared items follow the applied order: [u1 u2 u3] + [u3 u1] = [u2 u3 u1].
  auto refs = [](std::vector<std::string> uids) {
    std::string y =
        "apiVersion: resource.k8s.io/v1\nkind: DeviceClass\nmetadata:\n  name: "
        "c2\n  ownerReferences:\n";
    for (const auto& u : uids) {
      y += "  - {apiVersion: v1, kind: Node, name: node-n, uid: " + u + "}\n";
    }
    return y;
  };
  std::string c2 = "/apis/resource.k8s.io/v1/deviceclasses/c2";
  auto one = ApplyAs(*server, c2, "one", refs({"u1", "u2", "u3"}));
  INFO(one.body);
  REQUIRE(one.status == 201);
  auto two = ApplyAs(*server, c2, "two", refs({"u3", "u1"}));
  REQUIRE(two.status == 200);
  std::vector<std::string> order;
  json two_obj = two.Json();
  for (const auto& r : two_obj["metadata"]["ownerReferences"]) order.push_back(r["uid"]);
  CHECK(order == std::vector<std::string>{"u2", "u3", "u1"});
}

TEST_CASE(
    "Upstream applyPatcher: an apply goes through admission like any write (node "
    "restriction, field dropping by gates, validation)",
    "[apiserver][apply]") {
  auto server = StartServer();
  std::string tok = server->IssueNodeToken("node-1", "gpu.example.com");
  auto as_node = [&](const std::string& path, const std::string& body) {
    return Http(server->port(), "PATCH", path + "?fieldManager=driver", body, tok, kApply);
  };
  // The node's own slice: created on apply.
  auto own = as_node(kSlices + "/node-1-gpu", kSliceYaml);
  INFO(own.body);
  CHECK(own.status == 201);
  // Another node's slice: 403, created or not.
  std::string other = kSliceYaml;
  other.replace(other.find("nodeName: node-1"), 16, "nodeName: node-2");
  other.replace(other.find("name: node-1-gpu"), 16, "name: node-2-gpu");
  CHECK(as_node(kSlices + "/node-2-gpu", other).status == 403);
  // Validation: a device without a name is refused with 422.
  std::string invalid = kSliceYaml;
  invalid.replace(invalid.find("- name: gpu-0"), 13, "- attributes: {}");
  invalid.replace(invalid.find("    attributes:\n      model: {string: X1}\n"),
                  std::string("    attributes:\n      model: {string: X1}\n").size(), "");
  auto bad = ApplyAs(*server, kSlices + "/node-1-gpu", "driver", invalid);
  INFO(bad.body);
  CHECK(bad.status == 422);
}

TEST_CASE(
    "Upstream applyPatcher: the strategy drops a disabled gate's fields from an applied "
    "object and the drop is recorded",
    "[apiserver][apply][gates]") {
  auto version = drahil::KubeVersion::Parse("1.34");
  REQUIRE_OK(version);
  auto gates = drahil::FeatureGates::For(*version, "DRADeviceTaints=false");
  REQUIRE_OK(gates);
  ApiServer::Options o;
  o.gates = *gates;
  auto s = ApiServer::Start(std::move(o));
  REQUIRE_OK(s);
  std::string tainted = kSliceYaml;
  tainted += "    taints:\n    - {key: broken, effect: NoSchedule}\n";
  auto r = ApplyAs(**s, kSlices + "/node-1-gpu", "driver-a", tainted);
  INFO(r.body);
  REQUIRE(r.status == 201);
  CHECK_FALSE(r.Json()["spec"]["devices"][0].contains("taints"));
  bool recorded = false;
  for (const auto& d : (*s)->DroppedFields()) {
    if (d.field == "spec.devices[0].taints" && d.gate == "DRADeviceTaints") recorded = true;
  }
  CHECK(recorded);
}

// capManagersManager (apimachinery pkg/util/managedfields/internal/capmanagers.go,
// DefaultMaxUpdateManagers = 10): past ten Update entries, the oldest are merged
// into one "ancient-changes" entry per apiVersion, which keeps their fields and
// takes the time of the last one merged. Appliers are never merged.
TEST_CASE("Upstream capManagersManager: more than ten updaters fold into ancient-changes",
          "[apiserver][apply]") {
  drahil::FakeClock clock;
  ApiServer::Options opts;
  opts.clock = &clock;
  auto s = ApiServer::Start(std::move(opts));
  REQUIRE_OK(s);
  ApiServer& server = **s;
  const std::string path = "/api/v1/namespaces/default/configmaps";
  json cm = {{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata", {{"name", "state"}}},
             {"data", {{"m00", "0"}}}};
  REQUIRE(Http(server, "POST", path + "?fieldManager=m00", cm.dump()).status == 201);
  REQUIRE(ApplyAs(server, path + "/state", "applier", R"({"apiVersion":"v1","kind":"ConfigMap",
"metadata":{"name":"state"},"data":{"applied":"yes"}})")
              .status == 200);
  // Twelve more updaters, one second apart, each setting its own key.
  for (int i = 1; i <= 12; ++i) {
    clock.Advance(std::chrono::seconds(1));
    char name[8];
    std::snprintf(name, sizeof name, "m%02d", i);
    auto r =
        Http(server, "PATCH", path + "/state?fieldManager=" + name,
             json{{"data", {{name, std::to_string(i)}}}}.dump(), "application/merge-patch+json");
    REQUIRE(r.status == 200);
  }
  json obj = Http(server, "GET", path + "/state").Json();
  const json& mf = obj["metadata"]["managedFields"];
  int updaters = 0;
  for (const auto& e : mf) updaters += e["operation"] == "Update" ? 1 : 0;
  CHECK(updaters == 10);
  // 13 updaters: m00, m01, m02 and m03 (the oldest) went into the bucket.
  const json* bucket = Entry(obj, "ancient-changes", "Update");
  REQUIRE(bucket != nullptr);
  CHECK((*bucket)["apiVersion"] == "v1");
  for (const char* k : {"f:m00", "f:m01", "f:m02", "f:m03"}) {
    INFO(k);
    CHECK(Owns(bucket, {"f:data", k}));
  }
  CHECK_FALSE(Owns(bucket, {"f:data", "f:m04"}));
  CHECK(Entry(obj, "m03", "Update") == nullptr);
  CHECK(Owns(Entry(obj, "m04", "Update"), {"f:data", "f:m04"}));
  CHECK(Owns(Entry(obj, "applier", "Apply"), {"f:data", "f:applied"}));
  // The bucket has m03's time, a second before m04's.
  CHECK((*bucket)["time"].get<std::string>() <
        (*Entry(obj, "m04", "Update"))["time"].get<std::string>());
  CHECK((*bucket)["time"].get<std::string>() >
        (*Entry(obj, "applier", "Apply"))["time"].get<std::string>());
}
