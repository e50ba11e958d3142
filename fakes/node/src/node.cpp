// Node-root creation, listing and fault injection (docs/emulation.md).
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>

#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/core/unique_fd.hpp"
#include "drahil/fakenode/fakenode.hpp"
#include "pci_util.hpp"

namespace drahil::fakenode {
namespace {

uint64_t NextPow2(uint64_t v) {
  uint64_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

// Hands out BAR addresses: 32-bit BARs below 4 GiB, 64-bit ones above 2 TiB,
// each aligned to its size as PCI requires.
class BarAllocator {
 public:
  Bar Take(uint64_t size, bool is64, bool prefetch) {
    uint64_t& next = is64 ? next64_ : next32_;
    next = (next + size - 1) / size * size;
    Bar b{next, size, is64, prefetch};
    next += size;
    return b;
  }

 private:
  uint64_t next32_ = 0x90000000ull;
  uint64_t next64_ = 0x20000000000ull;
};

// CreateNodeFile(): a node file of the given size; ftruncate makes it sparse.
Status CreateNodeFile(const std::string& path, uint64_t size) {
  DRAHIL_RETURN_IF_ERROR(MakeDirs(path.substr(0, path.rfind('/'))));
  UniqueFd fd(::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0666));
  if (!fd) return ErrnoError(errno, "create " + path);
  if (size > 0 && ::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
    return ErrnoError(errno, "size " + path);
  }
  ::fchmod(fd.get(), 0666);  // real nvidia nodes are crw-rw-rw-
  return OkStatus();
}

Status WriteSmall(const std::string& path, const std::string& text) {
  DRAHIL_RETURN_IF_ERROR(MakeDirs(path.substr(0, path.rfind('/'))));
  return AtomicWriteFile(path, text);
}

std::string Hex4(uint32_t v) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04x", v);
  return buf;
}

Status BuildGpus(const Profile& p, const std::string& root, const std::string& node_name,
                 const std::string& seed, BarAllocator& bars, NodeState* state) {
  uint32_t next_cap = 3;  // nvidia-cap1/2 are mig/config and mig/monitor
  for (size_t i = 0; i < p.gpus.size(); ++i) {
    const GpuSpec& s = p.gpus[i];
    const GpuModel& m = p.gpu_models.at(s.model);
    Gpu g;
    g.index = static_cast<uint32_t>(i);
    g.minor = s.minor.value_or(static_cast<uint32_t>(i));
    std::string key = node_name + "|" + (s.uuid_seed.empty() ? seed : s.uuid_seed) + "|" + s.bdf;
    g.uuid = "GPU-" + StableUuid("gpu|" + key);
    g.serial = StableSerial("gpu|" + key);
    g.name = m.name;
    g.bdf = s.bdf;
    g.vendor_id = m.vendor_id;
    g.device_id = m.device_id;
    g.subsystem_vendor_id = m.subsystem_vendor_id;
    g.subsystem_device_id = m.subsystem_device_id;
    g.memory_bytes = m.memory_bytes;
    g.sm_count = m.sms;
    g.cores_per_sm = m.cores_per_sm;
    g.architecture = m.architecture;
    g.cc_major = m.cc_major;
    g.cc_minor = m.cc_minor;
    g.numa_node = s.numa_node;
    g.node_file = "dev/nvidia" + std::to_string(g.minor);
    for (uint32_t peer : s.nvlink_peers) {
      g.nvlink_peers.push_back(p.gpus[peer].minor.value_or(peer));
    }
    g.mig_capable = m.memory_slices > 0;
    g.mig_enabled = s.mig_enabled;
    g.memory_slices = m.memory_slices;
    g.max_mig_devices = m.max_mig_devices;
    uint32_t gi = 1;
    for (const MigInstanceSpec& ms : s.mig_devices) {
      const MigProfile& mp =
          *std::find_if(m.mig_profiles.begin(), m.mig_profiles.end(),
                        [&](const MigProfile& x) { return x.name == ms.profile; });
      MigDevice d;
      d.index = static_cast<uint32_t>(g.mig_devices.size());
      d.profile = mp.name;
      d.gi_id = gi++;
      d.ci_id = 0;
      d.placement_start = ms.placement;
      d.placement_size = mp.placement_size;
      d.memory_offset = m.memory_bytes / m.memory_slices * ms.placement;
      d.memory_bytes = mp.memory_bytes;
      d.sm_count = mp.sms;
      d.cap_minor = next_cap++;
      d.cap_file = "dev/nvidia-caps/nvidia-cap" + std::to_string(d.cap_minor);
      d.uuid =
          "MIG-" + StableUuid("mig|" + key + "|" + mp.name + "|" + std::to_string(ms.placement));
      DRAHIL_RETURN_IF_ERROR(CreateNodeFile(root + "/" + d.cap_file, 0));
      g.mig_devices.push_back(std::move(d));
    }

    PciFunction f;
    f.bdf = g.bdf;
    f.vendor = static_cast<uint16_t>(g.vendor_id);
    f.device = static_cast<uint16_t>(g.device_id);
    f.class_code = m.class_code;
    f.subsystem_vendor = static_cast<uint16_t>(g.subsystem_vendor_id);
    f.subsystem_device = static_cast<uint16_t>(g.subsystem_device_id);
    f.numa_node = g.numa_node;
    f.irq = static_cast<uint8_t>(16 + i);
    f.driver = "nvidia";
    // BAR0 registers, BAR1 the memory aperture, BAR3 more registers (as on H100).
    f.bars = {bars.Take(16ull << 20, false, false), bars.Take(NextPow2(g.memory_bytes), true, true),
              bars.Take(32ull << 20, true, true)};
    DRAHIL_RETURN_IF_ERROR_CTX(WritePciFunction(root, f), "GPU " + g.bdf);
    DRAHIL_RETURN_IF_ERROR(CreateNodeFile(root + "/" + g.node_file, g.memory_bytes));
    state->gpus.push_back(std::move(g));
  }
  if (!p.gpus.empty()) {
    for (const char* n : {"nvidiactl", "nvidia-uvm", "nvidia-uvm-tools"}) {
      DRAHIL_RETURN_IF_ERROR(CreateNodeFile(root + "/dev/" + n, 0));
    }
    DRAHIL_RETURN_IF_ERROR(CreateNodeFile(root + "/dev/nvidia-caps/nvidia-cap1", 0));
    DRAHIL_RETURN_IF_ERROR(CreateNodeFile(root + "/dev/nvidia-caps/nvidia-cap2", 0));
  }
  return OkStatus();
}

Status BuildFpgas(const Profile& p, const std::string& root, const std::string& node_name,
                  const std::string& seed, BarAllocator& bars, NodeState* state) {
  uint32_t xcl = 0, render = 128, fme = 0, port = 0, region = 0;
  for (size_t i = 0; i < p.fpgas.size(); ++i) {
    const FpgaSpec& s = p.fpgas[i];
    Fpga c;
    c.index = static_cast<uint32_t>(i);
    c.uuid = "FPGA-" + StableUuid("fpga|" + node_name + "|" + seed + "|" + s.bdf);
    c.vendor = s.vendor;
    c.vendor_id = s.vendor == "xilinx" ? 0x10ee : 0x8086;
    c.name = s.name;
    c.shell = s.shell;
    c.mgmt_bdf = s.bdf;
    c.mgmt_device_id = s.device_id;
    c.user_device_id = s.user_device_id;
    c.numa_node = s.numa_node;
    c.total_vfs = s.total_vfs;
    c.pr_regions = s.pr_regions;
    const bool xilinx = s.vendor == "xilinx";
    const uint32_t class_code = 0x120000;  // processing accelerator

    auto base = [&](const std::string& bdf, uint16_t dev, const std::string& driver) {
      PciFunction f;
      f.bdf = bdf;
      f.vendor = static_cast<uint16_t>(c.vendor_id);
      f.device = dev;
      f.class_code = class_code;
      f.subsystem_vendor = static_cast<uint16_t>(c.vendor_id);
      f.subsystem_device = xilinx ? 0x000e : 0x1771;
      f.numa_node = s.numa_node;
      f.irq = static_cast<uint8_t>(40 + i);
      f.driver = driver;
      f.bars = {bars.Take(32ull << 20, true, true), Bar{}, bars.Take(128ull << 10, true, true)};
      return f;
    };

    const std::string owner = FpgaVfOwnerBdf(s);
    std::vector<PciFunction> funcs;
    PciFunction pf =
        base(s.bdf, static_cast<uint16_t>(s.device_id), xilinx ? "xclmgmt" : "dfl-pci");
    if (xilinx) {
      c.nodes.push_back("dev/xclmgmt" + std::to_string(xcl++));
      c.user_bdf = owner;
      PciFunction user = base(owner, static_cast<uint16_t>(s.user_device_id), "xocl");
      c.nodes.push_back("dev/dri/renderD" + std::to_string(render++));
      funcs.push_back(pf);
      funcs.push_back(user);
    } else {
      c.nodes.push_back("dev/dfl-fme." + std::to_string(fme));
      funcs.push_back(pf);
    }
    const size_t owner_idx = funcs.size() - 1;  // index: funcs grows below
    if (s.total_vfs > 0) {
      SriovCap cap;
      cap.total_vfs = static_cast<uint16_t>(s.total_vfs);
      cap.num_vfs = static_cast<uint16_t>(s.num_vfs);
      cap.vf_device_id = static_cast<uint16_t>(s.vf_device_id);
      funcs[owner_idx].sriov = cap;
    }
    std::vector<std::string> port_homes;  // BDF of the function that carries each DFL port
    for (uint32_t v = 0; v < s.num_vfs; ++v) {
      std::string bdf = FpgaVfBdf(s, v);
      funcs[owner_idx].virtfns.push_back(bdf);
      PciFunction vf =
          base(bdf, static_cast<uint16_t>(s.vf_device_id), xilinx ? "xocl" : "dfl-pci");
      vf.physfn = owner;
      vf.sriov.reset();
      vf.bars = {bars.Take(1ull << 20, true, true)};
      VirtualFunction rec{bdf, s.vf_device_id, ""};
      if (xilinx) {
        rec.node = "dev/dri/renderD" + std::to_string(render++);
      } else {
        rec.node = "dev/dfl-port." + std::to_string(port);
        port_homes.push_back(bdf);
        ++port;
      }
      c.nodes.push_back(rec.node);
      c.vfs.push_back(rec);
      funcs.push_back(vf);
    }
    if (!xilinx && s.num_vfs == 0) {
      // Without VFs the port stays on the PF.
      c.nodes.push_back("dev/dfl-port." + std::to_string(port));
      port_homes.push_back(s.bdf);
      ++port;
    }
    for (const auto& f : funcs)
      DRAHIL_RETURN_IF_ERROR_CTX(WritePciFunction(root, f), "FPGA " + f.bdf);
    for (const auto& n : c.nodes) DRAHIL_RETURN_IF_ERROR(CreateNodeFile(root + "/" + n, 0));
    if (xilinx) {
      // XRT: each user function shows its render node under <BDF>/drm/.
      std::vector<std::pair<std::string, std::string>> drm = {{c.user_bdf, c.nodes[1]}};
      for (const auto& vf : c.vfs) drm.emplace_back(vf.bdf, vf.node);
      for (const auto& [bdf, node] : drm) {
        DRAHIL_RETURN_IF_ERROR(
            MakeDirs(PciDeviceDir(root, bdf) + "/drm/" + node.substr(node.rfind('/') + 1)));
      }
    }

    if (!xilinx) {
      // DFL sysfs: the FME in a region of the PF; each port in the PF's region
      // (no VFs) or in a region of its VF, each region linked from
      // sys/class/fpga_region as the kernel does.
      auto link_region = [&](const std::string& bdf, uint32_t r) -> Status {
        DRAHIL_RETURN_IF_ERROR(MakeDirs(root + "/sys/class/fpga_region"));
        std::string name = "region" + std::to_string(r);
        std::string rel = "../../devices/" + PciDeviceDir(root, bdf).substr(root.size() + 13) +
                          "/fpga_region/" + name;
        std::string link = root + "/sys/class/fpga_region/" + name;
        ::unlink(link.c_str());
        if (::symlink(rel.c_str(), link.c_str()) != 0) return ErrnoError(errno, "symlink " + link);
        return OkStatus();
      };
      uint32_t first_port = port - static_cast<uint32_t>(port_homes.size());
      uint32_t fme_region = region++;
      std::string fme_dir = PciDeviceDir(root, s.bdf) + "/fpga_region/region" +
                            std::to_string(fme_region) + "/dfl-fme." + std::to_string(fme);
      DRAHIL_RETURN_IF_ERROR(
          WriteSmall(fme_dir + "/ports_num", std::to_string(port_homes.size()) + "\n"));
      DRAHIL_RETURN_IF_ERROR(
          WriteSmall(fme_dir + "/bitstream_id", "0x" + Hex4(s.device_id) + "00000000000\n"));
      DRAHIL_RETURN_IF_ERROR(WriteSmall(fme_dir + "/errors/errors", "0x0\n"));
      std::string interface_id = s.pr_regions.empty() ? "" : s.pr_regions[0].interface_id;
      DRAHIL_RETURN_IF_ERROR(WriteSmall(fme_dir + "/compat_id", interface_id + "\n"));
      DRAHIL_RETURN_IF_ERROR(link_region(s.bdf, fme_region));
      for (size_t k = 0; k < port_homes.size(); ++k) {
        uint32_t r = port_homes[k] == s.bdf ? fme_region : region++;
        std::string pdir = PciDeviceDir(root, port_homes[k]) + "/fpga_region/region" +
                           std::to_string(r) + "/dfl-port." + std::to_string(first_port + k);
        DRAHIL_RETURN_IF_ERROR(
            WriteSmall(pdir + "/afu_id", StableUuid("afu|" + port_homes[k]) + "\n"));
        DRAHIL_RETURN_IF_ERROR(WriteSmall(pdir + "/errors/errors", "0x0\n"));
        if (r != fme_region) DRAHIL_RETURN_IF_ERROR(link_region(port_homes[k], r));
      }
      ++fme;
    }
    state->fpgas.push_back(std::move(c));
  }
  return OkStatus();
}

// ---- fault bookkeeping ----

struct Target {
  std::string key;  // gpu<minor> / fpga<index>
  const Gpu* gpu = nullptr;
  const Fpga* fpga = nullptr;
  const MigDevice* mig = nullptr;
};

Result<Target> Resolve(const NodeState& n, const std::string& id) {
  std::string lower = id;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  auto bdf = ParseBdf(id);
  std::string norm_bdf = bdf ? FormatBdf(*bdf) : "";
  for (const auto& g : n.gpus) {
    std::string gl = g.uuid;
    std::transform(gl.begin(), gl.end(), gl.begin(), ::tolower);
    if (id == GpuKey(g.minor) || lower == gl || (bdf && norm_bdf == g.bdf)) {
      return Target{GpuKey(g.minor), &g, nullptr, nullptr};
    }
    for (const auto& m : g.mig_devices) {
      std::string ml = m.uuid;
      std::transform(ml.begin(), ml.end(), ml.begin(), ::tolower);
      if (lower == ml || id == GpuKey(g.minor) + "/mig" + std::to_string(m.index)) {
        return Target{GpuKey(g.minor), &g, nullptr, &m};
      }
    }
  }
  for (const auto& f : n.fpgas) {
    std::string fl = f.uuid;
    std::transform(fl.begin(), fl.end(), fl.begin(), ::tolower);
    bool match = id == FpgaKey(f.index) || lower == fl ||
                 (bdf && (norm_bdf == f.mgmt_bdf || norm_bdf == f.user_bdf));
    for (size_t v = 0; v < f.vfs.size() && !match; ++v) {
      match =
          (bdf && norm_bdf == f.vfs[v].bdf) || id == FpgaKey(f.index) + "/vf" + std::to_string(v);
    }
    if (match) return Target{FpgaKey(f.index), nullptr, &f, nullptr};
  }
  return NotFoundError("no device \"" + id + "\" in this node root (try `drahil-fakenode list`)");
}

std::string AerCorrectable(uint64_t k) {
  std::string s = std::to_string(k);
  return "RxErr 0\nBadTLP " + s +
         "\nBadDLLP 0\nRollover 0\nTimeout 0\nNonFatalErr 0\nCorrIntErr 0\nHeaderOF "
         "0\nTOTAL_ERR_COR " +
         s + "\n";
}
std::string AerFatal(uint64_t k) {
  std::string s = std::to_string(k);
  return "Undefined 0\nDLP " + s +
         "\nSDES 0\nTLP 0\nFCP 0\nCmpltTO 0\nCmpltAbrt 0\nUnxCmplt 0\nRxOF 0\nMalfTLP 0\nECRC "
         "0\nUnsupReq 0\nACSViol 0\nTOTAL_ERR_FATAL " +
         s + "\n";
}

Status WriteInPlace(const std::string& path, const std::string& data) {
  // sysfs attributes are rewritten in place, as the kernel updates them.
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
  if (!fd) return ErrnoError(errno, "open " + path);
  if (::write(fd.get(), data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
    return ErrnoError(errno, "write " + path);
  }
  return OkStatus();
}

// ApplySysfs(): makes sysfs show the device's current faults (or none).
Status ApplySysfs(const std::string& root, const Target& t, const std::vector<Fault>& faults) {
  uint64_t aer = 0, region_errors = 0;
  bool lost = false;
  for (const auto& f : faults) {
    if (f.kind == "pcie-aer") ++aer;
    if (f.kind == "fpga-region-error") ++region_errors;
    if (f.kind == "lost" || (f.kind == "xid" && f.xid == 79)) lost = true;
  }
  std::string bdf = t.gpu ? t.gpu->bdf : t.fpga->mgmt_bdf;
  std::string dir = PciDeviceDir(root, bdf);
  if (t.gpu) {
    std::string config;
    if (lost) {
      config.assign(4096, '\xff');  // a function that fell off the bus reads all ones
    } else {
      DRAHIL_ASSIGN_OR_RETURN(config, ReadFile(root + "/state/pci/" + bdf + ".config"));
    }
    DRAHIL_RETURN_IF_ERROR(WriteInPlace(dir + "/config", config));
  }
  DRAHIL_RETURN_IF_ERROR(WriteInPlace(dir + "/aer_dev_correctable", AerCorrectable(aer)));
  DRAHIL_RETURN_IF_ERROR(WriteInPlace(dir + "/aer_dev_fatal", AerFatal(aer)));
  if (t.fpga && t.fpga->vendor == "intel") {
    // Every DFL errors register of the card (FME and ports) shows the error.
    std::vector<std::string> dirs = {PciDeviceDir(root, t.fpga->mgmt_bdf)};
    for (const auto& vf : t.fpga->vfs) dirs.push_back(PciDeviceDir(root, vf.bdf));
    for (const auto& d : dirs) {
      std::string regions = d + "/fpga_region";
      if (!PathExists(regions)) continue;
      DRAHIL_ASSIGN_OR_RETURN(auto rs, ListDir(regions));
      for (const auto& r : rs) {
        DRAHIL_ASSIGN_OR_RETURN(auto subs, ListDir(regions + "/" + r));
        for (const auto& sdir : subs) {
          std::string e = regions + "/" + r + "/" + sdir + "/errors/errors";
          if (PathExists(e)) {
            DRAHIL_RETURN_IF_ERROR(WriteInPlace(e, region_errors ? "0x1\n" : "0x0\n"));
          }
        }
      }
    }
  }
  return OkStatus();
}

// FaultLock: serialises fault edits on one root across processes (flock).
class FaultLock {
 public:
  static Result<FaultLock> Take(const std::string& root) {
    std::string dir = StateDir(root) + "/faults";
    DRAHIL_RETURN_IF_ERROR(MakeDirs(dir));
    std::string path = dir + "/.lock";
    UniqueFd fd(::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644));
    if (!fd) return ErrnoError(errno, "open " + path);
    if (::flock(fd.get(), LOCK_EX) != 0) return ErrnoError(errno, "flock " + path);
    return FaultLock(std::move(fd));
  }

 private:
  explicit FaultLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;  // closing the descriptor releases the lock
};

Result<uint64_t> NextFaultId(const std::string& root) {
  std::string path = StateDir(root) + "/faults/.next_id";
  uint64_t id = 1;
  if (auto text = ReadFile(path); text.ok()) {
    id = std::strtoull(text->c_str(), nullptr, 10);
    if (id == 0) id = 1;
  }
  DRAHIL_RETURN_IF_ERROR(AtomicWriteFile(path, std::to_string(id + 1) + "\n"));
  return id;
}

}  // namespace

Result<NodeState> CreateNode(const Profile& profile, const std::string& root,
                             const CreateOptions& options) {
  if (root.empty()) return InvalidArgumentError("node root path is empty");
  if (PathExists(root)) {
    DRAHIL_ASSIGN_OR_RETURN(auto entries, ListDir(root));
    if (!entries.empty()) {
      if (!options.force) {
        return AlreadyExistsError("node root " + root +
                                  " is not empty (use --force to replace it)");
      }
      if (!PathExists(StateDir(root) + "/node.json")) {
        // Refuse to wipe a directory that is not a node root, even with force.
        return FailedPreconditionError(
            root + " is not empty and not a drahil node root; refusing to replace it");
      }
      DRAHIL_RETURN_IF_ERROR(RemoveAll(root));
    }
  }
  DRAHIL_RETURN_IF_ERROR(MakeDirs(root + "/dev"));
  DRAHIL_RETURN_IF_ERROR(MakeDirs(root + "/sys/bus/pci/devices"));
  DRAHIL_RETURN_IF_ERROR(MakeDirs(root + "/sys/bus/pci/drivers"));

  NodeState state;
  state.node_name = !options.node_name.empty()   ? options.node_name
                    : !profile.node_name.empty() ? profile.node_name
                                                 : "drahil-node";
  state.profile = profile.name;
  state.seed = profile.seed.empty() ? "0" : profile.seed;
  state.driver_version = profile.driver_version;
  state.nvml_version = profile.nvml_version;
  state.cuda_driver_version = profile.cuda_driver_version;

  BarAllocator bars;
  DRAHIL_RETURN_IF_ERROR(BuildGpus(profile, root, state.node_name, state.seed, bars, &state));
  DRAHIL_RETURN_IF_ERROR(BuildFpgas(profile, root, state.node_name, state.seed, bars, &state));
  DRAHIL_RETURN_IF_ERROR(RecordInodes(root, &state));
  DRAHIL_RETURN_IF_ERROR(WriteNodeState(root, state));
  return state;
}

Result<std::vector<DeviceRef>> ListDevices(const std::string& root) {
  DRAHIL_ASSIGN_OR_RETURN(auto n, ReadNodeState(root));
  std::vector<DeviceRef> out;
  auto fault_names = [&](const std::string& key,
                         const MigDevice* mig) -> Result<std::vector<std::string>> {
    DRAHIL_ASSIGN_OR_RETURN(auto faults, ReadFaults(root, key));
    std::vector<std::string> names;
    for (const auto& f : faults) {
      if (mig && f.gi_id != kNoInstance && f.gi_id != mig->gi_id) continue;
      names.push_back(FaultToString(f));
    }
    return names;
  };
  for (const auto& g : n.gpus) {
    DeviceRef d{GpuKey(g.minor), "gpu", g.uuid, g.bdf, g.name, {g.node_file}, {}};
    DRAHIL_ASSIGN_OR_RETURN(d.faults, fault_names(d.key, nullptr));
    out.push_back(d);
    for (const auto& m : g.mig_devices) {
      DeviceRef md{GpuKey(g.minor) + "/mig" + std::to_string(m.index),
                   "mig",
                   m.uuid,
                   "",
                   g.name + " MIG " + m.profile,
                   {g.node_file, m.cap_file},
                   {}};
      DRAHIL_ASSIGN_OR_RETURN(md.faults, fault_names(d.key, &m));
      out.push_back(md);
    }
  }
  for (const auto& f : n.fpgas) {
    DeviceRef d{FpgaKey(f.index), "fpga", f.uuid, f.mgmt_bdf, f.name, {}, {}};
    std::set<std::string> vf_nodes;
    for (const auto& vf : f.vfs) vf_nodes.insert(vf.node);
    for (const auto& node : f.nodes) {
      if (!vf_nodes.count(node)) d.nodes.push_back(node);
    }
    DRAHIL_ASSIGN_OR_RETURN(d.faults, fault_names(d.key, nullptr));
    out.push_back(d);
    for (size_t v = 0; v < f.vfs.size(); ++v) {
      DeviceRef vd{FpgaKey(f.index) + "/vf" + std::to_string(v),
                   "vf",
                   "",
                   f.vfs[v].bdf,
                   f.name + " VF",
                   {},
                   d.faults};
      if (!f.vfs[v].node.empty()) vd.nodes.push_back(f.vfs[v].node);
      out.push_back(vd);
    }
  }
  return out;
}

Result<Fault> InjectFault(const std::string& root, const std::string& device,
                          const std::string& fault_spec, uint64_t after) {
  DRAHIL_ASSIGN_OR_RETURN(Fault fault, ParseFaultSpec(fault_spec));
  DRAHIL_ASSIGN_OR_RETURN(auto n, ReadNodeState(root));
  DRAHIL_ASSIGN_OR_RETURN(Target t, Resolve(n, device));
  bool gpu_only = fault.kind == "xid" || fault.kind == "lost" || fault.kind == "ecc";
  if (gpu_only && !t.gpu) {
    return InvalidArgumentError("fault " + fault_spec + " applies to GPUs; " + device +
                                " is an FPGA");
  }
  if (fault.kind == "fpga-region-error" && !t.fpga) {
    return InvalidArgumentError("fault fpga-region-error applies to FPGAs; " + device +
                                " is a GPU");
  }
  fault.after = after;
  if (t.mig) {
    fault.gi_id = t.mig->gi_id;
    fault.ci_id = t.mig->ci_id;
  }
  DRAHIL_ASSIGN_OR_RETURN(auto lock, FaultLock::Take(root));
  DRAHIL_ASSIGN_OR_RETURN(fault.id, NextFaultId(root));
  DRAHIL_ASSIGN_OR_RETURN(auto faults, ReadFaults(root, t.key));
  faults.push_back(fault);
  DRAHIL_RETURN_IF_ERROR(WriteFaults(root, t.key, faults));
  DRAHIL_RETURN_IF_ERROR_CTX(ApplySysfs(root, t, faults), "update sysfs of " + t.key);
  return fault;
}

Status ClearFaults(const std::string& root, const std::string& device) {
  DRAHIL_ASSIGN_OR_RETURN(auto n, ReadNodeState(root));
  std::vector<Target> targets;
  if (device.empty()) {
    for (const auto& g : n.gpus) targets.push_back(Target{GpuKey(g.minor), &g, nullptr, nullptr});
    for (const auto& f : n.fpgas) targets.push_back(Target{FpgaKey(f.index), nullptr, &f, nullptr});
  } else {
    DRAHIL_ASSIGN_OR_RETURN(Target t, Resolve(n, device));
    targets.push_back(t);
  }
  DRAHIL_ASSIGN_OR_RETURN(auto lock, FaultLock::Take(root));
  for (const Target& t : targets) {
    std::vector<Fault> faults;  // clearing a whole device also repairs a damaged file
    if (t.mig) {
      DRAHIL_ASSIGN_OR_RETURN(faults, ReadFaults(root, t.key));
      // Only the MIG device's own faults go; the GPU's stay.
      faults.erase(std::remove_if(faults.begin(), faults.end(),
                                  [&](const Fault& f) { return f.gi_id == t.mig->gi_id; }),
                   faults.end());
    }
    DRAHIL_RETURN_IF_ERROR(WriteFaults(root, t.key, faults));
    DRAHIL_RETURN_IF_ERROR_CTX(ApplySysfs(root, t, faults), "restore sysfs of " + t.key);
  }
  return OkStatus();
}

}  // namespace drahil::fakenode
