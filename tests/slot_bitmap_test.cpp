#include "enipool/slot_bitmap.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <random>
#include <vector>

namespace {

using enipool::SlotBitmap;

// The obviously correct model: one bool per slot, every answer by a scan.
struct NaiveSlots {
  std::vector<bool> taken;

  explicit NaiveSlots(std::size_t size) : taken(size, false) {}

  std::size_t taken_count() const {
    std::size_t n = 0;
    for (bool t : taken) n += t ? 1u : 0u;
    return n;
  }
  std::optional<std::size_t> FindFirstFree(std::size_t from) const {
    for (std::size_t i = from; i < taken.size(); ++i) {
      if (!taken[i]) return i;
    }
    return std::nullopt;
  }
  std::optional<std::size_t> NthFree(std::size_t n) const {
    for (std::size_t i = 0; i < taken.size(); ++i) {
      if (!taken[i] && n-- == 0) return i;
    }
    return std::nullopt;
  }
  bool BlockFree(std::size_t start, std::size_t block) const {
    if (start + block > taken.size()) return false;
    for (std::size_t i = start; i < start + block; ++i) {
      if (taken[i]) return false;
    }
    return true;
  }
  std::optional<std::size_t> FindFreeAlignedBlock(std::size_t block) const {
    for (std::size_t start = 0; start + block <= taken.size(); start += block) {
      if (BlockFree(start, block)) return start;
    }
    return std::nullopt;
  }
  std::size_t CountFreeAlignedBlocks(std::size_t block) const {
    std::size_t n = 0;
    for (std::size_t start = 0; start + block <= taken.size(); start += block) {
      n += BlockFree(start, block) ? 1u : 0u;
    }
    return n;
  }
};

constexpr std::size_t kSizes[] = {1, 63, 64, 65, 127, 128, 256};
constexpr std::size_t kBlocks[] = {1, 2, 4, 8, 16, 32, 64};

void CheckAgainstModel(const SlotBitmap& bitmap, const NaiveSlots& model) {
  REQUIRE(bitmap.size() == model.taken.size());
  REQUIRE(bitmap.taken_count() == model.taken_count());
  REQUIRE(bitmap.free_count() == model.taken.size() - model.taken_count());
  for (std::size_t i = 0; i < model.taken.size(); ++i) REQUIRE(bitmap.IsTaken(i) == model.taken[i]);
  for (std::size_t from = 0; from <= model.taken.size() + 1; ++from) {
    CAPTURE(from);
    REQUIRE(bitmap.FindFirstFree(from) == model.FindFirstFree(from));
  }
  for (std::size_t n = 0; n <= model.taken.size() + 1; ++n) {
    CAPTURE(n);
    REQUIRE(bitmap.NthFree(n) == model.NthFree(n));
  }
  for (std::size_t block : kBlocks) {
    CAPTURE(block);
    REQUIRE(bitmap.FindFreeAlignedBlock(block) == model.FindFreeAlignedBlock(block));
    REQUIRE(bitmap.CountFreeAlignedBlocks(block) == model.CountFreeAlignedBlocks(block));
  }
}

TEST_CASE("SlotBitmap starts all free at word-boundary sizes and never reports slots past size()") {
  for (std::size_t size : kSizes) {
    CAPTURE(size);
    SlotBitmap bitmap(size);
    NaiveSlots model(size);
    CheckAgainstModel(bitmap, model);
    CHECK(bitmap.FindFirstFree() == std::optional<std::size_t>(0));
    CHECK(bitmap.TakeRange(0, size) == size);
    model.taken.assign(size, true);
    CheckAgainstModel(bitmap, model);
    CHECK_FALSE(bitmap.FindFirstFree().has_value());
    CHECK_FALSE(bitmap.NthFree(0).has_value());
    CHECK_FALSE(bitmap.FindFreeAlignedBlock(1).has_value());
  }
}

TEST_CASE("SlotBitmap::Take and Release report whether they changed the slot") {
  SlotBitmap bitmap(65);
  CHECK(bitmap.Take(64));
  CHECK_FALSE(bitmap.Take(64));
  CHECK(bitmap.taken_count() == 1);
  CHECK(bitmap.Release(64));
  CHECK_FALSE(bitmap.Release(64));
  CHECK(bitmap.taken_count() == 0);
  CHECK(bitmap == SlotBitmap(65));
}

TEST_CASE("SlotBitmap range operations count only the slots they change") {
  SlotBitmap bitmap(130);
  CHECK(bitmap.TakeRange(60, 10) == 10);  // crosses a word boundary
  CHECK(bitmap.TakeRange(55, 10) == 5);
  CHECK(bitmap.taken_count() == 15);
  CHECK_FALSE(bitmap.IsRangeFree(50, 6));
  CHECK(bitmap.IsRangeFree(70, 60));
  CHECK_FALSE(bitmap.IsRangeFree(70, 61));  // runs past size()
  CHECK(bitmap.ReleaseRange(50, 20) == 15);
  CHECK(bitmap.taken_count() == 0);
}

TEST_CASE(
    "SlotBitmap::FindFreeAlignedBlock finds the first free /28 of a /24 with AWS reserved slots") {
  SlotBitmap subnet(256);
  subnet.TakeRange(0, 4);  // network, VPC router, DNS, future
  subnet.Take(255);        // broadcast
  CHECK(subnet.FindFreeAlignedBlock(16) == std::optional<std::size_t>(16));
  CHECK(subnet.CountFreeAlignedBlocks(16) == 14u);
  subnet.Take(20);
  CHECK(subnet.FindFreeAlignedBlock(16) == std::optional<std::size_t>(32));
  CHECK(subnet.CountFreeAlignedBlocks(16) == 13u);
  CHECK(subnet.FindFreeAlignedBlock(64) == std::optional<std::size_t>(64));
  CHECK(subnet.CountFreeAlignedBlocks(64) == 2u);  // 64..127 and 128..191
}

TEST_CASE("SlotBitmap agrees with a naive model under random operations at word-boundary sizes") {
  std::mt19937_64 rng(0x51075107);
  for (std::size_t size : kSizes) {
    CAPTURE(size);
    SlotBitmap bitmap(size);
    NaiveSlots model(size);
    // Sweep the fill level up and down so that both sparse and dense maps are seen.
    for (int step = 0; step < 600; ++step) {
      const double fill = step < 300 ? 0.95 : 0.2;  // probability that an op takes
      const std::size_t slot = static_cast<std::size_t>(rng() % size);
      const bool take = std::uniform_real_distribution<double>(0, 1)(rng) < fill;
      if (rng() % 8 == 0) {
        const std::size_t length = static_cast<std::size_t>(rng() % 20);
        const std::size_t end = std::min(size, slot + length);
        std::size_t want = 0;
        for (std::size_t i = slot; i < end; ++i) {
          want += model.taken[i] != take ? 1u : 0u;
          model.taken[i] = take;
        }
        CHECK((take ? bitmap.TakeRange(slot, end - slot) : bitmap.ReleaseRange(slot, end - slot)) ==
              want);
      } else {
        CHECK((take ? bitmap.Take(slot) : bitmap.Release(slot)) == (model.taken[slot] != take));
        model.taken[slot] = take;
      }
      if (step % 10 == 0) CheckAgainstModel(bitmap, model);
    }
    CheckAgainstModel(bitmap, model);
  }
}

TEST_CASE("SlotBitmap::NthFree agrees with a naive model across its 1,024-slot count groups") {
  // NthFree skips whole groups of 16 words by their kept free counts; sizes
  // that end inside a group and inside a word, with runs taken and freed
  // across group boundaries.
  std::mt19937_64 rng(0x0dd5107);
  for (std::size_t size : {std::size_t{1024}, std::size_t{1025}, std::size_t{3000}}) {
    CAPTURE(size);
    SlotBitmap bitmap(size);
    NaiveSlots model(size);
    for (int step = 0; step < 300; ++step) {
      const std::size_t start = rng() % size;
      const std::size_t length = std::min<std::size_t>(size - start, 1 + rng() % 1500);
      const bool take = rng() % 2 == 0;
      if (take) {
        bitmap.TakeRange(start, length);
      } else {
        bitmap.ReleaseRange(start, length);
      }
      for (std::size_t i = start; i < start + length; ++i) model.taken[i] = take;
      const std::size_t free = size - model.taken_count();
      REQUIRE(bitmap.free_count() == free);
      for (std::size_t n : {std::size_t{0}, free / 2, free == 0 ? 0 : free - 1, free, free + 1,
                            static_cast<std::size_t>(rng() % (free + 1))}) {
        CAPTURE(n);
        REQUIRE(bitmap.NthFree(n) == model.NthFree(n));
      }
    }
  }
}

TEST_CASE("SlotBitmap finds aligned blocks when only one lane in the map is free") {
  for (std::size_t size : {std::size_t{64}, std::size_t{65}, std::size_t{256}}) {
    for (std::size_t block : kBlocks) {
      for (std::size_t start = 0; start + block <= size; start += block) {
        CAPTURE(size);
        CAPTURE(block);
        CAPTURE(start);
        SlotBitmap bitmap(size);
        bitmap.TakeRange(0, size);
        bitmap.ReleaseRange(start, block);
        REQUIRE(bitmap.FindFreeAlignedBlock(block) == std::optional<std::size_t>(start));
        REQUIRE(bitmap.CountFreeAlignedBlocks(block) == 1u);
        REQUIRE(bitmap.NthFree(block - 1) == std::optional<std::size_t>(start + block - 1));
        REQUIRE_FALSE(bitmap.NthFree(block).has_value());
        if (block > 1) {
          bitmap.Take(start + block - 1);  // one taken slot spoils the lane
          REQUIRE_FALSE(bitmap.FindFreeAlignedBlock(block).has_value());
          REQUIRE(bitmap.CountFreeAlignedBlocks(block) == 0u);
        }
      }
    }
  }
}

}  // namespace
