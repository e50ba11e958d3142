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

#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "drahil/core/clock.hpp"
#include "drahil/runner/engine.hpp"

namespace drahil::runner {

class ConsoleProgress final : public ProgressSink {
 public:
  // out is not owned; live selects the redrawn status line.
  ConsoleProgress(std::FILE* out, bool live);
  ~ConsoleProgress() override;
  // ForStream(): live when out is a terminal and TERM is not "dumb".
  static std::unique_ptr<ConsoleProgress> ForStream(std::FILE* out);

  void OnStart(int total_cases) override;
  void OnCaseStarted(const Suite& suite, const Case& kase, int attempt) override;
  void OnCaseFinished(const Suite& suite, const reports::CaseResult& result) override;
  void OnEnd(const reports::RunReport& report) override;

 private:
  void DrawLocked();
  void StopTicker();
  std::FILE* out_;
  bool live_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread ticker_;
  bool ended_ = false;
  int total_ = 0;
  int done_ = 0;
  reports::Counts counts_;
  std::multiset<std::string> running_;
  Clock::TimePoint t0_;
};

}  // namespace drahil::runner

#endif  // DRAHIL_RUNNER_PROGRESS_HPP_INCLUDED
