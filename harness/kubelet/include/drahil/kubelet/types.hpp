// File: types.hpp
//
// Plain value types of the kubelet stand-in: claims, devices, call records,
// registration findings, health and the pod model used for batching and
// PodResources. No gRPC or protobuf types appear here, so the runner and the
// reports can include this header cheaply.
//
// Thread-safety: values; no shared state.
#ifndef DRAHIL_KUBELET_TYPES_HPP_INCLUDED
#define DRAHIL_KUBELET_TYPES_HPP_INCLUDED

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "drahil/core/status.hpp"

namespace drahil::kubelet {

// Strings a plugin puts in PluginInfo.supported_versions (docs/reference/protocol.md 1.6).
inline constexpr char kDraV1Service[] = "v1.DRAPlugin";
inline constexpr char kDraV1beta1Service[] = "v1beta1.DRAPlugin";
inline constexpr char kHealthV1alpha1Service[] = "v1alpha1.DRAResourceHealth";
inline constexpr char kHealthV1Service[] = "v1.DRAResourceHealth";
inline constexpr char kDraPluginType[] = "DRAPlugin";

// ClaimRef: what the kubelet sends per claim (namespace, uid, name).
struct ClaimRef {
  std::string namespace_name;
  std::string uid;
  std::string name;
  friend bool operator==(const ClaimRef&, const ClaimRef&) = default;
};

// Device: one prepared device as the driver returned it.
struct Device {
  std::vector<std::string> request_names;  // empty = serves all requests
  std::string pool_name;
  std::string device_name;
  std::vector<std::string> cdi_device_ids;
  std::optional<std::string> share_id;  // DRA v1 only (1.35+)
  friend bool operator==(const Device&, const Device&) = default;
};

// ClaimResult: the outcome for one claim of a call.
struct ClaimResult {
  ClaimRef claim;
  // OK, or the kubelet's text for this claim ("NodePrepareResources failed
  // for ResourceClaim <name>: <error>", "... skipped ...").
  Status status;
  std::vector<Device> devices;  // prepare only, when status is OK
};

// CallRecord: one DRA gRPC call as tests attach it to reports.
struct CallRecord {
  std::string method;    // "NodePrepareResources" / "NodeUnprepareResources"
  std::string driver;    // registered driver name
  std::string endpoint;  // socket path dialled
  std::string api;       // "v1.DRAPlugin" or "v1beta1.DRAPlugin"
  // The claims' UIDs in request order, shared by the record's copies (the
  // call history keeps one of every call): ClaimUids() reads them.
  std::shared_ptr<const std::vector<std::string>> claim_uids;
  Code code = Code::kOk;     // gRPC status code of the RPC itself
  std::string grpc_message;  // gRPC status message (empty when OK)
  std::chrono::milliseconds deadline{0};
  std::chrono::microseconds latency{0};
  std::chrono::system_clock::time_point started;
  // The reply as received (its protobuf wire bytes; null for a failed RPC).
  // Kept as bytes, shared by the record's copies (the call history and the
  // caller's result) and formatted only when shown: formatting every reply
  // as text cost a large prepare more than the kubelet's own work.
  std::shared_ptr<const std::string> response_bytes;
  Status verdict;  // the kubelet's verdict after its response checks
  [[nodiscard]] const std::vector<std::string>& ClaimUids() const;
  // ResponseText(): the reply in protobuf text format, one line (map entries
  // by key, as ShortDebugString() prints them), cut a little past 8 KiB; ""
  // without a reply.
  [[nodiscard]] std::string ResponseText() const;
  // ToString(): one line: "NodePrepareResources driver=... claims=[...] code=OK 12ms ...".
  [[nodiscard]] std::string ToString() const;
};

// CallResult: what Prepare()/Unprepare() return.
struct CallResult {
  // The kubelet's verdict: the first failing check in the kubelet's order
  // (unknown UID, per-claim error, missing entries, gRPC status), else OK.
  Status status;
  std::vector<ClaimResult> claims;  // in request order
  CallRecord record;
  // The status is the stand-in's own checkpoint write failing (a full disk,
  // drahil's environment), not anything the driver did.
  bool checkpoint_failed = false;
};

// Finding: a deviation seen while registering or watching a plugin, kept for
// the test that asked. Repeats of the same (socket, kind, message) are counted.
struct Finding {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  std::string socket;   // registration socket path
  std::string plugin;   // PluginInfo.name, when known
  std::string kind;     // short id: "getinfo-failed", "bad-type", "no-supported-version", ...
  std::string message;  // for rejections: the exact text sent in NotifyRegistrationStatus
  int count = 1;
  [[nodiscard]] std::string ToString() const;
};

// PluginState: one registered plugin instance.
struct PluginState {
  std::string name;
  std::string registration_socket;
  std::string endpoint;  // DRA socket (the registration socket when PluginInfo.endpoint was empty)
  std::vector<std::string> supported_versions;  // as advertised, in the plugin's order
  std::string dra_service;                      // chosen: kDraV1Service or kDraV1beta1Service
  std::string health_service;                   // watched health service, or "" when none
  std::chrono::system_clock::time_point registered_at;
  bool connected = false;  // DRA channel READY at the time of the query
};

enum class HealthState { kUnknown, kHealthy, kUnhealthy };
// HealthName(): "Unknown", "Healthy", "Unhealthy" as pod status spells them.
std::string_view HealthName(HealthState s);

// DeviceHealth: the stand-in's view of one device of one driver.
struct DeviceHealth {
  std::string driver;
  std::string pool_name;
  std::string device_name;
  HealthState reported = HealthState::kUnknown;   // last value the plugin sent
  HealthState effective = HealthState::kUnknown;  // after the staleness timeout
  std::string message;                            // cut to 1021 chars + "..." when over 1024
  int64_t plugin_last_updated_unix = 0;
  std::chrono::seconds timeout{30};                   // per device, or the default
  std::chrono::system_clock::time_point received_at;  // kubelet's "last updated"
};

// HealthSnapshot: what Health() returns for one driver.
struct HealthSnapshot {
  std::string driver;
  std::string service;  // "v1alpha1.DRAResourceHealth", ... or "" when not watched
  bool stream_open = false;
  int stream_starts = 0;              // how many times the stream was (re)opened
  int messages = 0;                   // messages received over all streams
  Status last_stream_end;             // why the last stream ended (OK = EOF)
  std::vector<DeviceHealth> devices;  // sorted by pool, device
};

// Pod model for batching, health derivation and PodResources. The runner
// fills it from the Pod and ResourceClaim objects.
struct ContainerClaim {
  std::string name;     // pod.spec.resourceClaims[].name
  std::string request;  // "" = all requests of the claim
};
struct Container {
  std::string name;
  std::vector<ContainerClaim> claims;  // container.resources.claims[]
};
struct PodClaim {
  std::string name;                  // pod.spec.resourceClaims[].name
  ClaimRef claim;                    // the ResourceClaim it resolved to
  std::vector<std::string> drivers;  // drivers of status.allocation.devices.results[]
};
struct Pod {
  std::string namespace_name;
  std::string name;
  std::string uid;
  std::vector<PodClaim> claims;
  std::vector<Container> containers;
};

// ClaimInfo: one entry of the kubelet's claim-info cache (and checkpoint).
struct ClaimInfo {
  ClaimRef claim;
  std::vector<std::string> pod_uids;
  // Devices per driver, as the drivers returned them.
  std::vector<std::pair<std::string, std::vector<Device>>> drivers;
  bool prepared = false;  // not checkpointed: false again after Restart()
};

// ResourceStatus: one entry of containerStatuses[].allocatedResourcesStatus.
struct ResourceHealth {
  std::string resource_id;  // first CDI ID, or "<driver>/<pool>/<device>"
  std::string health;       // "Healthy" | "Unhealthy" | "Unknown"
};
struct ResourceStatus {
  std::string name;  // "claim:<podClaim>" or "claim:<podClaim>/<request>"
  std::vector<ResourceHealth> resources;
};

// PodResult: PreparePod()/UnpreparePod(): one call per driver.
struct PodResult {
  Status status;  // first failure, else OK
  std::vector<CallResult> calls;
  bool checkpoint_failed = false;  // as CallResult::checkpoint_failed
};

// Event: what the stand-in reports to Options::on_event (the CLI logs them).
struct Event {
  enum class Kind { kRegistered, kRejected, kUnregistered, kHealth, kHealthStream, kSlicesWiped };
  Kind kind;
  std::string plugin;
  std::string message;
};

}  // namespace drahil::kubelet

#endif  // DRAHIL_KUBELET_TYPES_HPP_INCLUDED
