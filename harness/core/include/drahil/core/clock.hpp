// File: clock.hpp
//
// Clock: the time source for anything that waits or timestamps, so tests can
// substitute FakeClock and advance time by hand.
//
// Which clock: a component whose behaviour depends on time (retries and
// backoff, staleness limits, monitors, polls) takes a Clock& defaulting to
// Clock::Real() and never reads std::chrono clocks itself; timestamps that
// end up in reports or API objects come from WallNow(). Real time stays only
// where something outside the process keeps it (gRPC and socket deadlines,
// child processes, bandwidth measurements), and is then spelled Clock::Real().
// To wait for a condition nothing signals, use PollUntil() (poll.hpp).
//
// Thread-safety: both implementations are safe to call from any thread.
#ifndef DRAHIL_CORE_CLOCK_HPP_INCLUDED
#define DRAHIL_CORE_CLOCK_HPP_INCLUDED

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace drahil {

class Clock {
 public:
  using Duration = std::chrono::nanoseconds;
  using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;
  virtual ~Clock() = default;
  // Now(): monotonic time.
  virtual TimePoint Now() const = 0;
  // WallNow(): wall-clock time for timestamps in reports and API objects.
  virtual std::chrono::system_clock::time_point WallNow() const = 0;
  // SleepFor(): returns after d has passed on this clock.
  virtual void SleepFor(Duration d) = 0;

  // Real(): the process-wide real clock.
  static Clock& Real();
};

class RealClock final : public Clock {
 public:
  TimePoint Now() const override;
  std::chrono::system_clock::time_point WallNow() const override;
  void SleepFor(Duration d) override;
};

// FakeClock: time moves only by Advance(); SleepFor() blocks until another
// thread advances the clock far enough. Now() starts at the epoch of
// TimePoint, WallNow() at 2026-01-01T00:00:00Z, and both move together.
class FakeClock final : public Clock {
 public:
  FakeClock();
  TimePoint Now() const override;
  std::chrono::system_clock::time_point WallNow() const override;
  // SleepFor(): a positive d is recorded in Sleeps(); then, with auto-advance
  // on, the clock moves on by d at once, else the caller blocks until other
  // threads have advanced the clock by d. A non-positive d returns at once.
  void SleepFor(Duration d) override;
  void Advance(Duration d);
  // set_auto_advance(): when on, SleepFor() advances the clock itself, so a
  // single-threaded test sees retries and backoff without another thread.
  void set_auto_advance(bool on);
  // Sleepers(): how many threads are blocked in SleepFor() whose wake time
  // has not come (a sleeper that Advance() released no longer counts, even
  // before its thread runs again).
  int Sleepers() const;
  // AwaitSleepers(): blocks (in real time, at most real_timeout) until at
  // least n threads are blocked in SleepFor(); returns whether they are.
  bool AwaitSleepers(int n, std::chrono::milliseconds real_timeout) const;
  // Sleeps(): every positive duration passed to SleepFor(), oldest first.
  std::vector<Duration> Sleeps() const;

 private:
  int SleepersLocked() const;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  TimePoint now_;
  std::chrono::system_clock::time_point wall_;
  std::multiset<TimePoint> wakes_;  // one entry per blocked SleepFor()
  bool auto_advance_ = false;
  std::vector<Duration> sleeps_;
};

// FormatRfc3339(): "2026-11-26T14:28:57Z" (seconds) as Kubernetes prints times.
std::string FormatRfc3339(std::chrono::system_clock::time_point t);

}  // namespace drahil

#endif  // DRAHIL_CORE_CLOCK_HPP_INCLUDED
