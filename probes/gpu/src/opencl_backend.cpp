// The OpenCL backend: any ICD (PoCL on CPU in CI, vendor GPUs elsewhere).
#include <map>

#include "drahil/probe_gpu/backend.hpp"
#include "kernels.hpp"

#ifdef DRAHIL_PROBE_HAVE_OPENCL
#include "drahil/probe_common/opencl.hpp"
#endif

namespace drahil::probe_gpu {

#ifdef DRAHIL_PROBE_HAVE_OPENCL
namespace {

using probe_common::ClBuffer;
using probe_common::ClKernel;
using probe_common::ClSession;
using probe_common::Deadline;

// Work-group size of every launch (a power of two, as reduce_sum needs).
constexpr size_t kLocal = 64;

class OpenClDevice final : public GpuDevice {
 public:
  OpenClDevice(std::unique_ptr<ClSession> cl, DeviceInfo info, std::chrono::milliseconds timeout)
      : cl_(std::move(cl)), info_(std::move(info)), timeout_(timeout) {}

  Status Init() {
    DRAHIL_RETURN_IF_ERROR(cl_->BuildProgram(GpuKernelProgram(), "-cl-std=CL1.2"));
    DRAHIL_ASSIGN_OR_RETURN(copy_, cl_->Kernel("copy_u4"));
    DRAHIL_ASSIGN_OR_RETURN(fma_, cl_->Kernel("fma_chain"));
    DRAHIL_ASSIGN_OR_RETURN(reduce_, cl_->Kernel("reduce_sum"));
    return OkStatus();
  }

  const DeviceInfo& info() const override { return info_; }

  Result<DeviceBuffer> Allocate(uint64_t bytes) override {
    DRAHIL_ASSIGN_OR_RETURN(auto buf, cl_->Allocate(bytes));
    // Touch the memory: many OpenCL runtimes allocate lazily, and a refusal
    // must surface here, not in a later copy.
    DRAHIL_RETURN_IF_ERROR(cl_->Fill(buf, 0, bytes));
    DRAHIL_RETURN_IF_ERROR(cl_->Finish(Deadline(timeout_)));
    uint64_t h = next_++;
    buffers_.emplace(h, std::move(buf));
    return DeviceBuffer(this, h, bytes);
  }

  Result<DeviceBuffer> AllocateRaw(uint64_t bytes) override {
    DRAHIL_ASSIGN_OR_RETURN(auto buf, cl_->Allocate(bytes));
    uint64_t h = next_++;
    buffers_.emplace(h, std::move(buf));
    return DeviceBuffer(this, h, bytes);
  }

  Status Write(const DeviceBuffer& dst, uint64_t offset, const void* src, uint64_t bytes) override {
    DRAHIL_ASSIGN_OR_RETURN(const ClBuffer* b, Lookup(dst));
    DRAHIL_RETURN_IF_ERROR(cl_->Write(*b, offset, src, bytes));
    return cl_->Finish(Deadline(timeout_));
  }
  Status Read(void* dst, const DeviceBuffer& src, uint64_t offset, uint64_t bytes) override {
    DRAHIL_ASSIGN_OR_RETURN(const ClBuffer* b, Lookup(src));
    DRAHIL_RETURN_IF_ERROR(cl_->Read(dst, *b, offset, bytes));
    return cl_->Finish(Deadline(timeout_));
  }

  Result<double> CopyEngine(const DeviceBuffer& dst, const DeviceBuffer& src, uint64_t bytes,
                            int reps) override {
    DRAHIL_ASSIGN_OR_RETURN(const ClBuffer* d, Lookup(dst));
    DRAHIL_ASSIGN_OR_RETURN(const ClBuffer* s, Lookup(src));
    auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) DRAHIL_RETURN_IF_ERROR(cl_->Copy(*d, *s, bytes));
    DRAHIL_RETURN_IF_ERROR(cl_->Finish(Deadline(timeout_)));
    return probe_common::SecondsSince(t0);
  }

  Result<double> KernelCopy(const DeviceBuffer& dst, const DeviceBuffer& src, uint64_t bytes,
                            int reps) override {
    if (bytes % 16 != 0) return InvalidArgumentError("kernel copy size must be a multiple of 16");
    DRAHIL_ASSIGN_OR_RETURN(const ClBuffer* d, Lookup(dst));
    DRAHIL_ASSIGN_OR_RETURN(const ClBuffer* s, Lookup(src));
    cl_ulong n = bytes / 16;
    DRAHIL_RETURN_IF_ERROR(copy_.SetArgs(d->get(), s->get(), n));
    // A fixed local size: PoCL compiles one work-group function per local
    // size, and letting it choose per launch would time compilations.
    auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) DRAHIL_RETURN_IF_ERROR(cl_->Launch(copy_, n, kLocal));
    DRAHIL_RETURN_IF_ERROR(cl_->Finish(Deadline(timeout_)));
    return probe_common::SecondsSince(t0);
  }

  Result<double> Fma(const DeviceBuffer& a, const DeviceBuffer& b, const DeviceBuffer& c,
                     uint64_t n, float alpha, uint32_t iters) override {
    DRAHIL_ASSIGN_OR_RETURN(const ClBuffer* ba, Lookup(a));
    DRAHIL_ASSIGN_OR_RETURN(const ClBuffer* bb, Lookup(b));
    DRAHIL_ASSIGN_OR_RETURN(const ClBuffer* bc, Lookup(c));
    DRAHIL_RETURN_IF_ERROR(fma_.SetArgs(ba->get(), bb->get(), bc->get(), static_cast<cl_ulong>(n),
                                        alpha, static_cast<cl_uint>(iters)));
    auto t0 = std::chrono::steady_clock::now();
    DRAHIL_RETURN_IF_ERROR(cl_->Launch(fma_, n, kLocal));
    DRAHIL_RETURN_IF_ERROR(cl_->Finish(Deadline(timeout_)));
    return probe_common::SecondsSince(t0);
  }

  Result<double> ReduceSum(const DeviceBuffer& in, uint64_t n) override {
    DRAHIL_ASSIGN_OR_RETURN(const ClBuffer* b, Lookup(in));
    size_t groups = std::min<size_t>(64, (n + kLocal - 1) / kLocal);
    if (groups == 0) return 0.0;
    DRAHIL_ASSIGN_OR_RETURN(auto partials, cl_->Allocate(groups * sizeof(float)));
    DRAHIL_RETURN_IF_ERROR(reduce_.SetArgs(b->get(), static_cast<cl_ulong>(n), partials.get()));
    DRAHIL_RETURN_IF_ERROR(reduce_.SetLocalArg(3, kLocal * sizeof(float)));
    DRAHIL_RETURN_IF_ERROR(cl_->Launch(reduce_, groups * kLocal, kLocal));
    std::vector<float> host(groups);
    DRAHIL_RETURN_IF_ERROR(cl_->Read(host.data(), partials, 0, groups * sizeof(float)));
    DRAHIL_RETURN_IF_ERROR(cl_->Finish(Deadline(timeout_)));
    double sum = 0;
    for (float v : host) sum += v;
    return sum;
  }

  Result<std::pair<uint64_t, uint64_t>> MemoryInfo() override {
    return UnimplementedError("OpenCL reports no free-memory figure");
  }

 protected:
  void FreeHandle(uint64_t handle) noexcept override { buffers_.erase(handle); }

 private:
  Result<const ClBuffer*> Lookup(const DeviceBuffer& b) {
    auto it = buffers_.find(b.handle());
    if (it == buffers_.end()) return InvalidArgumentError("unknown device buffer");
    return &it->second;
  }

  std::unique_ptr<ClSession> cl_;
  DeviceInfo info_;
  std::chrono::milliseconds timeout_;
  ClKernel copy_, fma_, reduce_;
  std::map<uint64_t, ClBuffer> buffers_;
  uint64_t next_ = 1;
};

class OpenClBackend final : public GpuBackend {
 public:
  explicit OpenClBackend(const BackendOptions& o) : options_(o) {}
  std::string name() const override { return "opencl"; }

  Result<std::vector<DeviceInfo>> Devices() override {
    DRAHIL_ASSIGN_OR_RETURN(auto platforms, probe_common::ListOpenClPlatforms());
    std::string want = options_.opencl_platform;
    for (auto& c : want) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const auto& p : platforms) {
      std::string name = p.name, vendor = p.vendor;
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      for (auto& c : vendor) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (!want.empty() && name.find(want) == std::string::npos &&
          vendor.find(want) == std::string::npos) {
        continue;
      }
      if (p.devices.empty()) continue;
      std::vector<DeviceInfo> out;
      for (size_t i = 0; i < p.devices.size(); ++i) out.push_back(Convert(p.devices[i], i));
      return out;
    }
    if (want.empty()) return std::vector<DeviceInfo>{};
    return NotFoundError("no OpenCL platform matching \"" + options_.opencl_platform + "\"");
  }

  Result<std::unique_ptr<GpuDevice>> Open(int index) override {
    DRAHIL_ASSIGN_OR_RETURN(auto cl, ClSession::Open(options_.opencl_platform, index));
    DeviceInfo info = Convert(cl->device(), static_cast<size_t>(index));
    auto dev = std::make_unique<OpenClDevice>(std::move(cl), info, options_.device_timeout);
    DRAHIL_RETURN_IF_ERROR(dev->Init());
    return std::unique_ptr<GpuDevice>(std::move(dev));
  }

 private:
  static DeviceInfo Convert(const probe_common::ClDeviceInfo& d, size_t index) {
    DeviceInfo info;
    info.index = static_cast<int>(index);
    // NVIDIA's ICD reports the same 16 bytes NVML prints as "GPU-<uuid>";
    // prefix them so the enumerate check can compare the two views.
    info.uuid = (!d.uuid.empty() && d.vendor.find("NVIDIA") != std::string::npos) ? "GPU-" + d.uuid
                                                                                  : d.uuid;
    info.name = d.name;
    info.memory_bytes = d.global_mem_bytes;
    info.compute_units = d.compute_units;
    info.peak_memory_gbps = KnownPeakMemoryGbps(d.name);
    return info;
  }
  BackendOptions options_;
};

}  // namespace

Result<std::unique_ptr<GpuBackend>> OpenOpenClBackend(const BackendOptions& options) {
  auto b = std::make_unique<OpenClBackend>(options);
  // Fail early (kUnavailable) when there is no ICD at all.
  DRAHIL_RETURN_IF_ERROR(probe_common::ListOpenClPlatforms());
  return std::unique_ptr<GpuBackend>(std::move(b));
}
#else
Result<std::unique_ptr<GpuBackend>> OpenOpenClBackend(const BackendOptions&) {
  return UnavailableError("drahil-probe-gpu was built without OpenCL");
}
#endif

}  // namespace drahil::probe_gpu
