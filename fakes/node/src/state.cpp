// Node-root metadata: JSON files under <root>/state (docs/emulation.md).
#include "drahil/fakenode/state.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "drahil/core/file_util.hpp"
#include "drahil/formats/json_fields.hpp"

namespace drahil::fakenode {
namespace {

using nlohmann::json;

// Field readers naming the field on a missing or mistyped value.
using formats::ReadField;

Result<json> ParseJson(const std::string& text) {
  try {
    return json::parse(text);
  } catch (const std::exception& e) {
    return InvalidArgumentError(std::string("bad JSON: ") + e.what());
  }
}

uint64_t Fnv1a64(const std::string& s, uint64_t seed) {
  uint64_t h = 1469598103934665603ull ^ seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  // splitmix64 finaliser: FNV alone leaves similar keys with similar high bits.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

bool IsUsableNode(int fd, uint64_t size, bool check_size, uint64_t inode) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  if (!S_ISREG(st.st_mode)) return false;
  if (inode != 0 && static_cast<uint64_t>(st.st_ino) != inode) return false;
  return !check_size || static_cast<uint64_t>(st.st_size) == size;
}

}  // namespace

std::string StateDir(const std::string& root) { return root + "/state"; }
std::string GpuKey(uint32_t minor) { return "gpu" + std::to_string(minor); }
std::string FpgaKey(uint32_t index) { return "fpga" + std::to_string(index); }
std::string GpuStatePath(const std::string& root, uint32_t minor) {
  return StateDir(root) + "/gpus/" + GpuKey(minor) + ".json";
}
std::string FpgaStatePath(const std::string& root, uint32_t index) {
  return StateDir(root) + "/fpgas/" + FpgaKey(index) + ".json";
}
std::string FaultsPath(const std::string& root, const std::string& device_key) {
  return StateDir(root) + "/faults/" + device_key + ".json";
}

std::string GpuToJson(const Gpu& g) {
  json mig_devices = json::array();
  for (const auto& m : g.mig_devices) {
    mig_devices.push_back({{"index", m.index},
                           {"uuid", m.uuid},
                           {"profile", m.profile},
                           {"gi_id", m.gi_id},
                           {"ci_id", m.ci_id},
                           {"placement_start", m.placement_start},
                           {"placement_size", m.placement_size},
                           {"memory_offset", m.memory_offset},
                           {"memory_bytes", m.memory_bytes},
                           {"sm_count", m.sm_count},
                           {"cap_minor", m.cap_minor},
                           {"cap_file", m.cap_file},
                           {"cap_inode", m.cap_inode}});
  }
  json j = {{"index", g.index},
            {"minor", g.minor},
            {"uuid", g.uuid},
            {"serial", g.serial},
            {"name", g.name},
            {"bdf", g.bdf},
            {"vendor_id", g.vendor_id},
            {"device_id", g.device_id},
            {"subsystem_vendor_id", g.subsystem_vendor_id},
            {"subsystem_device_id", g.subsystem_device_id},
            {"memory_bytes", g.memory_bytes},
            {"sm_count", g.sm_count},
            {"cores_per_sm", g.cores_per_sm},
            {"architecture", g.architecture},
            {"cc_major", g.cc_major},
            {"cc_minor", g.cc_minor},
            {"numa_node", g.numa_node},
            {"node_file", g.node_file},
            {"node_inode", g.node_inode},
            {"nvlink_peers", g.nvlink_peers},
            {"mig",
             {{"capable", g.mig_capable},
              {"enabled", g.mig_enabled},
              {"memory_slices", g.memory_slices},
              {"max_devices", g.max_mig_devices},
              {"devices", mig_devices}}}};
  return j.dump(2) + "\n";
}

Result<Gpu> GpuFromJson(const std::string& text) {
  DRAHIL_ASSIGN_OR_RETURN(json j, ParseJson(text));
  if (!j.is_object()) return InvalidArgumentError("GPU state is not a JSON object");
  Gpu g;
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "index", &g.index));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "minor", &g.minor));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "uuid", &g.uuid));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "serial", &g.serial, false));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "name", &g.name));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "bdf", &g.bdf));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "vendor_id", &g.vendor_id, false));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "device_id", &g.device_id));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "subsystem_vendor_id", &g.subsystem_vendor_id, false));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "subsystem_device_id", &g.subsystem_device_id, false));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "memory_bytes", &g.memory_bytes));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "sm_count", &g.sm_count));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "cores_per_sm", &g.cores_per_sm, false));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "architecture", &g.architecture, false));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "cc_major", &g.cc_major, false));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "cc_minor", &g.cc_minor, false));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "numa_node", &g.numa_node, false));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "node_file", &g.node_file));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "node_inode", &g.node_inode, false));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "nvlink_peers", &g.nvlink_peers, false));
  auto mig = j.find("mig");
  if (mig != j.end() && mig->is_object()) {
    DRAHIL_RETURN_IF_ERROR_CTX(ReadField(*mig, "capable", &g.mig_capable, false), "mig");
    DRAHIL_RETURN_IF_ERROR_CTX(ReadField(*mig, "enabled", &g.mig_enabled, false), "mig");
    DRAHIL_RETURN_IF_ERROR_CTX(ReadField(*mig, "memory_slices", &g.memory_slices, false), "mig");
    DRAHIL_RETURN_IF_ERROR_CTX(ReadField(*mig, "max_devices", &g.max_mig_devices, false), "mig");
    auto devs = mig->find("devices");
    if (devs != mig->end() && devs->is_array()) {
      for (size_t i = 0; i < devs->size(); ++i) {
        const json& d = (*devs)[i];
        MigDevice m;
        std::string ctx = "mig.devices[" + std::to_string(i) + "]";
        DRAHIL_RETURN_IF_ERROR_CTX(ReadField(d, "index", &m.index), ctx);
        DRAHIL_RETURN_IF_ERROR_CTX(ReadField(d, "uuid", &m.uuid), ctx);
        DRAHIL_RETURN_IF_ERROR_CTX(ReadField(d, "profile", &m.profile), ctx);
        DRAHIL_RETURN_IF_ERROR_CTX(ReadField(d, "gi_id", &m.gi_id), ctx);
        DRAHIL_RETURN_IF_ERROR_CTX(ReadField(d, "ci_id", &m.ci_id), ctx);
        DRAHIL_RETURN_IF_ERROR_CTX(ReadField(d, "placement_start", &m.placement_start, false), ctx);
        DRAHIL_RETURN_IF_ERROR_CTX(ReadField(d, "placement_size", &m.placement_size, false), ctx);
        DRAHIL_RETURN_IF_ERROR_CTX(ReadField(d, "memory_offset", &m.memory_offset), ctx);
        DRAHIL_RETURN_IF_ERROR_CTX(ReadField(d, "memory_bytes", &m.memory_bytes), ctx);
        DRAHIL_RETURN_IF_ERROR_CTX(ReadField(d, "sm_count", &m.sm_count), ctx);
        DRAHIL_RETURN_IF_ERROR_CTX(ReadField(d, "cap_minor", &m.cap_minor), ctx);
        DRAHIL_RETURN_IF_ERROR_CTX(ReadField(d, "cap_file", &m.cap_file), ctx);
        DRAHIL_RETURN_IF_ERROR_CTX(ReadField(d, "cap_inode", &m.cap_inode, false), ctx);
        if (m.memory_offset + m.memory_bytes > g.memory_bytes) {
          return InvalidArgumentError(ctx + ": slice lies outside the GPU's memory");
        }
        g.mig_devices.push_back(std::move(m));
      }
    }
  }
  return g;
}

std::string FpgaToJson(const Fpga& f) {
  json vfs = json::array();
  for (const auto& vf : f.vfs) {
    vfs.push_back({{"bdf", vf.bdf}, {"device_id", vf.device_id}, {"node", vf.node}});
  }
  json regions = json::array();
  for (const auto& r : f.pr_regions) {
    regions.push_back({{"name", r.name}, {"interface_id", r.interface_id}});
  }
  json j = {{"index", f.index},
            {"uuid", f.uuid},
            {"vendor", f.vendor},
            {"vendor_id", f.vendor_id},
            {"name", f.name},
            {"shell", f.shell},
            {"mgmt_bdf", f.mgmt_bdf},
            {"user_bdf", f.user_bdf},
            {"mgmt_device_id", f.mgmt_device_id},
            {"user_device_id", f.user_device_id},
            {"numa_node", f.numa_node},
            {"total_vfs", f.total_vfs},
            {"vfs", vfs},
            {"pr_regions", regions},
            {"nodes", f.nodes}};
  return j.dump(2) + "\n";
}

Result<Fpga> FpgaFromJson(const std::string& text) {
  DRAHIL_ASSIGN_OR_RETURN(json j, ParseJson(text));
  if (!j.is_object()) return InvalidArgumentError("FPGA state is not a JSON object");
  Fpga f;
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "index", &f.index));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "uuid", &f.uuid));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "vendor", &f.vendor));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "vendor_id", &f.vendor_id));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "name", &f.name, false));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "shell", &f.shell, false));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "mgmt_bdf", &f.mgmt_bdf));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "user_bdf", &f.user_bdf, false));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "mgmt_device_id", &f.mgmt_device_id, false));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "user_device_id", &f.user_device_id, false));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "numa_node", &f.numa_node, false));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "total_vfs", &f.total_vfs, false));
  DRAHIL_RETURN_IF_ERROR(ReadField(j, "nodes", &f.nodes, false));
  if (auto it = j.find("vfs"); it != j.end() && it->is_array()) {
    for (const auto& v : *it) {
      VirtualFunction vf;
      DRAHIL_RETURN_IF_ERROR_CTX(ReadField(v, "bdf", &vf.bdf), "vfs");
      DRAHIL_RETURN_IF_ERROR_CTX(ReadField(v, "device_id", &vf.device_id), "vfs");
      DRAHIL_RETURN_IF_ERROR_CTX(ReadField(v, "node", &vf.node, false), "vfs");
      f.vfs.push_back(std::move(vf));
    }
  }
  if (auto it = j.find("pr_regions"); it != j.end() && it->is_array()) {
    for (const auto& r : *it) {
      PrRegion pr;
      DRAHIL_RETURN_IF_ERROR_CTX(ReadField(r, "name", &pr.name), "pr_regions");
      DRAHIL_RETURN_IF_ERROR_CTX(ReadField(r, "interface_id", &pr.interface_id, false),
                                 "pr_regions");
      f.pr_regions.push_back(std::move(pr));
    }
  }
  return f;
}

std::string NodeToJson(const NodeState& n) {
  json gpus = json::array();
  for (const auto& g : n.gpus) {
    json migs = json::array();
    for (const auto& m : g.mig_devices) migs.push_back(m.uuid);
    gpus.push_back({{"key", GpuKey(g.minor)},
                    {"uuid", g.uuid},
                    {"bdf", g.bdf},
                    {"name", g.name},
                    {"mig_devices", migs}});
  }
  json fpgas = json::array();
  for (const auto& f : n.fpgas) {
    fpgas.push_back(
        {{"key", FpgaKey(f.index)}, {"uuid", f.uuid}, {"bdf", f.mgmt_bdf}, {"name", f.name}});
  }
  json j = {{"schema", "drahil.fakenode.state/v1"},
            {"node_name", n.node_name},
            {"profile", n.profile},
            {"seed", n.seed},
            {"driver_version", n.driver_version},
            {"nvml_version", n.nvml_version},
            {"cuda_driver_version", n.cuda_driver_version},
            {"gpus", gpus},
            {"fpgas", fpgas}};
  return j.dump(2) + "\n";
}

Result<NodeState> ReadNodeState(const std::string& root) {
  std::string node_path = StateDir(root) + "/node.json";
  auto text = ReadFile(node_path, 1u << 20);
  if (!text.ok()) {
    return Status(text.status().code(), "not a drahil node root (" + text.status().message() + ")");
  }
  auto parsed = ParseJson(*text);
  if (!parsed.ok()) return parsed.status().WithContext(node_path);
  const json& j = *parsed;
  NodeState n;
  Status s = ReadField(j, "node_name", &n.node_name);
  if (s.ok()) s = ReadField(j, "profile", &n.profile, false);
  if (s.ok()) s = ReadField(j, "seed", &n.seed, false);
  if (s.ok()) s = ReadField(j, "driver_version", &n.driver_version, false);
  if (s.ok()) s = ReadField(j, "nvml_version", &n.nvml_version, false);
  if (s.ok()) s = ReadField(j, "cuda_driver_version", &n.cuda_driver_version, false);
  if (!s.ok()) return s.WithContext(node_path);

  auto list = [&](const std::string& dir) -> Result<std::vector<std::string>> {
    if (!PathExists(dir)) return std::vector<std::string>{};
    return ListDir(dir);
  };
  DRAHIL_ASSIGN_OR_RETURN(auto gpu_files, list(StateDir(root) + "/gpus"));
  for (const auto& name : gpu_files) {
    if (name.size() < 6 || name.substr(name.size() - 5) != ".json") continue;
    std::string path = StateDir(root) + "/gpus/" + name;
    DRAHIL_ASSIGN_OR_RETURN(auto t, ReadFile(path, 1u << 20));
    auto g = GpuFromJson(t);
    if (!g.ok()) return g.status().WithContext(path);
    n.gpus.push_back(std::move(*g));
  }
  std::sort(n.gpus.begin(), n.gpus.end(),
            [](const Gpu& a, const Gpu& b) { return a.minor < b.minor; });
  DRAHIL_ASSIGN_OR_RETURN(auto fpga_files, list(StateDir(root) + "/fpgas"));
  for (const auto& name : fpga_files) {
    if (name.size() < 6 || name.substr(name.size() - 5) != ".json") continue;
    std::string path = StateDir(root) + "/fpgas/" + name;
    DRAHIL_ASSIGN_OR_RETURN(auto t, ReadFile(path, 1u << 20));
    auto f = FpgaFromJson(t);
    if (!f.ok()) return f.status().WithContext(path);
    n.fpgas.push_back(std::move(*f));
  }
  std::sort(n.fpgas.begin(), n.fpgas.end(),
            [](const Fpga& a, const Fpga& b) { return a.index < b.index; });
  return n;
}

Status WriteNodeState(const std::string& root, const NodeState& node) {
  std::string dir = StateDir(root);
  DRAHIL_RETURN_IF_ERROR(MakeDirs(dir + "/gpus"));
  DRAHIL_RETURN_IF_ERROR(MakeDirs(dir + "/fpgas"));
  DRAHIL_RETURN_IF_ERROR(MakeDirs(dir + "/faults"));
  for (const auto& g : node.gpus) {
    DRAHIL_RETURN_IF_ERROR(AtomicWriteFile(GpuStatePath(root, g.minor), GpuToJson(g)));
  }
  for (const auto& f : node.fpgas) {
    DRAHIL_RETURN_IF_ERROR(AtomicWriteFile(FpgaStatePath(root, f.index), FpgaToJson(f)));
  }
  // node.json last: its presence marks a complete root.
  return AtomicWriteFile(dir + "/node.json", NodeToJson(node));
}

// ---- faults ----

Result<Fault> ParseFaultSpec(const std::string& spec) {
  Fault f;
  if (spec.rfind("xid:", 0) == 0) {
    std::string num = spec.substr(4);
    if (num.empty() || num.size() > 5 ||
        !std::all_of(num.begin(), num.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return InvalidArgumentError("fault \"" + spec + "\": Xid must be a decimal number");
    }
    f.kind = "xid";
    f.xid = static_cast<uint32_t>(std::stoul(num));
    if (f.xid == 0) return InvalidArgumentError("fault \"" + spec + "\": Xid 0 is not an error");
    return f;
  }
  if (spec == "lost" || spec == "ecc" || spec == "pcie-aer" || spec == "fpga-region-error") {
    f.kind = spec;
    return f;
  }
  return InvalidArgumentError("unknown fault \"" + spec +
                              "\" (want xid:<n>, lost, ecc, pcie-aer or fpga-region-error)");
}

std::string FaultToString(const Fault& f) {
  return f.kind == "xid" ? "xid:" + std::to_string(f.xid) : f.kind;
}

Result<std::vector<Fault>> ReadFaults(const std::string& root, const std::string& key) {
  std::string path = FaultsPath(root, key);
  auto text = ReadFile(path, 4u << 20);
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) return std::vector<Fault>{};
    return text.status();
  }
  auto parsed = ParseJson(*text);
  if (!parsed.ok()) return parsed.status().WithContext(path);
  std::vector<Fault> out;
  auto it = parsed->find("faults");
  if (it == parsed->end() || !it->is_array()) return out;
  for (const auto& e : *it) {
    Fault f;
    Status s = ReadField(e, "id", &f.id);
    if (s.ok()) s = ReadField(e, "kind", &f.kind);
    if (s.ok()) s = ReadField(e, "xid", &f.xid, false);
    if (s.ok()) s = ReadField(e, "after", &f.after, false);
    if (s.ok()) s = ReadField(e, "gi_id", &f.gi_id, false);
    if (s.ok()) s = ReadField(e, "ci_id", &f.ci_id, false);
    if (!s.ok()) return s.WithContext(path);
    out.push_back(std::move(f));
  }
  return out;
}

Status WriteFaults(const std::string& root, const std::string& key,
                   const std::vector<Fault>& faults) {
  json arr = json::array();
  for (const auto& f : faults) {
    arr.push_back({{"id", f.id},
                   {"kind", f.kind},
                   {"xid", f.xid},
                   {"after", f.after},
                   {"gi_id", f.gi_id},
                   {"ci_id", f.ci_id}});
  }
  DRAHIL_RETURN_IF_ERROR(MakeDirs(StateDir(root) + "/faults"));
  return AtomicWriteFile(FaultsPath(root, key), json({{"faults", arr}}).dump(2) + "\n");
}

const std::vector<Fault>& FaultTracker::Refresh(const std::string& root, const std::string& key) {
  std::string path = FaultsPath(root, key);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    faults_.clear();
    size_ = -1;
    return faults_;
  }
  int64_t mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  if (st.st_ino == ino_ && st.st_size == size_ && mtime_ns == mtime_ns_) return faults_;
  auto faults = ReadFaults(root, key);
  if (faults.ok()) {
    faults_ = std::move(*faults);
    ino_ = st.st_ino;
    size_ = st.st_size;
    mtime_ns_ = mtime_ns;
  }
  return faults_;
}

bool FaultTracker::Active(const Fault& f) {
  for (const auto& [id, seen] : first_seen_) {
    if (id == f.id) return calls_ >= seen + f.after;
  }
  first_seen_.emplace_back(f.id, calls_);
  return f.after == 0;
}

bool IsLostFault(const Fault& f) { return f.kind == "lost" || (f.kind == "xid" && f.xid == 79); }

// ---- visibility ----

int OpenGpuNode(const std::string& root, const Gpu& gpu, std::string* why) {
  std::string name = "nvidia" + std::to_string(gpu.minor);
  std::string host = root + "/dev/" + name;
  int fd = ::open(host.c_str(), O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    if (IsUsableNode(fd, gpu.memory_bytes, true, gpu.node_inode)) return fd;
    ::close(fd);
  }
  int host_errno = errno;
  std::string cont = "/dev/" + name;
  fd = ::open(cont.c_str(), O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    if (IsUsableNode(fd, gpu.memory_bytes, true, gpu.node_inode)) return fd;
    ::close(fd);
    if (why) *why = cont + " is not the emulated node of " + gpu.uuid;
    return -1;
  }
  if (why) {
    *why = "open " + host + ": " + std::strerror(host_errno) + "; open " + cont + ": " +
           std::strerror(errno);
  }
  return -1;
}

Status RecordInodes(const std::string& root, NodeState* state) {
  auto ino = [&](const std::string& rel, uint64_t* out) -> Status {
    struct stat st {};
    std::string path = root + "/" + rel;
    if (::stat(path.c_str(), &st) != 0) return ErrnoError(errno, "stat " + path);
    *out = static_cast<uint64_t>(st.st_ino);
    return OkStatus();
  };
  for (auto& g : state->gpus) {
    DRAHIL_RETURN_IF_ERROR(ino(g.node_file, &g.node_inode));
    for (auto& m : g.mig_devices) DRAHIL_RETURN_IF_ERROR(ino(m.cap_file, &m.cap_inode));
  }
  return OkStatus();
}

bool CanOpenNode(const std::string& root, const std::string& rel, uint64_t inode) {
  for (const std::string& path : {root + "/dev/" + rel, "/dev/" + rel}) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    bool ok = IsUsableNode(fd, 0, false, inode);
    ::close(fd);
    if (ok) return true;
  }
  return false;
}

uint64_t LockedBytes(int fd, uint64_t start, uint64_t len) {
  if (len == 0) return 0;
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = static_cast<off_t>(start);
  fl.l_len = static_cast<off_t>(len);
  if (::fcntl(fd, F_OFD_GETLK, &fl) != 0 || fl.l_type == F_UNLCK) return 0;
  // One conflicting lock; allocations never overlap, so count it and recurse
  // on what lies either side of it.
  uint64_t ls = static_cast<uint64_t>(fl.l_start);
  uint64_t le = fl.l_len == 0 ? start + len : ls + static_cast<uint64_t>(fl.l_len);
  uint64_t s = std::max(ls, start), e = std::min(le, start + len);
  uint64_t here = e > s ? e - s : 0;
  uint64_t before = ls > start ? LockedBytes(fd, start, ls - start) : 0;
  uint64_t after = start + len > le ? LockedBytes(fd, le, start + len - le) : 0;
  return here + before + after;
}

std::string StableUuid(const std::string& key) {
  uint64_t a = Fnv1a64(key, 0x64726168696c31ull);
  uint64_t b = Fnv1a64(key, 0x64726168696c32ull);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xffff),
                static_cast<unsigned>(b >> 48),
                static_cast<unsigned long long>(b & 0xffffffffffffull));
  return buf;
}

std::string StableSerial(const std::string& key) {
  uint64_t a = Fnv1a64(key, 0x73657269616cull) % 1000000000000ull;
  char buf[20];
  // Real serials start with 1 and have 13 digits.
  std::snprintf(buf, sizeof(buf), "1%012llu", static_cast<unsigned long long>(a));
  return buf;
}

}  // namespace drahil::fakenode
