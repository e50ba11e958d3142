// The fake libnvidia-ml.so.1, loaded with dlopen exactly as a driver loads
// the real one, against node roots built from the shipped profiles.
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "drahil/core/child_process.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/fakenode/fakenode.hpp"
#include "drahil/nvml/nvml_abi.h"
#include "drahil/testing/testing.hpp"

using namespace drahil;
using namespace drahil::fakenode;

namespace {

// One entry per line (clang-format reflows X-macro lists unstably).
// clang-format off
#define NVML_FUNCS(X) \
  X(nvmlInit_v2) \
  X(nvmlShutdown) \
  X(nvmlErrorString) \
  X(nvmlSystemGetDriverVersion) \
  X(nvmlSystemGetNVMLVersion) \
  X(nvmlDeviceGetCount_v2) \
  X(nvmlDeviceGetHandleByIndex_v2) \
  X(nvmlDeviceGetHandleByUUID) \
  X(nvmlDeviceGetHandleByPciBusId_v2) \
  X(nvmlDeviceGetName) \
  X(nvmlDeviceGetUUID) \
  X(nvmlDeviceGetSerial) \
  X(nvmlDeviceGetPciInfo_v3) \
  X(nvmlDeviceGetMinorNumber) \
  X(nvmlDeviceGetIndex) \
  X(nvmlDeviceGetMemoryInfo) \
  X(nvmlDeviceGetMigMode) \
  X(nvmlDeviceGetMaxMigDeviceCount) \
  X(nvmlDeviceGetMigDeviceHandleByIndex) \
  X(nvmlDeviceIsMigDeviceHandle) \
  X(nvmlDeviceGetGpuInstanceId) \
  X(nvmlDeviceGetComputeInstanceId) \
  X(nvmlDeviceGetDeviceHandleFromMigDeviceHandle) \
  X(nvmlDeviceGetAttributes_v2) \
  X(nvmlDeviceGetNumGpuCores) \
  X(nvmlDeviceGetArchitecture) \
  X(nvmlDeviceGetCudaComputeCapability) \
  X(nvmlEventSetCreate) \
  X(nvmlDeviceRegisterEvents) \
  X(nvmlEventSetWait_v2) \
  X(nvmlEventSetFree) \
  X(nvmlDeviceGetSupportedEventTypes) \
  X(nvmlDeviceGetTotalEccErrors) \
  X(nvmlDeviceGetEccMode) \
  X(nvmlDeviceGetNvLinkState) \
  X(nvmlDeviceGetNvLinkRemotePciInfo_v2)
// clang-format on

struct Nvml {
#define DECLARE(name) name##_fn name = nullptr;
  NVML_FUNCS(DECLARE)
#undef DECLARE
  void* lib = nullptr;
};

std::string LibPath() { return testing::LibDir() + "/fake-nvml/libnvidia-ml.so.1"; }

// The library stays loaded for the whole test binary: NVML is a process-wide
// singleton, so each test inits and shuts it down around its own root.
Nvml& Lib() {
  static Nvml n = [] {
    Nvml x;
    x.lib = dlopen(LibPath().c_str(), RTLD_NOW | RTLD_LOCAL);
    if (x.lib) {
#define LOADFN(name) x.name = reinterpret_cast<name##_fn>(dlsym(x.lib, #name));
      NVML_FUNCS(LOADFN)
#undef LOADFN
    }
    return x;
  }();
  return n;
}

struct Node {
  TempDir dir;
  std::string root;
  NodeState state;
};

Node MakeNode(const std::string& profile) {
  auto dir = TempDir::Create("fakenvml-");
  REQUIRE_OK(dir);
  std::string root = dir->Join("node");
  auto p = LoadProfile(testing::SourceDir() + "/fakes/profiles/" + profile + ".yaml");
  REQUIRE_OK(p);
  auto st = CreateNode(*p, root);
  REQUIRE_OK(st);
  return Node{std::move(*dir), root, std::move(*st)};
}

std::string Uuid(Nvml& n, nvmlDevice_t d) {
  char buf[NVML_DEVICE_UUID_V2_BUFFER_SIZE] = {};
  REQUIRE(n.nvmlDeviceGetUUID(d, buf, sizeof(buf)) == NVML_SUCCESS);
  return buf;
}

// InitAt(): points the library at root and initialises it.
void InitAt(Nvml& n, const std::string& root) {
  REQUIRE(n.lib != nullptr);
  ::setenv("DRAHIL_FAKE_ROOT", root.c_str(), 1);
  REQUIRE(n.nvmlInit_v2() == NVML_SUCCESS);
}

}  // namespace

TEST_CASE("FakeNvml: exports the documented entry points", "[nvml]") {
  Nvml& n = Lib();
  INFO(dlerror());
  REQUIRE(n.lib != nullptr);
#define CHECKFN(name) CHECK(n.name != nullptr);
  NVML_FUNCS(CHECKFN)
#undef CHECKFN
  // Internal C++ code stays hidden.
  CHECK(dlsym(n.lib,
              "_ZN6drahil8fakenode14ReadNodeStateERKNSt7__cxx1112basic_stringIcSt11char_"
              "traitsIcESaIcEEE") == nullptr);
  CHECK(std::string(n.nvmlErrorString(NVML_ERROR_GPU_IS_LOST)) == "GPU is lost");
}

TEST_CASE("FakeNvml: without a node root init fails like a machine without the driver", "[nvml]") {
  Nvml& n = Lib();
  REQUIRE(n.lib != nullptr);
  ::unsetenv("DRAHIL_FAKE_ROOT");
  CHECK(n.nvmlInit_v2() == NVML_ERROR_DRIVER_NOT_LOADED);
  unsigned count = 0;
  CHECK(n.nvmlDeviceGetCount_v2(&count) == NVML_ERROR_UNINITIALIZED);
  ::setenv("DRAHIL_FAKE_ROOT", "/nonexistent/root", 1);
  CHECK(n.nvmlInit_v2() == NVML_ERROR_DRIVER_NOT_LOADED);
}

TEST_CASE("FakeNvml: host view sees the profile's GPUs, UUIDs and MIG devices", "[nvml]") {
  Nvml& n = Lib();
  Node node = MakeNode("gpu-8x-mig-server");
  InitAt(n, node.root);
  unsigned count = 0;
  REQUIRE(n.nvmlDeviceGetCount_v2(&count) == NVML_SUCCESS);
  REQUIRE(count == 8);
  char buf[96];
  REQUIRE(n.nvmlSystemGetDriverVersion(buf, sizeof(buf)) == NVML_SUCCESS);
  CHECK(std::string(buf) == "550.90.07");
  CHECK(n.nvmlSystemGetDriverVersion(buf, 4) == NVML_ERROR_INSUFFICIENT_SIZE);

  for (unsigned i = 0; i < count; ++i) {
    nvmlDevice_t d;
    REQUIRE(n.nvmlDeviceGetHandleByIndex_v2(i, &d) == NVML_SUCCESS);
    const Gpu& g = node.state.gpus[i];
    CHECK(Uuid(n, d) == g.uuid);
    unsigned minor = 99, index = 99;
    CHECK(n.nvmlDeviceGetMinorNumber(d, &minor) == NVML_SUCCESS);
    CHECK(minor == g.minor);
    CHECK(n.nvmlDeviceGetIndex(d, &index) == NVML_SUCCESS);
    CHECK(index == i);
    nvmlMemory_t mem;
    REQUIRE(n.nvmlDeviceGetMemoryInfo(d, &mem) == NVML_SUCCESS);
    CHECK(mem.total == 80ull << 30);
    CHECK(mem.used == 0);
    nvmlDevice_t by_uuid;
    REQUIRE(n.nvmlDeviceGetHandleByUUID(g.uuid.c_str(), &by_uuid) == NVML_SUCCESS);
    CHECK(by_uuid == d);
  }
  nvmlDevice_t d0;
  REQUIRE(n.nvmlDeviceGetHandleByIndex_v2(0, &d0) == NVML_SUCCESS);
  REQUIRE(n.nvmlDeviceGetName(d0, buf, sizeof(buf)) == NVML_SUCCESS);
  CHECK(std::string(buf) == "NVIDIA H100 80GB HBM3");
  nvmlPciInfo_t pci;
  REQUIRE(n.nvmlDeviceGetPciInfo_v3(d0, &pci) == NVML_SUCCESS);
  CHECK(std::string(pci.busId) == "00000000:18:00.0");
  CHECK(std::string(pci.busIdLegacy) == "0000:18:00.0");
  CHECK(pci.pciDeviceId == 0x233010de);
  CHECK(pci.pciSubSystemId == 0x16c110de);
  nvmlDevice_t by_bus;
  REQUIRE(n.nvmlDeviceGetHandleByPciBusId_v2("0000:18:00.0", &by_bus) == NVML_SUCCESS);
  CHECK(by_bus == d0);
  nvmlDeviceArchitecture_t arch = 0;
  CHECK(n.nvmlDeviceGetArchitecture(d0, &arch) == NVML_SUCCESS);
  CHECK(arch == NVML_DEVICE_ARCH_HOPPER);
  int major = 0, minor = 0;
  CHECK(n.nvmlDeviceGetCudaComputeCapability(d0, &major, &minor) == NVML_SUCCESS);
  CHECK((major == 9 && minor == 0));
  unsigned cores = 0;
  CHECK(n.nvmlDeviceGetNumGpuCores(d0, &cores) == NVML_SUCCESS);
  CHECK(cores == 132 * 128);

  // MIG on gpu0: 3g.40gb, 2g.20gb, 1g.10gb.
  unsigned cur = 9, pend = 9, max_mig = 0;
  REQUIRE(n.nvmlDeviceGetMigMode(d0, &cur, &pend) == NVML_SUCCESS);
  CHECK(cur == NVML_DEVICE_MIG_ENABLE);
  REQUIRE(n.nvmlDeviceGetMaxMigDeviceCount(d0, &max_mig) == NVML_SUCCESS);
  CHECK(max_mig == 7);
  std::vector<std::string> mig_uuids;
  for (unsigned k = 0; k < max_mig; ++k) {
    nvmlDevice_t m;
    nvmlReturn_t rc = n.nvmlDeviceGetMigDeviceHandleByIndex(d0, k, &m);
    if (rc == NVML_ERROR_NOT_FOUND) continue;
    REQUIRE(rc == NVML_SUCCESS);
    const MigDevice& want = node.state.gpus[0].mig_devices[mig_uuids.size()];
    mig_uuids.push_back(Uuid(n, m));
    CHECK(mig_uuids.back() == want.uuid);
    unsigned is_mig = 0, gi = 0, ci = 9;
    CHECK(n.nvmlDeviceIsMigDeviceHandle(m, &is_mig) == NVML_SUCCESS);
    CHECK(is_mig == 1);
    CHECK(n.nvmlDeviceGetGpuInstanceId(m, &gi) == NVML_SUCCESS);
    CHECK(gi == want.gi_id);
    CHECK(n.nvmlDeviceGetComputeInstanceId(m, &ci) == NVML_SUCCESS);
    CHECK(ci == 0);
    nvmlMemory_t mem;
    REQUIRE(n.nvmlDeviceGetMemoryInfo(m, &mem) == NVML_SUCCESS);
    CHECK(mem.total == want.memory_bytes);
    nvmlDeviceAttributes_t attr;
    REQUIRE(n.nvmlDeviceGetAttributes_v2(m, &attr) == NVML_SUCCESS);
    CHECK(attr.multiprocessorCount == want.sm_count);
    nvmlDevice_t parent;
    REQUIRE(n.nvmlDeviceGetDeviceHandleFromMigDeviceHandle(m, &parent) == NVML_SUCCESS);
    CHECK(parent == d0);
    nvmlDevice_t by_uuid;
    REQUIRE(n.nvmlDeviceGetHandleByUUID(want.uuid.c_str(), &by_uuid) == NVML_SUCCESS);
    CHECK(by_uuid == m);
    REQUIRE(n.nvmlDeviceGetName(m, buf, sizeof(buf)) == NVML_SUCCESS);
    CHECK(std::string(buf) == "NVIDIA H100 80GB HBM3 MIG " + want.profile);
  }
  CHECK(mig_uuids.size() == 3);
  unsigned is_mig = 9, gi = 0;
  CHECK(n.nvmlDeviceIsMigDeviceHandle(d0, &is_mig) == NVML_SUCCESS);
  CHECK(is_mig == 0);
  CHECK(n.nvmlDeviceGetGpuInstanceId(d0, &gi) == NVML_ERROR_NOT_SUPPORTED);

  // NVLink: gpu0's links go to gpu1..gpu7 in profile order.
  nvmlEnableState_t active = NVML_FEATURE_DISABLED;
  REQUIRE(n.nvmlDeviceGetNvLinkState(d0, 0, &active) == NVML_SUCCESS);
  CHECK(active == NVML_FEATURE_ENABLED);
  REQUIRE(n.nvmlDeviceGetNvLinkState(d0, 7, &active) == NVML_SUCCESS);
  CHECK(active == NVML_FEATURE_DISABLED);
  nvmlPciInfo_t remote;
  REQUIRE(n.nvmlDeviceGetNvLinkRemotePciInfo_v2(d0, 6, &remote) == NVML_SUCCESS);
  CHECK(std::string(remote.busId) == "00000000:DB:00.0");
  CHECK(n.nvmlDeviceGetNvLinkState(d0, NVML_NVLINK_MAX_LINKS, &active) ==
        NVML_ERROR_INVALID_ARGUMENT);

  // A whole GPU (gpu7) has MIG off and no MIG devices.
  nvmlDevice_t d7;
  REQUIRE(n.nvmlDeviceGetHandleByIndex_v2(7, &d7) == NVML_SUCCESS);
  REQUIRE(n.nvmlDeviceGetMigMode(d7, &cur, &pend) == NVML_SUCCESS);
  CHECK(cur == NVML_DEVICE_MIG_DISABLE);
  CHECK(n.nvmlDeviceGetMaxMigDeviceCount(d7, &max_mig) == NVML_SUCCESS);
  CHECK(max_mig == 0);

  nvmlDevice_t none;
  CHECK(n.nvmlDeviceGetHandleByUUID("GPU-00000000-0000-0000-0000-000000000000", &none) ==
        NVML_ERROR_NOT_FOUND);
  CHECK(n.nvmlDeviceGetHandleByIndex_v2(8, &none) == NVML_ERROR_INVALID_ARGUMENT);
  CHECK(n.nvmlShutdown() == NVML_SUCCESS);
  CHECK(n.nvmlDeviceGetCount_v2(&count) == NVML_ERROR_UNINITIALIZED);
}

TEST_CASE("FakeNvml: an injected Xid arrives once per event set, a lost GPU fails calls",
          "[nvml][faults]") {
  Nvml& n = Lib();
  Node node = MakeNode("gpu-8x-mig-server");
  InitAt(n, node.root);
  nvmlDevice_t d5, d6;
  REQUIRE(n.nvmlDeviceGetHandleByIndex_v2(5, &d5) == NVML_SUCCESS);
  REQUIRE(n.nvmlDeviceGetHandleByIndex_v2(6, &d6) == NVML_SUCCESS);
  unsigned long long supported = 0;
  REQUIRE(n.nvmlDeviceGetSupportedEventTypes(d5, &supported) == NVML_SUCCESS);
  CHECK((supported & nvmlEventTypeXidCriticalError) != 0);
  nvmlEventSet_t a, b;
  REQUIRE(n.nvmlEventSetCreate(&a) == NVML_SUCCESS);
  REQUIRE(n.nvmlEventSetCreate(&b) == NVML_SUCCESS);
  REQUIRE(n.nvmlDeviceRegisterEvents(d5, nvmlEventTypeXidCriticalError, a) == NVML_SUCCESS);
  REQUIRE(n.nvmlDeviceRegisterEvents(d6,
                                     nvmlEventTypeXidCriticalError | nvmlEventTypeDoubleBitEccError,
                                     a) == NVML_SUCCESS);
  REQUIRE(n.nvmlDeviceRegisterEvents(d5, nvmlEventTypeXidCriticalError, b) == NVML_SUCCESS);

  nvmlEventData_t ev;
  CHECK(n.nvmlEventSetWait_v2(a, &ev, 50) == NVML_ERROR_TIMEOUT);

  REQUIRE_OK(InjectFault(node.root, node.state.gpus[5].uuid, "xid:43"));
  std::memset(&ev, 0, sizeof(ev));
  REQUIRE(n.nvmlEventSetWait_v2(a, &ev, 2000) == NVML_SUCCESS);
  CHECK(ev.device == d5);
  CHECK(ev.eventType == nvmlEventTypeXidCriticalError);
  CHECK(ev.eventData == 43);
  CHECK(ev.gpuInstanceId == 0xFFFFFFFFu);
  CHECK(n.nvmlEventSetWait_v2(a, &ev, 50) == NVML_ERROR_TIMEOUT);  // once per set
  REQUIRE(n.nvmlEventSetWait_v2(b, &ev, 2000) == NVML_SUCCESS);    // and once for each set
  CHECK(ev.eventData == 43);
  char buf[96];
  CHECK(n.nvmlDeviceGetName(d5, buf, sizeof(buf)) == NVML_SUCCESS);  // Xid 43 is not fatal

  // ECC: a double-bit event and the uncorrected counter.
  REQUIRE_OK(InjectFault(node.root, "gpu6", "ecc"));
  REQUIRE(n.nvmlEventSetWait_v2(a, &ev, 2000) == NVML_SUCCESS);
  CHECK(ev.device == d6);
  CHECK(ev.eventType == nvmlEventTypeDoubleBitEccError);
  unsigned long long ecc = 0;
  REQUIRE(n.nvmlDeviceGetTotalEccErrors(d6, NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_VOLATILE_ECC,
                                        &ecc) == NVML_SUCCESS);
  CHECK(ecc == 1);

  // Xid 79: the GPU fell off the bus; the event arrives and then calls fail.
  REQUIRE_OK(InjectFault(node.root, "gpu5", "xid:79"));
  REQUIRE(n.nvmlEventSetWait_v2(b, &ev, 2000) == NVML_SUCCESS);
  CHECK(ev.eventData == 79);
  CHECK(n.nvmlDeviceGetName(d5, buf, sizeof(buf)) == NVML_ERROR_GPU_IS_LOST);
  nvmlMemory_t mem;
  CHECK(n.nvmlDeviceGetMemoryInfo(d5, &mem) == NVML_ERROR_GPU_IS_LOST);
  nvmlDevice_t again;
  CHECK(n.nvmlDeviceGetHandleByIndex_v2(5, &again) == NVML_ERROR_GPU_IS_LOST);
  CHECK(n.nvmlDeviceGetName(d6, buf, sizeof(buf)) == NVML_SUCCESS);  // others unaffected

  REQUIRE_OK(ClearFaults(node.root, "gpu5"));
  CHECK(n.nvmlDeviceGetName(d5, buf, sizeof(buf)) == NVML_SUCCESS);
  CHECK(n.nvmlEventSetFree(a) == NVML_SUCCESS);
  CHECK(n.nvmlEventSetFree(b) == NVML_SUCCESS);
  CHECK(n.nvmlShutdown() == NVML_SUCCESS);
}

TEST_CASE("FakeNvml: --after N lets N calls through before a lost GPU fails", "[nvml][faults]") {
  Nvml& n = Lib();
  Node node = MakeNode("laptop-1gpu");
  InitAt(n, node.root);
  nvmlDevice_t d;
  REQUIRE(n.nvmlDeviceGetHandleByIndex_v2(0, &d) == NVML_SUCCESS);
  REQUIRE_OK(InjectFault(node.root, "gpu0", "lost", 2));
  char buf[96];
  CHECK(n.nvmlDeviceGetName(d, buf, sizeof(buf)) == NVML_SUCCESS);
  CHECK(n.nvmlDeviceGetName(d, buf, sizeof(buf)) == NVML_SUCCESS);
  CHECK(n.nvmlDeviceGetName(d, buf, sizeof(buf)) == NVML_ERROR_GPU_IS_LOST);
  CHECK(n.nvmlDeviceGetName(d, buf, sizeof(buf)) == NVML_ERROR_GPU_IS_LOST);
  // Event waits count one call each, however long they poll.
  REQUIRE_OK(ClearFaults(node.root));
  nvmlEventSet_t set;
  REQUIRE(n.nvmlEventSetCreate(&set) == NVML_SUCCESS);
  REQUIRE(n.nvmlDeviceRegisterEvents(d, nvmlEventTypeXidCriticalError, set) == NVML_SUCCESS);
  REQUIRE_OK(InjectFault(node.root, "gpu0", "xid:31", 2));
  nvmlEventData_t ev;
  CHECK(n.nvmlEventSetWait_v2(set, &ev, 200) == NVML_ERROR_TIMEOUT);  // sees it: call 0
  CHECK(n.nvmlEventSetWait_v2(set, &ev, 30) == NVML_ERROR_TIMEOUT);   // call 1
  REQUIRE(n.nvmlEventSetWait_v2(set, &ev, 30) == NVML_SUCCESS);       // call 2: in effect
  CHECK(ev.eventData == 31);
  CHECK(n.nvmlEventSetFree(set) == NVML_SUCCESS);
  // A laptop GPU has no ECC.
  nvmlEnableState_t cur, pend;
  REQUIRE_OK(ClearFaults(node.root));
  CHECK(n.nvmlDeviceGetEccMode(d, &cur, &pend) == NVML_ERROR_NOT_SUPPORTED);
  CHECK(n.nvmlShutdown() == NVML_SUCCESS);
}

TEST_CASE("FakeNvml: a container with one GPU's node (private mount namespace) sees only it",
          "[nvml][sandbox]") {
  if (::geteuid() != 0) DRAHIL_SKIP("needs root for a private mount namespace");
  std::string unshare = testing::FindOnPath("unshare");
  if (unshare.empty()) DRAHIL_SKIP("unshare (util-linux) is not installed");
  std::string lister = testing::Bin("drahil-nvml-list");
  Node node = MakeNode("gpu-8x-mig-server");

  // Host view first: everything.
  auto host =
      RunCommand({lister, LibPath()}, std::chrono::seconds(20), {{"DRAHIL_FAKE_ROOT", node.root}});
  REQUIRE_OK(host);
  INFO(host->output);
  REQUIRE(host->exit.success());
  CHECK(host->output.find("count 8\n") != std::string::npos);

  // Container view: a private /dev with gpu2's node and one of its MIG
  // capability nodes; the node root's dev/ masked as the sandbox does.
  const Gpu& g2 = node.state.gpus[2];
  const MigDevice& m1 = g2.mig_devices[1];
  std::string script =
      "set -e\n"
      "mount -t tmpfs none /dev\n"
      "mkdir /dev/nvidia-caps\n"
      "touch /dev/nvidia" +
      std::to_string(g2.minor) + " /dev/nvidia-caps/nvidia-cap" + std::to_string(m1.cap_minor) +
      "\n"
      "mount --bind \"$ROOT/dev/nvidia" +
      std::to_string(g2.minor) + "\" /dev/nvidia" + std::to_string(g2.minor) +
      "\n"
      "mount --bind \"$ROOT/" +
      m1.cap_file + "\" /dev/nvidia-caps/nvidia-cap" + std::to_string(m1.cap_minor) +
      "\n"
      "mount -t tmpfs none \"$ROOT/dev\"\n"
      "exec \"$LISTER\" \"$LIB\"\n";
  auto cont = RunCommand({unshare, "--mount", "--propagation", "private", "/bin/sh", "-c", script},
                         std::chrono::seconds(20),
                         {{"DRAHIL_FAKE_ROOT", node.root},
                          {"ROOT", node.root},
                          {"LISTER", lister},
                          {"LIB", LibPath()}});
  REQUIRE_OK(cont);
  INFO(cont->output);
  REQUIRE(cont->exit.success());
  CHECK(cont->output.find("count 1\n") != std::string::npos);
  CHECK(cont->output.find("gpu 0 " + g2.uuid + " " + std::to_string(g2.minor)) !=
        std::string::npos);
  CHECK(cont->output.find("mig 0 " + m1.uuid + " " + std::to_string(m1.gi_id) + " " +
                          std::to_string(m1.memory_bytes)) != std::string::npos);
  CHECK(cont->output.find(g2.mig_devices[0].uuid) == std::string::npos);  // cap not granted
  CHECK(cont->output.find(node.state.gpus[0].uuid) == std::string::npos);
  // GPU 3's node granted under GPU 2's name is neither GPU (a CDI mapping bug
  // must not pass as the right device).
  std::string swapped =
      "set -e\nmount -t tmpfs none /dev\ntouch /dev/nvidia" + std::to_string(g2.minor) +
      "\n"
      "mount --bind \"$ROOT/dev/nvidia" +
      std::to_string(node.state.gpus[3].minor) + "\" /dev/nvidia" + std::to_string(g2.minor) +
      "\nmount -t tmpfs none \"$ROOT/dev\"\nexec \"$LISTER\" \"$LIB\"\n";
  auto wrong =
      RunCommand({unshare, "--mount", "--propagation", "private", "/bin/sh", "-c", swapped},
                 std::chrono::seconds(20),
                 {{"DRAHIL_FAKE_ROOT", node.root},
                  {"ROOT", node.root},
                  {"LISTER", lister},
                  {"LIB", LibPath()}});
  REQUIRE_OK(wrong);
  INFO(wrong->output);
  CHECK(wrong->output == "count 0\n");
  // The host's view is untouched by the namespace.
  CHECK(::access((node.root + "/dev/nvidia0").c_str(), F_OK) == 0);
}
