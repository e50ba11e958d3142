#include "drahil/runner/engine.hpp"

#include <algorithm>
#include <fstream>
#include <regex>
#include <thread>

#include "drahil/core/file_util.hpp"
#include "drahil/core/strings.hpp"
#include "drahil/core/temp_dir.hpp"
#include "engine_internal.hpp"

namespace drahil::runner {

using reports::CaseResult;

// --- Engine ----------------------------------------------------------------------

namespace {
bool StepsNeedSetUp(const std::vector<Step>& steps) {
  for (const auto& s : steps) {
    if (s.kind == "eventually" || s.kind == "consistently") {
      if (StepsNeedSetUp(s.children)) return true;
    } else if (s.kind != "wait") {
      return true;
    }
  }
  return false;
}

// ReadFileTail(): the last max_bytes of path, with a note of what was left
// out before them; "" when the file is absent or empty.
std::string ReadFileTail(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  auto size = static_cast<size_t>(std::max<std::streamoff>(0, in.tellg()));
  size_t skip = size > max_bytes ? size - max_bytes : 0;
  in.seekg(static_cast<std::streamoff>(skip));
  std::string tail(size - skip, '\0');
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  tail.resize(static_cast<size_t>(std::max<std::streamsize>(0, in.gcount())));
  if (skip == 0) return tail;
  // Start at a line: the first one is cut.
  size_t nl = tail.find('\n');
  if (nl != std::string::npos && nl + 1 < tail.size()) tail.erase(0, nl + 1);
  return "[" + std::to_string(size - tail.size()) + " earlier bytes of driver.log not kept]\n" +
         tail;
}
}  // namespace

Result<FeatureGates> GatesForRun(const DriverProfile& profile, const std::string& version_flag,
                                 const std::string& gates_flag, std::vector<std::string>* notes) {
  KubeVersion version = KubeVersion::Newest();
  if (!version_flag.empty()) {
    auto v = KubeVersion::Parse(version_flag);
    if (!v.ok()) return InvalidArgumentError("--kubernetes-version: " + v.status().message());
    version = *v;
  } else if (!profile.kubernetes_version.empty()) {
    auto v = KubeVersion::Parse(profile.kubernetes_version);
    if (!v.ok())
      return InvalidArgumentError(profile.file + ": kubernetes.version: " + v.status().message());
    version = *v;
  }
  // The profile's gates were written for its own version. When
  // --kubernetes-version picks another one (a CI matrix over versions), a
  // profile gate that version does not have is left out with a note, as a
  // cluster admin would drop it from that version's flags; a gate given by
  // --feature-gates must exist.
  bool version_from_flag = !version_flag.empty();
  auto gates = FeatureGates::For(version);
  if (!gates.ok()) return gates.status();
  for (const auto& item : Split(profile.feature_gates, ',')) {
    std::string entry = Trim(item);
    if (entry.empty()) continue;
    std::string name = Trim(std::string_view(entry).substr(0, entry.find('=')));
    if (version_from_flag && !gates->Known(name)) {
      if (notes) {
        notes->push_back(profile.file + ": kubernetes.feature-gates: " + name +
                         " does not exist in Kubernetes " + version.ToString() +
                         "; left out for this run");
      }
      continue;
    }
    if (Status s = gates->SetFromString(entry); !s.ok())
      return InvalidArgumentError(profile.file + ": kubernetes.feature-gates: " + s.message());
  }
  if (Status s = gates->SetFromString(gates_flag); !s.ok())
    return InvalidArgumentError("--feature-gates: " + s.message());
  return gates;
}

bool NeedsSetUp(const Suite& suite, const Case& kase) {
  return !suite.fixtures.empty() || !kase.fixtures.empty() || !kase.requires_.devices.empty() ||
         StepsNeedSetUp(kase.steps);
}

std::map<std::string, std::string> CaseDirs::Placeholders() const {
  return {{"registry_dir", registry_dir},
          {"plugins_dir", plugins_dir},
          {"cdi_dir", cdi_dir},
          {"fake_root", node_root},
          {"state_dir", state_dir}};
}

Result<CaseDirs> PrepareCaseDirs(const std::string& root) {
  CaseDirs d;
  d.root = root;
  d.node_root = root + "/node";  // an emulated node is built into it
  d.registry_dir = root + "/kubelet/plugins_registry";
  d.plugins_dir = root + "/kubelet/plugins";
  d.cdi_dir = root + "/cdi";
  d.state_dir = root + "/state";
  d.logs_dir = root + "/logs";
  for (const auto* dir : {&d.root, &d.node_root, &d.registry_dir, &d.plugins_dir, &d.cdi_dir,
                          &d.state_dir, &d.logs_dir})
    DRAHIL_RETURN_IF_ERROR_CTX(MakeDirs(*dir, 0755), "case directory " + *dir);
  return d;
}

Engine::Engine(StepRegistry steps, EngineHooks hooks, RunOptions options)
    : steps_(std::move(steps)), hooks_(std::move(hooks)), options_(std::move(options)) {}

Result<std::vector<SelectedCase>> Engine::Select(const std::vector<Suite>& suites) const {
  std::vector<std::regex> focus, skip;
  try {
    for (const auto& f : options_.focus) focus.emplace_back(f);
    for (const auto& s : options_.skip) skip.emplace_back(s);
  } catch (const std::regex_error& e) {
    return InvalidArgumentError(std::string("--focus/--skip: bad regular expression: ") + e.what());
  }
  auto matches = [](const std::vector<std::regex>& res, const Suite& s, const Case& c) {
    for (const auto& re : res) {
      if (std::regex_search(c.id, re) || std::regex_search(s.name + "/" + c.id, re)) return true;
      for (const auto& t : c.tags)
        if (std::regex_search(t, re)) return true;
    }
    return false;
  };
  std::vector<SelectedCase> out;
  for (const auto& s : suites) {
    for (const auto& c : s.cases) {
      if (!focus.empty() && !matches(focus, s, c)) continue;
      if (matches(skip, s, c)) continue;
      out.push_back({&s, &c});
    }
  }
  return out;
}

namespace {

// DeviceNeeds(): the case's device requirements, plus one device of each
// partition shape its fixtures or steps select with {cel.shape.KIND.SHAPE}
// that no requirement names: a claim for a shape the node does not publish
// cannot be allocated, which says nothing about the driver.
std::vector<DeviceRequirement> DeviceNeeds(const Suite& suite, const Case& kase) {
  std::vector<DeviceRequirement> out = kase.requires_.devices;
  for (const auto& use : CasePlaceholders(suite, kase)) {
    auto parts = Split(use.name, '.');
    if (parts.size() != 4 || parts[0] != "cel" || parts[1] != "shape") continue;
    bool named = std::any_of(out.begin(), out.end(), [&](const DeviceRequirement& d) {
      return d.kind == parts[2] && d.shape == parts[3];
    });
    if (named) continue;
    DeviceRequirement d;
    d.kind = parts[2];
    d.shape = parts[3];
    out.push_back(std::move(d));
  }
  return out;
}

// Fits(): whether a published device can serve a requirement of a kind.
bool Fits(const DeviceRecord& rec, const DeviceRequirement& d) {
  if (!rec.kinds.count(d.kind)) return false;
  if (d.exclusive && rec.shareable) return false;
  return d.shape.empty() || rec.shapes.count(ShapeKey(d.kind, d.shape)) > 0;
}

}  // namespace

StepOutcome Engine::CheckRequires(const Suite& suite, const Case& kase, CaseContext* ctx) {
  const auto& req = kase.requires_;
  const auto& prof = options_.profile;
  const std::vector<DeviceRequirement> devices = DeviceNeeds(suite, kase);
  bool claimed_all = true;
  for (const auto& c : req.capabilities) {
    if (std::find(prof.capabilities.begin(), prof.capabilities.end(), c) ==
        prof.capabilities.end()) {
      claimed_all = false;
    }
  }
  if (!req.probe_backends.empty() && std::find(req.probe_backends.begin(), req.probe_backends.end(),
                                               prof.probe.backend) == req.probe_backends.end()) {
    std::string list;
    for (const auto& b : req.probe_backends) list += (list.empty() ? "" : ", ") + b;
    return StepOutcome::Skip("needs a probe backend among [" + list + "]; driver profile \"" +
                             prof.name + "\" uses \"" + prof.probe.backend + "\"");
  }
  // A feature gate that is off in the run's Kubernetes version: the feature
  // is not there in such a cluster, whatever the driver does.
  for (const auto& g : req.feature_gates) {
    if (options_.gates.Enabled(g)) continue;
    return StepOutcome::Skip("needs feature gate " + options_.gates.Describe(g) + "; " +
                             options_.gates.HowToEnable(g));
  }
  // A kind the profile's device model does not bind cannot be found in any
  // slice: the case skips before a node is started.
  for (const auto& d : devices) {
    if (d.name.empty() && !prof.devices.kinds.count(d.kind)) {
      return StepOutcome::Skip("needs a device of kind \"" + d.kind + "\"; driver profile \"" +
                               prof.name + "\" has no devices." + d.kind +
                               " (its device model binds the catalog's kinds)");
    }
  }
  if (claimed_all && devices.empty()) return StepOutcome::Pass();
  std::optional<Inventory> inv;
  {
    MutexLock l(inventory_mu_);
    // Before set-up (ctx == nullptr) only a cached inventory can decide; that
    // lets later cases skip without starting a node.
    if (ctx == nullptr && !inventory_) return StepOutcome::Pass();
    if (!inventory_ && hooks_.discover) {
      auto r = hooks_.discover(*ctx);
      if (!r.ok())
        return StepOutcome::Error("capability discovery failed: " + r.status().ToString(),
                                  "Discovery");
      inventory_ = *r;
    }
    inv = inventory_;
  }
  for (const auto& c : req.capabilities) {
    if (inv && inv->contradicted.count(c)) {
      return StepOutcome::Error("driver profile \"" + prof.name + "\" claims capability \"" + c +
                                    "\" but the driver does not offer it: nothing in " +
                                    inv->contradicted.at(c),
                                "ProfileClaim");
    }
    bool claimed =
        std::find(prof.capabilities.begin(), prof.capabilities.end(), c) != prof.capabilities.end();
    if (claimed || (inv && inv->capabilities.count(c))) continue;
    return StepOutcome::Skip("driver does not offer capability \"" + c +
                             "\" (not claimed by profile \"" + prof.name + "\"" +
                             (inv ? " nor discovered" : "") + ")");
  }
  if (!devices.empty() && !inv) {
    return StepOutcome::Error(
        "requires.devices needs capability discovery (driver registration and slices), "
        "which this drahil build cannot do yet",
        "MissingModule");
  }
  std::map<std::string, int> roles_of_kind;
  for (const auto& d : devices) {
    if (!d.name.empty()) {
      if (!inv->device_names.count(d.name)) {
        return StepOutcome::Skip(
            "needs device \"" + d.name + "\"; the driver publishes no device of that name (" +
            std::to_string(inv->device_names.size()) + " device(s) in its slices)");
      }
      continue;
    }
    if (!d.shape.empty()) {
      // A shape the profile does not declare is a profile key the case
      // needs (ProfileKeysNeeded() names it), not something to count.
      auto k = prof.devices.kinds.find(d.kind);
      if (k == prof.devices.kinds.end() || !k->second.shapes.count(d.shape)) continue;
    }
    int want = d.role.empty() ? d.count : ++roles_of_kind[d.kind];
    const auto& counts = d.exclusive ? inv->exclusive : inv->devices;
    int have = counts.count(d.kind) ? counts.at(d.kind) : 0;
    if (!d.shape.empty()) {  // shapes are per device: count the published devices that fit
      have = static_cast<int>(std::count_if(inv->device_list.begin(), inv->device_list.end(),
                                            [&](const DeviceRecord& rec) { return Fits(rec, d); }));
    }
    if (have < want && !d.shape.empty()) {
      std::string why;
      if (auto e = inv->shape_errors.find(ShapeKey(d.kind, d.shape)); e != inv->shape_errors.end())
        why = " (the shape's selector failed on " + e->second + ")";
      return StepOutcome::Skip("needs " + std::to_string(want) +
                               std::string(d.exclusive ? " exclusive" : "") +
                               " device(s) of kind \"" + d.kind + "\" with partition shape \"" +
                               d.shape + "\" (devices." + d.kind + ".shapes." + d.shape +
                               "); the driver publishes " + std::to_string(have) + why);
    }
    if (have < want) {
      if (d.exclusive) {
        int all = inv->devices.count(d.kind) ? inv->devices.at(d.kind) : 0;
        return StepOutcome::Skip(
            "needs " + std::to_string(want) + " exclusive device(s) of kind \"" + d.kind +
            "\" (one claim at a time); the driver publishes " + std::to_string(have) + " of its " +
            std::to_string(all) +
            " as exclusive, the rest allow multiple allocations (consumable capacity), "
            "where claims sharing a device is correct");
      }
      return StepOutcome::Skip("needs " + std::to_string(want) + " device(s) of kind \"" + d.kind +
                               "\"" + (d.role.empty() ? "" : " (for its roles)") +
                               "; the driver publishes " + std::to_string(have));
    }
  }
  if (ctx && inv) {
    ctx->inventory = std::make_shared<const Inventory>(*inv);
    return BindRoles(kase, *inv, *ctx);
  }
  return StepOutcome::Pass();
}

std::optional<Inventory> Engine::DiscoveredInventory() const {
  MutexLock l(inventory_mu_);
  return inventory_;
}

StepOutcome Engine::BindRoles(const Case& kase, const Inventory& inv, CaseContext& ctx) const {
  // Roles take devices from the end of the published order, so that claims
  // the case allocates without a pin (the allocator walks from the start)
  // do not land on them first; each role gets its own device.
  std::set<std::string> taken;
  for (const auto& d : kase.requires_.devices) {
    if (d.role.empty()) continue;
    const DeviceRecord* pick = nullptr;
    for (auto it = inv.device_list.rbegin(); it != inv.device_list.rend(); ++it) {
      if (!Fits(*it, d) || taken.count(it->name)) continue;
      if (!pick || (pick->tainted && !it->tainted)) pick = &*it;
      if (!pick->tainted) break;
    }
    if (!pick) {
      return StepOutcome::Skip(
          "no free device of kind \"" + d.kind + "\"" +
          (d.shape.empty() ? "" : " with partition shape \"" + d.shape + "\"") +
          " left for role \"" + d.role + "\"");
    }
    taken.insert(pick->name);
    ctx.roles[d.role] = *pick;
    ctx.Property("role." + d.role, pick->name);
  }
  return StepOutcome::Pass();
}

CaseResult Engine::RunOnce(const Suite& suite, const Case& kase, const CancelToken& cancel,
                           int attempt, bool& interrupted) {
  CaseResult r;
  r.id = kase.id;
  r.title = kase.title;
  r.feature = kase.feature;
  r.tags = kase.tags;
  interrupted = false;
  auto t0 = Clock::Real().Now();
  std::string logs_dir;  // where the full text of a long message goes (kept case dirs)
  auto finish = [&](const StepOutcome& o) {
    r.verdict = o.verdict;
    r.message = o.message;
    if (r.message.size() > kMaxMessageBytes) {
      std::string full_at;
      if (!logs_dir.empty() && AtomicWriteFile(logs_dir + "/message.txt", r.message).ok()) {
        full_at = logs_dir + "/message.txt";
      }
      r.message = CapMessage(std::move(r.message), kMaxMessageBytes, full_at);
    }
    r.type = o.type;
    r.duration_s = std::chrono::duration<double>(Clock::Real().Now() - t0).count();
    // A case the cancellation cut short (its driver calls were cancelled, its
    // waits woken) has no verdict of its own: it is left out of the report.
    interrupted =
        o.type == kInterrupted ||
        (cancel.cancelled() && (o.verdict == Verdict::kFail || o.verdict == Verdict::kError));
    return r;
  };

  StepOutcome pre = CheckRequires(suite, kase, nullptr);
  if (!pre.passed()) return finish(pre);
  {
    // Profile keys the case needs decide before a node is started; only the
    // role devices wait for discovery.
    std::string keys;
    for (const auto& k : ProfileKeysNeeded(suite, kase, options_.profile))
      keys += (keys.empty() ? "" : ", ") + k;
    if (!keys.empty())
      return finish(StepOutcome::Skip("driver profile \"" + options_.profile.name +
                                      "\" does not bind " + keys));
  }

  auto dir = TempDir::Create("drahil-case-", options_.work_dir);
  if (!dir.ok()) return finish(StepOutcome::FromStatus(dir.status(), "create case directory"));
  if (options_.keep_dirs) dir->Keep();
  // Marked as this run's: a run killed before it removes the directory
  // leaves it to the next one (RemoveAbandonedTempDirs()).
  (void)dir->MarkOwned();

  StepOutcome outcome;
  Status cleanup_status;
  {
    CaseContext ctx(suite, kase, options_.profile, cancel, attempt);
    ctx.seed = options_.seed.value_or(0);
    auto dirs = PrepareCaseDirs(dir->path());
    if (!dirs.ok())
      return finish(StepOutcome::FromStatus(dirs.status(), "create case directories"));
    ctx.dirs = *dirs;
    if (options_.keep_dirs) logs_dir = ctx.dirs.logs_dir;
    ctx.placeholders = ctx.dirs.Placeholders();
    ctx.placeholders.insert(
        {{"bin_dir", options_.bin_dir},
         {"lib_dir", options_.lib_dir.empty() ? options_.bin_dir + "/../lib" : options_.lib_dir},
         {"node_name", options_.node_name},
         {"driver_name", options_.profile.driver_name}});
    if (options_.keep_dirs) ctx.Property("case.dir", dir->path());
    try {
      // Cases that only wait need no node; skipping the set-up keeps them
      // fast and lets the engine be exercised without any driver.
      if (hooks_.set_up_case && NeedsSetUp(suite, kase)) outcome = hooks_.set_up_case(ctx);
      if (outcome.passed()) outcome = CheckRequires(suite, kase, &ctx);
      // The case as this driver sees it: placeholders bound to the profile
      // and to the devices its roles got.
      RenderedCase rendered = RenderCase(suite, kase, Binding{&options_.profile, ctx.roles});
      if (outcome.passed() && !rendered.missing.empty()) {
        std::string keys;
        for (const auto& k : rendered.missing) keys += (keys.empty() ? "" : ", ") + k;
        outcome = StepOutcome::Skip("driver profile \"" + options_.profile.name +
                                    "\" does not bind " + keys);
      }
      const std::vector<Manifest>& fixtures = rendered.fixtures;
      if (outcome.passed() && !fixtures.empty()) {
        Step apply;
        apply.kind = "apply";
        apply.name = "fixtures";
        apply.manifests = fixtures;
        apply.where = kase.where;
        outcome = steps_.RunSteps({apply}, ctx);
      }
      if (outcome.passed()) outcome = steps_.RunSteps(rendered.steps, ctx);
    } catch (const std::exception& e) {
      outcome = StepOutcome::Error(std::string("internal error: ") + e.what());
    }
    if (hooks_.explain_failure &&
        (outcome.verdict == Verdict::kFail || outcome.verdict == Verdict::kError)) {
      std::string why = hooks_.explain_failure(ctx);
      if (!why.empty()) outcome.message += "\n" + why;
    }
    cleanup_status = ctx.cleanup.RunAll();
    // The end of the driver's log (the driver has stopped by now), bounded;
    // more of it when the case went wrong.
    if (!ctx.dirs.logs_dir.empty()) {
      r.driver_log = ReadFileTail(ctx.dirs.logs_dir + "/driver.log",
                                  outcome.passed() || outcome.verdict == Verdict::kSkip
                                      ? reports::kDriverLogTailBytes
                                      : reports::kDriverLogTailBytesFailed);
    }
    r.calls = ctx.Calls();
    r.measurements = ctx.Measurements();
    r.properties = ctx.Properties();
  }
  if (!cleanup_status.ok()) {
    if (outcome.passed() || outcome.verdict == Verdict::kSkip) {
      outcome = StepOutcome::Error(cleanup_status.message(), "CleanupFailed");
    } else {
      outcome.message += "\n" + cleanup_status.message();
    }
  }
  return finish(outcome);
}

CaseResult Engine::RunCase(const Suite& suite, const Case& kase, const CancelToken& cancel,
                           bool& interrupted) {
  int n = std::max(1, options_.repeat);
  CaseResult first = RunOnce(suite, kase, cancel, 1, interrupted);
  if (n == 1 || interrupted || first.verdict == Verdict::kSkip) return first;
  std::vector<CaseResult> runs = {first};
  for (int a = 2; a <= n; ++a) {
    runs.push_back(RunOnce(suite, kase, cancel, a, interrupted));
    if (interrupted) return runs.back();
  }
  CaseResult out = runs.front();
  int bad = 0;
  const CaseResult* first_bad = nullptr;
  double total = 0;
  for (const auto& r : runs) {
    out.attempts.push_back({r.verdict, r.message, r.duration_s});
    total += r.duration_s;
    if (r.verdict == Verdict::kFail || r.verdict == Verdict::kError) {
      ++bad;
      if (first_bad == nullptr) first_bad = &r;
    }
  }
  out.duration_s = total;
  if (first_bad != nullptr) {
    // Report the failing attempt's log: that is what the vendor must read.
    out.calls = first_bad->calls;
    out.measurements = first_bad->measurements;
    out.verdict = first_bad->verdict;
    out.type = first_bad->type;
    out.message = first_bad->message;
  }
  if (bad > 0 && bad < n) {
    // A driver that fails only sometimes is broken: flaky is a Fail.
    out.flaky = true;
    out.verdict = Verdict::kFail;
    out.type = "Flaky";
    out.message = "flaky: " + std::to_string(bad) + " of " + std::to_string(n) +
                  " attempts did not pass; first: " + first_bad->message;
  } else if (bad == n && n > 1) {
    out.message =
        "all " + std::to_string(n) + " attempts did not pass; first: " + first_bad->message;
  }
  return out;
}

Result<reports::RunReport> Engine::Run(const std::vector<Suite>& suites, CancelToken& cancel,
                                       ProgressSink* progress) {
  DRAHIL_ASSIGN_OR_RETURN(auto selected, Select(suites));
  reports::RunReport report;
  report.driver_name = options_.profile.driver_name;
  report.driver_version = options_.profile.version;
  report.node = options_.node_name;
  report.hardware = options_.hardware;
  report.claimed = options_.profile.capabilities;
  report.kubernetes_version = options_.gates.version().ToString();
  report.feature_gates = options_.gates.Overrides();
  report.seed = options_.seed;
  report.started = Clock::Real().WallNow();
  auto t0 = Clock::Real().Now();

  Mutex mu;  // guards results, started_at, progress and stop_reason
  std::vector<std::optional<CaseResult>> results(selected.size());
  std::vector<std::chrono::system_clock::time_point> started_at(selected.size());
  std::atomic<size_t> next{0};
  std::atomic<bool> stop_new{false};
  std::string stop_reason;
  if (progress) progress->OnStart(static_cast<int>(selected.size()));

  auto worker = [&] {
    for (;;) {
      if (cancel.cancelled() || stop_new.load()) return;
      size_t i = next.fetch_add(1);
      if (i >= selected.size()) return;
      const Suite& s = *selected[i].suite;
      const Case& c = *selected[i].kase;
      {
        MutexLock l(mu);
        started_at[i] = Clock::Real().WallNow();
        if (progress) progress->OnCaseStarted(s, c, 1);
      }
      bool interrupted = false;
      CaseResult r = RunCase(s, c, cancel, interrupted);
      MutexLock l(mu);
      if (interrupted) continue;  // unfinished cases stay out of the report
      if (progress) progress->OnCaseFinished(s, r);
      if (options_.fail_fast && (r.verdict == Verdict::kFail || r.verdict == Verdict::kError) &&
          !stop_new.exchange(true)) {
        stop_reason = "--fail-fast after " + s.name + "/" + c.id;
      }
      results[i] = std::move(r);
    }
  };
  int n = std::clamp(options_.parallel, 1, 64);
  if (n == 1) {
    worker();
  } else {
    std::vector<std::thread> threads;
    for (int t = 0; t < n; ++t) threads.emplace_back(worker);
    for (auto& t : threads) t.join();
  }

  std::map<const Suite*, size_t> suite_index;
  for (size_t i = 0; i < selected.size(); ++i) {
    if (!results[i]) continue;
    const Suite* s = selected[i].suite;
    auto it = suite_index.find(s);
    if (it == suite_index.end()) {
      reports::SuiteResult sr;
      sr.name = s->name;
      sr.file = s->file;
      sr.timestamp = started_at[i];
      it = suite_index.emplace(s, report.suites.size()).first;
      report.suites.push_back(std::move(sr));
    }
    auto& sr = report.suites[it->second];
    sr.duration_s += results[i]->duration_s;
    sr.cases.push_back(std::move(*results[i]));
  }
  size_t finished = 0;
  for (const auto& s : report.suites) finished += s.cases.size();
  if (cancel.cancelled()) {
    report.partial = true;
    report.interruption = cancel.reason();
  } else if (finished < selected.size()) {
    report.partial = true;
    report.interruption = stop_reason.empty() ? "stopped early" : stop_reason;
  }
  report.duration_s = std::chrono::duration<double>(Clock::Real().Now() - t0).count();
  if (progress) progress->OnEnd(report);
  return report;
}

}  // namespace drahil::runner
