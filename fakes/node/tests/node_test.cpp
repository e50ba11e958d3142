#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <string>

extern "C" {
#include <pci/pci.h>
}

#include "drahil/core/child_process.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/fakenode/fakenode.hpp"
#include "drahil/testing/testing.hpp"

using namespace drahil;
using namespace drahil::fakenode;

namespace {

std::string ProfilePath(const std::string& name) {
  return testing::SourceDir() + "/fakes/profiles/" + name + ".yaml";
}

Result<NodeState> Create(const std::string& profile, const std::string& root,
                         const std::string& node = "") {
  DRAHIL_ASSIGN_OR_RETURN(auto p, LoadProfile(ProfilePath(profile)));
  return CreateNode(p, root, CreateOptions{node, false});
}

struct PciRow {
  uint16_t vendor, device;
  unsigned cls;
  std::string driver;
  int numa;
};

void PciSilent(char*, ...) {}
std::string* g_pci_error = nullptr;
void PciError(char* msg, ...) {
  if (g_pci_error) *g_pci_error = msg;
}

// Scans a sysfs tree with libpci exactly as a driver would.
std::map<std::string, PciRow> ScanWithLibpci(const std::string& sysfs_path, std::string* error) {
  std::map<std::string, PciRow> rows;
  pci_access* acc = pci_alloc();
  acc->method = PCI_ACCESS_SYS_BUS_PCI;
  acc->warning = PciSilent;
  acc->debug = PciSilent;
  g_pci_error = error;
  acc->error = PciError;
  pci_set_param(acc, const_cast<char*>("sysfs.path"), const_cast<char*>(sysfs_path.c_str()));
  pci_init(acc);
  pci_scan_bus(acc);
  for (pci_dev* d = acc->devices; d; d = d->next) {
    pci_fill_info(d, PCI_FILL_IDENT | PCI_FILL_CLASS | PCI_FILL_NUMA_NODE | PCI_FILL_DRIVER);
    char bdf[32];
    std::snprintf(bdf, sizeof(bdf), "%04x:%02x:%02x.%d", d->domain, d->bus, d->dev, d->func);
    const char* drv = pci_get_string_property(d, PCI_FILL_DRIVER);
    rows[bdf] = PciRow{d->vendor_id, d->device_id, d->device_class, drv ? drv : "", d->numa_node};
  }
  pci_cleanup(acc);
  g_pci_error = nullptr;
  return rows;
}

}  // namespace

TEST_CASE("CreateNode: 8-GPU MIG server has sparse memory nodes, caps and stable UUIDs",
          "[fakenode]") {
  auto dir = TempDir::Create("fakenode-");
  REQUIRE_OK(dir);
  std::string root = dir->Join("node");
  auto n = Create("gpu-8x-mig-server", root);
  REQUIRE_OK(n);
  REQUIRE(n->gpus.size() == 8);

  uint64_t blocks = 0;
  for (const auto& g : n->gpus) {
    struct stat st {};
    REQUIRE(::stat((root + "/" + g.node_file).c_str(), &st) == 0);
    CHECK(S_ISREG(st.st_mode));
    CHECK(static_cast<uint64_t>(st.st_size) == 80ull << 30);
    blocks += static_cast<uint64_t>(st.st_blocks);
    CHECK(g.uuid.rfind("GPU-", 0) == 0);
    CHECK(g.uuid.size() == 40);
  }
  CHECK(blocks * 512 < (1u << 20));  // 640 GiB of GPU memory costs no disk

  // MIG: gpu0 3g+2g+1g with its slices inside the node file; gpu1 7x1g.
  const Gpu& g0 = n->gpus[0];
  REQUIRE(g0.mig_devices.size() == 3);
  CHECK(g0.mig_devices[0].profile == "3g.40gb");
  CHECK(g0.mig_devices[0].memory_offset == 0);
  CHECK(g0.mig_devices[1].memory_offset == 40ull << 30);
  CHECK(g0.mig_devices[2].memory_offset == 60ull << 30);
  CHECK(g0.mig_devices[2].sm_count == 16);
  CHECK(g0.mig_devices[0].uuid.rfind("MIG-", 0) == 0);
  CHECK(n->gpus[1].mig_devices.size() == 7);
  CHECK(n->gpus[4].mig_enabled);
  CHECK(n->gpus[4].mig_devices.empty());
  CHECK_FALSE(n->gpus[7].mig_enabled);
  std::set<uint32_t> caps;
  for (const auto& g : n->gpus) {
    for (const auto& m : g.mig_devices) {
      CHECK(PathExists(root + "/" + m.cap_file));
      caps.insert(m.cap_minor);
    }
  }
  CHECK(caps.size() == 13);  // 3 + 7 + 2 + 1 distinct capability nodes
  for (const char* f : {"nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-caps/nvidia-cap1"}) {
    CHECK(PathExists(root + "/dev/" + f));
  }

  // The metadata round-trips.
  auto back = ReadNodeState(root);
  REQUIRE_OK(back);
  CHECK(back->node_name == "gpu-server-1");
  REQUIRE(back->gpus.size() == 8);
  CHECK(back->gpus[0].mig_devices[1].uuid == g0.mig_devices[1].uuid);
  CHECK(back->gpus[3].nvlink_peers.size() == 7);

  // Same node name and seed: same UUIDs; another node: other UUIDs.
  auto again = Create("gpu-8x-mig-server", dir->Join("again"));
  REQUIRE_OK(again);
  CHECK(again->gpus[5].uuid == n->gpus[5].uuid);
  CHECK(again->gpus[0].mig_devices[2].uuid == g0.mig_devices[2].uuid);
  auto other = Create("gpu-8x-mig-server", dir->Join("other"), "gpu-server-2");
  REQUIRE_OK(other);
  CHECK(other->gpus[5].uuid != n->gpus[5].uuid);
  std::set<std::string> all;
  for (const auto* s : {&*n, &*other}) {
    for (const auto& g : s->gpus) {
      all.insert(g.uuid);
      for (const auto& m : g.mig_devices) all.insert(m.uuid);
    }
  }
  CHECK(all.size() == 2 * (8 + 13));

  // A per-GPU uuidSeed changes that GPU's ids only.
  auto seeded = LoadProfile(ProfilePath("gpu-8x-mig-server"));
  REQUIRE_OK(seeded);
  seeded->gpus[5].uuid_seed = "other";
  auto reseeded = CreateNode(*seeded, dir->Join("seeded"));
  REQUIRE_OK(reseeded);
  CHECK(reseeded->gpus[5].uuid != n->gpus[5].uuid);
  CHECK(reseeded->gpus[6].uuid == n->gpus[6].uuid);

  // An existing root is not overwritten without force.
  auto profile = LoadProfile(ProfilePath("laptop-1gpu"));
  REQUIRE_OK(profile);
  CHECK(profile->gpus[0].uuid_seed == "laptop-dgpu");
  auto clash = CreateNode(*profile, root);
  REQUIRE_FALSE(clash.ok());
  CHECK(clash.status().code() == Code::kAlreadyExists);
  REQUIRE_OK(CreateNode(*profile, root, CreateOptions{"", true}));
  auto replaced = ReadNodeState(root);
  REQUIRE_OK(replaced);
  CHECK(replaced->gpus.size() == 1);
}

TEST_CASE("CreateNode: libpci through sysfs.path lists exactly the profile's functions",
          "[fakenode][pci]") {
  auto dir = TempDir::Create("fakenode-");
  REQUIRE_OK(dir);
  std::string root = dir->Join("node");
  auto n = Create("mixed", root);
  REQUIRE_OK(n);
  std::string err;
  auto rows = ScanWithLibpci(root + "/sys/bus/pci", &err);
  CHECK(err.empty());
  std::map<std::string, PciRow> want_ids;
  REQUIRE(rows.size() == 5);  // 2 GPUs + FPGA PF + 2 VFs
  CHECK(rows.at("0000:17:00.0").vendor == 0x10de);
  CHECK(rows.at("0000:17:00.0").device == 0x20b5);
  CHECK(rows.at("0000:17:00.0").cls == 0x0302);
  CHECK(rows.at("0000:17:00.0").driver == "nvidia");
  CHECK(rows.at("0000:65:00.0").numa == 0);
  CHECK(rows.at("0000:b1:00.0").vendor == 0x8086);
  CHECK(rows.at("0000:b1:00.0").device == 0xbcce);
  CHECK(rows.at("0000:b1:00.0").driver == "dfl-pci");
  CHECK(rows.at("0000:b1:00.1").device == 0xbccf);
  CHECK(rows.at("0000:b1:00.2").device == 0xbccf);
  CHECK(rows.at("0000:b1:00.2").numa == 1);

  // SR-IOV links and counters as the kernel shows them.
  std::string pf = root + "/sys/bus/pci/devices/0000:b1:00.0";
  auto total = ReadFile(pf + "/sriov_totalvfs");
  REQUIRE_OK(total);
  CHECK(*total == "3\n");
  CHECK(*ReadFile(pf + "/sriov_numvfs") == "2\n");
  char buf[256];
  ssize_t len = ::readlink((pf + "/virtfn1").c_str(), buf, sizeof(buf));
  REQUIRE(len > 0);
  CHECK(std::string(buf, static_cast<size_t>(len)) == "../0000:b1:00.2");
  len = ::readlink((root + "/sys/bus/pci/devices/0000:b1:00.2/physfn").c_str(), buf, sizeof(buf));
  REQUIRE(len > 0);
  CHECK(std::string(buf, static_cast<size_t>(len)) == "../0000:b1:00.0");
}

TEST_CASE("CreateNode: lspci -A linux-sysfs prints every function, VFs and SR-IOV included",
          "[fakenode][pci]") {
  std::string lspci = testing::FindOnPath("lspci");
  if (lspci.empty() && ::access("/usr/bin/lspci", X_OK) == 0) lspci = "/usr/bin/lspci";
  if (lspci.empty()) DRAHIL_SKIP("lspci (pciutils) is not installed");
  auto dir = TempDir::Create("fakenode-");
  REQUIRE_OK(dir);
  std::string root = dir->Join("node");
  auto n = Create("fpga-2card-vfs", root);
  REQUIRE_OK(n);
  std::string opt = "sysfs.path=" + root + "/sys/bus/pci";
  auto out =
      RunCommand({lspci, "-A", "linux-sysfs", "-O", opt, "-n", "-D"}, std::chrono::seconds(20));
  REQUIRE_OK(out);
  INFO(out->output);
  REQUIRE(out->exit.success());
  std::vector<std::string> want = {"0000:3b:00.0 1200: 10ee:500c", "0000:3b:00.1 1200: 10ee:500d",
                                   "0000:3b:00.2 1200: 10ee:500e", "0000:3b:00.3 1200: 10ee:500e",
                                   "0000:af:00.0 1200: 8086:bcce", "0000:af:00.1 1200: 8086:bccf",
                                   "0000:af:00.2 1200: 8086:bccf", "0000:af:00.3 1200: 8086:bccf"};
  for (const auto& w : want) CHECK(out->output.find(w) != std::string::npos);
  CHECK(std::count(out->output.begin(), out->output.end(), '\n') == 8);

  auto verbose = RunCommand({lspci, "-A", "linux-sysfs", "-O", opt, "-vvv", "-s", "af:00.0"},
                            std::chrono::seconds(20));
  REQUIRE_OK(verbose);
  INFO(verbose->output);
  CHECK(verbose->output.find("Single Root I/O Virtualization") != std::string::npos);
  CHECK(verbose->output.find("Kernel driver in use: dfl-pci") != std::string::npos);
}

TEST_CASE("CreateNode: FPGA device nodes and DFL sysfs follow the vendors' layout", "[fakenode]") {
  auto dir = TempDir::Create("fakenode-");
  REQUIRE_OK(dir);
  std::string root = dir->Join("node");
  auto n = Create("fpga-2card-vfs", root);
  REQUIRE_OK(n);
  REQUIRE(n->fpgas.size() == 2);
  const Fpga& x = n->fpgas[0];
  CHECK(x.user_bdf == "0000:3b:00.1");
  CHECK(std::find(x.nodes.begin(), x.nodes.end(), "dev/xclmgmt0") != x.nodes.end());
  CHECK(std::find(x.nodes.begin(), x.nodes.end(), "dev/dri/renderD128") != x.nodes.end());
  REQUIRE(x.vfs.size() == 2);
  CHECK(x.vfs[1].node == "dev/dri/renderD130");
  CHECK(PathExists(root + "/sys/bus/pci/devices/0000:3b:00.1/drm/renderD128"));
  CHECK(PathExists(root + "/sys/bus/pci/devices/0000:3b:00.3/drm/renderD130"));
  const Fpga& i = n->fpgas[1];
  CHECK(std::find(i.nodes.begin(), i.nodes.end(), "dev/dfl-fme.0") != i.nodes.end());
  REQUIRE(i.vfs.size() == 3);
  CHECK(i.vfs[2].node == "dev/dfl-port.2");
  for (const auto& node : i.nodes) CHECK(PathExists(root + "/" + node));
  CHECK(PathExists(root + "/sys/class/fpga_region/region0/dfl-fme.0/ports_num"));
  CHECK(*ReadFile(root + "/sys/class/fpga_region/region0/dfl-fme.0/ports_num") == "3\n");
  CHECK(
      PathExists(root + "/sys/bus/pci/devices/0000:af:00.3/fpga_region/region3/dfl-port.2/afu_id"));

  auto devs = ListDevices(root);
  REQUIRE_OK(devs);
  CHECK(devs->size() == 2 + 2 + 3);
}

TEST_CASE("InjectFault: faults show up in sysfs and clear restores it", "[fakenode][faults]") {
  auto dir = TempDir::Create("fakenode-");
  REQUIRE_OK(dir);
  std::string root = dir->Join("node");
  auto n = Create("mixed", root);
  REQUIRE_OK(n);
  std::string gpu_dir = root + "/sys/bus/pci/devices/0000:17:00.0";
  auto pristine = ReadFile(gpu_dir + "/config");
  REQUIRE_OK(pristine);
  REQUIRE(pristine->size() == 4096);
  CHECK(static_cast<unsigned char>((*pristine)[0]) == 0xde);

  auto lost = InjectFault(root, n->gpus[0].uuid, "lost");
  REQUIRE_OK(lost);
  CHECK(lost->id == 1);
  CHECK(*ReadFile(gpu_dir + "/config") == std::string(4096, '\xff'));
  auto aer = InjectFault(root, "0000:17:00.0", "pcie-aer", 3);
  REQUIRE_OK(aer);
  CHECK(aer->id == 2);
  CHECK(aer->after == 3);
  CHECK(ReadFile(gpu_dir + "/aer_dev_fatal")->find("TOTAL_ERR_FATAL 1") != std::string::npos);

  // A MIG-targeted Xid carries the GPU-instance id.
  const MigDevice& mig = n->gpus[1].mig_devices[0];
  auto xid = InjectFault(root, mig.uuid, "xid:43");
  REQUIRE_OK(xid);
  CHECK(xid->gi_id == mig.gi_id);
  auto faults = ReadFaults(root, "gpu1");
  REQUIRE_OK(faults);
  REQUIRE(faults->size() == 1);
  CHECK(faults->front().xid == 43);

  auto region = InjectFault(root, "fpga0", "fpga-region-error");
  REQUIRE_OK(region);
  CHECK(*ReadFile(root + "/sys/class/fpga_region/region0/dfl-fme.0/errors/errors") == "0x1\n");

  auto devs = ListDevices(root);
  REQUIRE_OK(devs);
  auto gpu0 =
      std::find_if(devs->begin(), devs->end(), [](const DeviceRef& d) { return d.key == "gpu0"; });
  REQUIRE(gpu0 != devs->end());
  CHECK(gpu0->faults == std::vector<std::string>{"lost", "pcie-aer"});

  // Wrong targets and bad specs are refused without side effects.
  CHECK(InjectFault(root, "fpga0", "xid:79").status().code() == Code::kInvalidArgument);
  CHECK(InjectFault(root, "gpu0", "fpga-region-error").status().code() == Code::kInvalidArgument);
  CHECK(InjectFault(root, "gpu9", "lost").status().code() == Code::kNotFound);
  CHECK(InjectFault(root, "gpu0", "xid:abc").status().code() == Code::kInvalidArgument);
  CHECK(InjectFault(root, "gpu0", "melt").status().code() == Code::kInvalidArgument);

  REQUIRE_OK(ClearFaults(root, "gpu0"));
  CHECK(*ReadFile(gpu_dir + "/config") == *pristine);
  CHECK(ReadFile(gpu_dir + "/aer_dev_fatal")->find("TOTAL_ERR_FATAL 0") != std::string::npos);
  CHECK(ReadFaults(root, "gpu1")->size() == 1);  // other devices keep theirs
  REQUIRE_OK(ClearFaults(root));
  CHECK(ReadFaults(root, "gpu1")->empty());
  CHECK(*ReadFile(root + "/sys/class/fpga_region/region0/dfl-fme.0/errors/errors") == "0x0\n");
  // Ids keep growing after a clear, so event consumers never see a reused id.
  auto next = InjectFault(root, "gpu0", "ecc");
  REQUIRE_OK(next);
  CHECK(next->id == 5);
}

TEST_CASE("drahil-fakenode: create, list, inject and clear from the command line",
          "[fakenode][cli]") {
  std::string bin = testing::Bin("drahil-fakenode");
  INFO("drahil-fakenode is not built: " << bin);
  REQUIRE(::access(bin.c_str(), X_OK) == 0);
  auto dir = TempDir::Create("fakenode-");
  REQUIRE_OK(dir);
  std::string root = dir->Join("node");
  auto create = RunCommand(
      {bin, "create", "--profile", ProfilePath("laptop-1gpu"), "--root", root, "--node-name", "n1"},
      std::chrono::seconds(20));
  REQUIRE_OK(create);
  INFO(create->output);
  REQUIRE(create->exit.success());
  CHECK(create->output.find("node n1 (profile laptop-1gpu)") != std::string::npos);
  CHECK(create->output.find("export DRAHIL_FAKE_ROOT=" + root) != std::string::npos);

  auto inject = RunCommand({bin, "inject", "--root", root, "--device", "gpu0", "--fault", "xid:79"},
                           std::chrono::seconds(20));
  REQUIRE_OK(inject);
  INFO(inject->output);
  CHECK(inject->exit.success());
  auto list = RunCommand({bin, "list", "--root", root, "--json"}, std::chrono::seconds(20));
  REQUIRE_OK(list);
  INFO(list->output);
  CHECK(list->output.find("\"xid:79\"") != std::string::npos);
  auto clear = RunCommand({bin, "clear", "--root", root}, std::chrono::seconds(20));
  REQUIRE_OK(clear);
  CHECK(clear->exit.success());
  CHECK(ReadFaults(root, "gpu0")->empty());

  auto bad = RunCommand({bin, "inject", "--root", root, "--device", "gpu0", "--fault", "melt"},
                        std::chrono::seconds(20));
  REQUIRE_OK(bad);
  CHECK(bad->exit.exit_code == 2);
  CHECK(bad->output.find("unknown fault \"melt\"") != std::string::npos);
  auto bad_profile =
      RunCommand({bin, "create", "--profile", "/nonexistent.yaml", "--root", dir->Join("x")},
                 std::chrono::seconds(20));
  REQUIRE_OK(bad_profile);
  CHECK(bad_profile->exit.exit_code == 2);
}

TEST_CASE("ReadNodeState: damaged metadata is an error naming the file", "[fakenode][robust]") {
  auto dir = TempDir::Create("fakenode-");
  REQUIRE_OK(dir);
  std::string root = dir->Join("node");
  REQUIRE_OK(Create("laptop-1gpu", root));
  std::string gpu = GpuStatePath(root, 0);
  auto good = ReadFile(gpu);
  REQUIRE_OK(good);
  for (const std::string& bad :
       {std::string("{not json"), std::string("[]"), std::string("{\"index\": \"zero\"}"),
        good->substr(0, good->size() / 2)}) {
    REQUIRE_OK(AtomicWriteFile(gpu, bad));
    auto st = ReadNodeState(root);
    INFO(bad);
    REQUIRE_FALSE(st.ok());
    CHECK(st.status().message().find(gpu) != std::string::npos);
  }
  // A MIG slice that would lie outside the GPU is refused.
  REQUIRE_OK(AtomicWriteFile(gpu, *good));
  auto p = ParseProfile(R"(schema: drahil.fakenode/v1
name: x
gpus: []
)",
                        "x.yaml");
  CHECK_FALSE(p.ok());
  auto not_root = ReadNodeState(dir->path());
  REQUIRE_FALSE(not_root.ok());
  CHECK(not_root.status().message().find("not a drahil node root") != std::string::npos);
  // Damaged fault files: an error for the reader, and inject refuses to overwrite blindly.
  REQUIRE_OK(AtomicWriteFile(FaultsPath(root, "gpu0"), "{\"faults\": [{\"id\": \"x\"}]}"));
  CHECK_FALSE(ReadFaults(root, "gpu0").ok());
  CHECK_FALSE(InjectFault(root, "gpu0", "lost").ok());
  REQUIRE_OK(ClearFaults(root));
  REQUIRE_OK(InjectFault(root, "gpu0", "lost"));
}
