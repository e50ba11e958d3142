// File: fpga_probe.hpp
//
// drahil-probe-fpga's checks (docs/probes.md; facts: docs/reference/hardware.md
// section 4). An FPGA claim is a set of PCI functions (a whole card, or one
// SR-IOV VF = one port/AFU) plus their device nodes; the probe checks what the
// container really reaches and runs OpenCL kernels on the platform the
// container was given.
//
//   FpgaOptions o;                         // defaults: all checks, /sys/bus/pci
//   o.expect_bdfs = {"0000:af:00.1"};
//   ProbeReport report("fpga", "opencl");
//   RunFpgaChecks(o, report);
//
// Checks: enumerate (libpci, sysfs.path = sysfs_root), nodes (open each),
// allocation (VF/port/region state of the allocated functions), bitstream
// (driver-reported id vs the device's), kernels (vector add + checksum,
// DMA-style copy bandwidth on OpenCL). Every device wait has a deadline.
// Thread-safety: one call at a time (libpci access objects are not shared).
#ifndef DRAHIL_PROBE_FPGA_FPGA_PROBE_HPP_INCLUDED
#define DRAHIL_PROBE_FPGA_FPGA_PROBE_HPP_INCLUDED

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "drahil/core/status.hpp"
#include "drahil/probe_common/report.hpp"

namespace drahil::probe_fpga {

inline const std::vector<std::string>& AllFpgaCheckNames() {
  static const std::vector<std::string> k = {"enumerate", "nodes", "allocation", "bitstream",
                                             "kernels"};
  return k;
}

struct FpgaOptions {
  std::vector<std::string> checks = AllFpgaCheckNames();
  std::string sysfs_root = "/sys/bus/pci";  // libpci "sysfs.path"
  std::vector<std::string> dev_roots = {"/dev"};
  std::vector<std::string> expect_bdfs;   // allocated PCI functions
  std::vector<std::string> expect_nodes;  // allocated device nodes (absolute paths)
  bool expect_vf = false;                 // every allocated function must be a VF
  std::string expect_bitstream_id;        // as the driver reported it
  std::string expect_afu_id;
  std::string opencl_platform;  // name substring; "" = first platform
  uint64_t vadd_elements = 1u << 20;
  uint64_t dma_bytes = 64ull << 20;
  int reps = 5;
  double min_host_fraction = 0;  // fail when DMA copy < this x host memcpy
  std::chrono::milliseconds device_timeout{60000};
};

// PciFunction: one function as libpci and sysfs describe it.
struct PciFunction {
  std::string bdf;  // "0000:af:00.1"
  uint16_t vendor = 0;
  uint16_t device = 0;
  uint32_t class_code = 0;       // base/sub class, e.g. 0x1200
  std::string driver;            // name of the bound driver, "" when none
  std::string physfn;            // PF BDF for a VF, else ""
  bool config_all_ones = false;  // config space reads 0xff: off the bus
  bool fpga = false;             // a known FPGA vendor/device (docs/reference/hardware.md 4.1/4.2)
};

// EnumeratePci(): every function libpci finds under sysfs_root. Errors name
// the root (libpci's fatal-error callback is intercepted, never exits).
Result<std::vector<PciFunction>> EnumeratePci(const std::string& sysfs_root);

// IsFpgaFunction(): Xilinx 10ee, Altera 1172, Intel DFL/PAC ids 8086:bcce,
// bccf, 09c4, 09c5, 0b30, 0b2b.
bool IsFpgaFunction(uint16_t vendor, uint16_t device);

Status ValidateFpgaOptions(const FpgaOptions& options);

// RunFpgaChecks(): appends one CheckResult per selected check; fills
// report.devices() with the functions found.
void RunFpgaChecks(const FpgaOptions& options, probe_common::ProbeReport& report);

}  // namespace drahil::probe_fpga

#endif  // DRAHIL_PROBE_FPGA_FPGA_PROBE_HPP_INCLUDED
