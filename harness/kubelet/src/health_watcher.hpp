// HealthWatcher: one NodeWatchResources stream per plugin instance, the way
// the kubelet runs it (docs/reference/protocol.md 1.4): every message is the full device
// list; the stream is reopened health_restart_interval after an error or
// EOF, and the driver's cached health is dropped when a stream ends. A device
// not reported for longer than its timeout reads as Unknown.
//
// Thread-safety: Snapshot() may be called from any thread. Callbacks run on
// the watcher thread with no lock of the watcher held.
#ifndef DRAHIL_KUBELET_SRC_HEALTH_WATCHER_HPP_INCLUDED
#define DRAHIL_KUBELET_SRC_HEALTH_WATCHER_HPP_INCLUDED

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "drahil/core/clock.hpp"
#include "drahil/core/mutex.hpp"
#include "drahil/kubelet/types.hpp"

namespace drahil::kubelet::internal {

// CutHealthMessage(): the kubelet's rule: over 1024 chars → first 1021 + "...".
std::string CutHealthMessage(const std::string& m);

class HealthWatcher {
 public:
  struct Config {
    std::string driver;
    std::string service;  // kHealthV1Service or kHealthV1alpha1Service
    std::chrono::milliseconds restart_interval{5000};
    std::chrono::seconds default_timeout{30};
    // Staleness and received_at are measured on this clock.
    Clock* clock = &Clock::Real();
    std::function<void(const Event&)> on_event;
    std::function<void(Finding)> on_finding;
  };

  HealthWatcher(Config config, std::shared_ptr<grpc::Channel> channel);
  ~HealthWatcher();  // Stop()
  HealthWatcher(const HealthWatcher&) = delete;
  HealthWatcher& operator=(const HealthWatcher&) = delete;

  void Start();
  // Stop(): cancels the stream and joins the thread. Idempotent.
  void Stop() DRAHIL_EXCLUDES(mu_);
  HealthSnapshot Snapshot() const DRAHIL_EXCLUDES(mu_);

 private:
  struct Entry {
    DeviceHealth health;
    Clock::TimePoint received;
  };
  void Run() DRAHIL_EXCLUDES(mu_);
  template <typename Stub, typename Req, typename Resp>
  grpc::Status RunStream() DRAHIL_EXCLUDES(mu_);
  template <typename Resp>
  void Apply(const Resp& resp) DRAHIL_EXCLUDES(mu_);

  Config config_;
  std::shared_ptr<grpc::Channel> channel_;
  mutable Mutex mu_;
  CondVar cv_;
  bool stop_ DRAHIL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* ctx_ DRAHIL_GUARDED_BY(mu_) = nullptr;  // the open stream, for TryCancel()
  bool stream_open_ DRAHIL_GUARDED_BY(mu_) = false;
  int stream_starts_ DRAHIL_GUARDED_BY(mu_) = 0;
  int messages_ DRAHIL_GUARDED_BY(mu_) = 0;
  Status last_end_ DRAHIL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, Entry> devices_ DRAHIL_GUARDED_BY(mu_);
  // At most this many devices are kept per stream; a report about one more
  // (a flood of devices never published) is dropped with one finding.
  static constexpr size_t kMaxDevices = 16384;
  bool over_devices_ DRAHIL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // started by Start(), joined by Stop()
};

}  // namespace drahil::kubelet::internal

#endif  // DRAHIL_KUBELET_SRC_HEALTH_WATCHER_HPP_INCLUDED
