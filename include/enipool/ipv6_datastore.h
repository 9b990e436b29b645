// -----------------------------------------------------------------------------
// File: ipv6_datastore.h
// -----------------------------------------------------------------------------
//
// `Ipv6Datastore`: the pod addresses of a node in the reference's IPv6 mode
// (docs/reference-behavior.md §2.3, §4.12). Each managed ENI (normally only
// the primary) holds one delegated /80; pods get addresses out of it, the
// first pod the /80's base address. There is no warm pool: a /80 holds 2^48
// addresses, so the pool never runs low.
//
// How an address is chosen inside a prefix follows the reference's picker
// for both families (docs/reference-behavior.md §2.2): a released address
// whose cooldown has ended is handed out first; otherwise the lowest
// address that holds no record (never used, or whose record the picker
// dropped when its cooldown ended). The state is sparse, as upstream's is:
// only assigned and cooling addresses have records, and the never-used
// space is a set of free intervals, so a /80 costs a few words however many
// pods come and go. Where the reference takes "some" expired address (Go map
// order), this one takes the one released first.
//
// Cooldown is the same IP_COOLDOWN_PERIOD as in IPv4 (an address cools
// while now − released ≤ cooldown; a negative period counts as 0).
//
// Not thread-safe; one per node (the reference's IPv6 mode manages card 0).
//
// Example:
//
//   enipool::ManualClock clock;
//   enipool::Ipv6Datastore store(clock);
//   ENIPOOL_RETURN_IF_ERROR(store.AddEni({.id = "eni-1", .device_number = 0, .primary = true}));
//   ENIPOOL_RETURN_IF_ERROR(
//       store.AddPrefix("eni-1", *enipool::Ipv6Prefix::Parse("2600:1f14:abc:1:2::/80")));
//   auto a = store.Assign({"aws-cni", "sandbox-1", "eth0"});  // 2600:1f14:abc:1:2:: on eni-1
//   auto b = store.Assign({"aws-cni", "sandbox-2", "eth0"});  // 2600:1f14:abc:1:2::1
//   (void)store.Release({"aws-cni", "sandbox-1", "eth0"});    // ::2:: cools for 30 s

#ifndef ENIPOOL_IPV6_DATASTORE_H_
#define ENIPOOL_IPV6_DATASTORE_H_

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <deque>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/datastore.h"
#include "enipool/ipv6.h"
#include "enipool/pod_key.h"
#include "enipool/status.h"

namespace enipool {

// Ipv6Assignment
//
// Where a pod's IPv6 address lives: what the CNI plugin needs to wire it.
struct Ipv6Assignment {
  Ipv6Address address;
  EniId eni_id;
  int device_number = 0;
  int route_table_id = 0;

  [[nodiscard]] std::string ToString() const {
    return absl::StrCat(address.ToString(), " on ", eni_id.view(), " (device ", device_number,
                        ", route table ", route_table_id, ")");
  }
  friend bool operator==(const Ipv6Assignment&, const Ipv6Assignment&) = default;
};

// Ipv6PoolStats
//
// The IPv6 pool: prefixes held, addresses assigned and cooling.
struct Ipv6PoolStats {
  std::int64_t prefixes = 0;
  std::int64_t assigned_ips = 0;
  std::int64_t cooling_ips = 0;

  [[nodiscard]] std::string ToString() const {
    return absl::StrCat("prefixes ", prefixes, ", assigned ", assigned_ips, ", cooling ",
                        cooling_ips);
  }
  friend bool operator==(const Ipv6PoolStats&, const Ipv6PoolStats&) = default;
};

// Ipv6Datastore
//
// See the file comment. `C` is any `Clock`; the store keeps a reference to
// it, so the clock must outlive the store.
template <Clock C>
class Ipv6Datastore {
 public:
  using clock_type = C;

  // The shortest prefix the store takes: offsets inside a prefix are 64-bit.
  // EC2 delegates /80s; a longer one (down to a /128, one address) is
  // accepted so that a small pool can be exhausted.
  static constexpr int kShortestPrefix = 65;

  explicit Ipv6Datastore(const C& clock, absl::Duration ip_cooldown = absl::Seconds(30))
      : clock_(&clock),
        cooldown_ns_(std::max<std::int64_t>(0, absl::ToInt64Nanoseconds(ip_cooldown))) {}

  [[nodiscard]] absl::Duration ip_cooldown() const noexcept {
    return absl::Nanoseconds(cooldown_ns_);
  }

  // Ipv6Datastore::AddEni()
  //
  // Adds an ENI without prefixes. INVALID_ARGUMENT for a malformed id;
  // ALREADY_EXISTS if the id is known.
  [[nodiscard]] absl::Status AddEni(const EniSpec& spec) {
    auto id = EniId::Create(spec.id);
    if (!id.ok()) return id.status();
    if (FindEni(spec.id) != nullptr) {
      return absl::AlreadyExistsError(absl::StrCat("ENI ", spec.id, " is already in the datastore"));
    }
    enis_.push_back(Eni{*id, spec.device_number, spec.primary, {}});
    return absl::OkStatus();
  }

  // Ipv6Datastore::AddPrefix()
  //
  // Adds a delegated prefix to `eni_id`. NOT_FOUND for an unknown ENI;
  // INVALID_ARGUMENT for a prefix shorter than /65; ALREADY_EXISTS if it
  // overlaps a prefix the store holds.
  [[nodiscard]] absl::Status AddPrefix(absl::string_view eni_id, Ipv6Prefix prefix) {
    Eni* eni = FindEni(eni_id);
    if (eni == nullptr) return UnknownEni(eni_id);
    if (prefix.length() < kShortestPrefix) {
      return absl::InvalidArgumentError(absl::StrCat(
          "IPv6 prefix ", prefix.ToString(), " is too short: want /", kShortestPrefix,
          "../128 (EC2 delegates /", Ipv6Prefix::kDelegatedLength, ")"));
    }
    for (const Prefix& held : prefixes_) {
      if (held.cidr.Contains(prefix) || prefix.Contains(held.cidr)) {
        return absl::AlreadyExistsError(absl::StrCat("IPv6 prefix ", prefix.ToString(),
                                                     " overlaps ", held.cidr.ToString(),
                                                     ", already in the datastore"));
      }
    }
    Prefix added;
    added.cidr = prefix;
    added.eni = static_cast<std::uint32_t>(eni - enis_.data());
    const std::uint64_t last = LastOffset(prefix);
    added.free.emplace(0, last);
    prefixes_.push_back(std::move(added));
    eni->prefixes.push_back(static_cast<std::uint32_t>(prefixes_.size() - 1));
    return absl::OkStatus();
  }

  // Ipv6Datastore::Assign()
  //
  // Gives `pod` an address, or the one it already has (no state change):
  // from the first prefix (ENIs in the order added, then their prefixes)
  // that has one, a released address whose cooldown has ended, else the
  // lowest address never handed out. INVALID_ARGUMENT if a part of the key
  // is empty; RESOURCE_EXHAUSTED if no prefix has an address.
  [[nodiscard]] absl::StatusOr<Ipv6Assignment> Assign(const PodKey& pod) {
    if (pod.network_name.empty() || pod.container_id.empty() || pod.if_name.empty()) {
      return InvalidPodKey(pod);
    }
    if (auto it = pods_.find(pod); it != pods_.end()) return AssignmentOf(it->second);
    const std::int64_t now = ToNanos(clock_->Now());
    for (const Eni& eni : enis_) {
      for (std::uint32_t index : eni.prefixes) {
        Prefix& p = prefixes_[index];
        std::optional<std::uint64_t> offset = TakeExpired(p, now);
        if (!offset.has_value()) offset = TakeLowestFree(p);
        if (!offset.has_value()) continue;
        const Location location{index, *offset, now};
        p.assigned.emplace(*offset, pod);
        pods_.emplace(pod, location);
        return AssignmentOf(location);
      }
    }
    return absl::ResourceExhaustedError(absl::StrCat(
        "no available IP/Prefix addresses for pod ", pod.ToString(), " (IPv6: ", prefixes_.size(),
        " prefixes, assigned ", pods_.size(), ")"));
  }

  // Ipv6Datastore::Release()
  //
  // Takes `pod`'s address back; it cools for ip_cooldown(). The
  // reference's legacy key (network "_migrated-from-cri", interface
  // "unknown", same container id) is tried when the key is unknown.
  // NOT_FOUND if neither is assigned (the CNI treats that DEL as done).
  [[nodiscard]] absl::StatusOr<Ipv6Assignment> Release(const PodKey& pod) {
    return ReleaseAt(pod, clock_->Now());
  }

  // Ipv6Datastore::ReleaseAt()
  //
  // Release() with the release time given (replaying a journal).
  [[nodiscard]] absl::StatusOr<Ipv6Assignment> ReleaseAt(const PodKey& pod,
                                                         absl::Time released_at) {
    auto it = pods_.find(pod);
    if (it == pods_.end()) {
      it = pods_.find(PodKey{std::string(kLegacyNetworkName), pod.container_id,
                             std::string(kLegacyIfName)});
      if (it == pods_.end()) {
        return absl::NotFoundError(
            absl::StrCat("unknown pod ", QuoteInput(pod.ToString()), ": no address assigned"));
      }
    }
    const Location location = it->second;
    pods_.erase(it);
    Prefix& p = prefixes_[location.prefix];
    p.assigned.erase(location.offset);
    StartCooling(p, location.offset, ToNanos(released_at));
    return AssignmentOf(location);
  }

  // Ipv6Datastore::AssignAt()
  //
  // Records that `pod` holds `address` since `assigned_at` (restoring a
  // checkpoint or replaying a journal); a cooling address stops cooling.
  // Nothing changes if the pod already holds exactly this address.
  // INVALID_ARGUMENT for an empty key part; NOT_FOUND if no prefix holds the
  // address; ALREADY_EXISTS if another pod holds it or the pod holds
  // another address.
  [[nodiscard]] absl::StatusOr<Ipv6Assignment> AssignAt(const PodKey& pod, Ipv6Address address,
                                                        absl::Time assigned_at) {
    ENIPOOL_RETURN_IF_ERROR(CheckAssignAt(pod, address));
    const std::uint32_t index = *PrefixOf(address);
    Prefix& p = prefixes_[index];
    const std::uint64_t offset = p.cidr.OffsetOf(address);
    if (auto it = pods_.find(pod); it != pods_.end()) return AssignmentOf(it->second);
    if (p.cooling.erase(offset) == 0) TakeFree(p, offset);
    const Location location{index, offset, ToNanos(assigned_at)};
    p.assigned.emplace(offset, pod);
    pods_.emplace(pod, location);
    return AssignmentOf(location);
  }

  // Ipv6Datastore::CheckAssignAt()
  //
  // The error AssignAt(pod, address, …) would return, without changing
  // anything; OK if it would succeed.
  [[nodiscard]] absl::Status CheckAssignAt(const PodKey& pod, Ipv6Address address) const {
    if (pod.network_name.empty() || pod.container_id.empty() || pod.if_name.empty()) {
      return InvalidPodKey(pod);
    }
    const std::optional<std::uint32_t> index = PrefixOf(address);
    if (!index.has_value()) {
      return absl::NotFoundError(
          absl::StrCat("address ", address.ToString(), " is in no IPv6 prefix of the datastore"));
    }
    const Prefix& p = prefixes_[*index];
    const std::uint64_t offset = p.cidr.OffsetOf(address);
    if (auto it = pods_.find(pod); it != pods_.end()) {
      if (it->second.prefix == *index && it->second.offset == offset) return absl::OkStatus();
      return absl::AlreadyExistsError(absl::StrCat("pod ", pod.ToString(), " already holds ",
                                                   AssignmentOf(it->second).address.ToString()));
    }
    if (auto it = p.assigned.find(offset); it != p.assigned.end()) {
      return absl::AlreadyExistsError(absl::StrCat("address ", address.ToString(),
                                                   " is assigned to pod ", it->second.ToString()));
    }
    return absl::OkStatus();
  }

  // Ipv6Datastore::CoolAt()
  //
  // Records that `address`, free, has cooled since `released_at` (restoring
  // a snapshot, so a cooldown survives a restart). An address already
  // cooling gets the new time. NOT_FOUND if no prefix holds it;
  // FAILED_PRECONDITION if a pod holds it.
  [[nodiscard]] absl::Status CoolAt(Ipv6Address address, absl::Time released_at) {
    const std::optional<std::uint32_t> index = PrefixOf(address);
    if (!index.has_value()) {
      return absl::NotFoundError(
          absl::StrCat("address ", address.ToString(), " is in no IPv6 prefix of the datastore"));
    }
    Prefix& p = prefixes_[*index];
    const std::uint64_t offset = p.cidr.OffsetOf(address);
    if (auto it = p.assigned.find(offset); it != p.assigned.end()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "address ", address.ToString(), " is assigned to pod ", it->second.ToString()));
    }
    if (p.cooling.erase(offset) == 0) TakeFree(p, offset);
    StartCooling(p, offset, ToNanos(released_at));
    return absl::OkStatus();
  }

  // Ipv6Datastore::Lookup()
  //
  // Where `pod`'s address is, or nullopt.
  [[nodiscard]] std::optional<Ipv6Assignment> Lookup(const PodKey& pod) const {
    auto it = pods_.find(pod);
    if (it == pods_.end()) return std::nullopt;
    return AssignmentOf(it->second);
  }

  // Ipv6Datastore::Stats()
  //
  // Prefixes, assigned and (still) cooling addresses at the clock's now.
  // O(prefixes + cooldowns that have ended).
  [[nodiscard]] Ipv6PoolStats Stats() const {
    const std::int64_t now = ToNanos(clock_->Now());
    Ipv6PoolStats stats;
    stats.prefixes = static_cast<std::int64_t>(prefixes_.size());
    stats.assigned_ips = static_cast<std::int64_t>(pods_.size());
    for (const Prefix& p : prefixes_) {
      std::int64_t ended = 0;
      for (const Cooling& c : p.cooling_fifo) {
        if (!Ended(c, now)) break;
        auto it = p.cooling.find(c.offset);
        if (it != p.cooling.end() && it->second == c.released_ns) ++ended;
      }
      stats.cooling_ips += static_cast<std::int64_t>(p.cooling.size()) - ended;
    }
    return stats;
  }

  // Ipv6Datastore::Prefixes()
  //
  // Every prefix held, with its ENI, in the order added.
  [[nodiscard]] std::vector<std::pair<EniId, Ipv6Prefix>> Prefixes() const {
    std::vector<std::pair<EniId, Ipv6Prefix>> out;
    for (const Prefix& p : prefixes_) out.emplace_back(enis_[p.eni].id, p.cidr);
    return out;
  }

  [[nodiscard]] std::size_t pod_count() const noexcept { return pods_.size(); }
  [[nodiscard]] std::size_t eni_count() const noexcept { return enis_.size(); }

  // Ipv6Datastore::HasEni()
  //
  // Whether the ENI `eni_id` is in the store.
  [[nodiscard]] bool HasEni(absl::string_view eni_id) const noexcept {
    return std::any_of(enis_.begin(), enis_.end(),
                       [&](const Eni& eni) { return eni.id == eni_id; });
  }

  // Ipv6Datastore::ForEachEni()
  //
  // Calls fn(id, device_number, primary) for every ENI, in the order added.
  template <typename Fn>
  void ForEachEni(Fn&& fn) const {
    for (const Eni& eni : enis_) fn(eni.id, eni.device_number, eni.primary);
  }

  // Ipv6Datastore::Unassign()
  //
  // Undoes an Assign() whose effect must not stand (its journal record
  // could not be written): the pod loses its address, which becomes free
  // at once, without a cooldown. NOT_FOUND for a pod without an address.
  [[nodiscard]] absl::Status Unassign(const PodKey& pod) {
    const auto it = pods_.find(pod);
    if (it == pods_.end()) {
      return absl::NotFoundError(
          absl::StrCat("unknown pod ", QuoteInput(pod.ToString()), ": no address assigned"));
    }
    Prefix& p = prefixes_[it->second.prefix];
    p.assigned.erase(it->second.offset);
    GiveBack(p, it->second.offset);
    pods_.erase(it);
    return absl::OkStatus();
  }

  // Ipv6Datastore::Clear()
  //
  // Forgets every ENI, prefix, pod and cooldown (an IPv6 node whose saved
  // /80 EC2 no longer lists: its pods' addresses are stale). Always OK.
  absl::Status Clear() {
    enis_.clear();
    prefixes_.clear();
    pods_.clear();
    return absl::OkStatus();
  }

  // Ipv6Datastore::datastore()
  //
  // The store itself: every read of an Ipv6PoolStore goes through
  // datastore(), whichever store it is.
  [[nodiscard]] const Ipv6Datastore& datastore() const noexcept { return *this; }

  // Ipv6Datastore::ForEachAssignment()
  //
  // Calls fn(pod, assignment, assigned_at) for every assigned address.
  template <typename Fn>
  void ForEachAssignment(Fn&& fn) const {
    for (const auto& [pod, location] : pods_) {
      fn(pod, AssignmentOf(location), absl::FromUnixNanos(location.assigned_ns));
    }
  }

  // Ipv6Datastore::ForEachCooling()
  //
  // Calls fn(address, released_at) for every address with a cooling record
  // (including one whose cooldown has ended but that no Assign has reused).
  template <typename Fn>
  void ForEachCooling(Fn&& fn) const {
    for (const Prefix& p : prefixes_) {
      for (const auto& [offset, released_ns] : p.cooling) {
        fn(p.cidr.AddressAt(offset), absl::FromUnixNanos(released_ns));
      }
    }
  }

 private:
  static constexpr absl::string_view kLegacyNetworkName = "_migrated-from-cri";
  static constexpr absl::string_view kLegacyIfName = "unknown";

  struct Eni {
    EniId id;
    int device_number = 0;
    bool primary = false;
    std::vector<std::uint32_t> prefixes;  // indexes into prefixes_
  };
  struct Cooling {
    std::int64_t released_ns = 0;
    std::uint64_t offset = 0;
  };
  struct Prefix {
    Ipv6Prefix cidr;
    std::uint32_t eni = 0;
    // Offsets with no record, as closed intervals [first, last] keyed by first.
    absl::btree_map<std::uint64_t, std::uint64_t> free;
    absl::flat_hash_map<std::uint64_t, PodKey> assigned;
    absl::flat_hash_map<std::uint64_t, std::int64_t> cooling;  // offset → released at
    // The cooldowns in release order; an entry whose offset no longer cools
    // since that time (re-assigned, re-cooled) is stale and skipped.
    std::deque<Cooling> cooling_fifo;
  };
  struct Location {
    std::uint32_t prefix = 0;
    std::uint64_t offset = 0;
    std::int64_t assigned_ns = 0;
  };

  static std::int64_t ToNanos(absl::Time t) noexcept { return absl::ToUnixNanos(t); }
  static std::uint64_t LastOffset(const Ipv6Prefix& prefix) noexcept {
    return prefix.host_bits() >= 64 ? std::numeric_limits<std::uint64_t>::max()
                                    : (std::uint64_t{1} << prefix.host_bits()) - 1;
  }

  // The reference's test: an address cools while now − released ≤ cooldown.
  bool Ended(const Cooling& c, std::int64_t now_ns) const noexcept {
    return c.released_ns <= std::numeric_limits<std::int64_t>::max() - cooldown_ns_ &&
           c.released_ns + cooldown_ns_ < now_ns;
  }

  void StartCooling(Prefix& p, std::uint64_t offset, std::int64_t released_ns) {
    auto [it, inserted] = p.cooling.try_emplace(offset, released_ns);
    if (!inserted) {
      if (it->second == released_ns) return;  // its queue entry stands
      it->second = released_ns;
    }
    p.cooling_fifo.push_back(Cooling{released_ns, offset});
    // A replayed release may be older than the newest: keep release order.
    for (std::size_t i = p.cooling_fifo.size() - 1;
         i > 0 && p.cooling_fifo[i - 1].released_ns > p.cooling_fifo[i].released_ns; --i) {
      std::swap(p.cooling_fifo[i - 1], p.cooling_fifo[i]);
    }
  }

  // The address released first among those whose cooldown has ended; every
  // other ended one loses its record (becomes free), as the reference's
  // picker drops them while it scans.
  std::optional<std::uint64_t> TakeExpired(Prefix& p, std::int64_t now_ns) {
    std::optional<std::uint64_t> answer;
    while (!p.cooling_fifo.empty() && Ended(p.cooling_fifo.front(), now_ns)) {
      const Cooling c = p.cooling_fifo.front();
      p.cooling_fifo.pop_front();
      auto it = p.cooling.find(c.offset);
      if (it == p.cooling.end() || it->second != c.released_ns) continue;  // stale
      p.cooling.erase(it);
      if (!answer.has_value()) {
        answer = c.offset;
      } else {
        GiveBack(p, c.offset);
      }
    }
    return answer;
  }

  static std::optional<std::uint64_t> TakeLowestFree(Prefix& p) {
    if (p.free.empty()) return std::nullopt;
    const auto it = p.free.begin();
    const std::uint64_t first = it->first;
    const std::uint64_t last = it->second;
    p.free.erase(it);
    if (first != last) p.free.emplace(first + 1, last);
    return first;
  }

  // Removes `offset`, which must be free, from the free intervals.
  static void TakeFree(Prefix& p, std::uint64_t offset) {
    auto it = p.free.upper_bound(offset);
    if (it == p.free.begin()) return;
    --it;
    const std::uint64_t first = it->first;
    const std::uint64_t last = it->second;
    if (offset > last) return;
    p.free.erase(it);
    if (first < offset) p.free.emplace(first, offset - 1);
    if (offset < last) p.free.emplace(offset + 1, last);
  }

  // Adds `offset` back to the free intervals, merging with its neighbours.
  static void GiveBack(Prefix& p, std::uint64_t offset) {
    std::uint64_t first = offset;
    std::uint64_t last = offset;
    if (offset != std::numeric_limits<std::uint64_t>::max()) {
      auto next = p.free.find(offset + 1);
      if (next != p.free.end()) {
        last = next->second;
        p.free.erase(next);
      }
    }
    auto it = p.free.lower_bound(offset);
    if (it != p.free.begin()) {
      --it;
      if (offset != 0 && it->second == offset - 1) {
        first = it->first;
        p.free.erase(it);
      }
    }
    p.free.emplace(first, last);
  }

  Eni* FindEni(absl::string_view id) {
    for (Eni& eni : enis_) {
      if (eni.id == id) return &eni;
    }
    return nullptr;
  }
  std::optional<std::uint32_t> PrefixOf(Ipv6Address address) const {
    for (std::uint32_t i = 0; i < prefixes_.size(); ++i) {
      if (prefixes_[i].cidr.Contains(address)) return i;
    }
    return std::nullopt;
  }
  Ipv6Assignment AssignmentOf(const Location& location) const {
    const Prefix& p = prefixes_[location.prefix];
    const Eni& eni = enis_[p.eni];
    return Ipv6Assignment{p.cidr.AddressAt(location.offset), eni.id, eni.device_number,
                          RouteTableId(0, eni.device_number)};
  }
  [[gnu::cold]] static absl::Status InvalidPodKey(const PodKey& pod) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid pod key \"", pod.ToString(),
        "\": network name, container id and interface name must all be non-empty"));
  }
  [[gnu::cold]] static absl::Status UnknownEni(absl::string_view eni_id) {
    return absl::NotFoundError(absl::StrCat("unknown ENI ", QuoteInput(eni_id)));
  }

  const C* clock_;
  std::int64_t cooldown_ns_;
  std::vector<Eni> enis_;
  std::vector<Prefix> prefixes_;
  absl::flat_hash_map<PodKey, Location> pods_;
};

// Ipv6PoolStore
//
// A store an Ipv6NodeController (ipv6_node.h) can own, as PoolStore
// (pool_store.h) is for the IPv4 controller: every change through the
// store, every read through `datastore()`.
//   using clock_type = C;                                   // a Clock
//   const Ipv6Datastore<C>& datastore() const;
//   absl::Status AddEni(const EniSpec&);
//   absl::Status AddPrefix(absl::string_view eni_id, Ipv6Prefix);
//   absl::StatusOr<Ipv6Assignment> Assign(const PodKey&);
//   absl::StatusOr<Ipv6Assignment> Release(const PodKey&);
//   absl::Status Clear();
// Ipv6Datastore (in memory) and JournaledIpv6Datastore
// (persist/ipv6_journal.h) model it; a durable one may also fail with its
// I/O error, and then changes nothing.
template <typename S>
concept Ipv6PoolStore =
    Clock<typename S::clock_type> &&
    requires(S& store, const S& const_store, const EniSpec& spec, absl::string_view eni_id,
             Ipv6Prefix prefix, const PodKey& pod) {
      { const_store.datastore() } -> std::same_as<const Ipv6Datastore<typename S::clock_type>&>;
      { store.AddEni(spec) } -> std::same_as<absl::Status>;
      { store.AddPrefix(eni_id, prefix) } -> std::same_as<absl::Status>;
      { store.Assign(pod) } -> std::same_as<absl::StatusOr<Ipv6Assignment>>;
      { store.Release(pod) } -> std::same_as<absl::StatusOr<Ipv6Assignment>>;
      { store.Clear() } -> std::same_as<absl::Status>;
    };

}  // namespace enipool

#endif  // ENIPOOL_IPV6_DATASTORE_H_
