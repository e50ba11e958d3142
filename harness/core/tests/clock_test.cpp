#include "drahil/core/clock.hpp"

#include <atomic>
#include <thread>
#include <vector>

#include "drahil/testing/testing.hpp"

TEST_CASE("FakeClock: time moves only when advanced", "[core][clock]") {
  drahil::FakeClock clock;
  auto t0 = clock.Now();
  CHECK(clock.Now() == t0);
  clock.Advance(std::chrono::seconds(5));
  CHECK(clock.Now() - t0 == std::chrono::seconds(5));
}

TEST_CASE("FakeClock: SleepFor wakes after Advance", "[core][clock]") {
  drahil::FakeClock clock;
  std::atomic<bool> woke{false};
  std::thread sleeper([&] {
    clock.SleepFor(std::chrono::seconds(30));
    woke = true;
  });
  REQUIRE(clock.AwaitSleepers(1, std::chrono::seconds(5)));
  CHECK(clock.Sleepers() == 1);
  clock.Advance(std::chrono::seconds(29));
  // Still asleep: one second short.
  CHECK(clock.AwaitSleepers(1, std::chrono::milliseconds(0)));
  CHECK_FALSE(woke);
  clock.Advance(std::chrono::seconds(1));
  sleeper.join();
  CHECK(woke);
  CHECK(clock.Sleepers() == 0);
  CHECK(clock.Sleeps() == std::vector<drahil::Clock::Duration>{std::chrono::seconds(30)});
}

TEST_CASE("FakeClock: auto-advance moves time by each sleep", "[core][clock]") {
  drahil::FakeClock clock;
  clock.set_auto_advance(true);
  auto t0 = clock.Now();
  auto w0 = clock.WallNow();
  clock.SleepFor(std::chrono::milliseconds(250));
  clock.SleepFor(std::chrono::milliseconds(0));
  clock.SleepFor(std::chrono::seconds(2));
  CHECK(clock.Now() - t0 == std::chrono::milliseconds(2250));
  CHECK(clock.WallNow() - w0 == std::chrono::milliseconds(2250));
  CHECK(clock.Sleeps() == std::vector<drahil::Clock::Duration>{std::chrono::milliseconds(250),
                                                               std::chrono::seconds(2)});
  CHECK(clock.Sleepers() == 0);
}

TEST_CASE("FakeClock: WallNow starts at a fixed date", "[core][clock]") {
  drahil::FakeClock clock;
  CHECK(drahil::FormatRfc3339(clock.WallNow()) == "2026-01-01T00:00:00Z");
}

TEST_CASE("FormatRfc3339: Kubernetes time format", "[core][clock]") {
  std::chrono::system_clock::time_point t{std::chrono::seconds(1700000000)};
  CHECK(drahil::FormatRfc3339(t) == "2023-11-14T22:13:20Z");
}
