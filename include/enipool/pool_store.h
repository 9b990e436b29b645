// -----------------------------------------------------------------------------
// File: pool_store.h
// -----------------------------------------------------------------------------
//
// `PoolStore`: what `NodeController` needs from the store that holds the
// node's pool, so the same controller runs on the in-memory `NodeDatastore`
// and on the journaled store (persist/journal.h), where every change to the
// pool is durable before the controller goes on. `DurablePoolStore` adds
// what a controller needs to survive a restart: intents written before
// multi-call EC2 sequences, and a few controller timers.
//
// Example:
//
//   static_assert(enipool::PoolStore<enipool::NodeDatastore<enipool::RealClock>>);
//   static_assert(enipool::DurablePoolStore<enipool::JournaledDatastore<enipool::RealClock>>);
//
//   template <enipool::PoolStore S>
//   absl::Status AddPrimary(S& store) {
//     return store.AddEni({.id = "eni-0a1b", .device_number = 0, .primary = true});
//   }
//
// The split: every change goes through the store's member functions
// (AddEni, RemoveEni, AddCidr, RemoveCidr, Assign, Release, with
// NodeDatastore's meaning and errors; a durable store may also fail with
// its I/O error, and then changes nothing); every read goes through
// `datastore()`, the `const NodeDatastore&` the store keeps in memory (its
// Stats(), generation(), EniViews(), FindEni(), Cidrs(), Lookup(),
// ForEachAssignment()). Reads therefore cost what they cost on a bare
// datastore, whatever the store.

#ifndef ENIPOOL_POOL_STORE_H_
#define ENIPOOL_POOL_STORE_H_

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/datastore.h"
#include "enipool/ipv4.h"
#include "enipool/pod_key.h"

namespace enipool {

// PoolStore
//
// A store a NodeController can own (see the file comment):
//   using clock_type = C;                                   // a Clock
//   const NodeDatastore<C>& datastore() const;              // every read
//   absl::Status AddEni(const EniSpec&);
//   absl::Status RemoveEni(absl::string_view eni_id, bool force);
//   absl::Status AddCidr(absl::string_view eni_id, Ipv4Prefix cidr);
//   absl::Status RemoveCidr(absl::string_view eni_id, Ipv4Prefix cidr, bool force);
//   absl::StatusOr<Assignment> Assign(const PodKey&);
//   absl::StatusOr<Assignment> Release(const PodKey&);
// NodeDatastore (whose datastore() is itself) and JournaledDatastore model it.
template <typename S>
concept PoolStore =
    Clock<typename S::clock_type> &&
    requires(S& store, const S& const_store, const EniSpec& spec, absl::string_view eni_id,
             Ipv4Prefix cidr, bool force, const PodKey& pod) {
      { const_store.datastore() } -> std::same_as<const NodeDatastore<typename S::clock_type>&>;
      { store.AddEni(spec) } -> std::same_as<absl::Status>;
      { store.RemoveEni(eni_id, force) } -> std::same_as<absl::Status>;
      { store.AddCidr(eni_id, cidr) } -> std::same_as<absl::Status>;
      { store.RemoveCidr(eni_id, cidr, force) } -> std::same_as<absl::Status>;
      { store.Assign(pod) } -> std::same_as<absl::StatusOr<Assignment>>;
      { store.Release(pod) } -> std::same_as<absl::StatusOr<Assignment>>;
    };

// PoolIntentKind
//
// An EC2 sequence a durable controller writes down before it makes the
// first call, so that a restart in the middle can finish it (see
// controller.h, "Restart").
enum class PoolIntentKind : std::uint8_t {
  kCreateEni = 1,  // CreateNetworkInterface sent; the new ENI's id is not known yet
  kAttachEni = 2,  // `eni_id` created, its attach not yet applied to the pool
  kFreeEni = 3,    // `eni_id` left the pool; detach and delete to follow
  kUnassign = 4,   // `cidrs` left `eni_id` in the pool; their unassign to follow
};

inline absl::string_view PoolIntentKindName(PoolIntentKind kind) {
  switch (kind) {
    case PoolIntentKind::kCreateEni:
      return "create-eni";
    case PoolIntentKind::kAttachEni:
      return "attach-eni";
    case PoolIntentKind::kFreeEni:
      return "free-eni";
    case PoolIntentKind::kUnassign:
      return "unassign";
  }
  return "unknown";
}

// PoolIntent
//
// One open intent. `id` is given by the store (BeginIntent), unique among
// the intents open at once (restarts included).
struct PoolIntent {
  std::uint64_t id = 0;
  PoolIntentKind kind = PoolIntentKind::kCreateEni;
  std::string eni_id;              // empty for kCreateEni
  std::vector<Ipv4Prefix> cidrs;   // kUnassign only

  [[nodiscard]] std::string ToString() const {
    std::string text = absl::StrCat("intent ", id, " ", PoolIntentKindName(kind));
    if (!eni_id.empty()) absl::StrAppend(&text, " ", eni_id);
    if (!cidrs.empty()) {
      absl::StrAppend(&text, " [",
                      absl::StrJoin(cidrs, ",",
                                    [](std::string* out, const Ipv4Prefix& p) {
                                      out->append(p.ToString());
                                    }),
                      "]");
    }
    return text;
  }
  friend bool operator==(const PoolIntent&, const PoolIntent&) = default;
};

// ControllerMark
//
// Controller times a durable store keeps across a restart: the two pool
// timers (so a restart neither shrinks within 30 s of the last decrease nor
// grows within 120 s of an insufficient-address answer) and when a
// reference checkpoint was imported (so it is imported once).
enum class ControllerMark : std::uint8_t {
  kLastDecrease = 1,
  kLastInsufficientAddresses = 2,
  kCheckpointImported = 3,
};
inline constexpr int kControllerMarkCount = 3;

// DurablePoolStore
//
// A PoolStore that also keeps, durably:
//   absl::StatusOr<std::uint64_t> BeginIntent(PoolIntent);   // id ignored; returns the new id
//   absl::Status EndIntent(std::uint64_t id);                 // NOT_FOUND for an unknown id
//   const std::vector<PoolIntent>& intents() const;           // the open ones, oldest first
//   absl::Status SetMark(ControllerMark, absl::Time);
//   std::optional<absl::Time> mark(ControllerMark) const;
// JournaledDatastore models it. Each call returns only when its record is
// written (and synced per the store's policy).
template <typename S>
concept DurablePoolStore =
    PoolStore<S> && requires(S& store, const S& const_store, PoolIntent intent, std::uint64_t id,
                             ControllerMark mark, absl::Time time) {
      { store.BeginIntent(intent) } -> std::same_as<absl::StatusOr<std::uint64_t>>;
      { store.EndIntent(id) } -> std::same_as<absl::Status>;
      { const_store.intents() } -> std::same_as<const std::vector<PoolIntent>&>;
      { store.SetMark(mark, time) } -> std::same_as<absl::Status>;
      { const_store.mark(mark) } -> std::same_as<std::optional<absl::Time>>;
    };

}  // namespace enipool

#endif  // ENIPOOL_POOL_STORE_H_
