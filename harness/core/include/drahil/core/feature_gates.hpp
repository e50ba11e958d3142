// File: feature_gates.hpp
//
// KubeVersion and FeatureGates: the Kubernetes version a run stands in for
// and the DRA-related feature gates it has, with each version's defaults
// (Kubernetes' pkg/features/kube_features.go and the scheduler's versioned
// feature list, VersionedSpecs per gate) and --feature-gates overrides.
//
//   DRAHIL_ASSIGN_OR_RETURN(auto v, KubeVersion::Parse("1.35"));
//   DRAHIL_ASSIGN_OR_RETURN(auto gates, FeatureGates::For(v, "DRADeviceTaints=true"));
//   if (!gates.Enabled(features::kDRAPartitionableDevices)) ...
//   gates.Describe(features::kDRAPartitionableDevices)
//     // "DRAPartitionableDevices (alpha in Kubernetes 1.35, off by default)"
//
// Only the gates the stand-ins act on are known; any other name is refused
// as kube-apiserver refuses it ("unrecognized feature gate"). docs/kubernetes-versions.md
// has the table.
//
// Thread-safety: a FeatureGates is a value; const methods may be called
// concurrently.
#ifndef DRAHIL_CORE_FEATURE_GATES_HPP_INCLUDED
#define DRAHIL_CORE_FEATURE_GATES_HPP_INCLUDED

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "drahil/core/status.hpp"

namespace drahil {

// KubeVersion: a Kubernetes minor release drahil stands in for (1.34–1.36).
struct KubeVersion {
  static constexpr int kOldestMinor = 34;
  static constexpr int kNewestMinor = 36;
  int minor = kNewestMinor;

  // Parse(): "1.35", "v1.35" or "1.35.2" (the patch is ignored). Versions
  // outside 1.34–1.36 are refused with the supported range.
  static Result<KubeVersion> Parse(std::string_view text);
  static KubeVersion Newest() { return KubeVersion{kNewestMinor}; }
  // "1.35"
  [[nodiscard]] std::string ToString() const;
  // "v1.35.0": what /version's gitVersion starts with.
  [[nodiscard]] std::string GitVersion() const;
  friend bool operator==(KubeVersion a, KubeVersion b) { return a.minor == b.minor; }
  friend bool operator<(KubeVersion a, KubeVersion b) { return a.minor < b.minor; }
};

// The gates' names, as Kubernetes spells them.
namespace features {
inline constexpr const char kDynamicResourceAllocation[] = "DynamicResourceAllocation";
inline constexpr const char kDRAAdminAccess[] = "DRAAdminAccess";
inline constexpr const char kDRAPrioritizedList[] = "DRAPrioritizedList";
inline constexpr const char kDRAConsumableCapacity[] = "DRAConsumableCapacity";
inline constexpr const char kDRADeviceBindingConditions[] = "DRADeviceBindingConditions";
inline constexpr const char kDRAResourceClaimDeviceStatus[] = "DRAResourceClaimDeviceStatus";
inline constexpr const char kDRADeviceTaints[] = "DRADeviceTaints";
inline constexpr const char kDRADeviceTaintRules[] = "DRADeviceTaintRules";
inline constexpr const char kDRAExtendedResource[] = "DRAExtendedResource";
inline constexpr const char kDRAPartitionableDevices[] = "DRAPartitionableDevices";
inline constexpr const char kDRASchedulerFilterTimeout[] = "DRASchedulerFilterTimeout";
inline constexpr const char kResourceHealthStatus[] = "ResourceHealthStatus";
inline constexpr const char kKubeletPodResourcesDynamicResources[] =
    "KubeletPodResourcesDynamicResources";
inline constexpr const char kKubeletPodResourcesGet[] = "KubeletPodResourcesGet";
inline constexpr const char kDRAListTypeAttributes[] = "DRAListTypeAttributes";
}  // namespace features

enum class FeatureStage { kAlpha, kBeta, kGA };
const char* FeatureStageName(FeatureStage s);  // "alpha", "beta", "GA"

class FeatureGates {
 public:
  // For(): the defaults of version, then overrides ("A=true,B=false", the
  // --feature-gates syntax; spaces around items allowed). Errors name the
  // item: an unknown gate, a gate the version does not have yet, a value
  // that is not a bool, a GA gate locked to its default.
  static Result<FeatureGates> For(KubeVersion version, std::string_view overrides = "");
  // Newest(): the newest version's defaults.
  static FeatureGates Newest();
  // Exists(): whether any supported version has a gate of this name.
  static bool Exists(std::string_view name);

  // Set(): one override; errors as For().
  Status Set(std::string_view name, bool enabled);
  // SetFromString(): a --feature-gates value.
  Status SetFromString(std::string_view overrides);

  // Enabled(): whether the gate is on. A gate the version does not know is
  // off, except one that was split off another later: before the split it is
  // on with its parent (DRADeviceTaintRules follows DRADeviceTaints on 1.34).
  [[nodiscard]] bool Enabled(std::string_view name) const;
  // Known(): whether this version has the gate.
  [[nodiscard]] bool Known(std::string_view name) const;
  [[nodiscard]] KubeVersion version() const { return version_; }
  // Describe(): the gate with its stage and why it is on or off, for
  // messages: "DRADeviceTaints (alpha in Kubernetes 1.34, off by default)",
  // "... (beta in Kubernetes 1.36, turned off by --feature-gates)",
  // "DRAListTypeAttributes (not in Kubernetes 1.35)".
  [[nodiscard]] std::string Describe(std::string_view name) const;
  // HowToEnable(): what turns the gate on in this run, for skip reasons:
  // "turn it on with --feature-gates DRADeviceTaints=true", or "it comes in
  // Kubernetes 1.36 (--kubernetes-version)".
  [[nodiscard]] std::string HowToEnable(std::string_view name) const;
  // Names(): every gate this version has, sorted.
  [[nodiscard]] std::vector<std::string> Names() const;
  // Overrides(): the gates set away from their default, "A=true,B=false"
  // (sorted; "" when none).
  [[nodiscard]] std::string Overrides() const;
  // ToString(): every gate, "A=true,B=false,..." (sorted).
  [[nodiscard]] std::string ToString() const;

 private:
  struct Gate {
    FeatureStage stage;
    bool default_value;
    bool locked;
    bool value;
  };
  KubeVersion version_;
  std::map<std::string, Gate, std::less<>> gates_;
};

}  // namespace drahil

#endif  // DRAHIL_CORE_FEATURE_GATES_HPP_INCLUDED
