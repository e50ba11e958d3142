// drahil validate | list | run | demo | doctor — the runner's subcommands.
//
// Exit codes: 0 every case passed or skipped; 1 a case failed or errored;
// 2 usage or configuration error (bad suite, bad profile); 3 internal error;
// 130/143 interrupted by SIGINT/SIGTERM (the partial reports are written
// first).
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "drahil/cli/commands.hpp"
#include "drahil/core/child_process.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/core/log.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/reports/bundle.hpp"
#include "drahil/reports/certification.hpp"
#include "drahil/reports/compare.hpp"
#include "drahil/reports/writers.hpp"
#include "drahil/runner/binding.hpp"
#include "drahil/runner/engine.hpp"
#include "drahil/runner/integration.hpp"
#if __has_include("drahil/kube/validation.hpp")
#include "drahil/kube/validation.hpp"
#define DRAHIL_CLI_HAVE_KUBE 1
#endif
#if __has_include("drahil/node/node.hpp")
#include "drahil/node/node.hpp"
#define DRAHIL_CLI_HAVE_NODE 1
#endif
#include "drahil/runner/progress.hpp"
#include "drahil/runner/suite.hpp"

namespace drahil::cli {
namespace {

namespace fs = std::filesystem;
using runner::DriverProfile;
using runner::Suite;

// ResolveProfile(): a path, or a name looked up in <suites>/drivers/<name>.yaml.
std::string ResolveProfile(const CliContext& ctx, const std::string& arg) {
  if (arg.find('/') != std::string::npos || arg.ends_with(".yaml") || arg.ends_with(".yml"))
    return arg;
  return SuitesDir(ctx) + "/drivers/" + arg + ".yaml";
}

// SignalWatcher: SIGINT/SIGTERM cancel the run instead of killing drahil, so
// the reports of what finished still get written. The signals are blocked in
// every thread and taken synchronously by one watcher thread (sigtimedwait),
// so no work happens in a signal handler. A second signal exits at once.
class SignalWatcher {
 public:
  explicit SignalWatcher(runner::CancelToken& cancel) : cancel_(cancel) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
    thread_ = std::thread([this] { Loop(); });
  }
  ~SignalWatcher() {
    done_.store(true);
    thread_.join();
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  int signal() const { return sig_.load(); }

 private:
  void Loop() {
    timespec ts{0, 100 * 1000 * 1000};
    while (!done_.load()) {
      int s = sigtimedwait(&set_, nullptr, &ts);
      if (s <= 0) continue;
      if (sig_.load() != 0) {
        std::fprintf(stderr, "\ndrahil: second signal, exiting without reports\n");
        std::_Exit(128 + s);
      }
      sig_.store(s);
      std::fprintf(stderr,
                   "\ndrahil: %s received; finishing cleanup and writing partial reports "
                   "(send again to exit at once)\n",
                   s == SIGINT ? "SIGINT" : "SIGTERM");
      cancel_.Cancel(s == SIGINT ? "SIGINT" : "SIGTERM");
    }
  }
  runner::CancelToken& cancel_;
  sigset_t set_{}, old_{};
  std::atomic<bool> done_{false};
  std::atomic<int> sig_{0};
  std::thread thread_;
};

struct RunArgs {
  std::string driver;
  std::string attach, cdi_dir, api_listen, kubeconfig_out;
  bool shared_node = false;
  std::vector<std::string> suites;
  std::string junit, json, html, out;
  std::string bundle;  // --bundle: the certification bundle (.tar.gz)
  int parallel = 0;    // 0 = auto (AutoParallel())
  std::vector<std::string> focus, skip;
  int repeat = 1;
  bool fail_fast = false;
  bool keep = false;
  std::string work_dir;
  std::string node_name = "drahil-node";
  std::string progress = "auto";
  std::string seed = "random";     // --seed: "random", a number, or "none" (fixed order)
  std::string pod_sync_backoff;    // "" = the kubelet's 10 s
  std::string kubernetes_version;  // "" = the profile's, else the newest
  std::string feature_gates;       // --feature-gates overrides
  // profile init: instead of suites, one case that drafts a device model
  // from the driver's slices into this file ("-" = stdout).
  std::string draft_out;
};

// AutoParallel(): --parallel's default. Each case has a node of its own, so
// on an emulated node cases run side by side, two per CPU (at most 8: each
// starts an API server, a kubelet stand-in and a driver): a case spends most
// of its time waiting on its driver, its node's processes and its waits (the
// catalog on 2 CPUs used 15 s of CPU in 37 s at one case per CPU; at two per
// CPU it took 20 s, same verdicts; BENCHMARKS.md). Real hardware is
// one set of devices all cases share, and an attached driver is one node:
// there cases take turns. (With --shared-node each suite's cases take turns
// on the suite's node; suites still run side by side.)
int AutoParallel(const DriverProfile& profile, const RunArgs& a) {
  if (profile.node_profile.empty() || !a.attach.empty()) return 1;
  unsigned n = std::thread::hardware_concurrency();
  return static_cast<int>(std::clamp(2 * n, 1u, 8u));
}

void AddRunFlags(CLI::App* c, RunArgs& a, bool with_driver) {
  if (with_driver) {
    c->add_option("--driver", a.driver, "Driver profile: a path, or a name in <suites>/drivers/");
    c->add_option("--attach", a.attach,
                  "Test a driver that is already running: the plugin registry dir it registers in "
                  "(the run shares one node; cases run one after another)");
    c->add_option("--cdi-dir", a.cdi_dir,
                  "With --attach: where the driver writes its CDI specs (default /var/run/cdi)");
    c->add_flag(
        "--shared-node", a.shared_node,
        "Run each suite's cases on one node (API server, kubelet, driver) that they take turns on, "
        "instead of a fresh node per case");
    c->add_option("--api-listen", a.api_listen,
                  "The API server's address (default 127.0.0.1, a free port)");
    c->add_option("--kubeconfig-out", a.kubeconfig_out,
                  "Write the driver's kubeconfig (node identity) here, e.g. to start an attached "
                  "driver with it");
  }
  c->add_option("--suite", a.suites, "Suite file or directory (repeatable; default: the catalog)");
  c->add_option("--junit", a.junit, "Write JUnit XML here");
  c->add_option("--json", a.json, "Write the JSON report here");
  c->add_option("--html", a.html, "Write the HTML report here");
  c->add_option("--out", a.out, "Directory for junit.xml, report.json and report.html");
  c->add_option("--bundle", a.bundle,
                "Also write a certification bundle here (.tar.gz: the reports, the driver "
                "profile, versions, the hardware inventory, kept logs, MANIFEST.sha256); "
                "check it with `drahil verify-bundle`");
  c->add_option("--parallel,-j", a.parallel,
                "Cases run at once (default: the CPU count, up to 8, on an emulated node; 1 on "
                "real hardware or with --attach)")
      ->check(CLI::Range(1, 64));
  c->add_option("--focus", a.focus,
                "Only cases whose id, suite/id or a tag matches (regex, repeatable)");
  c->add_option("--skip", a.skip,
                "Leave out cases whose id, suite/id or a tag matches (regex, repeatable)");
  c->add_option("--repeat", a.repeat,
                "Run each case N times; disagreeing runs are reported as flaky")
      ->check(CLI::Range(1, 1000));
  c->add_flag("--fail-fast", a.fail_fast, "Start no new case after the first failure or error");
  c->add_flag("--keep", a.keep, "Keep each case's directory (node root, logs) for debugging");
  c->add_option(
      "--work-dir", a.work_dir,
      "Where case directories are created (default $TMPDIR; a relative path is made absolute)");
  c->add_option("--node-name", a.node_name, "Node name given to the driver");
  c->add_option(
       "--seed", a.seed,
       "The order in which the scheduler stand-in tries pools and slices, as kube-scheduler's "
       "differs from run to run: \"random\" (a new seed each run), a number (the same "
       "number, the same order) or \"none\" (pools by name); the seed is printed and "
       "recorded in the reports. It also draws the delays of `inject: {driver: kill, after: "
       "{max: D}}` (seed 0 with \"none\")")
      ->capture_default_str();
  c->add_option("--pod-sync-backoff", a.pod_sync_backoff,
                "How long the kubelet stand-in waits before it tries a pod whose prepare failed "
                "again (default 10s, as the kubelet; at most 2 retries, within the step's time)");
  c->add_option("--kubernetes-version", a.kubernetes_version,
                "The Kubernetes release the API server, scheduler and kubelet stand-ins behave "
                "as: 1.34, 1.35 or 1.36, with its feature-gate defaults (default: the driver "
                "profile's kubernetes.version, else 1.36)");
  c->add_option("--feature-gates", a.feature_gates,
                "Feature gates set away from the version's defaults, as Kubernetes takes them: "
                "A=true,B=false (after the profile's kubernetes.feature-gates)");
  c->add_option("--progress", a.progress, "auto | live | plain | none")
      ->check(CLI::IsMember({"auto", "live", "plain", "none"}));
}

// DraftSuite(): the one case `drahil profile init` runs: bring the driver up
// on a node (the engine's usual set-up), then draft its device model.
std::vector<runner::Suite> DraftSuite(const RunArgs& a, const DriverProfile& profile) {
  runner::Suite s;
  s.name = "profile-init";
  s.case_timeout = std::chrono::minutes(3);
  s.step_timeout = std::chrono::minutes(2);
  runner::Case c;
  c.id = "profile-init";
  c.title = "Draft a device model from the driver's slices";
  c.feature = "profile";
  runner::Step st;
  st.kind = "profile-draft";
  st.params = {{"out", a.draft_out}, {"base", profile.file}};
  c.steps.push_back(st);
  s.cases.push_back(c);
  return {s};
}

// PrepareOutputs(): report paths from --out, absolute directories for the
// driver's placeholders, the work dir made, and the report paths checked
// writable; an exit code when one of them fails.
// RemoveAbandoned(): what runs killed before their clean-up left in the
// work dir and $TMPDIR (case and shared-node directories marked with their
// owner, the processes still running from them, their mounts).
void RemoveAbandoned(const std::string& work_dir, bool say) {
  const char* t = std::getenv("TMPDIR");
  std::string tmp = (t != nullptr && *t != '\0') ? t : "/tmp";
  std::vector<std::string> bases = {tmp};
  if (!work_dir.empty() && work_dir != tmp) bases.push_back(work_dir);
  for (const auto& base : bases) {
    for (const auto& d :
         RemoveAbandonedTempDirs(base, {"drahil-case-", "drahil-shared-", "drahil-sandbox-"})) {
      if (!say) continue;
      std::fprintf(stderr,
                   "drahil: removed %s, left by run %ld (gone): %d process(es) killed, %d "
                   "mount(s) detached%s\n",
                   d.path.c_str(), d.owner_pid, d.processes_killed, d.mounts_detached,
                   d.removed.ok() ? "" : ("; " + d.removed.message()).c_str());
    }
  }
}

std::optional<int> PrepareOutputs(CliContext& ctx, RunArgs& a) {
  while (a.out.size() > 1 && a.out.back() == '/') a.out.pop_back();
  if (!a.out.empty()) {
    if (a.junit.empty()) a.junit = a.out + "/junit.xml";
    if (a.json.empty()) a.json = a.out + "/report.json";
    if (a.html.empty()) a.html = a.out + "/report.html";
  }
  if (a.suites.empty()) a.suites.push_back(SuitesDir(ctx));
  // Directories the driver gets as placeholders must not depend on the
  // driver's working directory: resolve them against drahil's.
  for (std::string* dir : {&a.work_dir, &a.attach, &a.cdi_dir}) {
    std::error_code ec;
    if (!dir->empty()) *dir = fs::absolute(*dir, ec).lexically_normal().string();
    while (dir->size() > 1 && dir->back() == '/') dir->pop_back();
  }
  if (!a.work_dir.empty()) {
    if (Status s = MakeDirs(a.work_dir); !s.ok()) {
      std::fprintf(stderr, "drahil: --work-dir: %s\n", s.message().c_str());
      return kExitUsage;
    }
  }
  RemoveAbandoned(a.work_dir, a.progress != "none");
  // The reports are the point of a run: a path that cannot be written is
  // found now, not after every case ran.
  reports::WriteOptions w;
  w.junit = a.junit;
  w.json = a.json;
  w.html = a.html;
  if (Status s = reports::CheckReportPaths(w); !s.ok()) {
    std::fprintf(stderr, "drahil: cannot write the reports: %s\n", s.message().c_str());
    return kExitUsage;
  }
  reports::WriteOptions b;
  b.junit = a.bundle;
  if (Status s = reports::CheckReportPaths(b); !s.ok()) {
    std::fprintf(stderr, "drahil: --bundle: %s\n", s.message().c_str());
    return kExitUsage;
  }

  return std::nullopt;
}

// InventoryJson(): the bundle's inventory.json: what the profile claims and
// what discovery found (when a case needed it).
std::string InventoryJson(const DriverProfile& profile, const RunArgs& a,
                          const std::optional<runner::Inventory>& inv) {
  nlohmann::json j = {
      {"hardware", profile.node_profile.empty() ? "real" : "emulated: " + profile.node_profile},
      {"node_name", a.node_name},
      {"claimed_capabilities", profile.capabilities},
      {"discovered", inv.has_value()}};
  if (inv) {
    nlohmann::json devices = nlohmann::json::array();
    for (const auto& d : inv->device_list)
      devices.push_back({{"name", d.name},
                         {"pool", d.pool},
                         {"kinds", d.kinds},
                         {"attributes", d.attributes},
                         {"tainted", d.tainted}});
    j["device_counts"] = inv->devices;
    j["devices"] = devices;
    j["capabilities"] = inv->capabilities;
    j["probe_backends"] = inv->probe_backends;
    j["contradicted"] = inv->contradicted;
  }
  return j.dump(2) + "\n";
}

// KeptLogs(): the files under each kept case directory's logs/, as bundle
// members logs/<suite>/<case>/<file>.
std::vector<std::pair<std::string, std::string>> KeptLogs(const reports::RunReport& report) {
  std::vector<std::pair<std::string, std::string>> out;
  std::set<std::string> seen;
  for (const auto& suite : report.suites) {
    for (const auto& c : suite.cases) {
      for (const auto& [name, dir] : c.properties) {
        if (name != "case.dir") continue;
        std::error_code ec;
        fs::path logs = fs::path(dir) / "logs";
        for (auto it = fs::recursive_directory_iterator(logs, ec);
             !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
          if (!it->is_regular_file(ec)) continue;
          std::string member = "logs/" + suite.name + "/" + c.id + "/" +
                               fs::relative(it->path(), logs, ec).generic_string();
          if (seen.insert(member).second) out.emplace_back(member, it->path().string());
        }
      }
    }
  }
  return out;
}

Status WriteRunBundle(const RunArgs& a, const DriverProfile& profile,
                      const reports::RunReport& report,
                      const std::optional<runner::Inventory>& inv) {
  reports::BundleInputs in;
  in.report = report;
  in.profile_path = profile.file;
  in.versions["drahil"] = DrahilVersion();
  if (*DrahilGitCommit() != '\0') in.versions["drahil_commit"] = DrahilGitCommit();
  in.versions["driver"] = report.driver_name.empty() ? profile.driver_name : report.driver_name;
  in.versions["driver_version"] = report.driver_version;
  in.inventory_json = InventoryJson(profile, a, inv);
  in.files = KeptLogs(report);
  return reports::WriteBundle(a.bundle, in);
}

int DoRun(CliContext& ctx, RunArgs a, bool demo) {
  // The progress lines are the output of a run; the stand-ins' lifecycle
  // lines (registrations, health changes) only with -v.
  if (ctx.verbosity == 0) drahil::log::Init(-1);
  if (auto rc = PrepareOutputs(ctx, a)) return *rc;
  reports::WriteOptions w;
  w.junit = a.junit;
  w.json = a.json;
  w.html = a.html;

  DriverProfile profile;
  if (!a.driver.empty()) {
    auto p = runner::LoadDriverProfileFile(ResolveProfile(ctx, a.driver));
    if (!p.ok()) {
      std::fprintf(stderr, "drahil: driver profile: %s\n", p.status().message().c_str());
      return kExitUsage;
    }
    profile = *p;
  } else {
    std::fprintf(
        stderr,
        "drahil run: give --driver PROFILE (with --attach REGISTRY_DIR the profile names the "
        "driver and its capabilities; its command is not run)\n");
    return kExitUsage;
  }

  auto suites = a.draft_out.empty() ? runner::LoadSuites(a.suites)
                                    : Result<std::vector<runner::Suite>>(DraftSuite(a, profile));
  if (!suites.ok()) {
    std::fprintf(stderr, "drahil: %s\n", suites.status().message().c_str());
    return kExitUsage;
  }

  runner::RunOptions opts;
  opts.profile = profile;
  opts.parallel = a.parallel > 0 ? a.parallel : AutoParallel(profile, a);
  if (a.parallel == 0 && opts.parallel > 1 && a.progress != "none") {
    std::fprintf(stderr,
                 "drahil: %d cases at a time, each on a node of its own (--parallel 1: one "
                 "after another)\n",
                 opts.parallel);
  }
  opts.focus = a.focus;
  opts.skip = a.skip;
  opts.repeat = a.repeat;
  opts.fail_fast = a.fail_fast;
  opts.keep_dirs = a.keep;
  opts.work_dir = a.work_dir;
  opts.node_name = a.node_name;
  opts.bin_dir = ExeDir(ctx);
  opts.lib_dir = LibDir(ctx);
  opts.hardware = profile.node_profile.empty() ? "real" : "emulated: " + profile.node_profile;
  std::vector<std::string> gate_notes;
  auto gates = runner::GatesForRun(profile, a.kubernetes_version, a.feature_gates, &gate_notes);
  if (!gates.ok()) {
    std::fprintf(stderr, "drahil: %s\n", gates.status().message().c_str());
    return kExitUsage;
  }
  for (const auto& n : gate_notes) std::fprintf(stderr, "drahil: note: %s\n", n.c_str());
  opts.gates = *gates;

  runner::IntegrationOptions integ;
  integ.attach_registry_dir = a.attach;
  integ.api_listen = a.api_listen;
  integ.kubeconfig_out = a.kubeconfig_out;
  integ.shared_node = a.shared_node;
  integ.gates = opts.gates;
  if (a.progress != "none") {
    std::string overrides = opts.gates.Overrides();
    std::fprintf(stderr, "drahil: Kubernetes %s%s\n", opts.gates.version().ToString().c_str(),
                 overrides.empty() ? "" : (" with feature gates " + overrides).c_str());
  }
  auto seed = runner::ParseSeed(a.seed);
  if (!seed.ok()) {
    std::fprintf(stderr, "drahil: %s\n", seed.status().message().c_str());
    return kExitUsage;
  }
  integ.allocator_seed = *seed;
  opts.seed = *seed;
  if (a.progress != "none" && *seed) {
    std::fprintf(stderr, "drahil: seed %llu (rerun with --seed %llu to repeat its pool order)\n",
                 static_cast<unsigned long long>(**seed), static_cast<unsigned long long>(**seed));
  }
  if (!a.pod_sync_backoff.empty()) {
    auto d = runner::ParseDuration(a.pod_sync_backoff);
    if (!d.ok()) {
      std::fprintf(stderr, "drahil: --pod-sync-backoff: %s\n", d.status().message().c_str());
      return kExitUsage;
    }
    integ.pod_sync_backoff = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  }
  if (!a.attach.empty()) {
    integ.attach_cdi_dir = a.cdi_dir.empty() ? "/var/run/cdi" : a.cdi_dir;
    opts.parallel = 1;  // one driver, one node: the cases take turns
  }
  integ.bin_dir = opts.bin_dir;
  integ.node_profiles_dir = NodeProfilesDir(SuitesDir(ctx));
  runner::StepRegistry steps = runner::StepRegistry::WithBuiltins();
  runner::EngineHooks hooks;
#ifdef DRAHIL_CLI_HAVE_NODE
  node::Install(steps, hooks, integ);
#else
  runner::InstallIntegration(steps, hooks, integ);
#endif

  std::unique_ptr<runner::ProgressSink> progress;
  if (a.progress == "auto") progress = runner::ConsoleProgress::ForStream(stderr);
  if (a.progress == "live") progress = std::make_unique<runner::ConsoleProgress>(stderr, true);
  if (a.progress == "plain") progress = std::make_unique<runner::ConsoleProgress>(stderr, false);

  runner::CancelToken cancel;
  int sig = 0;
  Result<reports::RunReport> report = InternalError("not run");
  std::optional<runner::Inventory> inventory;
  {
    SignalWatcher watcher(cancel);
    runner::Engine engine(std::move(steps), std::move(hooks), opts);
    report = engine.Run(*suites, cancel, progress.get());
    inventory = engine.DiscoveredInventory();
    sig = watcher.signal();
  }
  if (!report.ok()) {
    std::fprintf(stderr, "drahil: %s\n", report.status().message().c_str());
    return report.status().code() == Code::kInvalidArgument ? kExitUsage : kExitInternal;
  }
  Status ws = reports::WriteReports(*report, w);
  Status bs = a.bundle.empty() ? OkStatus() : WriteRunBundle(a, profile, *report, inventory);
  if (a.progress != "none")
    std::printf("%s", reports::CertificationText(reports::Certify(*report)).c_str());
  if (!a.draft_out.empty()) {
    // profile init: stdout may be the draft itself; say how it went on stderr.
    for (const auto& suite : report->suites)
      for (const auto& c : suite.cases)
        if (c.verdict != reports::Verdict::kPass)
          std::fprintf(stderr, "drahil profile init: %s: %s\n",
                       std::string(reports::VerdictName(c.verdict)).c_str(), c.message.c_str());
    return reports::CountRun(*report).passed == reports::CountRun(*report).tests
               ? kExitOk
               : kExitTestFailures;
  }
  std::printf("%s\n", reports::SummaryLine(*report).c_str());
  for (const auto& [label, path] :
       {std::pair{"JUnit", a.junit}, {"JSON", a.json}, {"HTML", a.html}}) {
    if (!path.empty() && ws.ok()) std::printf("  %-5s %s\n", label, path.c_str());
  }
  if (!a.bundle.empty() && bs.ok()) std::printf("  %-5s %s\n", "Bundle", a.bundle.c_str());
  if (demo && reports::CountRun(*report).tests == 0) {
    std::printf("  (the catalog selected no cases)\n");
  }
  std::fflush(stdout);
  if (!ws.ok() || !bs.ok()) {
    for (const Status* s : {&ws, &bs})
      if (!s->ok()) std::fprintf(stderr, "drahil: %s\n", s->message().c_str());
    return kExitInternal;
  }
  if (sig != 0) return 128 + sig;
  auto counts = reports::CountRun(*report);
  return counts.failures + counts.errors > 0 ? kExitTestFailures : kExitOk;
}

// BindingSummary(): with a driver profile, which cases of a suite the
// profile binds and, for the rest, the profile keys they need (they Skip).
void BindingSummary(const runner::Suite& suite, const runner::DriverProfile& prof) {
  std::map<std::string, int> need;
  int bound = 0;
  for (const auto& c : suite.cases) {
    std::set<std::string> keys = runner::ProfileKeysNeeded(suite, c, prof);
    if (keys.empty()) ++bound;
    for (const auto& k : keys) ++need[k];
  }
  std::printf("     %s binds %d of %zu case(s)", prof.name.c_str(), bound, suite.cases.size());
  for (const auto& [k, n] : need) std::printf("; %d need %s", n, k.c_str());
  std::printf("\n");
}

// CheckManifests(): the suite's manifests (runner::ManifestsForCheck) under
// the create-time rules of the API server drahil runs (drahil::kube::
// Validate for the profile's Kubernetes version: names, CEL that must compile
// within its cost, quantities, list limits). One FAIL line per error, naming
// file:line, the case and the object; the count of errors.
int CheckManifests(const runner::Suite& suite, const runner::DriverProfile& profile, int* checked,
                   int* unbound) {
#ifdef DRAHIL_CLI_HAVE_KUBE
  auto gates = runner::GatesForRun(profile, "", "");
  KubeVersion version = gates.ok() ? gates->version() : KubeVersion::Newest();
  std::set<std::string> seen;
  int errors = 0;
  for (const auto& r : runner::ManifestsForCheck(suite, profile)) {
    if (!r.bound) {
      ++*unbound;
      continue;
    }
    auto found = kube::Validate(r.manifest.object, version);
    // Kinds drahil::kube has no rules for (a CRD's objects) are the server's
    // to judge; they are not counted as checked.
    if (found.size() == 1 && found[0].field == "kind") continue;
    ++*checked;
    for (const auto& e : found) {
      std::string line =
          r.manifest.where.ToString() + ": " + r.manifest.Ref() + ": " + e.ToString();
      if (!seen.insert(line).second) continue;
      std::printf("FAIL %s (case %s)\n", line.c_str(), r.case_id.c_str());
      ++errors;
    }
  }
  return errors;
#else
  (void)suite;
  (void)profile;
  (void)checked;
  (void)unbound;
  return 0;
#endif
}

int DoValidate(const std::vector<std::string>& paths, const std::string& driver, CliContext& ctx) {
  int bad = 0;
  std::optional<runner::DriverProfile> prof;
  if (!driver.empty()) {
    auto p = runner::LoadDriverProfileFile(ResolveProfile(ctx, driver));
    if (!p.ok()) {
      std::printf("FAIL %s\n", p.status().message().c_str());
      return kExitUsage;
    }
    prof = *p;
  }
  // Manifests are rendered for --driver, else for the demo's profile (when
  // it is installed): placeholders need a profile to become objects.
  std::optional<runner::DriverProfile> render_prof = prof;
  if (!render_prof) {
    auto p = runner::LoadDriverProfileFile(ResolveProfile(ctx, "reference-gpu-emulated"));
    if (p.ok()) render_prof = *p;
  }
  for (const auto& p : paths) {
    std::error_code ec;
    std::vector<std::string> files;
    if (fs::is_directory(p, ec)) {
      for (auto it = fs::recursive_directory_iterator(p, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        auto ext = it->path().extension();
        bool manifests = it->path().string().find("/manifests/") != std::string::npos;
        if (it->is_regular_file() && !manifests && (ext == ".yaml" || ext == ".yml")) {
          files.push_back(it->path().string());
        }
      }
      std::sort(files.begin(), files.end());
    } else {
      files.push_back(p);
    }
    for (const auto& f : files) {
      auto text = ReadFile(f);
      if (!text.ok()) {
        std::printf("FAIL %s\n", text.status().message().c_str());
        ++bad;
        continue;
      }
      if (text->find(runner::kDriverSpec) != std::string::npos) {
        auto prof = runner::LoadDriverProfileString(*text, f);
        if (prof.ok()) {
          std::printf("ok   %s (driver profile %s for %s)\n", f.c_str(), prof->name.c_str(),
                      prof->driver_name.c_str());
        } else {
          std::printf("FAIL %s\n", prof.status().message().c_str());
          ++bad;
        }
        continue;
      }
      auto s = runner::LoadSuiteString(*text, f);
      if (s.ok()) {
        int checked = 0, unbound = 0;
        int errors = render_prof ? CheckManifests(*s, *render_prof, &checked, &unbound) : 0;
        if (errors > 0) {
          std::printf("FAIL %s (suite %s): %d manifest error(s)\n", f.c_str(), s->name.c_str(),
                      errors);
          ++bad;
          continue;
        }
        std::string manifests =
            render_prof
                ? ", " + std::to_string(checked) + " manifest(s) checked for " + render_prof->name +
                      (unbound > 0 ? ", " + std::to_string(unbound) +
                                         " left unchecked: placeholders it does not bind"
                                   : "")
                : "";
        std::printf("ok   %s (suite %s, %zu case(s)%s)\n", f.c_str(), s->name.c_str(),
                    s->cases.size(), manifests.c_str());
        if (prof) BindingSummary(*s, *prof);
      } else {
        std::printf("FAIL %s\n", s.status().message().c_str());
        ++bad;
      }
    }
    if (files.empty()) {
      std::printf("FAIL %s: no suite files\n", p.c_str());
      ++bad;
    }
  }
  return bad == 0 ? kExitOk : kExitUsage;
}

int DoCompare(const std::vector<std::string>& files, const std::string& allow) {
  std::vector<reports::RunReport> runs;
  for (const auto& f : files) {
    auto text = ReadFile(f, 256u << 20);
    if (!text.ok()) {
      std::fprintf(stderr, "drahil compare: %s\n", text.status().message().c_str());
      return kExitUsage;
    }
    auto r = reports::ParseJsonReport(*text);
    if (!r.ok()) {
      std::fprintf(stderr, "drahil compare: %s: %s\n", f.c_str(), r.status().message().c_str());
      return kExitUsage;
    }
    runs.push_back(std::move(*r));
  }
  auto c = reports::CompareRuns(runs[0], runs[1], {allow});
  for (const auto& d : c.differences) std::printf("DIFF %s\n", d.c_str());
  std::printf("%d case(s) in both runs: %d same verdict, %d allowed skip(s), %zu difference(s)\n",
              c.matched, c.same, c.allowed, c.differences.size());
  return c.ok() ? kExitOk : kExitTestFailures;
}

int DoList(CliContext& ctx, std::vector<std::string> paths, const std::vector<std::string>& focus,
           const std::vector<std::string>& skip) {
  if (paths.empty()) paths.push_back(SuitesDir(ctx));
  auto suites = runner::LoadSuites(paths);
  if (!suites.ok()) {
    std::fprintf(stderr, "drahil: %s\n", suites.status().message().c_str());
    return kExitUsage;
  }
  runner::RunOptions o;
  o.focus = focus;
  o.skip = skip;
  runner::Engine e(runner::StepRegistry::WithBuiltins(), {}, o);
  auto sel = e.Select(*suites);
  if (!sel.ok()) {
    std::fprintf(stderr, "drahil: %s\n", sel.status().message().c_str());
    return kExitUsage;
  }
  for (const auto& c : *sel) {
    std::string tags;
    for (const auto& t : c.kase->tags) tags += (tags.empty() ? "" : ",") + t;
    std::printf("%s/%s  [%s]  %s\n", c.suite->name.c_str(), c.kase->id.c_str(), tags.c_str(),
                c.kase->title.c_str());
  }
  std::printf("%zu case(s)\n", sel->size());
  return kExitOk;
}

// --- doctor -----------------------------------------------------------------

void Line(const char* status, const std::string& what, const std::string& detail) {
  std::printf("%-4s %-28s %s\n", status, what.c_str(), detail.c_str());
}

std::string ReadTrim(const std::string& path) {
  auto t = ReadFile(path, 4096);
  if (!t.ok()) return "";
  std::string s = *t;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

void DoctorNamespaces() {
  pid_t pid = ::fork();
  if (pid == 0) {
    // In the child only: unshare is what the sandbox needs.
    _exit(::unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0 ? 0 : 1);
  }
  int status = 0;
  bool ok =
      pid > 0 && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  std::string detail = ::geteuid() == 0 ? "running as root" : "unprivileged";
  std::string knob = ReadTrim("/proc/sys/kernel/unprivileged_userns_clone");
  if (!knob.empty()) detail += ", unprivileged_userns_clone=" + knob;
  Line(ok ? "ok" : "--", "user+mount namespaces",
       ok ? detail : "unshare failed (" + detail + "); sandboxed probes cannot run");
}

void DoctorPci() {
  int nvidia = 0, fpga = 0, accel = 0;
  std::string fpga_list;
  std::error_code ec;
  for (auto it = fs::directory_iterator("/sys/bus/pci/devices", ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string d = it->path().string();
    std::string vendor = ReadTrim(d + "/vendor");
    std::string cls = ReadTrim(d + "/class");
    if (vendor == "0x10de" && cls.rfind("0x03", 0) == 0) ++nvidia;
    if (cls.rfind("0x1200", 0) == 0) {
      ++accel;
      // Xilinx/AMD and Intel (Altera) processing accelerators are the FPGAs we probe.
      if (vendor == "0x10ee" || vendor == "0x8086" || vendor == "0x1172") {
        ++fpga;
        fpga_list += " " + it->path().filename().string();
      }
    }
  }
  Line(nvidia > 0 ? "ok" : "--", "NVIDIA GPUs (PCI)", std::to_string(nvidia) + " found");
  Line(fpga > 0 ? "ok" : "--", "FPGA functions (PCI 0x1200)",
       std::to_string(fpga) + " found" + fpga_list +
           (accel > fpga ? " (+" + std::to_string(accel - fpga) + " other accelerators)" : ""));
  int nodes = 0;
  for (auto it = fs::directory_iterator("/dev", ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    std::string n = it->path().filename().string();
    if (n.rfind("nvidia", 0) == 0 && n.size() > 6 && std::isdigit(static_cast<unsigned char>(n[6])))
      ++nodes;
  }
  Line(nodes > 0 ? "ok" : "--", "/dev/nvidiaN nodes", std::to_string(nodes) + " found");
}

void DoctorNvml() {
  void* h = ::dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    Line("--", "NVML",
         "libnvidia-ml.so.1 not found (real-GPU profiles unavailable; emulated NVML still works)");
    return;
  }
  using InitFn = int (*)();
  using CountFn = int (*)(unsigned*);
  auto init = reinterpret_cast<InitFn>(::dlsym(h, "nvmlInit_v2"));
  auto count = reinterpret_cast<CountFn>(::dlsym(h, "nvmlDeviceGetCount_v2"));
  unsigned n = 0;
  if (init != nullptr && count != nullptr && init() == 0 && count(&n) == 0) {
    Line("ok", "NVML", std::to_string(n) + " GPU(s)");
  } else {
    Line("!!", "NVML", "library present but nvmlInit failed (driver not loaded?)");
  }
  // Left loaded, as every user of these libraries does: they keep
  // process-wide state (threads, ICD and driver registries) that unloading
  // would cut from under them.
}

void DoctorCuda() {
  void* h = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    Line("--", "CUDA driver", "libcuda.so.1 not found");
  } else {
    using InitFn = int (*)(unsigned);
    using CountFn = int (*)(int*);
    auto init = reinterpret_cast<InitFn>(::dlsym(h, "cuInit"));
    auto count = reinterpret_cast<CountFn>(::dlsym(h, "cuDeviceGetCount"));
    int n = 0;
    if (init != nullptr && count != nullptr && init(0) == 0 && count(&n) == 0) {
      Line("ok", "CUDA driver", std::to_string(n) + " device(s)");
    } else {
      Line("!!", "CUDA driver", "libcuda present but cuInit failed");
    }
  }
  std::error_code ec;
  Line(fs::exists("/usr/local/cuda/bin/nvcc", ec) ? "ok" : "--", "CUDA toolkit (nvcc)",
       fs::exists("/usr/local/cuda/bin/nvcc", ec) ? "/usr/local/cuda"
                                                  : "not found (CUDA probe backend not built)");
}

void DoctorOpenCl() {
  void* h = ::dlopen("libOpenCL.so.1", RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    Line("--", "OpenCL", "libOpenCL.so.1 not found");
    return;
  }
  using IdsFn = int (*)(unsigned, void**, unsigned*);
  using InfoFn = int (*)(void*, unsigned, size_t, void*, size_t*);
  auto ids = reinterpret_cast<IdsFn>(::dlsym(h, "clGetPlatformIDs"));
  auto info = reinterpret_cast<InfoFn>(::dlsym(h, "clGetPlatformInfo"));
  void* plats[16];
  unsigned n = 0;
  if (ids == nullptr || ids(16, plats, &n) != 0 || n == 0) {
    Line("--", "OpenCL platforms",
         "none (install pocl-opencl-icd to run probe kernels on the CPU)");
  } else {
    std::string names;
    for (unsigned i = 0; i < n && i < 16; ++i) {
      char buf[256] = {};
      if (info != nullptr &&
          info(plats[i], 0x0902 /* CL_PLATFORM_NAME */, sizeof(buf) - 1, buf, nullptr) == 0) {
        names += (names.empty() ? "" : ", ") + std::string(buf);
      }
    }
    Line("ok", "OpenCL platforms", names);
  }
  // Left loaded, as every user of these libraries does: they keep
  // process-wide state (threads, ICD and driver registries) that unloading
  // would cut from under them.
}

int DoDoctor(CliContext& ctx) {
  std::printf("drahil doctor: what this machine offers\n\n");
  DoctorNamespaces();
  DoctorPci();
  DoctorNvml();
  DoctorCuda();
  DoctorOpenCl();
  for (const char* bin :
       {"drahil-refdriver", "drahil-probe-gpu", "drahil-probe-fpga", "drahil-fakenode"}) {
    std::string p = SiblingBinary(ctx, bin);
    Line(::access(p.c_str(), X_OK) == 0 ? "ok" : "--", bin,
         ::access(p.c_str(), X_OK) == 0 ? p : "not built");
  }
  auto xmllint = RunCommand({"xmllint", "--version"}, std::chrono::seconds(5));
  Line(xmllint.ok() && xmllint->exit.success() ? "ok" : "--", "xmllint (JUnit schema checks)",
       xmllint.ok() && xmllint->exit.success() ? "found"
                                               : "not found (apt-get install libxml2-utils)");
  std::string wired;
#ifdef DRAHIL_CLI_HAVE_NODE
  for (const auto& m : node::Modules()) wired += (wired.empty() ? "" : ", ") + m;
#endif
  Line(wired.empty() ? "--" : "ok", "runner wiring",
       wired.empty() ? "no node modules built in" : wired);
  std::string suites = SuitesDir(ctx);
  std::error_code ec;
  Line(fs::is_directory(suites, ec) ? "ok" : "--", "suite catalog", suites);
  return kExitOk;
}

}  // namespace

void AddRunnerCommands(CLI::App& app, CliContext& ctx) {
  static std::vector<std::string> validate_paths;
  static std::string validate_driver;
  auto* validate =
      app.add_subcommand("validate", "Check suite files and driver profiles against their schemas");
  validate->add_option("paths", validate_paths, "Suite files, driver profiles or directories")
      ->required();
  validate->add_option(
      "--driver", validate_driver,
      "Also show, per suite, which cases this profile binds and the profile keys the rest need");
  validate->callback([&ctx] { ctx.exit_code = DoValidate(validate_paths, validate_driver, ctx); });

  static std::vector<std::string> compare_files;
  static std::string compare_allow;
  auto* compare = app.add_subcommand(
      "compare",
      "Compare two runs' report.json case by case (e.g. one driver under two identities)");
  compare->add_option("reports", compare_files, "FIRST.json SECOND.json")->required()->expected(2);
  compare->add_option(
      "--allow-skip", compare_allow,
      "A case that passed first may be skipped second when the skip reason matches this regex");
  compare->callback([&ctx] { ctx.exit_code = DoCompare(compare_files, compare_allow); });

  static std::vector<std::string> list_suites, list_focus, list_skip;
  auto* list =
      app.add_subcommand("list", "List the cases of the catalog (or --suite) with their tags");
  list->add_option("--suite", list_suites, "Suite file or directory (repeatable)");
  list->add_option("--focus", list_focus, "Only matching cases (regex)");
  list->add_option("--skip", list_skip, "Leave out matching cases (regex)");
  list->callback([&ctx] { ctx.exit_code = DoList(ctx, list_suites, list_focus, list_skip); });

  static RunArgs run_args;
  auto* run =
      app.add_subcommand("run", "Run suites against a driver and write JUnit/JSON/HTML reports");
  AddRunFlags(run, run_args, true);
  run->callback([&ctx] { ctx.exit_code = DoRun(ctx, run_args, false); });

  static RunArgs demo_args;
  static std::string demo_profile = "reference-gpu-emulated";
  demo_args.out = "out";
  auto* demo = app.add_subcommand("demo",
                                  "Emulated node + reference driver + default catalog (without "
                                  "`slow` cases) → junit.xml, report.json, report.html");
  demo->add_option("--out", demo_args.out, "Report directory")->capture_default_str();
  demo->add_option("--driver", demo_profile, "Driver profile to demo")->capture_default_str();
  demo->add_option("--parallel,-j", demo_args.parallel,
                   "Cases run at once (default: the CPU count, up to 8)")
      ->check(CLI::Range(1, 64));
  demo->add_option("--focus", demo_args.focus, "Only matching cases (regex)");
  demo->add_option("--progress", demo_args.progress, "auto | live | plain | none");
  demo->add_option("--seed", demo_args.seed,
                   "Pool order: \"random\", a number (repeat a run's order) or \"none\"")
      ->capture_default_str();
  demo->callback([&ctx] {
    RunArgs a = demo_args;
    a.driver = demo_profile;
    // The demo is the first thing a newcomer runs: cases tagged `slow`
    // (soak runs of minutes) are left to `drahil run` and `drahil selfcheck --slow`.
    if (a.focus.empty()) a.skip.push_back("^slow$");
    ctx.exit_code = DoRun(ctx, a, true);
  });

  static RunArgs init_args;
  init_args.progress = "none";
  auto* profile =
      app.add_subcommand("profile", "Driver profiles: `profile init` drafts a device model");
  profile->require_subcommand(1);
  auto* init = profile->add_subcommand("init",
                                       "Start the driver (or --attach to it), read its slices and "
                                       "write a draft profile with its device model");
  init->add_option("--driver", init_args.driver,
                   "Profile with at least the launch part (command, args, env, node)")
      ->required();
  init->add_option("--out", init_args.draft_out, "Where to write the draft (- = stdout)")
      ->capture_default_str();
  init->add_option("--attach", init_args.attach,
                   "The plugin registry dir of a driver you started yourself");
  init->add_option("--cdi-dir", init_args.cdi_dir,
                   "With --attach: where the driver writes its CDI specs");
  init->add_option("--kubeconfig-out", init_args.kubeconfig_out,
                   "Write the driver's kubeconfig here (attach mode)");
  init_args.draft_out = "-";
  init->callback([&ctx] {
    RunArgs a = init_args;
    a.suites = {"(profile init)"};
    ctx.exit_code = DoRun(ctx, a, false);
  });

  auto* doctor = app.add_subcommand(
      "doctor", "Show what this machine offers: namespaces, GPUs, NVML, OpenCL, CUDA, FPGAs");
  doctor->callback([&ctx] { ctx.exit_code = DoDoctor(ctx); });
}

}  // namespace drahil::cli
