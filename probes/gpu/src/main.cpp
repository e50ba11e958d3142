// drahil-probe-gpu: runs inside the container view a DRA driver produced and
// reports what the GPU really allows (docs/probes.md).
//
// Output: one drahil.probe/v1 JSON document on stdout, or on --result-fd /
// $DRAHIL_RESULT_FD; a human summary on stderr. Exit codes: 0 all selected
// checks passed, 1 a check failed, 2 usage, 3 environment or internal error.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <thread>

#include "drahil/core/strings.hpp"
#include "drahil/probe_common/report.hpp"
#include "drahil/probe_common/util.hpp"
#include "drahil/probe_gpu/backend.hpp"
#include "drahil/probe_gpu/checks.hpp"
#include "drahil/probe_gpu/nvml.hpp"

namespace {

namespace pc = drahil::probe_common;
namespace pg = drahil::probe_gpu;

// Flag lists: "a, b,c"; empty items dropped.
constexpr drahil::SplitOptions kList{.trim = true, .skip_empty = true};

std::atomic<bool> g_written{false};

// Emit(): writes the report once (the watchdog and main may race).
void Emit(pc::ProbeReport& report, int fd, bool quiet) {
  bool expected = false;
  if (!g_written.compare_exchange_strong(expected, true)) return;
  auto st = pc::WriteReport(report, fd);
  if (!quiet) report.PrintSummary(std::cerr);
  if (!st.ok()) std::cerr << "drahil-probe-gpu: " << st.ToString() << "\n";
}

void OnSignal(int) { pg::StopRequested().store(true); }

template <typename T>
bool ParseSize(const std::string& text, const char* flag, T* out, std::string* err) {
  if (text.empty()) return true;
  auto v = pc::ParseBytes(text, flag);
  if (!v.ok()) {
    *err = v.status().message();
    return false;
  }
  *out = *v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  pg::ProbeOptions opt;
  pg::BackendOptions bopt;
  std::string backend_kind = "auto", checks = "", uuids, expect_memory, expect_share, chunk,
              canary_size, scan_size, bw_size, nvml_library;
  std::vector<std::string> dev_roots;
  bool no_nvml = false, quiet = false;
  int result_fd = -1;
  double timeout_s = 600, device_timeout_s = 60;
  if (const char* p = std::getenv("DRAHIL_OPENCL_PLATFORM")) bopt.opencl_platform = p;

  CLI::App app{"drahil-probe-gpu: probe a GPU as the container sees it; JSON drahil.probe/v1 out"};
  app.add_option("--backend", backend_kind, "cuda | opencl | emulated | auto")
      ->capture_default_str();
  app.add_option("--checks", checks,
                 "comma list: enumerate,memory-capacity,memory-isolation,bandwidth,compute,health"
                 " or all (default enumerate,bandwidth,compute,health)");
  app.add_option("--device", opt.device, "runtime device index for device checks")
      ->capture_default_str();
  app.add_option("--expect-uuids", uuids, "comma list of the allocated device UUIDs");
  app.add_option("--expect-count", opt.expect_count, "number of allocated devices");
  app.add_option("--dev-root", dev_roots,
                 "directory with nvidia<N> nodes (repeatable; default /dev, plus "
                 "$DRAHIL_FAKE_ROOT/dev for the emulated backend)");
  app.add_option("--expect-memory", expect_memory, "total memory the device must report (80Gi)");
  app.add_option("--expect-share", expect_share,
                 "memory this claim may allocate (default --expect-memory)");
  app.add_option("--memory-tolerance", opt.memory_tolerance, "allowed relative deviation")
      ->capture_default_str();
  app.add_option("--fill-fraction", opt.fill_fraction, "fraction of the share that must allocate")
      ->capture_default_str();
  app.add_option("--chunk-size", chunk, "allocation chunk (default 256Mi)");
  app.add_option("--write-canary", opt.write_canary, "write a canary with this run id");
  app.add_option("--scan-canary", opt.scan_canary, "look for the canary of this run id");
  app.add_option("--sharing", opt.sharing, "exclusive | time-slicing | mps | mig")
      ->capture_default_str();
  app.add_option("--ready-file", opt.ready_file, "created once the canary is written");
  app.add_option("--hold", opt.hold_seconds, "keep the canary allocated for this many seconds");
  app.add_option("--canary-size", canary_size, "canary buffer (default 16Mi)");
  app.add_option("--scan-size", scan_size, "bytes to scan (default 256Mi)");
  app.add_option("--bandwidth-size", bw_size, "bandwidth buffer (default 64Mi)");
  app.add_option("--reps", opt.reps, "repetitions per bandwidth figure")->capture_default_str();
  app.add_option("--peak-gbps", opt.peak_gbps, "device memory peak (overrides the known table)");
  app.add_option("--min-peak-fraction", opt.min_peak_fraction, "fail below this fraction of peak");
  app.add_option("--min-host-fraction", opt.min_host_fraction,
                 "fail when kernel copy is below this fraction of host memcpy");
  app.add_option("--fma-items", opt.fma_items, "compute work items")->capture_default_str();
  app.add_option("--fma-iters", opt.fma_iters, "FMA steps per item")->capture_default_str();
  app.add_option("--solo-gflops", opt.solo_gflops, "throughput measured alone (for sharing)");
  app.add_option("--min-solo-fraction", opt.min_solo_fraction, "fail below this fraction of solo");
  app.add_option("--stress-seconds", opt.stress_seconds, "health stress duration")
      ->capture_default_str();
  app.add_option("--event-window-ms", opt.event_window_ms, "how long to collect NVML events")
      ->capture_default_str();
  app.add_option("--gpurt-library", bopt.gpurt_library,
                 "emulated runtime (default $DRAHIL_GPURT_LIBRARY, else libdrahil-gpurt.so)");
  app.add_option("--nvml-library", nvml_library,
                 "NVML (default $DRAHIL_NVML_LIBRARY, else libnvidia-ml.so.1)");
  app.add_flag("--no-nvml", no_nvml, "do not load NVML");
  app.add_option("--opencl-platform", bopt.opencl_platform,
                 "OpenCL platform name substring (default $DRAHIL_OPENCL_PLATFORM, else first)");
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

  auto usage = [&](const std::string& msg) {
    std::cerr << "drahil-probe-gpu: " << msg << "\n";
    return pc::kExitUsage;
  };
  std::string err;
  if (!checks.empty()) {
    opt.checks = checks == "all" ? pg::AllCheckNames() : drahil::Split(checks, ',', kList);
  }
  opt.expect_uuids = drahil::Split(uuids, ',', kList);
  uint64_t v = 0;
  if (!expect_memory.empty()) {
    if (!ParseSize(expect_memory, "--expect-memory", &v, &err)) return usage(err);
    opt.expect_memory = v;
  }
  if (!expect_share.empty()) {
    if (!ParseSize(expect_share, "--expect-share", &v, &err)) return usage(err);
    opt.expect_share = v;
  }
  if (!ParseSize(chunk, "--chunk-size", &opt.chunk_bytes, &err) ||
      !ParseSize(canary_size, "--canary-size", &opt.canary_bytes, &err) ||
      !ParseSize(scan_size, "--scan-size", &opt.scan_bytes, &err) ||
      !ParseSize(bw_size, "--bandwidth-size", &opt.bandwidth_bytes, &err)) {
    return usage(err);
  }
  if (auto st = pg::ValidateOptions(opt); !st.ok()) return usage(st.message());
  if (timeout_s <= 0 || device_timeout_s <= 0) return usage("timeouts must be positive");
  bopt.device_timeout = std::chrono::milliseconds(static_cast<int64_t>(device_timeout_s * 1000));

  auto fd = pc::ResolveResultFd(result_fd);
  if (!fd.ok()) return usage(fd.status().message());

  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  pc::ProbeReport report("gpu", backend_kind);
  report.parameters() = {{"checks", opt.checks},
                         {"device", opt.device},
                         {"expect_uuids", opt.expect_uuids},
                         {"expect_count", opt.expect_count},
                         {"sharing", opt.sharing},
                         {"timeout_s", timeout_s},
                         {"device_timeout_s", device_timeout_s}};
  if (opt.expect_memory) report.parameters()["expect_memory"] = *opt.expect_memory;
  if (opt.expect_share) report.parameters()["expect_share"] = *opt.expect_share;

  // Watchdog: a device call that never returns (a wedged GPU, a runtime that
  // ignores our timeouts) must still end the probe with a document and exit 3.
  std::atomic<const char*> current{"startup"};
  std::atomic<bool> done{false};
  // The watchdog works on its own copy: main keeps adding parameters.
  const nlohmann::json watchdog_params = report.parameters();
  std::thread watchdog([&] {
    pc::Deadline deadline(std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000)));
    std::optional<pc::Deadline> grace;
    while (!done.load()) {
      if (pg::StopRequested().load() && !grace) grace.emplace(std::chrono::seconds(5));
      bool expired = deadline.Expired() || (grace && grace->Expired());
      if (expired) {
        pc::ProbeReport fatal("gpu", backend_kind);
        fatal.parameters() = watchdog_params;
        fatal.SetFatal(
            std::string(grace ? "interrupted"
                              : "watchdog: no result within " + std::to_string(timeout_s) + " s") +
            " (during " + current.load() + ")");
        fatal.Finish();
        Emit(fatal, *fd, quiet);
        std::_Exit(pc::kExitEnvironment);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });

  auto backend = pg::OpenBackend(backend_kind, bopt);
  if (!backend.ok()) {
    report.SetFatal("backend " + backend_kind + ": " + backend.status().ToString());
  } else {
    std::string kind = (*backend)->name();
    report.set_backend(kind);
    opt.nvml_required = kind == "cuda" || kind == "emulated";
    opt.dev_roots = dev_roots.empty() ? std::vector<std::string>{"/dev"} : dev_roots;
    const char* root = std::getenv("DRAHIL_FAKE_ROOT");
    if (dev_roots.empty() && kind == "emulated" && root != nullptr && *root != '\0') {
      opt.dev_roots.push_back(std::string(root) + "/dev");
    }
    std::unique_ptr<pg::NvmlView> nvml;
    if (no_nvml) {
      opt.nvml_required = false;
      opt.nvml_error = "disabled by --no-nvml";
    } else {
      auto n = pg::NvmlView::Load(nvml_library);
      if (n.ok()) {
        nvml = std::move(*n);
        report.parameters()["nvml_library"] = nvml->library();
        report.parameters()["nvml_driver_version"] = nvml->driver_version();
      } else {
        opt.nvml_error = n.status().ToString();
      }
    }
    pg::RunChecks(**backend, nvml.get(), opt, report, &current);
  }
  int rc = report.Finish();
  Emit(report, *fd, quiet);
  done.store(true);
  watchdog.join();
  return rc;
}
