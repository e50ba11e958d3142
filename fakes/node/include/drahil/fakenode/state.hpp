// File: state.hpp
//
// The node root's metadata (state/) as C++ values: what `drahil-fakenode
// create` writes and what the fake NVML, the emulated runtime and the harness
// read. Layout and JSON fields: docs/emulation.md.
//
// This part has no YAML or logging dependency so the fake libnvidia-ml.so.1
// and libdrahil-gpurt.so can link it (library drahil::fakestate).
//
// Thread-safety: plain functions on values; files are replaced atomically,
// so concurrent readers see whole files.
#ifndef DRAHIL_FAKENODE_STATE_HPP_INCLUDED
#define DRAHIL_FAKENODE_STATE_HPP_INCLUDED

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "drahil/core/status.hpp"

namespace drahil::fakenode {

inline constexpr uint32_t kNoInstance = 0xFFFFFFFFu;

struct MigDevice {
  uint32_t index = 0;   // position in the GPU's MIG device list
  std::string uuid;     // "MIG-xxxxxxxx-xxxx-..."
  std::string profile;  // "1g.10gb"
  uint32_t gi_id = 0;
  uint32_t ci_id = 0;
  uint32_t placement_start = 0;
  uint32_t placement_size = 0;
  uint64_t memory_offset = 0;  // byte offset in the parent's node file
  uint64_t memory_bytes = 0;
  uint32_t sm_count = 0;
  uint32_t cap_minor = 0;
  std::string cap_file;    // "dev/nvidia-caps/nvidia-cap3", relative to the root
  uint64_t cap_inode = 0;  // identity of the cap file (0 = unchecked)
};

struct Gpu {
  uint32_t index = 0;
  uint32_t minor = 0;
  std::string uuid;
  std::string serial;
  std::string name;
  std::string bdf;  // "0000:18:00.0"
  uint32_t vendor_id = 0x10de;
  uint32_t device_id = 0;
  uint32_t subsystem_vendor_id = 0;
  uint32_t subsystem_device_id = 0;
  uint64_t memory_bytes = 0;
  uint32_t sm_count = 0;
  uint32_t cores_per_sm = 0;
  std::string architecture;  // "hopper", "ada", ...
  int cc_major = 0;
  int cc_minor = 0;
  int numa_node = -1;
  std::string node_file;  // "dev/nvidia0"
  // Identity of the node file. A bind mount keeps it, so a node granted under
  // another GPU's name is recognised as not being that GPU (0 = unchecked).
  uint64_t node_inode = 0;
  std::vector<uint32_t> nvlink_peers;  // minors
  bool mig_capable = false;
  bool mig_enabled = false;
  uint32_t memory_slices = 0;
  uint32_t max_mig_devices = 0;
  std::vector<MigDevice> mig_devices;
};

struct VirtualFunction {
  std::string bdf;
  uint32_t device_id = 0;
  std::string node;  // device node this VF brings, relative to the root ("" = none)
};

struct PrRegion {
  std::string name;          // "region0"
  std::string interface_id;  // compat / interface id the bitstream must match
};

struct Fpga {
  uint32_t index = 0;
  std::string uuid;    // "FPGA-..." stable id
  std::string vendor;  // "xilinx" or "intel"
  uint32_t vendor_id = 0;
  std::string name;
  std::string shell;     // shell / platform name
  std::string mgmt_bdf;  // Xilinx management PF, or the Intel PF (FME)
  std::string user_bdf;  // Xilinx user PF; "" for Intel
  uint32_t mgmt_device_id = 0;
  uint32_t user_device_id = 0;
  int numa_node = -1;
  uint32_t total_vfs = 0;
  std::vector<VirtualFunction> vfs;  // enabled VFs
  std::vector<PrRegion> pr_regions;
  std::vector<std::string> nodes;  // every device node of the card, relative to the root
};

struct NodeState {
  std::string node_name;
  std::string profile;
  std::string seed;
  std::string driver_version;
  std::string nvml_version;
  int cuda_driver_version = 0;
  std::vector<Gpu> gpus;
  std::vector<Fpga> fpgas;
};

// Paths inside a root.
std::string StateDir(const std::string& root);  // <root>/state
std::string GpuStatePath(const std::string& root, uint32_t minor);
std::string FpgaStatePath(const std::string& root, uint32_t index);
std::string FaultsPath(const std::string& root, const std::string& device_key);
// Device keys name fault files: "gpu<minor>" or "fpga<index>".
std::string GpuKey(uint32_t minor);
std::string FpgaKey(uint32_t index);

// JSON (de)serialisation; errors name the field.
std::string GpuToJson(const Gpu& gpu);
Result<Gpu> GpuFromJson(const std::string& text);
std::string FpgaToJson(const Fpga& fpga);
Result<Fpga> FpgaFromJson(const std::string& text);
// NodeToJson(): node.json: the node fields plus a summary list of devices.
std::string NodeToJson(const NodeState& node);

// ReadNodeState(): node.json, every gpus/*.json and fpgas/*.json, sorted by
// minor / index. kNotFound when root is not a node root.
Result<NodeState> ReadNodeState(const std::string& root);
// WriteNodeState(): writes all of state/ except faults (atomically per file).
Status WriteNodeState(const std::string& root, const NodeState& node);

// ---- faults ----
struct Fault {
  uint64_t id = 0;
  std::string kind;    // "xid", "lost", "ecc", "pcie-aer", "fpga-region-error"
  uint32_t xid = 0;    // kind == "xid"
  uint64_t after = 0;  // calls in a process before it takes effect there
  uint32_t gi_id = kNoInstance;
  uint32_t ci_id = kNoInstance;
};

// ParseFaultSpec(): "xid:79", "lost", "ecc", "pcie-aer", "fpga-region-error".
Result<Fault> ParseFaultSpec(const std::string& spec);
std::string FaultToString(const Fault& fault);  // "xid:79", "lost", ...

// ReadFaults(): the device's faults; an absent file means none.
Result<std::vector<Fault>> ReadFaults(const std::string& root, const std::string& device_key);
Status WriteFaults(const std::string& root, const std::string& device_key,
                   const std::vector<Fault>& faults);

// FaultTracker: one process's view of one device's faults, shared by the fake
// NVML and gpurt. A fault takes effect in a process once the process has made
// `after` device calls since it first saw the fault. Reads are cached by the
// file's inode and mtime, so a call costs one stat() when nothing changed.
// Not thread-safe: callers hold their own lock.
class FaultTracker {
 public:
  // Refresh(): the device's current faults (re-read when the file changed;
  // on a read error the last good list stays).
  const std::vector<Fault>& Refresh(const std::string& root, const std::string& device_key);
  void CountCall() { ++calls_; }
  // Active(): whether f is in effect in this process now.
  bool Active(const Fault& f);

 private:
  uint64_t calls_ = 0;
  std::vector<std::pair<uint64_t, uint64_t>> first_seen_;  // fault id, calls when first seen
  uint64_t ino_ = 0;
  int64_t mtime_ns_ = -1;
  int64_t size_ = -1;
  std::vector<Fault> faults_;
};

// IsLostFault(): "lost" or Xid 79 (fallen off the bus).
bool IsLostFault(const Fault& f);

// ---- visibility (shared by the fake NVML and gpurt) ----
// OpenGpuNode(): opens the GPU's node file read-write, trying
// <root>/dev/nvidia<minor> (host view) then /dev/nvidia<minor> (container
// view). Only a regular file of exactly memory_bytes, and the GPU's own file
// (node_inode) counts, so a container given GPU 1's node under the name
// nvidia0 sees neither GPU. Returns the fd (caller closes) or -1 with *why set.
int OpenGpuNode(const std::string& root, const Gpu& gpu, std::string* why);
// CanOpenNode(): the same two-view rule for another node
// ("nvidia-caps/nvidia-cap3"); inode 0 skips the identity check.
bool CanOpenNode(const std::string& root, const std::string& rel_under_dev, uint64_t inode = 0);
// RecordInodes(): fills node_inode / cap_inode from the files under root.
Status RecordInodes(const std::string& root, NodeState* state);

// LockedBytes(): bytes of [start, start + len) of an open node file held by
// byte-range (OFD) locks of other open file descriptions. gpurt holds one
// write lock per allocation, so this is the device memory in use by every
// process. Locks held through fd itself are not seen.
uint64_t LockedBytes(int fd, uint64_t start, uint64_t len);

// ---- ids ----
// StableUuid(): "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (lowercase hex, version
// nibble 4-like layout) from a key; the same key always gives the same id.
std::string StableUuid(const std::string& key);
// StableSerial(): 13 decimal digits from a key.
std::string StableSerial(const std::string& key);

}  // namespace drahil::fakenode

#endif  // DRAHIL_FAKENODE_STATE_HPP_INCLUDED
