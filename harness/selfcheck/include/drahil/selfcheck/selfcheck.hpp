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

struct Options {
  std::vector<std::string> suites;       // suite files or directories
  std::vector<ProfilePlan> profiles;     // reference-driver profiles, run in order
  std::vector<std::string> bugs;         // names to plant; empty = every bug ListBugs() reports
  std::string refdriver;                 // drahil-refdriver, for ListBugs()
  int parallel = 1;                      // cases at once within each run
  std::vector<std::string> focus, skip;  // as `drahil run --focus/--skip`
  bool first_catch = false;       // per bug, stop once one case failed (faster, shorter table)
  std::string bin_dir;            // {bin_dir}: refdriver, probes
  std::string lib_dir;            // {lib_dir}; "" = <bin_dir>/../lib
  std::string node_profiles_dir;  // fakes/profiles
  std::string work_dir;           // parent of case dirs; "" = $TMPDIR
};

// Failure: one case that did not pass in a run.
struct Failure {
  std::string profile;  // driver profile name
  std::string case_id;  // "suite/id"
  reports::Verdict verdict = reports::Verdict::kFail;
  std::string message;
};

struct ProfileRun {
  std::string profile;  // profile name
  std::string bug;      // "" for the clean run
  reports::RunReport report;
};

struct BugResult {
  Bug bug;
  std::vector<Failure> failures;  // empty = not caught
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
  bool interrupted = false;

  [[nodiscard]] int caught() const;
  [[nodiscard]] int planted() const { return static_cast<int>(bugs.size()); }
  // Score(): caught / planted in percent (100 when nothing was planted).
  [[nodiscard]] double Score() const;
  // Passed(): clean runs without failures, every planted bug caught, not interrupted.
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

// ToReport(): a RunReport for the JUnit/JSON writers: the clean runs' cases
// plus a "mutation" suite with one case per bug (pass = caught).
reports::RunReport ToReport(const Outcome& outcome);

}  // namespace drahil::selfcheck

#endif  // DRAHIL_SELFCHECK_SELFCHECK_HPP_INCLUDED
