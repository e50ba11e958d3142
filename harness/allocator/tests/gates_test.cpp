// Feature gates and Kubernetes versions: each case pins what upstream's
// structured allocator (k8s.io/dynamic-resource-allocation/structured) or
// the scheduler's DRA plugin does with one feature off and on, named after
// the upstream function, which a comment cites. docs/allocator.md,
// "Kubernetes versions and feature gates", has the table.
#include <string>
#include <vector>

#include "drahil/allocator/allocator.hpp"
#include "drahil/testing/testing.hpp"

namespace alloc = drahil::allocator;
using alloc::Json;
using drahil::Code;
using drahil::FeatureGates;
using drahil::KubeVersion;

namespace {

constexpr const char* kDriver = "accel.example.com";

Json Class() {
  return {{"apiVersion", "resource.k8s.io/v1"},
          {"kind", "DeviceClass"},
          {"metadata", {{"name", "accel"}}},
          {"spec",
           {{"selectors", Json::array({{{"cel",
                                         {{"expression", "device.driver == \"" +
                                                             std::string(kDriver) + "\""}}}}})}}}};
}

Json Device(const std::string& name, Json extra = Json::object()) {
  Json d = {{"name", name}, {"attributes", {{"index", {{"string", name}}}}}};
  for (const auto& [k, v] : extra.items()) d[k] = v;
  return d;
}

// Slice(): slice `name` of pool "accel-pool" on node-1 (unless `spec`
// says otherwise); `spec` is merged into the spec.
Json Slice(const std::string& name, Json devices, Json spec = Json::object(), int64_t count = 1) {
  Json s = {{"driver", kDriver},
            {"pool", {{"name", "accel-pool"}, {"generation", 1}, {"resourceSliceCount", count}}},
            {"nodeName", "node-1"}};
  if (!devices.empty()) s["devices"] = std::move(devices);
  for (const auto& [k, v] : spec.items()) {
    if (v.is_null()) {
      s.erase(k);
    } else {
      s[k] = v;
    }
  }
  return {{"apiVersion", "resource.k8s.io/v1"},
          {"kind", "ResourceSlice"},
          {"metadata", {{"name", name}}},
          {"spec", s}};
}

// Claim(): one request "acc"; `exactly` is merged into its exactly.
Json Claim(const std::string& name, Json exactly = Json::object()) {
  Json e = {{"deviceClassName", "accel"}, {"count", 1}};
  for (const auto& [k, v] : exactly.items()) e[k] = v;
  return {
      {"apiVersion", "resource.k8s.io/v1"},
      {"kind", "ResourceClaim"},
      {"metadata", {{"name", name}, {"namespace", "team"}, {"uid", "uid-" + name}}},
      {"spec", {{"devices", {{"requests", Json::array({{{"name", "acc"}, {"exactly", e}}})}}}}}};
}

Json FirstAvailableClaim(const std::string& name, Json sub = Json::object()) {
  Json s = {{"name", "one"}, {"deviceClassName", "accel"}, {"count", 1}};
  for (const auto& [k, v] : sub.items()) s[k] = v;
  return {
      {"apiVersion", "resource.k8s.io/v1"},
      {"kind", "ResourceClaim"},
      {"metadata", {{"name", name}, {"namespace", "team"}, {"uid", "uid-" + name}}},
      {"spec",
       {{"devices",
         {{"requests", Json::array({{{"name", "acc"}, {"firstAvailable", Json::array({s})}}})}}}}}};
}

alloc::Features Off(bool alloc::Features::*member) {
  alloc::Features f = alloc::Features::All();
  f.*member = false;
  return f;
}

alloc::Features Version(int minor) {
  alloc::Features f = alloc::Features::All();
  f.version = KubeVersion{minor};
  return f;
}

alloc::Allocator Make(std::vector<Json> slices, alloc::Features f,
                      std::vector<Json> taint_rules = {}) {
  alloc::Inventory inv;
  inv.slices = std::move(slices);
  inv.device_classes = {Class()};
  inv.taint_rules = std::move(taint_rules);
  inv.namespaces = {
      {{"metadata", {{"name", "team"}, {"labels", {{alloc::kAdminAccessLabel, "true"}}}}}}};
  alloc::Options o;
  o.features = f;
  return alloc::Allocator(std::move(inv), o);
}

std::vector<std::string> Devices(const Json& allocation) {
  std::vector<std::string> out;
  for (const auto& r : allocation["devices"]["results"])
    out.push_back(r["device"].get<std::string>());
  return out;
}

const alloc::NodeInfo kNode{"node-1", {{"kubernetes.io/hostname", "node-1"}}};

Json Counters(const std::string& set, const std::string& amount) {
  return Json::array({{{"counterSet", set}, {"counters", {{"mem", {{"value", amount}}}}}}});
}

Json SharedCounters(const std::string& set, const std::string& amount) {
  return Json::array({{{"name", set}, {"counters", {{"mem", {{"value", amount}}}}}}});
}

}  // namespace

// pkg/scheduler/framework/plugins/dynamicresources/dynamicresources.go,
// AllocatorFeatures(): one allocator feature per gate, DeviceBindingAndStatus
// from two gates; the version's defaults decide the rest.
TEST_CASE("Upstream AllocatorFeatures: the allocator's features follow the version's gates",
          "[allocator][gates]") {
  auto v134 = FeatureGates::For(KubeVersion{34});
  REQUIRE_OK(v134);
  alloc::Features f = alloc::FeaturesFrom(*v134);
  CHECK(f.version == KubeVersion{34});
  CHECK(f.admin_access);
  CHECK(f.prioritized_list);
  CHECK_FALSE(f.consumable_capacity);
  CHECK_FALSE(f.device_binding_and_status);
  CHECK_FALSE(f.device_taints);
  CHECK_FALSE(f.device_taint_rules);
  CHECK_FALSE(f.partitionable_devices);
  CHECK(f.ToString() ==
        "Kubernetes 1.34, off: ConsumableCapacity, DeviceBindingAndStatus, DeviceTaints, "
        "DeviceTaintRules, PartitionableDevices");

  alloc::Features newest = alloc::FeaturesFrom(FeatureGates::Newest());
  CHECK(newest.version == KubeVersion::Newest());
  CHECK(newest.consumable_capacity);
  CHECK(newest.device_binding_and_status);
  CHECK(newest.device_taints);
  CHECK(newest.partitionable_devices);
  CHECK_FALSE(newest.device_taint_rules);  // DRADeviceTaintRules is off by default in 1.36

  // Binding conditions need DRAResourceClaimDeviceStatus too.
  auto no_status = FeatureGates::For(KubeVersion::Newest(), "DRAResourceClaimDeviceStatus=false");
  REQUIRE_OK(no_status);
  CHECK_FALSE(alloc::FeaturesFrom(*no_status).device_binding_and_status);
  // 1.34 has no DRADeviceTaintRules: DRADeviceTaints covers the rules.
  auto taints134 = FeatureGates::For(KubeVersion{34}, "DRADeviceTaints=true");
  REQUIRE_OK(taints134);
  CHECK(alloc::FeaturesFrom(*taints134).device_taint_rules);
  CHECK(alloc::Options{}.features.ToString() == "Kubernetes 1.36, all features on");
}

// allocator_stable.go / allocator_incubating.go, Allocator.Allocate(): a
// request with subrequests while PrioritizedList is off fails the whole
// call with "has subrequests, but the DRAPrioritizedList feature is disabled"
// (the plugin's PreFilter says the same).
TEST_CASE("Upstream Allocate: firstAvailable with DRAPrioritizedList off is refused",
          "[allocator][gates]") {
  std::vector<Json> slices = {Slice("s", Json::array({Device("acc-0")}))};
  auto off = Make(slices, Off(&alloc::Features::prioritized_list))
                 .Allocate({FirstAvailableClaim("c")}, kNode);
  REQUIRE_FALSE(off.ok());
  CHECK(off.status().code() == Code::kFailedPrecondition);
  CHECK(off.status().message() ==
        "claim team/c, request acc: has subrequests, but the DRAPrioritizedList feature is "
        "disabled");
  auto on = Make(slices, alloc::Features::All()).Allocate({FirstAvailableClaim("c")}, kNode);
  REQUIRE_OK(on);
  CHECK((*on)[0]["devices"]["results"][0]["request"] == "acc/one");
}

// allocator_stable.go, validateDeviceRequest(): with AdminAccess off, a
// request that sets adminAccess at all (hasAdminAccess(): the field is
// present, even false) is refused: "admin access is requested, but the
// feature is disabled".
TEST_CASE("Upstream validateDeviceRequest: adminAccess with DRAAdminAccess off is refused",
          "[allocator][gates]") {
  std::vector<Json> slices = {Slice("s", Json::array({Device("acc-0")}))};
  auto off = Make(slices, Off(&alloc::Features::admin_access));
  for (bool value : {true, false}) {
    auto r = off.Allocate({Claim("c", {{"adminAccess", value}})}, kNode);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kFailedPrecondition);
    CHECK(r.status().message() ==
          "claim team/c, request acc: admin access is requested, but the feature is disabled");
  }
  CHECK_OK(off.Allocate({Claim("c")}, kNode));
  auto on =
      Make(slices, alloc::Features::All()).Allocate({Claim("c", {{"adminAccess", true}})}, kNode);
  REQUIRE_OK(on);
  CHECK((*on)[0]["devices"]["results"][0]["adminAccess"] == true);
}

// allocator_incubating.go, Allocator.Allocate(): capacity requests while
// ConsumableCapacity is off are refused, for a request and for a subrequest;
// allocateDevice(): allowMultipleAllocations only counts with the feature
// on, so with it off the device is taken whole, without shareID.
TEST_CASE(
    "Upstream allocateDevice: DRAConsumableCapacity off refuses capacity requests and "
    "ignores allowMultipleAllocations",
    "[allocator][gates]") {
  Json shared = Device(
      "acc-0", {{"allowMultipleAllocations", true}, {"capacity", {{"mem", {{"value", "8Gi"}}}}}});
  std::vector<Json> slices = {Slice("s", Json::array({shared}))};
  auto off = Make(slices, Off(&alloc::Features::consumable_capacity));
  Json cap = {{"requests", {{"mem", "2Gi"}}}};
  auto r = off.Allocate({Claim("c", {{"capacity", cap}})}, kNode);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kFailedPrecondition);
  CHECK(r.status().message() ==
        "claim team/c, request acc: has capacity requests, but the DRAConsumableCapacity "
        "feature is disabled");
  auto sub = off.Allocate({FirstAvailableClaim("c", {{"capacity", cap}})}, kNode);
  REQUIRE_FALSE(sub.ok());
  CHECK(sub.status().message() ==
        "claim team/c, subrequest one: has capacity requests, but the DRAConsumableCapacity "
        "feature is disabled");

  // Off: exclusive, no share; a second claim finds the device taken.
  auto whole = off.Allocate({Claim("a"), Claim("b")}, kNode);
  REQUIRE_FALSE(whole.ok());
  CHECK(whole.status().code() == Code::kResourceExhausted);
  auto one = off.Allocate({Claim("a")}, kNode);
  REQUIRE_OK(one);
  CHECK_FALSE((*one)[0]["devices"]["results"][0].contains("shareID"));
  // On: both claims share it.
  auto on =
      Make(slices, alloc::Features::All())
          .Allocate({Claim("a", {{"capacity", cap}}), Claim("b", {{"capacity", cap}})}, kNode);
  REQUIRE_OK(on);
  CHECK((*on)[1]["devices"]["results"][0].contains("shareID"));
}

// allocator_stable.go, allocateDevice(): the taint check is skipped when
// DeviceTaints is off; the scheduler's slice tracker applies DeviceTaintRules
// only with the gates on (DRADeviceTaintRules from 1.35).
TEST_CASE("Upstream allocateDevice: taints are ignored with DRADeviceTaints off",
          "[allocator][gates]") {
  Json taint = {{"key", "broken"}, {"value", "yes"}, {"effect", "NoSchedule"}};
  std::vector<Json> tainted = {
      Slice("s", Json::array({Device("acc-0", {{"taints", Json::array({taint})}})}))};
  CHECK_OK(Make(tainted, Off(&alloc::Features::device_taints)).Allocate({Claim("c")}, kNode));
  auto on = Make(tainted, alloc::Features::All()).Allocate({Claim("c")}, kNode);
  REQUIRE_FALSE(on.ok());
  CHECK(on.status().code() == Code::kResourceExhausted);

  std::vector<Json> clean = {Slice("s", Json::array({Device("acc-0")}))};
  Json rule = {{"apiVersion", "resource.k8s.io/v1alpha3"},
               {"kind", "DeviceTaintRule"},
               {"metadata", {{"name", "r"}}},
               {"spec", {{"deviceSelector", {{"driver", kDriver}}}, {"taint", taint}}}};
  CHECK_OK(Make(clean, Off(&alloc::Features::device_taints), {rule}).Allocate({Claim("c")}, kNode));
  CHECK_OK(
      Make(clean, Off(&alloc::Features::device_taint_rules), {rule}).Allocate({Claim("c")}, kNode));
  CHECK_FALSE(Make(clean, alloc::Features::All(), {rule}).Allocate({Claim("c")}, kNode).ok());
}

// allocator_incubating.go, isSelectable(): with DeviceBindingAndStatus off,
// a device with bindingConditions is not selectable; the next one is taken.
TEST_CASE("Upstream isSelectable: devices with binding conditions need DeviceBindingAndStatus",
          "[allocator][gates]") {
  Json bound = Device("acc-0", {{"bindingConditions", Json::array({"attached"})},
                                {"bindingFailureConditions", Json::array({"failed"})}});
  std::vector<Json> slices = {Slice("s", Json::array({bound, Device("acc-1")}))};
  auto off =
      Make(slices, Off(&alloc::Features::device_binding_and_status)).Allocate({Claim("c")}, kNode);
  REQUIRE_OK(off);
  CHECK(Devices((*off)[0]) == std::vector<std::string>{"acc-1"});
  CHECK_FALSE((*off)[0].contains("allocationTimestamp"));
  auto on = Make(slices, alloc::Features::All()).Allocate({Claim("c")}, kNode);
  REQUIRE_OK(on);
  CHECK(Devices((*on)[0]) == std::vector<std::string>{"acc-0"});
  CHECK((*on)[0].contains("allocationTimestamp"));
}

// allocator_stable.go, allocateDevice(): a device that consumes counters is
// not allocatable with PartitionableDevices off; pools_incubating.go,
// GatherPools(): slices with perDeviceNodeSelection or sharedCounters are
// skipped, and buildPool() does not validate counters.
TEST_CASE("Upstream GatherPools: DRAPartitionableDevices off skips partitionable devices",
          "[allocator][gates]") {
  std::vector<Json> slices = {
      Slice("counters", Json::array(), {{"sharedCounters", SharedCounters("acc", "8Gi")}}, 3),
      Slice("parts",
            Json::array({Device("acc-0-half", {{"consumesCounters", Counters("acc", "4Gi")}}),
                         Device("acc-1")}),
            Json::object(), 3),
      Slice("per-device", Json::array({Device("acc-2", {{"nodeName", "node-1"}})}),
            {{"nodeName", nullptr}, {"perDeviceNodeSelection", true}}, 3)};
  auto off = Make(slices, Off(&alloc::Features::partitionable_devices));
  auto one = off.Allocate({Claim("c")}, kNode);
  REQUIRE_OK(one);
  CHECK(Devices((*one)[0]) == std::vector<std::string>{"acc-1"});
  auto two = off.Allocate({Claim("c", {{"count", 2}})}, kNode);
  REQUIRE_FALSE(two.ok());
  CHECK(two.status().code() == Code::kResourceExhausted);
  CHECK(two.status().message().find("DRAPartitionableDevices is off") != std::string::npos);
  auto on = Make(slices, alloc::Features::All()).Allocate({Claim("c", {{"count", 3}})}, kNode);
  REQUIRE_OK(on);
  CHECK(Devices((*on)[0]) == std::vector<std::string>{"acc-0-half", "acc-1", "acc-2"});

  // Counters that do not resolve make the pool invalid only when the
  // feature is on.
  std::vector<Json> dangling = {
      Slice("s", Json::array({Device("acc-0", {{"consumesCounters", Counters("nope", "1")}}),
                              Device("acc-1")}))};
  CHECK_OK(
      Make(dangling, Off(&alloc::Features::partitionable_devices)).Allocate({Claim("c")}, kNode));
  CHECK_FALSE(Make(dangling, alloc::Features::All()).Allocate({Claim("c")}, kNode).ok());
}

// Kubernetes 1.34 (pools_experimental.go, buildPool()): a slice could carry
// sharedCounters beside the devices that consume them. 1.35 (PR 134189,
// pools_incubating.go buildPool()) files a slice with sharedCounters as a
// counter-set slice only, so the devices of a 1.34-layout slice are not
// used after an upgrade (the release note asks to delete such slices).
TEST_CASE("Upstream buildPool: the 1.34 layout (sharedCounters beside devices) counts in 1.34 only",
          "[allocator][gates]") {
  Json v134 =
      Slice("mixed",
            Json::array({Device("acc-0-full", {{"consumesCounters", Counters("acc", "8Gi")}}),
                         Device("acc-0-half", {{"consumesCounters", Counters("acc", "4Gi")}})}),
            {{"sharedCounters", SharedCounters("acc", "8Gi")}});
  auto old = Make({v134}, Version(34));
  auto one = old.Allocate({Claim("c")}, kNode);
  REQUIRE_OK(one);
  CHECK(Devices((*one)[0]) == std::vector<std::string>{"acc-0-full"});
  // The counters are enforced: the full device and a half cannot go together.
  auto both = old.Allocate({Claim("c", {{"count", 2}})}, kNode);
  REQUIRE_FALSE(both.ok());
  CHECK(both.status().code() == Code::kResourceExhausted);

  for (int minor : {35, 36}) {
    auto now = Make({v134}, Version(minor));
    auto r = now.Allocate({Claim("c")}, kNode);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kResourceExhausted);
    REQUIRE(now.warnings().size() == 1);
    CHECK(now.warnings()[0].find("the Kubernetes 1.34 layout") != std::string::npos);
  }

  // The 1.35 layout: counters in a slice of their own, used by every version.
  std::vector<Json> split = {
      Slice("counters", Json::array(), {{"sharedCounters", SharedCounters("acc", "8Gi")}}, 2),
      Slice("parts",
            Json::array({Device("acc-0-half-a", {{"consumesCounters", Counters("acc", "4Gi")}}),
                         Device("acc-0-half-b", {{"consumesCounters", Counters("acc", "4Gi")}}),
                         Device("acc-0-full", {{"consumesCounters", Counters("acc", "8Gi")}})}),
            Json::object(), 2)};
  for (int minor : {34, 35, 36}) {
    auto r = Make(split, Version(minor)).Allocate({Claim("c", {{"count", 2}})}, kNode);
    REQUIRE_OK(r);
    CHECK(Devices((*r)[0]) == std::vector<std::string>{"acc-0-half-a", "acc-0-half-b"});
  }
}

// pools_incubating.go, GatherPools(): from 1.35 a slice with sharedCounters
// makes its pool relevant to every node; 1.34 had no such rule, its counter
// slices counted by their own node selection.
TEST_CASE("Upstream GatherPools: a counter slice elsewhere makes the pool relevant from 1.35",
          "[allocator][gates]") {
  // An incomplete pool (2 of 3 slices) with a counter slice on node-2 and a
  // device slice on node-1. Seen from node-3, only the 1.35 rule makes it
  // relevant, and allocationMode All fails on a relevant incomplete pool.
  std::vector<Json> slices = {
      Slice("counters", Json::array(),
            {{"nodeName", "node-2"}, {"sharedCounters", SharedCounters("acc", "8Gi")}}, 3),
      Slice("other", Json::array({Device("acc-9")}), {{"nodeName", "node-1"}}, 3)};
  alloc::NodeInfo node3{"node-3", {}};
  Json all = Claim("c", {{"allocationMode", "All"}, {"count", nullptr}});
  auto v135 = Make(slices, Version(35)).Allocate({all}, node3);
  REQUIRE_FALSE(v135.ok());
  CHECK(v135.status().message().find("incomplete") != std::string::npos);
  auto v134 = Make(slices, Version(34)).Allocate({all}, node3);
  REQUIRE_FALSE(v134.ok());
  CHECK(v134.status().message().find("incomplete") == std::string::npos);
}
