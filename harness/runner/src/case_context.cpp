// What a case's steps run with: outcomes, the cancel token, the cleanup
// tracker and the case context (engine.hpp).
#include <algorithm>

#include "drahil/runner/engine.hpp"

namespace drahil::runner {

StepOutcome StepOutcome::FromStatus(const Status& s, const std::string& what) {
  if (s.ok()) return Pass();
  return Error(what + ": " + s.ToString());
}

// --- CancelToken ------------------------------------------------------------

void CancelToken::Cancel(const std::string& reason) {
  std::map<int, std::function<void(const std::string&)>> hooks;
  {
    MutexLock l(mu_);
    if (cancelled_.load()) return;
    reason_ = reason;
    cancelled_.store(true);
    hooks.swap(on_cancel_);
  }
  cv_.notify_all();
  for (auto& [handle, f] : hooks) f(reason);
}

int CancelToken::OnCancel(std::function<void(const std::string&)> f) const {
  std::string reason;
  {
    MutexLock l(mu_);
    if (!cancelled_.load()) {
      int handle = next_handle_++;
      on_cancel_.emplace(handle, std::move(f));
      return handle;
    }
    reason = reason_;
  }
  f(reason);
  return 0;
}

void CancelToken::RemoveOnCancel(int handle) const {
  MutexLock l(mu_);
  on_cancel_.erase(handle);
}

std::string CancelToken::reason() const {
  MutexLock l(mu_);
  return reason_;
}

bool CancelToken::WaitUntil(Clock::TimePoint t) const {
  MutexLock l(mu_);
  // Clock::TimePoint is steady_clock-based, so wait_until is monotonic.
  cv_.wait_until(l, std::chrono::time_point_cast<std::chrono::steady_clock::duration>(t),
                 [&] { return cancelled_.load(); });
  return !cancelled_.load() && Clock::Real().Now() >= t;
}

// --- CapMessage ---------------------------------------------------------------

std::string CapMessage(std::string text, size_t max_bytes, const std::string& full_text_at) {
  if (text.size() <= max_bytes) return text;
  size_t cut = max_bytes;
  // Never split a UTF-8 sequence: back up to the start of one.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  size_t more = text.size() - cut;
  text.resize(cut);
  text += "\u2026 (" + std::to_string(more) + " more bytes" +
          (full_text_at.empty() ? "" : "; full text in " + full_text_at) + ")";
  return text;
}

// --- CleanupTracker ---------------------------------------------------------

CleanupTracker::~CleanupTracker() { (void)RunAll(); }

int CleanupTracker::Add(std::string what, Action action) {
  MutexLock l(mu_);
  int id = next_id_++;
  entries_.push_back({id, std::move(what), std::move(action)});
  return id;
}

void CleanupTracker::Dismiss(int handle) {
  MutexLock l(mu_);
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [&](const Entry& e) { return e.id == handle; }),
                 entries_.end());
}

void CleanupTracker::MoveInto(CleanupTracker& other) {
  std::vector<Entry> moved;
  {
    MutexLock l(mu_);
    moved.swap(entries_);
  }
  for (auto& e : moved) other.Add(std::move(e.what), std::move(e.action));
}

size_t CleanupTracker::pending() const {
  MutexLock l(mu_);
  return entries_.size();
}

Status CleanupTracker::RunAll() noexcept {
  std::string errors;
  for (;;) {
    Entry e;
    {
      MutexLock l(mu_);
      if (entries_.empty()) break;
      e = std::move(entries_.back());
      entries_.pop_back();
    }
    // The lock is released while an action runs: an action may register or
    // dismiss others (e.g. stopping a driver dismisses its socket cleanup).
    Status s;
    try {
      s = e.action ? e.action() : OkStatus();
    } catch (const std::exception& ex) {
      s = InternalError(std::string("threw: ") + ex.what());
    } catch (...) {
      s = InternalError("threw a non-exception");
    }
    if (!s.ok()) errors += (errors.empty() ? "" : "; ") + e.what + ": " + s.ToString();
  }
  if (!errors.empty()) return InternalError("cleanup: " + errors);
  return OkStatus();
}

// --- CaseContext --------------------------------------------------------------

CaseContext::CaseContext(const Suite& s, const Case& k, const DriverProfile& p,
                         const CancelToken& c, int a)
    : suite(s), kase(k), profile(p), cancel(c), attempt(a) {
  started = Clock::Real().Now();
  case_deadline = started + (k.timeout ? *k.timeout : s.case_timeout);
  step_deadline = case_deadline;
}

Clock::Duration CaseContext::Remaining() const {
  auto now = Clock::Real().Now();
  return now >= step_deadline ? Clock::Duration(0) : step_deadline - now;
}

bool CaseContext::Sleep(Clock::Duration d) const {
  auto target = Clock::Real().Now() + d;
  auto until = std::min(target, step_deadline);
  bool reached = cancel.WaitUntil(until);
  return reached && until == target;
}

double CaseContext::ElapsedSeconds() const {
  return std::chrono::duration<double>(Clock::Real().Now() - started).count();
}

void CaseContext::Record(std::string kind, std::string method, std::string code, double duration_ms,
                         std::string detail) {
  MutexLock l(mu_);
  calls_.push_back({ElapsedSeconds(), std::move(kind), std::move(method), std::move(code),
                    duration_ms, CapMessage(std::move(detail), kMaxMessageBytes)});
}

void CaseContext::Note(std::string text) { Record("note", "", "", 0, std::move(text)); }

void CaseContext::Measure(reports::Measurement m) {
  MutexLock l(mu_);
  measurements_.push_back(std::move(m));
}

void CaseContext::SetNode(std::shared_ptr<node::NodeEnv> node) {
  MutexLock l(slots_mu_);
  node_ = std::move(node);
}

std::shared_ptr<node::NodeEnv> CaseContext::Node() const {
  MutexLock l(slots_mu_);
  return node_;
}

void CaseContext::SetDriver(std::shared_ptr<DriverProcess> driver) {
  MutexLock l(slots_mu_);
  driver_ = std::move(driver);
}

std::shared_ptr<DriverProcess> CaseContext::Driver() const {
  MutexLock l(slots_mu_);
  return driver_;
}

void CaseContext::Hold(std::shared_ptr<void> resource) {
  MutexLock l(slots_mu_);
  held_.push_back(std::move(resource));
}

void CaseContext::Property(std::string name, std::string value) {
  MutexLock l(mu_);
  properties_.emplace_back(std::move(name), std::move(value));
}

std::vector<reports::CallRecord> CaseContext::Calls() const {
  MutexLock l(mu_);
  return calls_;
}
std::vector<reports::Measurement> CaseContext::Measurements() const {
  MutexLock l(mu_);
  return measurements_;
}
reports::Properties CaseContext::Properties() const {
  MutexLock l(mu_);
  return properties_;
}

}  // namespace drahil::runner
