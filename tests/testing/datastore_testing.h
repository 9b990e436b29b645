// Test helpers for NodeDatastore: parse-or-fail shorthands, pod keys of
// realistic size, and a whole-state snapshot used to prove that a failed call
// changed nothing.

#ifndef ENIPOOL_TESTS_TESTING_DATASTORE_TESTING_H_
#define ENIPOOL_TESTS_TESTING_DATASTORE_TESTING_H_

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/datastore.h"
#include "enipool/ipv4.h"
#include "enipool/pod_key.h"

namespace enipool::testing {

inline Ipv4Prefix Prefix(absl::string_view text) {
  auto prefix = Ipv4Prefix::Parse(text);
  if (!prefix.ok()) {
    std::fprintf(stderr, "bad test prefix %s\n", std::string(text).c_str());
    std::abort();
  }
  return *prefix;
}

inline Ipv4Address Address(absl::string_view text) {
  auto address = Ipv4Address::Parse(text);
  if (!address.ok()) {
    std::fprintf(stderr, "bad test address %s\n", std::string(text).c_str());
    std::abort();
  }
  return *address;
}

// A pod key as the CNI plugin sends it: a 64-hex-digit sandbox id.
inline PodKey Pod(int i, absl::string_view if_name = "eth0") {
  return PodKey{"aws-cni", absl::StrFormat("%064x", i), std::string(if_name)};
}

// The /28 or /32 number `i` of a 10.<eni>.0.0/16 block, by mode: /28s are
// 10.e.(i/16).(16*(i%16))/28, /32s are 10.e.(i/256).(i%256)/32 + 128 offset
// so that the two never overlap for small i.
inline Ipv4Prefix Unit(AddressMode mode, int eni, int i) {
  const auto e = static_cast<std::uint32_t>(eni);
  const auto n = static_cast<std::uint32_t>(i);
  if (mode == AddressMode::kPrefix) {
    return Ipv4Prefix::Containing(Ipv4Address((10u << 24) | (e << 16) | (n * 16)), 28);
  }
  return Ipv4Prefix::FromAddress(Ipv4Address((10u << 24) | (e << 16) | (128u << 8) | n));
}

inline int UnitSize(AddressMode mode) { return mode == AddressMode::kPrefix ? 16 : 1; }

inline std::string EniName(int i) { return absl::StrFormat("eni-%08x", i); }

// Everything observable about a datastore, for before/after comparisons.
struct Snapshot {
  PoolStats stats;
  std::vector<EniView> enis;
  std::map<std::string, std::vector<CidrView>> cidrs;
  std::vector<std::tuple<PodKey, Assignment, absl::Time>> pods;
  std::vector<std::pair<Ipv4Address, absl::Time>> cooling;
  std::size_t pod_count = 0;

  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

template <typename C>
Snapshot TakeSnapshot(const NodeDatastore<C>& ds) {
  Snapshot s;
  s.stats = ds.Stats();
  s.enis = ds.EniViews();
  for (const EniView& view : s.enis) {
    auto cidrs = ds.Cidrs(view.id.view());
    REQUIRE(cidrs.ok());
    s.cidrs[view.id.ToString()] = *cidrs;
  }
  ds.ForEachAssignment([&](const PodKey& key, const Assignment& a, absl::Time t) {
    s.pods.emplace_back(key, a, t);
  });
  std::sort(s.pods.begin(), s.pods.end(),
            [](const auto& x, const auto& y) { return std::get<0>(x) < std::get<0>(y); });
  ds.ForEachCooling([&](Ipv4Address address, absl::Time t) { s.cooling.emplace_back(address, t); });
  s.pod_count = ds.pod_count();
  return s;
}

}  // namespace enipool::testing

namespace doctest {
template <>
struct StringMaker<enipool::PoolStats> {
  static String convert(const enipool::PoolStats& s) {
    return absl::StrCat(s.ToString(), ", excluded ENIs ", s.excluded_enis, ", excluded prefixes ",
                        s.excluded_prefixes, " (", s.excluded_free_prefixes, " free)")
        .c_str();
  }
};
template <>
struct StringMaker<enipool::Assignment> {
  static String convert(const enipool::Assignment& a) { return a.ToString().c_str(); }
};
template <>
struct StringMaker<enipool::Ipv4Address> {
  static String convert(const enipool::Ipv4Address& a) { return a.ToString().c_str(); }
};
}  // namespace doctest

#endif  // ENIPOOL_TESTS_TESTING_DATASTORE_TESTING_H_
