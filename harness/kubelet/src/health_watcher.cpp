#include "health_watcher.hpp"

#include <vector>

#include "dra_client.hpp"
#include "drahil/proto/dra_health_v1.grpc.pb.h"
#include "drahil/proto/dra_health_v1alpha1.grpc.pb.h"

namespace drahil::kubelet::internal {

std::string CutHealthMessage(const std::string& m) {
  if (m.size() <= 1024) return m;
  return m.substr(0, 1021) + "...";
}

HealthWatcher::HealthWatcher(Config config, std::shared_ptr<grpc::Channel> channel)
    : config_(std::move(config)), channel_(std::move(channel)) {}

HealthWatcher::~HealthWatcher() { Stop(); }

void HealthWatcher::Start() {
  thread_ = std::thread([this] { Run(); });
}

void HealthWatcher::Stop() {
  {
    MutexLock lock(mu_);
    stop_ = true;
    if (ctx_ != nullptr) ctx_->TryCancel();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

HealthSnapshot HealthWatcher::Snapshot() const {
  auto now = config_.clock->Now();
  MutexLock lock(mu_);
  HealthSnapshot s;
  s.driver = config_.driver;
  s.service = config_.service;
  s.stream_open = stream_open_;
  s.stream_starts = stream_starts_;
  s.messages = messages_;
  s.last_stream_end = last_end_;
  for (const auto& [key, e] : devices_) {
    DeviceHealth d = e.health;
    d.effective = now - e.received > d.timeout ? HealthState::kUnknown : d.reported;
    s.devices.push_back(std::move(d));
  }
  return s;
}

template <typename Resp>
void HealthWatcher::Apply(const Resp& resp) {
  std::vector<Finding> findings;
  auto now = config_.clock->Now();
  auto wall = config_.clock->WallNow();
  {
    MutexLock lock(mu_);
    ++messages_;
    for (const auto& dh : resp.devices()) {
      Entry e;
      e.received = now;
      e.health.driver = config_.driver;
      e.health.pool_name = dh.device().pool_name();
      e.health.device_name = dh.device().device_name();
      switch (static_cast<int>(dh.health())) {
        case 1:
          e.health.reported = HealthState::kHealthy;
          break;
        case 2:
          e.health.reported = HealthState::kUnhealthy;
          break;
        default:
          e.health.reported = HealthState::kUnknown;
          break;
      }
      e.health.message = CutHealthMessage(dh.message());
      if (dh.message().size() > 1024) {
        findings.push_back(Finding{
            Finding::Severity::kWarning, "", config_.driver, "health-message-too-long",
            "device " + e.health.pool_name + "/" + e.health.device_name + ": health message of " +
                std::to_string(dh.message().size()) + " chars exceeds 1024; cut",
            1});
      }
      e.health.plugin_last_updated_unix = dh.last_updated_time();
      e.health.timeout = config_.default_timeout;
      if (dh.health_check_timeout_seconds() > 0) {
        e.health.timeout = std::chrono::seconds(dh.health_check_timeout_seconds());
      } else if (dh.health_check_timeout_seconds() < 0) {
        findings.push_back(
            Finding{Finding::Severity::kWarning, "", config_.driver, "health-negative-timeout",
                    "device " + e.health.pool_name + "/" + e.health.device_name +
                        ": negative health_check_timeout_seconds " +
                        std::to_string(dh.health_check_timeout_seconds()) + " ignored",
                    1});
      }
      e.health.received_at = wall;
      e.health.effective = e.health.reported;
      std::pair<std::string, std::string> key{e.health.pool_name, e.health.device_name};
      if (devices_.size() >= kMaxDevices && devices_.count(key) == 0) {
        if (!over_devices_) {
          over_devices_ = true;
          findings.push_back(
              Finding{Finding::Severity::kWarning, "", config_.driver, "health-too-many-devices",
                      "the health stream reported more than " + std::to_string(kMaxDevices) +
                          " distinct devices; reports about further devices are dropped",
                      1});
        }
        continue;
      }
      devices_[std::move(key)] = std::move(e);
    }
  }
  for (auto& f : findings) {
    if (config_.on_finding) config_.on_finding(std::move(f));
  }
  if (config_.on_event) {
    config_.on_event(Event{Event::Kind::kHealth, config_.driver,
                           std::to_string(resp.devices_size()) + " device(s) reported"});
  }
}

template <typename Stub, typename Req, typename Resp>
grpc::Status HealthWatcher::RunStream() {
  auto stub = Stub::NewStub(channel_);
  grpc::ClientContext ctx;
  // The stream is meant to stay open; a day-long deadline keeps "every call
  // has a deadline" true without ever firing in a test.
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::hours(24));
  {
    MutexLock lock(mu_);
    if (stop_) return grpc::Status(grpc::StatusCode::CANCELLED, "stopped");
    ctx_ = &ctx;
    stream_open_ = true;
    ++stream_starts_;
  }
  Req req;
  auto reader = stub->NodeWatchResources(&ctx, req);
  Resp resp;
  while (reader->Read(&resp)) Apply(resp);
  grpc::Status st = reader->Finish();
  {
    MutexLock lock(mu_);
    ctx_ = nullptr;
    stream_open_ = false;
    // The kubelet drops a driver's cached health when its stream ends.
    devices_.clear();
    last_end_ = st.ok() ? Status()
                        : Status(static_cast<Code>(st.error_code()),
                                 "NodeWatchResources: " + GoStatusText(st));
  }
  return st;
}

void HealthWatcher::Run() {
  bool v1 = config_.service == kHealthV1Service;
  for (;;) {
    grpc::Status st =
        v1 ? RunStream<v1::DRAResourceHealth, v1::NodeWatchResourcesRequest,
                       v1::NodeWatchResourcesResponse>()
           : RunStream<v1alpha1::DRAResourceHealth, v1alpha1::NodeWatchResourcesRequest,
                       v1alpha1::NodeWatchResourcesResponse>();
    {
      MutexLock lock(mu_);
      if (stop_) return;
    }
    if (config_.on_event) {
      config_.on_event(Event{Event::Kind::kHealthStream, config_.driver,
                             st.ok() ? std::string("health stream ended (EOF)")
                                     : "health stream failed: " + GoStatusText(st)});
    }
    MutexLock lock(mu_);
    cv_.wait_for(lock, config_.restart_interval, [this]() DRAHIL_REQUIRES(mu_) { return stop_; });
    if (stop_) return;
  }
}

}  // namespace drahil::kubelet::internal
