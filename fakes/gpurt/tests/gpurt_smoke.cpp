// drahil-gpurt-smoke LIB COMMAND [ARG]: loads the emulated runtime with
// dlopen and runs one command, printing one result line:
//   info          "count N" then "dev <i> <uuid> <total> <limit> <sms> <active sms> <mig>"
//   alloc BYTES   "alloc <error code>"   (allocates on device 0 and keeps it until exit)
//   vecadd N      "vecadd ok" when c = a + b came back right
// Exit code 0 when the command ran (whatever the runtime answered), 2 on usage errors.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "drahil/gpurt/gpurt.h"

#define LOAD(name) auto name##_p = reinterpret_cast<name##_fn>(dlsym(lib, #name))

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: drahil-gpurt-smoke LIB info|alloc BYTES|vecadd N\n");
    return 2;
  }
  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    std::fprintf(stderr, "dlopen: %s\n", dlerror());
    return 2;
  }
  LOAD(gpurtInit);
  LOAD(gpurtDeviceCount);
  LOAD(gpurtGetDeviceInfo);
  LOAD(gpurtMalloc);
  LOAD(gpurtMemcpyHtoD);
  LOAD(gpurtMemcpyDtoH);
  LOAD(gpurtLaunch);
  LOAD(gpurtGetLastErrorDetail);
  if (!gpurtInit_p || !gpurtDeviceCount_p || !gpurtGetDeviceInfo_p || !gpurtMalloc_p ||
      !gpurtMemcpyHtoD_p || !gpurtMemcpyDtoH_p || !gpurtLaunch_p || !gpurtGetLastErrorDetail_p) {
    std::fprintf(stderr, "missing gpurt symbols\n");
    return 2;
  }
  std::string cmd = argv[2];
  gpurtError_t e = gpurtInit_p(0);
  if (e != GPURT_SUCCESS) {
    std::printf("init %d %s\n", e, gpurtGetLastErrorDetail_p());
    return 0;
  }
  int count = 0;
  e = gpurtDeviceCount_p(&count);
  if (cmd == "info") {
    if (e != GPURT_SUCCESS) {
      std::printf("count error %d\n", e);
      return 0;
    }
    std::printf("count %d\n", count);
    for (int i = 0; i < count; ++i) {
      gpurtDeviceInfo info;
      std::memset(&info, 0, sizeof(info));
      info.struct_size = sizeof(info);
      if (gpurtGetDeviceInfo_p(i, &info) != GPURT_SUCCESS) return 1;
      std::printf("dev %d %s %llu %llu %u %u %d\n", i, info.uuid, info.total_mem, info.mem_limit,
                  info.sm_count, info.active_sm_count, info.is_mig);
    }
    return 0;
  }
  if (cmd == "alloc" && argc == 4) {
    gpurtDevPtr p = 0;
    e = gpurtMalloc_p(0, &p, std::strtoull(argv[3], nullptr, 10));
    std::printf("alloc %d\n", e);
    return 0;
  }
  if (cmd == "vecadd" && argc == 4) {
    size_t n = std::strtoull(argv[3], nullptr, 10);
    std::vector<float> a(n), b(n), c(n);
    for (size_t i = 0; i < n; ++i) {
      a[i] = static_cast<float>(i);
      b[i] = 2.0f * static_cast<float>(i);
    }
    gpurtDevPtr da = 0, db = 0, dc = 0;
    if (gpurtMalloc_p(0, &da, n * 4) || gpurtMalloc_p(0, &db, n * 4) ||
        gpurtMalloc_p(0, &dc, n * 4) || gpurtMemcpyHtoD_p(0, da, a.data(), n * 4) ||
        gpurtMemcpyHtoD_p(0, db, b.data(), n * 4)) {
      std::printf("vecadd setup failed: %s\n", gpurtGetLastErrorDetail_p());
      return 0;
    }
    gpurtLaunchParams lp;
    std::memset(&lp, 0, sizeof(lp));
    lp.struct_size = sizeof(lp);
    lp.kernel = GPURT_KERNEL_VECTOR_ADD;
    lp.n = n;
    lp.a = da;
    lp.b = db;
    lp.c = dc;
    e = gpurtLaunch_p(0, &lp);
    if (e != GPURT_SUCCESS) {
      std::printf("vecadd launch %d %s\n", e, gpurtGetLastErrorDetail_p());
      return 0;
    }
    gpurtMemcpyDtoH_p(0, c.data(), dc, n * 4);
    for (size_t i = 0; i < n; ++i) {
      if (c[i] != 3.0f * static_cast<float>(i)) {
        std::printf("vecadd wrong at %zu\n", i);
        return 0;
      }
    }
    std::printf("vecadd ok\n");
    return 0;
  }
  std::fprintf(stderr, "unknown command %s\n", cmd.c_str());
  return 2;
}
