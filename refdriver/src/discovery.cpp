// Device discovery: GPUs through NVML, FPGAs through libpci.
#include <dlfcn.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include "drahil/core/file_util.hpp"
#include "driver.hpp"
#include "nvml.hpp"

extern "C" {
#include <pci/pci.h>
}

namespace drahil::refdriver {

const Device* Inventory::Find(const std::string& name) const {
  for (const auto& d : devices)
    if (d.name == name) return &d;
  return nullptr;
}
int Inventory::IndexOf(const std::string& name) const {
  for (size_t i = 0; i < devices.size(); ++i)
    if (devices[i].name == name) return static_cast<int>(i);
  return -1;
}

// ---- NVML --------------------------------------------------------------------

Result<std::unique_ptr<Nvml>> Nvml::Load(const std::string& path) {
  std::unique_ptr<Nvml> n(new Nvml());
  n->lib_ = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (n->lib_ == nullptr) {
    const char* e = ::dlerror();
    return NotFoundError("load NVML " + path + ": " + (e ? e : "dlopen failed"));
  }
  auto sym = [&](const char* name, auto& fn) -> Status {
    void* p = ::dlsym(n->lib_, name);
    if (p == nullptr) return NotFoundError("NVML " + path + ": missing symbol " + name);
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(p);
    return OkStatus();
  };
#define DRAHIL_NVML_SYM(name) DRAHIL_RETURN_IF_ERROR(sym(#name, n->name));
  DRAHIL_NVML_SYM(nvmlInit_v2)
  DRAHIL_NVML_SYM(nvmlShutdown)
  DRAHIL_NVML_SYM(nvmlErrorString)
  DRAHIL_NVML_SYM(nvmlSystemGetDriverVersion)
  DRAHIL_NVML_SYM(nvmlDeviceGetCount_v2)
  DRAHIL_NVML_SYM(nvmlDeviceGetHandleByIndex_v2)
  DRAHIL_NVML_SYM(nvmlDeviceGetName)
  DRAHIL_NVML_SYM(nvmlDeviceGetUUID)
  DRAHIL_NVML_SYM(nvmlDeviceGetPciInfo_v3)
  DRAHIL_NVML_SYM(nvmlDeviceGetMinorNumber)
  DRAHIL_NVML_SYM(nvmlDeviceGetMemoryInfo)
  DRAHIL_NVML_SYM(nvmlDeviceGetAttributes_v2)
  DRAHIL_NVML_SYM(nvmlDeviceGetMigMode)
  DRAHIL_NVML_SYM(nvmlDeviceGetMaxMigDeviceCount)
  DRAHIL_NVML_SYM(nvmlDeviceGetMigDeviceHandleByIndex)
  DRAHIL_NVML_SYM(nvmlDeviceGetGpuInstanceId)
  DRAHIL_NVML_SYM(nvmlDeviceGetComputeInstanceId)
  DRAHIL_NVML_SYM(nvmlDeviceGetTotalEccErrors)
  DRAHIL_NVML_SYM(nvmlEventSetCreate)
  DRAHIL_NVML_SYM(nvmlDeviceRegisterEvents)
  DRAHIL_NVML_SYM(nvmlEventSetWait_v2)
  DRAHIL_NVML_SYM(nvmlEventSetFree)
#undef DRAHIL_NVML_SYM
  nvmlReturn_t r = n->nvmlInit_v2();
  if (r != NVML_SUCCESS) return UnavailableError(n->Error("nvmlInit_v2", r) + " (" + path + ")");
  n->initialized_ = true;
  return n;
}

Nvml::~Nvml() {
  if (initialized_) nvmlShutdown();
  if (lib_) ::dlclose(lib_);
}

std::string Nvml::Error(const char* call, nvmlReturn_t r) const {
  const char* s = nvmlErrorString ? nvmlErrorString(r) : nullptr;
  return std::string(call) + ": " + (s ? s : "error " + std::to_string(static_cast<int>(r)));
}

namespace {

// DnsLabel(): "1g.10gb" -> "1g-10gb".
std::string DnsLabel(std::string s) {
  for (auto& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) c = '-';
  }
  return s;
}

// MigCapMinor(): the capability node minor of a MIG GPU instance. Real
// drivers read /proc/driver/nvidia/capabilities/gpu<minor>/mig/gi<gi>/access
// ("DeviceFileMinor: N"); on an emulated node the node root's metadata plays
// /proc (docs/emulation.md).
int MigCapMinor(const Options& opts, int gpu_minor, int gi, int ci) {
  std::string proc = "/proc/driver/nvidia/capabilities/gpu" + std::to_string(gpu_minor) +
                     "/mig/gi" + std::to_string(gi) + "/access";
  if (auto text = ReadFile(proc); text.ok()) {
    auto p = text->find("DeviceFileMinor:");
    if (p != std::string::npos) return std::atoi(text->c_str() + p + 16);
  }
  if (opts.fake_root.empty()) return -1;
  auto meta = ReadFile(opts.fake_root + "/state/gpus/gpu" + std::to_string(gpu_minor) + ".json");
  if (!meta.ok()) return -1;
  auto j = Json::parse(*meta, nullptr, false);
  if (j.is_discarded() || !j.contains("mig")) return -1;
  for (const auto& d : j["mig"].value("devices", Json::array())) {
    if (d.value("gi_id", -1) == gi && d.value("ci_id", 0) == ci) return d.value("cap_minor", -1);
  }
  return -1;
}

// MigMeta(): profile name and placement of a MIG instance from the same source.
Json MigMeta(const Options& opts, int gpu_minor, int gi) {
  if (opts.fake_root.empty()) return Json::object();
  auto meta = ReadFile(opts.fake_root + "/state/gpus/gpu" + std::to_string(gpu_minor) + ".json");
  if (!meta.ok()) return Json::object();
  auto j = Json::parse(*meta, nullptr, false);
  if (j.is_discarded() || !j.contains("mig")) return Json::object();
  Json out = j["mig"];
  out.erase("devices");
  for (const auto& d : j["mig"].value("devices", Json::array()))
    if (d.value("gi_id", -1) == gi) out["device"] = d;
  return out;
}

}  // namespace

Status DiscoverGpus(Nvml& nvml, const Options& opts, Inventory& inv) {
  char ver[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE] = {0};
  if (nvml.nvmlSystemGetDriverVersion(ver, sizeof(ver)) == NVML_SUCCESS) {
    // NVIDIA versions look like "550.54.15"; a semver attribute needs three
    // numeric parts without leading zeros.
    std::string v = ver;
    std::vector<std::string> parts;
    std::stringstream ss(v);
    std::string p;
    while (std::getline(ss, p, '.')) parts.push_back(std::to_string(std::atol(p.c_str())));
    while (parts.size() < 3) parts.push_back("0");
    inv.driver_version = parts[0] + "." + parts[1] + "." + parts[2];
  }
  unsigned int count = 0;
  nvmlReturn_t r = nvml.nvmlDeviceGetCount_v2(&count);
  if (r != NVML_SUCCESS) return UnavailableError(nvml.Error("nvmlDeviceGetCount_v2", r));
  for (unsigned int i = 0; i < count; ++i) {
    nvmlDevice_t h{};
    if ((r = nvml.nvmlDeviceGetHandleByIndex_v2(i, &h)) != NVML_SUCCESS)
      return UnavailableError(nvml.Error("nvmlDeviceGetHandleByIndex_v2", r));
    Device d;
    d.type = DeviceType::kGpu;
    d.index = static_cast<int>(i);
    d.name = opts.device_prefix.gpu + "-" + std::to_string(i);
    char buf[NVML_DEVICE_UUID_V2_BUFFER_SIZE] = {0};
    if ((r = nvml.nvmlDeviceGetUUID(h, buf, sizeof(buf))) != NVML_SUCCESS)
      return UnavailableError(nvml.Error("nvmlDeviceGetUUID", r));
    d.uuid = buf;
    char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE] = {0};
    if (nvml.nvmlDeviceGetName(h, name, sizeof(name)) == NVML_SUCCESS) d.model = name;
    unsigned int minor = 0;
    if ((r = nvml.nvmlDeviceGetMinorNumber(h, &minor)) != NVML_SUCCESS)
      return UnavailableError(nvml.Error("nvmlDeviceGetMinorNumber", r));
    d.minor = static_cast<int>(minor);
    nvmlPciInfo_t pci{};
    if (nvml.nvmlDeviceGetPciInfo_v3(h, &pci) == NVML_SUCCESS) {
      std::string bus = pci.busId;  // "00000000:18:00.0" -> "0000:18:00.0"
      if (bus.size() > 12) bus = bus.substr(bus.size() - 12);
      std::transform(bus.begin(), bus.end(), bus.begin(), ::tolower);
      d.pci_bus_id = bus;
      auto numa = ReadFile(opts.sysfs_root + "/devices/" + bus + "/numa_node");
      if (numa.ok()) d.numa_node = std::atoi(numa->c_str());
    }
    nvmlMemory_t mem{};
    if ((r = nvml.nvmlDeviceGetMemoryInfo(h, &mem)) != NVML_SUCCESS)
      return UnavailableError(nvml.Error("nvmlDeviceGetMemoryInfo", r));
    d.memory_bytes = static_cast<int64_t>(mem.total);
    nvmlDeviceAttributes_t attr{};
    if (nvml.nvmlDeviceGetAttributes_v2(h, &attr) == NVML_SUCCESS)
      d.sm_count = static_cast<int>(attr.multiprocessorCount);
    d.nodes = {
        {"/dev/nvidia" + std::to_string(minor), opts.HostDev("nvidia" + std::to_string(minor))},
        {"/dev/nvidiactl", opts.HostDev("nvidiactl")},
        {"/dev/nvidia-uvm", opts.HostDev("nvidia-uvm")}};
    unsigned int cur = 0, pend = 0;
    bool mig =
        nvml.nvmlDeviceGetMigMode(h, &cur, &pend) == NVML_SUCCESS && cur == NVML_DEVICE_MIG_ENABLE;
    int gpu_pos = static_cast<int>(inv.devices.size());
    auto meta = MigMeta(opts, d.minor, -1);
    d.memory_slices = meta.value("memory_slices", 8);
    d.mig_enabled = mig;
    inv.devices.push_back(d);
    if (!mig || opts.partitioning != "mig-static") continue;

    unsigned int max = 0;
    if (nvml.nvmlDeviceGetMaxMigDeviceCount(h, &max) != NVML_SUCCESS) continue;
    for (unsigned int j = 0; j < max; ++j) {
      nvmlDevice_t mh{};
      if (nvml.nvmlDeviceGetMigDeviceHandleByIndex(h, j, &mh) != NVML_SUCCESS) continue;
      Device m;
      m.type = DeviceType::kMig;
      m.parent = gpu_pos;
      m.index = d.index;
      m.minor = d.minor;
      m.model = d.model;
      m.pci_bus_id = d.pci_bus_id;
      m.numa_node = d.numa_node;
      char mu[NVML_DEVICE_UUID_V2_BUFFER_SIZE] = {0};
      if (nvml.nvmlDeviceGetUUID(mh, mu, sizeof(mu)) != NVML_SUCCESS) continue;
      m.uuid = mu;
      unsigned int gi = 0, ci = 0;
      nvml.nvmlDeviceGetGpuInstanceId(mh, &gi);
      nvml.nvmlDeviceGetComputeInstanceId(mh, &ci);
      m.gi_id = static_cast<int>(gi);
      m.ci_id = static_cast<int>(ci);
      nvmlMemory_t mm{};
      if (nvml.nvmlDeviceGetMemoryInfo(mh, &mm) == NVML_SUCCESS)
        m.memory_bytes = static_cast<int64_t>(mm.total);
      nvmlDeviceAttributes_t ma{};
      if (nvml.nvmlDeviceGetAttributes_v2(mh, &ma) == NVML_SUCCESS) {
        m.sm_count = static_cast<int>(ma.multiprocessorCount);
        m.placement_size = static_cast<int>(ma.gpuInstanceSliceCount);
      }
      auto mmeta = MigMeta(opts, d.minor, m.gi_id);
      if (mmeta.contains("device")) {
        m.mig_profile = mmeta["device"].value("profile", "");
        m.placement_start = mmeta["device"].value("placement_start", 0);
        m.placement_size = mmeta["device"].value("placement_size", m.placement_size);
      }
      if (m.mig_profile.empty())
        m.mig_profile =
            std::to_string(m.placement_size) + "g." + std::to_string(m.memory_bytes >> 30) + "gb";
      m.name = d.name + "-" + opts.partition_infix + "-" + DnsLabel(m.mig_profile) + "-" +
               std::to_string(m.placement_start);
      int cap = MigCapMinor(opts, d.minor, m.gi_id, m.ci_id);
      if (cap < 0) {
        spdlog::warn("MIG device {} of GPU {}: capability node unknown; skipping", m.uuid, d.uuid);
        continue;
      }
      m.nodes = d.nodes;
      m.nodes.push_back({"/dev/nvidia-caps/nvidia-cap" + std::to_string(cap),
                         opts.HostDev("nvidia-caps/nvidia-cap" + std::to_string(cap))});
      inv.devices.push_back(m);
    }
  }
  return OkStatus();
}

// ---- FPGAs (libpci) ------------------------------------------------------------

namespace {
// libpci requires its error callback not to return; nothing can be recovered
// inside libpci, so the driver exits with the message. The GNU attribute (not
// [[noreturn]]) is part of the function type, which the callback type needs.
__attribute__((noreturn)) void PciFatal(char* msg, ...) {
  va_list ap;
  va_start(ap, msg);
  char buf[512];
  std::vsnprintf(buf, sizeof(buf), msg, ap);
  va_end(ap);
  spdlog::critical("libpci: {}", buf);
  std::exit(3);
}

bool IsFpga(unsigned vendor, unsigned device, unsigned cls) {
  // Xilinx/AMD Alveo cards (vendor 10ee) and Intel FPGA cards (vendor 8086,
  // class 0x12 "processing accelerator"); other Intel functions are not FPGAs.
  if (vendor == 0x10ee) return true;
  if (vendor == 0x8086) return (cls >> 8) == 0x12;
  (void)device;
  return false;
}

std::string Bdf(const pci_dev* d) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04x:%02x:%02x.%d", d->domain, d->bus, d->dev, d->func);
  return buf;
}

std::string ReadTrim(const std::string& path) {
  auto t = ReadFile(path);
  if (!t.ok()) return "";
  std::string s = *t;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}
// One FPGA PCI function, as libpci and sysfs show it.
struct PciFn {
  std::string bdf;
  unsigned vendor, device, cls;
  int numa;
  bool vf;
  std::string physfn;  // a VF's PF bdf
};

// ReadPhysFn(): marks `f` a VF, with its PF's bdf, when sysfs has its
// physfn link.
void ReadPhysFn(const Options& opts, PciFn* f) {
  std::string dir = opts.sysfs_root + "/devices/" + f->bdf;
  char link[512];
  ssize_t n = ::readlink((dir + "/physfn").c_str(), link, sizeof(link) - 1);
  if (n <= 0) return;
  link[n] = 0;
  f->vf = true;
  std::string l = link;
  f->physfn = l.substr(l.rfind('/') + 1);
}

// ScanPciFpgas(): the FPGA functions under --sysfs-root, by bdf.
Result<std::vector<PciFn>> ScanPciFpgas(const Options& opts) {
  pci_access* pacc = pci_alloc();
  if (pacc == nullptr) return InternalError("pci_alloc failed");
  pacc->method = PCI_ACCESS_SYS_BUS_PCI;
  pci_set_param(pacc, const_cast<char*>("sysfs.path"), const_cast<char*>(opts.sysfs_root.c_str()));
  pacc->error = PciFatal;
  pci_init(pacc);
  pci_scan_bus(pacc);
  std::vector<PciFn> fns;
  for (pci_dev* d = pacc->devices; d; d = d->next) {
    pci_fill_info(d, PCI_FILL_IDENT | PCI_FILL_CLASS | PCI_FILL_NUMA_NODE);
    if (!IsFpga(d->vendor_id, d->device_id, d->device_class)) continue;
    PciFn f{Bdf(d), d->vendor_id, d->device_id, d->device_class, d->numa_node, false, ""};
    ReadPhysFn(opts, &f);
    fns.push_back(f);
  }
  pci_cleanup(pacc);
  std::sort(fns.begin(), fns.end(), [](const PciFn& a, const PciFn& b) { return a.bdf < b.bdf; });
  return fns;
}

// Metadata of the emulated node, if any (like vendor tools' device info):
// one object per card, naming its functions' bdfs.
class FpgaMeta {
 public:
  explicit FpgaMeta(const Options& opts) {
    if (opts.fake_root.empty()) return;
    auto names = ListDir(opts.fake_root + "/state/fpgas");
    if (!names.ok()) return;
    for (const auto& n : *names) {
      auto t = ReadFile(opts.fake_root + "/state/fpgas/" + n);
      if (!t.ok()) continue;
      auto j = Json::parse(*t, nullptr, false);
      if (!j.is_discarded()) cards_.push_back(j);
    }
  }

  // For(): the card one of whose functions is `bdf`; nullptr when none is.
  const Json* For(const std::string& bdf) const {
    for (const auto& m : cards_) {
      if (Names(m, bdf)) return &m;
    }
    return nullptr;
  }

 private:
  static bool Names(const Json& m, const std::string& bdf) {
    if (m.value("user_bdf", "") == bdf || m.value("mgmt_bdf", "") == bdf ||
        m.value("bdf", "") == bdf)
      return true;
    for (const auto& vf : m.value("vfs", Json::array()))
      if (vf.value("bdf", "") == bdf) return true;
    return false;
  }

  std::vector<Json> cards_;
};

// StripDev(): a device node path relative to /dev ("dev/x" and "x": "x").
std::string StripDev(std::string rel) {
  if (rel.rfind("dev/", 0) == 0) rel = rel.substr(4);
  return rel;
}

// IsVfNode(): whether the node `rel` belongs to one of card `m`'s VFs.
bool IsVfNode(const Json& m, const std::string& rel) {
  bool vf_node = false;
  for (const auto& vf : m.value("vfs", Json::array()))
    vf_node = vf_node || StripDev(vf.value("node", "")) == rel;
  return vf_node;
}

// ApplyCardMeta(): a PF's uuid, shell, PR region and device nodes from its
// card's metadata.
void ApplyCardMeta(const Options& opts, const Json& m, Device* d) {
  d->uuid = m.value("uuid", "");
  d->shell = m.value("shell", "");
  auto regions = m.value("pr_regions", Json::array());
  if (!regions.empty()) {
    const auto& r0 = regions[0];
    // The PR region's interface id names what a bitstream must be built for.
    d->region =
        r0.is_object() ? r0.value("interface_id", r0.value("name", std::string())) : r0.dump();
  }
  for (const auto& n : m.value("nodes", Json::array())) {
    std::string rel = StripDev(n.is_string() ? n.get<std::string>() : n.value("path", ""));
    if (rel.empty()) continue;
    // VF nodes belong to the VFs; the management node stays on the host.
    if (IsVfNode(m, rel) || rel.rfind("xclmgmt", 0) == 0) continue;
    d->nodes.push_back({"/dev/" + rel, opts.HostDev(rel)});
  }
}

// ReadRegionSysfs(): error files, and the ids the DFL feature devices
// (<bdf>/fpga_region/<region>/<feature>) show. FME features (bitstream id,
// region when still unknown) are read for a PF only; port features (AFU id)
// for both.
void ReadRegionSysfs(const Options& opts, const std::string& bdf, bool pf, Device* d) {
  std::string dir = opts.sysfs_root + "/devices/" + bdf + "/fpga_region";
  auto regions = ListDir(dir);
  if (!regions.ok()) return;
  for (const auto& r : *regions) {
    auto subs = ListDir(dir + "/" + r);
    if (!subs.ok()) continue;
    for (const auto& s : *subs) {
      std::string feature = dir + "/" + r + "/" + s;
      std::string ef = feature + "/errors/errors";
      if (PathExists(ef)) d->sysfs_error_files.push_back(ef);
      if (pf && s.rfind("dfl-fme", 0) == 0) {
        d->bitstream_id = ReadTrim(feature + "/bitstream_id");
        if (d->region.empty()) d->region = d->bitstream_id;
      }
      if (s.rfind("dfl-port", 0) == 0) d->afu_id = ReadTrim(feature + "/afu_id");
    }
  }
}

// IsMgmtPf(): whether `bdf` is the management PF of a Xilinx card, which has
// a management PF and a user PF. (An Intel DFL card has one PF that is both;
// user_bdf is then empty.)
bool IsMgmtPf(const Json* m, const std::string& bdf) {
  if (m == nullptr) return false;
  std::string user = m->value("user_bdf", "");
  return m->value("mgmt_bdf", "") == bdf && !user.empty() && user != bdf;
}

// PfDevice(): the device of card number `index`, whose published PF is `f`.
Device PfDevice(const Options& opts, const PciFn& f, const Json* m, int index) {
  Device d;
  d.type = DeviceType::kFpga;
  d.index = index;
  d.name = opts.device_prefix.fpga + "-" + std::to_string(d.index);
  d.pci_bus_id = f.bdf;
  d.numa_node = f.numa;
  d.vendor = f.vendor == 0x10ee ? "xilinx" : "intel";
  char model[64];
  std::snprintf(model, sizeof(model), "%04x:%04x", f.vendor, f.device);
  d.model = model;
  if (m != nullptr) ApplyCardMeta(opts, *m, &d);
  if (d.uuid.empty()) d.uuid = "FPGA-" + f.bdf;
  ReadRegionSysfs(opts, f.bdf, /*pf=*/true, &d);
  return d;
}

// CardOfVf(): the inventory position of VF `f`'s card; -1 when unknown.
int CardOfVf(const PciFn& f, const FpgaMeta& meta, const std::map<std::string, int>& card_of_pf) {
  auto it = card_of_pf.find(f.physfn);
  if (it != card_of_pf.end()) return it->second;
  // The VF's PF is the management function of a Xilinx card: find its card.
  const Json* m = meta.For(f.bdf);
  if (m == nullptr) return -1;
  int pos = -1;
  for (const auto& [bdf, p] : card_of_pf)
    if (meta.For(bdf) == m) pos = p;
  return pos;
}

// VfDevice(): the device of VF `f` of the card at inventory position `pos`.
Device VfDevice(const Options& opts, const Inventory& inv, const PciFn& f, const FpgaMeta& meta,
                int pos) {
  const Device& pf = inv.devices[static_cast<size_t>(pos)];
  Device v;
  v.type = DeviceType::kFpgaVf;
  v.parent = pos;
  v.index = pf.index;
  int vfn = 0;
  for (const auto& d : inv.devices)
    if (d.type == DeviceType::kFpgaVf && d.parent == pos) ++vfn;
  v.name = pf.name + "-vf-" + std::to_string(vfn);
  v.pci_bus_id = f.bdf;
  v.numa_node = f.numa;
  v.vendor = pf.vendor;
  v.shell = pf.shell;
  v.region = pf.region;
  v.model = pf.model;
  v.uuid = pf.uuid + "-vf" + std::to_string(vfn);
  v.sysfs_error_files = pf.sysfs_error_files;
  v.bitstream_id = pf.bitstream_id;
  if (const Json* m = meta.For(f.bdf)) {
    for (const auto& vf : m->value("vfs", Json::array())) {
      if (vf.value("bdf", "") != f.bdf) continue;
      std::string rel = StripDev(vf.value("node", ""));
      if (!rel.empty()) v.nodes.push_back({"/dev/" + rel, opts.HostDev(rel)});
    }
  }
  ReadRegionSysfs(opts, f.bdf, /*pf=*/false, &v);
  return v;
}
}  // namespace

Status DiscoverFpgas(const Options& opts, Inventory& inv) {
  DRAHIL_ASSIGN_OR_RETURN(std::vector<PciFn> fns, ScanPciFpgas(opts));
  FpgaMeta meta(opts);
  int card = 0;
  std::map<std::string, int> card_of_pf;  // PF bdf -> device index
  for (const auto& f : fns) {
    if (f.vf) continue;
    const Json* m = meta.For(f.bdf);
    // A Xilinx card's user PF is published, not its management PF.
    if (IsMgmtPf(m, f.bdf)) continue;
    card_of_pf[f.bdf] = static_cast<int>(inv.devices.size());
    inv.devices.push_back(PfDevice(opts, f, m, card++));
  }
  for (const auto& f : fns) {
    if (!f.vf) continue;
    int pos = CardOfVf(f, meta, card_of_pf);
    if (pos < 0) continue;
    inv.devices.push_back(VfDevice(opts, inv, f, meta, pos));
  }
  return OkStatus();
}

}  // namespace drahil::refdriver
