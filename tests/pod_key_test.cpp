#include "enipool/pod_key.h"

#include <doctest/doctest.h>

#include <string>
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

TEST_CASE("StoredPodKey keeps the three parts apart and finds them through a PodKeyRef") {
  const PodKey key{"aws-cni", std::string(64, 'f'), "eth0"};
  const enipool::internal::StoredPodKey stored(enipool::internal::PodKeyRef::Of(key));
  CHECK(stored.ref().network_name == "aws-cni");
  CHECK(stored.ref().container_id == std::string(64, 'f'));
  CHECK(stored.ref().if_name == "eth0");
  CHECK(stored.ref().ToPodKey() == key);

  const enipool::internal::PodKeyHash hash;
  const enipool::internal::PodKeyEq eq;
  CHECK(hash(stored) == hash(enipool::internal::PodKeyRef::Of(key)));
  CHECK(eq(stored, enipool::internal::PodKeyRef::Of(key)));
  const PodKey shifted{"aws-cn", "i" + std::string(64, 'f'), "eth0"};  // same bytes, other split
  CHECK_FALSE(eq(stored, enipool::internal::PodKeyRef::Of(shifted)));
}

TEST_CASE("StoredPodKey round-trips keys past the inline buffer and keys with empty parts") {
  for (const PodKey& key :
       {PodKey{"n", std::string(200, 'c'), "i"}, PodKey{"", "c", ""}, PodKey{},
        PodKey{std::string(15, 'n'), std::string(64, 'c'), std::string(15, 'i')}}) {
    CAPTURE(key.ToString());
    const enipool::internal::StoredPodKey stored(enipool::internal::PodKeyRef::Of(key));
    CHECK(stored.ref().ToPodKey() == key);
    const enipool::internal::StoredPodKey copy = stored;
    CHECK(copy.ref().ToPodKey() == key);
  }
}

}  // namespace
