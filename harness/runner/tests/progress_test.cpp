#include "drahil/runner/progress.hpp"

#include <catch2/catch.hpp>
#include <cstdio>

using drahil::runner::FormatSeconds;
using drahil::runner::ProgressState;
using drahil::runner::RenderProgressBar;

namespace {
ProgressState Seven() {
  ProgressState s;
  s.done = 7;
  s.total = 12;
  s.counts.passed = 5;
  s.counts.failures = 1;
  s.counts.skipped = 1;
  s.elapsed_s = 12.44;
  s.finished_case_s = 14;  // mean 2 s
  s.concurrency = 2;
  s.running = {"prepare-single-gpu", "unprepare-twice"};
  return s;
}
}  // namespace

TEST_CASE("Progress bar: counts, bar, elapsed, ETA and running cases on a wide terminal",
          "[progress]") {
  std::string line = RenderProgressBar(Seven(), 160);
  // 7 of 12 in 20 cells: 11 filled; ETA = 2 s mean * 5 left / 2 at once.
  CHECK(line ==
        "[###########.........] 7/12  5 pass 1 fail 0 error 1 skip  12.4s ETA 5.0s  running: "
        "prepare-single-gpu +1");
}

TEST_CASE("Progress bar: no ETA before a case finished, none when all did", "[progress]") {
  ProgressState s;
  s.total = 3;
  s.running = {"a"};
  CHECK(RenderProgressBar(s, 120) ==
        "[....................] 0/3  0 pass 0 fail 0 error 0 skip  0.0s ETA --  running: a");
  s.done = 3;
  s.counts.passed = 3;
  s.running.clear();
  s.finished_case_s = 3;
  CHECK(RenderProgressBar(s, 120) ==
        "[####################] 3/3  3 pass 0 fail 0 error 0 skip  0.0s");
}

TEST_CASE("Progress bar: never wider than the terminal, running cases give way first",
          "[progress]") {
  for (int width = 1; width <= 200; ++width) {
    INFO(width);
    std::string line = RenderProgressBar(Seven(), width);
    CHECK(static_cast<int>(line.size()) <= std::max(width - 1, 10));
  }
  // 80 columns: the bar shrinks to 10 cells so that the running case keeps a few.
  std::string at80 = RenderProgressBar(Seven(), 80);
  CHECK(at80 == "[#####.....] 7/12  5 pass 1 fail 0 error 1 skip  12.4s ETA 5.0s  running: pr...");
  CHECK(at80.size() == 79);
  // 100 columns: the full bar, the running case cut.
  std::string at100 = RenderProgressBar(Seven(), 100);
  CHECK(at100.rfind("[###########.........] 7/12", 0) == 0);
  CHECK(at100.size() == 99);
  CHECK(at100.substr(at100.size() - 16) == " prepare-sing...");
  // 60 columns: only the counts.
  CHECK(RenderProgressBar(Seven(), 60) == "7/12  5 pass 1 fail 0 error 1 skip  12.4s ETA 5.0s");
}

TEST_CASE("Progress bar: durations read as seconds, minutes, hours", "[progress]") {
  CHECK(FormatSeconds(8.14) == "8.1s");
  CHECK(FormatSeconds(185) == "3m05s");
  CHECK(FormatSeconds(3720) == "1h02m");
  CHECK(FormatSeconds(-1) == "0.0s");
}
