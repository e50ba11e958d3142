// The emulated GPU runtime, loaded with dlopen as the probes load it.
#include "drahil/gpurt/gpurt.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
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
#define GPURT_FUNCS(X) \
  X(gpurtInit) \
  X(gpurtShutdown) \
  X(gpurtGetAbiVersion) \
  X(gpurtGetErrorString) \
  X(gpurtGetLastErrorDetail) \
  X(gpurtDeviceCount) \
  X(gpurtGetDeviceInfo) \
  X(gpurtMemGetInfo) \
  X(gpurtMalloc) \
  X(gpurtFree) \
  X(gpurtMemcpyHtoD) \
  X(gpurtMemcpyDtoH) \
  X(gpurtMemcpyDtoD) \
  X(gpurtMemset) \
  X(gpurtLaunch)
// clang-format on

struct Gpurt {
#define DECLARE(name) name##_fn name = nullptr;
  GPURT_FUNCS(DECLARE)
#undef DECLARE
  void* lib = nullptr;
};

std::string LibPath() { return testing::LibDir() + "/libdrahil-gpurt.so"; }

Gpurt& Rt() {
  static Gpurt g = [] {
    Gpurt x;
    x.lib = dlopen(LibPath().c_str(), RTLD_NOW | RTLD_LOCAL);
    if (x.lib) {
#define LOADFN(name) x.name = reinterpret_cast<name##_fn>(dlsym(x.lib, #name));
      GPURT_FUNCS(LOADFN)
#undef LOADFN
    }
    return x;
  }();
  REQUIRE(g.lib != nullptr);
  return g;
}

struct Node {
  TempDir dir;
  std::string root;
  NodeState state;
};

Node MakeNode(const std::string& profile) {
  auto dir = TempDir::Create("gpurt-");
  REQUIRE_OK(dir);
  std::string root = dir->Join("node");
  auto p = LoadProfile(testing::SourceDir() + "/fakes/profiles/" + profile + ".yaml");
  REQUIRE_OK(p);
  auto st = CreateNode(*p, root);
  REQUIRE_OK(st);
  return Node{std::move(*dir), root, std::move(*st)};
}

// Env: sets the variables the runtime reads at init, clearing the others;
// shuts the runtime down again at scope exit.
struct Env {
  Env(const std::string& root, std::vector<std::pair<const char*, std::string>> vars) {
    for (const char* v : {"CUDA_VISIBLE_DEVICES", "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT",
                          "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"}) {
      ::unsetenv(v);
    }
    ::setenv("DRAHIL_FAKE_ROOT", root.c_str(), 1);
    for (const auto& [k, v] : vars) ::setenv(k, v.c_str(), 1);
  }
  ~Env() { Rt().gpurtShutdown(); }
};

gpurtDeviceInfo Info(int dev) {
  gpurtDeviceInfo info;
  std::memset(&info, 0, sizeof(info));
  info.struct_size = sizeof(info);
  REQUIRE(Rt().gpurtGetDeviceInfo(dev, &info) == GPURT_SUCCESS);
  return info;
}

constexpr uint64_t kGi = 1ull << 30;
constexpr uint64_t kMi = 1ull << 20;

}  // namespace

TEST_CASE("Gpurt: without a node root init fails with NO_FAKE_ROOT", "[gpurt]") {
  Gpurt& g = Rt();
  ::unsetenv("DRAHIL_FAKE_ROOT");
  CHECK(g.gpurtInit(0) == GPURT_ERROR_NO_FAKE_ROOT);
  int count = 0;
  CHECK(g.gpurtDeviceCount(&count) == GPURT_ERROR_NOT_INITIALIZED);
  int abi = 0;
  CHECK(g.gpurtGetAbiVersion(&abi) == GPURT_SUCCESS);
  CHECK(abi == GPURT_ABI_VERSION);
  CHECK(std::string(g.gpurtGetErrorString(GPURT_ERROR_OUT_OF_MEMORY)) == "out of memory");
}

TEST_CASE("Gpurt: memory and kernels on an emulated laptop GPU give right answers", "[gpurt]") {
  Gpurt& g = Rt();
  Node node = MakeNode("laptop-1gpu");
  Env env(node.root, {});
  REQUIRE(g.gpurtInit(0) == GPURT_SUCCESS);
  int count = 0;
  REQUIRE(g.gpurtDeviceCount(&count) == GPURT_SUCCESS);
  REQUIRE(count == 1);
  gpurtDeviceInfo info = Info(0);
  CHECK(std::string(info.uuid) == node.state.gpus[0].uuid);
  CHECK(std::string(info.name) == "NVIDIA GeForce RTX 4070 Laptop GPU");
  CHECK(info.total_mem == 8 * kGi);
  CHECK(info.mem_limit == 8 * kGi);
  CHECK(info.sm_count == 36);
  CHECK(info.active_sm_count == 36);
  CHECK(info.is_mig == 0);
  CHECK((info.cc_major == 8 && info.cc_minor == 9));

  const size_t n = 100000;
  std::vector<float> a(n), b(n), c(n);
  for (size_t i = 0; i < n; ++i) {
    a[i] = static_cast<float>(i % 1000) * 0.5f;
    b[i] = 1.0f + static_cast<float>(i % 7);
  }
  gpurtDevPtr da = 0, db = 0, dc = 0;
  REQUIRE(g.gpurtMalloc(0, &da, n * 4) == GPURT_SUCCESS);
  REQUIRE(g.gpurtMalloc(0, &db, n * 4) == GPURT_SUCCESS);
  REQUIRE(g.gpurtMalloc(0, &dc, n * 4) == GPURT_SUCCESS);
  CHECK(da != 0);
  CHECK(da != db);
  REQUIRE(g.gpurtMemcpyHtoD(0, da, a.data(), n * 4) == GPURT_SUCCESS);
  REQUIRE(g.gpurtMemcpyHtoD(0, db, b.data(), n * 4) == GPURT_SUCCESS);

  gpurtLaunchParams lp;
  std::memset(&lp, 0, sizeof(lp));
  lp.struct_size = sizeof(lp);
  lp.kernel = GPURT_KERNEL_VECTOR_ADD;
  lp.n = n;
  lp.a = da;
  lp.b = db;
  lp.c = dc;
  INFO(g.gpurtGetLastErrorDetail());
  REQUIRE(g.gpurtLaunch(0, &lp) == GPURT_SUCCESS);
  CHECK(lp.elapsed_ns > 0);
  CHECK(lp.compute_units_used >= 1);
  REQUIRE(g.gpurtMemcpyDtoH(0, c.data(), dc, n * 4) == GPURT_SUCCESS);
  for (size_t i = 0; i < n; i += 997) CHECK(c[i] == a[i] + b[i]);

  lp.kernel = GPURT_KERNEL_FMA;
  lp.alpha = 0.25f;
  lp.iterations = 3;
  REQUIRE(g.gpurtLaunch(0, &lp) == GPURT_SUCCESS);
  REQUIRE(g.gpurtMemcpyDtoH(0, c.data(), dc, n * 4) == GPURT_SUCCESS);
  for (size_t i = 0; i < n; i += 991) {
    float x = a[i];
    for (int k = 0; k < 3; ++k) x = std::fma(x, b[i], 0.25f);
    CHECK(c[i] == Approx(x).epsilon(1e-5));
  }

  lp.kernel = GPURT_KERNEL_REDUCE_SUM;
  REQUIRE(g.gpurtLaunch(0, &lp) == GPURT_SUCCESS);
  float sum = 0;
  REQUIRE(g.gpurtMemcpyDtoH(0, &sum, dc, 4) == GPURT_SUCCESS);
  double want = 0;
  for (float v : a) want += v;
  CHECK(sum == Approx(want).epsilon(1e-4));

  REQUIRE(g.gpurtMemcpyDtoD(0, dc, da, n * 4) == GPURT_SUCCESS);
  REQUIRE(g.gpurtMemset(0, db, 0, n * 4) == GPURT_SUCCESS);
  REQUIRE(g.gpurtMemcpyDtoH(0, c.data(), dc, n * 4) == GPURT_SUCCESS);
  CHECK(c[12345] == a[12345]);

  unsigned long long free_b = 0, total_b = 0;
  REQUIRE(g.gpurtMemGetInfo(0, &free_b, &total_b) == GPURT_SUCCESS);
  CHECK(total_b == 8 * kGi);
  CHECK(free_b == 8 * kGi - 3 * ((n * 4 + 4095) / 4096 * 4096));

  // Misuse is refused, not crashed on.
  CHECK(g.gpurtMemcpyDtoH(0, c.data(), dc, n * 4 + 4096) == GPURT_ERROR_INVALID_VALUE);
  CHECK(g.gpurtMemcpyDtoH(0, c.data(), 12345, 4) == GPURT_ERROR_INVALID_VALUE);
  CHECK(g.gpurtFree(0, da + 4) == GPURT_ERROR_INVALID_VALUE);
  gpurtDevPtr big = 0;
  CHECK(g.gpurtMalloc(0, &big, 9 * kGi) == GPURT_ERROR_OUT_OF_MEMORY);
  CHECK(g.gpurtMemcpyDtoH(0, c.data(), dc + 4096, SIZE_MAX - 100) == GPURT_ERROR_INVALID_VALUE);
  CHECK(g.gpurtMalloc(0, &big, SIZE_MAX) == GPURT_ERROR_OUT_OF_MEMORY);
  gpurtLaunchParams huge = lp;
  huge.n = UINT64_MAX / 2;
  CHECK(g.gpurtLaunch(0, &huge) == GPURT_ERROR_INVALID_VALUE);
  CHECK(g.gpurtMalloc(1, &big, 4) == GPURT_ERROR_INVALID_DEVICE);
  lp.kernel = static_cast<gpurtKernel>(42);
  CHECK(g.gpurtLaunch(0, &lp) == GPURT_ERROR_INVALID_VALUE);
  REQUIRE(g.gpurtFree(0, da) == GPURT_SUCCESS);
  CHECK(g.gpurtFree(0, da) == GPURT_ERROR_INVALID_VALUE);
  // A freed range is reused.
  gpurtDevPtr again = 0;
  REQUIRE(g.gpurtMalloc(0, &again, n * 4) == GPURT_SUCCESS);
  CHECK(again == da);
}

TEST_CASE("Gpurt: a MIG slice bounds allocations by its size", "[gpurt][mig]") {
  Gpurt& g = Rt();
  Node node = MakeNode("gpu-8x-mig-server");
  {
    // Without CUDA_VISIBLE_DEVICES: whole GPUs plus only the first MIG device.
    Env env(node.root, {});
    REQUIRE(g.gpurtInit(0) == GPURT_SUCCESS);
    int count = 0;
    REQUIRE(g.gpurtDeviceCount(&count) == GPURT_SUCCESS);
    CHECK(count == 4);
    CHECK(std::string(Info(0).uuid) == node.state.gpus[0].mig_devices[0].uuid);
    CHECK(std::string(Info(1).uuid) == node.state.gpus[5].uuid);
  }
  const MigDevice& slice = node.state.gpus[0].mig_devices[2];  // 1g.10gb
  REQUIRE(slice.profile == "1g.10gb");
  Env env(node.root, {{"CUDA_VISIBLE_DEVICES", slice.uuid}});
  REQUIRE(g.gpurtInit(0) == GPURT_SUCCESS);
  int count = 0;
  REQUIRE(g.gpurtDeviceCount(&count) == GPURT_SUCCESS);
  REQUIRE(count == 1);
  gpurtDeviceInfo info = Info(0);
  CHECK(info.is_mig == 1);
  CHECK(info.total_mem == 10 * kGi);
  CHECK(info.sm_count == 16);
  CHECK(info.gpu_instance_id == slice.gi_id);
  CHECK(std::string(info.parent_uuid) == node.state.gpus[0].uuid);

  gpurtDevPtr p = 0;
  CHECK(g.gpurtMalloc(0, &p, 10 * kGi + 1) == GPURT_ERROR_OUT_OF_MEMORY);
  REQUIRE(g.gpurtMalloc(0, &p, 10 * kGi) == GPURT_SUCCESS);  // the whole slice fits
  gpurtDevPtr q = 0;
  CHECK(g.gpurtMalloc(0, &q, 4096) == GPURT_ERROR_OUT_OF_MEMORY);
  // The slice is its region of the GPU's node file.
  const char msg[] = "in slice 2";
  REQUIRE(g.gpurtMemcpyHtoD(0, p, msg, sizeof(msg)) == GPURT_SUCCESS);
  FILE* f = std::fopen((node.root + "/dev/nvidia0").c_str(), "rb");
  REQUIRE(f != nullptr);
  REQUIRE(fseeko(f, static_cast<off_t>(slice.memory_offset), SEEK_SET) == 0);
  char back[sizeof(msg)] = {};
  REQUIRE(std::fread(back, 1, sizeof(back), f) == sizeof(back));
  std::fclose(f);
  CHECK(std::string(back) == msg);
  REQUIRE(g.gpurtFree(0, p) == GPURT_SUCCESS);
}

TEST_CASE("Gpurt: the MPS pinned memory limit refuses what the device would allow",
          "[gpurt][mps]") {
  Gpurt& g = Rt();
  Node node = MakeNode("laptop-1gpu");
  gpurtDevPtr p = 0, q = 0;
  {
    Env env(node.root, {{"CUDA_MPS_PINNED_DEVICE_MEM_LIMIT", "0=1G"}});
    REQUIRE(g.gpurtInit(0) == GPURT_SUCCESS);
    CHECK(Info(0).mem_limit == kGi);
    REQUIRE(g.gpurtMalloc(0, &p, 768 * kMi) == GPURT_SUCCESS);
    CHECK(g.gpurtMalloc(0, &q, 512 * kMi) == GPURT_ERROR_MEMORY_LIMIT);
    unsigned long long free_b = 0, total_b = 0;
    REQUIRE(g.gpurtMemGetInfo(0, &free_b, &total_b) == GPURT_SUCCESS);
    CHECK(free_b == 256 * kMi);
    CHECK(total_b == 8 * kGi);  // MPS keeps reporting the whole device
    REQUIRE(g.gpurtFree(0, p) == GPURT_SUCCESS);
    CHECK(g.gpurtMalloc(0, &q, 1 * kGi) == GPURT_SUCCESS);
  }
  {
    Env env(node.root, {{"CUDA_MPS_PINNED_DEVICE_MEM_LIMIT", node.state.gpus[0].uuid + "=4096M"}});
    REQUIRE(g.gpurtInit(0) == GPURT_SUCCESS);
    CHECK(Info(0).mem_limit == 4 * kGi);
    CHECK(g.gpurtMalloc(0, &p, 5 * kGi) == GPURT_ERROR_MEMORY_LIMIT);
  }
  {
    Env env(node.root, {});  // no limit set: the same request is allowed
    REQUIRE(g.gpurtInit(0) == GPURT_SUCCESS);
    CHECK(g.gpurtMalloc(0, &p, 5 * kGi) == GPURT_SUCCESS);
  }
  {
    Env env(node.root, {{"CUDA_MPS_PINNED_DEVICE_MEM_LIMIT", "0=lots"}});
    CHECK(g.gpurtInit(0) == GPURT_ERROR_INVALID_VALUE);
    CHECK(std::string(g.gpurtGetLastErrorDetail()).find("0=lots") != std::string::npos);
  }
}

TEST_CASE("Gpurt: the MPS active thread percentage limits SMs and compute units", "[gpurt][mps]") {
  Gpurt& g = Rt();
  Node node = MakeNode("laptop-1gpu");
  unsigned full_cus = 0;
  auto run = [&](gpurtLaunchParams* lp) {
    const size_t n = 4096;
    gpurtDevPtr a = 0, c = 0;
    REQUIRE(g.gpurtMalloc(0, &a, n * 4) == GPURT_SUCCESS);
    REQUIRE(g.gpurtMalloc(0, &c, n * 4) == GPURT_SUCCESS);
    std::memset(lp, 0, sizeof(*lp));
    lp->struct_size = sizeof(*lp);
    lp->kernel = GPURT_KERNEL_COPY;
    lp->n = n;
    lp->a = a;
    lp->c = c;
    INFO(g.gpurtGetLastErrorDetail());
    REQUIRE(g.gpurtLaunch(0, lp) == GPURT_SUCCESS);
  };
  {
    Env env(node.root, {});
    REQUIRE(g.gpurtInit(0) == GPURT_SUCCESS);
    gpurtLaunchParams lp;
    run(&lp);
    full_cus = lp.compute_units_used;
  }
  Env env(node.root, {{"CUDA_MPS_ACTIVE_THREAD_PERCENTAGE", "50"}});
  REQUIRE(g.gpurtInit(0) == GPURT_SUCCESS);
  gpurtDeviceInfo info = Info(0);
  CHECK(info.active_thread_percentage == 50);
  CHECK(info.active_sm_count == 18);
  gpurtLaunchParams lp;
  run(&lp);
  if (full_cus > 1) {
    CHECK(lp.compute_units_used == full_cus / 2);
  } else {
    CHECK(lp.compute_units_used == 1);
  }
}

TEST_CASE("Gpurt: injected faults make calls fail the way a real GPU fails them",
          "[gpurt][faults]") {
  Gpurt& g = Rt();
  Node node = MakeNode("laptop-1gpu");
  Env env(node.root, {});
  REQUIRE(g.gpurtInit(0) == GPURT_SUCCESS);
  gpurtDevPtr a = 0, c = 0;
  REQUIRE(g.gpurtMalloc(0, &a, 4096) == GPURT_SUCCESS);
  REQUIRE(g.gpurtMalloc(0, &c, 4096) == GPURT_SUCCESS);
  gpurtLaunchParams lp;
  std::memset(&lp, 0, sizeof(lp));
  lp.struct_size = sizeof(lp);
  lp.kernel = GPURT_KERNEL_COPY;
  lp.n = 1024;
  lp.a = a;
  lp.c = c;
  float x = 1;

  REQUIRE_OK(InjectFault(node.root, "gpu0", "xid:43"));
  CHECK(g.gpurtLaunch(0, &lp) == GPURT_ERROR_LAUNCH_FAILED);
  CHECK(std::string(g.gpurtGetLastErrorDetail()).find("xid:43") != std::string::npos);
  CHECK(g.gpurtMemcpyHtoD(0, a, &x, 4) == GPURT_SUCCESS);
  REQUIRE_OK(ClearFaults(node.root));
  CHECK(g.gpurtLaunch(0, &lp) == GPURT_SUCCESS);

  REQUIRE_OK(InjectFault(node.root, "gpu0", "ecc"));
  CHECK(g.gpurtMemcpyHtoD(0, a, &x, 4) == GPURT_ERROR_ECC_UNCORRECTABLE);
  REQUIRE_OK(ClearFaults(node.root));

  REQUIRE_OK(InjectFault(node.root, "gpu0", "lost"));
  gpurtDevPtr p = 0;
  CHECK(g.gpurtMalloc(0, &p, 4096) == GPURT_ERROR_DEVICE_LOST);
  CHECK(g.gpurtMemcpyDtoH(0, &x, a, 4) == GPURT_ERROR_DEVICE_LOST);
  unsigned long long fr = 0, tot = 0;
  CHECK(g.gpurtMemGetInfo(0, &fr, &tot) == GPURT_ERROR_DEVICE_LOST);
}

TEST_CASE("Gpurt: allocations are shared across processes and seen by the fake NVML",
          "[gpurt][nvml]") {
  Gpurt& g = Rt();
  Node node = MakeNode("laptop-1gpu");
  Env env(node.root, {});
  REQUIRE(g.gpurtInit(0) == GPURT_SUCCESS);
  gpurtDevPtr p = 0;
  REQUIRE(g.gpurtMalloc(0, &p, 6 * kGi) == GPURT_SUCCESS);

  std::string smoke = testing::Bin("drahil-gpurt-smoke");
  std::map<std::string, std::string> child_env = {{"DRAHIL_FAKE_ROOT", node.root}};
  auto over = RunCommand({smoke, LibPath(), "alloc", std::to_string(4 * kGi)},
                         std::chrono::seconds(30), child_env);
  REQUIRE_OK(over);
  INFO(over->output);
  CHECK(over->output == "alloc " + std::to_string(GPURT_ERROR_OUT_OF_MEMORY) + "\n");
  auto fits = RunCommand({smoke, LibPath(), "alloc", std::to_string(1 * kGi)},
                         std::chrono::seconds(30), child_env);
  REQUIRE_OK(fits);
  CHECK(fits->output == "alloc 0\n");
  auto vec = RunCommand({smoke, LibPath(), "vecadd", "5000"}, std::chrono::seconds(60), child_env);
  REQUIRE_OK(vec);
  CHECK(vec->output == "vecadd ok\n");

  // NVML reports the memory this process holds as used.
  std::string nvml_path = testing::LibDir() + "/fake-nvml/libnvidia-ml.so.1";
  DRAHIL_REQUIRE_BUILT("drahil_fake_nvml", nvml_path);
  void* nvml = dlopen(nvml_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  REQUIRE(nvml != nullptr);
  auto init = reinterpret_cast<nvmlInit_v2_fn>(dlsym(nvml, "nvmlInit_v2"));
  auto handle = reinterpret_cast<nvmlDeviceGetHandleByIndex_v2_fn>(
      dlsym(nvml, "nvmlDeviceGetHandleByIndex_v2"));
  auto meminfo =
      reinterpret_cast<nvmlDeviceGetMemoryInfo_fn>(dlsym(nvml, "nvmlDeviceGetMemoryInfo"));
  auto shutdown = reinterpret_cast<nvmlShutdown_fn>(dlsym(nvml, "nvmlShutdown"));
  REQUIRE(init() == NVML_SUCCESS);
  nvmlDevice_t d;
  REQUIRE(handle(0, &d) == NVML_SUCCESS);
  nvmlMemory_t mem;
  REQUIRE(meminfo(d, &mem) == NVML_SUCCESS);
  CHECK(mem.used == 6 * kGi);
  CHECK(mem.free == 2 * kGi);
  REQUIRE(g.gpurtFree(0, p) == GPURT_SUCCESS);
  REQUIRE(meminfo(d, &mem) == NVML_SUCCESS);
  CHECK(mem.used == 0);
  CHECK(shutdown() == NVML_SUCCESS);
}

TEST_CASE("Gpurt: a container sees only the nodes it was given", "[gpurt][sandbox]") {
  if (::geteuid() != 0) DRAHIL_SKIP("needs root for a private mount namespace");
  std::string unshare = testing::FindOnPath("unshare");
  if (unshare.empty()) DRAHIL_SKIP("unshare (util-linux) is not installed");
  Node node = MakeNode("gpu-8x-mig-server");
  const Gpu& g7 = node.state.gpus[7];
  const Gpu& g1 = node.state.gpus[1];
  const MigDevice& m = g1.mig_devices[4];
  auto run = [&](const std::string& grants) {
    std::string script = "set -e\nmount -t tmpfs none /dev\nmkdir /dev/nvidia-caps\n" + grants +
                         "mount -t tmpfs none \"$ROOT/dev\"\nexec \"$SMOKE\" \"$LIB\" info\n";
    return RunCommand({unshare, "--mount", "--propagation", "private", "/bin/sh", "-c", script},
                      std::chrono::seconds(30),
                      {{"DRAHIL_FAKE_ROOT", node.root},
                       {"ROOT", node.root},
                       {"SMOKE", testing::Bin("drahil-gpurt-smoke")},
                       {"LIB", LibPath()}});
  };
  auto bind = [&](const std::string& rel_in_root, const std::string& dev_path) {
    return "touch " + dev_path + "\nmount --bind \"$ROOT/" + rel_in_root + "\" " + dev_path + "\n";
  };
  auto none = run("");
  REQUIRE_OK(none);
  INFO(none->output);
  CHECK(none->output.find("count error " + std::to_string(GPURT_ERROR_NO_DEVICE)) !=
        std::string::npos);

  auto some = run(bind(g7.node_file, "/dev/nvidia7") + bind(g1.node_file, "/dev/nvidia1") +
                  bind(m.cap_file, "/dev/nvidia-caps/nvidia-cap" + std::to_string(m.cap_minor)));
  REQUIRE_OK(some);
  INFO(some->output);
  CHECK(some->output.find("count 2\n") != std::string::npos);
  CHECK(some->output.find(m.uuid + " " + std::to_string(10 * kGi)) != std::string::npos);
  CHECK(some->output.find(g7.uuid + " " + std::to_string(80 * kGi)) != std::string::npos);

  // The parent's node without the capability gives nothing: MIG needs the cap.
  auto nocap = run(bind(g1.node_file, "/dev/nvidia1"));
  REQUIRE_OK(nocap);
  INFO(nocap->output);
  CHECK(nocap->output.find("count error " + std::to_string(GPURT_ERROR_NO_DEVICE)) !=
        std::string::npos);
}
