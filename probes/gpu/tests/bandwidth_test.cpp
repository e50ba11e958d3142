// The GPU probe's bandwidth check on OpenCL (PoCL on CI machines): it
// measures every copy path beside host memcpy in the same run, verifies the
// data of every copy, and applies --min-host-fraction as its verdict. How
// fast the copies are is a benchmark's business (BENCHMARKS.md, probes
// section: bench/probes), never asserted here: the thresholds below are
// chosen so that no machine's speed decides the outcome.
#include <algorithm>
#include <limits>
#include <map>
#include <string>

#include "drahil/probe_gpu/backend.hpp"
#include "drahil/probe_gpu/checks.hpp"
#include "drahil/testing/testing.hpp"

namespace pc = drahil::probe_common;
namespace pg = drahil::probe_gpu;

namespace {

struct Run {
  pc::Verdict verdict;
  std::map<std::string, double> measured;
  std::vector<std::string> findings;
};

Run RunBandwidth(pg::GpuBackend& b, double min_host_fraction) {
  pg::ProbeOptions o;
  o.checks = {"bandwidth"};
  o.dev_roots = {};
  o.bandwidth_bytes = 4u << 20;
  o.reps = 2;
  o.min_host_fraction = min_host_fraction;
  pc::ProbeReport r("gpu", "opencl");
  pg::RunChecks(b, nullptr, o, r);
  const auto& c = r.checks().front();
  Run out{c.verdict, {}, c.findings};
  for (const auto& m : c.measurements) out.measured[m.name] = m.value;
  return out;
}

}  // namespace

TEST_CASE("GPU probe (OpenCL): the bandwidth check measures every path beside host memcpy",
          "[probe_gpu][opencl][bandwidth]") {
  pg::BackendOptions bo;
  auto b = pg::OpenBackend("opencl", bo);
  if (!b.ok()) DRAHIL_SKIP("no OpenCL: " + b.status().ToString());
  auto devs = (*b)->Devices();
  if (!devs.ok() || devs->empty()) DRAHIL_SKIP("no OpenCL device");

  SECTION("no threshold: it passes, with every measurement and no wrong data") {
    Run r = RunBandwidth(**b, 0);
    for (const auto& f : r.findings) INFO(f);
    CHECK(r.verdict == pc::Verdict::kPass);
    for (const char* name : {"device_to_host", "host_memcpy", "kernel_copy_vs_host_memcpy"}) {
      INFO(name);
      REQUIRE(r.measured.count(name) == 1);
      CHECK(r.measured[name] > 0);
    }
    CHECK(std::none_of(r.findings.begin(), r.findings.end(), [](const std::string& f) {
      return f.find("wrong data") != std::string::npos;
    }));
  }
  SECTION("a threshold no copy can reach fails the check, naming the fraction") {
    Run r = RunBandwidth(**b, std::numeric_limits<double>::max());
    CHECK(r.verdict == pc::Verdict::kFail);
    CHECK(std::any_of(r.findings.begin(), r.findings.end(), [](const std::string& f) {
      return f.find("of host memcpy, below") != std::string::npos;
    }));
  }
  SECTION("a threshold every copy reaches keeps it passing") {
    Run r = RunBandwidth(**b, std::numeric_limits<double>::min());
    CHECK(r.verdict == pc::Verdict::kPass);
  }
}
