// The REST surface over real HTTP: discovery, verbs, errors as Status
// objects, admission, and bad input that must not hurt the server.
#include <sys/socket.h>

#include <thread>

#include "drahil/apiserver/apiserver.hpp"
#include "drahil/core/clock.hpp"
#include "drahil/testing/testing.hpp"
#include "test_client.hpp"

using drahil::apiserver::ApiServer;
using drahil::apiserver::testing::Claim;
using drahil::apiserver::testing::Http;
using drahil::apiserver::testing::Slice;
using nlohmann::json;

namespace {

const std::string kSlices = "/apis/resource.k8s.io/v1/resourceslices";

std::unique_ptr<ApiServer> StartServer(ApiServer::Options opts = {}) {
  auto s = ApiServer::Start(std::move(opts));
  REQUIRE_OK(s);
  return std::move(*s);
}

json FindResource(const json& list, const std::string& name) {
  for (const auto& r : list["resources"]) {
    if (r["name"] == name) return r;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("ApiServer HTTP: discovery documents", "[apiserver][http]") {
  auto server = StartServer();
  auto v = Http(*server, "GET", "/version");
  REQUIRE(v.status == 200);
  CHECK(v.Json()["major"] == "1");
  auto groups = Http(*server, "GET", "/apis").Json();
  REQUIRE(groups["kind"] == "APIGroupList");
  json rg;
  for (const auto& g : groups["groups"])
    if (g["name"] == "resource.k8s.io") rg = g;
  REQUIRE(rg.is_object());
  CHECK(rg["preferredVersion"]["groupVersion"] == "resource.k8s.io/v1");
  auto rl = Http(*server, "GET", "/apis/resource.k8s.io/v1").Json();
  CHECK(rl["groupVersion"] == "resource.k8s.io/v1");
  json slices = FindResource(rl, "resourceslices");
  REQUIRE(slices.is_object());
  CHECK(slices["namespaced"] == false);
  CHECK(slices["kind"] == "ResourceSlice");
  CHECK(slices["singularName"] == "resourceslice");
  json claims_status = FindResource(rl, "resourceclaims/status");
  REQUIRE(claims_status.is_object());
  CHECK(claims_status["verbs"] == json({"get", "patch", "update"}));
  auto core = Http(*server, "GET", "/api/v1").Json();
  CHECK(FindResource(core, "pods")["shortNames"] == json({"po"}));
  CHECK(Http(*server, "GET", "/api").Json()["versions"] == json({"v1"}));
  // Other versions and OpenAPI: quick 404 so clients fall back.
  CHECK(Http(*server, "GET", "/apis/resource.k8s.io/v1beta1/resourceslices").status == 404);
  CHECK(Http(*server, "GET", "/apis/resource.k8s.io/v1beta2").status == 404);
  CHECK(Http(*server, "GET", "/openapi/v2").status == 404);
  // OpenAPI v3: the PATCH operation of each kind names its GVK and accepts
  // fieldValidation, so kubectl leaves validation to the server.
  auto root = Http(*server, "GET", "/openapi/v3").Json();
  std::string url = root["paths"]["apis/resource.k8s.io/v1"]["serverRelativeURL"];
  auto doc = Http(*server, "GET", url).Json();
  json op = doc["paths"]["/apis/resource.k8s.io/v1/resourceslices/{name}"]["patch"];
  CHECK(op["x-kubernetes-group-version-kind"]["kind"] == "ResourceSlice");
  CHECK(op["parameters"][0]["name"] == "fieldValidation");
  CHECK(Http(*server, "GET", "/openapi/v3/apis/resource.k8s.io/v1beta1").status == 404);
  // No token: 401 (except /version).
  CHECK(Http(server->port(), "GET", kSlices, "", "").status == 401);
  CHECK(Http(server->port(), "GET", "/version", "", "").status == 200);
}

TEST_CASE("ApiServer HTTP: create, get, list with paging, update conflict, delete",
          "[apiserver][http]") {
  auto server = StartServer();
  for (int i = 0; i < 5; ++i) {
    auto r = Http(*server, "POST", kSlices, Slice("s" + std::to_string(i), "node-1").dump());
    REQUIRE(r.status == 201);
  }
  auto got = Http(*server, "GET", kSlices + "/s2");
  REQUIRE(got.status == 200);
  json s2 = got.Json();
  CHECK(s2["metadata"]["name"] == "s2");

  // Paging: limit + continue visits every item once.
  std::vector<std::string> names;
  std::string cont;
  int pages = 0;
  do {
    auto page =
        Http(*server, "GET", kSlices + "?limit=2" + (cont.empty() ? "" : "&continue=" + cont))
            .Json();
    REQUIRE(page["kind"] == "ResourceSliceList");
    for (const auto& it : page["items"]) names.push_back(it["metadata"]["name"]);
    cont = page["metadata"].value("continue", "");
    ++pages;
  } while (!cont.empty() && pages < 10);
  CHECK(pages == 3);
  CHECK(names == std::vector<std::string>{"s0", "s1", "s2", "s3", "s4"});

  json a = s2, b = s2;
  a["spec"]["pool"]["generation"] = 2;
  CHECK(Http(*server, "PUT", kSlices + "/s2", a.dump()).status == 200);
  b["spec"]["pool"]["generation"] = 3;
  auto conflict = Http(*server, "PUT", kSlices + "/s2", b.dump());
  CHECK(conflict.status == 409);
  CHECK(conflict.Json()["reason"] == "Conflict");
  CHECK(conflict.Json()["kind"] == "Status");

  // Name in the body must match the URL.
  CHECK(Http(*server, "PUT", kSlices + "/s3", a.dump()).status == 400);

  // Delete with a stale resourceVersion precondition: 409; with the uid: ok.
  json pre = {{"preconditions", {{"resourceVersion", s2["metadata"]["resourceVersion"]}}}};
  CHECK(Http(*server, "DELETE", kSlices + "/s2", pre.dump()).status == 409);
  json uidpre = {{"preconditions", {{"uid", s2["metadata"]["uid"]}}}};
  CHECK(Http(*server, "DELETE", kSlices + "/s2", uidpre.dump()).status == 200);
  auto missing = Http(*server, "GET", kSlices + "/s2");
  CHECK(missing.status == 404);
  CHECK(missing.Json()["message"] == "resourceslices.resource.k8s.io \"s2\" not found");

  // deletecollection with a field selector.
  REQUIRE(Http(*server, "POST", kSlices, Slice("other", "node-2").dump()).status == 201);
  auto dc = Http(*server, "DELETE", kSlices + "?fieldSelector=spec.nodeName%3Dnode-1");
  REQUIRE(dc.status == 200);
  CHECK(dc.Json()["items"].size() == 4);
  auto rest = Http(*server, "GET", kSlices).Json();
  REQUIRE(rest["items"].size() == 1);
  CHECK(rest["items"][0]["metadata"]["name"] == "other");
}

TEST_CASE("ApiServer HTTP: merge patch, JSON patch, strategic merge and status subresource",
          "[apiserver][http]") {
  auto server = StartServer();
  const std::string claims = "/apis/resource.k8s.io/v1/namespaces/default/resourceclaims";
  REQUIRE(Http(*server, "POST", claims, Claim("default", "c1").dump()).status == 201);
  auto merge = Http(*server, "PATCH", claims + "/c1",
                    R"({"metadata":{"labels":{"a":"1"}},"status":{"reservedFor":[]}})",
                    "application/merge-patch+json");
  REQUIRE(merge.status == 200);
  CHECK(merge.Json()["metadata"]["labels"]["a"] == "1");
  CHECK_FALSE(merge.Json().contains("status"));  // main endpoint ignores status

  auto jp = Http(*server, "PATCH", claims + "/c1",
                 R"([{"op":"add","path":"/metadata/labels/b","value":"2"}])",
                 "application/json-patch+json");
  REQUIRE(jp.status == 200);
  CHECK(jp.Json()["metadata"]["labels"]["b"] == "2");
  auto failed_test = Http(*server, "PATCH", claims + "/c1",
                          R"([{"op":"test","path":"/metadata/labels/b","value":"3"}])",
                          "application/json-patch+json");
  CHECK(failed_test.status == 422);

  auto smp = Http(*server, "PATCH", claims + "/c1",
                  R"({"$setElementOrder/finalizers":[],"metadata":{"labels":{"c":"3"}}})",
                  "application/strategic-merge-patch+json");
  REQUIRE(smp.status == 200);
  CHECK(smp.Json()["metadata"]["labels"]["c"] == "3");
  // Server-side apply is served (apply_test.cpp); without fieldManager it is invalid.
  CHECK(Http(*server, "PATCH", claims + "/c1", "{}", "application/apply-patch+yaml").status == 422);

  // Spec is immutable for claims.
  auto spec =
      Http(*server, "PATCH", claims + "/c1",
           R"({"spec":{"devices":{"requests":[{"name":"x","exactly":{"deviceClassName":"y"}}]}}})",
           "application/merge-patch+json");
  CHECK(spec.status == 422);

  // /status writes status, ignores spec and labels.
  // reservedFor without an allocation is refused by status validation.
  json consumer = {
      {"resource", "pods"}, {"name", "p"}, {"uid", "0b3f0a9e-1d7c-4d1e-9f3c-2b6a9f5e8d11"}};
  json status_patch = {{"metadata", {{"labels", {{"a", "changed"}}}}},
                       {"status", {{"reservedFor", json::array({consumer})}}}};
  auto unallocated = Http(*server, "PATCH", claims + "/c1/status", status_patch.dump(),
                          "application/merge-patch+json");
  CHECK(unallocated.status == 422);
  json result = {
      {"request", "gpu"}, {"driver", "gpu.example.com"}, {"pool", "node-1"}, {"device", "gpu-0"}};
  status_patch["status"]["allocation"]["devices"]["results"] = json::array({result});
  auto st = Http(*server, "PATCH", claims + "/c1/status", status_patch.dump(),
                 "application/merge-patch+json");
  INFO(st.body);
  REQUIRE(st.status == 200);
  CHECK(st.Json()["status"]["reservedFor"][0]["name"] == "p");
  CHECK(st.Json()["metadata"]["labels"]["a"] == "1");
  // Status endpoints exist only where Kubernetes has them.
  CHECK(Http(*server, "GET", kSlices + "/x/status").status == 404);
}

TEST_CASE("ApiServer HTTP: node-bound tokens may write only their own node's slices",
          "[apiserver][http][admission]") {
  auto server = StartServer();
  std::string tok = server->IssueNodeToken("node-1", "gpu.example.com");
  auto own = drahil::apiserver::testing::Http(server->port(), "POST", kSlices,
                                              Slice("mine", "node-1").dump(), tok);
  CHECK(own.status == 201);
  auto other_node = drahil::apiserver::testing::Http(server->port(), "POST", kSlices,
                                                     Slice("theirs", "node-2").dump(), tok);
  CHECK(other_node.status == 403);
  CHECK(other_node.Json()["reason"] == "Forbidden");
  CHECK(other_node.Json()["message"].get<std::string>().find("spec.nodeName \"node-1\"") !=
        std::string::npos);
  auto other_driver = drahil::apiserver::testing::Http(
      server->port(), "POST", kSlices, Slice("wrong-driver", "node-1", "fpga.example.com").dump(),
      tok);
  CHECK(other_driver.status == 403);
  // Not its own: the admin's slice on node-2 cannot be deleted by node-1.
  REQUIRE(Http(*server, "POST", kSlices, Slice("admin-made", "node-2").dump()).status == 201);
  CHECK(drahil::apiserver::testing::Http(server->port(), "DELETE", kSlices + "/admin-made", "", tok)
            .status == 403);
  // Reads are allowed; other kinds are not writable.
  CHECK(drahil::apiserver::testing::Http(server->port(), "GET", kSlices, "", tok).status == 200);
  json node = {{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", "node-1"}}}};
  CHECK(drahil::apiserver::testing::Http(server->port(), "POST", "/api/v1/nodes", node.dump(), tok)
            .status == 403);
}

TEST_CASE("ApiServer HTTP: adminAccess needs the namespace label", "[apiserver][http][admission]") {
  auto server = StartServer();
  auto mkns = [&](const std::string& name, const std::string& label) {
    json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}};
    if (!label.empty()) ns["metadata"]["labels"] = {{label, "true"}};
    REQUIRE(Http(*server, "POST", "/api/v1/namespaces", ns.dump()).status == 201);
  };
  mkns("plain", "");
  mkns("admin", "resource.kubernetes.io/admin-access");
  mkns("oldlabel", "resource.k8s.io/admin-access");
  auto path = [](const std::string& ns) {
    return "/apis/resource.k8s.io/v1/namespaces/" + ns + "/resourceclaims";
  };
  auto denied = Http(*server, "POST", path("plain"), Claim("plain", "c", true).dump());
  REQUIRE(denied.status == 422);
  json causes = denied.Json()["details"]["causes"];
  REQUIRE(causes.size() == 1);
  CHECK(causes[0]["field"] == "spec.devices.requests[0].exactly.adminAccess");
  CHECK(causes[0]["reason"] == "FieldValueForbidden");
  CHECK(Http(*server, "POST", path("admin"), Claim("admin", "c", true).dump()).status == 201);
  auto warned = Http(*server, "POST", path("oldlabel"), Claim("oldlabel", "c", true).dump());
  CHECK(warned.status == 201);
  CHECK(warned.headers["Warning"].find("resource.kubernetes.io/admin-access") != std::string::npos);
  // Objects in a missing namespace: 404 for the namespace.
  auto nons = Http(*server, "POST", path("nope"), Claim("nope", "c").dump());
  CHECK(nons.status == 404);
  CHECK(nons.Json()["message"] == "namespaces \"nope\" not found");
}

TEST_CASE("ApiServer HTTP: device taints get timeAdded from the server", "[apiserver][http]") {
  drahil::FakeClock clock;
  clock.Advance(std::chrono::hours(1));
  ApiServer::Options opts;
  opts.clock = &clock;
  // DeviceTaintRule is served only with its gate (off by default in 1.36).
  auto gates = drahil::FeatureGates::For(drahil::KubeVersion::Newest(), "DRADeviceTaintRules=true");
  REQUIRE_OK(gates);
  opts.gates = *gates;
  auto server = StartServer(opts);
  json s = Slice("tainted", "node-1");
  s["spec"]["devices"][0]["taints"] = {
      {{"key", "example.com/unhealthy"}, {"effect", "NoSchedule"}}};
  auto r = Http(*server, "POST", kSlices, s.dump());
  REQUIRE(r.status == 201);
  json t = r.Json()["spec"]["devices"][0]["taints"][0];
  CHECK(t.value("timeAdded", "") == "2026-01-01T01:00:00Z");
  json rule = {{"apiVersion", "resource.k8s.io/v1alpha3"},
               {"kind", "DeviceTaintRule"},
               {"metadata", {{"name", "r1"}}},
               {"spec",
                {{"deviceSelector", {{"driver", "gpu.example.com"}}},
                 {"taint", {{"key", "k"}, {"effect", "NoExecute"}}}}}};
  auto rr = Http(*server, "POST", "/apis/resource.k8s.io/v1alpha3/devicetaintrules", rule.dump());
  INFO(rr.body);
  REQUIRE(rr.status == 201);
  CHECK(rr.Json()["spec"]["taint"].value("timeAdded", "") == "2026-01-01T01:00:00Z");
}

TEST_CASE("ApiServer HTTP: bad input gets a clean 4xx and the server keeps serving",
          "[apiserver][http][robustness]") {
  ApiServer::Options opts;
  opts.read_timeout = std::chrono::milliseconds(500);
  auto server = StartServer(opts);

  auto invalid = Http(*server, "POST", kSlices, "{\"kind\": ");
  CHECK(invalid.status == 400);
  CHECK(invalid.Json()["kind"] == "Status");
  json pod = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", "p"}}}};
  auto wrong = Http(*server, "POST", kSlices, pod.dump());
  CHECK(wrong.status == 400);
  CHECK(wrong.Json()["message"].get<std::string>().find("does not match") != std::string::npos);
  CHECK(Http(*server, "POST", kSlices, "[1,2]").status == 400);
  CHECK(Http(*server, "POST", kSlices, "a: b", "application/yaml").status == 415);
  json bad_name = Slice("Not_A_Name", "node-1");
  auto inval = Http(*server, "POST", kSlices, bad_name.dump());
  CHECK(inval.status == 422);
  CHECK(inval.Json()["details"]["causes"][0]["field"] == "metadata.name");
  CHECK(Http(*server, "POST", kSlices + "/x", Slice("x", "node-1").dump()).status == 405);

  // Over 3 MiB: 413, read through so the client sees it.
  std::string big = Slice("big", "node-1").dump();
  big.insert(big.size() - 1, ",\"pad\":\"" + std::string(3u << 20, 'x') + "\"");
  auto large = Http(*server, "POST", kSlices, big);
  CHECK(large.status == 413);

  // Garbage on the wire: 400 and the connection closes.
  {
    namespace asio = boost::asio;
    asio::io_context ioc;
    asio::ip::tcp::socket sock(ioc);
    sock.connect({asio::ip::make_address("127.0.0.1"), server->port()});
    std::string junk = "THIS IS NOT HTTP\r\n\r\n";
    asio::write(sock, asio::buffer(junk));
    std::string reply;
    boost::system::error_code ec;
    char buf[512];
    for (;;) {
      size_t n = sock.read_some(asio::buffer(buf), ec);
      if (ec) break;
      reply.append(buf, n);
    }
    CHECK(reply.rfind("HTTP/1.1 400", 0) == 0);
  }

  // Slowloris: half a request line, then silence. The server closes it.
  {
    namespace asio = boost::asio;
    asio::io_context ioc;
    asio::ip::tcp::socket sock(ioc);
    sock.connect({asio::ip::make_address("127.0.0.1"), server->port()});
    std::string partial = "GET /api/v1/nodes HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    asio::write(sock, asio::buffer(partial));
    timeval tv{5, 0};
    setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    auto t0 = std::chrono::steady_clock::now();
    char buf[64];
    boost::system::error_code ec;
    size_t n = sock.read_some(asio::buffer(buf), ec);
    auto waited = std::chrono::steady_clock::now() - t0;
    CHECK(n == 0);
    CHECK(ec == asio::error::eof);
    CHECK(waited >= std::chrono::milliseconds(400));
    CHECK(waited < std::chrono::seconds(4));
  }

  // Still serving.
  CHECK(Http(*server, "POST", kSlices, Slice("after", "node-1").dump()).status == 201);
  CHECK(Http(*server, "GET", kSlices + "/after").status == 200);
}

// A client holding many idle connections (a driver flooding the server) is
// cut at the connection cap: new connections close at accept, and the server
// serves again once connections go.
TEST_CASE("ApiServer HTTP: connections past the cap close at accept, the server keeps serving",
          "[apiserver][http][robustness]") {
  namespace asio = boost::asio;
  ApiServer::Options opts;
  opts.max_connections = 8;
  auto server = StartServer(opts);
  asio::io_context ioc;
  std::vector<std::unique_ptr<asio::ip::tcp::socket>> idle;
  for (int i = 0; i < 8; ++i) {
    idle.push_back(std::make_unique<asio::ip::tcp::socket>(ioc));
    idle.back()->connect({asio::ip::make_address("127.0.0.1"), server->port()});
  }
  // The ninth is accepted and closed at once: EOF, no answer.
  asio::ip::tcp::socket extra(ioc);
  extra.connect({asio::ip::make_address("127.0.0.1"), server->port()});
  timeval tv{5, 0};
  setsockopt(extra.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string get = "GET /api/v1/nodes HTTP/1.1\r\nHost: x\r\n\r\n";
  boost::system::error_code ec;
  asio::write(extra, asio::buffer(get), ec);
  char buf[64];
  size_t n = extra.read_some(asio::buffer(buf), ec);
  CHECK(n == 0);
  CHECK((ec == asio::error::eof || ec == asio::error::connection_reset));
  // Two idle ones go; the server counts them out and serves again.
  idle.resize(6);
  CHECK(drahil::testing::WaitFor(std::chrono::seconds(5), [&] {
    try {
      return Http(*server, "GET", "/api/v1/nodes").status == 200;
    } catch (const std::exception&) {
      return false;
    }
  }));
}
