// -----------------------------------------------------------------------------
// File: datastore.h
// -----------------------------------------------------------------------------
//
// `NodeDatastore`: the node's pool of pod IPs. It holds the node's ENIs, the
// CIDRs EC2 gave each one (secondary /32s or delegated /28 prefixes), which
// address belongs to which pod, and which released addresses are cooling
// down. It is the ipamd datastore of the AWS VPC CNI (docs/reference-behavior.md §1–§3),
// without its scans: ADD and DEL are O(1) whatever the node size.
//
// Example:
//
//   enipool::ManualClock clock;
//   enipool::NodeDatastore datastore(enipool::AddressMode::kPrefix, clock);
//   ENIPOOL_RETURN_IF_ERROR(datastore.AddEni({.id = "eni-0a1b", .device_number = 0,
//                                             .primary = true}));
//   ENIPOOL_RETURN_IF_ERROR(datastore.AddCidr("eni-0a1b", *enipool::Ipv4Prefix::Parse("10.0.0.16/28")));
//   absl::StatusOr<enipool::Assignment> a = datastore.Assign({"aws-cni", "c1", "eth0"});
//   // a->address == 10.0.0.16, a->route_table_id == 254
//   datastore.Release({"aws-cni", "c1", "eth0"});   // 10.0.0.16 cools down for 30 s
//   datastore.Stats();                               // total 16, assigned 0, cooling 1
//
// The rules it keeps, as the reference does:
//   * Assign is idempotent: the same pod key gets the same address back.
//   * A fresh /28 hands out its base address first, then .1, .2, …
//   * A released address cools down (default 30 s) and is never handed out
//     while cooling; cooling addresses still count as available in Stats()
//     (available = total − assigned), as the reference counts them.
//   * Only CIDRs of the datastore's mode are handed out and counted; CIDRs of
//     the other mode stay on their ENI (pods on them can still be released).
//     With OtherKind::kHandedOut (a prefix-mode node that may fall back to
//     /32s, policy/prefix_fallback.h) both kinds are handed out and counted.
//   * An excluded ENI is skipped for pods and left out of Stats().
//   * Removing an ENI or CIDR that has pods needs `force`.
//   * Route tables (RouteTableId()): on network card 0, device 0 → 254
//     (main), device d → d + 1; a datastore of card n > 0 (one per managed
//     card, docs/reference-behavior.md §1.1) gives 10000 + d + 100·n.
//
// Where the reference picks an address in Go map order (random), enipool uses
// a `Placement` strategy: best fit by default (the fullest group that still
// has a free address), so whole prefixes and ENIs drain and can be returned.
//
// Complexity: Assign, Release and Stats are O(1) amortized and allocate
// nothing in steady state for the CNI's pod keys (network "aws-cni", a
// 64-digit hex container id, an interface name up to 10 characters; longer
// keys allocate once where stored and once per lookup): a hash index from
// pod key to slot, one cache line each (internal/stored_pod_key.h), a
// bitmask per group of addresses, free lists bucketed by free count, a FIFO
// of cooling addresses (the cooldown is constant, so the FIFO is in expiry
// order), and the pool's counters kept as things change (an ENI's are
// counted from its groups when a view asks). Adding and removing ENIs and
// CIDRs is O(CIDRs of that ENI); a forced removal is O(pods).
//
// Thread-safety: none; one datastore per node, used from one thread (wrap it
// for concurrent CNI calls). Readers such as Stats() may apply cooldown
// expiry internally, so even const calls must not race with each other.

#ifndef ENIPOOL_DATASTORE_H_
#define ENIPOOL_DATASTORE_H_

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/internal/ring_queue.h"
#include "enipool/internal/stored_pod_key.h"
#include "enipool/ipv4.h"
#include "enipool/pod_key.h"
#include "enipool/status.h"

namespace enipool {

// AddressMode
//
// What one pool entry is: a secondary /32 (ENABLE_PREFIX_DELEGATION=false)
// or a delegated /28 of 16 addresses (ENABLE_PREFIX_DELEGATION=true).
enum class AddressMode { kSecondaryIp, kPrefix };

inline absl::string_view AddressModeName(AddressMode mode) {
  return mode == AddressMode::kPrefix ? "prefix" : "secondary-ip";
}

// Placement
//
// Which free address an ADD gets when several groups have one. A group is a
// /28 in prefix mode and an ENI's set of /32s in secondary-IP mode.
//   kBestFit  — the group with the fewest free addresses (packs pods, so
//               whole prefixes and ENIs empty out and can be returned);
//   kSpread   — the group with the most free addresses (spreads pods, close
//               to the reference's random order in effect);
//   kFirstFit — the group in the lowest internal slot with a free address
//               (slots are reused after removals, so this is "oldest" only
//               while nothing has been removed).
// Inside a /28 the lowest free address is taken (base address first, as the
// reference hands out a fresh prefix). Among an ENI's /32s the one added
// earliest to a free position is taken, which is not always the lowest
// address.
enum class Placement { kBestFit, kSpread, kFirstFit };

// OtherKind
//
// What the datastore does with CIDRs of the kind its mode does not use.
//   kKept      — they stay on their ENI and keep their pods, but are neither
//                handed out nor counted in the pool (the reference's
//                behaviour after ENABLE_PREFIX_DELEGATION changed,
//                docs/reference-behavior.md §1.6);
//   kHandedOut — they are handed out and counted like the mode's own: a
//                prefix-mode node that takes /32s when the subnet has no
//                free aligned /28 (WarmPoolConfig::secondary_ip_fallback)
//                serves pods from both kinds.
enum class OtherKind { kKept, kHandedOut };

// RouteTableId()
//
// The route table of the ENI at device `device_number` of network card
// `network_card`, as the reference numbers them (docs/reference-behavior.md
// §1.2): card 0's device 0 uses the main table (254) and device d table
// d + 1; on card n > 0 device d uses 10000 + d + 100·n.
constexpr int RouteTableId(int network_card, int device_number) noexcept {
  if (network_card > 0) return 10000 + device_number + 100 * network_card;
  return device_number == 0 ? 254 : device_number + 1;
}

// EniSpec
//
// What the datastore needs to know about an ENI when it is added.
struct EniSpec {
  std::string id;
  int device_number = 0;
  bool primary = false;   // the instance's primary ENI (never freed by the pool logic)
  bool trunk = false;     // security-groups-for-pods trunk: no IPs requested for it
  bool efa = false;       // EFA interface: may hold IPs, never freed
  bool excluded = false;  // skipped for pods and stats (subnet tagged kubernetes.io/role/cni=0)
  std::string subnet_id;
};

// Assignment
//
// Where a pod's address lives: what the CNI plugin needs to wire the pod.
struct Assignment {
  Ipv4Address address;
  EniId eni_id;  // small inline value, no heap; == "eni-…"
  int device_number = 0;
  int route_table_id = 0;

  [[nodiscard]] std::string ToString() const {
    return absl::StrCat(address.ToString(), " on ", eni_id.view(), " (device ", device_number,
                        ", route table ", route_table_id, ")");
  }
  friend bool operator==(const Assignment&, const Assignment&) = default;
};

// PoolStats
//
// The pool as the reference's GetIPStats reports it: addresses of the
// current mode (both kinds with OtherKind::kHandedOut) on non-excluded ENIs.
// `available_ips` is total − assigned, so
// cooling addresses count as available (docs/reference-behavior.md §1.5, §10).
// Prefix counts cover /28s on non-excluded ENIs whatever the mode (in
// secondary-IP mode they are leftovers of an earlier prefix mode); those on
// excluded ENIs are kept apart, since the reference counts them in its
// TotalPrefixes and free prefixes (docs/reference-behavior.md §4.11
// pitfall 8).
struct PoolStats {
  std::int64_t total_ips = 0;
  std::int64_t assigned_ips = 0;
  std::int64_t cooling_ips = 0;
  std::int64_t available_ips = 0;  // total - assigned, as the reference
  std::int64_t total_prefixes = 0;
  std::int64_t free_prefixes = 0;  // prefixes with no assigned address (cooling ones count as free)
  int enis = 0;                    // non-excluded ENIs
  int excluded_enis = 0;
  std::int64_t excluded_prefixes = 0;
  std::int64_t excluded_free_prefixes = 0;

  [[nodiscard]] std::string ToString() const {
    return absl::StrCat("total ", total_ips, ", assigned ", assigned_ips, ", cooling ",
                        cooling_ips, ", available ", available_ips, ", prefixes ", total_prefixes,
                        " (", free_prefixes, " free), ENIs ", enis);
  }
  friend bool operator==(const PoolStats&, const PoolStats&) = default;
};

// EniView
//
// One ENI as the warm-pool policy sees it. "Mode" counts cover CIDRs of the
// datastore's mode only (both kinds with OtherKind::kHandedOut); "all"
// counts cover both kinds.
struct EniView {
  EniId id;
  int device_number = 0;
  int route_table_id = 0;
  bool primary = false;
  bool trunk = false;
  bool efa = false;
  bool excluded = false;
  absl::Time created;             // when it was added to this datastore
  int cidrs = 0;                  // CIDR entries of both kinds: the slots it uses
  int prefixes = 0;               // /28 entries
  int secondary_ips = 0;          // /32 entries
  std::int64_t total_ips = 0;     // addresses of the current mode
  std::int64_t assigned_ips = 0;  // of the current mode
  std::int64_t cooling_ips = 0;   // of the current mode
  int free_cidrs = 0;             // CIDRs of the current mode with no assigned address
  int free_cidrs_all = 0;         // CIDRs of either kind with no assigned address
  std::int64_t pods = 0;          // assigned addresses of either kind
  std::int64_t cooling_all = 0;   // cooling addresses of either kind

  friend bool operator==(const EniView&, const EniView&) = default;
};

// CidrView
//
// One CIDR of an ENI with its occupancy.
struct CidrView {
  Ipv4Prefix cidr;
  bool in_mode = false;  // handed out and counted (of the datastore's mode, or any with kHandedOut)
  int total = 0;
  int assigned = 0;
  int cooling = 0;

  friend bool operator==(const CidrView&, const CidrView&) = default;
};

// NodeDatastore
//
// See the file comment. `C` is any `Clock`; the datastore keeps a reference
// to it, so the clock must outlive the datastore.
template <Clock C>
class NodeDatastore {
 public:
  using clock_type = C;

  // `network_card`: the network card whose pool this is (one datastore per
  // managed card, docs/reference-behavior.md §1.1); it only decides the
  // route tables (RouteTableId()). Negative values count as 0.
  NodeDatastore(AddressMode mode, const C& clock, absl::Duration ip_cooldown = absl::Seconds(30),
                Placement placement = Placement::kBestFit, OtherKind other_kind = OtherKind::kKept,
                int network_card = 0)
      : network_card_(std::max(network_card, 0)),
        mode_(mode),
        placement_(placement),
        other_kind_(other_kind),
        clock_(&clock),
        // The reference accepts a negative IP_COOLDOWN_PERIOD and behaves as 0.
        cooldown_ns_(std::max<std::int64_t>(0, absl::ToInt64Nanoseconds(ip_cooldown))) {}

  [[nodiscard]] AddressMode mode() const noexcept { return mode_; }
  [[nodiscard]] Placement placement() const noexcept { return placement_; }
  [[nodiscard]] OtherKind other_kind() const noexcept { return other_kind_; }
  [[nodiscard]] int network_card() const noexcept { return network_card_; }
  [[nodiscard]] absl::Duration ip_cooldown() const noexcept {
    return absl::Nanoseconds(cooldown_ns_);
  }
  [[nodiscard]] const C& clock() const noexcept { return *clock_; }

  // NodeDatastore::datastore()
  //
  // Itself: the read side every PoolStore offers (pool_store.h), so code
  // written against the concept reads a bare datastore and a journaled one
  // alike.
  [[nodiscard]] const NodeDatastore& datastore() const noexcept { return *this; }

  // NodeDatastore::AddEni()
  //
  // Adds an ENI with no CIDRs; its creation time is the clock's now.
  // INVALID_ARGUMENT for a malformed id or a negative device number;
  // ALREADY_EXISTS if the id is known.
  [[nodiscard]] absl::Status AddEni(const EniSpec& spec) {
    auto id = EniId::Create(spec.id);
    if (!id.ok()) return id.status();
    if (spec.device_number < 0) {
      return absl::InvalidArgumentError(absl::StrCat("ENI ", spec.id, ": device number ",
                                                     spec.device_number, " is negative"));
    }
    if (eni_index_.contains(*id)) {
      return absl::AlreadyExistsError(absl::StrCat("duplicate ENI: ", spec.id,
                                                   " is already in the datastore"));
    }
    std::uint32_t index;
    if (!free_enis_.empty()) {
      index = free_enis_.back();
      free_enis_.pop_back();
    } else {
      index = static_cast<std::uint32_t>(enis_.size());
      enis_.emplace_back();
    }
    Eni& eni = enis_[index];
    eni = Eni{};
    eni.id = *id;
    eni.device_number = spec.device_number;
    eni.primary = spec.primary;
    eni.trunk = spec.trunk;
    eni.efa = spec.efa;
    eni.excluded = spec.excluded;
    eni.subnet_id = spec.subnet_id;
    eni.created = clock_->Now();
    eni.live = true;
    eni_index_.emplace(*id, index);
    (spec.excluded ? excluded_enis_ : enis_count_) += 1;
    ++generation_;
    return absl::OkStatus();
  }

  // NodeDatastore::SetEniExcluded()
  //
  // Marks an ENI excluded from pod addresses, or not (its subnet's tags
  // changed; docs/reference-behavior.md §1.2, §4.13). Its CIDRs and pods
  // stay: an excluded ENI hands out no address and leaves the statistics,
  // its pods keep theirs until released. NOT_FOUND for an unknown id.
  // O(CIDRs of the ENI).
  [[nodiscard]] absl::Status SetEniExcluded(absl::string_view eni_id, bool excluded) {
    const auto found = FindEniIndex(eni_id);
    if (!found.ok()) return found.status();
    Eni& eni = enis_[*found];
    if (eni.excluded == excluded) return absl::OkStatus();
    for (std::uint32_t block : eni.blocks) Contribute(block, -1);
    (eni.excluded ? excluded_enis_ : enis_count_) -= 1;
    eni.excluded = excluded;
    (eni.excluded ? excluded_enis_ : enis_count_) += 1;
    for (std::uint32_t block : eni.blocks) blocks_[block].eni_excluded = excluded;
    for (std::uint32_t block : eni.blocks) Contribute(block, +1);
    ++generation_;
    return absl::OkStatus();
  }

  // NodeDatastore::RemoveEni()
  //
  // Removes an ENI and all its CIDRs. NOT_FOUND for an unknown id;
  // FAILED_PRECONDITION if any of its addresses is assigned to a pod and
  // `force` is false. With `force`, those pods lose their addresses.
  [[nodiscard]] absl::Status RemoveEni(absl::string_view eni_id, bool force) {
    const auto found = FindEniIndex(eni_id);
    if (!found.ok()) return found.status();
    Eni& eni = enis_[*found];
    const std::array<KindCounters, 2> kinds = KindsOf(eni);
    const std::int64_t pods = kinds[0].assigned + kinds[1].assigned;
    if (pods > 0 && !force) {
      return absl::FailedPreconditionError(absl::StrCat("ENI ", eni_id, " has ", pods,
                                                        " pods assigned; removing it needs force"));
    }
    if (pods > 0) ErasePodsWhere([&](const PodEntry& e) { return blocks_[e.block].eni == *found; });
    for (std::uint32_t block : std::vector<std::uint32_t>(eni.blocks)) {
      Contribute(block, -1);
      ForgetBlockCidrs(block);
      FreeBlock(block);
    }
    (eni.excluded ? excluded_enis_ : enis_count_) -= 1;
    ++generation_;
    eni_index_.erase(eni.id);
    eni = Eni{};
    free_enis_.push_back(*found);
    return absl::OkStatus();
  }

  // NodeDatastore::AddCidr()
  //
  // Adds a secondary IP (/32) or a delegated prefix (/28) to an ENI.
  // INVALID_ARGUMENT for any other length; NOT_FOUND for an unknown ENI;
  // ALREADY_EXISTS if any of its addresses is already in the datastore (on
  // this or another ENI).
  [[nodiscard]] absl::Status AddCidr(absl::string_view eni_id, Ipv4Prefix cidr) {
    if (cidr.length() != 32 && cidr.length() != 28) return BadCidrLength(cidr);
    const auto found = FindEniIndex(eni_id);
    if (!found.ok()) return found.status();
    if (auto clash = FindOverlap(cidr); clash.has_value()) {
      return absl::AlreadyExistsError(absl::StrCat("IP already in data store: ", cidr.ToString(),
                                                   " overlaps ", clash->ToString(), " on ",
                                                   enis_[blocks_[cidrs_.at(*clash).block].eni].id.view()));
    }
    Eni& eni = enis_[*found];
    if (cidr.length() == 28) {
      const std::uint32_t block = AllocateBlock(*found, /*is_prefix=*/true);
      Block& b = blocks_[block];
      b.base = cidr.network();
      b.present = 0xFFFF;
      cidrs_.emplace(cidr, CidrLocation{block, 0});
      Contribute(block, +1);
      return absl::OkStatus();
    }
    // A /32 joins the first of the ENI's single-address groups with room.
    std::uint32_t block = kNone;
    for (std::uint32_t candidate : eni.blocks) {
      if (!blocks_[candidate].is_prefix && blocks_[candidate].present != ~std::uint64_t{0}) {
        block = candidate;
        break;
      }
    }
    if (block == kNone) {
      block = AllocateBlock(*found, /*is_prefix=*/false);
    } else {
      Contribute(block, -1);
    }
    Block& b = blocks_[block];
    const int slot = std::countr_one(b.present);
    b.singles[static_cast<std::size_t>(slot)] = cidr.network();
    b.present |= std::uint64_t{1} << slot;
    cidrs_.emplace(cidr, CidrLocation{block, static_cast<std::uint8_t>(slot)});
    Contribute(block, +1);
    return absl::OkStatus();
  }

  // NodeDatastore::RemoveCidr()
  //
  // Removes a CIDR from an ENI. INVALID_ARGUMENT if it is neither a /32 nor
  // a /28; NOT_FOUND if the ENI is unknown or does not hold the CIDR;
  // FAILED_PRECONDITION if an address of it is assigned and `force` is false
  // (with `force`, those pods lose their addresses). Cooling addresses do not
  // block removal, as in the reference's decrease path.
  [[nodiscard]] absl::Status RemoveCidr(absl::string_view eni_id, Ipv4Prefix cidr, bool force) {
    if (cidr.length() != 32 && cidr.length() != 28) return BadCidrLength(cidr);
    const auto found = FindEniIndex(eni_id);
    if (!found.ok()) return found.status();
    const auto it = cidrs_.find(cidr);
    if (it == cidrs_.end() || blocks_[it->second.block].eni != *found) {
      return absl::NotFoundError(
          absl::StrCat("CIDR ", cidr.ToString(), " is not on ENI ", eni_id));
    }
    const CidrLocation location = it->second;
    Block& b = blocks_[location.block];
    const std::uint64_t mask = b.is_prefix ? b.present : std::uint64_t{1} << location.slot;
    const int pods = std::popcount(b.assigned & mask);
    if (pods > 0 && !force) {
      return absl::FailedPreconditionError(absl::StrCat(
          "CIDR ", cidr.ToString(), " on ENI ", eni_id, " has ", pods,
          " pods assigned; removing it needs force"));
    }
    if (pods > 0) {
      ErasePodsWhere([&](const PodEntry& e) {
        return e.block == location.block && ((mask >> e.slot) & 1u);
      });
    }
    cidrs_.erase(it);
    Contribute(location.block, -1);
    if (b.is_prefix || b.present == mask) {
      FreeBlock(location.block);
    } else {
      b.present &= ~mask;
      b.assigned &= ~mask;
      b.cooling &= ~mask;
      slot_seq_[SlotIndex(location.block, location.slot)] = 0;  // its FIFO entry goes stale
      Contribute(location.block, +1);
    }
    return absl::OkStatus();
  }

  // NodeDatastore::Assign()
  //
  // Gives `pod` an address, or the one it already has (no state change).
  // INVALID_ARGUMENT if a part of the key is empty; RESOURCE_EXHAUSTED if no
  // address of the current mode is free and not cooling.
  [[nodiscard]] absl::StatusOr<Assignment> Assign(const PodKey& pod) {
    if (HasEmptyPart(pod)) return InvalidPodKey(pod);
    const std::int64_t now = ToNanos(clock_->Now());
    if (first_expiry_ns_ < now) ExpireCooling(now);  // skips the queue when nothing is due
    const std::uint32_t block = PickBlock();
    if (block == kNone) {
      // Only a repeated ADD can succeed: a lookup, not an insert and erase.
      const auto held = pods_.find(IndexKey(pod));
      if (held != pods_.end()) return AssignmentOf(held->second.block, held->second.slot);
      return NoAvailableAddress(pod);
    }
    auto [it, inserted] = pods_.try_emplace(IndexKey(pod));
    if (!inserted) return AssignmentOf(it->second.block, it->second.slot);
    Block& b = blocks_[block];
    const int slot = std::countr_zero(b.available());
    it->second = PodEntry{block, static_cast<std::uint8_t>(slot), now};
    MarkAssigned(block, slot);
    return AssignmentOf(block, slot);
  }

  // NodeDatastore::Release()
  //
  // Takes `pod`'s address back; it cools down for ip_cooldown() before it
  // can be handed out again. Returns where the address was. If the key is
  // unknown, the reference's legacy key (network "_migrated-from-cri",
  // interface "unknown", same container id) is tried too. NOT_FOUND if
  // neither is assigned (the CNI treats that DEL as done).
  [[nodiscard]] absl::StatusOr<Assignment> Release(const PodKey& pod) {
    return ReleaseAt(pod, clock_->Now());
  }

  // NodeDatastore::ReleaseAt()
  //
  // Release() with the release time given: for replaying a journal, so that
  // the cooldown runs from when the pod was really deleted.
  [[nodiscard]] absl::StatusOr<Assignment> ReleaseAt(const PodKey& pod, absl::Time released_at) {
    auto it = pods_.find(IndexKey(pod));
    if (it == pods_.end()) {
      it = pods_.find(internal::StoredPodKey(
          internal::PodKeyRef{kLegacyNetworkName, pod.container_id, kLegacyIfName}));
      if (it == pods_.end()) return UnknownPod(pod);
    }
    const PodEntry entry = it->second;
    pods_.erase(it);
    MarkReleased(entry.block, entry.slot, ToNanos(released_at));
    return AssignmentOf(entry.block, entry.slot);
  }

  // NodeDatastore::AssignAt()
  //
  // Records that `pod` holds `address` since `assigned_at`: for restoring a
  // checkpoint or replaying a journal. The address may be in a CIDR of
  // either mode; a cooling address stops cooling. Returns the assignment;
  // if the pod already holds exactly this address, nothing changes.
  // INVALID_ARGUMENT for an empty key part; NOT_FOUND if no CIDR holds the
  // address; ALREADY_EXISTS if the address is assigned to another pod or
  // the pod holds another address.
  [[nodiscard]] absl::StatusOr<Assignment> AssignAt(const PodKey& pod, Ipv4Address address,
                                                    absl::Time assigned_at) {
    const auto target = ResolveAssignAt(pod, address);
    if (!target.ok()) return target.status();
    const CidrLocation location = target->location;
    if (target->already_held) return AssignmentOf(location.block, location.slot);
    Block& b = blocks_[location.block];
    const std::uint64_t bit = std::uint64_t{1} << location.slot;
    if (b.cooling & bit) {
      Contribute(location.block, -1);
      b.cooling &= ~bit;
      slot_seq_[SlotIndex(location.block, location.slot)] = 0;
      Contribute(location.block, +1);
    }
    pods_.try_emplace(IndexKey(pod), PodEntry{location.block, location.slot, ToNanos(assigned_at)});
    MarkAssigned(location.block, location.slot);
    return AssignmentOf(location.block, location.slot);
  }

  // NodeDatastore::CheckAssignAt()
  //
  // The error AssignAt(pod, address, …) would return now, without changing
  // anything; OK if it would succeed. For checking a batch (a checkpoint
  // restore) entry by entry before its first change. O(1).
  [[nodiscard]] absl::Status CheckAssignAt(const PodKey& pod, Ipv4Address address) const {
    return ResolveAssignAt(pod, address).status();
  }

  // NodeDatastore::CoolAt()
  //
  // Records that `address`, free, has been cooling down since `released_at`:
  // for restoring a snapshot, so that a cooldown holds across a restart (the
  // reference loses it, docs/reference-behavior.md §3.2). A cooldown already over at the
  // clock's now ends at the next read. An address that is already cooling
  // gets the new release time. NOT_FOUND if no CIDR holds the address;
  // FAILED_PRECONDITION if it is assigned to a pod.
  [[nodiscard]] absl::Status CoolAt(Ipv4Address address, absl::Time released_at) {
    const auto location = LocateAddress(address);
    if (!location.has_value()) {
      return absl::NotFoundError(
          absl::StrCat("address ", address.ToString(), " is in no CIDR of the datastore"));
    }
    Block& b = blocks_[location->block];
    const std::uint64_t bit = std::uint64_t{1} << location->slot;
    if (b.assigned & bit) {
      return absl::FailedPreconditionError(absl::StrCat(
          "address ", address.ToString(), " is assigned to a pod; it cannot cool down"));
    }
    Contribute(location->block, -1);
    b.cooling |= bit;
    Contribute(location->block, +1);
    EnqueueCooling(SlotIndex(location->block, location->slot), ToNanos(released_at));
    return absl::OkStatus();
  }

  // NodeDatastore::Lookup()
  //
  // The pod's current assignment, or std::nullopt.
  [[nodiscard]] std::optional<Assignment> Lookup(const PodKey& pod) const {
    const auto it = pods_.find(IndexKey(pod));
    if (it == pods_.end()) return std::nullopt;
    return AssignmentOf(it->second.block, it->second.slot);
  }

  // NodeDatastore::PrefetchObject(), PrefetchPod(), PrefetchPodCidr()
  //
  // Hints for a caller that knows which pods it will assign or release a
  // little ahead of time, such as a simulator reading its future event
  // list: each asks the CPU to start loading what an Assign() or Release()
  // of the pod will read, so that the loads of several upcoming calls
  // overlap instead of each stalling on main memory in turn. They change
  // nothing and return nothing; a wrong or stale hint only costs its loads.
  // Used in stages, each once the lines the previous one asked for have
  // arrived: the object's own lines (the index's and the queues' headers
  // and the pool counters); the index lines the pod's key hashes to, the
  // cooldown queue's ends and the free-group lists' heads; then the pod's
  // CIDR group and cooldown sequence slot (or, for a pod holding nothing,
  // the group an Assign() would take from) and those of the oldest cooldown,
  // which the call may end.
  void PrefetchObject() const noexcept {
    const char* const first = reinterpret_cast<const char*>(this);
    for (std::size_t offset = 0; offset < sizeof(*this); offset += 64) {
      __builtin_prefetch(first + offset);
    }
  }
  void PrefetchPod(const PodKey& pod) const {
    pods_.prefetch(IndexKey(pod));
    if (cooling_fifo_.size() > 0) {
      __builtin_prefetch(&cooling_fifo_.front());
      __builtin_prefetch(&cooling_fifo_.back(), 1);
    }
    for (std::size_t i = 0; i < bucket_head_.size(); i += 64 / sizeof(bucket_head_[0])) {
      __builtin_prefetch(&bucket_head_[i]);
    }
  }
  void PrefetchPodCidr(const PodKey& pod) const {
    const auto it = pods_.find(IndexKey(pod));
    if (it != pods_.end()) {
      __builtin_prefetch(&blocks_[it->second.block], 1);
      __builtin_prefetch(&slot_seq_[SlotIndex(it->second.block, it->second.slot)], 1);
    } else if (const std::uint32_t block = PickBlock(); block != kNone) {
      __builtin_prefetch(&blocks_[block], 1);
    }
    if (cooling_fifo_.size() > 0) {
      const std::uint32_t index = cooling_fifo_.front().slot_index;
      __builtin_prefetch(&slot_seq_[index], 1);
      __builtin_prefetch(&blocks_[index / 64], 1);
    }
  }

  // NodeDatastore::Stats()
  //
  // The pool now (cooldowns that have ended are applied first). O(1).
  [[nodiscard]] PoolStats Stats() const {
    ExpireCoolingNow();
    PoolStats stats;
    stats.total_ips = total_;
    stats.assigned_ips = assigned_;
    stats.cooling_ips = cooling_;
    stats.available_ips = total_ - assigned_;
    stats.total_prefixes = prefixes_;
    stats.free_prefixes = free_prefixes_;
    stats.enis = enis_count_;
    stats.excluded_enis = excluded_enis_;
    stats.excluded_prefixes = excluded_prefixes_;
    stats.excluded_free_prefixes = excluded_free_prefixes_;
    return stats;
  }

  // NodeDatastore::generation()
  //
  // A number that changes whenever something a reader can observe changes:
  // an ENI or CIDR added or removed, an address assigned or released, a
  // cooldown ended. A caller that re-derives decisions from the pool (the
  // controller's pool check) compares it to skip work when nothing changed.
  // Cooldown expiry is applied lazily by readers, so read it after Stats().
  [[nodiscard]] std::uint64_t generation() const noexcept { return generation_; }

  // NodeDatastore::generation_without_cooldown_ends()
  //
  // generation() less its changes from cooldowns ending: it moves on every
  // other observable change. A cooldown's end changes only Stats().cooling_ips
  // (and which block serves the next ADD), so a caller that has checked its
  // decision against every cooling count down to zero compares this one
  // instead and need not look again as each cooldown ends
  // (NodeController::QuietUntil()).
  [[nodiscard]] std::uint64_t generation_without_cooldown_ends() const noexcept {
    return generation_ - cooldown_ends_;
  }

  // NodeDatastore::next_cooling_end()
  //
  // The first instant at which a reader would end a cooldown (and change
  // generation()): absl::InfiniteFuture() when nothing is cooling. Before
  // it, the lazily applied expiry changes nothing. O(1).
  [[nodiscard]] absl::Time next_cooling_end() const noexcept {
    const std::int64_t first = first_expiry_ns_;
    if (first == std::numeric_limits<std::int64_t>::max()) return absl::InfiniteFuture();
    return absl::FromUnixNanos(first + 1);  // ExpireCoolingNow(): ends once now >= this
  }

  // NodeDatastore::pod_count()
  //
  // Assigned pods of either mode, on any ENI.
  [[nodiscard]] std::size_t pod_count() const noexcept { return pods_.size(); }

  // NodeDatastore::EniViews()
  //
  // Every ENI, by device number then id. O(ENIs + their CIDR groups; a
  // group holds up to 64 /32s, or one /28).
  [[nodiscard]] std::vector<EniView> EniViews() const {
    std::vector<EniView> views;
    EniViews(views);
    return views;
  }

  // NodeDatastore::EniViews(out)
  //
  // EniViews() written into `out` (its old contents are dropped), reusing
  // its capacity: a caller that keeps one vector across pool checks
  // allocates nothing once it has held as many ENIs. O(ENIs + their groups).
  void EniViews(std::vector<EniView>& out) const {
    ExpireCoolingNow();
    out.clear();
    out.reserve(eni_index_.size());
    for (const Eni& eni : enis_) {
      if (eni.live) out.push_back(ViewOf(eni));
    }
    std::sort(out.begin(), out.end(), [](const EniView& a, const EniView& b) {
      return std::tie(a.device_number, a.id) < std::tie(b.device_number, b.id);
    });
  }

  // NodeDatastore::FindEni()
  //
  // One ENI's view; NOT_FOUND for an unknown id.
  [[nodiscard]] absl::StatusOr<EniView> FindEni(absl::string_view eni_id) const {
    const auto found = FindEniIndex(eni_id);
    if (!found.ok()) return found.status();
    ExpireCoolingNow();
    return ViewOf(enis_[*found]);
  }

  // NodeDatastore::Cidrs()
  //
  // The CIDRs of one ENI in ascending order, with occupancy; NOT_FOUND for
  // an unknown id. O(CIDRs of the ENI).
  [[nodiscard]] absl::StatusOr<std::vector<CidrView>> Cidrs(absl::string_view eni_id) const {
    const auto found = FindEniIndex(eni_id);
    if (!found.ok()) return found.status();
    ExpireCoolingNow();
    std::vector<CidrView> views;
    for (std::uint32_t block : enis_[*found].blocks) {
      const Block& b = blocks_[block];
      const bool in_mode = InMode(b);
      if (b.is_prefix) {
        views.push_back({Ipv4Prefix::Containing(b.base, 28), in_mode, 16,
                         std::popcount(b.assigned), std::popcount(b.cooling)});
        continue;
      }
      for (std::uint64_t bits = b.present; bits != 0; bits &= bits - 1) {
        const int slot = std::countr_zero(bits);
        const std::uint64_t bit = std::uint64_t{1} << slot;
        views.push_back({Ipv4Prefix::FromAddress(b.singles[static_cast<std::size_t>(slot)]),
                         in_mode, 1, (b.assigned & bit) ? 1 : 0, (b.cooling & bit) ? 1 : 0});
      }
    }
    std::sort(views.begin(), views.end(),
              [](const CidrView& a, const CidrView& b) { return a.cidr < b.cidr; });
    return views;
  }

  // NodeDatastore::ForEachAssignment()
  //
  // Calls `fn(const PodKey&, const Assignment&, absl::Time assigned_at)` for
  // every assigned pod, in no particular order. O(pods).
  template <typename Fn>
  void ForEachAssignment(Fn&& fn) const {
    for (const auto& [key, entry] : pods_) {
      fn(key.ToPodKey(), AssignmentOf(entry.block, entry.slot),
         absl::FromUnixNanos(entry.assigned_ns));
    }
  }

  // NodeDatastore::ForEachCooling()
  //
  // Calls `fn(Ipv4Address, absl::Time released_at)` for every address still
  // cooling, oldest release first. O(cooling).
  template <typename Fn>
  void ForEachCooling(Fn&& fn) const {
    ExpireCoolingNow();
    for (std::size_t i = 0; i < cooling_fifo_.size(); ++i) {
      const CoolingEntry& entry = cooling_fifo_[i];
      if (slot_seq_[entry.slot_index] != entry.seq) continue;
      fn(AddressOf(entry.slot_index / 64, static_cast<int>(entry.slot_index % 64)),
         absl::FromUnixNanos(entry.expire_ns - cooldown_ns_));
    }
  }

  // NodeDatastore::CheckInvariants()
  //
  // Recounts everything from the address bitmaps and compares it with the
  // kept counters, free lists, pod index and cooldown queue. OK, or
  // INTERNAL naming the first mismatch. O(everything): for tests and
  // fuzzers, not for production paths.
  [[nodiscard]] absl::Status CheckInvariants() const {
    std::int64_t total = 0, assigned = 0, cooling = 0, prefixes = 0, free_prefixes = 0,
                 excluded_prefixes = 0, excluded_free = 0, pods = 0;
    std::vector<std::uint64_t> pod_bits(blocks_.size(), 0);
    for (const auto& [key, entry] : pods_) {
      if (entry.block >= blocks_.size() || !blocks_[entry.block].live) {
        return absl::InternalError(absl::StrCat("pod ", key.ToPodKey().container_id, " points at a dead group"));
      }
      const std::uint64_t bit = std::uint64_t{1} << entry.slot;
      if ((pod_bits[entry.block] & bit) || !(blocks_[entry.block].assigned & bit)) {
        return absl::InternalError(absl::StrCat("pod ", key.ToPodKey().container_id,
                                                " holds an address not marked assigned or shared"));
      }
      pod_bits[entry.block] |= bit;
    }
    int live_enis = 0, live_excluded = 0;
    for (std::uint32_t e = 0; e < enis_.size(); ++e) {
      const Eni& eni = enis_[e];
      if (!eni.live) continue;
      (eni.excluded ? live_excluded : live_enis) += 1;
      for (std::uint32_t block : eni.blocks) {
        const Block& b = blocks_[block];
        if (!b.live || b.eni != e) return absl::InternalError("ENI lists a group it does not own");
        if (pod_bits[block] != b.assigned) {
          return absl::InternalError(absl::StrCat("group ", block, " assigned bits disagree with pods"));
        }
        if ((b.assigned & b.cooling) != 0 || ((b.assigned | b.cooling) & ~b.present) != 0) {
          return absl::InternalError(absl::StrCat("group ", block, " has inconsistent bits"));
        }
        if (b.eni_excluded != eni.excluded) {
          return absl::InternalError(absl::StrCat("group ", block, " disagrees with ENI ",
                                                  eni.id.view(), " on its exclusion"));
        }
        const KindCounters c = CountersOf(b);
        pods += c.assigned;
        if (IsActive(b)) {
          total += c.total;
          assigned += c.assigned;
          cooling += c.cooling;
        }
        if (b.is_prefix) {
          (eni.excluded ? excluded_prefixes : prefixes) += 1;
          if (b.assigned == 0) (eni.excluded ? excluded_free : free_prefixes) += 1;
        }
        const int want_bucket = IsActive(b) ? std::popcount(b.available()) : 0;
        if (b.bucket != want_bucket) {
          return absl::InternalError(absl::StrCat("group ", block, " is in free list ", b.bucket,
                                                  ", want ", want_bucket));
        }
      }
    }
    if (total != total_ || assigned != assigned_ || cooling != cooling_ || prefixes != prefixes_ ||
        free_prefixes != free_prefixes_ || excluded_prefixes != excluded_prefixes_ ||
        excluded_free != excluded_free_prefixes_) {
      return absl::InternalError(absl::StrCat(
          "stats drifted: kept total/assigned/cooling/prefixes/free ", total_, "/", assigned_, "/",
          cooling_, "/", prefixes_, "/", free_prefixes_, ", recounted ", total, "/", assigned, "/",
          cooling, "/", prefixes, "/", free_prefixes));
    }
    if (pods != static_cast<std::int64_t>(pods_.size())) {
      return absl::InternalError("assigned addresses and pod index sizes differ");
    }
    if (live_enis != enis_count_ || live_excluded != excluded_enis_) {
      return absl::InternalError("ENI counts drifted");
    }
    // Free lists: each bucket's list holds exactly the groups that say so.
    std::int64_t listed = 0;
    for (int k = 1; k <= 64; ++k) {
      const bool nonempty = bucket_head_[static_cast<std::size_t>(k)] != kNone;
      if (nonempty != (((bucket_mask_ >> (k - 1)) & 1u) != 0)) {
        return absl::InternalError(absl::StrCat("free list ", k, " mask bit is wrong"));
      }
      for (std::uint32_t b = bucket_head_[static_cast<std::size_t>(k)]; b != kNone;
           b = blocks_[b].next) {
        if (blocks_[b].bucket != k) return absl::InternalError("free list holds a stranger");
        ++listed;
      }
    }
    std::int64_t want_listed = 0;
    for (const Block& b : blocks_) want_listed += (b.live && b.bucket > 0) ? 1 : 0;
    if (listed != want_listed) return absl::InternalError("free lists lost a group");
    // Cooldown queue: live entries are exactly the cooling bits, in expiry order.
    if (first_expiry_ns_ != (cooling_fifo_.empty() ? std::numeric_limits<std::int64_t>::max()
                                                   : cooling_fifo_.front().expire_ns)) {
      return absl::InternalError("the kept first cooldown expiry differs from the queue's front");
    }
    std::int64_t queued = 0;
    for (std::size_t i = 0; i < cooling_fifo_.size(); ++i) {
      const CoolingEntry& entry = cooling_fifo_[i];
      if (i > 0 && cooling_fifo_[i - 1].expire_ns > entry.expire_ns) {
        return absl::InternalError("cooldown queue is out of order");
      }
      if (slot_seq_[entry.slot_index] != entry.seq) continue;
      const Block& b = blocks_[entry.slot_index / 64];
      if (!b.live || !((b.cooling >> (entry.slot_index % 64)) & 1u)) {
        return absl::InternalError("cooldown queue holds an address that is not cooling");
      }
      ++queued;
    }
    std::int64_t cooling_bits = 0;
    for (const Block& b : blocks_) cooling_bits += b.live ? std::popcount(b.cooling) : 0;
    if (queued != cooling_bits) {
      return absl::InternalError(absl::StrCat("cooldown queue holds ", queued, " addresses, ",
                                              cooling_bits, " are cooling"));
    }
    return absl::OkStatus();
  }

 private:
  static constexpr std::uint32_t kNone = 0xFFFFFFFFu;
  static constexpr absl::string_view kLegacyNetworkName = "_migrated-from-cri";
  static constexpr absl::string_view kLegacyIfName = "unknown";

  // The pod index's key for `pod` (internal/stored_pod_key.h: encoded, so
  // that a slot is one cache line).
  static internal::StoredPodKey IndexKey(const PodKey& pod) {
    return internal::StoredPodKey(internal::PodKeyRef::Of(pod));
  }
  static bool HasEmptyPart(const PodKey& pod) noexcept {
    return pod.network_name.empty() || pod.container_id.empty() || pod.if_name.empty();
  }

  // A group of up to 64 addresses that are handed out together: one /28
  // (16 slots, address = base + slot) or the /32s of one ENI (slot → its
  // address in `singles`).
  struct Block {
    std::uint64_t present = 0;   // slots that hold an address
    std::uint64_t assigned = 0;  // slots held by a pod
    std::uint64_t cooling = 0;   // slots released and still cooling
    std::uint32_t eni = kNone;
    std::uint32_t prev = kNone;  // free-list links
    std::uint32_t next = kNone;
    int bucket = 0;  // free list = number of available slots; 0 = in none
    bool is_prefix = false;
    bool live = false;
    // The owner ENI's `excluded`, kept here so that assigning and releasing
    // an address read the group alone and not its ENI (one cache line
    // fewer each, in a simulator of many nodes).
    bool eni_excluded = false;
    Ipv4Address base;
    std::vector<Ipv4Address> singles;

    [[nodiscard]] std::uint64_t available() const noexcept {
      return present & ~assigned & ~cooling;
    }
  };

  struct KindCounters {
    int cidrs = 0;
    std::int64_t total = 0;
    std::int64_t assigned = 0;
    std::int64_t cooling = 0;
    int free_cidrs = 0;
    KindCounters& operator+=(const KindCounters& other) noexcept {
      cidrs += other.cidrs;
      total += other.total;
      assigned += other.assigned;
      cooling += other.cooling;
      free_cidrs += other.free_cidrs;
      return *this;
    }
    friend bool operator==(const KindCounters&, const KindCounters&) = default;
  };

  struct Eni {
    EniId id;
    int device_number = 0;
    bool primary = false;
    bool trunk = false;
    bool efa = false;
    bool excluded = false;
    bool live = false;
    std::string subnet_id;
    absl::Time created;
    std::vector<std::uint32_t> blocks;
  };

  struct PodEntry {
    std::uint32_t block = 0;
    std::uint8_t slot = 0;
    std::int64_t assigned_ns = 0;
  };

  struct CoolingEntry {
    std::int64_t expire_ns = 0;  // the address cools while now <= expire_ns
    std::uint32_t slot_index = 0;
    std::uint32_t seq = 0;  // matches slot_seq_[slot_index] while the entry is live
  };

  struct CidrLocation {
    std::uint32_t block = 0;
    std::uint8_t slot = 0;
  };

  static std::int64_t ToNanos(absl::Time t) noexcept { return absl::ToUnixNanos(t); }
  static std::uint32_t SlotIndex(std::uint32_t block, int slot) noexcept {
    return block * 64 + static_cast<std::uint32_t>(slot);
  }
  int RouteTableOf(int device_number) const noexcept {
    return RouteTableId(network_card_, device_number);
  }

  // Handed out and counted: of the mode (or of either kind with
  // OtherKind::kHandedOut).
  [[nodiscard]] bool InMode(const Block& b) const noexcept {
    return other_kind_ == OtherKind::kHandedOut || b.is_prefix == (mode_ == AddressMode::kPrefix);
  }
  [[nodiscard]] bool IsActive(const Block& b) const noexcept {
    return InMode(b) && !b.eni_excluded;
  }

  [[nodiscard]] Ipv4Address AddressOf(std::uint32_t block, int slot) const noexcept {
    const Block& b = blocks_[block];
    return b.is_prefix ? Ipv4Address(b.base.value() + static_cast<std::uint32_t>(slot))
                       : b.singles[static_cast<std::size_t>(slot)];
  }

  [[nodiscard]] Assignment AssignmentOf(std::uint32_t block, int slot) const noexcept {
    const Eni& eni = enis_[blocks_[block].eni];
    return Assignment{AddressOf(block, slot), eni.id, eni.device_number,
                      RouteTableOf(eni.device_number)};
  }

  [[nodiscard]] absl::StatusOr<std::uint32_t> FindEniIndex(absl::string_view eni_id) const {
    auto id = EniId::Create(eni_id);
    if (id.ok()) {
      if (const auto it = eni_index_.find(*id); it != eni_index_.end()) return it->second;
    }
    return absl::NotFoundError(absl::StrCat("ENI ", eni_id, " is not in the datastore"));
  }

  // Where AssignAt(pod, address) would put the pod, or why it cannot.
  struct AssignAtTarget {
    CidrLocation location;
    bool already_held = false;  // the pod holds exactly this address
  };
  [[nodiscard]] absl::StatusOr<AssignAtTarget> ResolveAssignAt(const PodKey& pod,
                                                               Ipv4Address address) const {
    if (HasEmptyPart(pod)) return InvalidPodKey(pod);
    const auto location = LocateAddress(address);
    if (!location.has_value()) {
      return absl::NotFoundError(
          absl::StrCat("address ", address.ToString(), " is in no CIDR of the datastore"));
    }
    if (const auto existing = pods_.find(IndexKey(pod)); existing != pods_.end()) {
      if (existing->second.block == location->block && existing->second.slot == location->slot) {
        return AssignAtTarget{*location, true};
      }
      return absl::AlreadyExistsError(
          absl::StrCat("pod ", QuoteInput(pod.ToString()), " already holds ",
                       AddressOf(existing->second.block, existing->second.slot).ToString()));
    }
    if (blocks_[location->block].assigned & (std::uint64_t{1} << location->slot)) {
      return absl::AlreadyExistsError(absl::StrCat("IP already in data store: ",
                                                   address.ToString(), " is assigned to another pod"));
    }
    return AssignAtTarget{*location, false};
  }

  [[nodiscard]] std::optional<CidrLocation> LocateAddress(Ipv4Address address) const {
    if (const auto it = cidrs_.find(Ipv4Prefix::FromAddress(address)); it != cidrs_.end()) {
      return it->second;
    }
    if (const auto it = cidrs_.find(Ipv4Prefix::Containing(address, 28)); it != cidrs_.end()) {
      return CidrLocation{it->second.block,
                          static_cast<std::uint8_t>(address.value() - it->first.network().value())};
    }
    return std::nullopt;
  }

  // The CIDR already in the datastore that shares an address with `cidr`.
  [[nodiscard]] std::optional<Ipv4Prefix> FindOverlap(Ipv4Prefix cidr) const {
    const Ipv4Prefix prefix = Ipv4Prefix::Containing(cidr.network(), 28);
    if (cidrs_.contains(prefix)) return prefix;
    if (cidr.length() == 32) {
      if (cidrs_.contains(cidr)) return cidr;
      return std::nullopt;
    }
    for (std::uint64_t i = 0; i < 16; ++i) {
      const auto single = Ipv4Prefix::FromAddress(cidr.AddressAt(i));
      if (cidrs_.contains(single)) return single;
    }
    return std::nullopt;
  }

  [[nodiscard]] static KindCounters CountersOf(const Block& b) noexcept {
    KindCounters c;
    c.total = std::popcount(b.present);
    c.assigned = std::popcount(b.assigned);
    c.cooling = std::popcount(b.cooling);
    c.cidrs = b.is_prefix ? 1 : static_cast<int>(c.total);
    c.free_cidrs = b.is_prefix ? (b.assigned == 0 ? 1 : 0) : static_cast<int>(c.total - c.assigned);
    return c;
  }

  // An ENI's counters by kind ([0] = /32s, [1] = /28s), counted from its
  // groups: O(groups of the ENI). Not kept per ENI, because every assign,
  // release and cooldown end would then write the ENI too; only views and
  // removals read them.
  [[nodiscard]] std::array<KindCounters, 2> KindsOf(const Eni& eni) const noexcept {
    std::array<KindCounters, 2> kinds{};
    for (std::uint32_t block : eni.blocks) {
      const Block& b = blocks_[block];
      kinds[b.is_prefix ? 1 : 0] += CountersOf(b);
    }
    return kinds;
  }

  [[nodiscard]] EniView ViewOf(const Eni& eni) const {
    const int in_mode = mode_ == AddressMode::kPrefix ? 1 : 0;
    const std::array<KindCounters, 2> kinds = KindsOf(eni);
    KindCounters mine = kinds[static_cast<std::size_t>(in_mode)];
    if (other_kind_ == OtherKind::kHandedOut) mine += kinds[static_cast<std::size_t>(1 - in_mode)];
    EniView view;
    view.id = eni.id;
    view.device_number = eni.device_number;
    view.route_table_id = RouteTableOf(eni.device_number);
    view.primary = eni.primary;
    view.trunk = eni.trunk;
    view.efa = eni.efa;
    view.excluded = eni.excluded;
    view.created = eni.created;
    view.secondary_ips = kinds[0].cidrs;
    view.prefixes = kinds[1].cidrs;
    view.cidrs = view.secondary_ips + view.prefixes;
    view.total_ips = mine.total;
    view.assigned_ips = mine.assigned;
    view.cooling_ips = mine.cooling;
    view.free_cidrs = mine.free_cidrs;
    view.free_cidrs_all = kinds[0].free_cidrs + kinds[1].free_cidrs;
    view.pods = kinds[0].assigned + kinds[1].assigned;
    view.cooling_all = kinds[0].cooling + kinds[1].cooling;
    return view;
  }

  // Adds (sign +1) or removes (sign -1) everything a group contributes to
  // the pool counters and to the free lists. Structural changes are
  // written as "remove contribution, mutate, add contribution"; the hot
  // paths below update the same counters directly.
  void Contribute(std::uint32_t block, int sign) {
    ++generation_;
    const Block& b = blocks_[block];
    const KindCounters c = CountersOf(b);
    if (IsActive(b)) {
      total_ += sign * c.total;
      assigned_ += sign * c.assigned;
      cooling_ += sign * c.cooling;
    }
    if (b.is_prefix) {
      (b.eni_excluded ? excluded_prefixes_ : prefixes_) += sign;
      if (b.assigned == 0) (b.eni_excluded ? excluded_free_prefixes_ : free_prefixes_) += sign;
    }
    if (sign < 0) {
      Unlink(block);
    } else {
      Relink(block);
    }
  }

  void MarkAssigned(std::uint32_t block, int slot) {
    ++generation_;
    Block& b = blocks_[block];
    if (b.is_prefix && b.assigned == 0) {
      (b.eni_excluded ? excluded_free_prefixes_ : free_prefixes_) -= 1;
    }
    b.assigned |= std::uint64_t{1} << slot;
    if (IsActive(b)) {
      assigned_ += 1;
      // The slot was available (callers assign only free, non-cooling
      // slots), and an active group's bucket is its available count.
      RelinkTo(block, b.bucket - 1);
    }
  }

  void MarkReleased(std::uint32_t block, int slot, std::int64_t released_ns) {
    ++generation_;
    Block& b = blocks_[block];
    const std::uint64_t bit = std::uint64_t{1} << slot;
    b.assigned &= ~bit;
    b.cooling |= bit;
    if (b.is_prefix && b.assigned == 0) {
      (b.eni_excluded ? excluded_free_prefixes_ : free_prefixes_) += 1;
    }
    if (IsActive(b)) {
      assigned_ -= 1;
      cooling_ += 1;
    }
    // The available count is unchanged (assigned → cooling): no free-list move.
    EnqueueCooling(SlotIndex(block, slot), released_ns);
  }

  // Queues the cooldown of the slot at `index`, released at `released_ns`.
  void EnqueueCooling(std::uint32_t index, std::int64_t released_ns) {
    if (++next_seq_ == 0) next_seq_ = 1;  // 0 marks a stale entry
    slot_seq_[index] = next_seq_;
    // Saturate: a release at absl::InfinitePast() must not wrap around.
    const std::int64_t expire_ns =
        released_ns > std::numeric_limits<std::int64_t>::max() - cooldown_ns_
            ? std::numeric_limits<std::int64_t>::max()
            : released_ns + cooldown_ns_;
    const CoolingEntry entry{expire_ns, index, next_seq_};
    cooling_fifo_.push_back(entry);
    // Releases normally arrive in time order; a replayed one may not. Keep
    // the queue in expiry order by sinking the newcomer (rare, O(distance)).
    for (std::size_t i = cooling_fifo_.size() - 1;
         i > 0 && cooling_fifo_[i - 1].expire_ns > cooling_fifo_[i].expire_ns; --i) {
      std::swap(cooling_fifo_[i - 1], cooling_fifo_[i]);
    }
    first_expiry_ns_ = cooling_fifo_.front().expire_ns;
  }

  // ExpireCooling() at the clock's now. Readers such as Stats() run on every
  // pool check; when nothing is cooling, or the oldest cooldown has not
  // ended, this returns without converting the time to nanoseconds (a
  // library call) and without touching the queue's storage (a cache miss
  // per node in a large simulation): it reads first_expiry_ns_, kept in the
  // object. `e < ToNanos(now)` ⇔ `FromUnixNanos(e + 1) <= now`, since
  // ToNanos floors; a saturated expiry never ends.
  void ExpireCoolingNow() const {
    const std::int64_t first = first_expiry_ns_;
    if (first == std::numeric_limits<std::int64_t>::max()) return;  // empty, or never ends
    const absl::Time now = clock_->Now();
    if (now < absl::FromUnixNanos(first + 1)) return;
    ExpireCooling(ToNanos(now));
  }

  // Ends every cooldown that is over at `now_ns` (reference: an address
  // cools while now − released ≤ cooldown).
  void ExpireCooling(std::int64_t now_ns) const {
    while (!cooling_fifo_.empty() && cooling_fifo_.front().expire_ns < now_ns) {
      const CoolingEntry entry = cooling_fifo_.front();
      cooling_fifo_.pop_front();
      if (slot_seq_[entry.slot_index] != entry.seq) continue;  // removed or re-assigned since
      slot_seq_[entry.slot_index] = 0;
      ++generation_;
      ++cooldown_ends_;
      const std::uint32_t block = entry.slot_index / 64;
      Block& b = blocks_[block];
      b.cooling &= ~(std::uint64_t{1} << (entry.slot_index % 64));
      if (IsActive(b)) {
        cooling_ -= 1;
        RelinkTo(block, b.bucket + 1);  // one more available slot
      }
    }
    first_expiry_ns_ = cooling_fifo_.empty() ? std::numeric_limits<std::int64_t>::max()
                                             : cooling_fifo_.front().expire_ns;
  }

  [[nodiscard]] std::uint32_t PickBlock() const noexcept {
    if (bucket_mask_ == 0) return kNone;
    switch (placement_) {
      case Placement::kBestFit:
        return bucket_head_[static_cast<std::size_t>(std::countr_zero(bucket_mask_)) + 1];
      case Placement::kSpread:
        return bucket_head_[static_cast<std::size_t>(64 - std::countl_zero(bucket_mask_))];
      case Placement::kFirstFit:
        for (std::size_t w = 0; w < has_available_.size(); ++w) {
          if (has_available_[w] != 0) {
            return static_cast<std::uint32_t>(w * 64) +
                   static_cast<std::uint32_t>(std::countr_zero(has_available_[w]));
          }
        }
        return kNone;
    }
    return kNone;
  }

  void Unlink(std::uint32_t block) const noexcept {
    Block& b = blocks_[block];
    if (b.bucket == 0) return;
    const auto k = static_cast<std::size_t>(b.bucket);
    if (b.prev != kNone) {
      blocks_[b.prev].next = b.next;
    } else {
      bucket_head_[k] = b.next;
    }
    if (b.next != kNone) blocks_[b.next].prev = b.prev;
    if (bucket_head_[k] == kNone) bucket_mask_ &= ~(std::uint64_t{1} << (k - 1));
    b.prev = b.next = kNone;
    b.bucket = 0;
    has_available_[block / 64] &= ~(std::uint64_t{1} << (block % 64));
  }

  // Puts the group on the free list matching its available count (none if
  // it is inactive or has no available address).
  void Relink(std::uint32_t block) const noexcept {
    const Block& b = blocks_[block];
    RelinkTo(block, IsActive(b) ? std::popcount(b.available()) : 0);
  }

  // Relink() with the available count already known: the hot paths move a
  // group by one bucket and know where to, which saves a popcount (a
  // library call unless the build targets a CPU with POPCNT).
  void RelinkTo(std::uint32_t block, int want) const noexcept {
    Block& b = blocks_[block];
    assert(want == (IsActive(b) ? std::popcount(b.available()) : 0));
    if (want == b.bucket) return;
    Unlink(block);
    if (want == 0) return;
    const auto k = static_cast<std::size_t>(want);
    b.bucket = want;
    b.prev = kNone;
    b.next = bucket_head_[k];
    if (b.next != kNone) blocks_[b.next].prev = block;
    bucket_head_[k] = block;
    bucket_mask_ |= std::uint64_t{1} << (k - 1);
    has_available_[block / 64] |= std::uint64_t{1} << (block % 64);
  }

  std::uint32_t AllocateBlock(std::uint32_t eni, bool is_prefix) {
    std::uint32_t block;
    if (!free_blocks_.empty()) {
      block = free_blocks_.back();
      free_blocks_.pop_back();
    } else {
      block = static_cast<std::uint32_t>(blocks_.size());
      blocks_.emplace_back();
      slot_seq_.resize(slot_seq_.size() + 64, 0);
      if (has_available_.size() * 64 < blocks_.size()) has_available_.push_back(0);
    }
    Block& b = blocks_[block];
    b = Block{};
    b.eni = eni;
    b.is_prefix = is_prefix;
    b.live = true;
    b.eni_excluded = enis_[eni].excluded;
    if (!is_prefix) b.singles.assign(64, Ipv4Address());
    enis_[eni].blocks.push_back(block);
    return block;
  }

  // Releases a group whose contribution has already been removed.
  void FreeBlock(std::uint32_t block) {
    Block& b = blocks_[block];
    auto& owner = enis_[b.eni].blocks;
    owner.erase(std::find(owner.begin(), owner.end(), block));
    std::fill_n(slot_seq_.begin() + static_cast<std::ptrdiff_t>(SlotIndex(block, 0)), 64, 0u);
    b = Block{};
    free_blocks_.push_back(block);
  }

  void ForgetBlockCidrs(std::uint32_t block) {
    const Block& b = blocks_[block];
    if (b.is_prefix) {
      cidrs_.erase(Ipv4Prefix::Containing(b.base, 28));
      return;
    }
    for (std::uint64_t bits = b.present; bits != 0; bits &= bits - 1) {
      cidrs_.erase(Ipv4Prefix::FromAddress(b.singles[static_cast<std::size_t>(std::countr_zero(bits))]));
    }
  }

  // Drops the pods matching `pred` from the index and their slots from the
  // assigned bits (forced removals only).
  template <typename Pred>
  void ErasePodsWhere(Pred pred) {
    for (auto it = pods_.begin(); it != pods_.end();) {
      if (pred(it->second)) {
        Contribute(it->second.block, -1);
        blocks_[it->second.block].assigned &= ~(std::uint64_t{1} << it->second.slot);
        Contribute(it->second.block, +1);
        pods_.erase(it++);
      } else {
        ++it;
      }
    }
  }

  [[gnu::cold]] static absl::Status BadCidrLength(Ipv4Prefix cidr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "CIDR ", cidr.ToString(), " is neither a /32 secondary IP nor a /28 prefix"));
  }
  [[gnu::cold]] static absl::Status InvalidPodKey(const PodKey& pod) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid pod key \"", pod.ToString(),
        "\": network name, container id and interface name must all be non-empty"));
  }
  [[gnu::cold]] absl::Status NoAvailableAddress(const PodKey& pod) const {
    return absl::ResourceExhaustedError(absl::StrCat(
        "no available IP/Prefix addresses for pod ", pod.ToString(), " (", AddressModeName(mode_),
        " mode: total ", total_, ", assigned ", assigned_, ", cooling ", cooling_, ")"));
  }
  [[gnu::cold]] static absl::Status UnknownPod(const PodKey& pod) {
    return absl::NotFoundError(
        absl::StrCat("unknown pod ", QuoteInput(pod.ToString()), ": no address assigned"));
  }

  int network_card_ = 0;
  AddressMode mode_;
  Placement placement_;
  OtherKind other_kind_;
  const C* clock_;
  std::int64_t cooldown_ns_;

  // Mutable: readers apply cooldown expiry as they go (see ExpireCooling).
  mutable std::vector<Block> blocks_;
  mutable std::vector<Eni> enis_;
  std::vector<std::uint32_t> free_blocks_;
  std::vector<std::uint32_t> free_enis_;
  absl::flat_hash_map<EniId, std::uint32_t> eni_index_;
  absl::flat_hash_map<Ipv4Prefix, CidrLocation> cidrs_;
  absl::flat_hash_map<internal::StoredPodKey, PodEntry, internal::PodKeyHash> pods_;

  mutable std::array<std::uint32_t, 65> bucket_head_ = [] {
    std::array<std::uint32_t, 65> heads{};
    heads.fill(kNone);
    return heads;
  }();
  mutable std::uint64_t bucket_mask_ = 0;            // bit k-1 ⇔ free list k is non-empty
  mutable std::vector<std::uint64_t> has_available_;  // bit per group (first fit)
  mutable internal::RingQueue<CoolingEntry> cooling_fifo_;
  mutable std::vector<std::uint32_t> slot_seq_;  // per slot: seq of its live FIFO entry, or 0
  std::uint32_t next_seq_ = 0;

  mutable std::int64_t total_ = 0;
  mutable std::int64_t assigned_ = 0;
  mutable std::int64_t cooling_ = 0;
  mutable std::int64_t prefixes_ = 0;
  mutable std::int64_t free_prefixes_ = 0;
  mutable std::int64_t excluded_prefixes_ = 0;
  mutable std::int64_t excluded_free_prefixes_ = 0;
  int enis_count_ = 0;
  int excluded_enis_ = 0;
  mutable std::uint64_t generation_ = 0;  // see generation(); bumped on every observable change
  mutable std::uint64_t cooldown_ends_ = 0;  // the bumps of generation_ by ExpireCooling()
  // cooling_fifo_.front().expire_ns, or the int64 maximum when it is empty.
  mutable std::int64_t first_expiry_ns_ = std::numeric_limits<std::int64_t>::max();
};

}  // namespace enipool

#endif  // ENIPOOL_DATASTORE_H_
