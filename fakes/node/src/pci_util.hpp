// Private helpers: PCI addresses and the emulated sysfs function directory.
#ifndef DRAHIL_FAKENODE_PCI_UTIL_HPP_INCLUDED
#define DRAHIL_FAKENODE_PCI_UTIL_HPP_INCLUDED

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "drahil/core/status.hpp"

namespace drahil::fakenode {

struct FpgaSpec;

struct PciAddr {
  uint32_t domain = 0;
  uint32_t bus = 0;
  uint32_t dev = 0;
  uint32_t fn = 0;
  [[nodiscard]] uint32_t Rid() const { return (bus << 8) | (dev << 3) | fn; }
  static PciAddr FromRid(uint32_t domain, uint32_t rid) {
    return {domain, (rid >> 8) & 0xff, (rid >> 3) & 0x1f, rid & 7};
  }
};

std::optional<PciAddr> ParseBdf(const std::string& s);
std::string FormatBdf(const PciAddr& a);

// The PCI functions an FPGA card occupies: its PF(s) then its enabled VFs.
std::vector<std::string> FpgaFunctionBdfs(const FpgaSpec& f);
// VF i of a card: the function after the card's last PF, stride 1.
std::string FpgaVfBdf(const FpgaSpec& f, uint32_t i);
// The PF that owns the VFs (Xilinx: the user PF; Intel: the PF).
std::string FpgaVfOwnerBdf(const FpgaSpec& f);

struct Bar {
  uint64_t addr = 0;
  uint64_t size = 0;  // power of two; 0 = unused
  bool is64 = false;
  bool prefetch = false;
};

struct SriovCap {
  uint16_t total_vfs = 0;
  uint16_t num_vfs = 0;
  uint16_t offset = 1;
  uint16_t stride = 1;
  uint16_t vf_device_id = 0;
};

struct PciFunction {
  std::string bdf;
  uint16_t vendor = 0;
  uint16_t device = 0;
  uint32_t class_code = 0;  // 24 bits: class, subclass, prog-if
  uint8_t revision = 0xa1;
  uint16_t subsystem_vendor = 0;
  uint16_t subsystem_device = 0;
  int numa_node = -1;
  uint8_t irq = 0;
  std::vector<Bar> bars;  // up to 6 slots (a 64-bit BAR uses two)
  std::optional<SriovCap> sriov;
  std::string driver;                // bound driver name ("" = none)
  std::string physfn;                // VFs: PF BDF
  std::vector<std::string> virtfns;  // PFs: VF BDFs
};

// BuildConfig(): 4096 bytes of config space: header type 0, the BARs, a PCI
// Express capability and, on a PF with VFs, the SR-IOV extended capability.
std::string BuildConfig(const PciFunction& f);
// WritePciFunction(): sys/devices/pci<dom>:<bus>/<BDF>/ with every attribute
// file, the bus/pci/devices link and the driver link. Saves the pristine
// config to state/pci/<BDF>.config so faults can be undone.
Status WritePciFunction(const std::string& root, const PciFunction& f);
// PciDeviceDir(): the real (non-link) directory of a function.
std::string PciDeviceDir(const std::string& root, const std::string& bdf);

}  // namespace drahil::fakenode

#endif  // DRAHIL_FAKENODE_PCI_UTIL_HPP_INCLUDED
