/* File: gpurt.h
 *
 * The C ABI of drahil's emulated GPU runtime, libdrahil-gpurt.so.
 *
 * A probe's "emulated" backend loads this library with dlopen(), as a CUDA
 * backend would load libcuda, and looks the functions up with dlsym() using
 * the "<name>_fn" pointer typedefs below. Nothing else from drahil is needed.
 *
 *   void* lib = dlopen("libdrahil-gpurt.so", RTLD_NOW | RTLD_LOCAL);
 *   auto init = (gpurtInit_fn)dlsym(lib, "gpurtInit");
 *
 * What the runtime sees (the same boundaries as a CUDA process):
 *  - Node root: $DRAHIL_FAKE_ROOT (required; see docs/emulation.md). Its
 *    metadata (state/) says which GPUs and MIG devices exist.
 *  - Devices: a full GPU is a device when its node file nvidia<minor> opens
 *    read-write in $DRAHIL_FAKE_ROOT/dev (host view) or in /dev (container
 *    view). A GPU in MIG mode is never a device itself; each of its MIG
 *    devices is one when, in addition, its capability node
 *    nvidia-caps/nvidia-cap<N> opens. As with real CUDA, only the first
 *    visible MIG device is enumerated per process.
 *  - CUDA_VISIBLE_DEVICES filters and orders the devices as CUDA does
 *    (indices, GPU-/MIG- UUIDs or unique UUID prefixes; an invalid entry hides
 *    it and everything after it; empty hides all).
 *  - Memory: device memory is the node file itself (mmap'd); a MIG device is
 *    its region of the parent GPU's node file. Allocations are bounded by the
 *    device or slice size and shared with every other process using the same
 *    node (byte-range locks on the node file; released when the process dies).
 *  - MPS limits, read at gpurtInit() as a real MPS client reads them:
 *      CUDA_MPS_PINNED_DEVICE_MEM_LIMIT="0=4G,1=512M" or "<uuid>=4096M"
 *        (index after CUDA_VISIBLE_DEVICES, or a device UUID; units K, M, G, T
 *        with an optional trailing B, powers of 1024; no unit means bytes).
 *        Bounds this process's total allocations on that device.
 *      CUDA_MPS_ACTIVE_THREAD_PERCENTAGE="50": the share of SMs (and of the
 *        OpenCL compute units) kernels may use; reported in gpurtDeviceInfo.
 *  - Kernels run for real as OpenCL on the first OpenCL device (PoCL on CPU).
 *  - Faults injected with `drahil-fakenode inject` take effect on the next
 *    call that touches the device: "lost" and xid 79 make every call on it
 *    return GPURT_ERROR_DEVICE_LOST; other Xids and "ecc" make launches and
 *    copies return GPURT_ERROR_ECC_UNCORRECTABLE / GPURT_ERROR_LAUNCH_FAILED.
 *
 * Versioned structs: the caller sets struct_size = sizeof(the struct as it
 * was compiled); the library fills at most that many bytes, so older callers
 * keep working when fields are appended. A struct_size smaller than the
 * first version's size is GPURT_ERROR_INVALID_VALUE.
 *
 * Thread-safety: every function is thread-safe after gpurtInit(). Calls
 * never block longer than the work asked for (no waits on other processes).
 * Errors: every function returns a gpurtError_t; output arguments are
 * written only on GPURT_SUCCESS. */
#ifndef DRAHIL_GPURT_GPURT_H_INCLUDED
#define DRAHIL_GPURT_GPURT_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GPURT_ABI_VERSION 1

typedef enum gpurtError {
  GPURT_SUCCESS = 0,
  GPURT_ERROR_INVALID_VALUE = 1,       /* bad argument, unknown kernel, bad pointer */
  GPURT_ERROR_OUT_OF_MEMORY = 2,       /* no room in the device / MIG slice */
  GPURT_ERROR_NOT_INITIALIZED = 3,     /* gpurtInit() not called or failed */
  GPURT_ERROR_MEMORY_LIMIT = 4,        /* over CUDA_MPS_PINNED_DEVICE_MEM_LIMIT */
  GPURT_ERROR_NO_DEVICE = 100,         /* no visible device */
  GPURT_ERROR_INVALID_DEVICE = 101,    /* device index out of range */
  GPURT_ERROR_NO_FAKE_ROOT = 102,      /* $DRAHIL_FAKE_ROOT unset or unreadable */
  GPURT_ERROR_DEVICE_LOST = 200,       /* injected "lost" or Xid 79 */
  GPURT_ERROR_ECC_UNCORRECTABLE = 201, /* injected "ecc" */
  GPURT_ERROR_LAUNCH_FAILED = 202,     /* injected Xid, or the OpenCL run failed */
  GPURT_ERROR_OPENCL = 300,            /* no OpenCL platform/device, or build failed */
  GPURT_ERROR_OPERATING_SYSTEM = 301,  /* open/mmap failed; errno is in the message */
  GPURT_ERROR_NOT_SUPPORTED = 302
} gpurtError_t;

/* A device address: opaque, valid only with the device that returned it.
 * Never dereference it; copy with gpurtMemcpy*. 0 is never a valid address. */
typedef uint64_t gpurtDevPtr;

typedef struct gpurtDeviceInfo {
  size_t struct_size;                    /* in: sizeof(gpurtDeviceInfo) */
  char uuid[96];                         /* "GPU-..." or "MIG-..." */
  char name[96];                         /* "NVIDIA H100 80GB HBM3" or "... MIG 1g.10gb" */
  char parent_uuid[96];                  /* the GPU's UUID (equal to uuid for a full GPU) */
  char pci_bus_id[32];                   /* "00000000:18:00.0" */
  unsigned long long total_mem;          /* bytes in the device or MIG slice */
  unsigned long long mem_limit;          /* this process's cap: MPS limit, else total_mem */
  unsigned int sm_count;                 /* SMs of the device or slice */
  unsigned int active_sm_count;          /* after CUDA_MPS_ACTIVE_THREAD_PERCENTAGE */
  unsigned int active_thread_percentage; /* 100 when unset */
  unsigned int minor;                    /* nvidia<minor> */
  int is_mig;                            /* 1 for a MIG device */
  unsigned int gpu_instance_id;          /* MIG only, else 0xFFFFFFFF */
  unsigned int compute_instance_id;      /* MIG only, else 0xFFFFFFFF */
  int cc_major;                          /* compute capability */
  int cc_minor;
} gpurtDeviceInfo;

typedef enum gpurtKernel {
  GPURT_KERNEL_VECTOR_ADD = 1, /* c[i] = a[i] + b[i] (float) */
  GPURT_KERNEL_FMA = 2,        /* c[i] = a[i]; repeat iterations: c[i] = c[i]*b[i] + alpha */
  GPURT_KERNEL_REDUCE_SUM = 3, /* c[0] = sum(a[0..n)) as float (b unused) */
  GPURT_KERNEL_COPY = 4,       /* c[i] = a[i]: a bandwidth kernel (b unused) */
  /* Makes every int a valid value, so a caller's unknown kernel number is
   * rejected with GPURT_ERROR_INVALID_VALUE rather than being undefined. */
  GPURT_KERNEL_FORCE_INT = 0x7fffffff
} gpurtKernel;

typedef struct gpurtLaunchParams {
  size_t struct_size; /* in: sizeof(gpurtLaunchParams) */
  gpurtKernel kernel;
  uint64_t n;    /* elements (floats) */
  gpurtDevPtr a; /* inputs: n floats each (b only where used) */
  gpurtDevPtr b;
  gpurtDevPtr c;           /* output: n floats (1 for REDUCE_SUM) */
  float alpha;             /* FMA addend */
  unsigned int iterations; /* FMA inner repeats (0 means 1) */
  /* out: */
  uint64_t elapsed_ns;             /* wall time of the OpenCL run, without copies */
  unsigned int compute_units_used; /* OpenCL compute units the run used */
} gpurtLaunchParams;

#define DRAHIL_GPURT_FN(ret, name, args) \
  ret name args;                         \
  typedef ret(*name##_fn) args;

/* gpurtInit(): reads $DRAHIL_FAKE_ROOT, the environment and the visible nodes.
 * flags must be 0. Idempotent; a second call re-reads nothing. */
DRAHIL_GPURT_FN(gpurtError_t, gpurtInit, (unsigned int flags))
/* gpurtShutdown(): frees every allocation and unmaps; gpurtInit() may follow. */
DRAHIL_GPURT_FN(gpurtError_t, gpurtShutdown, (void))
/* gpurtGetAbiVersion(): GPURT_ABI_VERSION of the loaded library. */
DRAHIL_GPURT_FN(gpurtError_t, gpurtGetAbiVersion, (int* version))
/* gpurtGetErrorString(): static text for a code; never NULL. */
DRAHIL_GPURT_FN(const char*, gpurtGetErrorString, (gpurtError_t error))
/* gpurtGetLastErrorDetail(): this thread's detail for its last failing call
 * ("open /dev/nvidia0: Permission denied"); "" when none. Valid until the
 * thread's next call. */
DRAHIL_GPURT_FN(const char*, gpurtGetLastErrorDetail, (void))

DRAHIL_GPURT_FN(gpurtError_t, gpurtDeviceCount, (int* count))
DRAHIL_GPURT_FN(gpurtError_t, gpurtGetDeviceInfo, (int device, gpurtDeviceInfo* info))
/* gpurtMemGetInfo(): free = min(device free across all processes, limit - own use). */
DRAHIL_GPURT_FN(gpurtError_t, gpurtMemGetInfo,
                (int device, unsigned long long* free_bytes, unsigned long long* total_bytes))

/* gpurtMalloc(): bytes > 0; returns GPURT_ERROR_OUT_OF_MEMORY when the device
 * or slice has no free range that large, GPURT_ERROR_MEMORY_LIMIT when this
 * process would exceed its MPS pinned-memory limit. */
DRAHIL_GPURT_FN(gpurtError_t, gpurtMalloc, (int device, gpurtDevPtr* ptr, size_t bytes))
DRAHIL_GPURT_FN(gpurtError_t, gpurtFree, (int device, gpurtDevPtr ptr))
/* Copies: the device range must lie inside one allocation. */
DRAHIL_GPURT_FN(gpurtError_t, gpurtMemcpyHtoD,
                (int device, gpurtDevPtr dst, const void* src, size_t bytes))
DRAHIL_GPURT_FN(gpurtError_t, gpurtMemcpyDtoH,
                (int device, void* dst, gpurtDevPtr src, size_t bytes))
DRAHIL_GPURT_FN(gpurtError_t, gpurtMemcpyDtoD,
                (int device, gpurtDevPtr dst, gpurtDevPtr src, size_t bytes))
DRAHIL_GPURT_FN(gpurtError_t, gpurtMemset, (int device, gpurtDevPtr dst, int value, size_t bytes))

/* gpurtLaunch(): runs one kernel synchronously on OpenCL. */
DRAHIL_GPURT_FN(gpurtError_t, gpurtLaunch, (int device, gpurtLaunchParams* params))

#undef DRAHIL_GPURT_FN

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DRAHIL_GPURT_GPURT_H_INCLUDED */
