// File: kubelet.hpp
//
// KubeletStandIn: plays the node-side half of a Kubernetes 1.34–1.36 kubelet
// towards DRA drivers (docs/reference/protocol.md sections 1, 2, 6):
//   - watches a plugin registry directory (inotify + initial scan + a
//     reconcile loop) and registers plugins over pluginregistration v1,
//     answering NotifyRegistrationStatus with the kubelet's texts;
//   - calls DRA v1 or v1beta1 NodePrepareResources / NodeUnprepareResources
//     with the kubelet's deadlines and response checks, keeps the claim-info
//     cache and its checkpoint file, and logs every call;
//   - watches each plugin's health stream and derives allocatedResourcesStatus;
//   - serves the PodResources v1 API on a unix socket.
//
//   KubeletStandIn k;
//   KubeletStandIn::Options o;  o.state_dir = tmp.path();
//   DRAHIL_RETURN_IF_ERROR(k.Start(registry_dir, plugins_dir, o));
//   DRAHIL_ASSIGN_OR_RETURN(auto plugin, k.WaitForPlugin("gpu.example.com", 10s));
//   CallResult r = k.Prepare("gpu.example.com", {{"default", uid, "claim-1"}});
//
// Thread-safety: all public methods may be called from any thread, also
// concurrently. Internal threads call Options::on_event with no lock held.
// Timeouts: every gRPC call has a deadline (options below); every Wait* takes one.
#ifndef DRAHIL_KUBELET_KUBELET_HPP_INCLUDED
#define DRAHIL_KUBELET_KUBELET_HPP_INCLUDED

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "drahil/core/clock.hpp"
#include "drahil/core/status.hpp"
#include "drahil/kubelet/types.hpp"

namespace drahil::kubelet {

class KubeletStandIn {
 public:
  enum class HealthMode {
    // Watch only a plugin that advertised a health service, preferring v1
    // over v1alpha1 (kubelet HEAD).
    kIfAdvertised,
    // Watch v1alpha1 for every plugin, advertised or not (kubelets 1.34–1.36
    // with the ResourceHealthStatus gate on).
    kAlways,
    // Watch nothing: the ResourceHealthStatus gate is off (the default of
    // 1.34 and 1.35), so pods never get allocatedResourcesStatus.
    kOff,
  };

  struct Options {
    // Where the claim-info checkpoint "dra_manager_state" lives; empty = none.
    std::string state_dir;
    // Serve PodResources v1 on this unix socket; empty = not served.
    std::string podresources_socket;
    // Per-call deadline of NodePrepareResources/NodeUnprepareResources.
    std::chrono::milliseconds call_timeout{45000};
    std::chrono::milliseconds dial_timeout{10000};
    std::chrono::milliseconds getinfo_timeout{1000};
    std::chrono::milliseconds notify_timeout{5000};
    // Plugin-manager reconcile period (register new sockets, drop gone ones).
    std::chrono::milliseconds reconcile_interval{1000};
    // Connection monitor (kubelet monitor.go): every monitor_interval each
    // registered plugin is dialled and asked GetInfo; after monitor_failures
    // failures in a row its socket leaves the desired state (so it is
    // unregistered) until it answers again. Zero interval = no monitor.
    std::chrono::milliseconds monitor_interval{10000};
    std::chrono::milliseconds monitor_dial_timeout{20000};
    std::chrono::milliseconds monitor_getinfo_timeout{10000};
    int monitor_failures = 2;
    // Pause before reopening a health stream after an error or EOF.
    std::chrono::milliseconds health_restart_interval{5000};
    // Staleness limit for devices that set no health_check_timeout_seconds.
    std::chrono::seconds health_default_timeout{30};
    HealthMode health_mode = HealthMode::kIfAdvertised;
    // Largest reply accepted from a plugin; larger is RESOURCE_EXHAUSTED.
    // 4 MiB: the kubelet's DRA client (pkg/kubelet/cm/dra/plugin) sets no
    // limit of its own, so grpc-go's default client receive size applies.
    size_t max_receive_bytes = 4u << 20;
    // A pod whose sync failed (e.g. its NodePrepareResources) is synced again
    // after the pod worker's backoff (pkg/kubelet/pod_workers.go completeWork:
    // backOffPeriod, 10 s in pkg/kubelet/kubelet.go, jittered by up to +50%).
    // PodSyncBackoff() gives the wait; callers that drive pods (the runner's
    // run-pod) retry at most pod_sync_retries times, where the kubelet never
    // stops (docs/kubelet.md).
    std::chrono::milliseconds pod_sync_backoff{10000};
    int pod_sync_retries = 2;
    // Calls() keeps the last max_call_records DRA calls; CallCounts() counts
    // them all. Bounds a long soak's memory (each record holds the reply).
    size_t max_call_records = 10000;
    // Deletes the node's ResourceSlices of one driver ("" = of every driver),
    // as the kubelet does (pkg/kubelet/cm/dra/plugin/dra_plugin_manager.go,
    // wipeResourceSlices): once at start, and wipe_delay after a driver's
    // last registered plugin is gone unless one registers again meanwhile.
    // A failure is retried with backoff (1 s doubling to 5 min). Empty = the
    // stand-in never wipes (no API server to talk to).
    std::function<Status(const std::string& driver)> wipe_slices;
    std::chrono::milliseconds wipe_delay{30000};
    // Called from internal threads (no lock held) on registration and health
    // changes; must not call back into Stop().
    std::function<void(const Event&)> on_event;
    // Time source of the registration backoff, the health staleness limit
    // and the registered/received timestamps; must outlive the stand-in.
    // gRPC deadlines, dial timeouts and the Wait* helpers (which wait for
    // other threads and processes) always run on real time.
    Clock* clock = &Clock::Real();
  };

  // Per-call overrides (fault hooks for the runner).
  struct CallOptions {
    std::optional<std::chrono::milliseconds> timeout;  // replaces Options::call_timeout
    // Caps the call's deadline (the caller's own time left, e.g. a test
    // step's): the deadline is min(timeout or call_timeout, max_timeout).
    std::optional<std::chrono::milliseconds> max_timeout;
    // Call this DRA service (kDraV1Service / kDraV1beta1Service) instead of the
    // one chosen at registration; the plugin must have advertised it, else the
    // call fails with kFailedPrecondition and nothing is sent.
    std::optional<std::string> api;
  };

  KubeletStandIn();
  ~KubeletStandIn();  // Stop()
  KubeletStandIn(const KubeletStandIn&) = delete;
  KubeletStandIn& operator=(const KubeletStandIn&) = delete;

  // Start(): creates registry_dir and plugins_dir (0755) when missing, loads
  // the checkpoint if one exists (a corrupt one is an error naming the file),
  // starts the PodResources server, the watcher and the reconcile loop.
  // Existing sockets in registry_dir count as created.
  Status Start(const std::string& registry_dir, const std::string& plugins_dir,
               const Options& options);
  // Stop(): cancels health streams, unregisters nothing on the plugin side,
  // stops threads and servers. Idempotent.
  void Stop();

  // WaitForPlugin(): polls until a plugin named name is registered, else
  // kDeadlineExceeded naming the plugin and the findings seen so far.
  Result<PluginState> WaitForPlugin(const std::string& name, std::chrono::milliseconds timeout);
  // WaitForPluginGone(): until no instance of name is registered.
  Status WaitForPluginGone(const std::string& name, std::chrono::milliseconds timeout);
  // WaitForFinding(): until a finding of kind for socket (or any socket when
  // socket is empty) has been recorded.
  Result<Finding> WaitForFinding(const std::string& kind, const std::string& socket,
                                 std::chrono::milliseconds timeout);
  std::vector<PluginState> Plugins() const;
  // RegistrationCount(): how many times a plugin named name was registered
  // since Start() (a re-created socket counts again).
  int RegistrationCount(const std::string& name) const;

  // Prepare()/Unprepare(): one DRA call to the driver's current instance with
  // the given batch. Unknown driver: kFailedPrecondition, no call made. On
  // success the claim-info cache (and checkpoint) is updated.
  CallResult Prepare(const std::string& driver, const std::vector<ClaimRef>& claims,
                     const CallOptions& call = {});
  CallResult Unprepare(const std::string& driver, const std::vector<ClaimRef>& claims,
                       const CallOptions& call = {});

  // PreparePod(): the kubelet's pod flow: every driver must be registered,
  // the pod is added to each claim's cache entry (checkpointed) before any
  // call, then one NodePrepareResources per driver with the pod's claims that
  // are not yet prepared. UnpreparePod(): one NodeUnprepareResources per
  // driver for the claims this pod is the last user of; other claims only
  // lose the pod reference.
  PodResult PreparePod(const Pod& pod, const CallOptions& call = {});
  PodResult UnpreparePod(const std::string& pod_uid, const CallOptions& call = {});

  // Restart(): simulates a kubelet restart: drops all in-memory state
  // (plugins, health, cache), reloads the checkpoint, re-registers the
  // plugins still in the registry directory and, with replay_prepares, calls
  // NodePrepareResources again for every checkpointed pod (as a restarted
  // kubelet does for running pods), waiting up to timeout for drivers. The
  // replayed calls use call (its max_timeout counts from the restart).
  PodResult Restart(bool replay_prepares, std::chrono::milliseconds timeout,
                    const CallOptions& call = {});

  // PodSyncBackoff(): the wait before the kubelet syncs a pod again after
  // its attempt-th failed sync (1-based): Options::pod_sync_backoff times
  // 1 + j/2, j in [0, 1) derived from the pod UID and attempt, so a run is
  // reproducible. PodSyncRetries(): Options::pod_sync_retries.
  [[nodiscard]] std::chrono::milliseconds PodSyncBackoff(const std::string& pod_uid,
                                                         int attempt) const;
  [[nodiscard]] int PodSyncRetries() const;

  // Fault hook: replaces Options::call_timeout for later calls.
  void SetCallTimeout(std::chrono::milliseconds timeout);
  // CancelCalls(): cancels every DRA call in flight (they end with
  // kCancelled naming reason) and fails later ones at once, without a call,
  // until ResumeCalls(). Safe from any thread (e.g. a signal watcher).
  void CancelCalls(const std::string& reason);
  void ResumeCalls();

  // Health(): the current health view of one driver (staleness applied now).
  HealthSnapshot Health(const std::string& driver) const;
  // WaitForHealth(): polls until pred(Health(driver)) holds.
  Result<HealthSnapshot> WaitForHealth(const std::string& driver,
                                       const std::function<bool(const HealthSnapshot&)>& pred,
                                       std::chrono::milliseconds timeout) const;
  // AllocatedResourcesStatus(): containerStatuses[].allocatedResourcesStatus
  // for one container of a pod given to PreparePod().
  Result<std::vector<ResourceStatus>> AllocatedResourcesStatus(const std::string& pod_uid,
                                                               const std::string& container) const;

  std::vector<Finding> Findings() const;
  void ClearFindings();
  // Calls(): the DRA calls made, oldest first; only the last
  // Options::max_call_records are kept.
  std::vector<CallRecord> Calls() const;
  // CallCounts(): every DRA call made since Start(), per method.
  std::map<std::string, uint64_t> CallCounts() const;
  std::vector<ClaimInfo> Claims() const;
  // CheckpointPath(): "<state_dir>/dra_manager_state", or "" without a state dir.
  std::string CheckpointPath() const;
  const std::string& registry_dir() const;
  const std::string& plugins_dir() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace drahil::kubelet

#endif  // DRAHIL_KUBELET_KUBELET_HPP_INCLUDED
