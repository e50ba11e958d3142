#include "drahil/core/clock.hpp"

#include <thread>

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
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (clock.Sleepers() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  REQUIRE(clock.Sleepers() == 1);
  clock.Advance(std::chrono::seconds(29));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK_FALSE(woke);
  clock.Advance(std::chrono::seconds(1));
  sleeper.join();
  CHECK(woke);
}

TEST_CASE("FormatRfc3339: Kubernetes time format", "[core][clock]") {
  std::chrono::system_clock::time_point t{std::chrono::seconds(1700000000)};
  CHECK(drahil::FormatRfc3339(t) == "2023-11-14T22:13:20Z");
}
