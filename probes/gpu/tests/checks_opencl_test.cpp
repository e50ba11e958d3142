// The GPU checks' host logic, driven through the real OpenCL backend (PoCL in
// CI): every kernel really runs and every result is compared with the CPU.
#include <algorithm>

#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/probe_gpu/backend.hpp"
#include "drahil/probe_gpu/checks.hpp"
#include "drahil/testing/testing.hpp"

namespace pc = drahil::probe_common;
namespace pg = drahil::probe_gpu;

namespace {

std::unique_ptr<pg::GpuBackend> OpenClOrNull(std::string* why) {
  pg::BackendOptions o;
  o.device_timeout = std::chrono::seconds(60);
  auto b = pg::OpenBackend("opencl", o);
  if (!b.ok()) {
    *why = b.status().ToString();
    return nullptr;
  }
  auto devs = (*b)->Devices();
  if (!devs.ok() || devs->empty()) {
    *why = "no OpenCL device";
    return nullptr;
  }
  return std::move(*b);
}

pg::ProbeOptions Small() {
  pg::ProbeOptions o;
  o.bandwidth_bytes = 4u << 20;
  o.reps = 2;
  o.fma_items = 8192;
  o.fma_iters = 64;
  o.stress_seconds = 0.05;
  o.canary_bytes = 1u << 20;
  o.scan_bytes = 4u << 20;
  o.chunk_bytes = 4u << 20;
  o.dev_roots = {};
  return o;
}

const pc::CheckResult& Only(const pc::ProbeReport& r) {
  REQUIRE(r.checks().size() == 1);
  return r.checks().front();
}

bool HasFinding(const pc::CheckResult& c, const std::string& part) {
  return std::any_of(c.findings.begin(), c.findings.end(),
                     [&](const std::string& f) { return f.find(part) != std::string::npos; });
}

double Value(const pc::CheckResult& c, const std::string& name) {
  for (const auto& m : c.measurements) {
    if (m.name == name) return m.value;
  }
  FAIL("no measurement " << name);
  return 0;
}

}  // namespace

TEST_CASE("GPU checks (OpenCL): compute and bandwidth pass with verified results",
          "[probe_gpu][opencl]") {
  std::string why;
  auto b = OpenClOrNull(&why);
  if (!b) DRAHIL_SKIP(why);
  auto o = Small();
  o.checks = {"bandwidth", "compute", "health"};
  pc::ProbeReport r("gpu", "opencl");
  pg::RunChecks(*b, nullptr, o, r);
  REQUIRE(r.checks().size() == 3);
  for (const auto& c : r.checks()) {
    INFO(c.name << ": " << c.summary);
    for (const auto& f : c.findings) INFO(f);
    CHECK(c.verdict == pc::Verdict::kPass);
  }
  CHECK(Value(r.checks()[0], "kernel_copy") > 0);
  CHECK(Value(r.checks()[0], "host_memcpy") > 0);
  CHECK(Value(r.checks()[1], "fma_throughput") > 0);
  CHECK(r.checks()[1].details["reduction"]["got"] ==
        r.checks()[1].details["reduction"]["expected"]);
  CHECK(Value(r.checks()[2], "stress_runs") >= 1);
}

TEST_CASE("GPU checks (OpenCL): enumerate names the mismatch with the allocation",
          "[probe_gpu][opencl]") {
  std::string why;
  auto b = OpenClOrNull(&why);
  if (!b) DRAHIL_SKIP(why);
  auto devs = b->Devices();
  REQUIRE_OK(devs);
  auto o = Small();
  o.checks = {"enumerate"};
  {
    o.expect_count = static_cast<int>(devs->size());
    pc::ProbeReport r("gpu", "opencl");
    pg::RunChecks(*b, nullptr, o, r);
    CHECK(Only(r).verdict == pc::Verdict::kPass);
    CHECK(HasFinding(Only(r), "NVML unavailable"));
  }
  {
    o.expect_count = static_cast<int>(devs->size()) + 1;
    pc::ProbeReport r("gpu", "opencl");
    pg::RunChecks(*b, nullptr, o, r);
    CHECK(Only(r).verdict == pc::Verdict::kFail);
    CHECK(HasFinding(Only(r), "expected " + std::to_string(devs->size() + 1)));
  }
  {
    // NVML is required for cuda/emulated: missing it is an error, not a pass.
    o.expect_count = -1;
    o.nvml_required = true;
    o.nvml_error = "test: not loaded";
    pc::ProbeReport r("gpu", "opencl");
    pg::RunChecks(*b, nullptr, o, r);
    CHECK(Only(r).verdict == pc::Verdict::kError);
  }
}

TEST_CASE("GPU checks (OpenCL): enumerate flags an openable node of no allocated device",
          "[probe_gpu][opencl]") {
  std::string why;
  auto b = OpenClOrNull(&why);
  if (!b) DRAHIL_SKIP(why);
  auto dir = drahil::TempDir::Create("probe-gpu-dev-");
  REQUIRE_OK(dir);
  REQUIRE_OK(drahil::AtomicWriteFile(dir->Join("nvidia0"), ""));
  REQUIRE_OK(drahil::AtomicWriteFile(dir->Join("nvidia3"), ""));
  REQUIRE_OK(drahil::AtomicWriteFile(dir->Join("nvidiactl"), ""));
  auto o = Small();
  o.checks = {"enumerate"};
  o.dev_roots = {dir->path()};
  pc::ProbeReport r("gpu", "opencl");
  pg::RunChecks(*b, nullptr, o, r);
  // Without NVML the minors are unknown: nodes are listed, not judged.
  CHECK(Value(Only(r), "openable_gpu_nodes") == 2);
  CHECK(Only(r).details["nodes"].size() == 2);
  CHECK(HasFinding(Only(r), "minors unknown"));
}

TEST_CASE("GPU checks (OpenCL): memory-capacity reports a share PoCL does not enforce",
          "[probe_gpu][opencl]") {
  std::string why;
  auto b = OpenClOrNull(&why);
  if (!b) DRAHIL_SKIP(why);
  auto devs = b->Devices();
  REQUIRE_OK(devs);
  auto o = Small();
  o.checks = {"memory-capacity"};
  o.expect_memory = (*devs)[0].memory_bytes;
  o.expect_share = 16u << 20;  // PoCL has no per-process limit: going past must succeed
  pc::ProbeReport r("gpu", "opencl");
  pg::RunChecks(*b, nullptr, o, r);
  const auto& c = Only(r);
  CHECK(c.verdict == pc::Verdict::kFail);
  CHECK(HasFinding(c, "not enforced"));
  CHECK(Value(c, "allocated_within_share") >= 0.9 * (16u << 20) - 1);
  CHECK(Value(c, "allocated_max") > (16u << 20));

  o.expect_memory = (*devs)[0].memory_bytes * 2;  // wrong total is a finding too
  pc::ProbeReport r2("gpu", "opencl");
  pg::RunChecks(*b, nullptr, o, r2);
  CHECK(HasFinding(Only(r2), "expected"));
}

TEST_CASE("GPU checks (OpenCL): canary write, ready file and scan verdicts per sharing mode",
          "[probe_gpu][opencl]") {
  std::string why;
  auto b = OpenClOrNull(&why);
  if (!b) DRAHIL_SKIP(why);
  auto dir = drahil::TempDir::Create("probe-gpu-canary-");
  REQUIRE_OK(dir);
  auto o = Small();
  o.checks = {"memory-isolation"};
  o.write_canary = "run-42";
  o.ready_file = dir->Join("ready");
  pc::ProbeReport w("gpu", "opencl");
  pg::RunChecks(*b, nullptr, o, w);
  CHECK(Only(w).verdict == pc::Verdict::kPass);
  auto ready = drahil::ReadFile(o.ready_file);
  REQUIRE_OK(ready);
  CHECK(*ready == "run-42\n");

  // Scanning fresh allocations: PoCL hands out host memory that may or may
  // not hold old data, so only the verdict logic is asserted, per mode.
  o.write_canary.clear();
  o.scan_canary = "run-never-written";
  pc::ProbeReport s("gpu", "opencl");
  pg::RunChecks(*b, nullptr, o, s);
  CHECK(Only(s).verdict == pc::Verdict::kPass);
  CHECK(Value(Only(s), "canary_records_found") == 0);
  CHECK(Value(Only(s), "scanned_bytes") == (4u << 20));

  o.sharing = "time-slicing";
  pc::ProbeReport t("gpu", "opencl");
  pg::RunChecks(*b, nullptr, o, t);
  CHECK(Only(t).verdict == pc::Verdict::kPass);
  CHECK(Only(t).details["isolation"] == "absent-as-expected");
}

TEST_CASE("GPU checks: ValidateOptions rejects bad combinations", "[probe_gpu]") {
  pg::ProbeOptions o;
  CHECK_OK(pg::ValidateOptions(o));
  o.checks = {"memory-capacity"};
  CHECK(pg::ValidateOptions(o).message().find("--expect-memory") != std::string::npos);
  o.checks = {"bogus"};
  CHECK(pg::ValidateOptions(o).code() == drahil::Code::kInvalidArgument);
  o.checks = {"memory-isolation"};
  o.write_canary.assign("run-a");
  o.scan_canary.assign("run-b");
  CHECK_FALSE(pg::ValidateOptions(o).ok());
  o.scan_canary.clear();
  o.sharing = "sometimes";
  CHECK_FALSE(pg::ValidateOptions(o).ok());
}

TEST_CASE("GPU backends: unknown and unavailable backends are reported, not crashed",
          "[probe_gpu]") {
  pg::BackendOptions o;
  CHECK(pg::OpenBackend("quantum", o).status().code() == drahil::Code::kInvalidArgument);
  o.gpurt_library = "/nonexistent/libdrahil-gpurt.so";
  auto e = pg::OpenBackend("emulated", o);
  CHECK(e.status().code() == drahil::Code::kUnavailable);
  CHECK(e.status().message().find("/nonexistent/libdrahil-gpurt.so") != std::string::npos);
  if (!pg::CudaBuilt()) {
    CHECK(pg::OpenBackend("cuda", o).status().code() == drahil::Code::kUnavailable);
  }
  CHECK(pg::KnownPeakMemoryGbps("NVIDIA H100 80GB HBM3") == 3350);
  CHECK(pg::KnownPeakMemoryGbps("NVIDIA H200") == 4800);
  CHECK(pg::KnownPeakMemoryGbps("pthread-skylake") == 0);
}
