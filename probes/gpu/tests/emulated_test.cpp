// drahil-probe-gpu with the emulated backend: drahil's GPU runtime
// (libdrahil-gpurt.so) and fake NVML loaded with dlopen, on node roots built
// by drahil-fakenode. Skipped when those fakes are not part of the build.
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <utility>

#include "drahil/core/child_process.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/testing/testing.hpp"

namespace {

struct Node {
  drahil::TempDir dir;
  std::string root;
  std::map<std::string, std::string> env;
  std::vector<std::string> uuids;  // state/gpus/gpu<minor>.json, leaf devices (MIG when enabled)
};

std::unique_ptr<Node> MakeNode(const std::string& profile, std::string* why) {
  std::string tool = drahil::testing::Bin("drahil-fakenode");
  std::string gpurt = drahil::testing::LibDir() + "/libdrahil-gpurt.so";
  std::string nvml = drahil::testing::LibDir() + "/fake-nvml/libnvidia-ml.so.1";
  const std::pair<const char*, std::string> needed[] = {
      {"drahil-fakenode", tool}, {"drahil_gpurt", gpurt}, {"drahil_fake_nvml", nvml}};
  for (const auto& [target, path] : needed) {
    *why = drahil::testing::RequireBuilt(target, path);
    if (!why->empty()) return nullptr;
  }
  auto dir = drahil::TempDir::Create("probe-gpu-emu-");
  REQUIRE_OK(dir);
  std::string root = dir->Join("node");
  auto r = drahil::RunCommand(
      {tool, "create", "--profile", drahil::testing::SourceDir() + "/fakes/profiles/" + profile,
       "--root", root},
      std::chrono::seconds(60));
  REQUIRE_OK(r);
  INFO(r->output);
  REQUIRE(r->exit.exit_code == 0);
  auto node = std::unique_ptr<Node>(new Node{std::move(*dir), root, {}, {}});
  node->env = {
      {"DRAHIL_FAKE_ROOT", root}, {"DRAHIL_GPURT_LIBRARY", gpurt}, {"DRAHIL_NVML_LIBRARY", nvml}};
  auto files = drahil::ListDir(root + "/state/gpus");
  REQUIRE_OK(files);
  for (const auto& f : *files) {
    auto text = drahil::ReadFile(root + "/state/gpus/" + f);
    REQUIRE_OK(text);
    auto j = nlohmann::json::parse(*text);
    bool mig = j.contains("mig") && j["mig"].value("enabled", false);
    if (!mig) {
      node->uuids.push_back(j["uuid"]);
    } else {
      for (const auto& m : j["mig"]["devices"]) node->uuids.push_back(m["uuid"]);
    }
  }
  return node;
}

struct Run {
  int rc = -1;
  nlohmann::json doc;
  std::string output;
};

Run Probe(const Node& n, std::vector<std::string> args,
          std::map<std::string, std::string> extra_env = {}) {
  args.insert(args.begin(), {drahil::testing::Bin("drahil-probe-gpu"), "--backend", "emulated"});
  args.push_back("-q");
  auto env = n.env;
  for (auto& [k, v] : extra_env) env[k] = v;
  auto r = drahil::RunCommand(args, std::chrono::seconds(120), env);
  REQUIRE_OK(r);
  Run out;
  out.rc = r->exit.exit_code;
  out.output = r->output;
  auto a = r->output.find("{\n");
  REQUIRE(a != std::string::npos);
  out.doc = nlohmann::json::parse(r->output.substr(a, r->output.rfind('}') - a + 1));
  return out;
}

const nlohmann::json& Check0(const Run& r) {
  REQUIRE(r.doc["checks"].size() >= 1);
  return r.doc["checks"][0];
}

bool Finding(const nlohmann::json& c, const std::string& part) {
  for (const auto& f : c["findings"]) {
    if (f.get<std::string>().find(part) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("Emulated GPU: enumerate passes with exactly the granted GPU", "[probe_gpu][emulated]") {
  std::string why;
  auto n = MakeNode("laptop-1gpu.yaml", &why);
  if (!n) DRAHIL_SKIP(why);
  REQUIRE(n->uuids.size() == 1);
  auto r = Probe(*n, {"--checks", "enumerate", "--expect-uuids", n->uuids[0]});
  INFO(r.output);
  CHECK(r.rc == 0);
  CHECK(Check0(r)["verdict"] == "pass");
  // NVML, the runtime and the node all agree on the one GPU.
  int nvml = 0, runtime = 0;
  for (const auto& d : r.doc["devices"]) {
    CHECK(d["uuid"] == n->uuids[0]);
    (d["source"] == "nvml" ? nvml : runtime)++;
  }
  CHECK(nvml == 1);
  CHECK(runtime == 1);
  CHECK(Check0(r)["details"]["nodes"][0]["opens"] == true);
}

TEST_CASE("Emulated GPU: enumerate fails naming the extra UUID when two devices are visible",
          "[probe_gpu][emulated]") {
  std::string why;
  // A full A100 (uuids[0]) and three MIG devices of a second A100.
  auto n = MakeNode("mixed.yaml", &why);
  if (!n) DRAHIL_SKIP(why);
  REQUIRE(n->uuids.size() == 4);
  auto r = Probe(*n, {"--checks", "enumerate", "--expect-uuids", n->uuids[0]});
  INFO(r.output);
  CHECK(r.rc == 1);
  // The runtime shows the first MIG device; NVML all three.
  CHECK(Finding(Check0(r), "runtime shows device " + n->uuids[1] + " that was not allocated"));
  CHECK(Finding(Check0(r), "NVML shows device " + n->uuids[2] + " that was not allocated"));
  CHECK(Finding(Check0(r), "runtime shows 2 device(s), expected 1"));
  std::string all = n->uuids[0] + "," + n->uuids[1] + "," + n->uuids[2] + "," + n->uuids[3];
  auto every = Probe(*n, {"--checks", "enumerate", "--expect-uuids", all});
  INFO(every.output);
  CHECK(every.rc == 0);
  CHECK(Finding(Check0(every), "one MIG device per process"));
}

TEST_CASE("Emulated GPU: memory-capacity fails without a sharing limit, passes with one",
          "[probe_gpu][emulated]") {
  std::string why;
  auto n = MakeNode("laptop-1gpu.yaml", &why);
  if (!n) DRAHIL_SKIP(why);
  std::vector<std::string> args = {"--checks",       "memory-capacity", "--expect-memory", "8Gi",
                                   "--expect-share", "256Mi",           "--chunk-size",    "64Mi"};
  auto open = Probe(*n, args);
  INFO(open.output);
  CHECK(open.rc == 1);
  CHECK(Finding(Check0(open), "the limit is not enforced"));
  auto limited = Probe(*n, args, {{"CUDA_MPS_PINNED_DEVICE_MEM_LIMIT", "0=256M"}});
  INFO(limited.output);
  CHECK(limited.rc == 0);
  CHECK(Check0(limited)["details"]["refusal"].get<std::string>().find("gpurtMalloc") !=
        std::string::npos);
  auto wrong_total = Probe(*n,
                           {"--checks", "memory-capacity", "--expect-memory", "16Gi",
                            "--expect-share", "64Mi", "--chunk-size", "64Mi"},
                           {{"CUDA_MPS_PINNED_DEVICE_MEM_LIMIT", "0=64M"}});
  CHECK(wrong_total.rc == 1);
  CHECK(Finding(Check0(wrong_total), "expected 16.0 GiB"));
}

TEST_CASE("Emulated GPU: a canary is found on a shared GPU and absent on another",
          "[probe_gpu][emulated]") {
  std::string why;
  auto n = MakeNode("mixed.yaml", &why);
  if (!n) DRAHIL_SKIP(why);
  std::string ready = n->dir.Join("ready");
  auto w = Probe(*n, {"--checks", "memory-isolation", "--write-canary", "run-7", "--canary-size",
                      "1Mi", "--ready-file", ready, "--device", "0"});
  INFO(w.output);
  REQUIRE(w.rc == 0);
  CHECK(drahil::PathExists(ready));
  std::vector<std::string> scan = {"--checks", "memory-isolation", "--scan-canary",
                                   "run-7",    "--scan-size",      "2Mi"};
  SECTION("same GPU, time-sliced: found, and that is the documented behaviour") {
    auto args = scan;
    args.insert(args.end(), {"--device", "0", "--sharing", "time-slicing"});
    auto r = Probe(*n, args);
    INFO(r.output);
    CHECK(r.rc == 0);
    CHECK(Check0(r)["details"]["isolation"] == "absent-as-expected");
    CHECK(Check0(r)["measurements"][1]["value"].get<double>() > 0);
  }
  SECTION("same GPU claimed as exclusive: the breach is a failure") {
    auto args = scan;
    args.insert(args.end(), {"--device", "0"});
    auto r = Probe(*n, args);
    CHECK(r.rc == 1);
    CHECK(Finding(Check0(r), "canary records of run run-7"));
  }
  SECTION("another device: nothing found") {
    auto args = scan;
    args.insert(args.end(), {"--device", "1", "--sharing", "mig"});
    auto r = Probe(*n, args);
    INFO(r.output);
    CHECK(r.rc == 0);
    CHECK(Check0(r)["details"]["isolation"] == "held");
  }
}

TEST_CASE("Emulated GPU: compute and bandwidth verify real kernels, health sees an injected Xid",
          "[probe_gpu][emulated]") {
  std::string why;
  auto n = MakeNode("laptop-1gpu.yaml", &why);
  if (!n) DRAHIL_SKIP(why);
  std::vector<std::string> args = {"--checks",         "compute,bandwidth,health",
                                   "--fma-items",      "16384",
                                   "--fma-iters",      "64",
                                   "--bandwidth-size", "1Mi",
                                   "--reps",           "1",
                                   "--stress-seconds", "0.05"};
  auto ok = Probe(*n, args);
  INFO(ok.output);
  CHECK(ok.rc == 0);
  auto inj = drahil::RunCommand({drahil::testing::Bin("drahil-fakenode"), "inject", "--root",
                                 n->root, "--device", "gpu0", "--fault", "xid:13"},
                                std::chrono::seconds(30));
  REQUIRE_OK(inj);
  REQUIRE(inj->exit.exit_code == 0);
  auto bad = Probe(*n, {"--checks", "health", "--stress-seconds", "0.05"});
  INFO(bad.output);
  CHECK(bad.rc == 1);
  CHECK(Finding(Check0(bad), "Xid 13"));
}
