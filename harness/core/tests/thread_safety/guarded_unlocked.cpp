// Compiled by clang with -Wthread-safety -Werror (harness/core/CMakeLists.txt)
// and expected to FAIL: a guarded member read without its lock, and a
// REQUIRES function called without it. Proves the analysis is on.
#include "drahil/core/mutex.hpp"

namespace {
class Counter {
 public:
  int Racy() { return value_; }      // error: reading value_ requires mu_
  void AlsoRacy() { AddLocked(1); }  // error: calling AddLocked requires mu_

 private:
  void AddLocked(int n) DRAHIL_REQUIRES(mu_) { value_ += n; }
  drahil::Mutex mu_;
  int value_ DRAHIL_GUARDED_BY(mu_) = 0;
};
}  // namespace

int main() {
  Counter c;
  c.AlsoRacy();
  return c.Racy();
}
