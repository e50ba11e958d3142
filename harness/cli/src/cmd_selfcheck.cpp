// drahil selfcheck — runs the catalog against the reference driver, clean
// and with each planted bug, and prints the mutation score.
//
// Exit codes: 0 clean runs passed and every planted bug was caught; 1 a clean
// case failed or a bug was not caught (score below 100%); 2 usage or
// configuration error; 3 internal error; 130/143 interrupted.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <thread>

#include "drahil/cli/commands.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/reports/writers.hpp"
#include "drahil/runner/integration.hpp"
#include "drahil/runner/suite.hpp"
#include "drahil/selfcheck/selfcheck.hpp"

namespace drahil::cli {
namespace {

namespace fs = std::filesystem;

// DefaultProfiles(): every reference-driver profile of <suites>/drivers that
// runs on an emulated node (real-hardware profiles need the hardware).
std::vector<std::string> DefaultProfiles(const std::string& suites_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(suites_dir + "/drivers", ec)) {
    if (!e.is_regular_file() || e.path().extension() != ".yaml") continue;
    auto p = runner::LoadDriverProfileFile(e.path().string());
    if (!p.ok() || p->node_profile.empty()) continue;
    if (p->command.find("drahil-refdriver") == std::string::npos) continue;
    out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct Args {
  std::vector<std::string> suites, drivers, bugs, focus, skip;
  std::string junit, json;
  std::string plan;       // a plan file instead of <suites>/drivers/selfcheck.plan
  std::string map;        // a catch map instead of <suites>/drivers/selfcheck.map
  std::string write_map;  // write the catch map found to this file
  bool full = false;      // every bug runs every case (a map in use is checked)
  bool no_map = false;
  int parallel = 1;
  bool first_catch = false;
  bool slow = false;
  std::string work_dir;
  std::string seed = "random";
};

// SigintCancel: SIGINT/SIGTERM cancel the runs (cleanup still happens); taken
// synchronously by a thread so no work runs in a signal handler.
class SigintCancel {
 public:
  explicit SigintCancel(runner::CancelToken& cancel) : cancel_(cancel) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
    thread_ = std::thread([this] {
      timespec ts{0, 100 * 1000 * 1000};
      while (!done_.load()) {
        int s = sigtimedwait(&set_, nullptr, &ts);
        if (s <= 0) continue;
        if (sig_.load() != 0) std::_Exit(128 + s);
        sig_.store(s);
        cancel_.Cancel(s == SIGINT ? "SIGINT" : "SIGTERM");
      }
    });
  }
  ~SigintCancel() {
    done_.store(true);
    thread_.join();
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  int signal() const { return sig_.load(); }

 private:
  runner::CancelToken& cancel_;
  sigset_t set_{}, old_{};
  std::atomic<bool> done_{false};
  std::atomic<int> sig_{0};
  std::thread thread_;
};

int DoSelfcheck(CliContext& ctx, const Args& a) {
  std::string suites_dir = SuitesDir(ctx);
  selfcheck::Options o;
  o.suites = a.suites.empty() ? std::vector<std::string>{suites_dir} : a.suites;
  std::string plan_text;
  for (const auto& d : a.drivers) {
    // NAME[@FOCUS]: a profile and, optionally, the cases to run against it.
    auto at = d.find('@');
    plan_text += d.substr(0, at) + (at == std::string::npos ? "" : " " + d.substr(at + 1)) + "\n";
  }
  std::string plan_file = a.plan;
  if (plan_file.empty())
    plan_file = suites_dir + "/drivers/selfcheck.plan";
  else if (plan_file.find('/') == std::string::npos)
    plan_file = suites_dir + "/drivers/" + plan_file;
  if (plan_text.empty() && (!a.plan.empty() || PathExists(plan_file))) {
    auto text = ReadFile(plan_file);
    if (!text.ok()) {
      std::fprintf(stderr, "drahil selfcheck: %s\n", text.status().message().c_str());
      return kExitUsage;
    }
    plan_text = *text;
  }
  if (plan_text.empty()) {
    for (const auto& p : DefaultProfiles(suites_dir)) plan_text += p + "\n";
  }
  if (plan_text.empty()) {
    std::fprintf(stderr,
                 "drahil selfcheck: no reference-driver profile in %s/drivers; give --driver\n",
                 suites_dir.c_str());
    return kExitUsage;
  }
  auto plan = selfcheck::ParsePlan(plan_text, suites_dir + "/drivers");
  if (!plan.ok()) {
    std::fprintf(stderr, "drahil selfcheck: %s\n", plan.status().message().c_str());
    return kExitUsage;
  }
  o.profiles = *plan;
  o.bugs = a.bugs;
  o.focus = a.focus;
  o.skip = a.skip;
  if (!a.slow) o.skip.push_back("^slow$");  // soak cases only on request
  o.parallel = a.parallel;
  o.first_catch = a.first_catch;
  o.work_dir = a.work_dir;
  auto seed = runner::ParseSeed(a.seed);
  if (!seed.ok()) {
    std::fprintf(stderr, "drahil selfcheck: %s\n", seed.status().message().c_str());
    return kExitUsage;
  }
  o.seed = *seed;
  if (*seed) {
    std::fprintf(stderr, "selfcheck: seed %llu (rerun with --seed %llu to repeat its pool order)\n",
                 static_cast<unsigned long long>(**seed), static_cast<unsigned long long>(**seed));
  }
  o.bin_dir = ExeDir(ctx);
  o.lib_dir = LibDir(ctx);
  o.refdriver = SiblingBinary(ctx, "drahil-refdriver");
  o.node_profiles_dir = NodeProfilesDir(suites_dir);
  if (!a.write_map.empty() && (!a.full || a.first_catch)) {
    std::fprintf(stderr,
                 "drahil selfcheck: --write-map: the map is written from a complete --full run "
                 "without --first-catch\n");
    return kExitUsage;
  }
  // The catch map: given, or <suites>/drivers/selfcheck.map when present.
  std::string map_file = a.map;
  if (!map_file.empty() && map_file.find('/') == std::string::npos && !PathExists(map_file))
    map_file = suites_dir + "/drivers/" + map_file;
  if (map_file.empty() && !a.no_map && PathExists(suites_dir + "/drivers/selfcheck.map"))
    map_file = suites_dir + "/drivers/selfcheck.map";
  if (!map_file.empty() && !a.no_map) {
    auto text = ReadFile(map_file);
    if (!text.ok()) {
      std::fprintf(stderr, "drahil selfcheck: --map: %s\n", text.status().message().c_str());
      return kExitUsage;
    }
    auto map = selfcheck::ParseCatchMap(*text, map_file);
    if (!map.ok()) {
      std::fprintf(stderr, "drahil selfcheck: %s\n", map.status().message().c_str());
      return kExitUsage;
    }
    o.catch_map = std::move(*map);
    o.map_mode = a.full ? selfcheck::MapMode::kVerify : selfcheck::MapMode::kRestrict;
    std::fprintf(stderr, "selfcheck: catch map %s (%zu bugs), %s\n", map_file.c_str(),
                 o.catch_map->size(),
                 a.full ? "checked by a full run" : "each bug runs its mapped cases");
  }
  for (const auto& p : o.profiles) {
    std::fprintf(stderr, "selfcheck: profile %s%s\n", p.path.c_str(),
                 p.focus.empty() ? "" : (" @" + p.focus).c_str());
  }

  runner::CancelToken cancel;
  Result<selfcheck::Outcome> r = InternalError("not run");
  int sig = 0;
  {
    SigintCancel watcher(cancel);
    r = selfcheck::Run(o, cancel, [](const std::string& line) {
      std::fprintf(stderr, "selfcheck: %s\n", line.c_str());
      std::fflush(stderr);
    });
    sig = watcher.signal();
  }
  if (!r.ok()) {
    std::fprintf(stderr, "drahil selfcheck: %s\n", r.status().message().c_str());
    return r.status().code() == Code::kInvalidArgument ? kExitUsage : kExitInternal;
  }
  std::printf("%s", selfcheck::FormatTable(*r).c_str());
  std::fflush(stdout);
  if (!a.write_map.empty()) {
    if (r->interrupted) {
      std::fprintf(stderr, "drahil selfcheck: --write-map: not written: the run was interrupted\n");
      return kExitUsage;
    }
    if (Status s = AtomicWriteFile(a.write_map, selfcheck::WriteCatchMap(*r)); !s.ok()) {
      std::fprintf(stderr, "drahil selfcheck: --write-map: %s\n", s.message().c_str());
      return kExitInternal;
    }
    std::fprintf(stderr, "selfcheck: catch map written to %s\n", a.write_map.c_str());
  }
  if (!a.junit.empty() || !a.json.empty()) {
    reports::WriteOptions w;
    w.junit = a.junit;
    w.json = a.json;
    if (Status s = reports::WriteReports(selfcheck::ToReport(*r), w); !s.ok()) {
      std::fprintf(stderr, "drahil selfcheck: %s\n", s.message().c_str());
      return kExitInternal;
    }
  }
  if (sig != 0) return 128 + sig;
  return r->Passed() ? kExitOk : kExitTestFailures;
}

}  // namespace

void AddSelfcheckCommands(CLI::App& app, CliContext& ctx) {
  auto args = std::make_shared<Args>();
  auto* c = app.add_subcommand(
      "selfcheck",
      "Prove the catalog: run it against the reference driver (must pass), then once per planted "
      "bug "
      "(each must make a case fail); prints bug -> failing cases and the mutation score "
      "(exit 0 only at 100%)");
  c->add_option("--suite", args->suites,
                "Suite file or directory (repeatable; default: the catalog)");
  c->add_option(
      "--driver", args->drivers,
      "Reference-driver profile, a path or a name in <suites>/drivers, optionally @FOCUS-REGEX "
      "(repeatable; default: <suites>/drivers/selfcheck.plan, else every emulated reference-* "
      "profile)");
  c->add_option(
      "--plan", args->plan,
      "Plan file (\"<profile> [focus]\" lines), a path or a name in <suites>/drivers, e.g. "
      "selfcheck-foreign.plan for the reference driver under a foreign identity");
  c->add_option("--bugs", args->bugs,
                "Bugs to plant, comma-separated (default: all of --list-bugs)")
      ->delimiter(',');
  c->add_option("--parallel,-j", args->parallel, "Cases run at once within each run")
      ->check(CLI::Range(1, 64));
  c->add_option("--focus", args->focus,
                "Only cases matching (regex on id, suite/id, tags; repeatable)");
  c->add_option("--skip", args->skip, "Leave out cases matching (regex; repeatable)");
  c->add_flag("--slow", args->slow, "Also run cases tagged slow (soak variants)");
  c->add_flag("--first-catch", args->first_catch,
              "Per bug, stop at the first failing case (faster; the table lists fewer cases)");
  c->add_option("--map", args->map,
                "Catch map (\"<bug> <suite/id>...\" lines), a path or a name in <suites>/drivers "
                "(default: <suites>/drivers/selfcheck.map when present): each bug runs only the "
                "cases that caught it before, and every case when they no longer do");
  c->add_flag("--no-map", args->no_map, "Use no catch map: every bug runs every case");
  c->add_flag("--full", args->full,
              "Every bug runs every case; a catch map in use is checked (a mapped case that "
              "passes with its bug planted fails the selfcheck)");
  c->add_option("--write-map", args->write_map,
                "After a --full run, write the cases that caught each bug (the quickest 3) to "
                "this file");
  c->add_option("--seed", args->seed,
                "Pool order of the runs: \"random\" (a new seed each selfcheck), a number (repeat "
                "one) or \"none\" (pools by name)")
      ->capture_default_str();
  c->add_option("--junit", args->junit, "Write JUnit XML (clean cases + one case per bug)");
  c->add_option("--json", args->json, "Write the JSON report");
  c->add_option("--work-dir", args->work_dir,
                "Where case directories are created (default $TMPDIR)");
  c->callback([&ctx, args] { ctx.exit_code = DoSelfcheck(ctx, *args); });
}

}  // namespace drahil::cli
