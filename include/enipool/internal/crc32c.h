// -----------------------------------------------------------------------------
// File: internal/crc32c.h
// -----------------------------------------------------------------------------
//
// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of the
// journal's records. Software, slicing by 8 (about a byte per cycle and a
// half; a journal record is ~100 bytes, so the checksum costs well under the
// write() it protects). Not part of the public API.
//
// Example:
//
//   std::uint32_t crc = enipool::internal::Crc32c("123456789");  // 0xE3069283
//   crc = enipool::internal::Crc32cExtend(crc, more_bytes);
//   // The CRC of a+b from the CRCs of a and b, without reading the bytes:
//   crc = enipool::internal::Crc32cCombine(Crc32c(a), Crc32c(b), b.size());

#ifndef ENIPOOL_INTERNAL_CRC32C_H_
#define ENIPOOL_INTERNAL_CRC32C_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace enipool::internal {

inline constexpr std::uint32_t kCrc32cPolynomial = 0x82F63B78u;

// Table k maps a byte to the CRC of that byte followed by k zero bytes.
inline constexpr std::array<std::array<std::uint32_t, 256>, 8> kCrc32cTables = [] {
  std::array<std::array<std::uint32_t, 256>, 8> tables{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? kCrc32cPolynomial : 0u);
    tables[0][i] = crc;
  }
  for (std::size_t k = 1; k < 8; ++k) {
    for (std::size_t i = 0; i < 256; ++i) {
      const std::uint32_t prev = tables[k - 1][i];
      tables[k][i] = (prev >> 8) ^ tables[0][prev & 0xFFu];
    }
  }
  return tables;
}();

// Crc32cExtend()
//
// The CRC-32C of (the bytes whose CRC is `crc`) followed by `data`.
inline std::uint32_t Crc32cExtend(std::uint32_t crc, absl::string_view data) noexcept {
  const auto& t = kCrc32cTables;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t n = data.size();
  std::uint32_t c = ~crc;
  while (n >= 8) {
    const std::uint32_t lo = c ^ (std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) |
                                  (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[3]} << 24));
    c = t[7][lo & 0xFFu] ^ t[6][(lo >> 8) & 0xFFu] ^ t[5][(lo >> 16) & 0xFFu] ^ t[4][lo >> 24] ^
        t[3][p[4]] ^ t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = (c >> 8) ^ t[0][(c ^ *p++) & 0xFFu];
  return ~c;
}

// Crc32c()
//
// The CRC-32C of `data`.
inline std::uint32_t Crc32c(absl::string_view data) noexcept { return Crc32cExtend(0, data); }

// CRC arithmetic. A CRC is a polynomial over GF(2) modulo the CRC's
// polynomial, stored reflected: bit 31 is x^0, bit 0 is x^31. Appending n
// zero bytes to a message multiplies its CRC register by x^(8n); that is what
// lets the CRC of a concatenation (and so of any slice of a buffer) be had
// from CRCs of its parts in O(1) instead of rereading the bytes.

// The product a·b modulo the CRC-32C polynomial (reflected operands).
constexpr std::uint32_t Crc32cMultiply(std::uint32_t a, std::uint32_t b) noexcept {
  std::uint32_t product = 0;
  for (std::uint32_t bit = std::uint32_t{1} << 31; bit != 0; bit >>= 1) {
    if ((a & bit) != 0) product ^= b;
    b = (b & 1u) != 0 ? (b >> 1) ^ kCrc32cPolynomial : b >> 1;  // b·x
  }
  return product;
}

inline constexpr std::size_t kCrc32cPowerSpan = 512;  // byte counts per table step
struct Crc32cPowerTables {
  std::array<std::uint32_t, kCrc32cPowerSpan> low{};   // x^(8n) for n < 512
  std::array<std::uint32_t, kCrc32cPowerSpan> high{};  // x^(8·512·h) for h < 512
};
inline constexpr Crc32cPowerTables kCrc32cPowers = [] {
  Crc32cPowerTables t;
  constexpr std::uint32_t kOne = std::uint32_t{1} << 31;
  constexpr std::uint32_t kXTo8 = std::uint32_t{1} << 23;
  t.low[0] = kOne;
  for (std::size_t n = 1; n < kCrc32cPowerSpan; ++n) t.low[n] = Crc32cMultiply(t.low[n - 1], kXTo8);
  const std::uint32_t step = Crc32cMultiply(t.low[kCrc32cPowerSpan - 1], kXTo8);  // x^(8·512)
  t.high[0] = kOne;
  for (std::size_t h = 1; h < kCrc32cPowerSpan; ++h) t.high[h] = Crc32cMultiply(t.high[h - 1], step);
  return t;
}();

// Crc32cShift()
//
// `crc`·x^(8·bytes): the register after `bytes` zero bytes more, before the
// final inversion. Two multiplications for up to 256 KiB; more beyond.
inline std::uint32_t Crc32cShift(std::uint32_t crc, std::uint64_t bytes) noexcept {
  constexpr std::uint64_t kSpan = kCrc32cPowerSpan;
  constexpr std::uint64_t kMaxHigh = kSpan - 1;
  while (bytes / kSpan > kMaxHigh) {
    crc = Crc32cMultiply(crc, kCrc32cPowers.high[kMaxHigh]);
    bytes -= kMaxHigh * kSpan;
  }
  const std::uint64_t high = bytes / kSpan;
  if (high != 0) crc = Crc32cMultiply(crc, kCrc32cPowers.high[high]);
  const std::uint64_t low = bytes % kSpan;
  if (low != 0) crc = Crc32cMultiply(crc, kCrc32cPowers.low[low]);
  return crc;
}

// Crc32cCombine()
//
// The CRC-32C of a+b, given Crc32c(a), Crc32c(b) and b's length.
inline std::uint32_t Crc32cCombine(std::uint32_t crc_a, std::uint32_t crc_b,
                                   std::uint64_t length_b) noexcept {
  return Crc32cShift(crc_a, length_b) ^ crc_b;
}

}  // namespace enipool::internal

#endif  // ENIPOOL_INTERNAL_CRC32C_H_
