// A node for warm-pool tests: a real NodeDatastore plus what EC2 would do
// with a ReconcilePlan when every call succeeds. Step() runs one pool check
// (plan, apply, advance the clock 5 s), so tests can iterate PlanReconcile
// until the pool settles and look at where it settled.

#ifndef ENIPOOL_TESTS_TESTING_WARM_POOL_DRIVER_H_
#define ENIPOOL_TESTS_TESTING_WARM_POOL_DRIVER_H_

#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/datastore.h"
#include "enipool/ipv4.h"
#include "enipool/pod_key.h"
#include "enipool/policy/warm_pool.h"

namespace enipool::testing {

class PoolDriver {
 public:
  explicit PoolDriver(const WarmPoolConfig& config, Placement placement = Placement::kBestFit)
      : config_(config),
        clock_(absl::UnixEpoch() + absl::Hours(1)),
        datastore_(config.mode, clock_, config.ip_cooldown, placement) {
    primary_ = AddEni(/*primary=*/true);
  }

  [[nodiscard]] const WarmPoolConfig& config() const { return config_; }
  [[nodiscard]] NodeDatastore<ManualClock>& datastore() { return datastore_; }
  [[nodiscard]] ManualClock& clock() { return clock_; }
  [[nodiscard]] const std::string& primary() const { return primary_; }

  // Attaches an ENI with no CIDRs at the lowest free device number.
  std::string AddEni(bool primary = false, bool excluded = false) {
    int device = 0;
    while (devices_.count(device) != 0) ++device;
    devices_.insert(device);
    const std::string id = absl::StrCat("eni-", next_eni_++);
    REQUIRE(
        datastore_
            .AddEni({.id = id, .device_number = device, .primary = primary, .excluded = excluded})
            .ok());
    device_of_.emplace_back(id, device);
    return id;
  }

  // Adds `n` fresh CIDRs of the config's mode to `eni`.
  void AddCidrs(const std::string& eni, int n) {
    for (int i = 0; i < n; ++i) REQUIRE(datastore_.AddCidr(eni, NextCidr()).ok());
  }

  [[nodiscard]] ReconcileInputs Inputs() const {
    ReconcileInputs inputs;
    inputs.stats = datastore_.Stats();
    inputs.enis = datastore_.EniViews();
    inputs.free_cidrs = FreeCidrsOf(datastore_, inputs.enis);
    inputs.now = clock_.Now();
    if (last_decrease_.has_value()) inputs.since_last_decrease = clock_.Now() - *last_decrease_;
    if (last_insufficient_.has_value()) {
      inputs.since_insufficient_addresses = clock_.Now() - *last_insufficient_;
    }
    inputs.unmanaged_enis = unmanaged_enis;
    inputs.node_schedulable = node_schedulable;
    return inputs;
  }

  // One pool check: plan, apply the plan as EC2 would, advance 5 s.
  ReconcilePlan Step() {
    ReconcilePlan plan = PlanReconcile(config_, Inputs());
    Apply(plan);
    clock_.AdvanceTime(absl::Seconds(5));
    return plan;
  }

  void Apply(const ReconcilePlan& plan) {
    if (plan.increase.has_value()) {
      const std::string eni =
          plan.increase->eni.has_value() ? plan.increase->eni->ToString() : AddEni();
      REQUIRE(plan.increase->count >= 1);
      AddCidrs(eni, plan.increase->count);
      (plan.increase->eni.has_value() ? cidr_increases : eni_creations) += 1;
    }
    for (const CidrRelease& release : plan.releases) {
      for (const Ipv4Prefix& cidr : release.cidrs) {
        REQUIRE(datastore_.RemoveCidr(release.eni.view(), cidr, /*force=*/false).ok());
        ++cidrs_released;
      }
    }
    if (plan.too_high && !plan.decrease_throttled) last_decrease_ = clock_.Now();
    if (plan.free_eni.has_value()) {
      REQUIRE(datastore_.RemoveEni(plan.free_eni->view(), /*force=*/false).ok());
      for (auto it = device_of_.begin(); it != device_of_.end(); ++it) {
        if (it->first == plan.free_eni->view()) {
          devices_.erase(it->second);
          device_of_.erase(it);
          break;
        }
      }
      ++enis_freed;
    }
  }

  // Steps until `quiet` plans in a row ask for nothing (long enough for the
  // 30 s throttle and the 60 s ENI age to pass). Returns the steps taken;
  // fails the test if the pool has not settled after `max_steps`.
  int Settle(int max_steps = 400, int quiet = 30) {
    int calm = 0;
    for (int step = 1; step <= max_steps; ++step) {
      calm = Step().empty() ? calm + 1 : 0;
      if (calm >= quiet) return step;
    }
    FAIL("the pool did not settle: " << datastore_.Stats().ToString());
    return -1;
  }

  absl::Status TryAddPod() {
    const PodKey pod{"aws-cni", absl::StrCat("sandbox-", next_pod_++), "eth0"};
    absl::StatusOr<Assignment> a = datastore_.Assign(pod);
    if (!a.ok()) return a.status();
    pods_.push_back(pod);
    return absl::OkStatus();
  }
  void AddPods(int n) {
    for (int i = 0; i < n; ++i) REQUIRE(TryAddPod().ok());
  }
  // Deletes the `n` most recent pods (their addresses cool down).
  void RemovePods(int n) {
    for (int i = 0; i < n; ++i) {
      REQUIRE(!pods_.empty());
      REQUIRE(datastore_.Release(pods_.back()).ok());
      pods_.pop_back();
    }
  }

  void RecordInsufficientAddresses() { last_insufficient_ = clock_.Now(); }

  [[nodiscard]] int enis() const { return datastore_.Stats().enis; }
  [[nodiscard]] std::int64_t total_ips() const { return datastore_.Stats().total_ips; }
  [[nodiscard]] std::int64_t prefixes() const { return datastore_.Stats().total_prefixes; }
  [[nodiscard]] std::size_t pods() const { return pods_.size(); }

  int unmanaged_enis = 0;
  bool node_schedulable = true;
  int cidr_increases = 0;
  int eni_creations = 0;
  int cidrs_released = 0;
  int enis_freed = 0;

 private:
  Ipv4Prefix NextCidr() {
    if (config_.mode == AddressMode::kPrefix) {
      return Ipv4Prefix::Containing(Ipv4Address(0x0A400000u + 16u * next_cidr_++), 28);
    }
    return Ipv4Prefix::FromAddress(Ipv4Address(0x0A000001u + next_cidr_++));
  }

  WarmPoolConfig config_;
  ManualClock clock_;
  NodeDatastore<ManualClock> datastore_;
  std::string primary_;
  std::set<int> devices_;
  std::vector<std::pair<std::string, int>> device_of_;
  std::vector<PodKey> pods_;
  std::optional<absl::Time> last_decrease_;
  std::optional<absl::Time> last_insufficient_;
  int next_eni_ = 0;
  std::uint32_t next_cidr_ = 0;
  int next_pod_ = 0;
};

}  // namespace enipool::testing

#endif  // ENIPOOL_TESTS_TESTING_WARM_POOL_DRIVER_H_
