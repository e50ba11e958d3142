#include "drahil/runner/progress.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace drahil::runner {

ConsoleProgress::ConsoleProgress(std::FILE* out, bool live) : out_(out), live_(live) {}

ConsoleProgress::~ConsoleProgress() { StopTicker(); }

std::unique_ptr<ConsoleProgress> ConsoleProgress::ForStream(std::FILE* out) {
  const char* term = std::getenv("TERM");
  bool tty = ::isatty(::fileno(out)) == 1 && !(term != nullptr && std::strcmp(term, "dumb") == 0);
  return std::make_unique<ConsoleProgress>(out, tty);
}

void ConsoleProgress::StopTicker() {
  {
    MutexLock l(mu_);
    ended_ = true;
  }
  cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

void ConsoleProgress::OnStart(int total_cases) {
  MutexLock l(mu_);
  total_ = total_cases;
  t0_ = Clock::Real().Now();
  if (!live_) {
    std::fprintf(out_, "running %d case(s)\n", total_cases);
    std::fflush(out_);
    return;
  }
  DrawLocked();
  // The elapsed time keeps moving while a long case runs.
  ticker_ = std::thread([this] {
    MutexLock lk(mu_);
    while (!ended_) {
      cv_.wait_for(lk, std::chrono::seconds(1));
      if (!ended_) DrawLocked();
    }
  });
}

void ConsoleProgress::OnCaseStarted(const Suite& suite, const Case& kase, int attempt) {
  MutexLock l(mu_);
  running_.insert(kase.id);
  if (live_) DrawLocked();
}

void ConsoleProgress::DrawLocked() {
  double el = std::chrono::duration<double>(Clock::Real().Now() - t0_).count();
  std::string run = running_.empty() ? "" : "  running: " + *running_.begin();
  if (running_.size() > 1) run += " +" + std::to_string(running_.size() - 1);
  if (run.size() > 60) run = run.substr(0, 57) + "...";
  std::fprintf(out_, "\r\033[K[%d/%d] %d pass %d fail %d error %d skip  %.1fs%s", done_, total_,
               counts_.passed, counts_.failures, counts_.errors, counts_.skipped, el, run.c_str());
  std::fflush(out_);
}

void ConsoleProgress::OnCaseFinished(const Suite& suite, const reports::CaseResult& r) {
  MutexLock l(mu_);
  ++done_;
  counts_.Add(r);
  auto it = running_.find(r.id);
  if (it != running_.end()) running_.erase(it);
  std::string verdict(reports::VerdictName(r.verdict));
  for (auto& ch : verdict) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  std::string reason = r.message.substr(0, r.message.find('\n'));
  if (live_) {
    if (r.verdict != Verdict::kPass) {
      std::fprintf(out_, "\r\033[K%s %s/%s: %s\n", verdict.c_str(), suite.name.c_str(),
                   r.id.c_str(), reason.c_str());
    }
    DrawLocked();
    return;
  }
  std::fprintf(out_, "[%d/%d] %s %s/%s (%.2fs)%s%s\n", done_, total_, verdict.c_str(),
               suite.name.c_str(), r.id.c_str(), r.duration_s, reason.empty() ? "" : ": ",
               reason.c_str());
  std::fflush(out_);
}

void ConsoleProgress::OnEnd(const reports::RunReport& report) {
  StopTicker();
  MutexLock l(mu_);
  if (live_) std::fprintf(out_, "\r\033[K");
  std::fflush(out_);
}

}  // namespace drahil::runner
