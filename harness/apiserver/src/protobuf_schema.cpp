// The protobuf schema table (protobuf_schema.hpp). Field numbers are those of
// upstream's generated.proto files: k8s.io/api resource/v1, core/v1
// (NodeSelector, Event, EventSource, EventSeries, ObjectReference, ConfigMap,
// Secret, Namespace, Node and the messages they reach),
// events/v1 (Event, EventSeries) and coordination/v1 (Lease, LeaseSpec), k8s.io/apimachinery
// pkg/apis/meta/v1 (ObjectMeta, ListMeta, OwnerReference, ManagedFieldsEntry, Condition, Status,
// DeleteOptions), pkg/runtime (RawExtension) and pkg/api/resource (Quantity). Messages are listed
// leaves first.
#include "protobuf_schema.hpp"

namespace drahil::apiserver::internal::pb {

namespace {

Field Str(uint32_t n, const char* j, uint8_t f = 0) { return {n, j, Type::kString, nullptr, f}; }
Field StrList(uint32_t n, const char* j) { return {n, j, Type::kString, nullptr, kRepeated}; }
Field I64(uint32_t n, const char* j, uint8_t f = 0) { return {n, j, Type::kInt64, nullptr, f}; }
Field I32(uint32_t n, const char* j, uint8_t f = 0) { return {n, j, Type::kInt32, nullptr, f}; }
Field Bool(uint32_t n, const char* j, uint8_t f = 0) { return {n, j, Type::kBool, nullptr, f}; }
Field I64List(uint32_t n, const char* j) { return {n, j, Type::kInt64, nullptr, kRepeated}; }
Field BoolList(uint32_t n, const char* j) { return {n, j, Type::kBool, nullptr, kRepeated}; }
Field Msg(uint32_t n, const char* j, const Message& m, uint8_t f = 0) {
  return {n, j, Type::kMessage, &m, f};
}
Field MsgList(uint32_t n, const char* j, const Message& m) {
  return {n, j, Type::kMessage, &m, kRepeated};
}
Field Inline(uint32_t n, const Message& m) { return {n, "", Type::kMessage, &m, kInline}; }
Field Time(uint32_t n, const char* j) { return {n, j, Type::kTime}; }
Field MicroTime(uint32_t n, const char* j) { return {n, j, Type::kMicroTime}; }
Field Qty(uint32_t n, const char* j, uint8_t f = 0) { return {n, j, Type::kQuantity, nullptr, f}; }
Field Raw(uint32_t n, const char* j) { return {n, j, Type::kRaw}; }
Field MapStr(uint32_t n, const char* j) { return {n, j, Type::kMapString}; }
Field MapQty(uint32_t n, const char* j) { return {n, j, Type::kMapQuantity}; }
Field MapMsg(uint32_t n, const char* j, const Message& m) { return {n, j, Type::kMapMessage, &m}; }
Field MapBytes(uint32_t n, const char* j) { return {n, j, Type::kMapBytes}; }

constexpr uint8_t kKeep = kKeepZero;

// --- meta/v1 -----------------------------------------------------------------

const Message kOwnerReference{"OwnerReference",
                              {Str(1, "kind"), Str(3, "name"), Str(4, "uid"), Str(5, "apiVersion"),
                               Bool(6, "controller", kKeep), Bool(7, "blockOwnerDeletion", kKeep)}};

const Message kManagedFieldsEntry{
    "ManagedFieldsEntry",
    {Str(1, "manager"), Str(2, "operation"), Str(3, "apiVersion"), Time(4, "time"),
     Str(6, "fieldsType"), Raw(7, "fieldsV1"), Str(8, "subresource")}};

const Message kObjectMeta{
    "ObjectMeta",
    {Str(1, "name"), Str(2, "generateName"), Str(3, "namespace"), Str(4, "selfLink"), Str(5, "uid"),
     Str(6, "resourceVersion"), I64(7, "generation"), Time(8, "creationTimestamp"),
     Time(9, "deletionTimestamp"), I64(10, "deletionGracePeriodSeconds", kKeep),
     MapStr(11, "labels"), MapStr(12, "annotations"),
     MsgList(13, "ownerReferences", kOwnerReference), StrList(14, "finalizers"),
     MsgList(17, "managedFields", kManagedFieldsEntry)}};

const Message kListMeta{"ListMeta",
                        {Str(1, "selfLink"), Str(2, "resourceVersion"), Str(3, "continue"),
                         I64(4, "remainingItemCount", kKeep)}};

const Message kCondition{"Condition",
                         {Str(1, "type"), Str(2, "status"), I64(3, "observedGeneration"),
                          Time(4, "lastTransitionTime"), Str(5, "reason"), Str(6, "message")}};

const Message kStatusCause{"StatusCause", {Str(1, "reason"), Str(2, "message"), Str(3, "field")}};

const Message kStatusDetails{
    "StatusDetails",
    {Str(1, "name"), Str(2, "group"), Str(3, "kind"), MsgList(4, "causes", kStatusCause),
     I32(5, "retryAfterSeconds"), Str(6, "uid")}};

const Message kStatus{"Status",
                      {Msg(1, "metadata", kListMeta), Str(2, "status"), Str(3, "message"),
                       Str(4, "reason"), Msg(5, "details", kStatusDetails), I32(6, "code")}};

const Message kPreconditions{"Preconditions", {Str(1, "uid"), Str(2, "resourceVersion")}};

const Message kDeleteOptions{
    "DeleteOptions",
    {I64(1, "gracePeriodSeconds", kKeep), Msg(2, "preconditions", kPreconditions),
     Bool(3, "orphanDependents", kKeep), Str(4, "propagationPolicy", kKeep), StrList(5, "dryRun"),
     Bool(6, "ignoreStoreReadErrorWithClusterBreakingPotential", kKeep)}};

// --- core/v1 -----------------------------------------------------------------

const Message kNodeSelectorRequirement{"NodeSelectorRequirement",
                                       {Str(1, "key"), Str(2, "operator"), StrList(3, "values")}};

const Message kNodeSelectorTerm{"NodeSelectorTerm",
                                {MsgList(1, "matchExpressions", kNodeSelectorRequirement),
                                 MsgList(2, "matchFields", kNodeSelectorRequirement)}};

const Message kNodeSelector{"NodeSelector", {MsgList(1, "nodeSelectorTerms", kNodeSelectorTerm)}};

// Events (core/v1 Event, EventSource, EventSeries, ObjectReference). Go's
// encoder leaves out omitempty strings and ints, not the fields without it
// (reportingComponent, reportingInstance: kKeep).
const Message kObjectReference{
    "ObjectReference",
    {Str(1, "kind"), Str(2, "namespace"), Str(3, "name"), Str(4, "uid"), Str(5, "apiVersion"),
     Str(6, "resourceVersion"), Str(7, "fieldPath")}};

const Message kEventSource{"EventSource", {Str(1, "component"), Str(2, "host")}};

// EventSeries: the same fields in core/v1 and events.k8s.io/v1.
const Message kEventSeries{"EventSeries", {I32(1, "count"), MicroTime(2, "lastObservedTime")}};

const Message kCoreEvent{
    "Event",
    {Msg(1, "metadata", kObjectMeta), Msg(2, "involvedObject", kObjectReference), Str(3, "reason"),
     Str(4, "message"), Msg(5, "source", kEventSource), Time(6, "firstTimestamp"),
     Time(7, "lastTimestamp"), I32(8, "count"), Str(9, "type"), MicroTime(10, "eventTime"),
     Msg(11, "series", kEventSeries), Str(12, "action"), Msg(13, "related", kObjectReference),
     Str(14, "reportingComponent", kKeep), Str(15, "reportingInstance", kKeep)}};

const Message kCoreEventList{"EventList",
                             {Msg(1, "metadata", kListMeta), MsgList(2, "items", kCoreEvent)}};

// ConfigMap, Secret and Namespace: what a driver or kubectl's typed
// generators write besides events.
const Message kConfigMap{"ConfigMap",
                         {Msg(1, "metadata", kObjectMeta), MapStr(2, "data"),
                          MapBytes(3, "binaryData"), Bool(4, "immutable", kKeep)}};

const Message kConfigMapList{"ConfigMapList",
                             {Msg(1, "metadata", kListMeta), MsgList(2, "items", kConfigMap)}};

const Message kSecret{"Secret",
                      {Msg(1, "metadata", kObjectMeta), MapBytes(2, "data"), Str(3, "type"),
                       MapStr(4, "stringData"), Bool(5, "immutable", kKeep)}};

const Message kSecretList{"SecretList",
                          {Msg(1, "metadata", kListMeta), MsgList(2, "items", kSecret)}};

const Message kNamespaceSpec{"NamespaceSpec", {StrList(1, "finalizers")}};

const Message kNamespaceCondition{
    "NamespaceCondition",
    {Str(1, "type", kKeep), Str(2, "status", kKeep), Time(4, "lastTransitionTime"),
     Str(5, "reason"), Str(6, "message")}};

const Message kNamespaceStatus{"NamespaceStatus",
                               {Str(1, "phase"), MsgList(2, "conditions", kNamespaceCondition)}};

const Message kNamespace{"Namespace",
                         {Msg(1, "metadata", kObjectMeta), Msg(2, "spec", kNamespaceSpec),
                          Msg(3, "status", kNamespaceStatus)}};

const Message kNamespaceList{"NamespaceList",
                             {Msg(1, "metadata", kListMeta), MsgList(2, "items", kNamespace)}};

// Node (a driver may label or annotate its own Node). Go's encoder shows the
// fields without omitempty even when empty (kKeep): Taint key/effect,
// NodeCondition type/status, NodeAddress, DaemonEndpoint.Port, the
// NodeSystemInfo strings, AttachedVolume, ContainerImage names,
// ConfigMapNodeConfigSource namespace/name/kubeletConfigKey and the
// runtime handler's name; pointer fields (bools, swap capacity) likewise.
const Message kTaint{
    "Taint",
    {Str(1, "key", kKeep), Str(2, "value"), Str(3, "effect", kKeep), Time(4, "timeAdded")}};

const Message kConfigMapNodeConfigSource{
    "ConfigMapNodeConfigSource",
    {Str(1, "namespace", kKeep), Str(2, "name", kKeep), Str(3, "uid"), Str(4, "resourceVersion"),
     Str(5, "kubeletConfigKey", kKeep)}};

// Number 1 was the removed configMapRef.
const Message kNodeConfigSource{"NodeConfigSource",
                                {Msg(2, "configMap", kConfigMapNodeConfigSource)}};

const Message kNodeSpec{"NodeSpec",
                        {Str(1, "podCIDR"), Str(2, "externalID"), Str(3, "providerID"),
                         Bool(4, "unschedulable"), MsgList(5, "taints", kTaint),
                         Msg(6, "configSource", kNodeConfigSource), StrList(7, "podCIDRs")}};

const Message kNodeCondition{
    "NodeCondition",
    {Str(1, "type", kKeep), Str(2, "status", kKeep), Time(3, "lastHeartbeatTime"),
     Time(4, "lastTransitionTime"), Str(5, "reason"), Str(6, "message")}};

const Message kNodeAddress{"NodeAddress", {Str(1, "type", kKeep), Str(2, "address", kKeep)}};

const Message kDaemonEndpoint{"DaemonEndpoint", {I32(1, "Port", kKeep)}};

const Message kNodeDaemonEndpoints{"NodeDaemonEndpoints",
                                   {Msg(1, "kubeletEndpoint", kDaemonEndpoint)}};

const Message kNodeSwapStatus{"NodeSwapStatus", {I64(1, "capacity", kKeep)}};

const Message kNodeSystemInfo{
    "NodeSystemInfo",
    {Str(1, "machineID", kKeep), Str(2, "systemUUID", kKeep), Str(3, "bootID", kKeep),
     Str(4, "kernelVersion", kKeep), Str(5, "osImage", kKeep),
     Str(6, "containerRuntimeVersion", kKeep), Str(7, "kubeletVersion", kKeep),
     Str(8, "kubeProxyVersion", kKeep), Str(9, "operatingSystem", kKeep),
     Str(10, "architecture", kKeep), Msg(11, "swap", kNodeSwapStatus)}};

const Message kContainerImage{"ContainerImage", {StrList(1, "names"), I64(2, "sizeBytes")}};

const Message kAttachedVolume{"AttachedVolume",
                              {Str(1, "name", kKeep), Str(2, "devicePath", kKeep)}};

const Message kNodeConfigStatus{
    "NodeConfigStatus",
    {Msg(1, "assigned", kNodeConfigSource), Msg(2, "active", kNodeConfigSource),
     Msg(3, "lastKnownGood", kNodeConfigSource), Str(4, "error")}};

const Message kNodeRuntimeHandlerFeatures{
    "NodeRuntimeHandlerFeatures",
    {Bool(1, "recursiveReadOnlyMounts", kKeep), Bool(2, "userNamespaces", kKeep)}};

const Message kNodeRuntimeHandler{
    "NodeRuntimeHandler", {Str(1, "name", kKeep), Msg(2, "features", kNodeRuntimeHandlerFeatures)}};

const Message kNodeFeatures{"NodeFeatures", {Bool(1, "supplementalGroupsPolicy", kKeep)}};

const Message kNodeStatus{
    "NodeStatus",
    {MapQty(1, "capacity"), MapQty(2, "allocatable"), Str(3, "phase"),
     MsgList(4, "conditions", kNodeCondition), MsgList(5, "addresses", kNodeAddress),
     Msg(6, "daemonEndpoints", kNodeDaemonEndpoints), Msg(7, "nodeInfo", kNodeSystemInfo),
     MsgList(8, "images", kContainerImage), StrList(9, "volumesInUse"),
     MsgList(10, "volumesAttached", kAttachedVolume), Msg(11, "config", kNodeConfigStatus),
     MsgList(12, "runtimeHandlers", kNodeRuntimeHandler), Msg(13, "features", kNodeFeatures),
     StrList(14, "declaredFeatures")}};

const Message kNode{
    "Node",
    {Msg(1, "metadata", kObjectMeta), Msg(2, "spec", kNodeSpec), Msg(3, "status", kNodeStatus)}};

const Message kNodeList{"NodeList", {Msg(1, "metadata", kListMeta), MsgList(2, "items", kNode)}};

// --- events.k8s.io/v1 ---------------------------------------------------------

const Message kEventsEvent{
    "Event",
    {Msg(1, "metadata", kObjectMeta), MicroTime(2, "eventTime"), Msg(3, "series", kEventSeries),
     Str(4, "reportingController"), Str(5, "reportingInstance"), Str(6, "action"), Str(7, "reason"),
     Msg(8, "regarding", kObjectReference), Msg(9, "related", kObjectReference), Str(10, "note"),
     Str(11, "type"), Msg(12, "deprecatedSource", kEventSource),
     Time(13, "deprecatedFirstTimestamp"), Time(14, "deprecatedLastTimestamp"),
     I32(15, "deprecatedCount")}};

const Message kEventsEventList{"EventList",
                               {Msg(1, "metadata", kListMeta), MsgList(2, "items", kEventsEvent)}};

// --- coordination.k8s.io/v1 ------------------------------------------------------
// Every LeaseSpec field is a pointer in Go: present on the wire, shown in
// JSON even when zero. strategy (6) and preferredHolder (7) came with
// coordinated leader election (1.31).

const Message kLeaseSpec{
    "LeaseSpec",
    {Str(1, "holderIdentity", kKeep), I32(2, "leaseDurationSeconds", kKeep),
     MicroTime(3, "acquireTime"), MicroTime(4, "renewTime"), I32(5, "leaseTransitions", kKeep),
     Str(6, "strategy", kKeep), Str(7, "preferredHolder", kKeep)}};

const Message kLease{"Lease", {Msg(1, "metadata", kObjectMeta), Msg(2, "spec", kLeaseSpec)}};

const Message kLeaseList{"LeaseList", {Msg(1, "metadata", kListMeta), MsgList(2, "items", kLease)}};

// --- resource.k8s.io/v1: ResourceSlice ----------------------------------------

// The list values (ints 6, bools 7, strings 8, versions 9: DRAListTypeAttributes,
// KEP-5491, alpha in 1.36) are repeated scalars; Go's proto2 marshaller
// writes them unpacked, one key per element.
const Message kDeviceAttribute{
    "DeviceAttribute",
    {I64(2, "int", kKeep), Bool(3, "bool", kKeep), Str(4, "string", kKeep),
     Str(5, "version", kKeep), I64List(6, "ints"), BoolList(7, "bools"), StrList(8, "strings"),
     StrList(9, "versions")}};

const Message kCapacityRequestPolicyRange{"CapacityRequestPolicyRange",
                                          {Qty(1, "min"), Qty(2, "max"), Qty(3, "step")}};

const Message kCapacityRequestPolicy{
    "CapacityRequestPolicy",
    {Qty(1, "default"), Field{3, "validValues", Type::kQuantity, nullptr, kRepeated},
     Msg(4, "validRange", kCapacityRequestPolicyRange)}};

const Message kDeviceCapacity{"DeviceCapacity",
                              {Qty(1, "value"), Msg(2, "requestPolicy", kCapacityRequestPolicy)}};

const Message kCounter{"Counter", {Qty(1, "value")}};

const Message kDeviceCounterConsumption{"DeviceCounterConsumption",
                                        {Str(1, "counterSet"), MapMsg(2, "counters", kCounter)}};

const Message kCounterSet{"CounterSet", {Str(1, "name"), MapMsg(2, "counters", kCounter)}};

const Message kDeviceTaint{
    "DeviceTaint", {Str(1, "key"), Str(2, "value"), Str(3, "effect"), Time(4, "timeAdded")}};

const Message kDevice{
    "Device",
    {Str(1, "name"), MapMsg(2, "attributes", kDeviceAttribute),
     MapMsg(3, "capacity", kDeviceCapacity),
     MsgList(4, "consumesCounters", kDeviceCounterConsumption), Str(5, "nodeName"),
     Msg(6, "nodeSelector", kNodeSelector), Bool(7, "allNodes", kKeep),
     MsgList(8, "taints", kDeviceTaint), Bool(9, "bindsToNode", kKeep),
     StrList(10, "bindingConditions"), StrList(11, "bindingFailureConditions"),
     Bool(12, "allowMultipleAllocations", kKeep)}};

const Message kResourcePool{
    "ResourcePool",
    {Str(1, "name"), I64(2, "generation", kKeep), I64(3, "resourceSliceCount", kKeep)}};

const Message kResourceSliceSpec{
    "ResourceSliceSpec",
    {Str(1, "driver"), Msg(2, "pool", kResourcePool), Str(3, "nodeName"),
     Msg(4, "nodeSelector", kNodeSelector), Bool(5, "allNodes", kKeep),
     MsgList(6, "devices", kDevice), Bool(7, "perDeviceNodeSelection", kKeep),
     MsgList(8, "sharedCounters", kCounterSet)}};

const Message kResourceSlice{"ResourceSlice",
                             {Msg(1, "metadata", kObjectMeta), Msg(2, "spec", kResourceSliceSpec)}};

const Message kResourceSliceList{
    "ResourceSliceList", {Msg(1, "metadata", kListMeta), MsgList(2, "items", kResourceSlice)}};

// --- resource.k8s.io/v1: ResourceClaim, its template, DeviceClass -------------

const Message kCELDeviceSelector{"CELDeviceSelector", {Str(1, "expression")}};

const Message kDeviceSelector{"DeviceSelector", {Msg(1, "cel", kCELDeviceSelector)}};

const Message kDeviceToleration{"DeviceToleration",
                                {Str(1, "key"), Str(2, "operator"), Str(3, "value"),
                                 Str(4, "effect"), I64(5, "tolerationSeconds", kKeep)}};

const Message kCapacityRequirements{"CapacityRequirements", {MapQty(1, "requests")}};

const Message kExactDeviceRequest{
    "ExactDeviceRequest",
    {Str(1, "deviceClassName"), MsgList(2, "selectors", kDeviceSelector), Str(3, "allocationMode"),
     I64(4, "count"), Bool(5, "adminAccess", kKeep), MsgList(6, "tolerations", kDeviceToleration),
     Msg(7, "capacity", kCapacityRequirements)}};

const Message kDeviceSubRequest{
    "DeviceSubRequest",
    {Str(1, "name"), Str(2, "deviceClassName"), MsgList(3, "selectors", kDeviceSelector),
     Str(4, "allocationMode"), I64(5, "count"), MsgList(6, "tolerations", kDeviceToleration),
     Msg(7, "capacity", kCapacityRequirements)}};

const Message kDeviceRequest{"DeviceRequest",
                             {Str(1, "name"), Msg(2, "exactly", kExactDeviceRequest),
                              MsgList(3, "firstAvailable", kDeviceSubRequest)}};

const Message kDeviceConstraint{
    "DeviceConstraint",
    {StrList(1, "requests"), Str(2, "matchAttribute"), Str(3, "distinctAttribute")}};

const Message kOpaqueDeviceConfiguration{"OpaqueDeviceConfiguration",
                                         {Str(1, "driver"), Raw(2, "parameters")}};

const Message kDeviceConfiguration{"DeviceConfiguration",
                                   {Msg(1, "opaque", kOpaqueDeviceConfiguration)}};

const Message kDeviceClaimConfiguration{"DeviceClaimConfiguration",
                                        {StrList(1, "requests"), Inline(2, kDeviceConfiguration)}};

const Message kDeviceClaim{
    "DeviceClaim",
    {MsgList(1, "requests", kDeviceRequest), MsgList(2, "constraints", kDeviceConstraint),
     MsgList(3, "config", kDeviceClaimConfiguration)}};

const Message kResourceClaimSpec{"ResourceClaimSpec", {Msg(1, "devices", kDeviceClaim)}};

const Message kDeviceRequestAllocationResult{
    "DeviceRequestAllocationResult",
    {Str(1, "request"), Str(2, "driver"), Str(3, "pool"), Str(4, "device"),
     Bool(5, "adminAccess", kKeep), MsgList(6, "tolerations", kDeviceToleration),
     StrList(7, "bindingConditions"), StrList(8, "bindingFailureConditions"), Str(9, "shareID"),
     MapQty(10, "consumedCapacity")}};

const Message kDeviceAllocationConfiguration{
    "DeviceAllocationConfiguration",
    {Str(1, "source"), StrList(2, "requests"), Inline(3, kDeviceConfiguration)}};

const Message kDeviceAllocationResult{"DeviceAllocationResult",
                                      {MsgList(1, "results", kDeviceRequestAllocationResult),
                                       MsgList(2, "config", kDeviceAllocationConfiguration)}};

const Message kAllocationResult{
    "AllocationResult",
    {Msg(1, "devices", kDeviceAllocationResult), Msg(3, "nodeSelector", kNodeSelector),
     Time(5, "allocationTimestamp")}};

const Message kResourceClaimConsumerReference{
    "ResourceClaimConsumerReference",
    {Str(1, "apiGroup"), Str(3, "resource"), Str(4, "name"), Str(5, "uid")}};

const Message kNetworkDeviceData{
    "NetworkDeviceData", {Str(1, "interfaceName"), StrList(2, "ips"), Str(3, "hardwareAddress")}};

const Message kAllocatedDeviceStatus{
    "AllocatedDeviceStatus",
    {Str(1, "driver"), Str(2, "pool"), Str(3, "device"), MsgList(4, "conditions", kCondition),
     Raw(5, "data"), Msg(6, "networkData", kNetworkDeviceData), Str(7, "shareID")}};

const Message kResourceClaimStatus{"ResourceClaimStatus",
                                   {Msg(1, "allocation", kAllocationResult),
                                    MsgList(2, "reservedFor", kResourceClaimConsumerReference),
                                    MsgList(4, "devices", kAllocatedDeviceStatus)}};

const Message kResourceClaim{"ResourceClaim",
                             {Msg(1, "metadata", kObjectMeta), Msg(2, "spec", kResourceClaimSpec),
                              Msg(3, "status", kResourceClaimStatus)}};

const Message kResourceClaimList{
    "ResourceClaimList", {Msg(1, "metadata", kListMeta), MsgList(2, "items", kResourceClaim)}};

const Message kResourceClaimTemplateSpec{
    "ResourceClaimTemplateSpec",
    {Msg(1, "metadata", kObjectMeta), Msg(2, "spec", kResourceClaimSpec)}};

const Message kResourceClaimTemplate{
    "ResourceClaimTemplate",
    {Msg(1, "metadata", kObjectMeta), Msg(2, "spec", kResourceClaimTemplateSpec)}};

const Message kResourceClaimTemplateList{
    "ResourceClaimTemplateList",
    {Msg(1, "metadata", kListMeta), MsgList(2, "items", kResourceClaimTemplate)}};

const Message kDeviceClassConfiguration{"DeviceClassConfiguration",
                                        {Inline(1, kDeviceConfiguration)}};

const Message kDeviceClassSpec{
    "DeviceClassSpec",
    {MsgList(1, "selectors", kDeviceSelector), MsgList(2, "config", kDeviceClassConfiguration),
     Str(4, "extendedResourceName")}};

const Message kDeviceClass{"DeviceClass",
                           {Msg(1, "metadata", kObjectMeta), Msg(2, "spec", kDeviceClassSpec)}};

const Message kDeviceClassList{"DeviceClassList",
                               {Msg(1, "metadata", kListMeta), MsgList(2, "items", kDeviceClass)}};

}  // namespace

const std::vector<Kind>& Kinds() {
  static const std::vector<Kind> kKinds = {
      {"resource.k8s.io/v1", "ResourceSlice", &kResourceSlice},
      {"resource.k8s.io/v1", "ResourceSliceList", &kResourceSliceList, "ResourceSlice"},
      {"resource.k8s.io/v1", "ResourceClaim", &kResourceClaim},
      {"resource.k8s.io/v1", "ResourceClaimList", &kResourceClaimList, "ResourceClaim"},
      {"resource.k8s.io/v1", "ResourceClaimTemplate", &kResourceClaimTemplate},
      {"resource.k8s.io/v1", "ResourceClaimTemplateList", &kResourceClaimTemplateList,
       "ResourceClaimTemplate"},
      {"resource.k8s.io/v1", "DeviceClass", &kDeviceClass},
      {"resource.k8s.io/v1", "DeviceClassList", &kDeviceClassList, "DeviceClass"},
      {"v1", "Event", &kCoreEvent},
      {"v1", "ConfigMap", &kConfigMap},
      {"v1", "ConfigMapList", &kConfigMapList, "ConfigMap"},
      {"v1", "Secret", &kSecret},
      {"v1", "SecretList", &kSecretList, "Secret"},
      {"v1", "Namespace", &kNamespace},
      {"v1", "NamespaceList", &kNamespaceList, "Namespace"},
      {"v1", "Node", &kNode},
      {"v1", "NodeList", &kNodeList, "Node"},
      {"v1", "EventList", &kCoreEventList, "Event"},
      {"events.k8s.io/v1", "Event", &kEventsEvent},
      {"events.k8s.io/v1", "EventList", &kEventsEventList, "Event"},
      {"coordination.k8s.io/v1", "Lease", &kLease},
      {"coordination.k8s.io/v1", "LeaseList", &kLeaseList, "Lease"},
      {"v1", "Status", &kStatus},
      // DeleteOptions is registered in every group version; client-go's
      // envelope names the resource's or meta.k8s.io/v1.
      {"", "DeleteOptions", &kDeleteOptions, nullptr, false},
  };
  return kKinds;
}

}  // namespace drahil::apiserver::internal::pb
