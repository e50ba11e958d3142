// File: mutex.hpp
//
// Mutex and MutexLock: std::mutex and std::lock_guard with clang's
// thread-safety attributes, so a clang build with -Wthread-safety proves at
// compile time that every member marked DRAHIL_GUARDED_BY(mu_) is touched
// only with mu_ held, and that a function marked DRAHIL_REQUIRES(mu_) is
// called only by holders. With GCC the attributes expand to nothing and the
// types cost what std::mutex costs.
//
// The attribute names follow clang's documentation ("Thread Safety
// Analysis", clang.llvm.org/docs/ThreadSafetyAnalysis.html), as Abseil's
// base/thread_annotations.h does.
//
//   class Cache {
//    public:
//     void Put(std::string k) DRAHIL_EXCLUDES(mu_) {
//       MutexLock lock(mu_);
//       keys_.push_back(std::move(k));
//     }
//    private:
//     Mutex mu_;
//     std::vector<std::string> keys_ DRAHIL_GUARDED_BY(mu_);
//   };
//
// Waiting: CondVar (std::condition_variable_any) waits on a MutexLock, so a
// wait keeps the analysis intact: the lock is held before and after.
//
// Thread-safety: Mutex is a mutex.
#ifndef DRAHIL_CORE_MUTEX_HPP_INCLUDED
#define DRAHIL_CORE_MUTEX_HPP_INCLUDED

#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define DRAHIL_THREAD_ANNOTATION_(x) __attribute__((x))
#else
#define DRAHIL_THREAD_ANNOTATION_(x)
#endif

#define DRAHIL_CAPABILITY(x) DRAHIL_THREAD_ANNOTATION_(capability(x))
#define DRAHIL_SCOPED_CAPABILITY DRAHIL_THREAD_ANNOTATION_(scoped_lockable)
#define DRAHIL_GUARDED_BY(x) DRAHIL_THREAD_ANNOTATION_(guarded_by(x))
#define DRAHIL_PT_GUARDED_BY(x) DRAHIL_THREAD_ANNOTATION_(pt_guarded_by(x))
#define DRAHIL_REQUIRES(...) DRAHIL_THREAD_ANNOTATION_(requires_capability(__VA_ARGS__))
#define DRAHIL_ACQUIRE(...) DRAHIL_THREAD_ANNOTATION_(acquire_capability(__VA_ARGS__))
#define DRAHIL_RELEASE(...) DRAHIL_THREAD_ANNOTATION_(release_capability(__VA_ARGS__))
#define DRAHIL_TRY_ACQUIRE(...) DRAHIL_THREAD_ANNOTATION_(try_acquire_capability(__VA_ARGS__))
#define DRAHIL_EXCLUDES(...) DRAHIL_THREAD_ANNOTATION_(locks_excluded(__VA_ARGS__))
#define DRAHIL_ASSERT_HELD(x) DRAHIL_THREAD_ANNOTATION_(assert_capability(x))
#define DRAHIL_RETURN_CAPABILITY(x) DRAHIL_THREAD_ANNOTATION_(lock_returned(x))
// For the rare function the analysis cannot follow (say which, and why).
#define DRAHIL_NO_THREAD_SAFETY_ANALYSIS DRAHIL_THREAD_ANNOTATION_(no_thread_safety_analysis)

namespace drahil {

class DRAHIL_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() DRAHIL_ACQUIRE() { mu_.lock(); }
  void Unlock() DRAHIL_RELEASE() { mu_.unlock(); }
  bool TryLock() DRAHIL_TRY_ACQUIRE(true) { return mu_.try_lock(); }
  // AssertHeld(): tells the analysis the caller holds the lock (a callback
  // the analysis cannot see into, say); checks nothing at run time.
  void AssertHeld() const DRAHIL_ASSERT_HELD(this) {}

  // BasicLockable, for std::scoped_lock over several mutexes and for
  // CondVar. Prefer MutexLock.
  void lock() DRAHIL_ACQUIRE() { mu_.lock(); }
  void unlock() DRAHIL_RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

// MutexLock: holds `mu` for its scope (std::lock_guard, annotated). Unlock()
// and Lock() let a scope drop the lock around a slow call and take it back.
class DRAHIL_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) DRAHIL_ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() DRAHIL_RELEASE() {
    if (held_) mu_.Unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void Unlock() DRAHIL_RELEASE() {
    mu_.Unlock();
    held_ = false;
  }
  void Lock() DRAHIL_ACQUIRE() {
    mu_.Lock();
    held_ = true;
  }
  // BasicLockable, for CondVar's waits; the analysis treats a wait as
  // keeping the lock held.
  void lock() DRAHIL_ACQUIRE() { Lock(); }
  void unlock() DRAHIL_RELEASE() { Unlock(); }

 private:
  Mutex& mu_;
  bool held_ = true;
};

// CondVar: waits on a MutexLock. wait/wait_for/wait_until as
// std::condition_variable_any.
using CondVar = std::condition_variable_any;

}  // namespace drahil

#endif  // DRAHIL_CORE_MUTEX_HPP_INCLUDED
