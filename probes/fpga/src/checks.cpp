#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <regex>
#include <set>

#include "drahil/core/file_util.hpp"
#include "drahil/core/strings.hpp"
#include "drahil/probe_common/reference.hpp"
#include "drahil/probe_common/util.hpp"
#include "drahil/probe_fpga/fpga_probe.hpp"

#ifdef DRAHIL_PROBE_HAVE_OPENCL
#include "drahil/probe_common/opencl.hpp"
#endif

namespace drahil::probe_fpga {
namespace {

namespace pc = probe_common;
using Json = nlohmann::json;
using pc::CheckResult;

constexpr std::pair<std::string_view, std::string_view> kKernelFiles[] = {
#include "fpga_kernels.inc"
};

// NormalizeBdf(): "af:00.1" -> "0000:af:00.1", lower case.
std::string NormalizeBdf(const std::string& bdf) {
  std::string b = ToLower(Trim(bdf));
  if (std::count(b.begin(), b.end(), ':') == 1) b = "0000:" + b;
  return b;
}

std::string Hex(uint32_t v, int width) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%0*x", width, v);
  return buf;
}

// SysfsItems(): names under <dir>/fpga_region/region*/ matching prefix
// ("dfl-port." / "dfl-fme."), as {relative dir, name}.
std::vector<std::pair<std::string, std::string>> RegionItems(const std::string& dev_dir,
                                                             const std::string& prefix) {
  std::vector<std::pair<std::string, std::string>> out;
  auto regions = ListDir(dev_dir + "/fpga_region");
  if (!regions.ok()) return out;
  for (const auto& r : *regions) {
    auto items = ListDir(dev_dir + "/fpga_region/" + r);
    if (!items.ok()) continue;
    for (const auto& it : *items) {
      if (it.rfind(prefix, 0) == 0) out.emplace_back(dev_dir + "/fpga_region/" + r + "/" + it, it);
    }
  }
  return out;
}

struct NodeState {
  std::string path;
  bool opens = false;
  std::string error;
};

class FpgaRunner {
 public:
  FpgaRunner(const FpgaOptions& o, pc::ProbeReport& r) : o_(o), report_(r) {
    for (const auto& b : o_.expect_bdfs) expected_.insert(NormalizeBdf(b));
  }

  void Run() {
    auto fns = EnumeratePci(o_.sysfs_root);
    if (fns.ok()) {
      functions_ = *fns;
      for (const auto& f : functions_) {
        if (!f.fpga && !expected_.count(f.bdf)) continue;
        Json j = {{"source", "pci"},
                  {"bdf", f.bdf},
                  {"vendor", Hex(f.vendor, 4)},
                  {"device", Hex(f.device, 4)},
                  {"class", Hex(f.class_code, 4)},
                  {"driver", f.driver},
                  {"fpga", f.fpga}};
        if (!f.physfn.empty()) j["physfn"] = f.physfn;
        report_.devices().push_back(j);
      }
    } else {
      pci_error_ = fns.status();
    }
    for (const auto& name : o_.checks) {
      CheckResult& c = report_.AddCheck(name);
      auto t0 = std::chrono::steady_clock::now();
      if (name == "enumerate") Enumerate(c);
      if (name == "nodes") Nodes(c);
      if (name == "allocation") Allocation(c);
      if (name == "bitstream") Bitstream(c);
      if (name == "kernels") Kernels(c);
      c.duration_s = pc::SecondsSince(t0);
    }
  }

 private:
  const PciFunction* Find(const std::string& bdf) const {
    for (const auto& f : functions_) {
      if (f.bdf == bdf) return &f;
    }
    return nullptr;
  }
  std::string DevDir(const std::string& bdf) const { return o_.sysfs_root + "/devices/" + bdf; }

  // ---- enumerate ----------------------------------------------------------
  void Enumerate(CheckResult& c) {
    if (!pci_error_.ok()) {
      c.ErrorFrom(pci_error_, "enumerate PCI");
      return;
    }
    int fpga = 0;
    for (const auto& f : functions_) fpga += f.fpga ? 1 : 0;
    c.Measure("pci_functions", static_cast<double>(functions_.size()), "count");
    c.Measure("fpga_functions", fpga, "count");
    c.details["sysfs_root"] = o_.sysfs_root;
    for (const auto& b : expected_) {
      const PciFunction* f = Find(b);
      if (f == nullptr) {
        c.Fail("allocated function " + b + " is not present under " + o_.sysfs_root);
        continue;
      }
      if (f->config_all_ones) c.Fail(b + " config space reads all ones: the device is off the bus");
    }
    if (expected_.empty() && fpga == 0) c.Fail("no FPGA function visible");
    c.summary = std::to_string(fpga) + " FPGA function(s) of " + std::to_string(functions_.size()) +
                "; " + std::to_string(expected_.size()) + " allocated";
  }

  // ---- nodes --------------------------------------------------------------
  void Nodes(CheckResult& c) {
    static const std::regex kTop("xclmgmt[0-9]+|dfl-fme\\.[0-9]+|dfl-port\\.[0-9]+");
    static const std::regex kDri("renderD[0-9]+");
    // Candidate FPGA nodes present in any dev root, by name relative to it.
    std::map<std::string, NodeState> nodes;
    auto probe = [&](const std::string& root, const std::string& rel) {
      std::string path = root + "/" + rel;
      NodeState& s = nodes[rel];
      if (s.opens) return;
      int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOCTTY);
      s.path = path;
      if (fd >= 0) {
        s.opens = true;
        s.error.clear();
        ::close(fd);
      } else if (s.error.empty()) {
        s.error = std::strerror(errno);
      }
    };
    for (const auto& root : o_.dev_roots) {
      if (auto names = ListDir(root); names.ok()) {
        for (const auto& n : *names) {
          if (std::regex_match(n, kTop)) probe(root, n);
        }
      }
      if (auto names = ListDir(root + "/dri"); names.ok()) {
        for (const auto& n : *names) {
          if (std::regex_match(n, kDri)) probe(root, "dri/" + n);
        }
      }
    }
    // Expected nodes: given, plus what sysfs says each allocated function has.
    std::set<std::string> expected;
    for (const auto& p : o_.expect_nodes) {
      std::string rel = p;
      for (const auto& root : o_.dev_roots) {
        if (rel.rfind(root + "/", 0) == 0) rel = rel.substr(root.size() + 1);
      }
      if (rel.rfind("/dev/", 0) == 0) rel = rel.substr(5);
      expected.insert(rel);
    }
    bool attributable = !o_.expect_nodes.empty();
    if (!expected_.empty() && o_.expect_nodes.empty()) {
      attributable = true;
      for (const auto& b : expected_) {
        size_t before = expected.size();
        for (const auto& [dir, name] : RegionItems(DevDir(b), "dfl-port.")) expected.insert(name);
        for (const auto& [dir, name] : RegionItems(DevDir(b), "dfl-fme.")) expected.insert(name);
        if (auto drm = ListDir(DevDir(b) + "/drm"); drm.ok()) {
          for (const auto& n : *drm) {
            if (std::regex_match(n, kDri)) expected.insert("dri/" + n);
          }
        }
        if (expected.size() == before) attributable = false;
      }
    }
    Json jn = Json::array();
    int openable = 0;
    for (const auto& [rel, s] : nodes) {
      jn.push_back({{"node", rel},
                    {"path", s.path},
                    {"opens", s.opens},
                    {"error", s.error},
                    {"allocated", expected.count(rel) > 0}});
      openable += s.opens ? 1 : 0;
    }
    c.details["nodes"] = jn;
    c.details["expected_nodes"] = expected;
    c.Measure("openable_fpga_nodes", openable, "count");
    for (const auto& rel : expected) {
      // Expected nodes outside the scanned patterns are probed here.
      if (!nodes.count(rel)) {
        for (const auto& root : o_.dev_roots) probe(root, rel);
      }
      if (!nodes[rel].opens) {
        c.Fail("allocated node " + rel + " does not open (" +
               (nodes[rel].error.empty() ? "absent" : nodes[rel].error) + ")");
      }
    }
    if (attributable) {
      for (const auto& [rel, s] : nodes) {
        if (s.opens && !expected.count(rel)) {
          c.Fail("node " + s.path + " opens but was not allocated");
        }
      }
    } else if (!expected_.empty()) {
      c.Note(
          "sysfs names no node for some allocated function (pass --expect-nodes); "
          "extra nodes not judged");
    }
    c.summary = std::to_string(openable) + " openable FPGA node(s), " +
                std::to_string(expected.size()) + " allocated";
  }

  // ---- allocation ---------------------------------------------------------
  void Allocation(CheckResult& c) {
    if (!pci_error_.ok()) {
      c.ErrorFrom(pci_error_, "enumerate PCI");
      return;
    }
    if (expected_.empty()) {
      c.Note("no allocation given (--expect-bdfs / DRAHIL_FPGA_BDFS); nothing to check");
      c.summary = "no allocation given";
      return;
    }
    Json fns = Json::array();
    int vfs = 0, ports = 0;
    for (const auto& b : expected_) {
      const PciFunction* f = Find(b);
      if (f == nullptr) {
        c.Fail("allocated function " + b + " is not present");
        continue;
      }
      Json j = {{"bdf", b}, {"vf", !f->physfn.empty()}, {"driver", f->driver}};
      if (!f->physfn.empty()) {
        ++vfs;
        j["physfn"] = f->physfn;
        if (Find(f->physfn) == nullptr)
          c.Fail(b + " is a VF whose PF " + f->physfn + " is missing");
      } else if (o_.expect_vf) {
        c.Fail(b + " is a physical function; the claim should carry a VF");
      }
      Json regions = Json::array();
      for (const auto& prefix : {std::string("dfl-port."), std::string("dfl-fme.")}) {
        for (const auto& [dir, name] : RegionItems(DevDir(b), prefix)) {
          if (prefix == "dfl-port.") ++ports;
          auto errors = ReadFile(dir + "/errors/errors");
          std::string e = errors.ok() ? Trim(*errors) : "";
          regions.push_back({{"item", name}, {"errors", e}});
          if (!e.empty() && e != "0x0" && e != "0") {
            c.Fail(b + " " + name + " reports errors " + e);
          }
        }
      }
      j["regions"] = regions;
      if (auto n = ReadFile(DevDir(b) + "/sriov_numvfs"); n.ok()) j["sriov_numvfs"] = Trim(*n);
      fns.push_back(j);
    }
    c.details["functions"] = fns;
    c.Measure("allocated_vfs", vfs, "count");
    c.Measure("allocated_ports", ports, "count");
    c.summary = std::to_string(expected_.size()) + " function(s): " + std::to_string(vfs) +
                " VF(s), " + std::to_string(ports) + " port(s)";
  }

  // ---- bitstream ----------------------------------------------------------
  void Bitstream(CheckResult& c) {
    std::set<std::string> scope = expected_;
    if (scope.empty()) {
      for (const auto& f : functions_) {
        if (f.fpga) scope.insert(f.bdf);
      }
    }
    std::set<std::string> bitstreams, afus;
    for (const auto& b : scope) {
      const PciFunction* f = Find(b);
      // The FME (and with it the bitstream id) stays on the PF (docs/reference/hardware.md 4.2).
      for (const auto& owner : {b, f != nullptr ? f->physfn : std::string()}) {
        if (owner.empty()) continue;
        for (const auto& [dir, name] : RegionItems(DevDir(owner), "dfl-fme.")) {
          if (auto id = ReadFile(dir + "/bitstream_id"); id.ok())
            bitstreams.insert(ToLower(Trim(*id)));
        }
      }
      for (const auto& [dir, name] : RegionItems(DevDir(b), "dfl-port.")) {
        if (auto id = ReadFile(dir + "/afu_id"); id.ok()) afus.insert(ToLower(Trim(*id)));
      }
    }
    c.details["bitstream_ids"] = bitstreams;
    c.details["afu_ids"] = afus;
    auto judge = [&](const std::string& want, const std::set<std::string>& have, const char* what) {
      if (want.empty()) return;
      std::string w = ToLower(Trim(want));
      if (have.empty()) {
        c.Fail(std::string("the driver reported ") + what + " " + want +
               " but the allocated device exposes none");
      } else if (!have.count(w)) {
        std::string list;
        for (const auto& h : have) list += (list.empty() ? "" : ", ") + h;
        c.Fail(std::string("the driver reported ") + what + " " + want + ", the device has " +
               list);
      }
    };
    judge(o_.expect_bitstream_id, bitstreams, "bitstream id");
    judge(o_.expect_afu_id, afus, "AFU id");
    if (o_.expect_bitstream_id.empty() && o_.expect_afu_id.empty()) {
      c.Note(
          "no driver-reported id given (--expect-bitstream-id / DRAHIL_FPGA_BITSTREAM_ID); "
          "ids listed only");
    }
    c.summary = std::to_string(bitstreams.size()) + " bitstream id(s), " +
                std::to_string(afus.size()) + " AFU id(s) on the allocated device(s)";
  }

  // ---- kernels ------------------------------------------------------------
  void Kernels(CheckResult& c) {
#ifdef DRAHIL_PROBE_HAVE_OPENCL
    using pc::ClSession;
    auto s = ClSession::Open(o_.opencl_platform, 0);
    if (!s.ok()) {
      c.ErrorFrom(s.status(), "open OpenCL platform \"" + o_.opencl_platform + "\"");
      return;
    }
    ClSession& cl = **s;
    c.details["platform"] = cl.device().platform;
    c.details["device"] = cl.device().name;
    std::string source;
    for (const auto& [name, text] : kKernelFiles) source.append(text).append("\n");
    Status st = cl.BuildProgram(source, "-cl-std=CL1.2");
    if (!st.ok()) return c.ErrorFrom(st, "build FPGA probe kernels");
    auto deadline = [&] { return pc::Deadline(o_.device_timeout); };

    // Vector add with checksum.
    const uint64_t n = std::max<uint64_t>(64, o_.vadd_elements);
    constexpr size_t kLocal = 64;
    const size_t groups = std::min<size_t>(256, (n + kLocal - 1) / kLocal);
    std::vector<uint32_t> a(n), b(n), want(n), got(n);
    std::vector<cl_ulong> partials(groups);
    pc::FillPattern(1, a.data(), n);
    pc::FillPattern(2, b.data(), n);
    pc::VectorAdd(a.data(), b.data(), want.data(), n);
    auto ba = cl.Allocate(n * 4), bb = cl.Allocate(n * 4), bc = cl.Allocate(n * 4),
         bp = cl.Allocate(groups * 8);
    auto vadd = cl.Kernel("vadd_checksum");
    if (!ba.ok() || !bb.ok() || !bc.ok() || !bp.ok() || !vadd.ok()) {
      return c.Error("allocate vector-add buffers / kernel");
    }
    st = cl.Write(*ba, 0, a.data(), n * 4);
    if (st.ok()) st = cl.Write(*bb, 0, b.data(), n * 4);
    if (st.ok())
      st = vadd->SetArgs(ba->get(), bb->get(), bc->get(), static_cast<cl_ulong>(n), bp->get());
    if (st.ok()) st = vadd->SetLocalArg(5, kLocal * 8);
    // The first launch compiles the kernel for this local size: run it once
    // untimed, then time the second (it recomputes the same result).
    if (st.ok()) st = cl.Launch(*vadd, groups * kLocal, kLocal);
    if (st.ok()) st = cl.Finish(deadline());
    auto t0 = std::chrono::steady_clock::now();
    if (st.ok()) st = cl.Launch(*vadd, groups * kLocal, kLocal);
    if (st.ok()) st = cl.Finish(deadline());
    double vadd_s = pc::SecondsSince(t0);
    if (st.ok()) st = cl.Read(got.data(), *bc, 0, n * 4);
    if (st.ok()) st = cl.Read(partials.data(), *bp, 0, groups * 8);
    if (st.ok()) st = cl.Finish(deadline());
    if (!st.ok()) return c.ErrorFrom(st, "vector add");
    uint64_t checksum = 0;
    for (auto p : partials) checksum += p;
    uint64_t want_sum = pc::Checksum(want.data(), n);
    c.details["vadd"] = {{"elements", n}, {"checksum", checksum}, {"expected_checksum", want_sum}};
    if (checksum != want_sum)
      c.Fail("vector-add checksum " + std::to_string(checksum) + " differs from the CPU's " +
             std::to_string(want_sum));
    if (got != want) c.Fail("vector-add result differs from the CPU reference");
    c.Measure("vadd_elements_per_s", static_cast<double>(n) / std::max(vadd_s, 1e-9), "1/s");

    // DMA-style round trip: host -> card, card -> card, card -> host.
    const uint64_t bytes = std::max<uint64_t>(16, o_.dma_bytes / 16 * 16);
    const int reps = std::max(1, o_.reps);
    std::vector<uint32_t> pattern(bytes / 4), back(bytes / 4, 0);
    pc::FillPattern(3, pattern.data(), pattern.size());
    auto src = cl.Allocate(bytes), dst = cl.Allocate(bytes);
    auto copy = cl.Kernel("dma_copy");
    if (!src.ok() || !dst.ok() || !copy.ok()) return c.Error("allocate DMA buffers / kernel");
    auto timed = [&](auto&& enqueue, double* gbps) -> Status {
      auto t = std::chrono::steady_clock::now();
      for (int r = 0; r < reps; ++r) DRAHIL_RETURN_IF_ERROR(enqueue());
      DRAHIL_RETURN_IF_ERROR(cl.Finish(deadline()));
      *gbps = static_cast<double>(bytes) * reps / pc::SecondsSince(t) / 1e9;
      return OkStatus();
    };
    double h2d = 0, on_card = 0, d2h = 0;
    st = copy->SetArgs(dst->get(), src->get(), static_cast<cl_ulong>(bytes / 16));
    // Warm-up outside the timing (first launch compiles for the local size).
    if (st.ok()) st = cl.Launch(*copy, bytes / 16, kLocal);
    if (st.ok()) st = cl.Finish(deadline());
    if (st.ok()) st = timed([&] { return cl.Write(*src, 0, pattern.data(), bytes); }, &h2d);
    if (st.ok()) st = timed([&] { return cl.Launch(*copy, bytes / 16, kLocal); }, &on_card);
    if (st.ok()) st = timed([&] { return cl.Read(back.data(), *dst, 0, bytes); }, &d2h);
    if (!st.ok()) return c.ErrorFrom(st, "DMA copy");
    if (back != pattern) c.Fail("DMA round trip returned wrong data");
    double host = pc::HostMemcpyBandwidth(bytes, reps);
    c.Measure("dma_host_to_card", h2d, "GB/s");
    c.Measure("dma_on_card_copy", on_card, "GB/s");
    c.Measure("dma_card_to_host", d2h, "GB/s");
    c.Measure("host_memcpy", host, "GB/s");
    double frac = host > 0 ? on_card / host : 0;
    c.Measure("on_card_copy_vs_host_memcpy", frac, "fraction");
    if (o_.min_host_fraction > 0 && frac < o_.min_host_fraction) {
      c.Fail("on-card copy reaches " + std::to_string(frac) + " of host memcpy, below " +
             std::to_string(o_.min_host_fraction));
    }
    char buf[160];
    std::snprintf(buf, sizeof(buf),
                  "vector add of %llu verified; DMA %.2f / %.2f / %.2f GB/s (in / on card / out)",
                  static_cast<unsigned long long>(n), h2d, on_card, d2h);
    c.summary = buf;
#else
    c.Skip("built without OpenCL");
#endif
  }

  const FpgaOptions& o_;
  pc::ProbeReport& report_;
  std::set<std::string> expected_;
  std::vector<PciFunction> functions_;
  Status pci_error_;
};

}  // namespace

Status ValidateFpgaOptions(const FpgaOptions& o) {
  const auto& all = AllFpgaCheckNames();
  if (o.checks.empty()) return InvalidArgumentError("--checks: no check selected");
  for (const auto& c : o.checks) {
    if (std::find(all.begin(), all.end(), c) == all.end()) {
      return InvalidArgumentError("--checks: unknown check \"" + c +
                                  "\" (enumerate, nodes, allocation, bitstream, kernels, all)");
    }
  }
  static const std::regex kBdf("([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\\.[0-7]");
  for (const auto& b : o.expect_bdfs) {
    if (!std::regex_match(Trim(b), kBdf)) {
      return InvalidArgumentError("--expect-bdfs: \"" + b + "\" is not a PCI address");
    }
  }
  if (o.vadd_elements == 0 || o.dma_bytes < 16)
    return InvalidArgumentError("kernel sizes too small");
  return OkStatus();
}

void RunFpgaChecks(const FpgaOptions& options, pc::ProbeReport& report) {
  FpgaRunner(options, report).Run();
}

}  // namespace drahil::probe_fpga
