// File: engine.hpp
//
// The step engine: runs the cases of loaded suites and produces a
// reports::RunReport.
//
//   runner::StepRegistry steps = runner::StepRegistry::WithBuiltins();
//   steps.Register("prepare", std::make_shared<MyPrepareStep>(...));  // modules plug in here
//   runner::Engine engine(std::move(steps), hooks, options);
//   runner::CancelToken cancel;                      // Cancel() from a signal thread
//   reports::RunReport report = engine.Run(suites, cancel, &progress);
//
// Per case the engine: checks `requires` (unmet → Skip with the reason),
// creates a fresh directory tree (node root, registry, plugins, CDI, state),
// calls hooks.set_up_case (start API server, kubelet, driver...), applies the
// suite's and the case's fixtures through the "apply" step, runs the steps in
// order with per-step deadlines, and always runs the case's CleanupTracker,
// even when a step failed or the run was cancelled.
//
// A step kind without a handler ends its case with verdict Error naming the
// missing module; the engine never invents a Pass.
//
// Timeouts are cooperative: handlers get ctx.step_deadline and must bound
// every wait by it (ctx.Sleep() and ctx.Remaining() help). A step that
// returns after its deadline is a Fail ("StepTimeout"), whatever it returned.
//
// Thread-safety: Engine::Run() may run cases on --parallel worker threads;
// each case has its own CaseContext. Handlers must be safe to call from
// several threads at once (for different contexts). ProgressSink calls are
// serialised by the engine.
#ifndef DRAHIL_RUNNER_ENGINE_HPP_INCLUDED
#define DRAHIL_RUNNER_ENGINE_HPP_INCLUDED

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "drahil/core/clock.hpp"
#include "drahil/core/feature_gates.hpp"
#include "drahil/core/mutex.hpp"
#include "drahil/core/status.hpp"
#include "drahil/reports/model.hpp"
#include "drahil/runner/binding.hpp"
#include "drahil/runner/suite.hpp"

namespace drahil::node {
struct NodeEnv;  // the node side's per-case environment (harness/node)
}  // namespace drahil::node

namespace drahil::runner {

class DriverProcess;
using reports::Verdict;

// A case's failure message and a call record's detail are cut to this many
// bytes in the reports (a driver's reply can be megabytes).
inline constexpr size_t kMaxMessageBytes = 4096;
// CapMessage(): text cut to max_bytes (at a UTF-8 boundary) plus
// "… (N more bytes)", naming full_text_at when given; shorter text unchanged.
std::string CapMessage(std::string text, size_t max_bytes, const std::string& full_text_at = "");

// StepOutcome: what one step (or case set-up) concluded.
struct StepOutcome {
  Verdict verdict = Verdict::kPass;
  std::string message;
  std::string type;  // JUnit failure/error type, e.g. "GrpcCodeMismatch"

  static StepOutcome Pass() { return {}; }
  static StepOutcome Fail(std::string message, std::string type = "ContractViolation") {
    return {Verdict::kFail, std::move(message), std::move(type)};
  }
  static StepOutcome Error(std::string message, std::string type = "HarnessError") {
    return {Verdict::kError, std::move(message), std::move(type)};
  }
  static StepOutcome Skip(std::string message) { return {Verdict::kSkip, std::move(message), ""}; }
  // FromStatus(): OK → Pass; otherwise Error (the harness could not do its job).
  static StepOutcome FromStatus(const Status& s, const std::string& what);
  [[nodiscard]] bool passed() const { return verdict == Verdict::kPass; }
};

// CancelToken: set once (SIGINT/SIGTERM, --fail-fast); wakes every waiter.
// Thread-safe.
class CancelToken {
 public:
  void Cancel(const std::string& reason) DRAHIL_EXCLUDES(mu_);
  [[nodiscard]] bool cancelled() const { return cancelled_.load(); }
  [[nodiscard]] std::string reason() const DRAHIL_EXCLUDES(mu_);
  // WaitUntil(): blocks until t or cancellation; true if t was reached uncancelled.
  bool WaitUntil(Clock::TimePoint t) const DRAHIL_EXCLUDES(mu_);
  // OnCancel(): f(reason) runs once, on the cancelling thread, when Cancel()
  // is called (at once when it already was), e.g. to cut short a gRPC call.
  // f must not block. Returns a handle for RemoveOnCancel().
  int OnCancel(std::function<void(const std::string&)> f) const DRAHIL_EXCLUDES(mu_);
  void RemoveOnCancel(int handle) const DRAHIL_EXCLUDES(mu_);

 private:
  std::atomic<bool> cancelled_{false};  // set once, under mu_; read without it
  mutable Mutex mu_;
  mutable CondVar cv_;
  std::string reason_ DRAHIL_GUARDED_BY(mu_);
  mutable std::map<int, std::function<void(const std::string&)>> on_cancel_ DRAHIL_GUARDED_BY(mu_);
  mutable int next_handle_ DRAHIL_GUARDED_BY(mu_) = 1;
};

// CleanupTracker: undo actions for everything a case created, run in reverse
// order of registration. RunAll() runs every action even after a failure and
// is idempotent; the destructor calls it, so cleanup happens on every path.
// Thread-safe.
class CleanupTracker {
 public:
  using Action = std::function<Status()>;
  CleanupTracker() = default;
  CleanupTracker(const CleanupTracker&) = delete;
  CleanupTracker& operator=(const CleanupTracker&) = delete;
  ~CleanupTracker();

  // Add(): returns a handle for Dismiss() (when the thing was removed normally).
  int Add(std::string what, Action action) DRAHIL_EXCLUDES(mu_);
  void Dismiss(int handle) DRAHIL_EXCLUDES(mu_);
  // MoveInto(): hands every pending action to other (which then runs them
  // after its own earlier ones); this tracker is left empty.
  void MoveInto(CleanupTracker& other) DRAHIL_EXCLUDES(mu_);
  // RunAll(): runs pending actions LIFO; exceptions from an action become errors.
  // The error lists each action that failed ("cleanup: stop driver: ...").
  // The lock is not held while an action runs (an action may Add or Dismiss).
  Status RunAll() noexcept DRAHIL_EXCLUDES(mu_);
  [[nodiscard]] size_t pending() const DRAHIL_EXCLUDES(mu_);

 private:
  struct Entry {
    int id;
    std::string what;
    Action action;
  };
  mutable Mutex mu_;
  std::vector<Entry> entries_ DRAHIL_GUARDED_BY(mu_);
  int next_id_ DRAHIL_GUARDED_BY(mu_) = 1;
};

// CaseDirs: where one case's node lives on disk (PrepareCaseDirs() lays it out
// under root). Set once before the case's steps run; read-only after.
struct CaseDirs {
  std::string root;          // the case directory ("" = none made yet)
  std::string node_root;     // the emulated node's root; starts empty
  std::string registry_dir;  // the kubelet's plugin registration directory
  std::string plugins_dir;   // where drivers put their DRA service sockets
  std::string cdi_dir;       // the CDI spec directory drivers write to
  std::string state_dir;     // kubelet state, kubeconfig
  std::string logs_dir;      // driver log and the full text of long messages
  // Placeholders(): the driver-profile placeholders the directories fill in
  // ({registry_dir}, {plugins_dir}, {cdi_dir}, {fake_root}, {state_dir}).
  [[nodiscard]] std::map<std::string, std::string> Placeholders() const;
};

// CaseContext: everything a step handler may use while one case runs.
class CaseContext {
 public:
  CaseContext(const Suite& suite, const Case& kase, const DriverProfile& profile,
              const CancelToken& cancel, int attempt);

  const Suite& suite;
  const Case& kase;
  const DriverProfile& profile;
  const CancelToken& cancel;
  const int attempt;  // 1-based (--repeat)
  // The run's seed (RunOptions::seed). DrawDelay() mixes it with the suite,
  // case, attempt and a step's place, so every draw is reproducible.
  uint64_t seed = 0;

  // Directories, fresh per case (a shared node's outlive it).
  CaseDirs dirs;
  // Placeholders(): the values for a driver profile's {placeholders}.
  // Integration hooks add "kubeconfig" and "node_name" when they start the
  // API server; "bin_dir" is the directory of the running drahil.
  std::map<std::string, std::string> placeholders;
  CleanupTracker cleanup;
  // The case's node side and driver process, typed. Each pointer is behind
  // the context's own lock (slots_mu_); the objects guard their own state.
  // Set by the set-up hook (a shared node hands the same ones to each case).
  void SetNode(std::shared_ptr<node::NodeEnv> node) DRAHIL_EXCLUDES(slots_mu_);
  [[nodiscard]] std::shared_ptr<node::NodeEnv> Node() const DRAHIL_EXCLUDES(slots_mu_);
  void SetDriver(std::shared_ptr<DriverProcess> driver) DRAHIL_EXCLUDES(slots_mu_);
  [[nodiscard]] std::shared_ptr<DriverProcess> Driver() const DRAHIL_EXCLUDES(slots_mu_);
  // Hold(): keeps a resource (e.g. a shared node's lease) until the context goes.
  void Hold(std::shared_ptr<void> resource) DRAHIL_EXCLUDES(slots_mu_);
  // roles: the devices bound to the case's roles (requires.devices[].role),
  // distinct, chosen from discovery before the fixtures are rendered.
  std::map<std::string, DeviceRecord> roles;
  // inventory: what discovery found (null before discovery ran).
  std::shared_ptr<const struct Inventory> inventory;

  Clock::TimePoint started;
  Clock::TimePoint case_deadline;
  Clock::TimePoint step_deadline;

  // Remaining(): time left before the current step's deadline (0 when past).
  [[nodiscard]] Clock::Duration Remaining() const;
  // Sleep(): waits d, cut short by the step deadline or cancellation; returns
  // true only when the full d passed.
  bool Sleep(Clock::Duration d) const;
  [[nodiscard]] double ElapsedSeconds() const;

  // Call log and measurements (thread-safe: handlers may log from helpers).
  void Record(std::string kind, std::string method, std::string code, double duration_ms,
              std::string detail = "") DRAHIL_EXCLUDES(mu_);
  void Note(std::string text) DRAHIL_EXCLUDES(mu_);
  void Measure(reports::Measurement m) DRAHIL_EXCLUDES(mu_);
  void Property(std::string name, std::string value) DRAHIL_EXCLUDES(mu_);
  [[nodiscard]] std::vector<reports::CallRecord> Calls() const DRAHIL_EXCLUDES(mu_);
  [[nodiscard]] std::vector<reports::Measurement> Measurements() const DRAHIL_EXCLUDES(mu_);
  [[nodiscard]] reports::Properties Properties() const DRAHIL_EXCLUDES(mu_);

 private:
  mutable Mutex slots_mu_;
  std::shared_ptr<node::NodeEnv> node_ DRAHIL_GUARDED_BY(slots_mu_);
  std::shared_ptr<DriverProcess> driver_ DRAHIL_GUARDED_BY(slots_mu_);
  std::vector<std::shared_ptr<void>> held_ DRAHIL_GUARDED_BY(slots_mu_);
  mutable Mutex mu_;
  std::vector<reports::CallRecord> calls_ DRAHIL_GUARDED_BY(mu_);
  std::vector<reports::Measurement> measurements_ DRAHIL_GUARDED_BY(mu_);
  reports::Properties properties_ DRAHIL_GUARDED_BY(mu_);
};

// StepHandler: one implementation per step kind.
class StepHandler {
 public:
  virtual ~StepHandler() = default;
  // Run(): must return by ctx.step_deadline (bounded waits only) and must
  // register an undo action in ctx.cleanup for anything it creates.
  virtual StepOutcome Run(const Step& step, CaseContext& ctx) = 0;
};

class StepRegistry {
 public:
  // WithBuiltins(): wait, eventually and consistently, plus for every other
  // kind a handler that ends the case with Error naming the missing module.
  static StepRegistry WithBuiltins();

  void Register(const std::string& kind, std::shared_ptr<StepHandler> handler);
  // RegisterMissing(): kind needs `module` which this build lacks.
  void RegisterMissing(const std::string& kind, const std::string& module);
  [[nodiscard]] StepHandler* Find(const std::string& kind) const;
  // Run(): dispatches to the handler; unknown kinds are an Error.
  StepOutcome Run(const Step& step, CaseContext& ctx) const;
  // RunSteps(): runs steps in order with per-step deadlines (each bounded by
  // the case deadline); stops at the first step that does not pass. The
  // eventually/consistently handlers call it for their children.
  StepOutcome RunSteps(const std::vector<Step>& steps, CaseContext& ctx) const;

 private:
  std::map<std::string, std::shared_ptr<StepHandler>> handlers_;
};

// Inventory: what capability discovery found (driver registration + slices).
struct Inventory {
  std::map<std::string, int> devices;     // abstract kind (profile device model) → count
  std::map<std::string, int> exclusive;   // the same, counting devices that are not shareable
  std::set<std::string> device_names;     // every published device's name
  std::vector<DeviceRecord> device_list;  // every published device, in slice order
  std::set<std::string> capabilities;
  std::set<std::string> probe_backends;  // usable on this machine
  // Capabilities the profile claims that the driver's registration or slices
  // contradict, with where that shows; cases requiring them end in Error.
  std::map<std::string, std::string> contradicted;
  // A shape selector that failed to evaluate on a device (ShapeKey() →
  // the first device and error): such a device has no shape, and a case
  // that skips for want of the shape says why.
  std::map<std::string, std::string> shape_errors;
};

struct EngineHooks {
  // set_up_case: after the directories exist, before fixtures, for cases
  // that need the node (NeedsSetUp()). Starts what the case needs and
  // registers its cleanup. Unset: nothing is started.
  std::function<StepOutcome(CaseContext&)> set_up_case;
  // discover: called (once per run, after set_up_case of the first case that
  // needs it) when a case requires devices or capabilities the profile does
  // not claim. Unset: such cases end with Error naming what is missing.
  std::function<Result<Inventory>(CaseContext&)> discover;
  // explain_failure: called when a case failed or erred, before its
  // cleanup; a non-empty answer is appended to the case's message (the
  // node side names the fields the API server dropped because a feature
  // gate was off). Unset: nothing is added.
  std::function<std::string(CaseContext&)> explain_failure;
};

struct RunOptions {
  DriverProfile profile;
  int parallel = 1;
  std::vector<std::string> focus;  // ECMAScript regexes on id, "suite/id" and tags
  std::vector<std::string> skip;
  int repeat = 1;
  bool fail_fast = false;
  std::string work_dir;    // parent of per-case dirs; "" = $TMPDIR
  bool keep_dirs = false;  // leave case dirs behind (debugging)
  std::string bin_dir;     // for {bin_dir}
  std::string lib_dir;     // for {lib_dir}; "" = <bin_dir>/../lib
  std::string node_name = "drahil-node";
  std::string hardware;  // for the report
  // The Kubernetes version the stand-ins behave as and its feature gates:
  // cases whose requires.feature-gates are off Skip; recorded in the report.
  FeatureGates gates = FeatureGates::Newest();
  // --seed: the run's seed, as CaseContext::seed (0 when unset): what a case
  // draws at random (a chaos kill's delay) comes from it; the node side
  // shuffles the scheduler stand-in's pool order with the same value
  // (IntegrationOptions::allocator_seed). Recorded in the report.
  std::optional<uint64_t> seed;
};

// ProgressSink: told about the run as it goes. Calls are serialised.
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void OnStart(int total_cases) = 0;
  virtual void OnCaseStarted(const Suite& suite, const Case& kase, int attempt) = 0;
  virtual void OnCaseFinished(const Suite& suite, const reports::CaseResult& result) = 0;
  virtual void OnEnd(const reports::RunReport& report) = 0;
};

struct SelectedCase {
  const Suite* suite;
  const Case* kase;
};

class Engine {
 public:
  Engine(StepRegistry steps, EngineHooks hooks, RunOptions options);

  // Select(): the cases that pass --focus/--skip, in suite order. Fails on a
  // bad regex. The result points into `suites`, which must outlive it.
  Result<std::vector<SelectedCase>> Select(const std::vector<Suite>& suites) const;

  // Run(): runs the selected cases. On cancellation (or --fail-fast after a
  // failure) no new case starts, running cases are told to stop, and the
  // report holds only cases that finished, with partial = true.
  // Never throws.
  Result<reports::RunReport> Run(const std::vector<Suite>& suites, CancelToken& cancel,
                                 ProgressSink* progress = nullptr);

  // DiscoveredInventory(): what capability discovery found during Run();
  // nullopt when no case needed discovery.
  [[nodiscard]] std::optional<Inventory> DiscoveredInventory() const DRAHIL_EXCLUDES(inventory_mu_);

 private:
  reports::CaseResult RunOnce(const Suite& suite, const Case& kase, const CancelToken& cancel,
                              int attempt, bool& interrupted);
  reports::CaseResult RunCase(const Suite& suite, const Case& kase, const CancelToken& cancel,
                              bool& interrupted);
  StepOutcome CheckRequires(const Suite& suite, const Case& kase, CaseContext* ctx)
      DRAHIL_EXCLUDES(inventory_mu_);
  // BindRoles(): one distinct device per role from the inventory.
  StepOutcome BindRoles(const Case& kase, const Inventory& inv, CaseContext& ctx) const;

  StepRegistry steps_;
  EngineHooks hooks_;
  RunOptions options_;
  // Discovery runs once per run, under inventory_mu_: cases that need it
  // wait for the first one's result.
  mutable Mutex inventory_mu_;
  std::optional<Inventory> inventory_ DRAHIL_GUARDED_BY(inventory_mu_);
};

// GatesForRun(): the run's Kubernetes version and feature gates: version is
// --kubernetes-version, else the profile's kubernetes.version, else the
// newest; the profile's kubernetes.feature-gates apply first, then
// --feature-gates (which win). When --kubernetes-version chose the version,
// a profile gate that version does not have is left out and a line saying
// so goes to *notes (when given). Errors name the flag or the profile.
Result<FeatureGates> GatesForRun(const DriverProfile& profile, const std::string& version_flag,
                                 const std::string& gates_flag,
                                 std::vector<std::string>* notes = nullptr);

// NeedsSetUp(): whether a case touches the node (fixtures, device
// requirements, or any step but wait); the engine calls set_up_case only then.
bool NeedsSetUp(const Suite& suite, const Case& kase);

// PrepareCaseDirs(): creates the per-case directory layout under root and
// returns what CaseContext::dirs holds.
Result<CaseDirs> PrepareCaseDirs(const std::string& root);

}  // namespace drahil::runner

#endif  // DRAHIL_RUNNER_ENGINE_HPP_INCLUDED
