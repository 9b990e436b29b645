// -----------------------------------------------------------------------------
// File: persist/ipv6_journal.h
// -----------------------------------------------------------------------------
//
// `JournaledIpv6Datastore`: an `Ipv6Datastore` (ipv6_datastore.h) whose every
// change is in a journal before it is acknowledged, so that an IPv6 node
// killed at any moment restarts with every acknowledged pod, every running
// cooldown, and no address handed to two pods. It is the IPv6 node's
// durable store: `Ipv6NodeController<C, JournaledIpv6Datastore<C>>`
// (ipv6_node.h), which a NodeAgent runs (agent.h).
//
// Why the journal and not a rewritten checkpoint. The reference rewrites its
// JSON checkpoint (temporary file, fsync, rename) after every ADD and DEL
// (docs/reference-behavior.md §8.1): O(pods) per change, and no release
// times, so cooldowns are lost. The IPv4 journal (persist/journal.h)
// already solves both — one checksummed record per change, O(1), sequence
// numbers under a per-file salt that tell a torn tail from damage,
// snapshots that compact the file by atomic replacement, sync policies, the
// rollback of a change whose record cannot be written — and nothing in it is
// IPv4-specific but the record payloads. So the IPv6 node reuses the same
// file format, reader and writer (persist/journal_format.h) with three
// record kinds of its own (kAddIpv6Prefix, kAssignIpv6, kCoolingIpv6; kAddEni
// and kRelease serve both families), and one fuzz target and one set of
// recovery rules cover both.
//
// What is journaled: the ENI and the /80 the node serves from, each pod's
// address with its assigned time, each release with its time; a snapshot
// writes ENI, prefix, assignments and cooling addresses with their release
// times. At a restart the journal is replayed at once (DEL works before
// EC2 has answered); the controller then reads the /80 back from EC2 and
// keeps the replayed pods only if the ENI still holds that /80, otherwise
// it clears the store (Clear(): the addresses are stale, as the reference
// drops checkpoint entries outside its /80,
// docs/reference-behavior.md §8.2).
//
// A record of an IPv4 node's journal (a CIDR, an IPv4 assignment, an
// intent) in the file is DATA_LOSS naming its byte offset, file untouched:
// an IPv4 journal opened as an IPv6 one is refused, not half-replayed (and
// JournaledDatastore refuses an IPv6 journal the same way).
//
// Example:
//
//   enipool::RealClock clock;
//   ENIPOOL_ASSIGN_OR_RETURN(auto store, enipool::JournaledIpv6Datastore<enipool::RealClock>::Open(
//                                            "/var/lib/enipool/journal", clock, {}));
//   enipool::Ipv6NodeController<enipool::RealClock, enipool::JournaledIpv6Datastore<enipool::RealClock>>
//       node(clock, config, std::move(store));
//   ENIPOOL_RETURN_IF_ERROR(enipool::RunIpv6Startup(node, ec2));  // the /80, pods restored
//   auto a = node.AddPod({"aws-cni", sandbox_id, "eth0"});          // durable when it returns
//
// Durability, failures and recovery rules: those of persist/journal.h
// (SyncPolicy, a failed write rolls the change back, a failed sync makes the
// journal refuse changes until reopened).
//
// Thread-safety: none (one per node; NodeAgent holds it under its lock).

#ifndef ENIPOOL_PERSIST_IPV6_JOURNAL_H_
#define ENIPOOL_PERSIST_IPV6_JOURNAL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/datastore.h"
#include "enipool/ipv6.h"
#include "enipool/ipv6_datastore.h"
#include "enipool/persist/journal.h"
#include "enipool/persist/journal_format.h"
#include "enipool/pod_key.h"
#include "enipool/status.h"

namespace enipool {

// ApplyIpv6JournalRecord()
//
// Applies one replayed record of an IPv6 node's journal to `datastore`;
// DATA_LOSS naming the record's offset if it does not apply or belongs to
// an IPv4 node's journal. `specs`, when given, collects the ENI specs.
template <Clock C>
[[nodiscard]] absl::Status ApplyIpv6JournalRecord(Ipv6Datastore<C>& datastore,
                                                  const JournalRecord& r,
                                                  std::vector<EniSpec>* specs) {
  absl::Status status;
  switch (r.type) {
    case JournalRecordType::kAddEni:
      status = datastore.AddEni(r.eni);
      if (status.ok() && specs != nullptr) specs->push_back(r.eni);
      break;
    case JournalRecordType::kAddIpv6Prefix:
      status = datastore.AddPrefix(r.eni.id, r.prefix6);
      break;
    case JournalRecordType::kAssignIpv6:
      status = datastore.AssignAt(r.pod, r.address6, r.time).status();
      break;
    case JournalRecordType::kRelease:
      status = datastore.ReleaseAt(r.pod, r.time).status();
      break;
    case JournalRecordType::kCoolingIpv6:
      status = datastore.CoolAt(r.address6, r.time);
      break;
    default:
      status = absl::FailedPreconditionError(
          "it is a record of an IPv4 node's journal (persist/journal.h)");
      break;
  }
  if (status.ok()) return status;
  return absl::DataLossError(absl::StrCat("journal record at byte offset ", r.offset, " (",
                                          r.ToString(), ") does not apply: ", status.message()));
}

// JournaledIpv6Datastore
//
// See the file comment. Models Ipv6PoolStore. Movable, not copyable.
template <Clock C>
class JournaledIpv6Datastore {
 public:
  using clock_type = C;

  struct Options {
    absl::Duration ip_cooldown = absl::Seconds(30);  // IP_COOLDOWN_PERIOD
    JournalOptions journal;
  };

  // JournaledIpv6Datastore::Open()
  //
  // Opens (or creates) the journal at `path` and replays it. DATA_LOSS
  // naming the byte offset if it is corrupt before its tail or holds a
  // record that does not apply (an IPv4 node's journal among them): the
  // file is left as it was; FAILED_PRECONDITION for another format version;
  // the file system's error. A torn tail is cut off and reported in
  // replay_report().
  [[nodiscard]] static absl::StatusOr<JournaledIpv6Datastore> Open(std::string path,
                                                                   const C& clock,
                                                                   Options options) {
    JournaledIpv6Datastore store(clock, options);
    ENIPOOL_ASSIGN_OR_RETURN(
        internal::OpenedJournal opened,
        internal::OpenJournal(std::move(path), clock, options.journal,
                              [&](const JournalRecord& record) {
                                return ApplyIpv6JournalRecord(store.datastore_, record,
                                                              &store.specs_);
                              }));
    store.writer_ = std::move(opened.writer);
    store.report_ = std::move(opened.report);
    store.report_.assignments = static_cast<std::int64_t>(store.datastore_.pod_count());
    std::int64_t cooling = 0;
    store.datastore_.ForEachCooling([&](Ipv6Address, absl::Time) { ++cooling; });
    store.report_.cooling = cooling;
    return store;
  }

  JournaledIpv6Datastore(JournaledIpv6Datastore&&) noexcept = default;
  JournaledIpv6Datastore& operator=(JournaledIpv6Datastore&&) noexcept = default;

  // JournaledIpv6Datastore::AddEni()
  //
  // Ipv6Datastore::AddEni(), journaled. Errors as there, plus the file's.
  [[nodiscard]] absl::Status AddEni(const EniSpec& spec) {
    if (spec.id.size() > 0xFFFF || spec.subnet_id.size() > 0xFFFF) {
      return absl::InvalidArgumentError(
          absl::StrCat("ENI ", absl::string_view(spec.id).substr(0, 32), ": id too long"));
    }
    ENIPOOL_RETURN_IF_ERROR(writer_.broken());
    internal::EncodeAddEni(buffer_, spec);
    return WriteThenApply([&] { return datastore_.AddEni(spec); },
                          [&] { specs_.push_back(spec); });
  }

  // JournaledIpv6Datastore::AddPrefix()
  //
  // Ipv6Datastore::AddPrefix(), journaled.
  [[nodiscard]] absl::Status AddPrefix(absl::string_view eni_id, Ipv6Prefix prefix) {
    if (eni_id.size() > 0xFFFF) return absl::InvalidArgumentError("ENI id too long");
    ENIPOOL_RETURN_IF_ERROR(writer_.broken());
    internal::EncodeAddIpv6Prefix(buffer_, eni_id, prefix);
    return WriteThenApply([&] { return datastore_.AddPrefix(eni_id, prefix); }, [] {});
  }

  // JournaledIpv6Datastore::Assign()
  //
  // Ipv6Datastore::Assign(), journaled: when it returns an address, the
  // assignment is in the journal (and on disk under kEveryRecord). A pod
  // that already holds an address gets it back without a record. On a
  // failed write the address is free again and the error returned.
  [[nodiscard]] absl::StatusOr<Ipv6Assignment> Assign(const PodKey& pod) {
    if (auto held = datastore_.Lookup(pod); held.has_value()) return *held;
    ENIPOOL_RETURN_IF_ERROR(writer_.broken());
    ENIPOOL_RETURN_IF_ERROR(internal::CheckPodKeyFits(pod));
    const absl::Time now = clock_->Now();
    ENIPOOL_ASSIGN_OR_RETURN(Ipv6Assignment assignment, datastore_.Assign(pod));
    internal::EncodeAssignIpv6(buffer_, pod, assignment.address, now);
    if (absl::Status s = Write(); !s.ok()) {
      (void)datastore_.Unassign(pod);
      return s;
    }
    ENIPOOL_RETURN_IF_ERROR(Compacted());
    return assignment;
  }

  // JournaledIpv6Datastore::Release()
  //
  // Ipv6Datastore::Release(), journaled: the record (with the release time)
  // is written first, then the address starts cooling. NOT_FOUND, with
  // nothing written, for a pod without an address.
  [[nodiscard]] absl::StatusOr<Ipv6Assignment> Release(const PodKey& pod) {
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

  // JournaledIpv6Datastore::Clear()
  //
  // Forgets everything, durably: the journal is replaced by an empty one
  // (atomically: temporary file, fsync, rename, fsync of the directory),
  // then the store is emptied. On error the store is unchanged, unless the
  // replacement did happen (then the store is emptied too, so that it
  // matches the file) — in both cases the store and the file agree.
  [[nodiscard]] absl::Status Clear() {
    ENIPOOL_RETURN_IF_ERROR(writer_.broken());
    const std::uint64_t salt = internal::NextJournalSalt(writer_.salt());
    const absl::Status replaced =
        writer_.Replace(internal::JournalHeader(salt), salt, 0, clock_->Now());
    if (replaced.ok() || writer_.salt() == salt) {
      (void)datastore_.Clear();
      specs_.clear();
    }
    return replaced;
  }

  // JournaledIpv6Datastore::Snapshot()
  //
  // Compacts the journal: the whole state in a new file that atomically
  // replaces it. O(state).
  [[nodiscard]] absl::Status Snapshot() {
    return internal::ReplaceWithSnapshot(
        writer_, *clock_,
        [this](std::uint64_t salt, std::uint64_t* records) { return SnapshotContents(salt, records); });
  }

  // JournaledIpv6Datastore::SnapshotContents()
  //
  // The bytes Snapshot() would write (under the next salt).
  [[nodiscard]] std::string SnapshotContents() const {
    return SnapshotContents(internal::NextJournalSalt(writer_.salt()), nullptr);
  }

  // JournaledIpv6Datastore::Sync()
  //
  // Forces appended records to disk now (for kBatched / kNone).
  [[nodiscard]] absl::Status Sync() { return writer_.SyncNow(clock_->Now()); }

  [[nodiscard]] const Ipv6Datastore<C>& datastore() const noexcept { return datastore_; }
  [[nodiscard]] Ipv6PoolStats Stats() const { return datastore_.Stats(); }
  [[nodiscard]] std::optional<Ipv6Assignment> Lookup(const PodKey& pod) const {
    return datastore_.Lookup(pod);
  }
  [[nodiscard]] const ReplayReport& replay_report() const noexcept { return report_; }
  [[nodiscard]] JournalStats journal_stats() const { return writer_.stats(); }

 private:
  JournaledIpv6Datastore(const C& clock, const Options& options)
      : clock_(&clock), datastore_(clock, options.ip_cooldown) {}

  absl::Status Write() { return writer_.Append(buffer_, clock_->Now()); }

  std::string SnapshotContents(std::uint64_t salt, std::uint64_t* records) const {
    internal::SnapshotBuilder snapshot(salt);
    std::string record;
    auto add = [&] { snapshot.Add(record); };
    const std::vector<std::pair<EniId, Ipv6Prefix>> prefixes = datastore_.Prefixes();
    for (const EniSpec& spec : specs_) {
      internal::EncodeAddEni(record, spec);
      add();
      for (const auto& [eni, prefix] : prefixes) {
        if (eni != absl::string_view(spec.id)) continue;
        internal::EncodeAddIpv6Prefix(record, spec.id, prefix);
        add();
      }
    }
    datastore_.ForEachAssignment([&](const PodKey& pod, const Ipv6Assignment& a, absl::Time at) {
      internal::EncodeAssignIpv6(record, pod, a.address, at);
      add();
    });
    datastore_.ForEachCooling([&](Ipv6Address address, absl::Time released) {
      internal::EncodeCoolingIpv6(record, address, released);
      add();
    });
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
  Ipv6Datastore<C> datastore_;
  std::vector<EniSpec> specs_;  // in the order added
  internal::JournalWriter writer_;
  ReplayReport report_;
  std::string buffer_;
};

}  // namespace enipool

#endif  // ENIPOOL_PERSIST_IPV6_JOURNAL_H_
