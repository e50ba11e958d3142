// The REST client against drahil's embedded API server (harness/apiserver)
// over HTTPS with the kubeconfig it writes: the path the reference driver
// takes.
#include <atomic>
#include <thread>

#include "drahil/apiserver/apiserver.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/kube/rest_client.hpp"
#include "drahil/kube/validation.hpp"
#include "drahil/testing/testing.hpp"

using drahil::Code;
using drahil::kube::Object;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  std::unique_ptr<drahil::apiserver::ApiServer> server;
  std::unique_ptr<drahil::kube::RestClient> client;
  std::optional<drahil::TempDir> dir;

  explicit Fixture(const std::string& token = "") {
    drahil::apiserver::ApiServer::Options opts;
    opts.bookmark_interval = 200ms;
    auto s = drahil::apiserver::ApiServer::Start(opts);
    REQUIRE_OK(s);
    server = std::move(s).value();
    auto d = drahil::TempDir::Create("kube-interop-");
    REQUIRE_OK(d);
    dir.emplace(std::move(d).value());
    REQUIRE_OK(server->WriteKubeconfig(dir->Join("kubeconfig"), token));
    auto cfg = drahil::kube::KubeConfig::Load(dir->Join("kubeconfig"));
    REQUIRE_OK(cfg);
    REQUIRE(cfg->server.rfind("https://", 0) == 0);
    drahil::kube::RestOptions ro;
    ro.timeout = 5s;
    ro.initial_backoff = 5ms;
    ro.max_backoff = 50ms;
    auto c = drahil::kube::RestClient::Create(*cfg, ro);
    REQUIRE_OK(c);
    client = std::move(c).value();
  }
};

Object Slice(const std::string& node, int devices) {
  Object s = {{"apiVersion", "resource.k8s.io/v1"},
              {"kind", "ResourceSlice"},
              {"metadata", {{"generateName", "00000-gpu.example.com-" + node + "-"}}},
              {"spec",
               {{"driver", "gpu.example.com"},
                {"nodeName", node},
                {"pool", {{"name", node}, {"generation", 1}, {"resourceSliceCount", 1}}},
                {"devices", Object::array()},
                {"futureField", {{"kept", true}}}}}};
  for (int i = 0; i < devices; ++i) {
    s["spec"]["devices"].push_back(
        {{"name", "gpu-" + std::to_string(i)}, {"attributes", {{"index", {{"int", i}}}}}});
  }
  return s;
}

}  // namespace

TEST_CASE("Interop: REST client against drahil apiserver: CRUD, conflicts, validation",
          "[kube][interop]") {
  Fixture f;
  auto created = f.client->CreateObject(Slice("node1", 2));
  REQUIRE_OK(created);
  std::string name = drahil::kube::Name(*created);
  CHECK(name.rfind("00000-gpu.example.com-node1-", 0) == 0);
  CHECK(name.size() == std::string("00000-gpu.example.com-node1-").size() + 5);
  CHECK_FALSE(drahil::kube::Uid(*created).empty());
  CHECK_FALSE(drahil::kube::ResourceVersion(*created).empty());

  auto got = f.client->Get("resourceslices", "", name);
  REQUIRE_OK(got);
  CHECK((*got)["spec"]["devices"].size() == 2);

  REQUIRE_OK(f.client->CreateObject(Slice("node2", 1)));
  drahil::kube::ListOptions lo;
  lo.field_selector = "spec.driver=gpu.example.com,spec.nodeName=node1";
  auto list = f.client->List("resourceslices", "", lo);
  REQUIRE_OK(list);
  REQUIRE((*list)["items"].size() == 1);
  CHECK(drahil::kube::Name((*list)["items"][0]) == name);

  // Optimistic concurrency: a stale resourceVersion is a 409.
  Object stale = *got;
  Object fresh = *got;
  fresh["spec"]["pool"]["generation"] = 2;
  REQUIRE_OK(f.client->Update(fresh));
  stale["spec"]["pool"]["generation"] = 3;
  auto conflict = f.client->Update(stale);
  CHECK(conflict.status().code() == Code::kAborted);
  CHECK(drahil::kube::HttpCodeOf(conflict.status()) == 409);
  auto retried = f.client->UpdateWithRetry("resourceslices", "", name, [](Object& o) {
    o["spec"]["pool"]["generation"] = 3;
    return drahil::OkStatus();
  });
  REQUIRE_OK(retried);
  CHECK((*retried)["spec"]["pool"]["generation"] == 3);

  auto patched = f.client->Patch("resourceslices", "", name, drahil::kube::PatchType::kMerge,
                                 {{"metadata", {{"labels", {{"team", "a"}}}}}});
  REQUIRE_OK(patched);
  CHECK(drahil::kube::Labels(*patched).at("team") == "a");

  // The server validates with drahil::kube: the same text comes back in the 422.
  auto invalid = f.client->CreateObject(Slice("node3", 129));
  CHECK(invalid.status().code() == Code::kInvalidArgument);
  CHECK(drahil::kube::HttpCodeOf(invalid.status()) == 422);
  INFO(invalid.status().message());
  CHECK(invalid.status().message().find(
            "spec.devices: Too many: 129: must have at most 128 items") != std::string::npos);

  drahil::kube::DeleteOptions del;
  del.precondition_uid = "not-the-uid";
  auto wrong = f.client->Delete("resourceslices", "", name, del);
  CHECK(wrong.code() == Code::kAborted);
  del.precondition_uid = drahil::kube::Uid(*created);
  REQUIRE_OK(f.client->Delete("resourceslices", "", name, del));
  CHECK(f.client->Get("resourceslices", "", name).status().code() == Code::kNotFound);
  del.ignore_not_found = true;
  CHECK_OK(f.client->Delete("resourceslices", "", name, del));
}

TEST_CASE("Interop: watch-list then live events from drahil apiserver", "[kube][interop]") {
  Fixture f;
  for (int i = 0; i < 3; ++i)
    REQUIRE_OK(f.client->CreateObject(Slice("node" + std::to_string(i), 1)));
  drahil::kube::WatchOptions wo;
  wo.send_initial_events = true;
  wo.deadline = 10s;
  std::vector<std::string> types;
  std::string end_rv;
  REQUIRE_OK(f.client->Watch("resourceslices", "", wo, [&](const drahil::kube::WatchEvent& ev) {
    types.push_back(ev.type);
    if (ev.type == "BOOKMARK" &&
        drahil::kube::Annotations(ev.object).count("k8s.io/initial-events-end") != 0) {
      end_rv = drahil::kube::ResourceVersion(ev.object);
      return false;
    }
    return true;
  }));
  REQUIRE(types.size() == 4);
  CHECK(types[0] == "ADDED");
  CHECK(types[2] == "ADDED");
  CHECK_FALSE(end_rv.empty());

  // Now watch from that version in the background and make a change.
  std::atomic<int> modified{0};
  std::stop_source stop;
  drahil::Status result = drahil::InternalError("watch did not end");
  drahil::kube::WatchOptions live;
  live.resource_version = end_rv;
  live.deadline = 20s;
  std::thread watcher([&] {
    result = f.client->Watch(
        "resourceslices", "", live,
        [&](const drahil::kube::WatchEvent& ev) {
          if (ev.type == "MODIFIED") ++modified;
          return true;
        },
        stop.get_token());
  });
  auto all = f.client->List("resourceslices", "");
  REQUIRE_OK(all);
  std::string name = drahil::kube::Name((*all)["items"][0]);
  REQUIRE_OK(f.client->UpdateWithRetry("resourceslices", "", name, [](Object& o) {
    o["spec"]["pool"]["generation"] = 5;
    return drahil::OkStatus();
  }));
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (modified == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  stop.request_stop();
  watcher.join();
  CHECK(modified == 1);
  CHECK_OK(result);
}

TEST_CASE("Interop: retries ride out injected 503s, node tokens are restricted",
          "[kube][interop]") {
  Fixture admin;
  drahil::apiserver::FaultRule rule;
  rule.verb = "get";
  rule.path_regex = "/api/v1/namespaces/default$";
  rule.code = 503;
  rule.times = 2;
  auto fault = admin.server->InjectFault(rule);
  auto ns = admin.client->Get("namespaces", "", "default");
  REQUIRE_OK(ns);
  CHECK(fault.Hits() == 2);

  std::string token = admin.server->IssueNodeToken("node1", "gpu.example.com");
  REQUIRE_OK(admin.server->WriteKubeconfig(admin.dir->Join("node1"), token));
  auto cfg = drahil::kube::KubeConfig::Load(admin.dir->Join("node1"));
  REQUIRE_OK(cfg);
  auto node_client = drahil::kube::RestClient::Create(*cfg);
  REQUIRE_OK(node_client);
  REQUIRE_OK((*node_client)->CreateObject(Slice("node1", 1)));
  auto foreign = (*node_client)->CreateObject(Slice("node2", 1));
  CHECK(foreign.status().code() == Code::kPermissionDenied);
  CHECK(drahil::kube::HttpCodeOf(foreign.status()) == 403);
}
