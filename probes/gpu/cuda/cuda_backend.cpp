// The CUDA backend: the driver API from libcuda.so.1 opened with dlopen(),
// and the probe kernels (kernels.cu) from an embedded fatbin. <cuda.h> gives
// the types and prototypes (for decltype); nothing is linked, so the probe
// starts everywhere and reports a missing driver as "unavailable".
//
// Every wait polls a stream or event against the device timeout instead of
// blocking in cuStreamSynchronize, so a wedged GPU ends in
// kDeadlineExceeded, not a hang.
#include <cuda.h>
#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <thread>

#include "drahil/probe_common/util.hpp"
#include "drahil/probe_gpu/backend.hpp"

namespace drahil::probe_gpu {
namespace {

alignas(64) constexpr unsigned char kFatbin[] = {
#include "cuda_kernels_fatbin.inc"
};

struct Driver {
  void* lib = nullptr;
#define DRAHIL_CU_FN(name) decltype(&::name) name = nullptr
  DRAHIL_CU_FN(cuInit);
  DRAHIL_CU_FN(cuGetErrorName);
  DRAHIL_CU_FN(cuDeviceGetCount);
  DRAHIL_CU_FN(cuDeviceGet);
  DRAHIL_CU_FN(cuDeviceGetName);
  DRAHIL_CU_FN(cuDeviceGetUuid);
  DRAHIL_CU_FN(cuDeviceTotalMem);
  DRAHIL_CU_FN(cuDeviceGetAttribute);
  DRAHIL_CU_FN(cuDeviceGetPCIBusId);
  DRAHIL_CU_FN(cuDevicePrimaryCtxRetain);
  DRAHIL_CU_FN(cuDevicePrimaryCtxRelease);
  DRAHIL_CU_FN(cuCtxSetCurrent);
  DRAHIL_CU_FN(cuModuleLoadData);
  DRAHIL_CU_FN(cuModuleUnload);
  DRAHIL_CU_FN(cuModuleGetFunction);
  DRAHIL_CU_FN(cuMemAlloc);
  DRAHIL_CU_FN(cuMemFree);
  DRAHIL_CU_FN(cuMemGetInfo);
  DRAHIL_CU_FN(cuMemsetD32Async);
  DRAHIL_CU_FN(cuMemcpyHtoDAsync);
  DRAHIL_CU_FN(cuMemcpyDtoHAsync);
  DRAHIL_CU_FN(cuMemcpyDtoDAsync);
  DRAHIL_CU_FN(cuLaunchKernel);
  DRAHIL_CU_FN(cuStreamCreate);
  DRAHIL_CU_FN(cuStreamDestroy);
  DRAHIL_CU_FN(cuStreamQuery);
  DRAHIL_CU_FN(cuEventCreate);
  DRAHIL_CU_FN(cuEventDestroy);
  DRAHIL_CU_FN(cuEventRecord);
  DRAHIL_CU_FN(cuEventElapsedTime);
#undef DRAHIL_CU_FN

  ~Driver() {
    if (lib != nullptr) dlclose(lib);
  }

  Status Check(CUresult r, const std::string& call) const {
    if (r == CUDA_SUCCESS) return OkStatus();
    const char* name = nullptr;
    if (cuGetErrorName != nullptr) cuGetErrorName(r, &name);
    std::string msg = call + ": " + (name != nullptr ? name : "CUDA error") + " (" +
                      std::to_string(static_cast<int>(r)) + ")";
    switch (r) {
      case CUDA_ERROR_OUT_OF_MEMORY:
        return ResourceExhaustedError(msg);
      case CUDA_ERROR_NO_DEVICE:
      case CUDA_ERROR_INVALID_DEVICE:
        return NotFoundError(msg);
      case CUDA_ERROR_ECC_UNCORRECTABLE:
        return Status(Code::kDataLoss, msg);
      case CUDA_ERROR_LAUNCH_FAILED:
      case CUDA_ERROR_ILLEGAL_ADDRESS:
      case CUDA_ERROR_LAUNCH_TIMEOUT:
        return AbortedError(msg);
      case CUDA_ERROR_DEVICE_UNAVAILABLE:
      case CUDA_ERROR_SYSTEM_DRIVER_MISMATCH:
      case CUDA_ERROR_NOT_INITIALIZED:
        return UnavailableError(msg);
      default:
        return InternalError(msg);
    }
  }
};

Result<std::shared_ptr<Driver>> LoadDriver() {
  auto d = std::make_shared<Driver>();
  d->lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (d->lib == nullptr) {
    const char* why = dlerror();
    return UnavailableError(std::string("no CUDA driver: dlopen libcuda.so.1: ") +
                            (why ? why : "unknown error"));
  }
  bool ok = true;
  auto sym = [&](auto& fn, const char* name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(d->lib, name));
    if (fn == nullptr) ok = false;
  };
  // Exported (versioned) names, as <cuda.h>'s macros map them.
  sym(d->cuInit, "cuInit");
  sym(d->cuGetErrorName, "cuGetErrorName");
  sym(d->cuDeviceGetCount, "cuDeviceGetCount");
  sym(d->cuDeviceGet, "cuDeviceGet");
  sym(d->cuDeviceGetName, "cuDeviceGetName");
  // Either of two exported names, newest first.
  auto sym2 = [&](auto& fn, const char* newer, const char* older) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(d->lib, newer));
    if (fn == nullptr) sym(fn, older);
  };
  sym2(d->cuDeviceGetUuid, "cuDeviceGetUuid_v2", "cuDeviceGetUuid");
  sym(d->cuDeviceTotalMem, "cuDeviceTotalMem_v2");
  sym(d->cuDeviceGetAttribute, "cuDeviceGetAttribute");
  sym(d->cuDeviceGetPCIBusId, "cuDeviceGetPCIBusId");
  sym(d->cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
  sym(d->cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2");
  sym(d->cuCtxSetCurrent, "cuCtxSetCurrent");
  sym(d->cuModuleLoadData, "cuModuleLoadData");
  sym(d->cuModuleUnload, "cuModuleUnload");
  sym(d->cuModuleGetFunction, "cuModuleGetFunction");
  sym(d->cuMemAlloc, "cuMemAlloc_v2");
  sym(d->cuMemFree, "cuMemFree_v2");
  sym(d->cuMemGetInfo, "cuMemGetInfo_v2");
  sym(d->cuMemsetD32Async, "cuMemsetD32Async");
  sym(d->cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2");
  sym(d->cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2");
  sym(d->cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2");
  sym(d->cuLaunchKernel, "cuLaunchKernel");
  sym(d->cuStreamCreate, "cuStreamCreate");
  sym(d->cuStreamDestroy, "cuStreamDestroy_v2");
  sym(d->cuStreamQuery, "cuStreamQuery");
  sym(d->cuEventCreate, "cuEventCreate");
  sym(d->cuEventDestroy, "cuEventDestroy_v2");
  sym(d->cuEventRecord, "cuEventRecord");
  sym2(d->cuEventElapsedTime, "cuEventElapsedTime_v2", "cuEventElapsedTime");
  if (!ok) return UnavailableError("libcuda.so.1 lacks a driver API entry point (driver too old?)");
  DRAHIL_RETURN_IF_ERROR(d->Check(d->cuInit(0), "cuInit"));
  return d;
}

std::string FormatUuid(const CUuuid& u) {
  static const char* kHex = "0123456789abcdef";
  std::string s = "GPU-";
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    auto b = static_cast<unsigned char>(u.bytes[i]);
    s.push_back(kHex[b >> 4]);
    s.push_back(kHex[b & 15]);
  }
  return s;
}

Result<DeviceInfo> Describe(Driver& d, int index) {
  CUdevice dev = 0;
  DRAHIL_RETURN_IF_ERROR(d.Check(d.cuDeviceGet(&dev, index), "cuDeviceGet"));
  DeviceInfo info;
  info.index = index;
  char name[256] = {};
  DRAHIL_RETURN_IF_ERROR(d.Check(d.cuDeviceGetName(name, sizeof(name), dev), "cuDeviceGetName"));
  info.name = name;
  CUuuid uuid{};
  if (d.cuDeviceGetUuid(&uuid, dev) == CUDA_SUCCESS) {
    info.uuid = FormatUuid(uuid);
    // A MIG device's name carries its profile ("... MIG 1g.10gb"); CUDA then
    // reports the MIG instance's UUID, which NVML prints with "MIG-".
    if (info.name.find("MIG") != std::string::npos) {
      info.uuid = "MIG-" + info.uuid.substr(4);
      info.is_mig = true;
    }
  }
  size_t total = 0;
  DRAHIL_RETURN_IF_ERROR(d.Check(d.cuDeviceTotalMem(&total, dev), "cuDeviceTotalMem"));
  info.memory_bytes = total;
  int sms = 0;
  d.cuDeviceGetAttribute(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev);
  info.compute_units = static_cast<uint32_t>(sms);
  char bus[32] = {};
  if (d.cuDeviceGetPCIBusId(bus, sizeof(bus), dev) == CUDA_SUCCESS) info.pci_bus_id = bus;
  info.peak_memory_gbps = KnownPeakMemoryGbps(info.name);
  return info;
}

class CudaDevice final : public GpuDevice {
 public:
  CudaDevice(std::shared_ptr<Driver> d, DeviceInfo info, std::chrono::milliseconds timeout)
      : d_(std::move(d)), info_(std::move(info)), timeout_(timeout) {}

  ~CudaDevice() override {
    if (wedged_) return;  // do not block on a device that stopped answering
    d_->cuCtxSetCurrent(ctx_);
    for (auto& [p, _] : live_) d_->cuMemFree(p);
    if (start_ != nullptr) d_->cuEventDestroy(start_);
    if (stop_ != nullptr) d_->cuEventDestroy(stop_);
    if (stream_ != nullptr) d_->cuStreamDestroy(stream_);
    if (module_ != nullptr) d_->cuModuleUnload(module_);
    if (ctx_ != nullptr) d_->cuDevicePrimaryCtxRelease(dev_);
  }

  Status Init() {
    DRAHIL_RETURN_IF_ERROR(d_->Check(d_->cuDeviceGet(&dev_, info_.index), "cuDeviceGet"));
    DRAHIL_RETURN_IF_ERROR(
        d_->Check(d_->cuDevicePrimaryCtxRetain(&ctx_, dev_), "cuDevicePrimaryCtxRetain"));
    DRAHIL_RETURN_IF_ERROR(d_->Check(d_->cuCtxSetCurrent(ctx_), "cuCtxSetCurrent"));
    DRAHIL_RETURN_IF_ERROR(
        d_->Check(d_->cuModuleLoadData(&module_, kFatbin), "cuModuleLoadData(probe kernels)"));
    DRAHIL_RETURN_IF_ERROR(
        d_->Check(d_->cuModuleGetFunction(&copy_, module_, "drahil_copy_u4"), "get copy kernel"));
    DRAHIL_RETURN_IF_ERROR(
        d_->Check(d_->cuModuleGetFunction(&fma_, module_, "drahil_fma_chain"), "get fma kernel"));
    DRAHIL_RETURN_IF_ERROR(d_->Check(
        d_->cuModuleGetFunction(&reduce_, module_, "drahil_reduce_sum"), "get reduce kernel"));
    DRAHIL_RETURN_IF_ERROR(
        d_->Check(d_->cuStreamCreate(&stream_, CU_STREAM_NON_BLOCKING), "cuStreamCreate"));
    DRAHIL_RETURN_IF_ERROR(
        d_->Check(d_->cuEventCreate(&start_, CU_EVENT_DEFAULT), "cuEventCreate"));
    DRAHIL_RETURN_IF_ERROR(d_->Check(d_->cuEventCreate(&stop_, CU_EVENT_DEFAULT), "cuEventCreate"));
    return OkStatus();
  }

  const DeviceInfo& info() const override { return info_; }

  Result<DeviceBuffer> Allocate(uint64_t bytes) override {
    CUdeviceptr p = 0;
    DRAHIL_RETURN_IF_ERROR(
        d_->Check(d_->cuMemAlloc(&p, bytes), "cuMemAlloc(" + std::to_string(bytes) + ")"));
    live_.emplace(p, bytes);
    // cuMemAlloc backs memory eagerly, but under MPS a client limit can be
    // enforced late; touching it surfaces any refusal here.
    Status st = d_->Check(d_->cuMemsetD32Async(p, 0, bytes / 4, stream_), "cuMemsetD32Async");
    if (st.ok()) st = Sync();
    if (!st.ok()) {
      live_.erase(p);
      if (!wedged_) d_->cuMemFree(p);
      return st;
    }
    return DeviceBuffer(this, p, bytes);
  }

  Result<DeviceBuffer> AllocateRaw(uint64_t bytes) override {
    CUdeviceptr p = 0;
    DRAHIL_RETURN_IF_ERROR(
        d_->Check(d_->cuMemAlloc(&p, bytes), "cuMemAlloc(" + std::to_string(bytes) + ")"));
    live_.emplace(p, bytes);
    return DeviceBuffer(this, p, bytes);
  }

  Status Write(const DeviceBuffer& dst, uint64_t offset, const void* src, uint64_t bytes) override {
    DRAHIL_RETURN_IF_ERROR(d_->Check(
        d_->cuMemcpyHtoDAsync(dst.handle() + offset, src, bytes, stream_), "cuMemcpyHtoDAsync"));
    return Sync();
  }
  Status Read(void* dst, const DeviceBuffer& src, uint64_t offset, uint64_t bytes) override {
    DRAHIL_RETURN_IF_ERROR(d_->Check(
        d_->cuMemcpyDtoHAsync(dst, src.handle() + offset, bytes, stream_), "cuMemcpyDtoHAsync"));
    return Sync();
  }

  Result<double> CopyEngine(const DeviceBuffer& dst, const DeviceBuffer& src, uint64_t bytes,
                            int reps) override {
    return Timed(reps, [&] {
      return d_->Check(d_->cuMemcpyDtoDAsync(dst.handle(), src.handle(), bytes, stream_),
                       "cuMemcpyDtoDAsync");
    });
  }

  Result<double> KernelCopy(const DeviceBuffer& dst, const DeviceBuffer& src, uint64_t bytes,
                            int reps) override {
    if (bytes % 16 != 0) return InvalidArgumentError("kernel copy size must be a multiple of 16");
    CUdeviceptr d = dst.handle(), s = src.handle();
    unsigned long long n = bytes / 16;
    void* args[] = {&d, &s, &n};
    // Grid-stride: enough blocks to fill every SM several times over.
    unsigned int blocks = std::max(1u, info_.compute_units) * 8;
    return Timed(reps, [&] {
      return d_->Check(
          d_->cuLaunchKernel(copy_, blocks, 1, 1, 256, 1, 1, 0, stream_, args, nullptr),
          "launch drahil_copy_u4");
    });
  }

  Result<double> Fma(const DeviceBuffer& a, const DeviceBuffer& b, const DeviceBuffer& c,
                     uint64_t n, float alpha, uint32_t iters) override {
    CUdeviceptr pa = a.handle(), pb = b.handle(), pc = c.handle();
    unsigned long long nn = n;
    unsigned int it = iters;
    void* args[] = {&pa, &pb, &pc, &nn, &alpha, &it};
    auto blocks = static_cast<unsigned int>((n + 255) / 256);
    return Timed(1, [&] {
      return d_->Check(d_->cuLaunchKernel(fma_, blocks, 1, 1, 256, 1, 1, 0, stream_, args, nullptr),
                       "launch drahil_fma_chain");
    });
  }

  Result<double> ReduceSum(const DeviceBuffer& in, uint64_t n) override {
    constexpr unsigned int kBlocks = 64;
    DRAHIL_ASSIGN_OR_RETURN(auto partials, Allocate(kBlocks * sizeof(float)));
    CUdeviceptr pi = in.handle(), pp = partials.handle();
    unsigned long long nn = n;
    void* args[] = {&pi, &nn, &pp};
    DRAHIL_RETURN_IF_ERROR(
        d_->Check(d_->cuLaunchKernel(reduce_, kBlocks, 1, 1, 256, 1, 1, 0, stream_, args, nullptr),
                  "launch drahil_reduce_sum"));
    float host[kBlocks] = {};
    DRAHIL_RETURN_IF_ERROR(Read(host, partials, 0, sizeof(host)));
    double sum = 0;
    for (float v : host) sum += v;
    return sum;
  }

  Result<std::pair<uint64_t, uint64_t>> MemoryInfo() override {
    size_t free_b = 0, total = 0;
    DRAHIL_RETURN_IF_ERROR(d_->Check(d_->cuMemGetInfo(&free_b, &total), "cuMemGetInfo"));
    return std::make_pair(static_cast<uint64_t>(free_b), static_cast<uint64_t>(total));
  }

 protected:
  void FreeHandle(uint64_t handle) noexcept override {
    if (live_.erase(handle) > 0 && !wedged_) d_->cuMemFree(handle);
  }

 private:
  // Sync(): polls the stream until idle or the device timeout.
  Status Sync() {
    if (wedged_) return FailedPreconditionError("the CUDA device timed out earlier");
    probe_common::Deadline deadline(timeout_);
    auto sleep = std::chrono::microseconds(20);
    while (true) {
      CUresult r = d_->cuStreamQuery(stream_);
      if (r == CUDA_SUCCESS) return OkStatus();
      if (r != CUDA_ERROR_NOT_READY) return d_->Check(r, "stream");
      if (deadline.Expired()) {
        wedged_ = true;
        return DeadlineExceededError("CUDA device did not finish before the deadline");
      }
      std::this_thread::sleep_for(sleep);
      sleep = std::min(sleep * 2, std::chrono::microseconds(1000));
    }
  }

  // Timed(): `reps` enqueues between two events; seconds from the events.
  template <typename F>
  Result<double> Timed(int reps, F&& enqueue) {
    DRAHIL_RETURN_IF_ERROR(d_->Check(d_->cuEventRecord(start_, stream_), "cuEventRecord"));
    for (int r = 0; r < reps; ++r) DRAHIL_RETURN_IF_ERROR(enqueue());
    DRAHIL_RETURN_IF_ERROR(d_->Check(d_->cuEventRecord(stop_, stream_), "cuEventRecord"));
    DRAHIL_RETURN_IF_ERROR(Sync());
    float ms = 0;
    DRAHIL_RETURN_IF_ERROR(
        d_->Check(d_->cuEventElapsedTime(&ms, start_, stop_), "cuEventElapsedTime"));
    return static_cast<double>(ms) / 1e3;
  }

  std::shared_ptr<Driver> d_;
  DeviceInfo info_;
  std::chrono::milliseconds timeout_;
  CUdevice dev_ = 0;
  CUcontext ctx_ = nullptr;
  CUmodule module_ = nullptr;
  CUfunction copy_ = nullptr, fma_ = nullptr, reduce_ = nullptr;
  CUstream stream_ = nullptr;
  CUevent start_ = nullptr, stop_ = nullptr;
  std::map<CUdeviceptr, uint64_t> live_;
  bool wedged_ = false;
};

class CudaBackend final : public GpuBackend {
 public:
  CudaBackend(std::shared_ptr<Driver> d, std::chrono::milliseconds timeout)
      : d_(std::move(d)), timeout_(timeout) {}
  std::string name() const override { return "cuda"; }

  Result<std::vector<DeviceInfo>> Devices() override {
    int n = 0;
    CUresult r = d_->cuDeviceGetCount(&n);
    if (r == CUDA_ERROR_NO_DEVICE) return std::vector<DeviceInfo>{};
    DRAHIL_RETURN_IF_ERROR(d_->Check(r, "cuDeviceGetCount"));
    std::vector<DeviceInfo> out;
    for (int i = 0; i < n; ++i) {
      DRAHIL_ASSIGN_OR_RETURN(auto info, Describe(*d_, i));
      out.push_back(std::move(info));
    }
    return out;
  }

  Result<std::unique_ptr<GpuDevice>> Open(int index) override {
    DRAHIL_ASSIGN_OR_RETURN(auto info, Describe(*d_, index));
    auto dev = std::make_unique<CudaDevice>(d_, std::move(info), timeout_);
    DRAHIL_RETURN_IF_ERROR(dev->Init());
    return std::unique_ptr<GpuDevice>(std::move(dev));
  }

 private:
  std::shared_ptr<Driver> d_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

bool CudaBuilt() { return true; }

Result<std::unique_ptr<GpuBackend>> OpenCudaBackend(const BackendOptions& options) {
  DRAHIL_ASSIGN_OR_RETURN(auto d, LoadDriver());
  return std::unique_ptr<GpuBackend>(
      std::make_unique<CudaBackend>(std::move(d), options.device_timeout));
}

}  // namespace drahil::probe_gpu
