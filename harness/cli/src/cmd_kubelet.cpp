// drahil kubelet: runs the kubelet stand-in in the foreground, so a DRA
// driver can be registered and watched by hand (or by a node agent through
// the PodResources socket). Logs registrations, rejections and health
// changes; exits cleanly on SIGINT/SIGTERM.
#include <signal.h>

#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "drahil/cli/commands.hpp"
#include "drahil/core/log.hpp"
#include "drahil/kubelet/kubelet.hpp"

namespace drahil::cli {

namespace {

struct KubeletArgs {
  std::string registry_dir;
  std::string plugins_dir;
  std::string podresources_socket;
  std::string state_dir;
  double call_timeout_s = 45;
  std::string health_mode = "if-advertised";
};

int RunKubelet(const KubeletArgs& a) {
  // Block the stop signals before any thread starts so only sigwait sees them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  auto log = drahil::log::Get("kubelet");
  kubelet::KubeletStandIn k;
  kubelet::KubeletStandIn::Options o;
  o.state_dir = a.state_dir;
  o.podresources_socket = a.podresources_socket;
  o.call_timeout = std::chrono::milliseconds(static_cast<int64_t>(a.call_timeout_s * 1000));
  if (a.health_mode == "always") {
    o.health_mode = kubelet::KubeletStandIn::HealthMode::kAlways;
  } else if (a.health_mode != "if-advertised") {
    std::fprintf(stderr, "drahil kubelet: --health-mode must be if-advertised or always\n");
    return kExitUsage;
  }
  // Health streams send full snapshots often; log a driver's health only
  // when its summary changes.
  auto last = std::make_shared<std::pair<std::mutex, std::map<std::string, std::string>>>();
  kubelet::KubeletStandIn* kp = &k;
  o.on_event = [log, last, kp](const kubelet::Event& e) {
    using Kind = kubelet::Event::Kind;
    switch (e.kind) {
      case Kind::kRegistered:
      case Kind::kUnregistered:
      case Kind::kRejected:
      case Kind::kSlicesWiped:
        break;  // the stand-in logs these itself
      case Kind::kHealthStream:
        log->warn("{}: {}", e.plugin, e.message);
        break;
      case Kind::kHealth: {
        std::string summary;
        for (const auto& d : kp->Health(e.plugin).devices) {
          summary += " " + d.pool_name + "/" + d.device_name + "=" +
                     std::string(kubelet::HealthName(d.effective));
          if (!d.message.empty()) summary += " (" + d.message + ")";
        }
        std::lock_guard<std::mutex> lock(last->first);
        std::string& prev = last->second[e.plugin];
        if (prev != summary) {
          log->info("health of {}:{}", e.plugin, summary.empty() ? " no devices" : summary);
          prev = summary;
        }
        break;
      }
    }
  };
  Status st = k.Start(a.registry_dir, a.plugins_dir, o);
  if (!st.ok()) {
    std::fprintf(stderr, "drahil kubelet: %s\n", st.ToString().c_str());
    return kExitUsage;
  }
  log->info(
      "kubelet stand-in watching {}{}", a.registry_dir,
      a.podresources_socket.empty() ? std::string() : ", PodResources on " + a.podresources_socket);
  int sig = 0;
  sigwait(&set, &sig);
  log->info("signal {}, stopping", sig);
  k.Stop();
  for (const auto& f : k.Findings()) log->warn("finding: {}", f.ToString());
  return kExitOk;
}

}  // namespace

void AddKubeletCommands(CLI::App& app, CliContext& ctx) {
  auto args = std::make_shared<KubeletArgs>();
  CLI::App* cmd = app.add_subcommand(
      "kubelet",
      "Run the kubelet stand-in in the foreground: register DRA plugins from a registry "
      "directory, watch their health, serve PodResources; stop with SIGINT/SIGTERM");
  cmd->add_option("--registry-dir", args->registry_dir,
                  "plugin registry directory to watch (kubelet: /var/lib/kubelet/plugins_registry)")
      ->required();
  cmd->add_option("--plugins-dir", args->plugins_dir,
                  "plugins data directory to create (kubelet: /var/lib/kubelet/plugins)");
  cmd->add_option("--podresources-socket", args->podresources_socket,
                  "serve PodResources v1 on this unix socket");
  cmd->add_option("--state-dir", args->state_dir,
                  "keep the claim checkpoint (dra_manager_state) here");
  cmd->add_option("--call-timeout", args->call_timeout_s,
                  "NodePrepareResources/NodeUnprepareResources deadline in seconds")
      ->capture_default_str();
  cmd->add_option("--health-mode", args->health_mode,
                  "if-advertised (kubelet HEAD) or always (kubelets 1.34-1.36)")
      ->capture_default_str();
  cmd->callback([args, &ctx] { ctx.exit_code = RunKubelet(*args); });
}

}  // namespace drahil::cli
