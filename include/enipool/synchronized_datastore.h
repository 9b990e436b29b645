// -----------------------------------------------------------------------------
// File: synchronized_datastore.h
// -----------------------------------------------------------------------------
//
// `SynchronizedDatastore<Store>`: a thread-safe facade for a node's pool, so
// that CNI ADD and DEL calls from many threads and the controller's ticks can
// share it. `Store` is any of the single-threaded pool types:
//   * NodeDatastore<C>        — Assign / Release;
//   * JournaledDatastore<C>   — the same, journaled (persist/journal.h);
//   * NodeController<C>       — AddPod / DeletePod plus Tick (controller.h).
// Every call takes one absl::Mutex, exclusively: the datastore's readers
// apply cooldown expiry as they go, so even reads must not overlap. The
// critical sections are the datastore's O(1) operations (tens of
// nanoseconds; a journaled one adds its write), so a plain mutex is the
// right tool; see benchmarks/synchronized_datastore_benchmark.cpp.
//
// The store's clock is read inside the lock by whichever thread holds it, so
// it must be safe to read from any thread (RealClock is; ManualClock is not —
// tests use testing::AtomicManualClock).
//
// Example:
//
//   enipool::RealClock clock;
//   enipool::SynchronizedDatastore<enipool::NodeDatastore<enipool::RealClock>> pool(
//       enipool::AddressMode::kPrefix, clock);
//   pool.WithLock([](auto& ds) {                       // setup, or a pool-check step
//     (void)ds.AddEni({.id = "eni-1", .primary = true});
//     (void)ds.AddCidr("eni-1", *enipool::Ipv4Prefix::Parse("10.0.0.0/28"));
//   });
//   // From any thread:
//   absl::StatusOr<enipool::Assignment> a = pool.Assign({"aws-cni", "c1", "eth0"});
//   pool.Release({"aws-cni", "c1", "eth0"});
//
// Thread-safety: all members may be called concurrently. Do not call back
// into the facade from inside WithLock (the mutex is not reentrant).

#ifndef ENIPOOL_SYNCHRONIZED_DATASTORE_H_
#define ENIPOOL_SYNCHRONIZED_DATASTORE_H_

#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "enipool/datastore.h"
#include "enipool/ipv4.h"
#include "enipool/pod_key.h"

#if defined(__SANITIZE_THREAD__)
#define ENIPOOL_INTERNAL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ENIPOOL_INTERNAL_TSAN 1
#endif
#endif
#ifdef ENIPOOL_INTERNAL_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace enipool {
namespace internal {

// absl::MutexLock that ThreadSanitizer can see through. A distribution's
// Abseil is built without TSan, so TSan cannot tell that its Mutex orders
// the critical sections and reports every access as a race; under TSan the
// lock tells it directly (acquire after locking, release before unlocking).
// Without TSan it is exactly absl::MutexLock.
class ABSL_SCOPED_LOCKABLE SanitizerVisibleLock {
 public:
  explicit SanitizerVisibleLock(absl::Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
#ifdef ENIPOOL_INTERNAL_TSAN
    __tsan_acquire(mu_);
#endif
  }
  SanitizerVisibleLock(const SanitizerVisibleLock&) = delete;
  SanitizerVisibleLock& operator=(const SanitizerVisibleLock&) = delete;
  ~SanitizerVisibleLock() ABSL_UNLOCK_FUNCTION() {
#ifdef ENIPOOL_INTERNAL_TSAN
    __tsan_release(mu_);
#endif
    mu_->Unlock();
  }

 private:
  absl::Mutex* const mu_;
};

}  // namespace internal

template <typename Store>
class SynchronizedDatastore {
 public:
  // Constructs the store from `args` (its own constructor's arguments, or
  // a store to move in).
  template <typename... Args>
    requires std::is_constructible_v<Store, Args&&...>
  explicit SynchronizedDatastore(Args&&... args) : store_(std::forward<Args>(args)...) {}

  SynchronizedDatastore(const SynchronizedDatastore&) = delete;
  SynchronizedDatastore& operator=(const SynchronizedDatastore&) = delete;

  // SynchronizedDatastore::Assign()
  //
  // CNI ADD: the store's Assign (or a controller's AddPod), under the lock.
  [[nodiscard]] absl::StatusOr<Assignment> Assign(const PodKey& pod) ABSL_LOCKS_EXCLUDED(mu_) {
    internal::SanitizerVisibleLock lock(&mu_);
    if constexpr (requires { store_.Assign(pod); }) {
      return store_.Assign(pod);
    } else {
      return store_.AddPod(pod);
    }
  }

  // SynchronizedDatastore::Release()
  //
  // CNI DEL: the store's Release (or a controller's DeletePod), under the
  // lock.
  [[nodiscard]] absl::StatusOr<Assignment> Release(const PodKey& pod) ABSL_LOCKS_EXCLUDED(mu_) {
    internal::SanitizerVisibleLock lock(&mu_);
    if constexpr (requires { store_.Release(pod); }) {
      return store_.Release(pod);
    } else {
      return store_.DeletePod(pod);
    }
  }

  // SynchronizedDatastore::Lookup()
  //
  // The pod's assignment, or std::nullopt.
  [[nodiscard]] std::optional<Assignment> Lookup(const PodKey& pod) const ABSL_LOCKS_EXCLUDED(mu_) {
    internal::SanitizerVisibleLock lock(&mu_);
    return Datastore().Lookup(pod);
  }

  // SynchronizedDatastore::Stats()
  //
  // The pool's counters, consistent with each other (one lock).
  [[nodiscard]] PoolStats Stats() const ABSL_LOCKS_EXCLUDED(mu_) {
    internal::SanitizerVisibleLock lock(&mu_);
    return Datastore().Stats();
  }

  // SynchronizedDatastore::Tick()
  //
  // A controller's tick (NodeController::Tick) under the lock: the pool
  // check sees a consistent pool while ADDs and DELs wait.
  template <typename Request>
    requires requires(Store& s, absl::Time now, std::vector<Request>& out) { s.Tick(now, out); }
  void Tick(absl::Time now, std::vector<Request>& out) ABSL_LOCKS_EXCLUDED(mu_) {
    internal::SanitizerVisibleLock lock(&mu_);
    store_.Tick(now, out);
  }

  // SynchronizedDatastore::WithLock()
  //
  // Runs `fn(Store&)` under the lock and returns what it returns: for setup,
  // a pool-check step, a controller's OnResult, or several calls that must
  // see one consistent pool. Keep `fn` short: every ADD and DEL waits for it.
  template <typename Fn>
  decltype(auto) WithLock(Fn&& fn) ABSL_LOCKS_EXCLUDED(mu_) {
    internal::SanitizerVisibleLock lock(&mu_);
    return std::forward<Fn>(fn)(store_);
  }
  template <typename Fn>
  decltype(auto) WithLock(Fn&& fn) const ABSL_LOCKS_EXCLUDED(mu_) {
    internal::SanitizerVisibleLock lock(&mu_);
    return std::forward<Fn>(fn)(static_cast<const Store&>(store_));
  }

 private:
  const auto& Datastore() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if constexpr (requires { store_.datastore(); }) {
      return store_.datastore();
    } else {
      return store_;
    }
  }

  mutable absl::Mutex mu_;
  Store store_ ABSL_GUARDED_BY(mu_);
};

}  // namespace enipool

#endif  // ENIPOOL_SYNCHRONIZED_DATASTORE_H_
