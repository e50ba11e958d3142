/* Compiles the two C ABI headers as C (not C++), as a C driver or probe
 * would include them. Built as part of the tests; never run. */
#include <stddef.h>

#include "drahil/gpurt/gpurt.h"
#include "drahil/nvml/nvml_abi.h"

/* The layouts C code sees: checked at compile time. */
_Static_assert(sizeof(nvmlPciInfo_t) == 16 + 5 * 4 + 32, "nvmlPciInfo_t layout");
_Static_assert(offsetof(nvmlPciInfo_t, busId) == 36, "nvmlPciInfo_t.busId offset");
_Static_assert(sizeof(nvmlMemory_t) == 24, "nvmlMemory_t layout");
_Static_assert(offsetof(nvmlEventData_t, eventData) == 16, "nvmlEventData_t.eventData offset");
_Static_assert(sizeof(nvmlEventData_t) == 32, "nvmlEventData_t layout");
_Static_assert(offsetof(nvmlDeviceAttributes_t, memorySizeMB) == 32,
               "nvmlDeviceAttributes_t layout");
_Static_assert(NVML_ERROR_GPU_IS_LOST == 15 && NVML_ERROR_TIMEOUT == 10, "nvmlReturn_t values");

int drahil_abi_c_check(void) {
  nvmlInit_v2_fn init = 0;
  gpurtInit_fn rt_init = 0;
  gpurtDeviceInfo info = {.struct_size = sizeof(gpurtDeviceInfo)};
  gpurtLaunchParams lp = {.struct_size = sizeof(gpurtLaunchParams)};
  return (init == 0) + (rt_init == 0) + (int)info.struct_size + (int)lp.struct_size;
}
