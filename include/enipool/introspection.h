// -----------------------------------------------------------------------------
// File: introspection.h
// -----------------------------------------------------------------------------
//
// What the reference serves for humans and monitoring (docs/reference-behavior.md §9), as
// plain values and text:
//   * `NodeSnapshot`: one network card's ENIs, their CIDRs and the address
//     records in use — the content of ipamd's `/v1/enis` — and `ToJson()`
//     to render it in that endpoint's shape (hand-written JSON, no
//     library): a map from card to its pool, one card for a NodeController,
//     every managed card for a MultiCardNode (multi_card.h), card 0 with
//     its ENI's /80 under "IPv6Cidrs" for an Ipv6NodeController
//     (ipv6_node.h);
//   * `RenderPrometheus()`: the reference's Prometheus metrics
//     (`awscni_eni_allocated`, `awscni_ec2api_req_count`, …) in the text
//     exposition format, plus a few enipool metrics the reference lacks
//     (`enipool_cooling_ip_addresses`, docs/reference-behavior.md §9).
//
// Example:
//
//   enipool::NodeSnapshot snapshot = enipool::SnapshotOf(controller);
//   std::string body = enipool::ToJson(snapshot);          // serve as /v1/enis
//   std::string metrics = enipool::RenderPrometheus(controller);  // serve as /metrics
//   // A node of several cards: {"0": {...}, "1": {...}, ...}
//   std::string all = enipool::ToJson(enipool::SnapshotOf(multi_card_node));
//
// As the reference does, a pod's container id and interface name are
// blanked in the snapshot (they identify workloads); the network name stays.
// Differences from the reference's JSON: a CIDR is written as its text
// ("10.0.0.16/28") where Go writes a net.IPNet object with a base64 mask,
// and only addresses assigned or cooling have records (the reference keeps a
// record for every address ever used). Times are RFC 3339 in UTC; a time
// that never happened is Go's zero time, "0001-01-01T00:00:00Z".
//
// Cost: O(ENIs + CIDRs + pods); for an endpoint, not a hot path.

#ifndef ENIPOOL_INTROSPECTION_H_
#define ENIPOOL_INTROSPECTION_H_

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/ec2/backend.h"
#include "enipool/clock.h"
#include "enipool/controller.h"
#include "enipool/datastore.h"
#include "enipool/ipv4.h"
#include "enipool/ipv6.h"
#include "enipool/ipv6_datastore.h"
#include "enipool/ipv6_node.h"
#include "enipool/multi_card.h"
#include "enipool/pod_key.h"

namespace enipool {

// AddressRecord
//
// One address in use: assigned to a pod, or cooling down after one left.
struct AddressRecord {
  Ipv4Address address;
  std::string network_name;  // the pod key's network name; container id and ifname are blanked
  bool assigned = false;
  absl::Time assigned_at = absl::InfinitePast();  // when assigned; InfinitePast if not
  bool cooling = false;
  absl::Time released_at = absl::InfinitePast();  // when it started cooling; InfinitePast if not
  friend bool operator==(const AddressRecord&, const AddressRecord&) = default;
};

// CidrRecord
//
// One /32 or /28 of an ENI with its address records, ascending.
struct CidrRecord {
  Ipv4Prefix cidr;
  bool is_prefix = false;
  bool in_mode = false;  // of the datastore's mode (handed out and counted)
  int assigned = 0;
  std::vector<AddressRecord> addresses;
  friend bool operator==(const CidrRecord&, const CidrRecord&) = default;
};

// Ipv6AddressRecord / Ipv6CidrRecord
//
// The same for an IPv6 node: one address in use, and one delegated prefix
// (a /80) with its addresses in use, ascending.
struct Ipv6AddressRecord {
  Ipv6Address address;
  std::string network_name;
  bool assigned = false;
  absl::Time assigned_at = absl::InfinitePast();
  bool cooling = false;
  absl::Time released_at = absl::InfinitePast();
  friend bool operator==(const Ipv6AddressRecord&, const Ipv6AddressRecord&) = default;
};
struct Ipv6CidrRecord {
  Ipv6Prefix cidr;
  int assigned = 0;
  std::vector<Ipv6AddressRecord> addresses;
  friend bool operator==(const Ipv6CidrRecord&, const Ipv6CidrRecord&) = default;
};

// EniRecord
//
// One ENI as /v1/enis shows it.
struct EniRecord {
  std::string id;
  bool primary = false;
  bool trunk = false;
  bool efa = false;
  int device_number = 0;
  bool excluded = false;
  int route_table_id = 0;
  std::string subnet_id;  // empty when unknown (a bare datastore)
  std::vector<CidrRecord> cidrs;
  std::vector<Ipv6CidrRecord> ipv6_cidrs;  // an IPv6 node's /80s
  friend bool operator==(const EniRecord&, const EniRecord&) = default;
};

// NodeSnapshot
//
// One network card's pool (the whole node's on a node of one card): raw
// totals (every CIDR of both kinds on every ENI, as the reference's
// TotalIPs / AssignedIPs counters) and its ENIs by device number.
struct NodeSnapshot {
  int network_card = 0;
  std::int64_t total_ips = 0;
  std::int64_t assigned_ips = 0;
  std::int64_t cooling_ips = 0;
  std::vector<EniRecord> enis;
  friend bool operator==(const NodeSnapshot&, const NodeSnapshot&) = default;
};

// SnapshotOf()
//
// The datastore's content now. The overload taking a controller also fills
// in each ENI's subnet from the controller's records.
template <Clock C>
NodeSnapshot SnapshotOf(const NodeDatastore<C>& datastore) {
  struct Use {
    std::uint32_t address = 0;
    std::string network_name;
    absl::Time assigned_at = absl::InfinitePast();
    absl::Time released_at = absl::InfinitePast();
    bool assigned = false;
    bool cooling = false;
  };
  // One entry per address in use (assigned or cooling; an address may be
  // both when a pod got it back), sorted by address.
  std::vector<Use> uses;
  uses.reserve(datastore.pod_count());
  datastore.ForEachAssignment([&](const PodKey& pod, const Assignment& a, absl::Time at) {
    uses.push_back(Use{.address = a.address.value(),
                       .network_name = pod.network_name,
                       .assigned_at = at,
                       .assigned = true});
  });
  datastore.ForEachCooling([&](Ipv4Address address, absl::Time released_at) {
    uses.push_back(Use{.address = address.value(), .released_at = released_at, .cooling = true});
  });
  std::sort(uses.begin(), uses.end(),
            [](const Use& a, const Use& b) { return a.address < b.address; });
  // Merge an assigned and a cooling entry of the same address.
  std::size_t kept = 0;
  for (std::size_t i = 0; i < uses.size(); ++i) {
    if (kept > 0 && uses[kept - 1].address == uses[i].address) {
      Use& into = uses[kept - 1];
      if (uses[i].assigned) {
        into.network_name = std::move(uses[i].network_name);
        into.assigned_at = uses[i].assigned_at;
        into.assigned = true;
      }
      if (uses[i].cooling) {
        into.released_at = uses[i].released_at;
        into.cooling = true;
      }
      continue;
    }
    if (kept != i) uses[kept] = std::move(uses[i]);
    ++kept;
  }
  uses.resize(kept);
  NodeSnapshot snapshot;
  snapshot.network_card = datastore.network_card();
  for (const EniView& view : datastore.EniViews()) {
    EniRecord eni;
    eni.id = view.id.ToString();
    eni.primary = view.primary;
    eni.trunk = view.trunk;
    eni.efa = view.efa;
    eni.device_number = view.device_number;
    eni.excluded = view.excluded;
    eni.route_table_id = view.route_table_id;
    snapshot.assigned_ips += view.pods;
    snapshot.cooling_ips += view.cooling_all;
    auto cidrs = datastore.Cidrs(view.id.view());
    if (cidrs.ok()) {
      for (const CidrView& c : *cidrs) {
        CidrRecord record{.cidr = c.cidr,
                          .is_prefix = c.cidr.length() == 28,
                          .in_mode = c.in_mode,
                          .assigned = c.assigned,
                          .addresses = {}};
        snapshot.total_ips += c.total;
        // The addresses in use inside this CIDR: a range of the sorted uses,
        // so the cost follows the pods, not the CIDR's size.
        auto it = std::lower_bound(
            uses.begin(), uses.end(), c.cidr.network().value(),
            [](const Use& use, std::uint32_t value) { return use.address < value; });
        for (; it != uses.end() && c.cidr.Contains(Ipv4Address(it->address)); ++it) {
          record.addresses.push_back(AddressRecord{.address = Ipv4Address(it->address),
                                                   .network_name = it->network_name,
                                                   .assigned = it->assigned,
                                                   .assigned_at = it->assigned_at,
                                                   .cooling = it->cooling,
                                                   .released_at = it->released_at});
        }
        eni.cidrs.push_back(std::move(record));
      }
    }
    snapshot.enis.push_back(std::move(eni));
  }
  return snapshot;
}

template <Clock C, typename... Options>
NodeSnapshot SnapshotOf(const NodeController<C, Options...>& controller) {
  NodeSnapshot snapshot = SnapshotOf(controller.pool());
  for (EniRecord& eni : snapshot.enis) {
    for (const ManagedEni& record : controller.enis()) {
      if (record.id == eni.id) eni.subnet_id = record.subnet_id;
    }
  }
  return snapshot;
}

// SnapshotOf(MultiCardNode)
//
// Every managed card's snapshot, card order (render with ToJson()).
template <Clock C, typename... Options>
std::vector<NodeSnapshot> SnapshotOf(const MultiCardNode<C, Options...>& node) {
  std::vector<NodeSnapshot> cards;
  cards.reserve(node.card_count());
  for (std::size_t k = 0; k < node.card_count(); ++k) cards.push_back(SnapshotOf(node.controller(k)));
  return cards;
}

// SnapshotOf(Ipv6Datastore) / SnapshotOf(Ipv6NodeController)
//
// An IPv6 node's pool as card 0: each ENI with its /80s and the addresses
// in use (assigned or cooling) inside them. TotalIPs counts each prefix's
// addresses (2^48 for a /80), so that AssignedIPs never exceeds it.
template <Clock C>
NodeSnapshot SnapshotOf(const Ipv6Datastore<C>& datastore) {
  std::vector<Ipv6AddressRecord> uses;
  datastore.ForEachAssignment([&](const PodKey& pod, const Ipv6Assignment& a, absl::Time at) {
    uses.push_back(Ipv6AddressRecord{.address = a.address,
                                     .network_name = pod.network_name,
                                     .assigned = true,
                                     .assigned_at = at});
  });
  datastore.ForEachCooling([&](Ipv6Address address, absl::Time released_at) {
    uses.push_back(
        Ipv6AddressRecord{.address = address, .cooling = true, .released_at = released_at});
  });
  std::sort(uses.begin(), uses.end(),
            [](const Ipv6AddressRecord& a, const Ipv6AddressRecord& b) { return a.address < b.address; });
  NodeSnapshot snapshot;
  const auto prefixes = datastore.Prefixes();
  datastore.ForEachEni([&](const EniId& id, int device_number, bool primary) {
    EniRecord eni;
    eni.id = id.ToString();
    eni.primary = primary;
    eni.device_number = device_number;
    eni.route_table_id = RouteTableId(0, device_number);
    for (const auto& [owner, prefix] : prefixes) {
      if (owner != id) continue;
      Ipv6CidrRecord record{.cidr = prefix, .assigned = 0, .addresses = {}};
      const std::int64_t size = prefix.host_bits() >= 63
                                    ? std::numeric_limits<std::int64_t>::max()
                                    : std::int64_t{1} << prefix.host_bits();
      snapshot.total_ips = size > std::numeric_limits<std::int64_t>::max() - snapshot.total_ips
                               ? std::numeric_limits<std::int64_t>::max()
                               : snapshot.total_ips + size;
      for (const Ipv6AddressRecord& use : uses) {
        if (!prefix.Contains(use.address)) continue;
        record.addresses.push_back(use);
        record.assigned += use.assigned ? 1 : 0;
        snapshot.assigned_ips += use.assigned ? 1 : 0;
        snapshot.cooling_ips += use.cooling ? 1 : 0;
      }
      eni.ipv6_cidrs.push_back(std::move(record));
    }
    snapshot.enis.push_back(std::move(eni));
  });
  return snapshot;
}

template <Clock C, typename Store>
NodeSnapshot SnapshotOf(const Ipv6NodeController<C, Store>& node) {
  NodeSnapshot snapshot = SnapshotOf(node.pool());
  for (EniRecord& eni : snapshot.enis) {
    if (eni.id == node.primary_eni_id()) eni.subnet_id = node.subnet_id();
  }
  return snapshot;
}

namespace internal {

// A JSON string literal: quotes, backslashes and control characters escaped.
inline void AppendJsonString(std::string& out, absl::string_view text) {
  out.push_back('"');
  for (const char c : text) {
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out.append("\\u00");
          out.push_back(kHex[(static_cast<unsigned char>(c) >> 4) & 0xF]);
          out.push_back(kHex[static_cast<unsigned char>(c) & 0xF]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

// RFC 3339 in UTC, or Go's zero time for a time that never happened.
inline std::string GoTime(absl::Time t) {
  if (t == absl::InfinitePast()) return "0001-01-01T00:00:00Z";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

inline absl::string_view JsonBool(bool b) { return b ? "true" : "false"; }

// A Prometheus label value: backslash, double quote and newline escaped
// (text exposition format 0.0.4).
inline std::string PrometheusLabel(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    switch (c) {
      case '\\':
        out.append("\\\\");
        break;
      case '"':
        out.append("\\\"");
        break;
      case '\n':
        out.append("\\n");
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// One CIDR's entry under an ENI's AvailableIPv4Cidrs or IPv6Cidrs:
// "<cidr>":{Cidr, IsPrefix, AddressFamily, IPAddresses}; `Record` is
// AddressRecord or Ipv6AddressRecord (both families print alike).
template <typename Record>
void AppendCidrJson(std::string& out, const std::string& cidr, bool is_prefix, char family,
                    const std::vector<Record>& addresses) {
  AppendJsonString(out, cidr);
  out.append(":{\"Cidr\":");
  AppendJsonString(out, cidr);
  absl::StrAppend(&out, ",\"IsPrefix\":", internal::JsonBool(is_prefix), ",\"AddressFamily\":\"",
                  absl::string_view(&family, 1), "\",\"IPAddresses\":{");
  for (std::size_t a = 0; a < addresses.size(); ++a) {
    const Record& address = addresses[a];
    if (a > 0) out.push_back(',');
    const std::string ip = address.address.ToString();
    AppendJsonString(out, ip);
    out.append(":{\"Address\":");
    AppendJsonString(out, ip);
    out.append(",\"IPAMKey\":{\"networkName\":");
    AppendJsonString(out, address.network_name);
    absl::StrAppend(&out, ",\"containerID\":\"\",\"ifName\":\"\"},\"AssignedTime\":\"",
                    internal::GoTime(address.assigned_at), "\",\"UnassignedTime\":\"",
                    internal::GoTime(address.released_at), "\"}");
  }
  out.append("}}");
}

// One card's entry of /v1/enis: "<card>":{TotalIPs, AssignedIPs, ENIs}.
inline void AppendCardJson(std::string& out, const NodeSnapshot& snapshot) {
  absl::StrAppend(&out, "\"", snapshot.network_card, "\":{\"TotalIPs\":", snapshot.total_ips,
                  ",\"AssignedIPs\":", snapshot.assigned_ips, ",\"ENIs\":{");
  for (std::size_t e = 0; e < snapshot.enis.size(); ++e) {
    const EniRecord& eni = snapshot.enis[e];
    if (e > 0) out.push_back(',');
    AppendJsonString(out, eni.id);
    out.append(":{\"ID\":");
    AppendJsonString(out, eni.id);
    absl::StrAppend(&out, ",\"IsPrimary\":", internal::JsonBool(eni.primary),
                    ",\"IsTrunk\":", internal::JsonBool(eni.trunk),
                    ",\"IsEFA\":", internal::JsonBool(eni.efa),
                    ",\"DeviceNumber\":", eni.device_number,
                    ",\"IsExcludedForPodIPs\":", internal::JsonBool(eni.excluded),
                    ",\"RouteTableID\":", eni.route_table_id, ",\"SubnetID\":");
    AppendJsonString(out, eni.subnet_id);
    out.append(",\"AvailableIPv4Cidrs\":{");
    for (std::size_t c = 0; c < eni.cidrs.size(); ++c) {
      if (c > 0) out.push_back(',');
      AppendCidrJson(out, eni.cidrs[c].cidr.ToString(), eni.cidrs[c].is_prefix, '4',
                     eni.cidrs[c].addresses);
    }
    out.append("},\"IPv6Cidrs\":{");
    for (std::size_t c = 0; c < eni.ipv6_cidrs.size(); ++c) {
      if (c > 0) out.push_back(',');
      AppendCidrJson(out, eni.ipv6_cidrs[c].cidr.ToString(), /*is_prefix=*/true, '6',
                     eni.ipv6_cidrs[c].addresses);
    }
    out.append("}}");
  }
  out.append("}}");
}

}  // namespace internal

// ToJson()
//
// Snapshots in the shape of the reference's /v1/enis: a map from network
// card ("0", "1", ...) to {TotalIPs, AssignedIPs, ENIs}, each ENI keyed by
// id; one card for a NodeSnapshot, each card of the list in its order for
// a MultiCardNode's. Deterministic: ENIs by device number, CIDRs and
// addresses ascending.
inline std::string ToJson(const NodeSnapshot& snapshot) {
  std::string out = "{";
  internal::AppendCardJson(out, snapshot);
  out.push_back('}');
  return out;
}
inline std::string ToJson(const std::vector<NodeSnapshot>& cards) {
  std::string out = "{";
  for (std::size_t k = 0; k < cards.size(); ++k) {
    if (k > 0) out.push_back(',');
    internal::AppendCardJson(out, cards[k]);
  }
  out.push_back('}');
  return out;
}

// ControllerMetrics
//
// Everything RenderPrometheus() reads from a controller, as values: the
// pool's snapshot, the counters, the warm-pool config, the ENIs kept out of
// the pool (a detach that gave up) and the requests in flight.
struct ControllerMetrics {
  NodeSnapshot snapshot;
  ControllerCounters counters;
  WarmPoolConfig pool;
  std::int64_t unmanaged_enis = 0;
  std::int64_t in_flight = 0;
};

// MetricsOf()
//
// Copies a controller's metrics out: O(ENIs + CIDRs + pods), no rendering.
template <Clock C, typename... Options>
ControllerMetrics MetricsOf(const NodeController<C, Options...>& controller) {
  ControllerMetrics metrics;
  metrics.snapshot = SnapshotOf(controller);
  metrics.counters = controller.counters();
  metrics.pool = controller.config().pool;
  metrics.unmanaged_enis =
      static_cast<std::int64_t>(std::count_if(controller.enis().begin(), controller.enis().end(),
                                              [](const ManagedEni& e) { return !e.in_pool; }));
  metrics.in_flight = static_cast<std::int64_t>(controller.in_flight());
  return metrics;
}

namespace internal {

// Adds `from` into `into`. Every member of ControllerCounters is a
// std::int64_t or an array of them, so the struct is summed as one array of
// them: a counter added later is summed without a change here.
inline void AddCounters(ControllerCounters& into, const ControllerCounters& from) {
  static_assert(std::is_trivially_copyable_v<ControllerCounters>);
  static_assert(sizeof(ControllerCounters) % sizeof(std::int64_t) == 0);
  static_assert(alignof(ControllerCounters) == alignof(std::int64_t));
  using Values = std::array<std::int64_t, sizeof(ControllerCounters) / sizeof(std::int64_t)>;
  Values sum = std::bit_cast<Values>(into);
  const Values add = std::bit_cast<Values>(from);
  for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += add[i];
  into = std::bit_cast<ControllerCounters>(sum);
}

}  // namespace internal

// MetricsOf(MultiCardNode)
//
// A node of several cards as one set of metrics, as the reference's one
// process exposes them: the cards' ENIs and addresses together, their
// counters summed, requests in flight summed; the limits (awscni_eni_max,
// awscni_ip_max, with card 0's ENIs kept out) are card 0's, whose ENI limit
// is the one the reference's maxENI holds (docs/reference-behavior.md
// §6.1).
template <Clock C, typename... Options>
ControllerMetrics MetricsOf(const MultiCardNode<C, Options...>& node) {
  ControllerMetrics metrics;
  for (std::size_t k = 0; k < node.card_count(); ++k) {
    ControllerMetrics card = MetricsOf(node.controller(k));
    if (k == 0) {
      metrics = std::move(card);
      continue;
    }
    metrics.snapshot.total_ips += card.snapshot.total_ips;
    metrics.snapshot.assigned_ips += card.snapshot.assigned_ips;
    metrics.snapshot.cooling_ips += card.snapshot.cooling_ips;
    for (EniRecord& eni : card.snapshot.enis) metrics.snapshot.enis.push_back(std::move(eni));
    internal::AddCounters(metrics.counters, card.counters);
    metrics.in_flight += card.in_flight;
  }
  return metrics;
}

// MetricsOf(Ipv6NodeController)
//
// An IPv6 node's metrics: its ENI and /80 (awscni_assigned_ip_per_cidr
// labelled with the /80), its ADD/DEL counters and its EC2 calls. The
// limits describe what the node manages: one ENI (awscni_eni_max 1) and
// no IPv4 address (awscni_ip_max 0); no warm pool, so no pool counters.
template <Clock C, typename Store>
ControllerMetrics MetricsOf(const Ipv6NodeController<C, Store>& node) {
  ControllerMetrics metrics;
  metrics.snapshot = SnapshotOf(node);
  const Ipv6NodeCounters& k = node.counters();
  ControllerCounters& out = metrics.counters;
  const std::size_t describe = Ec2Call(DescribeNetworkInterfacesRequest{}).index();
  const std::size_t assign = Ec2Call(AssignIpv6PrefixesRequest{}).index();
  out.calls[describe] = static_cast<std::int64_t>(k.describes);
  out.calls[assign] = static_cast<std::int64_t>(k.assigns);
  // A found ENI tagged, an extra card's ENI created and attached (or
  // deleted when its attach failed).
  out.calls[Ec2Call(CreateTagsRequest{}).index()] = static_cast<std::int64_t>(k.tags);
  out.calls[Ec2Call(CreateNetworkInterfaceRequest{}).index()] =
      static_cast<std::int64_t>(k.creates);
  out.calls[Ec2Call(AttachNetworkInterfaceRequest{}).index()] =
      static_cast<std::int64_t>(k.attaches);
  out.calls[Ec2Call(DeleteNetworkInterfaceRequest{}).index()] =
      static_cast<std::int64_t>(k.deletes);
  out.enis_tagged = static_cast<std::int64_t>(k.enis_tagged);
  out.failures[describe] = static_cast<std::int64_t>(k.describe_failures);
  out.failures[assign] = static_cast<std::int64_t>(k.assign_failures);
  out.add_requests = k.add_requests;
  out.del_requests = k.del_requests;
  out.no_available_ip = k.no_available_ip;
  metrics.pool.max_enis = 1;
  metrics.pool.ipv4_per_eni = 0;
  metrics.in_flight = node.in_flight();
  return metrics;
}

// RenderPrometheus()
//
// The node's metrics in the Prometheus text exposition format (version
// 0.0.4): # HELP and # TYPE lines, then samples; label values escaped.
// Gauges describe the pool now; counters come from the controller since it
// was created. Names and meanings follow the reference (docs/reference-behavior.md §9):
//   awscni_eni_allocated, awscni_eni_max (max ENIs − unmanaged),
//   awscni_ip_max (addresses per ENI × awscni_eni_max),
//   awscni_total_ip_addresses, awscni_assigned_ip_addresses,
//   awscni_total_ipv4_prefixes, awscni_assigned_ip_per_cidr{cidr},
//   awscni_assigned_ip_per_eni{eni}, awscni_force_removed_enis,
//   awscni_force_removed_ips, awscni_no_available_ip_addresses,
//   awscni_add_ip_req_count, awscni_del_ip_req_count,
//   awscni_ipamd_action_inprogress{fn}, awscni_reconcile_count,
//   awscni_ec2api_req_count{fn}, awscni_ec2api_error_count{fn},
//   awscni_aws_api_error_count{api,error};
// and enipool's own: enipool_cooling_ip_addresses, enipool_pool_increases,
//   enipool_pool_decreases, enipool_enis_attached, enipool_enis_freed,
//   enipool_insufficient_address_backoffs, enipool_throttle_retries,
//   enipool_implausible_describes, enipool_enis_refused.
//
// The overload taking a ControllerMetrics renders values copied out
// earlier (MetricsOf()), so that a threaded embedder holds its lock only for
// the copy, not for the rendering.
inline std::string RenderPrometheus(const ControllerMetrics& metrics) {
  const NodeSnapshot& snapshot = metrics.snapshot;
  const ControllerCounters& k = metrics.counters;
  const WarmPoolConfig& pool = metrics.pool;
  std::string out;
  auto header = [&](absl::string_view name, absl::string_view type, absl::string_view help) {
    absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
  };
  auto sample = [&](absl::string_view name, std::int64_t value) {
    absl::StrAppend(&out, name, " ", value, "\n");
  };
  auto labeled = [&](absl::string_view name, absl::string_view label, absl::string_view value,
                     std::int64_t v) {
    absl::StrAppend(&out, name, "{", label, "=\"", internal::PrometheusLabel(value), "\"} ", v,
                    "\n");
  };

  std::int64_t prefixes = 0;
  for (const EniRecord& eni : snapshot.enis) {
    for (const CidrRecord& cidr : eni.cidrs) prefixes += cidr.is_prefix ? 1 : 0;
  }
  const std::int64_t unmanaged = metrics.unmanaged_enis;
  const std::int64_t eni_max = pool.max_enis - unmanaged;
  const std::int64_t per_eni = std::int64_t{pool.ipv4_per_eni > 1 ? pool.ipv4_per_eni - 1 : 0} *
                               (pool.mode == AddressMode::kPrefix ? 16 : 1);

  header("awscni_eni_allocated", "gauge", "The number of ENIs allocated");
  sample("awscni_eni_allocated", static_cast<std::int64_t>(snapshot.enis.size()));
  header("awscni_eni_max", "gauge",
         "The maximum number of ENIs that can be attached to the instance, accounting for "
         "unmanaged ENIs");
  sample("awscni_eni_max", eni_max);
  header("awscni_ip_max", "gauge",
         "The maximum number of IP addresses that can be allocated to the instance");
  sample("awscni_ip_max", per_eni * eni_max);
  header("awscni_total_ip_addresses", "gauge", "The total number of IP addresses");
  sample("awscni_total_ip_addresses", snapshot.total_ips);
  header("awscni_assigned_ip_addresses", "gauge", "The number of IP addresses assigned to pods");
  sample("awscni_assigned_ip_addresses", snapshot.assigned_ips);
  header("awscni_total_ipv4_prefixes", "gauge", "The total number of IPv4 prefixes");
  sample("awscni_total_ipv4_prefixes", prefixes);
  header("awscni_assigned_ip_per_cidr", "gauge",
         "The total number of IP addresses assigned per cidr");
  for (const EniRecord& eni : snapshot.enis) {
    for (const CidrRecord& cidr : eni.cidrs) {
      labeled("awscni_assigned_ip_per_cidr", "cidr", cidr.cidr.ToString(), cidr.assigned);
    }
    for (const Ipv6CidrRecord& cidr : eni.ipv6_cidrs) {
      labeled("awscni_assigned_ip_per_cidr", "cidr", cidr.cidr.ToString(), cidr.assigned);
    }
  }
  header("awscni_assigned_ip_per_eni", "gauge",
         "The number of IP addresses assigned to pods per ENI");
  for (const EniRecord& eni : snapshot.enis) {
    std::int64_t assigned = 0;
    for (const CidrRecord& cidr : eni.cidrs) assigned += cidr.assigned;
    for (const Ipv6CidrRecord& cidr : eni.ipv6_cidrs) assigned += cidr.assigned;
    labeled("awscni_assigned_ip_per_eni", "eni", eni.id, assigned);
  }
  header("awscni_force_removed_enis", "counter",
         "The number of ENIs force removed while they had assigned pods");
  sample("awscni_force_removed_enis", k.force_removed_enis);
  header("awscni_force_removed_ips", "counter",
         "The number of IPs force removed while they had assigned pods");
  sample("awscni_force_removed_ips", k.force_removed_ips);
  header("awscni_no_available_ip_addresses", "counter",
         "The number of pod IP assignments that failed due to no available IP addresses");
  sample("awscni_no_available_ip_addresses", k.no_available_ip);
  header("awscni_add_ip_req_count", "counter", "The number of add IP address requests");
  sample("awscni_add_ip_req_count", k.add_requests);
  header("awscni_del_ip_req_count", "counter", "The number of delete IP address requests");
  sample("awscni_del_ip_req_count", k.del_requests);
  header("awscni_ipamd_action_inprogress", "gauge", "The number of ipamd actions in progress");
  labeled("awscni_ipamd_action_inprogress", "fn", "poolCheck", metrics.in_flight);
  header("awscni_reconcile_count", "counter",
         "The number of times ipamd reconciled the pool with EC2");
  sample("awscni_reconcile_count", k.reconciles);
  header("awscni_ec2api_req_count", "counter", "The number of times EC2 APIs are called");
  for (std::size_t i = 0; i < kEc2CallCount; ++i) {
    labeled("awscni_ec2api_req_count", "fn", Ec2CallNameAt(i), k.calls[i]);
  }
  header("awscni_ec2api_error_count", "counter", "The number of times EC2 APIs returned an error");
  for (std::size_t i = 0; i < kEc2CallCount; ++i) {
    labeled("awscni_ec2api_error_count", "fn", Ec2CallNameAt(i), k.failures[i]);
  }
  header("awscni_aws_api_error_count", "counter",
         "The number of times AWS API returned an error, by API and error code");
  for (std::size_t i = 0; i < kEc2CallCount; ++i) {
    for (std::size_t code = 1; code < kEc2ErrorCodeCount; ++code) {
      if (k.errors_by_call[i][code] == 0) continue;
      absl::StrAppend(&out, "awscni_aws_api_error_count{api=\"",
                      internal::PrometheusLabel(Ec2CallNameAt(i)), "\",error=\"",
                      internal::PrometheusLabel(Ec2ErrorCodeName(static_cast<Ec2ErrorCode>(code))),
                      "\"} ", k.errors_by_call[i][code], "\n");
    }
  }
  header(
      "enipool_cooling_ip_addresses", "gauge",
      "Addresses released by pods and still cooling down (counted as available by the reference)");
  sample("enipool_cooling_ip_addresses", snapshot.cooling_ips);
  header("enipool_pool_increases", "counter",
         "Pool increases applied (addresses added to an ENI, ENI resynced, ENI attached)");
  sample("enipool_pool_increases", k.increases);
  header("enipool_pool_decreases", "counter", "Pool decreases that released CIDRs");
  sample("enipool_pool_decreases", k.decreases);
  header("enipool_enis_attached", "counter", "ENIs created and attached by the pool");
  sample("enipool_enis_attached", k.enis_attached);
  header("enipool_enis_freed", "counter", "ENIs detached and deleted by the pool");
  sample("enipool_enis_freed", k.enis_freed);
  header("enipool_insufficient_address_backoffs", "counter",
         "120 s no-increase back-offs started by InsufficientCidrBlocks or "
         "InsufficientFreeAddressesInSubnet");
  sample("enipool_insufficient_address_backoffs", k.insufficient_backoffs);
  header("enipool_throttle_retries", "counter", "Throttled EC2 calls re-sent after a back-off");
  sample("enipool_throttle_retries", k.throttle_retries);
  header("enipool_implausible_describes", "counter",
         "Describes answered OK but impossible (the instance without its primary ENI, an ENI "
         "without itself), ignored");
  sample("enipool_implausible_describes", k.implausible_describes);
  header("enipool_enis_refused", "counter",
         "Attached ENIs the datastore refused (an id it cannot hold, or one it already holds)");
  sample("enipool_enis_refused", k.enis_refused);
  return out;
}

template <Clock C, typename... Options>
std::string RenderPrometheus(const NodeController<C, Options...>& controller) {
  return RenderPrometheus(MetricsOf(controller));
}
template <Clock C, typename... Options>
std::string RenderPrometheus(const MultiCardNode<C, Options...>& node) {
  return RenderPrometheus(MetricsOf(node));
}
template <Clock C, typename Store>
std::string RenderPrometheus(const Ipv6NodeController<C, Store>& node) {
  return RenderPrometheus(MetricsOf(node));
}

}  // namespace enipool

#endif  // ENIPOOL_INTROSPECTION_H_
