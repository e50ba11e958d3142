// File: opencl.hpp
//
// A thin RAII layer over the OpenCL 1.2+ C API for the probes: pick a platform
// and device, build kernels from embedded source, allocate buffers, enqueue
// transfers and kernels, and wait for them with a deadline.
//
//   DRAHIL_ASSIGN_OR_RETURN(auto cl, ClSession::Open("", 0));  // first platform
//   DRAHIL_RETURN_IF_ERROR(cl->BuildProgram(KernelSource("copy.cl")));
//   DRAHIL_ASSIGN_OR_RETURN(auto buf, cl->Allocate(1 << 20));
//   DRAHIL_ASSIGN_OR_RETURN(auto k, cl->Kernel("copy_u4"));
//   DRAHIL_RETURN_IF_ERROR(k.SetArgs(dst.get(), buf.get(), n));
//   DRAHIL_RETURN_IF_ERROR(cl->Launch(k, n, 0));
//   DRAHIL_RETURN_IF_ERROR(cl->Finish(Deadline(5s)));
//
// Enqueue calls are asynchronous; host pointers given to Write()/Read() must
// stay valid until Finish() returns OK. Finish() polls the queue's progress
// and returns kDeadlineExceeded when the device does not finish in time; the
// session is then "wedged" and leaks its context and queue on destruction
// instead of blocking in clReleaseContext (the probe is about to exit anyway).
//
// Allocation refusals (CL_MEM_OBJECT_ALLOCATION_FAILURE, CL_OUT_OF_RESOURCES,
// CL_INVALID_BUFFER_SIZE) map to kResourceExhausted so memory-capacity checks
// can tell "refused" from "broken"; other errors are kInternal/kUnavailable
// with the OpenCL call and error name in the message.
//
// Thread-safety: a session is used by one thread at a time.
#ifndef DRAHIL_PROBE_COMMON_OPENCL_HPP_INCLUDED
#define DRAHIL_PROBE_COMMON_OPENCL_HPP_INCLUDED

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 300
#endif
#include <CL/cl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "drahil/core/status.hpp"
#include "drahil/probe_common/util.hpp"

namespace drahil::probe_common {

// ClErrorName(): "CL_OUT_OF_RESOURCES" or "CL error -9999".
std::string ClErrorName(cl_int err);
// ClStatus(): OK for CL_SUCCESS, else a Status naming `call` and the error.
Status ClStatus(cl_int err, std::string_view call);

struct ClDeviceInfo {
  std::string platform;
  std::string name;
  std::string vendor;
  std::string version;
  std::string driver_version;
  uint64_t global_mem_bytes = 0;
  uint64_t max_alloc_bytes = 0;
  uint32_t compute_units = 0;
  uint32_t max_clock_mhz = 0;
  std::string uuid;  // from cl_khr_device_uuid when offered, else ""
};

struct ClPlatformInfo {
  std::string name;
  std::string vendor;
  std::string version;
  std::vector<ClDeviceInfo> devices;
};

// ListOpenClPlatforms(): every ICD platform and its devices. No platform is
// kUnavailable (no ICD installed / no OCL_ICD_VENDORS match).
Result<std::vector<ClPlatformInfo>> ListOpenClPlatforms();

// ClBuffer: owns one cl_mem. Move-only.
class ClBuffer {
 public:
  ClBuffer() = default;
  ClBuffer(cl_mem mem, uint64_t bytes) : mem_(mem), bytes_(bytes) {}
  ~ClBuffer();
  ClBuffer(ClBuffer&& o) noexcept
      : mem_(std::exchange(o.mem_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  ClBuffer& operator=(ClBuffer&& o) noexcept;
  ClBuffer(const ClBuffer&) = delete;
  ClBuffer& operator=(const ClBuffer&) = delete;
  [[nodiscard]] cl_mem get() const { return mem_; }
  [[nodiscard]] uint64_t bytes() const { return bytes_; }

 private:
  cl_mem mem_ = nullptr;
  uint64_t bytes_ = 0;
};

// ClKernel: owns one cl_kernel. Move-only.
class ClKernel {
 public:
  ClKernel() = default;
  ClKernel(cl_kernel k, std::string name) : k_(k), name_(std::move(name)) {}
  ~ClKernel();
  ClKernel(ClKernel&& o) noexcept : k_(std::exchange(o.k_, nullptr)), name_(std::move(o.name_)) {}
  ClKernel& operator=(ClKernel&& o) noexcept;
  ClKernel(const ClKernel&) = delete;
  ClKernel& operator=(const ClKernel&) = delete;
  [[nodiscard]] cl_kernel get() const { return k_; }
  [[nodiscard]] const std::string& name() const { return name_; }

  // SetArgs(): sets arguments 0..n-1 by value (pass cl_mem for buffers).
  template <typename... Args>
  Status SetArgs(const Args&... args) {
    cl_uint index = 0;
    Status st;
    ((st.ok() ? (st = SetArg(index++, sizeof(Args), &args)) : st), ...);
    return st;
  }
  // SetLocalArg(): a __local argument of `bytes`.
  Status SetLocalArg(cl_uint index, size_t bytes) { return SetArg(index, bytes, nullptr); }

 private:
  Status SetArg(cl_uint index, size_t size, const void* value);
  cl_kernel k_ = nullptr;
  std::string name_;
};

class ClSession {
 public:
  // Open(): the first platform whose name or vendor contains `platform_match`
  // (case-insensitive; empty = first platform that has a device), and its
  // device number `device_index`. The error lists the platforms present.
  static Result<std::unique_ptr<ClSession>> Open(std::string_view platform_match, int device_index);
  ~ClSession();
  ClSession(const ClSession&) = delete;
  ClSession& operator=(const ClSession&) = delete;

  [[nodiscard]] const ClDeviceInfo& device() const { return info_; }

  // BuildProgram(): compiles source and adds it to the kernels Kernel() can
  // find; the build log is part of the error.
  Status BuildProgram(std::string_view source, std::string_view options = "");
  Result<ClKernel> Kernel(const std::string& name);

  // Allocate(): a device buffer. kResourceExhausted when refused.
  Result<ClBuffer> Allocate(uint64_t bytes);
  Status Write(const ClBuffer& dst, uint64_t offset, const void* src, uint64_t bytes);
  Status Read(void* dst, const ClBuffer& src, uint64_t offset, uint64_t bytes);
  // Copy(): a device-side buffer copy (the "copy engine" path).
  Status Copy(const ClBuffer& dst, const ClBuffer& src, uint64_t bytes);
  // Fill(): sets every 32-bit word of the first `bytes` to pattern.
  Status Fill(const ClBuffer& dst, uint32_t pattern, uint64_t bytes);
  // Launch(): 1-D NDRange; local = 0 lets the runtime choose.
  Status Launch(const ClKernel& kernel, size_t global, size_t local);
  // Finish(): waits for everything enqueued; kDeadlineExceeded on timeout.
  Status Finish(const Deadline& deadline);

  // Drain(): waits up to deadline for a wedged queue to complete after all,
  // so a runtime is not torn down (process exit) under a running kernel.
  // OK clears the wedged state.
  Status Drain(const Deadline& deadline);

  [[nodiscard]] bool wedged() const { return wedged_; }

 private:
  ClSession() = default;
  cl_context context_ = nullptr;
  cl_command_queue queue_ = nullptr;
  cl_device_id device_ = nullptr;
  std::vector<cl_program> programs_;
  ClDeviceInfo info_;
  bool wedged_ = false;
};

}  // namespace drahil::probe_common

#endif  // DRAHIL_PROBE_COMMON_OPENCL_HPP_INCLUDED
