// File: selfcheck.hpp
//
// Selfcheck: proves the catalog catches real driver bugs. It runs the
// catalog against the reference driver (drahil-refdriver) on each reference
// driver profile — every case must pass or skip — and then once more per
// planted bug, with `--bug NAME` appended to the driver's arguments, and
// records which cases fail. The mutation score is caught / planted; a bug
// that makes no case fail is a hole in the catalog.
//
//   selfcheck::Options o;
//   o.suites = {"suites"};
//   o.profiles = {"suites/drivers/reference-gpu-emulated.yaml"};
//   o.refdriver = bin_dir + "/drahil-refdriver";
//   o.bin_dir = bin_dir;
//   o.node_profiles_dir = "fakes/profiles";
//   runner::CancelToken cancel;
//   auto r = selfcheck::Run(o, cancel, [](const std::string& line) { ... });
//   std::puts(selfcheck::FormatTable(*r).c_str());
//   exit(r->Passed() ? 0 : 1);
//
// A catch map (suites/drivers/selfcheck.map, written by a full run with
// WriteCatchMap()) names, per bug, the cases that caught it. With a map in
// kRestrict mode each bug runs only its mapped cases, so a selfcheck costs
// the clean runs plus a few cases per bug; a bug the map does not name, or
// whose mapped cases are all outside the selection, runs every selected case.
// In kVerify mode (a full run) every bug runs every case and a mapped case
// that ran and did not catch its bug fails the selfcheck: the map is stale.
//
// The runs go through the runner library (drahil::runner) in this process:
// the same engine, step handlers and integration as `drahil run`.
//
// Thread-safety: Run() is not reentrant-safe for the same work_dir; the
// progress callback is called from the calling thread or a runner worker,
// serialised. Timeouts: each case is bounded by the suite's case timeout;
// ListBugs() waits at most 10 s for the refdriver.
#ifndef DRAHIL_SELFCHECK_SELFCHECK_HPP_INCLUDED
#define DRAHIL_SELFCHECK_SELFCHECK_HPP_INCLUDED

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "drahil/core/status.hpp"
#include "drahil/reports/model.hpp"
#include "drahil/runner/engine.hpp"

namespace drahil::selfcheck {

struct Bug {
  std::string name;
  std::string description;
};

// ListBugs(): runs `<refdriver> --list-bugs` ("name<TAB>description" lines).
Result<std::vector<Bug>> ListBugs(const std::string& refdriver);

// ProfilePlan: one reference-driver profile and the cases run against it.
// focus (ECMAScript regex on id, suite/id or a tag; "" = every case) keeps
// variant profiles (consumable capacity, a dense node) to the cases that
// need them, so the catalog is not run four times over.
struct ProfilePlan {
  std::string path;
  std::string focus;
};

// ParsePlan(): "<profile> [focus-regex]" lines; '#' starts a comment.
// Profiles without '/' are names in profiles_dir (<name>.yaml).
Result<std::vector<ProfilePlan>> ParsePlan(const std::string& text,
                                           const std::string& profiles_dir);

// CatchMap: bug name -> the cases ("suite/id") that caught it.
using CatchMap = std::map<std::string, std::vector<std::string>>;

// ParseCatchMap(): "<bug> <suite/id>..." lines; '#' starts a comment. Errors
// (kInvalidArgument) name `source` and the line: a bug without cases, a
// case that is not "suite/id", a bug named twice.
Result<CatchMap> ParseCatchMap(const std::string& text, const std::string& source);

enum class MapMode {
  kRestrict,  // each bug runs only its mapped cases (when any is selected)
  kVerify,    // every bug runs every case; stale map entries fail the selfcheck
};

struct Options {
  std::vector<std::string> suites;       // suite files or directories
  std::vector<ProfilePlan> profiles;     // reference-driver profiles, run in order
  std::vector<std::string> bugs;         // names to plant; empty = every bug ListBugs() reports
  std::string refdriver;                 // drahil-refdriver, for ListBugs()
  int parallel = 1;                      // cases at once within each run
  std::vector<std::string> focus, skip;  // as `drahil run --focus/--skip`
  bool first_catch = false;           // per bug, stop once one case failed (faster, shorter table)
  std::string bin_dir;                // {bin_dir}: refdriver, probes
  std::string lib_dir;                // {lib_dir}; "" = <bin_dir>/../lib
  std::string node_profiles_dir;      // fakes/profiles
  std::string work_dir;               // parent of case dirs; "" = $TMPDIR
  std::optional<CatchMap> catch_map;  // none: every bug runs every selected case
  MapMode map_mode = MapMode::kRestrict;
  // The pool order of every run (runner::ParseSeed(): `drahil selfcheck
  // --seed`, a new one per selfcheck by default); unset = by name.
  std::optional<uint64_t> seed;
};

// Failure: one case that did not pass in a run.
struct Failure {
  std::string profile;  // driver profile name
  std::string case_id;  // "suite/id"
  reports::Verdict verdict = reports::Verdict::kFail;
  std::string message;
  double duration_s = 0;
};

struct ProfileRun {
  std::string profile;  // profile name
  std::string bug;      // "" for the clean run
  reports::RunReport report;
};

struct BugResult {
  Bug bug;
  std::vector<Failure> failures;    // empty = not caught
  std::vector<std::string> passed;  // cases ("suite/id") that passed with the bug planted
  bool restricted = false;          // ran only the cases the catch map names
  int cases_run = 0;                // cases that ran (any verdict but skip), all profiles
  double duration_s = 0;
  [[nodiscard]] bool caught() const { return !failures.empty(); }
};

struct Outcome {
  std::vector<ProfileRun> clean;        // one per profile
  std::vector<Failure> clean_failures;  // must be empty
  int clean_passed = 0, clean_skipped = 0;
  std::vector<BugResult> bugs;
  double clean_duration_s = 0;
  double duration_s = 0;
  std::optional<uint64_t> seed;  // Options::seed
  bool interrupted = false;
  // Catch-map findings: a mapped case that ran with its bug planted, passed
  // and failed on no profile. Errors in kVerify mode (they fail Passed()),
  // notes in kRestrict mode; bugs a full run caught that the map lacks are
  // notes in both.
  std::vector<std::string> map_errors, map_notes;

  [[nodiscard]] int caught() const;
  [[nodiscard]] int planted() const { return static_cast<int>(bugs.size()); }
  // Score(): caught / planted in percent (100 when nothing was planted).
  [[nodiscard]] double Score() const;
  // Passed(): clean runs without failures, every planted bug caught, no
  // map error, not interrupted.
  [[nodiscard]] bool Passed() const;
};

// Failures(): the cases of a report that failed or errored.
std::vector<Failure> Failures(const reports::RunReport& report, const std::string& profile);

// MutantProfile(): the profile with `--bug=NAME` appended to its arguments
// and "+NAME" appended to its name.
runner::DriverProfile MutantProfile(const runner::DriverProfile& profile, const std::string& bug);

// Run(): the clean runs, then one set of runs per bug. Suites and profiles
// are loaded first (errors are kInvalidArgument naming the file). An
// unknown bug name is kInvalidArgument. progress gets one line per finished
// run (may be null).
Result<Outcome> Run(const Options& options, runner::CancelToken& cancel,
                    const std::function<void(const std::string&)>& progress = nullptr);

// FormatTable(): the human summary: clean result, bug → failing cases, score.
std::string FormatTable(const Outcome& outcome);

// WriteCatchMap(): the catch map text from an outcome: for each caught bug,
// up to per_bug of the cases that caught it, the quickest first, under a
// header saying how it was made.
std::string WriteCatchMap(const Outcome& outcome, size_t per_bug = 3);

// ToReport(): a RunReport for the JUnit/JSON writers: the clean runs' cases
// plus a "mutation" suite with one case per bug (pass = caught).
reports::RunReport ToReport(const Outcome& outcome);

}  // namespace drahil::selfcheck

#endif  // DRAHIL_SELFCHECK_SELFCHECK_HPP_INCLUDED
