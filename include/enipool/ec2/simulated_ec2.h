// -----------------------------------------------------------------------------
// File: ec2/simulated_ec2.h
// -----------------------------------------------------------------------------
//
// `ec2::SimulatedEc2<Clock>`: an in-memory EC2 that satisfies
// `enipool::Backend`. One instance stands for one AWS account and region and
// is shared by every simulated node, so nodes compete for the same subnets
// and the same API rate limits.
//
// What it models:
//   * subnets as real address spaces (ec2::Subnet): AWS-reserved addresses,
//     random secondary IPs, /28 prefixes on aligned free blocks only, CIDR
//     reservations — hence InsufficientCidrBlocks under fragmentation;
//   * instances with their limits (network cards, ENIs per card, IPv4
//     addresses per ENI) and a primary ENI at card 0, device 0 that cannot
//     be detached or deleted; device indexes count per card, and each card
//     takes `max_enis` ENIs (every card of every type in the reference's
//     table allows the same number, docs/reference-behavior.md §6.2);
//   * ENI lifecycle: create (with a primary IP plus secondary IPs or
//     prefixes), attach, detach, delete; assign and unassign IPs and
//     prefixes; describe by ids, by instance or everything;
//   * IPv6 prefix delegation: a subnet may have an IPv6 /64
//     (AddSubnetIpv6Cidr) out of which AssignIpv6Prefixes delegates /80s,
//     lowest free first (the reference's IPv6 mode, docs/reference-behavior.md
//     §4.12); no per-ENI IPv6 limit is modelled (a /64 holds 65,536 /80s);
//   * per-ENI slots: an attached ENI has `ipv4_per_eni - 1` slots shared by
//     secondary IPs and /28 prefixes (one slot each), as EC2 counts them
//     (docs/reference-behavior.md §5.1); an unattached ENI is capped by
//     `SimulatedEc2Options::unattached_ipv4_per_eni`;
//   * account-wide token-bucket throttling per API action (ec2/throttle.h,
//     AWS's published defaults) answering RequestLimitExceeded;
//   * a scripted FaultPlan (ec2/fault_plan.h);
//   * per-call latency from a LatencyModel (ec2/latency.h). The simulator
//     never sleeps: SampleLatency() returns a duration for the caller to
//     schedule; calls themselves take effect at the Clock's Now().
//
// ENIs keep the tags and security groups they were created with, plus
// what CreateTags (and the setup call TagEni()) adds and what
// ModifyNetworkInterfaceAttribute changes (their groups, their attachment's
// DeleteOnTermination), and an interface type (SetInterfaceType(): trunk,
// EFA, EFA-only); these are recorded and reported, not enforced: a
// terminated instance takes every attached ENI with it, as if each had
// DeleteOnTermination set (the reference sets it on every ENI it attaches).
//
// What it does not model: availability zones, security groups as objects
// of their own (any group id of the form sg-… is taken, none is ever
// unknown) and their rules, IPv6 addresses other than delegated /80
// prefixes (an ENI has no IPv6 address of its own), the
// asynchronous "attaching"/"detaching" states (an attach or detach is
// complete when the call returns), IMDS propagation delay.
//
// Every call is checked in this order, and a failed call changes nothing
// (the random generators aside):
//   1. counted (stats(), and the Nth-call fault rules);
//   2. the fault plan: a matching rule fails the call with its status;
//   3. throttling: no token for the call's action → RequestLimitExceeded;
//   4. validation and the EC2 semantics of the call.
//
// Determinism: addresses come from one std::mt19937_64 and latencies from a
// second, both seeded from SimulatedEc2Options::seed; ids are counters;
// describe-all is sorted by id. The same seed and the same calls at the same
// times give the same answers, bit for bit. (Sampling latency never moves
// the address generator, so adding latency to a run keeps its addresses.)
//
// Cost: every call is O(1) hash lookups plus the work on the one ENI (≤ 50
// addresses) and one subnet bitmap scan (O(words), 1,024 for a /16); only
// describe-all, TerminateInstance and CollectLeakedEnis walk many ENIs.
// Not thread-safe: one simulation drives it from one thread.
//
// Example:
//
//   enipool::ManualClock clock;
//   enipool::ec2::SimulatedEc2<enipool::ManualClock> ec2(clock, {.seed = 7});
//   ENIPOOL_RETURN_IF_ERROR(ec2.AddSubnet("subnet-1", *enipool::Ipv4Prefix::Parse("10.0.0.0/24")));
//   ENIPOOL_ASSIGN_OR_RETURN(enipool::NetworkInterface primary,
//       ec2.AddInstance({.instance_id = "i-1", .subnet_id = "subnet-1",
//                        .max_enis = 3, .ipv4_per_eni = 10}));
//   ENIPOOL_ASSIGN_OR_RETURN(auto prefixes,
//       ec2.AssignIpv4Prefixes({.eni_id = primary.id, .count = 1}));   // one aligned /28
//   absl::Duration latency = ec2.SampleLatency(enipool::Ec2Call{
//       enipool::AssignIpv4PrefixesRequest{.eni_id = primary.id, .count = 1}});

#ifndef ENIPOOL_EC2_SIMULATED_EC2_H_
#define ENIPOOL_EC2_SIMULATED_EC2_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/ec2/backend.h"
#include "enipool/clock.h"
#include "enipool/ipv4.h"
#include "enipool/ipv6.h"
#include "enipool/ec2/ec2_api.h"
#include "enipool/ec2/fault_plan.h"
#include "enipool/ec2/latency.h"
#include "enipool/ec2/subnet.h"
#include "enipool/ec2/throttle.h"
#include "enipool/status.h"

namespace enipool::ec2 {

// InstanceSpec
//
// An instance to register: its id, the subnet of its primary ENI, and the
// limits of its instance type (docs/reference-behavior.md §5/§6: "max ENIs"
// per network card and "IPv4 addresses per ENI", the primary address
// included; `network_cards` cards, 0 .. network_cards − 1, each taking
// max_enis ENIs, as InstanceLimits / MaxEnisOnCard() describe them).
struct InstanceSpec {
  std::string instance_id;
  std::string subnet_id;
  int max_enis = 3;
  int ipv4_per_eni = 10;
  int network_cards = 1;
};

// SimulatedEc2Options
struct SimulatedEc2Options {
  std::uint64_t seed = 1;
  LatencyModel latency = LatencyModel::Defaults();
  ThrottleConfig throttle = ThrottleConfig::Ec2Defaults();
  FaultPlan faults;
  // IPv4 addresses (primary included) an ENI may hold while not attached to
  // any instance; EC2 checks the instance type's limit at attach time.
  // NOTE: 50 is the largest "IPv4 addresses per interface" of any instance
  // type in the reference's limits table (docs/reference-behavior.md §6).
  int unattached_ipv4_per_eni = 50;
};

// SimulatedEc2Stats
//
// Counters of the calls received.
struct SimulatedEc2Stats {
  std::uint64_t calls = 0;            // every call, failed or not
  std::uint64_t throttled = 0;        // answered RequestLimitExceeded by a bucket
  std::uint64_t injected_faults = 0;  // failed by the fault plan
  std::array<std::uint64_t, kCallKindCount> calls_by_kind{};

  [[nodiscard]] std::uint64_t calls_of(CallKind kind) const noexcept {
    return calls_by_kind[static_cast<std::size_t>(kind)];
  }
};

// SimulatedEc2
//
// See the file comment.
template <Clock C>
class SimulatedEc2 {
 public:
  // Device indexes an attach may use: 0..99, the range the reference scans
  // for a free index (docs/reference-behavior.md §7.1, DescribeInstances row).
  static constexpr int kMaxDeviceIndex = 99;
  // The one VPC and availability zone every simulated subnet is in.
  static constexpr absl::string_view kVpcId = "vpc-sim";
  static constexpr absl::string_view kAvailabilityZone = "sim-1a";
  // Network cards an instance may have: the most of any type in the
  // reference's table is 32 (docs/reference-behavior.md §6.2).
  static constexpr int kMaxNetworkCards = 32;

  explicit SimulatedEc2(const C& clock, SimulatedEc2Options options = {})
      : clock_(clock),
        options_(std::move(options)),
        throttle_(options_.throttle, clock.Now()),
        address_rng_(options_.seed),
        latency_rng_(options_.seed ^ 0x9E3779B97F4A7C15ull) {}

  // ---------------------------------------------------------------------------
  // Setup. These are not EC2 calls: not counted, faulted or throttled.
  // ---------------------------------------------------------------------------

  // SimulatedEc2::AddSubnet()
  //
  // Adds subnet `id` over `cidr` with its CIDR reservations. INVALID_ARGUMENT
  // for a bad CIDR or reservation, ALREADY_EXISTS for a known id or a CIDR
  // that overlaps another subnet; no change on error.
  [[nodiscard]] absl::Status AddSubnet(std::string id, Ipv4Prefix cidr,
                                       std::vector<SubnetReservation> reservations = {}) {
    if (subnet_index_.contains(id)) {
      return absl::AlreadyExistsError(absl::StrCat("subnet ", id, " already exists"));
    }
    for (const Subnet& other : subnets_) {
      if (other.cidr().Contains(cidr) || cidr.Contains(other.cidr())) {
        return absl::AlreadyExistsError(absl::StrCat("subnet ", id, " CIDR ", cidr.ToString(),
                                                     " overlaps subnet ", other.id(), " (",
                                                     other.cidr().ToString(), ")"));
      }
    }
    ENIPOOL_ASSIGN_OR_RETURN(Subnet subnet, Subnet::Create(id, cidr));
    for (const SubnetReservation& reservation : reservations) {
      ENIPOOL_RETURN_IF_ERROR(subnet.AddReservation(reservation));
    }
    subnet_index_.emplace(id, subnets_.size());
    subnets_.push_back(std::move(subnet));
    return absl::OkStatus();
  }

  // SimulatedEc2::OccupyAddresses()
  //
  // Takes `count` addresses of subnet `id` at random for resources outside
  // the simulation (other tenants' ENIs, load balancers, Lambda), so that
  // the subnet starts fragmented: addresses scattered so that few aligned
  // /28s stay wholly free. NOT_FOUND for an unknown subnet; the subnet's
  // RESOURCE_EXHAUSTED when it has fewer free addresses (nothing taken).
  [[nodiscard]] absl::Status OccupyAddresses(absl::string_view id, int count) {
    const auto it = subnet_index_.find(id);
    if (it == subnet_index_.end()) {
      return absl::NotFoundError(absl::StrCat("subnet ", id, " does not exist"));
    }
    if (count <= 0) return absl::OkStatus();
    return subnets_[it->second].AllocateAddresses(count, address_rng_).status();
  }

  // SimulatedEc2::AddInstance()
  //
  // Registers an instance and gives it its primary ENI (device 0, a primary
  // IP from `spec.subnet_id`, attached). Returns that ENI.
  //   INVALID_ARGUMENT   empty id, max_enis < 1, ipv4_per_eni < 1 or
  //                      network_cards outside 1..kMaxNetworkCards;
  //   ALREADY_EXISTS     the instance id is known;
  //   NOT_FOUND          the subnet is unknown;
  //   InsufficientFreeAddressesInSubnet   no address for the primary IP.
  [[nodiscard]] absl::StatusOr<NetworkInterface> AddInstance(const InstanceSpec& spec) {
    if (spec.instance_id.empty())
      return absl::InvalidArgumentError("instance id must not be empty");
    if (spec.max_enis < 1 || spec.ipv4_per_eni < 1) {
      return absl::InvalidArgumentError(absl::StrCat("instance ", spec.instance_id, ": max_enis (",
                                                     spec.max_enis, ") and ipv4_per_eni (",
                                                     spec.ipv4_per_eni, ") must be >= 1"));
    }
    if (spec.network_cards < 1 || spec.network_cards > kMaxNetworkCards) {
      return absl::InvalidArgumentError(absl::StrCat("instance ", spec.instance_id,
                                                     ": network_cards (", spec.network_cards,
                                                     ") must be 1..", kMaxNetworkCards));
    }
    if (instances_.contains(spec.instance_id)) {
      return absl::AlreadyExistsError(
          absl::StrCat("instance ", spec.instance_id, " already exists"));
    }
    const auto subnet = subnet_index_.find(spec.subnet_id);
    if (subnet == subnet_index_.end()) {
      return absl::NotFoundError(absl::StrCat("subnet ", spec.subnet_id, " of instance ",
                                              spec.instance_id, " does not exist"));
    }
    ENIPOOL_ASSIGN_OR_RETURN(Ipv4Address primary_ip,
                             subnets_[subnet->second].AllocateAddress(address_rng_));
    Eni& eni = NewEni(subnet->second, primary_ip);
    Instance& instance = instances_[spec.instance_id];
    instance.spec = spec;
    AttachUnchecked(eni, instance, 0, 0);
    return eni.nic;
  }

  // SimulatedEc2::TerminateInstance()
  //
  // Terminates an instance: every ENI attached to it is deleted (the
  // reference sets DeleteOnTermination on the ENIs it attaches) and its
  // addresses go back to their subnets. NOT_FOUND for an unknown instance.
  [[nodiscard]] absl::Status TerminateInstance(absl::string_view instance_id) {
    const auto it = instances_.find(instance_id);
    if (it == instances_.end()) {
      return absl::NotFoundError(absl::StrCat("instance ", instance_id, " does not exist"));
    }
    for (const auto& [slot, eni_id] : it->second.attached) {
      const auto eni = enis_.find(eni_id);
      attachments_.erase(eni->second.nic.attachment_id);
      ReleaseAll(eni->second);
      enis_.erase(eni);
    }
    instances_.erase(it);
    return absl::OkStatus();
  }

  // SimulatedEc2::SetSubnetTags()
  //
  // Replaces the tags of subnet `id` (e.g. kubernetes.io/role/cni=1 to offer
  // it to subnet discovery, or =0 to take it away; docs/reference-behavior.md §7.1). Takes
  // effect at the next DescribeSubnets. NOT_FOUND for an unknown subnet;
  // nothing changes then.
  [[nodiscard]] absl::Status SetSubnetTags(absl::string_view id, std::vector<Ec2Tag> tags) {
    const auto it = subnet_index_.find(id);
    if (it == subnet_index_.end()) {
      return absl::NotFoundError(absl::StrCat("subnet ", id, " does not exist"));
    }
    if (subnet_tags_.size() < subnets_.size()) subnet_tags_.resize(subnets_.size());
    subnet_tags_[it->second] = std::move(tags);
    return absl::OkStatus();
  }

  // SimulatedEc2::AddSubnetIpv6Cidr()
  //
  // Gives subnet `id` the IPv6 block `cidr` (EC2 associates a /64) from
  // which AssignIpv6Prefixes delegates /80s. NOT_FOUND for an unknown
  // subnet; INVALID_ARGUMENT for a block that is not a /64;
  // ALREADY_EXISTS if the subnet has one or the block overlaps another
  // subnet's. Nothing changes on error.
  [[nodiscard]] absl::Status AddSubnetIpv6Cidr(absl::string_view id, Ipv6Prefix cidr) {
    const auto it = subnet_index_.find(id);
    if (it == subnet_index_.end()) {
      return absl::NotFoundError(absl::StrCat("subnet ", id, " does not exist"));
    }
    if (cidr.length() != 64) {
      return absl::InvalidArgumentError(absl::StrCat("IPv6 block ", cidr.ToString(), " of subnet ",
                                                     id, ": EC2 gives a subnet a /64"));
    }
    for (std::size_t i = 0; i < subnet_ipv6_.size(); ++i) {
      const std::optional<Ipv6Prefix>& other = subnet_ipv6_[i].cidr;
      if (i == it->second && other.has_value()) {
        return absl::AlreadyExistsError(
            absl::StrCat("subnet ", id, " already has IPv6 block ", other->ToString()));
      }
      if (other.has_value() && *other == cidr) {
        return absl::AlreadyExistsError(absl::StrCat("IPv6 block ", cidr.ToString(),
                                                     " is subnet ", subnets_[i].id(), "'s"));
      }
    }
    if (subnet_ipv6_.size() < subnets_.size()) subnet_ipv6_.resize(subnets_.size());
    subnet_ipv6_[it->second].cidr = cidr;
    return absl::OkStatus();
  }

  // SimulatedEc2::TagEni()
  //
  // Sets tags on an ENI as CreateTags() does (a key it has takes the new
  // value), e.g. node.k8s.amazonaws.com/no_manage=true on an ENI another
  // tool attached, but as setup: not counted, faulted, throttled or
  // validated. NOT_FOUND for an unknown ENI; nothing changes then.
  [[nodiscard]] absl::Status TagEni(absl::string_view eni_id, const std::vector<Ec2Tag>& tags) {
    const auto it = enis_.find(eni_id);
    if (it == enis_.end()) return absl::NotFoundError(absl::StrCat("ENI ", eni_id, " does not exist"));
    SetTags(it->second.nic.tags, tags);
    return absl::OkStatus();
  }

  // SimulatedEc2::SetInterfaceType()
  //
  // Makes an ENI a "trunk", "efa" or "efa-only" interface (as the VPC
  // resource controller's trunk, or an EFA device, would be): what
  // DescribeNetworkInterfaces reports as its interfaceType.
  // INVALID_ARGUMENT for another type, NOT_FOUND for an unknown ENI;
  // nothing changes then.
  [[nodiscard]] absl::Status SetInterfaceType(absl::string_view eni_id, absl::string_view type) {
    if (type != "interface" && type != "trunk" && type != "efa" && type != "efa-only") {
      return absl::InvalidArgumentError(
          absl::StrCat("interface type ", QuoteInput(type),
                       " is not one of interface, trunk, efa, efa-only"));
    }
    const auto it = enis_.find(eni_id);
    if (it == enis_.end()) return absl::NotFoundError(absl::StrCat("ENI ", eni_id, " does not exist"));
    it->second.nic.interface_type = std::string(type);
    return absl::OkStatus();
  }

  // ---------------------------------------------------------------------------
  // The Backend calls.
  // ---------------------------------------------------------------------------

  // SimulatedEc2::CreateNetworkInterface()
  //
  // A new, unattached ENI in `subnet_id` with a primary IP (the request's
  // `private_ip_address` when given, else a random free one) and
  // `secondary_ip_count` IPs or `ipv4_prefix_count` prefixes, and
  // `ipv6_prefix_count` /80s (the lowest free ones of the subnet's IPv6
  // block, as AssignIpv6Prefixes takes them). Nothing changes on an error.
  //   InvalidParameterValue              unknown subnet, negative counts, both IPv4
  //                                      counts set, IPv6 prefixes asked of a
  //                                      subnet without an IPv6 block;
  //                                      a named address outside the subnet,
  //                                      AWS-reserved or in a CIDR reservation;
  //   InvalidIPAddress.InUse             the named address is taken;
  //   PrivateIpAddressLimitExceeded      more than unattached_ipv4_per_eni - 1 slots;
  //   InsufficientFreeAddressesInSubnet  not enough free addresses;
  //   InsufficientCidrBlocks             not enough free aligned /28s, or
  //                                      free /80s in the IPv6 block.
  [[nodiscard]] absl::StatusOr<NetworkInterface> CreateNetworkInterface(
      const CreateNetworkInterfaceRequest& request) {
    ENIPOOL_RETURN_IF_ERROR(Admit(CallKind::kCreateNetworkInterface));
    const auto subnet_it = subnet_index_.find(request.subnet_id);
    if (subnet_it == subnet_index_.end()) {
      return Ec2Error(Ec2ErrorCode::kInvalidParameterValue,
                      absl::StrCat("subnet ", request.subnet_id, " does not exist"));
    }
    if (request.secondary_ip_count < 0 || request.ipv4_prefix_count < 0 ||
        (request.secondary_ip_count > 0 && request.ipv4_prefix_count > 0)) {
      return Ec2Error(Ec2ErrorCode::kInvalidParameterValue,
                      absl::StrCat("create in ", request.subnet_id, ": secondary_ip_count (",
                                   request.secondary_ip_count, ") and ipv4_prefix_count (",
                                   request.ipv4_prefix_count,
                                   ") must be >= 0 and at most one of them non-zero"));
    }
    if (request.ipv6_prefix_count < 0) {
      return Ec2Error(Ec2ErrorCode::kInvalidParameterValue,
                      absl::StrCat("create in ", request.subnet_id, ": ipv6_prefix_count (",
                                   request.ipv6_prefix_count, ") must be >= 0"));
    }
    if (request.ipv6_prefix_count > 0) {
      ENIPOOL_RETURN_IF_ERROR(CheckIpv6Prefixes(subnet_it->second, request.ipv6_prefix_count));
    }
    const int slots = request.secondary_ip_count + request.ipv4_prefix_count;
    if (slots > options_.unattached_ipv4_per_eni - 1) {
      return Ec2Error(Ec2ErrorCode::kPrivateIpAddressLimitExceeded,
                      absl::StrCat("create in ", request.subnet_id, " asks for ", slots,
                                   " secondary slots; an interface has at most ",
                                   options_.unattached_ipv4_per_eni - 1));
    }
    Subnet& subnet = subnets_[subnet_it->second];
    // A named primary address is taken first, so that the prefixes and
    // secondary IPs chosen next cannot land on it.
    const std::optional<Ipv4Address> named = request.private_ip_address;
    if (named.has_value()) ENIPOOL_RETURN_IF_ERROR(subnet.AllocateAddressAt(*named));
    std::vector<Ipv4Prefix> prefixes;
    if (request.ipv4_prefix_count > 0) {
      auto allocated = subnet.AllocatePrefixes(request.ipv4_prefix_count, address_rng_);
      if (!allocated.ok()) {
        if (named.has_value()) (void)subnet.ReleaseAddress(*named);
        return allocated.status();
      }
      prefixes = *std::move(allocated);
    }
    const int random_count = request.secondary_ip_count + (named.has_value() ? 0 : 1);
    std::vector<Ipv4Address> addresses;
    if (random_count > 0) {
      auto allocated = subnet.AllocateAddresses(random_count, address_rng_);
      if (!allocated.ok()) {
        for (const Ipv4Prefix& prefix : prefixes) (void)subnet.ReleasePrefix(prefix);
        if (named.has_value()) (void)subnet.ReleaseAddress(*named);
        return allocated.status();
      }
      addresses = *std::move(allocated);
    }
    if (named.has_value()) addresses.insert(addresses.begin(), *named);
    Eni& eni = NewEni(subnet_it->second, addresses.front());
    eni.nic.description = request.description;
    eni.nic.tags = request.tags;
    eni.nic.security_group_ids = request.security_group_ids;
    eni.nic.secondary_ips.assign(addresses.begin() + 1, addresses.end());
    eni.nic.prefixes = std::move(prefixes);
    if (request.ipv6_prefix_count > 0) {
      eni.nic.ipv6_prefixes = DelegateIpv6Prefixes(subnet_it->second, request.ipv6_prefix_count);
    }
    unattached_.insert(eni.nic.id);
    return eni.nic;
  }

  // SimulatedEc2::AttachNetworkInterface()
  //
  // Attaches an unattached ENI to an instance at `device_index` of network
  // card `network_card_index`; returns the attachment id.
  //   InvalidNetworkInterfaceID.NotFound  unknown ENI;
  //   InvalidParameterValue               unknown instance, ENI already
  //                                       attached, a network card the
  //                                       instance does not have, device
  //                                       index out of 0..99 or in use on
  //                                       that card;
  //   AttachmentLimitExceeded             that card has max_enis ENIs;
  //   PrivateIpAddressLimitExceeded       the ENI holds more addresses than
  //                                       the instance type allows per ENI.
  [[nodiscard]] absl::StatusOr<std::string> AttachNetworkInterface(
      const AttachNetworkInterfaceRequest& request) {
    ENIPOOL_RETURN_IF_ERROR(Admit(CallKind::kAttachNetworkInterface));
    ENIPOOL_ASSIGN_OR_RETURN(Eni * eni, FindEniOrError(request.eni_id));
    const auto instance_it = instances_.find(request.instance_id);
    if (instance_it == instances_.end()) {
      return Ec2Error(Ec2ErrorCode::kInvalidParameterValue,
                      absl::StrCat("instance ", request.instance_id, " does not exist"));
    }
    Instance& instance = instance_it->second;
    if (eni->nic.attached()) {
      return Ec2Error(
          Ec2ErrorCode::kInvalidParameterValue,
          absl::StrCat(eni->nic.id, " is already attached to ", eni->nic.instance_id, " (in use)"));
    }
    const int card = request.network_card_index;
    if (card < 0 || card >= instance.spec.network_cards) {
      return Ec2Error(Ec2ErrorCode::kInvalidParameterValue,
                      absl::StrCat("network card index ", card, " for ", eni->nic.id,
                                   " is not a card of ", request.instance_id, " (it has ",
                                   instance.spec.network_cards, ": 0..",
                                   instance.spec.network_cards - 1, ")"));
    }
    if (request.device_index < 0 || request.device_index > kMaxDeviceIndex) {
      return Ec2Error(Ec2ErrorCode::kInvalidParameterValue,
                      absl::StrCat("device index ", request.device_index, " for ", eni->nic.id,
                                   " must be 0..", kMaxDeviceIndex));
    }
    const int on_card = static_cast<int>(
        std::count_if(instance.attached.begin(), instance.attached.end(),
                      [card](const auto& entry) { return entry.first / kSlotsPerCard == card; }));
    if (on_card >= instance.spec.max_enis) {
      return Ec2Error(Ec2ErrorCode::kAttachmentLimitExceeded,
                      absl::StrCat("network card ", card, " of instance ", request.instance_id,
                                   " already has ", on_card, " of ", instance.spec.max_enis,
                                   " network interfaces"));
    }
    for (const auto& [slot, id] : instance.attached) {
      if (slot == SlotKey(card, request.device_index)) {
        return Ec2Error(Ec2ErrorCode::kInvalidParameterValue,
                        absl::StrCat("device index ", request.device_index, " on network card ",
                                     card, " of ", request.instance_id, " is in use by ", id));
      }
    }
    if (UsedSlots(*eni) > instance.spec.ipv4_per_eni - 1) {
      return Ec2Error(Ec2ErrorCode::kPrivateIpAddressLimitExceeded,
                      absl::StrCat(eni->nic.id, " holds ", UsedSlots(*eni),
                                   " secondary slots; instance ", request.instance_id, " allows ",
                                   instance.spec.ipv4_per_eni - 1, " per interface"));
    }
    AttachUnchecked(*eni, instance, card, request.device_index);
    return eni->nic.attachment_id;
  }

  // SimulatedEc2::DetachNetworkInterface()
  //
  // Detaches by attachment id (or, if that is empty, by ENI id). The ENI
  // keeps its addresses and becomes unattached (leaked until deleted).
  //   InvalidNetworkInterfaceID.NotFound  unknown ENI;
  //   InvalidParameterValue               unknown attachment, ids that do not
  //                                       match, an unattached ENI, or the
  //                                       primary ENI (card 0, device 0).
  [[nodiscard]] absl::Status DetachNetworkInterface(const DetachNetworkInterfaceRequest& request) {
    ENIPOOL_RETURN_IF_ERROR(Admit(CallKind::kDetachNetworkInterface));
    std::string eni_id = request.eni_id;
    if (!request.attachment_id.empty()) {
      const auto it = attachments_.find(request.attachment_id);
      if (it == attachments_.end()) {
        if (!request.eni_id.empty() && !enis_.contains(request.eni_id)) {
          return NotFound(request.eni_id);
        }
        return Ec2Error(Ec2ErrorCode::kInvalidParameterValue,
                        absl::StrCat("attachment ", request.attachment_id, " does not exist"));
      }
      if (!request.eni_id.empty() && request.eni_id != it->second) {
        return Ec2Error(Ec2ErrorCode::kInvalidParameterValue,
                        absl::StrCat("attachment ", request.attachment_id, " belongs to ",
                                     it->second, ", not ", request.eni_id));
      }
      eni_id = it->second;
    }
    ENIPOOL_ASSIGN_OR_RETURN(Eni * eni, FindEniOrError(eni_id));
    if (!eni->nic.attached()) {
      return Ec2Error(Ec2ErrorCode::kInvalidParameterValue,
                      absl::StrCat(eni->nic.id, " is not attached"));
    }
    if (eni->nic.device_index == 0 && eni->nic.network_card_index == 0) {
      return Ec2Error(Ec2ErrorCode::kInvalidParameterValue,
                      absl::StrCat("cannot detach the primary network interface ", eni->nic.id,
                                   " (device 0) of ", eni->nic.instance_id));
    }
    Instance& instance = instances_.find(eni->nic.instance_id)->second;
    std::erase_if(instance.attached,
                  [&](const auto& entry) { return entry.second == eni->nic.id; });
    attachments_.erase(eni->nic.attachment_id);
    eni->nic.instance_id.clear();
    eni->nic.attachment_id.clear();
    eni->nic.device_index = -1;
    eni->nic.network_card_index = 0;
    eni->nic.delete_on_termination = false;
    unattached_.insert(eni->nic.id);
    return absl::OkStatus();
  }

  // SimulatedEc2::DeleteNetworkInterface()
  //
  // Deletes an unattached ENI; its addresses and prefixes go back to the
  // subnet.
  //   InvalidNetworkInterfaceID.NotFound  unknown ENI;
  //   InvalidParameterValue               the ENI is attached ("in use").
  [[nodiscard]] absl::Status DeleteNetworkInterface(const DeleteNetworkInterfaceRequest& request) {
    ENIPOOL_RETURN_IF_ERROR(Admit(CallKind::kDeleteNetworkInterface));
    ENIPOOL_ASSIGN_OR_RETURN(Eni * eni, FindEniOrError(request.eni_id));
    if (eni->nic.attached()) {
      return Ec2Error(
          Ec2ErrorCode::kInvalidParameterValue,
          absl::StrCat("network interface ", eni->nic.id, " is currently in use (attached to ",
                       eni->nic.instance_id, ")"));
    }
    DeleteUnattached(*eni);
    return absl::OkStatus();
  }

  // SimulatedEc2::AssignPrivateIpAddresses()
  //
  // `count` more secondary IPs on the ENI, at random free addresses.
  //   InvalidNetworkInterfaceID.NotFound  unknown ENI;
  //   InvalidParameterValue               count < 1;
  //   PrivateIpAddressLimitExceeded       not enough free slots on the ENI;
  //   InsufficientFreeAddressesInSubnet   not enough free addresses.
  [[nodiscard]] absl::StatusOr<std::vector<Ipv4Address>> AssignPrivateIpAddresses(
      const AssignPrivateIpAddressesRequest& request) {
    ENIPOOL_RETURN_IF_ERROR(Admit(CallKind::kAssignPrivateIpAddresses));
    ENIPOOL_ASSIGN_OR_RETURN(Eni * eni, FindEniOrError(request.eni_id));
    ENIPOOL_RETURN_IF_ERROR(CheckSlots(*eni, request.count, "secondary IPs"));
    ENIPOOL_ASSIGN_OR_RETURN(
        std::vector<Ipv4Address> addresses,
        subnets_[eni->subnet_index].AllocateAddresses(request.count, address_rng_));
    eni->nic.secondary_ips.insert(eni->nic.secondary_ips.end(), addresses.begin(), addresses.end());
    return addresses;
  }

  // SimulatedEc2::AssignIpv4Prefixes()
  //
  // `count` more /28 prefixes on the ENI, on aligned wholly free blocks.
  //   InvalidNetworkInterfaceID.NotFound  unknown ENI;
  //   InvalidParameterValue               count < 1;
  //   PrivateIpAddressLimitExceeded       not enough free slots on the ENI;
  //   InsufficientCidrBlocks              not enough free aligned /28s.
  [[nodiscard]] absl::StatusOr<std::vector<Ipv4Prefix>> AssignIpv4Prefixes(
      const AssignIpv4PrefixesRequest& request) {
    ENIPOOL_RETURN_IF_ERROR(Admit(CallKind::kAssignIpv4Prefixes));
    ENIPOOL_ASSIGN_OR_RETURN(Eni * eni, FindEniOrError(request.eni_id));
    ENIPOOL_RETURN_IF_ERROR(CheckSlots(*eni, request.count, "prefixes"));
    ENIPOOL_ASSIGN_OR_RETURN(
        std::vector<Ipv4Prefix> prefixes,
        subnets_[eni->subnet_index].AllocatePrefixes(request.count, address_rng_));
    eni->nic.prefixes.insert(eni->nic.prefixes.end(), prefixes.begin(), prefixes.end());
    return prefixes;
  }

  // SimulatedEc2::AssignIpv6Prefixes()
  //
  // AssignIpv6Addresses with Ipv6PrefixCount: `count` more /80s on the ENI,
  // the lowest free ones of its subnet's IPv6 /64.
  //   InvalidNetworkInterfaceID.NotFound  unknown ENI;
  //   InvalidParameterValue               count < 1, or the ENI's subnet has
  //                                       no IPv6 block;
  //   InsufficientCidrBlocks              not enough free /80s in the /64.
  [[nodiscard]] absl::StatusOr<std::vector<Ipv6Prefix>> AssignIpv6Prefixes(
      const AssignIpv6PrefixesRequest& request) {
    ENIPOOL_RETURN_IF_ERROR(Admit(CallKind::kAssignIpv6Prefixes));
    ENIPOOL_ASSIGN_OR_RETURN(Eni * eni, FindEniOrError(request.eni_id));
    if (request.count < 1) {
      return Ec2Error(Ec2ErrorCode::kInvalidParameterValue,
                      absl::StrCat("count ", request.count, " of IPv6 prefixes for ", eni->nic.id,
                                   " must be >= 1"));
    }
    ENIPOOL_RETURN_IF_ERROR(CheckIpv6Prefixes(eni->subnet_index, request.count));
    std::vector<Ipv6Prefix> prefixes = DelegateIpv6Prefixes(eni->subnet_index, request.count);
    eni->nic.ipv6_prefixes.insert(eni->nic.ipv6_prefixes.end(), prefixes.begin(), prefixes.end());
    return prefixes;
  }

  // SimulatedEc2::UnassignIpv6Prefixes()
  //
  // UnassignIpv6Addresses with Ipv6Prefix.N: the /80s go back to the subnet.
  //   InvalidNetworkInterfaceID.NotFound  unknown ENI;
  //   InvalidParameterValue               an empty list, a duplicate, or a
  //                                       prefix the ENI does not hold.
  [[nodiscard]] absl::Status UnassignIpv6Prefixes(const UnassignIpv6PrefixesRequest& request) {
    ENIPOOL_RETURN_IF_ERROR(Admit(CallKind::kUnassignIpv6Prefixes));
    ENIPOOL_ASSIGN_OR_RETURN(Eni * eni, FindEniOrError(request.eni_id));
    ENIPOOL_RETURN_IF_ERROR(
        CheckRemovable(eni->nic.id, eni->nic.ipv6_prefixes, request.prefixes, "IPv6 prefix"));
    for (const Ipv6Prefix& prefix : request.prefixes) {
      std::erase(eni->nic.ipv6_prefixes, prefix);
      ReleaseIpv6Prefix(eni->subnet_index, prefix);
    }
    return absl::OkStatus();
  }

  // SimulatedEc2::CreateTags()
  //
  // Sets every tag of the request on every ENI it names, as EC2's CreateTags
  // does for network interfaces: a key an ENI has takes the new value, its
  // other tags stay. Everything is checked before anything changes, so a
  // refused call tags nothing.
  //   InvalidParameterValue               no ENI or no tag given; a tag key
  //                                       empty, longer than 127 characters,
  //                                       starting with "aws:" (EC2 reserves
  //                                       it) or given twice; a value longer
  //                                       than 256 characters;
  //   InvalidNetworkInterfaceID.NotFound  a named ENI does not exist;
  //   TagLimitExceeded                    an ENI would carry more than 50
  //                                       tags (RESOURCE_EXHAUSTED).
  [[nodiscard]] absl::Status CreateTags(const CreateTagsRequest& request) {
    ENIPOOL_RETURN_IF_ERROR(Admit(CallKind::kCreateTags));
    if (request.eni_ids.empty() || request.tags.empty()) {
      return Ec2Error(Ec2ErrorCode::kInvalidParameterValue,
                      absl::StrCat("CreateTags needs at least one resource and one tag (",
                                   request.eni_ids.size(), " resources, ", request.tags.size(),
                                   " tags given)"));
    }
    for (std::size_t i = 0; i < request.tags.size(); ++i) {
      const Ec2Tag& tag = request.tags[i];
      absl::string_view why;
      if (tag.key.empty()) {
        why = "a tag key must not be empty";
      } else if (tag.key.size() > kMaxTagKeyLength) {
        why = "a tag key has at most 127 characters";
      } else if (absl::StartsWith(tag.key, "aws:")) {
        why = "tag keys starting with aws: are reserved";
      } else if (tag.value.size() > kMaxTagValueLength) {
        why = "a tag value has at most 256 characters";
      } else if (std::any_of(request.tags.begin(),
                             request.tags.begin() + static_cast<std::ptrdiff_t>(i),
                             [&](const Ec2Tag& earlier) { return earlier.key == tag.key; })) {
        why = "the key is given twice";
      }
      if (!why.empty()) {
        return Ec2Error(Ec2ErrorCode::kInvalidParameterValue,
                        absl::StrCat("tag ", QuoteInput(tag.key), ": ", why));
      }
    }
    std::vector<Eni*> targets;
    for (const std::string& id : request.eni_ids) {
      ENIPOOL_ASSIGN_OR_RETURN(Eni * eni, FindEniOrError(id));
      std::size_t count = eni->nic.tags.size();
      for (const Ec2Tag& tag : request.tags) {
        if (FindTag(eni->nic.tags, tag.key) == nullptr) ++count;
      }
      if (count > kMaxTagsPerResource) {
        return absl::ResourceExhaustedError(
            absl::StrCat("TagLimitExceeded: ", eni->nic.id, " would carry ", count,
                         " tags; a resource has at most ", kMaxTagsPerResource));
      }
      targets.push_back(eni);
    }
    for (Eni* eni : targets) SetTags(eni->nic.tags, request.tags);
    return absl::OkStatus();
  }

  // SimulatedEc2::ModifyNetworkInterfaceAttribute()
  //
  // Changes one attribute of an ENI, as EC2 does: its attachment's
  // DeleteOnTermination (the attachment named must be the ENI's own), or
  // its security groups (the new list replaces the old). Everything is
  // checked before anything changes, so a refused call changes nothing.
  //   InvalidNetworkInterfaceID.NotFound  the ENI does not exist;
  //   InvalidParameterCombination         both attributes given, or neither
  //                                       (an empty group list is none);
  //   InvalidAttachmentID.NotFound        the attachment is not the ENI's
  //                                       current one (NOT_FOUND);
  //   InvalidGroupId.Malformed            a group id that is not "sg-"
  //                                       followed by something.
  [[nodiscard]] absl::Status ModifyNetworkInterfaceAttribute(
      const ModifyNetworkInterfaceAttributeRequest& request) {
    ENIPOOL_RETURN_IF_ERROR(Admit(CallKind::kModifyNetworkInterfaceAttribute));
    ENIPOOL_ASSIGN_OR_RETURN(Eni * eni, FindEniOrError(request.eni_id));
    const bool groups_given =
        request.security_group_ids.has_value() && !request.security_group_ids->empty();
    if (request.attachment.has_value() == groups_given) {
      return absl::InvalidArgumentError(absl::StrCat(
          "InvalidParameterCombination: ModifyNetworkInterfaceAttribute of ", eni->nic.id,
          " changes exactly one attribute; ", groups_given ? "both" : "neither",
          " Attachment and SecurityGroupId.N given"));
    }
    if (request.attachment.has_value()) {
      const std::string& attachment_id = request.attachment->attachment_id;
      if (attachment_id.empty() || attachment_id != eni->nic.attachment_id) {
        return absl::NotFoundError(absl::StrCat(
            "InvalidAttachmentID.NotFound: the attachment ", QuoteInput(attachment_id),
            " is not ", eni->nic.id, "'s (",
            eni->nic.attached() ? eni->nic.attachment_id : std::string("it is not attached"),
            ")"));
      }
      eni->nic.delete_on_termination = request.attachment->delete_on_termination;
      return absl::OkStatus();
    }
    for (const std::string& group : *request.security_group_ids) {
      if (!absl::StartsWith(group, "sg-") || group.size() == 3) {
        return absl::InvalidArgumentError(absl::StrCat("InvalidGroupId.Malformed: the group id ",
                                                       QuoteInput(group), " of ", eni->nic.id,
                                                       " is not sg-<id>"));
      }
    }
    eni->nic.security_group_ids = *request.security_group_ids;
    return absl::OkStatus();
  }

  // SimulatedEc2::UnassignPrivateIpAddresses()
  //
  // Removes secondary IPs from the ENI and returns them to the subnet.
  //   InvalidNetworkInterfaceID.NotFound  unknown ENI;
  //   InvalidParameterValue               an empty list, a duplicate, or an
  //                                       address that is not a secondary IP
  //                                       of the ENI (the primary included).
  [[nodiscard]] absl::Status UnassignPrivateIpAddresses(
      const UnassignPrivateIpAddressesRequest& request) {
    ENIPOOL_RETURN_IF_ERROR(Admit(CallKind::kUnassignPrivateIpAddresses));
    ENIPOOL_ASSIGN_OR_RETURN(Eni * eni, FindEniOrError(request.eni_id));
    ENIPOOL_RETURN_IF_ERROR(
        CheckRemovable(eni->nic.id, eni->nic.secondary_ips, request.addresses, "secondary IP"));
    Subnet& subnet = subnets_[eni->subnet_index];
    for (Ipv4Address address : request.addresses) {
      std::erase(eni->nic.secondary_ips, address);
      (void)subnet.ReleaseAddress(address);
    }
    return absl::OkStatus();
  }

  // SimulatedEc2::UnassignIpv4Prefixes()
  //
  // Removes prefixes from the ENI and returns them to the subnet.
  //   InvalidNetworkInterfaceID.NotFound  unknown ENI;
  //   InvalidParameterValue               an empty list, a duplicate, or a
  //                                       prefix the ENI does not hold.
  [[nodiscard]] absl::Status UnassignIpv4Prefixes(const UnassignIpv4PrefixesRequest& request) {
    ENIPOOL_RETURN_IF_ERROR(Admit(CallKind::kUnassignIpv4Prefixes));
    ENIPOOL_ASSIGN_OR_RETURN(Eni * eni, FindEniOrError(request.eni_id));
    ENIPOOL_RETURN_IF_ERROR(
        CheckRemovable(eni->nic.id, eni->nic.prefixes, request.prefixes, "prefix"));
    Subnet& subnet = subnets_[eni->subnet_index];
    for (const Ipv4Prefix& prefix : request.prefixes) {
      std::erase(eni->nic.prefixes, prefix);
      (void)subnet.ReleasePrefix(prefix);
    }
    return absl::OkStatus();
  }

  // SimulatedEc2::DescribeNetworkInterfaces()
  //
  // The truth about ENIs: those named by `eni_ids` (in request order,
  // narrowed to `instance_id` if set); else those attached to `instance_id`
  // (by network card, then device index; none for an unknown instance);
  // else every ENI of the
  // account, attached or not, sorted by id; each narrowed to `description`
  // when set.
  //   InvalidNetworkInterfaceID.NotFound  a named ENI does not exist.
  [[nodiscard]] absl::StatusOr<std::vector<NetworkInterface>> DescribeNetworkInterfaces(
      const DescribeNetworkInterfacesRequest& request) {
    ENIPOOL_RETURN_IF_ERROR(Admit(CallKind::kDescribeNetworkInterfaces));
    std::vector<NetworkInterface> out;
    auto wanted = [&](const NetworkInterface& nic) {
      return request.description.empty() || nic.description == request.description;
    };
    if (!request.eni_ids.empty()) {
      for (const std::string& id : request.eni_ids) {
        const auto it = enis_.find(id);
        if (it == enis_.end()) return NotFound(id);
        if ((request.instance_id.empty() || it->second.nic.instance_id == request.instance_id) &&
            wanted(it->second.nic)) {
          out.push_back(it->second.nic);
        }
      }
      return out;
    }
    if (!request.instance_id.empty()) {
      const auto it = instances_.find(request.instance_id);
      if (it == instances_.end()) return out;
      for (const auto& [slot, id] : it->second.attached) {
        const NetworkInterface& nic = enis_.find(id)->second.nic;
        if (wanted(nic)) out.push_back(nic);
      }
      return out;
    }
    for (const auto& [id, eni] : enis_) {
      if (wanted(eni.nic)) out.push_back(eni.nic);
    }
    std::sort(out.begin(), out.end(),
              [](const NetworkInterface& a, const NetworkInterface& b) { return a.id < b.id; });
    return out;
  }

  // SimulatedEc2::DescribeSubnets()
  //
  // The subnets named by `subnet_ids` (in request order), else every subnet
  // sorted by id; each with its free addresses now and its tags. Every
  // subnet is in VPC kVpcId and zone kAvailabilityZone: a request naming
  // another VPC or zone gets none.
  //   InvalidSubnetID.NotFound  a named subnet does not exist.
  [[nodiscard]] absl::StatusOr<std::vector<SubnetInfo>> DescribeSubnets(
      const DescribeSubnetsRequest& request) {
    ENIPOOL_RETURN_IF_ERROR(Admit(CallKind::kDescribeSubnets));
    std::vector<SubnetInfo> out;
    if ((!request.vpc_id.empty() && request.vpc_id != kVpcId) ||
        (!request.availability_zone.empty() && request.availability_zone != kAvailabilityZone)) {
      return out;
    }
    auto info = [&](std::size_t index) {
      const Subnet& subnet = subnets_[index];
      return SubnetInfo{
          .id = subnet.id(),
          .cidr = subnet.cidr(),
          .availability_zone = std::string(kAvailabilityZone),
          .vpc_id = std::string(kVpcId),
          .available_addresses = static_cast<std::int64_t>(subnet.free_address_count()),
          .tags = index < subnet_tags_.size() ? subnet_tags_[index] : std::vector<Ec2Tag>{},
          .ipv6_cidr = index < subnet_ipv6_.size() ? subnet_ipv6_[index].cidr : std::nullopt};
    };
    if (!request.subnet_ids.empty()) {
      for (const std::string& id : request.subnet_ids) {
        const auto it = subnet_index_.find(id);
        if (it == subnet_index_.end()) {
          return absl::NotFoundError(absl::StrCat("InvalidSubnetID.NotFound: The subnet ID '",
                                                  QuoteInput(id), "' does not exist"));
        }
        out.push_back(info(it->second));
      }
      return out;
    }
    for (std::size_t i = 0; i < subnets_.size(); ++i) out.push_back(info(i));
    std::sort(out.begin(), out.end(),
              [](const SubnetInfo& a, const SubnetInfo& b) { return a.id < b.id; });
    return out;
  }

  // SimulatedEc2::Call()
  //
  // Any Ec2Call, answered as an Ec2Result (Dispatch() over this backend).
  Ec2Result Call(const Ec2Call& call) { return Dispatch(*this, call); }

  // ---------------------------------------------------------------------------
  // Latency, faults, leaks and introspection.
  // ---------------------------------------------------------------------------

  // SimulatedEc2::SampleLatency()
  //
  // How long `call` takes, drawn from the latency model with the
  // simulator's latency generator. The caller schedules the answer at
  // now + this; nothing here waits.
  [[nodiscard]] absl::Duration SampleLatency(const Ec2Call& call) {
    return options_.latency.Sample(CallKindOf(call), latency_rng_);
  }

  // SimulatedEc2::ShouldCrash()
  //
  // True once the fault plan's crash point has been reached: the harness
  // checks this after each call and, if set, stops the node under test
  // before it sees the answer.
  [[nodiscard]] bool ShouldCrash() const noexcept {
    return options_.faults.ShouldCrashAfter(stats_.calls);
  }

  // SimulatedEc2::fault_plan()
  //
  // The plan in force; a harness may change it mid-run (e.g. Clear() it to
  // let a run converge).
  [[nodiscard]] FaultPlan& fault_plan() noexcept { return options_.faults; }
  [[nodiscard]] const FaultPlan& fault_plan() const noexcept { return options_.faults; }

  // SimulatedEc2::UnattachedEnis()
  //
  // ENIs attached to nothing whose age (since create) is at least
  // `min_age`, sorted by id: what a leaked-ENI sweep finds. O(unattached).
  [[nodiscard]] std::vector<NetworkInterface> UnattachedEnis(absl::Duration min_age) const {
    std::vector<NetworkInterface> out;
    const absl::Time now = clock_.Now();
    for (const std::string& id : unattached_) {
      const NetworkInterface& nic = enis_.find(id)->second.nic;
      if (now - nic.created >= min_age) out.push_back(nic);
    }
    std::sort(out.begin(), out.end(),
              [](const NetworkInterface& a, const NetworkInterface& b) { return a.id < b.id; });
    return out;
  }

  // SimulatedEc2::AttachedEnis()
  //
  // The ENIs attached to `instance_id`, by network card then device index (none for an unknown
  // instance): what the instance's metadata service shows. Not an API call:
  // not counted, faulted or throttled.
  [[nodiscard]] std::vector<NetworkInterface> AttachedEnis(absl::string_view instance_id) const {
    std::vector<NetworkInterface> out;
    const auto it = instances_.find(instance_id);
    if (it == instances_.end()) return out;
    for (const auto& [slot, eni_id] : it->second.attached) {
      out.push_back(enis_.find(eni_id)->second.nic);
    }
    return out;
  }

  // SimulatedEc2::CollectLeakedEnis()
  //
  // Deletes every unattached ENI at least `min_age` old and returns how
  // many. An operator's clean-up, not an API call: not counted, faulted or
  // throttled.
  int CollectLeakedEnis(absl::Duration min_age) {
    const std::vector<NetworkInterface> leaked = UnattachedEnis(min_age);
    for (const NetworkInterface& nic : leaked) DeleteUnattached(enis_.find(nic.id)->second);
    return static_cast<int>(leaked.size());
  }

  // SimulatedEc2::FindSubnet() / FindEni()
  //
  // The subnet or ENI with this id, or nullptr. The pointer is valid until
  // the next call that adds or removes subnets or ENIs.
  [[nodiscard]] const Subnet* FindSubnet(absl::string_view id) const {
    const auto it = subnet_index_.find(id);
    return it == subnet_index_.end() ? nullptr : &subnets_[it->second];
  }
  [[nodiscard]] const NetworkInterface* FindEni(absl::string_view id) const {
    const auto it = enis_.find(id);
    return it == enis_.end() ? nullptr : &it->second.nic;
  }

  // SimulatedEc2::SubnetIpv6Cidr()
  //
  // The IPv6 block of subnet `id` (AddSubnetIpv6Cidr), or nullopt for a
  // subnet without one or an unknown subnet. Not an API call.
  [[nodiscard]] std::optional<Ipv6Prefix> SubnetIpv6Cidr(absl::string_view id) const {
    const auto it = subnet_index_.find(id);
    if (it == subnet_index_.end() || it->second >= subnet_ipv6_.size()) return std::nullopt;
    return subnet_ipv6_[it->second].cidr;
  }

  // SimulatedEc2::SlotLimit()
  //
  // Secondary slots (IPs + prefixes) the ENI may hold now: its instance
  // type's IPv4 addresses per ENI minus the primary, or the unattached cap.
  // -1 for an unknown ENI.
  [[nodiscard]] int SlotLimit(absl::string_view eni_id) const {
    const auto it = enis_.find(eni_id);
    return it == enis_.end() ? -1 : SlotLimitOf(it->second);
  }

  [[nodiscard]] std::size_t eni_count() const noexcept { return enis_.size(); }
  [[nodiscard]] std::size_t unattached_eni_count() const noexcept { return unattached_.size(); }
  [[nodiscard]] std::size_t instance_count() const noexcept { return instances_.size(); }
  [[nodiscard]] const std::vector<Subnet>& subnets() const noexcept { return subnets_; }
  [[nodiscard]] const SimulatedEc2Stats& stats() const noexcept { return stats_; }
  [[nodiscard]] const AccountThrottle& throttle() const noexcept { return throttle_; }
  [[nodiscard]] const SimulatedEc2Options& options() const noexcept { return options_; }
  [[nodiscard]] absl::Time Now() const { return clock_.Now(); }

 private:
  struct Eni {
    NetworkInterface nic;
    std::size_t subnet_index = 0;
  };
  // A subnet's IPv6 block: /80 number i of the /64 is free when i ≥ next or
  // i is in `released`.
  struct SubnetIpv6 {
    std::optional<Ipv6Prefix> cidr;
    std::uint64_t next = 0;
    absl::btree_set<std::uint64_t> released;
  };
  static constexpr std::uint64_t kIpv6PrefixesPerSubnet = std::uint64_t{1} << (80 - 64);

  // InvalidParameterValue when subnet `subnet_index` has no IPv6 block,
  // InsufficientCidrBlocks when its /64 has fewer than `count` free /80s.
  [[nodiscard]] absl::Status CheckIpv6Prefixes(std::size_t subnet_index, int count) const {
    const std::string& subnet_id = subnets_[subnet_index].id();
    if (subnet_index >= subnet_ipv6_.size() || !subnet_ipv6_[subnet_index].cidr.has_value()) {
      return Ec2Error(Ec2ErrorCode::kInvalidParameterValue,
                      absl::StrCat("subnet ", subnet_id, " has no IPv6 CIDR block"));
    }
    const SubnetIpv6& block = subnet_ipv6_[subnet_index];
    if (block.released.size() + (kIpv6PrefixesPerSubnet - block.next) <
        static_cast<std::uint64_t>(count)) {
      return Ec2Error(Ec2ErrorCode::kInsufficientCidrBlocks,
                      absl::StrCat("subnet ", subnet_id, " (", block.cidr->ToString(),
                                   ") has fewer than ", count, " free /80 prefixes"));
    }
    return absl::OkStatus();
  }

  // The `count` lowest free /80s of the subnet's IPv6 block, taken
  // (CheckIpv6Prefixes first: this cannot fail).
  std::vector<Ipv6Prefix> DelegateIpv6Prefixes(std::size_t subnet_index, int count) {
    SubnetIpv6& block = subnet_ipv6_[subnet_index];
    std::vector<Ipv6Prefix> prefixes;
    for (int i = 0; i < count; ++i) {
      std::uint64_t index = 0;
      if (!block.released.empty()) {
        index = *block.released.begin();
        block.released.erase(block.released.begin());
      } else {
        index = block.next++;
      }
      prefixes.push_back(*block.cidr->Subprefix(Ipv6Prefix::kDelegatedLength, index));
    }
    return prefixes;
  }

  void ReleaseIpv6Prefix(std::size_t subnet_index, const Ipv6Prefix& prefix) {
    if (subnet_index >= subnet_ipv6_.size()) return;
    SubnetIpv6& block = subnet_ipv6_[subnet_index];
    if (!block.cidr.has_value() || !block.cidr->Contains(prefix)) return;
    block.released.insert(block.cidr->OffsetOf(prefix.network()) >> (128 - 80));
  }

  struct Instance {
    InstanceSpec spec;
    // (SlotKey(card, device index), ENI id), by card then device index.
    std::vector<std::pair<int, std::string>> attached;
  };

  // Device indexes are 0..99 on each card: card × 100 + device orders the
  // attachments by card, then device, and names each (card, device) once.
  static constexpr int kSlotsPerCard = kMaxDeviceIndex + 1;
  static constexpr int SlotKey(int card, int device_index) noexcept {
    return card * kSlotsPerCard + device_index;
  }

  // Counts the call, then applies the fault plan and the throttle.
  absl::Status Admit(CallKind kind) {
    const auto k = static_cast<std::size_t>(kind);
    ++stats_.calls;
    ++stats_.calls_by_kind[k];
    const absl::Time now = clock_.Now();
    if (auto fault = options_.faults.FaultFor(kind, stats_.calls_by_kind[k], stats_.calls, now)) {
      ++stats_.injected_faults;
      return *std::move(fault);
    }
    if (!throttle_.TryAdmit(ActionOf(kind), now)) {
      ++stats_.throttled;
      return Ec2Error(Ec2ErrorCode::kRequestLimitExceeded,
                      absl::StrCat("request limit exceeded for ", Ec2ActionName(ActionOf(kind)),
                                   " (", CallKindName(kind), ")"));
    }
    return absl::OkStatus();
  }

  // EC2's tag limits (a resource carries at most 50 tags; keys of at most
  // 127 characters, values of at most 256).
  static constexpr std::size_t kMaxTagsPerResource = 50;
  static constexpr std::size_t kMaxTagKeyLength = 127;
  static constexpr std::size_t kMaxTagValueLength = 256;

  static void SetTags(std::vector<Ec2Tag>& have, const std::vector<Ec2Tag>& tags) {
    for (const Ec2Tag& tag : tags) {
      bool replaced = false;
      for (Ec2Tag& existing : have) {
        if (existing.key == tag.key) {
          existing.value = tag.value;
          replaced = true;
        }
      }
      if (!replaced) have.push_back(tag);
    }
  }

  static absl::Status NotFound(absl::string_view eni_id) {
    return Ec2Error(Ec2ErrorCode::kInvalidNetworkInterfaceIdNotFound,
                    absl::StrCat("the network interface '", eni_id, "' does not exist"));
  }

  absl::StatusOr<Eni*> FindEniOrError(absl::string_view eni_id) {
    const auto it = enis_.find(eni_id);
    if (it == enis_.end()) return NotFound(eni_id);
    return &it->second;
  }

  static int UsedSlots(const Eni& eni) {
    return static_cast<int>(eni.nic.secondary_ips.size() + eni.nic.prefixes.size());
  }

  int SlotLimitOf(const Eni& eni) const {
    if (!eni.nic.attached()) return options_.unattached_ipv4_per_eni - 1;
    return instances_.find(eni.nic.instance_id)->second.spec.ipv4_per_eni - 1;
  }

  absl::Status CheckSlots(const Eni& eni, int count, absl::string_view what) const {
    if (count < 1) {
      return Ec2Error(
          Ec2ErrorCode::kInvalidParameterValue,
          absl::StrCat("count ", count, " of ", what, " for ", eni.nic.id, " must be >= 1"));
    }
    const int limit = SlotLimitOf(eni);
    if (UsedSlots(eni) + count > limit) {
      return Ec2Error(
          Ec2ErrorCode::kPrivateIpAddressLimitExceeded,
          absl::StrCat(eni.nic.id, " has ", UsedSlots(eni), " of ", limit,
                       " secondary slots in use; ", count, " more ", what, " do not fit"));
    }
    return absl::OkStatus();
  }

  // Every item of `remove` is held in `held`, once.
  template <typename T>
  static absl::Status CheckRemovable(absl::string_view eni_id, const std::vector<T>& held,
                                     const std::vector<T>& remove, absl::string_view what) {
    if (remove.empty()) {
      return Ec2Error(Ec2ErrorCode::kInvalidParameterValue,
                      absl::StrCat("no ", what, " given to unassign from ", eni_id));
    }
    for (std::size_t i = 0; i < remove.size(); ++i) {
      if (std::find(held.begin(), held.end(), remove[i]) == held.end()) {
        return Ec2Error(Ec2ErrorCode::kInvalidParameterValue,
                        absl::StrCat(remove[i].ToString(), " is not a ", what, " of ", eni_id));
      }
      if (std::find(remove.begin(), remove.begin() + static_cast<std::ptrdiff_t>(i), remove[i]) !=
          remove.begin() + static_cast<std::ptrdiff_t>(i)) {
        return Ec2Error(Ec2ErrorCode::kInvalidParameterValue,
                        absl::StrCat(remove[i].ToString(), " is listed twice for ", eni_id));
      }
    }
    return absl::OkStatus();
  }

  Eni& NewEni(std::size_t subnet_index, Ipv4Address primary_ip) {
    std::string id = absl::StrFormat("eni-%017x", next_eni_++);
    Eni& eni = enis_[id];
    eni.subnet_index = subnet_index;
    eni.nic.id = std::move(id);
    eni.nic.subnet_id = subnets_[subnet_index].id();
    eni.nic.primary_ip = primary_ip;
    eni.nic.created = clock_.Now();
    return eni;
  }

  void AttachUnchecked(Eni& eni, Instance& instance, int card, int device_index) {
    eni.nic.instance_id = instance.spec.instance_id;
    eni.nic.attachment_id = absl::StrFormat("eni-attach-%017x", next_attachment_++);
    eni.nic.device_index = device_index;
    eni.nic.network_card_index = card;
    // EC2 sets it on the primary ENI launched with the instance, not on one
    // attached later (ModifyNetworkInterfaceAttribute sets it there).
    eni.nic.delete_on_termination = card == 0 && device_index == 0;
    const int slot = SlotKey(card, device_index);
    const auto at = std::lower_bound(instance.attached.begin(), instance.attached.end(),
                                     std::pair<int, std::string>(slot, std::string()));
    instance.attached.emplace(at, slot, eni.nic.id);
    attachments_.emplace(eni.nic.attachment_id, eni.nic.id);
    unattached_.erase(eni.nic.id);
  }

  void ReleaseAll(const Eni& eni) {
    Subnet& subnet = subnets_[eni.subnet_index];
    (void)subnet.ReleaseAddress(eni.nic.primary_ip);
    for (Ipv4Address address : eni.nic.secondary_ips) (void)subnet.ReleaseAddress(address);
    for (const Ipv4Prefix& prefix : eni.nic.prefixes) (void)subnet.ReleasePrefix(prefix);
    for (const Ipv6Prefix& prefix : eni.nic.ipv6_prefixes) ReleaseIpv6Prefix(eni.subnet_index, prefix);
  }

  void DeleteUnattached(Eni& eni) {
    ReleaseAll(eni);
    unattached_.erase(eni.nic.id);
    enis_.erase(eni.nic.id);
  }

  const C& clock_;
  SimulatedEc2Options options_;
  AccountThrottle throttle_;
  std::mt19937_64 address_rng_;
  std::mt19937_64 latency_rng_;
  SimulatedEc2Stats stats_;
  std::vector<Subnet> subnets_;
  std::vector<std::vector<Ec2Tag>> subnet_tags_;  // by subnet index; may be shorter
  std::vector<SubnetIpv6> subnet_ipv6_;            // by subnet index; may be shorter
  absl::flat_hash_map<std::string, std::size_t> subnet_index_;
  absl::flat_hash_map<std::string, Eni> enis_;
  absl::flat_hash_map<std::string, std::string> attachments_;  // attachment id → ENI id
  absl::flat_hash_map<std::string, Instance> instances_;
  absl::flat_hash_set<std::string> unattached_;
  std::uint64_t next_eni_ = 1;
  std::uint64_t next_attachment_ = 1;
};

static_assert(Backend<SimulatedEc2<ManualClock>>);
static_assert(Backend<SimulatedEc2<RealClock>>);

}  // namespace enipool::ec2

#endif  // ENIPOOL_EC2_SIMULATED_EC2_H_
