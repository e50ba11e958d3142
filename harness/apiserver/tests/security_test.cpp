// What a driver's node token may write, against the upstream rule named in
// each test: ResourceClaim status (pkg/registry/resource/authz.go, the
// synthetic resourceclaims/binding and resourceclaims/driver permissions of
// Kubernetes 1.36), status.devices validation, namespaces that do not exist
// (NamespaceLifecycle) and Event sizes (pkg/apis/core/validation/events.go).
#include <string>

#include "drahil/apiserver/apiserver.hpp"
#include "drahil/testing/testing.hpp"
#include "test_client.hpp"

using drahil::apiserver::AccessPolicy;
using drahil::apiserver::ApiServer;
using drahil::apiserver::testing::As;
using drahil::apiserver::testing::Claim;
using drahil::apiserver::testing::Http;
using drahil::apiserver::testing::HttpResult;
using nlohmann::json;

namespace {

const std::string kClaims = "/apis/resource.k8s.io/v1/namespaces/default/resourceclaims";

std::unique_ptr<ApiServer> StartServer(ApiServer::Options opts = {}) {
  opts.tls = false;
  auto s = ApiServer::Start(std::move(opts));
  REQUIRE_OK(s);
  return std::move(*s);
}

json SingleNode(const std::string& node) {
  return {
      {"nodeSelectorTerms",
       {{{"matchFields", {{{"key", "metadata.name"}, {"operator", "In"}, {"values", {node}}}}}}}}};
}

// A claim allocated (by the admin, as the scheduler stand-in does) to
// gpu-0 of `driver`'s pool `node` on `node`.
json AllocatedClaim(ApiServer& server, const std::string& name, const std::string& node,
                    const std::string& driver = "gpu.example.com") {
  auto made = server.Create("resourceclaims", Claim("default", name));
  REQUIRE_OK(made);
  json c = *made;
  c["status"]["allocation"] = {
      {"devices",
       {{"results",
         {{{"request", "gpu"}, {"driver", driver}, {"pool", node}, {"device", "gpu-0"}}}}}},
      {"nodeSelector", SingleNode(node)}};
  auto updated = server.UpdateStatus("resourceclaims", c);
  REQUIRE_OK(updated);
  return *updated;
}

json DeviceStatus(const std::string& driver, const std::string& pool, const std::string& device) {
  return {{"driver", driver},
          {"pool", pool},
          {"device", device},
          {"conditions",
           {{{"type", "Ready"},
             {"status", "True"},
             {"reason", "Prepared"},
             {"message", ""},
             {"lastTransitionTime", "2025-01-01T00:00:00Z"}}}}};
}

std::string CauseField(const HttpResult& r) {
  json j = r.Json();
  if (!j.contains("details") || !j["details"].contains("causes")) return "";
  return j["details"]["causes"][0].value("field", "");
}

}  // namespace

TEST_CASE("ApiServer security: a node token may not change status.allocation or reservedFor",
          "[apiserver][security]") {
  auto server = StartServer();
  std::string tok = server->IssueNodeToken("node-1", "gpu.example.com");
  json claim = AllocatedClaim(*server, "c1", "node-1");

  SECTION("allocation") {
    json c = claim;
    c["status"]["allocation"]["devices"]["results"][0]["device"] = "gpu-1";
    auto r = As(*server, tok, "PUT", kClaims + "/c1/status", c);
    CHECK(r.status == 422);
    CHECK(CauseField(r) == "status");
    CHECK_THAT(r.body, Catch::Contains("changing status.allocation or status.reservedFor requires "
                                       "resource=\\\"resourceclaims/binding\\\""));
    // Deallocating is a change too.
    json patch = {{"status", {{"allocation", nullptr}}}};
    auto p =
        As(*server, tok, "PATCH", kClaims + "/c1/status", patch, "application/merge-patch+json");
    CHECK(p.status == 422);
    CHECK_THAT(p.body, Catch::Contains("verb=\\\"patch\\\""));
  }
  SECTION("reservedFor") {
    json c = claim;
    c["status"]["reservedFor"] = {{{"resource", "pods"}, {"name", "p"}, {"uid", "u-1"}}};
    auto r = As(*server, tok, "PUT", kClaims + "/c1/status", c);
    CHECK(r.status == 422);
    CHECK(CauseField(r) == "status");
  }
  SECTION("a claim the node token has not seen allocated") {
    auto made = server->Create("resourceclaims", Claim("default", "fresh"));
    REQUIRE_OK(made);
    json c = *made;
    c["status"]["allocation"] = claim["status"]["allocation"];
    auto r = As(*server, tok, "PUT", kClaims + "/fresh/status", c);
    CHECK(r.status == 422);
    CHECK_FALSE((*server->Get("resourceclaims", "default", "fresh")).contains("status"));
  }
  // The admin identity (the scheduler and kubelet stand-ins over HTTP) may.
  json c = claim;
  c["status"]["reservedFor"] = {{{"resource", "pods"}, {"name", "p"}, {"uid", "u-1"}}};
  CHECK(Http(*server, "PUT", kClaims + "/c1/status", c.dump()).status == 200);
}

TEST_CASE("ApiServer security: a node token writes status.devices of its own driver on its node",
          "[apiserver][security]") {
  auto server = StartServer();
  std::string tok = server->IssueNodeToken("node-1", "gpu.example.com");
  json claim = AllocatedClaim(*server, "c1", "node-1");

  SECTION("its own device: allowed") {
    json c = claim;
    c["status"]["devices"] = {DeviceStatus("gpu.example.com", "node-1", "gpu-0")};
    auto r = As(*server, tok, "PUT", kClaims + "/c1/status", c);
    CHECK(r.status == 200);
    INFO(r.body);
    CHECK(r.Json()["status"]["devices"][0]["device"] == "gpu-0");
    // Removing its own entry again is allowed too.
    json patch = {{"status", {{"devices", nullptr}}}};
    CHECK(As(*server, tok, "PATCH", kClaims + "/c1/status", patch, "application/merge-patch+json")
              .status == 200);
  }
  SECTION("an entry for a device that is not allocated: 422 from validation") {
    json c = claim;
    c["status"]["devices"] = {DeviceStatus("gpu.example.com", "node-1", "gpu-7")};
    auto r = As(*server, tok, "PUT", kClaims + "/c1/status", c);
    CHECK(r.status == 422);
    CHECK_THAT(r.body, Catch::Contains("must be an allocated device in the claim"));
  }
  SECTION("another driver's entry: 422 naming resourceclaims/driver") {
    json other = AllocatedClaim(*server, "c2", "node-1", "fpga.example.com");
    json c = other;
    c["status"]["devices"] = {DeviceStatus("fpga.example.com", "node-1", "gpu-0")};
    auto r = As(*server, tok, "PUT", kClaims + "/c2/status", c);
    CHECK(r.status == 422);
    CHECK(CauseField(r) == "status.devices");
    CHECK_THAT(r.body, Catch::Contains("resourceclaims/driver"));
    CHECK_THAT(r.body, Catch::Contains("fpga.example.com"));
  }
  SECTION("a claim allocated on another node: 422") {
    json other = AllocatedClaim(*server, "c3", "node-2");
    json c = other;
    c["status"]["devices"] = {DeviceStatus("gpu.example.com", "node-2", "gpu-0")};
    auto r = As(*server, tok, "PUT", kClaims + "/c3/status", c);
    CHECK(r.status == 422);
    CHECK_THAT(r.body, Catch::Contains("arbitrary-node:update"));
    // A token bound to node-2 may.
    std::string tok2 = server->IssueNodeToken("node-2", "gpu.example.com");
    CHECK(As(*server, tok2, "PUT", kClaims + "/c3/status", c).status == 200);
  }
}

TEST_CASE("ApiServer security: a driver policy needs the 1.36 synthetic claim permissions",
          "[apiserver][security][policy]") {
  ApiServer::Options opts;
  AccessPolicy policy;
  policy.user = "system:serviceaccount:dra:gpu-driver";
  policy.rules = {{{"resource.k8s.io"}, {"resourceclaims"}, {"get", "list", "watch"}, {}},
                  {{"resource.k8s.io"}, {"resourceclaims/status"}, {"update", "patch"}, {}},
                  {{"resource.k8s.io"},
                   {"resourceclaims/driver"},
                   {"associated-node:update", "associated-node:patch"},
                   {"gpu.example.com"}}};
  opts.driver_policy = policy;
  auto server = StartServer(opts);
  std::string tok = server->IssueNodeToken("node-1", "gpu.example.com");
  json claim = AllocatedClaim(*server, "c1", "node-1");
  json c = claim;
  c["status"]["devices"] = {DeviceStatus("gpu.example.com", "node-1", "gpu-0")};
  CHECK(As(*server, tok, "PUT", kClaims + "/c1/status", c).status == 200);
  c = *server->Get("resourceclaims", "default", "c1");
  c["status"]["reservedFor"] = {{{"resource", "pods"}, {"name", "p"}, {"uid", "u-1"}}};
  auto r = As(*server, tok, "PUT", kClaims + "/c1/status", c);
  CHECK(r.status == 422);
  CHECK_THAT(r.body,
             Catch::Contains("User \\\"system:serviceaccount:dra:gpu-driver\\\" cannot update "
                             "resource \\\"resourceclaims/binding\\\""));
}

TEST_CASE("ApiServer security: no objects in a namespace that does not exist",
          "[apiserver][security]") {
  auto server = StartServer();
  std::string tok = server->IssueNodeToken("node-1", "gpu.example.com");
  json core = {{"apiVersion", "v1"},
               {"kind", "Event"},
               {"metadata", {{"name", "e1"}, {"namespace", "nope"}}},
               {"involvedObject", {{"kind", "Pod"}, {"namespace", "nope"}, {"name", "p"}}},
               {"reason", "Test"},
               {"message", "m"},
               {"type", "Normal"}};
  auto r = As(*server, tok, "POST", "/api/v1/namespaces/nope/events", core);
  CHECK(r.status == 404);
  CHECK(r.Json()["message"] == "namespaces \"nope\" not found");
  json ev = {{"apiVersion", "events.k8s.io/v1"},
             {"kind", "Event"},
             {"metadata", {{"name", "e2"}, {"namespace", "nope"}}},
             {"eventTime", "2025-01-01T00:00:00.000000Z"},
             {"reportingController", "gpu.example.com/driver"},
             {"reportingInstance", "node-1"},
             {"action", "Prepare"},
             {"reason", "Test"},
             {"type", "Normal"},
             {"note", "n"}};
  r = As(*server, tok, "POST", "/apis/events.k8s.io/v1/namespaces/nope/events", ev);
  CHECK(r.status == 404);
  CHECK(r.Json()["message"] == "namespaces \"nope\" not found");
  // Any namespaced kind, any identity.
  CHECK(Http(*server, "POST", "/apis/resource.k8s.io/v1/namespaces/nope/resourceclaims",
             Claim("nope", "c").dump())
            .status == 404);
  // In a namespace that exists, the node token's events are fine.
  core["metadata"]["namespace"] = "default";
  core["involvedObject"]["namespace"] = "default";
  CHECK(As(*server, tok, "POST", "/api/v1/namespaces/default/events", core).status == 201);
}

TEST_CASE("ApiServer security: Event messages are bounded", "[apiserver][security]") {
  auto server = StartServer();
  std::string tok = server->IssueNodeToken("node-1", "gpu.example.com");
  const std::string long_text(1025, 'x');
  SECTION("events.k8s.io note over NoteLengthLimit") {
    json ev = {{"apiVersion", "events.k8s.io/v1"},
               {"kind", "Event"},
               {"metadata", {{"name", "e"}, {"namespace", "default"}}},
               {"eventTime", "2025-01-01T00:00:00.000000Z"},
               {"reportingController", "gpu.example.com/driver"},
               {"reportingInstance", "node-1"},
               {"action", "Prepare"},
               {"reason", "Test"},
               {"type", "Normal"},
               {"note", long_text}};
    auto r = As(*server, tok, "POST", "/apis/events.k8s.io/v1/namespaces/default/events", ev);
    CHECK(r.status == 422);
    CHECK(CauseField(r) == "note");
    ev["note"] = std::string(1024, 'x');
    CHECK(As(*server, tok, "POST", "/apis/events.k8s.io/v1/namespaces/default/events", ev).status ==
          201);
  }
  SECTION("core/v1 with eventTime: legacyValidateEvent's limits") {
    json ev = {{"apiVersion", "v1"},
               {"kind", "Event"},
               {"metadata", {{"name", "e"}, {"namespace", "default"}}},
               {"involvedObject", {{"kind", "Pod"}, {"namespace", "default"}, {"name", "p"}}},
               {"eventTime", "2025-01-01T00:00:00.000000Z"},
               {"reportingComponent", "gpu.example.com/driver"},
               {"reportingInstance", "node-1"},
               {"action", "Prepare"},
               {"reason", "Test"},
               {"type", "Normal"},
               {"message", long_text}};
    auto r = As(*server, tok, "POST", "/api/v1/namespaces/default/events", ev);
    CHECK(r.status == 422);
    CHECK(CauseField(r) == "message");
    CHECK_THAT(r.body, Catch::Contains("can have at most 1024 characters"));
    ev["message"] = "short";
    ev["reason"] = std::string(129, 'r');
    r = As(*server, tok, "POST", "/api/v1/namespaces/default/events", ev);
    CHECK(r.status == 422);
    CHECK(CauseField(r) == "reason");
  }
  SECTION("core/v1 without eventTime: the store's object size limit") {
    json ev = {{"apiVersion", "v1"},
               {"kind", "Event"},
               {"metadata", {{"name", "big"}, {"namespace", "default"}}},
               {"involvedObject", {{"kind", "Pod"}, {"namespace", "default"}, {"name", "p"}}},
               {"reason", "Test"},
               {"type", "Normal"},
               {"message", std::string(2500000, 'x')}};
    auto r = As(*server, tok, "POST", "/api/v1/namespaces/default/events", ev);
    CHECK(r.status == 500);
    CHECK_THAT(r.body, Catch::Contains("etcdserver: request is too large"));
    CHECK_FALSE(server->Get("events", "default", "big").ok());
    // A long message well under the limit is accepted, as upstream does.
    ev["message"] = std::string(4000, 'x');
    CHECK(As(*server, tok, "POST", "/api/v1/namespaces/default/events", ev).status == 201);
  }
}
