#include "enipool/policy/warm_pool.h"

#include <doctest/doctest.h>

namespace {

using enipool::AddressMode;
using enipool::PoolStats;
using enipool::WarmPoolConfig;

WarmPoolConfig Sip(int max_enis, int ipv4_per_eni) {
  WarmPoolConfig config;
  config.max_enis = max_enis;
  config.ipv4_per_eni = ipv4_per_eni;
  return config;
}

TEST_CASE("PlanReconcile compiles and asks for a full ENI of IPs on an empty default pool") {
  WarmPoolConfig config = Sip(4, 50);
  enipool::ReconcileInputs inputs;
  enipool::EniView primary;
  primary.id = *enipool::EniId::Create("eni-0");
  primary.primary = true;
  inputs.enis.push_back(primary);
  inputs.stats.enis = 1;
  const enipool::ReconcilePlan plan = enipool::PlanReconcile(config, inputs);
  REQUIRE(plan.increase.has_value());
  CHECK(plan.increase->count == 49);
  CHECK(plan.increase->eni == primary.id);
  CHECK(plan.too_low);
}

}  // namespace

namespace {

enipool::EniView View(const char* id, int device, bool primary = false) {
  enipool::EniView view;
  view.id = *enipool::EniId::Create(id);
  view.device_number = device;
  view.primary = primary;
  return view;
}

TEST_CASE("PlanReconcile in prefix mode asks for one prefix on the primary of an empty pool") {
  WarmPoolConfig config = Sip(3, 10);
  config.mode = AddressMode::kPrefix;
  config.warm_prefix_target = 1;
  enipool::ReconcileInputs inputs;
  inputs.enis.push_back(View("eni-0", 0, true));
  inputs.stats.enis = 1;
  const enipool::ReconcilePlan plan = enipool::PlanReconcile(config, inputs);
  REQUIRE(plan.increase.has_value());
  CHECK(plan.increase->count == 1);
  CHECK(plan.increase->eni == inputs.enis[0].id);
}

TEST_CASE("PlanReconcile releases the IPs over WARM_IP_TARGET and frees an old empty ENI") {
  WarmPoolConfig config = Sip(3, 10);
  config.warm_ip_target = 2;
  enipool::ReconcileInputs inputs;
  inputs.now = absl::UnixEpoch() + absl::Hours(1);
  enipool::EniView primary = View("eni-0", 0, true);
  primary.cidrs = primary.secondary_ips = 5;
  primary.total_ips = 5;
  primary.free_cidrs = primary.free_cidrs_all = 5;
  enipool::EniView second = View("eni-1", 1);
  second.created = absl::UnixEpoch();
  inputs.enis = {primary, second};
  inputs.free_cidrs = {{*enipool::Ipv4Prefix::Parse("10.0.0.1/32"), *enipool::Ipv4Prefix::Parse("10.0.0.2/32"),
                        *enipool::Ipv4Prefix::Parse("10.0.0.3/32"), *enipool::Ipv4Prefix::Parse("10.0.0.4/32"),
                        *enipool::Ipv4Prefix::Parse("10.0.0.5/32")},
                       {}};
  inputs.stats.total_ips = 5;
  inputs.stats.available_ips = 5;
  inputs.stats.enis = 2;
  const enipool::ReconcilePlan plan = enipool::PlanReconcile(config, inputs);
  CHECK(plan.too_high);
  REQUIRE(plan.releases.size() == 1);
  CHECK(plan.releases[0].cidrs.size() == 3);
  CHECK(plan.free_eni == second.id);
}

}  // namespace
