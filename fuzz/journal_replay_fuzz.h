// Fuzz target: opening a journal file of arbitrary bytes. Most inputs get a
// valid header (salted with 0) in front (the first byte decides) so that the
// fuzzer spends its time on records. The oracle is an independent model of
// what the bytes mean (tests/testing/journal_replay_model.h: its own CRC-32C
// and decoder, the records' meaning applied to plain maps); nothing of the
// library's decoding or replay code is used to judge. Properties: no crash
// or UB; Open opens exactly the files the model opens, and refuses the
// others with the model's error class (DATA_LOSS, FAILED_PRECONDITION)
// without changing the file; a torn tail is cut where the model says; the
// opened store holds the model's ENIs, CIDRs, pods with their times, cooling
// addresses with their release times, pool counters, open intents and
// marks, satisfies the datastore's invariants, and gives the next intent
// the model's id; its snapshot means the same state to the model (subnet
// ids included) and reopens as the same store.
//
// The same bytes are also opened as an IPv6 node's journal
// (persist/ipv6_journal.h; CheckIpv6JournalReplay below). Properties: no
// crash or UB; a refusal is DATA_LOSS or FAILED_PRECONDITION and leaves the
// file unchanged; an opened file keeps a prefix of its bytes; the opened
// store hands no address to two pods, holds every pod's and every cooling
// address inside one of its prefixes and no address both assigned and
// cooling; its snapshot reopens as the same pods (with their times),
// cooldowns (with theirs), prefixes and ENIs; a new ADD after it gets an
// address no pod holds.

#ifndef ENIPOOL_FUZZ_JOURNAL_REPLAY_FUZZ_H_
#define ENIPOOL_FUZZ_JOURNAL_REPLAY_FUZZ_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/datastore.h"
#include "enipool/ipv6.h"
#include "enipool/ipv6_datastore.h"
#include "enipool/persist/ipv6_journal.h"
#include "enipool/persist/journal.h"
#include "fuzz_check.h"
#include "../tests/testing/journal_replay_model.h"
#include "../tests/testing/memory_file_system.h"

namespace enipool::fuzz {

namespace model = ::enipool::testing::journal_model;

inline constexpr std::int64_t kReplayNowNs = std::int64_t{1'700'000'000} * 1'000'000'000;
inline constexpr std::int64_t kReplayCooldownNs = std::int64_t{30} * 1'000'000'000;

// What a replayed journal holds, in the model's terms, whoever computed it.
struct ReplayedState {
  std::map<std::string, std::tuple<int, bool, bool, bool, bool>> enis;  // device, flags
  std::map<model::Prefix, std::string> cidrs;
  std::map<model::Pod, std::pair<std::uint32_t, std::int64_t>> pods;
  std::map<std::uint32_t, std::int64_t> cooling;
  std::vector<model::Intent> intents;
  std::array<std::optional<std::int64_t>, 3> marks{};
  PoolStats stats;
  friend bool operator==(const ReplayedState&, const ReplayedState&) = default;
};

inline ReplayedState StateOf(const JournaledDatastore<ManualClock>& store) {
  const NodeDatastore<ManualClock>& ds = store.datastore();
  ReplayedState s;
  for (const EniView& v : ds.EniViews()) {
    s.enis[v.id.ToString()] = {v.device_number, v.primary, v.trunk, v.efa, v.excluded};
    auto cidrs = ds.Cidrs(v.id.view());
    ENIPOOL_FUZZ_CHECK(cidrs.ok(), cidrs.status().ToString());
    for (const CidrView& c : *cidrs) s.cidrs[{c.cidr.network().value(), c.cidr.length()}] = v.id.ToString();
  }
  ds.ForEachAssignment([&](const PodKey& pod, const Assignment& a, absl::Time at) {
    s.pods[{pod.network_name, pod.container_id, pod.if_name}] = {a.address.value(),
                                                                absl::ToUnixNanos(at)};
  });
  ds.ForEachCooling([&](Ipv4Address a, absl::Time t) { s.cooling[a.value()] = absl::ToUnixNanos(t); });
  for (const PoolIntent& i : store.intents()) {
    model::Intent mi{i.id, static_cast<int>(i.kind), i.eni_id, {}};
    for (const Ipv4Prefix& c : i.cidrs) mi.cidrs.emplace_back(c.network().value(), c.length());
    s.intents.push_back(std::move(mi));
  }
  for (int m = 1; m <= 3; ++m) {
    if (auto t = store.mark(static_cast<ControllerMark>(m)); t.has_value()) {
      s.marks[static_cast<std::size_t>(m) - 1] = absl::ToUnixNanos(*t);
    }
  }
  s.stats = ds.Stats();
  return s;
}

// The same, from the model: the pool counters by brute force over its CIDRs
// (docs/reference-behavior.md §1.5: addresses of the mode on non-excluded
// ENIs; prefixes of both modes, excluded ENIs apart).
inline ReplayedState StateOf(const model::State& m, bool prefix_mode) {
  ReplayedState s;
  for (const auto& [id, e] : m.enis) s.enis[id] = {e.device, e.primary, e.trunk, e.efa, e.excluded};
  s.cidrs = m.cidrs;
  s.pods = m.pods;
  s.cooling = m.Cooling(kReplayNowNs, kReplayCooldownNs);
  s.intents = m.intents;
  s.marks = m.marks;
  for (const auto& [id, e] : m.enis) (e.excluded ? s.stats.excluded_enis : s.stats.enis) += 1;
  for (const auto& [cidr, id] : m.cidrs) {
    const bool excluded = m.enis.at(id).excluded;
    const bool used = m.HasPods(cidr);
    if (cidr.second == 28) {
      (excluded ? s.stats.excluded_prefixes : s.stats.total_prefixes) += 1;
      if (!used) (excluded ? s.stats.excluded_free_prefixes : s.stats.free_prefixes) += 1;
    }
    if (excluded || (cidr.second == 28) != prefix_mode) continue;
    const std::uint32_t size = cidr.second == 28 ? 16 : 1;
    s.stats.total_ips += size;
    for (std::uint32_t i = 0; i < size; ++i) {
      s.stats.assigned_ips += m.Held(cidr.first + i) ? 1 : 0;
      s.stats.cooling_ips += s.cooling.contains(cidr.first + i) ? 1 : 0;
    }
  }
  s.stats.available_ips = s.stats.total_ips - s.stats.assigned_ips;
  return s;
}

inline std::string Describe(const ReplayedState& s) {
  std::string text = absl::StrCat(s.enis.size(), " ENIs, ", s.cidrs.size(), " CIDRs, ",
                                  s.pods.size(), " pods, ", s.cooling.size(), " cooling, ",
                                  s.intents.size(), " intents; ", s.stats.ToString());
  for (const auto& [pod, held] : s.pods) {
    absl::StrAppend(&text, "; pod ", std::get<1>(pod), " on ", held.first, " since ", held.second);
  }
  for (const auto& [address, at] : s.cooling) absl::StrAppend(&text, "; cooling ", address, " since ", at);
  for (std::size_t m = 0; m < s.marks.size(); ++m) {
    if (s.marks[m].has_value()) absl::StrAppend(&text, "; mark ", m + 1, " at ", *s.marks[m]);
  }
  return text;
}

// An IPv6 journal's content, to compare two opens of it.
struct Ipv6ReplayedState {
  std::vector<std::pair<std::string, std::string>> prefixes;  // ENI, prefix text
  std::map<model::Pod, std::pair<std::string, std::int64_t>> pods;
  std::map<std::string, std::int64_t> cooling;
  friend bool operator==(const Ipv6ReplayedState&, const Ipv6ReplayedState&) = default;
};

inline Ipv6ReplayedState StateOf(const Ipv6Datastore<ManualClock>& ds) {
  Ipv6ReplayedState s;
  for (const auto& [eni, prefix] : ds.Prefixes()) s.prefixes.emplace_back(eni.ToString(), prefix.ToString());
  ds.ForEachAssignment([&](const PodKey& pod, const Ipv6Assignment& a, absl::Time at) {
    s.pods[{pod.network_name, pod.container_id, pod.if_name}] = {a.address.ToString(),
                                                                absl::ToUnixNanos(at)};
  });
  ds.ForEachCooling([&](Ipv6Address a, absl::Time t) { s.cooling[a.ToString()] = absl::ToUnixNanos(t); });
  return s;
}

// The IPv6 store's invariants: no address twice, every address in a prefix,
// none both assigned and cooling.
inline void CheckIpv6Invariants(const Ipv6Datastore<ManualClock>& ds) {
  const auto prefixes = ds.Prefixes();
  auto inside = [&](Ipv6Address a) {
    for (const auto& [eni, p] : prefixes) {
      if (p.Contains(a)) return true;
    }
    return false;
  };
  std::map<Ipv6Address, PodKey> held;
  ds.ForEachAssignment([&](const PodKey& pod, const Ipv6Assignment& a, absl::Time) {
    ENIPOOL_FUZZ_CHECK(inside(a.address), a.address.ToString(), " is in no prefix");
    const auto [it, fresh] = held.emplace(a.address, pod);
    ENIPOOL_FUZZ_CHECK(fresh, a.address.ToString(), " held by ", it->second.ToString(), " and ",
                       pod.ToString());
  });
  ds.ForEachCooling([&](Ipv6Address a, absl::Time) {
    ENIPOOL_FUZZ_CHECK(inside(a), "cooling ", a.ToString(), " is in no prefix");
    ENIPOOL_FUZZ_CHECK(!held.contains(a), a.ToString(), " is both assigned and cooling");
  });
}

inline void CheckIpv6JournalReplay(const std::string& file) {
  ManualClock clock(absl::FromUnixNanos(kReplayNowNs));
  testing::MemoryFileSystem fs;
  fs.files["/journal"].data = file;
  using Store6 = JournaledIpv6Datastore<ManualClock>;
  Store6::Options options;
  options.ip_cooldown = absl::Nanoseconds(kReplayCooldownNs);
  options.journal.file_system = &fs;
  auto store = Store6::Open("/journal", clock, options);
  if (!store.ok()) {
    ENIPOOL_FUZZ_CHECK(store.status().code() == absl::StatusCode::kDataLoss ||
                           store.status().code() == absl::StatusCode::kFailedPrecondition,
                       "IPv6 Open says ", store.status().ToString());
    ENIPOOL_FUZZ_CHECK(fs.files["/journal"].data == file, "a refused IPv6 journal was changed");
    return;
  }
  const ReplayReport& report = store->replay_report();
  const std::uint64_t kept = file.size() - report.torn_bytes;
  ENIPOOL_FUZZ_CHECK(report.torn_bytes <= file.size() &&
                         fs.files["/journal"].data.substr(0, kept) == file.substr(0, kept),
                     "the kept part of the IPv6 journal changed: ", report.ToString());
  CheckIpv6Invariants(store->datastore());
  const Ipv6ReplayedState state = StateOf(store->datastore());
  testing::MemoryFileSystem snapshot_fs;
  snapshot_fs.files["/journal"].data = store->SnapshotContents();
  options.journal.file_system = &snapshot_fs;
  auto rebuilt = Store6::Open("/journal", clock, options);
  ENIPOOL_FUZZ_CHECK(rebuilt.ok(), "IPv6 snapshot does not open: ", rebuilt.status().ToString());
  ENIPOOL_FUZZ_CHECK(StateOf(rebuilt->datastore()) == state, "IPv6 snapshot does not rebuild the state");
  if (!state.prefixes.empty()) {
    const auto fresh = store->Assign(PodKey{"fuzz", "new-pod", "eth0"});
    if (fresh.ok()) {
      for (const auto& [pod, held] : state.pods) {
        ENIPOOL_FUZZ_CHECK(held.first != fresh->address.ToString() || std::get<1>(pod) == "new-pod",
                           "a new ADD got ", held.first, ", held by ", std::get<1>(pod));
      }
      CheckIpv6Invariants(store->datastore());
    }
  }
}

inline int FuzzJournalReplay(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool add_header = (data[0] & 1) != 0;
  const bool prefix_mode = (data[0] & 2) != 0;
  std::string file = add_header ? internal::JournalHeader(/*salt=*/0) : std::string();
  file.append(reinterpret_cast<const char*>(data + 1), size - 1);
  CheckIpv6JournalReplay(file);

  const model::Result expected = model::Replay(file);

  ManualClock clock(absl::FromUnixNanos(kReplayNowNs));
  testing::MemoryFileSystem fs;
  fs.files["/journal"].data = file;
  using Store = JournaledDatastore<ManualClock>;
  Store::Options options;
  options.mode = prefix_mode ? AddressMode::kPrefix : AddressMode::kSecondaryIp;
  options.ip_cooldown = absl::Nanoseconds(kReplayCooldownNs);
  options.journal.file_system = &fs;
  auto store = Store::Open("/journal", clock, options);
  const absl::StatusCode want_code = expected.outcome == model::Outcome::kOpens ? absl::StatusCode::kOk
                                     : expected.outcome == model::Outcome::kDataLoss
                                         ? absl::StatusCode::kDataLoss
                                         : absl::StatusCode::kFailedPrecondition;
  ENIPOOL_FUZZ_CHECK(store.status().code() == want_code, "Open says ", store.status().ToString(),
                     " but the model says ", absl::StatusCodeToString(want_code), " (",
                     expected.why, ")");
  if (!store.ok()) {
    ENIPOOL_FUZZ_CHECK(fs.files["/journal"].data == file, "a refused journal was changed");
    return 0;
  }

  // The torn tail is cut where the model says (a torn header starts a new file).
  const ReplayReport& report = store->replay_report();
  ENIPOOL_FUZZ_CHECK(report.records == expected.records, report.ToString(), " but the model replays ",
                     expected.records, " records");
  ENIPOOL_FUZZ_CHECK(report.created == (expected.valid_bytes == 0), report.ToString());
  ENIPOOL_FUZZ_CHECK(report.torn_bytes == file.size() - expected.valid_bytes, report.ToString(),
                     " but the model keeps ", expected.valid_bytes, " of ", file.size(), " bytes");
  const std::uint64_t kept = expected.valid_bytes == 0 ? 20 : expected.valid_bytes;
  ENIPOOL_FUZZ_CHECK(fs.files["/journal"].data.size() == kept && report.valid_bytes == kept,
                     "torn tail not cut where the model says: ", report.ToString());
  ENIPOOL_FUZZ_CHECK(fs.files["/journal"].data.substr(0, expected.valid_bytes) ==
                         file.substr(0, expected.valid_bytes),
                     "the kept part of the journal changed");

  // The state is the model's.
  const absl::Status invariants = store->datastore().CheckInvariants();
  ENIPOOL_FUZZ_CHECK(invariants.ok(), invariants.ToString());
  const ReplayedState state = StateOf(*store);
  const ReplayedState want = StateOf(expected.state, prefix_mode);
  ENIPOOL_FUZZ_CHECK(state == want, "Open and the model disagree: Open has ", Describe(state),
                     "; the model has ", Describe(want));

  // The snapshot means the same to the model (subnet ids included: the views
  // do not show them) and reopens as the same store.
  const std::string snapshot = store->SnapshotContents();
  const model::Result rebuilt_model = model::Replay(snapshot);
  ENIPOOL_FUZZ_CHECK(rebuilt_model.outcome == model::Outcome::kOpens &&
                         rebuilt_model.valid_bytes == snapshot.size(),
                     "the model refuses the snapshot: ", rebuilt_model.why);
  ENIPOOL_FUZZ_CHECK(rebuilt_model.state.enis == expected.state.enis, "the snapshot's ENIs differ");
  ENIPOOL_FUZZ_CHECK(StateOf(rebuilt_model.state, prefix_mode) == want,
                     "the snapshot means another state: ", Describe(StateOf(rebuilt_model.state, prefix_mode)));
  testing::MemoryFileSystem snapshot_fs;
  snapshot_fs.files["/journal"].data = snapshot;
  options.journal.file_system = &snapshot_fs;
  auto rebuilt = Store::Open("/journal", clock, options);
  ENIPOOL_FUZZ_CHECK(rebuilt.ok(), "snapshot does not open: ", rebuilt.status().ToString());
  ENIPOOL_FUZZ_CHECK(StateOf(*rebuilt) == state, "snapshot does not rebuild the state");

  // The next intent gets an id past every id the journal began.
  auto next = store->BeginIntent(PoolIntent{.kind = PoolIntentKind::kCreateEni});
  ENIPOOL_FUZZ_CHECK(next.ok() && *next == expected.state.next_intent, "next intent id ",
                     next.ok() ? absl::StrCat(*next) : next.status().ToString(), ", the model says ",
                     expected.state.next_intent);
  return 0;
}

}  // namespace enipool::fuzz

#endif  // ENIPOOL_FUZZ_JOURNAL_REPLAY_FUZZ_H_
