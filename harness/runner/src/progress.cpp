#include "drahil/runner/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>

namespace drahil::runner {

std::string FormatSeconds(double s) {
  char buf[32];
  if (!(s >= 0)) s = 0;
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  } else if (s < 3600) {
    auto t = static_cast<long>(std::lround(s));
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  } else {
    auto t = static_cast<long>(std::lround(s / 60));
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 60, t % 60);
  }
  return buf;
}

namespace {

std::string Eta(const ProgressState& s) {
  if (s.done == 0 || s.done >= s.total) return s.done >= s.total ? "" : " ETA --";
  double mean = s.finished_case_s / s.done;
  return " ETA " + FormatSeconds(mean * (s.total - s.done) / std::max(1, s.concurrency));
}

std::string Bar(const ProgressState& s, int cells) {
  int filled = s.total > 0 ? static_cast<int>(static_cast<long>(cells) * s.done / s.total) : 0;
  return "[" + std::string(static_cast<size_t>(filled), '#') +
         std::string(static_cast<size_t>(cells - filled), '.') + "] ";
}

std::string Running(const ProgressState& s) {
  if (s.running.empty()) return "";
  std::string r = "  running: " + s.running.front();
  if (s.running.size() > 1) r += " +" + std::to_string(s.running.size() - 1);
  return r;
}

}  // namespace

std::string RenderProgressBar(const ProgressState& s, int width) {
  char core[160];
  std::snprintf(core, sizeof core, "%d/%d  %d pass %d fail %d error %d skip  %s%s", s.done, s.total,
                s.counts.passed, s.counts.failures, s.counts.errors, s.counts.skipped,
                FormatSeconds(s.elapsed_s).c_str(), Eta(s).c_str());
  std::string line = core;
  size_t avail = static_cast<size_t>(std::max(width - 1, 10));
  size_t room = avail > line.size() ? avail - line.size() : 0;
  // What gives way on a narrow terminal: the running cases beyond their
  // first 16 columns, then the bar's 20 cells (to 10), then the bar, then the
  // running cases.
  constexpr size_t kMinRunning = 16;
  // The bar's size depends on the width alone, so it does not jump as cases
  // start and end.
  std::string run = Running(s);
  for (int cells : {20, 10}) {
    if (room >= static_cast<size_t>(cells) + 3 + kMinRunning) {
      line = Bar(s, cells) + line;
      room -= static_cast<size_t>(cells) + 3;
      break;
    }
  }
  if (run.size() > room) run = room >= kMinRunning ? run.substr(0, room - 3) + "..." : "";
  line += run;
  if (line.size() > avail) line.resize(avail);
  return line;
}

int TerminalWidth(int fd) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  if (const char* c = std::getenv("COLUMNS"); c != nullptr) {
    int n = std::atoi(c);
    if (n > 0) return n;
  }
  return 80;
}

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
  concurrency_ = std::max(concurrency_, static_cast<int>(running_.size()));
  if (live_) DrawLocked();
}

void ConsoleProgress::DrawLocked() {
  ProgressState s;
  s.done = done_;
  s.total = total_;
  s.counts = counts_;
  s.running.assign(running_.begin(), running_.end());
  s.elapsed_s = std::chrono::duration<double>(Clock::Real().Now() - t0_).count();
  s.finished_case_s = finished_case_s_;
  s.concurrency = concurrency_;
  std::string line = RenderProgressBar(s, TerminalWidth(::fileno(out_)));
  std::fprintf(out_, "\r\033[K%s", line.c_str());
  std::fflush(out_);
}

void ConsoleProgress::OnCaseFinished(const Suite& suite, const reports::CaseResult& r) {
  MutexLock l(mu_);
  ++done_;
  counts_.Add(r);
  finished_case_s_ += r.duration_s;
  auto it = running_.find(r.id);
  if (it != running_.end()) running_.erase(it);
  std::string verdict(reports::VerdictName(r.verdict));
  for (auto& ch : verdict) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  std::string reason = r.message.substr(0, r.message.find('\n'));
  if (live_) {
    if (r.verdict == Verdict::kFail || r.verdict == Verdict::kError) {
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
