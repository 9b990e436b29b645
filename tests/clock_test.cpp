#include "enipool/clock.h"

#include <doctest/doctest.h>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace {

// Concept accept/reject: one correct type, one type per way of getting Now() wrong.
struct Correct {
  absl::Time Now() const { return absl::UnixEpoch(); }
};
struct WrongReturnType {
  absl::Duration Now() const { return absl::ZeroDuration(); }
};
struct ReturnsInt64 {
  long long Now() const { return 0; }
};
struct NonConstNow {
  absl::Time Now() { return absl::UnixEpoch(); }
};
struct MissingNow {
  absl::Time Later() const { return absl::UnixEpoch(); }
};
struct NowIsData {
  absl::Time Now;
};
struct NowTakesArgument {
  absl::Time Now(int) const { return absl::UnixEpoch(); }
};
struct ReturnsReference {
  const absl::Time& Now() const { return time; }
  absl::Time time;
};

static_assert(enipool::Clock<Correct>);
static_assert(enipool::Clock<enipool::ManualClock>);
static_assert(enipool::Clock<enipool::RealClock>);
static_assert(!enipool::Clock<WrongReturnType>);
static_assert(!enipool::Clock<ReturnsInt64>);
static_assert(!enipool::Clock<NonConstNow>);
static_assert(!enipool::Clock<MissingNow>);
static_assert(!enipool::Clock<NowIsData>);
static_assert(!enipool::Clock<NowTakesArgument>);
static_assert(!enipool::Clock<ReturnsReference>);  // must be exactly absl::Time
static_assert(!enipool::Clock<int>);

TEST_CASE("ManualClock starts at the Unix epoch or at the time given") {
  CHECK(enipool::ManualClock().Now() == absl::UnixEpoch());
  const absl::Time start = absl::FromUnixSeconds(1'700'000'000);
  CHECK(enipool::ManualClock(start).Now() == start);
}

TEST_CASE("ManualClock moves only when told, and never backwards") {
  enipool::ManualClock clock;
  const absl::Time t0 = clock.Now();
  CHECK(clock.Now() == t0);

  clock.AdvanceTime(absl::Seconds(31));
  CHECK(clock.Now() == t0 + absl::Seconds(31));
  clock.AdvanceTime(absl::Nanoseconds(1));
  CHECK(clock.Now() == t0 + absl::Seconds(31) + absl::Nanoseconds(1));

  clock.AdvanceTime(-absl::Seconds(5));  // ignored
  CHECK(clock.Now() == t0 + absl::Seconds(31) + absl::Nanoseconds(1));
  clock.AdvanceTime(absl::ZeroDuration());
  CHECK(clock.Now() == t0 + absl::Seconds(31) + absl::Nanoseconds(1));

  clock.SetTime(t0 + absl::Seconds(100));
  CHECK(clock.Now() == t0 + absl::Seconds(100));
  clock.SetTime(t0);  // in the past: ignored
  CHECK(clock.Now() == t0 + absl::Seconds(100));
}

TEST_CASE("RealClock reads the wall clock") {
  const enipool::RealClock clock;
  // Not a timing assertion: only that it is the wall clock, not the epoch.
  CHECK(clock.Now() > absl::FromCivil(absl::CivilDay(2020, 1, 1), absl::UTCTimeZone()));
}

}  // namespace
