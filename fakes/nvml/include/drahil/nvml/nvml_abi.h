/* File: nvml_abi.h
 *
 * The subset of the NVIDIA Management Library (NVML) C ABI that drahil's fake
 * libnvidia-ml.so.1 implements, declared from the public NVML documentation:
 * the same function names, symbol versions (_v2/_v3 suffixes), numeric return
 * codes, constants and struct layouts as the real library. Code that includes
 * this header and dlopen()s "libnvidia-ml.so.1" therefore works unchanged
 * against the real NVML and against the fake.
 *
 * Usage (what the reference driver and the probes do):
 *
 *   #include "drahil/nvml/nvml_abi.h"
 *   void* lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
 *   auto init = (nvmlInit_v2_fn)dlsym(lib, "nvmlInit_v2");
 *
 * Every function has a matching pointer typedef "<name>_fn". The header has
 * no dependencies beyond the C standard library and compiles as C and C++.
 * Only functions listed here exist in the fake (see docs/emulation.md); a
 * dlsym() of anything else returns NULL, as for a too-old real driver.
 *
 * Thread-safety: as real NVML, all functions may be called from any thread
 * after nvmlInit_v2(); an event set must not be waited on from two threads. */
#ifndef DRAHIL_NVML_NVML_ABI_H_INCLUDED
#define DRAHIL_NVML_NVML_ABI_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

/* ---- return codes (nvmlReturn_t) ------------------------------------- */
typedef enum nvmlReturn_enum {
  NVML_SUCCESS = 0,
  NVML_ERROR_UNINITIALIZED = 1,
  NVML_ERROR_INVALID_ARGUMENT = 2,
  NVML_ERROR_NOT_SUPPORTED = 3,
  NVML_ERROR_NO_PERMISSION = 4,
  NVML_ERROR_ALREADY_INITIALIZED = 5,
  NVML_ERROR_NOT_FOUND = 6,
  NVML_ERROR_INSUFFICIENT_SIZE = 7,
  NVML_ERROR_INSUFFICIENT_POWER = 8,
  NVML_ERROR_DRIVER_NOT_LOADED = 9,
  NVML_ERROR_TIMEOUT = 10,
  NVML_ERROR_IRQ_ISSUE = 11,
  NVML_ERROR_LIBRARY_NOT_FOUND = 12,
  NVML_ERROR_FUNCTION_NOT_FOUND = 13,
  NVML_ERROR_CORRUPTED_INFOROM = 14,
  NVML_ERROR_GPU_IS_LOST = 15,
  NVML_ERROR_RESET_REQUIRED = 16,
  NVML_ERROR_OPERATING_SYSTEM = 17,
  NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18,
  NVML_ERROR_IN_USE = 19,
  NVML_ERROR_MEMORY = 20,
  NVML_ERROR_NO_DATA = 21,
  NVML_ERROR_VGPU_ECC_NOT_SUPPORTED = 22,
  NVML_ERROR_INSUFFICIENT_RESOURCES = 23,
  NVML_ERROR_FREQ_NOT_SUPPORTED = 24,
  NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
  NVML_ERROR_DEPRECATED = 26,
  NVML_ERROR_NOT_READY = 27,
  NVML_ERROR_GPU_NOT_FOUND = 28,
  NVML_ERROR_INVALID_STATE = 29,
  NVML_ERROR_UNKNOWN = 999
} nvmlReturn_t;

/* ---- buffer sizes ---------------------------------------------------- */
#define NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE 32
#define NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE 16
#define NVML_DEVICE_UUID_BUFFER_SIZE 80
#define NVML_DEVICE_UUID_V2_BUFFER_SIZE 96
#define NVML_DEVICE_NAME_BUFFER_SIZE 64
#define NVML_DEVICE_NAME_V2_BUFFER_SIZE 96
#define NVML_DEVICE_SERIAL_BUFFER_SIZE 30
#define NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE 80
#define NVML_SYSTEM_NVML_VERSION_BUFFER_SIZE 80
#define NVML_NVLINK_MAX_LINKS 18

/* ---- handles --------------------------------------------------------- */
typedef struct nvmlDevice_st* nvmlDevice_t;
typedef struct nvmlEventSet_st* nvmlEventSet_t;

/* ---- enums and constants --------------------------------------------- */
typedef enum nvmlEnableState_enum {
  NVML_FEATURE_DISABLED = 0,
  NVML_FEATURE_ENABLED = 1
} nvmlEnableState_t;

#define NVML_DEVICE_MIG_DISABLE 0x0
#define NVML_DEVICE_MIG_ENABLE 0x1

typedef unsigned int nvmlDeviceArchitecture_t;
#define NVML_DEVICE_ARCH_KEPLER 2
#define NVML_DEVICE_ARCH_MAXWELL 3
#define NVML_DEVICE_ARCH_PASCAL 4
#define NVML_DEVICE_ARCH_VOLTA 5
#define NVML_DEVICE_ARCH_TURING 6
#define NVML_DEVICE_ARCH_AMPERE 7
#define NVML_DEVICE_ARCH_ADA 8
#define NVML_DEVICE_ARCH_HOPPER 9
#define NVML_DEVICE_ARCH_BLACKWELL 10
#define NVML_DEVICE_ARCH_UNKNOWN 0xffffffff

typedef enum nvmlMemoryErrorType_enum {
  NVML_MEMORY_ERROR_TYPE_CORRECTED = 0,
  NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1
} nvmlMemoryErrorType_t;

typedef enum nvmlEccCounterType_enum {
  NVML_VOLATILE_ECC = 0,
  NVML_AGGREGATE_ECC = 1
} nvmlEccCounterType_t;

/* Event types (bit mask). */
#define nvmlEventTypeSingleBitEccError 0x0000000000000001LL
#define nvmlEventTypeDoubleBitEccError 0x0000000000000002LL
#define nvmlEventTypePState 0x0000000000000004LL
#define nvmlEventTypeXidCriticalError 0x0000000000000008LL
#define nvmlEventTypeClock 0x0000000000000010LL
#define nvmlEventTypePowerSourceChange 0x0000000000000080LL
#define nvmlEventMigConfigChange 0x0000000000000100LL
#define nvmlEventTypeNone 0x0000000000000000LL
#define nvmlEventTypeAll                                                                 \
  (nvmlEventTypeNone | nvmlEventTypeSingleBitEccError | nvmlEventTypeDoubleBitEccError | \
   nvmlEventTypePState | nvmlEventTypeClock | nvmlEventTypeXidCriticalError |            \
   nvmlEventTypePowerSourceChange | nvmlEventMigConfigChange)

/* ---- structs (layouts as in the real nvml.h) --------------------------- */
typedef struct nvmlPciInfo_st {
  char busIdLegacy[NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE]; /* "0000:18:00.0" */
  unsigned int domain;
  unsigned int bus;
  unsigned int device;
  unsigned int pciDeviceId;                       /* (device id << 16) | vendor id */
  unsigned int pciSubSystemId;                    /* (subsystem device << 16) | subsystem vendor */
  char busId[NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE]; /* "00000000:18:00.0" */
} nvmlPciInfo_t;

typedef struct nvmlMemory_st {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
} nvmlMemory_t;

typedef struct nvmlMemory_v2_st {
  unsigned int version; /* nvmlMemory_v2 */
  unsigned long long total;
  unsigned long long reserved;
  unsigned long long free;
  unsigned long long used;
} nvmlMemory_v2_t;
#define NVML_STRUCT_VERSION(data, ver) \
  (unsigned int)(sizeof(nvml##data##_v##ver##_t) | ((ver) << 24U))
#define nvmlMemory_v2 NVML_STRUCT_VERSION(Memory, 2)

typedef struct nvmlEventData_st {
  nvmlDevice_t device;
  unsigned long long eventType;
  unsigned long long eventData;   /* the Xid for nvmlEventTypeXidCriticalError */
  unsigned int gpuInstanceId;     /* 0xFFFFFFFF when not attributable */
  unsigned int computeInstanceId; /* 0xFFFFFFFF when not attributable */
} nvmlEventData_t;

typedef struct nvmlDeviceAttributes_st {
  unsigned int multiprocessorCount;
  unsigned int sharedCopyEngineCount;
  unsigned int sharedDecoderCount;
  unsigned int sharedEncoderCount;
  unsigned int sharedJpegCount;
  unsigned int sharedOfaCount;
  unsigned int gpuInstanceSliceCount;
  unsigned int computeInstanceSliceCount;
  unsigned long long memorySizeMB;
} nvmlDeviceAttributes_t;

/* ---- functions -------------------------------------------------------- */
#define DRAHIL_NVML_FN(ret, name, args) \
  ret name args;                        \
  typedef ret(*name##_fn) args;

/* Library lifetime and system queries. */
DRAHIL_NVML_FN(nvmlReturn_t, nvmlInit_v2, (void))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlInitWithFlags, (unsigned int flags))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlShutdown, (void))
DRAHIL_NVML_FN(const char*, nvmlErrorString, (nvmlReturn_t result))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlSystemGetDriverVersion, (char* version, unsigned int length))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlSystemGetNVMLVersion, (char* version, unsigned int length))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlSystemGetCudaDriverVersion, (int* cudaDriverVersion))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlSystemGetCudaDriverVersion_v2, (int* cudaDriverVersion))

/* Enumeration and handles. */
DRAHIL_NVML_FN(nvmlReturn_t, nvmlDeviceGetCount_v2, (unsigned int* deviceCount))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlDeviceGetHandleByIndex_v2,
               (unsigned int index, nvmlDevice_t* device))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlDeviceGetHandleByUUID, (const char* uuid, nvmlDevice_t* device))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlDeviceGetHandleByPciBusId_v2,
               (const char* pciBusId, nvmlDevice_t* device))

/* Identity. */
DRAHIL_NVML_FN(nvmlReturn_t, nvmlDeviceGetName,
               (nvmlDevice_t device, char* name, unsigned int length))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlDeviceGetUUID,
               (nvmlDevice_t device, char* uuid, unsigned int length))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlDeviceGetSerial,
               (nvmlDevice_t device, char* serial, unsigned int length))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlDeviceGetPciInfo_v3, (nvmlDevice_t device, nvmlPciInfo_t* pci))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlDeviceGetMinorNumber,
               (nvmlDevice_t device, unsigned int* minorNumber))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlDeviceGetIndex, (nvmlDevice_t device, unsigned int* index))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlDeviceGetArchitecture,
               (nvmlDevice_t device, nvmlDeviceArchitecture_t* arch))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlDeviceGetCudaComputeCapability,
               (nvmlDevice_t device, int* major, int* minor))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlDeviceGetNumGpuCores,
               (nvmlDevice_t device, unsigned int* numCores))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlDeviceGetAttributes_v2,
               (nvmlDevice_t device, nvmlDeviceAttributes_t* attributes))

/* Memory. For a MIG device these report the GPU instance's memory. */
DRAHIL_NVML_FN(nvmlReturn_t, nvmlDeviceGetMemoryInfo, (nvmlDevice_t device, nvmlMemory_t* memory))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlDeviceGetMemoryInfo_v2,
               (nvmlDevice_t device, nvmlMemory_v2_t* memory))

/* MIG. */
DRAHIL_NVML_FN(nvmlReturn_t, nvmlDeviceGetMigMode,
               (nvmlDevice_t device, unsigned int* currentMode, unsigned int* pendingMode))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlDeviceGetMaxMigDeviceCount,
               (nvmlDevice_t device, unsigned int* count))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlDeviceGetMigDeviceHandleByIndex,
               (nvmlDevice_t device, unsigned int index, nvmlDevice_t* migDevice))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlDeviceIsMigDeviceHandle,
               (nvmlDevice_t device, unsigned int* isMigDevice))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlDeviceGetGpuInstanceId, (nvmlDevice_t device, unsigned int* id))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlDeviceGetComputeInstanceId,
               (nvmlDevice_t device, unsigned int* id))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlDeviceGetDeviceHandleFromMigDeviceHandle,
               (nvmlDevice_t migDevice, nvmlDevice_t* device))

/* NVLink: link k of an emulated GPU connects directly to its k-th NVLink peer
 * (profile gpus[].nvlinkPeers); links past the peers are inactive. */
DRAHIL_NVML_FN(nvmlReturn_t, nvmlDeviceGetNvLinkState,
               (nvmlDevice_t device, unsigned int link, nvmlEnableState_t* isActive))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlDeviceGetNvLinkRemotePciInfo_v2,
               (nvmlDevice_t device, unsigned int link, nvmlPciInfo_t* pci))

/* ECC. */
DRAHIL_NVML_FN(nvmlReturn_t, nvmlDeviceGetEccMode,
               (nvmlDevice_t device, nvmlEnableState_t* current, nvmlEnableState_t* pending))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlDeviceGetTotalEccErrors,
               (nvmlDevice_t device, nvmlMemoryErrorType_t errorType,
                nvmlEccCounterType_t counterType, unsigned long long* eccCounts))

/* Events. */
DRAHIL_NVML_FN(nvmlReturn_t, nvmlEventSetCreate, (nvmlEventSet_t * set))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlDeviceGetSupportedEventTypes,
               (nvmlDevice_t device, unsigned long long* eventTypes))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlDeviceRegisterEvents,
               (nvmlDevice_t device, unsigned long long eventTypes, nvmlEventSet_t set))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlEventSetWait_v2,
               (nvmlEventSet_t set, nvmlEventData_t* data, unsigned int timeoutms))
DRAHIL_NVML_FN(nvmlReturn_t, nvmlEventSetFree, (nvmlEventSet_t set))

#undef DRAHIL_NVML_FN

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DRAHIL_NVML_NVML_ABI_H_INCLUDED */
