// A warm-pool policy of your own, written once and run unchanged in two
// places: a simulated 20-node cluster (compared with the reference's rules)
// and a node controller driven against the simulated EC2, as an agent would
// run it. Run it bare:
//
//   ./enipool_example_custom_policy
//
// The policy: keep free a tenth of the node's pods plus two — more warm
// addresses on a busy node, few on an idle one. It reuses the reference's
// rules with WARM_IP_TARGET set per pool check.

#include <cstdio>
#include <iostream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/controller.h"
#include "enipool/driver.h"
#include "enipool/ec2/simulated_ec2.h"
#include "enipool/policy/policy.h"
#include "enipool/policy/warm_pool.h"
#include "enipool/sim/cluster.h"
#include "enipool/sim/report.h"

namespace {

// --- the user's policy: about 20 lines ---------------------------------------
struct TenthOfPodsFree {
  absl::string_view name() const { return "tenth-of-pods-free"; }

  enipool::WarmPoolConfig WithTarget(const enipool::WarmPoolConfig& config,
                                     const enipool::PoolStats& stats) const {
    enipool::WarmPoolConfig c = config;
    c.warm_ip_target = 2 + static_cast<int>(stats.assigned_ips / 10);
    return c;
  }
  bool ShouldCheck(const enipool::WarmPoolConfig& config, const enipool::PoolStats& stats,
                   const enipool::PoolSignals& signals) const {
    return enipool::ReferencePolicy{}.ShouldCheck(WithTarget(config, stats), stats, signals);
  }
  bool NeedsFreeCidrs(const enipool::WarmPoolConfig& config,
                      const enipool::ReconcileInputs& in) const {
    return enipool::ReferencePolicy{}.NeedsFreeCidrs(WithTarget(config, in.stats), in);
  }
  enipool::ReconcilePlan Plan(const enipool::WarmPoolConfig& config,
                              const enipool::ReconcileInputs& in) const {
    return enipool::PlanReconcile(WithTarget(config, in.stats), in);
  }
};
static_assert(enipool::WarmPoolPolicy<TenthOfPodsFree>);

}  // namespace

int main() {
  namespace sim = enipool::sim;
  // 1. In the simulator, side by side with the reference (WARM_ENI_TARGET=1).
  sim::ClusterConfig base;
  base.nodes = 20;
  base.workload = sim::ChurnWorkload{
      .arrivals_per_second = 1,
      .lifetime = {sim::Lifetime::Kind::kExponential, absl::Minutes(5), 1},
      .initial_pods = 100};
  base.duration = absl::Minutes(30);
  base.sample_interval = absl::Seconds(30);
  base.warmup = absl::Minutes(2);
  std::vector<sim::RunReport> runs;
  for (bool mine : {false, true}) {
    sim::ClusterConfig config = base;
    config.name = mine ? "tenth-of-pods-free" : "WARM_ENI_TARGET=1";
    if (mine) config.policy = TenthOfPodsFree{};
    auto report = sim::RunScenario(config);
    if (!report.ok()) {
      std::cerr << "simulation failed: " << report.status() << "\n";
      return 1;
    }
    runs.push_back(*std::move(report));
  }
  std::printf("1. In a simulated cluster (%s):\n\n", sim::DescribeConfig(base).c_str());
  sim::PrintTable(std::cout, runs);

  // 2. On one node: the controller with the policy's static type, driven
  //    against EC2 (here the simulated one) as an agent's pool loop would.
  enipool::ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  enipool::ec2::SimulatedEc2<enipool::ManualClock> ec2(clock, {.seed = 3});
  if (!ec2.AddSubnet("subnet-a", *enipool::Ipv4Prefix::Parse("10.0.0.0/24")).ok()) return 1;
  if (!ec2.AddInstance({.instance_id = "i-1", .subnet_id = "subnet-a", .max_enis = 3,
                        .ipv4_per_eni = 10})
           .ok()) {
    return 1;
  }
  enipool::ControllerConfig config;
  config.pool = {.max_enis = 3, .ipv4_per_eni = 10, .max_pods = 29};
  config.instance_id = "i-1";
  config.subnet_id = "subnet-a";
  auto node = enipool::NodeController<enipool::ManualClock, TenthOfPodsFree>::Create(clock, config);
  const auto sleep_until = [&](absl::Time t) { clock.SetTime(t); };
  if (!node.ok() || !enipool::StartNode(*node, ec2, clock, sleep_until).ok()) return 1;
  std::printf("\n2. On one node (NodeController<ManualClock, TenthOfPodsFree>):\n");
  // A pod every 5 s (an ADD that finds no address is retried), a pool check
  // after each.
  for (int pod = 0, tries = 0, printed = -1; pod < 25 && tries < 200; ++tries) {
    if (node->AddPod({"aws-cni", absl::StrCat("c", pod), "eth0"}).ok()) ++pod;
    clock.SetTime(clock.Now() + absl::Seconds(5));
    if (!enipool::RunPoolCheck(*node, ec2, clock, sleep_until).ok()) return 1;
    const enipool::PoolStats s = node->datastore().Stats();
    if ((pod % 8 == 1 || pod == 25) && pod != printed) {
      printed = pod;
      std::printf("   %2lld pods: %2lld addresses held, %lld free (target %lld)\n",
                  static_cast<long long>(s.assigned_ips), static_cast<long long>(s.total_ips),
                  static_cast<long long>(s.total_ips - s.assigned_ips),
                  static_cast<long long>(2 + s.assigned_ips / 10));
    }
  }
  return 0;
}
