// bench_probes: the GPU probe's copy paths on the OpenCL backend (PoCL on
// CPU) next to host memcpy of the same size, measured in the same process so
// the ratio is meaningful. BENCHMARKS.md (probes section) quotes the numbers.
//
//   build/bin/bench_probes --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// Bytes are counted as data copied (not read + write), for every row alike.
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <vector>

#include "drahil/probe_common/util.hpp"
#include "drahil/probe_gpu/backend.hpp"

namespace {

namespace pg = drahil::probe_gpu;

struct Fixture {
  std::unique_ptr<pg::GpuBackend> backend;
  std::unique_ptr<pg::GpuDevice> device;
  std::string error;
};

Fixture& Cl() {
  static Fixture f = [] {
    Fixture x;
    pg::BackendOptions o;
    auto b = pg::OpenBackend("opencl", o);
    if (!b.ok()) {
      x.error = b.status().ToString();
      return x;
    }
    auto d = (*b)->Open(0);
    if (!d.ok()) {
      x.error = d.status().ToString();
      return x;
    }
    x.backend = std::move(*b);
    x.device = std::move(*d);
    return x;
  }();
  return f;
}

void BM_HostMemcpy(benchmark::State& state) {
  size_t bytes = static_cast<size_t>(state.range(0));
  std::vector<char> src(bytes, 1), dst(bytes, 0);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), bytes);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(bytes));
}

enum class Path { kKernelCopy, kCopyEngine, kHostToDevice, kDeviceToHost };

void BM_OpenCl(benchmark::State& state, Path path) {
  auto& f = Cl();
  if (!f.device) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  uint64_t bytes = static_cast<uint64_t>(state.range(0));
  auto src = f.device->Allocate(bytes);
  auto dst = f.device->Allocate(bytes);
  if (!src.ok() || !dst.ok()) {
    state.SkipWithError("allocation failed");
    return;
  }
  std::vector<char> host(bytes, 3);
  for (auto _ : state) {
    double secs = 0;
    auto t0 = std::chrono::steady_clock::now();
    drahil::Status st;
    switch (path) {
      case Path::kKernelCopy: {
        auto r = f.device->KernelCopy(*dst, *src, bytes, 1);
        st = r.status();
        secs = r.ok() ? *r : 0;
        break;
      }
      case Path::kCopyEngine: {
        auto r = f.device->CopyEngine(*dst, *src, bytes, 1);
        st = r.status();
        secs = r.ok() ? *r : 0;
        break;
      }
      case Path::kHostToDevice:
        st = f.device->Write(*dst, 0, host.data(), bytes);
        secs = drahil::probe_common::SecondsSince(t0);
        break;
      case Path::kDeviceToHost:
        st = f.device->Read(host.data(), *src, 0, bytes);
        secs = drahil::probe_common::SecondsSince(t0);
        break;
    }
    if (!st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      return;
    }
    state.SetIterationTime(secs);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(bytes));
}

void Sizes(benchmark::internal::Benchmark* b) { b->Arg(16 << 20)->Arg(64 << 20); }

}  // namespace

BENCHMARK(BM_HostMemcpy)->Apply(Sizes)->UseRealTime();
BENCHMARK_CAPTURE(BM_OpenCl, kernel_copy, Path::kKernelCopy)->Apply(Sizes)->UseManualTime();
BENCHMARK_CAPTURE(BM_OpenCl, copy_engine, Path::kCopyEngine)->Apply(Sizes)->UseManualTime();
BENCHMARK_CAPTURE(BM_OpenCl, host_to_device, Path::kHostToDevice)->Apply(Sizes)->UseManualTime();
BENCHMARK_CAPTURE(BM_OpenCl, device_to_host, Path::kDeviceToHost)->Apply(Sizes)->UseManualTime();

BENCHMARK_MAIN();
