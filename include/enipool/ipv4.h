// -----------------------------------------------------------------------------
// File: ipv4.h
// -----------------------------------------------------------------------------
//
// IPv4 value types: `Ipv4Address` and `Ipv4Prefix`. Both are small, regular
// (copyable, `==`, `<=>`, hashable with absl::Hash), constexpr where possible,
// and parse from and print to the dotted-quad text EC2 uses.
//
// A prefix must be aligned: its host bits are zero ("10.0.0.16/28" is a
// prefix, "10.0.0.17/28" is rejected), because EC2 only delegates aligned
// /28 blocks and a misaligned one is almost always a typo.
//
// Example:
//
//   absl::StatusOr<enipool::Ipv4Prefix> prefix = enipool::Ipv4Prefix::Parse("10.0.0.16/28");
//   if (!prefix.ok()) return prefix.status();    // INVALID_ARGUMENT naming the text
//   prefix->size();                                // 16
//   prefix->AddressAt(3).ToString();               // "10.0.0.19"
//   prefix->Contains(*enipool::Ipv4Address::Parse("10.0.0.20"));  // true

#ifndef ENIPOOL_IPV4_H_
#define ENIPOOL_IPV4_H_

#include <compare>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "enipool/status.h"

namespace enipool {

// Ipv4Address
//
// One IPv4 address, stored as a host-order 32-bit integer.
class Ipv4Address {
 public:
  constexpr Ipv4Address() noexcept = default;
  constexpr explicit Ipv4Address(std::uint32_t value) noexcept : value_(value) {}
  constexpr Ipv4Address(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) noexcept
      : value_((std::uint32_t{a} << 24) | (std::uint32_t{b} << 16) | (std::uint32_t{c} << 8) |
               std::uint32_t{d}) {}

  // Ipv4Address::Parse()
  //
  // Parses dotted-quad text ("10.0.0.5"). Exactly four decimal octets of at
  // most three digits, no leading zeros (they read as octal elsewhere), no
  // spaces. Anything else is INVALID_ARGUMENT naming the text.
  [[nodiscard]] static absl::StatusOr<Ipv4Address> Parse(absl::string_view text) {
    std::uint32_t value = 0;
    absl::string_view rest = text;
    for (int octet = 0; octet < 4; ++octet) {
      if (octet > 0) {
        if (rest.empty() || rest.front() != '.') return Invalid(text);
        rest.remove_prefix(1);
      }
      std::uint32_t part = 0;
      int digits = 0;
      while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9' && digits < 4) {
        part = part * 10 + static_cast<std::uint32_t>(rest.front() - '0');
        rest.remove_prefix(1);
        ++digits;
      }
      if (digits == 0 || digits > 3 || part > 255) return Invalid(text);
      if (digits > 1 && part < (digits == 2 ? 10u : 100u)) return Invalid(text);  // leading zero
      value = (value << 8) | part;
    }
    if (!rest.empty()) return Invalid(text);
    return Ipv4Address(value);
  }

  [[nodiscard]] constexpr std::uint32_t value() const noexcept { return value_; }

  // Ipv4Address::ToString()
  //
  // Dotted-quad text, e.g. "10.0.0.5".
  [[nodiscard]] std::string ToString() const {
    return absl::StrCat(value_ >> 24, ".", (value_ >> 16) & 0xFF, ".", (value_ >> 8) & 0xFF, ".",
                        value_ & 0xFF);
  }

  friend constexpr bool operator==(Ipv4Address, Ipv4Address) noexcept = default;
  friend constexpr auto operator<=>(Ipv4Address, Ipv4Address) noexcept = default;
  template <typename H>
  friend H AbslHashValue(H h, Ipv4Address address) {
    return H::combine(std::move(h), address.value_);
  }

 private:
  [[gnu::cold]] static absl::Status Invalid(absl::string_view text) {
    return absl::InvalidArgumentError(absl::StrCat("invalid IPv4 address ", QuoteInput(text),
                                                   ": want four decimal octets, e.g. 10.0.0.5"));
  }

  std::uint32_t value_ = 0;
};

// Ipv4Prefix
//
// An aligned IPv4 CIDR block: a network address and a length 0..32. A /32 is
// one secondary IP; a /28 is one delegated prefix of 16 addresses.
class Ipv4Prefix {
 public:
  constexpr Ipv4Prefix() noexcept = default;

  // Ipv4Prefix::Create()
  //
  // The prefix `network/length`. INVALID_ARGUMENT if the length is out of
  // 0..32 or `network` has host bits set (the prefix is not aligned).
  [[nodiscard]] static absl::StatusOr<Ipv4Prefix> Create(Ipv4Address network, int length) {
    if (length < 0 || length > 32) {
      return absl::InvalidArgumentError(absl::StrCat("invalid IPv4 prefix \"", network.ToString(),
                                                     "/", length, "\": length must be 0..32"));
    }
    const Ipv4Prefix prefix(network, length);
    if (prefix.network_ != network) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid IPv4 prefix \"", network.ToString(), "/", length, "\": not aligned to a /", length,
          " (host bits set; the aligned block is ", prefix.ToString(), ")"));
    }
    return prefix;
  }

  // Ipv4Prefix::FromAddress()
  //
  // The /32 that holds exactly `address`.
  [[nodiscard]] static constexpr Ipv4Prefix FromAddress(Ipv4Address address) noexcept {
    return Ipv4Prefix(address, 32);
  }

  // Ipv4Prefix::Containing()
  //
  // The aligned /`length` that contains `address` (host bits cleared).
  // `length` must be 0..32.
  [[nodiscard]] static constexpr Ipv4Prefix Containing(Ipv4Address address, int length) noexcept {
    return Ipv4Prefix(address, length);
  }

  // Ipv4Prefix::Parse()
  //
  // Parses "a.b.c.d/n". A bare address without "/n" is rejected rather than
  // read as a /32, so that a missing length is never silently accepted.
  [[nodiscard]] static absl::StatusOr<Ipv4Prefix> Parse(absl::string_view text) {
    const auto slash = text.find('/');
    if (slash == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("invalid IPv4 prefix ", QuoteInput(text),
                                                     ": want address/length, e.g. 10.0.0.16/28"));
    }
    auto address = Ipv4Address::Parse(text.substr(0, slash));
    if (!address.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid IPv4 prefix ", QuoteInput(text), ": ", address.status().message()));
    }
    const absl::string_view length_text = text.substr(slash + 1);
    int length = 0;
    if (length_text.empty() || length_text.size() > 2 ||
        (length_text.size() == 2 && length_text[0] == '0')) {
      length = -1;
    }
    for (char c : length_text) {
      if (c < '0' || c > '9') length = -1;
      if (length >= 0) length = length * 10 + (c - '0');
    }
    if (length < 0 || length > 32) {
      return absl::InvalidArgumentError(absl::StrCat("invalid IPv4 prefix ", QuoteInput(text),
                                                     ": length must be a number 0..32"));
    }
    auto prefix = Create(*address, length);
    if (!prefix.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid IPv4 prefix ", QuoteInput(text), ": not aligned to a /", length,
          " (host bits set; the aligned block is ", Containing(*address, length).ToString(), ")"));
    }
    return prefix;
  }

  [[nodiscard]] constexpr Ipv4Address network() const noexcept { return network_; }
  [[nodiscard]] constexpr int length() const noexcept { return length_; }

  // Ipv4Prefix::size()
  //
  // The number of addresses in the block: 1 for a /32, 16 for a /28,
  // 2^32 for a /0 (hence 64 bits).
  [[nodiscard]] constexpr std::uint64_t size() const noexcept {
    return std::uint64_t{1} << (32 - length_);
  }

  [[nodiscard]] constexpr Ipv4Address first() const noexcept { return network_; }
  [[nodiscard]] constexpr Ipv4Address last() const noexcept {
    return Ipv4Address(network_.value() | ~Mask(length_));
  }

  // Ipv4Prefix::AddressAt()
  //
  // The address at `offset` from the network address; `offset` < size().
  [[nodiscard]] constexpr Ipv4Address AddressAt(std::uint64_t offset) const noexcept {
    return Ipv4Address(static_cast<std::uint32_t>(network_.value() + offset));
  }

  [[nodiscard]] constexpr bool Contains(Ipv4Address address) const noexcept {
    return (address.value() & Mask(length_)) == network_.value();
  }
  [[nodiscard]] constexpr bool Contains(const Ipv4Prefix& other) const noexcept {
    return other.length_ >= length_ && Contains(other.network_);
  }

  // Ipv4Prefix::ToString()
  //
  // "a.b.c.d/n", the form EC2 and the reference's datastore use as a key.
  [[nodiscard]] std::string ToString() const {
    return absl::StrCat(network_.ToString(), "/", length_);
  }

  friend constexpr bool operator==(const Ipv4Prefix&, const Ipv4Prefix&) noexcept = default;
  friend constexpr auto operator<=>(const Ipv4Prefix&, const Ipv4Prefix&) noexcept = default;
  template <typename H>
  friend H AbslHashValue(H h, const Ipv4Prefix& prefix) {
    return H::combine(std::move(h), prefix.network_, prefix.length_);
  }

 private:
  constexpr Ipv4Prefix(Ipv4Address address, int length) noexcept
      : network_(address.value() & Mask(length)), length_(length) {}

  static constexpr std::uint32_t Mask(int length) noexcept {
    return length == 0 ? 0u : ~std::uint32_t{0} << (32 - length);
  }

  Ipv4Address network_;
  int length_ = 32;
};

}  // namespace enipool

#endif  // ENIPOOL_IPV4_H_
