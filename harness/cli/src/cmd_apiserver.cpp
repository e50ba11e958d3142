// drahil apiserver: runs the embedded Kubernetes API server standalone, so a
// driver, kubectl or a client library can be pointed at it by hand.
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "drahil/apiserver/apiserver.hpp"
#include "drahil/cli/commands.hpp"

namespace drahil::cli {

namespace {

struct ApiserverArgs {
  std::string listen = "127.0.0.1:0";
  std::string kubeconfig_out;
  std::string data;
  std::string token;
  bool allow_anonymous = false;
  int bookmark_ms = 10000;
  std::vector<std::string> node_kubeconfigs;  // NODE[,DRIVER]=PATH
};

int RunApiserver(const ApiserverArgs& a) {
  // Block the stop signals before any thread starts so only sigwait sees them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  apiserver::ApiServer::Options opts;
  opts.listen = a.listen;
  opts.data_file = a.data;
  opts.admin_token = a.token;
  opts.allow_anonymous = a.allow_anonymous;
  opts.bookmark_interval = std::chrono::milliseconds(a.bookmark_ms);
  auto server = apiserver::ApiServer::Start(opts);
  if (!server.ok()) {
    std::fprintf(stderr, "drahil apiserver: %s\n", server.status().ToString().c_str());
    return kExitInternal;
  }
  auto& s = **server;
  if (!a.kubeconfig_out.empty()) {
    Status st = s.WriteKubeconfig(a.kubeconfig_out);
    if (!st.ok()) {
      std::fprintf(stderr, "drahil apiserver: %s\n", st.ToString().c_str());
      return kExitUsage;
    }
  }
  for (const auto& spec : a.node_kubeconfigs) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      std::fprintf(stderr, "drahil apiserver: --node-kubeconfig wants NODE[,DRIVER]=PATH, got %s\n",
                   spec.c_str());
      return kExitUsage;
    }
    std::string who = spec.substr(0, eq);
    std::string path = spec.substr(eq + 1);
    size_t comma = who.find(',');
    std::string node = who.substr(0, comma);
    std::string driver = comma == std::string::npos ? "" : who.substr(comma + 1);
    Status st = s.WriteKubeconfig(path, s.IssueNodeToken(node, driver));
    if (!st.ok()) {
      std::fprintf(stderr, "drahil apiserver: %s\n", st.ToString().c_str());
      return kExitUsage;
    }
  }
  std::printf("drahil apiserver listening on %s\n", s.url().c_str());
  if (!a.kubeconfig_out.empty()) std::printf("kubeconfig: %s\n", a.kubeconfig_out.c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  std::fprintf(stderr, "drahil apiserver: signal %d, stopping\n", sig);
  s.Stop();
  return kExitOk;
}

}  // namespace

void AddApiserverCommands(CLI::App& app, CliContext& ctx) {
  auto args = std::make_shared<ApiserverArgs>();
  CLI::App* cmd = app.add_subcommand(
      "apiserver",
      "Run the embedded Kubernetes API server (resource.k8s.io/v1 and the core objects DRA "
      "drivers use) until SIGINT/SIGTERM");
  cmd->add_option("--listen", args->listen, "host:port to listen on (port 0 = any free port)")
      ->capture_default_str();
  cmd->add_option("--kubeconfig-out", args->kubeconfig_out,
                  "write an admin kubeconfig (token auth) to this file");
  cmd->add_option("--data", args->data,
                  "persist the store in this file (loaded at start, written atomically)");
  cmd->add_option("--token", args->token, "admin bearer token (random when not given)");
  cmd->add_option("--node-kubeconfig", args->node_kubeconfigs,
                  "NODE[,DRIVER]=PATH: write a kubeconfig whose token may write only that "
                  "node's (and driver's) ResourceSlices (repeatable)");
  cmd->add_option("--bookmark-interval-ms", args->bookmark_ms,
                  "how often watchers that allow bookmarks get one")
      ->capture_default_str();
  cmd->add_flag("--allow-anonymous", args->allow_anonymous,
                "serve requests without a token as an admin (for quick experiments)");
  cmd->callback([args, &ctx] { ctx.exit_code = RunApiserver(*args); });
}

}  // namespace drahil::cli
