// File: progress.hpp
//
// ConsoleProgress: the runner's progress output.
//  - live (a terminal): one status line redrawn in place (\r, ANSI erase),
//    "[#######.............] 7/12  5 pass 1 fail 0 error 1 skip  12.4s  ETA 8.1s
//    running: prepare-single-gpu +1", fitted to the terminal's width and
//    refreshed each second (RenderProgressBar()); a Fail or Error is printed
//    as a line of its own above it as it happens.
//  - plain (a pipe or file, CI logs): one line per finished case,
//    "[7/12] FAIL prepare-basics/prepare-single-gpu (1.24s): reason".
//
// Thread-safety: the engine serialises calls; the ticker thread shares the
// internal mutex.
#ifndef DRAHIL_RUNNER_PROGRESS_HPP_INCLUDED
#define DRAHIL_RUNNER_PROGRESS_HPP_INCLUDED

#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "drahil/core/clock.hpp"
#include "drahil/core/mutex.hpp"
#include "drahil/runner/engine.hpp"

namespace drahil::runner {

// ProgressState: what the live line shows.
struct ProgressState {
  int done = 0, total = 0;
  reports::Counts counts;
  std::vector<std::string> running;  // ids of the cases now running
  double elapsed_s = 0;
  double finished_case_s = 0;  // the finished cases' durations, summed
  int concurrency = 1;         // the most cases seen running at once
};

// RenderProgressBar(): the live line for s, at most width - 1 columns (the
// last column would wrap on some terminals). The ETA is the finished cases'
// mean duration times the cases left, divided by the concurrency; "ETA --"
// before a case finished. On a narrow terminal the running cases go first,
// then the bar shrinks and goes.
std::string RenderProgressBar(const ProgressState& s, int width);

// FormatSeconds(): "8.1s", "3m05s", "1h02m".
std::string FormatSeconds(double s);

// TerminalWidth(): the columns of the terminal on fd (TIOCGWINSZ), else
// $COLUMNS, else 80.
int TerminalWidth(int fd);

class ConsoleProgress final : public ProgressSink {
 public:
  // out is not owned; live selects the redrawn status line.
  ConsoleProgress(std::FILE* out, bool live);
  ~ConsoleProgress() override;
  // ForStream(): live when out is a terminal and TERM is not "dumb".
  static std::unique_ptr<ConsoleProgress> ForStream(std::FILE* out);

  void OnStart(int total_cases) override DRAHIL_EXCLUDES(mu_);
  void OnCaseStarted(const Suite& suite, const Case& kase, int attempt) override
      DRAHIL_EXCLUDES(mu_);
  void OnCaseFinished(const Suite& suite, const reports::CaseResult& result) override
      DRAHIL_EXCLUDES(mu_);
  void OnEnd(const reports::RunReport& report) override DRAHIL_EXCLUDES(mu_);

 private:
  void DrawLocked() DRAHIL_REQUIRES(mu_);
  void StopTicker() DRAHIL_EXCLUDES(mu_);
  std::FILE* out_;  // written only with mu_ held
  bool live_;
  Mutex mu_;
  CondVar cv_;
  // Started by OnStart() and joined by StopTicker() without mu_ (the ticker
  // takes it); the engine's serialised calls keep the two apart.
  std::thread ticker_;
  bool ended_ DRAHIL_GUARDED_BY(mu_) = false;
  int total_ DRAHIL_GUARDED_BY(mu_) = 0;
  int done_ DRAHIL_GUARDED_BY(mu_) = 0;
  reports::Counts counts_ DRAHIL_GUARDED_BY(mu_);
  std::multiset<std::string> running_ DRAHIL_GUARDED_BY(mu_);
  double finished_case_s_ DRAHIL_GUARDED_BY(mu_) = 0;
  int concurrency_ DRAHIL_GUARDED_BY(mu_) = 1;
  Clock::TimePoint t0_ DRAHIL_GUARDED_BY(mu_);
};

}  // namespace drahil::runner

#endif  // DRAHIL_RUNNER_PROGRESS_HPP_INCLUDED
