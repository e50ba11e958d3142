// PCI enumeration through libpci's linux-sysfs method with a configurable
// sysfs.path, so the same code reads /sys/bus/pci and a fake node root.
#include <unistd.h>

#include <csetjmp>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "drahil/core/file_util.hpp"
#include "drahil/probe_fpga/fpga_probe.hpp"

extern "C" {
#include <pci/pci.h>
}

namespace drahil::probe_fpga {
namespace {

// libpci reports fatal errors through a callback that must not return (the
// default one exits the process). We jump back to the scan instead; only
// plain-old-data lives across the setjmp, so no destructor is skipped.
thread_local std::jmp_buf* g_pci_jump = nullptr;
thread_local char g_pci_error[512];

[[noreturn]] void PciError(char* msg, ...) {
  va_list ap;
  va_start(ap, msg);
  std::vsnprintf(g_pci_error, sizeof(g_pci_error), msg, ap);
  va_end(ap);
  std::longjmp(*g_pci_jump, 1);
}
void PciQuiet(char*, ...) {}

struct RawFunction {
  unsigned domain, bus, dev, func;
  unsigned vendor, device, cls;
  bool all_ones;
};
constexpr int kMaxFunctions = 4096;

// ScanRaw(): returns the count, or -1 with g_pci_error set.
int ScanRaw(const char* sysfs_path, RawFunction* out) {
  std::jmp_buf jump;
  g_pci_jump = &jump;
  struct pci_access* acc = pci_alloc();
  acc->error = PciError;
  acc->warning = PciQuiet;
  acc->debug = PciQuiet;
  acc->method = PCI_ACCESS_SYS_BUS_PCI;
  if (setjmp(jump) != 0) {
    // The access object may be half-initialised; leaking it is the safe
    // choice (a probe process scans once).
    return -1;
  }
  if (pci_set_param(acc, const_cast<char*>("sysfs.path"), const_cast<char*>(sysfs_path)) != 0) {
    std::snprintf(g_pci_error, sizeof(g_pci_error), "libpci has no sysfs.path parameter");
    pci_cleanup(acc);
    return -1;
  }
  pci_init(acc);
  pci_scan_bus(acc);
  int n = 0;
  for (struct pci_dev* d = acc->devices; d != nullptr && n < kMaxFunctions; d = d->next) {
    pci_fill_info(d, PCI_FILL_IDENT | PCI_FILL_CLASS);
    RawFunction& r = out[n++];
    r.domain = static_cast<unsigned>(d->domain);
    r.bus = d->bus;
    r.dev = d->dev;
    r.func = d->func;
    r.vendor = d->vendor_id;
    r.device = d->device_id;
    r.cls = d->device_class;
    // Vendor and device come from sysfs attributes; config space is what a
    // device that fell off the bus returns as all ones.
    r.all_ones = pci_read_word(d, PCI_VENDOR_ID) == 0xffff;
  }
  pci_cleanup(acc);
  return n;
}

std::string LinkBase(const std::string& path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  std::string target(buf, static_cast<size_t>(n));
  auto slash = target.rfind('/');
  return slash == std::string::npos ? target : target.substr(slash + 1);
}

}  // namespace

bool IsFpgaFunction(uint16_t vendor, uint16_t device) {
  if (vendor == 0x10ee || vendor == 0x1172) return true;
  if (vendor == 0x8086) {
    switch (device) {
      case 0xbcce:
      case 0xbccf:
      case 0x09c4:
      case 0x09c5:
      case 0x0b30:
      case 0x0b2b:
        return true;
      default:
        return false;
    }
  }
  return false;
}

Result<std::vector<PciFunction>> EnumeratePci(const std::string& sysfs_root) {
  if (!PathExists(sysfs_root + "/devices")) {
    return NotFoundError("PCI sysfs root " + sysfs_root + " has no devices/ directory");
  }
  std::vector<RawFunction> raw(kMaxFunctions);
  int n = ScanRaw(sysfs_root.c_str(), raw.data());
  if (n < 0) return UnavailableError("libpci on " + sysfs_root + ": " + g_pci_error);
  std::vector<PciFunction> out;
  for (int i = 0; i < n; ++i) {
    const RawFunction& r = raw[static_cast<size_t>(i)];
    PciFunction f;
    char bdf[32];
    std::snprintf(bdf, sizeof(bdf), "%04x:%02x:%02x.%u", r.domain, r.bus, r.dev, r.func);
    f.bdf = bdf;
    f.vendor = static_cast<uint16_t>(r.vendor);
    f.device = static_cast<uint16_t>(r.device);
    f.class_code = r.cls;
    f.config_all_ones = r.all_ones;
    std::string dir = sysfs_root + "/devices/" + f.bdf;
    f.driver = LinkBase(dir + "/driver");
    f.physfn = LinkBase(dir + "/physfn");
    f.fpga = IsFpgaFunction(f.vendor, f.device);
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace drahil::probe_fpga
