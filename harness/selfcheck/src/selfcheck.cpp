#include "drahil/selfcheck/selfcheck.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "drahil/core/child_process.hpp"
#include "drahil/node/node.hpp"
#include "drahil/runner/integration.hpp"
#include "drahil/runner/suite.hpp"

namespace drahil::selfcheck {
namespace {

using reports::Verdict;
using SteadyClock = std::chrono::steady_clock;

double Since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

// OneLine(): the first line of a message, cut to n characters, for the table.
std::string OneLine(const std::string& s, size_t n) {
  std::string line = s.substr(0, s.find('\n'));
  if (line.size() > n) line = line.substr(0, n - 3) + "...";
  return line;
}

// WordLines(): the words of each line of a plan or catch-map text, with
// the line's number; '#' starts a comment, lines without words are left out.
std::vector<std::pair<int, std::vector<std::string>>> WordLines(const std::string& text) {
  std::vector<std::pair<int, std::vector<std::string>>> out;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string word; words >> word;) w.push_back(std::move(word));
    if (!w.empty()) out.emplace_back(n, std::move(w));
  }
  return out;
}

// Selected(): whether a case matches a plan's focus the way --focus matches
// (id, suite/id or any tag).
bool Selected(const std::regex& re, const runner::Suite& s, const runner::Case& c) {
  if (std::regex_search(c.id, re) || std::regex_search(s.name + "/" + c.id, re)) return true;
  return std::any_of(c.tags.begin(), c.tags.end(),
                     [&](const std::string& t) { return std::regex_search(t, re); });
}

bool IsRefdriver(const runner::DriverProfile& p) {
  return p.command.find("drahil-refdriver") != std::string::npos;
}

// RunOne(): one engine run of the loaded suites against one profile.
Result<reports::RunReport> RunOne(const Options& o, const std::vector<runner::Suite>& suites,
                                  const runner::DriverProfile& profile, bool fail_fast,
                                  runner::CancelToken& cancel) {
  runner::RunOptions ro;
  ro.profile = profile;
  ro.parallel = std::max(1, o.parallel);
  ro.focus = o.focus;
  ro.skip = o.skip;
  ro.fail_fast = fail_fast;
  ro.work_dir = o.work_dir;
  ro.bin_dir = o.bin_dir;
  ro.lib_dir = o.lib_dir;
  ro.hardware = profile.node_profile.empty() ? "real" : "emulated: " + profile.node_profile;
  ro.seed = o.seed;
  runner::IntegrationOptions integ;
  integ.allocator_seed = o.seed;
  integ.bin_dir = o.bin_dir;
  integ.node_profiles_dir = o.node_profiles_dir;
  // The planted bugs fail for good, not transiently: a short pod-sync
  // backoff keeps a mutant's failing run-pod from waiting 10 s per retry.
  integ.pod_sync_backoff = std::chrono::seconds(1);
  runner::StepRegistry steps = runner::StepRegistry::WithBuiltins();
  runner::EngineHooks hooks;
  node::Install(steps, hooks, integ);
  runner::Engine engine(std::move(steps), hooks, ro);
  // --fail-fast cancels through a token of its own, so a mutant run that
  // stops early does not cancel the whole selfcheck.
  runner::CancelToken local;
  std::thread relay;
  std::atomic<bool> done{false};
  relay = std::thread([&] {
    while (!done.load()) {
      if (cancel.cancelled()) {
        local.Cancel(cancel.reason());
        return;
      }
      cancel.WaitUntil(Clock::Real().Now() + std::chrono::milliseconds(100));
    }
  });
  auto report = engine.Run(suites, local);
  done.store(true);
  relay.join();
  return report;
}

}  // namespace

Result<std::vector<Bug>> ListBugs(const std::string& refdriver) {
  auto out = RunCommand({refdriver, "--list-bugs"}, std::chrono::seconds(10));
  if (!out.ok()) return out.status().WithContext("run " + refdriver + " --list-bugs");
  if (!out->exit.success()) {
    return FailedPreconditionError(refdriver + " --list-bugs: " + out->exit.Describe() + ": " +
                                   OneLine(out->output, 200));
  }
  std::vector<Bug> bugs;
  std::istringstream in(out->output);
  std::string line;
  while (std::getline(in, line)) {
    auto tab = line.find('\t');
    if (tab == std::string::npos || tab == 0) continue;
    bugs.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  if (bugs.empty()) return FailedPreconditionError(refdriver + " --list-bugs listed no bugs");
  return bugs;
}

Result<std::vector<ProfilePlan>> ParsePlan(const std::string& text,
                                           const std::string& profiles_dir) {
  std::vector<ProfilePlan> out;
  for (const auto& [n, words] : WordLines(text)) {
    const std::string& name = words[0];
    std::string focus = words.size() > 1 ? words[1] : "";
    if (words.size() > 2)
      return InvalidArgumentError("plan line " + std::to_string(n) +
                                  ": expected \"<profile> [focus-regex]\"");
    if (!focus.empty()) {
      try {
        std::regex re(focus);
      } catch (const std::regex_error& e) {
        return InvalidArgumentError("plan line " + std::to_string(n) + ": bad regex \"" + focus +
                                    "\": " + e.what());
      }
    }
    bool path = name.find('/') != std::string::npos || name.ends_with(".yaml");
    out.push_back({path ? name : profiles_dir + "/" + name + ".yaml", focus});
  }
  if (out.empty()) return InvalidArgumentError("plan names no profile");
  return out;
}

int Outcome::caught() const {
  return static_cast<int>(
      std::count_if(bugs.begin(), bugs.end(), [](const BugResult& b) { return b.caught(); }));
}

double Outcome::Score() const { return bugs.empty() ? 100.0 : 100.0 * caught() / planted(); }

bool Outcome::Passed() const {
  return !interrupted && clean_failures.empty() && caught() == planted() && map_errors.empty();
}

Result<CatchMap> ParseCatchMap(const std::string& text, const std::string& source) {
  CatchMap out;
  for (const auto& [n, words] : WordLines(text)) {
    const std::string& bug = words[0];
    std::string where = source + ":" + std::to_string(n) + ": bug " + bug + ": ";
    if (out.count(bug)) return InvalidArgumentError(where + "named twice");
    std::vector<std::string> cases(words.begin() + 1, words.end());
    for (const auto& id : cases) {
      auto slash = id.find('/');
      if (slash == std::string::npos || slash == 0 || slash + 1 == id.size() ||
          id.find('/', slash + 1) != std::string::npos)
        return InvalidArgumentError(where + "case \"" + id + "\" is not suite/id");
    }
    if (cases.empty()) return InvalidArgumentError(where + "names no case");
    out[bug] = std::move(cases);
  }
  return out;
}

std::vector<Failure> Failures(const reports::RunReport& report, const std::string& profile) {
  std::vector<Failure> out;
  for (const auto& s : report.suites)
    for (const auto& c : s.cases)
      if (c.verdict == Verdict::kFail || c.verdict == Verdict::kError)
        out.push_back({profile, s.name + "/" + c.id, c.verdict, c.message, c.duration_s});
  return out;
}

runner::DriverProfile MutantProfile(const runner::DriverProfile& profile, const std::string& bug) {
  runner::DriverProfile p = profile;
  p.args.push_back("--bug=" + bug);
  p.name += "+" + bug;
  return p;
}

namespace {

// FocusSuites(): the suites cut to the cases a plan's focus selects (all
// when it has none).
Result<std::vector<runner::Suite>> FocusSuites(std::vector<runner::Suite> cut,
                                               const ProfilePlan& plan) {
  if (plan.focus.empty()) return cut;
  std::regex re;
  try {
    re = std::regex(plan.focus);
  } catch (const std::regex_error& e) {
    return InvalidArgumentError("selfcheck: profile " + plan.path + ": bad focus \"" + plan.focus +
                                "\": " + e.what());
  }
  for (auto& s : cut) {
    std::vector<runner::Case> keep;
    for (auto& c : s.cases)
      if (Selected(re, s, c)) keep.push_back(std::move(c));
    s.cases = std::move(keep);
  }
  return cut;
}

// LoadPlanProfile(): a plan's driver profile, which must run the reference
// driver.
Result<runner::DriverProfile> LoadPlanProfile(const ProfilePlan& plan) {
  auto p = runner::LoadDriverProfileFile(plan.path);
  if (!p.ok()) return InvalidArgumentError("selfcheck: driver profile: " + p.status().message());
  if (!IsRefdriver(*p)) {
    return InvalidArgumentError("selfcheck: profile " + plan.path +
                                " does not run drahil-refdriver (command \"" + p->command +
                                "\"); planted bugs exist only in the reference driver");
  }
  return p;
}

// SelectBugs(): the bugs to plant: those named (each must be known to the
// reference driver), or all it knows.
Result<std::vector<Bug>> SelectBugs(const Options& o) {
  DRAHIL_ASSIGN_OR_RETURN(std::vector<Bug> known, ListBugs(o.refdriver));
  if (o.bugs.empty()) return known;
  std::vector<Bug> bugs;
  for (const auto& name : o.bugs) {
    auto it =
        std::find_if(known.begin(), known.end(), [&](const Bug& b) { return b.name == name; });
    if (it == known.end()) {
      std::string list;
      for (const auto& b : known) list += (list.empty() ? "" : ", ") + b.name;
      return InvalidArgumentError("selfcheck: unknown bug \"" + name + "\" (known: " + list + ")");
    }
    bugs.push_back(*it);
  }
  return bugs;
}

// The profiles a selfcheck runs, each with the suites cut to its focus.
struct Plans {
  std::vector<runner::DriverProfile> profiles;
  std::vector<std::vector<runner::Suite>> selected;  // per profile
};

Result<Plans> LoadPlans(const Options& o, const std::vector<runner::Suite>& suites) {
  Plans plans;
  for (const auto& plan : o.profiles) {
    DRAHIL_ASSIGN_OR_RETURN(runner::DriverProfile p, LoadPlanProfile(plan));
    plans.profiles.push_back(std::move(p));
    DRAHIL_ASSIGN_OR_RETURN(std::vector<runner::Suite> cut, FocusSuites(suites, plan));
    plans.selected.push_back(std::move(cut));
  }
  return plans;
}

// RunClean(): every profile without a bug, into `out`, until cancelled.
Status RunClean(const Options& o, const Plans& plans, runner::CancelToken& cancel,
                const std::function<void(const std::string&)>& say, Outcome* out) {
  for (size_t i = 0; i < plans.profiles.size(); ++i) {
    const auto& p = plans.profiles[i];
    auto t = SteadyClock::now();
    auto r = RunOne(o, plans.selected[i], p, false, cancel);
    if (!r.ok()) return r.status().WithContext("selfcheck: clean run of " + p.name);
    auto counts = reports::CountRun(*r);
    out->clean_passed += counts.passed;
    out->clean_skipped += counts.skipped;
    for (auto& f : Failures(*r, p.name)) out->clean_failures.push_back(std::move(f));
    out->interrupted = out->interrupted || r->partial;
    say("clean " + p.name + ": " + reports::SummaryLine(*r) + " (" + Fixed(Since(t), 1) + "s)");
    out->clean.push_back({p.name, "", std::move(*r)});
    if (cancel.cancelled()) break;
  }
  return OkStatus();
}

// KeepCases(): the suites cut to the cases whose "suite/id" is in `ids`.
std::vector<runner::Suite> KeepCases(const std::vector<runner::Suite>& suites,
                                     const std::set<std::string>& ids) {
  std::vector<runner::Suite> out;
  for (const auto& s : suites) {
    runner::Suite cut = s;
    cut.cases.clear();
    for (const auto& c : s.cases)
      if (ids.count(s.name + "/" + c.id)) cut.cases.push_back(c);
    if (!cut.cases.empty()) out.push_back(std::move(cut));
  }
  return out;
}

// RunProfiles(): the bug planted in every profile, each with its own cut of
// the suites (an empty cut is not run), until the bug is caught (with
// --first-catch) or the run is cancelled.
Status RunProfiles(const Options& o, const Plans& plans,
                   const std::vector<std::vector<runner::Suite>>& cuts, const Bug& bug,
                   runner::CancelToken& cancel, BugResult* br) {
  for (size_t i = 0; i < plans.profiles.size(); ++i) {
    const auto& p = plans.profiles[i];
    if (cancel.cancelled()) break;
    if (cuts[i].empty()) continue;
    auto r = RunOne(o, cuts[i], MutantProfile(p, bug.name), o.first_catch, cancel);
    if (!r.ok())
      return r.status().WithContext("selfcheck: run of " + p.name + " with bug " + bug.name);
    for (const auto& s : r->suites) {
      for (const auto& c : s.cases) {
        if (c.verdict != Verdict::kSkip) ++br->cases_run;
        if (c.verdict == Verdict::kPass) br->passed.push_back(s.name + "/" + c.id);
      }
    }
    for (auto& f : Failures(*r, p.name)) br->failures.push_back(std::move(f));
    if (o.first_catch && br->caught()) break;
  }
  return OkStatus();
}

// RunMutant(): the bug planted in every profile. With a catch map in
// kRestrict mode that names the bug, only its mapped cases run first; when
// none of them ran or none caught the bug, every selected case runs, so the
// verdict is the one a full run gives.
Result<BugResult> RunMutant(const Options& o, const Plans& plans, const Bug& bug,
                            runner::CancelToken& cancel,
                            const std::function<void(const std::string&)>& say) {
  BugResult br;
  br.bug = bug;
  auto tb = SteadyClock::now();
  const std::vector<std::string>* mapped = nullptr;
  if (o.catch_map && o.map_mode == MapMode::kRestrict) {
    auto it = o.catch_map->find(bug.name);
    if (it != o.catch_map->end()) mapped = &it->second;
  }
  if (mapped != nullptr) {
    std::set<std::string> ids(mapped->begin(), mapped->end());
    std::vector<std::vector<runner::Suite>> cuts;
    for (const auto& sel : plans.selected) cuts.push_back(KeepCases(sel, ids));
    if (std::any_of(cuts.begin(), cuts.end(), [](const auto& c) { return !c.empty(); })) {
      br.restricted = true;
      DRAHIL_RETURN_IF_ERROR(RunProfiles(o, plans, cuts, bug, cancel, &br));
      if ((br.caught() || cancel.cancelled()) && br.cases_run > 0) {
        br.duration_s = Since(tb);
        return br;
      }
      say("bug " + bug.name + ": " +
          (br.cases_run == 0 ? "no mapped case ran" : "the mapped cases did not catch it") +
          "; running every case");
    }
    br.restricted = false;
  }
  br.cases_run = 0;
  br.failures.clear();
  // `passed` keeps what the mapped cases showed, for the map check.
  DRAHIL_RETURN_IF_ERROR(RunProfiles(o, plans, plans.selected, bug, cancel, &br));
  br.duration_s = Since(tb);
  return br;
}

// CheckMap(): compares a bug's result with its catch-map entry.
void CheckMap(const Options& o, const BugResult& br, Outcome* out) {
  if (!o.catch_map) return;
  auto it = o.catch_map->find(br.bug.name);
  std::set<std::string> failed;
  for (const auto& f : br.failures) failed.insert(f.case_id);
  if (it == o.catch_map->end()) {
    if (br.caught())
      out->map_notes.push_back("bug " + br.bug.name +
                               " is not in the catch map; every case ran for it");
    return;
  }
  // With --first-catch a full run stops early, so a mapped case may not
  // have run: only a case that passed counts against the map.
  std::set<std::string> passed(br.passed.begin(), br.passed.end());
  for (const auto& id : it->second) {
    if (!passed.count(id) || failed.count(id)) continue;
    std::string msg = "bug " + br.bug.name + ": mapped case " + id +
                      " passed with the bug planted (the map is stale: rewrite it with "
                      "--full --write-map)";
    if (o.map_mode == MapMode::kVerify)
      out->map_errors.push_back(msg);
    else
      out->map_notes.push_back(msg);
  }
}

}  // namespace

Result<Outcome> Run(const Options& o, runner::CancelToken& cancel,
                    const std::function<void(const std::string&)>& progress) {
  auto say = [&](const std::string& s) {
    if (progress) progress(s);
  };
  if (o.profiles.empty()) return InvalidArgumentError("selfcheck: no driver profile given");
  auto suites = runner::LoadSuites(o.suites);
  if (!suites.ok()) return InvalidArgumentError("selfcheck: " + suites.status().message());
  DRAHIL_ASSIGN_OR_RETURN(Plans plans, LoadPlans(o, *suites));
  DRAHIL_ASSIGN_OR_RETURN(std::vector<Bug> bugs, SelectBugs(o));

  Outcome out;
  out.seed = o.seed;
  auto t0 = SteadyClock::now();
  DRAHIL_RETURN_IF_ERROR(RunClean(o, plans, cancel, say, &out));
  out.clean_duration_s = Since(t0);

  for (const auto& bug : bugs) {
    if (cancel.cancelled()) break;
    DRAHIL_ASSIGN_OR_RETURN(BugResult br, RunMutant(o, plans, bug, cancel, say));
    say("bug " + bug.name + ": " +
        (br.caught() ? "caught by " + std::to_string(br.failures.size()) + " case(s)"
                     : "NOT caught") +
        " of " + std::to_string(br.cases_run) + (br.restricted ? " mapped" : "") + " (" +
        Fixed(br.duration_s, 1) + "s)");
    CheckMap(o, br, &out);
    out.bugs.push_back(std::move(br));
  }
  out.interrupted = out.interrupted || cancel.cancelled();
  out.duration_s = Since(t0);
  return out;
}

std::string FormatTable(const Outcome& o) {
  std::ostringstream s;
  s << "Clean runs (reference driver, no bug): " << o.clean_passed << " passed, " << o.clean_skipped
    << " skipped, " << o.clean_failures.size() << " failed/errored in "
    << Fixed(o.clean_duration_s, 1) << "s"
    << (o.seed ? " (seed " + std::to_string(*o.seed) + ")" : std::string()) << "\n";
  for (const auto& f : o.clean_failures) {
    s << "  " << reports::VerdictName(f.verdict) << " [" << f.profile << "] " << f.case_id << ": "
      << OneLine(f.message, 160) << "\n";
  }
  size_t width = 4;
  for (const auto& b : o.bugs) width = std::max(width, b.bug.name.size());
  s << "\nPlanted bug" << std::string(width > 11 ? width - 11 : 0, ' ') << "  caught by\n";
  for (const auto& b : o.bugs) {
    s << b.bug.name << std::string(width - b.bug.name.size(), ' ') << "  ";
    if (!b.caught()) {
      s << "NOT CAUGHT (" << b.bug.description << ")\n";
      continue;
    }
    // One line per bug: the failing cases, each once, with the profile when
    // more than one profile ran.
    std::set<std::string> seen;
    std::string list;
    for (const auto& f : b.failures) {
      std::string name = (o.clean.size() > 1 ? f.profile + ":" : "") + f.case_id;
      if (!seen.insert(name).second) continue;
      list += (list.empty() ? "" : ", ") + name;
    }
    s << list << "\n";
  }
  if (!o.map_errors.empty() || !o.map_notes.empty()) s << "\nCatch map:\n";
  for (const auto& e : o.map_errors) s << "  ERROR " << e << "\n";
  for (const auto& n : o.map_notes) s << "  note: " << n << "\n";
  int restricted = 0, cases = 0;
  for (const auto& b : o.bugs) {
    restricted += b.restricted ? 1 : 0;
    cases += b.cases_run;
  }
  if (restricted > 0) {
    s << "\n"
      << restricted << " of " << o.bugs.size() << " bugs ran only the cases of the catch map ("
      << cases << " mutant cases in all)\n";
  }
  s << "\nMutation score: " << o.caught() << "/" << o.planted() << " (" << Fixed(o.Score(), 1)
    << "%)";
  if (o.interrupted) s << " - interrupted, incomplete";
  s << "\nSelfcheck " << (o.Passed() ? "PASSED" : "FAILED") << " in " << Fixed(o.duration_s, 1)
    << "s\n";
  return s.str();
}

std::string WriteCatchMap(const Outcome& o, size_t per_bug) {
  std::set<std::string> profiles;
  for (const auto& run : o.clean) profiles.insert(run.profile);
  std::string list;
  for (const auto& p : profiles) list += (list.empty() ? "" : ", ") + p;
  std::ostringstream s;
  s << "# drahil selfcheck catch map: <bug> <suite/case-id>...\n"
    << "# The cases that caught each planted bug, the quickest first, at most " << per_bug
    << " per bug.\n"
    << "# Written by `drahil selfcheck --full --write-map` (profiles: " << list << ").\n"
    << "# A selfcheck with this map runs each bug's cases only; `--full` checks it.\n";
  std::vector<const BugResult*> bugs;
  for (const auto& b : o.bugs)
    if (b.caught()) bugs.push_back(&b);
  std::sort(bugs.begin(), bugs.end(),
            [](const BugResult* a, const BugResult* b) { return a->bug.name < b->bug.name; });
  for (const BugResult* b : bugs) {
    std::map<std::string, double> quickest;  // case -> shortest failing run
    for (const auto& f : b->failures) {
      auto [it, fresh] = quickest.emplace(f.case_id, f.duration_s);
      if (!fresh) it->second = std::min(it->second, f.duration_s);
    }
    std::vector<std::pair<double, std::string>> order;
    for (const auto& [id, d] : quickest) order.emplace_back(d, id);
    std::sort(order.begin(), order.end());
    s << b->bug.name;
    for (size_t i = 0; i < order.size() && i < per_bug; ++i) s << " " << order[i].second;
    s << "\n";
  }
  return s.str();
}

reports::RunReport ToReport(const Outcome& o) {
  reports::RunReport r;
  r.driver_name = "drahil-refdriver";
  r.hardware = "emulated";
  r.duration_s = o.duration_s;
  r.partial = o.interrupted;
  r.seed = o.seed;
  for (const auto& run : o.clean) {
    if (r.started == std::chrono::system_clock::time_point{}) r.started = run.report.started;
    for (auto s : run.report.suites) {
      s.name = run.profile + "/" + s.name;
      r.suites.push_back(std::move(s));
    }
  }
  reports::SuiteResult m;
  m.name = "mutation";
  for (const auto& b : o.bugs) {
    reports::CaseResult c;
    c.id = b.bug.name;
    c.title = b.bug.description;
    c.feature = "mutation";
    c.tags = {"selfcheck"};
    c.duration_s = b.duration_s;
    m.duration_s += b.duration_s;
    if (b.caught()) {
      std::set<std::string> seen;
      for (const auto& f : b.failures) {
        if (!seen.insert(f.profile + ":" + f.case_id).second) continue;
        c.output += f.profile + ":" + f.case_id + ": " + OneLine(f.message, 300) + "\n";
      }
    } else {
      c.verdict = Verdict::kFail;
      c.type = "BugNotCaught";
      c.message = "no case of the catalog failed with planted bug " + b.bug.name + " (" +
                  b.bug.description + ")";
    }
    m.cases.push_back(std::move(c));
  }
  if (!o.map_errors.empty()) {
    reports::CaseResult c;
    c.id = "catch-map";
    c.title = "The catch map's cases still catch their bugs";
    c.feature = "mutation";
    c.tags = {"selfcheck"};
    c.verdict = Verdict::kFail;
    c.type = "StaleCatchMap";
    for (const auto& e : o.map_errors) c.message += (c.message.empty() ? "" : "\n") + e;
    m.cases.push_back(std::move(c));
  }
  r.suites.push_back(std::move(m));
  return r;
}

}  // namespace drahil::selfcheck
