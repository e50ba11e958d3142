#include "test_plugin.hpp"

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "drahil/core/file_util.hpp"
#include "drahil/proto/dra_health_v1.grpc.pb.h"
#include "drahil/proto/dra_health_v1alpha1.grpc.pb.h"
#include "drahil/proto/dra_v1.grpc.pb.h"
#include "drahil/proto/dra_v1beta1.grpc.pb.h"
#include "drahil/proto/pluginregistration_v1.grpc.pb.h"

namespace drahil::kubelet::testing {

namespace dra1 = k8s::io::kubelet::pkg::apis::dra::v1;
namespace dra1b = k8s::io::kubelet::pkg::apis::dra::v1beta1;
using namespace std::chrono_literals;

struct TestPlugin::State {
  std::string registry_dir;
  std::string plugins_dir;
  TestPluginConfig config;

  mutable std::mutex mu;
  mutable std::condition_variable cv;
  Mode mode = Mode::kOk;
  bool hang_getinfo = false;
  bool stopping = false;
  std::vector<Notification> notifications;
  std::vector<std::string> calls;
  std::vector<HealthReport> health;
  uint64_t health_version = 0;
  uint64_t close_generation = 0;
  int open_streams = 0;

  std::vector<std::unique_ptr<grpc::Service>> services;
  std::unique_ptr<grpc::CallbackGenericService> raw;
  std::unique_ptr<grpc::Server> dra_server;
  std::unique_ptr<grpc::Server> reg_server;

  std::string RegSocket() const {
    return registry_dir + "/" +
           (config.reg_socket_name.empty() ? config.driver + "-reg.sock" : config.reg_socket_name);
  }
  std::string DraSocket() const {
    return config.endpoint_empty ? RegSocket() : plugins_dir + "/" + config.driver + "/dra.sock";
  }

  Mode GetMode() const {
    std::lock_guard<std::mutex> lock(mu);
    return mode;
  }
  void Record(const std::string& what) {
    std::lock_guard<std::mutex> lock(mu);
    calls.push_back(what);
  }
  // Hang(): blocks until the client gives up or the plugin stops.
  void Hang(grpc::ServerContext* ctx) {
    std::unique_lock<std::mutex> lock(mu);
    while (!stopping && !ctx->IsCancelled()) cv.wait_for(lock, 10ms);
  }
};

namespace {

class RegistrationService final : public pluginregistration::Registration::Service {
 public:
  explicit RegistrationService(TestPlugin::State* s) : s_(s) {}
  grpc::Status GetInfo(grpc::ServerContext* ctx, const pluginregistration::InfoRequest*,
                       pluginregistration::PluginInfo* info) override {
    bool hang = false;
    {
      std::lock_guard<std::mutex> lock(s_->mu);
      hang = s_->hang_getinfo;
    }
    if (hang) {
      s_->Hang(ctx);
      return grpc::Status(grpc::StatusCode::CANCELLED, "gave up");
    }
    info->set_type(s_->config.type);
    info->set_name(s_->config.driver);
    if (!s_->config.endpoint_empty) info->set_endpoint(s_->DraSocket());
    for (const auto& v : s_->config.versions) info->add_supported_versions(v);
    return grpc::Status::OK;
  }
  grpc::Status NotifyRegistrationStatus(grpc::ServerContext*,
                                        const pluginregistration::RegistrationStatus* req,
                                        pluginregistration::RegistrationStatusResponse*) override {
    {
      std::lock_guard<std::mutex> lock(s_->mu);
      s_->notifications.push_back(Notification{req->plugin_registered(), req->error()});
    }
    s_->cv.notify_all();
    if (!req->plugin_registered()) {
      return grpc::Status(grpc::StatusCode::UNKNOWN,
                          "failed registration process: " + req->error());
    }
    if (s_->config.fail_notify) return grpc::Status(grpc::StatusCode::INTERNAL, "notify broken");
    return grpc::Status::OK;
  }

 private:
  TestPlugin::State* s_;
};

template <typename Svc, typename PReq, typename PResp, typename UReq, typename UResp>
class DraService final : public Svc {
 public:
  DraService(TestPlugin::State* s, std::string version) : s_(s), version_(std::move(version)) {}

  grpc::Status NodePrepareResources(grpc::ServerContext* ctx, const PReq* req,
                                    PResp* resp) override {
    std::string uids;
    for (const auto& c : req->claims()) uids += (uids.empty() ? "" : ",") + c.uid();
    s_->Record(version_ + "/NodePrepareResources:" + uids);
    auto mode = s_->GetMode();
    if (mode == TestPlugin::Mode::kGrpcError) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "driver busy");
    }
    if (mode == TestPlugin::Mode::kHang) {
      s_->Hang(ctx);
      return grpc::Status(grpc::StatusCode::CANCELLED, "gave up");
    }
    int i = 0;
    for (const auto& c : req->claims()) {
      ++i;
      if (mode == TestPlugin::Mode::kMissingEntry && i == req->claims_size()) break;
      auto& entry = (*resp->mutable_claims())[c.uid()];
      if (mode == TestPlugin::Mode::kClaimError && c.name().rfind("bad", 0) == 0) {
        entry.set_error("no device left for " + c.name());
        continue;
      }
      auto* d = entry.add_devices();
      d->add_request_names("req-0");
      d->set_pool_name("pool-a");
      d->set_device_name("dev-" + c.uid());
      d->add_cdi_device_ids("drahil.io/test=" + c.uid());
      if (mode == TestPlugin::Mode::kHuge || mode == TestPlugin::Mode::kLarge) {
        // 5 or 3 × 1 MiB CDI IDs: over or under the kubelet's 4 MiB limit.
        std::string big(1u << 20, 'x');
        for (int k = 0; k < (mode == TestPlugin::Mode::kHuge ? 5 : 3); ++k)
          d->add_cdi_device_ids(big);
      }
    }
    if (mode == TestPlugin::Mode::kUnknownUid) (*resp->mutable_claims())["stray-uid"];
    return grpc::Status::OK;
  }

  grpc::Status NodeUnprepareResources(grpc::ServerContext* ctx, const UReq* req,
                                      UResp* resp) override {
    std::string uids;
    for (const auto& c : req->claims()) uids += (uids.empty() ? "" : ",") + c.uid();
    s_->Record(version_ + "/NodeUnprepareResources:" + uids);
    auto mode = s_->GetMode();
    if (mode == TestPlugin::Mode::kGrpcError) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "driver busy");
    }
    if (mode == TestPlugin::Mode::kHang) {
      s_->Hang(ctx);
      return grpc::Status(grpc::StatusCode::CANCELLED, "gave up");
    }
    for (const auto& c : req->claims()) {
      auto& entry = (*resp->mutable_claims())[c.uid()];
      if (mode == TestPlugin::Mode::kClaimError && c.name().rfind("bad", 0) == 0) {
        entry.set_error("cannot release " + c.name());
      }
    }
    return grpc::Status::OK;
  }

 private:
  TestPlugin::State* s_;
  std::string version_;
};

template <typename Svc, typename Req, typename Resp>
class HealthService final : public Svc {
 public:
  explicit HealthService(TestPlugin::State* s) : s_(s) {}
  grpc::Status NodeWatchResources(grpc::ServerContext* ctx, const Req*,
                                  grpc::ServerWriter<Resp>* writer) override {
    std::unique_lock<std::mutex> lock(s_->mu);
    uint64_t gen = s_->close_generation;
    uint64_t sent = 0;  // version 0 = nothing pushed yet
    ++s_->open_streams;
    s_->cv.notify_all();
    while (!s_->stopping && !ctx->IsCancelled() && gen == s_->close_generation) {
      if (s_->health_version != sent) {
        sent = s_->health_version;
        Resp resp;
        for (const auto& h : s_->health) {
          auto* d = resp.add_devices();
          d->mutable_device()->set_pool_name(h.pool);
          d->mutable_device()->set_device_name(h.device);
          d->set_health(static_cast<decltype(d->health())>(h.health));
          d->set_last_updated_time(::time(nullptr));
          d->set_health_check_timeout_seconds(h.timeout_seconds);
          d->set_message(h.message);
        }
        lock.unlock();
        bool ok = writer->Write(resp);
        lock.lock();
        if (!ok) break;
        continue;
      }
      s_->cv.wait_for(lock, 10ms);
    }
    --s_->open_streams;
    s_->cv.notify_all();
    return grpc::Status::OK;
  }

 private:
  TestPlugin::State* s_;
};

class RawReplyService final : public grpc::CallbackGenericService {
 public:
  explicit RawReplyService(std::string bytes) : bytes_(std::move(bytes)) {}
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext*) override {
    // gRPC runs the constructor, OnReadDone and OnDone on different threads
    // and hands over between them inside its uninstrumented core, so the
    // reactor's own state is also guarded by a mutex: ThreadSanitizer then
    // sees the order, and no suppression is needed. A reaction may run inline
    // from a gRPC call, so gRPC is not called with the mutex held once the
    // stream is bound.
    class Reactor final : public grpc::ServerGenericBidiReactor {
     public:
      explicit Reactor(const std::string& bytes) {
        // Before the stream is bound StartRead() only records the read, so
        // it may run under the mutex.
        std::lock_guard<std::mutex> lock(mu_);
        bytes_ = bytes;
        StartRead(&req_);
      }
      void OnReadDone(bool ok) override {
        if (!ok) {
          Finish(grpc::Status(grpc::StatusCode::INTERNAL, "no request"));
          return;
        }
        {
          std::lock_guard<std::mutex> lock(mu_);
          grpc::Slice slice(bytes_);
          resp_ = grpc::ByteBuffer(&slice, 1);
        }
        StartWriteAndFinish(&resp_, grpc::WriteOptions(), grpc::Status::OK);
      }
      void OnDone() override {
        { std::lock_guard<std::mutex> lock(mu_); }
        delete this;
      }

     private:
      std::mutex mu_;
      std::string bytes_;
      grpc::ByteBuffer req_;
      grpc::ByteBuffer resp_;
    };
    return new Reactor(bytes_);
  }

 private:
  std::string bytes_;
};

}  // namespace

TestPlugin::TestPlugin(std::string registry_dir, std::string plugins_dir, TestPluginConfig config)
    : s_(std::make_unique<State>()) {
  s_->registry_dir = std::move(registry_dir);
  s_->plugins_dir = std::move(plugins_dir);
  s_->config = std::move(config);
}

TestPlugin::~TestPlugin() { Stop(); }

Status TestPlugin::Start() {
  const TestPluginConfig& c = s_->config;
  if (!c.endpoint_empty) {
    DRAHIL_RETURN_IF_ERROR(MakeDirs(s_->plugins_dir + "/" + c.driver));
  }
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->stopping = false;
  }
  s_->services.clear();
  s_->raw.reset();
  auto add_dra = [&](grpc::ServerBuilder& b) {
    if (c.use_raw_reply) {
      s_->raw = std::make_unique<RawReplyService>(c.raw_reply);
      b.RegisterCallbackGenericService(s_->raw.get());
      return;
    }
    if (c.serve_v1) {
      s_->services.push_back(
          std::make_unique<
              DraService<dra1::DRAPlugin::Service, dra1::NodePrepareResourcesRequest,
                         dra1::NodePrepareResourcesResponse, dra1::NodeUnprepareResourcesRequest,
                         dra1::NodeUnprepareResourcesResponse>>(s_.get(), "v1"));
    }
    if (c.serve_v1beta1) {
      s_->services.push_back(
          std::make_unique<
              DraService<dra1b::DRAPlugin::Service, dra1b::NodePrepareResourcesRequest,
                         dra1b::NodePrepareResourcesResponse, dra1b::NodeUnprepareResourcesRequest,
                         dra1b::NodeUnprepareResourcesResponse>>(s_.get(), "v1beta1"));
    }
    if (c.serve_health_v1alpha1) {
      s_->services.push_back(
          std::make_unique<HealthService<v1alpha1::DRAResourceHealth::Service,
                                         v1alpha1::NodeWatchResourcesRequest,
                                         v1alpha1::NodeWatchResourcesResponse>>(s_.get()));
    }
    if (c.serve_health_v1) {
      s_->services.push_back(
          std::make_unique<
              HealthService<v1::DRAResourceHealth::Service, v1::NodeWatchResourcesRequest,
                            v1::NodeWatchResourcesResponse>>(s_.get()));
    }
    for (auto& svc : s_->services) b.RegisterService(svc.get());
  };
  auto reg = std::make_unique<RegistrationService>(s_.get());
  if (!c.endpoint_empty) {
    ::unlink(s_->DraSocket().c_str());
    grpc::ServerBuilder b;
    b.AddListeningPort("unix:" + s_->DraSocket(), grpc::InsecureServerCredentials());
    add_dra(b);
    s_->dra_server = b.BuildAndStart();
    if (!s_->dra_server) return UnavailableError("test plugin: listen " + s_->DraSocket());
  }
  ::unlink(s_->RegSocket().c_str());
  grpc::ServerBuilder b;
  b.AddListeningPort("unix:" + s_->RegSocket(), grpc::InsecureServerCredentials());
  b.RegisterService(reg.get());
  if (c.endpoint_empty) add_dra(b);
  s_->services.push_back(std::move(reg));
  s_->reg_server = b.BuildAndStart();
  if (!s_->reg_server) return UnavailableError("test plugin: listen " + s_->RegSocket());
  return OkStatus();
}

void TestPlugin::Stop() {
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->stopping = true;
  }
  s_->cv.notify_all();
  auto deadline = std::chrono::system_clock::now() + 2s;
  if (s_->reg_server) {
    s_->reg_server->Shutdown(deadline);
    s_->reg_server->Wait();
    s_->reg_server.reset();
    ::unlink(s_->RegSocket().c_str());
  }
  if (s_->dra_server) {
    s_->dra_server->Shutdown(deadline);
    s_->dra_server->Wait();
    s_->dra_server.reset();
    ::unlink(s_->DraSocket().c_str());
  }
}

void TestPlugin::SetMode(Mode m) {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->mode = m;
}

void TestPlugin::SetGetInfoHang(bool hang) {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->hang_getinfo = hang;
}

void TestPlugin::PushHealth(std::vector<HealthReport> devices) {
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->health = std::move(devices);
    ++s_->health_version;
  }
  s_->cv.notify_all();
}

void TestPlugin::CloseHealthStreams() {
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    ++s_->close_generation;
  }
  s_->cv.notify_all();
}

int TestPlugin::OpenHealthStreams() const {
  std::lock_guard<std::mutex> lock(s_->mu);
  return s_->open_streams;
}

std::vector<Notification> TestPlugin::Notifications() const {
  std::lock_guard<std::mutex> lock(s_->mu);
  return s_->notifications;
}

std::vector<std::string> TestPlugin::Calls() const {
  std::lock_guard<std::mutex> lock(s_->mu);
  return s_->calls;
}

bool TestPlugin::WaitForNotification(std::chrono::milliseconds timeout, size_t count) const {
  std::unique_lock<std::mutex> lock(s_->mu);
  return s_->cv.wait_for(lock, timeout, [&] { return s_->notifications.size() >= count; });
}

std::string TestPlugin::reg_socket() const { return s_->RegSocket(); }
std::string TestPlugin::dra_socket() const { return s_->DraSocket(); }

}  // namespace drahil::kubelet::testing
