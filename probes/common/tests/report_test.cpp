#include "drahil/probe_common/report.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/probe_common/util.hpp"
#include "drahil/testing/testing.hpp"

using drahil::probe_common::CheckResult;
using drahil::probe_common::ProbeReport;
using drahil::probe_common::Verdict;

TEST_CASE("ProbeReport: verdict only gets worse and maps to exit codes", "[probe_common]") {
  ProbeReport r("gpu", "opencl");
  auto& a = r.AddCheck("enumerate");
  a.Measure("runtime_devices", 1, "count");
  auto& b = r.AddCheck("compute");
  b.Fail("mismatch at item 3");
  b.Skip("not reached");  // a skip must not hide the failure
  CHECK(b.verdict == Verdict::kFail);
  CHECK(r.Finish() == drahil::probe_common::kExitCheckFailed);
  CHECK(r.verdict() == Verdict::kFail);

  ProbeReport skipped("gpu", "opencl");
  skipped.AddCheck("health").Skip("no NVML");
  CHECK(skipped.Finish() == drahil::probe_common::kExitEnvironment);

  ProbeReport passed("fpga", "opencl");
  passed.AddCheck("kernels");
  CHECK(passed.Finish() == drahil::probe_common::kExitPass);

  ProbeReport empty("fpga", "opencl");
  CHECK(empty.Finish() == drahil::probe_common::kExitEnvironment);
}

TEST_CASE("ProbeReport: JSON carries schema, checks, measurements and null for NaN",
          "[probe_common]") {
  ProbeReport r("gpu", "emulated");
  auto& c = r.AddCheck("bandwidth");
  c.Measure("kernel_copy", 12.5, "GB/s");
  c.Measure("broken", std::numeric_limits<double>::quiet_NaN(), "GB/s");
  c.details["bytes"] = 1024;
  r.devices().push_back({{"uuid", "GPU-1"}});
  r.Finish();
  auto j = r.ToJson();
  CHECK(j["schema"] == "drahil.probe/v1");
  CHECK(j["probe"] == "gpu");
  CHECK(j["backend"] == "emulated");
  CHECK(j["verdict"] == "pass");
  CHECK(j["exit_code"] == 0);
  REQUIRE(j["checks"].size() == 1);
  CHECK(j["checks"][0]["measurements"][0]["value"] == 12.5);
  CHECK(j["checks"][0]["measurements"][1]["value"].is_null());
  CHECK(j["checks"][0]["details"]["bytes"] == 1024);
  CHECK(j["devices"][0]["uuid"] == "GPU-1");
  std::ostringstream os;
  r.PrintSummary(os);
  CHECK(os.str().find("[pass] bandwidth") != std::string::npos);
}

TEST_CASE("ResolveResultFd: flag, then DRAHIL_RESULT_FD, then stdout", "[probe_common]") {
  auto dir = drahil::TempDir::Create("probe-common-");
  REQUIRE_OK(dir);
  std::string path = dir->Join("out.json");
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
  REQUIRE(fd >= 0);
  ::unsetenv("DRAHIL_RESULT_FD");
  CHECK(*drahil::probe_common::ResolveResultFd(-1) == 1);
  CHECK(*drahil::probe_common::ResolveResultFd(fd) == fd);
  ::setenv("DRAHIL_RESULT_FD", std::to_string(fd).c_str(), 1);
  CHECK(*drahil::probe_common::ResolveResultFd(-1) == fd);
  ::setenv("DRAHIL_RESULT_FD", "seven", 1);
  CHECK(drahil::probe_common::ResolveResultFd(-1).status().code() ==
        drahil::Code::kInvalidArgument);
  ::unsetenv("DRAHIL_RESULT_FD");
  CHECK_FALSE(drahil::probe_common::ResolveResultFd(977).ok());  // not open

  ProbeReport r("gpu", "opencl");
  r.AddCheck("enumerate");
  r.Finish();
  REQUIRE_OK(drahil::probe_common::WriteReport(r, fd));
  ::close(fd);
  auto text = drahil::ReadFile(path);
  REQUIRE_OK(text);
  auto j = nlohmann::json::parse(*text);
  CHECK(j["checks"][0]["name"] == "enumerate");
}

TEST_CASE("ParseBytes: quantities from flags", "[probe_common]") {
  using drahil::probe_common::ParseBytes;
  CHECK(*ParseBytes("80Gi", "--expect-memory") == 80ull << 30);
  CHECK(*ParseBytes("10G", "--x") == 10000000000ull);
  CHECK(*ParseBytes("4096", "--x") == 4096);
  auto bad = ParseBytes("1.5", "--expect-memory");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("--expect-memory") != std::string::npos);
  CHECK_FALSE(ParseBytes("-1Gi", "--x").ok());
  CHECK_FALSE(ParseBytes("lots", "--x").ok());
  CHECK(drahil::probe_common::FormatBytes(1536) == "1.5 KiB");
}
