// Nvml: NVML loaded with dlopen (the real libnvidia-ml.so.1 or the fake one),
// with every entry point the driver uses resolved up front.
#ifndef DRAHIL_REFDRIVER_NVML_HPP_INCLUDED
#define DRAHIL_REFDRIVER_NVML_HPP_INCLUDED

#include <string>

#include "drahil/core/status.hpp"
#include "drahil/nvml/nvml_abi.h"

namespace drahil::refdriver {

class Nvml {
 public:
  // Load(): dlopen + dlsym + nvmlInit_v2. Errors name the library and symbol.
  static Result<std::unique_ptr<Nvml>> Load(const std::string& path);
  ~Nvml();
  Nvml(const Nvml&) = delete;
  Nvml& operator=(const Nvml&) = delete;

  // Error(): "nvmlDeviceGetUUID: GPU is lost" style text.
  std::string Error(const char* call, nvmlReturn_t r) const;

#define DRAHIL_NVML_MEMBER(name) name##_fn name = nullptr;
  DRAHIL_NVML_MEMBER(nvmlInit_v2)
  DRAHIL_NVML_MEMBER(nvmlShutdown)
  DRAHIL_NVML_MEMBER(nvmlErrorString)
  DRAHIL_NVML_MEMBER(nvmlSystemGetDriverVersion)
  DRAHIL_NVML_MEMBER(nvmlDeviceGetCount_v2)
  DRAHIL_NVML_MEMBER(nvmlDeviceGetHandleByIndex_v2)
  DRAHIL_NVML_MEMBER(nvmlDeviceGetName)
  DRAHIL_NVML_MEMBER(nvmlDeviceGetUUID)
  DRAHIL_NVML_MEMBER(nvmlDeviceGetPciInfo_v3)
  DRAHIL_NVML_MEMBER(nvmlDeviceGetMinorNumber)
  DRAHIL_NVML_MEMBER(nvmlDeviceGetMemoryInfo)
  DRAHIL_NVML_MEMBER(nvmlDeviceGetAttributes_v2)
  DRAHIL_NVML_MEMBER(nvmlDeviceGetMigMode)
  DRAHIL_NVML_MEMBER(nvmlDeviceGetMaxMigDeviceCount)
  DRAHIL_NVML_MEMBER(nvmlDeviceGetMigDeviceHandleByIndex)
  DRAHIL_NVML_MEMBER(nvmlDeviceGetGpuInstanceId)
  DRAHIL_NVML_MEMBER(nvmlDeviceGetComputeInstanceId)
  DRAHIL_NVML_MEMBER(nvmlDeviceGetTotalEccErrors)
  DRAHIL_NVML_MEMBER(nvmlEventSetCreate)
  DRAHIL_NVML_MEMBER(nvmlDeviceRegisterEvents)
  DRAHIL_NVML_MEMBER(nvmlEventSetWait_v2)
  DRAHIL_NVML_MEMBER(nvmlEventSetFree)
#undef DRAHIL_NVML_MEMBER

 private:
  Nvml() = default;
  void* lib_ = nullptr;
  bool initialized_ = false;
};

}  // namespace drahil::refdriver

#endif
