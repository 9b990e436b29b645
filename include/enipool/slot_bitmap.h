// -----------------------------------------------------------------------------
// File: slot_bitmap.h
// -----------------------------------------------------------------------------
//
// `SlotBitmap`: a runtime-sized set of taken slots (addresses of a subnet,
// device indexes of an instance, …) over 64-bit words. Searches work a word
// at a time with <bit> operations; counts are kept, not recounted.
//
// Example:
//
//   enipool::SlotBitmap subnet(256);                 // a /24
//   subnet.TakeRange(0, 4);                          // reserved by AWS
//   std::optional<std::size_t> block = subnet.FindFreeAlignedBlock(16);  // 16: first free /28
//   subnet.TakeRange(*block, 16);

#ifndef ENIPOOL_SLOT_BITMAP_H_
#define ENIPOOL_SLOT_BITMAP_H_

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace enipool {

// SlotBitmap
//
// Bit i set ⇔ slot i is taken. Bits past size() are kept set internally so
// that no search returns them. Not thread-safe.
class SlotBitmap {
 public:
  SlotBitmap() = default;
  explicit SlotBitmap(std::size_t size)
      : words_((size + 63) / 64, 0),
        group_free_((words_.size() + kGroupWords - 1) / kGroupWords, 0),
        size_(size) {
    if (size % 64 != 0) words_.back() = ~std::uint64_t{0} << (size % 64);
    for (std::size_t g = 0; g < group_free_.size(); ++g) group_free_[g] = GroupSlots(g);
    if (size % 64 != 0) group_free_.back() -= static_cast<std::uint32_t>(64 - size % 64);
  }

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t taken_count() const noexcept { return taken_; }
  [[nodiscard]] std::size_t free_count() const noexcept { return size_ - taken_; }

  [[nodiscard]] bool IsTaken(std::size_t slot) const noexcept {
    assert(slot < size_);
    return (words_[slot / 64] >> (slot % 64)) & 1u;
  }

  // SlotBitmap::Take()
  //
  // Marks `slot` taken; false (and no change) if it already was.
  bool Take(std::size_t slot) noexcept {
    assert(slot < size_);
    std::uint64_t& word = words_[slot / 64];
    const std::uint64_t bit = std::uint64_t{1} << (slot % 64);
    if (word & bit) return false;
    word |= bit;
    ++taken_;
    --group_free_[slot / kGroupSlots];
    return true;
  }

  // SlotBitmap::Release()
  //
  // Marks `slot` free; false (and no change) if it already was.
  bool Release(std::size_t slot) noexcept {
    assert(slot < size_);
    std::uint64_t& word = words_[slot / 64];
    const std::uint64_t bit = std::uint64_t{1} << (slot % 64);
    if (!(word & bit)) return false;
    word &= ~bit;
    --taken_;
    ++group_free_[slot / kGroupSlots];
    return true;
  }

  // SlotBitmap::IsRangeFree()
  //
  // True if every slot of [start, start + length) is free and in range.
  [[nodiscard]] bool IsRangeFree(std::size_t start, std::size_t length) const noexcept {
    if (start + length > size_) return false;
    for (std::size_t i = start; i < start + length; ++i) {
      if (IsTaken(i)) return false;
    }
    return true;
  }

  // SlotBitmap::TakeRange() / ReleaseRange()
  //
  // Take or free [start, start + length); slots already in that state are
  // left alone. Returns how many changed.
  std::size_t TakeRange(std::size_t start, std::size_t length) noexcept {
    std::size_t changed = 0;
    for (std::size_t i = start; i < start + length; ++i) changed += Take(i) ? 1u : 0u;
    return changed;
  }
  std::size_t ReleaseRange(std::size_t start, std::size_t length) noexcept {
    std::size_t changed = 0;
    for (std::size_t i = start; i < start + length; ++i) changed += Release(i) ? 1u : 0u;
    return changed;
  }

  // SlotBitmap::FindFirstFree()
  //
  // The lowest free slot at or after `from`, or std::nullopt.
  [[nodiscard]] std::optional<std::size_t> FindFirstFree(std::size_t from = 0) const noexcept {
    if (from >= size_) return std::nullopt;
    std::size_t w = from / 64;
    // Treat the slots before `from` in its word as taken.
    std::uint64_t word = words_[w] | ((std::uint64_t{1} << (from % 64)) - 1);
    while (true) {
      if (word != ~std::uint64_t{0}) {
        return w * 64 + static_cast<std::size_t>(std::countr_one(word));
      }
      if (++w == words_.size()) return std::nullopt;
      word = words_[w];
    }
  }

  // SlotBitmap::NthFree()
  //
  // The `n`-th free slot (0-based) in ascending order, or std::nullopt if
  // there are not that many. Used to place an address uniformly at random
  // among the free ones: NthFree(rng() % free_count()).
  [[nodiscard]] std::optional<std::size_t> NthFree(std::size_t n) const noexcept {
    // Skip whole groups by their kept free counts, then count words: a /16
    // is 64 groups of 16 words rather than 1,024 popcounts (each a library
    // call unless the build targets a CPU with POPCNT).
    std::size_t g = 0;
    for (; g < group_free_.size() && n >= group_free_[g]; ++g) n -= group_free_[g];
    if (g == group_free_.size()) return std::nullopt;
    const std::size_t end = std::min(words_.size(), (g + 1) * kGroupWords);
    for (std::size_t w = g * kGroupWords; w < end; ++w) {
      std::uint64_t free_bits = ~words_[w];
      const auto count = static_cast<std::size_t>(std::popcount(free_bits));
      if (n >= count) {
        n -= count;
        continue;
      }
      for (; n > 0; --n) free_bits &= free_bits - 1;  // drop the lowest n free bits
      return w * 64 + static_cast<std::size_t>(std::countr_zero(free_bits));
    }
    return std::nullopt;
  }

  // SlotBitmap::FindFreeAlignedBlock()
  //
  // The start of the lowest block of `block` consecutive free slots that
  // starts at a multiple of `block`, or std::nullopt. `block` is a power of
  // two no larger than 64 (16 finds a free /28 in a subnet's address map).
  [[nodiscard]] std::optional<std::size_t> FindFreeAlignedBlock(std::size_t block) const noexcept {
    assert(block > 0 && block <= 64 && std::has_single_bit(block));
    for (std::size_t w = 0; w < words_.size(); ++w) {
      const std::uint64_t lanes = FreeLaneStarts(words_[w], block);
      if (lanes != 0) return w * 64 + static_cast<std::size_t>(std::countr_zero(lanes));
    }
    return std::nullopt;
  }

  // SlotBitmap::CountFreeAlignedBlocks()
  //
  // How many aligned blocks of `block` slots are wholly free: the number of
  // /28s a subnet could still delegate, for fragmentation reports.
  [[nodiscard]] std::size_t CountFreeAlignedBlocks(std::size_t block) const noexcept {
    assert(block > 0 && block <= 64 && std::has_single_bit(block));
    std::size_t count = 0;
    for (std::uint64_t word : words_) {
      count += static_cast<std::size_t>(std::popcount(FreeLaneStarts(word, block)));
    }
    return count;
  }

  friend bool operator==(const SlotBitmap&, const SlotBitmap&) = default;

 private:
  // Bit i of the result is set iff slots [i, i + block) of `word` are free
  // and i is a multiple of `block`. Folding: a lane is free iff the OR of
  // its bits is 0; OR-ing each bit with its neighbours at distances 1, 2, 4,
  // … leaves that OR in the lane's lowest bit.
  static std::uint64_t FreeLaneStarts(std::uint64_t word, std::size_t block) noexcept {
    if (block == 64) return word == 0 ? 1u : 0u;
    std::uint64_t taken = word;
    for (std::size_t shift = 1; shift < block; shift <<= 1) taken |= taken >> shift;
    std::uint64_t lane_starts = 0;
    for (std::size_t i = 0; i < 64; i += block) lane_starts |= std::uint64_t{1} << i;
    return ~taken & lane_starts;
  }

  // Free slots are also counted per group of kGroupWords words, so NthFree
  // skips most of a large bitmap without looking at its words.
  static constexpr std::size_t kGroupWords = 16;
  static constexpr std::size_t kGroupSlots = kGroupWords * 64;

  // Slots of group `g` within the words (padding bits of the last word included).
  [[nodiscard]] std::uint32_t GroupSlots(std::size_t g) const noexcept {
    const std::size_t end = std::min(words_.size(), (g + 1) * kGroupWords);
    return static_cast<std::uint32_t>((end - g * kGroupWords) * 64);
  }

  std::vector<std::uint64_t> words_;
  std::vector<std::uint32_t> group_free_;  // free slots per group of kGroupWords words
  std::size_t size_ = 0;
  std::size_t taken_ = 0;
};

}  // namespace enipool

#endif  // ENIPOOL_SLOT_BITMAP_H_
