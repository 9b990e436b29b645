// -----------------------------------------------------------------------------
// File: ec2/aws/retry.h
// -----------------------------------------------------------------------------
//
// The AWS SDKs' "standard" retry mode, as a value the EC2 client applies:
//   * what is retried: throttling codes (RequestLimitExceeded, Throttling,
//     ThrottlingException, ...), transient failures (HTTP 500/502/503/504,
//     RequestTimeout, connection errors) and read timeouts; nothing else;
//   * at most 3 attempts;
//   * before attempt n+1, a back-off of rand[0,1) × 2^(n-1) s, capped at
//     20 s (full jitter);
//   * a retry quota shared by every call of a client: 500 units, a retry
//     takes 5 (10 after a timeout), a call that succeeds gives back what
//     its retries took, or 1 if it needed none; with the quota empty,
//     failures are returned at once.
// Part of the opt-in target enipool::aws.
//
// Example:
//
//   enipool::ec2::aws::RetryQuota quota;
//   std::mt19937_64 rng(1);
//   RetryKind kind = ClassifyRetry(status, http_status);
//   if (kind != RetryKind::kNone && attempt < options.max_attempts && quota.Acquire(kind)) {
//     sleep(RetryBackoff(options, attempt, rng));
//   }

#ifndef ENIPOOL_EC2_AWS_RETRY_H_
#define ENIPOOL_EC2_AWS_RETRY_H_

#include <algorithm>
#include <cstdint>
#include <random>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace enipool::ec2::aws {

// RetryOptions
struct RetryOptions {
  int max_attempts = 3;
  absl::Duration base = absl::Seconds(1);
  absl::Duration max_backoff = absl::Seconds(20);
  int quota = 500;
  int retry_cost = 5;
  int timeout_retry_cost = 10;
  int no_retry_increment = 1;
};

// RetryKind
enum class RetryKind { kNone, kThrottling, kTransient, kTimeout };

// ErrorCodeOf()
//
// The code that leads a status message ("RequestLimitExceeded: ...").
inline absl::string_view ErrorCodeOf(const absl::Status& status) {
  const absl::string_view message = status.message();
  return message.substr(0, message.find(':'));
}

// ClassifyRetry()
//
// Whether a failed attempt (`status`, and the HTTP status when there was an
// answer, else 0) may be retried, and why.
inline RetryKind ClassifyRetry(const absl::Status& status, int http_status) {
  if (status.ok()) return RetryKind::kNone;
  const absl::string_view code = ErrorCodeOf(status);
  for (absl::string_view throttling :
       {"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException",
        "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
        "LimitExceededException", "RequestThrottled", "SlowDown", "EC2ThrottledException"}) {
    if (code == throttling) return RetryKind::kThrottling;
  }
  if (code == "ReadTimeout") return RetryKind::kTimeout;
  if (code == "ConnectionError" || code == "RequestTimeout" || code == "RequestTimeoutException" ||
      code == "PriorRequestNotComplete") {
    return RetryKind::kTransient;
  }
  if (http_status == 500 || http_status == 502 || http_status == 503 || http_status == 504) {
    return RetryKind::kTransient;
  }
  return RetryKind::kNone;
}

// RetryBackoff()
//
// How long to wait before the attempt after `attempt` (1-based).
inline absl::Duration RetryBackoff(const RetryOptions& options, int attempt,
                                   std::mt19937_64& rng) {
  const double unit = static_cast<double>(rng() >> 11) * 0x1.0p-53;  // [0, 1)
  const absl::Duration ceiling = options.base * static_cast<double>(std::int64_t{1} << std::min(attempt - 1, 30));
  return std::min(ceiling * unit, options.max_backoff);
}

// RetryQuota
//
// The retry token bucket of one client. Thread-safe.
class RetryQuota {
 public:
  explicit RetryQuota(const RetryOptions& options = {})
      : options_(options), available_(options.quota) {}

  // RetryQuota::Acquire()
  //
  // Takes the cost of one retry of `kind`; false (nothing taken) when the
  // quota cannot pay it. Returns the units taken through `taken`.
  bool Acquire(RetryKind kind, int* taken) {
    const int cost = kind == RetryKind::kTimeout ? options_.timeout_retry_cost : options_.retry_cost;
    absl::MutexLock lock(&mutex_);
    if (available_ < cost) return false;
    available_ -= cost;
    *taken = cost;
    return true;
  }

  // RetryQuota::OnSuccess()
  //
  // A call succeeded after its retries took `taken` units (0: no retry).
  void OnSuccess(int taken) {
    absl::MutexLock lock(&mutex_);
    available_ = std::min(options_.quota,
                          available_ + (taken > 0 ? taken : options_.no_retry_increment));
  }

  [[nodiscard]] int available() const {
    absl::MutexLock lock(&mutex_);
    return available_;
  }

 private:
  RetryOptions options_;
  mutable absl::Mutex mutex_;
  int available_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace enipool::ec2::aws

#endif  // ENIPOOL_EC2_AWS_RETRY_H_
