// -----------------------------------------------------------------------------
// File: ec2/fault_plan.h
// -----------------------------------------------------------------------------
//
// `FaultPlan`: scripted EC2 failures for the simulator. Three kinds of rule:
//
//   * "the Nth call of X fails with Y"        FailNthCall(X, N, Y)
//   * "calls of X in [t1, t2) fail with Y"     FailCallsBetween(X, t1, t2, Y)
//                                              (ThrottleBetween: Y = RequestLimitExceeded)
//   * "the process stops after call N"         CrashAfterCall(N), read back with
//                                              ShouldCrashAfter(call_count)
//
// N counts every call the simulator receives, 1-based, including calls that
// fail (by a fault or by throttling): the Nth call is the Nth attempt. A
// faulted call fails before it touches any state. When several rules match,
// the one added first wins. The crash rule does not fail anything: the
// simulator answers call N normally, and the harness, which asks
// ShouldCrashAfter() after each call, drops that answer and restarts the node
// (the window where EC2 has acted and the node has not heard).
//
// Example:
//
//   enipool::ec2::FaultPlan plan;
//   plan.FailNthCall(enipool::ec2::CallKind::kAssignIpv4Prefixes, 3,
//                    enipool::Ec2Error(enipool::Ec2ErrorCode::kInsufficientCidrBlocks, "scripted"))
//       .ThrottleBetween(enipool::ec2::CallKind::kAttachNetworkInterface,
//                        start + absl::Seconds(10), start + absl::Seconds(20))
//       .CrashAfterCall(40);

#ifndef ENIPOOL_EC2_FAULT_PLAN_H_
#define ENIPOOL_EC2_FAULT_PLAN_H_

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "enipool/ec2/backend.h"
#include "enipool/ec2/ec2_api.h"

namespace enipool::ec2 {

// FaultRule
//
// One scripted failure. `kind` empty means any call. For an Nth-call rule
// `nth` ≥ 1 counts calls of `kind` (or all calls); for a window rule
// [from, until) bounds the simulated time.
struct FaultRule {
  std::optional<CallKind> kind;
  std::uint64_t nth = 0;  // 0: a window rule
  absl::Time from = absl::InfinitePast();
  absl::Time until = absl::InfinitePast();
  absl::Status error;
};

// FaultPlan
//
// A list of rules plus an optional crash point. A value type; the simulator
// keeps a copy. Checking a call is O(number of rules).
class FaultPlan {
 public:
  FaultPlan() = default;

  // FaultPlan::FailNthCall()
  //
  // The `nth` (1-based) call of `kind` fails with `error`.
  FaultPlan& FailNthCall(CallKind kind, std::uint64_t nth, absl::Status error) {
    rules_.push_back(
        FaultRule{kind, nth, absl::InfinitePast(), absl::InfinitePast(), std::move(error)});
    return *this;
  }

  // FaultPlan::FailNthCallOfAnyKind()
  //
  // The `nth` (1-based) call, whatever its kind, fails with `error`.
  FaultPlan& FailNthCallOfAnyKind(std::uint64_t nth, absl::Status error) {
    rules_.push_back(
        FaultRule{std::nullopt, nth, absl::InfinitePast(), absl::InfinitePast(), std::move(error)});
    return *this;
  }

  // FaultPlan::FailCallsBetween()
  //
  // Every call of `kind` made at a time in [from, until) fails with `error`.
  FaultPlan& FailCallsBetween(CallKind kind, absl::Time from, absl::Time until,
                              absl::Status error) {
    rules_.push_back(FaultRule{kind, 0, from, until, std::move(error)});
    return *this;
  }

  // FaultPlan::FailAllCallsBetween()
  //
  // Every call made at a time in [from, until) fails with `error`.
  FaultPlan& FailAllCallsBetween(absl::Time from, absl::Time until, absl::Status error) {
    rules_.push_back(FaultRule{std::nullopt, 0, from, until, std::move(error)});
    return *this;
  }

  // FaultPlan::ThrottleBetween()
  //
  // Calls of `kind` in [from, until) answer RequestLimitExceeded.
  FaultPlan& ThrottleBetween(CallKind kind, absl::Time from, absl::Time until) {
    return FailCallsBetween(kind, from, until,
                            Ec2Error(Ec2ErrorCode::kRequestLimitExceeded, "scripted throttle"));
  }

  // FaultPlan::CrashAfterCall()
  //
  // The process under test stops right after the `call_count`-th call
  // (1-based, all kinds) has been answered.
  FaultPlan& CrashAfterCall(std::uint64_t call_count) {
    crash_after_ = call_count;
    return *this;
  }

  // FaultPlan::FaultFor()
  //
  // The scripted error for a call of `kind` that is the `nth_of_kind`-th
  // call of its kind and the `nth_overall`-th call, made at `now`; nullopt
  // if no rule matches.
  [[nodiscard]] std::optional<absl::Status> FaultFor(CallKind kind, std::uint64_t nth_of_kind,
                                                     std::uint64_t nth_overall,
                                                     absl::Time now) const {
    for (const FaultRule& rule : rules_) {
      if (rule.kind.has_value() && *rule.kind != kind) continue;
      if (rule.nth != 0) {
        if (rule.nth == (rule.kind.has_value() ? nth_of_kind : nth_overall)) return rule.error;
      } else if (rule.from <= now && now < rule.until) {
        return rule.error;
      }
    }
    return std::nullopt;
  }

  // FaultPlan::ShouldCrashAfter()
  //
  // True once `call_count` calls have been answered and the plan says the
  // process stops at or before that point.
  [[nodiscard]] bool ShouldCrashAfter(std::uint64_t call_count) const noexcept {
    return crash_after_.has_value() && call_count >= *crash_after_;
  }

  [[nodiscard]] std::optional<std::uint64_t> crash_after() const noexcept { return crash_after_; }
  [[nodiscard]] const std::vector<FaultRule>& rules() const noexcept { return rules_; }
  [[nodiscard]] bool empty() const noexcept { return rules_.empty() && !crash_after_.has_value(); }

  // FaultPlan::Clear()
  //
  // Drops every rule and the crash point ("faults stop").
  void Clear() noexcept {
    rules_.clear();
    crash_after_.reset();
  }

 private:
  std::vector<FaultRule> rules_;
  std::optional<std::uint64_t> crash_after_;
};

}  // namespace enipool::ec2

#endif  // ENIPOOL_EC2_FAULT_PLAN_H_
