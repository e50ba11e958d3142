// File: allocator.hpp
//
// The scheduler stand-in: structured-parameters allocation of devices for
// ResourceClaims, producing `status.allocation` the way kube-scheduler's
// dynamicresources plugin writes it (resource.k8s.io/v1).
//
//   allocator::Inventory inv;
//   inv.slices = {...};  inv.device_classes = {...};  inv.allocated_claims = {...};
//   allocator::Allocator alloc(std::move(inv));
//   auto r = alloc.Allocate({claim}, allocator::NodeInfo{"node-1", {}});
//   if (r.ok()) claim["status"]["allocation"] = (*r)[0];
//
// API objects are nlohmann::json as the API server stores them. Features:
// exactly (ExactCount/All), firstAvailable, matchAttribute/distinctAttribute,
// partitionable devices (sharedCounters, never over-consumed), consumable
// capacity (allowMultipleAllocations, requestPolicy rounding, shareID,
// consumedCapacity), adminAccess, taints/tolerations incl. DeviceTaintRules,
// binding conditions, node selection (nodeName/allNodes/nodeSelector/
// perDeviceNodeSelection). Only complete pools at their highest generation
// are used.
//
// The search is a depth-first backtracking search over requests (in claim
// and request order), subrequests (in priority order) and devices (in pool,
// slice and device order), so it is complete and deterministic; it stops
// after Options::max_steps device trials.
//
// Errors:
//   kResourceExhausted  "unschedulable: claim ns/name, request "r": <why>"
//                       (no allocation exists, or the step budget ran out);
//   kInvalidArgument    a malformed claim/class, or a CEL compile/runtime
//                       error, which aborts the allocation as in Kubernetes;
//   kPermissionDenied   adminAccess in a namespace without the label;
//   kFailedPrecondition a claim uses a feature Options::features has off
//                       (firstAvailable, adminAccess, capacity requests),
//                       with upstream's message, e.g. "claim ns/name, request
//                       r: has subrequests, but the DRAPrioritizedList
//                       feature is disabled".
//
// Thread-safety: Allocate() is const and may run concurrently; the
// constructor does all the parsing.
#ifndef DRAHIL_ALLOCATOR_ALLOCATOR_HPP_INCLUDED
#define DRAHIL_ALLOCATOR_ALLOCATOR_HPP_INCLUDED

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "drahil/allocator/cel.hpp"
#include "drahil/core/feature_gates.hpp"
#include "drahil/core/status.hpp"

namespace drahil::allocator {

using Json = nlohmann::json;

inline constexpr const char* kAdminAccessLabel = "resource.kubernetes.io/admin-access";

// Inventory: the cluster state the allocator reads.
struct Inventory {
  std::vector<Json> slices;            // ResourceSlice objects (all nodes)
  std::vector<Json> device_classes;    // DeviceClass objects
  std::vector<Json> taint_rules;       // DeviceTaintRule objects
  std::vector<Json> allocated_claims;  // claims whose status.allocation is in use
  std::vector<Json> namespaces;        // Namespace objects (admin-access label)
};

struct NodeInfo {
  std::string name;
  std::map<std::string, std::string> labels;
  // FromJson(): a core/v1 Node object.
  static NodeInfo FromJson(const Json& node);
};

// Features: the feature gates that change what the allocator does, after
// `Features` in k8s.io/dynamic-resource-allocation/structured
// (internal/types.go; 1.34 had DeviceBinding and DeviceStatus where 1.35+
// has DeviceBindingAndStatus). A feature that is off behaves as upstream's
// allocator does with it off (docs/allocator.md, "Kubernetes versions and
// feature gates"):
//   admin_access               adminAccess in a request is refused (kFailedPrecondition)
//   consumable_capacity        capacity requests are refused; allowMultipleAllocations
//                              is ignored (devices are exclusive, no shareID)
//   device_binding_and_status  devices with bindingConditions are not selectable
//   device_taints              taints are ignored (and DeviceTaintRules not applied)
//   partitionable_devices      devices that consume counters are not selectable;
//                              slices with perDeviceNodeSelection (and, 1.35+, with
//                              sharedCounters) are ignored
//   prioritized_list           firstAvailable is refused (kFailedPrecondition)
// Two members are drahil's: device_taint_rules (upstream applies rules in
// the slice tracker, outside the allocator) and version (which release's
// pool layout rules apply: 1.34 lets a slice carry sharedCounters beside
// its devices, 1.35+ does not).
struct Features {
  bool admin_access = true;               // AdminAccess (DRAAdminAccess)
  bool consumable_capacity = true;        // ConsumableCapacity (DRAConsumableCapacity)
  bool device_binding_and_status = true;  // DeviceBindingAndStatus
  bool device_taints = true;              // DeviceTaints (DRADeviceTaints)
  bool partitionable_devices = true;      // PartitionableDevices (DRAPartitionableDevices)
  bool prioritized_list = true;           // PrioritizedList (DRAPrioritizedList)
  bool device_taint_rules = true;         // DeviceTaintRules applied (drahil)
  KubeVersion version = KubeVersion::Newest();

  // All(): every feature on, newest version (upstream's FeaturesAll).
  static Features All() { return Features{}; }
  // ToString(): the features that are off and the version, for messages:
  // "Kubernetes 1.35, all features on" or "Kubernetes 1.34, off: DeviceTaints".
  [[nodiscard]] std::string ToString() const;
};

// FeaturesFrom(): the Features kube-scheduler's DRA plugin hands the
// allocator for these gates (AllocatorFeatures() in
// pkg/scheduler/framework/plugins/dynamicresources/dynamicresources.go):
// DeviceBindingAndStatus needs both DRADeviceBindingConditions and
// DRAResourceClaimDeviceStatus; DeviceTaintRules need DRADeviceTaints and,
// where the version has it, DRADeviceTaintRules.
Features FeaturesFrom(const FeatureGates& gates);

struct Options {
  // The gates' effect on allocation: all on by default. A run sets
  // FeaturesFrom(its gates); FeaturesFrom(FeatureGates::Newest()) differs
  // from All() only in device_taint_rules (DRADeviceTaintRules is off by
  // default in 1.36).
  Features features = Features::All();
  // Device trials before the search gives up (kube-scheduler bounds the same
  // search by time, DRASchedulerFilterTimeout).
  int64_t max_steps = 1'000'000;
  // Unset: pools, and slices within a pool, are tried in a fixed order (by
  // driver and pool name, slices as listed). Set: in an order shuffled by
  // this seed, the same for the same seed (kube-scheduler's order is that of
  // a Go map, so a driver must not depend on it; docs/allocator.md).
  std::optional<uint64_t> order_seed;
  // Refuse adminAccess in namespaces without kAdminAccessLabel="true"
  // (normally admission's job; the allocator double-checks).
  bool check_admin_namespace = true;
  // Mixed into generated shareIDs, which are otherwise a pure function of the
  // claim, request and device so that results are reproducible.
  std::string share_id_seed;
  // Time source for allocationTimestamp.
  std::function<std::chrono::system_clock::time_point()> now;
  cel::CompileOptions cel;
};

class Allocator {
 public:
  // The constructor indexes pools, devices and counters; problems with
  // individual slices (bad quantities, bad attributes) make their pool
  // unusable and are listed by warnings().
  explicit Allocator(Inventory inventory, Options options = {});
  ~Allocator();
  Allocator(const Allocator&) = delete;
  Allocator& operator=(const Allocator&) = delete;

  // Allocate(): allocates all claims together (as for one pod) on node. The
  // result holds one AllocationResult (the value of status.allocation) per
  // claim, in order. Claims that already carry status.allocation are taken
  // as they are (their devices count as in use) and returned unchanged.
  Result<std::vector<Json>> Allocate(const std::vector<Json>& claims, const NodeInfo& node) const;

  // AddAllocatedClaim()/RemoveAllocatedClaim(): update the in-use set (by
  // namespace/name) without re-indexing the slices.
  void AddAllocatedClaim(const Json& claim);
  void RemoveAllocatedClaim(const std::string& ns, const std::string& name);

  // Nodes(): node names that slices name explicitly, sorted (for dry runs).
  std::vector<std::string> Nodes() const;
  const std::vector<std::string>& warnings() const;

  // Implementation detail, public only so the search in allocator.cpp can
  // name it.
  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// ---- claim lifecycle helpers ----------------------------------------------

enum class BindingState { kNotRequired, kPending, kReady, kFailed, kTimedOut };
const char* BindingStateName(BindingState s);

struct BindingStatus {
  BindingState state = BindingState::kNotRequired;
  std::string reason;  // which device/condition decided, for messages
};

inline constexpr std::chrono::seconds kDefaultBindingTimeout{600};

// EvaluateBindingConditions(): the PreBind decision for an allocated claim:
// kFailed when any result's bindingFailureConditions is True in
// status.devices, kReady when every bindingConditions entry is True, kTimedOut
// when still pending `timeout` after allocation.allocationTimestamp.
BindingStatus EvaluateBindingConditions(const Json& claim,
                                        std::chrono::system_clock::time_point now,
                                        std::chrono::seconds timeout = kDefaultBindingTimeout);

// SearchOrder(): the indexes of `slices` in the order the allocator walks
// their devices under order_seed (Options::order_seed): pools by driver and
// pool name, slices as listed; with a seed, pools and then the slices of each
// pool shuffled by it. A device's position in the walk is its slice's here,
// then its index in the slice. What binds devices for a test ahead of the
// allocator (the runner's device roles) takes them from the end of this
// order, clear of what an unpinned claim gets first.
std::vector<size_t> SearchOrder(const std::vector<Json>& slices,
                                const std::optional<uint64_t>& order_seed);

// Deallocate(): clears status.allocation, status.devices and
// status.reservedFor, as the scheduler does after a binding failure.
void Deallocate(Json& claim);

// Reserve(): adds the pod to status.reservedFor (idempotent; at most 256).
Status Reserve(Json& claim, const Json& pod);
// Unreserve(): removes the consumer with this uid; when none remains the
// claim is deallocated (the resourceclaim controller's rule). Returns true
// when it deallocated.
bool Unreserve(Json& claim, const std::string& pod_uid);

// ---- extended resources (KEP-5004) ----------------------------------------

inline constexpr const char* kImplicitExtendedResourcePrefix =
    "deviceclass.resource.kubernetes.io/";
inline constexpr const char* kExtendedResourceClaimAnnotation =
    "resource.kubernetes.io/extended-resource-claim";

// ExtendedResourceClasses(): resource name → DeviceClass name, with both the
// explicit spec.extendedResourceName and the implicit
// deviceclass.resource.kubernetes.io/<class>. When several classes claim one
// name, the alphabetically first class wins (documented in docs/allocator.md).
std::map<std::string, std::string> ExtendedResourceClasses(const std::vector<Json>& classes);

struct ExtendedResourceClaim {
  Json claim;   // the special ResourceClaim (requests container-<i>-request-<j>)
  Json status;  // the value for pod.status.extendedResourceClaimStatus
};

// BuildExtendedResourceClaim(): std::nullopt-like empty claim (is_null())
// when the pod asks for no DRA-backed extended resource. Container indexes
// run over initContainers then containers; j is the index of the resource in
// the container's sorted resource requests.
Result<ExtendedResourceClaim> BuildExtendedResourceClaim(const Json& pod,
                                                         const std::vector<Json>& classes);

// ---- dry run (`drahil allocate`) -------------------------------------------

struct DryRunResult {
  std::vector<Json> claims;         // every claim, with status.allocation when allocated
  std::vector<Json> pods;           // pods, with status.extendedResourceClaimStatus if any
  std::vector<std::string> report;  // one line per pod/claim: allocated or why not
  // Why a claim (key "ns/name") is not allocated; pods carry theirs in a
  // PodScheduled condition (status False, reason Unschedulable).
  std::map<std::string, std::string> claim_messages;
  bool all_allocated = true;
};

// DryRun(): schedules every pod (pods in name order, claims they reference,
// templates instantiated) and then every remaining unallocated claim, using
// the objects in `objects` (any mix of kinds; unknown kinds are ignored).
Result<DryRunResult> DryRun(const std::vector<Json>& objects, const Options& options = {});

}  // namespace drahil::allocator

#endif  // DRAHIL_ALLOCATOR_ALLOCATOR_HPP_INCLUDED
