// -----------------------------------------------------------------------------
// File: testing/atomic_manual_clock.h
// -----------------------------------------------------------------------------
//
// A ManualClock that may be read and advanced from several threads at once
// (ManualClock may not): for tests of SynchronizedDatastore, where a ticking
// thread moves time while ADD and DEL threads read it inside the lock.
//
// Example:
//
//   enipool::testing::AtomicManualClock clock(absl::FromUnixSeconds(1'700'000'000));
//   std::thread ticker([&] { clock.AdvanceTime(absl::Seconds(1)); });
//   clock.Now();   // from any thread

#ifndef ENIPOOL_TESTS_TESTING_ATOMIC_MANUAL_CLOCK_H_
#define ENIPOOL_TESTS_TESTING_ATOMIC_MANUAL_CLOCK_H_

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"
#include "enipool/clock.h"

namespace enipool::testing {

class AtomicManualClock {
 public:
  AtomicManualClock() = default;
  explicit AtomicManualClock(absl::Time start) : nanos_(absl::ToUnixNanos(start)) {}

  [[nodiscard]] absl::Time Now() const noexcept {
    return absl::FromUnixNanos(nanos_.load(std::memory_order_acquire));
  }

  // Moves the clock forward by `delta` (a negative delta is ignored).
  void AdvanceTime(absl::Duration delta) noexcept {
    if (delta > absl::ZeroDuration()) {
      nanos_.fetch_add(absl::ToInt64Nanoseconds(delta), std::memory_order_acq_rel);
    }
  }

 private:
  std::atomic<std::int64_t> nanos_{0};
};

static_assert(Clock<AtomicManualClock>);

}  // namespace enipool::testing

#endif  // ENIPOOL_TESTS_TESTING_ATOMIC_MANUAL_CLOCK_H_
