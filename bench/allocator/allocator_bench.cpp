// Allocator throughput: allocations per second (items_per_second) for
//   (a) 64 whole GPUs,
//   (b) 8 GPUs x 19 partitions behind shared counters (tests/testdata/mig.yaml),
//   (c) 1,000 devices filtered by CEL selectors,
// each with a share of the devices already in use (the benchmark argument);
// and (d) scaling: a pod's claims (1 to 256) against 64 to 4,096 devices
// (plot with bench/allocator/plot_scaling.py).
// The Allocator is built once per benchmark, as the scheduler keeps its
// inventory between pods; each iteration allocates one claim.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "drahil/allocator/allocator.hpp"
#include "drahil/allocator/cel.hpp"
#include "drahil/allocator/yaml.hpp"

namespace alloc = drahil::allocator;
using alloc::Json;

namespace {

const alloc::NodeInfo kNode{"node-1", {}};

Json Class(const std::string& name, const std::string& driver) {
  return {{"apiVersion", "resource.k8s.io/v1"},
          {"kind", "DeviceClass"},
          {"metadata", {{"name", name}}},
          {"spec",
           {{"selectors", {{{"cel", {{"expression", "device.driver == \"" + driver + "\""}}}}}}}}};
}

Json Slice(const std::string& name, const std::string& driver, int count, const Json& devices) {
  return {{"apiVersion", "resource.k8s.io/v1"},
          {"kind", "ResourceSlice"},
          {"metadata", {{"name", name}}},
          {"spec",
           {{"driver", driver},
            {"nodeName", "node-1"},
            {"pool", {{"name", "node-1"}, {"generation", 1}, {"resourceSliceCount", count}}},
            {"devices", devices}}}};
}

Json Claim(const std::string& name, const std::string& cls, int count,
           const std::vector<std::string>& selectors) {
  Json sels = Json::array();
  for (const auto& s : selectors) sels.push_back({{"cel", {{"expression", s}}}});
  Json exactly = {{"deviceClassName", cls}, {"count", count}};
  if (!sels.empty()) exactly["selectors"] = sels;
  return {{"apiVersion", "resource.k8s.io/v1"},
          {"kind", "ResourceClaim"},
          {"metadata", {{"name", name}, {"namespace", "bench"}}},
          {"spec", {{"devices", {{"requests", {{{"name", "req"}, {"exactly", exactly}}}}}}}}};
}

// FillAndRun(): allocates `in_use` claims first (kept as in use), then times
// allocating one more claim.
void FillAndRun(benchmark::State& state, alloc::Allocator& a, const Json& fill_claim, int in_use,
                const Json& claim) {
  for (int i = 0; i < in_use; ++i) {
    Json c = fill_claim;
    c["metadata"]["name"] = "fill-" + std::to_string(i);
    auto r = a.Allocate({c}, kNode);
    if (!r.ok()) {
      state.SkipWithError(("fill: " + r.status().ToString()).c_str());
      return;
    }
    c["status"]["allocation"] = (*r)[0];
    a.AddAllocatedClaim(c);
  }
  for (auto _ : state) {
    auto r = a.Allocate({claim}, kNode);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

// (a) 64 whole GPUs; argument: GPUs already allocated (in pairs).
void BM_WholeGpus(benchmark::State& state) {
  Json devices = Json::array();
  for (int i = 0; i < 64; ++i) {
    devices.push_back({{"name", "gpu-" + std::to_string(i)},
                       {"attributes", {{"index", {{"int", i}}}, {"model", {{"string", "H100"}}}}},
                       {"capacity", {{"memory", {{"value", "80Gi"}}}}}});
  }
  alloc::Inventory inv;
  inv.device_classes = {Class("gpu.example.com", "gpu.example.com")};
  inv.slices = {Slice("gpus", "gpu.example.com", 1, devices)};
  alloc::Allocator a(inv);
  Json claim = Claim("two", "gpu.example.com", 2, {});
  FillAndRun(state, a, claim, static_cast<int>(state.range(0)) / 2, claim);
}
BENCHMARK(BM_WholeGpus)->Arg(0)->Arg(32)->Arg(62)->ArgName("in_use");

// (b) 8 GPUs x 19 MIG-like partitions behind counters; argument: 1g.5gb
// partitions already allocated (7 fit per GPU).
void BM_Partitions(benchmark::State& state) {
  auto docs = alloc::LoadYamlPath(std::string(DRAHIL_BENCH_SOURCE_DIR) +
                                  "/harness/allocator/tests/testdata/mig.yaml");
  if (!docs.ok()) {
    state.SkipWithError(docs.status().ToString().c_str());
    return;
  }
  alloc::Inventory inv;
  for (auto& d : *docs) {
    if (d["kind"] == "ResourceSlice") inv.slices.push_back(d);
    if (d["kind"] == "DeviceClass") inv.device_classes.push_back(d);
  }
  alloc::Allocator a(inv);
  auto profile = [](const std::string& p) {
    return "device.attributes[\"gpu.example.com\"].profile == \"" + p + "\"";
  };
  FillAndRun(state, a, Claim("small", "mig.example.com", 1, {profile("1g.5gb")}),
             static_cast<int>(state.range(0)),
             Claim("mid", "mig.example.com", 1, {profile("1g.5gb")}));
}
BENCHMARK(BM_Partitions)->Arg(0)->Arg(28)->Arg(55)->ArgName("in_use");

// (c) 1,000 devices in 8 slices, with quantity/semver/string selectors of
// which about one device in ten passes; argument: matching devices in use.
void BM_CelSelected(benchmark::State& state) {
  alloc::Inventory inv;
  inv.device_classes = {Class("acc.example.com", "acc.example.com")};
  const int kDevices = 1000, kSlices = 8;
  for (int s = 0; s < kSlices; ++s) {
    Json devices = Json::array();
    for (int i = s; i < kDevices; i += kSlices) {
      bool big = i % 10 == 7;
      devices.push_back(
          {{"name", "acc-" + std::to_string(i)},
           {"attributes",
            {{"model", {{"string", big ? "X9-large" : "X7-small"}}},
             {"index", {{"int", i}}},
             {"firmware", {{"version", big ? "2.4.1" : "1.9.0"}}},
             {"example.com/numa", {{"int", i % 4}}}}},
           {"capacity",
            {{"memory", {{"value", big ? "96Gi" : "24Gi"}}}, {"cores", {{"value", "128"}}}}}});
    }
    inv.slices.push_back(Slice("acc-" + std::to_string(s), "acc.example.com", kSlices, devices));
  }
  alloc::Allocator a(inv);
  std::vector<std::string> selectors = {
      R"(device.capacity["acc.example.com"].memory.compareTo(quantity("64Gi")) >= 0)",
      R"(device.attributes["acc.example.com"].firmware.isGreaterThan(semver("2.0.0")))",
      R"(device.attributes["acc.example.com"].model.startsWith("X9") && device.attributes["example.com"].numa in [0, 1, 2, 3])",
  };
  Json claim = Claim("acc", "acc.example.com", 4, selectors);
  FillAndRun(state, a, claim, static_cast<int>(state.range(0)) / 4, claim);
}
BENCHMARK(BM_CelSelected)->Arg(0)->Arg(48)->Arg(96)->ArgName("in_use");

// (d) Scaling: a pod of `claims` claims, each asking for one device that a
// CEL selector picks out of half the node's `devices` (slices of 128, the
// API's limit per slice), allocated together as the scheduler allocates a
// pod's claims. Nothing is in use: the curve is the cost of the search
// itself as the node and the pod grow.
void BM_Scaling(benchmark::State& state) {
  const int devices = static_cast<int>(state.range(0));
  const int claims = static_cast<int>(state.range(1));
  constexpr int kPerSlice = 128;
  const int slices = (devices + kPerSlice - 1) / kPerSlice;
  alloc::Inventory inv;
  inv.device_classes = {Class("acc.example.com", "acc.example.com")};
  for (int s = 0; s < slices; ++s) {
    Json devs = Json::array();
    for (int i = s * kPerSlice; i < std::min(devices, (s + 1) * kPerSlice); ++i) {
      devs.push_back({{"name", "acc-" + std::to_string(i)},
                      {"attributes",
                       {{"model", {{"string", "X7"}}},
                        {"index", {{"int", i}}},
                        {"example.com/numa", {{"int", i % 4}}}}},
                      {"capacity", {{"memory", {{"value", "24Gi"}}}}}});
    }
    inv.slices.push_back(Slice("acc-" + std::to_string(s), "acc.example.com", slices, devs));
  }
  alloc::Allocator a(inv);
  std::vector<Json> pod;
  for (int c = 0; c < claims; ++c) {
    pod.push_back(Claim("c-" + std::to_string(c), "acc.example.com", 1,
                        {R"(device.attributes["example.com"].numa <= 1)"}));
  }
  for (auto _ : state) {
    auto r = a.Allocate(pod, kNode);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(r);
  }
  state.counters["devices"] = devices;
  state.counters["claims"] = claims;
  state.SetItemsProcessed(state.iterations());  // pods per second
}
// Each claim count up to a quarter of the devices (half of them match).
void ScalingArgs(benchmark::internal::Benchmark* b) {
  for (int devices : {64, 256, 1024, 4096})
    for (int claims : {1, 16, 64, 256})
      if (claims * 4 <= devices) b->Args({devices, claims});
}
BENCHMARK(BM_Scaling)->Apply(ScalingArgs)->ArgNames({"devices", "claims"});

// The CEL evaluator alone: one typical selector against one device.
void BM_CelEvaluate(benchmark::State& state) {
  auto dev = alloc::cel::Device::FromJson(
      "gpu.example.com",
      Json::parse(
          R"({"name": "g", "attributes": {"model": {"string": "H100"}, "driverVersion": {"version": "560.28.3"}},
                      "capacity": {"memory": {"value": "80Gi"}}})"));
  auto prog = alloc::cel::Compile(
      R"(device.driver == "gpu.example.com" && device.attributes["gpu.example.com"].model == "H100" &&
         device.capacity["gpu.example.com"].memory.compareTo(quantity("40Gi")) >= 0 &&
         device.attributes["gpu.example.com"].driverVersion.isGreaterThan(semver("550.0.0")))");
  if (!dev.ok() || !prog.ok()) {
    state.SkipWithError("setup failed");
    return;
  }
  for (auto _ : state) {
    auto r = (*prog)->Evaluate(*dev);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CelEvaluate);

}  // namespace

BENCHMARK_MAIN();
