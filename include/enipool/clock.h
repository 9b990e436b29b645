// -----------------------------------------------------------------------------
// File: clock.h
// -----------------------------------------------------------------------------
//
// A `Clock` tells enipool what time it is. Everything that depends on time
// (IP cooldown, ENI age, the decrease throttle, back-offs, simulated latency)
// takes a Clock instead of reading the wall clock, so tests and simulations
// control time exactly and run in virtual time.
//
// Example:
//
//   enipool::ManualClock clock;                       // starts at the Unix epoch
//   enipool::NodeDatastore datastore(enipool::AddressMode::kPrefix, clock);
//   clock.AdvanceTime(absl::Seconds(31));              // cooldowns expire
//
//   enipool::RealClock wall;                           // production
//   enipool::NodeDatastore live(enipool::AddressMode::kPrefix, wall);

#ifndef ENIPOOL_CLOCK_H_
#define ENIPOOL_CLOCK_H_

#include <concepts>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace enipool {

// Clock
//
// A type with `absl::Time Now() const`. Requirements:
//   * Now() never goes backwards;
//   * Now() is cheap (it is read on every pod ADD and DEL).
// Names follow absl::SimulatedClock (Abseil after 2026), which Debian's
// Abseil does not have.
template <typename C>
concept Clock = requires(const C& clock) {
  { clock.Now() } -> std::same_as<absl::Time>;
};

// ManualClock
//
// A clock that moves only when told to: for tests and the simulator. Not
// thread-safe; share one per simulation.
class ManualClock {
 public:
  ManualClock() = default;
  explicit ManualClock(absl::Time start) : now_(start) {}

  [[nodiscard]] absl::Time Now() const noexcept { return now_; }

  // ManualClock::AdvanceTime()
  //
  // Moves the clock forward by `delta`; a negative delta is ignored, since a
  // Clock never goes backwards.
  void AdvanceTime(absl::Duration delta) noexcept {
    if (delta > absl::ZeroDuration()) now_ += delta;
  }

  // ManualClock::SetTime()
  //
  // Moves the clock to `time` if that is not in the past.
  void SetTime(absl::Time time) noexcept {
    if (time > now_) now_ = time;
  }

 private:
  absl::Time now_ = absl::UnixEpoch();
};

// RealClock
//
// The wall clock (absl::Now()): for production embedding. Thread-safe.
class RealClock {
 public:
  [[nodiscard]] absl::Time Now() const noexcept { return absl::Now(); }
};

static_assert(Clock<ManualClock>);
static_assert(Clock<RealClock>);

}  // namespace enipool

#endif  // ENIPOOL_CLOCK_H_
