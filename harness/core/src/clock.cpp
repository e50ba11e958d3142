#include "drahil/core/clock.hpp"

#include <ctime>
#include <iterator>
#include <string>
#include <thread>

namespace drahil {

Clock& Clock::Real() {
  static RealClock clock;
  return clock;
}

Clock::TimePoint RealClock::Now() const {
  return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
}
std::chrono::system_clock::time_point RealClock::WallNow() const {
  return std::chrono::system_clock::now();
}
void RealClock::SleepFor(Duration d) { std::this_thread::sleep_for(d); }

FakeClock::FakeClock()
    : now_(Duration(0)), wall_(std::chrono::sys_days{std::chrono::year{2026} / 1 / 1}) {}

Clock::TimePoint FakeClock::Now() const {
  std::lock_guard<std::mutex> lock(mu_);
  return now_;
}
std::chrono::system_clock::time_point FakeClock::WallNow() const {
  std::lock_guard<std::mutex> lock(mu_);
  return wall_;
}
void FakeClock::SleepFor(Duration d) {
  if (d <= Duration::zero()) return;
  std::unique_lock<std::mutex> lock(mu_);
  sleeps_.push_back(d);
  if (auto_advance_) {
    now_ += d;
    wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
    lock.unlock();
    cv_.notify_all();
    return;
  }
  TimePoint until = now_ + d;
  auto it = wakes_.insert(until);
  cv_.notify_all();  // for AwaitSleepers()
  cv_.wait(lock, [&] { return now_ >= until; });
  wakes_.erase(it);
}
void FakeClock::Advance(Duration d) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += d;
    wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
  }
  cv_.notify_all();
}
void FakeClock::set_auto_advance(bool on) {
  std::lock_guard<std::mutex> lock(mu_);
  auto_advance_ = on;
}
int FakeClock::SleepersLocked() const {
  return static_cast<int>(std::distance(wakes_.upper_bound(now_), wakes_.end()));
}
int FakeClock::Sleepers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return SleepersLocked();
}
bool FakeClock::AwaitSleepers(int n, std::chrono::milliseconds real_timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, real_timeout, [&] { return SleepersLocked() >= n; });
}
std::vector<Clock::Duration> FakeClock::Sleeps() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sleeps_;
}

std::string FormatRfc3339(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace drahil
