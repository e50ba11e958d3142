// `drahil run` against drahil-hostile-driver, a driver that misbehaves on
// purpose: drahil itself must stay bounded, interruptible and honest.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <optional>
#include <regex>
#include <thread>

#include "drahil/core/child_process.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/reports/writers.hpp"
#include "drahil/testing/testing.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct Fixture {
  drahil::TempDir dir = std::move(drahil::TempDir::Create("drahil-hostile-").value());
  std::string Write(const std::string& name, const std::string& text) {
    std::string p = dir.Join(name);
    REQUIRE_OK(drahil::AtomicWriteFile(p, text));
    return p;
  }
  // Profile(): the hostile driver with these --mode values; timeouts as given.
  std::string Profile(const std::vector<std::string>& modes, const std::string& timeouts,
                      const std::string& marker = "") {
    std::string args =
        "  - --driver-name={driver_name}\n  - --node-name={node_name}\n"
        "  - --kubeconfig={kubeconfig}\n  - --registry-dir={registry_dir}\n"
        "  - --plugins-dir={plugins_dir}\n  - --cdi-dir={cdi_dir}\n";
    for (const auto& m : modes) args += "  - --mode=" + m + "\n";
    if (!marker.empty()) args += "  - --prepare-marker=" + marker + "\n";
    return Write("hostile.yaml",
                 "spec: drahil.driver/v1\nname: hostile\ndriver: hostile.example.com\n"
                 "version: \"0.1\"\ncommand: " +
                     drahil::testing::Bin("drahil-hostile-driver") + "\nargs:\n" + args +
                     "probe: {backend: emulated}\ntimeouts: " + timeouts + "\n");
  }
  // Suite(): fixtures (a class and one claim for the hostile driver) and the
  // given cases (YAML list items, indented by two).
  std::string Suite(const std::string& defaults, const std::string& cases) {
    return Write("s.yaml", "spec: drahil.suite/v1\nname: hostile\ndefaults: " + defaults +
                               "\nfixtures:\n"
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
                               "        spec: {devices: {requests: [{name: r, exactly: "
                               "{deviceClassName: hostile.example.com}}]}}\n"
                               "cases:\n" +
                               cases);
  }
};

struct Run {
  drahil::CommandOutput out;
  double seconds = 0;
};

Run Drahil(const std::vector<std::string>& args, std::chrono::milliseconds timeout,
           const std::map<std::string, std::string>& env = {}) {
  std::vector<std::string> argv = {drahil::testing::Bin("drahil")};
  argv.insert(argv.end(), args.begin(), args.end());
  auto t0 = Clock::now();
  auto r = drahil::RunCommand(argv, timeout, env);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return {*r, std::chrono::duration<double>(Clock::now() - t0).count()};
}

const drahil::reports::CaseResult* FindCase(const drahil::reports::RunReport& r,
                                            const std::string& id) {
  for (const auto& s : r.suites)
    for (const auto& c : s.cases)
      if (c.id == id) return &c;
  return nullptr;
}

// ReportedCase(): case `id` of the JSON report at `path` (the test fails when
// the report or the case is missing).
drahil::reports::CaseResult ReportedCase(const std::string& path, const std::string& id) {
  auto json = drahil::reports::ParseJsonReport(drahil::ReadFile(path).value_or(""));
  REQUIRE_OK(json);
  const auto* c = FindCase(*json, id);
  REQUIRE(c != nullptr);
  return *c;
}

const char* kPrepareCase =
    "  - id: hung\n    title: t\n    steps:\n      - allocate: t/c\n      - prepare: {claims: "
    "[t/c]}\n";

}  // namespace

TEST_CASE(
    "hostile: a hung NodePrepareResources is cut at the step's time left, not the 45 s call "
    "timeout",
    "[hostile][deadline]") {
  Fixture f;
  std::string prof =
      f.Profile({"hang-prepare"}, "{registration: 20s, slices: 20s}");  // prepare: 45s built in
  std::string suite = f.Suite("{case-timeout: 15s, step-timeout: 5s}", kPrepareCase);
  auto r = Drahil({"run", "--driver", prof, "--suite", suite, "--json", f.dir.Join("r.json"),
                   "--progress", "plain"},
                  90s);
  INFO(r.out.output);
  CHECK(r.out.exit.exit_code == 1);
  CHECK(r.seconds < 14);
  auto json = drahil::reports::ParseJsonReport(drahil::ReadFile(f.dir.Join("r.json")).value_or(""));
  REQUIRE_OK(json);
  const auto* c = FindCase(*json, "hung");
  REQUIRE(c != nullptr);
  INFO(c->message);
  CHECK(c->verdict == drahil::reports::Verdict::kFail);
  CHECK(c->message.find("step 2 (prepare") != std::string::npos);
  CHECK(c->message.find("NodePrepareResources") != std::string::npos);
  // The step's 5 s, less the moments before the call: "after 5.0s" or "after 4.9s".
  CHECK(std::regex_search(
      c->message,
      std::regex("NodePrepareResources: .*\\(deadline exceeded after [45]\\.[0-9]s\\)")));
}

TEST_CASE("hostile: SIGTERM during a hung prepare exits 143 at once, leaving the case out",
          "[hostile][signal]") {
  Fixture f;
  std::string marker = f.dir.Join("prepare.marker");
  std::string prof =
      f.Profile({"hang-prepare"}, "{registration: 20s, slices: 20s, prepare: 120s}", marker);
  std::string suite =
      f.Suite("{case-timeout: 5m, step-timeout: 3m}",
              std::string("  - {id: quick, title: t, steps: [wait: 10ms]}\n") + kPrepareCase);
  auto child = drahil::testing::SpawnLogged(
      {drahil::testing::Bin("drahil"), "run", "--driver", prof, "--suite", suite, "--out",
       f.dir.Join("out"), "--progress", "plain"},
      f.dir.Join("output"));
  REQUIRE_OK(child);
  drahil::testing::WaitFor(60s, [&] { return drahil::PathExists(marker); });
  INFO(drahil::ReadFile(f.dir.Join("output")).value_or(""));
  REQUIRE(drahil::PathExists(marker));
  pid_t driver = std::stoi(drahil::ReadFile(marker).value_or("0"));
  REQUIRE(driver > 0);
  std::this_thread::sleep_for(200ms);  // the call is in flight
  auto t0 = Clock::now();
  REQUIRE(::kill(child->pid(), SIGTERM) == 0);
  auto exit = child->Wait(30s);
  double took = std::chrono::duration<double>(Clock::now() - t0).count();
  REQUIRE_OK(exit);
  INFO(drahil::ReadFile(f.dir.Join("output")).value_or(""));
  CHECK(exit->exit_code == 128 + SIGTERM);
  CHECK(took < 3.0);

  auto xml = drahil::ReadFile(f.dir.Join("out/junit.xml"));
  REQUIRE_OK(xml);
  CHECK(xml->find("name=\"quick\"") != std::string::npos);
  CHECK(xml->find("name=\"hung\"") == std::string::npos);
  CHECK(xml->find("name=\"partial\" value=\"SIGTERM\"") != std::string::npos);
  if (!drahil::testing::FindOnPath("xmllint").empty())
    CHECK(drahil::testing::JUnitSchemaErrors(f.dir.Join("out/junit.xml")) == "");
  auto json = drahil::reports::ParseJsonReport(
      drahil::ReadFile(f.dir.Join("out/report.json")).value_or(""));
  REQUIRE_OK(json);
  CHECK(json->partial);
  CHECK(FindCase(*json, "hung") == nullptr);
  // No process left behind: the driver is gone (reaped by drahil).
  CHECK(drahil::testing::WaitFor(1s, [&] { return ::kill(driver, 0) != 0 && errno == ESRCH; }));
}

TEST_CASE("hostile: a FIFO named *.json in the CDI dir fails the case, never blocks drahil",
          "[hostile][cdi]") {
  Fixture f;
  std::string prof = f.Profile({"cdi-fifo"}, "{registration: 20s, slices: 20s}");
  std::string suite = f.Suite("{case-timeout: 30s, step-timeout: 10s}",
                              "  - id: fifo\n    title: t\n    steps:\n      - allocate: t/c\n"
                              "      - prepare: {claims: [t/c]}\n"
                              "      - expect: {cdi-ids: {claim: t/c, count: 1}}\n");
  REQUIRE_OK(drahil::MakeDirs(f.dir.Join("work")));
  auto r = Drahil({"run", "--driver", prof, "--suite", suite, "--json", f.dir.Join("r.json"),
                   "--keep", "--work-dir", f.dir.Join("work"), "--progress", "plain"},
                  60s);
  INFO(r.out.output);
  CHECK(r.out.exit.exit_code == 1);
  auto json = drahil::reports::ParseJsonReport(drahil::ReadFile(f.dir.Join("r.json")).value_or(""));
  REQUIRE_OK(json);
  const auto* c = FindCase(*json, "fifo");
  REQUIRE(c != nullptr);
  INFO(c->message);
  CHECK(c->verdict == drahil::reports::Verdict::kFail);
  CHECK(c->type == "CdiSpecialFile");
  CHECK(c->message.find("/hostile-fifo.") != std::string::npos);
  CHECK(c->message.find(": [file-type] a FIFO, not a regular file") != std::string::npos);

  // drahil cdi validate / audit on the same dir: findings, no hang.
  std::string cdi;
  auto cases = drahil::ListDir(f.dir.Join("work"));
  REQUIRE_OK(cases);
  REQUIRE(cases->size() == 1);
  cdi = f.dir.Join("work/" + cases->front() + "/cdi");
  auto v = Drahil({"cdi", "validate", cdi}, 20s);
  INFO(v.out.output);
  CHECK(v.out.exit.exit_code == 1);
  CHECK(v.out.output.find("hostile-fifo.json: [file-type] a FIFO") != std::string::npos);
  CHECK(v.out.output.find("hostile-fifo.yaml: [file-type] a FIFO") != std::string::npos);
  CHECK(v.out.output.find("OK   " + cdi + "/hostile-dev.json") != std::string::npos);
  auto a = Drahil({"cdi", "audit", cdi}, 20s);
  INFO(a.out.output);
  CHECK(a.out.output.find("hostile-fifo.json: [file-type] a FIFO") != std::string::npos);
}

TEST_CASE(
    "hostile: 100k CDI IDs make a capped failure message, the kept case dir has the full text",
    "[hostile][message]") {
  Fixture f;
  std::string prof = f.Profile({"many-cdi-ids=100000"}, "{registration: 20s, slices: 20s}");
  std::string suite = f.Suite("{case-timeout: 60s, step-timeout: 30s}",
                              "  - id: flood\n    title: t\n    steps:\n      - allocate: t/c\n"
                              "      - prepare: {claims: [t/c]}\n"
                              "      - expect: {cdi-ids: {claim: t/c, count: 1}}\n");
  REQUIRE_OK(drahil::MakeDirs(f.dir.Join("work")));
  auto r = Drahil({"run", "--driver", prof, "--suite", suite, "--json", f.dir.Join("r.json"),
                   "--keep", "--work-dir", f.dir.Join("work"), "--progress", "none"},
                  120s);
  CHECK(r.out.exit.exit_code == 1);
  auto text = drahil::ReadFile(f.dir.Join("r.json"));
  REQUIRE_OK(text);
  CHECK(text->size() < 256u * 1024);
  auto json = drahil::reports::ParseJsonReport(*text);
  REQUIRE_OK(json);
  const auto* c = FindCase(*json, "flood");
  REQUIRE(c != nullptr);
  CHECK(c->message.size() < 4096 + 256);
  CHECK(c->message.find("got 100000 CDI device ID(s)") != std::string::npos);
  CHECK(c->message.find(" more bytes; full text in ") != std::string::npos);
  std::string full_at = c->message.substr(c->message.find("full text in ") + 13);
  full_at.pop_back();  // the closing parenthesis
  auto full = drahil::ReadFile(full_at);
  REQUIRE_OK(full);
  CHECK(full->size() > 1000000);
  CHECK(full->find("hostile.example.com/dev=flood-99999") != std::string::npos);
}

// A pod whose claim the hostile driver prepares; its container checks the
// driver's CDI edit reached it.
const char* kPodCase =
    "  - id: warmup\n    title: t\n    steps:\n"
    "      - apply:\n          manifest:\n"
    "            {apiVersion: v1, kind: Pod, metadata: {name: p, namespace: t},\n"
    "             spec: {resourceClaims: [{name: d, resourceClaimName: c}],\n"
    "                    containers: [{name: x, image: busybox, command: [/bin/sh, -c,\n"
    "                      'test \"$HOSTILE_DEV\" = 0'], resources: {claims: [{name: d}]}}]}}\n"
    "      - run-pod: {pod: t/p, expect-exit: 0}\n";

// The kubelet's pod worker requeues a pod whose sync failed after its
// backoff (pkg/kubelet/pod_workers.go completeWork, backOffPeriod): a driver
// that is not ready on the first NodePrepareResources still gets its pod.
TEST_CASE("hostile: a prepare that fails once is retried after the pod-sync backoff, the pod runs",
          "[hostile][podsync]") {
  Fixture f;
  std::string prof = f.Profile({"fail-prepare=1"}, "{registration: 20s, slices: 20s}");
  std::string suite = f.Suite("{case-timeout: 60s, step-timeout: 30s}", kPodCase);
  auto r = Drahil({"run", "--driver", prof, "--suite", suite, "--json", f.dir.Join("r.json"),
                   "--pod-sync-backoff", "1s", "--progress", "plain"},
                  90s);
  INFO(r.out.output);
  CHECK(r.out.exit.exit_code == 0);
  auto json = drahil::reports::ParseJsonReport(drahil::ReadFile(f.dir.Join("r.json")).value_or(""));
  REQUIRE_OK(json);
  const auto* c = FindCase(*json, "warmup");
  REQUIRE(c != nullptr);
  INFO(c->message);
  CHECK(c->verdict == drahil::reports::Verdict::kPass);
  int backoffs = 0, prepares = 0;
  for (const auto& call : c->calls) {
    if (call.code == "Backoff") {
      ++backoffs;
      CHECK(call.detail.find("attempt 1 failed") != std::string::npos);
      CHECK(call.detail.find("not ready yet") != std::string::npos);
    }
    if (call.method.find("NodePrepareResources") != std::string::npos) ++prepares;
  }
  CHECK(backoffs == 1);
  CHECK(prepares == 2);
}

TEST_CASE("hostile: a prepare that keeps failing fails the pod after the retries, counting them",
          "[hostile][podsync]") {
  Fixture f;
  std::string prof = f.Profile({"fail-prepare=100"}, "{registration: 20s, slices: 20s}");
  std::string suite = f.Suite("{case-timeout: 60s, step-timeout: 30s}", kPodCase);
  auto r = Drahil({"run", "--driver", prof, "--suite", suite, "--json", f.dir.Join("r.json"),
                   "--pod-sync-backoff", "1s", "--progress", "plain"},
                  90s);
  INFO(r.out.output);
  CHECK(r.out.exit.exit_code == 1);
  CHECK(r.seconds < 20);  // two retries of ~1-1.5 s, not the step's 30 s
  auto json = drahil::reports::ParseJsonReport(drahil::ReadFile(f.dir.Join("r.json")).value_or(""));
  REQUIRE_OK(json);
  const auto* c = FindCase(*json, "warmup");
  REQUIRE(c != nullptr);
  INFO(c->message);
  CHECK(c->verdict == drahil::reports::Verdict::kFail);
  CHECK(c->message.find("not ready yet") != std::string::npos);
  CHECK(c->message.find("(3 pod syncs, the kubelet's backoff between)") != std::string::npos);
  // A bad value is a usage error naming the flag.
  auto bad = Drahil({"run", "--driver", prof, "--suite", suite, "--pod-sync-backoff", "soon"}, 30s);
  CHECK(bad.out.exit.exit_code == 2);
  CHECK(bad.out.output.find("--pod-sync-backoff") != std::string::npos);
}

TEST_CASE("hostile: a relative --work-dir reaches the driver as an absolute path",
          "[hostile][workdir]") {
  Fixture f;
  // The driver refuses relative directories, as kubeletplugin-based drivers do.
  std::string prof = f.Profile({}, "{registration: 30s, slices: 20s}");
  std::string suite = f.Suite("{case-timeout: 60s, step-timeout: 30s}", kPrepareCase);
  REQUIRE_OK(drahil::MakeDirs(f.dir.Join("cwd")));
  drahil::ChildProcess::Options o;
  o.argv = {drahil::testing::Bin("drahil"),
            "run",
            "--driver",
            prof,
            "--suite",
            suite,
            "--work-dir",
            "rel",
            "--json",
            f.dir.Join("r.json"),
            "--progress",
            "plain"};
  o.cwd = f.dir.Join("cwd");
  o.stdout_mode = drahil::ChildProcess::Stdio::kFile;
  o.stdout_path = f.dir.Join("output");
  o.stderr_to_stdout = true;
  REQUIRE_OK(drahil::MakeDirs(f.dir.Join("cwd/rel")));
  auto child = drahil::ChildProcess::Spawn(o);
  REQUIRE_OK(child);
  auto exit = child->Wait(90s);
  REQUIRE_OK(exit);
  INFO(drahil::ReadFile(f.dir.Join("output")).value_or(""));
  CHECK(exit->exit_code == 0);
}

TEST_CASE("hostile: a driver that exits before registering ends the wait at once, naming its exit",
          "[hostile][registration]") {
  Fixture f;
  std::string prof = f.Profile({"exit=3"}, "{registration: 30s, slices: 20s}");
  std::string suite = f.Suite("{case-timeout: 60s, step-timeout: 30s}", kPrepareCase);
  auto r = Drahil({"run", "--driver", prof, "--suite", suite, "--json", f.dir.Join("r.json"),
                   "--progress", "plain"},
                  90s);
  INFO(r.out.output);
  CHECK(r.out.exit.exit_code == 1);
  CHECK(r.seconds < 10);
  auto json = drahil::reports::ParseJsonReport(drahil::ReadFile(f.dir.Join("r.json")).value_or(""));
  REQUIRE_OK(json);
  const auto* c = FindCase(*json, "hung");
  REQUIRE(c != nullptr);
  INFO(c->message);
  CHECK(c->message.find("exited before it registered (exit code 3") != std::string::npos);
}

TEST_CASE("hostile: an unwritable report path fails before the first case, naming the path",
          "[hostile][outputs]") {
  Fixture f;
  std::string prof = f.Profile({}, "{registration: 20s, slices: 20s}");
  std::string suite = f.Suite("{case-timeout: 60s, step-timeout: 30s}",
                              "  - {id: w, title: t, steps: [wait: 3s]}\n");
  std::string file = f.Write("plain-file", "x");
  auto out = Drahil(
      {"run", "--driver", prof, "--suite", suite, "--out", file + "/out", "--progress", "plain"},
      60s);
  INFO(out.out.output);
  CHECK(out.out.exit.exit_code == 2);
  CHECK(out.seconds < 2.5);
  CHECK(out.out.output.find(file + "/out/junit.xml") != std::string::npos);
  CHECK(out.out.output.find("PASS") == std::string::npos);
  REQUIRE_OK(drahil::MakeDirs(f.dir.Join("adir")));
  auto dir = Drahil({"run", "--driver", prof, "--suite", suite, "--junit", f.dir.Join("adir"),
                     "--progress", "plain"},
                    60s);
  INFO(dir.out.output);
  CHECK(dir.out.exit.exit_code == 2);
  CHECK(dir.out.output.find(f.dir.Join("adir") + " is a directory") != std::string::npos);
}

// ---------------------------------------------------------------------------
// CDI edits a runtime must never apply: drahil audits what each container
// gets and refuses a critical finding before the sandbox starts.

namespace {

// ProcessesWith(): host pids whose command line mentions `text`.
std::vector<int> ProcessesWith(const std::string& text) {
  std::vector<int> pids;
  auto names = drahil::ListDir("/proc");
  if (!names.ok()) return pids;
  for (const auto& n : *names) {
    if (n.empty() || !std::isdigit(static_cast<unsigned char>(n[0]))) continue;
    auto cmd = drahil::ReadFile("/proc/" + n + "/cmdline", 1 << 16);
    if (!cmd.ok()) continue;
    std::replace(cmd->begin(), cmd->end(), '\0', ' ');
    if (cmd->find(text) != std::string::npos) pids.push_back(std::stoi(n));
  }
  return pids;
}

struct Refusal {
  std::string mode;
  std::string rule;                 // the audit rule the message must name
  std::string type = "CdiRefused";  // the case's failure type
};

// ExpectRefused(): a pod on the hostile driver's spec in `r.mode`: the case
// fails naming the finding, the pod's command never runs (nothing it would
// write through the grant reaches the host), the next case runs, and no
// process of the run is left.
void ExpectRefused(const Refusal& want) {
  Fixture f;
  const std::string token = "drahil-hostile-" + std::to_string(::getpid()) + "-" +
                            f.dir.path().substr(f.dir.path().rfind('/') + 1);
  const std::vector<std::string> host_markers = {"/etc/" + token, "/var/tmp/" + token,
                                                 "/var/tmp/" + token + "-hook"};
  std::string mode = want.mode == "cdi-hook-sh" ? "cdi-hook-sh=" + host_markers[2] : want.mode;
  std::string prof = f.Profile({mode}, "{registration: 20s, slices: 20s}");
  std::string script;
  for (const char* p :
       {"/run/host/etc/", "/run/host/var/tmp/", "/run/host-etc/", "/var/tmp/", "/etc/"})
    script += "echo pwned > " + std::string(p) + token + " 2>/dev/null; ";
  script += "true";
  std::string suite =
      f.Suite("{case-timeout: 60s, step-timeout: 30s}",
              "  - id: refused\n    title: t\n    steps:\n      - allocate: t/c\n"
              "      - apply:\n          manifest:\n"
              "            {apiVersion: v1, kind: Pod, metadata: {name: p, namespace: t},\n"
              "             spec: {resourceClaims: [{name: d, resourceClaimName: c}],\n"
              "                    containers: [{name: x, image: busybox, command: [/bin/sh, -c,\n"
              "                      '" +
                  script +
                  "'], resources: {claims: [{name: d}]}}]}}\n"
                  "      - run-pod: {pod: t/p, expect-exit: 0}\n"
                  "  - {id: after, title: t, steps: [wait: 10ms]}\n");
  REQUIRE_OK(drahil::MakeDirs(f.dir.Join("work")));
  auto r = Drahil({"run", "--driver", prof, "--suite", suite, "--json", f.dir.Join("r.json"),
                   "--work-dir", f.dir.Join("work"), "--progress", "plain"},
                  90s);
  INFO(r.out.output);
  std::vector<std::string> leaked;
  for (const auto& m : host_markers)
    if (drahil::PathExists(m)) leaked.push_back(m);
  for (const auto& m : leaked) ::unlink(m.c_str());
  CHECK(leaked.empty());
  CHECK(r.out.exit.exit_code == 1);
  auto json = drahil::reports::ParseJsonReport(drahil::ReadFile(f.dir.Join("r.json")).value_or(""));
  REQUIRE_OK(json);
  const auto* c = FindCase(*json, "refused");
  REQUIRE(c != nullptr);
  INFO(c->message);
  CHECK(c->verdict == drahil::reports::Verdict::kFail);
  CHECK(c->type == want.type);
  CHECK(c->message.find(want.rule) != std::string::npos);
  if (want.type == "CdiRefused") {
    CHECK(c->message.find("critical [" + want.rule + "]") != std::string::npos);
    CHECK(c->message.find("hostile-dev.json") != std::string::npos);  // the spec file
    if (want.rule != "spec-symlink")  // the field; a link is about the whole file ($)
      CHECK(c->message.find("$.devices[0]") != std::string::npos);
  }
  for (const auto& call : c->calls) {
    INFO(call.kind << " " << call.method);
    CHECK(call.method.find("t/p/x: /bin/sh") == std::string::npos);  // the pod never ran
  }
  const auto* after = FindCase(*json, "after");
  REQUIRE(after != nullptr);
  CHECK(after->verdict == drahil::reports::Verdict::kPass);
  CHECK(drahil::testing::WaitFor(5s, [&] { return ProcessesWith(f.dir.path()).empty(); }));
}

}  // namespace

TEST_CASE("hostile: a CDI mount of the host's / read-write is refused, the run goes on",
          "[hostile][sandbox]") {
  ExpectRefused({"cdi-mount-root", "sensitive-host-path"});
}

TEST_CASE("hostile: a CDI mount of the host's /etc read-write is refused", "[hostile][sandbox]") {
  ExpectRefused({"cdi-mount-etc", "sensitive-host-path"});
}

TEST_CASE("hostile: a CDI hook running /bin/sh is refused", "[hostile][sandbox]") {
  ExpectRefused({"cdi-hook-sh", "hook"});
}

TEST_CASE("hostile: /dev/mem as a CDI device node is refused", "[hostile][sandbox]") {
  ExpectRefused({"cdi-dev-mem", "raw-host-device"});
}

TEST_CASE("hostile: '..' in a CDI device node path is refused", "[hostile][sandbox]") {
  ExpectRefused({"cdi-dotdot-path", "path-traversal"});
}

TEST_CASE("hostile: '..' in a CDI device name fails the case, never reaching the sandbox",
          "[hostile][sandbox]") {
  ExpectRefused({"cdi-dotdot-name", "../dev-0", "CdiUnresolved"});
}

TEST_CASE("hostile: a CDI spec file behind a symlink out of the CDI dir is refused",
          "[hostile][sandbox]") {
  ExpectRefused({"cdi-symlink", "spec-symlink"});
}

// ---------------------------------------------------------------------------
// Drivers that answer too much, too often, or not as the protocol says: each
// case gets its verdict within its deadline, the next case runs, drahil's
// memory stays bounded, and no process of the run is left.

namespace {

// drahil's peak memory bound in these tests (the regular build peaks at
// 36-88 MB). Under ASan freed memory waits in its quarantine (256 MB) and
// every allocation carries redzones: the health flood peaks at ~950 MB there,
// the same after 4 s and after 12 s, so the ASan bound only catches
// unbounded growth.
#if defined(__SANITIZE_ADDRESS__)
constexpr long kPeakRssBoundKb = 1536 * 1024;
#else
constexpr long kPeakRssBoundKb = 400 * 1024;
#endif

struct Watched {
  drahil::ExitInfo exit;
  long peak_rss_kb = 0;  // drahil's VmHWM, sampled every 20 ms until it exited
  double seconds = 0;
  std::string output;
};

long PeakRssKb(pid_t pid) {
  auto status = drahil::ReadFile("/proc/" + std::to_string(pid) + "/status", 1 << 16);
  if (!status.ok()) return 0;
  auto at = status->find("VmHWM:");
  return at == std::string::npos ? 0 : std::atol(status->c_str() + at + 6);
}

// DrahilWatched(): `drahil ARGS`, its peak memory watched from outside;
// with nofile > 0 under that open-file limit (soft and hard, so drahil and
// the driver it starts cannot raise it).
Watched DrahilWatched(Fixture& f, const std::vector<std::string>& args,
                      std::chrono::milliseconds timeout, int nofile = 0) {
  std::vector<std::string> argv = {drahil::testing::Bin("drahil")};
  if (nofile > 0) {
    argv.insert(argv.begin(), {"/bin/sh", "-c",
                               "ulimit -n " + std::to_string(nofile) + " && exec \"$0\" \"$@\""});
  }
  argv.insert(argv.end(), args.begin(), args.end());
  auto t0 = Clock::now();
  auto child = drahil::testing::SpawnLogged(argv, f.dir.Join("watched.log"));
  REQUIRE_OK(child);
  Watched w;
  for (;;) {
    w.peak_rss_kb = std::max(w.peak_rss_kb, PeakRssKb(child->pid()));
    auto e = child->Wait(20ms);
    if (e.ok()) {
      w.exit = *e;
      break;
    }
    if (Clock::now() - t0 > timeout) {
      w.exit = child->Kill();
      FAIL("drahil still running after " << timeout.count() << " ms");
    }
  }
  w.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  w.output = drahil::ReadFile(f.dir.Join("watched.log")).value_or("");
  return w;
}

// The hostile case, then one that must still run.
const char* kAfterCase = "  - {id: after, title: t, steps: [wait: 10ms]}\n";

struct Verdict {
  Watched run;
  drahil::reports::CaseResult hostile;
  drahil::reports::Verdict after = drahil::reports::Verdict::kError;
};

// RunHostile(): the hostile driver in `modes` through `cases` (whose first
// case has id "h") and kAfterCase; what drahil said about both.
Verdict RunHostile(Fixture& f, const std::vector<std::string>& modes, const std::string& cases,
                   const std::string& timeouts = "{registration: 20s, slices: 20s}",
                   int nofile = 0) {
  std::string prof = f.Profile(modes, timeouts);
  std::string suite = f.Suite("{case-timeout: 60s, step-timeout: 30s}", cases + kAfterCase);
  REQUIRE_OK(drahil::MakeDirs(f.dir.Join("work")));
  Verdict v;
  v.run = DrahilWatched(f,
                        {"run", "--driver", prof, "--suite", suite, "--json", f.dir.Join("r.json"),
                         "--work-dir", f.dir.Join("work"), "--progress", "plain"},
                        120s, nofile);
  INFO(v.run.output);
  v.hostile = ReportedCase(f.dir.Join("r.json"), "h");
  v.after = ReportedCase(f.dir.Join("r.json"), "after").verdict;
  // Nothing of the run is left: the driver and its threads are gone.
  CHECK(drahil::testing::WaitFor(5s, [&] { return ProcessesWith(f.dir.path()).empty(); }));
  return v;
}

// CheckFailsNaming(): the hostile case failed, its message naming every text.
void CheckFailsNaming(const Verdict& v, const std::vector<std::string>& texts) {
  INFO(v.run.output << "\n" << v.hostile.message);
  CHECK(v.hostile.verdict == drahil::reports::Verdict::kFail);
  for (const auto& t : texts) CHECK(v.hostile.message.find(t) != std::string::npos);
}

const char* kPrepareOnly =
    "  - id: h\n    title: t\n    steps:\n      - allocate: t/c\n      - prepare: {claims: "
    "[t/c]}\n";

}  // namespace

TEST_CASE("hostile: a 50 MB NodePrepareResources reply fails the case at the 4 MiB limit",
          "[hostile][reply]") {
  Fixture f;
  auto v = RunHostile(f, {"huge-reply=50"}, kPrepareOnly);
  CHECK(v.run.exit.exit_code == 1);
  CheckFailsNaming(v, {"NodePrepareResources", "RESOURCE_EXHAUSTED"});
  CHECK(v.after == drahil::reports::Verdict::kPass);
  // The reply is refused from its length prefix, never held whole.
  INFO("peak RSS " << v.run.peak_rss_kb << " kB");
  CHECK(v.run.peak_rss_kb < kPeakRssBoundKb);
}

TEST_CASE("hostile: results for claims never asked about fail the prepare, naming the UID",
          "[hostile][reply]") {
  Fixture f;
  auto v = RunHostile(f, {"unasked-claims=3"}, kPrepareOnly);
  CheckFailsNaming(v, {"returned result for unknown claim UID unasked-"});
  CHECK(v.after == drahil::reports::Verdict::kPass);
}

TEST_CASE(
    "hostile: a driver that crashes inside NodePrepareResources fails the case, no process "
    "is left",
    "[hostile][crash]") {
  Fixture f;
  auto v = RunHostile(f, {"crash-prepare"}, kPrepareOnly);
  CheckFailsNaming(v, {"NodePrepareResources", "UNAVAILABLE"});
  CHECK(v.after == drahil::reports::Verdict::kPass);
  CHECK(v.run.seconds < 40);
}

TEST_CASE("hostile: a bogus registration fails the case naming what the kubelet refused",
          "[hostile][registration]") {
  struct Want {
    std::string mode, text;
  };
  for (const auto& w : {Want{"type", "CSIPlugin"}, Want{"versions", "v0.DRAPlugin v2.DRAPlugin"}}) {
    DYNAMIC_SECTION(w.mode) {
      Fixture f;
      auto v = RunHostile(f, {"bad-registration=" + w.mode},
                          "  - {id: h, title: t, steps: [wait: 10ms]}\n",
                          "{registration: 4s, slices: 20s}");
      CheckFailsNaming(v, {w.text});
      CHECK(v.hostile.type == "Registration");
      CHECK(v.after == drahil::reports::Verdict::kFail);  // the same driver, refused again
      CHECK(v.run.seconds < 30);
    }
  }
}

// The kubelet accepts an endpoint nothing listens on (its gRPC connection is
// made lazily), warns, and the driver's calls fail there.
TEST_CASE("hostile: a registered endpoint where nothing listens fails the prepare, naming it",
          "[hostile][registration]") {
  Fixture f;
  auto v = RunHostile(f, {"bad-registration=endpoint"}, kPrepareOnly);
  CheckFailsNaming(v, {"NodePrepareResources", "nothing-listens-here.sock"});
  CHECK(v.after == drahil::reports::Verdict::kPass);
  CHECK(v.run.seconds < 40);
}

TEST_CASE("hostile: a health stream flood of ever new devices keeps drahil's memory bounded",
          "[hostile][health]") {
  Fixture f;
  auto v = RunHostile(f, {"health-flood"},
                      "  - id: h\n    title: t\n    steps:\n      - allocate: t/c\n"
                      "      - prepare: {claims: [t/c]}\n      - wait: 4s\n");
  INFO(v.run.output << "\n" << v.hostile.message);
  CHECK(v.hostile.verdict == drahil::reports::Verdict::kPass);
  CHECK(v.after == drahil::reports::Verdict::kPass);
  INFO("peak RSS " << v.run.peak_rss_kb << " kB");
  CHECK(v.run.peak_rss_kb < kPeakRssBoundKb);
}

TEST_CASE("hostile: a slice of 10,000 devices fails the case with the API server's 422 reason",
          "[hostile][slices]") {
  Fixture f;
  auto v = RunHostile(f, {"slice-devices=10000"}, "  - {id: h, title: t, steps: [wait: 10ms]}\n",
                      "{registration: 20s, slices: 3s}");
  CheckFailsNaming(v, {"the API server refused its ResourceSlice writes:",
                       "422 create resourceslices", "spec.devices: Too many"});
  CHECK(v.hostile.type == "Slices");
  CHECK(v.after == drahil::reports::Verdict::kFail);
}

TEST_CASE("hostile: an invalid slice fails the case naming the field the API server refused",
          "[hostile][slices]") {
  Fixture f;
  auto v = RunHostile(f, {"slice-invalid"}, "  - {id: h, title: t, steps: [wait: 10ms]}\n",
                      "{registration: 20s, slices: 3s}");
  CheckFailsNaming(v, {"422 create resourceslices", "spec.devices[1].name"});
}

// 8 threads LISTing and as many idle connections as the driver may open,
// under an open-file limit of 1024 for drahil and the driver alike: the
// connection cap keeps drahil's own sockets and files available (without
// it the kubelet stand-in could not reach the driver: UNAVAILABLE).
TEST_CASE("hostile: a driver flooding the API server neither stops the case nor grows drahil",
          "[hostile][apiflood]") {
  Fixture f;
  auto v = RunHostile(f, {"api-flood=8"},
                      "  - id: h\n    title: t\n    steps:\n      - allocate: t/c\n"
                      "      - prepare: {claims: [t/c]}\n      - wait: 3s\n"
                      "      - unprepare: {claims: [t/c]}\n",
                      "{registration: 20s, slices: 20s}", 1024);
  INFO(v.run.output << "\n" << v.hostile.message);
  CHECK(v.hostile.verdict == drahil::reports::Verdict::kPass);
  CHECK(v.after == drahil::reports::Verdict::kPass);
  INFO("peak RSS " << v.run.peak_rss_kb << " kB");
  CHECK(v.run.peak_rss_kb < kPeakRssBoundKb);
}

// ---------------------------------------------------------------------------
// A full disk: for the reports it is found before the first case; for the
// work dir, cases end in Error (drahil's environment failed, not the driver),
// naming the file and ENOSPC, and the reports elsewhere are complete.

namespace {

// InSmallTmpfs(): `script` run by sh in a mount namespace of its own where
// $T is a tmpfs of `size` (its other positional parameters: none). Needs
// unshare(1) and the right to mount (root); nullopt when either is missing.
std::optional<drahil::CommandOutput> InSmallTmpfs(Fixture& f, const std::string& size,
                                                  const std::string& script) {
  if (drahil::testing::FindOnPath("unshare").empty()) return std::nullopt;
  std::string t = f.dir.Join("tmpfs");
  REQUIRE_OK(drahil::MakeDirs(t));
  auto probe = drahil::RunCommand({"unshare", "-m", "sh", "-c", "mount -t tmpfs tmpfs " + t}, 10s);
  if (!probe.ok() || !probe->exit.success()) return std::nullopt;
  auto r = drahil::RunCommand(
      {"unshare", "-m", "sh", "-c",
       "T=" + t + "; mount -t tmpfs -o size=" + size + " tmpfs \"$T\" || exit 99; " + script},
      120s);
  REQUIRE_OK(r);
  return *r;
}

}  // namespace

TEST_CASE("hostile: a full disk under --out fails before the first case, naming the path",
          "[hostile][disk]") {
  Fixture f;
  std::string prof = f.Profile({}, "{registration: 20s, slices: 20s}");
  std::string suite = f.Suite("{case-timeout: 60s, step-timeout: 30s}",
                              "  - {id: w, title: t, steps: [wait: 3s]}\n");
  auto r = InSmallTmpfs(f, "64k",
                        "dd if=/dev/zero of=\"$T/fill\" bs=4k 2>/dev/null; exec " +
                            drahil::testing::Bin("drahil") + " run --driver " + prof + " --suite " +
                            suite + " --out \"$T/out\" --progress plain");
  if (!r) DRAHIL_SKIP("needs unshare(1) and the right to mount a tmpfs (root)");
  INFO(r->output);
  CHECK(r->exit.exit_code == 2);
  CHECK(r->output.find("/tmpfs/out/junit.xml: a 64 KiB test write in") != std::string::npos);
  CHECK(r->output.find("No space left on device") != std::string::npos);
  CHECK(r->output.find("PASS") == std::string::npos);  // no case ran
}

TEST_CASE("hostile: a full work dir ends cases in Error naming ENOSPC, the reports are whole",
          "[hostile][disk]") {
  Fixture f;
  std::string prof = f.Profile({}, "{registration: 20s, slices: 20s}");
  std::string suite = f.Suite("{case-timeout: 60s, step-timeout: 30s}", kPrepareOnly);
  auto r = InSmallTmpfs(f, "64k",
                        "dd if=/dev/zero of=\"$T/fill\" bs=4k 2>/dev/null; exec " +
                            drahil::testing::Bin("drahil") + " run --driver " + prof + " --suite " +
                            suite + " --work-dir \"$T\" --json " + f.dir.Join("r.json") +
                            " --progress plain");
  if (!r) DRAHIL_SKIP("needs unshare(1) and the right to mount a tmpfs (root)");
  INFO(r->output);
  CHECK(r->exit.exit_code == 1);
  auto c = ReportedCase(f.dir.Join("r.json"), "h");
  INFO(c.message);
  CHECK(c.verdict == drahil::reports::Verdict::kError);
  CHECK(c.message.find("No space left on device") != std::string::npos);
}

// The disk fills after the driver registered: the driver's prepare succeeds,
// the kubelet stand-in's checkpoint write fails. That is drahil's Error, not
// the driver's Fail.
TEST_CASE("hostile: a disk that fills before the prepare ends the case in Error Checkpoint",
          "[hostile][disk]") {
  Fixture f;
  std::string prof = f.Profile({}, "{registration: 20s, slices: 20s}");
  std::string suite = f.Suite("{case-timeout: 60s, step-timeout: 30s}",
                              "  - id: h\n    title: t\n    steps:\n      - allocate: t/c\n"
                              "      - wait: 2s\n      - prepare: {claims: [t/c]}\n");
  auto r =
      InSmallTmpfs(f, "8m",
                   drahil::testing::Bin("drahil") + " run --driver " + prof + " --suite " + suite +
                       " --work-dir \"$T\" --json " + f.dir.Join("r.json") +
                       " --progress plain & pid=$!; "
                       "i=0; until ls \"$T\"/*/kubelet/plugins_registry/*.sock >/dev/null 2>&1; do "
                       "i=$((i+1)); [ $i -gt 400 ] && break; sleep 0.05; done; "
                       "dd if=/dev/zero of=\"$T/fill\" bs=64k 2>/dev/null; wait $pid");
  if (!r) DRAHIL_SKIP("needs unshare(1) and the right to mount a tmpfs (root)");
  INFO(r->output);
  auto c = ReportedCase(f.dir.Join("r.json"), "h");
  INFO(c.message);
  CHECK(c.verdict == drahil::reports::Verdict::kError);
  CHECK(c.type == "Checkpoint");
  CHECK(c.message.find("write checkpoint") != std::string::npos);
  CHECK(c.message.find("No space left on device") != std::string::npos);
}
