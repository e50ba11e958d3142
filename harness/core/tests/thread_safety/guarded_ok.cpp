// Compiled by clang with -Wthread-safety -Werror (harness/core/CMakeLists.txt):
// correct use of Mutex, MutexLock and CondVar must compile cleanly.
#include "drahil/core/mutex.hpp"

namespace {
class Counter {
 public:
  void Add(int n) DRAHIL_EXCLUDES(mu_) {
    drahil::MutexLock lock(mu_);
    AddLocked(n);
    cv_.notify_all();
  }
  int WaitAtLeast(int n) DRAHIL_EXCLUDES(mu_) {
    drahil::MutexLock lock(mu_);
    cv_.wait(lock, [&]() DRAHIL_REQUIRES(mu_) { return value_ >= n; });
    return value_;
  }
  int SlowRead() DRAHIL_EXCLUDES(mu_) {
    drahil::MutexLock lock(mu_);
    lock.Unlock();  // a slow call without the lock
    lock.Lock();
    return value_;
  }

 private:
  void AddLocked(int n) DRAHIL_REQUIRES(mu_) { value_ += n; }
  drahil::Mutex mu_;
  drahil::CondVar cv_;
  int value_ DRAHIL_GUARDED_BY(mu_) = 0;
};
}  // namespace

int main() {
  Counter c;
  c.Add(1);
  return c.WaitAtLeast(1) + c.SlowRead() == 2 ? 0 : 1;
}
