// Crash tests for the journal: a seeded random workload writes a journal
// while a simple model records what was acknowledged; then the file is cut at
// every byte offset (a crash in the middle of any write) and reopened. Each
// reopened datastore must hold exactly the state acknowledged by the last
// complete record before the cut, hand no address out twice, and honour
// every cooldown that is still running at the restart.

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/datastore.h"
#include "enipool/ipv4.h"
#include "enipool/persist/journal.h"
#include "testing/memory_file_system.h"

namespace {

using enipool::AddressMode;
using enipool::Ipv4Address;
using enipool::Ipv4Prefix;
using enipool::ManualClock;
using enipool::PodKey;
using enipool::SyncPolicy;
using enipool::testing::MemoryFileSystem;
using Store = enipool::JournaledDatastore<ManualClock>;

constexpr char kPath[] = "/var/lib/enipool/journal";
constexpr absl::Duration kCooldown = absl::Seconds(30);

// What the workload had acknowledged when the journal reached `end` bytes.
struct Model {
  std::map<PodKey, std::pair<Ipv4Address, absl::Time>> pods;
  std::map<Ipv4Address, absl::Time> released;  // every released address, last release time
  std::set<Ipv4Prefix> cidrs;                   // of the datastore's mode
  absl::Time now;
};

struct Boundary {
  std::uint64_t end = 0;
  Model model;
};

Store::Options Options(MemoryFileSystem& fs, SyncPolicy sync) {
  Store::Options options;
  options.mode = AddressMode::kPrefix;
  options.ip_cooldown = kCooldown;
  options.journal.sync = sync;
  options.journal.file_system = &fs;
  options.journal.compact_after_bytes = 0;  // the tests snapshot explicitly
  return options;
}

bool InAny(const std::set<Ipv4Prefix>& cidrs, Ipv4Address a) {
  for (const Ipv4Prefix& c : cidrs) {
    if (c.Contains(a)) return true;
  }
  return false;
}

// The seeded workload: pods come and go, time passes, prefixes are added and
// removed (forced removals drop pods). Every acknowledged change is checked
// against the model as it happens and recorded as a boundary.
class Workload {
 public:
  // `max_pause`: the most time that passes after each step (besides the
  // occasional 1 to 20 s jump).
  Workload(std::uint64_t seed, SyncPolicy sync,
           absl::Duration max_pause = absl::Milliseconds(1500))
      : rng_(seed),
        clock_(absl::FromUnixSeconds(1'700'000'000)),
        sync_(sync),
        max_pause_(max_pause) {}

  void Start() {
    auto opened = Store::Open(kPath, clock_, Options(fs_, sync_));
    REQUIRE_MESSAGE(opened.ok(), opened.status());
    store_.emplace(*std::move(opened));
    REQUIRE(store_->AddEni({.id = "eni-1", .device_number = 0, .primary = true}).ok());
    REQUIRE(store_->AddEni({.id = "eni-2", .device_number = 1, .subnet_id = "subnet-b"}).ok());
    REQUIRE(store_->AddCidr("eni-2", *Ipv4Prefix::Parse("10.0.9.9/32")).ok());  // other mode
    AddPrefix("eni-1", 0);
    AddPrefix("eni-2", 1);
    Mark();
  }

  void Run(int steps) {
    for (int step = 0; step < steps; ++step) {
      const int dice = Uniform(0, 99);
      if (dice < 45) {
        Assign();
      } else if (dice < 85) {
        Release();
      } else if (dice < 92) {
        clock_.AdvanceTime(absl::Seconds(Uniform(1, 20)));
      } else if (dice < 96) {
        AddPrefix(Uniform(0, 1) == 0 ? "eni-1" : "eni-2", Uniform(2, 7));
      } else {
        RemovePrefix();
      }
      const auto max_pause_ms = static_cast<int>(absl::ToInt64Milliseconds(max_pause_));
      clock_.AdvanceTime(absl::Milliseconds(Uniform(0, max_pause_ms)));
    }
  }

  // An explicit durability point (JournaledDatastore::Sync): everything
  // acknowledged so far must survive a power loss.
  void Sync() {
    REQUIRE(store_->Sync().ok());
    synced_end_ = fs_.files[kPath].data.size();
    REQUIRE(synced_end_ == boundaries_.back().end);
  }
  std::uint64_t synced_end() const { return synced_end_; }

  void Snapshot() {
    REQUIRE(store_->Snapshot().ok());
    snapshot_size_ = fs_.files[kPath].data.size();
    boundaries_.clear();
    Mark();
  }

  MemoryFileSystem& fs() { return fs_; }
  const std::vector<Boundary>& boundaries() const { return boundaries_; }
  std::uint64_t snapshot_size() const { return snapshot_size_; }
  const Model& model() const { return model_; }

 private:
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  void Mark() {
    model_.now = clock_.Now();
    boundaries_.push_back({fs_.files[kPath].data.size(), model_});
  }

  void Assign() {
    const PodKey pod{"aws-cni", "c" + std::to_string(next_pod_++), "eth0"};
    auto a = store_->Assign(pod);
    if (!a.ok()) {
      REQUIRE_MESSAGE(a.status().code() == absl::StatusCode::kResourceExhausted, a.status());
      return;
    }
    // The model's own checks: in a known CIDR, held by nobody, not cooling.
    CHECK(InAny(model_.cidrs, a->address));
    for (const auto& [other, held] : model_.pods) CHECK(held.first != a->address);
    if (auto r = model_.released.find(a->address); r != model_.released.end()) {
      CHECK(clock_.Now() - r->second > kCooldown);
    }
    model_.pods[pod] = {a->address, clock_.Now()};
    Mark();
  }

  void Release() {
    if (model_.pods.empty()) return;
    auto it = model_.pods.begin();
    std::advance(it, Uniform(0, static_cast<int>(model_.pods.size()) - 1));
    const PodKey pod = it->first;
    auto r = store_->Release(pod);
    REQUIRE_MESSAGE(r.ok(), r.status());
    CHECK(r->address == it->second.first);
    model_.released[r->address] = clock_.Now();
    model_.pods.erase(pod);
    Mark();
  }

  void AddPrefix(const std::string& eni, int index) {
    const auto prefix = *Ipv4Prefix::Create(Ipv4Address(10, 0, static_cast<std::uint8_t>(index), 0), 28);
    const absl::Status s = store_->AddCidr(eni, prefix);
    if (model_.cidrs.contains(prefix)) {
      CHECK_MESSAGE(s.code() == absl::StatusCode::kAlreadyExists, s);
      return;
    }
    REQUIRE_MESSAGE(s.ok(), s);
    model_.cidrs.insert(prefix);
    Mark();
  }

  void RemovePrefix() {
    if (model_.cidrs.size() <= 1) return;
    auto it = model_.cidrs.begin();
    std::advance(it, Uniform(0, static_cast<int>(model_.cidrs.size()) - 1));
    const Ipv4Prefix prefix = *it;
    const bool force = Uniform(0, 1) == 1;
    bool has_pods = false;
    for (const auto& [pod, held] : model_.pods) has_pods |= prefix.Contains(held.first);
    absl::Status s = store_->RemoveCidr("eni-1", prefix, force);
    if (s.code() == absl::StatusCode::kNotFound) s = store_->RemoveCidr("eni-2", prefix, force);
    if (has_pods && !force) {
      CHECK_MESSAGE(s.code() == absl::StatusCode::kFailedPrecondition, s);
      return;
    }
    REQUIRE_MESSAGE(s.ok(), s);
    model_.cidrs.erase(prefix);
    std::erase_if(model_.pods, [&](const auto& entry) { return prefix.Contains(entry.second.first); });
    std::erase_if(model_.released, [&](const auto& entry) { return prefix.Contains(entry.first); });
    Mark();
  }

  std::mt19937_64 rng_;
  ManualClock clock_;
  SyncPolicy sync_;
  absl::Duration max_pause_;
  std::uint64_t synced_end_ = 0;
  MemoryFileSystem fs_;
  std::optional<Store> store_;
  Model model_;
  std::vector<Boundary> boundaries_;
  std::uint64_t snapshot_size_ = 0;
  int next_pod_ = 0;
};

// Reopens a journal holding `bytes` at `restart` and checks it against
// `want` (the model of the last complete record), or only for consistency
// when `want` is null. `fill` also hands out every free address afterwards.
void CheckRestart(const std::string& bytes, absl::Time restart, const Model* want, bool fill) {
  MemoryFileSystem fs;
  fs.files[kPath].data = bytes;
  fs.files[kPath].synced = bytes.size();
  ManualClock clock(restart);
  auto store = Store::Open(kPath, clock, Options(fs, SyncPolicy::kEveryRecord));
  REQUIRE_MESSAGE(store.ok(), store.status());
  const auto& ds = store->datastore();
  REQUIRE_MESSAGE(ds.CheckInvariants().ok(), ds.CheckInvariants());
  CHECK(fs.files[kPath].data.size() == store->replay_report().valid_bytes);

  std::map<PodKey, std::pair<Ipv4Address, absl::Time>> pods;
  std::set<Ipv4Address> held;
  ds.ForEachAssignment([&](const PodKey& pod, const enipool::Assignment& a, absl::Time at) {
    pods[pod] = {a.address, at};
    CHECK_MESSAGE(held.insert(a.address).second, "address held twice: ", a.address.ToString());
  });
  std::map<Ipv4Address, absl::Time> cooling;
  ds.ForEachCooling([&](Ipv4Address a, absl::Time t) { cooling[a] = t; });
  if (want != nullptr) {
    CHECK(pods == want->pods);
    std::map<Ipv4Address, absl::Time> still_cooling;
    for (const auto& [address, at] : want->released) {
      // Cooling while now − released ≤ cooldown; a re-assigned address is not.
      if (restart - at <= kCooldown && !held.contains(address)) still_cooling[address] = at;
    }
    CHECK(cooling == still_cooling);
  }
  if (fill) {
    for (int i = 0;; ++i) {
      auto a = store->Assign({"aws-cni", "after-restart-" + std::to_string(i), "eth0"});
      if (!a.ok()) {
        CHECK_MESSAGE(a.status().code() == absl::StatusCode::kResourceExhausted, a.status());
        break;
      }
      CHECK_MESSAGE(!cooling.contains(a->address), "cooling address handed out: ", a->address.ToString());
      CHECK_MESSAGE(held.insert(a->address).second, "address handed out twice: ", a->address.ToString());
    }
    CHECK(ds.CheckInvariants().ok());
  }
}

const Boundary& LastBoundaryAtOrBefore(const std::vector<Boundary>& boundaries, std::uint64_t cut) {
  const Boundary* found = &boundaries.front();
  for (const Boundary& b : boundaries) {
    if (b.end <= cut) found = &b;
  }
  return *found;
}

TEST_CASE("Journal crash test: a cut at every byte offset reopens to the last complete record") {
  Workload workload(/*seed=*/20261126, SyncPolicy::kEveryRecord);
  workload.Start();
  workload.Run(160);
  const std::string bytes = workload.fs().files[kPath].data;
  const auto& boundaries = workload.boundaries();
  MESSAGE("journal of ", bytes.size(), " bytes, ", boundaries.size(), " acknowledged changes");
  REQUIRE(bytes.size() > 4000);
  std::uint64_t offsets = 0;
  for (std::uint64_t cut = 0; cut <= bytes.size(); ++cut) {
    CAPTURE(cut);
    // Before the first boundary (the header, the node's setup) nothing that
    // the workload checks was acknowledged yet: the restart must be sound.
    const bool before_setup = cut < boundaries.front().end;
    const Boundary& b = LastBoundaryAtOrBefore(boundaries, cut);
    CheckRestart(bytes.substr(0, cut), b.model.now + absl::Seconds(1),
                 before_setup ? nullptr : &b.model, /*fill=*/cut % 7 == 0);
    ++offsets;
  }
  MESSAGE("reopened at ", offsets, " offsets");
}

TEST_CASE("Journal crash test: cuts after a snapshot keep the snapshot and the records after it") {
  Workload workload(/*seed=*/7, SyncPolicy::kEveryRecord);
  workload.Start();
  workload.Run(200);
  workload.Snapshot();
  workload.Run(80);
  const std::string bytes = workload.fs().files[kPath].data;
  const auto& boundaries = workload.boundaries();
  const std::uint64_t snapshot = workload.snapshot_size();
  MESSAGE("snapshot of ", snapshot, " bytes, then ", bytes.size() - snapshot, " bytes of records");
  // Inside the snapshot (which is written atomically, so a real crash never
  // leaves it half there) a cut must still reopen to a sound state.
  for (std::uint64_t cut = 0; cut < snapshot; cut += 3) {
    CAPTURE(cut);
    CheckRestart(bytes.substr(0, cut), boundaries.front().model.now, nullptr, false);
  }
  for (std::uint64_t cut = snapshot; cut <= bytes.size(); ++cut) {
    CAPTURE(cut);
    const Boundary& b = LastBoundaryAtOrBefore(boundaries, cut);
    CheckRestart(bytes.substr(0, cut), b.model.now + absl::Seconds(1), &b.model, cut % 7 == 0);
  }
}

TEST_CASE("Journal crash test: a power loss under kEveryRecord loses nothing acknowledged") {
  Workload workload(/*seed=*/99, SyncPolicy::kEveryRecord);
  workload.Start();
  for (int round = 0; round < 40; ++round) {
    workload.Run(5);
    MemoryFileSystem copy = workload.fs();
    copy.PowerLoss();
    const auto& file = copy.files[kPath];
    CHECK(file.data.size() == workload.boundaries().back().end);
    CheckRestart(file.data, workload.model().now + absl::Seconds(1), &workload.model(), round % 4 == 0);
  }
}

TEST_CASE(
    "Journal crash test: a power loss under kBatched or kNone goes back to an acknowledged state") {
  // Steps 0 to 3 ms apart, under the 10 ms batch interval, so kBatched holds
  // several records unsynced; kNone syncs only when asked (Sync() every third
  // round). A power loss then drops records, and what survives must be a
  // whole number of them: exactly an earlier acknowledged state, compared
  // with the model of that moment.
  constexpr int kBatchRecords = 64;  // JournalOptions::batch_records
  for (const SyncPolicy policy : {SyncPolicy::kBatched, SyncPolicy::kNone}) {
    CAPTURE(enipool::SyncPolicyName(policy));
    Workload workload(/*seed=*/5, policy, /*max_pause=*/absl::Milliseconds(3));
    workload.Start();
    workload.Sync();  // the node's setup is durable
    int rounds_with_loss = 0;
    std::size_t records_lost = 0;
    for (int round = 0; round < 30; ++round) {
      CAPTURE(round);
      workload.Run(9);
      if (round % 3 == 2) workload.Sync();
      MemoryFileSystem copy = workload.fs();
      copy.PowerLoss();
      const std::string& bytes = copy.files[kPath].data;
      const auto& boundaries = workload.boundaries();
      const Boundary& b = LastBoundaryAtOrBefore(boundaries, bytes.size());
      REQUIRE(b.end == bytes.size());  // whole records: an acknowledged state
      // Nothing before the last explicit sync is lost.
      REQUIRE(bytes.size() >= workload.synced_end());
      // kNone writes nothing durable on its own; kBatched loses less than a batch.
      if (policy == SyncPolicy::kNone) CHECK(bytes.size() == workload.synced_end());
      const auto lost = static_cast<std::size_t>(
          std::count_if(boundaries.begin(), boundaries.end(),
                        [&](const Boundary& x) { return x.end > bytes.size(); }));
      if (policy == SyncPolicy::kBatched) CHECK(lost < kBatchRecords);
      if (lost > 0) ++rounds_with_loss;
      records_lost += lost;
      CheckRestart(bytes, b.model.now + absl::Seconds(1), &b.model, round % 5 == 0);
    }
    MESSAGE(enipool::SyncPolicyName(policy), ": lost acknowledged changes in ", rounds_with_loss,
            " of 30 power losses, ", records_lost, " in all");
    // The case this test is for happened: power losses that dropped records.
    CHECK(rounds_with_loss >= 10);
  }
}

TEST_CASE("Journal crash test: corruption anywhere before the tail is DATA_LOSS and leaves the file alone") {
  Workload workload(/*seed=*/3, SyncPolicy::kEveryRecord);
  workload.Start();
  workload.Run(60);
  const std::string bytes = workload.fs().files[kPath].data;
  const auto& boundaries = workload.boundaries();
  std::mt19937_64 rng(11);
  int tried = 0;
  // Flip one bit in every record but the last (a flip there is a torn tail).
  for (std::size_t i = 0; i + 2 < boundaries.size(); ++i) {
    const std::uint64_t start = boundaries[i].end;
    const std::uint64_t end = boundaries[i + 1].end;
    if (end == start) continue;  // two marks with no record between them
    const std::uint64_t at = start + std::uniform_int_distribution<std::uint64_t>(0, end - start - 1)(rng);
    std::string corrupt = bytes;
    corrupt[at] = static_cast<char>(corrupt[at] ^ (1 << (at % 8)));
    MemoryFileSystem fs;
    fs.files[kPath].data = corrupt;
    ManualClock clock(boundaries.back().model.now);
    auto store = Store::Open(kPath, clock, Options(fs, SyncPolicy::kEveryRecord));
    CAPTURE(at);
    REQUIRE_FALSE(store.ok());
    CHECK_MESSAGE(store.status().code() == absl::StatusCode::kDataLoss, store.status());
    CHECK_MESSAGE(store.status().message().find("byte offset " + std::to_string(start)) !=
                      absl::string_view::npos,
                  store.status());
    CHECK(fs.files[kPath].data == corrupt);
    ++tried;
  }
  MESSAGE("corrupted ", tried, " records one at a time");
}

}  // namespace
