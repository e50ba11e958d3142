// Plugin registration (docs/reference/protocol.md 2.3, 2.4): one attempt
// dials the registration socket, asks GetInfo, checks the answer as the
// kubelet does, answers NotifyRegistrationStatus and, on success, adds the
// instance to the actual state; a failed attempt is retried with the
// kubelet's backoff.
#include <algorithm>

#include "drahil/core/strings.hpp"
#include "kubelet_impl.hpp"

namespace drahil::kubelet {

using namespace std::chrono_literals;
using internal::DraClient;
using internal::GoStatusText;
using internal::HealthWatcher;
using internal::IsSocket;

namespace {

constexpr std::chrono::milliseconds kInitialRetry{500};
// The kubelet's operation executor backs off up to 2m2s.
constexpr std::chrono::milliseconds kMaxRetry{122000};

}  // namespace

void KubeletStandIn::Impl::RegisterOp(const std::string& socket, uint64_t stamp) {
  bool ok = Register(socket, stamp);
  MutexLock lock(mu_);
  inflight_.erase(socket);
  if (ok) {
    retry_.erase(socket);
    return;
  }
  Retry& r = retry_[socket];
  if (r.stamp != stamp) r = Retry{stamp, {}, kInitialRetry};
  r.next = options_.clock->Now() + r.delay;
  r.delay = std::min(r.delay * 2, kMaxRetry);
}

grpc::Status KubeletStandIn::Impl::Notify(pluginregistration::Registration::Stub& stub,
                                          bool registered, const std::string& error) {
  pluginregistration::RegistrationStatus req;
  req.set_plugin_registered(registered);
  req.set_error(error);
  pluginregistration::RegistrationStatusResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + options_.notify_timeout);
  return stub.NotifyRegistrationStatus(&ctx, req, &resp);
}

void KubeletStandIn::Impl::Reject(pluginregistration::Registration::Stub& stub,
                                  const std::string& socket, const std::string& plugin,
                                  const std::string& kind, const std::string& text) {
  (void)Notify(stub, false, text);
  AddFinding(Finding{Finding::Severity::kError, socket, plugin, kind, text, 1});
  log_->warn("rejected plugin at {}: {}", socket, text);
  Emit(Event{Event::Kind::kRejected, plugin, text});
}

void KubeletStandIn::Impl::Warn(const std::string& socket, const std::string& plugin,
                                const std::string& kind, const std::string& text) {
  AddFinding(Finding{Finding::Severity::kWarning, socket, plugin, kind, text, 1});
}

bool KubeletStandIn::Impl::Register(const std::string& socket, uint64_t stamp) {
  auto channel = internal::MakeUnixChannel(socket, options_.max_receive_bytes);
  auto dial_deadline = Clock::Real().Now() + options_.dial_timeout;
  // Blocking dial as the kubelet does, in short slices so Stop() is prompt.
  for (;;) {
    if (channel->WaitForConnected(std::chrono::system_clock::now() + 100ms)) break;
    if (!Running()) return false;
    if (Clock::Real().Now() >= dial_deadline) {
      AddFinding(Finding{Finding::Severity::kError, socket, "", "dial-failed",
                         "dial registration socket: not connected within " +
                             std::to_string(options_.dial_timeout.count()) + "ms",
                         1});
      return false;
    }
  }
  auto stub = pluginregistration::Registration::NewStub(channel);
  pluginregistration::PluginInfo info;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + options_.getinfo_timeout);
    grpc::Status st = stub->GetInfo(&ctx, pluginregistration::InfoRequest(), &info);
    if (!st.ok()) {
      AddFinding(Finding{Finding::Severity::kError, socket, "", "getinfo-failed",
                         "GetInfo: " + GoStatusText(st), 1});
      return false;
    }
  }
  const std::string& name = info.name();
  if (info.type() != kDraPluginType) {
    Reject(*stub, socket, name, "bad-type",
           "RegisterPlugin error -- no handler registered for plugin type: " + info.type() +
               " at socket " + socket);
    return false;
  }
  std::string endpoint = info.endpoint().empty() ? socket : info.endpoint();
  if (info.endpoint().empty()) {
    Warn(socket, name, "endpoint-empty",
         "PluginInfo.endpoint is empty; the registration socket serves DRA");
  } else if (info.endpoint()[0] != '/') {
    Warn(socket, name, "endpoint-not-absolute",
         "PluginInfo.endpoint " + info.endpoint() + " is not an absolute path");
  } else if (!IsSocket(endpoint)) {
    Warn(socket, name, "endpoint-not-socket",
         "PluginInfo.endpoint " + endpoint + " is not a unix socket (yet)");
  }
  std::vector<std::string> versions(info.supported_versions().begin(),
                                    info.supported_versions().end());
  const std::string kValidation = "RegisterPlugin error -- plugin validation failed with err: ";
  if (name.empty()) {
    Reject(*stub, socket, name, "empty-name", kValidation + "plugin name is empty");
    return false;
  }
  // The kubelet takes the first entry of the plugin's list it supports.
  std::string dra_service;
  for (const auto& v : versions) {
    if (v == kDraV1Service || v == kDraV1beta1Service) {
      dra_service = v;
      break;
    }
  }
  if (dra_service.empty()) {
    Reject(*stub, socket, name,
           versions.empty() ? "empty-supported-versions" : "no-supported-version",
           kValidation + "none of services supported by the plugin [" + Join(versions, " ") +
               "] are supported by the kubelet");
    return false;
  }
  if (dra_service == kDraV1beta1Service &&
      std::find(versions.begin(), versions.end(), kDraV1Service) != versions.end()) {
    Warn(socket, name, "v1-not-first",
         "supported_versions lists v1beta1.DRAPlugin before v1.DRAPlugin, so the kubelet "
         "uses v1beta1");
  }
  std::string health_service;
  auto has = [&](const char* s) {
    return std::find(versions.begin(), versions.end(), s) != versions.end();
  };
  if (options_.health_mode == HealthMode::kOff) {
    // ResourceHealthStatus off: the kubelet's DRA manager starts no health
    // stream (pkg/kubelet/cm/dra/manager.go, gated on the feature).
  } else if (has(kHealthV1Service)) {
    health_service = kHealthV1Service;
  } else if (has(kHealthV1alpha1Service) || options_.health_mode == HealthMode::kAlways) {
    health_service = kHealthV1alpha1Service;
  }

  auto inst = std::make_shared<Instance>();
  inst->stamp = stamp;
  inst->state.name = name;
  inst->state.registration_socket = socket;
  inst->state.endpoint = endpoint;
  inst->state.supported_versions = versions;
  inst->state.dra_service = dra_service;
  inst->state.health_service = health_service;
  inst->state.registered_at = options_.clock->WallNow();
  inst->client =
      std::make_shared<DraClient>(name, endpoint, dra_service, options_.max_receive_bytes);
  if (!health_service.empty()) {
    HealthWatcher::Config hc;
    hc.driver = name;
    hc.service = health_service;
    hc.restart_interval = options_.health_restart_interval;
    hc.default_timeout = options_.health_default_timeout;
    hc.clock = options_.clock;
    hc.on_event = options_.on_event;
    hc.on_finding = [this, socket](Finding f) {
      f.socket = socket;
      AddFinding(std::move(f));
    };
    inst->health = std::make_unique<HealthWatcher>(std::move(hc), inst->client->channel());
  }
  std::string duplicate;
  {
    MutexLock lock(mu_);
    for (const auto& [s, other] : actual_) {
      if (other->state.name == name && other->state.endpoint == endpoint) duplicate = s;
    }
    if (duplicate.empty()) {
      auto d = desired_.find(socket);
      if (!running_ || d == desired_.end() || d->second != stamp) {
        return true;  // socket went away or was re-created meanwhile; drop this attempt
      }
      actual_[socket] = inst;
      ++registrations_[name];
      SyncWipeLocked(name);
      // Started with the lock held so Stop()/unregister (which take the
      // instance out under the lock first) never race with Start().
      if (inst->health) inst->health->Start();
    }
  }
  if (!duplicate.empty()) {
    Reject(*stub, socket, name, "duplicate-endpoint",
           "RegisterPlugin error -- plugin registration failed with err: endpoint " + endpoint +
               " of driver " + name + " is already registered through " + duplicate);
    return false;
  }
  grpc::Status nst = Notify(*stub, true, "");
  if (!nst.ok()) {
    // The plugin stays registered (the kubelet does the same); the
    // operation counts as failed only in the finding.
    AddFinding(Finding{Finding::Severity::kError, socket, name, "notify-failed",
                       "NotifyRegistrationStatus(true): " + GoStatusText(nst), 1});
  }
  std::string msg = "registered " + name + " at " + socket + " (endpoint " + endpoint + ", " +
                    dra_service + ", health " +
                    (health_service.empty() ? std::string("not watched") : health_service) + ")";
  log_->info("{}", msg);
  Emit(Event{Event::Kind::kRegistered, name, msg});
  return true;
}

}  // namespace drahil::kubelet
