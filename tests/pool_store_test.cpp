// The PoolStore concept, and NodeController over a JournaledDatastore.

#include "enipool/pool_store.h"

#include <string>
#include <utility>

#include <doctest/doctest.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/controller.h"
#include "enipool/datastore.h"
#include "enipool/persist/journal.h"
#include "testing/controller_harness.h"
#include "testing/durable_node.h"

namespace {

using enipool::AddressMode;
using enipool::Assignment;
using enipool::DurablePoolStore;
using enipool::EniSpec;
using enipool::Ipv4Prefix;
using enipool::JournaledDatastore;
using enipool::ManualClock;
using enipool::NodeDatastore;
using enipool::PodKey;
using enipool::PoolIntentKind;
using enipool::PoolStore;
using enipool::testing::DurableNode;
using enipool::testing::SimNodeSpec;

// One correct store and one per missing or mistyped member.
struct CorrectStore {
  using clock_type = ManualClock;
  const NodeDatastore<ManualClock>& datastore() const;
  absl::Status AddEni(const EniSpec&);
  absl::Status RemoveEni(absl::string_view, bool);
  absl::Status AddCidr(absl::string_view, Ipv4Prefix);
  absl::Status RemoveCidr(absl::string_view, Ipv4Prefix, bool);
  absl::StatusOr<Assignment> Assign(const PodKey&);
  absl::StatusOr<Assignment> Release(const PodKey&);
};
struct NoRelease {
  using clock_type = ManualClock;
  const NodeDatastore<ManualClock>& datastore() const;
  absl::Status AddEni(const EniSpec&);
  absl::Status RemoveEni(absl::string_view, bool);
  absl::Status AddCidr(absl::string_view, Ipv4Prefix);
  absl::Status RemoveCidr(absl::string_view, Ipv4Prefix, bool);
  absl::StatusOr<Assignment> Assign(const PodKey&);
};
struct AddCidrReturnsBool {
  using clock_type = ManualClock;
  const NodeDatastore<ManualClock>& datastore() const;
  absl::Status AddEni(const EniSpec&);
  absl::Status RemoveEni(absl::string_view, bool);
  bool AddCidr(absl::string_view, Ipv4Prefix);
  absl::Status RemoveCidr(absl::string_view, Ipv4Prefix, bool);
  absl::StatusOr<Assignment> Assign(const PodKey&);
  absl::StatusOr<Assignment> Release(const PodKey&);
};
struct NoReadView {
  using clock_type = ManualClock;
  absl::Status AddEni(const EniSpec&);
  absl::Status RemoveEni(absl::string_view, bool);
  absl::Status AddCidr(absl::string_view, Ipv4Prefix);
  absl::Status RemoveCidr(absl::string_view, Ipv4Prefix, bool);
  absl::StatusOr<Assignment> Assign(const PodKey&);
  absl::StatusOr<Assignment> Release(const PodKey&);
};

static_assert(PoolStore<CorrectStore>);
static_assert(!PoolStore<NoRelease>);
static_assert(!PoolStore<AddCidrReturnsBool>);
static_assert(!PoolStore<NoReadView>);
static_assert(PoolStore<NodeDatastore<ManualClock>>);
static_assert(PoolStore<JournaledDatastore<ManualClock>>);
static_assert(DurablePoolStore<JournaledDatastore<ManualClock>>);
static_assert(!DurablePoolStore<NodeDatastore<ManualClock>>);
static_assert(!DurablePoolStore<CorrectStore>);

PodKey Pod(int i) { return {"aws-cni", "c-" + std::to_string(i), "eth0"}; }

TEST_CASE("NodeController over a JournaledDatastore gets its pods and pool back after a restart") {
  DurableNode node({.mode = AddressMode::kPrefix, .max_enis = 3, .ipv4_per_eni = 10,
                    .warm_prefix_target = 1});
  REQUIRE(node.Restart().ok());
  REQUIRE(node.StartAndConverge().ok());
  for (int i = 0; i < 20; ++i) {
    if (i % 8 == 0) REQUIRE(node.Converge().ok());
    REQUIRE(node.controller().AddPod(Pod(i)).ok());
  }
  REQUIRE(node.Converge().ok());
  for (int i = 0; i < 5; ++i) REQUIRE(node.controller().DeletePod(Pod(i)).ok());
  const auto before = node.controller().pool().EniViews();
  std::vector<std::pair<PodKey, Assignment>> held;
  for (int i = 5; i < 20; ++i) held.emplace_back(Pod(i), *node.controller().pool().Lookup(Pod(i)));

  REQUIRE(node.Restart().ok());
  // Before any EC2 call the journal alone has rebuilt the pool.
  CHECK(node.controller().pool().EniViews().size() == before.size());
  for (const auto& [pod, assignment] : held) CHECK(node.controller().pool().Lookup(pod) == assignment);
  CHECK_FALSE(node.controller().pool().Lookup(Pod(0)).has_value());
  // Released addresses still cool down.
  CHECK(node.controller().pool().Stats().cooling_ips == 5);

  REQUIRE(node.StartAndConverge().ok());
  for (const auto& [pod, assignment] : held) CHECK(node.controller().pool().Lookup(pod) == assignment);
  CHECK(enipool::testing::CheckNodeAgainstEc2(node.controller(), node.ec2()).ok());
}

TEST_CASE("NodeController::Create refuses a store whose mode or cooldown differ from its config") {
  DurableNode node({.mode = AddressMode::kPrefix});
  auto options = node.StoreOptions();
  options.mode = AddressMode::kSecondaryIp;
  auto store = JournaledDatastore<ManualClock>::Open("/journal", node.clock(), options);
  REQUIRE(store.ok());
  auto controller = enipool::testing::DurableController::Create(node.config(), *std::move(store));
  REQUIRE_FALSE(controller.ok());
  CHECK(controller.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(controller.status().message().find("address mode") != std::string::npos);

  options = node.StoreOptions();
  options.ip_cooldown = absl::Seconds(5);
  auto other = JournaledDatastore<ManualClock>::Open("/journal", node.clock(), options);
  REQUIRE(other.ok());
  auto refused = enipool::testing::DurableController::Create(node.config(), *std::move(other));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("ip_cooldown 5s") != std::string::npos);
}

TEST_CASE("JournaledDatastore keeps a controller's open intents and marks across a restart and a snapshot") {
  using enipool::ControllerMark;
  using enipool::PoolIntent;
  DurableNode node({.mode = AddressMode::kPrefix});
  auto store = JournaledDatastore<ManualClock>::Open("/journal", node.clock(), node.StoreOptions());
  REQUIRE(store.ok());
  const Ipv4Prefix cidr = *Ipv4Prefix::Parse("10.0.0.16/28");
  auto create = store->BeginIntent({.kind = PoolIntentKind::kCreateEni});
  auto unassign = store->BeginIntent(
      {.id = 99, .kind = PoolIntentKind::kUnassign, .eni_id = "eni-1", .cidrs = {cidr}});
  auto free = store->BeginIntent({.kind = PoolIntentKind::kFreeEni, .eni_id = "eni-2"});
  REQUIRE(create.ok());
  REQUIRE(unassign.ok());
  REQUIRE(free.ok());
  CHECK(*unassign != 99);  // the store gives the ids
  CHECK(*create != *unassign);
  REQUIRE(store->EndIntent(*create).ok());
  CHECK(store->EndIntent(*create).code() == absl::StatusCode::kNotFound);
  REQUIRE(store->SetMark(ControllerMark::kLastDecrease, absl::FromUnixSeconds(100)).ok());
  REQUIRE(store->SetMark(ControllerMark::kLastDecrease, absl::FromUnixSeconds(200)).ok());
  const std::vector<PoolIntent> open = store->intents();
  REQUIRE(open.size() == 2);
  CHECK(open[0] == PoolIntent{.id = *unassign, .kind = PoolIntentKind::kUnassign,
                              .eni_id = "eni-1", .cidrs = {cidr}});
  CHECK(open[1].kind == PoolIntentKind::kFreeEni);

  for (bool snapshot : {false, true}) {
    CAPTURE(snapshot);
    if (snapshot) REQUIRE(store->Snapshot().ok());
    store = JournaledDatastore<ManualClock>::Open("/journal", node.clock(), node.StoreOptions());
    REQUIRE(store.ok());
    CHECK(store->intents() == open);
    CHECK(store->mark(ControllerMark::kLastDecrease) == absl::FromUnixSeconds(200));
    CHECK_FALSE(store->mark(ControllerMark::kCheckpointImported).has_value());
  }
  // New ids never collide with the open ones.
  auto next = store->BeginIntent({.kind = PoolIntentKind::kCreateEni});
  REQUIRE(next.ok());
  CHECK(*next != *unassign);
  CHECK(*next != *free);
}

TEST_CASE("JournaledDatastore refuses a journal that ends an intent it never began, naming the offset") {
  DurableNode node({.mode = AddressMode::kPrefix});
  // A well-formed journal whose only record ends intent 7.
  const std::uint64_t salt = 42;
  std::string bytes = enipool::internal::JournalHeader(salt);
  std::string record;
  enipool::internal::EncodeEndIntent(record, 7);
  enipool::internal::SealRecord(record, enipool::internal::SaltCrc(salt), 0);
  bytes += record;
  node.fs().files["/journal"].data = bytes;
  auto reopened = JournaledDatastore<ManualClock>::Open("/journal", node.clock(), node.StoreOptions());
  REQUIRE_FALSE(reopened.ok());
  CHECK(reopened.status().code() == absl::StatusCode::kDataLoss);
  CHECK(reopened.status().message().find("intent 7 is not open") != std::string::npos);
  CHECK(reopened.status().message().find("byte offset 20") != std::string::npos);
  CHECK(node.fs().files["/journal"].data == bytes);  // left as it was
}

}  // namespace
