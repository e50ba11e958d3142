// File: nvml.hpp
//
// NvmlView: the probe's read-only view of NVML, loaded with dlopen() so the
// probe runs (and reports "NVML unavailable") where no driver is installed.
// The same code talks to the real libnvidia-ml.so.1 and to drahil's fake
// (fakes/nvml), which implements the same ABI (drahil/nvml/nvml_abi.h).
//
//   DRAHIL_ASSIGN_OR_RETURN(auto nvml, NvmlView::Load(""));  // default path
//   DRAHIL_ASSIGN_OR_RETURN(auto devs, nvml->Devices());
//
// Library path: the argument, else $DRAHIL_NVML_LIBRARY, else
// "libnvidia-ml.so.1" on the loader path. The destructor calls nvmlShutdown()
// and dlclose(). Thread-safety: one thread at a time.
#ifndef DRAHIL_PROBE_GPU_NVML_HPP_INCLUDED
#define DRAHIL_PROBE_GPU_NVML_HPP_INCLUDED

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "drahil/core/status.hpp"

namespace drahil::probe_gpu {

// NvmlDevice: one leaf device: a full GPU, or a MIG device of a GPU in MIG mode
// (a GPU in MIG mode is listed through its MIG devices only).
struct NvmlDevice {
  std::string uuid;
  std::string name;
  std::string pci_bus_id;
  uint64_t memory_total = 0;
  uint64_t memory_used = 0;
  int minor = -1;  // of the physical GPU
  bool is_mig = false;
  std::string parent_uuid;       // MIG: the GPU's UUID
  bool lost = false;             // NVML_ERROR_GPU_IS_LOST on a query
  uint64_t ecc_uncorrected = 0;  // volatile uncorrected ECC count (0 when unsupported)
  std::string error;             // the first query that failed, if any
};

// NvmlEvent: one event from the event set (Xid or ECC).
struct NvmlEvent {
  std::string uuid;
  std::string kind;   // "xid", "ecc-double-bit", "ecc-single-bit", "other"
  uint64_t data = 0;  // the Xid number for "xid"
};

class NvmlView {
 public:
  static Result<std::unique_ptr<NvmlView>> Load(const std::string& library);
  ~NvmlView();
  NvmlView(const NvmlView&) = delete;
  NvmlView& operator=(const NvmlView&) = delete;

  [[nodiscard]] const std::string& library() const { return library_; }
  [[nodiscard]] const std::string& driver_version() const { return driver_version_; }

  // Devices(): every leaf device NVML shows to this process.
  Result<std::vector<NvmlDevice>> Devices();
  // WatchEvents(): registers Xid/ECC events on every GPU and collects what
  // arrives within `window` (each wait is bounded; never blocks longer).
  // Events injected before the call are delivered too (the fake keeps them
  // pending per event set, as the driver does for an error already raised).
  Result<std::vector<NvmlEvent>> WatchEvents(std::chrono::milliseconds window);

 private:
  struct Impl;
  explicit NvmlView(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string library_;
  std::string driver_version_;
};

}  // namespace drahil::probe_gpu

#endif  // DRAHIL_PROBE_GPU_NVML_HPP_INCLUDED
