// -----------------------------------------------------------------------------
// File: ec2/subnet.h
// -----------------------------------------------------------------------------
//
// `ec2::Subnet`: a VPC subnet as a real address space, so that the simulator
// reproduces /28 fragmentation: a subnet with thousands of free addresses and
// no aligned, wholly free /28 answers `InsufficientCidrBlocks` to a prefix
// request while secondary IPs still succeed (docs/reference-behavior.md §10: aws/amazon-vpc-
// cni-k8s #2749, #2045, #1634).
//
// What it models:
//   * a CIDR from /16 to /28 (NOTE: the sizes AWS allows for an IPv4 subnet,
//     "Subnet CIDR blocks", Amazon VPC User Guide);
//   * the five addresses AWS reserves in every subnet: the network address,
//     +1 (VPC router), +2 (DNS), +3 (reserved for future use) and the last
//     (broadcast) (NOTE: same page, "Subnet CIDR reservations" / reserved IPs);
//   * secondary IPs at a uniformly random free address (the caller's seeded
//     generator decides, so a seed gives the same addresses), or at an
//     address the caller names (AllocateAddressAt);
//   * /28 prefixes only on aligned, wholly free blocks, chosen at random among
//     them, taken first from "prefix" CIDR reservations when one has room;
//   * subnet CIDR reservations: "prefix" ranges are kept for prefixes
//     (secondary IPs never land there), "explicit" ranges are never handed
//     out (NOTE: "Subnet CIDR reservations", Amazon VPC User Guide).
//
// Cost: an address is placed by one popcount scan of the address bitmap
// (O(words): 1,024 words for a /16), a prefix by one scan of a per-/28
// block bitmap (64 words for a /16); the counts of free addresses and free
// aligned /28s are kept, O(1).
//
// Example:
//
//   auto subnet = enipool::ec2::Subnet::Create("subnet-1",
//   *enipool::Ipv4Prefix::Parse("10.0.0.0/24")); std::mt19937_64 rng(7);
//   absl::StatusOr<enipool::Ipv4Prefix> prefix = subnet->AllocatePrefix(rng);   //
//   e.g. 10.0.0.96/28 absl::StatusOr<enipool::Ipv4Address> ip = subnet->AllocateAddress(rng); //
//   e.g. 10.0.0.213 subnet->free_prefix_count();   // aligned /28s still wholly free

#ifndef ENIPOOL_EC2_SUBNET_H_
#define ENIPOOL_EC2_SUBNET_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "enipool/ec2/backend.h"
#include "enipool/ipv4.h"
#include "enipool/slot_bitmap.h"

namespace enipool::ec2 {

// ReservationType
//
// The two kinds of subnet CIDR reservation EC2 offers.
enum class ReservationType {
  kPrefix,    // only delegated prefixes are placed here
  kExplicit,  // nothing is placed here automatically
};

// SubnetReservation
//
// One subnet CIDR reservation.
struct SubnetReservation {
  Ipv4Prefix cidr;
  ReservationType type = ReservationType::kPrefix;
  friend bool operator==(const SubnetReservation&, const SubnetReservation&) = default;
};

// Subnet
//
// One subnet's address space. Copyable value; not thread-safe.
class Subnet {
 public:
  static constexpr int kMinLength = 16;           // largest subnet AWS allows
  static constexpr int kMaxLength = 28;           // smallest subnet AWS allows
  static constexpr std::size_t kPrefixSize = 16;  // addresses in a delegated /28

  // Subnet::Create()
  //
  // An empty subnet `id` over `cidr` with the five AWS-reserved addresses
  // held. INVALID_ARGUMENT if `id` is empty or `cidr` is not /16../28.
  [[nodiscard]] static absl::StatusOr<Subnet> Create(std::string id, Ipv4Prefix cidr) {
    if (id.empty()) return absl::InvalidArgumentError("subnet id must not be empty");
    if (cidr.length() < kMinLength || cidr.length() > kMaxLength) {
      return absl::InvalidArgumentError(absl::StrCat("subnet ", id, " CIDR ", cidr.ToString(),
                                                     " must be /16 to /28 (AWS subnet sizes)"));
    }
    return Subnet(std::move(id), cidr);
  }

  [[nodiscard]] const std::string& id() const noexcept { return id_; }
  [[nodiscard]] Ipv4Prefix cidr() const noexcept { return cidr_; }
  [[nodiscard]] const std::vector<SubnetReservation>& reservations() const noexcept {
    return reservations_;
  }

  // Subnet::AddReservation()
  //
  // Reserves `reservation.cidr`. INVALID_ARGUMENT, and no change, if it is
  // not inside the subnet, overlaps another reservation or an allocated
  // address, or is a "prefix" reservation smaller than a /28.
  [[nodiscard]] absl::Status AddReservation(const SubnetReservation& reservation) {
    const Ipv4Prefix& range = reservation.cidr;
    if (!cidr_.Contains(range)) {
      return absl::InvalidArgumentError(absl::StrCat("reservation ", range.ToString(),
                                                     " is not inside subnet ", id_, " (",
                                                     cidr_.ToString(), ")"));
    }
    if (reservation.type == ReservationType::kPrefix && range.length() > kMaxLength) {
      return absl::InvalidArgumentError(absl::StrCat("prefix reservation ", range.ToString(),
                                                     " in ", id_, " is smaller than a /28"));
    }
    const std::size_t start = Offset(range.network());
    const auto length = static_cast<std::size_t>(range.size());
    for (std::size_t i = start; i < start + length; ++i) {
      if (in_prefix_reservation_.IsTaken(i) || (held_.IsTaken(i) && !IsAwsReservedOffset(i))) {
        return absl::InvalidArgumentError(absl::StrCat("reservation ", range.ToString(), " in ",
                                                       id_, " overlaps another reservation"));
      }
      if (taken_.IsTaken(i) && !held_.IsTaken(i)) {
        return absl::InvalidArgumentError(absl::StrCat("reservation ", range.ToString(), " in ",
                                                       id_, " covers allocated address ",
                                                       cidr_.AddressAt(i).ToString()));
      }
    }
    for (std::size_t i = start; i < start + length; ++i) {
      if (reservation.type == ReservationType::kPrefix) {
        in_prefix_reservation_.Take(i);
        ip_blocked_.Take(i);
      } else {
        held_.Take(i);
        TakeOffset(i);
      }
    }
    if (reservation.type == ReservationType::kPrefix) {
      // A prefix reservation is at least a /28 and aligned, so it covers
      // whole blocks.
      for (std::size_t b = start / kPrefixSize; b < (start + length) / kPrefixSize; ++b) {
        if (block_used_[b] == 0) reserved_blocks_busy_.Release(b);
      }
    }
    reservations_.push_back(reservation);
    return absl::OkStatus();
  }

  // Subnet::Contains()
  [[nodiscard]] bool Contains(Ipv4Address address) const noexcept {
    return cidr_.Contains(address);
  }

  // Subnet::IsAwsReserved()
  //
  // True for the five addresses AWS keeps in every subnet.
  [[nodiscard]] bool IsAwsReserved(Ipv4Address address) const noexcept {
    return Contains(address) && IsAwsReservedOffset(Offset(address));
  }

  // Subnet::IsAllocated()
  //
  // True if `address` has been handed out (as an IP or inside a prefix).
  [[nodiscard]] bool IsAllocated(Ipv4Address address) const noexcept {
    if (!Contains(address)) return false;
    const std::size_t i = Offset(address);
    return taken_.IsTaken(i) && !held_.IsTaken(i);
  }

  // Subnet::IsInPrefixReservation()
  [[nodiscard]] bool IsInPrefixReservation(Ipv4Address address) const noexcept {
    return Contains(address) && in_prefix_reservation_.IsTaken(Offset(address));
  }

  // Subnet::AllocateAddresses()
  //
  // `count` addresses, each uniformly random among the addresses a
  // secondary IP may take (free, not AWS-reserved, outside every
  // reservation). All or nothing:
  //   InsufficientFreeAddressesInSubnet  fewer than `count` such addresses;
  //   InvalidParameterValue              `count` < 1.
  [[nodiscard]] absl::StatusOr<std::vector<Ipv4Address>> AllocateAddresses(int count,
                                                                           std::mt19937_64& rng) {
    if (count < 1) {
      return Ec2Error(Ec2ErrorCode::kInvalidParameterValue,
                      absl::StrCat("address count ", count, " for subnet ", id_, " must be >= 1"));
    }
    if (static_cast<std::size_t>(count) > free_address_count()) {
      return Ec2Error(Ec2ErrorCode::kInsufficientFreeAddressesInSubnet,
                      absl::StrCat("subnet ", id_, " (", cidr_.ToString(), ") has ",
                                   free_address_count(), " free addresses, ", count, " requested"));
    }
    std::vector<Ipv4Address> addresses;
    addresses.reserve(static_cast<std::size_t>(count));
    for (int n = 0; n < count; ++n) {
      const std::optional<std::size_t> slot = ip_blocked_.NthFree(rng() % ip_blocked_.free_count());
      TakeOffset(*slot);
      ++allocated_;
      addresses.push_back(cidr_.AddressAt(*slot));
    }
    return addresses;
  }

  // Subnet::AllocateAddress()
  //
  // One address; see AllocateAddresses().
  [[nodiscard]] absl::StatusOr<Ipv4Address> AllocateAddress(std::mt19937_64& rng) {
    auto addresses = AllocateAddresses(1, rng);
    if (!addresses.ok()) return addresses.status();
    return addresses->front();
  }

  // Subnet::AllocateAddressAt()
  //
  // Takes `address` itself (CreateNetworkInterface with PrivateIpAddress):
  //   InvalidParameterValue   outside the subnet, one of the five addresses
  //                           AWS reserves, or inside a CIDR reservation;
  //   InvalidIPAddress.InUse  already allocated.
  // Nothing changes on an error.
  [[nodiscard]] absl::Status AllocateAddressAt(Ipv4Address address) {
    if (!cidr_.Contains(address)) {
      return Ec2Error(Ec2ErrorCode::kInvalidParameterValue,
                      absl::StrCat("address ", address.ToString(), " is not in subnet ", id_, " (",
                                   cidr_.ToString(), ")"));
    }
    const std::size_t i = Offset(address);
    if (IsAwsReservedOffset(i)) {
      return Ec2Error(Ec2ErrorCode::kInvalidParameterValue,
                      absl::StrCat("address ", address.ToString(), " is reserved by AWS in subnet ",
                                   id_, " (", cidr_.ToString(), ")"));
    }
    if (held_.IsTaken(i) || in_prefix_reservation_.IsTaken(i)) {
      return Ec2Error(Ec2ErrorCode::kInvalidParameterValue,
                      absl::StrCat("address ", address.ToString(),
                                   " is inside a CIDR reservation of subnet ", id_));
    }
    if (taken_.IsTaken(i)) {
      return Ec2Error(Ec2ErrorCode::kInvalidIpAddressInUse,
                      absl::StrCat("address ", address.ToString(), " of subnet ", id_,
                                   " is already in use"));
    }
    TakeOffset(i);
    ++allocated_;
    return absl::OkStatus();
  }

  // Subnet::AllocatePrefixes()
  //
  // `count` aligned /28s, each wholly free: random among the free blocks of
  // the prefix reservations while they have any, then random among all free
  // aligned blocks. All or nothing:
  //   InsufficientCidrBlocks   fewer than `count` wholly free aligned /28s
  //                            (however many single addresses are free);
  //   InvalidParameterValue    `count` < 1.
  [[nodiscard]] absl::StatusOr<std::vector<Ipv4Prefix>> AllocatePrefixes(int count,
                                                                         std::mt19937_64& rng) {
    if (count < 1) {
      return Ec2Error(Ec2ErrorCode::kInvalidParameterValue,
                      absl::StrCat("prefix count ", count, " for subnet ", id_, " must be >= 1"));
    }
    const std::size_t free_blocks = free_prefix_count();
    if (static_cast<std::size_t>(count) > free_blocks) {
      return Ec2Error(Ec2ErrorCode::kInsufficientCidrBlocks,
                      absl::StrCat("subnet ", id_, " (", cidr_.ToString(), ") has ", free_blocks,
                                   " free aligned /28 blocks, ", count, " requested (",
                                   free_address_count(), " single addresses free)"));
    }
    std::vector<Ipv4Prefix> prefixes;
    prefixes.reserve(static_cast<std::size_t>(count));
    for (int n = 0; n < count; ++n) {
      // Blocks of a prefix reservation first, then any free block.
      const SlotBitmap& pool =
          reserved_blocks_busy_.free_count() > 0 ? reserved_blocks_busy_ : blocks_busy_;
      const std::optional<std::size_t> block = pool.NthFree(rng() % pool.free_count());
      const std::size_t start = *block * kPrefixSize;
      for (std::size_t i = start; i < start + kPrefixSize; ++i) TakeOffset(i);
      allocated_ += kPrefixSize;
      prefixes.push_back(Ipv4Prefix::Containing(cidr_.AddressAt(start), 28));
    }
    return prefixes;
  }

  // Subnet::AllocatePrefix()
  //
  // One /28; see AllocatePrefixes().
  [[nodiscard]] absl::StatusOr<Ipv4Prefix> AllocatePrefix(std::mt19937_64& rng) {
    auto prefixes = AllocatePrefixes(1, rng);
    if (!prefixes.ok()) return prefixes.status();
    return prefixes->front();
  }

  // Subnet::ReleaseAddress()
  //
  // Returns one allocated address. InvalidParameterValue, and no change, if
  // it is outside the subnet or not allocated.
  [[nodiscard]] absl::Status ReleaseAddress(Ipv4Address address) {
    if (!IsAllocated(address)) {
      return Ec2Error(Ec2ErrorCode::kInvalidParameterValue,
                      absl::StrCat("address ", address.ToString(), " is not allocated in subnet ",
                                   id_, " (", cidr_.ToString(), ")"));
    }
    ReleaseOffset(Offset(address));
    --allocated_;
    return absl::OkStatus();
  }

  // Subnet::ReleasePrefix()
  //
  // Returns an allocated /28. InvalidParameterValue, and no change, if it is
  // not a /28 of this subnet whose 16 addresses are all allocated.
  [[nodiscard]] absl::Status ReleasePrefix(Ipv4Prefix prefix) {
    bool ok = prefix.length() == 28 && cidr_.Contains(prefix);
    for (std::uint64_t k = 0; ok && k < kPrefixSize; ++k) ok = IsAllocated(prefix.AddressAt(k));
    if (!ok) {
      return Ec2Error(
          Ec2ErrorCode::kInvalidParameterValue,
          absl::StrCat("prefix ", prefix.ToString(), " is not an allocated /28 of subnet ", id_,
                       " (", cidr_.ToString(), ")"));
    }
    const std::size_t start = Offset(prefix.network());
    for (std::size_t i = start; i < start + kPrefixSize; ++i) ReleaseOffset(i);
    allocated_ -= kPrefixSize;
    return absl::OkStatus();
  }

  // Subnet::size()
  //
  // Every address of the CIDR, reserved ones included.
  [[nodiscard]] std::size_t size() const noexcept { return taken_.size(); }

  // Subnet::free_address_count()
  //
  // Addresses a secondary IP could still take (prefix reservations and
  // explicit reservations excluded). O(1).
  [[nodiscard]] std::size_t free_address_count() const noexcept { return ip_blocked_.free_count(); }

  // Subnet::free_prefix_count()
  //
  // Aligned /28 blocks that are wholly free, in reservations or not: the
  // prefixes EC2 could still delegate. O(1).
  [[nodiscard]] std::size_t free_prefix_count() const noexcept { return blocks_busy_.free_count(); }

  // Subnet::free_reserved_prefix_count()
  //
  // Free aligned /28 blocks inside prefix reservations. O(1).
  [[nodiscard]] std::size_t free_reserved_prefix_count() const noexcept {
    return reserved_blocks_busy_.free_count();
  }

  // Subnet::allocated_address_count()
  //
  // Addresses handed out: one per IP, sixteen per prefix. O(1).
  [[nodiscard]] std::size_t allocated_address_count() const noexcept { return allocated_; }

 private:
  Subnet(std::string id, Ipv4Prefix cidr)
      : id_(std::move(id)),
        cidr_(cidr),
        taken_(static_cast<std::size_t>(cidr.size())),
        ip_blocked_(static_cast<std::size_t>(cidr.size())),
        in_prefix_reservation_(static_cast<std::size_t>(cidr.size())),
        held_(static_cast<std::size_t>(cidr.size())),
        block_used_(static_cast<std::size_t>(cidr.size()) / kPrefixSize, 0),
        blocks_busy_(block_used_.size()),
        reserved_blocks_busy_(block_used_.size()) {
    // No block is in a prefix reservation yet.
    reserved_blocks_busy_.TakeRange(0, reserved_blocks_busy_.size());
    for (std::size_t i :
         {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{3}, size() - 1}) {
      held_.Take(i);
      TakeOffset(i);
    }
  }

  [[nodiscard]] std::size_t Offset(Ipv4Address address) const noexcept {
    return static_cast<std::size_t>(address.value() - cidr_.network().value());
  }
  [[nodiscard]] bool IsAwsReservedOffset(std::size_t i) const noexcept {
    return i < 4 || i == size() - 1;
  }

  // An address is in `taken_` iff used or held. `ip_blocked_` adds the
  // prefix reservations (where IPs may not go); the block bitmaps follow the
  // per-/28 count of taken addresses, so a wholly free block is one with a
  // count of zero.
  void TakeOffset(std::size_t i) noexcept {
    ip_blocked_.Take(i);
    if (!taken_.Take(i)) return;
    const std::size_t b = i / kPrefixSize;
    if (block_used_[b]++ == 0) {
      blocks_busy_.Take(b);
      reserved_blocks_busy_.Take(b);
    }
  }
  void ReleaseOffset(std::size_t i) noexcept {
    if (!in_prefix_reservation_.IsTaken(i)) ip_blocked_.Release(i);
    if (!taken_.Release(i)) return;
    const std::size_t b = i / kPrefixSize;
    if (--block_used_[b] == 0) {
      blocks_busy_.Release(b);
      if (in_prefix_reservation_.IsTaken(b * kPrefixSize)) reserved_blocks_busy_.Release(b);
    }
  }

  std::string id_;
  Ipv4Prefix cidr_;
  SlotBitmap taken_;                      // AWS-reserved, explicit-reserved or allocated
  SlotBitmap ip_blocked_;                 // taken_ ∪ prefix reservations: where IPs may not go
  SlotBitmap in_prefix_reservation_;      // membership in a prefix reservation
  SlotBitmap held_;                       // AWS-reserved or explicit-reserved: never handed out
  std::vector<std::uint8_t> block_used_;  // taken addresses per /28 block (0..16)
  SlotBitmap blocks_busy_;                // per block: not wholly free
  SlotBitmap reserved_blocks_busy_;       // per block: not wholly free, or not a reserved block
  std::size_t allocated_ = 0;
  std::vector<SubnetReservation> reservations_;
};

}  // namespace enipool::ec2

#endif  // ENIPOOL_EC2_SUBNET_H_
