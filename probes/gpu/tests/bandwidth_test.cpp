// The stated figure (BENCHMARKS.md, probes section): on PoCL the probe's
// device-local kernel copy reaches at least kStatedFraction of host memcpy
// bandwidth measured in the same run. Both sides live in host memory there,
// so the ratio measures the OpenCL path's overhead.
#include "drahil/probe_gpu/backend.hpp"
#include "drahil/probe_gpu/checks.hpp"
#include "drahil/testing/testing.hpp"

namespace pc = drahil::probe_common;
namespace pg = drahil::probe_gpu;

namespace {
constexpr double kStatedFraction = 0.25;
}

TEST_CASE("GPU probe (OpenCL): kernel copy reaches the stated fraction of host memcpy",
          "[probe_gpu][opencl][bandwidth]") {
  pg::BackendOptions bo;
  auto b = pg::OpenBackend("opencl", bo);
  if (!b.ok()) DRAHIL_SKIP("no OpenCL: " + b.status().ToString());
  auto devs = (*b)->Devices();
  if (!devs.ok() || devs->empty()) DRAHIL_SKIP("no OpenCL device");
  pg::ProbeOptions o;
  o.checks = {"bandwidth"};
  o.dev_roots = {};
  o.bandwidth_bytes = 32u << 20;  // beyond the caches on CI machines
  o.reps = 5;
  o.min_host_fraction = kStatedFraction;
  // Best of three runs: CI machines are shared and one unlucky run should
  // not decide; the check itself asserts the data of every copy.
  double best = 0;
  for (int attempt = 0; attempt < 3 && best < kStatedFraction; ++attempt) {
    pc::ProbeReport r("gpu", "opencl");
    pg::RunChecks(**b, nullptr, o, r);
    const auto& c = r.checks().front();
    for (const auto& f : c.findings) INFO(f);
    REQUIRE(c.verdict != pc::Verdict::kError);
    for (const auto& m : c.measurements) {
      if (m.name == "kernel_copy_vs_host_memcpy") best = std::max(best, m.value);
    }
    bool data_ok = std::none_of(c.findings.begin(), c.findings.end(), [](const std::string& f) {
      return f.find("wrong data") != std::string::npos;
    });
    REQUIRE(data_ok);
  }
  INFO("best kernel-copy / host-memcpy ratio: " << best);
  CHECK(best >= kStatedFraction);
}
