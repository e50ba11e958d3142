// File: poll.hpp
//
// PollUntil(): the one way to wait for a condition that nothing signals:
// check, wait on a Clock, check again, until a deadline. Waits that an event
// ends (a condition variable, inotify, a gRPC connect) do not need it.
//
//   DRAHIL_RETURN_IF_ERROR(PollFor(clock, 10s, {}, "plugin " + name + " registered",
//                                  [&] { return kubelet.RegistrationCount(name) > 0; }));
//
// The waits go through the Clock, so with a FakeClock a test moves the poll
// on with FakeClock::Advance() (or FakeClock::set_auto_advance()) and no
// real time passes.
//
// Thread-safety: a free function; `done` runs on the calling thread only.
#ifndef DRAHIL_CORE_POLL_HPP_INCLUDED
#define DRAHIL_CORE_POLL_HPP_INCLUDED

#include <chrono>
#include <functional>
#include <string_view>

#include "drahil/core/clock.hpp"
#include "drahil/core/status.hpp"

namespace drahil {

struct PollOptions {
  // First wait between two checks. A non-positive interval counts as 1 ms.
  Clock::Duration interval = std::chrono::milliseconds(20);
  // After each wait the interval is multiplied by backoff (values below 1
  // count as 1) and capped at max_interval (zero = no cap).
  double backoff = 1.0;
  Clock::Duration max_interval = Clock::Duration::zero();
  // When set, replaces Clock::SleepFor() for the waits: it must return no
  // later than the given time of the poll's clock (earlier is allowed; the
  // poll then checks again) and returns false to abandon the poll, e.g.
  // because a CancelToken fired.
  std::function<bool(Clock::TimePoint)> wait_until;
};

// PollUntil(): calls done() at once and then after every wait until it
// returns true (OK). No wait ends after deadline: the last wait is cut short
// so that done() runs once more exactly at the deadline (later only when the
// clock overslept); if it is still false the result is kDeadlineExceeded,
// "timed out after <ms>ms waiting for <what> (<n> checks)". A deadline
// already past still gets one check. wait_until returning false gives
// kCancelled, "cancelled while waiting for <what>".
Status PollUntil(Clock& clock, Clock::TimePoint deadline, const PollOptions& options,
                 std::string_view what, const std::function<bool()>& done);

// PollFor(): PollUntil() with deadline = clock.Now() + timeout.
Status PollFor(Clock& clock, Clock::Duration timeout, const PollOptions& options,
               std::string_view what, const std::function<bool()>& done);

}  // namespace drahil

#endif  // DRAHIL_CORE_POLL_HPP_INCLUDED
