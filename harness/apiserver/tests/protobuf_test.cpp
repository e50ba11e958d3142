// The protobuf codec (protobuf.hpp): JSON -> protobuf -> JSON round trips of
// every resource.k8s.io/v1 kind with every field set, malformed bytes, the
// watch framing, output negotiation, and the HTTP paths (create, get, list,
// update /status, watch, errors, 406) against an in-process server.
#include "protobuf.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <utility>

#include "drahil/apiserver/apiserver.hpp"
#include "drahil/core/child_process.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/testing/testing.hpp"
#include "test_client.hpp"

using drahil::apiserver::ApiServer;
using namespace drahil::apiserver::internal;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const char* kPb = "application/vnd.kubernetes.protobuf";

json FullMeta(bool namespaced) {
  json m = {{"name", "obj-1"},
            {"generateName", "obj-"},
            {"selfLink", "/x"},
            {"uid", "0b5e5c9e-0000-4000-8000-000000000001"},
            {"resourceVersion", "42"},
            {"generation", 3},
            {"creationTimestamp", "2025-01-02T03:04:05Z"},
            {"deletionTimestamp", "2025-01-02T03:05:05Z"},
            {"deletionGracePeriodSeconds", 0},
            {"labels", {{"app", "gpu"}, {"tier", "x"}}},
            {"annotations", {{"note", "hello"}}},
            {"ownerReferences",
             {{{"apiVersion", "v1"},
               {"kind", "Node"},
               {"name", "node-1"},
               {"uid", "u-1"},
               {"controller", true},
               {"blockOwnerDeletion", false}}}},
            {"finalizers", {"a.example.com/f", "b"}},
            {"managedFields",
             {{{"manager", "kubectl"},
               {"operation", "Update"},
               {"apiVersion", "resource.k8s.io/v1"},
               {"time", "2025-01-02T03:04:05Z"},
               {"fieldsType", "FieldsV1"},
               {"fieldsV1", {{"f:spec", {{"f:driver", json::object()}}}}},
               {"subresource", "status"}}}}};
  if (namespaced) m["namespace"] = "default";
  return m;
}

json NodeSelector() {
  return {{"nodeSelectorTerms",
           {{{"matchExpressions",
              {{{"key", "kubernetes.io/hostname"}, {"operator", "In"}, {"values", {"a", "b"}}}}},
             {"matchFields",
              {{{"key", "metadata.name"}, {"operator", "NotIn"}, {"values", {"c"}}}}}}}}};
}

json FullSlice() {
  json device = {
      {"name", "gpu-0"},
      {"attributes",
       {{"model", {{"string", "H200"}}},
        {"index", {{"int", 0}}},
        {"neg", {{"int", -7}}},
        {"ok", {{"bool", false}}},
        {"driverVersion", {{"version", "1.2.3"}}},
        // List values (DRAListTypeAttributes, KEP-5491).
        {"links", {{"ints", {0, -1, 3}}}},
        {"flags", {{"bools", {true, false}}}},
        {"modes", {{"strings", {"a", ""}}}},
        {"firmware", {{"versions", {"1.0.0", "2.1.0"}}}}}},
      {"capacity",
       {{"memory",
         {{"value", "80Gi"},
          {"requestPolicy",
           {{"default", "1Gi"},
            {"validValues", {"1Gi", "2Gi"}},
            {"validRange", {{"min", "1Gi"}, {"max", "8Gi"}, {"step", "1Gi"}}}}}}},
        {"cores", {{"value", "132"}}}}},
      {"consumesCounters",
       {{{"counterSet", "gpu-0-counters"}, {"counters", {{"memory", {{"value", "80Gi"}}}}}}}},
      {"nodeName", "node-1"},
      {"nodeSelector", NodeSelector()},
      {"allNodes", false},
      {"taints",
       {{{"key", "example.com/unhealthy"},
         {"value", "true"},
         {"effect", "NoSchedule"},
         {"timeAdded", "2025-01-02T03:04:05Z"}}}},
      {"bindsToNode", true},
      {"bindingConditions", {"Ready"}},
      {"bindingFailureConditions", {"Failed"}},
      {"allowMultipleAllocations", true}};
  return {{"apiVersion", "resource.k8s.io/v1"},
          {"kind", "ResourceSlice"},
          {"metadata", FullMeta(false)},
          {"spec",
           {{"driver", "gpu.example.com"},
            {"pool", {{"name", "node-1"}, {"generation", 0}, {"resourceSliceCount", 2}}},
            {"nodeName", "node-1"},
            {"nodeSelector", NodeSelector()},
            {"allNodes", true},
            {"devices", {device}},
            {"perDeviceNodeSelection", false},
            {"sharedCounters",
             {{{"name", "gpu-0-counters"}, {"counters", {{"memory", {{"value", "80Gi"}}}}}}}}}}};
}

json Tolerations() {
  return {{{"key", "example.com/unhealthy"},
           {"operator", "Equal"},
           {"value", "true"},
           {"effect", "NoSchedule"},
           {"tolerationSeconds", 30}}};
}

json ClaimSpec() {
  json selectors = {{{"cel", {{"expression", "device.driver == \"gpu.example.com\""}}}}};
  json capacity = {{"requests", {{"memory", "1Gi"}}}};
  return {{"devices",
           {{"requests",
             {{{"name", "gpu"},
               {"exactly",
                {{"deviceClassName", "gpu.example.com"},
                 {"selectors", selectors},
                 {"allocationMode", "ExactCount"},
                 {"count", 2},
                 {"adminAccess", false},
                 {"tolerations", Tolerations()},
                 {"capacity", capacity}}}},
              {{"name", "any"},
               {"firstAvailable",
                {{{"name", "big"},
                  {"deviceClassName", "gpu.example.com"},
                  {"selectors", selectors},
                  {"allocationMode", "All"},
                  {"count", 1},
                  {"tolerations", Tolerations()},
                  {"capacity", capacity}}}}}}},
            {"constraints",
             {{{"requests", {"gpu"}},
               {"matchAttribute", "gpu.example.com/model"},
               {"distinctAttribute", "gpu.example.com/index"}}}},
            {"config",
             {{{"requests", {"gpu"}},
               {"opaque",
                {{"driver", "gpu.example.com"},
                 {"parameters",
                  {{"kind", "GpuConfig"}, {"sharing", {{"strategy", "TimeSlicing"}}}}}}}}}}}}};
}

json FullClaim() {
  json status = {
      {"allocation",
       {{"devices",
         {{"results",
           {{{"request", "gpu"},
             {"driver", "gpu.example.com"},
             {"pool", "node-1"},
             {"device", "gpu-0"},
             {"adminAccess", true},
             {"tolerations", Tolerations()},
             {"bindingConditions", {"Ready"}},
             {"bindingFailureConditions", {"Failed"}},
             {"shareID", "7f1a0e2c-0000-4000-8000-000000000000"},
             {"consumedCapacity", {{"memory", "1Gi"}}}}}},
          {"config",
           {{{"source", "FromClaim"},
             {"requests", {"gpu"}},
             {"opaque", {{"driver", "gpu.example.com"}, {"parameters", {{"a", 1}}}}}}}}}},
        {"nodeSelector", NodeSelector()},
        {"allocationTimestamp", "2025-01-02T03:04:05Z"}}},
      {"reservedFor",
       {{{"apiGroup", ""}, {"resource", "pods"}, {"name", "pod-1"}, {"uid", "p-1"}}}},
      {"devices",
       {{{"driver", "gpu.example.com"},
         {"pool", "node-1"},
         {"device", "gpu-0"},
         {"shareID", "7f1a0e2c-0000-4000-8000-000000000000"},
         {"conditions",
          {{{"type", "Ready"},
            {"status", "True"},
            {"observedGeneration", 2},
            {"lastTransitionTime", "2025-01-02T03:04:05Z"},
            {"reason", "Configured"},
            {"message", "ok"}}}},
         {"data", {{"healthy", true}}},
         {"networkData",
          {{"interfaceName", "eth1"},
           {"ips", {"192.0.2.5/24", "2001:db8::5/64"}},
           {"hardwareAddress", "00:11:22:33:44:55"}}}}}}};
  // apiGroup "" is Go's zero value of an omitempty field: it stays out.
  status["reservedFor"][0].erase("apiGroup");
  return {{"apiVersion", "resource.k8s.io/v1"},
          {"kind", "ResourceClaim"},
          {"metadata", FullMeta(true)},
          {"spec", ClaimSpec()},
          {"status", status}};
}

json FullClass() {
  return {
      {"apiVersion", "resource.k8s.io/v1"},
      {"kind", "DeviceClass"},
      {"metadata", FullMeta(false)},
      {"spec",
       {{"selectors", {{{"cel", {{"expression", "true"}}}}}},
        {"config", {{{"opaque", {{"driver", "gpu.example.com"}, {"parameters", {{"x", "y"}}}}}}}},
        {"extendedResourceName", "example.com/gpu"}}}};
}

json FullTemplate() {
  json inner = FullMeta(false);
  return {{"apiVersion", "resource.k8s.io/v1"},
          {"kind", "ResourceClaimTemplate"},
          {"metadata", FullMeta(true)},
          {"spec", {{"metadata", {{"labels", {{"a", "b"}}}}}, {"spec", ClaimSpec()}}}};
}

json ListOf(const std::string& kind, const json& item) {
  return {
      {"apiVersion", "resource.k8s.io/v1"},
      {"kind", kind + "List"},
      {"metadata", {{"resourceVersion", "77"}, {"continue", "token"}, {"remainingItemCount", 0}}},
      {"items", {item, item}}};
}

json RoundTrip(const json& obj) {
  std::string err;
  auto bytes = EncodeProtobufObject(obj, &err);
  INFO(err);
  REQUIRE(bytes.has_value());
  CHECK(bytes->substr(0, 4) == std::string("k8s\0", 4));
  auto back = DecodeProtobufObject(*bytes, &err);
  INFO(err);
  REQUIRE(back.has_value());
  return *back;
}

// Bytes(): an envelope around raw message bytes.
std::string Env(const std::string& kind, const std::string& raw,
                const std::string& api_version = "resource.k8s.io/v1") {
  auto s = [](uint32_t f, const std::string& b) {
    std::string o;
    o.push_back(static_cast<char>(f << 3 | 2));
    o.push_back(static_cast<char>(b.size()));  // tests keep these < 128
    return o + b;
  };
  std::string tm = s(1, api_version) + s(2, kind);
  std::string out("k8s\0", 4);
  out += s(1, tm);
  out += "\x12";
  // raw may be longer than 127: a two-byte length.
  size_t n = raw.size();
  if (n < 128) {
    out.push_back(static_cast<char>(n));
  } else {
    out.push_back(static_cast<char>((n & 0x7F) | 0x80));
    out.push_back(static_cast<char>(n >> 7));
  }
  return out + raw;
}

std::string DecodeError(const std::string& body) {
  std::string err;
  auto r = DecodeProtobufObject(body, &err);
  CHECK_FALSE(r.has_value());
  return err;
}

}  // namespace

TEST_CASE("protobuf: every resource.k8s.io/v1 kind round-trips with every field set",
          "[apiserver][protobuf]") {
  for (const json& obj : {FullSlice(), FullClaim(), FullClass(), FullTemplate()}) {
    INFO(obj["kind"]);
    CHECK(RoundTrip(obj) == obj);
    json list = ListOf(obj["kind"], obj);
    CHECK(RoundTrip(list) == list);
  }
  json status = {
      {"apiVersion", "v1"},
      {"kind", "Status"},
      {"metadata", {{"resourceVersion", "1"}}},
      {"status", "Failure"},
      {"message", "resourceslices \"x\" not found"},
      {"reason", "NotFound"},
      {"details",
       {{"name", "x"},
        {"group", "resource.k8s.io"},
        {"kind", "resourceslices"},
        {"uid", "u"},
        {"retryAfterSeconds", 3},
        {"causes", {{{"reason", "FieldValueInvalid"}, {"message", "m"}, {"field", "f"}}}}}},
      {"code", 404}};
  CHECK(RoundTrip(status) == status);
}

// The kinds a driver writes besides resource.k8s.io: Events through either
// API (client-go's record and events packages) and Leases (leader election).
// Field numbers from k8s.io/api core/v1, events/v1 and coordination/v1
// generated.proto; MicroTime is Time's wire form shown to the microsecond
// (metav1.RFC3339Micro).
TEST_CASE("protobuf: Events (core and events.k8s.io) and Leases round-trip with every field set",
          "[apiserver][protobuf]") {
  json ref = {{"kind", "Pod"},      {"namespace", "ns"},      {"name", "p"},        {"uid", "u-1"},
              {"apiVersion", "v1"}, {"resourceVersion", "7"}, {"fieldPath", "spec"}};
  json meta = {{"name", "e.1"}, {"namespace", "ns"}, {"resourceVersion", "9"}};
  json core = {{"apiVersion", "v1"},
               {"kind", "Event"},
               {"metadata", meta},
               {"involvedObject", ref},
               {"reason", "Prepared"},
               {"message", "m"},
               {"source", {{"component", "driver"}, {"host", "node-a"}}},
               {"firstTimestamp", "2026-01-02T03:04:05Z"},
               {"lastTimestamp", "2026-01-02T03:04:06Z"},
               {"count", 3},
               {"type", "Normal"},
               {"eventTime", "2026-01-02T03:04:05.123456Z"},
               {"series", {{"count", 2}, {"lastObservedTime", "2026-01-02T03:04:07.000001Z"}}},
               {"action", "Prepare"},
               {"related", ref},
               {"reportingComponent", "gpu.vendor.example/driver"},
               {"reportingInstance", "node-a"}};
  CHECK(RoundTrip(core) == core);
  json events = {{"apiVersion", "events.k8s.io/v1"},
                 {"kind", "Event"},
                 {"metadata", meta},
                 {"eventTime", "2026-01-02T03:04:05.000010Z"},
                 {"series", {{"count", 2}, {"lastObservedTime", "2026-01-02T03:04:09.999999Z"}}},
                 {"reportingController", "gpu.vendor.example/driver"},
                 {"reportingInstance", "node-a"},
                 {"action", "Prepare"},
                 {"reason", "Prepared"},
                 {"regarding", ref},
                 {"related", ref},
                 {"note", "n"},
                 {"type", "Warning"},
                 {"deprecatedSource", {{"component", "c"}}},
                 {"deprecatedFirstTimestamp", "2026-01-02T03:04:05Z"},
                 {"deprecatedLastTimestamp", "2026-01-02T03:04:05Z"},
                 {"deprecatedCount", 1}};
  CHECK(RoundTrip(events) == events);
  json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                {"kind", "Lease"},
                {"metadata", {{"name", "driver-leader"}, {"namespace", "kube-system"}}},
                {"spec",
                 {{"holderIdentity", "node-a"},
                  {"leaseDurationSeconds", 15},
                  {"acquireTime", "2026-01-02T03:04:05.500000Z"},
                  {"renewTime", "2026-01-02T03:04:20.000000Z"},
                  {"leaseTransitions", 0},
                  {"strategy", "OldestEmulationVersion"},
                  {"preferredHolder", "node-b"}}}};
  CHECK(RoundTrip(lease) == lease);
  for (const json& obj : {core, events, lease}) {
    json list = {{"apiVersion", obj["apiVersion"]},
                 {"kind", obj["kind"].get<std::string>() + "List"},
                 {"metadata", {{"resourceVersion", "12"}}},
                 {"items", {obj, obj}}};
    CHECK(RoundTrip(list) == list);
  }
}

// The other core kinds a driver writes: ConfigMaps and Secrets (bytes maps
// as base64 in JSON), Namespaces and its own Node. Field numbers from k8s.io/api
// core/v1 generated.proto (NamespaceCondition has no field 3; NodeConfigSource
// has no field 1, the removed configMapRef).
TEST_CASE("protobuf: ConfigMaps, Secrets, Namespaces and Nodes round-trip with every field set",
          "[apiserver][protobuf]") {
  json meta = {{"name", "n"}, {"namespace", "ns"}, {"labels", {{"a", "b"}}}};
  json cm = {{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata", meta},
             {"data", {{"k", "v"}, {"empty", ""}}},
             {"binaryData", {{"bin", "AAEC/w=="}, {"one", "YQ=="}}},
             {"immutable", false}};
  json secret = {{"apiVersion", "v1"},
                 {"kind", "Secret"},
                 {"metadata", meta},
                 {"data", {{"tls.crt", "LS0tLS1CRUdJTg=="}, {"z", ""}}},
                 {"type", "kubernetes.io/tls"},
                 {"stringData", {{"s", "plain"}}},
                 {"immutable", true}};
  json ns = {{"apiVersion", "v1"},
             {"kind", "Namespace"},
             {"metadata", {{"name", "gpu-operator"}}},
             {"spec", {{"finalizers", {"kubernetes"}}}},
             {"status",
              {{"phase", "Terminating"},
               {"conditions",
                {{{"type", "NamespaceDeletionContentFailure"},
                  {"status", "False"},
                  {"lastTransitionTime", "2026-01-02T03:04:05Z"},
                  {"reason", "ContentDeleted"},
                  {"message", "All content successfully deleted"}}}}}}};
  json source = {{"configMap",
                  {{"namespace", "kube-system"},
                   {"name", "kubelet-config"},
                   {"uid", "u"},
                   {"resourceVersion", "3"},
                   {"kubeletConfigKey", "kubelet"}}}};
  json node = {
      {"apiVersion", "v1"},
      {"kind", "Node"},
      {"metadata",
       {{"name", "node-a"},
        {"labels", {{"kubernetes.io/hostname", "node-a"}, {"accel.example.org/present", "true"}}},
        {"annotations", {{"accel.example.org/driver", "1.2.3"}}}}},
      {"spec",
       {{"podCIDR", "10.0.0.0/24"},
        {"podCIDRs", {"10.0.0.0/24", "fd00::/64"}},
        {"providerID", "aws:///i-1"},
        {"unschedulable", true},
        {"taints",
         {{{"key", "accel.example.org/unhealthy"},
           {"value", "xid-79"},
           {"effect", "NoSchedule"},
           {"timeAdded", "2026-01-02T03:04:05Z"}},
          {{"key", "k"}, {"effect", "NoExecute"}}}},
        {"configSource", source},
        {"externalID", "legacy"}}},
      {"status",
       {{"capacity", {{"cpu", "8"}, {"memory", "64Gi"}, {"accel.example.org/acc", "4"}}},
        {"allocatable", {{"cpu", "7500m"}, {"memory", "60Gi"}}},
        {"phase", "Running"},
        {"conditions",
         {{{"type", "Ready"},
           {"status", "True"},
           {"lastHeartbeatTime", "2026-01-02T03:04:05Z"},
           {"lastTransitionTime", "2026-01-02T03:00:00Z"},
           {"reason", "KubeletReady"},
           {"message", "kubelet is posting ready status"}}}},
        {"addresses",
         {{{"type", "InternalIP"}, {"address", "10.1.2.3"}},
          {{"type", "Hostname"}, {"address", "node-a"}}}},
        {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", 10250}}}}},
        {"nodeInfo",
         {{"machineID", "m"},
          {"systemUUID", "s"},
          {"bootID", "b"},
          {"kernelVersion", "6.1.0"},
          {"osImage", "Debian GNU/Linux 12 (bookworm)"},
          {"containerRuntimeVersion", "containerd://2.0.0"},
          {"kubeletVersion", "v1.36.0"},
          {"kubeProxyVersion", ""},
          {"operatingSystem", "linux"},
          {"architecture", "amd64"},
          {"swap", {{"capacity", 0}}}}},
        {"images", {{{"names", {"registry.example/driver:1.2.3"}}, {"sizeBytes", 123456789}}}},
        {"volumesInUse", {"kubernetes.io/csi/x"}},
        {"volumesAttached", {{{"name", "kubernetes.io/csi/x"}, {"devicePath", ""}}}},
        {"config",
         {{"assigned", source}, {"active", source}, {"lastKnownGood", source}, {"error", "none"}}},
        {"runtimeHandlers",
         {{{"name", ""},
           {"features", {{"recursiveReadOnlyMounts", true}, {"userNamespaces", false}}}},
          {{"name", "nvidia"}}}},
        {"features", {{"supplementalGroupsPolicy", true}}},
        {"declaredFeatures", {"InPlacePodVerticalScaling"}}}}};
  for (const json& obj : {cm, secret, ns, node}) {
    INFO(obj["kind"]);
    CHECK(RoundTrip(obj) == obj);
    json list = {{"apiVersion", "v1"},
                 {"kind", obj["kind"].get<std::string>() + "List"},
                 {"metadata", {{"resourceVersion", "12"}}},
                 {"items", {obj, obj}}};
    CHECK(RoundTrip(list) == list);
  }
  // Bytes that are not Go's standard base64 cannot be encoded; the error
  // names the field.
  json bad = cm;
  bad["binaryData"]["bin"] = "not base64!";
  std::string err;
  CHECK_FALSE(EncodeProtobufObject(bad, &err).has_value());
  CHECK(err.find("binaryData") != std::string::npos);
  CHECK(err.find("want a base64 string") != std::string::npos);
  // The wire form of a Secret's data value is the raw bytes: field 2 entry
  // {key "k" (1), value "\x00\x01" (2)}.
  json tiny = {{"apiVersion", "v1"},
               {"kind", "Secret"},
               {"metadata", json::object()},
               {"data", {{"k", "AAE="}}}};
  auto wire = EncodeProtobufObject(tiny, &err);
  REQUIRE(wire.has_value());
  CHECK(wire->find(std::string("\x12\x07\x0a\x01k\x12\x02\x00\x01", 9)) != std::string::npos);
}

TEST_CASE("protobuf: a Lease as client-go marshals it, byte for byte", "[apiserver][protobuf]") {
  // metadata {name: "l"}, spec {holderIdentity: "a" (1), leaseDurationSeconds:
  // 15 (2), renewTime (4) {seconds: 1, nanos: 2000}, leaseTransitions: 0 (5)}:
  // a pointer's zero is on the wire and in JSON.
  std::string spec = std::string(
      "\x0a\x01"
      "a"
      "\x10\x0f"
      "\x22\x05\x08\x01\x10\xd0\x0f"
      "\x28\x00",
      14);
  std::string raw = std::string("\x0a\x03\x0a\x01l", 5) + "\x12" +
                    std::string(1, static_cast<char>(spec.size())) + spec;
  std::string err;
  auto obj = DecodeProtobufObject(Env("Lease", raw, "coordination.k8s.io/v1"), &err);
  INFO(err);
  REQUIRE(obj.has_value());
  CHECK(*obj == json{{"apiVersion", "coordination.k8s.io/v1"},
                     {"kind", "Lease"},
                     {"metadata", {{"name", "l"}}},
                     {"spec",
                      {{"holderIdentity", "a"},
                       {"leaseDurationSeconds", 15},
                       {"renewTime", "1970-01-01T00:00:01.000002Z"},
                       {"leaseTransitions", 0}}}});
  auto back = EncodeProtobufObject(*obj, &err);
  REQUIRE(back.has_value());
  // The same bytes, in the envelope with upstream's empty contentEncoding
  // and contentType.
  CHECK(*back == Env("Lease", raw, "coordination.k8s.io/v1") + std::string("\x1a\x00\x22\x00", 4));
}

TEST_CASE("protobuf: Go zero values decode as Go's JSON encoder leaves them",
          "[apiserver][protobuf]") {
  // A ResourceSlice as client-go marshals it: every non-pointer field
  // present, empty ones too, and a zero creationTimestamp.
  std::string meta = std::string("\x0a\x01s", 3) + std::string("\x12\x00", 2) +
                     std::string("\x42\x0b\x08\x80\x92\xb8\xc3\x98\xfe\xff\xff\xff\x01", 13);
  std::string pool = std::string("\x0a\x01p\x10\x00\x18\x01", 7);
  std::string spec = std::string(
                         "\x0a\x01"
                         "d",
                         3) +
                     "\x12" + static_cast<char>(pool.size()) + pool + std::string("\x1a\x00", 2);
  std::string raw = "\x0a" + std::string(1, static_cast<char>(meta.size())) + meta + "\x12" +
                    std::string(1, static_cast<char>(spec.size())) + spec;
  std::string err;
  auto obj = DecodeProtobufObject(Env("ResourceSlice", raw), &err);
  INFO(err);
  REQUIRE(obj.has_value());
  CHECK(*obj == json{{"apiVersion", "resource.k8s.io/v1"},
                     {"kind", "ResourceSlice"},
                     {"metadata", {{"name", "s"}}},
                     {"spec",
                      {{"driver", "d"},
                       {"pool", {{"name", "p"}, {"generation", 0}, {"resourceSliceCount", 1}}}}}});
}

TEST_CASE("protobuf: malformed bytes give an error naming the message and field",
          "[apiserver][protobuf]") {
  // ResourceSlice.spec (2) = ResourceSliceSpec{pool (2) = ResourcePool{generation (2): ...}}.
  auto slice = [](const std::string& pool) {
    std::string spec = "\x12" + std::string(1, static_cast<char>(pool.size())) + pool;
    return Env("ResourceSlice", "\x12" + std::string(1, static_cast<char>(spec.size())) + spec);
  };
  // Truncated varint: generation's value has its continuation bit set.
  std::string e = DecodeError(slice("\x10\xff"));
  CHECK(e.find("field 2 (generation) of message ResourcePool") != std::string::npos);
  CHECK(e.find("truncated varint") != std::string::npos);
  CHECK(e.find("ResourceSlice.spec.pool") != std::string::npos);
  // Wrong wire type: generation as a length-delimited field.
  e = DecodeError(slice(std::string("\x12\x01x", 3)));
  CHECK(e.find("field 2 (generation) of message ResourcePool") != std::string::npos);
  CHECK(e.find("wire type 2, want 0") != std::string::npos);
  // Length beyond the buffer: name (1) says 9 bytes, 1 follows.
  e = DecodeError(slice(std::string("\x0a\x09p", 3)));
  CHECK(e.find("field 1 (name) of message ResourcePool") != std::string::npos);
  CHECK(e.find("length beyond the end") != std::string::npos);
  // An unknown field number.
  e = DecodeError(slice(std::string("\x78\x01", 2)));
  CHECK(e.find("field 15 of message ResourcePool") != std::string::npos);
  CHECK(e.find("unknown field") != std::string::npos);
  // Groups (wire types 3 and 4) are refused.
  e = DecodeError(slice(std::string("\x0b", 1)));
  CHECK(e.find("field 1 (name) of message ResourcePool") != std::string::npos);
  // Invalid UTF-8 in a string.
  e = DecodeError(slice(std::string("\x0a\x01\xff", 3)));
  CHECK(e.find("invalid UTF-8") != std::string::npos);
  // Deep nesting: a RawExtension (class config parameters) nested past
  // Go's JSON depth limit.
  std::string deep(10001, '[');
  deep += std::string(10001, ']');
  std::string raw_ext;
  {
    // RawExtension{raw = 1}: a length of 20002 needs three varint bytes.
    auto len = [](size_t n) {
      std::string o;
      while (n >= 0x80) {
        o.push_back(static_cast<char>((n & 0x7F) | 0x80));
        n >>= 7;
      }
      o.push_back(static_cast<char>(n));
      return o;
    };
    raw_ext = "\x0a" + len(deep.size()) + deep;
    std::string opaque = "\x12" + len(raw_ext.size()) + raw_ext;
    std::string devcfg = "\x0a" + len(opaque.size()) + opaque;
    std::string cfg = "\x0a" + len(devcfg.size()) + devcfg;
    std::string spec = "\x12" + len(cfg.size()) + cfg;
    std::string body = "\x12" + len(spec.size()) + spec;
    std::string tm = std::string(
        "\x0a\x12resource.k8s.io/v1\x12\x0b"
        "DeviceClass",
        33);
    std::string env =
        std::string("k8s\0", 4) + "\x0a" + len(tm.size()) + tm + "\x12" + len(body.size()) + body;
    e = DecodeError(env);
    CHECK(e.find("field 2 (parameters) of message OpaqueDeviceConfiguration") != std::string::npos);
    CHECK(e.find("nested too deeply") != std::string::npos);
  }
  // No envelope; a kind without a message here.
  CHECK(DecodeError("nope").find("without the k8s envelope") != std::string::npos);
  std::string err;
  bool unsupported = false;
  CHECK_FALSE(DecodeProtobufObject(Env("Pod", "", "v1"), &err, &unsupported));
  CHECK(unsupported);
}

TEST_CASE("protobuf: encoding refuses what has no field, names it", "[apiserver][protobuf]") {
  json s = FullSlice();
  s["spec"]["devices"][0]["attributes"]["modes"] = {{"stringz", {"a", "b"}}};
  std::string err;
  CHECK_FALSE(EncodeProtobufObject(s, &err));
  CHECK(err.find("\"stringz\"") != std::string::npos);
  CHECK(err.find("DeviceAttribute") != std::string::npos);
  s = FullSlice();
  s["spec"]["pool"]["generation"] = "one";
  CHECK_FALSE(EncodeProtobufObject(s, &err));
  CHECK(err.find("field 2 (generation) of message ResourcePool") != std::string::npos);
  CHECK_FALSE(EncodeProtobufObject(json{{"apiVersion", "v1"}, {"kind", "Pod"}}, &err));
  CHECK_FALSE(ProtobufEncodable("v1", "DeleteOptions"));
  CHECK(ProtobufEncodable("resource.k8s.io/v1", "ResourceSliceList"));
  CHECK_FALSE(ProtobufEncodable("resource.k8s.io/v1beta1", "ResourceSlice"));
}

// A repeated scalar may arrive packed (one length-delimited run of varints)
// or unpacked (a key per element); parsers accept both. DeviceAttribute
// {ints (6): [1, 300] packed, bools (7): true, false unpacked}.
TEST_CASE("protobuf: packed and unpacked repeated scalars decode the same",
          "[apiserver][protobuf]") {
  std::string attr = std::string("\x32\x03\x01\xac\x02", 5) + std::string("\x38\x01\x38\x00", 4);
  std::string entry = std::string("\x0a\x01x\x12", 4) + static_cast<char>(attr.size()) + attr;
  std::string device = std::string(
                           "\x0a\x01"
                           "d",
                           3) +
                       "\x12" + static_cast<char>(entry.size()) + entry;
  // ResourceSliceSpec.devices is field 6; driver 1.
  std::string slice_spec = std::string(
                               "\x0a\x01"
                               "a",
                               3) +
                           "\x32" + static_cast<char>(device.size()) + device;
  std::string raw = std::string("\x12", 1) + static_cast<char>(slice_spec.size()) + slice_spec;
  std::string err;
  auto obj = DecodeProtobufObject(Env("ResourceSlice", raw), &err);
  INFO(err);
  REQUIRE(obj.has_value());
  json a = (*obj)["spec"]["devices"][0]["attributes"]["x"];
  CHECK(a["ints"] == json({1, 300}));
  CHECK(a["bools"] == json({true, false}));
}

TEST_CASE("protobuf: DeleteOptions bodies decode", "[apiserver][protobuf]") {
  // DeleteOptions{gracePeriodSeconds 0, preconditions{uid "u", resourceVersion "9"},
  // propagationPolicy "Background"}.
  std::string raw = std::string(
                        "\x08\x00\x12\x06\x0a\x01u\x12\x01"
                        "9",
                        10) +
                    std::string(
                        "\x22\x0a"
                        "Background",
                        12);
  std::string err;
  auto obj = DecodeProtobufObject(Env("DeleteOptions", raw, "meta.k8s.io/v1"), &err);
  INFO(err);
  REQUIRE(obj.has_value());
  CHECK((*obj)["gracePeriodSeconds"] == 0);
  CHECK((*obj)["preconditions"] == json{{"uid", "u"}, {"resourceVersion", "9"}});
  CHECK((*obj)["propagationPolicy"] == "Background");
}

TEST_CASE("protobuf: watch events are length-prefixed WatchEvents", "[apiserver][protobuf]") {
  json obj = FullSlice();
  std::string line = json{{"type", "MODIFIED"}, {"object", obj}}.dump() + "\n";
  std::string frame = ProtobufWatchFrame(line);
  REQUIRE(frame.size() > 4);
  uint32_t n = (static_cast<uint8_t>(frame[0]) << 24) | (static_cast<uint8_t>(frame[1]) << 16) |
               (static_cast<uint8_t>(frame[2]) << 8) | static_cast<uint8_t>(frame[3]);
  CHECK(n == frame.size() - 4);
  std::string err;
  auto ev = DecodeProtobufWatchEvent(frame.substr(4), &err);
  INFO(err);
  REQUIRE(ev.has_value());
  CHECK((*ev)["type"] == "MODIFIED");
  CHECK((*ev)["object"] == obj);
  // An object without a protobuf form becomes an ERROR event.
  std::string bad = ProtobufWatchFrame(
      json{{"type", "ADDED"}, {"object", {{"apiVersion", "v1"}, {"kind", "Pod"}}}}.dump());
  ev = DecodeProtobufWatchEvent(bad.substr(4), &err);
  REQUIRE(ev.has_value());
  CHECK((*ev)["type"] == "ERROR");
  CHECK((*ev)["object"]["kind"] == "Status");
  CHECK((*ev)["object"]["code"] == 500);
}

TEST_CASE("protobuf: output negotiation", "[apiserver][protobuf]") {
  using O = OutputMedia;
  CHECK(NegotiateOutput("", true) == O::kJson);
  CHECK(NegotiateOutput("*/*", true) == O::kJson);
  CHECK(NegotiateOutput("application/vnd.kubernetes.protobuf, application/json", true) ==
        O::kProtobuf);
  CHECK(NegotiateOutput("application/vnd.kubernetes.protobuf, application/json", false) ==
        O::kJson);
  CHECK(NegotiateOutput("application/vnd.kubernetes.protobuf", false) == O::kNone);
  CHECK(NegotiateOutput("application/json, application/vnd.kubernetes.protobuf", true) == O::kJson);
  CHECK(NegotiateOutput("application/json;q=0.5, application/vnd.kubernetes.protobuf", true) ==
        O::kProtobuf);
  CHECK(NegotiateOutput("application/vnd.kubernetes.protobuf;stream=watch", true) == O::kProtobuf);
  CHECK(NegotiateOutput("application/vnd.kubernetes.protobuf;as=Table;g=meta.k8s.io;v=v1, "
                        "application/json",
                        true) == O::kJson);
  CHECK(NegotiateOutput("application/yaml", true) == O::kNone);
  CHECK(NegotiateOutput("application/json;q=nan, application/vnd.kubernetes.protobuf", true) ==
        O::kProtobuf);
  CHECK(NegotiateOutput("application/json;q=0", true) == O::kNone);
  CHECK(AcceptsJsonOutput("application/vnd.kubernetes.protobuf, */*"));
  CHECK_FALSE(AcceptsJsonOutput("application/vnd.kubernetes.protobuf"));
}

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

struct PbResult {
  int status = 0;
  std::string content_type;
  std::string body;
};

PbResult Call(const ApiServer& s, const std::string& method, const std::string& target,
              const std::string& body, const std::string& accept,
              const std::string& content_type = kPb) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(std::chrono::seconds(10));
  stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), s.port()));
  http::request<http::string_body> req(http::string_to_verb(method), target, 11);
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::authorization, "Bearer " + s.admin_token());
  if (!body.empty()) req.set(http::field::content_type, content_type);
  req.set(http::field::accept, accept);
  req.set(http::field::user_agent, "pb-test/1.0");
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(stream, buf, res);
  return {static_cast<int>(res.result_int()), std::string(res[http::field::content_type]),
          res.body()};
}

json Decoded(const PbResult& r) {
  std::string err;
  auto obj = DecodeProtobufObject(r.body, &err);
  INFO(err << " / " << r.body);
  REQUIRE(obj.has_value());
  return *obj;
}

json SmallSlice(const std::string& name) {
  return {{"apiVersion", "resource.k8s.io/v1"},
          {"kind", "ResourceSlice"},
          {"metadata", {{"name", name}, {"labels", {{"app", "gpu"}}}}},
          {"spec",
           {{"driver", "gpu.example.com"},
            {"nodeName", "node-1"},
            {"pool", {{"name", "node-1"}, {"generation", 1}, {"resourceSliceCount", 1}}},
            {"devices",
             {{{"name", "gpu-0"},
               {"attributes", {{"model", {{"string", "H200"}}}, {"index", {{"int", 0}}}}},
               {"capacity", {{"memory", {{"value", "80Gi"}}}}}}}}}}};
}

}  // namespace

TEST_CASE("protobuf: a client that speaks protobuf creates, gets, lists and updates",
          "[apiserver][protobuf][http]") {
  auto s = ApiServer::Start({});
  REQUIRE_OK(s);
  ApiServer& server = **s;
  const std::string accept = std::string(kPb) + ", application/json";
  std::string err;
  const std::string slices = "/apis/resource.k8s.io/v1/resourceslices";

  json slice = SmallSlice("pb-1");
  auto created = Call(server, "POST", slices, *EncodeProtobufObject(slice, &err), accept);
  REQUIRE(created.status == 201);
  CHECK(created.content_type == kPb);
  json c = Decoded(created);
  CHECK(c["spec"] == slice["spec"]);
  CHECK(c["metadata"]["labels"] == slice["metadata"]["labels"]);
  CHECK(!c["metadata"]["uid"].get<std::string>().empty());

  auto got = Call(server, "GET", slices + "/pb-1", "", accept);
  REQUIRE(got.status == 200);
  CHECK(Decoded(got) == c);
  // JSON first: JSON.
  auto as_json = Call(server, "GET", slices + "/pb-1", "", "application/json, " + std::string(kPb));
  CHECK(as_json.content_type == "application/json");
  CHECK(json::parse(as_json.body) == c);

  auto list = Call(server, "GET", slices, "", accept);
  REQUIRE(list.status == 200);
  json l = Decoded(list);
  CHECK(l["kind"] == "ResourceSliceList");
  REQUIRE(l["items"].size() == 1);
  CHECK(l["items"][0] == c);

  // Update: a new generation of the pool.
  json upd = c;
  upd["spec"]["pool"]["generation"] = 2;
  auto updated = Call(server, "PUT", slices + "/pb-1", *EncodeProtobufObject(upd, &err), accept);
  REQUIRE(updated.status == 200);
  CHECK(Decoded(updated)["spec"]["pool"]["generation"] == 2);

  // Errors in protobuf: a Status.
  auto missing = Call(server, "GET", slices + "/nope", "", accept);
  CHECK(missing.status == 404);
  CHECK(missing.content_type == kPb);
  json st = Decoded(missing);
  CHECK(st["kind"] == "Status");
  CHECK(st["reason"] == "NotFound");
  CHECK(st["code"] == 404);

  // A malformed body: 400 naming the field.
  std::string bad = *EncodeProtobufObject(slice, &err);
  bad.back() = '\xff';
  bad.push_back('\xff');
  auto refused = Call(server, "POST", slices, bad, accept);
  CHECK(refused.status == 400);
  CHECK(Decoded(refused)["message"].get<std::string>().find("error decoding protobuf body") !=
        std::string::npos);

  // A claim's status written in protobuf through /status.
  const std::string claims = "/apis/resource.k8s.io/v1/namespaces/default/resourceclaims";
  json claim = {
      {"apiVersion", "resource.k8s.io/v1"},
      {"kind", "ResourceClaim"},
      {"metadata", {{"name", "c1"}, {"namespace", "default"}}},
      {"spec",
       {{"devices",
         {{"requests",
           {{{"name", "gpu"}, {"exactly", {{"deviceClassName", "gpu.example.com"}}}}}}}}}}};
  auto cc = Call(server, "POST", claims, *EncodeProtobufObject(claim, &err), accept);
  REQUIRE(cc.status == 201);
  json stored = Decoded(cc);
  json result = {
      {"request", "gpu"}, {"driver", "gpu.example.com"}, {"pool", "node-1"}, {"device", "gpu-0"}};
  json status = json::object();
  status["allocation"]["devices"]["results"] = json::array({result});
  status["reservedFor"] = json::array({{{"resource", "pods"}, {"name", "p"}, {"uid", "u1"}}});
  stored["status"] = status;
  auto st_upd =
      Call(server, "PUT", claims + "/c1/status", *EncodeProtobufObject(stored, &err), accept);
  INFO(st_upd.body);
  REQUIRE(st_upd.status == 200);
  json after = Decoded(st_upd);
  CHECK(after["status"] == stored["status"]);

  // Delete with a protobuf DeleteOptions body (client-go sends one).
  std::string opts = std::string("k8s\0", 4) + "\x0a\x13\x0a\x0emeta.k8s.io/v1" +
                     std::string("\x12\x01", 2) + "D" + "\x12\x00";
  // kind "D" is not DeleteOptions: the handler refuses the body.
  CHECK(Call(server, "DELETE", slices + "/pb-1", opts, accept).status == 400);
}

// A driver whose client speaks protobuf takes its leader-election Lease and
// writes Events (client-go's tools/events) in protobuf too.
TEST_CASE("protobuf: a protobuf client creates and renews a Lease and writes an Event",
          "[apiserver][protobuf][http]") {
  auto s = ApiServer::Start({});
  REQUIRE_OK(s);
  ApiServer& server = **s;
  const std::string accept = std::string(kPb) + ", application/json";
  std::string err;
  const std::string leases = "/apis/coordination.k8s.io/v1/namespaces/default/leases";
  json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                {"kind", "Lease"},
                {"metadata", {{"name", "gpu-vendor-example-leader"}, {"namespace", "default"}}},
                {"spec",
                 {{"holderIdentity", "node-a_1"},
                  {"leaseDurationSeconds", 15},
                  {"acquireTime", "2026-12-05T01:02:03.000004Z"},
                  {"renewTime", "2026-12-05T01:02:03.000004Z"},
                  {"leaseTransitions", 0}}}};
  auto created = Call(server, "POST", leases, *EncodeProtobufObject(lease, &err), accept);
  REQUIRE(created.status == 201);
  CHECK(created.content_type == kPb);
  json c = Decoded(created);
  CHECK(c["spec"] == lease["spec"]);
  // Renewed: only renewTime moves, read back in JSON to the microsecond.
  c["spec"]["renewTime"] = "2026-12-05T01:02:13.250000Z";
  auto renewed = Call(server, "PUT", leases + "/gpu-vendor-example-leader",
                      *EncodeProtobufObject(c, &err), accept);
  REQUIRE(renewed.status == 200);
  auto as_json = Call(server, "GET", leases + "/gpu-vendor-example-leader", "", "application/json");
  CHECK(json::parse(as_json.body)["spec"]["renewTime"] == "2026-12-05T01:02:13.250000Z");
  auto listed = Call(server, "GET", leases, "", accept);
  REQUIRE(listed.status == 200);
  CHECK(Decoded(listed)["kind"] == "LeaseList");

  json event = {{"apiVersion", "events.k8s.io/v1"},
                {"kind", "Event"},
                {"metadata", {{"name", "claim-prepared.1"}, {"namespace", "default"}}},
                {"eventTime", "2026-12-05T01:02:03.000100Z"},
                {"reportingController", "gpu.vendor.example/kubelet-plugin"},
                {"reportingInstance", "node-a"},
                {"action", "Prepare"},
                {"reason", "Prepared"},
                {"regarding", {{"kind", "ResourceClaim"}, {"namespace", "default"}, {"name", "c"}}},
                {"type", "Normal"}};
  auto ev = Call(server, "POST", "/apis/events.k8s.io/v1/namespaces/default/events",
                 *EncodeProtobufObject(event, &err), accept);
  INFO(ev.body);
  REQUIRE(ev.status == 201);
  CHECK(Decoded(ev)["regarding"] == event["regarding"]);
  CHECK(Decoded(ev)["eventTime"] == "2026-12-05T01:02:03.000100Z");
  // The same Event read as a core/v1 protobuf Event (one storage, two versions).
  auto core = Call(server, "GET", "/api/v1/namespaces/default/events/claim-prepared.1", "", accept);
  REQUIRE(core.status == 200);
  CHECK(core.content_type == kPb);
  json ce = Decoded(core);
  CHECK(ce["kind"] == "Event");
  CHECK(ce["apiVersion"] == "v1");
  CHECK(ce["involvedObject"] == event["regarding"]);
  CHECK(ce["reportingComponent"] == "gpu.vendor.example/kubelet-plugin");
  CHECK(ce["eventTime"] == "2026-12-05T01:02:03.000100Z");
}

// A driver whose client-go is set to protobuf (ContentType only, so Accept
// is "protobuf, */*") labels its Node with a read-modify-update, as
// Nodes().Update does, and keeps a ConfigMap.
TEST_CASE("protobuf: a protobuf client updates its Node and writes a ConfigMap",
          "[apiserver][protobuf][http]") {
  auto s = ApiServer::Start({});
  REQUIRE_OK(s);
  ApiServer& server = **s;
  const std::string accept = std::string(kPb) + ", */*";
  std::string err;
  json node = {
      {"apiVersion", "v1"},
      {"kind", "Node"},
      {"metadata", {{"name", "node-a"}, {"labels", {{"kubernetes.io/hostname", "node-a"}}}}},
      {"status", {{"capacity", {{"cpu", "8"}}}}}};
  auto created = Call(server, "POST", "/api/v1/nodes", *EncodeProtobufObject(node, &err), accept);
  INFO(created.body);
  REQUIRE(created.status == 201);
  CHECK(created.content_type == kPb);
  auto got = Call(server, "GET", "/api/v1/nodes/node-a", "", accept);
  REQUIRE(got.status == 200);
  CHECK(got.content_type == kPb);
  json n = Decoded(got);
  CHECK(n["metadata"]["labels"]["kubernetes.io/hostname"] == "node-a");
  n["metadata"]["labels"]["accel.example.org/present"] = "true";
  auto updated =
      Call(server, "PUT", "/api/v1/nodes/node-a", *EncodeProtobufObject(n, &err), accept);
  INFO(updated.body);
  REQUIRE(updated.status == 200);
  json back = json::parse(Call(server, "GET", "/api/v1/nodes/node-a", "", "application/json").body);
  CHECK(back["metadata"]["labels"]["accel.example.org/present"] == "true");
  CHECK(back["status"]["capacity"]["cpu"] == "8");
  auto listed = Call(server, "GET", "/api/v1/nodes", "", accept);
  REQUIRE(listed.status == 200);
  CHECK(Decoded(listed)["kind"] == "NodeList");
  CHECK(Decoded(listed)["items"].size() == 1);

  json cm = {{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata", {{"name", "accel-state"}, {"namespace", "default"}}},
             {"data", {{"generation", "3"}}},
             {"binaryData", {{"blob", "AAE="}}}};
  auto c = Call(server, "POST", "/api/v1/namespaces/default/configmaps",
                *EncodeProtobufObject(cm, &err), accept);
  INFO(c.body);
  REQUIRE(c.status == 201);
  CHECK(c.content_type == kPb);
  json cd = Decoded(c);
  CHECK(cd["data"] == cm["data"]);
  CHECK(cd["binaryData"] == cm["binaryData"]);
}

TEST_CASE("protobuf: kinds without a protobuf form answer JSON or 406",
          "[apiserver][protobuf][http]") {
  auto s = ApiServer::Start({});
  REQUIRE_OK(s);
  ApiServer& server = **s;
  // Pods have no encoder here: JSON when acceptable, else 406.
  auto j = Call(server, "GET", "/api/v1/namespaces/default/pods", "",
                std::string(kPb) + ", application/json");
  CHECK(j.status == 200);
  CHECK(j.content_type == "application/json");
  auto refused = Call(server, "GET", "/api/v1/namespaces/default/pods", "", kPb);
  CHECK(refused.status == 406);
  // client-go's Accept when only ContentType is protobuf (rest.NewRequest).
  auto any = Call(server, "GET", "/api/v1/namespaces/default/pods", "", std::string(kPb) + ", */*");
  CHECK(any.status == 200);
  CHECK(any.content_type == "application/json");
  // Discovery stays JSON.
  CHECK(Call(server, "GET", "/apis", "", std::string(kPb) + ", application/json").content_type ==
        "application/json");
}

TEST_CASE("protobuf: a watch in protobuf framing", "[apiserver][protobuf][http]") {
  auto s = ApiServer::Start({});
  REQUIRE_OK(s);
  ApiServer& server = **s;
  REQUIRE_OK(server.Create("resourceslices", SmallSlice("w-1")));
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(std::chrono::seconds(10));
  stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
  http::request<http::empty_body> req(
      http::verb::get, "/apis/resource.k8s.io/v1/resourceslices?watch=true&timeoutSeconds=5", 11);
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::authorization, "Bearer " + server.admin_token());
  req.set(http::field::accept, std::string(kPb) + ";stream=watch, application/json");
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  http::read(stream, buf, parser);  // the watch ends after timeoutSeconds
  CHECK(parser.get()[http::field::content_type] == kProtobufWatchMediaType);
  std::string body = parser.get().body();
  REQUIRE(body.size() > 4);
  uint32_t n = (static_cast<uint8_t>(body[0]) << 24) | (static_cast<uint8_t>(body[1]) << 16) |
               (static_cast<uint8_t>(body[2]) << 8) | static_cast<uint8_t>(body[3]);
  REQUIRE(body.size() >= 4 + n);
  std::string err;
  auto ev = DecodeProtobufWatchEvent(std::string_view(body).substr(4, n), &err);
  INFO(err);
  REQUIRE(ev.has_value());
  CHECK((*ev)["type"] == "ADDED");
  CHECK((*ev)["object"]["metadata"]["name"] == "w-1");
  CHECK((*ev)["object"]["spec"] == SmallSlice("w-1")["spec"]);
}

// An independent client: Debian's python3-protobuf with message classes
// protoc compiles from scripts/k8s_resource_v1.proto, over HTTPS with the
// admin token, every gate on so every field stays.
TEST_CASE("apiserver: a protobuf client round-trips a ResourceSlice",
          "[apiserver][protobuf][clients][python]") {
  std::string python = drahil::testing::DebianPython();
  if (python.empty()) DRAHIL_SKIP("Debian's /usr/bin/python3 is absent");
  auto probe = drahil::RunCommand({python, "-c", "import google.protobuf"}, 30s);
  if (!probe.ok() || !probe->exit.success()) {
    DRAHIL_SKIP("python3-protobuf is not installed for /usr/bin/python3");
  }
  if (drahil::testing::FindOnPath("protoc").empty()) {
    DRAHIL_SKIP("protoc is not on PATH (protobuf-compiler)");
  }
  ApiServer::Options opts;
  for (const auto& gate : opts.gates.Names()) (void)opts.gates.Set(gate, true);
  auto s = ApiServer::Start(opts);
  REQUIRE_OK(s);
  ApiServer& server = **s;
  auto dir = drahil::TempDir::Create("apiserver-protobuf-");
  REQUIRE_OK(dir);
  REQUIRE_OK(drahil::AtomicWriteFile(dir->Join("ca.pem"), server.ca_pem()));
  std::string script =
      drahil::testing::SourceDir() + "/harness/apiserver/tests/scripts/python_protobuf.py";
  auto run = drahil::RunCommand(
      {python, script, server.url(), dir->Join("ca.pem"), server.admin_token(), dir->path()}, 90s);
  REQUIRE_OK(run);
  INFO(run->output);
  if (run->output.rfind("SKIP: ", 0) == 0) DRAHIL_SKIP(run->output.substr(6));
  CHECK(run->exit.success());
  for (const char* step :
       {"ok: create ResourceSlice in protobuf", "ok: get ResourceSlice in protobuf, every field",
        "ok: list ResourceSlices in protobuf", "ok: watch MODIFIED in protobuf framing",
        "ok: update ResourceClaim status in protobuf", "ok: 404 as a protobuf Status"}) {
    CHECK(run->output.find(step) != std::string::npos);
  }
}
