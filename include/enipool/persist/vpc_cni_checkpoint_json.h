// -----------------------------------------------------------------------------
// File: persist/vpc_cni_checkpoint_json.h
// -----------------------------------------------------------------------------
//
// The AWS VPC CNI's own checkpoint, `vpc-cni-ipam/1` JSON (docs/reference-behavior.md §8.1),
// both ways: read one written by ipamd and restore it into a datastore with
// ipamd's rules (docs/reference-behavior.md §8.2), or export a datastore in that format (for a
// downgrade, or for tools that read ipamd's file). Opt-in: needs
// nlohmann-json (link `enipool::json`).
//
// Example:
//
//   ENIPOOL_ASSIGN_OR_RETURN(enipool::VpcCniCheckpoint checkpoint,
//                            enipool::ParseVpcCniCheckpoint(file_contents));
//   // ENIs and CIDRs are loaded first (from EC2), as ipamd does at startup.
//   ENIPOOL_ASSIGN_OR_RETURN(enipool::CheckpointRestoreReport report,
//                            enipool::RestoreVpcCniCheckpoint(datastore, checkpoint));
//   for (const auto& stale : report.dropped) LOG(stale.pod.ToString());
//   std::string json = enipool::SerializeVpcCniCheckpoint(
//       enipool::ExportVpcCniCheckpoint(datastore, metadata));
//
// Format: {"version":"vpc-cni-ipam/1","allocations":[{"networkName":…,
// "containerID":…,"ifName":…,"ipv4":"10.0.0.5" (or "ipv6"),
// "allocationTimestamp":<int64 Unix nanoseconds>,"metadata":{"k8sPodNamespace":…,
// "k8sPodName":…,"interfacesCount":…}}]}. On export `metadata` is always
// present and its members are omitted when empty (0 for interfacesCount), as
// ipamd writes them. On import, unknown members are ignored (as Go's
// encoding/json does); `allocationTimestamp` and `metadata` may be missing
// (files from versions before they existed), anything else missing or of the
// wrong type is INVALID_ARGUMENT naming the field ("allocations[3].ipv4").
//
// Pod metadata: NodeDatastore keeps pod keys, not Kubernetes names. Import
// returns each entry's metadata in `VpcCniCheckpoint::allocations`; export
// takes it back as a `PodMetadataMap` (absent pods get an empty metadata
// object). The caller that cares (the CNI server sees namespace and name on
// ADD) keeps that map.
//
// Restore rules (docs/reference-behavior.md §8.2), with one difference:
// ipamd first drops entries whose pod has no host veth any more; enipool sees no host interfaces, so it
// keeps every entry and the caller filters first if it can.
//   * an entry whose address lies in no CIDR of the datastore (either mode)
//     is dropped as stale and reported, as are IPv6 entries (enipool is
//     IPv4-only, like ipamd in IPv4 mode);
//   * an address already held by another pod (in the datastore, or twice in
//     the file), or a pod key given two addresses, fails the whole restore
//     (ALREADY_EXISTS, "IP already in data store: …") and changes nothing;
//   * an entry the datastore already holds exactly is accepted as is.
//
// IPv6 (docs/reference-behavior.md §4.12, §8.1): an entry's `ipv6` must be
// IPv6 address text (kept as written, so a file round-trips byte for byte);
// an IPv6 node (Ipv6Datastore, ipv6_node.h) is exported with its `ipv6`
// entries and restored by RestoreVpcCniIpv6Checkpoint, with the same rules
// the other way round: its IPv4 entries, and IPv6 ones in no prefix of the
// store, are dropped as stale.
//
// Never throws: parsing uses nlohmann's non-throwing entry points and checks
// every type before reading a value; serialization replaces invalid UTF-8.

#ifndef ENIPOOL_PERSIST_VPC_CNI_CHECKPOINT_JSON_H_
#define ENIPOOL_PERSIST_VPC_CNI_CHECKPOINT_JSON_H_

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/datastore.h"
#include "enipool/ipv4.h"
#include "enipool/ipv6.h"
#include "enipool/ipv6_datastore.h"
#include "enipool/pod_key.h"
#include "enipool/status.h"

namespace enipool {

inline constexpr absl::string_view kVpcCniCheckpointVersion = "vpc-cni-ipam/1";

// PodMetadata
//
// The Kubernetes identity ipamd stores with an allocation.
struct PodMetadata {
  std::string pod_namespace;  // k8sPodNamespace
  std::string pod_name;       // k8sPodName
  int interfaces_count = 0;   // interfacesCount (0 = not recorded)

  friend bool operator==(const PodMetadata&, const PodMetadata&) = default;
};

using PodMetadataMap = absl::flat_hash_map<PodKey, PodMetadata>;

// CheckpointEntry
//
// One allocation of the checkpoint.
struct CheckpointEntry {
  PodKey pod;
  Ipv4Address address;      // of an IPv4 entry (ipv6 empty)
  std::string ipv6;         // non-empty for an IPv6 entry (valid IPv6 text, kept as written)
  absl::Time allocated = absl::UnixEpoch();  // allocationTimestamp
  PodMetadata metadata;

  friend bool operator==(const CheckpointEntry&, const CheckpointEntry&) = default;
};

// VpcCniCheckpoint
//
// A whole checkpoint file.
struct VpcCniCheckpoint {
  std::string version = std::string(kVpcCniCheckpointVersion);
  std::vector<CheckpointEntry> allocations;

  friend bool operator==(const VpcCniCheckpoint&, const VpcCniCheckpoint&) = default;
};

// CheckpointRestoreReport
//
// What RestoreVpcCniCheckpoint did.
struct CheckpointRestoreReport {
  int restored = 0;                      // entries now held (including ones already held)
  std::vector<CheckpointEntry> dropped;  // stale: address in no known CIDR, or IPv6
};

namespace internal {

// Records where a non-throwing parse failed (nlohmann's DOM parse with
// exceptions off only says *that* it failed).
class JsonErrorLocator final : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::size_t position = 0;
  std::string message;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t at, const std::string&, const nlohmann::detail::exception& ex) override {
    position = at;
    message = ex.what();
    return false;
  }
};

inline absl::Status FieldError(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("vpc-cni checkpoint: ", field, ": ", what));
}

inline absl::StatusOr<std::string> StringField(const nlohmann::json& object, const char* name,
                                               absl::string_view path, bool required) {
  const auto it = object.find(name);
  if (it == object.end()) {
    if (required) return FieldError(absl::StrCat(path, ".", name), "missing");
    return std::string();
  }
  if (!it->is_string()) return FieldError(absl::StrCat(path, ".", name), "not a string");
  return it->get<std::string>();
}

inline absl::StatusOr<std::int64_t> Int64Field(const nlohmann::json& object, const char* name,
                                               absl::string_view path) {
  const auto it = object.find(name);
  if (it == object.end()) return 0;
  if (it->is_number_unsigned()) {
    const auto v = it->get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return FieldError(absl::StrCat(path, ".", name), "out of the int64 range");
    }
    return static_cast<std::int64_t>(v);
  }
  if (it->is_number_integer()) return it->get<std::int64_t>();
  return FieldError(absl::StrCat(path, ".", name), "not an integer");
}

inline absl::StatusOr<CheckpointEntry> ParseEntry(const nlohmann::json& entry, std::size_t index) {
  const std::string path = absl::StrCat("allocations[", index, "]");
  if (!entry.is_object()) return FieldError(path, "not an object");
  CheckpointEntry e;
  ENIPOOL_ASSIGN_OR_RETURN(e.pod.network_name, StringField(entry, "networkName", path, true));
  ENIPOOL_ASSIGN_OR_RETURN(e.pod.container_id, StringField(entry, "containerID", path, true));
  ENIPOOL_ASSIGN_OR_RETURN(e.pod.if_name, StringField(entry, "ifName", path, true));
  ENIPOOL_ASSIGN_OR_RETURN(const std::string ipv4, StringField(entry, "ipv4", path, false));
  ENIPOOL_ASSIGN_OR_RETURN(e.ipv6, StringField(entry, "ipv6", path, false));
  if (ipv4.empty() == e.ipv6.empty()) {
    return FieldError(path, ipv4.empty() ? "has neither ipv4 nor ipv6" : "has both ipv4 and ipv6");
  }
  if (!ipv4.empty()) {
    auto address = Ipv4Address::Parse(ipv4);
    if (!address.ok()) return FieldError(path + ".ipv4", address.status().message());
    e.address = *address;
  } else {
    auto address = Ipv6Address::Parse(e.ipv6);
    if (!address.ok()) return FieldError(path + ".ipv6", address.status().message());
  }
  ENIPOOL_ASSIGN_OR_RETURN(const std::int64_t nanos, Int64Field(entry, "allocationTimestamp", path));
  e.allocated = absl::FromUnixNanos(nanos);
  if (const auto meta = entry.find("metadata"); meta != entry.end() && !meta->is_null()) {
    const std::string meta_path = path + ".metadata";
    if (!meta->is_object()) return FieldError(meta_path, "not an object");
    ENIPOOL_ASSIGN_OR_RETURN(e.metadata.pod_namespace,
                             StringField(*meta, "k8sPodNamespace", meta_path, false));
    ENIPOOL_ASSIGN_OR_RETURN(e.metadata.pod_name, StringField(*meta, "k8sPodName", meta_path, false));
    ENIPOOL_ASSIGN_OR_RETURN(const std::int64_t count, Int64Field(*meta, "interfacesCount", meta_path));
    if (count < 0 || count > std::numeric_limits<int>::max()) {
      return FieldError(meta_path + ".interfacesCount", absl::StrCat(count, " is out of range"));
    }
    e.metadata.interfaces_count = static_cast<int>(count);
  }
  return e;
}

}  // namespace internal

// ParseVpcCniCheckpoint()
//
// Reads checkpoint JSON. INVALID_ARGUMENT for malformed JSON (naming the
// byte position) or a missing / mistyped field (naming it);
// FAILED_PRECONDITION for a version other than vpc-cni-ipam/1.
[[nodiscard]] inline absl::StatusOr<VpcCniCheckpoint> ParseVpcCniCheckpoint(absl::string_view text) {
  // nlohmann's lexer takes a NUL byte for the end of the input, so "{...}\0garbage"
  // would pass; JSON text never holds a raw NUL (in a string it is escaped).
  if (const std::size_t nul = text.find('\0'); nul != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "vpc-cni checkpoint: NUL byte at byte offset ", nul, " (of ", text.size(),
        "): JSON text has none, so anything after the document is refused"));
  }
  const nlohmann::json doc = nlohmann::json::parse(text.begin(), text.end(), nullptr,
                                                   /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    internal::JsonErrorLocator locator;
    (void)nlohmann::json::sax_parse(text.begin(), text.end(), &locator);
    // nlohmann counts the bytes read, the offending one included.
    const std::size_t offset = locator.position > 0 ? locator.position - 1 : 0;
    return absl::InvalidArgumentError(absl::StrCat(
        "vpc-cni checkpoint: malformed JSON at byte offset ", offset, ": ", locator.message));
  }
  if (!doc.is_object()) return internal::FieldError("(top level)", "not an object");
  VpcCniCheckpoint checkpoint;
  ENIPOOL_ASSIGN_OR_RETURN(checkpoint.version, internal::StringField(doc, "version", "(top level)", true));
  if (checkpoint.version != kVpcCniCheckpointVersion) {
    return absl::FailedPreconditionError(absl::StrCat("vpc-cni checkpoint: unsupported version ",
                                                      QuoteInput(checkpoint.version), " (want ",
                                                      kVpcCniCheckpointVersion, ")"));
  }
  const auto allocations = doc.find("allocations");
  if (allocations == doc.end() || allocations->is_null()) return checkpoint;  // Go's nil slice
  if (!allocations->is_array()) return internal::FieldError("allocations", "not an array");
  checkpoint.allocations.reserve(allocations->size());
  for (std::size_t i = 0; i < allocations->size(); ++i) {
    ENIPOOL_ASSIGN_OR_RETURN(CheckpointEntry entry, internal::ParseEntry((*allocations)[i], i));
    checkpoint.allocations.push_back(std::move(entry));
  }
  return checkpoint;
}

// SerializeVpcCniCheckpoint()
//
// The checkpoint as ipamd writes it (compact JSON, members in its order).
[[nodiscard]] inline std::string SerializeVpcCniCheckpoint(const VpcCniCheckpoint& checkpoint) {
  nlohmann::ordered_json doc;
  doc["version"] = checkpoint.version;
  doc["allocations"] = nlohmann::ordered_json::array();
  for (const CheckpointEntry& e : checkpoint.allocations) {
    nlohmann::ordered_json entry;
    entry["networkName"] = e.pod.network_name;
    entry["containerID"] = e.pod.container_id;
    entry["ifName"] = e.pod.if_name;
    if (e.ipv6.empty()) {
      entry["ipv4"] = e.address.ToString();
    } else {
      entry["ipv6"] = e.ipv6;
    }
    entry["allocationTimestamp"] = absl::ToUnixNanos(e.allocated);
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    if (!e.metadata.pod_namespace.empty()) meta["k8sPodNamespace"] = e.metadata.pod_namespace;
    if (!e.metadata.pod_name.empty()) meta["k8sPodName"] = e.metadata.pod_name;
    if (e.metadata.interfaces_count != 0) meta["interfacesCount"] = e.metadata.interfaces_count;
    entry["metadata"] = std::move(meta);
    doc["allocations"].push_back(std::move(entry));
  }
  return doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

// ExportVpcCniCheckpoint()
//
// Every assigned pod of `datastore` (either mode), by address, with its
// assignment time and the metadata `metadata` has for it. O(pods log pods).
template <Clock C>
[[nodiscard]] VpcCniCheckpoint ExportVpcCniCheckpoint(const NodeDatastore<C>& datastore,
                                                      const PodMetadataMap& metadata = {}) {
  VpcCniCheckpoint checkpoint;
  datastore.ForEachAssignment([&](const PodKey& pod, const Assignment& a, absl::Time at) {
    CheckpointEntry e{.pod = pod, .address = a.address, .allocated = at};
    if (const auto it = metadata.find(pod); it != metadata.end()) e.metadata = it->second;
    checkpoint.allocations.push_back(std::move(e));
  });
  std::sort(checkpoint.allocations.begin(), checkpoint.allocations.end(),
            [](const CheckpointEntry& a, const CheckpointEntry& b) { return a.address < b.address; });
  return checkpoint;
}

// ExportVpcCniCheckpoint()
//
// Every pod of an IPv6 node, as `ipv6` entries in canonical text, by
// address. O(pods log pods).
template <Clock C>
[[nodiscard]] VpcCniCheckpoint ExportVpcCniCheckpoint(const Ipv6Datastore<C>& datastore,
                                                      const PodMetadataMap& metadata = {}) {
  std::vector<std::pair<Ipv6Address, CheckpointEntry>> entries;
  datastore.ForEachAssignment([&](const PodKey& pod, const Ipv6Assignment& a, absl::Time at) {
    CheckpointEntry e{.pod = pod, .ipv6 = a.address.ToString(), .allocated = at};
    if (const auto it = metadata.find(pod); it != metadata.end()) e.metadata = it->second;
    entries.emplace_back(a.address, std::move(e));
  });
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  VpcCniCheckpoint checkpoint;
  for (auto& [address, e] : entries) checkpoint.allocations.push_back(std::move(e));
  return checkpoint;
}

// What both restores (IPv4 and IPv6) check of the file and of each entry,
// and how they decide between "held already", "a conflict" and "to assign",
// kept once so the two families cannot drift apart.
namespace internal {

inline absl::Status CheckCheckpointVersion(const VpcCniCheckpoint& checkpoint) {
  if (checkpoint.version != kVpcCniCheckpointVersion) {
    return absl::FailedPreconditionError(absl::StrCat("vpc-cni checkpoint: unsupported version ",
                                                      QuoteInput(checkpoint.version), " (want ",
                                                      kVpcCniCheckpointVersion, ")"));
  }
  return absl::OkStatus();
}

inline absl::Status CheckEntryPodKey(const CheckpointEntry& e, std::size_t index) {
  if (e.pod.network_name.empty() || e.pod.container_id.empty() || e.pod.if_name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("vpc-cni checkpoint: allocations[", index,
                                                   "]: pod key ", QuoteInput(e.pod.ToString()),
                                                   " has an empty part"));
  }
  return absl::OkStatus();
}

// Who holds which address: the store's assignments, then each entry claimed
// in file order. Claim() answers true for an entry that is new (to assign),
// false for one held exactly already, and ALREADY_EXISTS for an address held
// by another pod or a pod that holds another address.
template <typename Address>
class RestoreClaims {
 public:
  void Hold(const PodKey& pod, Address address) {
    holder_.emplace(address, pod);
    held_by_.emplace(pod, address);
  }

  absl::StatusOr<bool> Claim(const CheckpointEntry& e, std::size_t index, Address address) {
    if (const auto it = holder_.find(address); it != holder_.end()) {
      if (it->second == e.pod) return false;
      return absl::AlreadyExistsError(absl::StrCat(
          "IP already in data store: ", address.ToString(), " of allocations[", index, "] (",
          e.pod.ToString(), ") is held by ", it->second.ToString()));
    }
    if (const auto it = held_by_.find(e.pod); it != held_by_.end()) {
      return absl::AlreadyExistsError(absl::StrCat(
          "vpc-cni checkpoint: allocations[", index, "]: pod ", QuoteInput(e.pod.ToString()),
          " already holds ", it->second.ToString(), ", not ", address.ToString()));
    }
    Hold(e.pod, address);
    return true;
  }

 private:
  absl::flat_hash_map<Address, PodKey> holder_;
  absl::flat_hash_map<PodKey, Address> held_by_;
};

}  // namespace internal

// RestoreVpcCniIpv6Checkpoint()
//
// Gives an IPv6 node's pods back their addresses from the checkpoint, with
// their allocation times, once the node's /80 is in `store`. IPv4 entries
// and IPv6 entries in no prefix of the store are dropped as stale and
// reported. INVALID_ARGUMENT for an empty key part or text that is not an
// IPv6 address; ALREADY_EXISTS for an address held by another pod (in the
// store or twice in the file) or a pod given two addresses; an entry held
// exactly is accepted. Every check runs before the first change: an error
// changes nothing.
template <Clock C>
[[nodiscard]] absl::StatusOr<CheckpointRestoreReport> RestoreVpcCniIpv6Checkpoint(
    Ipv6Datastore<C>& store, const VpcCniCheckpoint& checkpoint) {
  ENIPOOL_RETURN_IF_ERROR(internal::CheckCheckpointVersion(checkpoint));
  std::vector<Ipv6Prefix> prefixes;
  for (const auto& [eni, prefix] : store.Prefixes()) prefixes.push_back(prefix);
  internal::RestoreClaims<Ipv6Address> claims;
  store.ForEachAssignment([&](const PodKey& pod, const Ipv6Assignment& a, absl::Time) {
    claims.Hold(pod, a.address);
  });
  CheckpointRestoreReport report;
  std::vector<std::pair<Ipv6Address, const CheckpointEntry*>> to_assign;
  for (std::size_t i = 0; i < checkpoint.allocations.size(); ++i) {
    const CheckpointEntry& e = checkpoint.allocations[i];
    ENIPOOL_RETURN_IF_ERROR(internal::CheckEntryPodKey(e, i));
    if (e.ipv6.empty()) {
      report.dropped.push_back(e);
      continue;
    }
    const absl::StatusOr<Ipv6Address> address = Ipv6Address::Parse(e.ipv6);
    if (!address.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("vpc-cni checkpoint: allocations[", i,
                                                     "].ipv6: ", address.status().message()));
    }
    const bool known = std::any_of(prefixes.begin(), prefixes.end(),
                                   [&](const Ipv6Prefix& p) { return p.Contains(*address); });
    if (!known) {
      report.dropped.push_back(e);
      continue;
    }
    ENIPOOL_ASSIGN_OR_RETURN(const bool is_new, claims.Claim(e, i, *address));
    if (!is_new) {
      ++report.restored;  // already held exactly
      continue;
    }
    to_assign.emplace_back(*address, &e);
  }
  for (const auto& [address, e] : to_assign) {
    ENIPOOL_RETURN_IF_ERROR(store.AssignAt(e->pod, address, e->allocated).status());
    ++report.restored;
  }
  return report;
}

// RestoreVpcCniCheckpoint()
//
// Assigns the checkpoint's pods their addresses with their allocation
// times (the file comment has the rules). `store` is a NodeDatastore or a
// JournaledDatastore (then the restored assignments are journaled). The
// checks run before anything changes, the target store's own limits
// included (its CheckAssignAt() for every entry, when it has one), so an
// error leaves the store as it was and, for a JournaledDatastore, appends
// nothing; only an I/O error part way through keeps the entries already
// restored (each one journaled) and returns the error.
template <typename Store>
[[nodiscard]] absl::StatusOr<CheckpointRestoreReport> RestoreVpcCniCheckpoint(
    Store& store, const VpcCniCheckpoint& checkpoint) {
  ENIPOOL_RETURN_IF_ERROR(internal::CheckCheckpointVersion(checkpoint));
  const auto& datastore = [&]() -> const auto& {
    if constexpr (requires { store.datastore(); }) {
      return store.datastore();
    } else {
      return store;
    }
  }();
  // What the datastore holds now: its CIDRs and who holds which address.
  absl::flat_hash_set<Ipv4Prefix> cidrs;
  for (const EniView& eni : datastore.EniViews()) {
    auto list = datastore.Cidrs(eni.id.view());
    if (!list.ok()) continue;
    for (const CidrView& c : *list) cidrs.insert(c.cidr);
  }
  internal::RestoreClaims<Ipv4Address> claims;
  datastore.ForEachAssignment([&](const PodKey& pod, const Assignment& a, absl::Time) {
    claims.Hold(pod, a.address);
  });

  CheckpointRestoreReport report;
  std::vector<std::pair<std::size_t, const CheckpointEntry*>> to_assign;  // (index, entry)
  for (std::size_t i = 0; i < checkpoint.allocations.size(); ++i) {
    const CheckpointEntry& e = checkpoint.allocations[i];
    ENIPOOL_RETURN_IF_ERROR(internal::CheckEntryPodKey(e, i));
    const bool known = e.ipv6.empty() && (cidrs.contains(Ipv4Prefix::FromAddress(e.address)) ||
                                          cidrs.contains(Ipv4Prefix::Containing(e.address, 28)));
    if (!known) {
      report.dropped.push_back(e);
      continue;
    }
    ENIPOOL_ASSIGN_OR_RETURN(const bool is_new, claims.Claim(e, i, e.address));
    if (!is_new) {
      ++report.restored;  // already held exactly
      continue;
    }
    to_assign.emplace_back(i, &e);
  }
  // Every entry against every limit of the target store (a JournaledDatastore
  // refuses key parts its records cannot hold, and any change once its file
  // failed) before the first change: a refused restore changes nothing.
  if constexpr (requires(const PodKey& pod, Ipv4Address address) {
                  { store.CheckAssignAt(pod, address) } -> std::same_as<absl::Status>;
                }) {
    for (const auto& [index, e] : to_assign) {
      if (absl::Status s = store.CheckAssignAt(e->pod, e->address); !s.ok()) {
        return absl::Status(s.code(), absl::StrCat("vpc-cni checkpoint: allocations[", index,
                                                   "]: ", s.message()));
      }
    }
  }
  for (const auto& [index, e] : to_assign) {
    ENIPOOL_RETURN_IF_ERROR(store.AssignAt(e->pod, e->address, e->allocated).status());
    ++report.restored;
  }
  return report;
}

}  // namespace enipool

#endif  // ENIPOOL_PERSIST_VPC_CNI_CHECKPOINT_JSON_H_
