// File: backend.hpp
//
// The narrow device interface every GPU probe backend implements: CUDA
// (probes/gpu/cuda, only with DRAHIL_WITH_CUDA), OpenCL (any ICD; PoCL in CI)
// and emulated (drahil's libdrahil-gpurt.so, loaded with dlopen). The checks
// (checks.hpp) are written once against this interface, so their host logic is
// tested through the OpenCL and emulated backends on machines without a GPU.
// No vendor types appear here.
//
// Workloads are fixed and mirrored by CPU references (probe_common/reference.hpp):
//   KernelCopy   dst[i] = src[i] through the compute units
//   CopyEngine   a runtime device-to-device copy (DMA engine where there is one)
//   Fma          c[i] = a[i]; repeat iters: c[i] = fma(c[i], b[i], alpha)
//   ReduceSum    sum of n floats (the probe feeds small integers: exact)
//
// Every call that waits on the device returns within the device timeout given
// at open time (kDeadlineExceeded otherwise); after a timeout the device is
// unusable and the probe reports an error.
//
// Thread-safety: a backend and its devices are used from one thread.
#ifndef DRAHIL_PROBE_GPU_BACKEND_HPP_INCLUDED
#define DRAHIL_PROBE_GPU_BACKEND_HPP_INCLUDED

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "drahil/core/status.hpp"

namespace drahil::probe_gpu {

// DeviceInfo: what the runtime reports about one device it enumerates.
struct DeviceInfo {
  int index = 0;
  std::string uuid;  // "GPU-..." / "MIG-..." ("" when the runtime has none)
  std::string name;
  std::string pci_bus_id;  // "" when unknown
  uint64_t memory_bytes = 0;
  uint64_t memory_limit_bytes = 0;    // this process's cap (MPS limit) when known, else 0
  uint32_t compute_units = 0;         // SMs (CUDA, emulated) or OpenCL compute units
  uint32_t active_compute_units = 0;  // after MPS active-thread percentage; 0 = unknown
  int minor = -1;                     // /dev/nvidia<minor> when known
  bool is_mig = false;
  std::string parent_uuid;      // MIG: the GPU's UUID
  double peak_memory_gbps = 0;  // device memory peak when known (0 = unknown)
};

// DeviceBuffer: device memory owned by the GpuDevice that made it. Freed on
// destruction; must not outlive its device. Move-only.
class GpuDevice;
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(GpuDevice* owner, uint64_t handle, uint64_t bytes)
      : owner_(owner), handle_(handle), bytes_(bytes) {}
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& o) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  [[nodiscard]] uint64_t handle() const { return handle_; }
  [[nodiscard]] uint64_t bytes() const { return bytes_; }
  [[nodiscard]] bool valid() const { return owner_ != nullptr; }

 private:
  void Release();
  GpuDevice* owner_ = nullptr;
  uint64_t handle_ = 0;
  uint64_t bytes_ = 0;
};

class GpuDevice {
 public:
  virtual ~GpuDevice() = default;
  [[nodiscard]] virtual const DeviceInfo& info() const = 0;

  // Allocate(): kResourceExhausted when the device, slice or an MPS limit
  // refuses (the message says which); other codes mean the runtime broke.
  // The memory is really backed when this returns (backends touch it), so a
  // lazy allocator cannot make a refusal look like a success.
  virtual Result<DeviceBuffer> Allocate(uint64_t bytes) = 0;
  // AllocateRaw(): like Allocate() but leaves the contents as the runtime
  // hands them out (no touch, no clearing), for the canary scan: clearing
  // would erase exactly what the scan looks for.
  virtual Result<DeviceBuffer> AllocateRaw(uint64_t bytes) { return Allocate(bytes); }
  // Write()/Read(): synchronous host<->device copies.
  virtual Status Write(const DeviceBuffer& dst, uint64_t offset, const void* src,
                       uint64_t bytes) = 0;
  virtual Status Read(void* dst, const DeviceBuffer& src, uint64_t offset, uint64_t bytes) = 0;
  // CopyEngine()/KernelCopy(): `reps` back-to-back copies of `bytes`;
  // returns wall seconds for all of them, completion included.
  virtual Result<double> CopyEngine(const DeviceBuffer& dst, const DeviceBuffer& src,
                                    uint64_t bytes, int reps) = 0;
  virtual Result<double> KernelCopy(const DeviceBuffer& dst, const DeviceBuffer& src,
                                    uint64_t bytes, int reps) = 0;
  // Fma(): n items (floats) in a, b -> c; returns kernel seconds.
  virtual Result<double> Fma(const DeviceBuffer& a, const DeviceBuffer& b, const DeviceBuffer& c,
                             uint64_t n, float alpha, uint32_t iters) = 0;
  // ReduceSum(): the sum of the first n floats of `in` (n <= 65536).
  virtual Result<double> ReduceSum(const DeviceBuffer& in, uint64_t n) = 0;
  // MemoryInfo(): {free, total} as the runtime reports them; kUnimplemented
  // when it cannot say.
  virtual Result<std::pair<uint64_t, uint64_t>> MemoryInfo() = 0;

 protected:
  friend class DeviceBuffer;
  virtual void FreeHandle(uint64_t handle) noexcept = 0;
};

class GpuBackend {
 public:
  virtual ~GpuBackend() = default;
  [[nodiscard]] virtual std::string name() const = 0;  // "cuda", "opencl", "emulated"
  // Devices(): what the runtime enumerates (after CUDA_VISIBLE_DEVICES and
  // the like). An empty list is a valid answer.
  virtual Result<std::vector<DeviceInfo>> Devices() = 0;
  virtual Result<std::unique_ptr<GpuDevice>> Open(int index) = 0;
};

struct BackendOptions {
  std::string gpurt_library;    // emulated: path or soname of libdrahil-gpurt.so
  std::string opencl_platform;  // opencl: platform name substring ("" = first)
  std::chrono::milliseconds device_timeout{60000};  // bound of every device wait
};

// OpenBackend(): "cuda", "opencl", "emulated" or "auto" (cuda when built and a
// CUDA device answers, else emulated when $DRAHIL_FAKE_ROOT is set and the
// runtime library loads, else opencl). Unknown names are kInvalidArgument; a
// backend that cannot start is kUnavailable with the reason.
Result<std::unique_ptr<GpuBackend>> OpenBackend(const std::string& kind,
                                                const BackendOptions& options);

// Constructors of the individual backends (OpenBackend dispatches to them).
Result<std::unique_ptr<GpuBackend>> OpenOpenClBackend(const BackendOptions& options);
Result<std::unique_ptr<GpuBackend>> OpenEmulatedBackend(const BackendOptions& options);
// CudaBuilt(): whether this binary has the CUDA backend (DRAHIL_WITH_CUDA).
bool CudaBuilt();
Result<std::unique_ptr<GpuBackend>> OpenCudaBackend(const BackendOptions& options);

// KnownPeakMemoryGbps(): device-memory peak for a few datacenter parts by
// marketing name (docs/reference/hardware.md section 2.4: H100 SXM 3350, H200
// 4800), 0 when unknown. Spec-sheet figures, not measurements.
double KnownPeakMemoryGbps(const std::string& device_name);

}  // namespace drahil::probe_gpu

#endif  // DRAHIL_PROBE_GPU_BACKEND_HPP_INCLUDED
