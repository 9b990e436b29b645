#include "enipool/pod_key.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>
#include <random>
#include <string>
#include <utility>
#include <type_traits>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "enipool/internal/stored_pod_key.h"

namespace {

using enipool::EniId;
using enipool::PodKey;

TEST_CASE("EniId accepts EC2 ids of 12 and 21 characters and up to kMaxLength") {
  for (const char* text : {"eni-0a1b2c3d", "eni-0a1b2c3d4e5f60718", "e", "ENI_test-1",
                           "eni-0123456789abcdef0123456789a"}) {
    CAPTURE(text);
    const auto id = EniId::Create(text);
    REQUIRE_MESSAGE(id.ok(), id.status().ToString());
    CHECK(id->view() == text);
    CHECK(id->ToString() == text);
    CHECK(*id == text);
    CHECK(*id == absl::string_view(text));
    CHECK_FALSE(id->empty());
  }
  CHECK(std::string(EniId::kMaxLength, 'a').size() == 31u);
  CHECK(EniId::Create(std::string(EniId::kMaxLength, 'a')).ok());
}

TEST_CASE("EniId rejects empty, too long or oddly spelled ids with INVALID_ARGUMENT naming them") {
  const std::string too_long(EniId::kMaxLength + 1, 'a');
  for (const std::string& text :
       {std::string(), too_long, std::string("eni 1"), std::string("eni-1/2"), std::string("eni-é"),
        std::string("eni-1\n"), std::string("eni.1")}) {
    CAPTURE(text);
    const auto id = EniId::Create(text);
    REQUIRE_FALSE(id.ok());
    CHECK_MESSAGE(id.status().code() == absl::StatusCode::kInvalidArgument, id.status().ToString());
    CHECK_MESSAGE(absl::StrContains(id.status().message(), enipool::QuoteInput(text)),
                  id.status().ToString());
  }
}

TEST_CASE("EniId is a small inline regular value: default empty, ordered like its text, hashable") {
  static_assert(std::is_trivially_copyable_v<EniId>);
  static_assert(sizeof(EniId) <= 32);
  const EniId empty;
  CHECK(empty.empty());
  CHECK(empty.view().empty());
  const EniId a = *EniId::Create("eni-a");
  const EniId b = *EniId::Create("eni-b");
  const EniId a_long = *EniId::Create("eni-aa");
  CHECK(a < b);
  CHECK(a < a_long);  // a prefix sorts first
  CHECK(a_long < b);
  CHECK(a == *EniId::Create("eni-a"));
  CHECK(a != b);
  CHECK(empty < a);
  CHECK(absl::Hash<EniId>{}(a) == absl::Hash<EniId>{}(*EniId::Create("eni-a")));
  const absl::flat_hash_set<EniId> set = {a, b, a_long, *EniId::Create("eni-a")};
  CHECK(set.size() == 3);
}

TEST_CASE("PodKey compares, orders and hashes on all three parts and prints them") {
  const PodKey key{"aws-cni", "c1", "eth0"};
  CHECK(key.ToString() == "aws-cni/c1/eth0");
  CHECK(key == PodKey{"aws-cni", "c1", "eth0"});
  CHECK(key != PodKey{"aws-cni", "c1", "eth1"});
  CHECK(key != PodKey{"other", "c1", "eth0"});
  CHECK(key != PodKey{"aws-cni", "c2", "eth0"});
  CHECK(key < PodKey{"aws-cni", "c2", "eth0"});
  CHECK(PodKey{"a", "z", "z"} < PodKey{"b", "a", "a"});  // network name first
  const absl::flat_hash_set<PodKey> set = {key, PodKey{"aws-cni", "c1", "eth1"},
                                           PodKey{"aws-cni", "c1", "eth0"}};
  CHECK(set.size() == 2);
  // Part boundaries matter: "ab"+"c" is not "a"+"bc".
  CHECK(absl::Hash<PodKey>{}(PodKey{"ab", "c", "d"}) !=
        absl::Hash<PodKey>{}(PodKey{"a", "bc", "d"}));
}

// Keys as a CNI sends them and every shape the encoding treats apart:
// the common names and others, container ids of packable hex (even length,
// lowercase) and not (odd, uppercase, other characters), empty parts, and
// parts past the inline buffer.
PodKey RandomKey(std::mt19937_64& rng) {
  const auto pick = [&](std::initializer_list<const char*> options) {
    return std::string(*(options.begin() + rng() % options.size()));
  };
  const std::string network = pick({"aws-cni", "aws-cni", "aws-cn", "aws-cnii", "", "_migrated-from-cri",
                                    "n"});
  const std::string interface = pick({"eth0", "eth0", "eth1", "", "unknown", "eth"});
  std::string id;
  const std::size_t length = rng() % 5 == 0 ? rng() % 300 : 64 - rng() % 3;
  static constexpr char kLower[] = "0123456789abcdef";
  static constexpr char kOther[] = "0123456789abcdefABCDEFgp-_";
  const bool hex = rng() % 2 == 0;
  for (std::size_t i = 0; i < length; ++i) {
    id.push_back(hex ? kLower[rng() % 16] : kOther[rng() % (sizeof(kOther) - 1)]);
  }
  return PodKey{network, id, interface};
}

TEST_CASE("StoredPodKey gives back exactly the key it was made from, whatever its shape") {
  using enipool::internal::PodKeyRef;
  using enipool::internal::StoredPodKey;
  std::mt19937_64 rng(11);
  for (int i = 0; i < 20'000; ++i) {
    const PodKey key = RandomKey(rng);
    CAPTURE(key.ToString());
    const StoredPodKey stored(PodKeyRef::Of(key));
    REQUIRE(stored.ToPodKey() == key);
    const StoredPodKey copy = stored;
    REQUIRE(copy.ToPodKey() == key);
  }
  for (const PodKey& key :
       {PodKey{"n", std::string(200, 'c'), "i"}, PodKey{"", "c", ""}, PodKey{},
        PodKey{std::string(15, 'n'), std::string(64, 'c'), std::string(15, 'i')},
        PodKey{std::string(70'000, 'n'), std::string(70'000, 'a'), "eth0"}}) {
    CHECK(StoredPodKey(PodKeyRef::Of(key)).ToPodKey() == key);
  }
}

TEST_CASE("StoredPodKey bytes and hashes are equal exactly when the keys are") {
  using enipool::internal::PodKeyRef;
  using enipool::internal::StoredPodKey;
  std::mt19937_64 rng(12);
  const enipool::internal::PodKeyHash hash;
  int equal_pairs = 0;
  for (int i = 0; i < 20'000; ++i) {
    const PodKey a = RandomKey(rng);
    // Half the time a near miss of `a`: one part changed by one character.
    PodKey b = a;
    if (rng() % 2 == 0) {
      b = RandomKey(rng);
    } else if (!b.container_id.empty() && rng() % 3 != 0) {
      b.container_id[rng() % b.container_id.size()] = "0aAf-"[rng() % 5];
    }
    CAPTURE(a.ToString());
    CAPTURE(b.ToString());
    const StoredPodKey sa(PodKeyRef::Of(a)), sb(PodKeyRef::Of(b));
    REQUIRE((sa == sb) == (a == b));
    if (a == b) {
      ++equal_pairs;
      REQUIRE(hash(sa) == hash(sb));
    }
  }
  CHECK(equal_pairs > 1'000);
  // Part boundaries matter: the same characters split otherwise differ.
  const PodKey key{"aws-cni", std::string(64, 'f'), "eth0"};
  const PodKey shifted{"aws-cn", "i" + std::string(64, 'f'), "eth0"};
  CHECK_FALSE(StoredPodKey(PodKeyRef::Of(key)) == StoredPodKey(PodKeyRef::Of(shifted)));
}

TEST_CASE("A CNI's pod key is stored inline and an index slot is one cache line") {
  using enipool::internal::StoredPodKey;
  static_assert(sizeof(StoredPodKey) == 48);
  struct Entry {  // as NodeDatastore's PodEntry
    std::uint32_t block;
    std::uint8_t slot;
    std::int64_t assigned_ns;
  };
  static_assert(sizeof(std::pair<const StoredPodKey, Entry>) == 64);
  const PodKey cni{"aws-cni", std::string("4f1c2a") + std::string(58, 'e'), "eth0"};
  CHECK(StoredPodKey(enipool::internal::PodKeyRef::Of(cni)).bytes().size() == 34);
  CHECK(StoredPodKey(enipool::internal::PodKeyRef::Of(cni)).bytes().size() <=
        StoredPodKey::kInlineBytes);
}

}  // namespace
