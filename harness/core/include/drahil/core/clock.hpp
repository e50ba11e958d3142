// File: clock.hpp
//
// Clock: the time source for anything that waits or timestamps, so tests can
// substitute FakeClock and advance time by hand.
//
// Thread-safety: both implementations are safe to call from any thread.
#ifndef DRAHIL_CORE_CLOCK_HPP_INCLUDED
#define DRAHIL_CORE_CLOCK_HPP_INCLUDED

#include <chrono>
#include <condition_variable>
#include <mutex>

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
// thread advances the clock far enough.
class FakeClock final : public Clock {
 public:
  FakeClock();
  TimePoint Now() const override;
  std::chrono::system_clock::time_point WallNow() const override;
  void SleepFor(Duration d) override;
  void Advance(Duration d);
  // Sleepers(): how many threads are blocked in SleepFor() right now.
  int Sleepers() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  TimePoint now_;
  std::chrono::system_clock::time_point wall_;
  int sleepers_ = 0;
};

// FormatRfc3339(): "2026-11-26T14:28:57Z" (seconds) as Kubernetes prints times.
std::string FormatRfc3339(std::chrono::system_clock::time_point t);

}  // namespace drahil

#endif  // DRAHIL_CORE_CLOCK_HPP_INCLUDED
