// The journal's file format: records reordered, dropped, duplicated or
// spliced in from another journal are DATA_LOSS inside the file and a torn
// tail at its end; a cut at a record boundary opens as that point of the
// history; the search for a record after damage agrees with a brute-force
// one and handles a crafted tail (its cost against the damage's size is in
// benchmarks/journal_benchmark.cpp: BM_Journal_OpenDamagedTail).
//
// The damage is done to whole records, located by the offsets ParseJournal
// reports, so these tests do not depend on the record layout.

#include "enipool/persist/journal_format.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
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
#include "enipool/persist/journal.h"
#include "testing/journal_damage.h"
#include "testing/memory_file_system.h"

namespace {

using enipool::AddressMode;
using enipool::Ipv4Address;
using enipool::Ipv4Prefix;
using enipool::ManualClock;
using enipool::PodKey;
using enipool::testing::MemoryFileSystem;
using Store = enipool::JournaledDatastore<ManualClock>;

constexpr char kPath[] = "/journal";

Store::Options MemoryOptions(MemoryFileSystem& fs, std::uint64_t salt_seed = 0) {
  Store::Options options;
  options.mode = AddressMode::kPrefix;
  options.journal.file_system = &fs;
  options.journal.compact_after_bytes = 0;
  options.journal.salt_seed = salt_seed;
  return options;
}

PodKey Pod(int i) { return {"aws-cni", "container-" + std::to_string(i), "eth0"}; }

struct State {
  std::map<PodKey, std::pair<Ipv4Address, absl::Time>> pods;
  std::map<Ipv4Address, absl::Time> cooling;
  friend bool operator==(const State&, const State&) = default;
};

State StateOf(const enipool::NodeDatastore<ManualClock>& ds) {
  State s;
  ds.ForEachAssignment([&](const PodKey& pod, const enipool::Assignment& a, absl::Time at) {
    s.pods[pod] = {a.address, at};
  });
  ds.ForEachCooling([&](Ipv4Address a, absl::Time t) { s.cooling[a] = t; });
  return s;
}

// A journal written through a JournaledDatastore, cut into its records, and
// the state after each record.
struct History {
  std::string file;
  std::vector<std::string> records;  // the bytes of each record, in order
  std::size_t header = 0;            // bytes before the first record
  std::vector<State> after;          // after[k]: the state after k records
  absl::Time end;                    // the clock when the last record was written
};

History Write(absl::Time start, int pods, std::uint64_t salt_seed = 0) {
  MemoryFileSystem fs;
  ManualClock clock(start);
  History h;
  std::vector<State> states;
  {
    auto store = Store::Open(kPath, clock, MemoryOptions(fs, salt_seed));
    REQUIRE_MESSAGE(store.ok(), store.status());
    states.push_back(StateOf(store->datastore()));
    auto record = [&] { states.push_back(StateOf(store->datastore())); };
    REQUIRE(store->AddEni({.id = "eni-1", .primary = true}).ok());
    record();
    REQUIRE(store->AddCidr("eni-1", *Ipv4Prefix::Parse("10.0.0.0/28")).ok());
    record();
    REQUIRE(store->AddCidr("eni-1", *Ipv4Prefix::Parse("10.0.0.16/28")).ok());
    record();
    for (int i = 0; i < pods; ++i) {
      REQUIRE(store->Assign(Pod(i)).ok());
      record();
      clock.AdvanceTime(absl::Seconds(1));
      if (i % 3 == 2) {
        REQUIRE(store->Release(Pod(i - 1)).ok());
        record();
      }
    }
  }
  h.file = fs.files[kPath].data;
  h.end = clock.Now();
  auto parsed = enipool::ParseJournal(h.file);
  REQUIRE_MESSAGE(parsed.ok(), parsed.status());
  REQUIRE(parsed->records.size() + 1 == states.size());
  h.header = parsed->records.front().offset;
  for (std::size_t i = 0; i < parsed->records.size(); ++i) {
    const std::size_t begin = parsed->records[i].offset;
    const std::size_t end = i + 1 < parsed->records.size() ? parsed->records[i + 1].offset : h.file.size();
    h.records.push_back(h.file.substr(begin, end - begin));
  }
  h.after = std::move(states);
  return h;
}

std::string Assemble(const History& h, const std::vector<std::string>& records) {
  std::string file = h.file.substr(0, h.header);
  for (const std::string& r : records) file += r;
  return file;
}

// Opens `file`; on success also checks the file was cut to what was kept.
// The clock is at `now` (cooldowns still running are compared).
absl::StatusOr<State> Open(const std::string& file, absl::Time now, std::uint64_t* records = nullptr,
                           std::uint64_t* torn = nullptr) {
  MemoryFileSystem fs;
  fs.files[kPath].data = file;
  ManualClock clock(now);
  auto store = Store::Open(kPath, clock, MemoryOptions(fs));
  if (!store.ok()) {
    CHECK_MESSAGE(fs.files[kPath].data == file, "a refused journal was changed");
    return store.status();
  }
  CHECK(fs.files[kPath].data.size() == store->replay_report().valid_bytes);
  if (records != nullptr) *records = store->replay_report().records;
  if (torn != nullptr) *torn = store->replay_report().torn_bytes;
  return StateOf(store->datastore());
}

void CheckDataLoss(const std::string& file, std::size_t at) {
  auto opened = Open(file, absl::FromUnixSeconds(1'700'000'000));
  REQUIRE_FALSE(opened.ok());
  CHECK_MESSAGE(opened.status().code() == absl::StatusCode::kDataLoss, opened.status());
  CHECK_MESSAGE(opened.status().message().find("byte offset " + std::to_string(at)) !=
                    absl::string_view::npos,
                opened.status());
}

std::size_t OffsetOf(const History& h, std::size_t record) {
  std::size_t at = h.header;
  for (std::size_t i = 0; i < record; ++i) at += h.records[i].size();
  return at;
}

TEST_CASE("Journal format: a journal cut at any record boundary opens as that point of its history") {
  const History h = Write(absl::FromUnixSeconds(1'700'000'000), 12);
  for (std::size_t k = 0; k <= h.records.size(); ++k) {
    CAPTURE(k);
    std::uint64_t records = 0;
    std::uint64_t torn = 0;
    auto state = Open(Assemble(h, {h.records.begin(), h.records.begin() + static_cast<long>(k)}),
                      h.end, &records, &torn);
    REQUIRE_MESSAGE(state.ok(), state.status());
    CHECK(records == k);
    CHECK(torn == 0);
    CHECK(*state == h.after[k]);
  }
}

TEST_CASE("Journal format: two records swapped inside the file are DATA_LOSS") {
  const History h = Write(absl::FromUnixSeconds(1'700'000'000), 12);
  for (std::size_t i = 0; i + 1 < h.records.size(); ++i) {
    CAPTURE(i);
    std::vector<std::string> records = h.records;
    std::swap(records[i], records[i + 1]);
    if (records[i] == records[i + 1]) continue;
    CheckDataLoss(Assemble(h, records), OffsetOf(h, i));
  }
}

TEST_CASE("Journal format: a record dropped from the middle is DATA_LOSS, not a shorter history") {
  const History h = Write(absl::FromUnixSeconds(1'700'000'000), 12);
  for (std::size_t i = 0; i + 2 < h.records.size(); ++i) {
    CAPTURE(i);
    std::vector<std::string> records = h.records;
    records.erase(records.begin() + static_cast<long>(i));
    CheckDataLoss(Assemble(h, records), OffsetOf(h, i));
  }
}

TEST_CASE("Journal format: a record duplicated inside the file is DATA_LOSS, a duplicate at the tail is torn") {
  const History h = Write(absl::FromUnixSeconds(1'700'000'000), 12);
  for (std::size_t i = 0; i < h.records.size(); ++i) {
    CAPTURE(i);
    std::vector<std::string> records = h.records;
    records.insert(records.begin() + static_cast<long>(i), h.records[i]);
    const std::string file = Assemble(h, records);
    if (i + 1 < h.records.size()) {
      CheckDataLoss(file, OffsetOf(h, i + 1));
    } else {
      // The last record written twice: the copy is an out-of-sequence tail.
      std::uint64_t records_kept = 0;
      std::uint64_t torn = 0;
      auto state = Open(file, h.end, &records_kept, &torn);
      REQUIRE_MESSAGE(state.ok(), state.status());
      CHECK(records_kept == h.records.size());
      CHECK(torn == h.records.back().size());
      CHECK(*state == h.after.back());
    }
  }
}

TEST_CASE("Journal format: an out-of-sequence record at the tail is cut like a torn one") {
  const History h = Write(absl::FromUnixSeconds(1'700'000'000), 12);
  const std::size_t n = h.records.size();
  // The next-to-last record was lost and the last one made it: the tail
  // (the last record) is cut, and the history is the one before both.
  std::vector<std::string> records(h.records.begin(), h.records.end() - 2);
  records.push_back(h.records.back());
  std::uint64_t kept = 0;
  std::uint64_t torn = 0;
  auto state = Open(Assemble(h, records), h.end, &kept, &torn);
  REQUIRE_MESSAGE(state.ok(), state.status());
  CHECK(kept == n - 2);
  CHECK(torn == h.records.back().size());
  CHECK(*state == h.after[n - 2]);
  // An earlier record repeated at the tail: cut too.
  records.assign(h.records.begin(), h.records.end());
  records.push_back(h.records[3]);
  state = Open(Assemble(h, records), h.end, &kept, &torn);
  REQUIRE_MESSAGE(state.ok(), state.status());
  CHECK(kept == n);
  CHECK(*state == h.after[n]);
}

TEST_CASE("Journal format: a record spliced in from another journal is DATA_LOSS inside the file, torn at its tail") {
  const History h = Write(absl::FromUnixSeconds(1'700'000'000), 12);
  // Another journal (started at another time, so with another salt) with
  // the same node and pods: its records are well formed and apply here.
  const History other = Write(absl::FromUnixSeconds(1'700'000'000 + 7 * 24 * 3600), 12);
  REQUIRE(other.records.size() == h.records.size());
  const std::size_t n = h.records.size();
  for (std::size_t i = 0; i < n; ++i) {
    CAPTURE(i);
    REQUIRE(other.records[i] != h.records[i]);
    {
      INFO("in place of record i");
      std::vector<std::string> records = h.records;
      records[i] = other.records[i];
      if (i + 1 < n) {
        CheckDataLoss(Assemble(h, records), OffsetOf(h, i));
      } else {
        std::uint64_t kept = 0;
        auto state = Open(Assemble(h, records), h.end, &kept);
        REQUIRE_MESSAGE(state.ok(), state.status());
        CHECK(kept == n - 1);
        CHECK(*state == h.after[n - 1]);
      }
    }
    {
      INFO("inserted before record i");
      std::vector<std::string> records = h.records;
      records.insert(records.begin() + static_cast<long>(i), other.records[i]);
      CheckDataLoss(Assemble(h, records), OffsetOf(h, i));
    }
  }
  INFO("appended at the tail");
  std::vector<std::string> records = h.records;
  records.push_back(other.records.back());
  std::uint64_t kept = 0;
  std::uint64_t torn = 0;
  auto state = Open(Assemble(h, records), h.end, &kept, &torn);
  REQUIRE_MESSAGE(state.ok(), state.status());
  CHECK(kept == n);
  CHECK(torn == other.records.back().size());
  CHECK(*state == h.after[n]);
}

TEST_CASE("Journal format: the same history in two journals differs in salt and checksums only") {
  const absl::Time start = absl::FromUnixSeconds(1'700'000'000);
  const History a = Write(start, 6, /*salt_seed=*/1);
  const History b = Write(start, 6, /*salt_seed=*/2);
  REQUIRE(a.records.size() == b.records.size());
  CHECK(a.file.substr(0, 8) == b.file.substr(0, 8));  // magic and version
  CHECK(a.file.substr(8, 8) != b.file.substr(8, 8));  // the salt
  for (std::size_t i = 0; i < a.records.size(); ++i) {
    CAPTURE(i);
    const std::size_t body = a.records[i].size() - 4;
    CHECK(a.records[i].substr(0, body) == b.records[i].substr(0, body));
    CHECK(a.records[i].substr(body) != b.records[i].substr(body));
  }
  // A seed and a start time give one file (determinism).
  CHECK(Write(start, 6, /*salt_seed=*/1).file == a.file);
  // Each record of b, put in place of a's, is refused (a's tail is torn).
  for (std::size_t i = 0; i + 1 < a.records.size(); ++i) {
    std::vector<std::string> records = a.records;
    records[i] = b.records[i];
    CheckDataLoss(Assemble(a, records), OffsetOf(a, i));
  }
}

TEST_CASE("Journal format: a snapshot gets a new salt, so records of the journal it replaced do not fit it") {
  MemoryFileSystem fs;
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  std::string before;
  std::string after;
  std::string old_record;
  {
    auto store = Store::Open(kPath, clock, MemoryOptions(fs));
    REQUIRE(store.ok());
    REQUIRE(store->AddEni({.id = "eni-1", .primary = true}).ok());
    REQUIRE(store->AddCidr("eni-1", *Ipv4Prefix::Parse("10.0.0.0/28")).ok());
    const std::size_t size = fs.files[kPath].data.size();
    REQUIRE(store->Assign(Pod(1)).ok());
    old_record = fs.files[kPath].data.substr(size);
    before = fs.files[kPath].data;
    REQUIRE(store->Snapshot().ok());
    after = fs.files[kPath].data;
    REQUIRE(store->Assign(Pod(2)).ok());
  }
  CHECK(before.substr(8, 8) != after.substr(8, 8));
  const std::string file = fs.files[kPath].data;
  // The snapshot plus the record after it opens; with the old journal's
  // record appended, that record is a foreign tail and is cut.
  std::uint64_t kept = 0;
  std::uint64_t torn = 0;
  auto state = Open(file + old_record, clock.Now(), &kept, &torn);
  REQUIRE_MESSAGE(state.ok(), state.status());
  CHECK(torn == old_record.size());
  CHECK(state->pods.size() == 2);
  // Spliced between the snapshot and the record after it: DATA_LOSS.
  CheckDataLoss(after + old_record + file.substr(after.size()), after.size());
}

TEST_CASE("Crc32cCombine gives the CRC of a concatenation from the CRCs of its parts") {
  std::mt19937_64 rng(20261129);
  for (const std::size_t length_b : {0u, 1u, 7u, 511u, 512u, 513u, 4096u, 262'157u, 300'000u}) {
    CAPTURE(length_b);
    std::string a(static_cast<std::size_t>(rng() % 100), '\0');
    std::string b(length_b, '\0');
    for (char& c : a) c = static_cast<char>(rng() & 0xFFu);
    for (char& c : b) c = static_cast<char>(rng() & 0xFFu);
    CHECK(enipool::internal::Crc32cCombine(enipool::internal::Crc32c(a), enipool::internal::Crc32c(b),
                                           b.size()) == enipool::internal::Crc32c(a + b));
  }
}

// The simple model of FindRecordAfter(): every start offset, its whole
// checksum recomputed (quadratic, fine for small buffers).
std::vector<std::pair<std::size_t, std::size_t>> ValidRecordsBruteForce(const std::string& bytes,
                                                                        std::size_t from,
                                                                        std::uint32_t salt_crc) {
  using enipool::internal::GetU32;
  std::vector<std::pair<std::size_t, std::size_t>> found;  // (start, end)
  for (std::size_t at = from; at + enipool::internal::kRecordOverhead <= bytes.size(); ++at) {
    const std::uint32_t length = GetU32(bytes, at);
    if (length > enipool::internal::kMaxRecordPayload) continue;
    if (length > bytes.size() - at - enipool::internal::kRecordOverhead) continue;
    const std::size_t end = at + enipool::internal::kRecordHeaderSize + length;
    const auto crc = enipool::internal::Crc32cExtend(salt_crc, absl::string_view(bytes).substr(at, end - at));
    if (crc == GetU32(bytes, end)) found.emplace_back(at, end);
  }
  return found;
}

TEST_CASE("Journal format: the search for a record after damage finds what a brute-force search finds") {
  std::mt19937_64 rng(7);
  const std::uint64_t salt = 0x5EED;
  const std::uint32_t salt_crc = enipool::internal::SaltCrc(salt);
  int found_some = 0;
  int found_none = 0;
  for (int round = 0; round < 300; ++round) {
    CAPTURE(round);
    // Garbage, record-like headers with small lengths, and a few records
    // sealed under this salt (some of them damaged again afterwards).
    std::string bytes(200 + rng() % 600, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 0xFFu);
    for (std::size_t at = rng() % 8; at + 4 <= bytes.size(); at += 1 + rng() % 16) {
      const auto length = static_cast<std::uint32_t>(rng() % 64);
      for (int i = 0; i < 4; ++i) bytes[at + static_cast<std::size_t>(i)] = static_cast<char>((length >> (8 * i)) & 0xFFu);
    }
    const int planted = static_cast<int>(rng() % 3);
    for (int p = 0; p < planted; ++p) {
      std::string record;
      enipool::internal::EncodeCooling(record, Ipv4Address(static_cast<std::uint32_t>(rng())),
                                       absl::FromUnixSeconds(static_cast<std::int64_t>(rng() % 1000)));
      enipool::internal::SealRecord(record, salt_crc, rng() % 100);
      if (record.size() >= bytes.size()) continue;
      const std::size_t at = rng() % (bytes.size() - record.size());
      bytes.replace(at, record.size(), record);
      if (rng() % 4 == 0) bytes[at + rng() % record.size()] ^= 0x10;
    }
    const std::size_t from = rng() % 32;
    const auto model = ValidRecordsBruteForce(bytes, from, salt_crc);
    const auto found = enipool::internal::FindRecordAfter(bytes, from, salt_crc);
    REQUIRE(found.has_value() == !model.empty());
    if (!found.has_value()) {
      ++found_none;
      continue;
    }
    ++found_some;
    // The one found is valid, and ends first (the search resolves candidates in end order).
    std::size_t first_end = model.front().second;
    for (const auto& [start, end] : model) first_end = std::min(first_end, end);
    bool listed = false;
    for (const auto& [start, end] : model) listed |= start == found->offset && end == first_end;
    CHECK(listed);
    CHECK(found->sequence == enipool::internal::GetU64(bytes, found->offset + 5));
  }
  CHECK(found_some > 50);
  CHECK(found_none > 50);
}

TEST_CASE("Journal format: a crafted damaged tail is cut as torn, and with a record of this journal after it is DATA_LOSS") {
  // Every 8th byte of the damage starts a record-like header claiming ~256
  // KiB; the search must still look at every candidate and find none.
  const History h = Write(absl::FromUnixSeconds(1'700'000'000), 4);
  const std::string damage = enipool::testing::CraftedDamage(300'000, /*seed=*/3);
  {
    std::uint64_t kept = 0;
    std::uint64_t torn = 0;
    auto state = Open(h.file + damage, h.end, &kept, &torn);
    REQUIRE_MESSAGE(state.ok(), state.status());
    CHECK(kept == h.records.size());
    CHECK(torn == damage.size());
    CHECK(*state == h.after.back());
  }
  // The journal's last record moved behind the damage: found, so DATA_LOSS
  // (naming where the damage starts and where the record is).
  std::vector<std::string> records(h.records.begin(), h.records.end() - 1);
  const std::string file = Assemble(h, records) + damage + h.records.back();
  auto opened = Open(file, h.end);
  REQUIRE_FALSE(opened.ok());
  CHECK_MESSAGE(opened.status().code() == absl::StatusCode::kDataLoss, opened.status());
  const std::string damage_at = std::to_string(OffsetOf(h, h.records.size() - 1));
  const std::string record_at = std::to_string(file.size() - h.records.back().size());
  CHECK_MESSAGE(opened.status().message().find("byte offset " + damage_at) != absl::string_view::npos,
                opened.status());
  CHECK_MESSAGE(opened.status().message().find("byte offset " + record_at) != absl::string_view::npos,
                opened.status());
}

}  // namespace
