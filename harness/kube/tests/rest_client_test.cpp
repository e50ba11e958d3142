// REST client against an in-test Beast server over real loopback sockets,
// with real TLS (certificates minted per test run).
#include "drahil/kube/rest_client.hpp"

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>
#include <vector>

#include "drahil/core/clock.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/testing/testing.hpp"
#include "test_server.hpp"

using drahil::Code;
using drahil::kube::HttpCodeOf;
using drahil::kube::KubeConfig;
using drahil::kube::Object;
using drahil::kube::RestClient;
using drahil::kube::RestOptions;
using drahil::kube::testing::KeyCert;
using drahil::kube::testing::MakeCert;
using drahil::kube::testing::TestRequest;
using drahil::kube::testing::TestResponse;
using drahil::kube::testing::TestServer;
using namespace std::chrono_literals;

namespace {

RestOptions FastOptions() {
  RestOptions o;
  o.timeout = 2s;
  o.max_retries = 3;
  o.initial_backoff = 5ms;
  o.max_backoff = 20ms;
  return o;
}

std::unique_ptr<RestClient> Client(const std::string& url, const std::string& token = "tok",
                                   RestOptions options = FastOptions()) {
  KubeConfig cfg;
  cfg.server = url;
  cfg.token = token;
  auto c = RestClient::Create(cfg, options);
  REQUIRE_OK(c);
  return std::move(c).value();
}

std::string StatusBody(int code, const std::string& reason, const std::string& message) {
  return Object{{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"},
                {"code", code},     {"reason", reason},   {"message", message}}
      .dump();
}

std::string B64(const std::string& in) {
  static const char k[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) out += k[(acc >> (bits -= 6)) & 63];
  }
  if (bits > 0) out += k[(acc << (6 - bits)) & 63];
  while (out.size() % 4) out += '=';
  return out;
}

// WaitFor(): polls cond until it holds or the deadline passes.
bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds deadline = 5s) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return cond();
}

}  // namespace

TEST_CASE("KubeConfig: current-context, inline data, files and token files", "[kube][rest]") {
  auto dir = drahil::TempDir::Create("kube-cfg-");
  REQUIRE_OK(dir);
  std::ofstream(dir->Join("ca.crt")) << "CA-PEM";
  std::ofstream(dir->Join("token")) << "file-token\n";
  const std::string text = R"(apiVersion: v1
kind: Config
current-context: drahil
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: ca.crt
    tls-server-name: api.local
- name: other
  cluster:
    server: http://10.0.0.1:8080
    insecure-skip-tls-verify: true
contexts:
- name: drahil
  context: {cluster: local, user: driver, namespace: dra}
- name: plain
  context: {cluster: other, user: viaFile}
users:
- name: driver
  user:
    token: abc
    client-certificate-data: )" +
                           B64("CERT-PEM") + R"(
    client-key-data: )" + B64("KEY-PEM") +
                           R"(
- name: viaFile
  user: {tokenFile: token}
- name: execUser
  user: {exec: {command: aws}}
)";
  auto cfg = KubeConfig::Parse(text, dir->path());
  REQUIRE_OK(cfg);
  CHECK(cfg->context == "drahil");
  CHECK(cfg->server == "https://127.0.0.1:6443");
  CHECK(cfg->ca_pem == "CA-PEM");
  CHECK(cfg->tls_server_name == "api.local");
  CHECK(cfg->token == "abc");
  CHECK(cfg->client_cert_pem == "CERT-PEM");
  CHECK(cfg->client_key_pem == "KEY-PEM");
  CHECK(cfg->namespace_ == "dra");
  auto plain = KubeConfig::Parse(text, dir->path(), "plain");
  REQUIRE_OK(plain);
  CHECK(plain->server == "http://10.0.0.1:8080");
  CHECK(plain->insecure_skip_tls_verify);
  CHECK(plain->token == "file-token");
  CHECK(plain->namespace_ == "default");
  auto missing = KubeConfig::Parse(text, dir->path(), "nope");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message() == "kubeconfig: context \"nope\" not found");
  std::ofstream(dir->Join("config")) << text;
  auto loaded = KubeConfig::Load(dir->Join("config"));
  REQUIRE_OK(loaded);
  CHECK(loaded->ca_pem == "CA-PEM");
  auto bad = KubeConfig::Load(dir->Join("absent"));
  CHECK(bad.status().code() == Code::kNotFound);
  CHECK(KubeConfig::Parse(
            "current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
            "clusters: [{name: c, cluster: {server: 'http://h'}}]\nusers: [{name: u, user: {exec: "
            "{}}}]\n",
            "")
            .status()
            .code() == Code::kUnimplemented);
}

TEST_CASE("RestClient: paths, headers, verbs and bodies", "[kube][rest]") {
  TestServer server([](const TestRequest& r) {
    TestResponse resp;
    Object echo = {{"method", r.method}, {"target", r.target}};
    if (!r.body.empty()) echo["body"] = Object::parse(r.body);
    resp.body = echo.dump();
    return resp;
  });
  auto client = Client(server.Url());
  auto got = client->Get("resourceslices", "", "s1");
  REQUIRE_OK(got);
  CHECK((*got)["target"] == "/apis/resource.k8s.io/v1/resourceslices/s1");
  auto reqs = server.Requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].headers["authorization"] == "Bearer tok");
  CHECK(reqs[0].headers["accept"] == "application/json, */*");
  CHECK(reqs[0].headers["user-agent"] == "drahil/0.1");

  drahil::kube::ListOptions lo;
  lo.field_selector = "spec.driver=gpu.example.com,spec.nodeName=node1";
  lo.label_selector = "app in (a,b)";
  lo.limit = 10;
  lo.continue_token = "tok/1";
  auto list = client->List("resourceslices", "ignored-for-cluster-scope", lo);
  REQUIRE_OK(list);
  CHECK((*list)["target"] ==
        "/apis/resource.k8s.io/v1/resourceslices?labelSelector=app%20in%20%28a%2Cb%29"
        "&fieldSelector=spec.driver%3Dgpu.example.com%2Cspec.nodeName%3Dnode1&limit=10&continue="
        "tok%2F1");

  Object claim = {{"apiVersion", "resource.k8s.io/v1"},
                  {"kind", "ResourceClaim"},
                  {"metadata", {{"name", "c1"}, {"namespace", "ns1"}}},
                  {"future", {{"x", 1}}}};
  auto created = client->CreateObject(claim);
  REQUIRE_OK(created);
  CHECK((*created)["method"] == "POST");
  CHECK((*created)["target"] == "/apis/resource.k8s.io/v1/namespaces/ns1/resourceclaims");
  CHECK((*created)["body"] == claim);  // unknown fields travel unchanged
  auto updated = client->UpdateStatus(claim);
  REQUIRE_OK(updated);
  CHECK((*updated)["method"] == "PUT");
  CHECK((*updated)["target"] == "/apis/resource.k8s.io/v1/namespaces/ns1/resourceclaims/c1/status");
  Object pod = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", "p"}}}};
  auto pod_created = client->CreateObject(pod);  // namespace from the kubeconfig
  REQUIRE_OK(pod_created);
  CHECK((*pod_created)["target"] == "/api/v1/namespaces/default/pods");

  auto patched = client->Patch("nodes", "", "n1", drahil::kube::PatchType::kMerge,
                               {{"metadata", {{"labels", {{"a", "b"}}}}}});
  REQUIRE_OK(patched);
  CHECK((*patched)["method"] == "PATCH");
  CHECK(server.Requests().back().headers["content-type"] == "application/merge-patch+json");
  auto jpatched = client->Patch(
      "pods", "ns", "p", drahil::kube::PatchType::kJson,
      Object::parse(R"([{"op":"add","path":"/metadata/labels","value":{}}])"), "status");
  REQUIRE_OK(jpatched);
  CHECK((*jpatched)["target"] == "/api/v1/namespaces/ns/pods/p/status");
  CHECK(server.Requests().back().headers["content-type"] == "application/json-patch+json");

  drahil::kube::DeleteOptions del;
  del.precondition_uid = "uid-1";
  del.precondition_resource_version = "42";
  REQUIRE_OK(client->Delete("resourceslices", "", "s1", del));
  auto last = server.Requests().back();
  CHECK(last.method == "DELETE");
  CHECK(last.target == "/apis/resource.k8s.io/v1/resourceslices/s1");
  CHECK(Object::parse(last.body)["preconditions"] ==
        Object{{"uid", "uid-1"}, {"resourceVersion", "42"}});

  CHECK(RestClient::Path("widgets", "", "x").status().code() == Code::kInvalidArgument);
  CHECK(RestClient::Path("events", "ns", "e").value() == "/api/v1/namespaces/ns/events/e");
}

TEST_CASE("RestClient: errors carry the HTTP code and the server's Status message",
          "[kube][rest]") {
  TestServer server([](const TestRequest& r) {
    TestResponse resp;
    if (r.method == "GET") {
      resp.code = 404;
      resp.body = StatusBody(404, "NotFound", "resourceclaims.resource.k8s.io \"c\" not found");
    } else if (r.method == "POST") {
      resp.code = 409;
      resp.body = StatusBody(409, "AlreadyExists", "already exists");
    } else if (r.method == "PUT") {
      resp.code = 422;
      resp.body =
          StatusBody(422, "Invalid", "ResourceSlice \"s\" is invalid: spec.driver: Required value");
    } else {
      resp.code = 403;
      resp.content_type = "text/plain";
      resp.body = "go away";
    }
    return resp;
  });
  auto client = Client(server.Url());
  auto got = client->Get("resourceclaims", "ns", "c");
  REQUIRE_FALSE(got.ok());
  CHECK(got.status().code() == Code::kNotFound);
  CHECK(got.status().message() ==
        "GET /apis/resource.k8s.io/v1/namespaces/ns/resourceclaims/c: HTTP 404 NotFound: "
        "resourceclaims.resource.k8s.io \"c\" not found");
  CHECK(HttpCodeOf(got.status()) == 404);
  CHECK(HttpCodeOf(got.status().WithContext("prepare claim")) == 404);
  Object slice = {{"apiVersion", "resource.k8s.io/v1"},
                  {"kind", "ResourceSlice"},
                  {"metadata", {{"name", "s"}}}};
  auto created = client->CreateObject(slice);
  CHECK(created.status().code() == Code::kAlreadyExists);
  CHECK(HttpCodeOf(created.status()) == 409);
  auto updated = client->Update(slice);
  CHECK(updated.status().code() == Code::kInvalidArgument);
  CHECK(updated.status().message().find(
            "HTTP 422 Invalid: ResourceSlice \"s\" is invalid: spec.driver: Required value") !=
        std::string::npos);
  auto deleted = client->Delete("resourceslices", "", "s");
  CHECK(deleted.code() == Code::kPermissionDenied);
  CHECK(deleted.message() ==
        "DELETE /apis/resource.k8s.io/v1/resourceslices/s: HTTP 403 Forbidden: go away");
  CHECK(HttpCodeOf(drahil::UnavailableError("x")) == 0);
  // Errors are not retried.
  CHECK(server.RequestCount() == 4);
}

TEST_CASE("RestClient: 429 and 5xx are retried with backoff, the retry budget is bounded",
          "[kube][rest]") {
  std::atomic<int> calls{0};
  TestServer server([&](const TestRequest&) {
    TestResponse resp;
    int n = ++calls;
    if (n == 1) {
      resp.code = 429;
      resp.body = StatusBody(429, "TooManyRequests", "slow down");
    } else if (n == 2) {
      resp.code = 503;
    } else {
      resp.body = R"({"kind":"Node","metadata":{"name":"n1"}})";
    }
    return resp;
  });
  auto client = Client(server.Url());
  auto got = client->Get("nodes", "", "n1");
  REQUIRE_OK(got);
  CHECK(drahil::kube::Name(*got) == "n1");
  CHECK(calls == 3);

  TestServer down([](const TestRequest&) {
    TestResponse r;
    r.code = 503;
    r.body = StatusBody(503, "ServiceUnavailable", "etcd is sad");
    return r;
  });
  RestOptions o = FastOptions();
  o.max_retries = 2;
  auto c2 = Client(down.Url(), "tok", o);
  auto failed = c2->Get("nodes", "", "n1");
  CHECK(failed.status().code() == Code::kUnavailable);
  CHECK(HttpCodeOf(failed.status()) == 503);
  CHECK(down.RequestCount() == 3);
  // A 500 on a POST may have done its work: it is not repeated.
  TestServer broken([](const TestRequest&) {
    TestResponse r;
    r.code = 500;
    return r;
  });
  auto c3 = Client(broken.Url());
  Object node = {{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", "n"}}}};
  CHECK(c3->CreateObject(node).status().code() == Code::kUnavailable);
  CHECK(broken.RequestCount() == 1);
}

TEST_CASE("RestClient: backoff doubles up to max_backoff and honours Retry-After", "[kube][rest]") {
  // The waits go to a FakeClock that advances itself: no real time passes
  // and every wait is on record.
  drahil::FakeClock clock;
  clock.set_auto_advance(true);
  std::atomic<int> calls{0};
  TestServer server([&](const TestRequest&) {
    TestResponse resp;
    int n = ++calls;
    if (n <= 3) {
      resp.code = 503;
    } else if (n == 4) {
      resp.code = 429;
      resp.headers["Retry-After"] = "1";
    } else {
      resp.body = R"({"kind":"Node","metadata":{"name":"n1"}})";
    }
    return resp;
  });
  RestOptions o = FastOptions();
  o.max_retries = 4;
  o.clock = &clock;
  auto client = Client(server.Url(), "tok", o);
  auto t0 = clock.Now();
  REQUIRE_OK(client->Get("nodes", "", "n1"));
  CHECK(calls == 5);
  // 5, 10, 20 (doubling), then Retry-After's 1 s capped at max_backoff 20 ms.
  CHECK(clock.Sleeps() == std::vector<drahil::Clock::Duration>{5ms, 10ms, 20ms, 20ms});
  CHECK(clock.Now() - t0 == 55ms);

  // The retry budget ends the waits: max_retries waits, none after the last try.
  drahil::FakeClock clock2;
  clock2.set_auto_advance(true);
  TestServer down([](const TestRequest&) {
    TestResponse r;
    r.code = 503;
    return r;
  });
  o.max_retries = 2;
  o.clock = &clock2;
  auto c2 = Client(down.Url(), "tok", o);
  CHECK(c2->Get("nodes", "", "n1").status().code() == Code::kUnavailable);
  CHECK(down.RequestCount() == 3);
  CHECK(clock2.Sleeps() == std::vector<drahil::Clock::Duration>{5ms, 10ms});
}

TEST_CASE("RestClient: UpdateWithRetry re-reads after a 409 conflict", "[kube][rest]") {
  std::mutex mu;
  Object stored = {{"apiVersion", "resource.k8s.io/v1"},
                   {"kind", "ResourceClaim"},
                   {"metadata", {{"name", "c"}, {"namespace", "ns"}, {"resourceVersion", "1"}}},
                   {"status", Object::object()}};
  int conflicts_left = 1;
  TestServer server([&](const TestRequest& r) {
    std::lock_guard<std::mutex> lock(mu);
    TestResponse resp;
    if (r.method == "GET") {
      resp.body = stored.dump();
      return resp;
    }
    Object in = Object::parse(r.body);
    if (conflicts_left > 0) {
      // Someone else wrote in between: bump the version and refuse.
      --conflicts_left;
      stored["metadata"]["resourceVersion"] = "2";
    }
    if (drahil::kube::ResourceVersion(in) != drahil::kube::ResourceVersion(stored)) {
      resp.code = 409;
      resp.body = StatusBody(409, "Conflict",
                             "the object has been modified; please apply your changes to the "
                             "latest version and try again");
      return resp;
    }
    in["metadata"]["resourceVersion"] =
        std::to_string(std::stoi(drahil::kube::ResourceVersion(stored)) + 1);
    stored = in;
    resp.body = stored.dump();
    return resp;
  });
  drahil::FakeClock clock;
  clock.set_auto_advance(true);
  RestOptions o = FastOptions();
  o.clock = &clock;
  auto client = Client(server.Url(), "tok", o);
  int mutations = 0;
  auto r = client->UpdateWithRetry(
      "resourceclaims", "ns", "c",
      [&](Object& obj) {
        ++mutations;
        obj["status"]["devices"] = Object::array({{{"driver", "gpu.example.com"}}});
        return drahil::OkStatus();
      },
      true);
  REQUIRE_OK(r);
  CHECK(mutations == 2);
  CHECK(clock.Sleeps() == std::vector<drahil::Clock::Duration>{5ms});  // one backoff
  CHECK(drahil::kube::ResourceVersion(*r) == "3");
  CHECK(server.Requests()[1].target ==
        "/apis/resource.k8s.io/v1/namespaces/ns/resourceclaims/c/status");
  // A plain Update does not retry a conflict.
  Object stale = stored;
  stale["metadata"]["resourceVersion"] = "1";
  auto conflict = client->Update(stale);
  CHECK(conflict.status().code() == Code::kAborted);
  CHECK(HttpCodeOf(conflict.status()) == 409);
  // mutate may abort.
  auto aborted = client->UpdateWithRetry(
      "resourceclaims", "ns", "c", [](Object&) { return drahil::FailedPreconditionError("no"); });
  CHECK(aborted.status().code() == Code::kFailedPrecondition);
}

TEST_CASE("RestClient: a silent server times out, a closed port is unavailable", "[kube][rest]") {
  TestServer server([](const TestRequest&) {
    TestResponse r;
    r.hang = true;
    return r;
  });
  RestOptions o = FastOptions();
  o.timeout = 300ms;
  o.max_retries = 0;
  auto client = Client(server.Url(), "tok", o);
  auto start = std::chrono::steady_clock::now();
  auto got = client->Get("nodes", "", "n1");
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(got.status().code() == Code::kDeadlineExceeded);
  CHECK(took < 3s);
  int port;
  {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  auto closed = Client("http://127.0.0.1:" + std::to_string(port));
  auto r = closed->Get("nodes", "", "n1");
  CHECK(r.status().code() == Code::kUnavailable);
  CHECK(r.status().message().find("GET /api/v1/nodes/n1") != std::string::npos);
}

TEST_CASE("RestClient: ListAll follows continue tokens", "[kube][rest]") {
  TestServer server([](const TestRequest& r) {
    TestResponse resp;
    Object list = {
        {"kind", "NodeList"}, {"apiVersion", "v1"}, {"metadata", {{"resourceVersion", "7"}}}};
    bool second = r.target.find("continue=page2") != std::string::npos;
    list["items"] =
        second
            ? Object::array({{{"metadata", {{"name", "n3"}}}}})
            : Object::array({{{"metadata", {{"name", "n1"}}}}, {{"metadata", {{"name", "n2"}}}}});
    if (!second) list["metadata"]["continue"] = "page2";
    resp.body = list.dump();
    return resp;
  });
  auto client = Client(server.Url());
  drahil::kube::ListOptions lo;
  lo.limit = 2;
  auto all = client->ListAll("nodes", "", lo);
  REQUIRE_OK(all);
  REQUIRE((*all)["items"].size() == 3);
  CHECK(drahil::kube::Name((*all)["items"][2]) == "n3");
  CHECK_FALSE((*all)["metadata"].contains("continue"));
  CHECK(server.RequestCount() == 2);
}

TEST_CASE("RestClient: Watch streams chunked newline-delimited events", "[kube][rest]") {
  const std::string e1 =
      R"({"type":"ADDED","object":{"kind":"ResourceSlice","metadata":{"name":"a","resourceVersion":"6"}}})";
  const std::string e2 =
      R"({"type":"MODIFIED","object":{"kind":"ResourceSlice","metadata":{"name":"a","resourceVersion":"7"}}})";
  const std::string e3 =
      R"({"type":"BOOKMARK","object":{"kind":"ResourceSlice","metadata":{"resourceVersion":"8","annotations":{"k8s.io/initial-events-end":"true"}}}})";
  TestServer server([&](const TestRequest&) {
    TestResponse r;
    // Event boundaries do not line up with chunk boundaries.
    std::string all = e1 + "\n" + e2 + "\n" + e3 + "\n";
    r.chunks = {all.substr(0, 10), all.substr(10, e1.size()), all.substr(10 + e1.size())};
    return r;
  });
  auto client = Client(server.Url());
  drahil::kube::WatchOptions wo;
  wo.resource_version = "5";
  wo.send_initial_events = true;
  wo.timeout_seconds = 30;
  wo.field_selector = "spec.nodeName=node1";
  std::vector<drahil::kube::WatchEvent> events;
  auto st = client->Watch("resourceslices", "", wo, [&](const drahil::kube::WatchEvent& ev) {
    events.push_back(ev);
    return true;
  });
  REQUIRE_OK(st);
  REQUIRE(events.size() == 3);
  CHECK(events[0].type == "ADDED");
  CHECK(events[1].type == "MODIFIED");
  CHECK(drahil::kube::ResourceVersion(events[1].object) == "7");
  CHECK(events[2].type == "BOOKMARK");
  CHECK(drahil::kube::Annotations(events[2].object).at("k8s.io/initial-events-end") == "true");
  CHECK(server.Requests()[0].target ==
        "/apis/resource.k8s.io/v1/"
        "resourceslices?watch=true&resourceVersion=5&allowWatchBookmarks=true"
        "&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&fieldSelector=spec.nodeName%"
        "3Dnode1"
        "&timeoutSeconds=30");
}

TEST_CASE("RestClient: Watch stops on callback, on stop request and at its deadline",
          "[kube][rest]") {
  TestServer server([](const TestRequest&) {
    TestResponse r;
    r.chunks = {R"({"type":"ADDED","object":{"metadata":{"name":"a"}}})"
                "\n"
                R"({"type":"ADDED","object":{"metadata":{"name":"b"}}})"
                "\n"};
    r.hang = true;  // then silence, connection open
    return r;
  });
  auto client = Client(server.Url());
  drahil::kube::WatchOptions wo;
  int seen = 0;
  auto start = std::chrono::steady_clock::now();
  REQUIRE_OK(
      client->Watch("pods", "ns", wo, [&](const drahil::kube::WatchEvent&) { return ++seen < 1; }));
  CHECK(seen == 1);
  CHECK(std::chrono::steady_clock::now() - start < 2s);

  std::atomic<int> count{0};
  drahil::Status result = drahil::InternalError("not finished");
  std::atomic<bool> finished{false};
  std::stop_source stop;
  std::thread watcher([&] {
    result = client->Watch(
        "pods", "ns", wo,
        [&](const drahil::kube::WatchEvent&) {
          ++count;
          return true;
        },
        stop.get_token());
    finished = true;
  });
  REQUIRE(WaitFor([&] { return count == 2; }));
  CHECK_FALSE(finished);
  stop.request_stop();
  CHECK(WaitFor([&] { return finished.load(); }));
  watcher.join();
  CHECK_OK(result);

  wo.deadline = 300ms;
  start = std::chrono::steady_clock::now();
  REQUIRE_OK(client->Watch("pods", "ns", wo, [](const drahil::kube::WatchEvent&) { return true; }));
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(took >= 250ms);
  CHECK(took < 3s);

  wo.deadline = 10s;
  wo.idle_timeout = 200ms;
  auto idle = client->Watch("pods", "ns", wo, [](const drahil::kube::WatchEvent&) { return true; });
  CHECK(idle.code() == Code::kDeadlineExceeded);
}

TEST_CASE("RestClient: Watch errors: ERROR events and HTTP failures", "[kube][rest]") {
  TestServer server([](const TestRequest& r) {
    TestResponse resp;
    if (r.target.find("/pods") != std::string::npos) {
      resp.chunks = {
          R"J({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old resource version: 1 (5)"}})J"
          "\n"};
    } else if (r.target.find("/nodes") != std::string::npos) {
      resp.code = 403;
      resp.body = StatusBody(403, "Forbidden", "nodes is forbidden");
    } else {
      resp.chunks = {"this is not json\n"};
    }
    return resp;
  });
  auto client = Client(server.Url());
  drahil::kube::WatchOptions wo;
  std::vector<std::string> types;
  auto st = client->Watch("pods", "ns", wo, [&](const drahil::kube::WatchEvent& ev) {
    types.push_back(ev.type);
    return true;
  });
  CHECK(types == std::vector<std::string>{"ERROR"});
  CHECK(st.code() == Code::kOutOfRange);
  CHECK(HttpCodeOf(st) == 410);
  CHECK(st.message().find("too old resource version") != std::string::npos);
  auto forbidden =
      client->Watch("nodes", "", wo, [](const drahil::kube::WatchEvent&) { return true; });
  INFO(forbidden.ToString());
  CHECK(forbidden.code() == Code::kPermissionDenied);
  CHECK(forbidden.message().find("HTTP 403 Forbidden: nodes is forbidden") != std::string::npos);
  auto garbage =
      client->Watch("namespaces", "", wo, [](const drahil::kube::WatchEvent&) { return true; });
  CHECK(garbage.code() == Code::kInternal);
  CHECK(garbage.message().find("malformed watch event") != std::string::npos);
}

TEST_CASE("RestClient: HTTPS with a CA, client certificates and host checks", "[kube][rest][tls]") {
  KeyCert ca = MakeCert("drahil-test-ca", nullptr, true, "");
  KeyCert srv = MakeCert("apiserver", &ca, false, "IP:127.0.0.1,DNS:localhost");
  KeyCert cli = MakeCert("system:node:node1", &ca, false, "");
  TestServer::Tls tls{srv, ca.cert_pem};
  TestServer server(
      [](const TestRequest& r) {
        TestResponse resp;
        resp.body = Object{{"kind", "Node"}, {"metadata", {{"name", r.peer_cn}}}}.dump();
        return resp;
      },
      &tls);
  KubeConfig cfg;
  cfg.server = server.Url();
  cfg.ca_pem = ca.cert_pem;
  cfg.client_cert_pem = cli.cert_pem;
  cfg.client_key_pem = cli.key_pem;
  auto client = RestClient::Create(cfg, FastOptions());
  REQUIRE_OK(client);
  auto got = (*client)->Get("nodes", "", "node1");
  REQUIRE_OK(got);
  CHECK(drahil::kube::Name(*got) == "system:node:node1");  // the server saw our client certificate

  // Name checked against the certificate: "localhost" is in the SANs, "other" is not.
  cfg.tls_server_name = "localhost";
  REQUIRE_OK((*RestClient::Create(cfg, FastOptions()))->Get("nodes", "", "n"));
  cfg.tls_server_name = "other.example";
  auto wrong_name = (*RestClient::Create(cfg, FastOptions()))->Get("nodes", "", "n");
  CHECK(wrong_name.status().code() == Code::kUnavailable);
  cfg.tls_server_name.clear();

  // A CA that did not sign the server certificate is refused.
  KeyCert other_ca = MakeCert("other-ca", nullptr, true, "");
  cfg.ca_pem = other_ca.cert_pem;
  auto untrusted = (*RestClient::Create(cfg, FastOptions()))->Get("nodes", "", "n");
  CHECK(untrusted.status().code() == Code::kUnavailable);
  INFO(untrusted.status().message());
  CHECK(untrusted.status().message().find("TLS") != std::string::npos);
  cfg.insecure_skip_tls_verify = true;
  REQUIRE_OK((*RestClient::Create(cfg, FastOptions()))->Get("nodes", "", "n"));
  cfg.insecure_skip_tls_verify = false;

  // Without a client certificate this server refuses the handshake.
  cfg.ca_pem = ca.cert_pem;
  cfg.client_cert_pem.clear();
  cfg.client_key_pem.clear();
  RestOptions o = FastOptions();
  o.max_retries = 0;
  auto anonymous = (*RestClient::Create(cfg, o))->Get("nodes", "", "n");
  CHECK_FALSE(anonymous.ok());

  // Bad PEM fails at Create().
  cfg.ca_pem = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
  CHECK(RestClient::Create(cfg).status().code() == Code::kInvalidArgument);
  cfg.server = "ftp://x";
  CHECK(RestClient::Create(cfg).status().code() == Code::kInvalidArgument);
  cfg.server = "https://127.0.0.1:99999";
  CHECK(RestClient::Create(cfg).status().code() == Code::kInvalidArgument);
  cfg.server = "https://[::1";
  CHECK(RestClient::Create(cfg).status().code() == Code::kInvalidArgument);
}

TEST_CASE("RestClient: Watch over HTTPS", "[kube][rest][tls]") {
  KeyCert ca = MakeCert("ca", nullptr, true, "");
  KeyCert srv = MakeCert("apiserver", &ca, false, "IP:127.0.0.1");
  TestServer::Tls tls{srv, ""};
  TestServer server(
      [](const TestRequest&) {
        TestResponse r;
        r.chunks = {R"({"type":"ADDED","object":{"metadata":{"name":"a"}}})"
                    "\n"};
        return r;
      },
      &tls);
  KubeConfig cfg;
  cfg.server = server.Url();
  cfg.ca_pem = ca.cert_pem;
  auto client = RestClient::Create(cfg, FastOptions());
  REQUIRE_OK(client);
  int n = 0;
  REQUIRE_OK((*client)->Watch("nodes", "", {}, [&](const drahil::kube::WatchEvent& ev) {
    n += ev.type == "ADDED";
    return true;
  }));
  CHECK(n == 1);
}
