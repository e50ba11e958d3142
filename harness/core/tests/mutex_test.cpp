#include "drahil/core/mutex.hpp"

#include <thread>
#include <vector>

#include "drahil/testing/testing.hpp"

namespace {

TEST_CASE("Mutex: MutexLock serialises increments from several threads", "[core][mutex]") {
  drahil::Mutex mu;
  int value = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        drahil::MutexLock lock(mu);
        ++value;
      }
    });
  }
  for (auto& t : threads) t.join();
  drahil::MutexLock lock(mu);
  CHECK(value == 40000);
}

TEST_CASE("Mutex: a CondVar wait releases the lock and holds it again on return", "[core][mutex]") {
  drahil::Mutex mu;
  drahil::CondVar cv;
  bool ready = false;
  std::thread producer([&] {
    drahil::MutexLock lock(mu);  // only possible while the waiter is waiting
    ready = true;
    cv.notify_all();
  });
  {
    drahil::MutexLock lock(mu);
    cv.wait(lock, [&] { return ready; });
    CHECK(ready);
    CHECK_FALSE(mu.TryLock());  // held again after the wait
  }
  producer.join();
  CHECK(mu.TryLock());
  mu.Unlock();
}

TEST_CASE("MutexLock: Unlock and Lock drop and retake the lock within a scope", "[core][mutex]") {
  drahil::Mutex mu;
  drahil::MutexLock lock(mu);
  lock.Unlock();
  CHECK(mu.TryLock());
  mu.Unlock();
  lock.Lock();
  CHECK_FALSE(mu.TryLock());
}

}  // namespace
