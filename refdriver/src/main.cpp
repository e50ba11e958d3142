// drahil-refdriver: the reference DRA kubelet plugin. Behaves like a driver
// built on the upstream Go helper (kubeletplugin): DRA socket first, then the
// registration socket; ResourceSlices through the API server; one CDI spec
// per claim; a checkpoint; a health stream.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <condition_variable>
#include <cstdio>
#include <thread>

#include "binding.hpp"
#include "drahil/core/log.hpp"
#include "drahil/kube/rest_client.hpp"
#include "health.hpp"
#include "nvml.hpp"
#include "options.hpp"
#include "publisher.hpp"
#include "server.hpp"
#include "state.hpp"

using namespace drahil;
using namespace drahil::refdriver;

namespace {
int Fail(const Status& s) {
  spdlog::critical("{}", s.ToString());
  std::fprintf(stderr, "drahil-refdriver: %s\n", s.message().c_str());
  return 1;
}
}  // namespace

int main(int argc, char** argv) {
  bool exit_now = false;
  int exit_code = 0;
  auto parsed = ParseOptions(argc, argv, exit_now, exit_code);
  if (exit_now) return exit_code;
  if (!parsed.ok()) {
    std::fprintf(stderr, "drahil-refdriver: %s\n", parsed.status().message().c_str());
    return 2;
  }
  Options opts = *parsed;
  log::Init(opts.verbosity, "refdriver");
  if (!opts.bugs.empty()) {
    std::string b;
    for (const auto& x : opts.bugs) b += (b.empty() ? "" : ",") + x;
    spdlog::warn("planted bugs active: {}", b);
  }

  // Signals are taken synchronously by the main thread.
  sigset_t sigs;
  sigemptyset(&sigs);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&sigs, s);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  struct stat st {};
  if (::stat(opts.registry_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Fail(
        FailedPreconditionError("kubelet registry dir " + opts.registry_dir + " does not exist"));

  auto kc = kube::KubeConfig::Load(opts.kubeconfig);
  if (!kc.ok()) return Fail(kc.status().WithContext("kubeconfig"));
  auto api = kube::RestClient::Create(*kc);
  if (!api.ok()) return Fail(api.status().WithContext("API client"));

  Inventory inv;
  std::unique_ptr<Nvml> nvml;
  if (opts.device_kind != "fpga") {
    auto n = Nvml::Load(opts.nvml_library);
    if (!n.ok()) {
      if (opts.device_kind == "gpu") return Fail(n.status());
      spdlog::warn("no GPUs: {}", n.status().message());
    } else {
      nvml = std::move(*n);
      if (auto s = DiscoverGpus(*nvml, opts, inv); !s.ok())
        return Fail(s.WithContext("discover GPUs"));
    }
  }
  if (opts.device_kind != "gpu") {
    if (auto s = DiscoverFpgas(opts, inv); !s.ok()) return Fail(s.WithContext("discover FPGAs"));
  }
  spdlog::info("driver {} on node {}: {} device(s)", opts.driver_name, opts.node_name,
               inv.devices.size());
  for (const auto& d : inv.devices) spdlog::debug("  {} {} {}", d.name, d.uuid, d.model);

  DriverState state(opts, inv, api->get());
  if (auto s = state.Start(); !s.ok()) return Fail(s);

  HealthMonitor health(opts, inv, nvml.get());
  SlicePublisher publisher(opts, api->get());
  std::mutex pub_mu;
  std::condition_variable pub_cv;
  bool pub_dirty = true, stopping = false;
  health.Start([&] {
    std::lock_guard<std::mutex> l(pub_mu);
    pub_dirty = true;
    pub_cv.notify_all();
  });
  std::thread pub_thread([&] {
    std::unique_lock<std::mutex> l(pub_mu);
    while (!stopping) {
      pub_cv.wait_for(l, std::chrono::seconds(10), [&] { return pub_dirty || stopping; });
      if (stopping) break;
      pub_dirty = false;
      l.unlock();
      auto s = publisher.Sync(BuildSlices(opts, inv, health.Snapshot()));
      l.lock();
      if (!s.ok()) {
        spdlog::error("publish ResourceSlices: {}", s.message());
        pub_dirty = true;  // retry
        pub_cv.wait_for(l, std::chrono::seconds(1), [&] { return stopping; });
      }
    }
  });
  std::unique_ptr<BindingController> binding;
  if (opts.binding_conditions) {
    binding = std::make_unique<BindingController>(opts, api->get(), &health);
    binding->Start();
  }

  Servers servers(opts, &state, &health);
  if (opts.Bug("register-before-socket")) {
    // Planted bug: announce first, serve later.
    if (auto s = servers.StartRegistration(); !s.ok()) return Fail(s);
    Clock::Real().SleepFor(std::chrono::seconds(3));
    if (auto s = servers.StartDra(); !s.ok()) return Fail(s);
  } else {
    if (auto s = servers.StartDra(); !s.ok()) return Fail(s);
    if (auto s = servers.StartRegistration(); !s.ok()) return Fail(s);
  }

  int sig = 0;
  sigwait(&sigs, &sig);
  spdlog::info("signal {}: shutting down", sig);
  servers.Shutdown();
  if (binding) binding->Stop();
  {
    std::lock_guard<std::mutex> l(pub_mu);
    stopping = true;
    pub_cv.notify_all();
  }
  pub_thread.join();
  health.Stop();
  return 0;
}
