#include "drahil/probe_gpu/checks.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "drahil/core/file_util.hpp"
#include "drahil/probe_common/reference.hpp"
#include "drahil/probe_common/util.hpp"

namespace drahil::probe_gpu {
namespace {

namespace pc = probe_common;
using pc::CheckResult;
using Json = nlohmann::json;

std::string Gbps(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f GB/s", v);
  return buf;
}

// A device-side failure that says the device is unhealthy (lost, ECC, failed
// launch) is a finding; anything else means the probe could not run.
bool IsDeviceFault(const Status& s) {
  return s.code() == Code::kUnavailable || s.code() == Code::kDataLoss ||
         s.code() == Code::kAborted;
}

Json DeviceJson(const DeviceInfo& d) {
  Json j = {{"index", d.index},
            {"uuid", d.uuid},
            {"name", d.name},
            {"memory_bytes", d.memory_bytes},
            {"compute_units", d.compute_units},
            {"source", "runtime"}};
  if (!d.pci_bus_id.empty()) j["pci_bus_id"] = d.pci_bus_id;
  if (d.memory_limit_bytes != 0) j["memory_limit_bytes"] = d.memory_limit_bytes;
  if (d.active_compute_units != 0) j["active_compute_units"] = d.active_compute_units;
  if (d.minor >= 0) j["minor"] = d.minor;
  if (d.is_mig) {
    j["mig"] = true;
    j["parent_uuid"] = d.parent_uuid;
  }
  return j;
}

Json NvmlJson(const NvmlDevice& d) {
  Json j = {
      {"uuid", d.uuid}, {"name", d.name}, {"memory_bytes", d.memory_total}, {"source", "nvml"}};
  if (!d.pci_bus_id.empty()) j["pci_bus_id"] = d.pci_bus_id;
  if (d.minor >= 0) j["minor"] = d.minor;
  if (d.is_mig) {
    j["mig"] = true;
    j["parent_uuid"] = d.parent_uuid;
  }
  if (d.lost) j["lost"] = true;
  if (!d.error.empty()) j["error"] = d.error;
  return j;
}

struct NodeProbe {
  std::string path;
  int minor = -1;
  bool opens = false;
  std::string error;
};

// ScanNodes(): every nvidia<N> node under the roots, each tried with open().
// A name that opens in any root counts as reachable (the sandbox may mask one
// root and bind-mount into another).
std::vector<NodeProbe> ScanNodes(const std::vector<std::string>& roots) {
  static const std::regex kGpuNode("nvidia([0-9]+)");
  std::map<int, NodeProbe> by_minor;
  for (const auto& root : roots) {
    auto names = ListDir(root);
    if (!names.ok()) continue;
    for (const auto& name : *names) {
      std::smatch m;
      if (!std::regex_match(name, m, kGpuNode)) continue;
      int minor = std::stoi(m[1].str());
      NodeProbe p;
      p.path = root + "/" + name;
      p.minor = minor;
      int fd = ::open(p.path.c_str(), O_RDWR | O_CLOEXEC | O_NOCTTY);
      if (fd >= 0) {
        p.opens = true;
        ::close(fd);
      } else {
        p.error = std::strerror(errno);
      }
      auto it = by_minor.find(minor);
      if (it == by_minor.end() || (!it->second.opens && p.opens)) by_minor[minor] = p;
    }
  }
  std::vector<NodeProbe> out;
  for (auto& [_, p] : by_minor) out.push_back(std::move(p));
  return out;
}

class Runner {
 public:
  Runner(GpuBackend& backend, NvmlView* nvml, const ProbeOptions& o, pc::ProbeReport& report)
      : backend_(backend), nvml_(nvml), o_(o), report_(report) {}

  void Run(std::atomic<const char*>* current) {
    auto devs = backend_.Devices();
    if (devs.ok()) {
      runtime_ = *devs;
      for (const auto& d : runtime_) report_.devices().push_back(DeviceJson(d));
    } else {
      runtime_error_ = devs.status();
    }
    if (nvml_ != nullptr) {
      auto n = nvml_->Devices();
      if (n.ok()) {
        nvml_devices_ = *n;
        for (const auto& d : nvml_devices_) report_.devices().push_back(NvmlJson(d));
      } else {
        nvml_error_ = n.status().ToString();
      }
    }
    for (const auto& name : o_.checks) {
      const auto& all = AllCheckNames();
      auto it = std::find(all.begin(), all.end(), name);
      if (current != nullptr && it != all.end()) current->store(it->c_str());
      CheckResult& c = report_.AddCheck(name);
      auto t0 = std::chrono::steady_clock::now();
      if (name == "enumerate") {
        Enumerate(c);
      } else {
        RunOnDevice(name, c);
      }
      c.duration_s = pc::SecondsSince(t0);
    }
  }

 private:
  void RunOnDevice(const std::string& name, CheckResult& c) {
    if (!open_error_.ok()) {
      c.ErrorFrom(open_error_, "open device " + std::to_string(o_.device));
      return;
    }
    if (!device_) {
      if (!runtime_error_.ok()) {
        c.ErrorFrom(runtime_error_, "enumerate runtime devices");
        return;
      }
      if (o_.device < 0 || static_cast<size_t>(o_.device) >= runtime_.size()) {
        c.Error("runtime device " + std::to_string(o_.device) + " does not exist (" +
                std::to_string(runtime_.size()) + " visible)");
        return;
      }
      auto d = backend_.Open(o_.device);
      if (!d.ok()) {
        open_error_ = d.status();  // reported once per check, tried once
        c.ErrorFrom(open_error_, "open device " + std::to_string(o_.device));
        return;
      }
      device_ = std::move(*d);
    }
    c.details["device"] = DeviceJson(device_->info());
    if (name == "memory-capacity") MemoryCapacity(c);
    if (name == "memory-isolation") MemoryIsolation(c);
    if (name == "bandwidth") Bandwidth(c);
    if (name == "compute") Compute(c);
    if (name == "health") Health(c);
  }

  // ---- enumerate ---------------------------------------------------------
  void Enumerate(CheckResult& c) {
    if (!runtime_error_.ok()) {
      c.ErrorFrom(runtime_error_, "enumerate runtime devices");
      return;
    }
    c.Measure("runtime_devices", static_cast<double>(runtime_.size()), "count");
    bool have_nvml = nvml_ != nullptr && nvml_error_.empty();
    if (have_nvml) {
      c.Measure("nvml_devices", static_cast<double>(nvml_devices_.size()), "count");
    } else {
      std::string why = nvml_ == nullptr ? o_.nvml_error : nvml_error_;
      if (o_.nvml_required) {
        c.Error("NVML unavailable: " + why);
      } else {
        c.Note("NVML unavailable (" + why + "); comparing the runtime view only");
      }
    }
    if (const char* cvd = std::getenv("CUDA_VISIBLE_DEVICES")) {
      c.Note(std::string("CUDA_VISIBLE_DEVICES=\"") + cvd +
             "\" filters the runtime view; it is no isolation boundary");
      c.details["cuda_visible_devices"] = cvd;
    }

    // Device nodes.
    auto nodes = ScanNodes(o_.dev_roots);
    Json jn = Json::array();
    int openable = 0;
    for (const auto& n : nodes) {
      jn.push_back({{"path", n.path}, {"minor", n.minor}, {"opens", n.opens}, {"error", n.error}});
      if (n.opens) ++openable;
    }
    c.details["nodes"] = jn;
    c.Measure("openable_gpu_nodes", openable, "count");

    std::set<std::string> expected(o_.expect_uuids.begin(), o_.expect_uuids.end());
    std::set<std::string> runtime_uuids, nvml_uuids;
    for (const auto& d : runtime_) {
      if (!d.uuid.empty()) runtime_uuids.insert(d.uuid);
    }
    for (const auto& d : nvml_devices_) {
      if (!d.uuid.empty()) nvml_uuids.insert(d.uuid);
    }
    int runtime_mig = 0;
    for (const auto& d : runtime_) runtime_mig += d.is_mig ? 1 : 0;

    if (!expected.empty()) {
      for (const auto& u : runtime_uuids) {
        if (!expected.count(u)) c.Fail("runtime shows device " + u + " that was not allocated");
      }
      if (have_nvml) {
        for (const auto& u : nvml_uuids) {
          if (!expected.count(u) && !runtime_uuids.count(u)) {
            c.Fail("NVML shows device " + u + " that was not allocated");
          }
        }
      }
      for (const auto& u : expected) {
        if (have_nvml && !nvml_uuids.count(u))
          c.Fail("allocated device " + u + " is not visible to NVML");
        if (!runtime_uuids.count(u)) {
          // CUDA enumerates only one MIG device per process (docs/reference/hardware.md 3.3).
          if (u.rfind("MIG-", 0) == 0 && runtime_mig >= 1) {
            c.Note("allocated " + u + " not in the runtime view: one MIG device per process");
          } else if (runtime_uuids.empty() && !runtime_.empty()) {
            c.Note("runtime reports no UUIDs; matched by count only");
          } else {
            c.Fail("allocated device " + u + " is not visible to the runtime");
          }
        }
      }
    } else if (have_nvml && !runtime_uuids.empty()) {
      for (const auto& u : runtime_uuids) {
        if (!nvml_uuids.count(u)) c.Fail("runtime device " + u + " is unknown to NVML");
      }
    }

    int want = o_.expect_count >= 0 ? o_.expect_count
                                    : (expected.empty() ? -1 : static_cast<int>(expected.size()));
    if (want >= 0) {
      // The runtime enumerates at most one MIG device per process
      // (docs/reference/hardware.md 3.3), so it sees fewer devices than NVML when several
      // MIG devices are granted.
      int mig_granted = 0;
      if (!expected.empty()) {
        for (const auto& u : expected) mig_granted += u.rfind("MIG-", 0) == 0 ? 1 : 0;
      } else {
        for (const auto& d : nvml_devices_) mig_granted += d.is_mig ? 1 : 0;
      }
      int runtime_want = want - std::max(0, mig_granted - 1);
      int runtime_n = static_cast<int>(runtime_.size());
      if (runtime_n != runtime_want) {
        c.Fail("runtime shows " + std::to_string(runtime_n) + " device(s), expected " +
               std::to_string(runtime_want) +
               (runtime_want != want ? " (one MIG device per process)" : ""));
      }
      if (have_nvml && static_cast<int>(nvml_devices_.size()) != want) {
        c.Fail("NVML shows " + std::to_string(nvml_devices_.size()) + " device(s), expected " +
               std::to_string(want));
      }
    } else if (runtime_.empty()) {
      c.Fail("no device visible to the runtime");
    }

    // Nodes: every openable nvidia<N> must belong to an allowed device.
    std::set<int> allowed_minors;
    bool minors_known = false;
    for (const auto& d : nvml_devices_) {
      if (d.minor < 0) continue;
      minors_known = true;
      if (expected.empty() || expected.count(d.uuid)) allowed_minors.insert(d.minor);
    }
    for (const auto& d : runtime_) {
      if (d.minor < 0) continue;
      minors_known = true;
      if (expected.empty() || expected.count(d.uuid)) allowed_minors.insert(d.minor);
    }
    if (minors_known) {
      for (const auto& n : nodes) {
        if (n.opens && !allowed_minors.count(n.minor)) {
          c.Fail("device node " + n.path + " opens but belongs to no allocated device");
        }
      }
      for (int m : allowed_minors) {
        bool ok = std::any_of(nodes.begin(), nodes.end(),
                              [&](const NodeProbe& n) { return n.minor == m && n.opens; });
        if (!ok) c.Fail("no openable node for allocated device minor " + std::to_string(m));
      }
    } else if (!nodes.empty()) {
      c.Note("device minors unknown (no NVML); nodes listed but not matched");
    }

    c.details["expected_uuids"] = o_.expect_uuids;
    c.details["expected_count"] = want;
    std::string summary = std::to_string(runtime_.size()) + " runtime device(s)";
    if (have_nvml) summary += ", " + std::to_string(nvml_devices_.size()) + " NVML device(s)";
    summary += ", " + std::to_string(openable) + " openable node(s)";
    c.summary = summary;
  }

  // ---- memory-capacity ---------------------------------------------------
  void MemoryCapacity(CheckResult& c) {
    const DeviceInfo& info = device_->info();
    uint64_t expect = *o_.expect_memory;
    uint64_t share = o_.expect_share.value_or(expect);
    c.Measure("reported_total", static_cast<double>(info.memory_bytes), "bytes");
    c.details["expected_total"] = expect;
    c.details["expected_share"] = share;
    double off = std::fabs(static_cast<double>(info.memory_bytes) - static_cast<double>(expect)) /
                 static_cast<double>(expect);
    if (off > o_.memory_tolerance) {
      c.Fail("device reports " + pc::FormatBytes(info.memory_bytes) + " of memory, expected " +
             pc::FormatBytes(expect));
    }
    if (info.memory_limit_bytes != 0) {
      c.Measure("runtime_limit", static_cast<double>(info.memory_limit_bytes), "bytes");
    }
    auto mi = device_->MemoryInfo();
    if (mi.ok()) c.Measure("runtime_free", static_cast<double>(mi->first), "bytes");

    uint64_t target = static_cast<uint64_t>(static_cast<double>(share) * o_.fill_fraction);
    uint64_t margin = std::max<uint64_t>(64ull << 20, share / 100);
    uint64_t beyond = share + margin;
    std::vector<DeviceBuffer> held;
    uint64_t total = 0;
    Status refusal;
    // Phase 1: the share (times fill_fraction) must be allocatable.
    while (total < target) {
      uint64_t n = std::min(o_.chunk_bytes, target - total);
      auto b = device_->Allocate(n);
      if (!b.ok()) {
        refusal = b.status();
        break;
      }
      total += n;
      held.push_back(std::move(*b));
    }
    c.Measure("allocated_within_share", static_cast<double>(total), "bytes");
    if (!refusal.ok()) {
      if (refusal.code() != Code::kResourceExhausted) {
        c.ErrorFrom(refusal, "allocate within the share");
      } else {
        c.Fail("allocation refused after " + pc::FormatBytes(total) + " of the " +
               pc::FormatBytes(share) + " share (" + refusal.message() + ")");
      }
      c.summary = "could not allocate the share";
      return;
    }
    // Phase 2: going past the share must be refused.
    while (total < beyond) {
      uint64_t n = std::min(o_.chunk_bytes, beyond - total);
      auto b = device_->Allocate(n);
      if (!b.ok()) {
        refusal = b.status();
        break;
      }
      total += n;
      held.push_back(std::move(*b));
    }
    c.Measure("allocated_max", static_cast<double>(total), "bytes");
    if (refusal.ok()) {
      c.Fail("allocated " + pc::FormatBytes(total) + ", past the " + pc::FormatBytes(share) +
             " share: the limit is not enforced");
      c.summary = "share not enforced";
    } else if (refusal.code() != Code::kResourceExhausted) {
      c.ErrorFrom(refusal, "allocate beyond the share");
    } else {
      c.details["refusal"] = refusal.message();
      c.summary = "share allocatable, refused at " + pc::FormatBytes(total) + " (" +
                  std::to_string(static_cast<int>(100.0 * static_cast<double>(total) /
                                                  static_cast<double>(share))) +
                  "% of share)";
    }
  }

  // ---- memory-isolation --------------------------------------------------
  void MemoryIsolation(CheckResult& c) {
    c.details["sharing"] = o_.sharing;
    bool time_sliced = o_.sharing == "time-slicing";
    if (!o_.scan_canary.empty()) {
      ScanForCanary(c, time_sliced);
      return;
    }
    std::string run = o_.write_canary.empty() ? "self-check" : o_.write_canary;
    uint64_t hash = pc::RunIdHash(run);
    uint64_t bytes = o_.canary_bytes / 16 * 16;
    auto buf = device_->Allocate(bytes);
    if (!buf.ok()) {
      c.ErrorFrom(buf.status(), "allocate canary buffer");
      return;
    }
    std::vector<uint32_t> host(bytes / 4);
    pc::FillCanary(hash, host.data(), host.size());
    Status st = device_->Write(*buf, 0, host.data(), bytes);
    std::vector<uint32_t> back(host.size(), 0);
    if (st.ok()) st = device_->Read(back.data(), *buf, 0, bytes);
    if (!st.ok()) {
      c.ErrorFrom(st, "write/read canary");
      return;
    }
    auto scan = pc::ScanCanary(hash, back.data(), back.size());
    c.Measure("canary_bytes", static_cast<double>(bytes), "bytes");
    if (scan.own_matches != scan.slots_scanned || scan.corrupt != 0) {
      c.Fail("canary read back wrong: " + std::to_string(scan.own_matches) + " of " +
             std::to_string(scan.slots_scanned) + " records intact, " +
             std::to_string(scan.corrupt) + " corrupt");
      return;
    }
    c.details["run_id"] = run;
    if (o_.write_canary.empty()) {
      c.summary =
          "canary round trip verified (single instance; use --write-canary/--scan-canary "
          "with a second claim to test isolation)";
      return;
    }
    if (!o_.ready_file.empty()) {
      Status w = AtomicWriteFile(o_.ready_file, run + "\n");
      if (!w.ok()) {
        c.ErrorFrom(w, "write ready file");
        return;
      }
    }
    if (o_.hold_seconds > 0) {
      pc::Deadline until(std::chrono::milliseconds(static_cast<int64_t>(o_.hold_seconds * 1000)));
      while (!until.Expired() && !StopRequested().load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    c.summary = "canary of run " + run + " written and verified (" + pc::FormatBytes(bytes) + ")";
  }

  void ScanForCanary(CheckResult& c, bool time_sliced) {
    uint64_t hash = pc::RunIdHash(o_.scan_canary);
    c.details["run_id"] = o_.scan_canary;
    uint64_t want = o_.scan_bytes / 16 * 16;
    if (device_->info().memory_limit_bytes != 0) {
      want = std::min(want, device_->info().memory_limit_bytes / 16 * 16);
    }
    uint64_t scanned = 0;
    pc::CanaryScan total;
    std::vector<DeviceBuffer> held;  // keep chunks so each allocation is fresh memory
    const uint64_t chunk = std::min<uint64_t>(o_.chunk_bytes / 16 * 16, 64ull << 20);
    std::vector<uint32_t> host(chunk / 4);
    while (scanned < want) {
      uint64_t n = std::min(chunk, want - scanned);
      auto b = device_->AllocateRaw(n);
      if (!b.ok()) {
        if (b.status().code() == Code::kResourceExhausted) break;  // scanned what we could get
        c.ErrorFrom(b.status(), "allocate scan buffer");
        return;
      }
      Status st = device_->Read(host.data(), *b, 0, n);
      if (!st.ok()) {
        c.ErrorFrom(st, "read scan buffer");
        return;
      }
      auto s = pc::ScanCanary(hash, host.data(), n / 4);
      if (s.own_matches > 0 && total.first_own_slot < 0) {
        total.first_own_slot = static_cast<int64_t>(scanned / 16) + s.first_own_slot;
      }
      total.own_matches += s.own_matches;
      for (auto& [h, k] : s.foreign) total.foreign[h] += k;
      scanned += n;
      held.push_back(std::move(*b));
    }
    c.Measure("scanned_bytes", static_cast<double>(scanned), "bytes");
    c.Measure("canary_records_found", static_cast<double>(total.own_matches), "count");
    if (!total.foreign.empty()) {
      c.Note("canary records of " + std::to_string(total.foreign.size()) +
             " other run(s) are also readable");
    }
    if (scanned == 0) {
      c.Error("could not allocate any memory to scan");
      return;
    }
    if (total.own_matches > 0) {
      std::string where = "found " + std::to_string(total.own_matches) + " canary records of run " +
                          o_.scan_canary + " (first at byte " +
                          std::to_string(total.first_own_slot * 16) + ")";
      if (time_sliced) {
        c.Note(where);
        c.summary = "no memory isolation, as documented for time-slicing";
        c.details["isolation"] = "absent-as-expected";
      } else {
        c.Fail(where + ": memory written under another claim is readable");
        c.summary = "isolation breached";
        c.details["isolation"] = "breached";
      }
      return;
    }
    if (time_sliced) {
      c.Note(
          "time-slicing provides no memory isolation (documented); not finding the canary "
          "proves nothing here");
      c.details["isolation"] = "absent-as-expected";
      c.summary = "no canary found; isolation not expected under time-slicing";
    } else {
      c.details["isolation"] = "held";
      c.summary = "no trace of run " + o_.scan_canary + " in " + pc::FormatBytes(scanned);
    }
  }

  // ---- bandwidth ---------------------------------------------------------
  void Bandwidth(CheckResult& c) {
    uint64_t bytes = o_.bandwidth_bytes / 16 * 16;
    int reps = std::max(1, o_.reps);
    auto src = device_->Allocate(bytes);
    auto dst = src.ok() ? device_->Allocate(bytes) : Result<DeviceBuffer>(src.status());
    if (!dst.ok()) {
      c.ErrorFrom(dst.status(), "allocate bandwidth buffers");
      return;
    }
    std::vector<uint32_t> pattern(bytes / 4), back(bytes / 4), zero(bytes / 4, 0);
    pc::FillPattern(0xB4D, pattern.data(), pattern.size());
    c.details["bytes"] = bytes;
    c.details["reps"] = reps;

    // Host -> device and device -> host (synchronous copies from pageable memory).
    auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) {
      Status st = device_->Write(*src, 0, pattern.data(), bytes);
      if (!st.ok()) return FailOrError(c, st, "host-to-device copy");
    }
    double h2d = static_cast<double>(bytes) * reps / pc::SecondsSince(t0) / 1e9;
    t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) {
      Status st = device_->Read(back.data(), *src, 0, bytes);
      if (!st.ok()) return FailOrError(c, st, "device-to-host copy");
    }
    double d2h = static_cast<double>(bytes) * reps / pc::SecondsSince(t0) / 1e9;
    if (back != pattern) c.Fail("device-to-host copy returned wrong data");

    auto measure = [&](bool kernel, double* gbps) -> bool {
      Status st = device_->Write(*dst, 0, zero.data(), bytes);
      if (!st.ok()) {
        FailOrError(c, st, "clear destination");
        return false;
      }
      // One warm-up run (kernel compilation, first-touch) outside the timing.
      auto warm = kernel ? device_->KernelCopy(*dst, *src, bytes, 1)
                         : device_->CopyEngine(*dst, *src, bytes, 1);
      auto secs = warm.ok() ? (kernel ? device_->KernelCopy(*dst, *src, bytes, reps)
                                      : device_->CopyEngine(*dst, *src, bytes, reps))
                            : warm;
      const char* what = kernel ? "kernel copy" : "copy-engine copy";
      if (!secs.ok()) {
        FailOrError(c, secs.status(), what);
        return false;
      }
      *gbps = static_cast<double>(bytes) * reps / *secs / 1e9;
      std::fill(back.begin(), back.end(), 0u);
      st = device_->Read(back.data(), *dst, 0, bytes);
      if (!st.ok()) {
        FailOrError(c, st, "read back copy");
        return false;
      }
      if (back != pattern) c.Fail(std::string(what) + " produced wrong data");
      return true;
    };
    double kernel_gbps = 0, ce_gbps = 0;
    if (!measure(true, &kernel_gbps)) return;
    if (!measure(false, &ce_gbps)) return;
    double host = pc::HostMemcpyBandwidth(bytes, reps);

    c.Measure("kernel_copy", kernel_gbps, "GB/s");
    c.Measure("copy_engine", ce_gbps, "GB/s");
    c.Measure("host_to_device", h2d, "GB/s");
    c.Measure("device_to_host", d2h, "GB/s");
    c.Measure("host_memcpy", host, "GB/s");
    double host_fraction = host > 0 ? kernel_gbps / host : 0;
    c.Measure("kernel_copy_vs_host_memcpy", host_fraction, "fraction");
    double peak = o_.peak_gbps > 0 ? o_.peak_gbps : device_->info().peak_memory_gbps;
    if (peak > 0) {
      // A device-local copy reads and writes every byte: traffic is 2x the
      // copied bytes, and the spec peak counts traffic.
      double frac = 2 * std::max(kernel_gbps, ce_gbps) / peak;
      c.Measure("peak", peak, "GB/s");
      c.Measure("fraction_of_peak", frac, "fraction");
      if (o_.min_peak_fraction > 0 && frac < o_.min_peak_fraction) {
        c.Fail("device-local copy reaches " + std::to_string(frac) + " of peak, below " +
               std::to_string(o_.min_peak_fraction));
      }
    } else if (o_.min_peak_fraction > 0) {
      c.Note("device peak unknown (give --peak-gbps); peak threshold not applied");
    }
    if (o_.min_host_fraction > 0 && host_fraction < o_.min_host_fraction) {
      c.Fail("kernel copy reaches " + std::to_string(host_fraction) + " of host memcpy, below " +
             std::to_string(o_.min_host_fraction));
    }
    c.summary = "kernel copy " + Gbps(kernel_gbps) + ", copy engine " + Gbps(ce_gbps) + ", H2D " +
                Gbps(h2d) + ", D2H " + Gbps(d2h) + " (host memcpy " + Gbps(host) + ")";
  }

  void FailOrError(CheckResult& c, const Status& st, const std::string& what) {
    if (IsDeviceFault(st)) {
      c.Fail(what + " failed: " + st.ToString());
    } else {
      c.ErrorFrom(st, what);
    }
  }

  // ---- compute -----------------------------------------------------------
  // RunFma(): one launch on fresh inputs, verified against the CPU exactly
  // (every backend uses a correctly rounded FMA). Returns GFLOP/s, or a
  // negative value after a finding.
  double RunFma(CheckResult& c, uint64_t n, uint32_t iters, uint32_t seed, const char* what,
                std::vector<float>* out = nullptr) {
    std::vector<float> a(n), b(n), r(n);
    pc::FmaInputs(seed, a.data(), b.data(), n);
    auto ba = device_->Allocate(n * 4);
    auto bb = ba.ok() ? device_->Allocate(n * 4) : Result<DeviceBuffer>(ba.status());
    auto bc = bb.ok() ? device_->Allocate(n * 4) : Result<DeviceBuffer>(bb.status());
    if (!bc.ok()) {
      FailOrError(c, bc.status(), std::string(what) + ": allocate");
      return -1;
    }
    Status st = device_->Write(*ba, 0, a.data(), n * 4);
    if (st.ok()) st = device_->Write(*bb, 0, b.data(), n * 4);
    if (!st.ok()) {
      FailOrError(c, st, std::string(what) + ": upload");
      return -1;
    }
    auto secs = device_->Fma(*ba, *bb, *bc, n, pc::kFmaAlpha, iters);
    if (secs.ok()) st = device_->Read(r.data(), *bc, 0, n * 4);
    if (!secs.ok() || !st.ok()) {
      FailOrError(c, secs.ok() ? st : secs.status(), std::string(what) + ": FMA kernel");
      return -1;
    }
    // Every backend (the emulated runtime included) uses a correctly rounded
    // fma, so results must match the CPU exactly.
    const float tol = 0.0f;
    // Check every item up to 64Ki, then a stride sample: the CPU reference
    // must not dominate the probe's run time.
    uint64_t step = std::max<uint64_t>(1, n / 65536);
    uint64_t bad = 0, first_bad = 0;
    for (uint64_t i = 0; i < n; i += step) {
      float want = pc::FmaReference(a[i], b[i], pc::kFmaAlpha, iters);
      if (!(std::fabs(r[i] - want) <= tol)) {
        if (bad++ == 0) first_bad = i;
      }
    }
    if (bad > 0) {
      c.Fail(std::string(what) + ": " + std::to_string(bad) +
             " FMA results differ from the CPU "
             "reference (first at item " +
             std::to_string(first_bad) + ")");
      return -1;
    }
    if (out != nullptr) *out = std::move(r);
    return pc::FmaFlops(n, iters) / std::max(*secs, 1e-9) / 1e9;
  }

  void Compute(CheckResult& c) {
    uint64_t n = std::max<uint64_t>(1, o_.fma_items);
    // Warm-up (first launch may compile or page in), then the timed launch.
    if (RunFma(c, std::min<uint64_t>(n, 4096), 8, 1, "warm-up") < 0) return;
    double gflops = RunFma(c, n, o_.fma_iters, 2, "fma");
    if (gflops < 0) return;
    c.Measure("fma_throughput", gflops, "GFLOP/s");
    c.details["fma_items"] = n;
    c.details["fma_iters"] = o_.fma_iters;
    if (o_.solo_gflops > 0) {
      double frac = gflops / o_.solo_gflops;
      c.Measure("fraction_of_solo", frac, "fraction");
      if (o_.min_solo_fraction > 0 && frac < o_.min_solo_fraction) {
        c.Fail("throughput is " + std::to_string(frac) + " of solo, below " +
               std::to_string(o_.min_solo_fraction));
      }
    }
    const DeviceInfo& info = device_->info();
    if (info.active_compute_units != 0 && info.compute_units != 0) {
      c.Measure("active_compute_fraction",
                static_cast<double>(info.active_compute_units) / info.compute_units, "fraction");
    }

    // Reduction correctness.
    const uint64_t rn = pc::kReduceMaxCount;
    std::vector<float> v(rn);
    pc::ReduceInputs(9, v.data(), rn);
    double want = pc::ReduceReference(v.data(), rn);
    auto buf = device_->Allocate(rn * 4);
    if (!buf.ok()) return FailOrError(c, buf.status(), "reduction: allocate");
    Status st = device_->Write(*buf, 0, v.data(), rn * 4);
    if (!st.ok()) return FailOrError(c, st, "reduction: upload");
    auto got = device_->ReduceSum(*buf, rn);
    if (!got.ok()) return FailOrError(c, got.status(), "reduction kernel");
    c.details["reduction"] = {{"count", rn}, {"expected", want}, {"got", *got}};
    if (*got != want) {
      c.Fail("reduction returned " + std::to_string(*got) + ", the CPU reference is " +
             std::to_string(want));
    }
    char buf2[96];
    std::snprintf(buf2, sizeof(buf2), "%.2f GFLOP/s FMA; reduction of %llu values exact", gflops,
                  static_cast<unsigned long long>(rn));
    c.summary = *got == want ? buf2 : "reduction wrong";
  }

  // ---- health ------------------------------------------------------------
  void Health(CheckResult& c) {
    const DeviceInfo& info = device_->info();
    if (nvml_ != nullptr && nvml_error_.empty()) {
      Json view = Json::array();
      for (const auto& d : nvml_devices_) {
        bool mine = info.uuid.empty() || d.uuid == info.uuid || d.uuid == info.parent_uuid ||
                    d.parent_uuid == info.uuid;
        view.push_back(
            {{"uuid", d.uuid}, {"lost", d.lost}, {"ecc_uncorrected", d.ecc_uncorrected}});
        if (!mine) continue;
        if (d.lost) c.Fail("NVML reports " + d.uuid + " lost (GPU_IS_LOST)");
        if (d.ecc_uncorrected > 0) {
          c.Fail("NVML reports " + std::to_string(d.ecc_uncorrected) +
                 " uncorrected ECC error(s) on " + d.uuid);
        }
      }
      c.details["nvml"] = view;
      auto events = nvml_->WatchEvents(std::chrono::milliseconds(o_.event_window_ms));
      if (events.ok()) {
        Json ev = Json::array();
        for (const auto& e : *events) {
          ev.push_back({{"uuid", e.uuid}, {"kind", e.kind}, {"data", e.data}});
          bool mine = info.uuid.empty() || e.uuid.empty() || e.uuid == info.uuid ||
                      e.uuid == info.parent_uuid;
          if (!mine) continue;
          if (e.kind == "xid") {
            c.Fail("Xid " + std::to_string(e.data) + " on " + e.uuid);
          } else if (e.kind == "ecc-double-bit") {
            c.Fail("double-bit ECC event on " + e.uuid);
          }
        }
        c.details["events"] = ev;
        c.Measure("nvml_events", static_cast<double>(events->size()), "count");
      } else {
        c.Note("NVML events unavailable: " + events.status().ToString());
      }
    } else {
      std::string why = nvml_ == nullptr ? o_.nvml_error : nvml_error_;
      if (o_.nvml_required) {
        c.Error("NVML unavailable: " + why);
      } else {
        c.Note("no NVML health view (" + why + "); stress run only");
      }
    }

    // Stress: repeat one FMA launch until the time is up; every result must
    // equal the first and the CPU reference (gpu-burn's criterion: wrong
    // answers under load, not low throughput).
    pc::Deadline until(std::chrono::milliseconds(static_cast<int64_t>(o_.stress_seconds * 1000)));
    std::vector<float> first, now;
    int runs = 0;
    while (true) {
      double g = RunFma(c, 65536, 512, 77, "stress", runs == 0 ? &first : &now);
      if (g < 0) break;
      if (runs > 0 && now != first) {
        c.Fail("stress run " + std::to_string(runs) + " gave different results than run 0");
        break;
      }
      ++runs;
      if (until.Expired() || runs >= 100000) break;
    }
    c.Measure("stress_runs", runs, "count");
    if (c.verdict == pc::Verdict::kPass) {
      c.summary = std::to_string(runs) + " stress run(s) correct; no Xid/ECC/lost reported";
    }
  }

  GpuBackend& backend_;
  NvmlView* nvml_;
  const ProbeOptions& o_;
  pc::ProbeReport& report_;
  std::vector<DeviceInfo> runtime_;
  Status runtime_error_;
  std::vector<NvmlDevice> nvml_devices_;
  std::string nvml_error_;
  std::unique_ptr<GpuDevice> device_;
  Status open_error_;
};

}  // namespace

std::atomic<bool>& StopRequested() {
  static std::atomic<bool> stop{false};
  return stop;
}

Status ValidateOptions(const ProbeOptions& o) {
  const auto& all = AllCheckNames();
  if (o.checks.empty()) return InvalidArgumentError("--checks: no check selected");
  for (const auto& c : o.checks) {
    if (std::find(all.begin(), all.end(), c) == all.end()) {
      return InvalidArgumentError("--checks: unknown check \"" + c +
                                  "\" (enumerate, memory-capacity, memory-isolation, bandwidth, "
                                  "compute, health, all)");
    }
  }
  bool capacity = std::find(o.checks.begin(), o.checks.end(), "memory-capacity") != o.checks.end();
  if (capacity && !o.expect_memory) {
    return InvalidArgumentError("memory-capacity needs --expect-memory");
  }
  if (o.expect_memory && *o.expect_memory == 0) return InvalidArgumentError("--expect-memory is 0");
  if (o.expect_share && *o.expect_share == 0) return InvalidArgumentError("--expect-share is 0");
  if (!o.write_canary.empty() && !o.scan_canary.empty()) {
    return InvalidArgumentError("--write-canary and --scan-canary exclude each other");
  }
  static const std::set<std::string> kSharing = {"exclusive", "time-slicing", "mps", "mig"};
  if (!kSharing.count(o.sharing)) {
    return InvalidArgumentError("--sharing: \"" + o.sharing +
                                "\" (want exclusive, time-slicing, mps or mig)");
  }
  if (o.bandwidth_bytes < 16 || o.canary_bytes < 16 || o.chunk_bytes < 16) {
    return InvalidArgumentError("buffer sizes must be at least 16 bytes");
  }
  if (o.fill_fraction <= 0 || o.fill_fraction > 1) {
    return InvalidArgumentError("--fill-fraction must be in (0, 1]");
  }
  if (o.fma_iters == 0 || o.fma_items == 0)
    return InvalidArgumentError("compute sizes must be > 0");
  return OkStatus();
}

void RunChecks(GpuBackend& backend, NvmlView* nvml, const ProbeOptions& options,
               pc::ProbeReport& report, std::atomic<const char*>* current_check) {
  Runner(backend, nvml, options, report).Run(current_check);
}

}  // namespace drahil::probe_gpu
