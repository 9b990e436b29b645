// -----------------------------------------------------------------------------
// File: testing/durable_node.h
// -----------------------------------------------------------------------------
//
// A node whose controller runs on a JournaledDatastore kept in a
// MemoryFileSystem, against a SimulatedEc2 that outlives the controller: a
// test can drop the controller at any point (a crash: whatever the journal
// holds stays, nothing else) and build a new one from the journal (a
// restart), while EC2 keeps its state.
//
// Example:
//
//   enipool::testing::DurableNode node({.mode = enipool::AddressMode::kPrefix});
//   REQUIRE(node.Restart().ok());          // opens the journal, creates the controller
//   REQUIRE(node.StartAndConverge().ok());
//   node.controller().AddPod(pod);
//   node.Crash();                          // the controller is gone, EC2 and the file stay
//   REQUIRE(node.Restart().ok());          // replays the journal

#ifndef ENIPOOL_TESTS_TESTING_DURABLE_NODE_H_
#define ENIPOOL_TESTS_TESTING_DURABLE_NODE_H_

#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <vector>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/controller.h"
#include "enipool/driver.h"
#include "enipool/ec2/simulated_ec2.h"
#include "enipool/persist/journal.h"
#include "enipool/status.h"
#include "testing/controller_harness.h"
#include "testing/memory_file_system.h"

namespace enipool::testing {

using JournaledStore = JournaledDatastore<ManualClock>;
using DurableController = NodeController<ManualClock, ReferencePolicy, JournaledStore>;

class DurableNode {
 public:
  explicit DurableNode(const SimNodeSpec& spec, SyncPolicy sync = SyncPolicy::kNone)
      : spec_(spec),
        clock_(absl::FromUnixSeconds(1'700'000'000)),
        ec2_(clock_, MakeEc2Options(spec)),
        config_(MakeControllerConfig(spec)),
        sync_(sync) {
    auto primary = AddSpecNode(ec2_, spec);
    REQUIRE(primary.ok());
    primary_ = *primary;
  }

  [[nodiscard]] ManualClock& clock() { return clock_; }
  [[nodiscard]] ec2::SimulatedEc2<ManualClock>& ec2() { return ec2_; }
  [[nodiscard]] MemoryFileSystem& fs() { return fs_; }
  [[nodiscard]] ControllerConfig& config() { return config_; }
  [[nodiscard]] DurableController& controller() { return *controller_; }
  [[nodiscard]] bool running() const { return controller_.has_value(); }
  [[nodiscard]] const NetworkInterface& primary() const { return primary_; }
  [[nodiscard]] auto Sleeper() {
    return [this](absl::Time until) { clock_.SetTime(until); };
  }

  [[nodiscard]] JournaledStore::Options StoreOptions() {
    JournaledStore::Options options;
    options.mode = config_.pool.mode;
    options.ip_cooldown = config_.pool.ip_cooldown;
    options.placement = config_.placement;
    options.journal.sync = sync_;
    options.journal.file_system = &fs_;
    return options;
  }

  // Drops the controller: only the journal (and EC2) remain.
  void Crash() { controller_.reset(); }

  // Crash() if running, then a new controller from the journal. Request ids
  // continue from a high base so answers meant for the old controller are
  // never mistaken for the new one's.
  absl::Status Restart() {
    Crash();
    ENIPOOL_ASSIGN_OR_RETURN(JournaledStore store,
                             JournaledStore::Open("/journal", clock_, StoreOptions()));
    ControllerConfig config = config_;
    config.first_request_id = ++generation_ * 1'000'000;
    ENIPOOL_ASSIGN_OR_RETURN(DurableController controller,
                             DurableController::Create(std::move(config), std::move(store)));
    controller_.emplace(std::move(controller));
    return absl::OkStatus();
  }

  absl::Status Start() { return StartNode(*controller_, ec2_, clock_, Sleeper()); }

  absl::StatusOr<std::size_t> Check() {
    auto calls = RunPoolCheck(*controller_, ec2_, clock_, Sleeper());
    clock_.AdvanceTime(kPoolCheckPeriod);
    return calls;
  }

  absl::Status Converge(int max_checks = 200) {
    for (int i = 0; i < max_checks; ++i) {
      ENIPOOL_ASSIGN_OR_RETURN(std::size_t calls, Check());
      if (calls == 0 && !controller_->busy()) return absl::OkStatus();
    }
    return absl::DeadlineExceededError(absl::StrCat("no convergence after ", max_checks, " checks"));
  }

  absl::Status StartAndConverge() {
    ENIPOOL_RETURN_IF_ERROR(Start());
    return Converge();
  }

  // A crash point: the controller stops at EC2 call number `call` (counted
  // over the node's life, from 1), either before the call reaches EC2
  // (`after_ec2` false) or after EC2 has acted on it but before its answer
  // reaches the controller. 0 = never.
  struct CrashPoint {
    std::uint64_t call = 0;
    bool after_ec2 = false;
  };
  void set_crash_point(CrashPoint point) { crash_ = point; }
  [[nodiscard]] std::uint64_t calls() const { return calls_; }
  [[nodiscard]] int crashes() const { return crashes_; }

  // One round as an agent runs it: the startup describe if the controller
  // has not started, else a pool check; then every request and follow-up,
  // sleeping (moving the clock) to scheduled retries, until the controller
  // is idle. True if the crash point was reached (the controller is gone).
  absl::StatusOr<bool> Round() {
    std::vector<Ec2Request> requests;
    if (controller_->started()) {
      controller_->Tick(clock_.Now(), requests);
    } else {
      controller_->Start(clock_.Now(), requests);
    }
    for (;;) {
      for (std::size_t i = 0; i < requests.size(); ++i) {
        const Ec2Request request = requests[i];
        ++calls_;
        if (calls_ == crash_.call && !crash_.after_ec2) return CrashNow();
        const Ec2Result result = Dispatch(ec2_, request.call);
        if (calls_ == crash_.call) return CrashNow();
        ENIPOOL_RETURN_IF_ERROR(controller_->OnResult(request, result, clock_.Now(), requests));
      }
      requests.clear();
      if (!controller_->busy()) return false;
      const absl::Time wake = controller_->NextWakeup();
      if (wake == absl::InfiniteFuture()) return absl::InternalError("busy with nothing scheduled");
      if (wake > clock_.Now()) clock_.SetTime(wake);
      controller_->Tick(clock_.Now(), requests);
    }
  }

 private:
  SimNodeSpec spec_;
  ManualClock clock_;
  ec2::SimulatedEc2<ManualClock> ec2_;
  ControllerConfig config_;
  SyncPolicy sync_;
  MemoryFileSystem fs_;
  NetworkInterface primary_;
  std::optional<DurableController> controller_;
  std::uint64_t generation_ = 0;
  CrashPoint crash_;
  std::uint64_t calls_ = 0;
  int crashes_ = 0;

  bool CrashNow() {
    Crash();
    ++crashes_;
    return true;
  }
};

}  // namespace enipool::testing

#endif  // ENIPOOL_TESTS_TESTING_DURABLE_NODE_H_
