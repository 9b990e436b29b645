// The journal: record format, replay, snapshots, sync policies, failures.

#include "enipool/persist/journal.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/datastore.h"
#include "enipool/internal/crc32c.h"
#include "enipool/ipv4.h"
#include "enipool/persist/journal_file.h"
#include "testing/memory_file_system.h"

namespace {

using enipool::AddressMode;
using enipool::Ipv4Address;
using enipool::Ipv4Prefix;
using enipool::JournaledDatastore;
using enipool::ManualClock;
using enipool::PodKey;
using enipool::SyncPolicy;
using enipool::testing::MemoryFileSystem;
using Store = JournaledDatastore<ManualClock>;

constexpr char kPath[] = "/journal";

Store::Options MemoryOptions(MemoryFileSystem& fs, SyncPolicy sync = SyncPolicy::kEveryRecord) {
  Store::Options options;
  options.mode = AddressMode::kPrefix;
  options.journal.sync = sync;
  options.journal.file_system = &fs;
  return options;
}

Store MustOpen(const ManualClock& clock, const Store::Options& options, const std::string& path = kPath) {
  auto store = Store::Open(path, clock, options);
  REQUIRE_MESSAGE(store.ok(), store.status());
  return *std::move(store);
}

PodKey Pod(int i) { return {"aws-cni", "container-" + std::to_string(i), "eth0"}; }

// Everything a restart must reproduce: who holds what since when, and what
// is cooling since when.
struct State {
  std::map<PodKey, std::pair<Ipv4Address, absl::Time>> pods;
  std::map<Ipv4Address, absl::Time> cooling;
  enipool::PoolStats stats;
  friend bool operator==(const State&, const State&) = default;
};

State StateOf(const enipool::NodeDatastore<ManualClock>& ds) {
  State s;
  ds.ForEachAssignment([&](const PodKey& pod, const enipool::Assignment& a, absl::Time at) {
    s.pods[pod] = {a.address, at};
  });
  ds.ForEachCooling([&](Ipv4Address a, absl::Time t) { s.cooling[a] = t; });
  s.stats = ds.Stats();
  return s;
}

void AddNode(Store& store) {
  REQUIRE(store.AddEni({.id = "eni-1", .device_number = 0, .primary = true, .subnet_id = "subnet-a"}).ok());
  REQUIRE(store.AddCidr("eni-1", *Ipv4Prefix::Parse("10.0.0.16/28")).ok());
  REQUIRE(store.AddEni({.id = "eni-2", .device_number = 1}).ok());
  REQUIRE(store.AddCidr("eni-2", *Ipv4Prefix::Parse("10.0.1.0/28")).ok());
  REQUIRE(store.AddCidr("eni-2", *Ipv4Prefix::Parse("10.0.2.7/32")).ok());
}

TEST_CASE("Crc32c matches the standard check value") {
  CHECK(enipool::internal::Crc32c("123456789") == 0xE3069283u);
  CHECK(enipool::internal::Crc32c("") == 0u);
  // Slicing by 8 and byte at a time agree whatever the split.
  const std::string text = "The quick brown fox jumps over the lazy dog, twice over.";
  for (std::size_t split = 0; split <= text.size(); ++split) {
    CAPTURE(split);
    const auto head = enipool::internal::Crc32c(absl::string_view(text).substr(0, split));
    CHECK(enipool::internal::Crc32cExtend(head, absl::string_view(text).substr(split)) ==
          enipool::internal::Crc32c(text));
  }
}

TEST_CASE("JournaledDatastore starts a new journal and rebuilds the same state from it") {
  MemoryFileSystem fs;
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  State before;
  {
    Store store = MustOpen(clock, MemoryOptions(fs));
    CHECK(store.replay_report().created);
    AddNode(store);
    for (int i = 0; i < 20; ++i) {
      REQUIRE(store.Assign(Pod(i)).ok());
      clock.AdvanceTime(absl::Seconds(1));
    }
    for (int i = 0; i < 20; i += 3) REQUIRE(store.Release(Pod(i)).ok());
    clock.AdvanceTime(absl::Seconds(5));
    for (int i = 1; i < 20; i += 3) REQUIRE(store.Release(Pod(i)).ok());
    before = StateOf(store.datastore());
    CHECK(before.cooling.size() == 14);
  }
  Store reopened = MustOpen(clock, MemoryOptions(fs));
  CHECK_FALSE(reopened.replay_report().created);
  CHECK(reopened.replay_report().torn_bytes == 0);
  CHECK(reopened.replay_report().assignments == 6);
  CHECK(reopened.replay_report().cooling == 14);
  CHECK(StateOf(reopened.datastore()) == before);
  CHECK(reopened.datastore().CheckInvariants().ok());
  auto eni = reopened.datastore().FindEni("eni-2");
  REQUIRE(eni.ok());
  CHECK(eni->device_number == 1);
  CHECK(eni->secondary_ips == 1);
}

TEST_CASE("JournaledDatastore keeps cooldowns across a restart, from the real release time") {
  MemoryFileSystem fs;
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  Ipv4Address freed;
  {
    Store store = MustOpen(clock, MemoryOptions(fs));
    REQUIRE(store.AddEni({.id = "eni-1", .primary = true}).ok());
    REQUIRE(store.AddCidr("eni-1", *Ipv4Prefix::Parse("10.0.0.0/28")).ok());
    auto a = store.Assign(Pod(1));
    REQUIRE(a.ok());
    freed = a->address;
    REQUIRE(store.Release(Pod(1)).ok());
  }
  clock.AdvanceTime(absl::Seconds(20));  // restart 20 s later: 10 s of cooldown left
  Store store = MustOpen(clock, MemoryOptions(fs));
  CHECK(store.Stats().cooling_ips == 1);
  // 15 other addresses go out; the cooling one does not.
  for (int i = 2; i < 17; ++i) {
    auto a = store.Assign(Pod(i));
    REQUIRE(a.ok());
    CHECK(a->address != freed);
  }
  auto exhausted = store.Assign(Pod(99));
  CHECK_MESSAGE(exhausted.status().code() == absl::StatusCode::kResourceExhausted, exhausted.status());
  clock.AdvanceTime(absl::Seconds(11));
  auto after = store.Assign(Pod(99));
  REQUIRE(after.ok());
  CHECK(after->address == freed);
}

TEST_CASE("JournaledDatastore::Snapshot compacts the file and keeps assignment and release times") {
  MemoryFileSystem fs;
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  State before;
  std::size_t size_before = 0;
  {
    Store store = MustOpen(clock, MemoryOptions(fs));
    AddNode(store);
    for (int round = 0; round < 10; ++round) {
      for (int i = 0; i < 10; ++i) REQUIRE(store.Assign(Pod(round * 10 + i)).ok());
      clock.AdvanceTime(absl::Seconds(2));
      for (int i = 0; i < 10; ++i) {
        if (round == 9 && i % 2 == 0) continue;
        REQUIRE(store.Release(Pod(round * 10 + i)).ok());
      }
      clock.AdvanceTime(absl::Seconds(round == 8 ? 20 : 31));  // the last rounds still cool
    }
    before = StateOf(store.datastore());
    size_before = fs.files[kPath].data.size();
    REQUIRE(store.Snapshot().ok());
    CHECK(store.journal_stats().compactions == 1);
    CHECK(fs.files[kPath].data.size() < size_before / 4);
    // Appends continue on the new file.
    REQUIRE(store.Release(Pod(90)).ok());
    before = StateOf(store.datastore());
  }
  Store reopened = MustOpen(clock, MemoryOptions(fs));
  CHECK(StateOf(reopened.datastore()) == before);
  CHECK(reopened.datastore().CheckInvariants().ok());
}

TEST_CASE("JournaledDatastore compacts on its own once the file passes the threshold") {
  MemoryFileSystem fs;
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  auto options = MemoryOptions(fs);
  options.journal.compact_after_bytes = 4096;
  State before;
  {
    Store store = MustOpen(clock, options);
    AddNode(store);
    for (int i = 0; i < 400; ++i) {
      REQUIRE(store.Assign(Pod(i)).ok());
      REQUIRE(store.Release(Pod(i)).ok());
      clock.AdvanceTime(absl::Seconds(1));
    }
    CHECK(store.journal_stats().compactions > 0);
    CHECK(store.journal_stats().last_compaction.ok());
    CHECK(fs.files[kPath].data.size() <= 2 * 4096 + 200);
    before = StateOf(store.datastore());
  }
  Store reopened = MustOpen(clock, options);
  CHECK(StateOf(reopened.datastore()) == before);
}

TEST_CASE("JournaledDatastore journals ENI and CIDR removals, forced ones included") {
  MemoryFileSystem fs;
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  State before;
  {
    Store store = MustOpen(clock, MemoryOptions(fs));
    AddNode(store);
    for (int i = 0; i < 30; ++i) REQUIRE(store.Assign(Pod(i)).ok());
    const auto prefix = *Ipv4Prefix::Parse("10.0.1.0/28");
    int on_prefix = 0;
    for (int i = 0; i < 30; ++i) on_prefix += prefix.Contains(store.Lookup(Pod(i))->address) ? 1 : 0;
    const absl::Status refused = store.RemoveCidr("eni-2", prefix, /*force=*/false);
    CHECK_MESSAGE(refused.code() == absl::StatusCode::kFailedPrecondition, refused);
    REQUIRE(store.RemoveCidr("eni-2", prefix, /*force=*/true).ok());
    const absl::Status missing = store.RemoveCidr("eni-2", prefix, /*force=*/true);
    CHECK_MESSAGE(missing.code() == absl::StatusCode::kNotFound, missing);
    REQUIRE(store.RemoveEni("eni-2", /*force=*/true).ok());
    const absl::Status gone = store.RemoveEni("eni-2", /*force=*/true);
    CHECK_MESSAGE(gone.code() == absl::StatusCode::kNotFound, gone);
    before = StateOf(store.datastore());
    CHECK(store.datastore().pod_count() == static_cast<std::size_t>(30 - on_prefix));
  }
  Store reopened = MustOpen(clock, MemoryOptions(fs));
  CHECK(StateOf(reopened.datastore()) == before);
  CHECK_FALSE(reopened.datastore().FindEni("eni-2").ok());
}

TEST_CASE("JournaledDatastore cuts a torn tail, reports it, and appends cleanly after it") {
  MemoryFileSystem fs;
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  std::size_t good = 0;
  State before;
  {
    Store store = MustOpen(clock, MemoryOptions(fs));
    AddNode(store);
    REQUIRE(store.Assign(Pod(1)).ok());
    before = StateOf(store.datastore());
    good = fs.files[kPath].data.size();
    REQUIRE(store.Assign(Pod(2)).ok());
  }
  const std::size_t full = fs.files[kPath].data.size();
  fs.files[kPath].data.resize(full - 3);  // the last record lost its checksum's end
  {
    Store store = MustOpen(clock, MemoryOptions(fs));
    const auto& report = store.replay_report();
    CHECK(report.torn_bytes == full - 3 - good);
    CHECK(report.valid_bytes == good);
    CHECK(report.torn_reason.find(std::to_string(good)) != std::string::npos);
    CHECK(fs.files[kPath].data.size() == good);
    CHECK(StateOf(store.datastore()) == before);
    REQUIRE(store.Assign(Pod(3)).ok());
    before = StateOf(store.datastore());
  }
  Store again = MustOpen(clock, MemoryOptions(fs));
  CHECK(again.replay_report().torn_bytes == 0);
  CHECK(StateOf(again.datastore()) == before);
}

TEST_CASE("JournaledDatastore refuses a journal corrupted before its tail and leaves the file as it was") {
  MemoryFileSystem fs;
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  std::size_t third_record = 0;
  {
    Store store = MustOpen(clock, MemoryOptions(fs));
    REQUIRE(store.AddEni({.id = "eni-1", .primary = true}).ok());
    REQUIRE(store.AddCidr("eni-1", *Ipv4Prefix::Parse("10.0.0.0/28")).ok());
    third_record = fs.files[kPath].data.size();
    for (int i = 0; i < 5; ++i) REQUIRE(store.Assign(Pod(i)).ok());
  }
  std::string& bytes = fs.files[kPath].data;
  bytes[third_record + 12] = static_cast<char>(bytes[third_record + 12] ^ 0x40);
  const std::string corrupted = bytes;
  auto store = Store::Open(kPath, clock, MemoryOptions(fs));
  REQUIRE_FALSE(store.ok());
  CHECK_MESSAGE(store.status().code() == absl::StatusCode::kDataLoss, store.status());
  CHECK_MESSAGE(store.status().message().find("byte offset " + std::to_string(third_record)) !=
                    absl::string_view::npos,
                store.status());
  CHECK(fs.files[kPath].data == corrupted);
}

TEST_CASE("JournaledDatastore refuses a file that is not a journal, or of a newer format") {
  MemoryFileSystem fs;
  ManualClock clock;
  SUBCASE("bad magic") {
    fs.files[kPath].data = "{\"version\":\"vpc-cni-ipam/1\"}";
    auto store = Store::Open(kPath, clock, MemoryOptions(fs));
    CHECK_MESSAGE(store.status().code() == absl::StatusCode::kDataLoss, store.status());
    CHECK(fs.files[kPath].data == "{\"version\":\"vpc-cni-ipam/1\"}");
  }
  SUBCASE("newer version") {
    fs.files[kPath].data = std::string("ENIPJRN\x03", 8);
    auto store = Store::Open(kPath, clock, MemoryOptions(fs));
    CHECK_MESSAGE(store.status().code() == absl::StatusCode::kFailedPrecondition, store.status());
    CHECK_MESSAGE(store.status().message().find("version 3") != absl::string_view::npos, store.status());
    CHECK(fs.files[kPath].data == std::string("ENIPJRN\x03", 8));
  }
  SUBCASE("a version 1 journal (records without sequence numbers) is refused, naming the version") {
    // The header and first record of a version 1 journal.
    const std::string v1 = std::string("ENIPJRN\x01", 8) + std::string("\x0c\x00\x00\x00\x03", 5) +
                           std::string(16, 'x');
    fs.files[kPath].data = v1;
    auto store = Store::Open(kPath, clock, MemoryOptions(fs));
    CHECK_MESSAGE(store.status().code() == absl::StatusCode::kFailedPrecondition, store.status());
    CHECK_MESSAGE(store.status().message().find("version 1 is not supported") != absl::string_view::npos,
                  store.status());
    CHECK(fs.files[kPath].data == v1);
  }
  SUBCASE("a torn header is a new journal") {
    fs.files[kPath].data = "ENIP";
    Store store = MustOpen(clock, MemoryOptions(fs));
    CHECK(store.replay_report().created);
    CHECK(fs.files[kPath].data.size() == enipool::internal::kJournalHeaderSize);
    CHECK(fs.files[kPath].data.substr(0, 8) == std::string("ENIPJRN\x02", 8));
  }
  SUBCASE("a damaged salt in the header is DATA_LOSS, not a journal whose every record is torn") {
    {
      Store store = MustOpen(clock, MemoryOptions(fs));
      AddNode(store);
    }
    fs.files[kPath].data[10] = static_cast<char>(fs.files[kPath].data[10] ^ 1);
    const std::string damaged = fs.files[kPath].data;
    auto store = Store::Open(kPath, clock, MemoryOptions(fs));
    CHECK_MESSAGE(store.status().code() == absl::StatusCode::kDataLoss, store.status());
    CHECK(fs.files[kPath].data == damaged);
  }
}

TEST_CASE("JournaledDatastore refuses a well-formed record that does not apply, naming its offset") {
  MemoryFileSystem fs;
  ManualClock clock;
  std::string journal = enipool::internal::JournalHeader(/*salt=*/42);
  std::string record;
  enipool::internal::EncodeAssign(record, Pod(1), Ipv4Address(10, 9, 9, 9), clock.Now());
  enipool::internal::SealRecord(record, enipool::internal::SaltCrc(42), /*sequence=*/0);
  journal += record;
  fs.files[kPath].data = journal;
  auto store = Store::Open(kPath, clock, MemoryOptions(fs));
  CHECK_MESSAGE(store.status().code() == absl::StatusCode::kDataLoss, store.status());
  CHECK_MESSAGE(store.status().message().find("byte offset 20") != absl::string_view::npos, store.status());
  CHECK(fs.files[kPath].data == journal);
}

TEST_CASE("JournaledDatastore rolls a change back when its record cannot be written") {
  MemoryFileSystem fs;
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  Store store = MustOpen(clock, MemoryOptions(fs));
  AddNode(store);
  REQUIRE(store.Assign(Pod(1)).ok());
  REQUIRE(store.Assign(Pod(2)).ok());
  REQUIRE(store.Release(Pod(2)).ok());
  const State before = StateOf(store.datastore());
  const std::string bytes = fs.files[kPath].data;
  fs.partial_append_on_failure = true;

  fs.fail_appends_after = 0;
  auto assigned = store.Assign(Pod(3));
  CHECK_MESSAGE(assigned.status().code() == absl::StatusCode::kResourceExhausted, assigned.status());
  fs.fail_appends_after = 0;
  auto released = store.Release(Pod(1));
  CHECK_MESSAGE(released.status().code() == absl::StatusCode::kResourceExhausted, released.status());
  fs.fail_appends_after = 0;
  CHECK_FALSE(store.AddEni({.id = "eni-3", .device_number = 2}).ok());
  fs.fail_appends_after = 0;
  CHECK_FALSE(store.AddCidr("eni-1", *Ipv4Prefix::Parse("10.0.5.0/28")).ok());
  fs.fail_appends_after = 0;
  CHECK_FALSE(store.RemoveEni("eni-2", /*force=*/true).ok());
  fs.fail_appends_after = 0;
  // Pod 2's old address is cooling: a failed import must leave it cooling.
  CHECK_FALSE(store.AssignAt(Pod(4), before.cooling.begin()->first, clock.Now()).ok());
  fs.fail_appends_after = -1;

  CHECK(StateOf(store.datastore()) == before);
  CHECK(store.datastore().CheckInvariants().ok());
  CHECK(fs.files[kPath].data == bytes);  // half-written records were cut off
  // The journal still works, and a restart sees the same state.
  REQUIRE(store.Assign(Pod(3)).ok());
  const State after = StateOf(store.datastore());
  Store reopened = MustOpen(clock, MemoryOptions(fs));
  CHECK(StateOf(reopened.datastore()) == after);
}

TEST_CASE("JournaledDatastore refuses changes after a failed sync until it is reopened") {
  MemoryFileSystem fs;
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  Store store = MustOpen(clock, MemoryOptions(fs));
  AddNode(store);
  REQUIRE(store.Assign(Pod(1)).ok());
  const State before = StateOf(store.datastore());
  fs.fail_syncs_after = 0;
  auto failed = store.Assign(Pod(2));
  CHECK_MESSAGE(failed.status().code() == absl::StatusCode::kUnavailable, failed.status());
  CHECK(StateOf(store.datastore()) == before);
  fs.fail_syncs_after = -1;
  auto refused = store.Assign(Pod(3));
  CHECK_MESSAGE(refused.status().code() == absl::StatusCode::kFailedPrecondition, refused.status());
  auto refused_release = store.Release(Pod(1));
  CHECK_MESSAGE(refused_release.status().code() == absl::StatusCode::kFailedPrecondition,
                refused_release.status());
  CHECK(StateOf(store.datastore()) == before);
  // Reads still work, and a reopened journal accepts changes.
  CHECK(store.Lookup(Pod(1)).has_value());
  Store reopened = MustOpen(clock, MemoryOptions(fs));
  CHECK(StateOf(reopened.datastore()) == before);
  CHECK(reopened.Assign(Pod(3)).ok());
}

TEST_CASE("JournaledDatastore syncs per record, per batch, or never, as configured") {
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  struct Case {
    SyncPolicy policy;
    int want_syncs;  // for 100 assign+release pairs after setup
  };
  // 200 records; batches of 64 records → 3 syncs (the time limit is never hit).
  for (const Case c : {Case{SyncPolicy::kEveryRecord, 200}, Case{SyncPolicy::kBatched, 3},
                       Case{SyncPolicy::kNone, 0}}) {
    CAPTURE(enipool::SyncPolicyName(c.policy));
    MemoryFileSystem fs;
    auto options = MemoryOptions(fs, c.policy);
    options.ip_cooldown = absl::ZeroDuration();  // with 1 ns steps, nothing stays cooling
    Store store = MustOpen(clock, options);
    AddNode(store);
    const int before = fs.syncs;
    const auto records_before = store.journal_stats().records;
    for (int i = 0; i < 100; ++i) {
      REQUIRE(store.Assign(Pod(i)).ok());
      REQUIRE(store.Release(Pod(i)).ok());
      clock.AdvanceTime(absl::Nanoseconds(1));
    }
    CHECK(store.journal_stats().records - records_before == 200);
    CHECK(fs.syncs - before == c.want_syncs);
    REQUIRE(store.Sync().ok());
    CHECK(fs.files[kPath].synced == fs.files[kPath].data.size());
  }
}

TEST_CASE("JournaledDatastore under a batched policy syncs when the interval has passed") {
  MemoryFileSystem fs;
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  auto options = MemoryOptions(fs, SyncPolicy::kBatched);
  options.journal.batch_records = 1000;
  options.journal.batch_interval = absl::Milliseconds(10);
  Store store = MustOpen(clock, options);
  AddNode(store);
  const int before = fs.syncs;
  REQUIRE(store.Assign(Pod(1)).ok());
  CHECK(fs.syncs == before);
  clock.AdvanceTime(absl::Milliseconds(11));
  REQUIRE(store.Assign(Pod(2)).ok());
  CHECK(fs.syncs == before + 1);
}

TEST_CASE("JournaledDatastore rejects a pod key the journal cannot hold and changes nothing") {
  MemoryFileSystem fs;
  ManualClock clock;
  Store store = MustOpen(clock, MemoryOptions(fs));
  AddNode(store);
  const std::string bytes = fs.files[kPath].data;
  const State before = StateOf(store.datastore());
  auto huge = store.Assign({"aws-cni", std::string(70'000, 'a'), "eth0"});
  CHECK_MESSAGE(huge.status().code() == absl::StatusCode::kInvalidArgument, huge.status());
  auto empty = store.Assign({"aws-cni", "", "eth0"});
  CHECK_MESSAGE(empty.status().code() == absl::StatusCode::kInvalidArgument, empty.status());
  auto unknown = store.Release(Pod(7));
  CHECK_MESSAGE(unknown.status().code() == absl::StatusCode::kNotFound, unknown.status());
  CHECK(StateOf(store.datastore()) == before);
  CHECK(fs.files[kPath].data == bytes);
}

TEST_CASE("JournaledDatastore survives a power loss with nothing acknowledged lost under kEveryRecord") {
  MemoryFileSystem fs;
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  State acknowledged;
  {
    Store store = MustOpen(clock, MemoryOptions(fs));
    AddNode(store);
    for (int i = 0; i < 12; ++i) REQUIRE(store.Assign(Pod(i)).ok());
    for (int i = 0; i < 12; i += 2) REQUIRE(store.Release(Pod(i)).ok());
    acknowledged = StateOf(store.datastore());
  }
  fs.PowerLoss();
  Store reopened = MustOpen(clock, MemoryOptions(fs));
  CHECK(StateOf(reopened.datastore()) == acknowledged);
}

TEST_CASE("JournaledDatastore works on the real file system (POSIX)") {
  char dir_template[] = "/tmp/enipool-journal-test-XXXXXX";
  REQUIRE(::mkdtemp(dir_template) != nullptr);
  const std::string dir = dir_template;
  const std::string path = dir + "/journal";
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  Store::Options options;
  options.mode = AddressMode::kPrefix;
  State before;
  {
    Store store = MustOpen(clock, options, path);
    CHECK(store.replay_report().created);
    AddNode(store);
    for (int i = 0; i < 10; ++i) REQUIRE(store.Assign(Pod(i)).ok());
    REQUIRE(store.Release(Pod(3)).ok());
    REQUIRE(store.Snapshot().ok());
    REQUIRE(store.Release(Pod(4)).ok());
    before = StateOf(store.datastore());
  }
  {
    Store store = MustOpen(clock, options, path);
    CHECK(StateOf(store.datastore()) == before);
  }
  // Cut the file in the middle of its last record: a torn tail.
  const auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size - 5);
  {
    Store store = MustOpen(clock, options, path);
    CHECK(store.replay_report().torn_bytes > 0);
    CHECK(store.Lookup(Pod(4)).has_value());  // its release was torn off
    CHECK(std::filesystem::file_size(path) == store.replay_report().valid_bytes);
  }
  // An unreadable path is the file system's error, not a crash.
  auto bad = Store::Open(dir + "/no-such-dir/journal", clock, options);
  CHECK_MESSAGE(bad.status().code() == absl::StatusCode::kNotFound, bad.status());
  std::filesystem::remove_all(dir);
}

}  // namespace
