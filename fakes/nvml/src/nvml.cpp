// The fake libnvidia-ml.so.1: the NVML C ABI (drahil/nvml/nvml_abi.h) backed
// by an emulated node root ($DRAHIL_FAKE_ROOT, docs/emulation.md).
//
// Enumeration happens at nvmlInit_v2, as in the real library: a GPU is a
// device when its node file opens (host or container view); a MIG device is
// usable when its capability node opens as well. Faults are read from the
// root's state on every device call, so an injected fault shows up on the
// next call without re-initialising.
//
// Every entry point catches all exceptions: nothing may unwind into C code.
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "drahil/core/strings.hpp"
#include "drahil/fakenode/state.hpp"
#include "drahil/nvml/nvml_abi.h"

#define NVML_EXPORT extern "C" __attribute__((visibility("default")))

using drahil::fakenode::Fault;
using drahil::fakenode::Gpu;
using drahil::fakenode::MigDevice;

struct nvmlDevice_st {
  const Gpu* gpu = nullptr;
  const MigDevice* mig = nullptr;           // set for a MIG device handle
  nvmlDevice_st* parent = nullptr;          // MIG: the GPU's handle
  std::vector<nvmlDevice_st*> mig_handles;  // GPU: its usable MIG devices
  unsigned index = 0;                       // position among visible GPUs
  int fd = -1;                              // the open node file (GPU handles)
};

struct nvmlEventSet_st {
  struct Registration {
    nvmlDevice_t device;
    unsigned long long mask;
  };
  std::vector<Registration> regs;
  std::set<uint64_t> delivered;  // fault ids already delivered through this set
};

namespace {

constexpr unsigned long long kSupportedEvents =
    nvmlEventTypeXidCriticalError | nvmlEventTypeSingleBitEccError | nvmlEventTypeDoubleBitEccError;

struct Lib {
  std::mutex mu;
  int refs = 0;
  std::string root;
  drahil::fakenode::NodeState state;
  std::deque<nvmlDevice_st> handles;  // deque: handles keep their addresses
  std::vector<nvmlDevice_st*> visible;
  std::map<std::string, drahil::fakenode::FaultTracker> faults;  // by device key
  std::set<nvmlEventSet_st*> sets;
};

Lib& L() {
  static Lib* lib = new Lib();  // never destroyed: may be used from atexit handlers
  return *lib;
}

void CopyString(char* dst, unsigned len, const std::string& s) {
  std::memcpy(dst, s.c_str(), s.size() + 1);
  (void)len;
}

nvmlReturn_t PutString(char* dst, unsigned int len, const std::string& s) {
  if (dst == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (len < s.size() + 1) return NVML_ERROR_INSUFFICIENT_SIZE;
  CopyString(dst, len, s);
  return NVML_SUCCESS;
}

bool Known(Lib& l, nvmlDevice_t d) {
  if (d == nullptr) return false;
  for (const auto& h : l.handles) {
    if (&h == d) return true;
  }
  return false;
}

drahil::fakenode::FaultTracker& Tracker(Lib& l, const Gpu& gpu) {
  return l.faults[drahil::fakenode::GpuKey(gpu.minor)];
}
const std::vector<Fault>& Faults(Lib& l, const Gpu& gpu) {
  return Tracker(l, gpu).Refresh(l.root, drahil::fakenode::GpuKey(gpu.minor));
}

bool AppliesTo(const Fault& f, nvmlDevice_t d) {
  if (d->mig == nullptr || f.gi_id == drahil::fakenode::kNoInstance) return true;
  return f.gi_id == d->mig->gi_id;
}

// DeviceCall(): the common prologue of every device query: checks init and
// the handle, counts the call and reports a lost GPU.
nvmlReturn_t DeviceCall(Lib& l, nvmlDevice_t d) {
  if (l.refs == 0) return NVML_ERROR_UNINITIALIZED;
  if (!Known(l, d)) return NVML_ERROR_INVALID_ARGUMENT;
  auto& t = Tracker(l, *d->gpu);
  const auto& faults = Faults(l, *d->gpu);
  t.CountCall();
  for (const Fault& f : faults) {
    if (drahil::fakenode::IsLostFault(f) && t.Active(f)) return NVML_ERROR_GPU_IS_LOST;
  }
  return NVML_SUCCESS;
}

uint64_t EccCount(Lib& l, nvmlDevice_t d) {
  auto& t = Tracker(l, *d->gpu);
  uint64_t n = 0;
  for (const Fault& f : Faults(l, *d->gpu)) {
    if (f.kind == "ecc" && AppliesTo(f, d) && t.Active(f)) ++n;
  }
  return n;
}

nvmlReturn_t InitLocked(Lib& l) {
  if (l.refs > 0) {
    ++l.refs;
    return NVML_SUCCESS;
  }
  const char* root = std::getenv("DRAHIL_FAKE_ROOT");
  if (root == nullptr || *root == '\0') return NVML_ERROR_DRIVER_NOT_LOADED;
  auto state = drahil::fakenode::ReadNodeState(root);
  if (!state.ok()) return NVML_ERROR_DRIVER_NOT_LOADED;
  l.root = root;
  l.state = std::move(*state);
  l.handles.clear();
  l.visible.clear();
  l.faults.clear();
  for (const Gpu& g : l.state.gpus) {
    int fd = drahil::fakenode::OpenGpuNode(l.root, g, nullptr);
    if (fd < 0) continue;  // not granted to this process
    l.handles.emplace_back();
    nvmlDevice_st* h = &l.handles.back();
    h->gpu = &g;
    h->fd = fd;
    h->index = static_cast<unsigned>(l.visible.size());
    l.visible.push_back(h);
    if (!g.mig_enabled) continue;
    for (const MigDevice& m : g.mig_devices) {
      std::string cap = m.cap_file.substr(m.cap_file.find('/') + 1);  // strip "dev/"
      if (!drahil::fakenode::CanOpenNode(l.root, cap, m.cap_inode)) continue;
      l.handles.emplace_back();
      nvmlDevice_st* mh = &l.handles.back();
      mh->gpu = &g;
      mh->mig = &m;
      mh->parent = h;
      mh->index = h->index;
      h->mig_handles.push_back(mh);
    }
  }
  l.refs = 1;
  return NVML_SUCCESS;
}

void ShutdownLocked(Lib& l) {
  for (auto& h : l.handles) {
    if (h.fd >= 0) ::close(h.fd);
  }
  for (auto* s : l.sets) delete s;
  l.sets.clear();
  l.visible.clear();
  l.handles.clear();
  l.faults.clear();
  l.state = {};
  l.refs = 0;
}

template <typename F>
nvmlReturn_t Guard(F&& f) {
  try {
    return f();
  } catch (...) {
    return NVML_ERROR_UNKNOWN;
  }
}

#define WITH_DEVICE(dev)                  \
  Lib& l = L();                           \
  std::lock_guard<std::mutex> lock(l.mu); \
  if (nvmlReturn_t rc = DeviceCall(l, dev); rc != NVML_SUCCESS) return rc

unsigned SliceCount(const MigDevice& m) {
  // "3g.40gb" -> 3 compute slices.
  return static_cast<unsigned>(std::atoi(m.profile.c_str()));
}

}  // namespace

// ---- library lifetime ----

NVML_EXPORT nvmlReturn_t nvmlInit_v2(void) {
  return Guard([] {
    Lib& l = L();
    std::lock_guard<std::mutex> lock(l.mu);
    return InitLocked(l);
  });
}
NVML_EXPORT nvmlReturn_t nvmlInit(void) { return nvmlInit_v2(); }
NVML_EXPORT nvmlReturn_t nvmlInitWithFlags(unsigned int flags) {
  (void)flags;  // NO_GPUS / NO_ATTACH change nothing for an emulated node
  return nvmlInit_v2();
}

NVML_EXPORT nvmlReturn_t nvmlShutdown(void) {
  return Guard([] {
    Lib& l = L();
    std::lock_guard<std::mutex> lock(l.mu);
    if (l.refs == 0) return NVML_ERROR_UNINITIALIZED;
    if (l.refs == 1) {
      ShutdownLocked(l);  // last user: close the node files, free the event sets
    } else {
      --l.refs;
    }
    return NVML_SUCCESS;
  });
}

NVML_EXPORT const char* nvmlErrorString(nvmlReturn_t result) {
  switch (result) {
    case NVML_SUCCESS:
      return "Success";
    case NVML_ERROR_UNINITIALIZED:
      return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT:
      return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED:
      return "Not Supported";
    case NVML_ERROR_NO_PERMISSION:
      return "Insufficient Permissions";
    case NVML_ERROR_ALREADY_INITIALIZED:
      return "Already Initialized";
    case NVML_ERROR_NOT_FOUND:
      return "Not Found";
    case NVML_ERROR_INSUFFICIENT_SIZE:
      return "Insufficient Size";
    case NVML_ERROR_INSUFFICIENT_POWER:
      return "Insufficient External Power";
    case NVML_ERROR_DRIVER_NOT_LOADED:
      return "Driver Not Loaded";
    case NVML_ERROR_TIMEOUT:
      return "Timeout";
    case NVML_ERROR_IRQ_ISSUE:
      return "Interrupt Request Issue";
    case NVML_ERROR_LIBRARY_NOT_FOUND:
      return "NVML Shared Library Not Found";
    case NVML_ERROR_FUNCTION_NOT_FOUND:
      return "Function Not Found";
    case NVML_ERROR_CORRUPTED_INFOROM:
      return "Corrupted infoROM";
    case NVML_ERROR_GPU_IS_LOST:
      return "GPU is lost";
    case NVML_ERROR_RESET_REQUIRED:
      return "GPU requires restart";
    case NVML_ERROR_OPERATING_SYSTEM:
      return "The operating system has blocked the request";
    case NVML_ERROR_LIB_RM_VERSION_MISMATCH:
      return "RM has detected an NVML/RM version mismatch";
    case NVML_ERROR_IN_USE:
      return "In use by another client";
    case NVML_ERROR_MEMORY:
      return "Insufficient Memory";
    case NVML_ERROR_NO_DATA:
      return "No data";
    case NVML_ERROR_INSUFFICIENT_RESOURCES:
      return "Insufficient resources";
    case NVML_ERROR_ARGUMENT_VERSION_MISMATCH:
      return "Version mismatch";
    case NVML_ERROR_NOT_READY:
      return "Not ready";
    case NVML_ERROR_GPU_NOT_FOUND:
      return "GPU not found";
    case NVML_ERROR_INVALID_STATE:
      return "Invalid state";
    default:
      return "Unknown Error";
  }
}

NVML_EXPORT nvmlReturn_t nvmlSystemGetDriverVersion(char* version, unsigned int length) {
  return Guard([&] {
    Lib& l = L();
    std::lock_guard<std::mutex> lock(l.mu);
    if (l.refs == 0) return NVML_ERROR_UNINITIALIZED;
    return PutString(version, length, l.state.driver_version);
  });
}

NVML_EXPORT nvmlReturn_t nvmlSystemGetNVMLVersion(char* version, unsigned int length) {
  return Guard([&] {
    Lib& l = L();
    std::lock_guard<std::mutex> lock(l.mu);
    // The real library answers this before nvmlInit too; we need the root.
    if (l.refs == 0) return NVML_ERROR_UNINITIALIZED;
    return PutString(version, length, l.state.nvml_version);
  });
}

NVML_EXPORT nvmlReturn_t nvmlSystemGetCudaDriverVersion(int* v) {
  return Guard([&] {
    Lib& l = L();
    std::lock_guard<std::mutex> lock(l.mu);
    if (l.refs == 0) return NVML_ERROR_UNINITIALIZED;
    if (v == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
    *v = l.state.cuda_driver_version;
    return NVML_SUCCESS;
  });
}
NVML_EXPORT nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int* v) {
  return nvmlSystemGetCudaDriverVersion(v);
}

// ---- enumeration ----

NVML_EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int* count) {
  return Guard([&] {
    Lib& l = L();
    std::lock_guard<std::mutex> lock(l.mu);
    if (l.refs == 0) return NVML_ERROR_UNINITIALIZED;
    if (count == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
    *count = static_cast<unsigned>(l.visible.size());
    return NVML_SUCCESS;
  });
}
NVML_EXPORT nvmlReturn_t nvmlDeviceGetCount(unsigned int* count) {
  return nvmlDeviceGetCount_v2(count);
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t* device) {
  return Guard([&] {
    Lib& l = L();
    std::lock_guard<std::mutex> lock(l.mu);
    if (l.refs == 0) return NVML_ERROR_UNINITIALIZED;
    if (device == nullptr || index >= l.visible.size()) return NVML_ERROR_INVALID_ARGUMENT;
    if (nvmlReturn_t rc = DeviceCall(l, l.visible[index]); rc != NVML_SUCCESS) return rc;
    *device = l.visible[index];
    return NVML_SUCCESS;
  });
}
NVML_EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t* device) {
  return nvmlDeviceGetHandleByIndex_v2(index, device);
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetHandleByUUID(const char* uuid, nvmlDevice_t* device) {
  return Guard([&] {
    Lib& l = L();
    std::lock_guard<std::mutex> lock(l.mu);
    if (l.refs == 0) return NVML_ERROR_UNINITIALIZED;
    if (uuid == nullptr || device == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
    std::string want = drahil::ToLower(uuid);
    for (auto& h : l.handles) {
      const std::string& id = h.mig ? h.mig->uuid : h.gpu->uuid;
      if (drahil::ToLower(id) == want) {
        if (nvmlReturn_t rc = DeviceCall(l, &h); rc != NVML_SUCCESS) return rc;
        *device = &h;
        return NVML_SUCCESS;
      }
    }
    return NVML_ERROR_NOT_FOUND;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetHandleByPciBusId_v2(const char* bus_id,
                                                          nvmlDevice_t* device) {
  return Guard([&] {
    Lib& l = L();
    std::lock_guard<std::mutex> lock(l.mu);
    if (l.refs == 0) return NVML_ERROR_UNINITIALIZED;
    if (bus_id == nullptr || device == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
    unsigned dom = 0, bus = 0, dev = 0, fn = 0;
    if (std::sscanf(bus_id, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) != 4) {
      dom = 0;
      if (std::sscanf(bus_id, "%x:%x.%x", &bus, &dev, &fn) != 3) return NVML_ERROR_INVALID_ARGUMENT;
    }
    for (nvmlDevice_st* h : l.visible) {
      unsigned d2 = 0, b2 = 0, v2 = 0, f2 = 0;
      std::sscanf(h->gpu->bdf.c_str(), "%x:%x:%x.%x", &d2, &b2, &v2, &f2);
      if (d2 == dom && b2 == bus && v2 == dev && f2 == fn) {
        if (nvmlReturn_t rc = DeviceCall(l, h); rc != NVML_SUCCESS) return rc;
        *device = h;
        return NVML_SUCCESS;
      }
    }
    return NVML_ERROR_NOT_FOUND;
  });
}

// ---- identity ----

NVML_EXPORT nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char* name, unsigned int length) {
  return Guard([&] {
    WITH_DEVICE(device);
    std::string n = device->gpu->name;
    if (device->mig) n += " MIG " + device->mig->profile;
    return PutString(name, length, n);
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char* uuid, unsigned int length) {
  return Guard([&] {
    WITH_DEVICE(device);
    return PutString(uuid, length, device->mig ? device->mig->uuid : device->gpu->uuid);
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetSerial(nvmlDevice_t device, char* serial,
                                             unsigned int length) {
  return Guard([&] {
    WITH_DEVICE(device);
    return PutString(serial, length, device->gpu->serial);
  });
}

namespace {
void FillPci(const Gpu& g, nvmlPciInfo_t* pci) {
  unsigned dom = 0, bus = 0, dev = 0, fn = 0;
  std::sscanf(g.bdf.c_str(), "%x:%x:%x.%x", &dom, &bus, &dev, &fn);
  std::memset(pci, 0, sizeof(*pci));
  std::snprintf(pci->busIdLegacy, sizeof(pci->busIdLegacy), "%04X:%02X:%02X.0", dom, bus, dev);
  std::snprintf(pci->busId, sizeof(pci->busId), "%08X:%02X:%02X.0", dom, bus, dev);
  pci->domain = dom;
  pci->bus = bus;
  pci->device = dev;
  pci->pciDeviceId = (g.device_id << 16) | g.vendor_id;
  pci->pciSubSystemId = (g.subsystem_device_id << 16) | g.subsystem_vendor_id;
}
}  // namespace

NVML_EXPORT nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t* pci) {
  return Guard([&] {
    WITH_DEVICE(device);
    if (pci == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
    FillPci(*device->gpu, pci);
    return NVML_SUCCESS;
  });
}

// ---- NVLink ----

NVML_EXPORT nvmlReturn_t nvmlDeviceGetNvLinkState(nvmlDevice_t device, unsigned int link,
                                                  nvmlEnableState_t* active) {
  return Guard([&] {
    WITH_DEVICE(device);
    if (active == nullptr || link >= NVML_NVLINK_MAX_LINKS) return NVML_ERROR_INVALID_ARGUMENT;
    if (device->mig || device->gpu->nvlink_peers.empty()) return NVML_ERROR_NOT_SUPPORTED;
    *active =
        link < device->gpu->nvlink_peers.size() ? NVML_FEATURE_ENABLED : NVML_FEATURE_DISABLED;
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetNvLinkRemotePciInfo_v2(nvmlDevice_t device, unsigned int link,
                                                             nvmlPciInfo_t* pci) {
  return Guard([&] {
    WITH_DEVICE(device);
    if (pci == nullptr || link >= NVML_NVLINK_MAX_LINKS) return NVML_ERROR_INVALID_ARGUMENT;
    if (device->mig || device->gpu->nvlink_peers.empty()) return NVML_ERROR_NOT_SUPPORTED;
    if (link >= device->gpu->nvlink_peers.size()) return NVML_ERROR_NOT_FOUND;
    // The peer is described even when this process cannot open it: the link
    // exists in hardware whatever the container was granted.
    for (const Gpu& g : l.state.gpus) {
      if (g.minor == device->gpu->nvlink_peers[link]) {
        FillPci(g, pci);
        return NVML_SUCCESS;
      }
    }
    return NVML_ERROR_NOT_FOUND;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetMinorNumber(nvmlDevice_t device, unsigned int* minor) {
  return Guard([&] {
    WITH_DEVICE(device);
    if (minor == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
    *minor = device->gpu->minor;
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t device, unsigned int* index) {
  return Guard([&] {
    WITH_DEVICE(device);
    if (index == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
    *index = device->index;
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetArchitecture(nvmlDevice_t device,
                                                   nvmlDeviceArchitecture_t* arch) {
  return Guard([&] {
    WITH_DEVICE(device);
    if (arch == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
    static const std::map<std::string, unsigned> kArch = {
        {"kepler", NVML_DEVICE_ARCH_KEPLER},
        {"maxwell", NVML_DEVICE_ARCH_MAXWELL},
        {"pascal", NVML_DEVICE_ARCH_PASCAL},
        {"volta", NVML_DEVICE_ARCH_VOLTA},
        {"turing", NVML_DEVICE_ARCH_TURING},
        {"ampere", NVML_DEVICE_ARCH_AMPERE},
        {"ada", NVML_DEVICE_ARCH_ADA},
        {"hopper", NVML_DEVICE_ARCH_HOPPER},
        {"blackwell", NVML_DEVICE_ARCH_BLACKWELL}};
    auto it = kArch.find(device->gpu->architecture);
    *arch = it == kArch.end() ? NVML_DEVICE_ARCH_UNKNOWN : it->second;
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t device, int* major,
                                                            int* minor) {
  return Guard([&] {
    WITH_DEVICE(device);
    if (major == nullptr || minor == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
    *major = device->gpu->cc_major;
    *minor = device->gpu->cc_minor;
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetNumGpuCores(nvmlDevice_t device, unsigned int* cores) {
  return Guard([&] {
    WITH_DEVICE(device);
    if (cores == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
    unsigned sms = device->mig ? device->mig->sm_count : device->gpu->sm_count;
    *cores = sms * device->gpu->cores_per_sm;
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetAttributes_v2(nvmlDevice_t device,
                                                    nvmlDeviceAttributes_t* a) {
  return Guard([&] {
    WITH_DEVICE(device);
    if (a == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
    std::memset(a, 0, sizeof(*a));
    const Gpu& g = *device->gpu;
    if (device->mig) {
      const MigDevice& m = *device->mig;
      a->multiprocessorCount = m.sm_count;
      a->gpuInstanceSliceCount = SliceCount(m);
      a->computeInstanceSliceCount = SliceCount(m);
      a->memorySizeMB = m.memory_bytes >> 20;
      a->sharedCopyEngineCount = std::max(1u, SliceCount(m) / 2);
    } else {
      a->multiprocessorCount = g.sm_count;
      a->memorySizeMB = g.memory_bytes >> 20;
      a->sharedCopyEngineCount = 4;
      a->gpuInstanceSliceCount = g.mig_capable ? 7 : 0;
      a->computeInstanceSliceCount = g.mig_capable ? 7 : 0;
    }
    return NVML_SUCCESS;
  });
}

// ---- memory ----

namespace {
void MemoryOf(nvmlDevice_t d, unsigned long long* total, unsigned long long* used) {
  const nvmlDevice_st* gpu_handle = d->mig ? d->parent : d;
  uint64_t start = d->mig ? d->mig->memory_offset : 0;
  uint64_t len = d->mig ? d->mig->memory_bytes : d->gpu->memory_bytes;
  *total = len;
  *used = drahil::fakenode::LockedBytes(gpu_handle->fd, start, len);
}
}  // namespace

NVML_EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t* memory) {
  return Guard([&] {
    WITH_DEVICE(device);
    if (memory == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
    unsigned long long total = 0, used = 0;
    MemoryOf(device, &total, &used);
    memory->total = total;
    memory->used = used;
    memory->free = total - used;
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t device, nvmlMemory_v2_t* memory) {
  return Guard([&] {
    WITH_DEVICE(device);
    if (memory == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
    if (memory->version != nvmlMemory_v2) return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    unsigned long long total = 0, used = 0;
    MemoryOf(device, &total, &used);
    memory->total = total;
    memory->reserved = 0;
    memory->used = used;
    memory->free = total - used;
    return NVML_SUCCESS;
  });
}

// ---- MIG ----

NVML_EXPORT nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int* current,
                                              unsigned int* pending) {
  return Guard([&] {
    WITH_DEVICE(device);
    if (current == nullptr || pending == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
    if (device->mig) return NVML_ERROR_INVALID_ARGUMENT;
    if (!device->gpu->mig_capable) return NVML_ERROR_NOT_SUPPORTED;
    *current = *pending =
        device->gpu->mig_enabled ? NVML_DEVICE_MIG_ENABLE : NVML_DEVICE_MIG_DISABLE;
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t device, unsigned int* count) {
  return Guard([&] {
    WITH_DEVICE(device);
    if (count == nullptr || device->mig) return NVML_ERROR_INVALID_ARGUMENT;
    *count = device->gpu->mig_enabled ? device->gpu->max_mig_devices : 0;
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t device,
                                                             unsigned int index,
                                                             nvmlDevice_t* mig) {
  return Guard([&] {
    WITH_DEVICE(device);
    if (mig == nullptr || device->mig) return NVML_ERROR_INVALID_ARGUMENT;
    if (!device->gpu->mig_enabled) return NVML_ERROR_NOT_SUPPORTED;
    if (index >= device->gpu->max_mig_devices) return NVML_ERROR_INVALID_ARGUMENT;
    if (index >= device->mig_handles.size()) return NVML_ERROR_NOT_FOUND;
    *mig = device->mig_handles[index];
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceIsMigDeviceHandle(nvmlDevice_t device, unsigned int* is_mig) {
  return Guard([&] {
    WITH_DEVICE(device);
    if (is_mig == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
    *is_mig = device->mig ? 1 : 0;
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetGpuInstanceId(nvmlDevice_t device, unsigned int* id) {
  return Guard([&] {
    WITH_DEVICE(device);
    if (id == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
    if (!device->mig) return NVML_ERROR_NOT_SUPPORTED;
    *id = device->mig->gi_id;
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetComputeInstanceId(nvmlDevice_t device, unsigned int* id) {
  return Guard([&] {
    WITH_DEVICE(device);
    if (id == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
    if (!device->mig) return NVML_ERROR_NOT_SUPPORTED;
    *id = device->mig->ci_id;
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetDeviceHandleFromMigDeviceHandle(nvmlDevice_t mig,
                                                                      nvmlDevice_t* device) {
  return Guard([&] {
    WITH_DEVICE(mig);
    if (device == nullptr || !mig->mig) return NVML_ERROR_INVALID_ARGUMENT;
    *device = mig->parent;
    return NVML_SUCCESS;
  });
}

// ---- ECC ----

namespace {
// Consumer GPUs (GeForce) have no ECC; data-centre parts have it enabled.
bool HasEcc(const Gpu& g) { return g.name.find("GeForce") == std::string::npos; }
}  // namespace

NVML_EXPORT nvmlReturn_t nvmlDeviceGetEccMode(nvmlDevice_t device, nvmlEnableState_t* current,
                                              nvmlEnableState_t* pending) {
  return Guard([&] {
    WITH_DEVICE(device);
    if (current == nullptr || pending == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
    if (!HasEcc(*device->gpu)) return NVML_ERROR_NOT_SUPPORTED;
    *current = *pending = NVML_FEATURE_ENABLED;
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t device,
                                                     nvmlMemoryErrorType_t type,
                                                     nvmlEccCounterType_t counter,
                                                     unsigned long long* count) {
  return Guard([&] {
    WITH_DEVICE(device);
    if (count == nullptr ||
        (type != NVML_MEMORY_ERROR_TYPE_CORRECTED && type != NVML_MEMORY_ERROR_TYPE_UNCORRECTED) ||
        (counter != NVML_VOLATILE_ECC && counter != NVML_AGGREGATE_ECC)) {
      return NVML_ERROR_INVALID_ARGUMENT;
    }
    if (!HasEcc(*device->gpu)) return NVML_ERROR_NOT_SUPPORTED;
    // Each injected "ecc" fault is one uncorrectable (double-bit) error.
    *count = type == NVML_MEMORY_ERROR_TYPE_UNCORRECTED ? EccCount(l, device) : 0;
    return NVML_SUCCESS;
  });
}

// ---- events ----

NVML_EXPORT nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t* set) {
  return Guard([&] {
    Lib& l = L();
    std::lock_guard<std::mutex> lock(l.mu);
    if (l.refs == 0) return NVML_ERROR_UNINITIALIZED;
    if (set == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
    auto* s = new nvmlEventSet_st();
    l.sets.insert(s);
    *set = s;
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetSupportedEventTypes(nvmlDevice_t device,
                                                          unsigned long long* types) {
  return Guard([&] {
    WITH_DEVICE(device);
    if (types == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
    *types =
        device->mig || !HasEcc(*device->gpu) ? nvmlEventTypeXidCriticalError : kSupportedEvents;
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t device, unsigned long long types,
                                                  nvmlEventSet_t set) {
  return Guard([&] {
    WITH_DEVICE(device);
    if (set == nullptr || !l.sets.count(set)) return NVML_ERROR_INVALID_ARGUMENT;
    unsigned long long supported =
        device->mig || !HasEcc(*device->gpu) ? nvmlEventTypeXidCriticalError : kSupportedEvents;
    if (types & ~supported) return NVML_ERROR_NOT_SUPPORTED;
    set->regs.push_back({device, types});
    return NVML_SUCCESS;
  });
}

namespace {
// TryDeliver(): the first fault not yet delivered through this set that a
// registration wants. An ECC fault is a double-bit ECC event, or Xid 48 for
// a set that asked only for Xids; a lost GPU is Xid 79 (fallen off the bus).
bool TryDeliver(Lib& l, nvmlEventSet_st* set, nvmlEventData_t* data, bool count_call) {
  for (const auto& reg : set->regs) {
    auto& t = Tracker(l, *reg.device->gpu);
    const auto& faults = Faults(l, *reg.device->gpu);
    if (count_call) t.CountCall();
    for (const Fault& f : faults) {
      if (set->delivered.count(f.id) || !AppliesTo(f, reg.device) || !t.Active(f)) continue;
      unsigned long long type = 0, payload = 0;
      if (f.kind == "xid" && (reg.mask & nvmlEventTypeXidCriticalError)) {
        type = nvmlEventTypeXidCriticalError;
        payload = f.xid;
      } else if (f.kind == "lost" && (reg.mask & nvmlEventTypeXidCriticalError)) {
        type = nvmlEventTypeXidCriticalError;
        payload = 79;
      } else if (f.kind == "ecc" && (reg.mask & nvmlEventTypeDoubleBitEccError)) {
        type = nvmlEventTypeDoubleBitEccError;
      } else if (f.kind == "ecc" && (reg.mask & nvmlEventTypeXidCriticalError)) {
        type = nvmlEventTypeXidCriticalError;
        payload = 48;
      } else {
        continue;
      }
      set->delivered.insert(f.id);
      data->device = reg.device;
      data->eventType = type;
      data->eventData = payload;
      data->gpuInstanceId = f.gi_id;
      data->computeInstanceId = f.ci_id;
      return true;
    }
  }
  return false;
}
}  // namespace

NVML_EXPORT nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t* data,
                                             unsigned int timeoutms) {
  return Guard([&] {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutms);
    Lib& l = L();
    // One wait is one call on each registered device, however long it polls.
    for (bool first = true;; first = false) {
      {
        std::lock_guard<std::mutex> lock(l.mu);
        if (l.refs == 0) return NVML_ERROR_UNINITIALIZED;
        if (set == nullptr || data == nullptr || !l.sets.count(set))
          return NVML_ERROR_INVALID_ARGUMENT;
        if (TryDeliver(l, set, data, first)) return NVML_SUCCESS;
      }
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return NVML_ERROR_TIMEOUT;
      // Poll the fault files: they change rarely and the wait is bounded by
      // timeoutms, like the real call.
      auto step = std::min<std::chrono::steady_clock::duration>(deadline - now,
                                                                std::chrono::milliseconds(10));
      struct timespec ts {};
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(step).count();
      ts.tv_sec = static_cast<time_t>(ns / 1000000000);
      ts.tv_nsec = static_cast<long>(ns % 1000000000);
      ::nanosleep(&ts, nullptr);
    }
  });
}

NVML_EXPORT nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set) {
  return Guard([&] {
    Lib& l = L();
    std::lock_guard<std::mutex> lock(l.mu);
    if (l.refs == 0) return NVML_ERROR_UNINITIALIZED;
    if (set == nullptr || !l.sets.erase(set)) return NVML_ERROR_INVALID_ARGUMENT;
    delete set;
    return NVML_SUCCESS;
  });
}
