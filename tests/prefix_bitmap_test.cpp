#include "enipool/prefix_bitmap.h"

#include <doctest/doctest.h>

#include <bitset>
#include <cstdint>
#include <random>

namespace {

using enipool::PrefixBitmap;

TEST_CASE("PrefixBitmap hands out the 16 addresses of a /28 lowest first, then refuses") {
  PrefixBitmap bitmap;
  CHECK(bitmap.empty());
  CHECK(bitmap.free_count() == 16);
  for (int i = 0; i < PrefixBitmap::kSlots; ++i) {
    CAPTURE(i);
    REQUIRE(bitmap.Allocate() == i);
    CHECK(bitmap.IsTaken(i));
    CHECK(bitmap.taken_count() == i + 1);
  }
  CHECK(bitmap.full());
  CHECK(bitmap.bits() == PrefixBitmap::kFull);
  CHECK_FALSE(bitmap.Allocate().has_value());
  CHECK(bitmap.full());  // a refused Allocate changes nothing
}

TEST_CASE("PrefixBitmap reuses the lowest released slot first") {
  PrefixBitmap bitmap(PrefixBitmap::kFull);
  bitmap.Release(9);
  bitmap.Release(3);
  CHECK(bitmap.free_count() == 2);
  CHECK(bitmap.Allocate() == 3);
  CHECK(bitmap.Allocate() == 9);
  CHECK_FALSE(bitmap.Allocate().has_value());
}

TEST_CASE("PrefixBitmap::Take marks a given slot and refuses one already taken") {
  PrefixBitmap bitmap;
  CHECK(bitmap.Take(15));
  CHECK_FALSE(bitmap.Take(15));
  CHECK(bitmap.taken_count() == 1);
  CHECK(bitmap.Take(0));
  CHECK(bitmap.bits() == 0x8001);
  CHECK(bitmap.Allocate() == 1);
  CHECK(bitmap == PrefixBitmap(0x8003));
}

TEST_CASE("PrefixBitmap agrees with a std::bitset model under random operations") {
  std::mt19937_64 rng(20261126);
  PrefixBitmap bitmap;
  std::bitset<16> model;
  for (int step = 0; step < 20000; ++step) {
    const int slot = static_cast<int>(rng() % 16);
    switch (rng() % 3) {
      case 0: {
        const auto got = bitmap.Allocate();
        if (model.all()) {
          CHECK_FALSE(got.has_value());
        } else {
          int want = 0;
          while (model[static_cast<std::size_t>(want)]) ++want;
          REQUIRE(got == want);
          model.set(static_cast<std::size_t>(want));
        }
        break;
      }
      case 1:
        CHECK(bitmap.Take(slot) == !model[static_cast<std::size_t>(slot)]);
        model.set(static_cast<std::size_t>(slot));
        break;
      default:
        if (model[static_cast<std::size_t>(slot)]) {
          bitmap.Release(slot);
          model.reset(static_cast<std::size_t>(slot));
        }
        break;
    }
    REQUIRE(bitmap.bits() == model.to_ulong());
    REQUIRE(bitmap.taken_count() == static_cast<int>(model.count()));
    REQUIRE(bitmap.free_count() == 16 - static_cast<int>(model.count()));
    REQUIRE(bitmap.full() == model.all());
    REQUIRE(bitmap.empty() == model.none());
  }
}

TEST_CASE("PrefixBitmap works in constant expressions") {
  constexpr PrefixBitmap bitmap = [] {
    PrefixBitmap b;
    (void)b.Allocate();
    (void)b.Allocate();
    b.Release(0);
    return b;
  }();
  static_assert(bitmap.bits() == 0x0002);
  static_assert(bitmap.free_count() == 15);
  CHECK(bitmap.IsTaken(1));
}

}  // namespace
