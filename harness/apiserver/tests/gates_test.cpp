// Kubernetes versions and feature gates: field dropping as the registry
// strategies do it (upstream pkg/registry/resource/*/strategy.go), the
// DroppedFields record, DeviceTaintRule serving and the version-dependent
// validation (upstream pkg/apis/resource/validation/validation.go).
#include "drahil/apiserver/apiserver.hpp"
#include "drahil/core/feature_gates.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/testing/testing.hpp"
#include "test_client.hpp"

using drahil::FeatureGates;
using drahil::KubeVersion;
using drahil::apiserver::ApiServer;
using drahil::apiserver::DroppedField;
using drahil::apiserver::testing::Http;
using drahil::apiserver::testing::Slice;
using nlohmann::json;

namespace {

const char kDriver[] = "accel.example.com";
const std::string kSlices = "/apis/resource.k8s.io/v1/resourceslices";
const std::string kClaims = "/apis/resource.k8s.io/v1/namespaces/default/resourceclaims";
const std::string kTemplates = "/apis/resource.k8s.io/v1/namespaces/default/resourceclaimtemplates";
const std::string kClasses = "/apis/resource.k8s.io/v1/deviceclasses";
const std::string kRules = "/apis/resource.k8s.io/v1alpha3/devicetaintrules";

// TaintRule(): a DeviceTaintRule "r1" on every device of kDriver.
json TaintRule() {
  return {{"apiVersion", "resource.k8s.io/v1alpha3"},
          {"kind", "DeviceTaintRule"},
          {"metadata", {{"name", "r1"}}},
          {"spec",
           {{"deviceSelector", {{"driver", kDriver}}},
            {"taint", {{"key", "k"}, {"effect", "NoExecute"}}}}}};
}

FeatureGates Gates(const std::string& version, const std::string& overrides = "") {
  auto v = KubeVersion::Parse(version);
  REQUIRE_OK(v);
  auto g = FeatureGates::For(*v, overrides);
  REQUIRE_OK(g);
  return *g;
}

std::unique_ptr<ApiServer> Start(const FeatureGates& gates, const std::string& data_file = "") {
  ApiServer::Options o;
  o.gates = gates;
  o.data_file = data_file;
  auto s = ApiServer::Start(std::move(o));
  REQUIRE_OK(s);
  return std::move(*s);
}

json TaintedSlice(const std::string& name) {
  json s = Slice(name, "node-1", kDriver, 2);
  s["spec"]["devices"][0]["taints"] = {
      {{"key", "accel.example.com/hot"}, {"effect", "NoSchedule"}}};
  return s;
}

json ClaimWith(const json& exactly_extra, const std::string& name = "c1") {
  json exactly = {{"deviceClassName", "accel"}};
  exactly.update(exactly_extra);
  return {{"apiVersion", "resource.k8s.io/v1"},
          {"kind", "ResourceClaim"},
          {"metadata", {{"name", name}, {"namespace", "default"}}},
          {"spec", {{"devices", {{"requests", {{{"name", "r"}, {"exactly", exactly}}}}}}}}};
}

bool Dropped(const ApiServer& s, const std::string& field, const std::string& gate) {
  for (const DroppedField& d : s.DroppedFields()) {
    if (d.field == field && d.gate == gate) return true;
  }
  return false;
}

}  // namespace

// resourceslice/strategy.go dropDisabledDRADeviceTaintsFields (PrepareForCreate).
TEST_CASE("Gates: slice device taints are dropped when DRADeviceTaints is off (REST)",
          "[apiserver][gates]") {
  auto server = Start(Gates("1.34"));
  auto r = Http(*server, "POST", kSlices, TaintedSlice("s1").dump());
  INFO(r.body);
  REQUIRE(r.status == 201);
  CHECK_FALSE(r.Json()["spec"]["devices"][0].contains("taints"));
  auto drops = server->DroppedFields();
  REQUIRE(drops.size() == 1);
  CHECK(drops[0].resource == "resourceslices");
  CHECK(drops[0].name == "s1");
  CHECK(drops[0].field == "spec.devices[0].taints");
  CHECK(drops[0].gate == "DRADeviceTaints");
  CHECK(drops[0].user == "drahil-admin");
}

// resourceslice/strategy.go dropDisabledDRADeviceTaintsFields: gate on, nothing dropped.
TEST_CASE("Gates: slice device taints are kept when DRADeviceTaints is on", "[apiserver][gates]") {
  auto server = Start(Gates("1.36"));  // beta, on by default
  auto r = Http(*server, "POST", kSlices, TaintedSlice("s1").dump());
  REQUIRE(r.status == 201);
  CHECK(r.Json()["spec"]["devices"][0]["taints"].size() == 1);
  CHECK(server->DroppedFields().empty());
}

// resourceslice/strategy.go draDeviceTaintsFeatureInUse (PrepareForUpdate):
// a slice that already has taints keeps them, on any device, after the gate
// was turned off.
TEST_CASE("Gates: taints already in use in the old slice are kept on update",
          "[apiserver][gates]") {
  auto dir = drahil::TempDir::Create("apiserver-gates-");
  REQUIRE_OK(dir);
  std::string file = dir->path() + "/store.json";
  {
    auto on = Start(Gates("1.34", "DRADeviceTaints=true"), file);
    REQUIRE_OK(on->Create("resourceslices", TaintedSlice("s1")));
    on->Stop();
  }
  auto off = Start(Gates("1.34"), file);
  auto cur = off->Get("resourceslices", "", "s1");
  REQUIRE_OK(cur);
  json upd = *cur;
  upd["spec"]["devices"][1]["taints"] = {
      {{"key", "accel.example.com/cold"}, {"effect", "NoExecute"}}};
  auto r = Http(*off, "PUT", kSlices + "/s1", upd.dump());
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.Json()["spec"]["devices"][0]["taints"].size() == 1);
  CHECK(r.Json()["spec"]["devices"][1]["taints"].size() == 1);
  CHECK(off->DroppedFields().empty());
}

// The in-process Create passes the same strategy (PrepareForCreate).
TEST_CASE("Gates: the in-process Create drops and records like REST", "[apiserver][gates]") {
  auto server = Start(Gates("1.34"));
  auto made = server->Create("resourceslices", TaintedSlice("s1"));
  REQUIRE_OK(made);
  CHECK_FALSE((*made)["spec"]["devices"][0].contains("taints"));
  REQUIRE(server->DroppedFields().size() == 1);
  CHECK(server->DroppedFields()[0].user == "in-process");
  CHECK(server->DroppedFields()[0].gate == "DRADeviceTaints");
}

// resourceslice/strategy.go dropDisabledDRAPartitionableDevicesFields.
TEST_CASE("Gates: partitionable-device fields are dropped when DRAPartitionableDevices is off",
          "[apiserver][gates]") {
  auto server = Start(Gates("1.35"));  // alpha, off
  json s = Slice("s1", "node-1", kDriver, 1);
  s["spec"]["sharedCounters"] = {{{"name", "set"}, {"counters", {{"mem", {{"value", "8Gi"}}}}}}};
  s["spec"]["devices"][0]["consumesCounters"] = {
      {{"counterSet", "set"}, {"counters", {{"mem", {{"value", "1Gi"}}}}}}};
  auto r = Http(*server, "POST", kSlices, s.dump());
  INFO(r.body);
  REQUIRE(r.status == 201);
  CHECK_FALSE(r.Json()["spec"].contains("sharedCounters"));
  CHECK(Dropped(*server, "spec.sharedCounters", "DRAPartitionableDevices"));
  CHECK(Dropped(*server, "spec.devices[0].consumesCounters", "DRAPartitionableDevices"));
}

// resourceslice/strategy.go dropDisabledDRADeviceBindingConditionsFields:
// needs DRADeviceBindingConditions and DRAResourceClaimDeviceStatus.
TEST_CASE("Gates: binding conditions need both gates", "[apiserver][gates]") {
  json s = Slice("s1", "node-1", kDriver, 1);
  s["spec"]["devices"][0]["bindingConditions"] = {"ready"};
  s["spec"]["devices"][0]["bindingFailureConditions"] = {"failed"};
  s["spec"]["devices"][0]["bindsToNode"] = true;
  {
    auto server = Start(Gates("1.35"));
    REQUIRE(Http(*server, "POST", kSlices, s.dump()).status == 201);
    CHECK(Dropped(*server, "spec.devices[0].bindingConditions", "DRADeviceBindingConditions"));
    CHECK(Dropped(*server, "spec.devices[0].bindsToNode", "DRADeviceBindingConditions"));
  }
  {
    auto server =
        Start(Gates("1.35", "DRADeviceBindingConditions=true,DRAResourceClaimDeviceStatus=false"));
    REQUIRE(Http(*server, "POST", kSlices, s.dump()).status == 201);
    CHECK(Dropped(*server, "spec.devices[0].bindingFailureConditions",
                  "DRAResourceClaimDeviceStatus"));
  }
  {
    auto server = Start(Gates("1.36"));
    auto r = Http(*server, "POST", kSlices, s.dump());
    REQUIRE(r.status == 201);
    CHECK(r.Json()["spec"]["devices"][0]["bindsToNode"] == true);
    CHECK(server->DroppedFields().empty());
  }
}

// resourceslice/strategy.go dropDisabledDRAConsumableCapacityFields.
TEST_CASE("Gates: consumable-capacity slice fields are dropped when DRAConsumableCapacity is off",
          "[apiserver][gates]") {
  auto server = Start(Gates("1.35"));
  json s = Slice("s1", "node-1", kDriver, 1);
  s["spec"]["devices"][0]["allowMultipleAllocations"] = true;
  s["spec"]["devices"][0]["capacity"] = {
      {"memory", {{"value", "8Gi"}, {"requestPolicy", {{"default", "1Gi"}}}}}};
  auto r = Http(*server, "POST", kSlices, s.dump());
  INFO(r.body);
  REQUIRE(r.status == 201);
  CHECK(r.Json()["spec"]["devices"][0]["capacity"]["memory"] == json{{"value", "8Gi"}});
  CHECK(Dropped(*server, "spec.devices[0].allowMultipleAllocations", "DRAConsumableCapacity"));
  CHECK(
      Dropped(*server, "spec.devices[0].capacity[memory].requestPolicy", "DRAConsumableCapacity"));
}

// resourceslice/strategy.go dropDisableDRAListTypeAttributesFields: the
// attribute loses its value, so validation refuses it.
TEST_CASE("Gates: list-typed attributes are dropped before 1.36's gate, leaving no value",
          "[apiserver][gates]") {
  auto server = Start(Gates("1.35"));
  json s = Slice("s1", "node-1", kDriver, 1);
  s["spec"]["devices"][0]["attributes"] = {{"modes", {{"strings", {"a", "b"}}}}};
  auto r = Http(*server, "POST", kSlices, s.dump());
  INFO(r.body);
  CHECK(r.status == 422);
  CHECK(r.body.find("exactly one value must be specified") != std::string::npos);
  CHECK(Dropped(*server, "spec.devices[0].attributes[modes].strings", "DRAListTypeAttributes"));
}

// resourceclaimspec/strategy.go dropDisabledDRADeviceTaintsFields,
// dropDisabledDRAPrioritizedListFields, dropDisabledDRAAdminAccessFields.
TEST_CASE("Gates: claim tolerations, firstAvailable and adminAccess follow their gates",
          "[apiserver][gates]") {
  auto server = Start(Gates("1.35", "DRAPrioritizedList=false,DRAAdminAccess=false"));
  json tol = {{"tolerations", {{{"key", "k"}, {"operator", "Exists"}}}}, {"adminAccess", true}};
  auto r = Http(*server, "POST", kClaims, ClaimWith(tol).dump());
  INFO(r.body);
  REQUIRE(r.status == 201);
  json ex = r.Json()["spec"]["devices"]["requests"][0]["exactly"];
  CHECK_FALSE(ex.contains("tolerations"));
  CHECK_FALSE(ex.contains("adminAccess"));
  CHECK(Dropped(*server, "spec.devices.requests[0].exactly.tolerations", "DRADeviceTaints"));
  CHECK(Dropped(*server, "spec.devices.requests[0].exactly.adminAccess", "DRAAdminAccess"));

  json t = {{"apiVersion", "resource.k8s.io/v1"},
            {"kind", "ResourceClaimTemplate"},
            {"metadata", {{"name", "t1"}, {"namespace", "default"}}},
            {"spec",
             {{"spec",
               {{"devices",
                 {{"requests",
                   {{{"name", "r"},
                     {"firstAvailable", {{{"name", "a"}, {"deviceClassName", "accel"}}}}}}}}}}}}}};
  // Without firstAvailable the request has no device: refused as upstream's
  // validation refuses it, and the drop is recorded all the same.
  auto rt = Http(*server, "POST", kTemplates, t.dump());
  INFO(rt.body);
  CHECK(rt.status == 422);
  CHECK(rt.body.find("exactly one of `exactly` or `firstAvailable` is required") !=
        std::string::npos);
  CHECK(Dropped(*server, "spec.spec.devices.requests[0].firstAvailable", "DRAPrioritizedList"));
}

// resourceclaimspec/strategy.go dropDisabledDRAResourceClaimConsumableCapacityFields.
TEST_CASE("Gates: claim capacity requests are dropped when DRAConsumableCapacity is off",
          "[apiserver][gates]") {
  auto server = Start(Gates("1.34"));
  auto made = server->Create("resourceclaims",
                             ClaimWith({{"capacity", {{"requests", {{"memory", "1Gi"}}}}}}));
  REQUIRE_OK(made);
  CHECK(Dropped(*server, "spec.devices.requests[0].exactly.capacity", "DRAConsumableCapacity"));
}

// resourceclaim/strategy.go dropDisabledStatusFields (status strategy
// PrepareForUpdate): consumable-capacity and device-status fields.
TEST_CASE(
    "Gates: claim status fields follow DRAConsumableCapacity and "
    "DRAResourceClaimDeviceStatus",
    "[apiserver][gates]") {
  auto server = Start(Gates("1.35", "DRAResourceClaimDeviceStatus=false"));
  auto made = server->Create("resourceclaims", ClaimWith(json::object()));
  REQUIRE_OK(made);
  json c = *made;
  c["status"]["allocation"]["devices"]["results"] = {
      {{"request", "r"},
       {"driver", kDriver},
       {"pool", "node-1"},
       {"device", "gpu-0"},
       {"shareID", "11111111-1111-1111-1111-111111111111"},
       {"consumedCapacity", {{"memory", "1Gi"}}}}};
  c["status"]["devices"] = {{{"driver", kDriver}, {"pool", "node-1"}, {"device", "gpu-0"}}};
  auto r = Http(*server, "PUT", kClaims + "/c1/status", c.dump());
  INFO(r.body);
  REQUIRE(r.status == 200);
  json res = r.Json()["status"]["allocation"]["devices"]["results"][0];
  CHECK_FALSE(res.contains("shareID"));
  CHECK_FALSE(r.Json()["status"].contains("devices"));
  CHECK(Dropped(*server, "status.allocation.devices.results[0].shareID", "DRAConsumableCapacity"));
  CHECK(Dropped(*server, "status.allocation.devices.results[0].consumedCapacity",
                "DRAConsumableCapacity"));
  CHECK(Dropped(*server, "status.devices", "DRAResourceClaimDeviceStatus"));
}

// deviceclass/strategy.go dropDisabledDRAExtendedResourceFields.
TEST_CASE("Gates: DeviceClass extendedResourceName follows DRAExtendedResource",
          "[apiserver][gates]") {
  json cls = {{"apiVersion", "resource.k8s.io/v1"},
              {"kind", "DeviceClass"},
              {"metadata", {{"name", "accel"}}},
              {"spec", {{"extendedResourceName", "accel.example.com/gpu"}}}};
  auto off = Start(Gates("1.34"));
  auto r = Http(*off, "POST", kClasses, cls.dump());
  REQUIRE(r.status == 201);
  CHECK_FALSE(r.Json()["spec"].contains("extendedResourceName"));
  CHECK(Dropped(*off, "spec.extendedResourceName", "DRAExtendedResource"));
  auto on = Start(Gates("1.36"));
  CHECK(Http(*on, "POST", kClasses, cls.dump()).Json()["spec"]["extendedResourceName"] ==
        "accel.example.com/gpu");
}

// pkg/registry/resource/rest/storage_resource.go: DeviceTaintRule storage
// exists only with its gate (1.34: DRADeviceTaints; 1.35+: DRADeviceTaintRules).
TEST_CASE("Gates: DeviceTaintRule is 404 and absent from discovery without its gate",
          "[apiserver][gates]") {
  json rule = TaintRule();
  for (const char* v : {"1.34", "1.35", "1.36"}) {
    INFO(v);
    auto server = Start(Gates(v));
    CHECK(Http(*server, "GET", kRules).status == 404);
    CHECK(Http(*server, "POST", kRules, rule.dump()).status == 404);
    auto disc = Http(*server, "GET", "/apis/resource.k8s.io/v1").Json();
    CHECK(disc.dump().find("devicetaintrules") == std::string::npos);
    auto made = server->Create("devicetaintrules", rule);
    REQUIRE_FALSE(made.ok());
    CHECK(made.status().code() == drahil::Code::kNotFound);
    std::string gate = std::string(v) == "1.34" ? "DRADeviceTaints" : "DRADeviceTaintRules";
    CHECK(made.status().message().find(gate) != std::string::npos);
    CHECK(server->List("devicetaintrules").status().code() == drahil::Code::kNotFound);
  }
  auto on34 = Start(Gates("1.34", "DRADeviceTaints=true"));
  CHECK(Http(*on34, "POST", kRules, rule.dump()).status == 201);
  auto on35 = Start(Gates("1.35", "DRADeviceTaintRules=true"));
  CHECK(Http(*on35, "GET", "/apis/resource.k8s.io/v1alpha3").body.find("devicetaintrules") !=
        std::string::npos);
}

// staging/src/k8s.io/api/resource/<version>/register.go: DeviceTaintRule is
// a kind of v1alpha3 (1.33 on) and, from 1.36, of v1beta2; resource.k8s.io/v1
// has none before 1.37. A driver that writes rules through v1 fails in a
// 1.34-1.36 cluster, so it fails here too.
TEST_CASE("Gates: DeviceTaintRule is served in v1alpha3, in v1beta2 from 1.36, never in v1",
          "[apiserver][gates]") {
  json rule = TaintRule();
  const std::string v1 = "/apis/resource.k8s.io/v1/devicetaintrules";
  const std::string beta = "/apis/resource.k8s.io/v1beta2/devicetaintrules";
  auto v35 = Start(Gates("1.35", "DRADeviceTaintRules=true"));
  json as_v1 = rule;
  as_v1["apiVersion"] = "resource.k8s.io/v1";
  CHECK(Http(*v35, "POST", v1, as_v1.dump()).status == 404);
  CHECK(Http(*v35, "GET", beta).status == 404);
  CHECK(Http(*v35, "POST", kRules, rule.dump()).status == 201);

  auto v36 = Start(Gates("1.36", "DRADeviceTaintRules=true"));
  CHECK(Http(*v36, "POST", v1, as_v1.dump()).status == 404);
  CHECK(Http(*v36, "GET", "/apis/resource.k8s.io/v1").body.find("devicetaintrules") ==
        std::string::npos);
  REQUIRE(Http(*v36, "POST", kRules, rule.dump()).status == 201);
  // One object, read in either version with that version's apiVersion.
  auto b = Http(*v36, "GET", beta + "/r1");
  REQUIRE(b.status == 200);
  CHECK(b.Json()["apiVersion"] == "resource.k8s.io/v1beta2");
  CHECK(b.Json()["spec"]["taint"]["key"] == "k");
  json w = rule;
  w["apiVersion"] = "resource.k8s.io/v1beta2";
  w["metadata"]["name"] = "r2";
  REQUIRE(Http(*v36, "POST", beta, w.dump()).status == 201);
  auto listed = Http(*v36, "GET", kRules).Json();
  REQUIRE(listed["items"].size() == 2);
  for (const auto& item : listed["items"]) CHECK(item["apiVersion"] == "resource.k8s.io/v1alpha3");
  // Discovery: the group lists v1, v1beta2 and v1alpha3, v1 preferred.
  auto group = Http(*v36, "GET", "/apis/resource.k8s.io").Json();
  REQUIRE(group["versions"].size() == 3);
  CHECK(group["preferredVersion"]["version"] == "v1");
  CHECK(group["versions"][1]["version"] == "v1beta2");
  CHECK(group["versions"][2]["version"] == "v1alpha3");
}

// pkg/apis/resource/validation validateDeviceTaint: effect None came in 1.35.
TEST_CASE("Gates: taint effect None is refused on 1.34 and accepted on 1.35",
          "[apiserver][gates][validation]") {
  json s = Slice("s1", "node-1", kDriver, 1);
  s["spec"]["devices"][0]["taints"] = {{{"key", "accel.example.com/x"}, {"effect", "None"}}};
  auto v34 = Start(Gates("1.34", "DRADeviceTaints=true"));
  auto r = Http(*v34, "POST", kSlices, s.dump());
  CHECK(r.status == 422);
  CHECK(r.body.find("spec.devices[0].taints[0].effect") != std::string::npos);
  auto v35 = Start(Gates("1.35", "DRADeviceTaints=true"));
  auto r35 = Http(*v35, "POST", kSlices, s.dump());
  INFO(r35.body);
  CHECK(r35.status == 201);
}

// pkg/apis/resource/validation validateResourceSliceSpec: 1.34 lets a slice
// carry sharedCounters beside the devices that consume them; 1.35 wants
// them in a slice of their own.
TEST_CASE("Gates: the 1.34 partitionable layout is accepted on 1.34 and refused on 1.35",
          "[apiserver][gates][validation]") {
  json s = Slice("s1", "node-1", kDriver, 1);
  s["spec"]["sharedCounters"] = {{{"name", "set"}, {"counters", {{"mem", {{"value", "8Gi"}}}}}}};
  s["spec"]["devices"][0]["consumesCounters"] = {
      {{"counterSet", "set"}, {"counters", {{"mem", {{"value", "1Gi"}}}}}}};
  auto v34 = Start(Gates("1.34", "DRAPartitionableDevices=true"));
  auto r = Http(*v34, "POST", kSlices, s.dump());
  INFO(r.body);
  CHECK(r.status == 201);
  json bad = s;
  bad["metadata"]["name"] = "s2";
  bad["spec"]["devices"][0]["consumesCounters"][0]["counterSet"] = "other";
  auto rb = Http(*v34, "POST", kSlices, bad.dump());
  CHECK(rb.status == 422);
  CHECK(rb.body.find("must reference a counterSet defined in the ResourceSlice sharedCounters") !=
        std::string::npos);
  auto v35 = Start(Gates("1.35", "DRAPartitionableDevices=true"));
  auto r35 = Http(*v35, "POST", kSlices, s.dump());
  CHECK(r35.status == 422);
  CHECK(r35.body.find("only one of `sharedCounters` or `devices` is allowed") != std::string::npos);
}

TEST_CASE("Gates: /version follows the version unless git_version is given", "[apiserver][gates]") {
  auto server = Start(Gates("1.35"));
  CHECK(Http(*server, "GET", "/version").Json()["gitVersion"] == "v1.35.0-drahil");
  CHECK(server->gates().version().minor == 35);
  ApiServer::Options o;
  o.git_version = "v9.9.9";
  auto s = ApiServer::Start(o);
  REQUIRE_OK(s);
  CHECK(Http(**s, "GET", "/version").Json()["gitVersion"] == "v9.9.9");
}

namespace {

json ClassWithSelector(const std::string& expr) {
  return {{"apiVersion", "resource.k8s.io/v1"},
          {"kind", "DeviceClass"},
          {"metadata", {{"name", "accel"}}},
          {"spec", {{"selectors", {{{"cel", {{"expression", expr}}}}}}}}};
}

}  // namespace

// pkg/apis/resource/validation validateCELSelector(): a selector that does not
// compile is FieldValueInvalid with "compilation failed: ..." (cel-go's
// issues), one whose estimated cost exceeds CELSelectorExpressionMaxCost is
// FieldValueForbidden "too complex, exceeds cost limit".
TEST_CASE("Admission: upstream validateCELSelector refuses selectors that fail to compile",
          "[apiserver][cel]") {
  auto server = Start(Gates("1.36"));
  auto bad = Http(*server, "POST", kClasses, ClassWithSelector("device.driver == 1 +").dump());
  INFO(bad.body);
  REQUIRE(bad.status == 422);
  json causes = bad.Json()["details"]["causes"];
  REQUIRE(causes.size() == 1);
  CHECK(causes[0]["field"] == "spec.selectors[0].cel.expression");
  CHECK(causes[0]["reason"] == "FieldValueInvalid");
  CHECK(causes[0]["message"].get<std::string>().find("compilation failed: ERROR: <input>:1:") !=
        std::string::npos);

  std::string heavy = "lists.range(2000).all(i, lists.range(2000).all(j, i != j))";
  auto costly = Http(*server, "POST", kClasses, ClassWithSelector(heavy).dump());
  INFO(costly.body);
  REQUIRE(costly.status == 422);
  causes = costly.Json()["details"]["causes"];
  REQUIRE(causes.size() == 1);
  CHECK(causes[0]["reason"] == "FieldValueForbidden");
  CHECK(causes[0]["message"] == "Forbidden: too complex, exceeds cost limit");

  json claim = ClaimWith(
      {{"selectors", {{{"cel", {{"expression", "device.attributes['x'].n.charAt('a') == ''"}}}}}}});
  auto rc = Http(*server, "POST", kClaims, claim.dump());
  INFO(rc.body);
  REQUIRE(rc.status == 422);
  CHECK(rc.Json()["details"]["causes"][0]["field"] ==
        "spec.devices.requests[0].exactly.selectors[0].cel.expression");

  // The base environment's libraries are accepted.
  auto good = Http(*server, "POST", kClasses,
                   ClassWithSelector("device.attributes['accel.example.com'].exists(k, v, "
                                     "k.lowerAscii().indexOf('gpu') >= 0) && "
                                     "'10.0.0.1'.split('.').size() == 4")
                       .dump());
  INFO(good.body);
  CHECK(good.status == 201);
}

// base.go: ext.Lists arrived in 1.34, so a 1.34 API server (compatibility
// version 1.33) refuses sort() in a new selector; 1.35 accepts it.
TEST_CASE("Admission: upstream NewExpressions environment per version", "[apiserver][cel]") {
  const std::string expr = "[2, 1].sort() == [1, 2]";
  auto s34 = Start(Gates("1.34"));
  auto r34 = Http(*s34, "POST", kClasses, ClassWithSelector(expr).dump());
  INFO(r34.body);
  REQUIRE(r34.status == 422);
  CHECK(r34.body.find("undeclared reference to 'sort'") != std::string::npos);
  auto s35 = Start(Gates("1.35"));
  CHECK(Http(*s35, "POST", kClasses, ClassWithSelector(expr).dump()).status == 201);
}
