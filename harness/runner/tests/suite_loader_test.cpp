#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/runner/suite.hpp"
#include "drahil/testing/testing.hpp"

using namespace drahil::runner;

namespace {

std::string Testdata(const std::string& name) {
  return drahil::testing::SourceDir() + "/harness/runner/tests/testdata/" + name;
}

// LoadError(): loads text as "t.yaml" and returns the error message ("" if it loaded).
std::string LoadError(const std::string& text) {
  auto s = LoadSuiteString(text, "t.yaml");
  return s.ok() ? "" : s.status().message();
}

const char* kHead = "spec: drahil.suite/v1\nname: s\ncases:\n";

// Laughs(): "billion laughs" anchors, one per line at `indent`: 10 levels of
// 10 aliases each, 10^9 scalars once expanded, under a kilobyte of text.
std::string Laughs(const std::string& indent) {
  std::string y = indent + "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i < 10; ++i) {
    std::string prev = "*l" + std::to_string(i - 1);
    y += indent + "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [" + prev;
    for (int k = 1; k < 10; ++k) y += ", " + prev;
    y += "]\n";
  }
  return y;
}

}  // namespace

TEST_CASE("SuiteLoader: loads every step kind with typed params and manifests", "[runner][suite]") {
  auto suite = LoadSuiteFile(Testdata("valid.yaml"));
  REQUIRE_OK(suite);
  CHECK(suite->name == "loader-sample");
  CHECK(suite->case_timeout == std::chrono::minutes(2));
  CHECK(suite->step_timeout == std::chrono::seconds(20));
  REQUIRE(suite->fixtures.size() == 1);
  CHECK(suite->fixtures[0].Ref() == "Namespace drahil-test");
  REQUIRE(suite->cases.size() == 2);

  const Case& c = suite->cases[0];
  CHECK(c.id == "prepare-one-gpu");
  CHECK(c.feature == "kep-4381");  // the first kep-* tag
  CHECK(c.requires_.capabilities == std::vector<std::string>{"structured-parameters"});
  REQUIRE(c.requires_.devices.size() == 1);
  CHECK(c.requires_.devices[0].kind == "gpu");
  CHECK(c.requires_.probe_backends.size() == 2);
  REQUIRE(c.fixtures.size() == 2);  // two documents from manifests/claim.yaml
  CHECK(c.fixtures[0].Ref() == "ResourceClaim drahil-test/one-gpu");
  CHECK(c.fixtures[0].object["spec"]["devices"]["requests"][0]["exactly"]["count"] ==
        1);  // typed int
  CHECK(c.fixtures[1].where.file.find("manifests/claim.yaml") != std::string::npos);
  CHECK(c.fixtures[1].where.line == 14);
  REQUIRE(c.steps.size() == 5);
  CHECK(c.steps[0].kind == "allocate");
  CHECK(c.steps[0].params == "drahil-test/one-gpu");
  CHECK(c.steps[1].kind == "prepare");
  CHECK(c.steps[1].params["replay"] == 2);
  CHECK(c.steps[1].timeout == std::chrono::seconds(10));
  CHECK(c.steps[1].name == "prepare twice");
  CHECK(c.steps[1].where.line == 23);
  CHECK(c.steps[2].params["cdi-ids"]["matches"][0] == "^gpu\\.drahil\\.dev/gpu=");

  const Case& h = suite->cases[1];
  CHECK(h.feature == "health");  // explicit
  CHECK(h.steps[1].kind == "eventually");
  REQUIRE(h.steps[1].children.size() == 1);
  CHECK(h.steps[1].children[0].params["health"]["state"] == "Unhealthy");
  CHECK(h.steps[2].children[0].kind == "expect");
  CHECK(h.steps[4].params["reboot"] == true);
  CHECK(h.steps[8].manifests.size() == 1);
  CHECK(h.steps[8].manifests[0].Kind() == "DeviceClass");
}

TEST_CASE("SuiteLoader: errors name file, line and key", "[runner][suite]") {
  SECTION("unknown key in a case") {
    std::string e = LoadError(std::string(kHead) +
                              "  - id: a\n    title: t\n    colour: red\n    steps: [wait: 1s]\n");
    CHECK(e.find("t.yaml:6:5: cases[0].colour: unknown key") != std::string::npos);
    CHECK(e.find("allowed: id, title") != std::string::npos);
  }
  SECTION("unknown key inside step params") {
    std::string e = LoadError(
        std::string(kHead) +
        "  - id: a\n    title: t\n    steps:\n      - prepare: { claims: [x], replya: 2 }\n");
    CHECK(e.find("t.yaml:7:33: cases[0].steps[0].prepare.replya: unknown key") !=
          std::string::npos);
  }
  SECTION("wrong type") {
    std::string e = LoadError(
        std::string(kHead) +
        "  - id: a\n    title: t\n    steps:\n      - prepare: { claims: [x], replay: two }\n");
    CHECK(e.find("t.yaml:7:41: cases[0].steps[0].prepare.replay: expected an integer >= 1, got "
                 "\"two\"") != std::string::npos);
  }
  SECTION("quoted numbers are strings") {
    std::string e = LoadError(
        std::string(kHead) +
        "  - id: a\n    title: t\n    steps:\n      - prepare: { claims: [x], replay: \"2\" }\n");
    CHECK(e.find("replay: expected an integer") != std::string::npos);
  }
  SECTION("unknown step kind") {
    std::string e =
        LoadError(std::string(kHead) + "  - id: a\n    title: t\n    steps:\n      - sleep: 1s\n");
    CHECK(e.find("t.yaml:7:9: cases[0].steps[0].sleep: unknown step kind") != std::string::npos);
  }
  SECTION("two kinds in one step") {
    std::string e =
        LoadError(std::string(kHead) +
                  "  - id: a\n    title: t\n    steps:\n      - wait: 1s\n        allocate: x\n");
    CHECK(e.find("a step has one kind") != std::string::npos);
  }
  SECTION("missing required key") {
    std::string e = LoadError(std::string(kHead) + "  - id: a\n    steps: [wait: 1s]\n");
    CHECK(e.find("t.yaml:4:5: cases[0]: missing required key \"title\"") != std::string::npos);
  }
  SECTION("duplicate keys and ids") {
    CHECK(LoadError(std::string(kHead) +
                    "  - id: a\n    title: t\n    title: u\n    steps: [wait: 1s]\n")
              .find("t.yaml:6:5: cases[0].title: duplicate key") != std::string::npos);
    CHECK(
        LoadError(
            std::string(kHead) +
            "  - {id: a, title: t, steps: [wait: 1s]}\n  - {id: a, title: t, steps: [wait: 1s]}\n")
            .find("duplicate case id \"a\" (first at t.yaml:4:5)") != std::string::npos);
  }
  SECTION("bad durations, codes, regexes and enums") {
    CHECK(LoadError(std::string(kHead) + "  - {id: a, title: t, steps: [wait: 10]}\n")
              .find("bad duration \"10\"") != std::string::npos);
    CHECK(LoadError(std::string(kHead) +
                    "  - {id: a, title: t, steps: [expect: {grpc-code: NOPE}]}\n")
              .find("expected a gRPC code name") != std::string::npos);
    CHECK(
        LoadError(std::string(kHead) +
                  "  - {id: a, title: t, steps: [expect: {cdi-ids: {claim: c, matches: ['(']}}]}\n")
            .find("bad regular expression") != std::string::npos);
    CHECK(LoadError(std::string(kHead) +
                    "  - {id: a, title: t, steps: [inject: {driver: explode}]}\n")
              .find("expected one of kill terminate restart sigstop sigcont") != std::string::npos);
  }
  SECTION("exactly one fault, at least one expectation") {
    CHECK(LoadError(std::string(kHead) +
                    "  - {id: a, title: t, steps: [inject: {driver: kill, reboot: true}]}\n")
              .find("needs exactly one of: device-fault, driver, reboot, kubelet, api-fault") !=
          std::string::npos);
    CHECK(LoadError(std::string(kHead) + "  - {id: a, title: t, steps: [expect: {}]}\n")
              .find("needs at least one of") != std::string::npos);
  }
  SECTION("unknown capability is rejected, x- names are free") {
    CHECK(LoadError(std::string(kHead) + "  - {id: a, title: t, requires: {capabilities: "
                                         "[partitionabel-devices]}, steps: [wait: 1s]}\n")
              .find("unknown capability \"partitionabel-devices\"") != std::string::npos);
    CHECK(LoadError(
              std::string(kHead) +
              "  - {id: a, title: t, requires: {capabilities: [x-foo]}, steps: [wait: 1s]}\n") ==
          "");
  }
  SECTION("manifests are checked") {
    CHECK(LoadError(std::string(kHead) +
                    "  - {id: a, title: t, fixtures: [{manifest: {apiVersion: v1, kind: Secret, "
                    "metadata: {name: s}}}], steps: [wait: 1s]}\n")
              .find("kind \"Secret\" is not supported") != std::string::npos);
    CHECK(LoadError(std::string(kHead) +
                    "  - {id: a, title: t, fixtures: [{manifest: {apiVersion: v1, kind: "
                    "DeviceClass, metadata: {name: s}}}], steps: [wait: 1s]}\n")
              .find("apiVersion \"v1\" does not serve DeviceClass") != std::string::npos);
    CHECK(LoadError(std::string(kHead) +
                    "  - {id: a, title: t, fixtures: [missing.yaml], steps: [wait: 1s]}\n")
              .find("cannot read manifest file") != std::string::npos);
  }
  SECTION("only checks and calls may be retried") {
    CHECK(LoadError(std::string(kHead) + "  - {id: a, title: t, steps: [eventually: {timeout: 1s, "
                                         "steps: [inject: {driver: kill}]}]}\n")
              .find("\"inject\" cannot be retried") != std::string::npos);
  }
  SECTION("syntax errors and wrong spec") {
    CHECK(LoadError("spec: [\n").find("t.yaml:2:1") != std::string::npos);
    CHECK(LoadError("spec: drahil.suite/v2\nname: s\ncases: []\n")
              .find("t.yaml:1:7: spec: expected one of drahil.suite/v1") != std::string::npos);
    CHECK(LoadError("").find("expected exactly one YAML document") != std::string::npos);
  }
}

TEST_CASE("SuiteLoader: hostile inputs never crash", "[runner][suite]") {
  for (const char* text :
       {"{", "- - - -", "spec: *a", "!!binary x", "cases: {a: 1}", "\xff\xfe", "---\n---\n",
        "spec: drahil.suite/v1\nname: s\ncases: [{id: a, title: t, steps: [{eventually: {timeout: "
        "1s, steps: [{eventually: {timeout: 1s, steps: [{eventually: {timeout: 1s, steps: "
        "[{eventually: {timeout: 1s, steps: [{eventually: {timeout: 1s, steps: [{wait: "
        "1s}]}}]}}]}}]}}]}}]}]}]\n",
        "spec: drahil.suite/v1\nname: s\ncases: [{id: a, title: t, requires: {devices: [{kind: g, "
        "count: 99999999999999}]}, steps: [wait: 1s]}]\n"}) {
    CHECK_FALSE(LoadError(text).empty());
  }
}

TEST_CASE("SuiteLoader: an alias bomb fails naming the file", "[runner][suite]") {
  // Inline, in a fixture manifest of the suite itself.
  std::string suite = std::string(kHead) +
                      "  - id: a\n    title: t\n    steps: [wait: 1s]\n    fixtures:\n"
                      "      - manifest:\n          apiVersion: v1\n          kind: ConfigMap\n"
                      "          metadata: {name: c}\n          data:\n" +
                      Laughs("            ");
  REQUIRE(suite.size() < 1200);
  std::string e = LoadError(suite);
  INFO(e);
  CHECK(e.rfind("t.yaml:", 0) == 0);
  CHECK(e.find("more than 1000000 nodes (alias expansion?)") != std::string::npos);

  // In a manifest file the suite references.
  auto dir = drahil::TempDir::Create("drahil-laughs-");
  REQUIRE_OK(dir);
  REQUIRE_OK(drahil::AtomicWriteFile(
      dir->Join("bomb.yaml"),
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n" + Laughs("  ")));
  REQUIRE_OK(drahil::AtomicWriteFile(
      dir->Join("suite.yaml"),
      std::string(kHead) + "  - {id: a, title: t, fixtures: [bomb.yaml], steps: [wait: 1s]}\n"));
  auto loaded = LoadSuiteFile(dir->Join("suite.yaml"));
  REQUIRE_FALSE(loaded.ok());
  INFO(loaded.status().message());
  CHECK(loaded.status().message().find(dir->Join("bomb.yaml") + ":") != std::string::npos);
  CHECK(loaded.status().message().find("alias expansion") != std::string::npos);
}

TEST_CASE("ParseDuration: units, combinations and rejects", "[runner][suite]") {
  CHECK(*ParseDuration("500ms") == Duration(500));
  CHECK(*ParseDuration("1.5s") == Duration(1500));
  CHECK(*ParseDuration("1m30s") == Duration(90000));
  CHECK(*ParseDuration("2h") == Duration(7200000));
  for (const char* bad : {"", "10", "-1s", "1s2", "s", "1 s", "1d", "200h"}) {
    INFO(bad);
    CHECK_FALSE(ParseDuration(bad).ok());
  }
  CHECK(FormatDuration(Duration(90000)) == "90s");
  CHECK(FormatDuration(Duration(120000)) == "2m");
  CHECK(FormatDuration(Duration(1500)) == "1500ms");
}

TEST_CASE("LoadSuites: directories, sorting, and ids unique across suites", "[runner][suite]") {
  auto dir = drahil::TempDir::Create("drahil-suites-");
  REQUIRE_OK(dir);
  REQUIRE_OK(drahil::MakeDirs(dir->Join("drivers")));
  REQUIRE_OK(drahil::AtomicWriteFile(
      dir->Join("b.yaml"),
      "spec: drahil.suite/v1\nname: b\ncases: [{id: x, title: t, steps: [wait: 1s]}]\n"));
  REQUIRE_OK(drahil::AtomicWriteFile(
      dir->Join("a.yml"),
      "spec: drahil.suite/v1\nname: a\ncases: [{id: y, title: t, steps: [wait: 1s]}]\n"));
  REQUIRE_OK(drahil::AtomicWriteFile(dir->Join("drivers/p.yaml"), "not a suite"));
  auto suites = LoadSuites({dir->path()});
  REQUIRE_OK(suites);
  REQUIRE(suites->size() == 2);
  CHECK((*suites)[0].name == "a");
  REQUIRE_OK(drahil::AtomicWriteFile(
      dir->Join("c.yaml"),
      "spec: drahil.suite/v1\nname: c\ncases: [{id: x, title: t, steps: [wait: 1s]}]\n"));
  auto dup = LoadSuites({dir->path()});
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.status().message().find("case id \"x\" is also used at") != std::string::npos);
  CHECK_FALSE(LoadSuites({dir->Join("nope")}).ok());
}

TEST_CASE("DriverProfile: loads, checks placeholders and the env backend", "[runner][profile]") {
  auto p = LoadDriverProfileFile(Testdata("profile.yaml"));
  REQUIRE_OK(p);
  CHECK(p->driver_name == "gpu.drahil.dev");
  CHECK(p->args.size() == 7);
  CHECK(p->capabilities.size() == 3);
  CHECK(p->timeouts.registration == std::chrono::seconds(20));
  CHECK(p->timeouts.unprepare == std::chrono::seconds(45));  // default
  const std::string head = "spec: drahil.driver/v1\nname: p\ndriver: d.example.com\n";
  auto err = [&](const std::string& rest) {
    auto r = LoadDriverProfileString(head + rest, "p.yaml");
    return r.ok() ? std::string() : r.status().message();
  };
  CHECK(err("command: x\nargs: [\"--k={kubecfg}\"]\n")
            .find("p.yaml:5:8: args[0]: unknown placeholder {kubecfg}") != std::string::npos);
  CHECK(err("command: x\nprobe: {backend: env}\n").find("backend env needs env-pattern") !=
        std::string::npos);
  CHECK(err("command: x\nprobe: {backend: env, env-pattern: \"^GPU_DEVICE_[0-9]+$\"}\n") == "");
  CHECK(err("command: x\ncapabilities: [magic]\n").find("unknown capability") != std::string::npos);
  CHECK(err("command: x\nenv: {A: {b: c}}\n").find("env.A: expected a string") !=
        std::string::npos);
}

TEST_CASE("DriverProfile: node.labels are the Node's extra labels", "[runner][profile]") {
  const std::string head = "spec: drahil.driver/v1\nname: p\ndriver: d.example.com\ncommand: x\n";
  auto p = LoadDriverProfileString(
      head + "node: {profile: laptop-1gpu, labels: {example.com/rack: r7}}\n", "p.yaml");
  REQUIRE_OK(p);
  CHECK(p->node_profile == "laptop-1gpu");
  CHECK(p->node_labels == std::map<std::string, std::string>{{"example.com/rack", "r7"}});
  auto bad = LoadDriverProfileString(head + "node: {labels: {a: {b: c}}}\n", "p.yaml");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("node.labels.a") != std::string::npos);
}

TEST_CASE("DriverProfile: apiserver.rules, user and crds are the driver's API rights",
          "[runner][profile]") {
  auto dir = drahil::TempDir::Create("profile-api-");
  REQUIRE_OK(dir);
  REQUIRE_OK(drahil::AtomicWriteFile(dir->Join("crd.yaml"), "kind: CustomResourceDefinition\n"));
  const std::string head = "spec: drahil.driver/v1\nname: p\ndriver: d.example.com\ncommand: x\n";
  auto p = LoadDriverProfileString(head +
                                       "apiserver:\n"
                                       "  user: system:serviceaccount:gpu:driver\n"
                                       "  rules:\n"
                                       "  - apiGroups: [\"\"]\n"
                                       "    resources: [configmaps]\n"
                                       "    verbs: [get, list, watch]\n"
                                       "    resourceNames: [gpu-config]\n"
                                       "  - apiGroups: [coordination.k8s.io]\n"
                                       "    resources: [leases]\n"
                                       "    verbs: [\"*\"]\n"
                                       "  crds: [crd.yaml]\n",
                                   dir->Join("p.yaml"));
  REQUIRE_OK(p);
  CHECK(p->api.has_rules);
  CHECK(p->api.user == "system:serviceaccount:gpu:driver");
  REQUIRE(p->api.rules.size() == 2);
  CHECK(p->api.rules[0].api_groups == std::vector<std::string>{""});
  CHECK(p->api.rules[0].resource_names == std::vector<std::string>{"gpu-config"});
  CHECK(p->api.rules[1].verbs == std::vector<std::string>{"*"});
  REQUIRE(p->api.crds.size() == 1);
  CHECK(p->api.crds[0] == dir->Join("crd.yaml"));
  // Without the section the default node rule set applies.
  auto plain = LoadDriverProfileString(head, "p.yaml");
  REQUIRE_OK(plain);
  CHECK_FALSE(plain->api.has_rules);
  auto bad = LoadDriverProfileString(
      head + "apiserver: {rules: [{apiGroups: [\"\"], resources: [pods], verbs: [read]}]}\n",
      "p.yaml");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("unknown verb \"read\"") != std::string::npos);
  auto missing =
      LoadDriverProfileString(head + "apiserver: {crds: [nope.yaml]}\n", dir->Join("p.yaml"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message().find("no such file or directory") != std::string::npos);
}

TEST_CASE("ExpandPlaceholders: values, escapes and errors", "[runner][profile]") {
  std::map<std::string, std::string> v = {{"node_name", "n1"}, {"cdi_dir", "/c"}};
  CHECK(*ExpandPlaceholders("--node={node_name} {cdi_dir}/x", v) == "--node=n1 /c/x");
  CHECK(*ExpandPlaceholders("{{literal}}", v) == "{literal}");
  CHECK_FALSE(ExpandPlaceholders("{nope}", v).ok());
  CHECK_FALSE(ExpandPlaceholders("{node_name", v).ok());
  CHECK_FALSE(ExpandPlaceholders("a}b", v).ok());
}

TEST_CASE("SuiteLoader: named devices, late drivers, concurrent pods and the node expectations",
          "[runner][suite]") {
  const std::string text =
      std::string(kHead) +
      "  - id: a\n"
      "    title: t\n"
      "    requires: { devices: [{ name: gpu-5 }, { kind: gpu, count: 2 }] }\n"
      "    driver-start-delay: 2s\n"
      "    steps:\n"
      "      - run-pod: { pods: [ns/a, ns/b], keep-prepared: true }\n"
      "      - run-pod: { pod: ns/c, expect-binding: timeout, binding-timeout: 3s }\n"
      "      - run-pod: { pod: ns/d, expect-schedule: unschedulable }\n"
      "      - prepare: { pod: ns/a, api: v1beta1 }\n"
      "      - prepare: { claims: [] }\n"
      "      - inject: { kubelet: restart }\n"
      "      - inject: { api-fault: { type: status, status: 503, for: 2s } }\n"
      "      - expect:\n"
      "          pod-resources: { pod: ns/a, container: c, devices: 1 }\n"
      "          resource-status: { pod: ns/a, container: c, health: Unknown, within: 5s }\n"
      "          driver-growth: { max-fds: 4, max-rss-mib: 16.5 }\n"
      "          probe: { pod: ns/a, verdict: pass, values: [{ name: x, min: 1 }] }\n";
  auto s = LoadSuiteString(text, "t.yaml");
  REQUIRE_OK(s);
  const Case& c = s->cases.at(0);
  REQUIRE(c.requires_.devices.size() == 2);
  CHECK(c.requires_.devices[0].name == "gpu-5");
  CHECK(c.requires_.devices[0].kind.empty());
  CHECK(c.requires_.devices[1].kind == "gpu");
  CHECK(c.requires_.devices[1].count == 2);
  CHECK(c.driver_start_delay == std::chrono::seconds(2));
  REQUIRE(c.steps.size() == 8);
  CHECK(c.steps[0].params["pods"].size() == 2);
  CHECK(c.steps[1].params["expect-binding"] == "timeout");
  CHECK(c.steps[4].params["claims"].empty());
  CHECK(c.steps[5].params["kubelet"] == "restart");
  CHECK(c.steps[6].params["api-fault"]["for"] == "2s");
  CHECK(c.steps[7].params["driver-growth"]["max-rss-mib"] == 16.5);

  // A partition shape belongs to a kind; a device by name has none.
  auto shaped = LoadSuiteString(std::string(kHead) +
                                    "  - {id: a, title: t, requires: {devices: [{kind: mig, "
                                    "shape: small, count: 7}]}, steps: [wait: 1s]}\n",
                                "t.yaml");
  REQUIRE_OK(shaped);
  CHECK(shaped->cases[0].requires_.devices.at(0).shape == "small");
  CHECK(shaped->cases[0].requires_.devices.at(0).count == 7);
  CHECK(LoadError(std::string(kHead) + "  - {id: a, title: t, requires: {devices: [{name: gpu-0, "
                                       "shape: small}]}, steps: [wait: 1s]}\n")
            .find("a device by name has no shape") != std::string::npos);

  // A device requirement names a kind or a device, not both; pod and pods exclude each other.
  CHECK(LoadError(std::string(kHead) + "  - {id: a, title: t, requires: {devices: [{kind: gpu, "
                                       "name: gpu-0}]}, steps: [wait: 1s]}\n")
            .find("t.yaml:4") != std::string::npos);
  CHECK(LoadError(std::string(kHead) +
                  "  - {id: a, title: t, steps: [run-pod: {pod: a, pods: [b, c]}]}\n")
            .find("exactly one of: pod, pods") != std::string::npos);
  CHECK(
      LoadError(std::string(kHead) + "  - {id: a, title: t, steps: [inject: {kubelet: reboot}]}\n")
          .find("kubelet") != std::string::npos);
  CHECK(LoadError(std::string(kHead) +
                  "  - {id: a, title: t, driver-start-delay: soon, steps: [wait: 1s]}\n")
            .find("driver-start-delay") != std::string::npos);

  auto shared = LoadSuiteString(
      "spec: drahil.suite/v1\nname: s\nenvironment: shared\ncases: [{id: a, title: t, steps: "
      "[wait: 1s]}]\n",
      "t.yaml");
  REQUIRE_OK(shared);
  CHECK(shared->shared_environment);
  CHECK_FALSE(s->shared_environment);
  CHECK(LoadError("spec: drahil.suite/v1\nname: s\nenvironment: pooled\ncases: [{id: a, title: t, "
                  "steps: [wait: 1s]}]\n")
            .find("t.yaml:3") != std::string::npos);
}
