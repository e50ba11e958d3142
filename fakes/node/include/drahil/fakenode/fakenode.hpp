// File: fakenode.hpp
//
// drahil::fakenode: node profiles, node-root creation and fault injection for
// emulated GPUs and FPGAs. The harness calls this library; the
// drahil-fakenode tool and `drahil fakenode` are thin wrappers over it.
// Layout of a node root and the contract with the fake NVML and the emulated
// runtime: docs/emulation.md.
//
//   DRAHIL_ASSIGN_OR_RETURN(auto profile,
//   fakenode::LoadProfile("fakes/profiles/laptop-1gpu.yaml")); DRAHIL_ASSIGN_OR_RETURN(auto node,
//   fakenode::CreateNode(profile, root, {.node_name = "n1"}));
//   DRAHIL_RETURN_IF_ERROR(fakenode::InjectFault(root, "gpu0", "xid:79"));
//
// Thread-safety: functions are safe to call concurrently on different roots.
// InjectFault/ClearFaults on one root serialise on a lock file, also across
// processes. No function blocks on anything but the local file system.
#ifndef DRAHIL_FAKENODE_FAKENODE_HPP_INCLUDED
#define DRAHIL_FAKENODE_FAKENODE_HPP_INCLUDED

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "drahil/core/status.hpp"
#include "drahil/fakenode/state.hpp"

namespace drahil::fakenode {

// ---- profiles (fakes/profiles/*.yaml, schema drahil.fakenode/v1) ----

struct MigProfile {
  std::string name;  // "1g.10gb"
  uint32_t id = 0;   // NVML GPU-instance profile id
  uint64_t memory_bytes = 0;
  uint32_t sms = 0;
  uint32_t placement_size = 1;       // in memory slices
  std::vector<uint32_t> placements;  // allowed start slices
};

struct GpuModel {
  std::string id;  // key used by gpus[].model
  std::string name;
  uint32_t vendor_id = 0x10de;
  uint32_t device_id = 0;
  uint32_t subsystem_vendor_id = 0x10de;
  uint32_t subsystem_device_id = 0;
  uint32_t class_code = 0x030200;  // 3D controller
  uint64_t memory_bytes = 0;
  uint32_t sms = 0;
  uint32_t cores_per_sm = 128;
  std::string architecture;  // hopper, ada, ampere, ...
  int cc_major = 0;
  int cc_minor = 0;
  uint32_t memory_slices = 0;  // 0: not MIG-capable
  uint32_t max_mig_devices = 0;
  std::vector<MigProfile> mig_profiles;
};

struct MigInstanceSpec {
  std::string profile;
  uint32_t placement = 0;
  int line = 0;  // for error messages
};

struct GpuSpec {
  std::string model;
  std::string bdf;
  int numa_node = -1;
  std::optional<uint32_t> minor;
  std::vector<uint32_t> nvlink_peers;  // indices into gpus
  std::string uuid_seed;  // replaces the profile seed for this GPU's ids ("" = profile's)
  bool mig_enabled = false;
  std::vector<MigInstanceSpec> mig_devices;
  int line = 0;
};

struct FpgaSpec {
  std::string vendor;  // "xilinx" | "intel"
  std::string name;
  std::string shell;
  std::string bdf;              // the first PF (Xilinx management PF / Intel PF with the FME)
  uint32_t device_id = 0;       // Xilinx management PF / Intel PF
  uint32_t user_device_id = 0;  // Xilinx user PF (function 1)
  uint32_t vf_device_id = 0;
  uint32_t total_vfs = 0;
  uint32_t num_vfs = 0;  // enabled VFs
  int numa_node = -1;
  std::vector<PrRegion> pr_regions;
  int line = 0;
};

struct Profile {
  std::string path;  // where it was loaded from ("" for text)
  std::string name;
  std::string description;
  std::string node_name;  // default node name
  std::string seed;
  std::string driver_version = "550.90.07";
  std::string nvml_version = "12.550.90.07";
  int cuda_driver_version = 12040;
  std::map<std::string, GpuModel> gpu_models;
  std::vector<GpuSpec> gpus;
  std::vector<FpgaSpec> fpgas;
};

// LoadProfile(): reads and schema-checks a profile. Errors name the file,
// line and column: "laptop-1gpu.yaml:12:5: unknown key \"memroy\" in gpuModels.x".
Result<Profile> LoadProfile(const std::string& path);
// ParseProfile(): the same from text; filename is used in messages only.
Result<Profile> ParseProfile(const std::string& text, const std::string& filename);

// ---- node roots ----

struct CreateOptions {
  std::string node_name;  // "" = the profile's nodeName, else "drahil-node"
  bool force = false;     // replace an existing node root at that path
};

// CreateNode(): builds the node root at root (created if missing; must be
// empty or absent unless force). Returns the state it wrote. Device node
// files are sparse, so this writes a few KiB whatever the memory sizes.
Result<NodeState> CreateNode(const Profile& profile, const std::string& root,
                             const CreateOptions& options = {});

// DeviceRef: one row of ListDevices().
struct DeviceRef {
  std::string key;   // "gpu0", "gpu0/mig1", "fpga0", "fpga0/vf2"
  std::string kind;  // "gpu", "mig", "fpga", "vf"
  std::string uuid;  // GPU-/MIG-/FPGA- id ("" for VFs)
  std::string bdf;   // PCI function ("" for MIG)
  std::string name;
  std::vector<std::string> nodes;   // device nodes a container needs, relative to the root
  std::vector<std::string> faults;  // active faults ("xid:79", ...)
};
Result<std::vector<DeviceRef>> ListDevices(const std::string& root);

// InjectFault(): device is "gpu<minor>", a GPU-/MIG- UUID, a BDF (PF or VF),
// "fpga<index>" or an FPGA uuid; fault as ParseFaultSpec(). A fault aimed at a
// MIG device is recorded on its GPU with the GI/CI ids. after: calls a
// process makes on the device before the fault takes effect in it. Also
// updates sysfs (config of a lost GPU, AER counters, FPGA error registers).
// Returns the recorded fault.
Result<Fault> InjectFault(const std::string& root, const std::string& device,
                          const std::string& fault, uint64_t after = 0);
// ClearFaults(): removes the faults of one device (or of every device when
// device is empty) and restores sysfs.
Status ClearFaults(const std::string& root, const std::string& device = "");

}  // namespace drahil::fakenode

#endif  // DRAHIL_FAKENODE_FAKENODE_HPP_INCLUDED
