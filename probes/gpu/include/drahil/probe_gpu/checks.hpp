// File: checks.hpp
//
// The GPU probe's checks, written once against GpuBackend (backend.hpp) and
// NvmlView (nvml.hpp). Semantics follow docs/reference/hardware.md sections 2-3;
// docs/probes.md describes each verdict.
//
//   ProbeOptions opt;                       // defaults: see fields
//   opt.checks = {"enumerate", "compute"};
//   opt.expect_count = 1;
//   RunChecks(*backend, nvml.get(), opt, report);   // appends one CheckResult per check
//
// Every device wait is bounded by the backend's device timeout; the checks
// themselves loop only over bounded counts or until a deadline.
// Thread-safety: RunChecks runs on the calling thread; `StopRequested` may be
// set from a signal handler to end a canary hold early.
#ifndef DRAHIL_PROBE_GPU_CHECKS_HPP_INCLUDED
#define DRAHIL_PROBE_GPU_CHECKS_HPP_INCLUDED

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "drahil/probe_common/report.hpp"
#include "drahil/probe_gpu/backend.hpp"
#include "drahil/probe_gpu/nvml.hpp"

namespace drahil::probe_gpu {

// The check names, in the order `--checks all` runs them.
inline const std::vector<std::string>& AllCheckNames() {
  static const std::vector<std::string> k = {"enumerate", "memory-capacity", "memory-isolation",
                                             "bandwidth", "compute",         "health"};
  return k;
}

struct ProbeOptions {
  std::vector<std::string> checks = {"enumerate", "bandwidth", "compute", "health"};
  int device = 0;  // runtime index the device-level checks use

  // enumerate: the allocation the driver made. Empty / -1 = no expectation
  // (then NVML, runtime and nodes must merely agree and show a device).
  std::vector<std::string> expect_uuids;
  int expect_count = -1;
  std::vector<std::string> dev_roots = {"/dev"};  // where nvidia<N> nodes are looked for
  bool nvml_required = false;  // cuda/emulated: NVML missing is an error, not a note
  std::string nvml_error;      // why NVML did not load (when nvml is null)

  // memory-capacity
  std::optional<uint64_t> expect_memory;  // total the device must report
  std::optional<uint64_t> expect_share;   // what this claim may allocate (default: expect_memory)
  double memory_tolerance = 0.02;         // allowed |reported - expected| / expected
  double fill_fraction = 0.9;             // of the share that must allocate
  uint64_t chunk_bytes = 256ull << 20;

  // memory-isolation
  std::string write_canary;           // run id to write (and hold)
  std::string scan_canary;            // run id to look for
  std::string sharing = "exclusive";  // exclusive | time-slicing | mps | mig
  std::string ready_file;             // written once the canary is in place
  double hold_seconds = 0;            // keep the canary allocated this long
  uint64_t canary_bytes = 16ull << 20;
  uint64_t scan_bytes = 256ull << 20;

  // bandwidth
  uint64_t bandwidth_bytes = 64ull << 20;
  int reps = 5;
  double peak_gbps = 0;          // overrides the known device peak
  double min_peak_fraction = 0;  // fail below this fraction of peak (0 = off)
  double min_host_fraction = 0;  // fail when kernel copy < this x host memcpy (0 = off)

  // compute
  uint64_t fma_items = 1u << 20;
  uint32_t fma_iters = 256;
  double solo_gflops = 0;        // throughput measured alone; enables the fraction
  double min_solo_fraction = 0;  // fail below this fraction of solo (0 = off)

  // health
  double stress_seconds = 1.0;
  int event_window_ms = 200;
};

// StopRequested(): set to end a --hold early (SIGTERM/SIGINT in the CLI).
std::atomic<bool>& StopRequested();

// ValidateOptions(): usage errors (kInvalidArgument) before anything runs:
// unknown check names, memory-capacity without --expect-memory, both canary
// modes at once, bad sharing mode, non-positive sizes.
Status ValidateOptions(const ProbeOptions& options);

// RunChecks(): runs options.checks in order and appends their results. The
// report's devices() list is filled from the runtime (and NVML when loaded).
// `current_check` (optional) is updated with the running check's name for a
// watchdog to report.
void RunChecks(GpuBackend& backend, NvmlView* nvml, const ProbeOptions& options,
               probe_common::ProbeReport& report,
               std::atomic<const char*>* current_check = nullptr);

}  // namespace drahil::probe_gpu

#endif  // DRAHIL_PROBE_GPU_CHECKS_HPP_INCLUDED
