// End-to-end: the engine with the node wiring, the reference driver on an
// emulated laptop GPU (both built with these tests).
#include "drahil/node/node.hpp"

#include <unistd.h>

#include <algorithm>
#include <map>

#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/runner/engine.hpp"
#include "drahil/runner/integration.hpp"
#include "drahil/testing/testing.hpp"

using namespace drahil::runner;
using drahil::reports::Verdict;

namespace {

// RunOnNode(): the suite through the engine with the node side installed, as
// `drahil run` does, with the binaries of this build.
drahil::Result<drahil::reports::RunReport> RunOnNode(const Suite& suite,
                                                     const DriverProfile& profile,
                                                     const std::string& node_name = "drahil-node") {
  RunOptions o;
  o.profile = profile;
  o.bin_dir = drahil::testing::BinDir();
  o.lib_dir = drahil::testing::LibDir();
  o.node_name = node_name;
  StepRegistry steps = StepRegistry::WithBuiltins();
  EngineHooks hooks;
  IntegrationOptions io;
  io.bin_dir = o.bin_dir;
  drahil::node::Install(steps, hooks, io);
  Engine engine(std::move(steps), std::move(hooks), o);
  CancelToken cancel;
  return engine.Run({suite}, cancel);
}

}  // namespace

TEST_CASE("Node wiring: reference driver on an emulated GPU passes the smoke suite",
          "[runner][node][slow]") {
  std::string refdriver = drahil::testing::Bin("drahil-refdriver");
  std::string nvml = drahil::testing::LibDir() + "/fake-nvml/libnvidia-ml.so.1";
  REQUIRE(drahil::PathExists(refdriver));  // built with the tests (add_dependencies)
  REQUIRE(drahil::PathExists(nvml));

  auto suite = LoadSuiteFile(drahil::testing::SourceDir() + "/harness/node/tests/node-smoke.yaml");
  REQUIRE_OK(suite);
  auto profile = LoadDriverProfileFile(drahil::testing::SourceDir() +
                                       "/suites/drivers/reference-gpu-emulated.yaml");
  REQUIRE_OK(profile);
  profile->node_profile = drahil::testing::SourceDir() + "/fakes/profiles/laptop-1gpu.yaml";

  auto report = RunOnNode(*suite, *profile, "smoke-node");
  REQUIRE_OK(report);
  REQUIRE(report->suites.size() == 1);
  REQUIRE_FALSE(report->suites[0].cases.empty());
  for (const auto& c : report->suites[0].cases) {
    INFO(c.id << ": " << c.message);
    CHECK(c.verdict == Verdict::kPass);
  }
  const auto& prep = report->suites[0].cases[0];
  int prepares = 0;
  for (const auto& call : prep.calls)
    prepares += call.method.find("NodePrepareResources") != std::string::npos ? 1 : 0;
  CHECK(prepares == 2);
  CHECK_FALSE(prep.measurements.empty());
}

// The profile's apiserver section reaches the API server: the driver runs
// under its rules (what a Helm chart's ClusterRole grants, RBAC semantics)
// as the profile's user, and its CRDs are installed before it starts.
TEST_CASE("Node wiring: the profile's API rules and CRDs govern the driver's credentials",
          "[runner][node][policy]") {
  auto dir = drahil::TempDir::Create("node-policy-");
  REQUIRE_OK(dir);
  REQUIRE_OK(drahil::AtomicWriteFile(dir->Join("crd.yaml"), R"(apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gpuconfigs.gpu.drahil.dev}
spec:
  group: gpu.drahil.dev
  scope: Namespaced
  names: {plural: gpuconfigs, kind: GpuConfig}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
)"));
  auto suite = LoadSuiteFile(drahil::testing::SourceDir() + "/harness/node/tests/node-smoke.yaml");
  REQUIRE_OK(suite);
  auto profile = LoadDriverProfileFile(drahil::testing::SourceDir() +
                                       "/suites/drivers/reference-gpu-emulated.yaml");
  REQUIRE_OK(profile);
  profile->node_profile = drahil::testing::SourceDir() + "/fakes/profiles/laptop-1gpu.yaml";
  profile->api.has_rules = true;
  profile->api.user = "system:serviceaccount:dra:gpu-driver";
  profile->api.rules = {
      {{"resource.k8s.io"},
       {"resourceslices"},
       {"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"},
       {}},
      {{"resource.k8s.io"}, {"resourceclaims", "deviceclasses"}, {"get", "list", "watch"}, {}},
      {{"resource.k8s.io"}, {"resourceclaims/status"}, {"update", "patch"}, {}},
      {{""}, {"nodes"}, {"get", "list", "watch"}, {}},
      {{"", "events.k8s.io"}, {"events"}, {"create", "update", "patch"}, {}},
      {{"gpu.drahil.dev"}, {"gpuconfigs"}, {"get", "list", "watch"}, {}},
  };
  profile->api.crds = {dir->Join("crd.yaml")};
  auto report = RunOnNode(*suite, *profile, "policy-node");
  REQUIRE_OK(report);
  REQUIRE(report->suites.size() == 1);
  REQUIRE_FALSE(report->suites[0].cases.empty());
  bool crd_made = false;
  for (const auto& c : report->suites[0].cases) {
    INFO(c.id << ": " << c.message);
    CHECK(c.verdict == Verdict::kPass);
    for (const auto& call : c.calls)
      crd_made =
          crd_made || call.method == "create CustomResourceDefinition gpuconfigs.gpu.drahil.dev";
  }
  CHECK(crd_made);
}

// Scheduler fidelity on a node: run-pod allocates a pod's claims in one
// search (dynamicresources Filter → structured Allocator.Allocate() with all
// of the pod's claims, allocator_stable.go allocateOne()), and the Node
// carries the kubelet's well-known labels and the profile's node.labels for
// slice node selectors (pools_stable.go NodeMatches()). The pod object is
// bound (DefaultBinder), marked unschedulable (schedule_one.go FitError) or
// Running, then Succeeded/Failed (pkg/kubelet/kubelet_pods.go getPhase()),
// or left Pending with a FailedPrepareDynamicResources event.
TEST_CASE(
    "Node wiring: upstream Allocate allocates a pod's claims together, NodeMatches sees the Node's "
    "labels, pods are bound and get the phase the kubelet's getPhase gives",
    "[runner][node][scheduler]") {
  auto suite =
      LoadSuiteFile(drahil::testing::SourceDir() + "/harness/node/tests/node-scheduler.yaml");
  REQUIRE_OK(suite);
  auto profile = LoadDriverProfileFile(drahil::testing::SourceDir() +
                                       "/suites/drivers/reference-gpu-emulated.yaml");
  REQUIRE_OK(profile);
  profile->node_profile = drahil::testing::SourceDir() + "/fakes/profiles/gpu-8x-mig-server.yaml";
  profile->node_labels["example.com/rack"] = "r7";

  auto report = RunOnNode(*suite, *profile);
  REQUIRE_OK(report);
  REQUIRE(report->suites.at(0).cases.size() == 7);
  for (const auto& c : report->suites[0].cases) {
    INFO(c.id << ": " << c.message);
    CHECK(c.verdict == Verdict::kPass);
  }
}

TEST_CASE("Node wiring: a shared node is given back clean, even after a case killed the driver",
          "[runner][node][shared][slow]") {
  std::string refdriver = drahil::testing::Bin("drahil-refdriver");
  std::string nvml = drahil::testing::LibDir() + "/fake-nvml/libnvidia-ml.so.1";
  REQUIRE(drahil::PathExists(refdriver));  // built with the tests (add_dependencies)
  REQUIRE(drahil::PathExists(nvml));

  // One GPU: the second case can only prepare it if the first case's claim was
  // unprepared (the driver refuses a device prepared for another claim) and
  // deleted (the claim names repeat).
  auto suite = LoadSuiteString(
      "spec: drahil.suite/v1\n"
      "name: shared\n"
      "environment: shared\n"
      "fixtures:\n"
      "  - manifests:\n"
      "      - {apiVersion: v1, kind: Namespace, metadata: {name: t}}\n"  // the profile brings the
                                                                          // DeviceClass
      "cases:\n"
      "  - id: kill-with-claim-prepared\n"
      "    title: t\n"
      "    fixtures:\n"
      "      - manifest:\n"
      "          apiVersion: resource.k8s.io/v1\n"
      "          kind: ResourceClaim\n"
      "          metadata: {name: first, namespace: t}\n"
      "          spec: {devices: {requests: [{name: gpu, exactly: {deviceClassName: "
      "gpu.drahil.dev}}]}}\n"
      "    steps:\n"
      "      - allocate: t/first\n"
      "      - prepare: {claims: [t/first]}\n"
      "      - inject: {driver: kill}\n"
      "  - id: same-gpu-next-case\n"
      "    title: t\n"
      "    fixtures:\n"
      "      - manifest:\n"
      "          apiVersion: resource.k8s.io/v1\n"
      "          kind: ResourceClaim\n"
      "          metadata: {name: second, namespace: t}\n"
      "          spec: {devices: {requests: [{name: gpu, exactly: {deviceClassName: "
      "gpu.drahil.dev}}]}}\n"
      "    steps:\n"
      "      - allocate: t/second\n"
      "      - prepare: {claims: [t/second]}\n"
      "      - expect: {claim-error: {claim: t/second, empty: true}, calls: {NodePrepareResources: "
      "\"==1\"}}\n",
      "shared.yaml");
  REQUIRE_OK(suite);
  auto profile = LoadDriverProfileFile(drahil::testing::SourceDir() +
                                       "/suites/drivers/reference-gpu-emulated.yaml");
  REQUIRE_OK(profile);
  profile->node_profile = drahil::testing::SourceDir() + "/fakes/profiles/laptop-1gpu.yaml";

  auto report = RunOnNode(*suite, *profile);
  REQUIRE_OK(report);
  REQUIRE(report->suites.at(0).cases.size() == 2);
  for (const auto& c : report->suites[0].cases) {
    INFO(c.id << ": " << c.message);
    CHECK(c.verdict == Verdict::kPass);
  }
  bool reused = false;
  for (const auto& call : report->suites[0].cases[1].calls)
    reused |= call.method == "reuse shared node";
  CHECK(reused);
}

TEST_CASE(
    "Node wiring: the exec probe backend runs the vendor's probe for the checks it implements",
    "[runner][node][probe][slow]") {
  std::string refdriver = drahil::testing::Bin("drahil-refdriver");
  REQUIRE(drahil::PathExists(refdriver));  // built with the tests (add_dependencies)
  auto suite = LoadSuiteString(
      "spec: drahil.suite/v1\n"
      "name: exec\n"
      "fixtures:\n"
      "  - manifests:\n"
      "      - {apiVersion: v1, kind: Namespace, metadata: {name: t}}\n"
      "      - apiVersion: resource.k8s.io/v1\n"
      "        kind: ResourceClaim\n"
      "        metadata: {name: c, namespace: t}\n"
      "        spec: {devices: {requests: [{name: gpu, exactly: {deviceClassName: "
      "\"{class.gpu}\"}}]}}\n"
      "cases:\n"
      "  - id: enumerate\n"
      "    title: t\n"
      "    requires: {devices: [{kind: gpu, count: 1}]}\n"
      "    fixtures:\n"
      "      - manifest:\n"
      "          {apiVersion: v1, kind: Pod, metadata: {name: p, namespace: t}, spec: "
      "{resourceClaims: [{name: g, "
      "resourceClaimName: c}], containers: [{name: probe, image: drahil/probe-gpu, command: "
      "[drahil-probe-gpu, "
      "--checks, enumerate, --expect-count, \"1\"], resources: {claims: [{name: g}]}}]}}\n"
      "    steps: [{run-pod: t/p}]\n"
      "  - id: memory\n"
      "    title: t\n"
      "    requires: {devices: [{kind: gpu, count: 1}]}\n"
      "    fixtures:\n"
      "      - manifest:\n"
      "          {apiVersion: v1, kind: Pod, metadata: {name: p, namespace: t}, spec: "
      "{resourceClaims: [{name: g, "
      "resourceClaimName: c}], containers: [{name: probe, image: drahil/probe-gpu, command: "
      "[drahil-probe-gpu, "
      "--checks, memory-capacity], resources: {claims: [{name: g}]}}]}}\n"
      "    steps: [{run-pod: t/p}]\n",
      "exec.yaml");
  REQUIRE_OK(suite);
  auto profile = LoadDriverProfileFile(drahil::testing::SourceDir() +
                                       "/suites/drivers/reference-gpu-emulated.yaml");
  REQUIRE_OK(profile);
  profile->node_profile = drahil::testing::SourceDir() + "/fakes/profiles/laptop-1gpu.yaml";
  // The "vendor's probe" is drahil's own here, named by path as a vendor would.
  profile->probe.backend = "exec";
  profile->probe.command = {"{bin_dir}/drahil-probe-gpu"};
  profile->probe.checks = {"enumerate"};

  auto report = RunOnNode(*suite, *profile);
  REQUIRE_OK(report);
  REQUIRE(report->suites.size() == 1);
  REQUIRE(report->suites[0].cases.size() == 2);
  const auto& en = report->suites[0].cases[0];
  INFO(en.message);
  CHECK(en.verdict == Verdict::kPass);
  bool ran = false;
  for (const auto& call : en.calls)
    ran = ran || call.method.find("/drahil-probe-gpu") != std::string::npos;
  CHECK(ran);
  const auto& mem = report->suites[0].cases[1];
  CHECK(mem.verdict == Verdict::kSkip);
  CHECK(mem.message.find("does not implement the memory-capacity check") != std::string::npos);
}

TEST_CASE(
    "Node wiring: faults: nvml - an NVML driver finds the fake NVML on its own and sees injected "
    "faults",
    "[runner][node][faults][slow]") {
  std::string refdriver = drahil::testing::Bin("drahil-refdriver");
  REQUIRE(drahil::PathExists(refdriver));  // built with the tests (add_dependencies)
  auto suite = LoadSuiteString(
      "spec: drahil.suite/v1\n"
      "name: nvml\n"
      "cases:\n"
      "  - id: xid-reaches-driver\n"
      "    title: t\n"
      "    requires: {devices: [{role: victim, kind: gpu}], capabilities: [health]}\n"
      "    steps:\n"
      "      - expect: {health: {device: \"{role.victim}\", state: Healthy, within: 10s}}\n"
      "      - inject: {device-fault: {device: \"{role.victim}\", fault: xid, xid: 48}}\n"
      "      - expect: {health: {device: \"{role.victim}\", state: Unhealthy, within: 5s}}\n",
      "nvml.yaml");
  REQUIRE_OK(suite);
  auto profile = LoadDriverProfileFile(drahil::testing::SourceDir() +
                                       "/suites/drivers/reference-gpu-emulated.yaml");
  REQUIRE_OK(profile);
  // The 8-GPU server (its GPUs report Xid events; the laptop profile's does
  // not).
  profile->node_profile = drahil::testing::SourceDir() + "/fakes/profiles/gpu-8x-mig-server.yaml";
  // As a vendor's NVML driver would: dlopen("libnvidia-ml.so.1") by name,
  // with no path to drahil's fake in its arguments.
  for (auto& a : profile->args)
    if (a.rfind("--nvml-library=", 0) == 0) a = "--nvml-library=libnvidia-ml.so.1";
  profile->devices.faults = "nvml";

  auto report = RunOnNode(*suite, *profile);
  REQUIRE_OK(report);
  REQUIRE(report->suites.size() == 1);
  REQUIRE(report->suites[0].cases.size() == 1);
  const auto& c = report->suites[0].cases[0];
  INFO(c.message);
  CHECK(c.verdict == Verdict::kPass);
}

// The 1.34-1.36 kubelet opens a health stream to every plugin, listed
// health service or not, and retries a failed one every 5 s
// (pkg/kubelet/cm/dra/plugin/dra_plugin_manager.go, DRAPluginManager.add).
// So a driver that serves DRAResourceHealth without listing it in GetInfo
// has its health seen; one that does not serve it is found out by its
// stream, and a profile claiming health for it is contradicted.
TEST_CASE("Node wiring: health is watched on every plugin, listed or not, as upstream",
          "[runner][node][health]") {
  auto suite = LoadSuiteString(
      "spec: drahil.suite/v1\n"
      "name: health-listing\n"
      "cases:\n"
      "  - id: healthy\n"
      "    title: t\n"
      "    requires: {devices: [{role: d, kind: gpu}], capabilities: [health]}\n"
      "    steps:\n"
      "      - expect: {health: {device: \"{role.d}\", state: Healthy, within: 10s}}\n",
      "health-listing.yaml");
  REQUIRE_OK(suite);
  auto profile = LoadDriverProfileFile(drahil::testing::SourceDir() +
                                       "/suites/drivers/reference-gpu-emulated.yaml");
  REQUIRE_OK(profile);
  profile->node_profile = drahil::testing::SourceDir() + "/fakes/profiles/laptop-1gpu.yaml";

  SECTION("served but not listed: the stream shows it") {
    profile->args.push_back("--health-service=unlisted");
    auto report = RunOnNode(*suite, *profile);
    REQUIRE_OK(report);
    REQUIRE(report->suites[0].cases.size() == 1);
    const auto& c = report->suites[0].cases[0];
    INFO(c.message);
    CHECK(c.verdict == Verdict::kPass);
  }
  SECTION("not served: a claimed health capability is contradicted") {
    profile->args.push_back("--health-service=none");
    auto report = RunOnNode(*suite, *profile);
    REQUIRE_OK(report);
    REQUIRE(report->suites[0].cases.size() == 1);
    const auto& c = report->suites[0].cases[0];
    INFO(c.message);
    CHECK(c.verdict == Verdict::kError);
    CHECK(c.message.find("the stream delivered nothing") != std::string::npos);
  }
}

// The built-in node checks (registration, cdi-clean, refused raw calls, pool
// generation, share IDs, counters) against the reference driver under a
// foreign identity: each passes where the driver behaves and fails, naming
// what it saw, where the case sets it up to fail.
TEST_CASE("Node checks: each built-in check passes or fails by what the driver did",
          "[runner][node][checks]") {
  auto suite = LoadSuiteFile(drahil::testing::SourceDir() + "/harness/node/tests/node-checks.yaml");
  REQUIRE_OK(suite);
  auto profile = LoadDriverProfileFile(drahil::testing::SourceDir() +
                                       "/suites/drivers/reference-gpu-foreign.yaml");
  REQUIRE_OK(profile);
  profile->node_profile = drahil::testing::SourceDir() + "/fakes/profiles/gpu-8x-mig-server.yaml";

  auto report = RunOnNode(*suite, *profile);
  REQUIRE_OK(report);
  std::map<std::string, std::pair<Verdict, std::string>> got;
  for (const auto& c : report->suites.at(0).cases) got[c.id] = {c.verdict, c.message};
  struct Want {
    const char* id;
    Verdict verdict;
    const char* says;
  };
  const Want wants[] = {
      {"registration-lacks-service", Verdict::kFail, "lacks accel.example.com.NoSuchService"},
      {"registration-advertised", Verdict::kPass, ""},
      {"cdi-left-behind", Verdict::kFail, "still names claim t/a"},
      {"cdi-clean-after-unprepare", Verdict::kPass, ""},
      {"stale-uid-refused", Verdict::kPass, ""},
      {"current-uid-not-refused", Verdict::kFail, "accepted claim t/a"},
      {"generation-unchanged", Verdict::kFail, "pool generation stayed"},
      {"generation-without-record", Verdict::kError, "no generation was recorded"},
      {"share-ids-without-shares", Verdict::kError, "has no allocation result with a shareID"},
      {"counters-of-partitions", Verdict::kPass, ""},
      {"counters-more-than-published", Verdict::kFail, "expected at least 100000"},
  };
  REQUIRE(got.size() == std::size(wants));
  for (const auto& w : wants) {
    INFO(w.id << ": " << got[w.id].second);
    REQUIRE(got.count(w.id));
    CHECK(got[w.id].first == w.verdict);
    CHECK(got[w.id].second.find(w.says) != std::string::npos);
  }

  // A driver whose partitions consume half the memory they offer.
  auto mutant = *profile;
  mutant.args.push_back("--bug=wrong-counters");
  auto counters = *suite;
  counters.cases.erase(
      std::remove_if(counters.cases.begin(), counters.cases.end(),
                     [](const Case& c) { return c.id != "counters-of-partitions"; }),
      counters.cases.end());
  REQUIRE(counters.cases.size() == 1);
  auto bad = RunOnNode(counters, mutant);
  REQUIRE_OK(bad);
  const auto& c = bad->suites.at(0).cases.at(0);
  INFO(c.message);
  CHECK(c.verdict == Verdict::kFail);
  CHECK(c.message.find("of counter memory but offers") != std::string::npos);
}

// run-pod audits each container's CDI edits before the sandbox starts: a
// critical finding (here the driver bind-mounts the host's /etc read-write)
// fails the case naming it, and nothing is applied.
TEST_CASE("Node wiring: run-pod refuses a critical CDI edit before the sandbox starts",
          "[runner][node][sandbox]") {
  DRAHIL_REQUIRE_BUILT("drahil-hostile-driver", drahil::testing::Bin("drahil-hostile-driver"));
  auto dir = drahil::TempDir::Create("node-refuse-");
  REQUIRE_OK(dir);
  const std::string marker = "/etc/drahil-node-refuse-" + std::to_string(::getpid());
  auto profile = LoadDriverProfileString(
      "spec: drahil.driver/v1\nname: hostile\ndriver: hostile.example.com\nversion: \"0.1\"\n"
      "command: " +
          drahil::testing::Bin("drahil-hostile-driver") +
          "\nargs:\n  - --driver-name={driver_name}\n  - --node-name={node_name}\n"
          "  - --kubeconfig={kubeconfig}\n  - --registry-dir={registry_dir}\n"
          "  - --plugins-dir={plugins_dir}\n  - --cdi-dir={cdi_dir}\n  - --mode=cdi-mount-etc\n"
          "probe: {backend: emulated}\ntimeouts: {registration: 20s, slices: 20s}\n",
      "hostile.yaml");
  REQUIRE_OK(profile);
  auto suite = LoadSuiteString(
      "spec: drahil.suite/v1\nname: refuse\ndefaults: {case-timeout: 60s, step-timeout: 30s}\n"
      "fixtures:\n"
      "  - manifests:\n"
      "      - {apiVersion: v1, kind: Namespace, metadata: {name: t}}\n"
      "      - apiVersion: resource.k8s.io/v1\n"
      "        kind: DeviceClass\n"
      "        metadata: {name: hostile.example.com}\n"
      "        spec: {selectors: [{cel: {expression: 'device.driver == "
      "\"hostile.example.com\"'}}]}\n"
      "      - apiVersion: resource.k8s.io/v1\n"
      "        kind: ResourceClaim\n"
      "        metadata: {name: c, namespace: t}\n"
      "        spec: {devices: {requests: [{name: r, exactly: {deviceClassName: "
      "hostile.example.com}}]}}\n"
      "cases:\n"
      "  - id: etc\n    title: t\n    steps:\n      - allocate: t/c\n"
      "      - apply:\n          manifest:\n"
      "            {apiVersion: v1, kind: Pod, metadata: {name: p, namespace: t},\n"
      "             spec: {resourceClaims: [{name: d, resourceClaimName: c}],\n"
      "                    containers: [{name: x, image: busybox, command: [/bin/sh, -c,\n"
      "                      'echo pwned > /run/host-etc/" +
          marker.substr(5) +
          "'], resources: {claims: [{name: d}]}}]}}\n"
          "      - run-pod: t/p\n",
      "refuse.yaml");
  REQUIRE_OK(suite);
  auto report = RunOnNode(*suite, *profile);
  bool leaked = drahil::PathExists(marker);
  if (leaked) ::unlink(marker.c_str());
  CHECK_FALSE(leaked);
  REQUIRE_OK(report);
  REQUIRE(report->suites.size() == 1);
  REQUIRE(report->suites[0].cases.size() == 1);
  const auto& c = report->suites[0].cases[0];
  INFO(c.message);
  CHECK(c.verdict == Verdict::kFail);
  CHECK(c.type == "CdiRefused");
  CHECK(c.message.find("critical [sensitive-host-path]") != std::string::npos);
  CHECK(c.message.find("hostile-dev.json $.devices[0].containerEdits.mounts[0].hostPath") !=
        std::string::npos);
  CHECK(c.message.find("mount /etc -> /run/host-etc") != std::string::npos);
  for (const auto& call : c.calls) CHECK(call.kind != "probe");  // the sandbox never started
}
