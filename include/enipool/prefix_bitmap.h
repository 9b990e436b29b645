// -----------------------------------------------------------------------------
// File: prefix_bitmap.h
// -----------------------------------------------------------------------------
//
// `PrefixBitmap`: which of the 16 addresses of one /28 are taken, in one
// 16-bit word. Every operation is O(1), constexpr and noexcept; "full" is an
// expected outcome, reported as std::nullopt, not as an error.
//
// Example:
//
//   enipool::PrefixBitmap bitmap;
//   std::optional<int> first = bitmap.Allocate();   // 0: the base address
//   bitmap.Release(*first);
//   bitmap.free_count();                            // 16

#ifndef ENIPOOL_PREFIX_BITMAP_H_
#define ENIPOOL_PREFIX_BITMAP_H_

#include <bit>
#include <cassert>
#include <cstdint>
#include <optional>

namespace enipool {

// PrefixBitmap
//
// Bit i set ⇔ address i of the /28 is taken. Allocate() takes the lowest free
// address, so a fresh /28 hands out its base address first and then .1, .2, …
// as the reference does.
class PrefixBitmap {
 public:
  static constexpr int kSlots = 16;
  static constexpr std::uint16_t kFull = 0xFFFF;

  constexpr PrefixBitmap() noexcept = default;
  constexpr explicit PrefixBitmap(std::uint16_t taken) noexcept : taken_(taken) {}

  // PrefixBitmap::Allocate()
  //
  // Marks the lowest free slot taken and returns it, or std::nullopt if all
  // 16 are taken.
  [[nodiscard]] constexpr std::optional<int> Allocate() noexcept {
    if (taken_ == kFull) return std::nullopt;
    const int slot = std::countr_one(taken_);
    taken_ = static_cast<std::uint16_t>(taken_ | (1u << slot));
    return slot;
  }

  // PrefixBitmap::Take()
  //
  // Marks `slot` taken; returns false (and changes nothing) if it already was.
  constexpr bool Take(int slot) noexcept {
    assert(slot >= 0 && slot < kSlots);
    const auto bit = static_cast<std::uint16_t>(1u << slot);
    if (taken_ & bit) return false;
    taken_ = static_cast<std::uint16_t>(taken_ | bit);
    return true;
  }

  // PrefixBitmap::Release()
  //
  // Marks `slot` free. Releasing a free slot is a caller bug (asserted).
  constexpr void Release(int slot) noexcept {
    assert(slot >= 0 && slot < kSlots && IsTaken(slot));
    taken_ = static_cast<std::uint16_t>(taken_ & ~(1u << slot));
  }

  [[nodiscard]] constexpr bool IsTaken(int slot) const noexcept { return (taken_ >> slot) & 1u; }
  [[nodiscard]] constexpr int taken_count() const noexcept { return std::popcount(taken_); }
  [[nodiscard]] constexpr int free_count() const noexcept { return kSlots - taken_count(); }
  [[nodiscard]] constexpr bool full() const noexcept { return taken_ == kFull; }
  [[nodiscard]] constexpr bool empty() const noexcept { return taken_ == 0; }
  [[nodiscard]] constexpr std::uint16_t bits() const noexcept { return taken_; }

  friend constexpr bool operator==(PrefixBitmap, PrefixBitmap) noexcept = default;

 private:
  std::uint16_t taken_ = 0;
};

static_assert([] {
  PrefixBitmap bitmap;
  for (int i = 0; i < PrefixBitmap::kSlots; ++i) {
    if (bitmap.Allocate() != i) return false;
  }
  return bitmap.full() && !bitmap.Allocate().has_value();
}());

}  // namespace enipool

#endif  // ENIPOOL_PREFIX_BITMAP_H_
