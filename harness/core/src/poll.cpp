#include "drahil/core/poll.hpp"

#include <algorithm>
#include <string>

namespace drahil {

namespace {

Clock::Duration NextInterval(Clock::Duration interval, const PollOptions& o) {
  if (o.backoff > 1.0) {
    auto grown = std::chrono::duration<double, Clock::Duration::period>(interval) * o.backoff;
    interval = std::chrono::duration_cast<Clock::Duration>(grown);
  }
  if (o.max_interval > Clock::Duration::zero()) interval = std::min(interval, o.max_interval);
  return interval;
}

}  // namespace

Status PollUntil(Clock& clock, Clock::TimePoint deadline, const PollOptions& options,
                 std::string_view what, const std::function<bool()>& done) {
  const Clock::TimePoint start = clock.Now();
  Clock::Duration interval = options.interval > Clock::Duration::zero()
                                 ? options.interval
                                 : Clock::Duration(std::chrono::milliseconds(1));
  for (int checks = 1;; ++checks) {
    if (done()) return OkStatus();
    const Clock::TimePoint now = clock.Now();
    if (now >= deadline) {
      auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(now - start);
      return DeadlineExceededError("timed out after " + std::to_string(waited.count()) +
                                   "ms waiting for " + std::string(what) + " (" +
                                   std::to_string(checks) + (checks == 1 ? " check)" : " checks)"));
    }
    const Clock::TimePoint wake = deadline - now < interval ? deadline : now + interval;
    if (options.wait_until) {
      if (!options.wait_until(wake)) {
        return CancelledError("cancelled while waiting for " + std::string(what));
      }
    } else {
      clock.SleepFor(wake - now);
    }
    interval = NextInterval(interval, options);
  }
}

Status PollFor(Clock& clock, Clock::Duration timeout, const PollOptions& options,
               std::string_view what, const std::function<bool()>& done) {
  return PollUntil(clock, clock.Now() + timeout, options, what, done);
}

}  // namespace drahil
