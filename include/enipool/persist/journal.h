// -----------------------------------------------------------------------------
// File: persist/journal.h
// -----------------------------------------------------------------------------
//
// A crash-safe journal for a `NodeDatastore`, and `JournaledDatastore`, the
// datastore that writes it. Every change (ENI and CIDR added or removed, pod
// address assigned or released, with its time) is appended to a file as a
// small checksummed record before the call returns; on open, the file is
// replayed into a fresh datastore. Snapshots compact the file: the whole
// state, cooling addresses and their release times included, is written to
// a new file that atomically replaces the old one. So a restart loses no
// acknowledged assignment, hands no address out twice, and keeps every
// cooldown (the reference loses them: docs/reference-behavior.md §3.2).
//
// JournaledDatastore is also what a durable NodeController runs on: it
// models DurablePoolStore (pool_store.h), journaling the controller's
// intents (an EC2 sequence under way) and timers next to the pool, so a
// restarted controller can finish what a crash cut short (controller.h,
// "Durability").
//
// Example:
//
//   enipool::RealClock clock;
//   ENIPOOL_ASSIGN_OR_RETURN(
//       auto store, enipool::JournaledDatastore<enipool::RealClock>::Open(
//                       "/var/lib/enipool/journal", clock, {.mode = enipool::AddressMode::kPrefix}));
//   store.replay_report();                      // what was found: records, torn tail
//   ENIPOOL_RETURN_IF_ERROR(store.AddEni({.id = "eni-0a1b", .primary = true}));
//   ENIPOOL_ASSIGN_OR_RETURN(auto a, store.Assign({"aws-cni", "c1", "eth0"}));  // durable now
//   ENIPOOL_RETURN_IF_ERROR(store.Snapshot());  // compaction (also automatic, see JournalOptions)
//
// The file format (a salted header, then records with a kind, a sequence
// number and a checksum) is in persist/journal_format.h.
//
// Recovery rules, on open. A record is good if its checksum matches under
// this file's salt and its sequence is the next one expected.
//   * A record that is cut short, fails its checksum (garbage, or a record
//     of another journal) or is out of sequence, with no record of this
//     journal (checksum good under this salt) anywhere after it, is a torn
//     tail (a crash during an append): the file is truncated to the last
//     good record and `ReplayReport` says so. A file cut at a record
//     boundary opens as that point of its history.
//   * A bad record followed by a record of this journal is damage before the
//     tail: DATA_LOSS naming its byte offset, and the file is left untouched.
//     So records swapped, dropped from the middle, duplicated, or spliced in
//     from another journal are never replayed as a shorter or different
//     history. So is a damaged file header, and a well-formed record that
//     does not apply (assigning an unknown address).
//   * Looking for a record after damage takes time linear in the damaged
//     bytes (each candidate's checksum comes from running CRCs in O(1)), so
//     a crafted tail cannot make an open slow.
//   * Replay uses the recorded times: assignments keep their assigned time
//     and a released address cools down from its real release time. ENIs get
//     the clock's now as their creation time (as the reference, which re-adds
//     them at startup).
//
// Durability per `SyncPolicy`:
//   kEveryRecord  fdatasync after each record: nothing acknowledged is lost,
//                 even on power loss.
//   kBatched      fdatasync every `batch_records` records or `batch_interval`
//                 (whichever first; checked as records are appended; call
//                 Sync() from a timer to bound the window): a process crash
//                 loses nothing (each record is write()n at once), a power
//                 loss at most the unsynced batch.
//   kNone         no fdatasync: safe against a process crash only.
//
// Failures: if a record cannot be written (or synced, under kEveryRecord),
// the change is rolled back and the error returned, as the reference does for
// its checkpoint. A failed fdatasync leaves the file's state unknown (Linux
// may drop the dirty pages), so the journal then refuses further changes
// (FAILED_PRECONDITION) until it is reopened, which replays what really is
// on disk.
//
// Thread-safety: none (wrap it in SynchronizedDatastore).

#ifndef ENIPOOL_PERSIST_JOURNAL_H_
#define ENIPOOL_PERSIST_JOURNAL_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/datastore.h"
#include "enipool/internal/crc32c.h"
#include "enipool/ipv4.h"
#include "enipool/persist/journal_file.h"
#include "enipool/persist/journal_format.h"
#include "enipool/pod_key.h"
#include "enipool/pool_store.h"
#include "enipool/status.h"

namespace enipool {

// SyncPolicy
//
// When appended records are forced to stable storage (see the file comment).
enum class SyncPolicy { kEveryRecord, kBatched, kNone };

inline absl::string_view SyncPolicyName(SyncPolicy policy) {
  switch (policy) {
    case SyncPolicy::kEveryRecord:
      return "every-record";
    case SyncPolicy::kBatched:
      return "batched";
    case SyncPolicy::kNone:
      return "none";
  }
  return "unknown";
}

// JournalOptions
//
// How the journal writes.
struct JournalOptions {
  SyncPolicy sync = SyncPolicy::kEveryRecord;
  int batch_records = 64;                                 // kBatched: sync after this many…
  absl::Duration batch_interval = absl::Milliseconds(10);  // …or this long since the last sync
  // Compact automatically once the file exceeds this size and twice the size
  // of the last snapshot (0 = only when Snapshot() is called).
  std::uint64_t compact_after_bytes = std::uint64_t{8} << 20;
  // The file layer; nullptr = the real file system (PosixFileSystem). Not
  // owned; must outlive the journal.
  JournalFileSystem* file_system = nullptr;
  // Seeds the salt of a new journal file, with the clock's time at open: two
  // journals get different salts unless both seed and time are equal (as
  // with a ManualClock at the same time: then set different seeds).
  std::uint64_t salt_seed = 0;
};

// ReplayReport
//
// What opening a journal found.
struct ReplayReport {
  bool created = false;           // no file (or only a torn header): a new journal was started
  std::uint64_t records = 0;      // records replayed
  std::uint64_t valid_bytes = 0;  // length of the file kept
  std::uint64_t torn_bytes = 0;   // bytes of a torn tail cut off (0 = the file ended cleanly)
  std::string torn_reason;        // why the tail was judged torn
  std::int64_t assignments = 0;   // pods holding an address after replay
  std::int64_t cooling = 0;       // addresses still cooling after replay

  [[nodiscard]] std::string ToString() const {
    std::string text =
        absl::StrCat(created ? "new journal; " : "", records, " records in ", valid_bytes,
                     " bytes, ", assignments, " assignments, ", cooling, " cooling");
    if (torn_bytes > 0) absl::StrAppend(&text, "; torn tail of ", torn_bytes, " bytes cut (", torn_reason, ")");
    return text;
  }
};

// JournalStats
//
// Counters of the writing side, for tests and benchmarks.
struct JournalStats {
  std::uint64_t records = 0;      // appended since open
  std::uint64_t bytes = 0;        // appended since open
  std::uint64_t syncs = 0;        // fdatasync calls
  std::uint64_t compactions = 0;  // snapshots written
  std::uint64_t file_size = 0;    // current length of the journal
  absl::Status last_compaction;   // result of the last automatic compaction
};

// ApplyJournalRecord()
//
// Applies one replayed record to `datastore`; DATA_LOSS naming the record's
// offset if it does not apply. `specs`, when given, tracks the ENI specs.
template <Clock C>
[[nodiscard]] absl::Status ApplyJournalRecord(NodeDatastore<C>& datastore, const JournalRecord& r,
                                              absl::flat_hash_map<std::string, EniSpec>* specs) {
  absl::Status status;
  switch (r.type) {
    case JournalRecordType::kAddEni:
      status = datastore.AddEni(r.eni);
      if (status.ok() && specs != nullptr) (*specs)[r.eni.id] = r.eni;
      break;
    case JournalRecordType::kRemoveEni:
      status = datastore.RemoveEni(r.eni.id, r.force);
      if (status.ok() && specs != nullptr) specs->erase(r.eni.id);
      break;
    case JournalRecordType::kAddCidr:
      status = datastore.AddCidr(r.eni.id, r.cidr);
      break;
    case JournalRecordType::kRemoveCidr:
      status = datastore.RemoveCidr(r.eni.id, r.cidr, r.force);
      break;
    case JournalRecordType::kAssign:
      status = datastore.AssignAt(r.pod, r.address, r.time).status();
      break;
    case JournalRecordType::kRelease:
      status = datastore.ReleaseAt(r.pod, r.time).status();
      break;
    case JournalRecordType::kCooling:
      status = datastore.CoolAt(r.address, r.time);
      break;
    case JournalRecordType::kIntent:
    case JournalRecordType::kEndIntent:
    case JournalRecordType::kMark:
      break;  // the controller's records: ApplyControllerRecord()
    case JournalRecordType::kAddIpv6Prefix:
    case JournalRecordType::kAssignIpv6:
    case JournalRecordType::kCoolingIpv6:
      status = absl::FailedPreconditionError(
          "it is a record of an IPv6 node's journal (persist/ipv6_journal.h)");
      break;
  }
  if (status.ok()) return status;
  return absl::DataLossError(absl::StrCat("journal record at byte offset ", r.offset, " (",
                                          r.ToString(), ") does not apply: ", status.message()));
}

// ControllerJournalState
//
// The controller's part of a journal (pool_store.h): the open intents,
// oldest first, and the marks.
struct ControllerJournalState {
  std::vector<PoolIntent> intents;
  std::array<std::optional<absl::Time>, kControllerMarkCount> marks{};
  std::uint64_t next_intent = 1;
};

// ApplyControllerRecord()
//
// Applies a replayed kIntent, kEndIntent or kMark record to `state` (other
// kinds change nothing); DATA_LOSS naming the record's offset for an intent
// id begun twice or ended without being begun.
[[nodiscard]] inline absl::Status ApplyControllerRecord(ControllerJournalState& state,
                                                        const JournalRecord& r) {
  auto open = [&](std::uint64_t id) {
    return std::find_if(state.intents.begin(), state.intents.end(),
                        [id](const PoolIntent& i) { return i.id == id; });
  };
  switch (r.type) {
    case JournalRecordType::kIntent:
      if (r.intent.id == 0 || open(r.intent.id) != state.intents.end()) {
        return absl::DataLossError(absl::StrCat("journal record at byte offset ", r.offset, " (",
                                                r.ToString(), ") does not apply: intent id ",
                                                r.intent.id, " is zero or already open"));
      }
      state.intents.push_back(r.intent);
      state.next_intent = std::max(state.next_intent, r.intent.id + 1);
      break;
    case JournalRecordType::kEndIntent: {
      const auto it = open(r.intent.id);
      if (it == state.intents.end()) {
        return absl::DataLossError(absl::StrCat("journal record at byte offset ", r.offset, " (",
                                                r.ToString(), ") does not apply: intent ",
                                                r.intent.id, " is not open"));
      }
      state.intents.erase(it);
      break;
    }
    case JournalRecordType::kMark:
      state.marks[static_cast<std::size_t>(r.mark) - 1] = r.time;
      break;
    default:
      break;
  }
  return absl::OkStatus();
}

namespace internal {

// The writing side: one open file, the sync policy, and the rules for
// undoing a failed append.
class JournalWriter {
 public:
  JournalWriter() = default;
  JournalWriter(std::string path, JournalOptions options, std::unique_ptr<AppendFile> file,
                std::unique_ptr<JournalFileSystem> owned_fs, JournalFileSystem* fs, absl::Time now,
                std::uint64_t salt, std::uint64_t next_sequence)
      : path_(std::move(path)),
        options_(options),
        owned_fs_(std::move(owned_fs)),
        fs_(fs),
        file_(std::move(file)),
        last_sync_(now),
        snapshot_size_(file_->size()),
        salt_(salt),
        salt_crc_(SaltCrc(salt)),
        next_sequence_(next_sequence) {}

  // Seals one encoded record (its sequence number and checksum: see
  // SealRecord()), appends it and syncs per policy. On error the file is
  // cut back to where it was (or, if that is impossible or a sync failed,
  // the writer refuses further work), and the sequence number is not used.
  [[nodiscard]] absl::Status Append(std::string& record, absl::Time now) {
    ENIPOOL_RETURN_IF_ERROR(broken_);
    SealRecord(record, salt_crc_, next_sequence_);
    const std::uint64_t start = file_->size();
    if (absl::Status s = file_->Append(record); !s.ok()) return Undo(start, std::move(s));
    bool sync = false;
    switch (options_.sync) {
      case SyncPolicy::kEveryRecord:
        sync = true;
        break;
      case SyncPolicy::kBatched:
        sync = ++unsynced_ >= options_.batch_records || now - last_sync_ >= options_.batch_interval;
        break;
      case SyncPolicy::kNone:
        break;
    }
    if (sync) {
      if (absl::Status s = SyncNow(now); !s.ok()) return Undo(start, std::move(s));
    }
    stats_.records += 1;
    stats_.bytes += record.size();
    next_sequence_ += 1;
    return absl::OkStatus();
  }

  // Cuts the last record off again (a change that failed after its record
  // was written).
  [[nodiscard]] absl::Status Unappend(std::uint64_t size) {
    if (absl::Status s = file_->Truncate(size); !s.ok()) {
      broken_ = absl::FailedPreconditionError(absl::StrCat(
          "journal ", path_, " is unusable after a failed truncate (", s.message(), "); reopen it"));
      return s;
    }
    next_sequence_ -= 1;
    return absl::OkStatus();
  }

  [[nodiscard]] absl::Status SyncNow(absl::Time now) {
    ENIPOOL_RETURN_IF_ERROR(broken_);
    if (absl::Status s = file_->Sync(); !s.ok()) {
      broken_ = absl::FailedPreconditionError(absl::StrCat(
          "journal ", path_, " is unusable after a failed sync (", s.message(), "); reopen it"));
      return s;
    }
    unsynced_ = 0;
    last_sync_ = now;
    stats_.syncs += 1;
    return absl::OkStatus();
  }

  // Replaces the file by `contents` (a snapshot whose salt is `salt` and
  // which holds `records` records) and appends to it from now.
  [[nodiscard]] absl::Status Replace(absl::string_view contents, std::uint64_t salt,
                                     std::uint64_t records, absl::Time now) {
    ENIPOOL_RETURN_IF_ERROR(broken_);
    absl::Status status = fs_->WriteFileAtomically(path_, contents);
    // Whether or not the rename happened, the file at `path_` now describes
    // the current state (the old journal or the new snapshot): reopen it,
    // and append with the salt and sequence of whichever it is.
    bool replaced = status.ok();
    if (!status.ok()) {
      auto now_there = fs_->ReadFile(path_);
      const bool new_header = now_there.ok() && now_there->size() >= kJournalHeaderSize &&
                              GetU64(*now_there, kJournalMagic.size() + 1) == salt;
      const bool old_header = now_there.ok() && now_there->size() >= kJournalHeaderSize &&
                              GetU64(*now_there, kJournalMagic.size() + 1) == salt_;
      if (new_header == old_header) {
        broken_ = absl::FailedPreconditionError(absl::StrCat(
            "journal ", path_, " is unusable: after a failed snapshot (", status.message(),
            ") it holds neither the old journal nor the snapshot; reopen it"));
        return status;
      }
      replaced = new_header;
    }
    auto reopened = fs_->OpenForAppend(path_);
    if (!reopened.ok()) {
      broken_ = absl::FailedPreconditionError(absl::StrCat(
          "journal ", path_, " is unusable: cannot reopen it (", reopened.status().message(), ")"));
      return status.ok() ? reopened.status() : status;
    }
    file_ = *std::move(reopened);
    if (replaced) {
      salt_ = salt;
      salt_crc_ = SaltCrc(salt);
      next_sequence_ = records;
    }
    if (!status.ok()) return status;
    unsynced_ = 0;
    last_sync_ = now;
    snapshot_size_ = file_->size();
    stats_.compactions += 1;
    return absl::OkStatus();
  }

  [[nodiscard]] bool WantsCompaction() const {
    return options_.compact_after_bytes > 0 && file_->size() > options_.compact_after_bytes &&
           file_->size() > 2 * snapshot_size_;
  }
  [[nodiscard]] std::uint64_t size() const { return file_->size(); }
  [[nodiscard]] const absl::Status& broken() const { return broken_; }
  [[nodiscard]] const JournalOptions& options() const { return options_; }
  [[nodiscard]] std::uint64_t salt() const { return salt_; }
  [[nodiscard]] JournalStats stats() const {
    JournalStats s = stats_;
    s.file_size = file_ ? file_->size() : 0;
    return s;
  }
  void set_last_compaction(absl::Status s) { stats_.last_compaction = std::move(s); }

 private:
  absl::Status Undo(std::uint64_t start, absl::Status cause) {
    if (broken_.ok()) {
      if (absl::Status t = file_->Truncate(start); !t.ok()) {
        broken_ = absl::FailedPreconditionError(absl::StrCat(
            "journal ", path_, " is unusable after a failed write and truncate (", t.message(),
            "); reopen it"));
      }
    } else {
      (void)file_->Truncate(start);  // best effort: reopening replays what is there
    }
    return cause;
  }

  std::string path_;
  JournalOptions options_;
  std::unique_ptr<JournalFileSystem> owned_fs_;
  JournalFileSystem* fs_ = nullptr;
  std::unique_ptr<AppendFile> file_;
  int unsynced_ = 0;
  absl::Time last_sync_;
  std::uint64_t snapshot_size_ = 0;
  absl::Status broken_;
  JournalStats stats_;
  std::uint64_t salt_ = 0;
  std::uint32_t salt_crc_ = 0;
  std::uint64_t next_sequence_ = 0;  // of the next record appended
};

// A journal file opened and replayed: its writer, positioned after the last
// good record, and what was found (assignments and cooling left for the
// caller to fill in).
struct OpenedJournal {
  JournalWriter writer;
  ReplayReport report;
};

// Opens (or creates) the journal at `path`, replays each record through
// `apply` (absl::Status(const JournalRecord&); an error is the record's
// DATA_LOSS), cuts a torn tail and starts a new file when there is none.
// The errors of JournaledDatastore::Open(), each naming `path`; on error the
// file is left as it was.
template <Clock C, typename ApplyFn>
[[nodiscard]] absl::StatusOr<OpenedJournal> OpenJournal(std::string path, const C& clock,
                                                        const JournalOptions& options,
                                                        ApplyFn&& apply) {
  std::unique_ptr<JournalFileSystem> owned;
  JournalFileSystem* fs = options.file_system;
  if (fs == nullptr) {
    owned = std::make_unique<PosixFileSystem>();
    fs = owned.get();
  }
  OpenedJournal opened;
  ReplayReport& report = opened.report;
  auto contents = fs->ReadFile(path);
  if (!contents.ok() && contents.status().code() != absl::StatusCode::kNotFound) {
    return contents.status();
  }
  ParsedJournal parsed;
  if (contents.ok()) {
    auto result = ParseJournal(*contents);
    if (!result.ok()) {
      return absl::Status(result.status().code(),
                          absl::StrCat("journal ", path, ": ", result.status().message()));
    }
    parsed = *std::move(result);
    for (const JournalRecord& record : parsed.records) {
      if (absl::Status s = apply(record); !s.ok()) {
        return absl::DataLossError(absl::StrCat("journal ", path, ": ", s.message()));
      }
    }
  }
  report.created = !contents.ok() || parsed.valid_bytes == 0;
  report.records = parsed.records.size();
  report.torn_bytes = parsed.torn_bytes;
  report.torn_reason = parsed.torn_reason;

  ENIPOOL_ASSIGN_OR_RETURN(std::unique_ptr<AppendFile> file, fs->OpenForAppend(path));
  std::uint64_t salt = parsed.salt;
  if (parsed.torn_bytes > 0 || report.created) {
    ENIPOOL_RETURN_IF_ERROR(file->Truncate(parsed.valid_bytes));
    if (parsed.valid_bytes == 0) {
      salt = NewJournalSalt(options.salt_seed, clock.Now());
      ENIPOOL_RETURN_IF_ERROR(file->Append(JournalHeader(salt)));
    }
    ENIPOOL_RETURN_IF_ERROR(file->Sync());
  }
  report.valid_bytes = file->size();
  opened.writer = JournalWriter(std::move(path), options, std::move(file), std::move(owned), fs,
                                clock.Now(), salt, parsed.next_sequence);
  return opened;
}

// The journaled stores' shared write path (JournaledDatastore here and
// JournaledIpv6Datastore in ipv6_journal.h): one copy of the rules for
// sealing a snapshot, replacing the file with it, and undoing a record
// whose change fails.

// Builds a snapshot journal's bytes: the header under `salt`, then each
// record sealed with the next sequence number.
class SnapshotBuilder {
 public:
  explicit SnapshotBuilder(std::uint64_t salt)
      : out_(JournalHeader(salt)), salt_crc_(SaltCrc(salt)) {}

  // Seals `record` (filled by one of the Encode* functions) and appends it.
  void Add(std::string& record) {
    SealRecord(record, salt_crc_, sequence_++);
    out_ += record;
  }

  [[nodiscard]] std::uint64_t records() const noexcept { return sequence_; }
  [[nodiscard]] std::string Take() && { return std::move(out_); }

 private:
  std::string out_;
  std::uint32_t salt_crc_;
  std::uint64_t sequence_ = 0;
};

// Compacts `writer`'s journal: the state `contents(salt, &records)` encodes
// under the next salt atomically replaces the file. Refused while the writer
// is broken.
template <Clock C, typename ContentsFn>
[[nodiscard]] absl::Status ReplaceWithSnapshot(JournalWriter& writer, const C& clock,
                                               ContentsFn&& contents) {
  ENIPOOL_RETURN_IF_ERROR(writer.broken());
  const std::uint64_t salt = NextJournalSalt(writer.salt());
  std::uint64_t records = 0;
  const std::string bytes = contents(salt, &records);
  return writer.Replace(bytes, salt, records, clock.Now());
}

// Compacts through `snapshot` (absl::Status()) when the file has grown
// enough. A failed compaction does not fail the change (its record is
// already safe); it is kept in the writer's stats.
template <typename SnapshotFn>
[[nodiscard]] absl::Status CompactIfDue(JournalWriter& writer, SnapshotFn&& snapshot) {
  if (!writer.WantsCompaction()) return absl::OkStatus();
  writer.set_last_compaction(snapshot());
  return absl::OkStatus();
}

// Appends `record`, then applies the change it describes; if the change
// fails (its own error: a duplicate ENI, an overlapping prefix), the record
// is cut off again and that error returned. On success runs `on_success`,
// then CompactIfDue(writer, snapshot).
template <Clock C, typename ApplyFn, typename OnSuccess, typename SnapshotFn>
[[nodiscard]] absl::Status AppendThenApply(JournalWriter& writer, const C& clock,
                                           std::string& record, ApplyFn&& apply,
                                           OnSuccess&& on_success, SnapshotFn&& snapshot) {
  const std::uint64_t before = writer.size();
  ENIPOOL_RETURN_IF_ERROR(writer.Append(record, clock.Now()));
  if (absl::Status s = apply(); !s.ok()) {
    (void)writer.Unappend(before);
    return s;
  }
  on_success();
  return CompactIfDue(writer, snapshot);
}

inline absl::Status CheckPodKeyFits(const PodKey& pod) {
  if (pod.network_name.size() > 0xFFFF || pod.container_id.size() > 0xFFFF ||
      pod.if_name.size() > 0xFFFF) {
    return absl::InvalidArgumentError(absl::StrCat(
        "pod key part longer than 65535 bytes (container id starts \"",
        absl::string_view(pod.container_id).substr(0, 32), "\"): the journal cannot hold it"));
  }
  return absl::OkStatus();
}

}  // namespace internal

// JournaledDatastore
//
// A NodeDatastore whose every change is journaled before it is
// acknowledged. Reads go to datastore(). Movable, not copyable.
template <Clock C>
class JournaledDatastore {
 public:
  using clock_type = C;

  struct Options {
    AddressMode mode = AddressMode::kPrefix;
    absl::Duration ip_cooldown = absl::Seconds(30);
    Placement placement = Placement::kBestFit;
    JournalOptions journal;
    OtherKind other_kind = OtherKind::kKept;  // see NodeDatastore
    // The network card whose pool this journal keeps (its route tables;
    // NodeDatastore's constructor). The journal does not record it: each
    // card has its own journal file (multi_card.h, CardStorePath()).
    int network_card = 0;
  };

  // JournaledDatastore::Open()
  //
  // Opens (or creates) the journal at `path` and replays it. DATA_LOSS
  // naming the byte offset if it is corrupt before its tail (the file is
  // left as it was); FAILED_PRECONDITION for a newer format; the file
  // system's error if it cannot be read or written. A torn tail is cut off
  // and reported in replay_report().
  [[nodiscard]] static absl::StatusOr<JournaledDatastore> Open(std::string path, const C& clock,
                                                               Options options) {
    JournaledDatastore store(clock, options);
    ENIPOOL_ASSIGN_OR_RETURN(
        internal::OpenedJournal opened,
        internal::OpenJournal(std::move(path), clock, options.journal,
                              [&](const JournalRecord& record) {
                                absl::Status s =
                                    ApplyJournalRecord(store.datastore_, record, &store.specs_);
                                if (s.ok()) s = ApplyControllerRecord(store.controller_, record);
                                return s;
                              }));
    store.writer_ = std::move(opened.writer);
    store.report_ = std::move(opened.report);
    ReplayReport& report = store.report_;
    report.assignments = static_cast<std::int64_t>(store.datastore_.pod_count());
    std::int64_t cooling_all = 0;  // of both modes, unlike Stats()
    store.datastore_.ForEachCooling([&](Ipv4Address, absl::Time) { ++cooling_all; });
    report.cooling = cooling_all;
    return store;
  }

  JournaledDatastore(JournaledDatastore&&) noexcept = default;
  JournaledDatastore& operator=(JournaledDatastore&&) noexcept = default;

  // JournaledDatastore::AddEni()
  //
  // NodeDatastore::AddEni(), journaled. Errors as there, plus the file's.
  [[nodiscard]] absl::Status AddEni(const EniSpec& spec) {
    if (spec.subnet_id.size() > 0xFFFF) {
      return absl::InvalidArgumentError(absl::StrCat("ENI ", spec.id, ": subnet id too long"));
    }
    ENIPOOL_RETURN_IF_ERROR(writer_.broken());
    ENIPOOL_RETURN_IF_ERROR(datastore_.AddEni(spec));
    internal::EncodeAddEni(buffer_, spec);
    if (absl::Status s = Write(); !s.ok()) {
      (void)datastore_.RemoveEni(spec.id, /*force=*/false);
      return s;
    }
    specs_[spec.id] = spec;
    return Compacted();
  }

  // JournaledDatastore::SetEniExcluded()
  //
  // NodeDatastore::SetEniExcluded(), not journaled: whether an ENI is
  // excluded follows its subnet's tags, which a controller with subnet
  // discovery reads again at every start before its first pool check
  // (docs/reference-behavior.md §4.13).
  [[nodiscard]] absl::Status SetEniExcluded(absl::string_view eni_id, bool excluded) {
    ENIPOOL_RETURN_IF_ERROR(datastore_.SetEniExcluded(eni_id, excluded));
    if (const auto it = specs_.find(eni_id); it != specs_.end()) it->second.excluded = excluded;
    return absl::OkStatus();
  }

  // JournaledDatastore::RemoveEni()
  //
  // NodeDatastore::RemoveEni(), journaled.
  [[nodiscard]] absl::Status RemoveEni(absl::string_view eni_id, bool force) {
    ENIPOOL_RETURN_IF_ERROR(writer_.broken());
    ENIPOOL_ASSIGN_OR_RETURN(const EniView view, datastore_.FindEni(eni_id));
    if (view.pods > 0 && !force) return datastore_.RemoveEni(eni_id, false);  // its error
    internal::EncodeRemoveEni(buffer_, eni_id, force);
    return WriteThenApply([&] { return datastore_.RemoveEni(eni_id, force); },
                          [&] { specs_.erase(std::string(eni_id)); });
  }

  // JournaledDatastore::AddCidr()
  //
  // NodeDatastore::AddCidr(), journaled.
  [[nodiscard]] absl::Status AddCidr(absl::string_view eni_id, Ipv4Prefix cidr) {
    ENIPOOL_RETURN_IF_ERROR(writer_.broken());
    ENIPOOL_RETURN_IF_ERROR(datastore_.AddCidr(eni_id, cidr));
    internal::EncodeCidr(buffer_, JournalRecordType::kAddCidr, eni_id, cidr, false);
    if (absl::Status s = Write(); !s.ok()) {
      (void)datastore_.RemoveCidr(eni_id, cidr, /*force=*/false);
      return s;
    }
    return Compacted();
  }

  // JournaledDatastore::RemoveCidr()
  //
  // NodeDatastore::RemoveCidr(), journaled.
  [[nodiscard]] absl::Status RemoveCidr(absl::string_view eni_id, Ipv4Prefix cidr, bool force) {
    ENIPOOL_RETURN_IF_ERROR(writer_.broken());
    ENIPOOL_ASSIGN_OR_RETURN(const std::vector<CidrView> cidrs, datastore_.Cidrs(eni_id));
    bool found = false;
    for (const CidrView& v : cidrs) {
      if (v.cidr != cidr) continue;
      found = true;
      if (v.assigned > 0 && !force) return datastore_.RemoveCidr(eni_id, cidr, false);  // its error
    }
    if (!found) return datastore_.RemoveCidr(eni_id, cidr, force);  // NOT_FOUND, no change
    internal::EncodeCidr(buffer_, JournalRecordType::kRemoveCidr, eni_id, cidr, force);
    return WriteThenApply([&] { return datastore_.RemoveCidr(eni_id, cidr, force); }, [] {});
  }

  // JournaledDatastore::Assign()
  //
  // NodeDatastore::Assign(), journaled: when it returns an address, the
  // assignment is in the journal (and on disk under kEveryRecord). A pod
  // that already holds an address gets it back without a record.
  [[nodiscard]] absl::StatusOr<Assignment> Assign(const PodKey& pod) {
    if (auto held = datastore_.Lookup(pod); held.has_value()) return *held;
    ENIPOOL_RETURN_IF_ERROR(writer_.broken());
    ENIPOOL_RETURN_IF_ERROR(internal::CheckPodKeyFits(pod));
    const absl::Time now = clock_->Now();
    ENIPOOL_ASSIGN_OR_RETURN(Assignment assignment, datastore_.Assign(pod));
    internal::EncodeAssign(buffer_, pod, assignment.address, now);
    if (absl::Status s = Write(); !s.ok()) {
      // Undo: a release long ago leaves the address free, not cooling.
      (void)datastore_.ReleaseAt(pod, absl::InfinitePast());
      (void)datastore_.Stats();
      return s;
    }
    ENIPOOL_RETURN_IF_ERROR(Compacted());
    return assignment;
  }

  // JournaledDatastore::AssignAt()
  //
  // NodeDatastore::AssignAt(), journaled (checkpoint import goes through
  // here). On a failed write the address is restored as it was, cooldown
  // included.
  [[nodiscard]] absl::StatusOr<Assignment> AssignAt(const PodKey& pod, Ipv4Address address,
                                                    absl::Time assigned_at) {
    if (auto held = datastore_.Lookup(pod); held.has_value() && held->address == address) {
      return *held;
    }
    ENIPOOL_RETURN_IF_ERROR(CheckAssignAt(pod, address));
    std::optional<absl::Time> cooling_since;
    datastore_.ForEachCooling([&](Ipv4Address a, absl::Time t) {
      if (a == address) cooling_since = t;
    });
    ENIPOOL_ASSIGN_OR_RETURN(Assignment assignment, datastore_.AssignAt(pod, address, assigned_at));
    internal::EncodeAssign(buffer_, pod, address, assigned_at);
    if (absl::Status s = Write(); !s.ok()) {
      (void)datastore_.ReleaseAt(pod, absl::InfinitePast());
      if (cooling_since.has_value()) (void)datastore_.CoolAt(address, *cooling_since);
      (void)datastore_.Stats();
      return s;
    }
    ENIPOOL_RETURN_IF_ERROR(Compacted());
    return assignment;
  }

  // JournaledDatastore::CheckAssignAt()
  //
  // The error AssignAt(pod, address, …) would return now, without changing
  // or writing anything: the journal's (FAILED_PRECONDITION once unusable,
  // INVALID_ARGUMENT for a key part over 65,535 bytes), then the
  // datastore's (NodeDatastore::CheckAssignAt()). OK if it would succeed.
  [[nodiscard]] absl::Status CheckAssignAt(const PodKey& pod, Ipv4Address address) const {
    if (auto held = datastore_.Lookup(pod); held.has_value() && held->address == address) {
      return absl::OkStatus();
    }
    ENIPOOL_RETURN_IF_ERROR(writer_.broken());
    ENIPOOL_RETURN_IF_ERROR(internal::CheckPodKeyFits(pod));
    return datastore_.CheckAssignAt(pod, address);
  }

  // JournaledDatastore::Release()
  //
  // NodeDatastore::Release(), journaled: the record (with the release time)
  // is written first, then the address starts cooling.
  [[nodiscard]] absl::StatusOr<Assignment> Release(const PodKey& pod) {
    ENIPOOL_RETURN_IF_ERROR(writer_.broken());
    const absl::Time now = clock_->Now();
    if (!datastore_.Lookup(pod).has_value() &&
        !datastore_.Lookup(PodKey{"_migrated-from-cri", pod.container_id, "unknown"}).has_value()) {
      return datastore_.ReleaseAt(pod, now);  // NOT_FOUND, no change
    }
    internal::EncodeRelease(buffer_, pod, now);
    ENIPOOL_RETURN_IF_ERROR(Write());
    auto released = datastore_.ReleaseAt(pod, now);
    ENIPOOL_RETURN_IF_ERROR(Compacted());
    return released;
  }

  // JournaledDatastore::BeginIntent()
  //
  // Journals an intent of a NodeController (pool_store.h) and returns its
  // id (unique among the intents open at once; `intent.id` is ignored).
  // INVALID_ARGUMENT for an ENI id or CIDR list too long for a record; the
  // file's error (nothing is recorded).
  [[nodiscard]] absl::StatusOr<std::uint64_t> BeginIntent(PoolIntent intent) {
    ENIPOOL_RETURN_IF_ERROR(writer_.broken());
    if (intent.eni_id.size() > 0xFFFF || intent.cidrs.size() > 0xFFFF) {
      return absl::InvalidArgumentError(
          absl::StrCat("intent for ENI ", intent.eni_id.substr(0, 32), "…: too long to journal"));
    }
    intent.id = controller_.next_intent;
    internal::EncodeIntent(buffer_, intent);
    ENIPOOL_RETURN_IF_ERROR(Write());
    controller_.next_intent += 1;
    const std::uint64_t id = intent.id;
    controller_.intents.push_back(std::move(intent));
    ENIPOOL_RETURN_IF_ERROR(Compacted());
    return id;
  }

  // JournaledDatastore::EndIntent()
  //
  // Journals that an intent is done. NOT_FOUND for an id that is not open;
  // the file's error (the intent stays open).
  [[nodiscard]] absl::Status EndIntent(std::uint64_t id) {
    ENIPOOL_RETURN_IF_ERROR(writer_.broken());
    const auto it = std::find_if(controller_.intents.begin(), controller_.intents.end(),
                                 [id](const PoolIntent& i) { return i.id == id; });
    if (it == controller_.intents.end()) {
      return absl::NotFoundError(absl::StrCat("intent ", id, " is not open"));
    }
    internal::EncodeEndIntent(buffer_, id);
    ENIPOOL_RETURN_IF_ERROR(Write());
    controller_.intents.erase(it);
    return Compacted();
  }

  // JournaledDatastore::intents()
  //
  // The open intents, oldest first (after a restart: those left open).
  [[nodiscard]] const std::vector<PoolIntent>& intents() const noexcept {
    return controller_.intents;
  }

  // JournaledDatastore::SetMark() / mark()
  //
  // A controller time kept across restarts (pool_store.h). SetMark returns
  // the file's error (the mark keeps its old value).
  [[nodiscard]] absl::Status SetMark(ControllerMark mark, absl::Time time) {
    ENIPOOL_RETURN_IF_ERROR(writer_.broken());
    internal::EncodeMark(buffer_, mark, time);
    ENIPOOL_RETURN_IF_ERROR(Write());
    controller_.marks[static_cast<std::size_t>(mark) - 1] = time;
    return Compacted();
  }
  [[nodiscard]] std::optional<absl::Time> mark(ControllerMark mark) const {
    return controller_.marks[static_cast<std::size_t>(mark) - 1];
  }

  // JournaledDatastore::Snapshot()
  //
  // Compacts the journal: writes the whole state (ENIs, CIDRs, assignments
  // with their times, cooling addresses with their release times) to a new
  // file that atomically replaces the journal. O(state).
  [[nodiscard]] absl::Status Snapshot() {
    return internal::ReplaceWithSnapshot(
        writer_, *clock_,
        [this](std::uint64_t salt, std::uint64_t* records) { return SnapshotContents(salt, records); });
  }

  // JournaledDatastore::SnapshotContents()
  //
  // The bytes Snapshot() would write: a journal that rebuilds this state
  // (under the next salt; see the file comment).
  [[nodiscard]] std::string SnapshotContents() const {
    return SnapshotContents(internal::NextJournalSalt(writer_.salt()), nullptr);
  }

  // JournaledDatastore::Sync()
  //
  // Forces appended records to disk now (for kBatched / kNone callers that
  // want a durability point, e.g. on a timer).
  [[nodiscard]] absl::Status Sync() { return writer_.SyncNow(clock_->Now()); }

  [[nodiscard]] const NodeDatastore<C>& datastore() const noexcept { return datastore_; }
  [[nodiscard]] PoolStats Stats() const { return datastore_.Stats(); }
  [[nodiscard]] std::optional<Assignment> Lookup(const PodKey& pod) const {
    return datastore_.Lookup(pod);
  }
  [[nodiscard]] const ReplayReport& replay_report() const noexcept { return report_; }
  [[nodiscard]] JournalStats journal_stats() const { return writer_.stats(); }

 private:
  JournaledDatastore(const C& clock, const Options& options)
      : clock_(&clock),
        datastore_(options.mode, clock, options.ip_cooldown, options.placement,
                   options.other_kind, options.network_card) {}

  absl::Status Write() { return writer_.Append(buffer_, clock_->Now()); }

  std::string SnapshotContents(std::uint64_t salt, std::uint64_t* records) const {
    internal::SnapshotBuilder snapshot(salt);
    std::string record;
    auto add = [&] { snapshot.Add(record); };
    for (const EniView& view : datastore_.EniViews()) {
      const auto spec = specs_.find(view.id.view());
      EniSpec fallback{.id = view.id.ToString(), .device_number = view.device_number,
                       .primary = view.primary, .trunk = view.trunk, .efa = view.efa,
                       .excluded = view.excluded};
      internal::EncodeAddEni(record, spec != specs_.end() ? spec->second : fallback);
      add();
      const auto cidrs = datastore_.Cidrs(view.id.view());
      if (!cidrs.ok()) continue;
      for (const CidrView& cidr : *cidrs) {
        internal::EncodeCidr(record, JournalRecordType::kAddCidr, view.id.view(), cidr.cidr, false);
        add();
      }
    }
    datastore_.ForEachAssignment([&](const PodKey& pod, const Assignment& a, absl::Time at) {
      internal::EncodeAssign(record, pod, a.address, at);
      add();
    });
    datastore_.ForEachCooling([&](Ipv4Address address, absl::Time released) {
      internal::EncodeCooling(record, address, released);
      add();
    });
    for (const PoolIntent& intent : controller_.intents) {
      internal::EncodeIntent(record, intent);
      add();
    }
    for (int m = 1; m <= kControllerMarkCount; ++m) {
      const auto time = controller_.marks[static_cast<std::size_t>(m) - 1];
      if (!time.has_value()) continue;
      internal::EncodeMark(record, static_cast<ControllerMark>(m), *time);
      add();
    }
    if (records != nullptr) *records = snapshot.records();
    return std::move(snapshot).Take();
  }

  // Writes the record in buffer_, then applies the change
  // (internal::AppendThenApply).
  template <typename ApplyFn, typename OnSuccess>
  absl::Status WriteThenApply(ApplyFn apply, OnSuccess on_success) {
    return internal::AppendThenApply(writer_, *clock_, buffer_, apply, on_success,
                                     [this] { return Snapshot(); });
  }

  // internal::CompactIfDue.
  absl::Status Compacted() {
    return internal::CompactIfDue(writer_, [this] { return Snapshot(); });
  }

  const C* clock_;
  NodeDatastore<C> datastore_;
  absl::flat_hash_map<std::string, EniSpec> specs_;
  ControllerJournalState controller_;
  internal::JournalWriter writer_;
  ReplayReport report_;
  std::string buffer_;
};

}  // namespace enipool

#endif  // ENIPOOL_PERSIST_JOURNAL_H_
