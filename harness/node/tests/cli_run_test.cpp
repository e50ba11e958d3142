// Runs the built `drahil` binary: validate, list, run (reports, exit codes)
// and SIGTERM during a run.
#include <signal.h>

#include <thread>

#include "drahil/core/child_process.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/core/strings.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/reports/writers.hpp"
#include "drahil/runner/integration.hpp"
#include "drahil/testing/testing.hpp"

using namespace std::chrono_literals;

namespace {

drahil::CommandOutput Drahil(std::vector<std::string> args) {
  args.insert(args.begin(), drahil::testing::Bin("drahil"));
  auto r = drahil::RunCommand(args, 60s);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return *r;
}

const char* kProfile =
    "spec: drahil.driver/v1\nname: idle\ndriver: idle.example.com\nversion: \"1.2\"\n"
    "command: /bin/true\nprobe: {backend: emulated}\ntimeouts: {registration: 2s}\n";

struct Fixture {
  drahil::TempDir dir = std::move(drahil::TempDir::Create("drahil-cli-").value());
  std::string Write(const std::string& name, const std::string& text) {
    std::string p = dir.Join(name);
    REQUIRE_OK(drahil::AtomicWriteFile(p, text));
    return p;
  }
};

}  // namespace

TEST_CASE("drahil validate: ok files pass, errors name file:line:key and exit 2", "[runner][cli]") {
  Fixture f;
  std::string good =
      f.Write("good.yaml",
              "spec: drahil.suite/v1\nname: g\ncases: [{id: a, title: t, steps: [wait: 1ms]}]\n");
  std::string prof = f.Write("p.yaml", kProfile);
  auto ok = Drahil({"validate", good, prof});
  CHECK(ok.exit.exit_code == 0);
  CHECK(ok.output.find("suite g, 1 case(s)") != std::string::npos);
  CHECK(ok.output.find("driver profile idle") != std::string::npos);
  std::string bad =
      f.Write("bad.yaml",
              "spec: drahil.suite/v1\nname: g\ncases:\n  - id: a\n    title: t\n    stepz: []\n");
  auto r = Drahil({"validate", bad});
  CHECK(r.exit.exit_code == 2);
  CHECK(r.output.find("bad.yaml:6:5: cases[0].stepz: unknown key") != std::string::npos);
}

TEST_CASE("drahil list: cases with tags, filtered", "[runner][cli]") {
  Fixture f;
  std::string s = f.Write("s.yaml",
                          "spec: drahil.suite/v1\nname: lst\ncases:\n"
                          "  - {id: one, title: First, tags: [kep-4381, a], steps: [wait: 1ms]}\n"
                          "  - {id: two, title: Second, tags: [b], steps: [wait: 1ms]}\n");
  auto r = Drahil({"list", "--suite", s, "--skip", "^b$"});
  CHECK(r.exit.exit_code == 0);
  CHECK(r.output.find("lst/one  [kep-4381,a]  First") != std::string::npos);
  CHECK(r.output.find("lst/two") == std::string::npos);
  CHECK(r.output.find("1 case(s)") != std::string::npos);
}

TEST_CASE("drahil run: reports written, exit code follows the verdicts", "[runner][cli]") {
  Fixture f;
  std::string prof = f.Write("p.yaml", kProfile);
  std::string pass = f.Write(
      "pass.yaml",
      "spec: drahil.suite/v1\nname: waits\ncases: [{id: w, title: t, steps: [wait: 10ms]}]\n");
  auto r = Drahil({"run", "--driver", prof, "--suite", pass, "--out", f.dir.Join("out"),
                   "--progress", "plain"});
  CHECK(r.exit.exit_code == 0);
  CHECK(r.output.find("1 cases: 1 passed") != std::string::npos);
  CHECK(drahil::PathExists(f.dir.Join("out/junit.xml")));
  CHECK(drahil::PathExists(f.dir.Join("out/report.html")));
  auto json = drahil::reports::ParseJsonReport(
      drahil::ReadFile(f.dir.Join("out/report.json")).value_or(""));
  REQUIRE_OK(json);
  CHECK(json->driver_name == "idle.example.com");
  CHECK(json->driver_version == "1.2");

  // A driver that never registers fails the case (with the node wiring), or
  // the step ends in Error MissingModule (without it): exit 1, never a pass.
  std::string missing = f.Write("m.yaml",
                                "spec: drahil.suite/v1\nname: m\ncases: [{id: p, title: t, steps: "
                                "[{prepare: {claims: [a/b]}}]}]\n");
  auto m = Drahil({"run", "--driver", prof, "--suite", missing, "--junit", f.dir.Join("m.xml"),
                   "--progress", "none"});
  CHECK(m.exit.exit_code == 1);
  auto xml = drahil::ReadFile(f.dir.Join("m.xml"));
  REQUIRE_OK(xml);
  CHECK(xml->find("exited before it registered (exit code 0") != std::string::npos);
  if (!drahil::testing::FindOnPath("xmllint").empty())
    CHECK(drahil::testing::JUnitSchemaErrors(f.dir.Join("m.xml")) == "");

  // The seed: random unless given, printed, and recorded in every report;
  // "none" keeps the fixed order and records none; anything else is refused.
  REQUIRE(json->seed.has_value());
  CHECK(r.output.find("drahil: seed " + std::to_string(*json->seed) + " (rerun with --seed") !=
        std::string::npos);
  auto seeded = Drahil({"run", "--driver", prof, "--suite", pass, "--out", f.dir.Join("seeded"),
                        "--seed", "18446744073709551557", "--progress", "plain"});
  CHECK(seeded.exit.exit_code == 0);
  auto seeded_xml = drahil::ReadFile(f.dir.Join("seeded/junit.xml"));
  REQUIRE_OK(seeded_xml);
  CHECK(seeded_xml->find("<property name=\"seed\" value=\"18446744073709551557\"") !=
        std::string::npos);
  auto fixed = Drahil({"run", "--driver", prof, "--suite", pass, "--out", f.dir.Join("fixed"),
                       "--seed", "none", "--progress", "plain"});
  CHECK(fixed.exit.exit_code == 0);
  CHECK(fixed.output.find("drahil: seed") == std::string::npos);
  auto fixed_json = drahil::reports::ParseJsonReport(
      drahil::ReadFile(f.dir.Join("fixed/report.json")).value_or(""));
  REQUIRE_OK(fixed_json);
  CHECK_FALSE(fixed_json->seed.has_value());
  for (const char* bad : {"-1", "0x10", "12a", " 5", "99999999999999999999"}) {
    auto refused = Drahil({"run", "--driver", prof, "--suite", pass, "--seed", bad});
    INFO(bad << ": " << refused.output);
    CHECK(refused.exit.exit_code == 2);
    CHECK(refused.output.find("--seed: expected a number") != std::string::npos);
  }

  auto usage = Drahil({"run", "--suite", pass});
  CHECK(usage.exit.exit_code == 2);
  auto badprof = Drahil({"run", "--driver", f.dir.Join("nope.yaml"), "--suite", pass});
  CHECK(badprof.exit.exit_code == 2);
}

TEST_CASE("drahil run: SIGTERM mid-run leaves valid partial reports of what finished",
          "[runner][cli][signal]") {
  Fixture f;
  std::string prof = f.Write("p.yaml", kProfile);
  std::string suite = f.Write("s.yaml",
                              "spec: drahil.suite/v1\nname: sig\ncases:\n"
                              "  - {id: quick, title: t, steps: [wait: 10ms]}\n"
                              "  - {id: slow, title: t, steps: [{wait: 60s, timeout: 90s}]}\n"
                              "  - {id: never, title: t, steps: [wait: 10ms]}\n");
  auto child = drahil::testing::SpawnLogged(
      {drahil::testing::Bin("drahil"), "run", "--driver", prof, "--suite", suite, "--out",
       f.dir.Join("out"), "--progress", "plain"},
      f.dir.Join("stdout"), f.dir.Join("stderr"));
  REQUIRE_OK(child);
  // Wait (bounded) until the first case has finished, i.e. the slow one runs.
  std::string err = drahil::testing::WaitForText(f.dir.Join("stderr"), "PASS sig/quick", 20s);
  REQUIRE(err.find("PASS sig/quick") != std::string::npos);
  std::this_thread::sleep_for(100ms);
  // Signal drahil itself (not its group: the test plays the user's kill).
  REQUIRE(::kill(child->pid(), SIGTERM) == 0);
  auto exit = child->Wait(20s);
  REQUIRE_OK(exit);
  CHECK(exit->exit_code == 128 + SIGTERM);

  auto xml = drahil::ReadFile(f.dir.Join("out/junit.xml"));
  REQUIRE_OK(xml);
  CHECK(xml->find("name=\"quick\"") != std::string::npos);
  CHECK(xml->find("name=\"slow\"") == std::string::npos);
  CHECK(xml->find("name=\"never\"") == std::string::npos);
  CHECK(xml->find("name=\"partial\" value=\"SIGTERM\"") != std::string::npos);
  if (!drahil::testing::FindOnPath("xmllint").empty())
    CHECK(drahil::testing::JUnitSchemaErrors(f.dir.Join("out/junit.xml")) == "");
  auto json = drahil::reports::ParseJsonReport(
      drahil::ReadFile(f.dir.Join("out/report.json")).value_or(""));
  REQUIRE_OK(json);
  CHECK(json->partial);
  CHECK(json->interruption == "SIGTERM");
  CHECK(drahil::ReadFile(f.dir.Join("out/report.html")).value_or("").find("Partial report") !=
        std::string::npos);
}

TEST_CASE("drahil doctor: reports each facility and exits 0", "[runner][cli]") {
  auto r = Drahil({"doctor"});
  CHECK(r.exit.exit_code == 0);
  for (const char* what :
       {"user+mount namespaces", "NVML", "OpenCL", "CUDA", "FPGA functions", "drahil-refdriver"}) {
    CHECK(r.output.find(what) != std::string::npos);
  }
}

TEST_CASE(
    "drahil run --attach: a driver started by hand against drahil's node serves the cases in turn",
    "[runner][cli][attach][slow]") {
  std::string refdriver = drahil::testing::Bin("drahil-refdriver");
  std::string fakenode = drahil::testing::Bin("drahil-fakenode");
  std::string nvml = drahil::testing::LibDir() + "/fake-nvml/libnvidia-ml.so.1";
  // Built with these tests (add_dependencies).
  REQUIRE(drahil::PathExists(refdriver));
  REQUIRE(drahil::PathExists(fakenode));
  REQUIRE(drahil::PathExists(nvml));
  Fixture f;
  for (const char* d : {"registry", "plugins", "cdi"}) REQUIRE_OK(drahil::MakeDirs(f.dir.Join(d)));
  auto made = drahil::RunCommand({fakenode, "create", "--profile",
                                  drahil::testing::SourceDir() + "/fakes/profiles/laptop-1gpu.yaml",
                                  "--root", f.dir.Join("node"), "--node-name", "drahil-node"},
                                 60s);
  REQUIRE_OK(made);
  REQUIRE(made->exit.success());
  // The profile only names the driver: with --attach drahil starts nothing.
  std::string prof =
      f.Write("attach.yaml",
              "spec: drahil.driver/v1\nname: attached\ndriver: gpu.drahil.dev\nversion: \"0.1.0\"\n"
              "command: /bin/false\nprobe: {backend: emulated}\n"
              "timeouts: {registration: 60s, slices: 30s}\n");
  // Two cases that create the same objects: the second only passes if the
  // first gave the node back clean (claim deleted, unprepared).
  std::string suite = f.Write(
      "s.yaml",
      "spec: drahil.suite/v1\nname: attach\n"
      "fixtures:\n"
      "  - manifests:\n"
      "      - {apiVersion: v1, kind: Namespace, metadata: {name: t}}\n"
      "      - apiVersion: resource.k8s.io/v1\n"
      "        kind: DeviceClass\n"
      "        metadata: {name: gpu.drahil.dev}\n"
      "        spec: {selectors: [{cel: {expression: 'device.driver == \"gpu.drahil.dev\"'}}]}\n"
      "      - apiVersion: resource.k8s.io/v1\n"
      "        kind: ResourceClaim\n"
      "        metadata: {name: c, namespace: t}\n"
      "        spec: {devices: {requests: [{name: gpu, exactly: {deviceClassName: "
      "gpu.drahil.dev}}]}}\n"
      "cases:\n"
      "  - id: first\n"
      "    title: t\n"
      "    steps:\n"
      "      - allocate: t/c\n"
      "      - prepare: {claims: [t/c]}\n"
      "      - expect: {claim-error: {claim: t/c, empty: true}, cdi-ids: {claim: t/c, count: 2}}\n"
      "  - id: second\n"
      "    title: t\n"
      "    steps:\n"
      "      - allocate: t/c\n"
      "      - prepare: {claims: [t/c], replay: 2}\n"
      "      - expect: {cdi-ids: {claim: t/c, count: 2}, calls: {NodePrepareResources: "
      "\"==2\"}}\n");
  std::string kubeconfig = f.dir.Join("driver.kubeconfig");
  auto run = drahil::testing::SpawnLogged(
      {drahil::testing::Bin("drahil"), "run", "--driver", prof, "--suite", suite, "--attach",
       f.dir.Join("registry"), "--cdi-dir", f.dir.Join("cdi"), "--kubeconfig-out", kubeconfig,
       "--junit", f.dir.Join("junit.xml"), "--progress", "plain"},
      f.dir.Join("stdout"), f.dir.Join("stderr"));
  REQUIRE_OK(run);
  // The user's part: wait for the kubeconfig, then start the driver with it.
  REQUIRE(drahil::testing::WaitFor(30s, [&] { return drahil::PathExists(kubeconfig); }));
  drahil::ChildProcess::Options d;
  d.argv = {refdriver,
            "--node-name",
            "drahil-node",
            "--kubeconfig",
            kubeconfig,
            "--kubelet-registrar-directory-path",
            f.dir.Join("registry"),
            "--kubelet-plugins-directory-path",
            f.dir.Join("plugins"),
            "--cdi-root",
            f.dir.Join("cdi"),
            "--nvml-library",
            nvml};
  d.env["DRAHIL_FAKE_ROOT"] = f.dir.Join("node");
  d.stdout_mode = drahil::ChildProcess::Stdio::kFile;
  d.stderr_mode = drahil::ChildProcess::Stdio::kFile;
  d.stdout_path = d.stderr_path = f.dir.Join("driver.log");
  auto driver = drahil::ChildProcess::Spawn(d);
  REQUIRE_OK(driver);
  auto exit = run->Wait(120s);
  REQUIRE_OK(exit);
  bool driver_alive = driver->Running();
  (void)driver->Terminate(5s);
  std::string err = drahil::ReadFile(f.dir.Join("stderr")).value_or("");
  INFO(err);
  INFO(drahil::ReadFile(f.dir.Join("driver.log")).value_or(""));
  CHECK(err.find("kubeconfig for the driver: " + kubeconfig) != std::string::npos);
  CHECK(exit->exit_code == 0);
  CHECK(err.find("PASS attach/first") != std::string::npos);
  CHECK(err.find("PASS attach/second") != std::string::npos);
  // The driver kept running across both cases: it was never ours to stop.
  CHECK(driver_alive);
}

TEST_CASE("drahil profile init: drafts a device model from a foreign-named driver's slices",
          "[runner][cli][profile]") {
  Fixture f;
  // The launch part of the reference driver under a foreign identity, with
  // its device model stripped: the draft must find it again from the slices.
  auto base =
      drahil::ReadFile(drahil::testing::SourceDir() + "/suites/drivers/reference-gpu-foreign.yaml");
  REQUIRE_OK(base);
  std::string launch = base->substr(0, base->find("# The device model"));
  launch += "probe: {backend: emulated}\n";
  std::string prof = f.Write("launch.yaml", launch);
  std::string out = f.dir.Join("draft.yaml");
  std::vector<std::string> args = {
      drahil::testing::Bin("drahil"), "profile", "init", "--driver", prof, "--out", out};
  auto r = drahil::RunCommand(args, 120s,
                              {{"DRAHIL_SUITES_DIR", drahil::testing::SourceDir() + "/suites"}});
  REQUIRE_OK(r);
  INFO(r->output);
  REQUIRE(r->exit.exit_code == 0);
  auto draft = drahil::ReadFile(out);
  REQUIRE_OK(draft);
  INFO(*draft);
  // Kinds from the low-cardinality `kind` attribute, classes selecting by it.
  CHECK(draft->find("  gpu:\n    class:\n      name: gpu.accel.example.com\n      selector: "
                    "'device.attributes[\"accel.example.com\"].kind == \"gpu\"'") !=
        std::string::npos);
  CHECK(draft->find("  mig:\n") != std::string::npos);
  CHECK(draft->find("    identity: serial\n") != std::string::npos);
  CHECK(draft->find("    parent: parent\n") != std::string::npos);
  CHECK(draft->find("    memory: memory\n") != std::string::npos);
  CHECK(draft->find("small: 'device.attributes[\"accel.example.com\"].shape == \"1g.10gb\"'") !=
        std::string::npos);
  CHECK(draft->find("pattern: '^example\\.com/accel='") != std::string::npos);
  // The draft is a profile drahil accepts, and it binds the catalog's GPU cases.
  auto v =
      Drahil({"validate", "--driver", out, drahil::testing::SourceDir() + "/suites/prepare.yaml"});
  INFO(v.output);
  CHECK(v.exit.exit_code == 0);
  CHECK(v.output.find("binds 20 of 20 case(s)") != std::string::npos);
}

namespace {
drahil::CommandOutput Sh(const std::string& script) {
  auto r = drahil::RunCommand({"/bin/sh", "-c", script}, 60s);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return *r;
}
}  // namespace

TEST_CASE(
    "drahil run --bundle: system tar lists it, sha256sum -c accepts it, verify-bundle "
    "passes and names a flipped member",
    "[runner][cli][bundle]") {
  for (const char* tool : {"tar", "sha256sum", "gzip"}) {
    if (drahil::testing::FindOnPath(tool).empty())
      DRAHIL_SKIP(std::string("needs ") + tool + " on PATH");
  }
  Fixture f;
  std::string prof = f.Write("p.yaml", kProfile);
  // Two waits (no driver needed) and a case whose driver exits before it
  // registers, so that the kept case directory has a driver log.
  std::string suite = f.Write("s.yaml",
                              "spec: drahil.suite/v1\nname: bun\ncases:\n"
                              "  - {id: w1, title: t, steps: [wait: 1ms]}\n"
                              "  - {id: w2, title: t, steps: [wait: 1ms]}\n"
                              "  - {id: p, title: t, steps: [{prepare: {claims: [a/b]}}]}\n");
  std::string bundle = f.dir.Join("out/cert.tar.gz");
  auto r = Drahil({"run", "--driver", prof, "--suite", suite, "--bundle", bundle, "--keep",
                   "--work-dir", f.dir.Join("work"), "--progress", "plain"});
  INFO(r.output);
  CHECK(r.exit.exit_code == 1);  // the prepare case fails
  CHECK(r.output.find("Bundle " + bundle) != std::string::npos);

  auto list = Sh("tar -tzf '" + bundle + "'");
  INFO(list.output);
  REQUIRE(list.exit.exit_code == 0);
  CHECK(list.output ==
        "bundle.json\njunit.xml\nreport.json\nreport.html\nprofile/p.yaml\ninventory.json\n"
        "logs/bun/p/driver.log\nMANIFEST.sha256\n");
  std::string x = f.dir.Join("x");
  auto sums = Sh("mkdir '" + x + "' && tar -xzf '" + bundle + "' -C '" + x + "' && cd '" + x +
                 "' && sha256sum -c MANIFEST.sha256");
  INFO(sums.output);
  CHECK(sums.exit.exit_code == 0);
  CHECK(sums.output.find("report.html: OK") != std::string::npos);

  auto ok = Drahil({"verify-bundle", bundle});
  INFO(ok.output);
  CHECK(ok.exit.exit_code == 0);
  CHECK(ok.output.find("driver: idle.example.com 1.2") != std::string::npos);
  CHECK(ok.output.find("cases: 3 (2 passed, 1 failed") != std::string::npos);
  CHECK(ok.output.find("drahil_commit") != std::string::npos);
  CHECK(ok.output.find("certification:") != std::string::npos);

  // One byte of one member changed, the archive re-packed by the system tar
  // (ustar, the members in their order): verify-bundle names the member.
  std::string html = x + "/report.html";
  auto text = drahil::ReadFile(html);
  REQUIRE_OK(text);
  std::string changed = *text;
  changed[changed.size() / 2] ^= 0x20;
  REQUIRE_OK(drahil::AtomicWriteFile(html, changed));
  std::string bad = f.dir.Join("bad.tar.gz");
  std::string members;
  for (const auto& m : drahil::Split(list.output, '\n'))
    if (!m.empty()) members += " '" + m + "'";
  auto repack = Sh("tar --format=ustar -czf '" + bad + "' -C '" + x + "'" + members);
  INFO(repack.output);
  REQUIRE(repack.exit.exit_code == 0);
  auto tampered = Drahil({"verify-bundle", bad});
  INFO(tampered.output);
  CHECK(tampered.exit.exit_code == 1);
  CHECK(tampered.output.find("INVALID " + bad + ": report.html: sha256") != std::string::npos);

  CHECK(Drahil({"verify-bundle", f.dir.Join("nope.tar.gz")}).exit.exit_code == 2);
  CHECK(Drahil({"verify-bundle"}).exit.exit_code == 2);
}

TEST_CASE("drahil run --progress auto: a live bar on a terminal, plain lines in a pipe",
          "[runner][cli][progress]") {
  if (drahil::testing::FindOnPath("script").empty())
    DRAHIL_SKIP("needs script (util-linux) on PATH to give drahil a terminal");
  Fixture f;
  std::string prof = f.Write("p.yaml", kProfile);
  std::string suite = f.Write("s.yaml",
                              "spec: drahil.suite/v1\nname: bar\ncases:\n"
                              "  - {id: w1, title: t, steps: [wait: 50ms]}\n"
                              "  - {id: w2, title: t, steps: [wait: 50ms]}\n");
  std::string run = drahil::testing::Bin("drahil") + " run --driver '" + prof + "' --suite '" +
                    suite + "' --junit '" + f.dir.Join("j.xml") + "'";
  // script(1) runs drahil on a pseudo-terminal; stdin stays /dev/null.
  auto tty = Sh("TERM=xterm COLUMNS=100 script -qec \"" + run + "\" /dev/null </dev/null");
  INFO(tty.output);
  CHECK(tty.exit.exit_code == 0);
  CHECK(tty.output.find("\r\033[K[") != std::string::npos);
  CHECK(tty.output.find("] 2/2  2 pass 0 fail 0 error 0 skip") != std::string::npos);
  CHECK(tty.output.find(" ETA ") != std::string::npos);
  CHECK(tty.output.find("PASS bar/w1") == std::string::npos);

  auto pipe = Sh("TERM=xterm " + run + " 2>&1 | cat");
  INFO(pipe.output);
  CHECK(pipe.exit.exit_code == 0);
  CHECK(pipe.output.find("\033[K") == std::string::npos);
  CHECK(pipe.output.find("[1/2] PASS bar/w1") != std::string::npos);

  auto dumb = Sh("TERM=dumb script -qec \"" + run + "\" /dev/null </dev/null");
  INFO(dumb.output);
  CHECK(dumb.output.find("\033[K") == std::string::npos);
  CHECK(dumb.output.find("PASS bar/w1") != std::string::npos);
}

// A driver that depends on a feature alpha in Kubernetes 1.34: the reference
// driver under a foreign identity taints a lost GPU and relies on the taint
// to keep claims off it. On a default 1.34 cluster kube-apiserver drops the
// taints from its slices (dropDisabledFields, pkg/registry/resource/
// resourceslice/strategy.go) and the scheduler allocates the lost GPU: the
// case fails, and says which gate. On 1.36 (DRADeviceTaints beta, on) it
// passes. The same profile runs both: its 1.36-only gate is left out on 1.34.
TEST_CASE(
    "drahil run --kubernetes-version: a driver relying on an alpha 1.34 gate fails on 1.34 "
    "naming the gate and passes on 1.36",
    "[runner][cli][versions][slow]") {
  Fixture f;
  std::string prof = drahil::testing::SourceDir() + "/suites/drivers/reference-gpu-foreign.yaml";
  std::string suite = drahil::testing::SourceDir() + "/harness/node/tests/node-versions.yaml";
  auto run = [&](const std::string& version) {
    auto r = drahil::RunCommand(
        {drahil::testing::Bin("drahil"), "run", "--driver", prof, "--suite", suite,
         "--kubernetes-version", version, "--out", f.dir.Join(version), "--progress", "plain"},
        120s);
    REQUIRE_OK(r);
    INFO(r->output);
    return *r;
  };
  auto old = run("1.34");
  CHECK(old.exit.exit_code == 1);
  CHECK(old.output.find("DRADeviceTaintRules does not exist in Kubernetes 1.34; left out") !=
        std::string::npos);
  auto xml = drahil::ReadFile(f.dir.Join("1.34/junit.xml"));
  REQUIRE_OK(xml);
  INFO(*xml);
  CHECK(xml->find("claim t/three was allocated but should not be") != std::string::npos);
  CHECK(xml->find("taints — gate DRADeviceTaints (alpha in Kubernetes 1.34, off by default)") !=
        std::string::npos);
  CHECK(xml->find("name=\"kubernetes.version\" value=\"1.34\"") != std::string::npos);

  auto now = run("1.36");
  CHECK(now.exit.exit_code == 0);
  CHECK(now.output.find("1 passed") != std::string::npos);
  // The gate named by --feature-gates brings 1.34 to the same verdict.
  auto on =
      drahil::RunCommand({drahil::testing::Bin("drahil"), "run", "--driver", prof, "--suite", suite,
                          "--kubernetes-version", "1.34", "--feature-gates", "DRADeviceTaints=true",
                          "--out", f.dir.Join("on"), "--progress", "plain"},
                         120s);
  REQUIRE_OK(on);
  INFO(on->output);
  CHECK(on->exit.exit_code == 0);
}

// The manifests a suite sends are checked as the API server checks them,
// after the placeholders are rendered for the profile (a foreign one here):
// CEL that does not compile and malformed quantities fail validate, naming
// file:line, the object and the field; a manifest an apply step expects
// refused is not checked.
TEST_CASE("drahil validate: suite manifests get the API server's rules after rendering",
          "[runner][cli]") {
  Fixture f;
  std::string prof =
      f.Write("foreign.yaml",
              "spec: drahil.driver/v1\nname: foreign\ndriver: accel.example.com\nversion: \"1\"\n"
              "command: /bin/true\nprobe: {backend: emulated}\n"
              "devices:\n  gpu:\n    class:\n      name: accelerator.example.com\n"
              "      selector: 'device.attributes[\"accel.example.com\"].kind == \"gpu\"'\n"
              "    identity: serial\n    memory: hbm\n");
  const std::string claim_head =
      "      - apply:\n          manifest:\n"
      "            apiVersion: resource.k8s.io/v1\n            kind: ResourceClaim\n";
  std::string good =
      f.Write("good.yaml",
              "spec: drahil.suite/v1\nname: g\ncases:\n  - id: a\n    title: t\n"
              "    requires: {devices: [{role: victim, kind: gpu}]}\n    steps:\n" +
                  claim_head +
                  "            metadata: {name: c, namespace: t}\n"
                  "            spec: {devices: {requests: [{name: r, exactly: {deviceClassName: "
                  "'{class.gpu}', selectors: [{cel: {expression: '{cel.role.victim}'}}], capacity: "
                  "{requests: {'{memory.gpu}': 8Gi}}}}]}}\n" +
                  claim_head +
                  "            metadata: {name: refused, namespace: t}\n"
                  "            spec: {devices: {requests: [{name: r, exactly: {deviceClassName: x, "
                  "selectors: [{cel: {expression: 'device.'}}]}}]}}\n"
                  "          expect-status: 422\n");
  auto ok = Drahil({"validate", "--driver", prof, good});
  INFO(ok.output);
  CHECK(ok.exit.exit_code == 0);
  CHECK(ok.output.find("1 manifest(s) checked for foreign") != std::string::npos);

  std::string bad = f.Write(
      "bad.yaml",
      "spec: drahil.suite/v1\nname: b\ncases:\n  - id: a\n    title: t\n    steps:\n" + claim_head +
          "            metadata: {name: c, namespace: t}\n"
          "            spec: {devices: {requests: [{name: r, exactly: {deviceClassName: "
          "'{class.gpu}', selectors: [{cel: {expression: 'device.attributes[\"{driver}\"].x +'}}], "
          "capacity: {requests: {'{memory.gpu}': 1.5.5Gi}}}}]}}\n");
  auto r = Drahil({"validate", "--driver", prof, bad});
  INFO(r.output);
  CHECK(r.exit.exit_code == 2);
  CHECK(r.output.find("bad.yaml:9:13: ResourceClaim t/c: spec.devices.requests[0].exactly."
                      "selectors[0].cel.expression: Invalid value: \"device.attributes["
                      "\\\"accel.example.com\\\"].x +\": compilation failed") != std::string::npos);
  CHECK(r.output.find("spec.devices.requests[0].exactly.capacity.requests[hbm]: Invalid value: "
                      "\"1.5.5Gi\"") != std::string::npos);
  CHECK(r.output.find("(suite b): 2 manifest error(s)") != std::string::npos);
}
