// File: progress.hpp
//
// ConsoleProgress: the runner's progress output.
//  - live (a terminal): one status line redrawn in place, "[7/12] 5 pass 1 fail
//    0 error 1 skip  12.4s  running: prepare-single-gpu", refreshed each second;
//    failures are printed above it as they happen.
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

#include "drahil/core/clock.hpp"
#include "drahil/core/mutex.hpp"
#include "drahil/runner/engine.hpp"

namespace drahil::runner {

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
  Clock::TimePoint t0_ DRAHIL_GUARDED_BY(mu_);
};

}  // namespace drahil::runner

#endif  // DRAHIL_RUNNER_PROGRESS_HPP_INCLUDED
