// -----------------------------------------------------------------------------
// File: driver.h
// -----------------------------------------------------------------------------
//
// A blocking driver: runs a sans-I/O `NodeController` against any `Backend`
// on the calling thread, for production embedding (one thread owning the
// node's controller) and for synchronous tests. Each request the controller
// emits is made with `Dispatch()` and its answer applied at once, so a
// create's attach is made right after the create returns, as the
// reference's synchronous loop does (docs/reference-behavior.md §4.3).
//
// Waiting is injected: the functions that wait (for a throttle back-off, the
// 2 s pause between detach and delete, the next pool check) take a
// `sleep_until(absl::Time)` callable. Production passes one that sleeps on
// the wall clock; tests pass one that advances a ManualClock, so nothing
// really sleeps.
//
// Example:
//
//   enipool::RealClock clock;
//   auto controller = enipool::NodeController<enipool::RealClock>::Create(clock, config);
//   MyAwsSdkBackend ec2;   // satisfies enipool::Backend
//   auto sleep_until = [&](absl::Time t) { absl::SleepFor(t - clock.Now()); };
//   ENIPOOL_RETURN_IF_ERROR(enipool::StartNode(*controller, ec2, clock, sleep_until));
//   enipool::RunPoolLoop(*controller, ec2, clock, sleep_until,
//                        [&] { return !shutting_down; });   // a pool check every 5 s
//
// Thread-safety: the driver calls the controller and the backend from the
// calling thread only; serialize pod ADD/DEL on the same controller with it.

#ifndef ENIPOOL_DRIVER_H_
#define ENIPOOL_DRIVER_H_

#include <cstddef>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "enipool/ec2/backend.h"
#include "enipool/clock.h"
#include "enipool/controller.h"

namespace enipool {

// DriveRequests()
//
// Makes every request in `requests`, first to last, applying each answer
// (at the clock's now) before the next call; follow-up requests that
// answers produce are appended and made too. Returns the number of calls
// made. An answer the controller rejects (a backend that returns the wrong
// kind of response) is returned as the error; the calls before it stand.
template <Clock C, Backend B, typename... Options>
absl::StatusOr<std::size_t> DriveRequests(NodeController<C, Options...>& controller, B& backend,
                                          const C& clock, std::vector<Ec2Request> requests) {
  std::size_t calls = 0;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const Ec2Request request = requests[i];  // a copy: OnResult may grow the vector
    const Ec2Result result = Dispatch(backend, request.call);
    ++calls;
    if (absl::Status s = controller.OnResult(request, result, clock.Now(), requests); !s.ok()) {
      return s;
    }
  }
  return calls;
}

// RunPoolCheck()
//
// One pool check made synchronously: Tick, then every call and follow-up,
// then, while the controller still has something scheduled (a throttled
// call to re-send, a delete after a detach, a retry), sleeps until it is
// due and sends it. Returns when the controller is idle again, with the
// number of calls made.
template <Clock C, Backend B, typename SleepUntil, typename... Options>
absl::StatusOr<std::size_t> RunPoolCheck(NodeController<C, Options...>& controller, B& backend,
                                         const C& clock, SleepUntil&& sleep_until) {
  std::size_t calls = 0;
  std::vector<Ec2Request> requests;
  controller.Tick(clock.Now(), requests);
  for (;;) {
    auto made = DriveRequests(controller, backend, clock, std::move(requests));
    if (!made.ok()) return made.status();
    calls += *made;
    requests.clear();
    if (!controller.busy()) return calls;
    const absl::Time wake = controller.NextWakeup();
    if (wake == absl::InfiniteFuture()) {
      // Busy with nothing scheduled: a request is outstanding that this
      // driver did not make (the caller mixed drivers). Do not spin.
      return absl::FailedPreconditionError(
          "controller has requests in flight that this driver did not make");
    }
    if (wake > clock.Now()) sleep_until(wake);
    controller.Tick(clock.Now(), requests);
  }
}

// StartNode()
//
// Startup (docs/reference-behavior.md §8.3): the instance describe, retried every
// ControllerConfig::start_retry until it succeeds or `max_attempts` tries
// have failed (UNAVAILABLE then), followed by one synchronous pool check,
// the reference's "pre-scaling" round.
template <Clock C, Backend B, typename SleepUntil, typename... Options>
absl::Status StartNode(NodeController<C, Options...>& controller, B& backend, const C& clock,
                       SleepUntil&& sleep_until, int max_attempts = 6) {
  for (int attempt = 1; !controller.started(); ++attempt) {
    std::vector<Ec2Request> requests;
    controller.Start(clock.Now(), requests);
    auto made = DriveRequests(controller, backend, clock, std::move(requests));
    if (!made.ok()) return made.status();
    // A throttled describe is re-sent by the controller after its back-off.
    while (!controller.started() && controller.busy()) {
      if (controller.NextWakeup() > clock.Now()) sleep_until(controller.NextWakeup());
      requests.clear();
      controller.Tick(clock.Now(), requests);
      made = DriveRequests(controller, backend, clock, std::move(requests));
      if (!made.ok()) return made.status();
    }
    if (controller.started()) break;
    if (attempt >= max_attempts) {
      return absl::UnavailableError(absl::StrCat("DescribeNetworkInterfaces for instance ",
                                                 controller.config().instance_id, " failed ",
                                                 attempt, " times; the node cannot start"));
    }
    sleep_until(controller.NextWakeup());
  }
  auto made = RunPoolCheck(controller, backend, clock, sleep_until);
  return made.ok() ? absl::OkStatus() : made.status();
}

// RunPoolLoop()
//
// The reference's manager loop (docs/reference-behavior.md §4.3): a pool check every
// `period` (5 s) while `keep_going()` is true. Returns the first error a
// pool check reports (only a misbehaving backend causes one).
template <Clock C, Backend B, typename SleepUntil, typename KeepGoing, typename... Options>
absl::Status RunPoolLoop(NodeController<C, Options...>& controller, B& backend, const C& clock,
                         SleepUntil&& sleep_until, KeepGoing&& keep_going,
                         absl::Duration period = absl::Seconds(5)) {
  while (keep_going()) {
    const absl::Time next = clock.Now() + period;
    auto made = RunPoolCheck(controller, backend, clock, sleep_until);
    if (!made.ok()) return made.status();
    if (next > clock.Now()) sleep_until(next);
  }
  return absl::OkStatus();
}

}  // namespace enipool

#endif  // ENIPOOL_DRIVER_H_
