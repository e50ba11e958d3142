#include "drahil/probe_gpu/nvml.hpp"

#include <dlfcn.h>

#include <cstdlib>

#include "drahil/nvml/nvml_abi.h"

namespace drahil::probe_gpu {

struct NvmlView::Impl {
  void* lib = nullptr;
  bool initialised = false;
  // Required entry points.
  nvmlInit_v2_fn init = nullptr;
  nvmlShutdown_fn shutdown = nullptr;
  nvmlErrorString_fn error_string = nullptr;
  nvmlDeviceGetCount_v2_fn count = nullptr;
  nvmlDeviceGetHandleByIndex_v2_fn by_index = nullptr;
  nvmlDeviceGetUUID_fn uuid = nullptr;
  nvmlDeviceGetName_fn name = nullptr;
  nvmlDeviceGetMemoryInfo_fn memory = nullptr;
  // Optional (older drivers, or not offered by a device).
  nvmlSystemGetDriverVersion_fn driver_version = nullptr;
  nvmlDeviceGetPciInfo_v3_fn pci = nullptr;
  nvmlDeviceGetMinorNumber_fn minor = nullptr;
  nvmlDeviceGetMigMode_fn mig_mode = nullptr;
  nvmlDeviceGetMaxMigDeviceCount_fn mig_max = nullptr;
  nvmlDeviceGetMigDeviceHandleByIndex_fn mig_by_index = nullptr;
  nvmlDeviceGetTotalEccErrors_fn ecc = nullptr;
  nvmlEventSetCreate_fn event_create = nullptr;
  nvmlDeviceRegisterEvents_fn event_register = nullptr;
  nvmlEventSetWait_v2_fn event_wait = nullptr;
  nvmlEventSetFree_fn event_free = nullptr;

  std::string Err(nvmlReturn_t r) const {
    const char* s = error_string != nullptr ? error_string(r) : nullptr;
    return (s != nullptr ? std::string(s) : std::string("NVML error")) + " (" +
           std::to_string(static_cast<int>(r)) + ")";
  }
  Status Check(nvmlReturn_t r, const std::string& call) const {
    if (r == NVML_SUCCESS) return OkStatus();
    std::string msg = call + ": " + Err(r);
    switch (r) {
      case NVML_ERROR_DRIVER_NOT_LOADED:
      case NVML_ERROR_LIBRARY_NOT_FOUND:
      case NVML_ERROR_GPU_IS_LOST:
        return UnavailableError(msg);
      case NVML_ERROR_NO_PERMISSION:
        return PermissionDeniedError(msg);
      case NVML_ERROR_NOT_SUPPORTED:
      case NVML_ERROR_FUNCTION_NOT_FOUND:
        return UnimplementedError(msg);
      case NVML_ERROR_NOT_FOUND:
        return NotFoundError(msg);
      default:
        return InternalError(msg);
    }
  }
  void Describe(nvmlDevice_t h, NvmlDevice& d) const {
    auto note = [&](nvmlReturn_t r, const char* call) {
      if (r == NVML_ERROR_GPU_IS_LOST) d.lost = true;
      if (r != NVML_SUCCESS && r != NVML_ERROR_NOT_SUPPORTED && d.error.empty()) {
        d.error = std::string(call) + ": " + Err(r);
      }
      return r == NVML_SUCCESS;
    };
    char buf[NVML_DEVICE_UUID_V2_BUFFER_SIZE] = {};
    if (note(uuid(h, buf, sizeof(buf)), "nvmlDeviceGetUUID")) d.uuid = buf;
    char nbuf[NVML_DEVICE_NAME_V2_BUFFER_SIZE] = {};
    if (note(name(h, nbuf, sizeof(nbuf)), "nvmlDeviceGetName")) d.name = nbuf;
    nvmlMemory_t mem{};
    if (note(memory(h, &mem), "nvmlDeviceGetMemoryInfo")) {
      d.memory_total = mem.total;
      d.memory_used = mem.used;
    }
    if (ecc != nullptr) {
      unsigned long long n = 0;
      if (ecc(h, NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_VOLATILE_ECC, &n) == NVML_SUCCESS) {
        d.ecc_uncorrected = n;
      }
    }
  }
};

NvmlView::NvmlView(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

NvmlView::~NvmlView() {
  if (impl_ && impl_->initialised && impl_->shutdown != nullptr) impl_->shutdown();
  // The library stays loaded once it was initialised: NVML keeps process-wide
  // state (threads, singletons usable from atexit handlers) that unloading
  // would cut from under it; LeakSanitizer also reports what only the
  // unmapped library still pointed to as leaked.
  if (impl_ && impl_->lib != nullptr && !impl_->initialised) dlclose(impl_->lib);
}

Result<std::unique_ptr<NvmlView>> NvmlView::Load(const std::string& library) {
  std::string path = library;
  if (path.empty()) {
    const char* env = std::getenv("DRAHIL_NVML_LIBRARY");
    path = (env != nullptr && *env != '\0') ? env : "libnvidia-ml.so.1";
  }
  auto impl = std::make_unique<Impl>();
  impl->lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (impl->lib == nullptr) {
    const char* why = dlerror();
    return UnavailableError("dlopen " + path + ": " + (why ? why : "unknown error"));
  }
  auto sym = [&](auto& fn, const char* name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(impl->lib, name));
    return fn != nullptr;
  };
  bool ok = sym(impl->init, "nvmlInit_v2") && sym(impl->shutdown, "nvmlShutdown") &&
            sym(impl->error_string, "nvmlErrorString") &&
            sym(impl->count, "nvmlDeviceGetCount_v2") &&
            sym(impl->by_index, "nvmlDeviceGetHandleByIndex_v2") &&
            sym(impl->uuid, "nvmlDeviceGetUUID") && sym(impl->name, "nvmlDeviceGetName") &&
            sym(impl->memory, "nvmlDeviceGetMemoryInfo");
  if (!ok) {
    dlclose(impl->lib);
    return UnavailableError(path + " lacks a required NVML entry point (too old?)");
  }
  sym(impl->driver_version, "nvmlSystemGetDriverVersion");
  sym(impl->pci, "nvmlDeviceGetPciInfo_v3");
  sym(impl->minor, "nvmlDeviceGetMinorNumber");
  sym(impl->mig_mode, "nvmlDeviceGetMigMode");
  sym(impl->mig_max, "nvmlDeviceGetMaxMigDeviceCount");
  sym(impl->mig_by_index, "nvmlDeviceGetMigDeviceHandleByIndex");
  sym(impl->ecc, "nvmlDeviceGetTotalEccErrors");
  sym(impl->event_create, "nvmlEventSetCreate");
  sym(impl->event_register, "nvmlDeviceRegisterEvents");
  sym(impl->event_wait, "nvmlEventSetWait_v2");
  sym(impl->event_free, "nvmlEventSetFree");
  Status st = impl->Check(impl->init(), "nvmlInit_v2");
  if (!st.ok()) {
    dlclose(impl->lib);
    impl->lib = nullptr;
    return st.WithContext(path);
  }
  impl->initialised = true;
  std::unique_ptr<NvmlView> view(new NvmlView(std::move(impl)));
  view->library_ = path;
  if (view->impl_->driver_version != nullptr) {
    char buf[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE] = {};
    if (view->impl_->driver_version(buf, sizeof(buf)) == NVML_SUCCESS) view->driver_version_ = buf;
  }
  return view;
}

Result<std::vector<NvmlDevice>> NvmlView::Devices() {
  Impl& m = *impl_;
  unsigned int n = 0;
  DRAHIL_RETURN_IF_ERROR(m.Check(m.count(&n), "nvmlDeviceGetCount_v2"));
  std::vector<NvmlDevice> out;
  for (unsigned int i = 0; i < n; ++i) {
    nvmlDevice_t h = nullptr;
    NvmlDevice gpu;
    nvmlReturn_t r = m.by_index(i, &h);
    if (r != NVML_SUCCESS) {
      gpu.lost = r == NVML_ERROR_GPU_IS_LOST;
      gpu.error = "nvmlDeviceGetHandleByIndex_v2(" + std::to_string(i) + "): " + m.Err(r);
      out.push_back(std::move(gpu));
      continue;
    }
    m.Describe(h, gpu);
    if (m.pci != nullptr) {
      nvmlPciInfo_t pci{};
      if (m.pci(h, &pci) == NVML_SUCCESS) gpu.pci_bus_id = pci.busId;
    }
    if (m.minor != nullptr) {
      unsigned int minor = 0;
      if (m.minor(h, &minor) == NVML_SUCCESS) gpu.minor = static_cast<int>(minor);
    }
    unsigned int current = 0, pending = 0;
    bool mig = m.mig_mode != nullptr && m.mig_max != nullptr && m.mig_by_index != nullptr &&
               m.mig_mode(h, &current, &pending) == NVML_SUCCESS &&
               current == NVML_DEVICE_MIG_ENABLE;
    if (!mig) {
      out.push_back(std::move(gpu));
      continue;
    }
    unsigned int max = 0;
    if (m.mig_max(h, &max) != NVML_SUCCESS) max = 0;
    for (unsigned int k = 0; k < max; ++k) {
      nvmlDevice_t mh = nullptr;
      // Real NVML answers NOT_FOUND for unpopulated indices; skip those.
      if (m.mig_by_index(h, k, &mh) != NVML_SUCCESS) continue;
      NvmlDevice dev;
      m.Describe(mh, dev);
      dev.is_mig = true;
      dev.parent_uuid = gpu.uuid;
      dev.minor = gpu.minor;
      dev.pci_bus_id = gpu.pci_bus_id;
      out.push_back(std::move(dev));
    }
  }
  return out;
}

Result<std::vector<NvmlEvent>> NvmlView::WatchEvents(std::chrono::milliseconds window) {
  Impl& m = *impl_;
  if (m.event_create == nullptr || m.event_register == nullptr || m.event_wait == nullptr ||
      m.event_free == nullptr) {
    return UnimplementedError("NVML library has no event API");
  }
  nvmlEventSet_t set = nullptr;
  DRAHIL_RETURN_IF_ERROR(m.Check(m.event_create(&set), "nvmlEventSetCreate"));
  struct Free {
    Impl& m;
    nvmlEventSet_t s;
    ~Free() { m.event_free(s); }
  } free_set{m, set};
  unsigned int n = 0;
  DRAHIL_RETURN_IF_ERROR(m.Check(m.count(&n), "nvmlDeviceGetCount_v2"));
  std::vector<std::pair<nvmlDevice_t, std::string>> handles;
  for (unsigned int i = 0; i < n; ++i) {
    nvmlDevice_t h = nullptr;
    if (m.by_index(i, &h) != NVML_SUCCESS) continue;
    char buf[NVML_DEVICE_UUID_V2_BUFFER_SIZE] = {};
    m.uuid(h, buf, sizeof(buf));
    handles.emplace_back(h, buf);
    // Not every device supports every event type; register what it takes.
    nvmlReturn_t r =
        m.event_register(h, nvmlEventTypeXidCriticalError | nvmlEventTypeDoubleBitEccError, set);
    if (r != NVML_SUCCESS) m.event_register(h, nvmlEventTypeXidCriticalError, set);
  }
  std::vector<NvmlEvent> events;
  auto end = std::chrono::steady_clock::now() + window;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    unsigned int wait_ms = left.count() > 0 ? static_cast<unsigned int>(left.count()) : 0;
    nvmlEventData_t data{};
    nvmlReturn_t r = m.event_wait(set, &data, wait_ms);
    if (r == NVML_ERROR_TIMEOUT) break;
    if (r != NVML_SUCCESS) return m.Check(r, "nvmlEventSetWait_v2");
    NvmlEvent ev;
    for (auto& [h, u] : handles) {
      if (h == data.device) ev.uuid = u;
    }
    ev.data = data.eventData;
    if (data.eventType & nvmlEventTypeXidCriticalError) {
      ev.kind = "xid";
    } else if (data.eventType & nvmlEventTypeDoubleBitEccError) {
      ev.kind = "ecc-double-bit";
    } else if (data.eventType & nvmlEventTypeSingleBitEccError) {
      ev.kind = "ecc-single-bit";
    } else {
      ev.kind = "other";
    }
    events.push_back(std::move(ev));
    if (events.size() >= 1000) break;
  }
  return events;
}

}  // namespace drahil::probe_gpu
