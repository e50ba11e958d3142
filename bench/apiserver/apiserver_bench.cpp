// The API server under a driver fleet's load: 1,000 ResourceSlices of 128
// devices each (a large cluster's worth for one driver), read over HTTPS by
// real clients (drahil::kube::RestClient, client-go's request shape).
//
//   BM_PlainGet        one GET of the whole list, bytes only
//   BM_ListParsed      the same list as a client-go informer's first call:
//                      GET, then the JSON parsed into objects
//   BM_ListThenWatch   an informer's full cycle: the parsed list, then a
//                      watch from its resourceVersion until one update of a
//                      slice arrives
//   BM_WatchFanOut/N   N watchers (1, 10, 100) on all slices; each iteration
//                      updates one slice and waits until every watcher saw
//                      it. Counters: fan-out latency p50/p99 over every
//                      delivery, and the process's RSS (server and clients
//                      share the process: an upper bound for the server).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "drahil/apiserver/apiserver.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/kube/rest_client.hpp"

namespace {

using drahil::apiserver::ApiServer;
using drahil::kube::RestClient;
using json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

constexpr int kSlices = 1000;
constexpr int kDevices = 128;

json Slice(int i) {
  json devices = json::array();
  for (int d = 0; d < kDevices; ++d) {
    devices.push_back(
        {{"name", "gpu-" + std::to_string(d)},
         {"attributes",
          {{"model", {{"string", "h100"}}},
           {"index", {{"int", d}}},
           {"uuid", {{"string", "GPU-" + std::to_string(i) + "-" + std::to_string(d)}}}}},
         {"capacity", {{"memory", {{"value", "80Gi"}}}}}});
  }
  std::string node = "node-" + std::to_string(i);
  return {{"apiVersion", "resource.k8s.io/v1"},
          {"kind", "ResourceSlice"},
          {"metadata", {{"name", node + "-gpu.example.com"}}},
          {"spec",
           {{"driver", "gpu.example.com"},
            {"nodeName", node},
            {"pool", {{"name", node}, {"generation", 1}, {"resourceSliceCount", 1}}},
            {"devices", devices}}}};
}

long RssKiB() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

struct Cluster {
  drahil::TempDir tmp = drahil::TempDir::Create("drahil-bench-api-").value();
  std::unique_ptr<ApiServer> server;
  drahil::kube::KubeConfig config;
  std::string error;

  Cluster() {
    ApiServer::Options o;
    o.max_body_bytes = 64u << 20;
    auto s = ApiServer::Start(o);
    if (!s.ok()) {
      error = s.status().ToString();
      return;
    }
    server = std::move(*s);
    for (int i = 0; i < kSlices; ++i) {
      if (auto c = server->Create("resourceslices", Slice(i)); !c.ok()) {
        error = c.status().ToString();
        return;
      }
    }
    std::string kc = tmp.Join("kubeconfig");
    if (auto st = server->WriteKubeconfig(kc); !st.ok()) {
      error = st.ToString();
      return;
    }
    auto cfg = drahil::kube::KubeConfig::Load(kc);
    if (!cfg.ok()) {
      error = cfg.status().ToString();
      return;
    }
    config = *cfg;
  }
  std::unique_ptr<RestClient> Client() {
    drahil::kube::RestOptions ro;
    ro.timeout = std::chrono::seconds(60);
    auto c = RestClient::Create(config, ro);
    return c.ok() ? std::move(*c) : nullptr;
  }
  // Stamp(): a value no earlier update used (an update that changes nothing
  // is no event, as in kube-apiserver; Google Benchmark calls each function
  // more than once).
  int64_t Stamp() { return ++stamp_; }
  std::atomic<int64_t> stamp_{0};
  // Touch(): one update of slice i (a new attribute value), in process.
  bool Touch(int i, int64_t stamp) {
    auto cur = server->Get("resourceslices", "", Slice(i)["metadata"]["name"].get<std::string>());
    if (!cur.ok()) return false;
    (*cur)["spec"]["devices"][0]["attributes"]["stamp"] = {{"int", stamp}};
    return server->Update("resourceslices", *cur).ok();
  }
};

Cluster& TheCluster() {
  static Cluster c;
  return c;
}

#define NEED_CLUSTER(state)                       \
  Cluster& cluster = TheCluster();                \
  if (!cluster.error.empty()) {                   \
    (state).SkipWithError(cluster.error.c_str()); \
    return;                                       \
  }                                               \
  auto client = cluster.Client();                 \
  if (!client) {                                  \
    (state).SkipWithError("no client");           \
    return;                                       \
  }

void BM_PlainGet(benchmark::State& state) {
  NEED_CLUSTER(state);
  size_t bytes = 0;
  for (auto _ : state) {
    auto r = client->Request("GET", "/apis/resource.k8s.io/v1/resourceslices");
    if (!r.ok() || r->code != 200) {
      state.SkipWithError("GET failed");
      return;
    }
    bytes = r->body.size();
  }
  state.counters["list_MiB"] = double(bytes) / (1 << 20);
  state.counters["rss_MiB"] = double(RssKiB()) / 1024;
}

void BM_ListParsed(benchmark::State& state) {
  NEED_CLUSTER(state);
  for (auto _ : state) {
    auto l = client->List("resourceslices", "");
    if (!l.ok() || (*l)["items"].size() != kSlices) {
      state.SkipWithError("list failed");
      return;
    }
    benchmark::DoNotOptimize(*l);
  }
}

void BM_ListThenWatch(benchmark::State& state) {
  NEED_CLUSTER(state);
  for (auto _ : state) {
    auto t0 = SteadyClock::now();
    SteadyClock::time_point got{};
    auto l = client->List("resourceslices", "");
    if (!l.ok()) {
      state.SkipWithError("list failed");
      return;
    }
    drahil::kube::WatchOptions wo;
    wo.resource_version = (*l)["metadata"].value("resourceVersion", "");
    wo.deadline = std::chrono::seconds(30);
    std::thread writer([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      cluster.Touch(0, cluster.Stamp());
    });
    auto st = client->Watch("resourceslices", "", wo, [&](const drahil::kube::WatchEvent& e) {
      if (e.type != "MODIFIED") return true;
      got = SteadyClock::now();
      return false;  // stop at the update
    });
    writer.join();
    if (!st.ok() || got == SteadyClock::time_point{}) {
      state.SkipWithError(st.ok() ? "no update seen" : st.ToString().c_str());
      return;
    }
    // The cycle ends when the update arrived; closing the watch is not timed.
    state.SetIterationTime(std::chrono::duration<double>(got - t0).count());
  }
}

void BM_WatchFanOut(benchmark::State& state) {
  NEED_CLUSTER(state);
  const int watchers = static_cast<int>(state.range(0));
  std::mutex mu;
  std::condition_variable cv;
  std::map<int64_t, SteadyClock::time_point> sent;  // stamp → when written
  std::map<int64_t, int> seen;                      // stamp → deliveries
  std::vector<double> latency_us;
  std::stop_source stop;
  std::vector<std::unique_ptr<RestClient>> clients;
  std::vector<std::thread> threads;
  // Every watcher starts at the same resourceVersion, so one that connects
  // late still gets every update after it.
  drahil::kube::ListOptions lo;
  lo.limit = 1;
  auto head = client->List("resourceslices", "", lo);
  if (!head.ok()) {
    state.SkipWithError("list failed");
    return;
  }
  std::string rv = (*head)["metadata"].value("resourceVersion", "");
  for (int w = 0; w < watchers; ++w) {
    clients.push_back(cluster.Client());
    threads.emplace_back([&, c = clients.back().get()] {
      drahil::kube::WatchOptions wo;
      wo.resource_version = rv;
      wo.deadline = std::chrono::minutes(10);
      (void)c->Watch(
          "resourceslices", "", wo,
          [&](const drahil::kube::WatchEvent& e) {
            if (e.type != "MODIFIED") return true;
            const auto& a = e.object["spec"]["devices"][0]["attributes"];
            if (!a.contains("stamp")) return true;
            int64_t s = a["stamp"]["int"].get<int64_t>();
            auto now = SteadyClock::now();
            std::lock_guard<std::mutex> l(mu);
            if (auto it = sent.find(s); it != sent.end()) {
              latency_us.push_back(
                  std::chrono::duration<double, std::micro>(now - it->second).count());
              if (++seen[s] == watchers) cv.notify_all();
            }
            return true;
          },
          stop.get_token());
    });
  }
  // Warm-up, not timed: every watcher connected and saw one update.
  auto deliver = [&](int64_t s) {
    {
      std::lock_guard<std::mutex> l(mu);
      sent[s] = SteadyClock::now();
    }
    if (!cluster.Touch(1, s)) return false;
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, std::chrono::seconds(60), [&] { return seen[s] == watchers; });
  };
  bool warm = deliver(cluster.Stamp());
  latency_us.clear();
  for (auto _ : state) {
    if (!warm || !deliver(cluster.Stamp())) {
      state.SkipWithError("a watcher missed an update");
      break;
    }
  }
  state.counters["rss_MiB"] = double(RssKiB()) / 1024;
  stop.request_stop();
  for (auto& t : threads) t.join();  // a stop cancels each watch's read at once
  std::sort(latency_us.begin(), latency_us.end());
  if (!latency_us.empty()) {
    auto at = [&](double q) {
      return latency_us[std::min(latency_us.size() - 1, size_t(q * double(latency_us.size())))];
    };
    state.counters["fanout_p50_us"] = at(0.5);
    state.counters["fanout_p99_us"] = at(0.99);
  }
}

BENCHMARK(BM_PlainGet)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ListParsed)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ListThenWatch)->Unit(benchmark::kMillisecond)->UseManualTime();
BENCHMARK(BM_WatchFanOut)
    ->Arg(1)
    ->Arg(10)
    ->Arg(100)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(20);

}  // namespace

BENCHMARK_MAIN();
