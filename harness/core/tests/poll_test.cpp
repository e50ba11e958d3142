#include "drahil/core/poll.hpp"

#include <atomic>
#include <thread>
#include <vector>

#include "drahil/testing/testing.hpp"

using drahil::Clock;
using drahil::Code;
using drahil::FakeClock;
using drahil::PollFor;
using drahil::PollOptions;
using drahil::PollUntil;
using namespace std::chrono_literals;

TEST_CASE("PollUntil: a condition already true returns at once", "[core][poll]") {
  FakeClock clock;
  auto t0 = clock.Now();
  int checks = 0;
  REQUIRE_OK(PollFor(clock, 10s, {}, "ready", [&] { return ++checks > 0; }));
  CHECK(checks == 1);
  CHECK(clock.Now() == t0);
  CHECK(clock.Sleeps().empty());
}

TEST_CASE("PollUntil: succeeds once the condition holds, waiting the interval between checks",
          "[core][poll]") {
  FakeClock clock;
  clock.set_auto_advance(true);
  auto t0 = clock.Now();
  int checks = 0;
  PollOptions o;
  o.interval = 100ms;
  REQUIRE_OK(PollFor(clock, 10s, o, "third check", [&] { return ++checks == 3; }));
  CHECK(checks == 3);
  CHECK(clock.Now() - t0 == 200ms);
  CHECK(clock.Sleeps() == std::vector<Clock::Duration>{100ms, 100ms});
}

TEST_CASE("PollUntil: times out exactly at the deadline, checking once more there",
          "[core][poll]") {
  FakeClock clock;
  clock.set_auto_advance(true);
  auto deadline = clock.Now() + 250ms;
  std::vector<Clock::TimePoint> checked;
  PollOptions o;
  o.interval = 100ms;
  drahil::Status st = PollUntil(clock, deadline, o, "the moon", [&] {
    checked.push_back(clock.Now());
    return false;
  });
  CHECK(st.code() == Code::kDeadlineExceeded);
  CHECK(st.message() == "timed out after 250ms waiting for the moon (4 checks)");
  // The last wait is cut to 50 ms: no check after the deadline, one at it.
  CHECK(clock.Sleeps() == std::vector<Clock::Duration>{100ms, 100ms, 50ms});
  REQUIRE(checked.size() == 4);
  CHECK(checked.back() == deadline);
  CHECK(clock.Now() == deadline);
}

TEST_CASE("PollUntil: a deadline already past still gets one check", "[core][poll]") {
  FakeClock clock;
  clock.set_auto_advance(true);
  int checks = 0;
  drahil::Status st = PollUntil(clock, clock.Now() - 1s, {}, "x", [&] {
    ++checks;
    return false;
  });
  CHECK(st.code() == Code::kDeadlineExceeded);
  CHECK(checks == 1);
  CHECK(clock.Sleeps().empty());
  int late = 0;
  REQUIRE_OK(PollFor(clock, 0s, {}, "y", [&] { return ++late == 1; }));
}

TEST_CASE("PollUntil: backoff grows the interval up to its cap", "[core][poll]") {
  FakeClock clock;
  clock.set_auto_advance(true);
  PollOptions o;
  o.interval = 10ms;
  o.backoff = 2.0;
  o.max_interval = 50ms;
  drahil::Status st = PollFor(clock, 200ms, o, "never", [] { return false; });
  CHECK(st.code() == Code::kDeadlineExceeded);
  // 10 + 20 + 40 + 50 + 50 = 170; the last wait is cut to the deadline.
  CHECK(clock.Sleeps() == std::vector<Clock::Duration>{10ms, 20ms, 40ms, 50ms, 50ms, 30ms});
}

TEST_CASE("PollUntil: a non-positive interval still waits", "[core][poll]") {
  FakeClock clock;
  clock.set_auto_advance(true);
  PollOptions o;
  o.interval = 0ms;
  drahil::Status st = PollFor(clock, 3ms, o, "never", [] { return false; });
  CHECK(st.code() == Code::kDeadlineExceeded);
  CHECK(clock.Sleeps() == std::vector<Clock::Duration>{1ms, 1ms, 1ms});
}

TEST_CASE("PollUntil: wait_until replaces the sleep and may cancel", "[core][poll]") {
  FakeClock clock;
  std::vector<Clock::TimePoint> wakes;
  PollOptions o;
  o.interval = 30ms;
  o.wait_until = [&](Clock::TimePoint t) {
    wakes.push_back(t);
    clock.Advance(t - clock.Now());
    return wakes.size() < 2;
  };
  auto t0 = clock.Now();
  drahil::Status st = PollFor(clock, 1s, o, "the bus", [] { return false; });
  CHECK(st.code() == Code::kCancelled);
  CHECK(st.message() == "cancelled while waiting for the bus");
  CHECK(wakes == std::vector<Clock::TimePoint>{t0 + 30ms, t0 + 60ms});
  CHECK(clock.Sleeps().empty());
}

TEST_CASE("PollUntil: on a FakeClock another thread drives the poll with Advance", "[core][poll]") {
  FakeClock clock;
  std::atomic<int> checks{0};
  drahil::Status st = drahil::InternalError("not run");
  PollOptions o;
  o.interval = 1s;
  std::thread poller(
      [&] { st = PollFor(clock, 1h, o, "three checks", [&] { return ++checks == 3; }); });
  for (int i = 1; i <= 2; ++i) {
    REQUIRE(clock.AwaitSleepers(1, 5s));
    CHECK(checks == i);
    // The poller wakes, checks, and sleeps again or returns. It may already be
    // asleep again when Advance() returns, so the next AwaitSleepers() is the
    // synchronisation point: a released sleeper no longer counts.
    clock.Advance(1s);
  }
  poller.join();
  CHECK(st.ok());
  CHECK(checks == 3);
}
