#include "server.hpp"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>

#include "drahil/proto/dra_health_v1alpha1.grpc.pb.h"
#include "drahil/proto/dra_v1.grpc.pb.h"
#include "drahil/proto/dra_v1beta1.grpc.pb.h"
#include "drahil/proto/pluginregistration_v1.grpc.pb.h"

namespace drahil::refdriver {
namespace {

namespace drav1 = k8s::io::kubelet::pkg::apis::dra::v1;
namespace drav1beta1 = k8s::io::kubelet::pkg::apis::dra::v1beta1;

std::atomic<uint64_t> g_request_counter{0};

template <typename Req>
std::vector<ClaimRef> Refs(const Req& req) {
  std::vector<ClaimRef> out;
  for (const auto& c : req.claims()) out.push_back({c.namespace_(), c.uid(), c.name()});
  return out;
}

template <typename Req, typename Resp, bool kHasShareId>
grpc::Status DoPrepare(DriverState* state, const char* version, const Req* req, Resp* resp) {
  uint64_t n = ++g_request_counter;
  spdlog::debug("[{}] {} NodePrepareResources: {} claim(s)", n, version, req->claims_size());
  auto r = state->Prepare(Refs(*req));
  if (!r.ok()) {
    spdlog::warn("[{}] NodePrepareResources: {}", n, r.status().message());
    return grpc::Status(static_cast<grpc::StatusCode>(r.status().code()), r.status().message());
  }
  for (const auto& [uid, res] : *r) {
    auto& entry = (*resp->mutable_claims())[uid];
    if (!res.error.empty()) {
      entry.set_error(res.error);
      continue;
    }
    for (const auto& d : res.devices) {
      auto* dev = entry.add_devices();
      for (const auto& rn : d.request_names) dev->add_request_names(rn);
      dev->set_pool_name(d.pool);
      dev->set_device_name(d.device);
      for (const auto& id : d.cdi_ids) dev->add_cdi_device_ids(id);
      if constexpr (kHasShareId) {
        if (!d.share_id.empty()) dev->set_share_id(d.share_id);
      }
    }
  }
  return grpc::Status::OK;
}

template <typename Req, typename Resp>
grpc::Status DoUnprepare(DriverState* state, const char* version, const Req* req, Resp* resp) {
  uint64_t n = ++g_request_counter;
  spdlog::debug("[{}] {} NodeUnprepareResources: {} claim(s)", n, version, req->claims_size());
  for (const auto& [uid, err] : state->Unprepare(Refs(*req))) {
    auto& entry = (*resp->mutable_claims())[uid];
    if (!err.empty()) entry.set_error(err);
  }
  return grpc::Status::OK;
}

class DraV1 final : public drav1::DRAPlugin::Service {
 public:
  explicit DraV1(DriverState* s) : s_(s) {}
  grpc::Status NodePrepareResources(grpc::ServerContext*,
                                    const drav1::NodePrepareResourcesRequest* req,
                                    drav1::NodePrepareResourcesResponse* resp) override {
    return DoPrepare<drav1::NodePrepareResourcesRequest, drav1::NodePrepareResourcesResponse, true>(
        s_, "v1", req, resp);
  }
  grpc::Status NodeUnprepareResources(grpc::ServerContext*,
                                      const drav1::NodeUnprepareResourcesRequest* req,
                                      drav1::NodeUnprepareResourcesResponse* resp) override {
    return DoUnprepare(s_, "v1", req, resp);
  }

 private:
  DriverState* s_;
};

class DraV1beta1 final : public drav1beta1::DRAPlugin::Service {
 public:
  explicit DraV1beta1(DriverState* s) : s_(s) {}
  grpc::Status NodePrepareResources(grpc::ServerContext*,
                                    const drav1beta1::NodePrepareResourcesRequest* req,
                                    drav1beta1::NodePrepareResourcesResponse* resp) override {
    return DoPrepare<drav1beta1::NodePrepareResourcesRequest,
                     drav1beta1::NodePrepareResourcesResponse, false>(s_, "v1beta1", req, resp);
  }
  grpc::Status NodeUnprepareResources(grpc::ServerContext*,
                                      const drav1beta1::NodeUnprepareResourcesRequest* req,
                                      drav1beta1::NodeUnprepareResourcesResponse* resp) override {
    return DoUnprepare(s_, "v1beta1", req, resp);
  }

 private:
  DriverState* s_;
};

class Health final : public v1alpha1::DRAResourceHealth::Service {
 public:
  Health(const Options& opts, HealthMonitor* h, std::atomic<bool>* stopping)
      : opts_(opts), h_(h), stopping_(stopping) {}
  grpc::Status NodeWatchResources(
      grpc::ServerContext* ctx, const v1alpha1::NodeWatchResourcesRequest*,
      grpc::ServerWriter<v1alpha1::NodeWatchResourcesResponse>* writer) override {
    spdlog::info("health stream opened");
    uint64_t seen = h_->version();
    // Every message is the complete device list; a message also goes out
    // every interval as a heartbeat.
    for (;;) {
      if (ctx->IsCancelled() || *stopping_) break;
      bool silent = opts_.Bug("health-silent") && h_->EverUnhealthy();
      if (!silent) {
        v1alpha1::NodeWatchResourcesResponse msg;
        int64_t timeout_s = std::max<int64_t>(
            30,
            3 * std::chrono::duration_cast<std::chrono::seconds>(opts_.health_interval).count());
        for (const auto& [name, s] : h_->Snapshot()) {
          auto* d = msg.add_devices();
          d->mutable_device()->set_pool_name(opts_.node_name);
          d->mutable_device()->set_device_name(name);
          d->set_health(static_cast<v1alpha1::HealthStatus>(s.health));
          d->set_last_updated_time(s.last_updated);
          d->set_health_check_timeout_seconds(timeout_s);
          d->set_message(s.message);
        }
        if (!writer->Write(msg)) break;
      }
      seen = h_->WaitForChange(seen, opts_.health_interval);
    }
    spdlog::info("health stream closed");
    return grpc::Status::OK;
  }

 private:
  const Options& opts_;
  HealthMonitor* h_;
  std::atomic<bool>* stopping_;
};

class Registration final : public pluginregistration::Registration::Service {
 public:
  explicit Registration(const Options& opts) : opts_(opts) {}
  grpc::Status GetInfo(grpc::ServerContext*, const pluginregistration::InfoRequest*,
                       pluginregistration::PluginInfo* info) override {
    info->set_type("DRAPlugin");
    info->set_name(opts_.driver_name);
    info->set_endpoint(opts_.DraSocket());
    if (!opts_.Bug("v1beta1-only")) info->add_supported_versions("v1.DRAPlugin");
    info->add_supported_versions("v1beta1.DRAPlugin");
    if (opts_.health_service == "advertised")
      info->add_supported_versions("v1alpha1.DRAResourceHealth");
    return grpc::Status::OK;
  }
  grpc::Status NotifyRegistrationStatus(grpc::ServerContext*,
                                        const pluginregistration::RegistrationStatus* st,
                                        pluginregistration::RegistrationStatusResponse*) override {
    if (!st->plugin_registered()) {
      spdlog::error("kubelet rejected registration: {}", st->error());
      return grpc::Status(grpc::StatusCode::UNKNOWN, "failed registration process: " + st->error());
    }
    spdlog::info("registered with the kubelet");
    return grpc::Status::OK;
  }

 private:
  const Options& opts_;
};

std::unique_ptr<grpc::Server> Listen(const std::string& path, std::vector<grpc::Service*> services,
                                     Status& err) {
  ::unlink(path.c_str());  // a stale socket from a previous run
  grpc::ServerBuilder b;
  int port = 0;
  b.AddListeningPort("unix:" + path, grpc::InsecureServerCredentials(), &port);
  for (auto* s : services) b.RegisterService(s);
  auto server = b.BuildAndStart();
  if (!server) err = UnavailableError("listen on unix socket " + path + " failed");
  return server;
}

}  // namespace

struct Servers::Impl {
  const Options& opts;
  DraV1 v1;
  DraV1beta1 v1beta1;
  Health health;
  Registration reg;
  std::atomic<bool> stopping{false};
  HealthMonitor* monitor;
  std::unique_ptr<grpc::Server> dra, registration;
  Impl(const Options& o, DriverState* s, HealthMonitor* h)
      : opts(o), v1(s), v1beta1(s), health(o, h, &stopping), reg(o), monitor(h) {}
};

Servers::Servers(const Options& opts, DriverState* state, HealthMonitor* health)
    : impl_(std::make_unique<Impl>(opts, state, health)) {}
Servers::~Servers() { Shutdown(); }

Status Servers::StartDra() {
  Status err;
  std::vector<grpc::Service*> services = {&impl_->v1, &impl_->v1beta1};
  if (impl_->opts.health_service != "none") services.push_back(&impl_->health);
  impl_->dra = Listen(impl_->opts.DraSocket(), services, err);
  if (err.ok()) spdlog::info("DRA service on {}", impl_->opts.DraSocket());
  return err;
}

Status Servers::StartRegistration() {
  Status err;
  impl_->registration = Listen(impl_->opts.RegSocket(), {&impl_->reg}, err);
  if (err.ok()) spdlog::info("registration service on {}", impl_->opts.RegSocket());
  return err;
}

void Servers::Shutdown() {
  if (!impl_) return;
  impl_->stopping = true;
  // Health streams wait for a change between heartbeats: wake them so they
  // see `stopping` now, not at the next heartbeat.
  if (impl_->monitor != nullptr) impl_->monitor->WakeWaiters();
  auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(2);
  if (impl_->registration) {
    impl_->registration->Shutdown(deadline);
    impl_->registration.reset();
    ::unlink(impl_->opts.RegSocket().c_str());
  }
  if (impl_->dra) {
    impl_->dra->Shutdown(deadline);
    impl_->dra.reset();
    ::unlink(impl_->opts.DraSocket().c_str());
  }
}

}  // namespace drahil::refdriver
