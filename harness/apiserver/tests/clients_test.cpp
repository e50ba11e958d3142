// Real clients against the API server: kubectl (through discovery and
// OpenAPI v3, over TLS with a bearer token) and the official Python client
// against the `drahil apiserver` command.
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <optional>
#include <set>
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

namespace {

// KubectlServerSideApply(): kubectl apply --server-side against the server:
// create, re-apply a change, a conflict for another manager without
// --force-conflicts and success with it; --v=8 shows the apply PATCH and no
// fallback (415, a retry as client-side apply).
void KubectlServerSideApply(const Kubectl& k, int minor, const std::string& dir,
                            ApiServer& server) {
  std::string name = "ssa-" + std::to_string(minor);
  auto slice = [&](const std::string& model, int generation) {
    return "apiVersion: resource.k8s.io/v1\nkind: ResourceSlice\nmetadata:\n  name: " + name +
           "\nspec:\n  driver: gpu.example.com\n  nodeName: node-1\n  pool:\n    name: " + name +
           "\n    generation: " + std::to_string(generation) +
           "\n    resourceSliceCount: 1\n  devices:\n  - name: gpu-0\n    attributes:\n      "
           "model:\n        string: " +
           model + "\n";
  };
  std::string file = dir + "/" + name + ".yaml";
  std::vector<std::string> extra;
  // kubectl < 1.29 validates on the client against OpenAPI v2 (not served).
  if (minor < 29) extra.push_back("--validate=false");
  auto apply = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {"apply", "--server-side", "-f", file};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.insert(argv.end(), args.begin(), args.end());
    return k.Run(argv);
  };

  REQUIRE_OK(drahil::AtomicWriteFile(file, slice("M1", 1)));
  server.ClearAuditLog();
  auto first = apply({"--v=8"});
  INFO("kubectl 1." << minor << ": " << first.output);
  REQUIRE(first.exit.success());
  CHECK(first.output.find("serverside-applied") != std::string::npos);
  CHECK(first.output.find("application/apply-patch+yaml") != std::string::npos);
  CHECK(first.output.find("fieldManager=kubectl") != std::string::npos);
  // No request of the apply failed, so nothing fell back; kubectl <= 1.28
  // also asks for OpenAPI v2 and its old swagger path (404 here, see
  // docs/apiserver.md) and goes on.
  size_t patches = 0;
  for (const auto& e : server.AuditLog()) {
    if (e.user_agent.find("kubectl") == std::string::npos) continue;
    if (e.method == "PATCH" && e.name == name) {
      ++patches;
      CHECK(e.query.find("fieldManager=kubectl") != std::string::npos);
    }
    if (e.code >= 400) CHECK((e.path == "/openapi/v2" || e.path == "/swagger-2.0.0.pb-v1"));
  }
  CHECK(patches == 1);
  CHECK(first.output.find("Unsupported Media Type") == std::string::npos);
  CHECK(first.output.find("kubectl.kubernetes.io/last-applied-configuration") == std::string::npos);
  auto created = server.Get("resourceslices", "", name);
  REQUIRE_OK(created);
  REQUIRE((*created)["metadata"]["managedFields"].size() == 1);
  CHECK((*created)["metadata"]["managedFields"][0]["manager"] == "kubectl");
  CHECK((*created)["metadata"]["managedFields"][0]["operation"] == "Apply");

  // Re-applying a changed file updates the object.
  REQUIRE_OK(drahil::AtomicWriteFile(file, slice("M2", 2)));
  auto second = apply({});
  INFO("kubectl 1." << minor << ": " << second.output);
  REQUIRE(second.exit.success());
  auto changed = server.Get("resourceslices", "", name);
  REQUIRE_OK(changed);
  CHECK((*changed)["spec"]["devices"][0]["attributes"]["model"]["string"] == "M2");

  // Another manager changing the devices conflicts with kubectl's apply.
  REQUIRE_OK(drahil::AtomicWriteFile(file, slice("M3", 2)));
  auto conflict = apply({"--field-manager", "other-tool"});
  INFO("kubectl 1." << minor << ": " << conflict.output);
  CHECK_FALSE(conflict.exit.success());
  CHECK(conflict.output.find("conflict with \"kubectl\"") != std::string::npos);
  CHECK(conflict.output.find(".spec.devices") != std::string::npos);
  auto forced = apply({"--field-manager", "other-tool", "--force-conflicts", "--v=8"});
  INFO("kubectl 1." << minor << ": " << forced.output);
  CHECK(forced.exit.success());
  CHECK(forced.output.find("force=true") != std::string::npos);
  auto after = server.Get("resourceslices", "", name);
  REQUIRE_OK(after);
  CHECK((*after)["spec"]["devices"][0]["attributes"]["model"]["string"] == "M3");
  bool other_owns_devices = false;
  for (const auto& e : (*after)["metadata"]["managedFields"]) {
    if (e["manager"] == "other-tool" && e["fieldsV1"]["f:spec"].contains("f:devices")) {
      other_owns_devices = true;
    }
  }
  CHECK(other_owns_devices);

  // An object kubectl created with client-side apply: --server-side takes
  // over kubectl-client-side-apply's fields (kubectl's csaupgrade JSON patch
  // of managedFields) instead of conflicting.
  std::string csa = "csa-" + std::to_string(minor);
  std::string csa_file = dir + "/" + csa + ".yaml";
  auto csa_slice = [&](const std::string& model) {
    std::string y = slice(model, 1);
    for (size_t at = y.find(name); at != std::string::npos; at = y.find(name, at + 1)) {
      y.replace(at, name.size(), csa);
    }
    return y;
  };
  REQUIRE_OK(drahil::AtomicWriteFile(csa_file, csa_slice("C1")));
  std::vector<std::string> csa_args = {"apply", "-f", csa_file};
  csa_args.insert(csa_args.end(), extra.begin(), extra.end());
  auto client_side = k.Run(csa_args);
  INFO("kubectl 1." << minor << ": " << client_side.output);
  REQUIRE(client_side.exit.success());
  REQUIRE_OK(drahil::AtomicWriteFile(csa_file, csa_slice("C2")));
  csa_args.insert(csa_args.begin() + 1, "--server-side");
  auto upgraded = k.Run(csa_args);
  INFO("kubectl 1." << minor << ": " << upgraded.output);
  CHECK(upgraded.exit.success());
  auto csa_obj = server.Get("resourceslices", "", csa);
  REQUIRE_OK(csa_obj);
  CHECK((*csa_obj)["spec"]["devices"][0]["attributes"]["model"]["string"] == "C2");
  // The client-side annotation follows what kubectl applied (lastAppliedUpdater).
  std::string last = (*csa_obj)["metadata"]["annotations"].value(
      "kubectl.kubernetes.io/last-applied-configuration", "");
  CHECK(last.find("C2") != std::string::npos);
}

}  // namespace

TEST_CASE(
    "ApiServer clients: kubectl apply --server-side (1.32 and older releases) creates, "
    "re-applies, conflicts and forces as against kube-apiserver",
    "[apiserver][clients][kubectl][apply]") {
  std::string kubectl = drahil::testing::FindOnPath("kubectl");
  if (kubectl.empty()) DRAHIL_SKIP("kubectl is not on PATH");
  auto dir = drahil::TempDir::Create("apiserver-kubectl-ssa-");
  REQUIRE_OK(dir);
  auto s = ApiServer::Start({});
  REQUIRE_OK(s);
  REQUIRE_OK((*s)->WriteKubeconfig(dir->Join("kubeconfig")));
  Kubectl k{kubectl, dir->Join("kubeconfig"), dir->Join("cache")};
  auto version = k.Run({"version", "--client", "-o", "json"});
  REQUIRE(version.exit.success());
  int minor = std::stoi(json::parse(version.output)["clientVersion"]["minor"].get<std::string>());
  KubectlServerSideApply(k, minor, dir->path(), **s);

  char real[PATH_MAX];
  if (realpath(kubectl.c_str(), real) == nullptr) return;
  std::string dir_of = std::string(real).substr(0, std::string(real).rfind('/'));
  int older = 0;
  for (int m = 27; m <= 40; ++m) {
    std::string p = dir_of + "/kubectl.1." + std::to_string(m);
    if (m == minor || access(p.c_str(), X_OK) != 0) continue;
    Kubectl old{p, dir->Join("kubeconfig"), dir->Join("cache-" + std::to_string(m))};
    KubectlServerSideApply(old, m, dir->path(), **s);
    ++older;
  }
  if (older == 0) WARN("no kubectl.1.NN next to " << real << ": only kubectl 1." << minor);
}

TEST_CASE("ApiServer clients: the Python client's server-side apply of a claim status",
          "[apiserver][clients][python][apply]") {
  std::string python = drahil::testing::DebianPython();
  if (python.empty()) DRAHIL_SKIP("Debian's /usr/bin/python3 is absent");
  auto probe = drahil::RunCommand({python, "-c", "import kubernetes.dynamic"}, 30s);
  if (!probe.ok() || !probe->exit.success()) {
    DRAHIL_SKIP("python3-kubernetes is not installed for /usr/bin/python3");
  }
  auto dir = drahil::TempDir::Create("apiserver-python-ssa-");
  REQUIRE_OK(dir);
  auto s = ApiServer::Start({});
  REQUIRE_OK(s);
  ApiServer& server = **s;
  REQUIRE_OK(server.WriteKubeconfig(dir->Join("kubeconfig")));
  REQUIRE_OK(server.Create("resourceclaims", drahil::apiserver::testing::Claim("default", "c1")));
  auto claim = server.Get("resourceclaims", "default", "c1");
  REQUIRE_OK(claim);
  json c = *claim;
  c["status"]["allocation"] = {{"devices",
                                {{"results",
                                  {{{"request", "gpu"},
                                    {"driver", "gpu.example.com"},
                                    {"pool", "node-1"},
                                    {"device", "gpu-0"}}}}}}};
  REQUIRE_OK(server.UpdateStatus("resourceclaims", c));
  std::string script =
      drahil::testing::SourceDir() + "/harness/apiserver/tests/scripts/python_apply.py";
  auto run = drahil::RunCommand({python, script, dir->Join("kubeconfig"), "default", "c1"}, 90s);
  REQUIRE_OK(run);
  INFO(run->output);
  CHECK(run->exit.success());
  for (const char* step : {"ok: apply without fieldManager -> 422", "ok: status apply",
                           "ok: conflict -> 409", "ok: forced apply"}) {
    CHECK(run->output.find(step) != std::string::npos);
  }
  auto after = server.Get("resourceclaims", "default", "c1");
  REQUIRE_OK(after);
  CHECK((*after)["status"]["devices"][0]["conditions"][0]["status"] == "False");
}

namespace {

// StartCliServer(): `drahil apiserver --data DIR/store.json --token T` on a
// free port, logging to DIR/LOG; its port (0 when it did not come up).
uint16_t StartCliServer(const std::string& dir, const std::string& log,
                        std::optional<drahil::ChildProcess>* out) {
  drahil::ChildProcess::Options opts;
  opts.argv = {drahil::testing::Bin("drahil"),
               "apiserver",
               "--listen",
               "127.0.0.1:0",
               "--token",
               "chaos-admin",
               "--data",
               dir + "/store.json"};
  opts.stdout_mode = drahil::ChildProcess::Stdio::kFile;
  opts.stdout_path = dir + "/" + log;
  opts.stderr_mode = drahil::ChildProcess::Stdio::kFile;
  opts.stderr_path = dir + "/" + log;
  opts.append = true;
  auto server = drahil::ChildProcess::Spawn(opts);
  REQUIRE_OK(server);
  out->emplace(std::move(*server));
  const std::string marker = "listening on https://127.0.0.1:";
  std::string text =
      drahil::testing::WaitForText(dir + "/" + log, marker, std::chrono::seconds(20));
  auto at = text.rfind(marker);
  return at == std::string::npos
             ? 0
             : static_cast<uint16_t>(std::atoi(text.c_str() + at + marker.size()));
}

}  // namespace

// Chaos: the standalone server with --data killed with SIGKILL right after
// its last answer. Every write it acknowledged is there after the restart,
// as etcd's acknowledged writes are.
TEST_CASE("drahil apiserver --data: acknowledged writes survive a SIGKILL", "[apiserver][chaos]") {
  auto dir = drahil::TempDir::Create("apiserver-kill-");
  REQUIRE_OK(dir);
  std::optional<drahil::ChildProcess> server;
  uint16_t port = StartCliServer(dir->path(), "first.log", &server);
  INFO(drahil::ReadFile(dir->Join("first.log")).value_or(""));
  REQUIRE(port != 0);
  const std::string cms = "/api/v1/namespaces/default/configmaps";
  for (int i = 0; i < 40; ++i) {
    json cm = {{"apiVersion", "v1"},
               {"kind", "ConfigMap"},
               {"metadata", {{"name", "cm-" + std::to_string(i)}}},
               {"data", {{"i", std::to_string(i)}}}};
    REQUIRE(drahil::apiserver::testing::Http(port, "POST", cms, cm.dump(), "chaos-admin").status ==
            201);
  }
  REQUIRE(
      drahil::apiserver::testing::Http(port, "DELETE", cms + "/cm-0", "", "chaos-admin").status ==
      200);
  server->Kill();  // SIGKILL at once: no chance to write at exit
  auto stored = drahil::ReadFile(dir->Join("store.json"));
  REQUIRE_OK(stored);
  CHECK(stored->find("\"cm-39\"") != std::string::npos);

  port = StartCliServer(dir->path(), "second.log", &server);
  REQUIRE(port != 0);
  auto list = drahil::apiserver::testing::Http(port, "GET", cms, "", "chaos-admin");
  REQUIRE(list.status == 200);
  std::set<std::string> names;
  json body = list.Json();
  for (const auto& item : body["items"]) names.insert(item["metadata"]["name"].get<std::string>());
  CHECK(names.size() == 39);
  CHECK(names.count("cm-0") == 0);
  CHECK(names.count("cm-39") == 1);
  server->Terminate(10s);
}
