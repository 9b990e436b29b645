// -----------------------------------------------------------------------------
// File: internal/stored_pod_key.h
// -----------------------------------------------------------------------------
//
// How a datastore keeps pod keys in its index: the three strings packed into
// one inline buffer (no heap for keys up to kInlineBytes, which covers a
// 64-character container id with 15-character network and interface names),
// plus a view type for lookups that must not build a key at all. Not part of
// the public API.

#ifndef ENIPOOL_INTERNAL_STORED_POD_KEY_H_
#define ENIPOOL_INTERNAL_STORED_POD_KEY_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <tuple>

#include "absl/container/inlined_vector.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "enipool/pod_key.h"

namespace enipool::internal {

// A pod key as three views: what lookups hash and compare.
struct PodKeyRef {
  absl::string_view network_name;
  absl::string_view container_id;
  absl::string_view if_name;

  static PodKeyRef Of(const PodKey& key) noexcept {
    return {key.network_name, key.container_id, key.if_name};
  }
  [[nodiscard]] PodKey ToPodKey() const {
    return PodKey{std::string(network_name), std::string(container_id), std::string(if_name)};
  }
  friend bool operator==(const PodKeyRef& a, const PodKeyRef& b) noexcept {
    return a.network_name == b.network_name && a.container_id == b.container_id &&
           a.if_name == b.if_name;
  }
};

class StoredPodKey {
 public:
  static constexpr std::size_t kInlineBytes = 96;

  explicit StoredPodKey(const PodKeyRef& key) {
    // One resize and three plain copies: InlinedVector::insert is generic
    // and cost ~600 instructions per key on the ADD path (callgrind).
    bytes_.resize(key.network_name.size() + key.container_id.size() + key.if_name.size());
    char* out = bytes_.data();
    out = std::copy(key.network_name.begin(), key.network_name.end(), out);
    out = std::copy(key.container_id.begin(), key.container_id.end(), out);
    std::copy(key.if_name.begin(), key.if_name.end(), out);
    network_size_ = static_cast<std::uint32_t>(key.network_name.size());
    container_size_ = static_cast<std::uint32_t>(key.container_id.size());
  }

  [[nodiscard]] PodKeyRef ref() const noexcept {
    const absl::string_view all(bytes_.data(), bytes_.size());
    return {all.substr(0, network_size_), all.substr(network_size_, container_size_),
            all.substr(network_size_ + container_size_)};
  }

 private:
  absl::InlinedVector<char, kInlineBytes> bytes_;
  std::uint32_t network_size_ = 0;
  std::uint32_t container_size_ = 0;
};

// Transparent hash and equality, so the index is searched with a PodKeyRef.
struct PodKeyHash {
  using is_transparent = void;
  std::size_t operator()(const PodKeyRef& key) const noexcept {
    return absl::Hash<std::tuple<absl::string_view, absl::string_view, absl::string_view>>{}(
        std::make_tuple(key.network_name, key.container_id, key.if_name));
  }
  std::size_t operator()(const StoredPodKey& key) const noexcept { return (*this)(key.ref()); }
};

struct PodKeyEq {
  using is_transparent = void;
  static PodKeyRef Ref(const PodKeyRef& key) noexcept { return key; }
  static PodKeyRef Ref(const StoredPodKey& key) noexcept { return key.ref(); }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const noexcept {
    return Ref(a) == Ref(b);
  }
};

}  // namespace enipool::internal

#endif  // ENIPOOL_INTERNAL_STORED_POD_KEY_H_
