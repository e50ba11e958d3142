// libdrahil-gpurt.so: the emulated GPU runtime (C ABI in drahil/gpurt/gpurt.h).
//
// Device memory is the node file: a MIG device is its region of the parent's
// node file. Allocations are write locks (OFD byte-range locks) on the node
// file, so every process using the same node shares one address space, a
// crashed process frees its memory, and the fake NVML sees the memory in use.
// Kernels run on the first OpenCL device (PoCL), on a sub-device when the MPS
// active-thread percentage asks for fewer compute units.
#include "drahil/gpurt/gpurt.h"

#include <CL/cl.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "drahil/core/strings.hpp"
#include "drahil/fakenode/state.hpp"

#define GPURT_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

using drahil::Split;
using drahil::ToLower;
using drahil::Trim;
using drahil::fakenode::Fault;
using drahil::fakenode::Gpu;
using drahil::fakenode::MigDevice;

constexpr uint64_t kAlign = 4096;
constexpr uint64_t kPtrStride = 1ull << 44;  // device d's addresses: (d + 1) * 16 TiB + offset

thread_local std::string t_detail;

gpurtError_t Fail(gpurtError_t code, std::string detail) {
  t_detail = std::move(detail);
  return code;
}

struct Device {
  const Gpu* gpu = nullptr;
  const MigDevice* mig = nullptr;
  std::string uuid;
  int fd = -1;                // the node file, opened by this runtime (its own OFD)
  uint64_t region_start = 0;  // bytes into the node file
  uint64_t region_len = 0;
  uint64_t limit = 0;                   // MPS pinned-memory limit of this process
  void* map = nullptr;                  // lazily mapped region
  std::map<uint64_t, uint64_t> allocs;  // offset in region -> size
  uint64_t own_bytes = 0;
};

struct ClState {
  bool tried = false;
  cl_device_id root_device = nullptr;
  cl_device_id device = nullptr;  // sub-device when the thread percentage < 100
  cl_context context = nullptr;
  cl_command_queue queue = nullptr;
  cl_program program = nullptr;
  unsigned compute_units = 0;
  std::string error;
};

struct Runtime {
  std::mutex mu;
  bool initialized = false;
  std::string root;
  drahil::fakenode::NodeState state;
  std::vector<std::unique_ptr<Device>> devices;
  std::map<std::string, drahil::fakenode::FaultTracker> faults;
  unsigned thread_pct = 100;
  ClState cl;
};

Runtime& R() {
  static Runtime* r = new Runtime();  // never destroyed: usable from atexit handlers
  return *r;
}

// ParseMpsSize(): "4G", "4096M", "512MB", "1T", "1073741824" (powers of 1024).
std::optional<uint64_t> ParseMpsSize(const std::string& text) {
  std::string s = Trim(text);
  if (s.empty() || !std::isdigit(static_cast<unsigned char>(s[0]))) return std::nullopt;
  size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(s, &pos);
  } catch (...) {
    return std::nullopt;
  }
  std::string unit = ToLower(s.substr(pos));
  if (!unit.empty() && unit.back() == 'b') unit.pop_back();
  if (unit.size() == 2 && unit[1] == 'i') unit.pop_back();  // "Gi" reads as "G"
  double mult = 1;
  if (unit == "k")
    mult = 1024.0;
  else if (unit == "m")
    mult = 1024.0 * 1024;
  else if (unit == "g")
    mult = 1024.0 * 1024 * 1024;
  else if (unit == "t")
    mult = 1024.0 * 1024 * 1024 * 1024;
  else if (!unit.empty())
    return std::nullopt;
  return static_cast<uint64_t>(v * mult);
}

drahil::fakenode::FaultTracker& Tracker(Runtime& r, const Device& d) {
  return r.faults[drahil::fakenode::GpuKey(d.gpu->minor)];
}

bool Applies(const Fault& f, const Device& d) {
  return d.mig == nullptr || f.gi_id == drahil::fakenode::kNoInstance || f.gi_id == d.mig->gi_id;
}

enum class CallKind { kQuery, kMemory, kLaunch };

// Prologue of every device call: init, index, and the device's faults.
gpurtError_t Enter(Runtime& r, int device, CallKind kind, Device** out) {
  if (!r.initialized) return Fail(GPURT_ERROR_NOT_INITIALIZED, "gpurtInit() has not succeeded");
  if (device < 0 || static_cast<size_t>(device) >= r.devices.size()) {
    return Fail(GPURT_ERROR_INVALID_DEVICE,
                "device " + std::to_string(device) + " of " + std::to_string(r.devices.size()));
  }
  Device& d = *r.devices[static_cast<size_t>(device)];
  auto& t = Tracker(r, d);
  const auto& faults = t.Refresh(r.root, drahil::fakenode::GpuKey(d.gpu->minor));
  t.CountCall();
  for (const Fault& f : faults) {
    if (!Applies(f, d) || !t.Active(f)) continue;
    std::string what = d.uuid + ": injected fault " + drahil::fakenode::FaultToString(f);
    if (drahil::fakenode::IsLostFault(f)) return Fail(GPURT_ERROR_DEVICE_LOST, what);
    if (f.kind == "ecc" && kind != CallKind::kQuery)
      return Fail(GPURT_ERROR_ECC_UNCORRECTABLE, what);
    if (f.kind == "xid" && kind == CallKind::kLaunch) return Fail(GPURT_ERROR_LAUNCH_FAILED, what);
  }
  *out = &d;
  return GPURT_SUCCESS;
}

gpurtError_t MapRegion(Device& d) {
  if (d.map) return GPURT_SUCCESS;
  void* p = ::mmap(nullptr, d.region_len, PROT_READ | PROT_WRITE, MAP_SHARED, d.fd,
                   static_cast<off_t>(d.region_start));
  if (p == MAP_FAILED) {
    return Fail(GPURT_ERROR_OPERATING_SYSTEM,
                std::string("mmap node file: ") + std::strerror(errno));
  }
  d.map = p;
  return GPURT_SUCCESS;
}

// Resolve(): host address of [ptr, ptr + bytes), which must lie inside one
// allocation of device index dev.
gpurtError_t Resolve(Device& d, int dev, gpurtDevPtr ptr, size_t bytes, char** host) {
  uint64_t base = (static_cast<uint64_t>(dev) + 1) * kPtrStride;
  if (ptr < base || ptr >= base + kPtrStride) {
    return Fail(GPURT_ERROR_INVALID_VALUE,
                "pointer does not belong to device " + std::to_string(dev));
  }
  uint64_t off = ptr - base;
  auto it = d.allocs.upper_bound(off);
  if (it == d.allocs.begin()) return Fail(GPURT_ERROR_INVALID_VALUE, "pointer is not allocated");
  --it;
  // Written so that a huge byte count cannot wrap around.
  if (bytes > it->second || off - it->first > it->second - bytes) {
    return Fail(GPURT_ERROR_INVALID_VALUE, "range runs past the end of its allocation");
  }
  if (gpurtError_t e = MapRegion(d); e != GPURT_SUCCESS) return e;
  *host = static_cast<char*>(d.map) + off;
  return GPURT_SUCCESS;
}

const char* kKernels = R"CLC(
__kernel void vector_add(__global const float* a, __global const float* b,
                         __global float* c, ulong n) {
  size_t i = get_global_id(0);
  if (i < n) c[i] = a[i] + b[i];
}
__kernel void fma_loop(__global const float* a, __global const float* b,
                       __global float* c, float alpha, uint iters, ulong n) {
  size_t i = get_global_id(0);
  if (i >= n) return;
  float x = a[i], m = b[i];
  for (uint k = 0; k < iters; ++k) x = fma(x, m, alpha);
  c[i] = x;
}
__kernel void copy(__global const float* a, __global float* c, ulong n) {
  size_t i = get_global_id(0);
  if (i < n) c[i] = a[i];
}
__kernel void reduce_sum(__global const float* a, __global float* partial,
                         __local float* scratch, ulong n) {
  size_t i = get_global_id(0);
  size_t l = get_local_id(0);
  scratch[l] = i < n ? a[i] : 0.0f;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (size_t s = get_local_size(0) / 2; s > 0; s >>= 1) {
    if (l < s) scratch[l] += scratch[l + s];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (l == 0) partial[get_group_id(0)] = scratch[0];
}
)CLC";

// InitOpenCl(): once per process; a failure is remembered and reported on
// every launch (memory calls keep working without OpenCL).
gpurtError_t InitOpenCl(Runtime& r) {
  ClState& c = r.cl;
  if (c.tried) {
    return c.program ? GPURT_SUCCESS : Fail(GPURT_ERROR_OPENCL, c.error);
  }
  c.tried = true;
  cl_uint nplat = 0;
  cl_platform_id plats[8];
  if (clGetPlatformIDs(8, plats, &nplat) != CL_SUCCESS || nplat == 0) {
    c.error = "no OpenCL platform (is pocl-opencl-icd installed?)";
    return Fail(GPURT_ERROR_OPENCL, c.error);
  }
  for (cl_uint p = 0; p < nplat && !c.root_device; ++p) {
    cl_uint ndev = 0;
    if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 1, &c.root_device, &ndev) != CL_SUCCESS) {
      c.root_device = nullptr;
    }
  }
  if (!c.root_device) {
    c.error = "no OpenCL device";
    return Fail(GPURT_ERROR_OPENCL, c.error);
  }
  cl_uint cus = 1;
  clGetDeviceInfo(c.root_device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof(cus), &cus, nullptr);
  c.device = c.root_device;
  c.compute_units = cus;
  // The active-thread percentage limits the SMs a client may use; here it
  // limits the compute units, through a sub-device, when OpenCL can split.
  unsigned want = std::max(1u, static_cast<unsigned>(std::floor(cus * r.thread_pct / 100.0)));
  if (want < cus) {
    cl_device_partition_property props[] = {CL_DEVICE_PARTITION_EQUALLY,
                                            static_cast<cl_device_partition_property>(want), 0};
    cl_device_id sub[64];
    cl_uint nsub = 0;
    if (clCreateSubDevices(c.root_device, props, 64, sub, &nsub) == CL_SUCCESS && nsub > 0) {
      c.device = sub[0];
      c.compute_units = want;
      for (cl_uint k = 1; k < nsub; ++k) clReleaseDevice(sub[k]);
    }
  }
  cl_int err = CL_SUCCESS;
  c.context = clCreateContext(nullptr, 1, &c.device, nullptr, nullptr, &err);
  if (err != CL_SUCCESS) {
    c.error = "clCreateContext: " + std::to_string(err);
    return Fail(GPURT_ERROR_OPENCL, c.error);
  }
  c.queue = clCreateCommandQueue(c.context, c.device, 0, &err);
  if (err != CL_SUCCESS) {
    c.error = "clCreateCommandQueue: " + std::to_string(err);
    return Fail(GPURT_ERROR_OPENCL, c.error);
  }
  cl_program prog = clCreateProgramWithSource(c.context, 1, &kKernels, nullptr, &err);
  if (err == CL_SUCCESS) err = clBuildProgram(prog, 1, &c.device, "", nullptr, nullptr);
  if (err != CL_SUCCESS) {
    char log[4096] = {};
    if (prog)
      clGetProgramBuildInfo(prog, c.device, CL_PROGRAM_BUILD_LOG, sizeof(log) - 1, log, nullptr);
    c.error = "build kernels: " + std::to_string(err) + " " + log;
    return Fail(GPURT_ERROR_OPENCL, c.error);
  }
  c.program = prog;
  return GPURT_SUCCESS;
}

void ReleaseOpenCl(ClState& c) {
  if (c.program) clReleaseProgram(c.program);
  if (c.queue) clReleaseCommandQueue(c.queue);
  if (c.context) clReleaseContext(c.context);
  if (c.device && c.device != c.root_device) clReleaseDevice(c.device);
  c = ClState{};
}

void ReleaseDevices(Runtime& r) {
  for (auto& d : r.devices) {
    if (d->map) ::munmap(d->map, d->region_len);
    if (d->fd >= 0) ::close(d->fd);  // closing the OFD drops every allocation lock
  }
  r.devices.clear();
}

// SelectVisible(): CUDA_VISIBLE_DEVICES as CUDA reads it: indices, UUIDs or
// unique UUID prefixes; the first invalid entry ends the list.
std::vector<std::unique_ptr<Device>> SelectVisible(std::vector<std::unique_ptr<Device>> all) {
  const char* env = std::getenv("CUDA_VISIBLE_DEVICES");
  std::vector<std::unique_ptr<Device>> picked;
  if (env == nullptr) {
    picked = std::move(all);
  } else {
    std::string spec = Trim(env);
    if (spec.empty()) return {};
    for (const std::string& tok : Split(spec, ',', {.trim = true})) {
      std::optional<size_t> hit;
      if (!tok.empty() && std::all_of(tok.begin(), tok.end(), ::isdigit)) {
        size_t idx = std::stoul(tok);
        if (idx < all.size() && all[idx]) hit = idx;
      } else if (!tok.empty()) {
        std::string want = ToLower(tok);
        for (size_t i = 0; i < all.size(); ++i) {
          if (!all[i]) continue;
          if (ToLower(all[i]->uuid).rfind(want, 0) == 0) {
            if (hit) {  // ambiguous prefix is invalid
              hit.reset();
              break;
            }
            hit = i;
          }
        }
      }
      if (!hit) break;
      picked.push_back(std::move(all[*hit]));
    }
  }
  // One MIG device per process, as CUDA enumerates.
  bool have_mig = false;
  std::vector<std::unique_ptr<Device>> out;
  for (auto& d : picked) {
    if (d->mig) {
      if (have_mig) {
        ::close(d->fd);
        continue;
      }
      have_mig = true;
    }
    out.push_back(std::move(d));
  }
  for (auto& d : all) {
    if (d) ::close(d->fd);
  }
  return out;
}

gpurtError_t ApplyMpsEnv(Runtime& r) {
  r.thread_pct = 100;
  if (const char* pct = std::getenv("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"); pct && *pct) {
    char* end = nullptr;
    double v = std::strtod(pct, &end);
    if (end == pct || *end != '\0' || !(v > 0) || v > 100) {
      return Fail(GPURT_ERROR_INVALID_VALUE,
                  std::string("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=\"") + pct + "\": want 1..100");
    }
    r.thread_pct = static_cast<unsigned>(std::ceil(v));
  }
  for (auto& d : r.devices) d->limit = d->region_len;
  const char* lim = std::getenv("CUDA_MPS_PINNED_DEVICE_MEM_LIMIT");
  if (lim == nullptr || *lim == '\0') return GPURT_SUCCESS;
  for (const std::string& entry : Split(lim, ',', {.trim = true})) {
    size_t eq = entry.find('=');
    auto bytes = eq == std::string::npos ? std::nullopt : ParseMpsSize(entry.substr(eq + 1));
    if (!bytes) {
      return Fail(GPURT_ERROR_INVALID_VALUE, "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT entry \"" + entry +
                                                 "\": want <index|uuid>=<size>[K|M|G|T]");
    }
    std::string key = Trim(entry.substr(0, eq));
    bool matched = false;
    for (size_t i = 0; i < r.devices.size(); ++i) {
      Device& d = *r.devices[i];
      bool hit =
          (!key.empty() && std::all_of(key.begin(), key.end(), ::isdigit))
              ? std::stoul(key) == i
              : ToLower(key) == ToLower(d.uuid) || (d.mig && ToLower(key) == ToLower(d.gpu->uuid));
      if (hit) {
        d.limit = std::min(d.region_len, *bytes);
        matched = true;
      }
    }
    (void)matched;  // a limit for a device this process cannot see is ignored, as by MPS
  }
  return GPURT_SUCCESS;
}

template <typename F>
gpurtError_t Guard(F&& f) {
  try {
    t_detail.clear();
    return f();
  } catch (const std::exception& e) {
    return Fail(GPURT_ERROR_OPERATING_SYSTEM, std::string("internal error: ") + e.what());
  } catch (...) {
    return Fail(GPURT_ERROR_OPERATING_SYSTEM, "internal error");
  }
}

bool TryLock(int fd, uint64_t start, uint64_t len, short type) {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = static_cast<off_t>(start);
  fl.l_len = static_cast<off_t>(len);
  return ::fcntl(fd, F_OFD_SETLK, &fl) == 0;
}

}  // namespace

GPURT_EXPORT gpurtError_t gpurtInit(unsigned int flags) {
  return Guard([&] {
    if (flags != 0) return Fail(GPURT_ERROR_INVALID_VALUE, "flags must be 0");
    Runtime& r = R();
    std::lock_guard<std::mutex> lock(r.mu);
    if (r.initialized) return GPURT_SUCCESS;
    const char* root = std::getenv("DRAHIL_FAKE_ROOT");
    if (root == nullptr || *root == '\0') {
      return Fail(GPURT_ERROR_NO_FAKE_ROOT, "DRAHIL_FAKE_ROOT is not set");
    }
    auto state = drahil::fakenode::ReadNodeState(root);
    if (!state.ok()) return Fail(GPURT_ERROR_NO_FAKE_ROOT, state.status().ToString());
    r.root = root;
    r.state = std::move(*state);
    r.faults.clear();
    std::vector<std::unique_ptr<Device>> all;
    for (const Gpu& g : r.state.gpus) {
      if (!g.mig_enabled) {
        int fd = drahil::fakenode::OpenGpuNode(r.root, g, nullptr);
        if (fd < 0) continue;
        auto d = std::make_unique<Device>();
        d->gpu = &g;
        d->uuid = g.uuid;
        d->fd = fd;
        d->region_len = g.memory_bytes;
        all.push_back(std::move(d));
        continue;
      }
      // A GPU in MIG mode computes only through its MIG devices.
      for (const MigDevice& m : g.mig_devices) {
        std::string cap = m.cap_file.substr(m.cap_file.find('/') + 1);
        if (!drahil::fakenode::CanOpenNode(r.root, cap, m.cap_inode)) continue;
        int fd = drahil::fakenode::OpenGpuNode(r.root, g, nullptr);
        if (fd < 0) continue;
        auto d = std::make_unique<Device>();
        d->gpu = &g;
        d->mig = &m;
        d->uuid = m.uuid;
        d->fd = fd;
        d->region_start = m.memory_offset;
        d->region_len = m.memory_bytes;
        all.push_back(std::move(d));
      }
    }
    r.devices = SelectVisible(std::move(all));
    if (gpurtError_t e = ApplyMpsEnv(r); e != GPURT_SUCCESS) {
      ReleaseDevices(r);
      return e;
    }
    r.initialized = true;
    return GPURT_SUCCESS;
  });
}

GPURT_EXPORT gpurtError_t gpurtShutdown(void) {
  return Guard([&] {
    Runtime& r = R();
    std::lock_guard<std::mutex> lock(r.mu);
    if (!r.initialized) return Fail(GPURT_ERROR_NOT_INITIALIZED, "not initialised");
    ReleaseDevices(r);
    ReleaseOpenCl(r.cl);
    r.faults.clear();
    r.initialized = false;
    return GPURT_SUCCESS;
  });
}

GPURT_EXPORT gpurtError_t gpurtGetAbiVersion(int* version) {
  if (version == nullptr) return Fail(GPURT_ERROR_INVALID_VALUE, "version is NULL");
  *version = GPURT_ABI_VERSION;
  return GPURT_SUCCESS;
}

GPURT_EXPORT const char* gpurtGetErrorString(gpurtError_t error) {
  switch (error) {
    case GPURT_SUCCESS:
      return "no error";
    case GPURT_ERROR_INVALID_VALUE:
      return "invalid argument";
    case GPURT_ERROR_OUT_OF_MEMORY:
      return "out of memory";
    case GPURT_ERROR_NOT_INITIALIZED:
      return "runtime not initialized";
    case GPURT_ERROR_MEMORY_LIMIT:
      return "over the MPS pinned device memory limit";
    case GPURT_ERROR_NO_DEVICE:
      return "no GPU device is visible";
    case GPURT_ERROR_INVALID_DEVICE:
      return "invalid device ordinal";
    case GPURT_ERROR_NO_FAKE_ROOT:
      return "no emulated node root (DRAHIL_FAKE_ROOT)";
    case GPURT_ERROR_DEVICE_LOST:
      return "GPU is lost";
    case GPURT_ERROR_ECC_UNCORRECTABLE:
      return "uncorrectable ECC error";
    case GPURT_ERROR_LAUNCH_FAILED:
      return "kernel launch failed";
    case GPURT_ERROR_OPENCL:
      return "OpenCL error";
    case GPURT_ERROR_OPERATING_SYSTEM:
      return "operating system call failed";
    case GPURT_ERROR_NOT_SUPPORTED:
      return "not supported";
  }
  return "unknown error";
}

GPURT_EXPORT const char* gpurtGetLastErrorDetail(void) { return t_detail.c_str(); }

GPURT_EXPORT gpurtError_t gpurtDeviceCount(int* count) {
  return Guard([&] {
    Runtime& r = R();
    std::lock_guard<std::mutex> lock(r.mu);
    if (!r.initialized) return Fail(GPURT_ERROR_NOT_INITIALIZED, "gpurtInit() has not succeeded");
    if (count == nullptr) return Fail(GPURT_ERROR_INVALID_VALUE, "count is NULL");
    if (r.devices.empty())
      return Fail(GPURT_ERROR_NO_DEVICE, "no device node is visible to this process");
    *count = static_cast<int>(r.devices.size());
    return GPURT_SUCCESS;
  });
}

GPURT_EXPORT gpurtError_t gpurtGetDeviceInfo(int device, gpurtDeviceInfo* info) {
  return Guard([&] {
    Runtime& r = R();
    std::lock_guard<std::mutex> lock(r.mu);
    if (info == nullptr || info->struct_size < sizeof(gpurtDeviceInfo)) {
      return Fail(GPURT_ERROR_INVALID_VALUE, "info is NULL or its struct_size is too small");
    }
    Device* d = nullptr;
    if (gpurtError_t e = Enter(r, device, CallKind::kQuery, &d); e != GPURT_SUCCESS) return e;
    gpurtDeviceInfo out;
    std::memset(&out, 0, sizeof(out));
    out.struct_size = info->struct_size;
    std::string name = d->gpu->name + (d->mig ? " MIG " + d->mig->profile : "");
    std::snprintf(out.uuid, sizeof(out.uuid), "%s", d->uuid.c_str());
    std::snprintf(out.name, sizeof(out.name), "%s", name.c_str());
    std::snprintf(out.parent_uuid, sizeof(out.parent_uuid), "%s", d->gpu->uuid.c_str());
    unsigned dom = 0, bus = 0, dv = 0, fn = 0;
    std::sscanf(d->gpu->bdf.c_str(), "%x:%x:%x.%x", &dom, &bus, &dv, &fn);
    std::snprintf(out.pci_bus_id, sizeof(out.pci_bus_id), "%08X:%02X:%02X.%X", dom, bus, dv, fn);
    out.total_mem = d->region_len;
    out.mem_limit = d->limit;
    out.sm_count = d->mig ? d->mig->sm_count : d->gpu->sm_count;
    out.active_thread_percentage = r.thread_pct;
    out.active_sm_count =
        std::max(1u, static_cast<unsigned>(std::floor(out.sm_count * r.thread_pct / 100.0)));
    out.minor = d->gpu->minor;
    out.is_mig = d->mig ? 1 : 0;
    out.gpu_instance_id = d->mig ? d->mig->gi_id : drahil::fakenode::kNoInstance;
    out.compute_instance_id = d->mig ? d->mig->ci_id : drahil::fakenode::kNoInstance;
    out.cc_major = d->gpu->cc_major;
    out.cc_minor = d->gpu->cc_minor;
    std::memcpy(info, &out, sizeof(out));
    return GPURT_SUCCESS;
  });
}

GPURT_EXPORT gpurtError_t gpurtMemGetInfo(int device, unsigned long long* free_bytes,
                                          unsigned long long* total_bytes) {
  return Guard([&] {
    Runtime& r = R();
    std::lock_guard<std::mutex> lock(r.mu);
    if (free_bytes == nullptr || total_bytes == nullptr) {
      return Fail(GPURT_ERROR_INVALID_VALUE, "NULL output");
    }
    Device* d = nullptr;
    if (gpurtError_t e = Enter(r, device, CallKind::kQuery, &d); e != GPURT_SUCCESS) return e;
    uint64_t others = drahil::fakenode::LockedBytes(d->fd, d->region_start, d->region_len);
    uint64_t device_free = d->region_len - std::min(d->region_len, others + d->own_bytes);
    uint64_t limit_free = d->limit - std::min(d->limit, d->own_bytes);
    *free_bytes = std::min(device_free, limit_free);
    *total_bytes = d->region_len;  // MPS keeps reporting the whole device as total
    return GPURT_SUCCESS;
  });
}

GPURT_EXPORT gpurtError_t gpurtMalloc(int device, gpurtDevPtr* ptr, size_t bytes) {
  return Guard([&] {
    Runtime& r = R();
    std::lock_guard<std::mutex> lock(r.mu);
    if (ptr == nullptr || bytes == 0) return Fail(GPURT_ERROR_INVALID_VALUE, "NULL ptr or 0 bytes");
    Device* d = nullptr;
    if (gpurtError_t e = Enter(r, device, CallKind::kMemory, &d); e != GPURT_SUCCESS) return e;
    uint64_t size = bytes > d->region_len
                        ? UINT64_MAX
                        : (static_cast<uint64_t>(bytes) + kAlign - 1) / kAlign * kAlign;
    if (size > d->region_len) {
      return Fail(GPURT_ERROR_OUT_OF_MEMORY, std::to_string(bytes) + " bytes is more than " +
                                                 d->uuid + " has (" +
                                                 std::to_string(d->region_len) + ")");
    }
    // Only an MPS limit below the device size is a limit; otherwise a full
    // device answers out-of-memory below, as a real one does.
    if (d->limit < d->region_len && d->own_bytes + size > d->limit) {
      return Fail(GPURT_ERROR_MEMORY_LIMIT, "this process holds " + std::to_string(d->own_bytes) +
                                                " bytes; " + std::to_string(bytes) +
                                                " more exceeds CUDA_MPS_PINNED_DEVICE_MEM_LIMIT (" +
                                                std::to_string(d->limit) + ")");
    }
    // First fit over the region, skipping our own allocations and other
    // processes' locks.
    uint64_t cur = 0;
    for (int guard = 0; guard < 1000000 && cur + size <= d->region_len; ++guard) {
      auto it = d->allocs.lower_bound(cur + size);
      if (it != d->allocs.begin()) {
        auto prev = std::prev(it);
        if (prev->first + prev->second > cur) {
          cur = prev->first + prev->second;
          continue;
        }
      }
      struct flock fl {};
      fl.l_type = F_WRLCK;
      fl.l_whence = SEEK_SET;
      fl.l_start = static_cast<off_t>(d->region_start + cur);
      fl.l_len = static_cast<off_t>(size);
      if (::fcntl(d->fd, F_OFD_GETLK, &fl) != 0) {
        return Fail(GPURT_ERROR_OPERATING_SYSTEM,
                    std::string("F_OFD_GETLK: ") + std::strerror(errno));
      }
      if (fl.l_type != F_UNLCK) {
        uint64_t end = fl.l_len == 0 ? d->region_start + d->region_len
                                     : static_cast<uint64_t>(fl.l_start + fl.l_len);
        cur = (end - d->region_start + kAlign - 1) / kAlign * kAlign;
        continue;
      }
      if (!TryLock(d->fd, d->region_start + cur, size, F_WRLCK))
        continue;  // lost a race: look again
      d->allocs[cur] = size;
      d->own_bytes += size;
      *ptr = (static_cast<uint64_t>(device) + 1) * kPtrStride + cur;
      return GPURT_SUCCESS;
    }
    return Fail(GPURT_ERROR_OUT_OF_MEMORY,
                "no free range of " + std::to_string(bytes) + " bytes left in " + d->uuid);
  });
}

GPURT_EXPORT gpurtError_t gpurtFree(int device, gpurtDevPtr ptr) {
  return Guard([&] {
    Runtime& r = R();
    std::lock_guard<std::mutex> lock(r.mu);
    Device* d = nullptr;
    if (gpurtError_t e = Enter(r, device, CallKind::kQuery, &d); e != GPURT_SUCCESS) return e;
    uint64_t base = (static_cast<uint64_t>(device) + 1) * kPtrStride;
    auto it = ptr >= base ? d->allocs.find(ptr - base) : d->allocs.end();
    if (it == d->allocs.end())
      return Fail(GPURT_ERROR_INVALID_VALUE, "pointer was not returned by gpurtMalloc");
    if (!TryLock(d->fd, d->region_start + it->first, it->second, F_UNLCK)) {
      return Fail(GPURT_ERROR_OPERATING_SYSTEM, std::string("unlock: ") + std::strerror(errno));
    }
    d->own_bytes -= it->second;
    d->allocs.erase(it);
    return GPURT_SUCCESS;
  });
}

GPURT_EXPORT gpurtError_t gpurtMemcpyHtoD(int device, gpurtDevPtr dst, const void* src,
                                          size_t bytes) {
  return Guard([&] {
    Runtime& r = R();
    std::lock_guard<std::mutex> lock(r.mu);
    if (src == nullptr) return Fail(GPURT_ERROR_INVALID_VALUE, "src is NULL");
    Device* d = nullptr;
    if (gpurtError_t e = Enter(r, device, CallKind::kMemory, &d); e != GPURT_SUCCESS) return e;
    char* host = nullptr;
    if (gpurtError_t e = Resolve(*d, device, dst, bytes, &host); e != GPURT_SUCCESS) return e;
    std::memcpy(host, src, bytes);
    return GPURT_SUCCESS;
  });
}

GPURT_EXPORT gpurtError_t gpurtMemcpyDtoH(int device, void* dst, gpurtDevPtr src, size_t bytes) {
  return Guard([&] {
    Runtime& r = R();
    std::lock_guard<std::mutex> lock(r.mu);
    if (dst == nullptr) return Fail(GPURT_ERROR_INVALID_VALUE, "dst is NULL");
    Device* d = nullptr;
    if (gpurtError_t e = Enter(r, device, CallKind::kMemory, &d); e != GPURT_SUCCESS) return e;
    char* host = nullptr;
    if (gpurtError_t e = Resolve(*d, device, src, bytes, &host); e != GPURT_SUCCESS) return e;
    std::memcpy(dst, host, bytes);
    return GPURT_SUCCESS;
  });
}

GPURT_EXPORT gpurtError_t gpurtMemcpyDtoD(int device, gpurtDevPtr dst, gpurtDevPtr src,
                                          size_t bytes) {
  return Guard([&] {
    Runtime& r = R();
    std::lock_guard<std::mutex> lock(r.mu);
    Device* d = nullptr;
    if (gpurtError_t e = Enter(r, device, CallKind::kMemory, &d); e != GPURT_SUCCESS) return e;
    char *hd = nullptr, *hs = nullptr;
    if (gpurtError_t e = Resolve(*d, device, dst, bytes, &hd); e != GPURT_SUCCESS) return e;
    if (gpurtError_t e = Resolve(*d, device, src, bytes, &hs); e != GPURT_SUCCESS) return e;
    std::memmove(hd, hs, bytes);
    return GPURT_SUCCESS;
  });
}

GPURT_EXPORT gpurtError_t gpurtMemset(int device, gpurtDevPtr dst, int value, size_t bytes) {
  return Guard([&] {
    Runtime& r = R();
    std::lock_guard<std::mutex> lock(r.mu);
    Device* d = nullptr;
    if (gpurtError_t e = Enter(r, device, CallKind::kMemory, &d); e != GPURT_SUCCESS) return e;
    char* host = nullptr;
    if (gpurtError_t e = Resolve(*d, device, dst, bytes, &host); e != GPURT_SUCCESS) return e;
    std::memset(host, value, bytes);
    return GPURT_SUCCESS;
  });
}

namespace {
// ClBuffer: releases a cl_mem on scope exit.
struct ClBuffer {
  cl_mem m = nullptr;
  ~ClBuffer() {
    if (m) clReleaseMemObject(m);
  }
};
struct ClKernel {
  cl_kernel k = nullptr;
  ~ClKernel() {
    if (k) clReleaseKernel(k);
  }
};

gpurtError_t ClFail(const char* what, cl_int err) {
  return Fail(GPURT_ERROR_LAUNCH_FAILED,
              std::string(what) + ": OpenCL error " + std::to_string(err));
}
}  // namespace

GPURT_EXPORT gpurtError_t gpurtLaunch(int device, gpurtLaunchParams* p) {
  return Guard([&]() -> gpurtError_t {
    Runtime& r = R();
    std::lock_guard<std::mutex> lock(r.mu);
    if (p == nullptr || p->struct_size < sizeof(gpurtLaunchParams)) {
      return Fail(GPURT_ERROR_INVALID_VALUE, "params is NULL or its struct_size is too small");
    }
    if (p->n == 0) return Fail(GPURT_ERROR_INVALID_VALUE, "n is 0");
    Device* d = nullptr;
    if (gpurtError_t e = Enter(r, device, CallKind::kLaunch, &d); e != GPURT_SUCCESS) return e;
    if (p->n > d->region_len / sizeof(float)) {
      return Fail(GPURT_ERROR_INVALID_VALUE, "n is larger than the device memory holds");
    }
    const size_t bytes = static_cast<size_t>(p->n) * sizeof(float);
    const bool uses_b = p->kernel == GPURT_KERNEL_VECTOR_ADD || p->kernel == GPURT_KERNEL_FMA;
    const size_t out_bytes = p->kernel == GPURT_KERNEL_REDUCE_SUM ? sizeof(float) : bytes;
    if (p->kernel < GPURT_KERNEL_VECTOR_ADD || p->kernel > GPURT_KERNEL_COPY) {
      return Fail(GPURT_ERROR_INVALID_VALUE, "unknown kernel " + std::to_string(p->kernel));
    }
    char *ha = nullptr, *hb = nullptr, *hc = nullptr;
    if (gpurtError_t e = Resolve(*d, device, p->a, bytes, &ha); e != GPURT_SUCCESS) return e;
    if (uses_b) {
      if (gpurtError_t e = Resolve(*d, device, p->b, bytes, &hb); e != GPURT_SUCCESS) return e;
    }
    if (gpurtError_t e = Resolve(*d, device, p->c, out_bytes, &hc); e != GPURT_SUCCESS) return e;
    if (gpurtError_t e = InitOpenCl(r); e != GPURT_SUCCESS) return e;

    ClState& c = r.cl;
    cl_int err = CL_SUCCESS;
    // Device memory lives in the node file; kernels see a copy in OpenCL
    // buffers, and results are written back into the node file.
    ClBuffer a, b, out;
    a.m = clCreateBuffer(c.context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes, ha, &err);
    if (err != CL_SUCCESS) return ClFail("clCreateBuffer(a)", err);
    if (uses_b) {
      b.m = clCreateBuffer(c.context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes, hb, &err);
      if (err != CL_SUCCESS) return ClFail("clCreateBuffer(b)", err);
    }
    const size_t local = 64;
    const size_t global = (static_cast<size_t>(p->n) + local - 1) / local * local;
    const size_t groups = global / local;
    const size_t cl_out_bytes =
        p->kernel == GPURT_KERNEL_REDUCE_SUM ? groups * sizeof(float) : bytes;
    out.m = clCreateBuffer(c.context, CL_MEM_WRITE_ONLY, cl_out_bytes, nullptr, &err);
    if (err != CL_SUCCESS) return ClFail("clCreateBuffer(c)", err);

    static const char* kNames[] = {"", "vector_add", "fma_loop", "reduce_sum", "copy"};
    ClKernel k;
    k.k = clCreateKernel(c.program, kNames[p->kernel], &err);
    if (err != CL_SUCCESS) return ClFail("clCreateKernel", err);
    cl_ulong n = p->n;
    cl_uint iters = p->iterations == 0 ? 1 : p->iterations;
    switch (p->kernel) {
      case GPURT_KERNEL_VECTOR_ADD:
        err = clSetKernelArg(k.k, 0, sizeof(cl_mem), &a.m);
        err |= clSetKernelArg(k.k, 1, sizeof(cl_mem), &b.m);
        err |= clSetKernelArg(k.k, 2, sizeof(cl_mem), &out.m);
        err |= clSetKernelArg(k.k, 3, sizeof(n), &n);
        break;
      case GPURT_KERNEL_FMA:
        err = clSetKernelArg(k.k, 0, sizeof(cl_mem), &a.m);
        err |= clSetKernelArg(k.k, 1, sizeof(cl_mem), &b.m);
        err |= clSetKernelArg(k.k, 2, sizeof(cl_mem), &out.m);
        err |= clSetKernelArg(k.k, 3, sizeof(float), &p->alpha);
        err |= clSetKernelArg(k.k, 4, sizeof(iters), &iters);
        err |= clSetKernelArg(k.k, 5, sizeof(n), &n);
        break;
      case GPURT_KERNEL_REDUCE_SUM:
        err = clSetKernelArg(k.k, 0, sizeof(cl_mem), &a.m);
        err |= clSetKernelArg(k.k, 1, sizeof(cl_mem), &out.m);
        err |= clSetKernelArg(k.k, 2, local * sizeof(float), nullptr);
        err |= clSetKernelArg(k.k, 3, sizeof(n), &n);
        break;
      case GPURT_KERNEL_COPY:
        err = clSetKernelArg(k.k, 0, sizeof(cl_mem), &a.m);
        err |= clSetKernelArg(k.k, 1, sizeof(cl_mem), &out.m);
        err |= clSetKernelArg(k.k, 2, sizeof(n), &n);
        break;
      default:  // rejected above
        return Fail(GPURT_ERROR_INVALID_VALUE, "unknown kernel");
    }
    if (err != CL_SUCCESS) return ClFail("clSetKernelArg", err);
    auto t0 = std::chrono::steady_clock::now();
    err = clEnqueueNDRangeKernel(c.queue, k.k, 1, nullptr, &global, &local, 0, nullptr, nullptr);
    if (err != CL_SUCCESS) return ClFail("clEnqueueNDRangeKernel", err);
    err = clFinish(c.queue);
    if (err != CL_SUCCESS) return ClFail("clFinish", err);
    auto t1 = std::chrono::steady_clock::now();
    if (p->kernel == GPURT_KERNEL_REDUCE_SUM) {
      std::vector<float> partial(groups);
      err = clEnqueueReadBuffer(c.queue, out.m, CL_TRUE, 0, cl_out_bytes, partial.data(), 0,
                                nullptr, nullptr);
      if (err != CL_SUCCESS) return ClFail("clEnqueueReadBuffer", err);
      double sum = 0;
      for (float v : partial) sum += v;
      float f = static_cast<float>(sum);
      std::memcpy(hc, &f, sizeof(f));
    } else {
      err = clEnqueueReadBuffer(c.queue, out.m, CL_TRUE, 0, bytes, hc, 0, nullptr, nullptr);
      if (err != CL_SUCCESS) return ClFail("clEnqueueReadBuffer", err);
    }
    p->elapsed_ns = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
    p->compute_units_used = c.compute_units;
    return GPURT_SUCCESS;
  });
}
