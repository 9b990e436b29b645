// Writes the seed corpus of the journal replay fuzz target
// (fuzz/corpus/journal_replay/) in the current journal format. Run it again
// whenever the format changes (a new record kind, a new version):
//
//   cmake --build --preset dev --target enipool_make_journal_replay_seeds
//   build/dev/tests/enipool_make_journal_replay_seeds fuzz/corpus/journal_replay
//
// Each seed's first byte is the target's flag byte (bit 0: the target adds a
// header salted with 0; bit 1: prefix mode). Seeds, for three seeded
// workloads: journal-N (a whole file), records-N (its records resealed under
// salt 0, behind the target's header), torn-N (records-N cut inside its last
// record), swapped-N (records-N with two records swapped: DATA_LOSS); and
// the same four for an IPv6 node's journal (ipv6-journal-N, …), which the
// target's IPv4 half refuses and its IPv6 half replays.

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/ipv4.h"
#include "enipool/ipv6.h"
#include "enipool/persist/ipv6_journal.h"
#include "enipool/persist/journal.h"
#include "testing/memory_file_system.h"

namespace {

using Store = enipool::JournaledDatastore<enipool::ManualClock>;

// A journal of a small node's life: ENIs, CIDRs, the controller's intents
// and a mark, pods coming and going, a forced CIDR removal and a snapshot
// halfway.
std::string Journal(std::uint64_t seed, bool prefix_mode) {
  enipool::testing::MemoryFileSystem fs;
  enipool::ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  Store::Options options;
  options.mode = prefix_mode ? enipool::AddressMode::kPrefix : enipool::AddressMode::kSecondaryIp;
  options.journal.file_system = &fs;
  options.journal.compact_after_bytes = 0;
  options.journal.salt_seed = seed;
  auto store = Store::Open("/journal", clock, options);
  if (!store.ok()) return {};
  std::mt19937_64 rng(seed);
  (void)store->AddEni({.id = "eni-1", .device_number = 0, .primary = true, .subnet_id = "subnet-1"});
  (void)store->AddEni({.id = "eni-2", .device_number = 1});
  const std::string cidrs[] = {prefix_mode ? "10.0.0.16/28" : "10.0.0.5/32",
                               prefix_mode ? "10.0.1.0/28" : "10.0.1.9/32"};
  (void)store->AddCidr("eni-1", *enipool::Ipv4Prefix::Parse(cidrs[0]));
  (void)store->AddCidr("eni-2", *enipool::Ipv4Prefix::Parse(cidrs[1]));
  // The controller's records: an intent ended, one left open, a mark.
  const auto attach = store->BeginIntent({.kind = enipool::PoolIntentKind::kAttachEni, .eni_id = "eni-2"});
  (void)store->SetMark(enipool::ControllerMark::kLastDecrease, clock.Now());
  if (attach.ok()) (void)store->EndIntent(*attach);
  (void)store->BeginIntent({.kind = enipool::PoolIntentKind::kUnassign,
                            .eni_id = "eni-1",
                            .cidrs = {*enipool::Ipv4Prefix::Parse(cidrs[0])}});
  for (int step = 0; step < 8; ++step) {
    const enipool::PodKey pod{"aws-cni", absl::StrCat("c", rng() % 5), "eth0"};
    if (rng() % 2 == 0) {
      (void)store->Assign(pod);
    } else {
      (void)store->Release(pod);
    }
    clock.AdvanceTime(absl::Seconds(static_cast<std::int64_t>(rng() % 20)));
    if (step == 4 && seed % 2 == 0) (void)store->Snapshot();
  }
  (void)store->RemoveCidr("eni-2", *enipool::Ipv4Prefix::Parse(cidrs[1]), /*force=*/true);
  return fs.files["/journal"].data;
}

// A journal of an IPv6 node's life: its ENI and /80, pods coming and going
// (a /124, so addresses are reused after their cooldown), a snapshot
// halfway.
std::string Ipv6Journal(std::uint64_t seed) {
  using Store6 = enipool::JournaledIpv6Datastore<enipool::ManualClock>;
  enipool::testing::MemoryFileSystem fs;
  enipool::ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  Store6::Options options;
  options.journal.file_system = &fs;
  options.journal.compact_after_bytes = 0;
  options.journal.salt_seed = seed;
  auto store = Store6::Open("/journal", clock, options);
  if (!store.ok()) return {};
  std::mt19937_64 rng(seed);
  (void)store->AddEni({.id = "eni-1", .device_number = 0, .primary = true, .subnet_id = "subnet-1"});
  (void)store->AddPrefix("eni-1", *enipool::Ipv6Prefix::Parse("2600:1f14:abc:1:2::/124"));
  for (int step = 0; step < 10; ++step) {
    const enipool::PodKey pod{"aws-cni", absl::StrCat("c", rng() % 5), "eth0"};
    if (rng() % 2 == 0) {
      (void)store->Assign(pod);
    } else {
      (void)store->Release(pod);
    }
    clock.AdvanceTime(absl::Seconds(static_cast<std::int64_t>(rng() % 20)));
    if (step == 5 && seed % 2 == 0) (void)store->Snapshot();
  }
  return fs.files["/journal"].data;
}

// The records of `file`, each resealed under salt 0 with its own sequence.
std::vector<std::string> Resealed(const std::string& file) {
  std::vector<std::string> records;
  auto parsed = enipool::ParseJournal(file);
  if (!parsed.ok()) return records;
  const std::uint32_t salt_crc = enipool::internal::SaltCrc(0);
  for (std::size_t i = 0; i < parsed->records.size(); ++i) {
    const std::size_t begin = parsed->records[i].offset;
    const std::size_t end = i + 1 < parsed->records.size() ? parsed->records[i + 1].offset
                                                           : parsed->valid_bytes;
    std::string record = file.substr(begin, end - begin - 4);  // without its checksum
    enipool::internal::SealRecord(record, salt_crc, i);
    records.push_back(record);
  }
  return records;
}

bool Put(const std::string& dir, const std::string& name, char flags, const std::string& bytes) {
  std::ofstream out(dir + "/" + name, std::ios::binary);
  out.put(flags);
  out << bytes;
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <fuzz/corpus/journal_replay directory>\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  bool ok = true;
  for (std::uint64_t n = 0; n < 3; ++n) {
    const bool prefix_mode = n != 1;
    const char mode_bit = prefix_mode ? 2 : 0;
    const std::string file = Journal(n, prefix_mode);
    std::vector<std::string> records = Resealed(file);
    if (file.empty() || records.size() < 4) return 1;
    std::string joined;
    for (const std::string& r : records) joined += r;
    ok &= Put(dir, absl::StrCat("journal-", n), mode_bit, file);
    ok &= Put(dir, absl::StrCat("records-", n), static_cast<char>(mode_bit | 1), joined);
    ok &= Put(dir, absl::StrCat("torn-", n), static_cast<char>(mode_bit | 1), joined.substr(0, joined.size() - 7));
    std::swap(records[1], records[2]);
    std::string swapped;
    for (const std::string& r : records) swapped += r;
    ok &= Put(dir, absl::StrCat("swapped-", n), static_cast<char>(mode_bit | 1), swapped);
  }
  for (std::uint64_t n = 0; n < 3; ++n) {
    const std::string file = Ipv6Journal(n);
    std::vector<std::string> records = Resealed(file);
    if (file.empty() || records.size() < 4) return 1;
    std::string joined;
    for (const std::string& r : records) joined += r;
    ok &= Put(dir, absl::StrCat("ipv6-journal-", n), 0, file);
    ok &= Put(dir, absl::StrCat("ipv6-records-", n), 1, joined);
    ok &= Put(dir, absl::StrCat("ipv6-torn-", n), 1, joined.substr(0, joined.size() - 7));
    std::swap(records[2], records[3]);
    std::string swapped;
    for (const std::string& r : records) swapped += r;
    ok &= Put(dir, absl::StrCat("ipv6-swapped-", n), 1, swapped);
  }
  return ok ? 0 : 1;
}
