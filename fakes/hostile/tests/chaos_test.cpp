// Chaos: drahil or the driver killed with SIGKILL at instants chosen by a
// seed; nothing may be lost or left behind. Each test checks what is left
// afterwards: no process of the run (none whose command line names its work
// dir), no mount under it, no file in it.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>

#include "drahil/core/child_process.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/reports/writers.hpp"
#include "drahil/testing/testing.hpp"

using namespace std::chrono_literals;

namespace {

// ProcessesNaming(): PIDs whose command line mentions dir.
std::vector<long> ProcessesNaming(const std::string& dir) {
  std::vector<long> out;
  auto names = drahil::ListDir("/proc");
  if (!names.ok()) return out;
  for (const auto& n : *names) {
    if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos) continue;
    if (std::stol(n) == ::getpid()) continue;
    std::ifstream in("/proc/" + n + "/cmdline");
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmd.find(dir + "/") != std::string::npos) out.push_back(std::stol(n));
  }
  return out;
}

bool MountsUnder(const std::string& dir) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.find(" " + dir + "/") != std::string::npos) return true;
  return false;
}

std::vector<std::string> Entries(const std::string& dir) {
  return drahil::ListDir(dir).value_or(std::vector<std::string>{});
}

// HostileProfile(): the hostile driver hanging in NodePrepareResources,
// writing its PID to marker when the call arrives.
std::string HostileProfile(drahil::TempDir& d, const std::string& marker) {
  std::string p = d.Join("hostile.yaml");
  REQUIRE_OK(drahil::AtomicWriteFile(
      p,
      "spec: drahil.driver/v1\nname: hostile\ndriver: hostile.example.com\nversion: \"0.1\"\n"
      "command: " +
          drahil::testing::Bin("drahil-hostile-driver") +
          "\nargs:\n  - --driver-name={driver_name}\n  - --node-name={node_name}\n"
          "  - --kubeconfig={kubeconfig}\n  - --registry-dir={registry_dir}\n"
          "  - --plugins-dir={plugins_dir}\n  - --cdi-dir={cdi_dir}\n"
          "  - --mode=hang-prepare\n  - --prepare-marker=" +
          marker +
          "\nprobe: {backend: emulated}\n"
          "timeouts: {registration: 20s, slices: 20s, prepare: 120s}\n"));
  return p;
}

std::string HungSuite(drahil::TempDir& d) {
  std::string p = d.Join("s.yaml");
  REQUIRE_OK(drahil::AtomicWriteFile(
      p,
      "spec: drahil.suite/v1\nname: chaos-self\ndefaults: {case-timeout: 5m, step-timeout: 3m}\n"
      "fixtures:\n  - manifests:\n"
      "      - {apiVersion: v1, kind: Namespace, metadata: {name: t}}\n"
      "      - apiVersion: resource.k8s.io/v1\n        kind: DeviceClass\n"
      "        metadata: {name: hostile.example.com}\n"
      "        spec: {selectors: [{cel: {expression: 'device.driver == "
      "\"hostile.example.com\"'}}]}\n"
      "      - apiVersion: resource.k8s.io/v1\n        kind: ResourceClaim\n"
      "        metadata: {name: c, namespace: t}\n"
      "        spec: {devices: {requests: [{name: r, exactly: {deviceClassName: "
      "hostile.example.com}}]}}\n"
      "cases:\n"
      "  - {id: quick, title: t, steps: [wait: 10ms]}\n"
      "  - id: hung\n    title: t\n    steps:\n      - allocate: t/c\n"
      "      - prepare: {claims: [t/c]}\n"));
  return p;
}

}  // namespace

TEST_CASE(
    "chaos: drahil killed with SIGKILL mid-case leaves its case dir, the next run removes it with "
    "its processes",
    "[chaos][sigkill]") {
  auto d = drahil::TempDir::Create("drahil-chaos-");
  REQUIRE_OK(d);
  std::string work = d->Join("work");
  REQUIRE_OK(drahil::MakeDirs(work));
  std::string marker = d->Join("prepare.marker");
  std::string profile = HostileProfile(*d, marker);
  std::string suite = HungSuite(*d);
  auto run =
      drahil::testing::SpawnLogged({drahil::testing::Bin("drahil"), "run", "--driver", profile,
                                    "--suite", suite, "--work-dir", work, "--progress", "plain"},
                                   d->Join("first.log"));
  REQUIRE_OK(run);
  // Killed while the driver's prepare is in flight: the case dir holds its
  // sockets, kubeconfig and CDI dir, and the driver runs.
  drahil::testing::WaitFor(60s, [&] { return drahil::PathExists(marker); });
  INFO(drahil::ReadFile(d->Join("first.log")).value_or(""));
  REQUIRE(drahil::PathExists(marker));
  REQUIRE(::kill(run->pid(), SIGKILL) == 0);
  REQUIRE_OK(run->Wait(10s));
  auto left = Entries(work);
  REQUIRE(left.size() == 1);
  const std::string case_dir = work + "/" + left[0];
  CHECK(left[0].rfind("drahil-case-", 0) == 0);
  CHECK(drahil::PathExists(case_dir + "/.drahil-owner"));
  // A helper of the driver that outlived it (the driver itself dies with
  // drahil: it is started with PR_SET_PDEATHSIG): its command line names the
  // case dir, as a driver's children's do.
  pid_t straggler = ::fork();
  REQUIRE(straggler >= 0);
  if (straggler == 0) {
    ::setsid();
    std::string name = case_dir + "/plugins/helper";
    ::execl("/bin/sleep", name.c_str(), "300", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  REQUIRE(drahil::testing::WaitFor(5s, [&] { return !ProcessesNaming(case_dir).empty(); }));

  // The next run, in the same work dir.
  auto second =
      drahil::RunCommand({drahil::testing::Bin("drahil"), "run", "--driver", profile, "--suite",
                          suite, "--focus", "quick", "--work-dir", work, "--progress", "plain"},
                         60s);
  REQUIRE_OK(second);
  INFO(second->output);
  CHECK(second->exit.exit_code == 0);
  CHECK(second->output.find("removed " + case_dir + ", left by run " +
                            std::to_string(run->pid())) != std::string::npos);
  CHECK(second->output.find("1 process(es) killed") != std::string::npos);
  int status = 0;
  CHECK(::waitpid(straggler, &status, 0) == straggler);
  CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
  CHECK(Entries(work).empty());
  CHECK(ProcessesNaming(work).empty());
  CHECK_FALSE(MountsUnder(work));
}

TEST_CASE("chaos: a run's directories with a live owner or without a mark are left alone",
          "[chaos][sigkill]") {
  auto d = drahil::TempDir::Create("drahil-chaos-");
  REQUIRE_OK(d);
  // One marked by this (live) process, one kept (no mark), one of a dead
  // process (a PID that cannot exist).
  auto live = drahil::TempDir::Create("drahil-case-", d->path());
  REQUIRE_OK(live);
  REQUIRE_OK(live->MarkOwned());
  auto kept = drahil::TempDir::Create("drahil-case-", d->path());
  REQUIRE_OK(kept);
  REQUIRE_OK(kept->MarkOwned());
  kept->Keep();
  std::string kept_path = kept->path();
  { drahil::TempDir gone = std::move(*kept); }  // a kept dir loses its mark
  CHECK(drahil::PathExists(kept_path));
  CHECK_FALSE(drahil::PathExists(kept_path + "/.drahil-owner"));
  std::string dead = d->Join("drahil-shared-dead");
  REQUIRE_OK(drahil::MakeDirs(dead + "/cdi"));
  REQUIRE_OK(drahil::AtomicWriteFile(dead + "/.drahil-owner", "4194305 12345\n"));
  std::string other = d->Join("not-ours-dead");
  REQUIRE_OK(drahil::MakeDirs(other));
  REQUIRE_OK(drahil::AtomicWriteFile(other + "/.drahil-owner", "4194305 12345\n"));

  auto removed = drahil::RemoveAbandonedTempDirs(d->path(), {"drahil-case-", "drahil-shared-"});
  REQUIRE(removed.size() == 1);
  CHECK(removed[0].path == dead);
  CHECK(removed[0].owner_pid == 4194305);
  CHECK_OK(removed[0].removed);
  CHECK_FALSE(drahil::PathExists(dead));
  CHECK(drahil::PathExists(live->path()));
  CHECK(drahil::PathExists(kept_path));
  CHECK(drahil::PathExists(other));
  (void)drahil::RemoveAll(kept_path);
}

TEST_CASE(
    "chaos: the reference driver SIGKILLed at 51 seeded instants of publish, prepare and "
    "unprepare recovers every time, leaving nothing behind",
    "[chaos][driver]") {
  std::string suites = drahil::testing::SourceDir() + "/suites";
  auto d = drahil::TempDir::Create("drahil-chaos-");
  REQUIRE_OK(d);
  std::string work = d->Join("work");
  REQUIRE_OK(drahil::MakeDirs(work));
  // --repeat 17 over the suite's three cases: 17 kill instants per case,
  // drawn from the seed (the same seed, the same instants).
  auto r = drahil::RunCommand(
      {drahil::testing::Bin("drahil"), "run", "--driver", "reference-gpu-emulated", "--suite",
       suites + "/chaos.yaml", "--seed", "20261204", "--repeat", "17", "--parallel", "2",
       "--work-dir", work, "--json", d->Join("r.json"), "--progress", "none"},
      600s, {{"DRAHIL_SUITES_DIR", suites}});
  REQUIRE_OK(r);
  INFO(r->output);
  CHECK(r->exit.exit_code == 0);
  auto json = drahil::reports::ParseJsonReport(drahil::ReadFile(d->Join("r.json")).value_or(""));
  REQUIRE_OK(json);
  int cases = 0;
  for (const auto& s : json->suites)
    for (const auto& c : s.cases) {
      INFO(c.id << ": " << c.message);
      CHECK(c.verdict == drahil::reports::Verdict::kPass);
      ++cases;
    }
  CHECK(cases == 3);
  CHECK(Entries(work).empty());
  CHECK(ProcessesNaming(work).empty());
  CHECK_FALSE(MountsUnder(work));
}
