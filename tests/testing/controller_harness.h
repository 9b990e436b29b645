// -----------------------------------------------------------------------------
// File: testing/controller_harness.h
// -----------------------------------------------------------------------------
//
// Test helpers for NodeController against ec2::SimulatedEc2:
//   * `SimNode`: a clock, a simulated EC2 with one subnet and one instance,
//     and a controller for it, driven synchronously by driver.h;
//   * `AsyncLoop`: a tiny event loop where each request completes at
//     now + its sampled latency and the pool check runs every 5 s;
//   * `CheckNodeAgainstEc2()`: the invariants that tie the datastore to
//     what EC2 really gives the node.
// EC2's state is read through the simulator's own accessors (FindEni,
// eni_count), never through API calls, so checks are not throttled or
// faulted and do not disturb call counts.

#ifndef ENIPOOL_TESTING_CONTROLLER_HARNESS_H_
#define ENIPOOL_TESTING_CONTROLLER_HARNESS_H_

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "enipool/ec2/backend.h"
#include "enipool/clock.h"
#include "enipool/controller.h"
#include "enipool/driver.h"
#include "enipool/ipv4.h"
#include "enipool/ec2/simulated_ec2.h"
#include "enipool/status.h"

namespace enipool::testing {

inline constexpr absl::Duration kPoolCheckPeriod = absl::Seconds(5);

// What a SimNode looks like.
struct SimNodeSpec {
  AddressMode mode = AddressMode::kSecondaryIp;
  int max_enis = 3;
  int ipv4_per_eni = 10;
  int max_pods = 110;
  int warm_eni_target = 1;
  int warm_ip_target = 0;
  int minimum_ip_target = 0;
  int warm_prefix_target = 1;
  std::string subnet_cidr = "10.0.0.0/20";
  std::uint64_t seed = 7;
  bool zero_latency = true;
  bool throttling = false;
  // Limits the controller is told, when they should differ from EC2's.
  std::optional<int> controller_max_enis;
  // Changes to the controller's config beyond the fields above (ENI
  // classes, tags, subnet discovery, custom networking, reconciles).
  std::function<void(ControllerConfig&)> configure;
};

inline ControllerConfig MakeControllerConfig(const SimNodeSpec& spec) {
  ControllerConfig config;
  config.pool.mode = spec.mode;
  config.pool.max_enis = spec.controller_max_enis.value_or(spec.max_enis);
  config.pool.ipv4_per_eni = spec.ipv4_per_eni;
  config.pool.max_pods = spec.max_pods;
  config.pool.warm_eni_target = spec.warm_eni_target;
  config.pool.warm_ip_target = spec.warm_ip_target;
  config.pool.minimum_ip_target = spec.minimum_ip_target;
  config.pool.warm_prefix_target = spec.warm_prefix_target;
  config.instance_id = "i-node";
  config.subnet_id = "subnet-a";
  if (spec.configure) spec.configure(config);
  return config;
}

inline ec2::SimulatedEc2Options MakeEc2Options(const SimNodeSpec& spec) {
  ec2::SimulatedEc2Options options;
  options.seed = spec.seed;
  if (spec.zero_latency) options.latency = ec2::LatencyModel::Zero();
  if (!spec.throttling) options.throttle = ec2::ThrottleConfig::Disabled();
  return options;
}

// AddSpecNode()
//
// Adds the subnet ("subnet-a") and the instance ("i-node") that `spec`
// describes to a simulated EC2 and returns the instance's primary ENI. Every
// single-node harness starts this way.
template <typename SimulatedEc2Like>
absl::StatusOr<NetworkInterface> AddSpecNode(SimulatedEc2Like& ec2, const SimNodeSpec& spec) {
  ENIPOOL_RETURN_IF_ERROR(ec2.AddSubnet("subnet-a", *Ipv4Prefix::Parse(spec.subnet_cidr)));
  return ec2.AddInstance({.instance_id = "i-node",
                          .subnet_id = "subnet-a",
                          .max_enis = spec.max_enis,
                          .ipv4_per_eni = spec.ipv4_per_eni});
}

// One node on its own simulated EC2, driven synchronously, under `Policy`
// (SimNode: the reference's rules).
template <typename Policy>
class BasicSimNode {
 public:
  using Controller = NodeController<ManualClock, Policy>;

  explicit BasicSimNode(const SimNodeSpec& spec, Policy policy = Policy{})
      : spec_(spec),
        clock_(absl::FromUnixSeconds(1'700'000'000)),
        ec2_(clock_, MakeEc2Options(spec)) {
    auto primary = AddSpecNode(ec2_, spec);
    Require(primary.status());
    primary_ = *primary;
    auto controller =
        Controller::Create(clock_, MakeControllerConfig(spec), std::move(policy));
    Require(controller.status());
    controller_.emplace(*std::move(controller));
  }

  [[nodiscard]] ManualClock& clock() { return clock_; }
  [[nodiscard]] ec2::SimulatedEc2<ManualClock>& ec2() { return ec2_; }
  [[nodiscard]] Controller& controller() { return *controller_; }
  [[nodiscard]] NodeDatastore<ManualClock>& datastore() { return controller_->datastore(); }
  [[nodiscard]] const NetworkInterface& primary() const { return primary_; }
  [[nodiscard]] const SimNodeSpec& spec() const { return spec_; }

  // The sleep a driver is given: moves the virtual clock.
  [[nodiscard]] auto Sleeper() {
    return [this](absl::Time until) { clock_.SetTime(until); };
  }

  [[nodiscard]] absl::Status Start() { return StartNode(*controller_, ec2_, clock_, Sleeper()); }

  // One synchronous pool check, then the clock moves 5 s.
  absl::StatusOr<std::size_t> Check() {
    auto calls = RunPoolCheck(*controller_, ec2_, clock_, Sleeper());
    clock_.AdvanceTime(kPoolCheckPeriod);
    return calls;
  }

  // Pool checks until one makes no call (or `max_checks` ran).
  absl::Status Converge(int max_checks = 200) {
    for (int i = 0; i < max_checks; ++i) {
      auto calls = Check();
      if (!calls.ok()) return calls.status();
      if (*calls == 0 && !controller_->busy()) return absl::OkStatus();
    }
    return absl::DeadlineExceededError(
        absl::StrCat("no convergence after ", max_checks, " checks"));
  }

  // Adds pods "pod-<first>" … "pod-<first+count-1>"; returns how many got an address.
  int AddPods(int first, int count) {
    int ok = 0;
    for (int i = first; i < first + count; ++i) {
      ok += controller_->AddPod(Pod(i)).ok() ? 1 : 0;
    }
    return ok;
  }
  // Adds the pods one by one; when one finds no address, runs pool checks
  // until the pool has grown (as kubelet retries a failed ADD). Returns how
  // many got an address.
  int AddPodsWaiting(int first, int count, int max_checks_per_pod = 20) {
    int ok = 0;
    for (int i = first; i < first + count; ++i) {
      for (int check = 0; check <= max_checks_per_pod; ++check) {
        if (controller_->AddPod(Pod(i)).ok()) {
          ++ok;
          break;
        }
        if (!Check().ok()) return ok;
      }
    }
    return ok;
  }
  void DeletePods(int first, int count) {
    for (int i = first; i < first + count; ++i) (void)controller_->DeletePod(Pod(i));
  }
  static PodKey Pod(int i) { return PodKey{"aws-cni", absl::StrCat("pod-", i), "eth0"}; }

 private:
  // Setup of a test fixture must not fail.
  static void Require(const absl::Status& status) {
    REQUIRE_MESSAGE(status.ok(), status.ToString());
  }

  SimNodeSpec spec_;
  ManualClock clock_;
  ec2::SimulatedEc2<ManualClock> ec2_;
  NetworkInterface primary_;
  std::optional<Controller> controller_;
};
using SimNode = BasicSimNode<ReferencePolicy>;

// CheckNodeAgainstEc2()
//
// The invariants between a node's datastore and EC2:
//   * every ENI in the datastore exists in EC2, attached to the instance;
//   * every CIDR the datastore holds, EC2 gives to that ENI;
//   * no address is on two ENIs (the datastore refuses overlaps; checked
//     here over EC2's answer too);
//   * no ENI holds more CIDRs than its slots (ipv4_per_eni − 1);
//   * the datastore's own invariants hold;
// and, when the controller has started and is idle (nothing in flight or
// scheduled, so no answer can still change either side), the other way round:
//   * every ENI EC2 attaches to the node on the controller's network card is
//     in the datastore, or recorded by
//     the controller outside the pool (a detach that gave up);
//   * every secondary IP and prefix EC2 gives those ENIs is in the
//     datastore (none leaked), except those in `may_leak` (CIDRs whose
//     unassign failed: EC2 kept them; see AsyncLoop::failed_unassign_cidrs()).
template <Clock C, typename... Options>
absl::Status CheckNodeAgainstEc2(const NodeController<C, Options...>& controller,
                                 const ec2::SimulatedEc2<C>& ec2,
                                 const std::set<Ipv4Prefix>& may_leak = {}) {
  const auto& datastore = controller.pool();
  if (absl::Status s = datastore.CheckInvariants(); !s.ok()) return s;
  const int slots = controller.config().pool.ipv4_per_eni - 1;
  absl::flat_hash_set<std::uint32_t> seen;
  for (const EniView& view : datastore.EniViews()) {
    const NetworkInterface* nic = ec2.FindEni(view.id.view());
    if (nic == nullptr) {
      return absl::InternalError(
          absl::StrCat("datastore holds ENI ", view.id.view(), " which EC2 does not have"));
    }
    if (nic->instance_id != controller.config().instance_id || !nic->attached()) {
      return absl::InternalError(absl::StrCat("datastore holds ENI ", view.id.view(),
                                              " which is not attached to the node"));
    }
    if (view.cidrs > slots) {
      return absl::InternalError(absl::StrCat("ENI ", view.id.view(), " holds ", view.cidrs,
                                              " CIDRs, above its ", slots, " slots"));
    }
    if (static_cast<int>(nic->secondary_ips.size() + nic->prefixes.size()) > slots) {
      return absl::InternalError(absl::StrCat("EC2 ENI ", nic->id, " is above its slots"));
    }
    auto cidrs = datastore.Cidrs(view.id.view());
    if (!cidrs.ok()) return cidrs.status();
    for (const CidrView& c : *cidrs) {
      const bool given =
          c.cidr.length() == 28
              ? std::find(nic->prefixes.begin(), nic->prefixes.end(), c.cidr) != nic->prefixes.end()
              : std::find(nic->secondary_ips.begin(), nic->secondary_ips.end(), c.cidr.network()) !=
                    nic->secondary_ips.end();
      if (!given) {
        return absl::InternalError(absl::StrCat("datastore holds ", c.cidr.ToString(), " on ",
                                                nic->id, " which EC2 does not give it"));
      }
      for (std::uint64_t i = 0; i < c.cidr.size(); ++i) {
        if (!seen.insert(c.cidr.AddressAt(i).value()).second) {
          return absl::InternalError(
              absl::StrCat("address ", c.cidr.AddressAt(i).ToString(), " is on two ENIs"));
        }
      }
    }
  }
  if (!controller.started() || controller.busy()) return absl::OkStatus();
  for (const NetworkInterface& nic : ec2.AttachedEnis(controller.config().instance_id)) {
    // Another network card's ENIs belong to that card's controller.
    if (nic.network_card_index != controller.config().network_card) continue;
    auto cidrs = datastore.Cidrs(nic.id);
    if (!cidrs.ok()) {
      const bool recorded_outside =
          std::any_of(controller.enis().begin(), controller.enis().end(),
                      [&](const ManagedEni& e) { return e.id == nic.id && !e.in_pool; });
      if (recorded_outside) continue;
      return absl::InternalError(absl::StrCat("EC2 attaches ENI ", nic.id,
                                              " to the node, which neither the datastore nor "
                                              "the controller knows (leaked)"));
    }
    std::set<Ipv4Prefix> held;
    for (const CidrView& c : *cidrs) held.insert(c.cidr);
    std::vector<Ipv4Prefix> given(nic.prefixes.begin(), nic.prefixes.end());
    for (Ipv4Address ip : nic.secondary_ips) {
      if (ip != nic.primary_ip) given.push_back(Ipv4Prefix::FromAddress(ip));
    }
    for (const Ipv4Prefix& cidr : given) {
      if (held.contains(cidr) || may_leak.contains(cidr)) continue;
      return absl::InternalError(absl::StrCat("EC2 gives ", nic.id, " ", cidr.ToString(),
                                              ", which the datastore lacks (leaked)"));
    }
  }
  return absl::OkStatus();
}

// AsyncLoop
//
// Drives one controller against a SimulatedEc2 in virtual time: a request is
// made when the controller emits it (EC2 acts then) and its answer is
// applied at now + the call's sampled latency; the pool check runs every
// 5 s; scheduled retries are sent when due.
class AsyncLoop {
 public:
  AsyncLoop(ManualClock& clock, NodeController<ManualClock>& controller,
            ec2::SimulatedEc2<ManualClock>& ec2)
      : clock_(clock), controller_(controller), ec2_(ec2), next_tick_(clock.Now()) {}

  // Runs until `until` (inclusive). Returns the first error OnResult reports.
  absl::Status RunUntil(absl::Time until) {
    for (;;) {
      absl::Time next = std::min(next_tick_, controller_.NextWakeup());
      for (const InFlight& f : in_flight_) next = std::min(next, f.at);
      if (next > until) break;
      clock_.SetTime(next);
      const absl::Time now = clock_.Now();
      // Answers due now, in the order they were sent.
      std::vector<InFlight> due;
      for (auto it = in_flight_.begin(); it != in_flight_.end();) {
        if (it->at <= now) {
          due.push_back(std::move(*it));
          it = in_flight_.erase(it);
        } else {
          ++it;
        }
      }
      std::sort(due.begin(), due.end(), [](const InFlight& a, const InFlight& b) {
        return std::tie(a.at, a.seq) < std::tie(b.at, b.seq);
      });
      for (const InFlight& f : due) {
        std::vector<Ec2Request> follow;
        if (absl::Status s = controller_.OnResult(f.request, f.result, now, follow); !s.ok()) {
          return s;
        }
        Send(follow);
      }
      if (now >= next_tick_ || controller_.NextWakeup() <= now) {
        std::vector<Ec2Request> requests;
        controller_.Tick(now, requests);
        Send(requests);
        if (now >= next_tick_) next_tick_ = now + kPoolCheckPeriod;
      }
    }
    clock_.SetTime(until);
    return absl::OkStatus();
  }

  [[nodiscard]] std::size_t in_flight() const { return in_flight_.size(); }

  // CIDRs EC2 still gives the node because an unassign of them failed (and
  // none succeeded since): the only leaks CheckNodeAgainstEc2() may allow.
  [[nodiscard]] const std::set<Ipv4Prefix>& failed_unassign_cidrs() const {
    return failed_unassign_cidrs_;
  }
  // Unassign answers that failed: all, and those EC2 throttled (which the
  // controller may retry rather than count as an unassign failure).
  [[nodiscard]] std::int64_t failed_unassigns() const { return failed_unassigns_; }
  [[nodiscard]] std::int64_t throttled_unassigns() const { return throttled_unassigns_; }

 private:
  struct InFlight {
    absl::Time at;
    std::uint64_t seq = 0;
    Ec2Request request;
    Ec2Result result;
  };

  void Send(const std::vector<Ec2Request>& requests) {
    for (const Ec2Request& request : requests) {
      Ec2Result result = ec2_.Call(request.call);
      NoteUnassign(request.call, result);
      const absl::Duration latency = ec2_.SampleLatency(request.call);
      in_flight_.push_back(InFlight{clock_.Now() + latency, seq_++, request, std::move(result)});
    }
  }

  void NoteUnassign(const Ec2Call& call, const Ec2Result& result) {
    std::vector<Ipv4Prefix> cidrs;
    if (const auto* ips = std::get_if<UnassignPrivateIpAddressesRequest>(&call)) {
      for (Ipv4Address ip : ips->addresses) cidrs.push_back(Ipv4Prefix::FromAddress(ip));
    } else if (const auto* prefixes = std::get_if<UnassignIpv4PrefixesRequest>(&call)) {
      cidrs = prefixes->prefixes;
    } else {
      return;
    }
    if (result.ok()) {
      for (const Ipv4Prefix& cidr : cidrs) failed_unassign_cidrs_.erase(cidr);
      return;
    }
    ++failed_unassigns_;
    if (result.error_code() == Ec2ErrorCode::kRequestLimitExceeded) ++throttled_unassigns_;
    failed_unassign_cidrs_.insert(cidrs.begin(), cidrs.end());
  }

  ManualClock& clock_;
  NodeController<ManualClock>& controller_;
  ec2::SimulatedEc2<ManualClock>& ec2_;
  std::set<Ipv4Prefix> failed_unassign_cidrs_;
  std::int64_t failed_unassigns_ = 0;
  std::int64_t throttled_unassigns_ = 0;
  absl::Time next_tick_;
  std::uint64_t seq_ = 0;
  std::vector<InFlight> in_flight_;
};

}  // namespace enipool::testing

#endif  // ENIPOOL_TESTING_CONTROLLER_HARNESS_H_
