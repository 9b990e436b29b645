#include "enipool/policy/prefix_fallback.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/controller.h"
#include "enipool/datastore.h"
#include "enipool/driver.h"
#include "enipool/ec2/simulated_ec2.h"
#include "enipool/ipv4.h"
#include "enipool/policy/catalog.h"
#include "enipool/policy/policy.h"
#include "enipool/policy/warm_pool.h"
#include "enipool/sim/scenario.h"

namespace {

using enipool::AddressMode;
using enipool::Ipv4Address;
using enipool::Ipv4Prefix;
using enipool::ManualClock;
using enipool::NodeDatastore;
using enipool::OtherKind;
using enipool::Placement;
using enipool::PodKey;
using enipool::PrefixFallbackPolicy;
using enipool::WarmPoolConfig;

Ipv4Prefix P(const char* text) { return *Ipv4Prefix::Parse(text); }
PodKey Pod(int i) { return PodKey{"aws-cni", absl::StrCat("c", i), "eth0"}; }

static_assert(enipool::WarmPoolPolicy<PrefixFallbackPolicy>);

// --- the datastore hands out both kinds ----------------------------------------

TEST_CASE("A prefix-mode datastore with OtherKind::kHandedOut hands out /32s and /28s and counts "
          "both") {
  ManualClock clock;
  NodeDatastore<ManualClock> both(AddressMode::kPrefix, clock, absl::Seconds(30),
                                  Placement::kBestFit, OtherKind::kHandedOut);
  NodeDatastore<ManualClock> reference(AddressMode::kPrefix, clock);
  for (auto* ds : {&both, &reference}) {
    REQUIRE(ds->AddEni({.id = "eni-1", .device_number = 0, .primary = true}).ok());
    REQUIRE(ds->AddCidr("eni-1", P("10.0.0.5/32")).ok());
    REQUIRE(ds->AddCidr("eni-1", P("10.0.0.9/32")).ok());
  }
  // The reference's datastore neither counts nor hands out the /32s.
  CHECK(reference.Stats().total_ips == 0);
  CHECK_FALSE(reference.Assign(Pod(1)).ok());
  CHECK(both.Stats().total_ips == 2);
  CHECK(both.FindEni("eni-1")->total_ips == 2);
  CHECK(both.FindEni("eni-1")->free_cidrs == 2);

  auto a = both.Assign(Pod(1));
  auto b = both.Assign(Pod(2));
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  const std::set<Ipv4Address> singles = {a->address, b->address};
  CHECK(singles == std::set<Ipv4Address>{Ipv4Address(10, 0, 0, 5), Ipv4Address(10, 0, 0, 9)});
  CHECK_FALSE(both.Assign(Pod(3)).ok());  // both /32s are taken

  REQUIRE(both.AddCidr("eni-1", P("10.0.0.32/28")).ok());
  auto c = both.Assign(Pod(3));
  REQUIRE(c.ok());
  CHECK(P("10.0.0.32/28").Contains(c->address));
  const enipool::PoolStats stats = both.Stats();
  CHECK(stats.total_ips == 18);
  CHECK(stats.assigned_ips == 3);
  CHECK(stats.total_prefixes == 1);
  CHECK(stats.free_prefixes == 0);
  auto cidrs = both.Cidrs("eni-1");
  REQUIRE(cidrs.ok());
  for (const enipool::CidrView& view : *cidrs) CHECK(view.in_mode);

  // Releasing a /32's pod cools it; a /32 with a pod is not removed unforced.
  REQUIRE(both.Release(Pod(1)).ok());
  CHECK(both.Stats().cooling_ips == 1);
  const Ipv4Prefix busy = Ipv4Prefix::FromAddress(b->address);
  CHECK(both.RemoveCidr("eni-1", busy, false).code() == absl::StatusCode::kFailedPrecondition);
  CHECK(both.RemoveCidr("eni-1", Ipv4Prefix::FromAddress(a->address), false).ok());
  CHECK(both.Stats().total_ips == 17);
  CHECK(both.Stats().cooling_ips == 0);
  CHECK(both.CheckInvariants().ok());
  CHECK(both.other_kind() == OtherKind::kHandedOut);
  CHECK(reference.other_kind() == OtherKind::kKept);
}

// The model: which CIDRs exist, which address each pod holds, when each
// released address stops cooling. Independent of the datastore's groups,
// free lists and counters.
struct MixedModel {
  std::set<Ipv4Prefix> cidrs;
  std::map<std::string, Ipv4Address> pods;
  std::map<Ipv4Address, absl::Time> cooling_until;  // cools while now <= until

  bool Owns(Ipv4Address a) const {
    return cidrs.contains(Ipv4Prefix::FromAddress(a)) ||
           cidrs.contains(Ipv4Prefix::Containing(a, 28));
  }
  bool Held(Ipv4Address a) const {
    for (const auto& [pod, address] : pods) {
      if (address == a) return true;
    }
    return false;
  }
  bool Cooling(Ipv4Address a, absl::Time now) const {
    const auto it = cooling_until.find(a);
    return it != cooling_until.end() && now <= it->second;
  }
  std::int64_t Total() const {
    std::int64_t n = 0;
    for (const Ipv4Prefix& c : cidrs) n += static_cast<std::int64_t>(c.size());
    return n;
  }
  std::int64_t FreeNotCooling(absl::Time now) const {
    std::int64_t n = 0;
    for (const Ipv4Prefix& c : cidrs) {
      for (std::uint64_t i = 0; i < c.size(); ++i) {
        const Ipv4Address a = c.AddressAt(i);
        n += (!Held(a) && !Cooling(a, now)) ? 1 : 0;
      }
    }
    return n;
  }
  std::int64_t CoolingCount(absl::Time now) const {
    std::int64_t n = 0;
    for (const auto& [a, until] : cooling_until) n += (Owns(a) && !Held(a) && now <= until) ? 1 : 0;
    return n;
  }
};

TEST_CASE("A datastore handing out both kinds agrees with a simple model over random operations") {
  const std::uint64_t seed = 20261129;
  std::mt19937_64 rng(seed);
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  const absl::Duration cooldown = absl::Seconds(30);
  NodeDatastore<ManualClock> ds(AddressMode::kPrefix, clock, cooldown, Placement::kBestFit,
                                OtherKind::kHandedOut);
  REQUIRE(ds.AddEni({.id = "eni-1", .device_number = 0, .primary = true}).ok());
  REQUIRE(ds.AddEni({.id = "eni-2", .device_number = 1}).ok());
  MixedModel model;
  std::map<Ipv4Prefix, std::string> owner;
  // Addresses come from 10.0.0.0/24: /28 number k covers .16k to .16k+15,
  // and /32s are drawn from the same range so the two kinds collide.
  for (int step = 0; step < 4000; ++step) {
    CAPTURE(step);
    const absl::Time now = clock.Now();
    switch (rng() % 7) {
      case 0: {  // add a /28 or a /32
        const bool prefix = rng() % 3 == 0;
        const std::uint32_t offset = static_cast<std::uint32_t>(rng() % 256);
        const Ipv4Address a(0x0A000000u + offset);
        const Ipv4Prefix cidr = prefix ? Ipv4Prefix::Containing(a, 28) : Ipv4Prefix::FromAddress(a);
        const std::string eni = rng() % 2 ? "eni-1" : "eni-2";
        bool overlaps = false;
        for (std::uint64_t i = 0; i < cidr.size(); ++i) overlaps |= model.Owns(cidr.AddressAt(i));
        const absl::Status added = ds.AddCidr(eni, cidr);
        CHECK(added.ok() == !overlaps);
        if (added.ok()) {
          model.cidrs.insert(cidr);
          owner[cidr] = eni;
        }
        break;
      }
      case 1:
      case 2:
      case 3: {  // assign
        const int pod = static_cast<int>(rng() % 200);
        const std::string key = Pod(pod).container_id;
        const auto assigned = ds.Assign(Pod(pod));
        if (model.pods.contains(key)) {
          REQUIRE(assigned.ok());
          CHECK(assigned->address == model.pods[key]);
        } else if (model.FreeNotCooling(now) > 0) {
          REQUIRE(assigned.ok());
          CHECK(model.Owns(assigned->address));
          CHECK_FALSE(model.Held(assigned->address));
          CHECK_FALSE(model.Cooling(assigned->address, now));
          model.pods[key] = assigned->address;
        } else {
          CHECK(assigned.status().code() == absl::StatusCode::kResourceExhausted);
        }
        break;
      }
      case 4: {  // release
        const int pod = static_cast<int>(rng() % 200);
        const std::string key = Pod(pod).container_id;
        const auto released = ds.Release(Pod(pod));
        CHECK(released.ok() == model.pods.contains(key));
        if (released.ok()) {
          CHECK(released->address == model.pods[key]);
          model.cooling_until[model.pods[key]] = now + cooldown;
          model.pods.erase(key);
        }
        break;
      }
      case 5: {  // remove a CIDR (unforced): refused while a pod holds one of its addresses
        if (model.cidrs.empty()) break;
        auto it = model.cidrs.begin();
        std::advance(it, static_cast<long>(rng() % model.cidrs.size()));
        const Ipv4Prefix cidr = *it;
        bool held = false;
        for (std::uint64_t i = 0; i < cidr.size(); ++i) held |= model.Held(cidr.AddressAt(i));
        const absl::Status removed = ds.RemoveCidr(owner[cidr], cidr, false);
        CHECK(removed.ok() == !held);
        if (removed.ok()) {
          for (std::uint64_t i = 0; i < cidr.size(); ++i) model.cooling_until.erase(cidr.AddressAt(i));
          model.cidrs.erase(cidr);
        }
        break;
      }
      default:
        clock.AdvanceTime(absl::Seconds(static_cast<double>(rng() % 12)));
        break;
    }
    const enipool::PoolStats stats = ds.Stats();
    const absl::Time at = clock.Now();
    REQUIRE(stats.total_ips == model.Total());
    REQUIRE(stats.assigned_ips == static_cast<std::int64_t>(model.pods.size()));
    REQUIRE(stats.cooling_ips == model.CoolingCount(at));
    if (step % 100 == 0) REQUIRE(ds.CheckInvariants().ok());
  }
  CHECK(ds.CheckInvariants().ok());
}

// --- the policy ---------------------------------------------------------------

WarmPoolConfig PrefixConfig() {
  WarmPoolConfig c;
  c.mode = AddressMode::kPrefix;
  c.warm_prefix_target = 1;
  c.max_enis = 3;
  c.ipv4_per_eni = 10;
  c.max_pods = 110;
  c.secondary_ip_fallback = true;
  return c;
}

enipool::ReconcileInputs EmptyPrimary(absl::Time now) {
  enipool::ReconcileInputs in;
  in.now = now;
  in.stats.enis = 1;
  enipool::EniView primary;
  primary.id = *enipool::EniId::Create("eni-1");
  primary.primary = true;
  in.enis = {primary};
  return in;
}

TEST_CASE("PrefixFallbackPolicy takes /32s after InsufficientCidrBlocks instead of backing off, "
          "and asks for a /28 again after probe_after") {
  const PrefixFallbackPolicy policy{.probe_after = absl::Seconds(60)};
  const WarmPoolConfig config = PrefixConfig();
  const absl::Time now = absl::FromUnixSeconds(1000);
  enipool::ReconcileInputs in = EmptyPrimary(now);

  // No error yet: a prefix, as the reference asks.
  enipool::ReconcilePlan plan = policy.Plan(config, in);
  REQUIRE(plan.increase.has_value());
  CHECK(plan.increase->kind == AddressMode::kPrefix);
  CHECK(plan.increase->count == 1);

  // 10 s after InsufficientCidrBlocks: the reference waits; the policy takes 9 /32s (the ENI's
  // free slots; 16 addresses are wanted).
  in.since_insufficient_addresses = absl::Seconds(10);
  in.signals.since_insufficient_cidr_blocks = absl::Seconds(10);
  CHECK(enipool::PlanReconcile(config, in).in_backoff);
  CHECK_FALSE(enipool::PlanReconcile(config, in).increase.has_value());
  plan = policy.Plan(config, in);
  REQUIRE(plan.increase.has_value());
  CHECK(plan.increase->kind == AddressMode::kSecondaryIp);
  CHECK(plan.increase->count == 9);
  CHECK(plan.increase->eni == in.enis[0].id);
  CHECK(policy.ShouldCheck(config, in.stats, in.signals));

  // After InsufficientFreeAddressesInSubnet (later than the CIDR error): the back-off holds.
  in.since_insufficient_addresses = absl::Seconds(4);
  plan = policy.Plan(config, in);
  CHECK(plan.in_backoff);
  CHECK_FALSE(plan.increase.has_value());

  // 61 s after InsufficientCidrBlocks (and still within the reference's 120 s): the probe.
  in.since_insufficient_addresses = absl::Seconds(61);
  in.signals.since_insufficient_cidr_blocks = absl::Seconds(61);
  CHECK(enipool::PlanReconcile(config, in).in_backoff);
  plan = policy.Plan(config, in);
  REQUIRE(plan.increase.has_value());
  CHECK(plan.increase->kind == AddressMode::kPrefix);
  CHECK(plan.increase->count == 1);

  // Without secondary_ip_fallback, or in secondary-IP mode, it is the reference.
  WarmPoolConfig off = config;
  off.secondary_ip_fallback = false;
  in.signals.since_insufficient_cidr_blocks = absl::Seconds(10);
  in.since_insufficient_addresses = absl::Seconds(10);
  CHECK(policy.Plan(off, in) == enipool::PlanReconcile(off, in));
  WarmPoolConfig sip = config;
  sip.mode = AddressMode::kSecondaryIp;
  CHECK(policy.Plan(sip, in) == enipool::PlanReconcile(sip, in));
}

TEST_CASE("PrefixFallbackPolicy gives back only /32s while falling back and only /28s otherwise") {
  const PrefixFallbackPolicy policy;
  WarmPoolConfig config = PrefixConfig();
  config.warm_ip_target = 4;  // so that a pool with more free addresses is too high
  const absl::Time now = absl::FromUnixSeconds(5000);
  enipool::ReconcileInputs in = EmptyPrimary(now);
  // The primary ENI holds two free /28s and three free /32s, nothing assigned.
  in.enis[0].cidrs = 5;
  in.enis[0].prefixes = 2;
  in.enis[0].secondary_ips = 3;
  in.enis[0].total_ips = 35;
  in.enis[0].free_cidrs = 5;
  in.enis[0].free_cidrs_all = 5;
  in.stats.total_ips = 35;
  in.stats.available_ips = 35;
  in.stats.total_prefixes = 2;
  in.stats.free_prefixes = 2;
  in.free_cidrs = {{P("10.0.0.1/32"), P("10.0.0.2/32"), P("10.0.0.3/32"), P("10.0.0.16/28"),
                    P("10.0.0.32/28")}};

  in.signals.since_insufficient_cidr_blocks = absl::Seconds(5);
  in.since_insufficient_addresses = absl::Seconds(5);
  enipool::ReconcilePlan falling = policy.Plan(config, in);
  REQUIRE(falling.releases.size() == 1);
  for (const Ipv4Prefix& cidr : falling.releases[0].cidrs) CHECK(cidr.length() == 32);

  in.signals.since_insufficient_cidr_blocks = absl::InfiniteDuration();
  in.since_insufficient_addresses = absl::InfiniteDuration();
  enipool::ReconcilePlan normal = policy.Plan(config, in);
  REQUIRE(normal.releases.size() == 1);
  for (const Ipv4Prefix& cidr : normal.releases[0].cidrs) CHECK(cidr.length() == 28);
}

TEST_CASE("The catalog and scenarios know prefix-fallback, and it needs prefix mode") {
  const auto policy = enipool::PolicyByName("prefix-fallback");
  REQUIRE(policy.ok());
  CHECK(policy->get_if<PrefixFallbackPolicy>() != nullptr);
  enipool::sim::ClusterConfig config;
  REQUIRE(enipool::sim::ApplySetting(config, "policy", "prefix-fallback").ok());
  REQUIRE(enipool::sim::ApplySetting(config, "mode", "secondary-ip").ok());
  enipool::sim::ClusterConfig resolved = config;
  const absl::Status refused = enipool::sim::ResolveConfig(resolved);
  CHECK(refused.code() == absl::StatusCode::kInvalidArgument);
  CHECK(refused.message().find("mode=prefix") != absl::string_view::npos);
  REQUIRE(enipool::sim::ApplySetting(config, "mode", "prefix").ok());
  resolved = config;
  REQUIRE(enipool::sim::ResolveConfig(resolved).ok());
  CHECK(resolved.pool.secondary_ip_fallback);
}

// --- controller-level, on a fragmented simulated subnet --------------------------

using Ec2 = enipool::ec2::SimulatedEc2<ManualClock>;
template <typename Policy>
using Controller = enipool::NodeController<ManualClock, Policy>;

// A /22 where another tenant holds one address in every aligned /28: about
// 950 single addresses free, no /28. The tenant's primary ENI keeps the
// addresses so the test can give them back later.
struct FragmentedSubnet {
  FragmentedSubnet()
      : clock(absl::FromUnixSeconds(1'700'000'000)),
        ec2(clock, {.seed = 11,
                    .latency = enipool::ec2::LatencyModel::Zero(),
                    .throttle = enipool::ec2::ThrottleConfig::Disabled()}) {
    REQUIRE(ec2.AddSubnet("subnet-a", P("10.0.0.0/22")).ok());
    REQUIRE(ec2.AddInstance({.instance_id = "i-node", .subnet_id = "subnet-a", .max_enis = 3,
                             .ipv4_per_eni = 30})
                .ok());
    auto tenant = ec2.AddInstance({.instance_id = "i-tenant", .subnet_id = "subnet-a",
                                   .max_enis = 1, .ipv4_per_eni = 2000});
    REQUIRE(tenant.ok());
    tenant_eni = tenant->id;
    const auto free = static_cast<int>(ec2.FindSubnet("subnet-a")->free_address_count());
    auto all = ec2.AssignPrivateIpAddresses({.eni_id = tenant_eni, .count = free});
    REQUIRE(all.ok());
    std::vector<Ipv4Address> give_back;
    for (Ipv4Address a : *all) {
      (a.value() % 16 == 7 ? tenant_kept : give_back).push_back(a);
    }
    REQUIRE(ec2.UnassignPrivateIpAddresses({.eni_id = tenant_eni, .addresses = give_back}).ok());
    REQUIRE(ec2.FindSubnet("subnet-a")->free_prefix_count() == 0);
  }
  // The tenant gives its addresses back: most /28s are free again.
  void Defragment() {
    REQUIRE(ec2.UnassignPrivateIpAddresses({.eni_id = tenant_eni, .addresses = tenant_kept}).ok());
    REQUIRE(ec2.FindSubnet("subnet-a")->free_prefix_count() > 0);
  }
  enipool::ControllerConfig Config() const {
    enipool::ControllerConfig config;
    config.pool = PrefixConfig();
    config.pool.ipv4_per_eni = 30;  // room for /32s and, later, prefixes
    config.instance_id = "i-node";
    config.subnet_id = "subnet-a";
    return config;
  }
  auto Sleeper() {
    return [this](absl::Time until) { clock.SetTime(until); };
  }
  template <typename Policy>
  void Check(Controller<Policy>& controller) {
    auto calls = enipool::RunPoolCheck(controller, ec2, clock, Sleeper());
    REQUIRE(calls.ok());
    clock.AdvanceTime(absl::Seconds(5));
  }
  template <typename Policy>
  int AddPods(Controller<Policy>& controller, int first, int count) {
    int served = 0;
    for (int i = first; i < first + count; ++i) served += controller.AddPod(Pod(i)).ok() ? 1 : 0;
    return served;
  }

  ManualClock clock;
  Ec2 ec2;
  std::string tenant_eni;
  std::vector<Ipv4Address> tenant_kept;
};

int CidrsOfLength(const NodeDatastore<ManualClock>& ds, int length) {
  int n = 0;
  for (const enipool::EniView& eni : ds.EniViews()) {
    const auto cidrs = ds.Cidrs(eni.id.view());  // kept alive across the loop
    REQUIRE(cidrs.ok());
    for (const enipool::CidrView& c : *cidrs) n += c.cidr.length() == length;
  }
  return n;
}

TEST_CASE("In a fragmented subnet the fallback serves pods from /32s where the reference's prefix "
          "mode serves none, and it returns to prefixes when /28s free up") {
  FragmentedSubnet world;
  auto made = Controller<PrefixFallbackPolicy>::Create(world.clock, world.Config(),
                                                       PrefixFallbackPolicy{});
  REQUIRE(made.ok());
  Controller<PrefixFallbackPolicy>& node = *made;
  REQUIRE(enipool::StartNode(node, world.ec2, world.clock, world.Sleeper()).ok());
  for (int i = 0; i < 6; ++i) world.Check(node);
  const NodeDatastore<ManualClock>& ds = node.pool();
  // The first prefix request (and its retry with 1) failed; /32s came instead.
  CHECK(node.counters().errors_of(enipool::Ec2ErrorCode::kInsufficientCidrBlocks) >= 1);
  CHECK(CidrsOfLength(ds, 28) == 0);
  CHECK(CidrsOfLength(ds, 32) >= 16);
  CHECK(ds.Stats().available_ips >= 16);
  // 24 pods, served as they come while the pool keeps 16 warm.
  int served = 0;
  for (int round = 0; round < 3; ++round) {
    served += world.AddPods(node, round * 8, 8);
    for (int i = 0; i < 3; ++i) world.Check(node);
  }
  CHECK(served == 24);
  CHECK(CidrsOfLength(ds, 28) == 0);

  // The same subnet for the reference's prefix mode: nothing at all.
  {
    FragmentedSubnet other;
    enipool::ControllerConfig config = other.Config();
    config.pool.secondary_ip_fallback = false;
    auto reference = Controller<enipool::ReferencePolicy>::Create(other.clock, config);
    REQUIRE(reference.ok());
    REQUIRE(enipool::StartNode(*reference, other.ec2, other.clock, other.Sleeper()).ok());
    for (int i = 0; i < 6; ++i) other.Check(*reference);
    CHECK(reference->pool().Stats().total_ips == 0);
    CHECK(other.AddPods(*reference, 0, 8) == 0);
  }

  // /28s free up. After probe_after the next increase asks for a prefix, and gets it.
  world.Defragment();
  world.clock.AdvanceTime(absl::Seconds(61));
  const std::int64_t prefix_calls_before = node.counters().calls_of(5);  // AssignIpv4Prefixes
  served = world.AddPods(node, 100, 12);
  for (int i = 0; i < 4; ++i) world.Check(node);
  served += world.AddPods(node, 200, 4);
  CHECK(node.counters().calls_of(5) > prefix_calls_before);
  CHECK(CidrsOfLength(ds, 28) >= 1);
  CHECK(served == 16);
  CHECK(ds.CheckInvariants().ok());
}

TEST_CASE("A fragmentation-aware node falling back to /32s names no primary address while EC2 "
          "says no free /28 is left") {
  FragmentedSubnet world;
  enipool::ControllerConfig config = world.Config();
  config.eni_primary = enipool::EniPrimaryPlacement::kFragmentationAware;
  config.subnet_cidr = P("10.0.0.0/22");
  auto made = Controller<PrefixFallbackPolicy>::Create(world.clock, config, PrefixFallbackPolicy{});
  REQUIRE(made.ok());
  Controller<PrefixFallbackPolicy>& node = *made;
  REQUIRE(enipool::StartNode(node, world.ec2, world.clock, world.Sleeper()).ok());
  // 40 pods: more /32s than the primary ENI's 29 slots, so the fallback
  // creates ENIs, each within 120 s of the last InsufficientCidrBlocks.
  int served = 0;
  for (int round = 0; round < 5; ++round) {
    served += world.AddPods(node, round * 8, 8);
    for (int i = 0; i < 3; ++i) world.Check(node);
  }
  CHECK(node.counters().errors_of(enipool::Ec2ErrorCode::kInsufficientCidrBlocks) >= 1);
  CHECK(node.enis().size() >= 2);
  CHECK(node.counters().named_primary_creates == 0);
  CHECK(node.counters().named_primary_refused == 0);
  CHECK(served >= 29);  // the primary ENI's slots at least
  CHECK(node.pool().Stats().assigned_ips == served);
  CHECK(node.pool().CheckInvariants().ok());
}

}  // namespace
