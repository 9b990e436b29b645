// -----------------------------------------------------------------------------
// File: internal/token_bucket.h
// -----------------------------------------------------------------------------
//
// A token bucket in virtual time: `capacity` tokens, refilled continuously at
// `refill_per_second`, one token per admitted request. EC2 throttles each API
// action of an account this way (see ec2/throttle.h for the published sizes).
// Time comes in as an argument, so the bucket works under any Clock and never
// sleeps. Not part of the public API.

#ifndef ENIPOOL_INTERNAL_TOKEN_BUCKET_H_
#define ENIPOOL_INTERNAL_TOKEN_BUCKET_H_

#include <algorithm>

#include "absl/time/time.h"

namespace enipool::internal {

class TokenBucket {
 public:
  TokenBucket() = default;
  // Starts full at `now`, as an account that has made no calls.
  TokenBucket(double capacity, double refill_per_second, absl::Time now) noexcept
      : capacity_(capacity), refill_per_second_(refill_per_second), tokens_(capacity), last_(now) {}

  // Takes one token if there is one at `now`; false (nothing taken) if not.
  // A `now` earlier than the last refill is treated as the last refill time.
  bool TryTake(absl::Time now) noexcept {
    Refill(now);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

  // Tokens available at `now` (fractional: refill is continuous).
  [[nodiscard]] double Available(absl::Time now) const noexcept {
    TokenBucket copy = *this;
    copy.Refill(now);
    return copy.tokens_;
  }

  // How long from `now` until one token is available (zero if one is).
  [[nodiscard]] absl::Duration TimeUntilToken(absl::Time now) const noexcept {
    const double available = Available(now);
    if (available >= 1.0) return absl::ZeroDuration();
    if (refill_per_second_ <= 0.0) return absl::InfiniteDuration();
    return absl::Seconds((1.0 - available) / refill_per_second_);
  }

  [[nodiscard]] double capacity() const noexcept { return capacity_; }
  [[nodiscard]] double refill_per_second() const noexcept { return refill_per_second_; }

 private:
  void Refill(absl::Time now) noexcept {
    if (now <= last_) return;
    tokens_ =
        std::min(capacity_, tokens_ + absl::ToDoubleSeconds(now - last_) * refill_per_second_);
    last_ = now;
  }

  double capacity_ = 0.0;
  double refill_per_second_ = 0.0;
  double tokens_ = 0.0;
  absl::Time last_ = absl::InfinitePast();
};

}  // namespace enipool::internal

#endif  // ENIPOOL_INTERNAL_TOKEN_BUCKET_H_
