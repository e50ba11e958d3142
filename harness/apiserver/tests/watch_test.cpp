// Watches over real HTTP: ordering under load with concurrent watchers,
// bookmarks, the watch-list protocol, resuming, expiry and timeouts.
#include <atomic>
#include <future>
#include <set>
#include <thread>

#include "drahil/apiserver/apiserver.hpp"
#include "drahil/testing/testing.hpp"
#include "test_client.hpp"

using drahil::apiserver::ApiServer;
using drahil::apiserver::testing::Http;
using drahil::apiserver::testing::Slice;
using drahil::apiserver::testing::WatchStream;
using nlohmann::json;

namespace {

const std::string kSlices = "/apis/resource.k8s.io/v1/resourceslices";

std::unique_ptr<ApiServer> StartServer(ApiServer::Options opts = {}) {
  auto s = ApiServer::Start(std::move(opts));
  REQUIRE_OK(s);
  return std::move(*s);
}

uint64_t Rv(const json& obj) {
  return std::stoull(obj["metadata"]["resourceVersion"].get<std::string>());
}

struct WatchLog {
  std::vector<int64_t> generations;  // pool.generation of each MODIFIED, in arrival order
  std::vector<uint64_t> rvs;         // resourceVersion of each MODIFIED
  int bookmarks = 0;
  bool bookmark_order_ok = true;  // a bookmark never precedes an event already sent
  std::string error;
};

}  // namespace

TEST_CASE(
    "ApiServer watch: 1,000 slice updates reach 3 concurrent watchers in order, with "
    "bookmarks",
    "[apiserver][watch]") {
  ApiServer::Options opts;
  opts.bookmark_interval = std::chrono::milliseconds(20);
  auto server = StartServer(opts);
  auto created = Http(*server, "POST", kSlices, Slice("hot", "node-1").dump());
  REQUIRE(created.status == 201);
  json slice = created.Json();
  const std::string from = slice["metadata"]["resourceVersion"];
  constexpr int kUpdates = 1000;

  std::vector<std::future<WatchLog>> watchers;
  std::atomic<int> ready{0};
  for (int w = 0; w < 3; ++w) {
    watchers.push_back(std::async(std::launch::async, [&, w] {
      WatchLog log;
      WatchStream ws(server->port(),
                     kSlices + "?watch=true&allowWatchBookmarks=true&resourceVersion=" + from +
                         "&fieldSelector=metadata.name%3Dhot",
                     server->admin_token());
      ++ready;
      if (ws.status() != 200) {
        log.error = "watcher " + std::to_string(w) + ": status " + std::to_string(ws.status());
        return log;
      }
      uint64_t last_rv = 0;
      while (static_cast<int>(log.generations.size()) < kUpdates) {
        auto ev = ws.Next(std::chrono::seconds(20));
        if (!ev) {
          log.error = "watcher " + std::to_string(w) + ": stream stalled after " +
                      std::to_string(log.generations.size()) + " events";
          break;
        }
        if ((*ev)["type"] == "BOOKMARK") {
          ++log.bookmarks;
          if (Rv((*ev)["object"]) < last_rv) log.bookmark_order_ok = false;
          last_rv = std::max(last_rv, Rv((*ev)["object"]));
          continue;
        }
        if ((*ev)["type"] != "MODIFIED") {
          log.error = "unexpected event " + ev->dump();
          break;
        }
        uint64_t rv = Rv((*ev)["object"]);
        if (rv <= last_rv) log.bookmark_order_ok = false;
        last_rv = rv;
        log.rvs.push_back(rv);
        log.generations.push_back((*ev)["object"]["spec"]["pool"]["generation"].get<int64_t>());
      }
      // Let at least one bookmark arrive after the burst.
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (log.bookmarks == 0 && std::chrono::steady_clock::now() < deadline) {
        auto ev = ws.Next(std::chrono::milliseconds(500));
        if (ev && (*ev)["type"] == "BOOKMARK") ++log.bookmarks;
      }
      return log;
    }));
  }
  while (ready < 3) std::this_thread::sleep_for(std::chrono::milliseconds(5));

  for (int i = 1; i <= kUpdates; ++i) {
    slice["spec"]["pool"]["generation"] = i + 1;
    auto r = Http(*server, "PUT", kSlices + "/hot", slice.dump());
    REQUIRE(r.status == 200);
    slice = r.Json();
  }
  for (auto& f : watchers) {
    WatchLog log = f.get();
    INFO(log.error);
    REQUIRE(log.error.empty());
    REQUIRE(log.generations.size() == kUpdates);
    for (int i = 0; i < kUpdates; ++i) REQUIRE(log.generations[i] == i + 2);
    CHECK(std::is_sorted(log.rvs.begin(), log.rvs.end()));
    CHECK(log.bookmarks >= 1);
    CHECK(log.bookmark_order_ok);
  }
}

TEST_CASE("ApiServer watch: watch-list sends the initial objects, then the end bookmark",
          "[apiserver][watch]") {
  auto server = StartServer();
  for (int i = 0; i < 5; ++i) {
    REQUIRE(
        Http(*server, "POST", kSlices, Slice("s" + std::to_string(i), "node-1").dump()).status ==
        201);
  }
  WatchStream ws(server->port(),
                 kSlices +
                     "?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
                     "&allowWatchBookmarks=true&timeoutSeconds=30",
                 server->admin_token());
  REQUIRE(ws.status() == 200);
  std::set<std::string> names;
  for (int i = 0; i < 5; ++i) {
    auto ev = ws.Next();
    REQUIRE(ev);
    CHECK((*ev)["type"] == "ADDED");
    names.insert((*ev)["object"]["metadata"]["name"].get<std::string>());
  }
  CHECK(names.size() == 5);
  auto end = ws.Next();
  REQUIRE(end);
  CHECK((*end)["type"] == "BOOKMARK");
  CHECK((*end)["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"] == "true");
  CHECK(Rv((*end)["object"]) == server->ResourceVersion());
  // Live events follow.
  REQUIRE(Http(*server, "POST", kSlices, Slice("late", "node-1").dump()).status == 201);
  auto late = ws.Next();
  REQUIRE(late);
  CHECK((*late)["type"] == "ADDED");
  CHECK((*late)["object"]["metadata"]["name"] == "late");

  // The protocol's preconditions are enforced, as kube-apiserver does.
  auto bad = Http(*server, "GET", kSlices + "?watch=true&sendInitialEvents=true");
  CHECK(bad.status == 422);
}

TEST_CASE("ApiServer watch: resume from a resourceVersion, 410 when compacted, selector moves",
          "[apiserver][watch]") {
  ApiServer::Options opts;
  opts.watch_history = 5;
  auto server = StartServer(opts);
  uint64_t start = server->ResourceVersion();
  auto a = Http(*server, "POST", kSlices, Slice("a", "node-1").dump()).Json();
  REQUIRE(Http(*server, "POST", kSlices, Slice("b", "node-1").dump()).status == 201);
  {
    WatchStream ws(server->port(),
                   kSlices + "?watch=true&resourceVersion=" +
                       a["metadata"]["resourceVersion"].get<std::string>(),
                   server->admin_token());
    auto ev = ws.Next();
    REQUIRE(ev);
    CHECK((*ev)["type"] == "ADDED");
    CHECK((*ev)["object"]["metadata"]["name"] == "b");
  }
  for (int i = 0; i < 10; ++i) {
    REQUIRE(
        Http(*server, "POST", kSlices, Slice("x" + std::to_string(i), "node-2").dump()).status ==
        201);
  }
  auto gone =
      Http(*server, "GET", kSlices + "?watch=true&resourceVersion=" + std::to_string(start));
  CHECK(gone.status == 410);
  CHECK(gone.Json()["reason"] == "Expired");

  // A watcher on node-1 sees b leave its selector as DELETED.
  WatchStream sel(server->port(),
                  kSlices + "?watch=true&labelSelector=team%3Dred&resourceVersion=" +
                      std::to_string(server->ResourceVersion()),
                  server->admin_token());
  json b = Http(*server, "GET", kSlices + "/b").Json();
  b["metadata"]["labels"] = {{"team", "red"}};
  b = Http(*server, "PUT", kSlices + "/b", b.dump()).Json();
  auto in = sel.Next();
  REQUIRE(in);
  CHECK((*in)["type"] == "ADDED");
  b["metadata"]["labels"]["team"] = "blue";
  REQUIRE(Http(*server, "PUT", kSlices + "/b", b.dump()).status == 200);
  auto out = sel.Next();
  REQUIRE(out);
  CHECK((*out)["type"] == "DELETED");
}

TEST_CASE("ApiServer watch: timeoutSeconds ends the stream and DropWatches cuts it",
          "[apiserver][watch]") {
  auto server = StartServer();
  {
    auto t0 = std::chrono::steady_clock::now();
    WatchStream ws(server->port(), kSlices + "?watch=true&timeoutSeconds=1", server->admin_token());
    auto ev = ws.Next(std::chrono::seconds(5));
    CHECK_FALSE(ev);
    CHECK(ws.CleanEnd());
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(4));
  }
  WatchStream ws(server->port(), kSlices + "?watch=true", server->admin_token());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (server->OpenWatches() < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(server->DropWatches() >= 1);
  CHECK_FALSE(ws.Next(std::chrono::seconds(5)));
  CHECK(ws.Ended());
  CHECK_FALSE(ws.CleanEnd());
  // The server still serves after cutting watches.
  CHECK(Http(*server, "GET", kSlices).status == 200);
}

TEST_CASE("ApiServer watch: a watcher that stops reading is cut off, others keep going",
          "[apiserver][watch][robustness]") {
  ApiServer::Options opts;
  opts.max_watch_queue = 100;
  auto server = StartServer(opts);
  auto created = server->Create("resourceslices", Slice("big", "node-1", "gpu.example.com", 128));
  REQUIRE_OK(created);
  // Open a watch and never read from it.
  WatchStream stuck(server->port(),
                    kSlices + "?watch=true&resourceVersion=" +
                        (*created)["metadata"]["resourceVersion"].get<std::string>(),
                    server->admin_token());
  REQUIRE(stuck.status() == 200);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (server->OpenWatches() < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(server->OpenWatches() == 1);
  json obj = *created;
  int updates = 0;
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool all_ok = true;
  while (server->OpenWatches() > 0 && all_ok && std::chrono::steady_clock::now() < deadline) {
    obj["spec"]["pool"]["generation"] = ++updates + 1;
    auto r = server->Update("resourceslices", obj);
    all_ok = r.ok();
    if (all_ok) obj = std::move(*r);
  }
  CHECK(all_ok);
  INFO("updates sent: " << updates);
  CHECK(server->OpenWatches() == 0);
  CHECK(updates > 100);  // the TCP buffers and the 100-event queue absorbed the rest
  CHECK(Http(*server, "GET", kSlices + "/big").status == 200);
}
