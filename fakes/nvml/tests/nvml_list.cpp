// drahil-nvml-list LIB: dlopen()s an NVML library (real or fake) and prints
// the GPUs and MIG devices it enumerates, one per line:
//   gpu <index> <uuid> <minor> <total bytes> <name>
//   mig <parent index> <uuid> <gi> <total bytes> <name>
// Exit code 0 on success, 1 when a call fails (the failing call is printed).
#include <dlfcn.h>

#include <cstdio>

#include "drahil/nvml/nvml_abi.h"

#define LOAD(name)                                                \
  auto name##_p = reinterpret_cast<name##_fn>(dlsym(lib, #name)); \
  if (!name##_p) {                                                \
    std::fprintf(stderr, "missing symbol %s\n", #name);           \
    return 1;                                                     \
  }
#define CALL(expr)                                                  \
  do {                                                              \
    nvmlReturn_t rc_ = (expr);                                      \
    if (rc_ != NVML_SUCCESS) {                                      \
      std::printf("error %s = %d\n", #expr, static_cast<int>(rc_)); \
      return 1;                                                     \
    }                                                               \
  } while (0)

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: drahil-nvml-list LIBNVIDIA_ML\n");
    return 2;
  }
  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    std::fprintf(stderr, "dlopen: %s\n", dlerror());
    return 2;
  }
  LOAD(nvmlInit_v2);
  LOAD(nvmlShutdown);
  LOAD(nvmlDeviceGetCount_v2);
  LOAD(nvmlDeviceGetHandleByIndex_v2);
  LOAD(nvmlDeviceGetUUID);
  LOAD(nvmlDeviceGetName);
  LOAD(nvmlDeviceGetMinorNumber);
  LOAD(nvmlDeviceGetMemoryInfo);
  LOAD(nvmlDeviceGetMaxMigDeviceCount);
  LOAD(nvmlDeviceGetMigDeviceHandleByIndex);
  LOAD(nvmlDeviceGetGpuInstanceId);
  CALL(nvmlInit_v2_p());
  unsigned count = 0;
  CALL(nvmlDeviceGetCount_v2_p(&count));
  std::printf("count %u\n", count);
  for (unsigned i = 0; i < count; ++i) {
    nvmlDevice_t d;
    CALL(nvmlDeviceGetHandleByIndex_v2_p(i, &d));
    char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE], name[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
    unsigned minor = 0;
    nvmlMemory_t mem;
    CALL(nvmlDeviceGetUUID_p(d, uuid, sizeof(uuid)));
    CALL(nvmlDeviceGetName_p(d, name, sizeof(name)));
    CALL(nvmlDeviceGetMinorNumber_p(d, &minor));
    CALL(nvmlDeviceGetMemoryInfo_p(d, &mem));
    std::printf("gpu %u %s %u %llu %s\n", i, uuid, minor, mem.total, name);
    unsigned max_mig = 0;
    CALL(nvmlDeviceGetMaxMigDeviceCount_p(d, &max_mig));
    for (unsigned k = 0; k < max_mig; ++k) {
      nvmlDevice_t m;
      nvmlReturn_t rc = nvmlDeviceGetMigDeviceHandleByIndex_p(d, k, &m);
      if (rc == NVML_ERROR_NOT_FOUND) continue;
      CALL(rc);
      unsigned gi = 0;
      CALL(nvmlDeviceGetUUID_p(m, uuid, sizeof(uuid)));
      CALL(nvmlDeviceGetName_p(m, name, sizeof(name)));
      CALL(nvmlDeviceGetGpuInstanceId_p(m, &gi));
      CALL(nvmlDeviceGetMemoryInfo_p(m, &mem));
      std::printf("mig %u %s %u %llu %s\n", i, uuid, gi, mem.total, name);
    }
  }
  CALL(nvmlShutdown_p());
  return 0;
}
