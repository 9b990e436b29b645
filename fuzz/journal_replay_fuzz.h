// Fuzz target: opening a journal file of arbitrary bytes. Most inputs get a
// valid header (salted with 0) in front (the first byte decides) so that the
// fuzzer spends its time on records. Properties: no crash or UB; ParseJournal accounts for
// every byte (valid + torn = size); a journal that parses and applies opens
// as a JournaledDatastore with the same state, satisfies the datastore's
// invariants, and its snapshot rebuilds the same state; one that does not
// is refused without changing the file.

#ifndef ENIPOOL_FUZZ_JOURNAL_REPLAY_FUZZ_H_
#define ENIPOOL_FUZZ_JOURNAL_REPLAY_FUZZ_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/datastore.h"
#include "enipool/persist/journal.h"
#include "fuzz_check.h"
#include "../tests/testing/memory_file_system.h"

namespace enipool::fuzz {

struct ReplayedState {
  std::map<PodKey, std::pair<Ipv4Address, std::int64_t>> pods;
  std::map<Ipv4Address, std::int64_t> cooling;
  PoolStats stats;
  friend bool operator==(const ReplayedState&, const ReplayedState&) = default;
};

inline ReplayedState StateOf(const NodeDatastore<ManualClock>& ds) {
  ReplayedState s;
  ds.ForEachAssignment([&](const PodKey& pod, const Assignment& a, absl::Time at) {
    s.pods[pod] = {a.address, absl::ToUnixNanos(at)};
  });
  ds.ForEachCooling([&](Ipv4Address a, absl::Time t) { s.cooling[a] = absl::ToUnixNanos(t); });
  s.stats = ds.Stats();
  return s;
}

inline int FuzzJournalReplay(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool add_header = (data[0] & 1) != 0;
  const AddressMode mode = (data[0] & 2) != 0 ? AddressMode::kPrefix : AddressMode::kSecondaryIp;
  std::string file = add_header ? internal::JournalHeader(/*salt=*/0) : std::string();
  file.append(reinterpret_cast<const char*>(data + 1), size - 1);

  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  auto parsed = ParseJournal(file);
  bool applies = parsed.ok();
  NodeDatastore<ManualClock> direct(mode, clock);
  if (parsed.ok()) {
    ENIPOOL_FUZZ_CHECK(parsed->valid_bytes + parsed->torn_bytes == file.size(), "bytes unaccounted");
    absl::flat_hash_map<std::string, EniSpec> specs;
    ControllerJournalState controller;
    for (const JournalRecord& record : parsed->records) {
      if (!ApplyJournalRecord(direct, record, &specs).ok() ||
          !ApplyControllerRecord(controller, record).ok()) {
        applies = false;
        break;
      }
      const absl::Status invariants = direct.CheckInvariants();
      ENIPOOL_FUZZ_CHECK(invariants.ok(), invariants.ToString(), " after ", record.ToString());
    }
  }

  testing::MemoryFileSystem fs;
  fs.files["/journal"].data = file;
  using Store = JournaledDatastore<ManualClock>;
  Store::Options options;
  options.mode = mode;
  options.journal.file_system = &fs;
  auto store = Store::Open("/journal", clock, options);
  ENIPOOL_FUZZ_CHECK(store.ok() == applies, "Open says ", store.status().ToString(),
                     " but parse+apply says ", applies);
  if (!store.ok()) {
    ENIPOOL_FUZZ_CHECK(fs.files["/journal"].data == file, "a refused journal was changed");
    return 0;
  }
  const ReplayedState state = StateOf(store->datastore());
  ENIPOOL_FUZZ_CHECK(state == StateOf(direct), "Open and parse+apply disagree");
  ENIPOOL_FUZZ_CHECK(fs.files["/journal"].data.size() == store->replay_report().valid_bytes,
                     "torn tail not cut");

  // The snapshot of the replayed state rebuilds it.
  testing::MemoryFileSystem snapshot_fs;
  snapshot_fs.files["/journal"].data = store->SnapshotContents();
  options.journal.file_system = &snapshot_fs;
  auto rebuilt = Store::Open("/journal", clock, options);
  ENIPOOL_FUZZ_CHECK(rebuilt.ok(), "snapshot does not open: ", rebuilt.status().ToString());
  ENIPOOL_FUZZ_CHECK(StateOf(rebuilt->datastore()) == state, "snapshot does not rebuild the state");
  return 0;
}

}  // namespace enipool::fuzz

#endif  // ENIPOOL_FUZZ_JOURNAL_REPLAY_FUZZ_H_
