// drahil-hostile-driver: a small DRA kubelet plugin that speaks the real
// protocol (pluginregistration v1, DRA v1, ResourceSlices over the API
// server's REST API) and misbehaves in the ways --mode asks for:
//
//   hang-prepare      NodePrepareResources never answers (until the call is
//                     cancelled or the driver is stopped)
//   many-cdi-ids=N    NodePrepareResources returns N CDI device IDs per claim
//   cdi-fifo          a FIFO named hostile-fifo.json (and .yaml) sits in the
//                     CDI dir next to a valid spec
//   exit=N            exits with code N before it registers
//   fail-prepare=N    the first N NodePrepareResources calls fail with
//                     UNAVAILABLE (a driver still warming up), later ones work
//   relative-paths-ok accept relative directories (by default the driver
//                     refuses them, as drivers built on kubeletplugin do)
//   huge-reply=MB     NodePrepareResources answers with a reply of MB MiB
//   unasked-claims=N  NodePrepareResources also answers for N claim UIDs
//                     that were never asked about
//   crash-prepare     the driver dies of SIGSEGV inside NodePrepareResources
//   bad-registration=type|endpoint|versions
//                     GetInfo names a CSIPlugin, an endpoint where nothing
//                     listens, or only versions no kubelet speaks
//   health-flood      offers v1.DRAResourceHealth and streams health updates
//                     as fast as it can: every message 100 devices never
//                     seen before, each with a 2 kB message
//   slice-devices=N   publishes one slice with N devices (upstream: at most
//                     128), keeps serving when the API server refuses it
//   slice-invalid     publishes a slice whose device name is not a DNS label
//   api-flood=N       N threads LIST every ResourceSlice in a loop, and three
//                     helper processes hold up to 1,000 idle connections
//                     each to the API server
// CDI specs a runtime must never apply (drahil refuses them before the
// sandbox starts); the device keeps its HOSTILE_DEV=0 env:
//   cdi-mount-root    bind-mounts the host's / read-write at /run/host
//   cdi-mount-etc     bind-mounts the host's /etc read-write at /run/host-etc
//   cdi-hook-sh=PATH  a createContainer hook running /bin/sh that writes PATH
//   cdi-dev-mem       grants /dev/mem (char 1:1)
//   cdi-dotdot-path   a device node at /dev/../run/hostile-node
//   cdi-dotdot-name   NodePrepareResources returns the CDI ID ...=../dev-0
//   cdi-symlink       the spec file is a symlink to <cdi-dir>/../hostile-outside/
//
// --prepare-marker=PATH: each NodePrepareResources call appends the driver's
// pid to PATH when it arrives (tests wait for it before they act).
#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "drahil/core/file_util.hpp"
#include "drahil/kube/rest_client.hpp"
#include "drahil/proto/dra_health_v1.grpc.pb.h"
#include "drahil/proto/dra_v1.grpc.pb.h"
#include "drahil/proto/pluginregistration_v1.grpc.pb.h"

namespace {

namespace dra = k8s::io::kubelet::pkg::apis::dra::v1;
namespace health = v1;
using Json = nlohmann::json;

constexpr char kCdiKind[] = "hostile.example.com/dev";

struct Options {
  std::string driver_name = "hostile.example.com";
  std::string node_name;
  std::string kubeconfig;
  std::string registry_dir;
  std::string plugins_dir;
  std::string cdi_dir;
  std::string prepare_marker;
  std::vector<std::string> modes;
  bool hang_prepare = false;
  bool cdi_fifo = false;
  bool relative_ok = false;
  bool crash_prepare = false;
  bool health_flood = false;
  bool slice_invalid = false;
  std::string bad_registration;  // type | endpoint | versions
  long huge_reply_mib = 0;
  long unasked_claims = 0;
  long slice_devices = 1;
  int api_flood = 0;
  std::string cdi_edit;  // one of the cdi-* modes above (without its value)
  std::string hook_path;
  long many_cdi_ids = 0;
  int exit_code = -1;
  int fail_prepare = 0;

  std::string DraSocket() const { return plugins_dir + "/" + driver_name + "/dra.sock"; }
  std::string RegSocket() const { return registry_dir + "/" + driver_name + "-reg.sock"; }
};

std::atomic<bool> g_stopping{false};

void Log(const std::string& s) {
  std::fprintf(stderr, "drahil-hostile-driver: %s\n", s.c_str());
  std::fflush(stderr);
}

class DraService final : public dra::DRAPlugin::Service {
 public:
  explicit DraService(const Options& o) : o_(o) {}

  grpc::Status NodePrepareResources(grpc::ServerContext* ctx,
                                    const dra::NodePrepareResourcesRequest* req,
                                    dra::NodePrepareResourcesResponse* resp) override {
    Log("NodePrepareResources: " + std::to_string(req->claims_size()) + " claim(s)");
    if (!o_.prepare_marker.empty()) {
      std::string line = std::to_string(::getpid()) + "\n";
      int fd = ::open(o_.prepare_marker.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd >= 0) {
        (void)!::write(fd, line.data(), line.size());
        ::close(fd);
      }
    }
    if (o_.hang_prepare) {
      // Never answers: only the caller's cancellation or a stop ends it.
      while (!ctx->IsCancelled() && !g_stopping.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      return grpc::Status(grpc::StatusCode::CANCELLED, "hostile driver: gave up");
    }
    if (failed_.fetch_add(1) < o_.fail_prepare)
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "hostile driver: not ready yet");
    if (o_.crash_prepare) {
      // Dies mid-call, as a segfault would; no core file is left.
      Log("crashing inside NodePrepareResources (--mode crash-prepare)");
      rlimit none{0, 0};
      ::setrlimit(RLIMIT_CORE, &none);
      ::signal(SIGSEGV, SIG_DFL);
      ::raise(SIGSEGV);
    }
    for (long i = 0; i < o_.unasked_claims; ++i) {
      auto& entry = (*resp->mutable_claims())["unasked-" + std::to_string(i)];
      auto* d = entry.add_devices();
      d->set_pool_name(o_.node_name);
      d->set_device_name("dev-0");
      d->add_cdi_device_ids(std::string(kCdiKind) + "=dev-0");
    }
    for (const auto& c : req->claims()) {
      auto& entry = (*resp->mutable_claims())[c.uid()];
      auto* d = entry.add_devices();
      d->set_pool_name(o_.node_name);
      d->set_device_name("dev-0");
      if (o_.huge_reply_mib > 0) {
        // One CDI ID of the whole size: the reply is MB MiB on the wire.
        d->add_cdi_device_ids(std::string(kCdiKind) + "=" +
                              std::string(static_cast<size_t>(o_.huge_reply_mib) << 20, 'x'));
      } else if (o_.many_cdi_ids > 0) {
        for (long i = 0; i < o_.many_cdi_ids; ++i) {
          d->add_cdi_device_ids(std::string(kCdiKind) + "=flood-" + std::to_string(i));
        }
      } else if (o_.cdi_edit == "cdi-dotdot-name") {
        d->add_cdi_device_ids(std::string(kCdiKind) + "=../dev-0");
      } else {
        d->add_cdi_device_ids(std::string(kCdiKind) + "=dev-0");
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status NodeUnprepareResources(grpc::ServerContext*,
                                      const dra::NodeUnprepareResourcesRequest* req,
                                      dra::NodeUnprepareResourcesResponse* resp) override {
    for (const auto& c : req->claims()) (*resp->mutable_claims())[c.uid()];
    return grpc::Status::OK;
  }

 private:
  const Options& o_;
  std::atomic<int> failed_{0};  // NodePrepareResources calls so far
};

// HealthService (health-flood): every stream gets health updates as fast as
// the kubelet reads them, each message about 100 devices it never heard of.
class HealthService final : public health::DRAResourceHealth::Service {
 public:
  explicit HealthService(const Options& o) : o_(o) {}
  grpc::Status NodeWatchResources(
      grpc::ServerContext* ctx, const health::NodeWatchResourcesRequest*,
      grpc::ServerWriter<health::NodeWatchResourcesResponse>* writer) override {
    const std::string message(2048, 'h');
    for (long n = 0; !ctx->IsCancelled() && !g_stopping.load(); ++n) {
      health::NodeWatchResourcesResponse r;
      for (int i = 0; i < 100; ++i) {
        auto* dh = r.add_devices();
        dh->mutable_device()->set_pool_name(o_.node_name);
        dh->mutable_device()->set_device_name("flood-" + std::to_string(n * 100 + i));
        dh->set_health(health::HealthStatus::UNHEALTHY);
        dh->set_last_updated_time(::time(nullptr));
        dh->set_message(message);
      }
      if (!writer->Write(r)) break;
    }
    return grpc::Status::OK;
  }

 private:
  const Options& o_;
};

class RegistrationService final : public pluginregistration::Registration::Service {
 public:
  explicit RegistrationService(const Options& o) : o_(o) {}
  grpc::Status GetInfo(grpc::ServerContext*, const pluginregistration::InfoRequest*,
                       pluginregistration::PluginInfo* info) override {
    const std::string& bad = o_.bad_registration;
    info->set_type(bad == "type" ? "CSIPlugin" : "DRAPlugin");
    info->set_name(o_.driver_name);
    info->set_endpoint(bad == "endpoint" ? o_.plugins_dir + "/nothing-listens-here.sock"
                                         : o_.DraSocket());
    if (bad == "versions") {
      info->add_supported_versions("v0.DRAPlugin");
      info->add_supported_versions("v2.DRAPlugin");
    } else {
      info->add_supported_versions("v1.DRAPlugin");
    }
    if (o_.health_flood) info->add_supported_versions("v1.DRAResourceHealth");
    return grpc::Status::OK;
  }
  grpc::Status NotifyRegistrationStatus(grpc::ServerContext*,
                                        const pluginregistration::RegistrationStatus* st,
                                        pluginregistration::RegistrationStatusResponse*) override {
    Log(st->plugin_registered() ? "registered" : "registration refused: " + st->error());
    return grpc::Status::OK;
  }

 private:
  const Options& o_;
};

std::unique_ptr<grpc::Server> Listen(const std::string& path,
                                     std::initializer_list<grpc::Service*> services) {
  ::unlink(path.c_str());
  grpc::ServerBuilder b;
  b.AddListeningPort("unix:" + path, grpc::InsecureServerCredentials());
  for (auto* s : services) b.RegisterService(s);
  return b.BuildAndStart();
}

drahil::Status PublishSlice(const Options& o) {
  DRAHIL_ASSIGN_OR_RETURN(auto kc, drahil::kube::KubeConfig::Load(o.kubeconfig));
  DRAHIL_ASSIGN_OR_RETURN(auto api, drahil::kube::RestClient::Create(kc));
  Json slice = {{"apiVersion", "resource.k8s.io/v1"},
                {"kind", "ResourceSlice"},
                {"metadata", {{"name", o.node_name + "-" + o.driver_name}}},
                {"spec",
                 {{"driver", o.driver_name},
                  {"nodeName", o.node_name},
                  {"pool", {{"name", o.node_name}, {"generation", 1}, {"resourceSliceCount", 1}}},
                  {"devices", Json::array({{{"name", "dev-0"}}})}}}};
  Json& devices = slice["spec"]["devices"];
  for (long i = 1; i < o.slice_devices; ++i)
    devices.push_back({{"name", "dev-" + std::to_string(i)}});
  if (o.slice_invalid) devices.push_back({{"name", "Not_A_DNS_Label!"}});
  return api->CreateObject(slice).status();
}

// ApiFlood (api-flood=N): N threads LIST every ResourceSlice as fast as the
// server answers, and three helper processes (each with a table of open
// files of its own, as a driver's several containers or processes would
// have) open up to 1,000 connections each and leave them idle. Runs until
// the driver stops; the helpers die with it.
class ApiFlood {
 public:
  explicit ApiFlood(const Options& o) {
    auto kc = drahil::kube::KubeConfig::Load(o.kubeconfig);
    if (!kc.ok()) {
      Log("api-flood: " + kc.status().ToString());
      return;
    }
    // server: "http(s)://127.0.0.1:PORT"
    auto colon = kc->server.rfind(':');
    int port = colon == std::string::npos ? 0 : std::atoi(kc->server.c_str() + colon + 1);
    for (int h = 0; h < 3 && port > 0; ++h) {
      pid_t pid = ::fork();
      if (pid == 0) HoldIdle(port);  // never returns
      if (pid > 0) helpers_.push_back(pid);
    }
    for (int i = 0; i < o.api_flood; ++i) {
      threads_.emplace_back([this, kc = *kc] {
        auto api = drahil::kube::RestClient::Create(kc);
        if (!api.ok()) return;
        while (!g_stopping.load()) {
          (void)(*api)->List("resourceslices", "");
          ++requests_;
        }
      });
    }
  }
  ~ApiFlood() {
    for (auto& t : threads_) t.join();
    for (pid_t pid : helpers_) {
      ::kill(pid, SIGKILL);
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
    Log("api-flood: " + std::to_string(requests_.load()) + " LIST requests, " +
        std::to_string(helpers_.size()) + " helper(s) holding idle connections");
  }

 private:
  // HoldIdle(): in a forked helper: connections to 127.0.0.1:port, as many
  // as its open-file limit allows (at most 1,000), held until the driver
  // goes. Only system calls after the fork.
  [[noreturn]] static void HoldIdle(int port) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    rlimit nofile{};
    long most = 1000;
    if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY)
      most = std::min<long>(most, static_cast<long>(nofile.rlim_cur) - 16);
    for (long i = 0; i < most; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) break;
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(port));
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) ::close(fd);
    }
    for (;;) ::pause();
  }

  std::vector<std::thread> threads_;
  std::vector<pid_t> helpers_;
  std::atomic<long> requests_{0};
};

// HostileEdits(): dev-0's containerEdits for the cdi-* mode.
Json HostileEdits(const Options& o) {
  Json e = {{"env", Json::array({"HOSTILE_DEV=0"})}};
  const std::string& m = o.cdi_edit;
  if (m == "cdi-mount-root") {
    e["mounts"] = Json::array(
        {{{"hostPath", "/"}, {"containerPath", "/run/host"}, {"options", {"rbind", "rw"}}}});
  } else if (m == "cdi-mount-etc") {
    e["mounts"] = Json::array(
        {{{"hostPath", "/etc"}, {"containerPath", "/run/host-etc"}, {"options", {"rbind", "rw"}}}});
  } else if (m == "cdi-hook-sh") {
    e["hooks"] = Json::array({{{"hookName", "createContainer"},
                               {"path", "/bin/sh"},
                               {"args", {"sh", "-c", "echo hooked > " + o.hook_path}}}});
  } else if (m == "cdi-dev-mem") {
    e["deviceNodes"] =
        Json::array({{{"path", "/dev/mem"}, {"type", "c"}, {"major", 1}, {"minor", 1}}});
  } else if (m == "cdi-dotdot-path") {
    e["deviceNodes"] =
        Json::array({{{"path", "/dev/../run/hostile-node"}, {"hostPath", "/dev/null"}}});
  }
  return e;
}

drahil::Status WriteCdi(const Options& o) {
  if (o.cdi_dir.empty()) return drahil::OkStatus();
  DRAHIL_RETURN_IF_ERROR(drahil::MakeDirs(o.cdi_dir));
  Json spec = {
      {"cdiVersion", "0.5.0"},
      {"kind", kCdiKind},
      {"devices", Json::array({{{"name", "dev-0"}, {"containerEdits", HostileEdits(o)}}})}};
  if (o.cdi_edit == "cdi-symlink") {
    std::string outside = o.cdi_dir + "/../hostile-outside";
    DRAHIL_RETURN_IF_ERROR(drahil::MakeDirs(outside));
    DRAHIL_RETURN_IF_ERROR(drahil::AtomicWriteFile(outside + "/hostile-dev.json", spec.dump(2)));
    std::string link = o.cdi_dir + "/hostile-dev.json";
    ::unlink(link.c_str());
    if (::symlink((outside + "/hostile-dev.json").c_str(), link.c_str()) != 0)
      return drahil::InternalError("symlink " + link + ": " + std::strerror(errno));
  } else {
    DRAHIL_RETURN_IF_ERROR(drahil::AtomicWriteFile(o.cdi_dir + "/hostile-dev.json", spec.dump(2)));
  }
  if (o.cdi_fifo) {
    for (const char* name : {"/hostile-fifo.json", "/hostile-fifo.yaml"}) {
      std::string p = o.cdi_dir + name;
      if (::mkfifo(p.c_str(), 0644) != 0 && errno != EEXIST) {
        return drahil::InternalError("mkfifo " + p + ": " + std::strerror(errno));
      }
    }
  }
  return drahil::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"drahil-hostile-driver: a DRA driver that misbehaves on purpose"};
  app.add_option("--driver-name", o.driver_name);
  app.add_option("--node-name", o.node_name)->required();
  app.add_option("--kubeconfig", o.kubeconfig)->required();
  app.add_option("--registry-dir", o.registry_dir)->required();
  app.add_option("--plugins-dir", o.plugins_dir)->required();
  app.add_option("--cdi-dir", o.cdi_dir);
  app.add_option("--prepare-marker", o.prepare_marker);
  app.add_option("--mode", o.modes,
                 "hang-prepare | many-cdi-ids=N | cdi-fifo | exit=N | fail-prepare=N | "
                 "relative-paths-ok | cdi-mount-root | cdi-mount-etc | cdi-hook-sh=PATH | "
                 "cdi-dev-mem | cdi-dotdot-path | cdi-dotdot-name | cdi-symlink | "
                 "huge-reply=MB | unasked-claims=N | crash-prepare | "
                 "bad-registration=type|endpoint|versions | health-flood | slice-devices=N | "
                 "slice-invalid | api-flood=N");
  CLI11_PARSE(app, argc, argv);
  for (const auto& m : o.modes) {
    if (m == "hang-prepare") {
      o.hang_prepare = true;
    } else if (m == "cdi-fifo") {
      o.cdi_fifo = true;
    } else if (m == "relative-paths-ok") {
      o.relative_ok = true;
    } else if (m == "crash-prepare") {
      o.crash_prepare = true;
    } else if (m == "health-flood") {
      o.health_flood = true;
    } else if (m == "slice-invalid") {
      o.slice_invalid = true;
    } else if (m.rfind("bad-registration=", 0) == 0) {
      o.bad_registration = m.substr(17);
    } else if (m.rfind("huge-reply=", 0) == 0) {
      o.huge_reply_mib = std::stol(m.substr(11));
    } else if (m.rfind("unasked-claims=", 0) == 0) {
      o.unasked_claims = std::stol(m.substr(15));
    } else if (m.rfind("slice-devices=", 0) == 0) {
      o.slice_devices = std::stol(m.substr(14));
    } else if (m.rfind("api-flood=", 0) == 0) {
      o.api_flood = std::stoi(m.substr(10));
    } else if (m == "cdi-mount-root" || m == "cdi-mount-etc" || m == "cdi-dev-mem" ||
               m == "cdi-dotdot-path" || m == "cdi-dotdot-name" || m == "cdi-symlink") {
      o.cdi_edit = m;
    } else if (m.rfind("cdi-hook-sh=", 0) == 0) {
      o.cdi_edit = "cdi-hook-sh";
      o.hook_path = m.substr(12);
    } else if (m.rfind("many-cdi-ids=", 0) == 0) {
      o.many_cdi_ids = std::stol(m.substr(13));
    } else if (m.rfind("fail-prepare=", 0) == 0) {
      o.fail_prepare = std::stoi(m.substr(13));
    } else if (m.rfind("exit=", 0) == 0) {
      o.exit_code = std::stoi(m.substr(5));
    } else {
      Log("unknown --mode " + m);
      return 2;
    }
  }
  if (o.exit_code >= 0) {
    Log("exiting with code " + std::to_string(o.exit_code) + " before registering (--mode exit)");
    return o.exit_code;
  }
  if (!o.relative_ok) {
    for (const auto* d : {&o.registry_dir, &o.plugins_dir, &o.cdi_dir, &o.kubeconfig}) {
      if (!d->empty() && (*d)[0] != '/') {
        Log("path " + *d + " is not absolute");
        return 2;
      }
    }
  }

  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  if (auto s = WriteCdi(o); !s.ok()) {
    Log("CDI: " + s.ToString());
    return 1;
  }
  if (auto s = PublishSlice(o); !s.ok()) {
    // Keeps serving, as a driver whose slice controller retries would.
    Log("ResourceSlice: " + s.ToString());
  }
  std::optional<ApiFlood> flood;
  if (o.api_flood > 0) flood.emplace(o);
  DraService dra_service(o);
  HealthService health_service(o);
  RegistrationService reg_service(o);
  if (auto s = drahil::MakeDirs(o.plugins_dir + "/" + o.driver_name); !s.ok()) {
    Log(s.ToString());
    return 1;
  }
  auto dra_server = o.health_flood ? Listen(o.DraSocket(), {&dra_service, &health_service})
                                   : Listen(o.DraSocket(), {&dra_service});
  if (!dra_server) {
    Log("cannot listen on " + o.DraSocket());
    return 1;
  }
  auto reg_server = Listen(o.RegSocket(), {&reg_service});
  if (!reg_server) {
    Log("cannot listen on " + o.RegSocket());
    return 1;
  }
  Log("serving on " + o.DraSocket() + " and " + o.RegSocket());

  int sig = 0;
  sigwait(&sigs, &sig);
  Log(std::string("stopping on ") + (sig == SIGINT ? "SIGINT" : "SIGTERM"));
  g_stopping.store(true);
  auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(1);
  reg_server->Shutdown(deadline);
  dra_server->Shutdown(deadline);
  ::unlink(o.RegSocket().c_str());
  ::unlink(o.DraSocket().c_str());
  return 0;
}
