// Internal types of drahil-refdriver, the reference DRA kubelet plugin.
//
// The driver is split by concern: options (flags/env), bugs (planted defects),
// discovery (NVML via dlopen, PCI via libpci), slices (ResourceSlice content
// and publication), cdi (spec files), state (prepare/unprepare/checkpoint),
// health (device monitoring, health stream, taints), binding (binding
// conditions), server (gRPC services and sockets).
#ifndef DRAHIL_REFDRIVER_DRIVER_HPP_INCLUDED
#define DRAHIL_REFDRIVER_DRIVER_HPP_INCLUDED

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "drahil/core/status.hpp"

namespace drahil::refdriver {

using Json = nlohmann::json;

enum class DeviceType { kGpu, kMig, kFpga, kFpgaVf };
inline bool IsFpgaType(DeviceType t) { return t == DeviceType::kFpga || t == DeviceType::kFpgaVf; }

// ---- options ---------------------------------------------------------------
// PerKind: a value that may differ between GPU-like devices (GPUs, MIG
// partitions) and FPGA-like ones (PFs, VFs).
struct PerKind {
  std::string gpu, fpga;
  const std::string& Of(DeviceType t) const { return IsFpgaType(t) ? fpga : gpu; }
};

struct Options {
  std::string node_name;
  std::string kubeconfig;
  std::string cdi_root = "/etc/cdi";
  std::string registry_dir = "/var/lib/kubelet/plugins_registry";
  std::string plugins_dir = "/var/lib/kubelet/plugins";
  std::string driver_name;          // default by device_kind
  std::string device_kind = "gpu";  // gpu | fpga | all
  std::string nvml_library = "libnvidia-ml.so.1";
  std::string sysfs_root;             // PCI sysfs dir for libpci; default <dev_root>/sys/bus/pci
  std::string dev_root = "/";         // directory holding dev/ (host paths of device nodes)
  std::string fake_root;              // $DRAHIL_FAKE_ROOT when emulated; passed into containers
  std::string sharing = "none";       // time-slicing | mps | none (default for shares)
  std::string partitioning = "none";  // none | mig-static
  bool consumable_capacity = false;
  bool binding_conditions = false;
  std::chrono::milliseconds health_interval{2000};
  std::chrono::milliseconds health_recovery{6000};
  std::chrono::milliseconds program_delay{1000};
  int verbosity = 0;
  std::set<std::string> bugs;
  // Identity: the names the driver publishes and hands out. The defaults are
  // the driver's own; a foreign identity (docs/refdriver.md) shows that the
  // catalog judges behaviour, not names. ParseOptions() resolves them.
  PerKind device_prefix{"gpu", "fpga"};              // device names <prefix>-<index>
  std::string partition_infix = "mig";               // <prefix>-<i>-<infix>-<profile>-<n>
  std::map<std::string, std::string> attribute_map;  // published attribute -> new name
  std::string cdi_vendor;                            // default k8s.<driver>
  PerKind cdi_class{"gpu", "fpga"};
  std::string taint_key;  // default <driver>/unhealthy
  // --devices-per-slice: at most this many devices per slice, below the
  // API's limits (0 = up to the limits). Many small slices make the
  // scheduler's slice order matter.
  int devices_per_slice = 0;
  std::string exposure = "nodes";  // nodes | env
  // The v1alpha1 health service: "advertised" (served and listed in
  // GetInfo), "unlisted" (served, not listed) or "none" (not served).
  std::string health_service = "advertised";
  PerKind env_prefix{"GPU", "FPGA"};  // env exposure: <prefix>_DEVICE_<n>=<device>

  bool Bug(const std::string& name) const { return bugs.count(name) != 0; }
  // Attr(): the published name of a device attribute ("uuid" unless renamed).
  std::string Attr(const std::string& name) const {
    auto it = attribute_map.find(name);
    return it == attribute_map.end() ? name : it->second;
  }
  std::string TaintKey() const {
    return taint_key.empty() ? driver_name + "/unhealthy" : taint_key;
  }
  bool EnvExposure() const { return exposure == "env"; }
  std::string DataDir() const { return plugins_dir + "/" + driver_name; }
  std::string DraSocket() const { return DataDir() + "/dra.sock"; }
  std::string RegSocket() const { return registry_dir + "/" + driver_name + "-reg.sock"; }
  std::string HostDev(const std::string& rel) const;  // "nvidia0" -> <dev_root>/dev/nvidia0
};

// ---- planted bugs ----------------------------------------------------------
struct BugInfo {
  const char* name;
  const char* description;
};
const std::vector<BugInfo>& AllBugs();

// ---- inventory -------------------------------------------------------------
struct DeviceNode {
  std::string container_path;  // /dev/nvidia0
  std::string host_path;       // <dev_root>/dev/nvidia0
};

struct Device {
  std::string
      name;  // DNS label, unique in the pool: gpu-0, gpu-0-mig-1g-10gb-0, fpga-0, fpga-0-vf-1
  DeviceType type = DeviceType::kGpu;
  std::string uuid;
  std::string model;
  int index = 0;           // GPU index / FPGA card index
  int minor = -1;          // GPU minor
  int parent = -1;         // index of parent GPU (MIG) / card (VF) in Inventory::devices
  std::string pci_bus_id;  // 0000:18:00.0
  int numa_node = -1;
  int64_t memory_bytes = 0;
  int sm_count = 0;
  // MIG
  std::string mig_profile;  // 1g.10gb
  int gi_id = -1, ci_id = -1;
  int placement_start = 0, placement_size = 0;
  int memory_slices = 0;     // parent: number of memory slices (8 on H100)
  bool mig_enabled = false;  // GPU: MIG mode on (the whole GPU is then not usable)
  // FPGA
  std::string vendor;  // xilinx | intel
  std::string shell;
  std::string region;                          // PR region id / afu id
  std::vector<DeviceNode> nodes;               // nodes granted to a container using this device
  std::vector<std::string> sysfs_error_files;  // FPGA error registers to watch
  std::string bitstream_id;                    // FPGA: loaded bitstream (Intel FME bitstream_id)
  std::string afu_id;  // FPGA: accelerator function in the port (Intel afu_id)
};

// Published(): whether the device appears in ResourceSlices and the health
// stream (a GPU in MIG mode is represented by its MIG devices only).
inline bool Published(const Device& d) { return !(d.type == DeviceType::kGpu && d.mig_enabled); }

struct Inventory {
  std::string driver_version = "0.0.0";  // semver
  std::vector<Device> devices;
  const Device* Find(const std::string& name) const;
  int IndexOf(const std::string& name) const;
};

// ---- NVML (dlopen) ---------------------------------------------------------
class Nvml;  // discovery.cpp

// DiscoverGpus(): GPUs (and with mig-static their MIG devices) through NVML.
Status DiscoverGpus(Nvml& nvml, const Options& opts, Inventory& inv);
// DiscoverFpgas(): FPGA PFs and VFs through libpci on opts.sysfs_root.
Status DiscoverFpgas(const Options& opts, Inventory& inv);

// ---- slices ----------------------------------------------------------------
struct DeviceHealthState {
  int health = 1;  // 0 unknown, 1 healthy, 2 unhealthy (dra-health enum)
  std::string message;
  bool lost = false;         // NoExecute taint rather than NoSchedule
  int64_t last_updated = 0;  // unix seconds
};

// BuildSlices(): the desired ResourceSlices (spec only + generateName index)
// for the inventory and health, split to respect per-slice limits.
std::vector<Json> BuildSlices(const Options& opts, const Inventory& inv,
                              const std::map<std::string, DeviceHealthState>& health);

// ---- CDI -------------------------------------------------------------------
std::string CdiVendor(const Options& opts);               // k8s.<driver> unless --cdi-vendor
std::string CdiClass(const Options& opts, DeviceType t);  // gpu | fpga unless --cdi-class
std::string CdiKind(const Options& opts, DeviceType t);   // k8s.<driver>/gpu

}  // namespace drahil::refdriver

#endif  // DRAHIL_REFDRIVER_DRIVER_HPP_INCLUDED
