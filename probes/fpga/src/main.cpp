// drahil-probe-fpga: checks what an FPGA claim really gives a container: PCI
// functions (libpci), device nodes, VF/port/region state, the bitstream id the
// driver reported, and OpenCL kernels with verified results (docs/probes.md).
//
// Output: one drahil.probe/v1 JSON document on stdout, or on --result-fd /
// $DRAHIL_RESULT_FD; a human summary on stderr. Exit codes: 0 all selected
// checks passed, 1 a check failed, 2 usage, 3 environment or internal error.
#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "drahil/core/strings.hpp"
#include "drahil/probe_common/report.hpp"
#include "drahil/probe_common/util.hpp"
#include "drahil/probe_fpga/fpga_probe.hpp"

namespace {
namespace pc = drahil::probe_common;
namespace pf = drahil::probe_fpga;

// Flag lists: "a, b,c"; empty items dropped.
constexpr drahil::SplitOptions kList{.trim = true, .skip_empty = true};

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

std::atomic<bool> g_written{false};
void Emit(pc::ProbeReport& report, int fd, bool quiet) {
  bool expected = false;
  if (!g_written.compare_exchange_strong(expected, true)) return;
  auto st = pc::WriteReport(report, fd);
  if (!quiet) report.PrintSummary(std::cerr);
  if (!st.ok()) std::cerr << "drahil-probe-fpga: " << st.ToString() << "\n";
}
}  // namespace

int main(int argc, char** argv) {
  pf::FpgaOptions o;
  std::string checks, bdfs = Env("DRAHIL_FPGA_BDFS"), nodes = Env("DRAHIL_FPGA_NODES"), dma_size;
  std::vector<std::string> dev_roots;
  o.expect_bitstream_id = Env("DRAHIL_FPGA_BITSTREAM_ID");
  o.expect_afu_id = Env("DRAHIL_FPGA_AFU_ID");
  o.opencl_platform = Env("DRAHIL_OPENCL_PLATFORM");
  std::string fake_root = Env("DRAHIL_FAKE_ROOT");
  if (!fake_root.empty()) o.sysfs_root = fake_root + "/sys/bus/pci";
  int result_fd = -1;
  bool quiet = false;
  double timeout_s = 600, device_timeout_s = 60;

  CLI::App app{"drahil-probe-fpga: probe an FPGA claim as the container sees it; JSON out"};
  app.add_option("--checks", checks,
                 "comma list: enumerate,nodes,allocation,bitstream,kernels or all");
  app.add_option("--sysfs-root", o.sysfs_root,
                 "libpci sysfs.path (default $DRAHIL_FAKE_ROOT/sys/bus/pci, else /sys/bus/pci)")
      ->capture_default_str();
  app.add_option("--dev-root", dev_roots, "directory with device nodes (repeatable; default /dev)");
  app.add_option("--expect-bdfs", bdfs, "allocated PCI functions (default $DRAHIL_FPGA_BDFS)");
  app.add_option("--expect-nodes", nodes, "allocated device nodes (default $DRAHIL_FPGA_NODES)");
  app.add_flag("--expect-vf", o.expect_vf, "every allocated function must be an SR-IOV VF");
  app.add_option("--expect-bitstream-id", o.expect_bitstream_id,
                 "bitstream id the driver reported (default $DRAHIL_FPGA_BITSTREAM_ID)");
  app.add_option("--expect-afu-id", o.expect_afu_id,
                 "AFU id the driver reported (default $DRAHIL_FPGA_AFU_ID)");
  app.add_option("--opencl-platform", o.opencl_platform,
                 "OpenCL platform name substring (default $DRAHIL_OPENCL_PLATFORM, else first)");
  app.add_option("--vadd-elements", o.vadd_elements, "vector-add length")->capture_default_str();
  app.add_option("--dma-size", dma_size, "DMA copy buffer (default 64Mi)");
  app.add_option("--reps", o.reps, "repetitions per bandwidth figure")->capture_default_str();
  app.add_option("--min-host-fraction", o.min_host_fraction,
                 "fail when the on-card copy is below this fraction of host memcpy");
  app.add_option("--device-timeout", device_timeout_s, "bound of every device wait, seconds")
      ->capture_default_str();
  app.add_option("--timeout", timeout_s, "whole-probe watchdog, seconds")->capture_default_str();
  app.add_option("--result-fd", result_fd,
                 "write the JSON here (default $DRAHIL_RESULT_FD, else 1)");
  app.add_flag("-q,--quiet", quiet, "no summary on stderr");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? pc::kExitPass : pc::kExitUsage;
  }
  auto usage = [](const std::string& m) {
    std::cerr << "drahil-probe-fpga: " << m << "\n";
    return pc::kExitUsage;
  };
  if (!checks.empty()) {
    o.checks = checks == "all" ? pf::AllFpgaCheckNames() : drahil::Split(checks, ',', kList);
  }
  o.expect_bdfs = drahil::Split(bdfs, ',', kList);
  o.expect_nodes = drahil::Split(nodes, ',', kList);
  if (!dev_roots.empty()) o.dev_roots = dev_roots;
  if (!dma_size.empty()) {
    auto v = pc::ParseBytes(dma_size, "--dma-size");
    if (!v.ok()) return usage(v.status().message());
    o.dma_bytes = *v;
  }
  if (auto st = pf::ValidateFpgaOptions(o); !st.ok()) return usage(st.message());
  if (timeout_s <= 0 || device_timeout_s <= 0) return usage("timeouts must be positive");
  o.device_timeout = std::chrono::milliseconds(static_cast<int64_t>(device_timeout_s * 1000));
  auto fd = pc::ResolveResultFd(result_fd);
  if (!fd.ok()) return usage(fd.status().message());

  pc::ProbeReport report("fpga", "opencl");
  report.parameters() = {{"checks", o.checks},
                         {"sysfs_root", o.sysfs_root},
                         {"dev_roots", o.dev_roots},
                         {"expect_bdfs", o.expect_bdfs},
                         {"expect_nodes", o.expect_nodes},
                         {"expect_vf", o.expect_vf},
                         {"expect_bitstream_id", o.expect_bitstream_id},
                         {"expect_afu_id", o.expect_afu_id},
                         {"opencl_platform", o.opencl_platform},
                         {"timeout_s", timeout_s}};

  // Watchdog: a device wait that never returns still ends in a document.
  std::atomic<bool> done{false};
  std::thread watchdog([&] {
    pc::Deadline deadline(std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000)));
    while (!done.load()) {
      if (deadline.Expired()) {
        pc::ProbeReport fatal("fpga", "opencl");
        fatal.parameters() = report.parameters();
        fatal.SetFatal("watchdog: no result within " + std::to_string(timeout_s) + " s");
        fatal.Finish();
        Emit(fatal, *fd, quiet);
        std::_Exit(pc::kExitEnvironment);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  pf::RunFpgaChecks(o, report);
  int rc = report.Finish();
  Emit(report, *fd, quiet);
  done.store(true);
  watchdog.join();
  return rc;
}
