// File: feature_gates.cpp
#include "drahil/core/feature_gates.hpp"

#include <algorithm>
#include <cctype>

#include "drahil/core/strings.hpp"

namespace drahil {
namespace {

// One step of a gate's history: from this minor release on, the gate has
// this stage and default (and may be locked to it, as GA gates are).
struct Spec {
  int from_minor;
  FeatureStage stage;
  bool default_value;
  bool locked;
};

struct GateHistory {
  const char* name;
  std::vector<Spec> specs;  // ascending from_minor
};

// The VersionedSpecs of pkg/features/kube_features.go (and the scheduler's
// copy) for the gates the stand-ins act on, from 1.34 to 1.36. Older entries
// are kept only where they are still the current ones in 1.34.
const std::vector<GateHistory>& History() {
  using S = FeatureStage;
  static const std::vector<GateHistory> h = {
      {features::kDynamicResourceAllocation, {{34, S::kGA, true, false}, {35, S::kGA, true, true}}},
      {features::kDRAAdminAccess, {{34, S::kBeta, true, false}, {36, S::kGA, true, true}}},
      {features::kDRAPrioritizedList, {{34, S::kBeta, true, false}, {36, S::kGA, true, false}}},
      {features::kDRAConsumableCapacity,
       {{34, S::kAlpha, false, false}, {36, S::kBeta, true, false}}},
      {features::kDRADeviceBindingConditions,
       {{34, S::kAlpha, false, false}, {36, S::kBeta, true, false}}},
      {features::kDRAResourceClaimDeviceStatus, {{33, S::kBeta, true, false}}},
      {features::kDRADeviceTaints, {{33, S::kAlpha, false, false}, {36, S::kBeta, true, false}}},
      // Split off DRADeviceTaints in 1.35; beta in 1.36 but off by default,
      // as its API (resource.k8s.io/v1beta2 DeviceTaintRule) is.
      {features::kDRADeviceTaintRules,
       {{35, S::kAlpha, false, false}, {36, S::kBeta, false, false}}},
      {features::kDRAExtendedResource,
       {{34, S::kAlpha, false, false}, {36, S::kBeta, true, false}}},
      {features::kDRAPartitionableDevices,
       {{33, S::kAlpha, false, false}, {36, S::kBeta, true, false}}},
      {features::kDRASchedulerFilterTimeout, {{34, S::kBeta, true, false}}},
      {features::kResourceHealthStatus,
       {{31, S::kAlpha, false, false}, {36, S::kBeta, true, false}}},
      {features::kKubeletPodResourcesDynamicResources,
       {{34, S::kBeta, true, false}, {36, S::kGA, true, false}}},
      {features::kKubeletPodResourcesGet, {{34, S::kBeta, true, false}, {36, S::kGA, true, false}}},
      {features::kDRAListTypeAttributes, {{36, S::kAlpha, false, false}}},
  };
  return h;
}

// Gates split off another one: before from_minor the feature was part of
// parent (DeviceTaintRules came with DRADeviceTaints in 1.33 and 1.34).
struct SplitGate {
  const char* name;
  int from_minor;
  const char* parent;
};
const SplitGate* FindSplit(std::string_view name, int minor) {
  static const SplitGate kSplit[] = {
      {features::kDRADeviceTaintRules, 35, features::kDRADeviceTaints}};
  for (const auto& s : kSplit) {
    if (name == s.name && minor < s.from_minor) return &s;
  }
  return nullptr;
}

const GateHistory* FindHistory(std::string_view name) {
  for (const auto& g : History()) {
    if (name == g.name) return &g;
  }
  return nullptr;
}

Result<bool> ParseBool(std::string_view name, std::string_view text) {
  // strconv.ParseBool, which the feature-gate flag uses.
  static const char* truthy[] = {"1", "t", "T", "TRUE", "true", "True"};
  static const char* falsy[] = {"0", "f", "F", "FALSE", "false", "False"};
  for (const char* t : truthy) {
    if (text == t) return true;
  }
  for (const char* f : falsy) {
    if (text == f) return false;
  }
  return InvalidArgumentError("invalid value of " + std::string(name) + "=" + std::string(text) +
                              ": not true or false");
}

}  // namespace

const char* FeatureStageName(FeatureStage s) {
  switch (s) {
    case FeatureStage::kAlpha:
      return "alpha";
    case FeatureStage::kBeta:
      return "beta";
    case FeatureStage::kGA:
      return "GA";
  }
  return "?";
}

Result<KubeVersion> KubeVersion::Parse(std::string_view text) {
  std::string_view t = TrimView(text);
  if (!t.empty() && (t[0] == 'v' || t[0] == 'V')) t.remove_prefix(1);
  auto parts = Split(t, '.');
  auto bad = [&]() {
    return InvalidArgumentError("Kubernetes version \"" + std::string(text) +
                                "\": want 1.34, 1.35 or 1.36 (major.minor, optionally .patch)");
  };
  if (parts.size() < 2 || parts.size() > 3) return bad();
  for (const auto& p : parts) {
    if (p.empty() || p.size() > 4 ||
        !std::all_of(p.begin(), p.end(), [](unsigned char c) { return std::isdigit(c); })) {
      return bad();
    }
  }
  if (parts[0] != "1") return bad();
  int minor = std::stoi(std::string(parts[1]));
  if (minor < kOldestMinor || minor > kNewestMinor) {
    return InvalidArgumentError("Kubernetes version \"" + std::string(text) +
                                "\" is not supported: drahil stands in for 1." +
                                std::to_string(kOldestMinor) + " to 1." +
                                std::to_string(kNewestMinor));
  }
  return KubeVersion{minor};
}

std::string KubeVersion::ToString() const { return "1." + std::to_string(minor); }
std::string KubeVersion::GitVersion() const { return "v1." + std::to_string(minor) + ".0"; }

Result<FeatureGates> FeatureGates::For(KubeVersion version, std::string_view overrides) {
  FeatureGates g;
  g.version_ = version;
  for (const auto& h : History()) {
    const Spec* cur = nullptr;
    for (const auto& s : h.specs) {
      if (s.from_minor <= version.minor) cur = &s;
    }
    if (cur == nullptr) continue;
    g.gates_[h.name] = Gate{cur->stage, cur->default_value, cur->locked, cur->default_value};
  }
  if (Status s = g.SetFromString(overrides); !s.ok()) return s;
  return g;
}

FeatureGates FeatureGates::Newest() {
  auto g = For(KubeVersion::Newest());
  return std::move(*g);
}

bool FeatureGates::Exists(std::string_view name) { return FindHistory(name) != nullptr; }

Status FeatureGates::Set(std::string_view name, bool enabled) {
  auto it = gates_.find(name);
  if (it == gates_.end()) {
    if (FindHistory(name) != nullptr) {
      return InvalidArgumentError("feature gate " + std::string(name) +
                                  " does not exist in Kubernetes " + version_.ToString());
    }
    std::string known;
    for (const auto& [n, _] : gates_) known += (known.empty() ? "" : ", ") + n;
    return InvalidArgumentError("unrecognized feature gate: " + std::string(name) +
                                " (known: " + known + ")");
  }
  Gate& gate = it->second;
  if (gate.locked && enabled != gate.default_value) {
    return InvalidArgumentError("cannot set feature gate " + std::string(name) + " to " +
                                (enabled ? "true" : "false") + ", feature is locked to " +
                                (gate.default_value ? "true" : "false") + " in Kubernetes " +
                                version_.ToString());
  }
  gate.value = enabled;
  return OkStatus();
}

Status FeatureGates::SetFromString(std::string_view overrides) {
  for (const auto& raw : Split(overrides, ',')) {
    std::string_view item = TrimView(raw);
    if (item.empty()) continue;
    auto eq = item.find('=');
    if (eq == std::string_view::npos) {
      return InvalidArgumentError("feature gates: missing bool value for " + std::string(item) +
                                  " (want NAME=true or NAME=false)");
    }
    std::string_view name = TrimView(item.substr(0, eq));
    auto value = ParseBool(name, TrimView(item.substr(eq + 1)));
    if (!value.ok()) return InvalidArgumentError("feature gates: " + value.status().message());
    if (Status s = Set(name, *value); !s.ok())
      return InvalidArgumentError("feature gates: " + s.message());
  }
  return OkStatus();
}

bool FeatureGates::Enabled(std::string_view name) const {
  if (const SplitGate* s = FindSplit(name, version_.minor)) return Enabled(s->parent);
  auto it = gates_.find(name);
  return it != gates_.end() && it->second.value;
}

bool FeatureGates::Known(std::string_view name) const { return gates_.count(name) > 0; }

std::string FeatureGates::Describe(std::string_view name) const {
  auto it = gates_.find(name);
  std::string v = "Kubernetes " + version_.ToString();
  if (const SplitGate* s = FindSplit(name, version_.minor)) {
    std::string parent = Describe(s->parent);
    return std::string(name) + " (part of " + parent + ")";
  }
  if (it == gates_.end()) return std::string(name) + " (not in " + v + ")";
  const Gate& g = it->second;
  std::string why;
  if (g.value == g.default_value) {
    why = g.value ? "on by default" : "off by default";
  } else {
    why = std::string("turned ") + (g.value ? "on" : "off") + " by --feature-gates";
  }
  return std::string(name) + " (" + FeatureStageName(g.stage) + " in " + v + ", " + why + ")";
}

std::string FeatureGates::HowToEnable(std::string_view name) const {
  if (const SplitGate* s = FindSplit(name, version_.minor)) return HowToEnable(s->parent);
  if (Known(name)) return "turn it on with --feature-gates " + std::string(name) + "=true";
  const GateHistory* h = FindHistory(name);
  if (h == nullptr || h->specs.empty()) return "drahil does not know this gate";
  int from = h->specs.front().from_minor;
  return "it comes in Kubernetes 1." + std::to_string(from) + " (--kubernetes-version)";
}

std::vector<std::string> FeatureGates::Names() const {
  std::vector<std::string> out;
  for (const auto& [n, _] : gates_) out.push_back(n);
  return out;
}

std::string FeatureGates::Overrides() const {
  std::string out;
  for (const auto& [n, g] : gates_) {
    if (g.value == g.default_value) continue;
    out += (out.empty() ? "" : ",") + n + "=" + (g.value ? "true" : "false");
  }
  return out;
}

std::string FeatureGates::ToString() const {
  std::string out;
  for (const auto& [n, g] : gates_) {
    out += (out.empty() ? "" : ",") + n + "=" + (g.value ? "true" : "false");
  }
  return out;
}

}  // namespace drahil
