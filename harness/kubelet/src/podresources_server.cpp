#include "podresources_server.hpp"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <chrono>

#include "claim_cache.hpp"
#include "drahil/core/mutex.hpp"
#include "drahil/proto/podresources_v1.grpc.pb.h"

namespace drahil::kubelet::internal {
namespace {

void FillPod(const Pod& pod, const std::map<std::string, ClaimInfo>& claims,
             ::v1::PodResources* out) {
  out->set_name(pod.name);
  out->set_namespace_(pod.namespace_name);
  for (const auto& ct : pod.containers) {
    auto* cr = out->add_containers();
    cr->set_name(ct.name);
    for (const auto& ref : ct.claims) {
      const PodClaim* pc = nullptr;
      for (const auto& c : pod.claims) {
        if (c.name == ref.name) pc = &c;
      }
      if (pc == nullptr) continue;
      auto* dr = cr->add_dynamic_resources();
      dr->set_claim_name(pc->claim.name);
      dr->set_claim_namespace(pc->claim.namespace_name);
      auto it = claims.find(pc->claim.uid);
      if (it == claims.end()) continue;
      for (const auto& [driver, devices] : it->second.drivers) {
        for (const auto& d : devices) {
          if (!DeviceMatches(d, ref.request)) continue;
          auto* res = dr->add_claim_resources();
          res->set_driver_name(driver);
          res->set_pool_name(d.pool_name);
          res->set_device_name(d.device_name);
          for (const auto& id : d.cdi_device_ids) res->add_cdi_devices()->set_name(id);
          if (d.share_id) res->set_share_id(*d.share_id);
        }
      }
    }
  }
}

class Service final : public ::v1::PodResourcesLister::Service {
 public:
  explicit Service(PodResourcesServer::SnapshotFn fn) : fn_(std::move(fn)) {}

  grpc::Status List(grpc::ServerContext*, const ::v1::ListPodResourcesRequest*,
                    ::v1::ListPodResourcesResponse* resp) override {
    PodResourcesView view = fn_();
    for (const auto& pod : view.pods) FillPod(pod, view.claims, resp->add_pod_resources());
    return grpc::Status::OK;
  }

  grpc::Status Get(grpc::ServerContext*, const ::v1::GetPodResourcesRequest* req,
                   ::v1::GetPodResourcesResponse* resp) override {
    PodResourcesView view = fn_();
    for (const auto& pod : view.pods) {
      if (pod.name == req->pod_name() && pod.namespace_name == req->pod_namespace()) {
        FillPod(pod, view.claims, resp->mutable_pod_resources());
        return grpc::Status::OK;
      }
    }
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "pod " + req->pod_namespace() + "/" + req->pod_name() + " not found");
  }

  // DRA devices are not "allocatable" in this API (that list covers device
  // plugins, CPUs and memory), and the stand-in manages none of those.
  grpc::Status GetAllocatableResources(grpc::ServerContext*,
                                       const ::v1::AllocatableResourcesRequest*,
                                       ::v1::AllocatableResourcesResponse*) override {
    return grpc::Status::OK;
  }

 private:
  PodResourcesServer::SnapshotFn fn_;
};

}  // namespace

struct PodResourcesServer::State {
  std::string socket;
  std::unique_ptr<Service> service;
  Mutex mu;
  std::unique_ptr<grpc::Server> server DRAHIL_GUARDED_BY(mu);  // null once stopped
};

Result<std::unique_ptr<PodResourcesServer>> PodResourcesServer::Start(const std::string& socket,
                                                                      SnapshotFn snapshot) {
  auto state = std::make_unique<State>();
  state->socket = socket;
  state->service = std::make_unique<Service>(std::move(snapshot));
  ::unlink(socket.c_str());
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("unix:" + socket, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(state->service.get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    return UnavailableError("PodResources: cannot listen on unix socket " + socket);
  }
  {
    MutexLock lock(state->mu);
    state->server = std::move(server);
  }
  return std::unique_ptr<PodResourcesServer>(new PodResourcesServer(std::move(state)));
}

PodResourcesServer::PodResourcesServer(std::unique_ptr<State> state) : state_(std::move(state)) {}

PodResourcesServer::~PodResourcesServer() { Stop(); }

void PodResourcesServer::Stop() {
  MutexLock lock(state_->mu);
  if (state_->server == nullptr) return;
  state_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  state_->server->Wait();
  state_->server.reset();
  ::unlink(state_->socket.c_str());
}

}  // namespace drahil::kubelet::internal
