// The emulated PCI sysfs tree. What libpci's linux-sysfs backend reads
// (pciutils lib/sysfs.c): vendor, device, class, subsystem_vendor,
// subsystem_device, irq, numa_node, resource, config and the driver link.
#include "pci_util.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "drahil/core/file_util.hpp"
#include "drahil/fakenode/fakenode.hpp"

namespace drahil::fakenode {
namespace {

std::string Hex(uint32_t v, int width) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%0*x\n", width, v);
  return buf;
}

void Put16(std::string& c, size_t off, uint16_t v) {
  c[off] = static_cast<char>(v & 0xff);
  c[off + 1] = static_cast<char>(v >> 8);
}
void Put32(std::string& c, size_t off, uint32_t v) {
  Put16(c, off, static_cast<uint16_t>(v & 0xffff));
  Put16(c, off + 2, static_cast<uint16_t>(v >> 16));
}

Status WriteText(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return ErrnoError(errno, "create " + path);
  size_t n = std::fwrite(text.data(), 1, text.size(), f);
  int rc = std::fclose(f);
  if (n != text.size() || rc != 0) return ErrnoError(errno, "write " + path);
  return OkStatus();
}

Status Symlink(const std::string& target, const std::string& link) {
  ::unlink(link.c_str());
  if (::symlink(target.c_str(), link.c_str()) != 0) return ErrnoError(errno, "symlink " + link);
  return OkStatus();
}

std::string BusDirName(const PciAddr& a) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "pci%04x:%02x", a.domain, a.bus);
  return buf;
}

}  // namespace

std::optional<PciAddr> ParseBdf(const std::string& s) {
  PciAddr a;
  char tail = 0;
  unsigned d = 0, b = 0, dev = 0, fn = 0;
  if (std::sscanf(s.c_str(), "%x:%x:%x.%x%c", &d, &b, &dev, &fn, &tail) == 4) {
    a = {d, b, dev, fn};
  } else if (std::sscanf(s.c_str(), "%x:%x.%x%c", &b, &dev, &fn, &tail) == 3) {
    a = {0, b, dev, fn};
  } else {
    return std::nullopt;
  }
  if (a.domain > 0xffff || a.bus > 0xff || a.dev > 0x1f || a.fn > 7) return std::nullopt;
  return a;
}

std::string FormatBdf(const PciAddr& a) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04x:%02x:%02x.%x", a.domain, a.bus, a.dev, a.fn);
  return buf;
}

std::string FpgaVfOwnerBdf(const FpgaSpec& f) {
  PciAddr pf = *ParseBdf(f.bdf);
  if (f.vendor == "xilinx") return FormatBdf(PciAddr::FromRid(pf.domain, pf.Rid() + 1));
  return f.bdf;
}

std::string FpgaVfBdf(const FpgaSpec& f, uint32_t i) {
  PciAddr owner = *ParseBdf(FpgaVfOwnerBdf(f));
  return FormatBdf(PciAddr::FromRid(owner.domain, owner.Rid() + 1 + i));
}

std::vector<std::string> FpgaFunctionBdfs(const FpgaSpec& f) {
  std::vector<std::string> out{f.bdf};
  if (f.vendor == "xilinx") out.push_back(FpgaVfOwnerBdf(f));
  for (uint32_t i = 0; i < f.num_vfs; ++i) out.push_back(FpgaVfBdf(f, i));
  return out;
}

std::string PciDeviceDir(const std::string& root, const std::string& bdf) {
  auto a = ParseBdf(bdf);
  return root + "/sys/devices/" + BusDirName(a.value_or(PciAddr{})) + "/" + bdf;
}

std::string BuildConfig(const PciFunction& f) {
  std::string c(4096, '\0');
  Put16(c, 0x00, f.vendor);
  Put16(c, 0x02, f.device);
  Put16(c, 0x04, 0x0406);  // memory space, bus master, INTx disabled
  Put16(c, 0x06, 0x0010);  // capability list present
  c[0x08] = static_cast<char>(f.revision);
  c[0x09] = static_cast<char>(f.class_code & 0xff);
  c[0x0a] = static_cast<char>((f.class_code >> 8) & 0xff);
  c[0x0b] = static_cast<char>((f.class_code >> 16) & 0xff);
  c[0x0e] = 0x00;  // header type 0, single function
  size_t slot = 0;
  for (const Bar& b : f.bars) {
    if (slot >= 6) break;
    if (b.size == 0) {
      ++slot;
      continue;
    }
    uint32_t low = static_cast<uint32_t>(b.addr & 0xfffffff0u);
    if (b.is64) low |= 0x4;
    if (b.prefetch) low |= 0x8;
    Put32(c, 0x10 + 4 * slot, low);
    ++slot;
    if (b.is64 && slot < 6) {
      Put32(c, 0x10 + 4 * slot, static_cast<uint32_t>(b.addr >> 32));
      ++slot;
    }
  }
  Put16(c, 0x2c, f.subsystem_vendor);
  Put16(c, 0x2e, f.subsystem_device);
  c[0x34] = 0x40;  // capabilities pointer
  c[0x3c] = static_cast<char>(f.irq);
  c[0x3d] = f.physfn.empty() ? 1 : 0;  // INTA# on PFs; VFs have no INTx
  // PCI Express capability (version 2, endpoint).
  c[0x40] = 0x10;
  c[0x41] = 0x00;
  Put16(c, 0x42, 0x0002);
  Put32(c, 0x44, 0x00008fe1);  // device caps: 256-byte payload, FLR
  bool vf = !f.physfn.empty();
  Put32(c, 0x4c, vf ? 0 : 0x00000105);  // link caps: 32 GT/s, x16
  Put16(c, 0x52, vf ? 0 : 0x0105);      // link status: 32 GT/s, x16
  if (f.sriov) {
    const SriovCap& s = *f.sriov;
    const size_t b = 0x100;
    Put32(c, b, 0x0010u | (1u << 16));           // SR-IOV ext cap, version 1, last
    Put16(c, b + 0x08, s.num_vfs ? 0x0009 : 0);  // VF enable + VF memory space
    Put16(c, b + 0x0c, s.total_vfs);             // InitialVFs
    Put16(c, b + 0x0e, s.total_vfs);
    Put16(c, b + 0x10, s.num_vfs);
    Put16(c, b + 0x14, s.offset);
    Put16(c, b + 0x16, s.stride);
    Put16(c, b + 0x1a, s.vf_device_id);
    Put32(c, b + 0x1c, 0x553);  // supported page sizes
    Put32(c, b + 0x20, 0x1);    // system page size 4 KiB
  }
  return c;
}

Status WritePciFunction(const std::string& root, const PciFunction& f) {
  auto addr = ParseBdf(f.bdf);
  if (!addr) return InvalidArgumentError("bad PCI address " + f.bdf);
  const std::string bus_dir = root + "/sys/devices/" + BusDirName(*addr);
  const std::string dir = bus_dir + "/" + f.bdf;
  DRAHIL_RETURN_IF_ERROR(MakeDirs(dir));
  DRAHIL_RETURN_IF_ERROR(MakeDirs(root + "/sys/bus/pci/devices"));
  DRAHIL_RETURN_IF_ERROR(MakeDirs(root + "/state/pci"));

  DRAHIL_RETURN_IF_ERROR(WriteText(dir + "/vendor", Hex(f.vendor, 4)));
  DRAHIL_RETURN_IF_ERROR(WriteText(dir + "/device", Hex(f.device, 4)));
  DRAHIL_RETURN_IF_ERROR(WriteText(dir + "/class", Hex(f.class_code, 6)));
  DRAHIL_RETURN_IF_ERROR(WriteText(dir + "/revision", Hex(f.revision, 2)));
  DRAHIL_RETURN_IF_ERROR(WriteText(dir + "/subsystem_vendor", Hex(f.subsystem_vendor, 4)));
  DRAHIL_RETURN_IF_ERROR(WriteText(dir + "/subsystem_device", Hex(f.subsystem_device, 4)));
  DRAHIL_RETURN_IF_ERROR(WriteText(dir + "/irq", std::to_string(f.irq) + "\n"));
  DRAHIL_RETURN_IF_ERROR(WriteText(dir + "/numa_node", std::to_string(f.numa_node) + "\n"));
  DRAHIL_RETURN_IF_ERROR(WriteText(dir + "/enable", "1\n"));

  // resource: one "start end flags" line per BAR slot, the ROM, then the
  // SR-IOV VF BAR slots, as the kernel prints them.
  std::string res;
  size_t slot = 0;
  auto line = [&](uint64_t start, uint64_t end, uint64_t flags) {
    char buf[80];
    std::snprintf(buf, sizeof(buf), "0x%016llx 0x%016llx 0x%016llx\n",
                  static_cast<unsigned long long>(start), static_cast<unsigned long long>(end),
                  static_cast<unsigned long long>(flags));
    res += buf;
  };
  for (const Bar& b : f.bars) {
    if (slot >= 6) break;
    if (b.size == 0) {
      line(0, 0, 0);
      ++slot;
      continue;
    }
    uint64_t flags = 0x200;  // IORESOURCE_MEM
    if (b.prefetch) flags |= 0x2000;
    if (b.is64) flags |= 0x100000;
    line(b.addr, b.addr + b.size - 1, flags);
    ++slot;
    if (b.is64 && slot < 6) {
      line(0, 0, 0);
      ++slot;
    }
  }
  for (; slot < 6; ++slot) line(0, 0, 0);
  line(0, 0, 0);                              // ROM
  for (int i = 0; i < 6; ++i) line(0, 0, 0);  // VF BARs
  DRAHIL_RETURN_IF_ERROR(WriteText(dir + "/resource", res));

  std::string config = BuildConfig(f);
  DRAHIL_RETURN_IF_ERROR(WriteText(dir + "/config", config));
  DRAHIL_RETURN_IF_ERROR(WriteText(root + "/state/pci/" + f.bdf + ".config", config));

  if (f.sriov) {
    DRAHIL_RETURN_IF_ERROR(
        WriteText(dir + "/sriov_totalvfs", std::to_string(f.sriov->total_vfs) + "\n"));
    DRAHIL_RETURN_IF_ERROR(
        WriteText(dir + "/sriov_numvfs", std::to_string(f.sriov->num_vfs) + "\n"));
    DRAHIL_RETURN_IF_ERROR(
        WriteText(dir + "/sriov_offset", std::to_string(f.sriov->offset) + "\n"));
    DRAHIL_RETURN_IF_ERROR(
        WriteText(dir + "/sriov_stride", std::to_string(f.sriov->stride) + "\n"));
    DRAHIL_RETURN_IF_ERROR(
        WriteText(dir + "/sriov_vf_device", Hex(f.sriov->vf_device_id, 4).substr(2)));
  }
  for (size_t i = 0; i < f.virtfns.size(); ++i) {
    DRAHIL_RETURN_IF_ERROR(Symlink("../" + f.virtfns[i], dir + "/virtfn" + std::to_string(i)));
  }
  if (!f.physfn.empty()) DRAHIL_RETURN_IF_ERROR(Symlink("../" + f.physfn, dir + "/physfn"));

  DRAHIL_RETURN_IF_ERROR(
      WriteText(dir + "/aer_dev_correctable",
                "RxErr 0\nBadTLP 0\nBadDLLP 0\nRollover 0\nTimeout 0\nNonFatalErr 0\nCorrIntErr "
                "0\nHeaderOF 0\nTOTAL_ERR_COR 0\n"));
  DRAHIL_RETURN_IF_ERROR(
      WriteText(dir + "/aer_dev_fatal",
                "Undefined 0\nDLP 0\nSDES 0\nTLP 0\nFCP 0\nCmpltTO 0\nCmpltAbrt 0\nUnxCmplt "
                "0\nRxOF 0\nMalfTLP 0\nECRC 0\nUnsupReq 0\nACSViol 0\nTOTAL_ERR_FATAL 0\n"));
  DRAHIL_RETURN_IF_ERROR(
      WriteText(dir + "/aer_dev_nonfatal",
                "Undefined 0\nDLP 0\nSDES 0\nTLP 0\nFCP 0\nCmpltTO 0\nCmpltAbrt 0\nUnxCmplt "
                "0\nRxOF 0\nMalfTLP 0\nECRC 0\nUnsupReq 0\nACSViol 0\nTOTAL_ERR_NONFATAL 0\n"));

  // bus/pci/devices/<BDF> is a link into devices/, as in the kernel.
  DRAHIL_RETURN_IF_ERROR(Symlink("../../../devices/" + BusDirName(*addr) + "/" + f.bdf,
                                 root + "/sys/bus/pci/devices/" + f.bdf));
  if (!f.driver.empty()) {
    std::string drv = root + "/sys/bus/pci/drivers/" + f.driver;
    DRAHIL_RETURN_IF_ERROR(MakeDirs(drv));
    DRAHIL_RETURN_IF_ERROR(Symlink("../../../bus/pci/drivers/" + f.driver, dir + "/driver"));
    DRAHIL_RETURN_IF_ERROR(
        Symlink("../../../../devices/" + BusDirName(*addr) + "/" + f.bdf, drv + "/" + f.bdf));
  }
  return OkStatus();
}

}  // namespace drahil::fakenode
