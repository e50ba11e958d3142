// The emulated backend: drahil's GPU runtime (fakes/gpurt), loaded with
// dlopen() exactly as a vendor runtime would be, so the probe links nothing
// from fakes/. Only the C ABI header drahil/gpurt/gpurt.h is included.
#include <dlfcn.h>

#include <cstdlib>
#include <memory>
#include <set>
#include <vector>

#include "drahil/gpurt/gpurt.h"
#include "drahil/probe_common/util.hpp"
#include "drahil/probe_gpu/backend.hpp"

namespace drahil::probe_gpu {
namespace {

// Api: the resolved entry points; shared by the backend and its devices.
struct Api {
  void* lib = nullptr;
  bool initialised = false;
  gpurtInit_fn init = nullptr;
  gpurtShutdown_fn shutdown = nullptr;
  gpurtGetAbiVersion_fn abi = nullptr;
  gpurtGetErrorString_fn error_string = nullptr;
  gpurtGetLastErrorDetail_fn detail = nullptr;
  gpurtDeviceCount_fn count = nullptr;
  gpurtGetDeviceInfo_fn info = nullptr;
  gpurtMemGetInfo_fn mem_info = nullptr;
  gpurtMalloc_fn malloc_ = nullptr;
  gpurtFree_fn free_ = nullptr;
  gpurtMemcpyHtoD_fn htod = nullptr;
  gpurtMemcpyDtoH_fn dtoh = nullptr;
  gpurtMemcpyDtoD_fn dtod = nullptr;
  gpurtLaunch_fn launch = nullptr;

  ~Api() {
    if (initialised) shutdown();
    // Kept loaded once initialised, as the NVML view does (nvml.cpp): the
    // runtime's process-wide state outlives its shutdown.
    if (lib != nullptr && !initialised) dlclose(lib);
  }

  Status Check(gpurtError_t e, const std::string& call) const {
    if (e == GPURT_SUCCESS) return OkStatus();
    std::string msg = call + ": " + error_string(e);
    const char* d = detail();
    if (d != nullptr && *d != '\0') msg += " (" + std::string(d) + ")";
    switch (e) {
      case GPURT_ERROR_OUT_OF_MEMORY:
      case GPURT_ERROR_MEMORY_LIMIT:
        return ResourceExhaustedError(msg);
      case GPURT_ERROR_NO_DEVICE:
      case GPURT_ERROR_INVALID_DEVICE:
        return NotFoundError(msg);
      case GPURT_ERROR_NO_FAKE_ROOT:
      case GPURT_ERROR_OPENCL:
        return FailedPreconditionError(msg);
      case GPURT_ERROR_DEVICE_LOST:
        return UnavailableError(msg);
      case GPURT_ERROR_ECC_UNCORRECTABLE:
        return Status(Code::kDataLoss, msg);
      case GPURT_ERROR_LAUNCH_FAILED:
        return AbortedError(msg);
      case GPURT_ERROR_INVALID_VALUE:
        return InvalidArgumentError(msg);
      case GPURT_ERROR_NOT_SUPPORTED:
        return UnimplementedError(msg);
      default:
        return InternalError(msg);
    }
  }
};

DeviceInfo Convert(int index, const gpurtDeviceInfo& g) {
  DeviceInfo d;
  d.index = index;
  d.uuid = g.uuid;
  d.name = g.name;
  d.pci_bus_id = g.pci_bus_id;
  d.memory_bytes = g.total_mem;
  d.memory_limit_bytes = g.mem_limit;
  d.compute_units = g.sm_count;
  d.active_compute_units = g.active_sm_count;
  d.minor = static_cast<int>(g.minor);
  d.is_mig = g.is_mig != 0;
  if (d.is_mig) d.parent_uuid = g.parent_uuid;
  // No peak: the emulated memory is host memory behind PoCL, so a fraction of
  // an HBM spec figure would mean nothing. Bandwidth is compared with the host
  // memcpy baseline instead.
  return d;
}

class EmulatedDevice final : public GpuDevice {
 public:
  EmulatedDevice(std::shared_ptr<Api> api, int index, DeviceInfo info,
                 std::chrono::milliseconds timeout)
      : api_(std::move(api)), index_(index), info_(std::move(info)), timeout_(timeout) {}
  ~EmulatedDevice() override {
    for (auto p : live_) api_->free_(index_, p);
  }

  const DeviceInfo& info() const override { return info_; }

  Result<DeviceBuffer> Allocate(uint64_t bytes) override {
    gpurtDevPtr p = 0;
    // gpurt enforces limits at allocation time (no lazy backing), and its
    // memory is the node file: touching it would write real pages, so the
    // probe does not.
    DRAHIL_RETURN_IF_ERROR(api_->Check(api_->malloc_(index_, &p, bytes),
                                       "gpurtMalloc(" + std::to_string(bytes) + ")"));
    live_.insert(p);
    return DeviceBuffer(this, p, bytes);
  }

  Status Write(const DeviceBuffer& dst, uint64_t offset, const void* src, uint64_t bytes) override {
    return api_->Check(api_->htod(index_, dst.handle() + offset, src, bytes), "gpurtMemcpyHtoD");
  }
  Status Read(void* dst, const DeviceBuffer& src, uint64_t offset, uint64_t bytes) override {
    return api_->Check(api_->dtoh(index_, dst, src.handle() + offset, bytes), "gpurtMemcpyDtoH");
  }

  Result<double> CopyEngine(const DeviceBuffer& dst, const DeviceBuffer& src, uint64_t bytes,
                            int reps) override {
    probe_common::Deadline deadline(timeout_);
    auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) {
      DRAHIL_RETURN_IF_ERROR(
          api_->Check(api_->dtod(index_, dst.handle(), src.handle(), bytes), "gpurtMemcpyDtoD"));
      if (deadline.Expired()) return DeadlineExceededError("device copies exceeded the timeout");
    }
    return probe_common::SecondsSince(t0);
  }

  Result<double> KernelCopy(const DeviceBuffer& dst, const DeviceBuffer& src, uint64_t bytes,
                            int reps) override {
    if (bytes % 4 != 0) return InvalidArgumentError("kernel copy size must be a multiple of 4");
    gpurtLaunchParams p{};
    p.struct_size = sizeof(p);
    p.kernel = GPURT_KERNEL_COPY;
    p.n = bytes / 4;
    p.a = src.handle();
    p.c = dst.handle();
    probe_common::Deadline deadline(timeout_);
    auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) {
      DRAHIL_RETURN_IF_ERROR(api_->Check(api_->launch(index_, &p), "gpurtLaunch(COPY)"));
      if (deadline.Expired()) return DeadlineExceededError("copy kernels exceeded the timeout");
    }
    return probe_common::SecondsSince(t0);
  }

  Result<double> Fma(const DeviceBuffer& a, const DeviceBuffer& b, const DeviceBuffer& c,
                     uint64_t n, float alpha, uint32_t iters) override {
    gpurtLaunchParams p{};
    p.struct_size = sizeof(p);
    p.kernel = GPURT_KERNEL_FMA;
    p.n = n;
    p.a = a.handle();
    p.b = b.handle();
    p.c = c.handle();
    p.alpha = alpha;
    p.iterations = iters;
    auto t0 = std::chrono::steady_clock::now();
    DRAHIL_RETURN_IF_ERROR(api_->Check(api_->launch(index_, &p), "gpurtLaunch(FMA)"));
    double wall = probe_common::SecondsSince(t0);
    return p.elapsed_ns > 0 ? static_cast<double>(p.elapsed_ns) / 1e9 : wall;
  }

  Result<double> ReduceSum(const DeviceBuffer& in, uint64_t n) override {
    DRAHIL_ASSIGN_OR_RETURN(auto out, Allocate(sizeof(float)));
    gpurtLaunchParams p{};
    p.struct_size = sizeof(p);
    p.kernel = GPURT_KERNEL_REDUCE_SUM;
    p.n = n;
    p.a = in.handle();
    p.c = out.handle();
    DRAHIL_RETURN_IF_ERROR(api_->Check(api_->launch(index_, &p), "gpurtLaunch(REDUCE_SUM)"));
    float sum = 0;
    DRAHIL_RETURN_IF_ERROR(Read(&sum, out, 0, sizeof(sum)));
    return static_cast<double>(sum);
  }

  Result<std::pair<uint64_t, uint64_t>> MemoryInfo() override {
    unsigned long long free_b = 0, total = 0;
    DRAHIL_RETURN_IF_ERROR(api_->Check(api_->mem_info(index_, &free_b, &total), "gpurtMemGetInfo"));
    return std::make_pair(static_cast<uint64_t>(free_b), static_cast<uint64_t>(total));
  }

 protected:
  void FreeHandle(uint64_t handle) noexcept override {
    if (live_.erase(handle) > 0) api_->free_(index_, handle);
  }

 private:
  std::shared_ptr<Api> api_;
  int index_;
  DeviceInfo info_;
  std::chrono::milliseconds timeout_;
  std::set<gpurtDevPtr> live_;
};

class EmulatedBackend final : public GpuBackend {
 public:
  EmulatedBackend(std::shared_ptr<Api> api, std::chrono::milliseconds timeout)
      : api_(std::move(api)), timeout_(timeout) {}
  std::string name() const override { return "emulated"; }

  Result<std::vector<DeviceInfo>> Devices() override {
    int n = 0;
    gpurtError_t e = api_->count(&n);
    if (e == GPURT_ERROR_NO_DEVICE) return std::vector<DeviceInfo>{};
    DRAHIL_RETURN_IF_ERROR(api_->Check(e, "gpurtDeviceCount"));
    std::vector<DeviceInfo> out;
    for (int i = 0; i < n; ++i) {
      gpurtDeviceInfo g{};
      g.struct_size = sizeof(g);
      DRAHIL_RETURN_IF_ERROR(api_->Check(api_->info(i, &g), "gpurtGetDeviceInfo"));
      out.push_back(Convert(i, g));
    }
    return out;
  }

  Result<std::unique_ptr<GpuDevice>> Open(int index) override {
    gpurtDeviceInfo g{};
    g.struct_size = sizeof(g);
    DRAHIL_RETURN_IF_ERROR(api_->Check(api_->info(index, &g), "gpurtGetDeviceInfo"));
    return std::unique_ptr<GpuDevice>(
        std::make_unique<EmulatedDevice>(api_, index, Convert(index, g), timeout_));
  }

 private:
  std::shared_ptr<Api> api_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

Result<std::unique_ptr<GpuBackend>> OpenEmulatedBackend(const BackendOptions& options) {
  std::string path = options.gpurt_library;
  if (path.empty()) {
    const char* env = std::getenv("DRAHIL_GPURT_LIBRARY");
    path = (env != nullptr && *env != '\0') ? env : "libdrahil-gpurt.so";
  }
  auto api = std::make_shared<Api>();
  api->lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (api->lib == nullptr) {
    const char* why = dlerror();
    return UnavailableError("dlopen " + path + ": " + (why ? why : "unknown error"));
  }
  auto sym = [&](auto& fn, const char* name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(api->lib, name));
    return fn != nullptr;
  };
  bool ok = sym(api->init, "gpurtInit") && sym(api->shutdown, "gpurtShutdown") &&
            sym(api->abi, "gpurtGetAbiVersion") && sym(api->error_string, "gpurtGetErrorString") &&
            sym(api->detail, "gpurtGetLastErrorDetail") && sym(api->count, "gpurtDeviceCount") &&
            sym(api->info, "gpurtGetDeviceInfo") && sym(api->mem_info, "gpurtMemGetInfo") &&
            sym(api->malloc_, "gpurtMalloc") && sym(api->free_, "gpurtFree") &&
            sym(api->htod, "gpurtMemcpyHtoD") && sym(api->dtoh, "gpurtMemcpyDtoH") &&
            sym(api->dtod, "gpurtMemcpyDtoD") && sym(api->launch, "gpurtLaunch");
  if (!ok) return UnavailableError(path + " lacks a gpurt entry point");
  int version = 0;
  DRAHIL_RETURN_IF_ERROR(api->Check(api->abi(&version), "gpurtGetAbiVersion"));
  if (version != GPURT_ABI_VERSION) {
    return FailedPreconditionError(path + " has gpurt ABI " + std::to_string(version) +
                                   ", the probe was built for " +
                                   std::to_string(GPURT_ABI_VERSION));
  }
  gpurtError_t e = api->init(0);
  if (e != GPURT_SUCCESS && e != GPURT_ERROR_NO_DEVICE) {
    return api->Check(e, "gpurtInit").WithContext(path);
  }
  api->initialised = e == GPURT_SUCCESS;
  if (!api->initialised) {
    // No visible device is a valid view (the driver granted nothing); report
    // it through an empty device list.
    api->initialised = true;
  }
  return std::unique_ptr<GpuBackend>(
      std::make_unique<EmulatedBackend>(std::move(api), options.device_timeout));
}

}  // namespace drahil::probe_gpu
