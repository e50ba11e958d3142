// File: kubelet_impl.hpp (private)
//
// KubeletStandIn::Impl: the state of the stand-in and the steps the public
// methods and the internal threads share. Its methods live in
//   - plugin_manager.cpp: the reconcile loop and the connection monitor
//     (docs/reference/protocol.md 2.2), starting and stopping them;
//   - registration.cpp: one registration attempt and its backoff (2.3, 2.4);
//   - calls.cpp: instance selection (2.5) and the DRA calls with their
//     claim-info cache updates (2.7, 2.8);
//   - kubelet.cpp: findings, and the public API on top.
//
// Thread-safety: mu_ guards the registration, monitor, call and cache state
// (each member says so; clang's -Wthread-safety proves it). The settings
// (options_, the directories) are written by Start() before any thread
// runs; the loops' threads and servers (watcher_, podres_, reconciler_,
// monitor_) are started and joined by Start(), Stop() and Restart() without
// the lock. tracker_ has its own.
#ifndef DRAHIL_KUBELET_SRC_KUBELET_IMPL_HPP_INCLUDED
#define DRAHIL_KUBELET_SRC_KUBELET_IMPL_HPP_INCLUDED

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "claim_cache.hpp"
#include "dra_client.hpp"
#include "drahil/core/log.hpp"
#include "drahil/core/mutex.hpp"
#include "drahil/kubelet/kubelet.hpp"
#include "drahil/proto/pluginregistration_v1.grpc.pb.h"
#include "health_watcher.hpp"
#include "plugin_watcher.hpp"
#include "podresources_server.hpp"

namespace drahil::kubelet {

namespace internal {
// IsSocket(): path exists and is a unix socket.
bool IsSocket(const std::string& path);
}  // namespace internal

class KubeletStandIn::Impl {
 public:
  struct Instance {
    PluginState state;
    uint64_t stamp = 0;
    std::shared_ptr<internal::DraClient> client;
    std::unique_ptr<internal::HealthWatcher> health;
  };

  Options options_;
  std::string registry_dir_;
  std::string plugins_dir_;

  mutable Mutex mu_;
  CondVar cv_;
  bool running_ DRAHIL_GUARDED_BY(mu_) = false;
  // Set by a socket event: the reconciler runs at once instead of at its
  // next reconcile_interval tick.
  bool kick_ DRAHIL_GUARDED_BY(mu_) = false;
  // Desired state: socket -> creation stamp; actual state: socket -> instance.
  std::map<std::string, uint64_t> desired_ DRAHIL_GUARDED_BY(mu_);
  std::map<std::string, std::shared_ptr<Instance>> actual_ DRAHIL_GUARDED_BY(mu_);
  struct Retry {
    uint64_t stamp = 0;
    Clock::TimePoint next;
    std::chrono::milliseconds delay{0};
  };
  std::map<std::string, Retry> retry_ DRAHIL_GUARDED_BY(mu_);
  std::set<std::string> inflight_ DRAHIL_GUARDED_BY(mu_);
  struct Op {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Op> ops_ DRAHIL_GUARDED_BY(mu_);
  uint64_t next_stamp_ DRAHIL_GUARDED_BY(mu_) = 1;
  std::vector<Finding> findings_ DRAHIL_GUARDED_BY(mu_);
  // AddFinding()'s bound on distinct findings, and what came past it.
  static constexpr size_t kMaxFindingsPerKind = 32;
  static constexpr size_t kMaxFindings = 1024;
  static constexpr const char* kMoreLikeThis = " (and others of this kind, counted here)";
  int64_t dropped_findings_ DRAHIL_GUARDED_BY(mu_) = 0;
  std::deque<CallRecord> calls_ DRAHIL_GUARDED_BY(mu_);  // the last max_call_records
  std::map<std::string, uint64_t> call_counts_ DRAHIL_GUARDED_BY(mu_);
  std::map<std::string, int> registrations_ DRAHIL_GUARDED_BY(mu_);
  internal::ClaimCache cache_ DRAHIL_GUARDED_BY(mu_){""};
  std::chrono::milliseconds call_timeout_ DRAHIL_GUARDED_BY(mu_){45000};
  internal::CallTracker tracker_;  // DRA calls in flight (CancelCalls)
  std::unique_ptr<internal::PluginWatcher> watcher_;
  std::unique_ptr<internal::PodResourcesServer> podres_;
  std::thread reconciler_;
  std::thread monitor_;
  // Monitor state: sockets the monitor took out of the desired state (their
  // file still exists) and consecutive failures of registered sockets.
  std::set<std::string> evicted_ DRAHIL_GUARDED_BY(mu_);
  std::map<std::string, int> monitor_failures_ DRAHIL_GUARDED_BY(mu_);
  // ResourceSlice wiping: driver ("" = all) -> when its slices go, and the
  // thread that deletes them (WipeLoop()).
  std::map<std::string, Clock::TimePoint> pending_wipes_ DRAHIL_GUARDED_BY(mu_);
  std::thread wiper_;
  // The probe in flight, for TryCancel().
  grpc::ClientContext* monitor_ctx_ DRAHIL_GUARDED_BY(mu_) = nullptr;
  std::shared_ptr<spdlog::logger> log_ = log::Get("kubelet");

  // --- events and findings (kubelet.cpp) ---------------------------------------

  void Emit(const Event& e) const {
    if (options_.on_event) options_.on_event(e);
  }
  void AddFinding(Finding f) DRAHIL_EXCLUDES(mu_);

  // --- loops (plugin_manager.cpp) ----------------------------------------------

  Status StartLoops() DRAHIL_EXCLUDES(mu_);
  void StopLoops() DRAHIL_EXCLUDES(mu_);
  void OnSocketEvent(const std::string& path, bool created) DRAHIL_EXCLUDES(mu_);
  bool Running() const DRAHIL_EXCLUDES(mu_);
  void ReconcileLoop() DRAHIL_EXCLUDES(mu_);
  // Probe(): dial + GetInfo with the monitor's timeouts; "" = healthy, else why not.
  std::string Probe(const std::string& socket) DRAHIL_EXCLUDES(mu_);
  void MonitorLoop() DRAHIL_EXCLUDES(mu_);
  // SyncWipeLocked(): after the driver's plugins changed: cancels a pending
  // wipe when one is registered, else schedules one wipe_delay from now
  // (an earlier schedule stands).
  void SyncWipeLocked(const std::string& driver) DRAHIL_REQUIRES(mu_);
  void WipeLoop() DRAHIL_EXCLUDES(mu_);

  // --- registration (registration.cpp) -----------------------------------------

  void RegisterOp(const std::string& socket, uint64_t stamp) DRAHIL_EXCLUDES(mu_);
  grpc::Status Notify(pluginregistration::Registration::Stub& stub, bool registered,
                      const std::string& error);
  // Reject(): tells the plugin and records the finding. The Go helper answers
  // a false status with an error, so the reply is not checked.
  void Reject(pluginregistration::Registration::Stub& stub, const std::string& socket,
              const std::string& plugin, const std::string& kind, const std::string& text)
      DRAHIL_EXCLUDES(mu_);
  void Warn(const std::string& socket, const std::string& plugin, const std::string& kind,
            const std::string& text) DRAHIL_EXCLUDES(mu_);
  // Register(): one attempt; false = retry later with backoff.
  bool Register(const std::string& socket, uint64_t stamp) DRAHIL_EXCLUDES(mu_);

  // --- instance selection and calls (calls.cpp) --------------------------------

  // Latest registered instance that is connected, else the latest.
  std::shared_ptr<Instance> PickLocked(const std::string& driver) const DRAHIL_REQUIRES(mu_);
  std::shared_ptr<Instance> Pick(const std::string& driver) const DRAHIL_EXCLUDES(mu_);
  static CallResult NotRegistered(const char* method, const std::string& driver,
                                  const std::vector<ClaimRef>& claims);
  std::chrono::milliseconds Timeout(const CallOptions& call) const DRAHIL_EXCLUDES(mu_);
  // CallDriver(): one call; records it and applies successful claims to the
  // cache. Does not touch "prepared" or pod references.
  CallResult CallDriver(bool prepare, const std::string& driver,
                        const std::vector<ClaimRef>& claims, const CallOptions& call)
      DRAHIL_EXCLUDES(mu_);
  CallResult Prepare(const std::string& driver, const std::vector<ClaimRef>& claims,
                     const CallOptions& call) DRAHIL_EXCLUDES(mu_);
  CallResult Unprepare(const std::string& driver, const std::vector<ClaimRef>& claims,
                       const CallOptions& call) DRAHIL_EXCLUDES(mu_);
  PodResult PreparePod(const Pod& pod, const CallOptions& call) DRAHIL_EXCLUDES(mu_);
  PodResult UnpreparePod(const std::string& pod_uid, const CallOptions& call) DRAHIL_EXCLUDES(mu_);
  internal::PodResourcesView PodResourcesSnapshot() const DRAHIL_EXCLUDES(mu_);
};

}  // namespace drahil::kubelet

#endif  // DRAHIL_KUBELET_SRC_KUBELET_IMPL_HPP_INCLUDED
