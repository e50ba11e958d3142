// The C++ API of ApiServer: direct store access, status semantics,
// finalizers, persistence, kubeconfig, audit and fault injection.
#include <regex>

#include "drahil/apiserver/apiserver.hpp"
#include "drahil/core/clock.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/testing/testing.hpp"
#include "test_client.hpp"

using drahil::apiserver::ApiServer;
using drahil::apiserver::testing::Claim;
using drahil::apiserver::testing::Http;
using drahil::apiserver::testing::Slice;
using nlohmann::json;

namespace {

std::unique_ptr<ApiServer> StartServer(ApiServer::Options opts = {}) {
  auto s = ApiServer::Start(std::move(opts));
  REQUIRE_OK(s);
  return std::move(*s);
}

}  // namespace

TEST_CASE("ApiServer: create fills uid, resourceVersion, generation and generateName",
          "[apiserver]") {
  auto server = StartServer();
  uint64_t rv0 = server->ResourceVersion();
  json slice = Slice("", "node-1");
  slice["metadata"]["generateName"] = "00000-gpu.example.com-node-1-";
  auto created = server->Create("resourceslices", slice);
  REQUIRE_OK(created);
  const json& m = (*created)["metadata"];
  std::string name = m["name"];
  CHECK(std::regex_match(
      name, std::regex("00000-gpu\\.example\\.com-node-1-[bcdfghjklmnpqrstvwxz2456789]{5}")));
  CHECK(std::regex_match(
      m["uid"].get<std::string>(),
      std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
  CHECK(std::stoull(m["resourceVersion"].get<std::string>()) == rv0 + 1);
  CHECK(m["generation"] == 1);
  CHECK(m.contains("creationTimestamp"));
  CHECK(server->ResourceVersion() == rv0 + 1);

  auto again = server->Create("resourceslices", Slice(name, "node-1"));
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().code() == drahil::Code::kAlreadyExists);
}

TEST_CASE("ApiServer: update enforces resourceVersion and bumps generation on spec change",
          "[apiserver]") {
  auto server = StartServer();
  auto created = server->Create("resourceslices", Slice("s1", "node-1"));
  REQUIRE_OK(created);
  json stale = *created;
  json fresh = *created;
  fresh["spec"]["pool"]["generation"] = 2;
  auto u1 = server->Update("resourceslices", fresh);
  REQUIRE_OK(u1);
  CHECK((*u1)["metadata"]["generation"] == 2);
  stale["spec"]["pool"]["generation"] = 3;
  auto u2 = server->Update("resourceslices", stale);
  REQUIRE_FALSE(u2.ok());
  CHECK(u2.status().code() == drahil::Code::kAborted);
  CHECK(u2.status().message().find("the object has been modified") != std::string::npos);

  // A no-op update writes nothing: same resourceVersion.
  uint64_t rv = server->ResourceVersion();
  auto u3 = server->Update("resourceslices", *u1);
  REQUIRE_OK(u3);
  CHECK((*u3)["metadata"]["resourceVersion"] == (*u1)["metadata"]["resourceVersion"]);
  CHECK(server->ResourceVersion() == rv);

  // Immutable fields are refused with the field named.
  json moved = *u1;
  moved["spec"]["nodeName"] = "node-2";
  moved["spec"]["pool"]["name"] = "node-2";
  auto u4 = server->Update("resourceslices", moved);
  REQUIRE_FALSE(u4.ok());
  CHECK(u4.status().code() == drahil::Code::kInvalidArgument);
  CHECK(u4.status().message().find("spec.nodeName") != std::string::npos);
}

TEST_CASE("ApiServer: UpdateStatus changes only status, finalizers delay deletion", "[apiserver]") {
  auto server = StartServer();
  json claim = Claim("default", "c1");
  claim["metadata"]["finalizers"] = {"resource.kubernetes.io/delete-protection"};
  auto created = server->Create("resourceclaims", claim);
  REQUIRE_OK(created);
  json st = *created;
  st["spec"]["devices"]["requests"][0]["name"] = "changed";  // ignored by /status
  json result = {
      {"request", "gpu"}, {"driver", "gpu.example.com"}, {"pool", "node-1"}, {"device", "gpu-0"}};
  st["status"]["allocation"]["devices"]["results"] = json::array({result});
  auto updated = server->UpdateStatus("resourceclaims", st);
  REQUIRE_OK(updated);
  CHECK((*updated)["status"]["allocation"]["devices"]["results"][0]["device"] == "gpu-0");
  CHECK((*updated)["spec"]["devices"]["requests"][0]["name"] == "gpu");
  CHECK((*updated)["metadata"]["generation"] == 1);

  REQUIRE_OK(server->Delete("resourceclaims", "default", "c1"));
  auto pending = server->Get("resourceclaims", "default", "c1");
  REQUIRE_OK(pending);
  CHECK((*pending)["metadata"].contains("deletionTimestamp"));
  json release = *pending;
  release["metadata"]["finalizers"] = json::array();
  REQUIRE_OK(server->Update("resourceclaims", release));
  auto gone = server->Get("resourceclaims", "default", "c1");
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.status().code() == drahil::Code::kNotFound);
}

TEST_CASE("ApiServer: timestamps and the audit log follow the server's clock", "[apiserver]") {
  drahil::FakeClock clock;
  ApiServer::Options opts;
  opts.clock = &clock;
  auto server = StartServer(opts);
  json claim = Claim("default", "c1");
  claim["metadata"]["finalizers"] = {"resource.kubernetes.io/delete-protection"};
  auto created = server->Create("resourceclaims", claim);
  REQUIRE_OK(created);
  CHECK((*created)["metadata"]["creationTimestamp"] == "2026-01-01T00:00:00Z");
  clock.Advance(std::chrono::seconds(90));
  REQUIRE_OK(server->Delete("resourceclaims", "default", "c1"));
  auto pending = server->Get("resourceclaims", "default", "c1");
  REQUIRE_OK(pending);
  CHECK((*pending)["metadata"]["deletionTimestamp"] == "2026-01-01T00:01:30Z");

  clock.Advance(std::chrono::seconds(30));
  auto r = Http(*server, "GET", "/api/v1/namespaces");
  REQUIRE(r.status == 200);
  auto audit = server->AuditLog();
  REQUIRE_FALSE(audit.empty());
  CHECK(audit.back().time == clock.WallNow());
  CHECK(audit.back().latency.count() == 0);  // the fake clock stood still
}

TEST_CASE("ApiServer: list with label and field selectors", "[apiserver]") {
  auto server = StartServer();
  for (int i = 0; i < 4; ++i) {
    json s = Slice("s" + std::to_string(i), i % 2 ? "node-b" : "node-a",
                   i < 2 ? "gpu.example.com" : "fpga.example.com");
    s["metadata"]["labels"] = {{"idx", std::to_string(i)}};
    REQUIRE_OK(server->Create("resourceslices", s));
  }
  auto a = server->List("resourceslices", "", "", "spec.nodeName=node-a");
  REQUIRE_OK(a);
  CHECK(a->size() == 2);
  auto b = server->List("resourceslices", "", "idx in (1,2,3)",
                        "spec.driver=fpga.example.com,spec.nodeName=node-b");
  REQUIRE_OK(b);
  REQUIRE(b->size() == 1);
  CHECK((*b)[0]["metadata"]["name"] == "s3");
  auto bad = server->List("resourceslices", "", "", "spec.bogus=1");
  REQUIRE_FALSE(bad.ok());
  // pkg/apis/resource/v1/conversion.go addConversionFuncs: the kind-qualified text.
  CHECK(bad.status().message().find("field label not supported for resource.k8s.io/v1, "
                                    "Kind=ResourceSlice: spec.bogus") != std::string::npos);
}

TEST_CASE("ApiServer: --data snapshot survives a restart", "[apiserver]") {
  auto dir = drahil::TempDir::Create("apiserver-data-");
  REQUIRE_OK(dir);
  ApiServer::Options opts;
  opts.data_file = dir->Join("store.json");
  std::string uid;
  uint64_t rv = 0;
  {
    auto server = StartServer(opts);
    auto c = server->Create(
        "deviceclasses",
        json{{"metadata", {{"name", "gpu.example.com"}}},
             {"spec",
              {{"selectors",
                {{{"cel", {{"expression", "device.driver == 'gpu.example.com'"}}}}}}}}});
    REQUIRE_OK(c);
    uid = (*c)["metadata"]["uid"];
    rv = server->ResourceVersion();
    server->Stop();
  }
  auto text = drahil::ReadFile(opts.data_file);
  REQUIRE_OK(text);
  CHECK(text->find("gpu.example.com") != std::string::npos);
  auto server = StartServer(opts);
  auto got = server->Get("deviceclasses", "", "gpu.example.com");
  REQUIRE_OK(got);
  CHECK((*got)["metadata"]["uid"] == uid);
  CHECK(server->ResourceVersion() >= rv);
  // Watching from before the restart is too old: the history is gone.
  auto r =
      Http(*server, "GET", "/apis/resource.k8s.io/v1/deviceclasses?watch=true&resourceVersion=1");
  CHECK(r.status == 410);
  CHECK(r.Json()["reason"] == "Expired");
}

TEST_CASE("ApiServer: kubeconfig, audit log and fault injection", "[apiserver]") {
  auto server = StartServer();
  auto dir = drahil::TempDir::Create("apiserver-kc-");
  REQUIRE_OK(dir);
  std::string token = server->IssueNodeToken("node-1", "gpu.example.com");
  REQUIRE_OK(server->WriteKubeconfig(dir->Join("kc"), token));
  auto kc = drahil::ReadFile(dir->Join("kc"));
  REQUIRE_OK(kc);
  CHECK(kc->find("server: " + server->url()) != std::string::npos);
  CHECK(kc->find("token: " + token) != std::string::npos);

  server->ClearAuditLog();
  auto r = Http(server->port(), "GET", "/api/v1/nodes", "", token);
  CHECK(r.status == 200);
  auto log = server->AuditLog();
  REQUIRE(log.size() == 1);
  CHECK(log[0].user == "system:node:node-1");
  CHECK(log[0].verb == "list");
  CHECK(log[0].resource == "nodes");
  CHECK(log[0].code == 200);

  {
    drahil::apiserver::FaultRule rule;
    rule.verb = "create";
    rule.path_regex = "/resourceslices$";
    rule.code = 503;
    rule.times = 2;
    auto fault = server->InjectFault(rule);
    std::string body = Slice("f1", "node-1").dump();
    CHECK(Http(*server, "POST", "/apis/resource.k8s.io/v1/resourceslices", body).status == 503);
    CHECK(Http(*server, "GET", "/apis/resource.k8s.io/v1/resourceslices").status == 200);
    CHECK(Http(*server, "POST", "/apis/resource.k8s.io/v1/resourceslices", body).status == 503);
    CHECK(Http(*server, "POST", "/apis/resource.k8s.io/v1/resourceslices", body).status == 201);
    CHECK(fault.Hits() == 2);
  }
  {
    drahil::apiserver::FaultRule slow;
    slow.code = 0;
    slow.latency = std::chrono::milliseconds(300);
    slow.times = -1;
    slow.path_regex = "^/api/v1/nodes";
    auto fault = server->InjectFault(slow);
    auto t0 = std::chrono::steady_clock::now();
    CHECK(Http(*server, "GET", "/api/v1/nodes").status == 200);
    CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(300));
  }
  {
    drahil::apiserver::FaultRule cut;
    cut.code = -1;
    cut.path_regex = "^/api/v1/namespaces$";
    auto fault = server->InjectFault(cut);
    CHECK_THROWS(Http(*server, "GET", "/api/v1/namespaces"));
    CHECK(Http(*server, "GET", "/api/v1/namespaces").status == 200);
    CHECK(fault.Hits() == 1);
  }
  // The handle went out of scope: the delay is gone.
  auto t0 = std::chrono::steady_clock::now();
  CHECK(Http(*server, "GET", "/api/v1/nodes").status == 200);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(300));
}
