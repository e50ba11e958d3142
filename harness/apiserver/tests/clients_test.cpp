// Real clients against the API server: kubectl (through discovery and
// OpenAPI v3, over TLS with a bearer token) and the official Python client
// against the `drahil apiserver` command.
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <thread>

#include "drahil/apiserver/apiserver.hpp"
#include "drahil/core/child_process.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/testing/testing.hpp"
#include "test_client.hpp"

using drahil::apiserver::ApiServer;
using drahil::apiserver::testing::Slice;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

struct Kubectl {
  std::string bin;
  std::string kubeconfig;
  std::string cache_dir;

  drahil::CommandOutput Run(std::vector<std::string> args) const {
    std::vector<std::string> argv = {bin, "--kubeconfig", kubeconfig, "--cache-dir", cache_dir};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = drahil::RunCommand(argv, 60s);
    REQUIRE_OK(r);
    return *r;
  }
};

std::string Slurp(drahil::ChildProcess& child, const std::string& want,
                  std::chrono::milliseconds within) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + within;
  while (out.find(want) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    auto chunk = child.ReadStdout(200ms);
    if (chunk.ok()) out += *chunk;
  }
  return out;
}

}  // namespace

TEST_CASE("ApiServer clients: kubectl applies, lists, gets, watches and deletes DRA objects",
          "[apiserver][clients][kubectl]") {
  std::string kubectl = drahil::testing::FindOnPath("kubectl");
  if (kubectl.empty()) DRAHIL_SKIP("kubectl is not on PATH");
  auto dir = drahil::TempDir::Create("apiserver-kubectl-");
  REQUIRE_OK(dir);
  auto s = ApiServer::Start({});
  REQUIRE_OK(s);
  ApiServer& server = **s;
  REQUIRE_OK(server.WriteKubeconfig(dir->Join("kubeconfig")));
  Kubectl k{kubectl, dir->Join("kubeconfig"), dir->Join("cache")};
  std::string manifests =
      drahil::testing::SourceDir() + "/harness/apiserver/tests/testdata/dra_objects.yaml";

  auto apply = k.Run({"apply", "-f", manifests});
  INFO(apply.output);
  REQUIRE(apply.exit.success());
  CHECK(apply.output.find("resourceslice.resource.k8s.io/node-1-gpu created") != std::string::npos);
  CHECK(apply.output.find("resourceclaim.resource.k8s.io/claim-1 created") != std::string::npos);
  // Re-applying the same manifests changes nothing.
  auto again = k.Run({"apply", "-f", manifests});
  INFO(again.output);
  CHECK(again.output.find("resourceslice.resource.k8s.io/node-1-gpu unchanged") !=
        std::string::npos);

  auto list = k.Run({"get", "resourceslices", "-o", "json"});
  REQUIRE(list.exit.success());
  json items = json::parse(list.output)["items"];
  REQUIRE(items.size() == 1);
  CHECK(items[0]["spec"]["devices"][0]["attributes"]["model"]["string"] == "LATEST-GPU-MODEL");
  auto get =
      k.Run({"get", "resourceclaim", "claim-1", "-n", "default", "-o", "jsonpath={.metadata.uid}"});
  REQUIRE(get.exit.success());
  auto claim = server.Get("resourceclaims", "default", "claim-1");
  REQUIRE_OK(claim);
  CHECK(get.output == (*claim)["metadata"]["uid"].get<std::string>());

  // kubectl get -w: the watch shows a slice created afterwards.
  drahil::ChildProcess::Options wopts;
  wopts.argv = {kubectl, "--kubeconfig",   k.kubeconfig, "--cache-dir", k.cache_dir,
                "get",   "resourceslices", "-w",         "-o",          "name"};
  wopts.stdout_mode = drahil::ChildProcess::Stdio::kPipe;
  wopts.stderr_mode = drahil::ChildProcess::Stdio::kNull;
  auto watcher = drahil::ChildProcess::Spawn(wopts);
  REQUIRE_OK(watcher);
  std::string first = Slurp(*watcher, "resourceslice.resource.k8s.io/node-1-gpu", 20s);
  CHECK(first.find("node-1-gpu") != std::string::npos);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (server.OpenWatches() < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  REQUIRE_OK(server.Create("resourceslices", Slice("watched-later", "node-2")));
  std::string later = Slurp(*watcher, "watched-later", 20s);
  CHECK(later.find("resourceslice.resource.k8s.io/watched-later") != std::string::npos);
  watcher->Terminate(2s);

  auto del = k.Run({"delete", "-f", manifests});
  INFO(del.output);
  REQUIRE(del.exit.success());
  CHECK_FALSE(server.Get("resourceslices", "", "node-1-gpu").ok());
  CHECK_FALSE(server.Get("deviceclasses", "", "gpu.example.com").ok());
  // Every request kubectl made was authenticated as the admin.
  for (const auto& e : server.AuditLog()) {
    if (e.verb == "invalid") continue;
    CHECK(e.user == "drahil-admin");
  }
}

TEST_CASE("ApiServer clients: older kubectl releases apply and get through discovery",
          "[apiserver][clients][kubectl]") {
  std::string kubectl = drahil::testing::FindOnPath("kubectl");
  if (kubectl.empty()) DRAHIL_SKIP("kubectl is not on PATH");
  char real[PATH_MAX];
  if (realpath(kubectl.c_str(), real) == nullptr) DRAHIL_SKIP("cannot resolve kubectl");
  std::string dir_of = std::string(real).substr(0, std::string(real).rfind('/'));
  std::vector<std::string> versions;
  for (int minor = 27; minor <= 40; ++minor) {
    std::string p = dir_of + "/kubectl.1." + std::to_string(minor);
    if (access(p.c_str(), X_OK) == 0) versions.push_back(p);
  }
  if (versions.empty()) DRAHIL_SKIP("no kubectl.1.NN next to " + std::string(real));
  auto tmp = drahil::TempDir::Create("apiserver-kubectl-old-");
  REQUIRE_OK(tmp);
  auto s = ApiServer::Start({});
  REQUIRE_OK(s);
  REQUIRE_OK((*s)->WriteKubeconfig(tmp->Join("kubeconfig")));
  std::string manifests =
      drahil::testing::SourceDir() + "/harness/apiserver/tests/testdata/dra_objects.yaml";
  for (const auto& bin : versions) {
    SECTION(bin) {
      Kubectl k{bin, tmp->Join("kubeconfig"), tmp->Join("cache-" + bin.substr(bin.rfind('.') + 1))};
      int minor = std::stoi(bin.substr(bin.rfind('.') + 1));
      // kubectl < 1.29 validates on the client against OpenAPI v2, which the
      // server does not serve (it is protobuf-only); 1.29+ uses v3.
      std::vector<std::string> args = {"apply", "-f", manifests};
      if (minor < 29) args.push_back("--validate=false");
      auto apply = k.Run(args);
      INFO(bin << ": " << apply.output);
      CHECK(apply.exit.success());
      auto get = k.Run({"get", "resourceslice", "node-1-gpu", "-o", "jsonpath={.spec.driver}"});
      INFO(bin << ": " << get.output);
      CHECK(get.output == "gpu.example.com");
      auto del = k.Run({"delete", "-f", manifests});
      CHECK(del.exit.success());
    }
  }
}

TEST_CASE("ApiServer clients: Python kubernetes client against `drahil apiserver`",
          "[apiserver][clients][python]") {
  std::string python = drahil::testing::DebianPython();
  if (python.empty()) DRAHIL_SKIP("Debian's /usr/bin/python3 is absent");
  auto probe = drahil::RunCommand({python, "-c", "import kubernetes"}, 30s);
  if (!probe.ok() || !probe->exit.success()) {
    DRAHIL_SKIP("python3-kubernetes is not installed for /usr/bin/python3");
  }
  std::string drahil_bin = drahil::testing::Bin("drahil");
  INFO("drahil binary not built: " << drahil_bin);
  REQUIRE(access(drahil_bin.c_str(), X_OK) == 0);
  auto dir = drahil::TempDir::Create("apiserver-python-");
  REQUIRE_OK(dir);
  drahil::ChildProcess::Options opts;
  opts.argv = {drahil_bin,         "apiserver",
               "--listen",         "127.0.0.1:0",
               "--kubeconfig-out", dir->Join("kubeconfig"),
               "--data",           dir->Join("store.json")};
  opts.stdout_mode = drahil::ChildProcess::Stdio::kFile;
  opts.stdout_path = dir->Join("server.log");
  opts.stderr_mode = drahil::ChildProcess::Stdio::kFile;
  opts.stderr_path = dir->Join("server.log");
  opts.append = true;
  auto server = drahil::ChildProcess::Spawn(opts);
  REQUIRE_OK(server);
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!drahil::PathExists(dir->Join("kubeconfig")) && server->Running() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  REQUIRE(drahil::PathExists(dir->Join("kubeconfig")));
  std::string script =
      drahil::testing::SourceDir() + "/harness/apiserver/tests/scripts/python_client.py";
  auto run = drahil::RunCommand({python, script, dir->Join("kubeconfig")}, 90s);
  REQUIRE_OK(run);
  INFO(run->output);
  CHECK(run->exit.success());
  for (const char* step :
       {"ok: list namespaces", "ok: create with generateName", "ok: list+watch saw ADDED",
        "ok: stale update -> 409 Conflict", "ok: field selector list", "ok: delete"}) {
    CHECK(run->output.find(step) != std::string::npos);
  }
  // SIGTERM: the server stops cleanly and leaves its snapshot behind.
  auto exit = server->Terminate(10s);
  CHECK(exit.success());
  auto snap = drahil::ReadFile(dir->Join("store.json"));
  REQUIRE_OK(snap);
  CHECK(snap->find("py-other") != std::string::npos);
}
