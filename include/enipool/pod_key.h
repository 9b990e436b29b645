// -----------------------------------------------------------------------------
// File: pod_key.h
// -----------------------------------------------------------------------------
//
// The identifiers a datastore keys on: `PodKey`, the CNI's IPAM key of one
// pod interface (network name, container id, interface name), and `EniId`,
// an EC2 network interface id held inline (no heap), so that an `Assignment`
// can be returned on the hot path without allocating.
//
// Example:
//
//   enipool::PodKey pod{"aws-cni", "4f1c…e9", "eth0"};
//   absl::StatusOr<enipool::EniId> eni = enipool::EniId::Create("eni-0a1b2c3d4e5f60718");
//   if (eni.ok() && *eni == "eni-0a1b2c3d4e5f60718") { … }

#ifndef ENIPOOL_POD_KEY_H_
#define ENIPOOL_POD_KEY_H_

#include <algorithm>
#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "enipool/status.h"

namespace enipool {

// PodKey
//
// The CNI spec's IPAM primary key: (network name, container id, interface
// name). The CNI plugin sends the CNI config name (normally "aws-cni"), the
// sandbox id, and the interface (normally "eth0"). All three must be
// non-empty for an ADD.
struct PodKey {
  std::string network_name;
  std::string container_id;
  std::string if_name;

  // PodKey::ToString()
  //
  // "network/container/ifname", for messages.
  [[nodiscard]] std::string ToString() const {
    return absl::StrCat(network_name, "/", container_id, "/", if_name);
  }

  friend bool operator==(const PodKey&, const PodKey&) = default;
  friend auto operator<=>(const PodKey&, const PodKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const PodKey& key) {
    return H::combine(std::move(h), key.network_name, key.container_id, key.if_name);
  }
};

// EniId
//
// An EC2 network interface id ("eni-" followed by hex digits) stored inline in
// 32 bytes, so it copies without touching the heap. Ids up to
// kMaxLength characters are accepted; EC2's are 12 or 21.
class EniId {
 public:
  static constexpr std::size_t kMaxLength = 31;

  constexpr EniId() noexcept = default;

  // EniId::Create()
  //
  // INVALID_ARGUMENT naming the text if it is empty, longer than kMaxLength,
  // or holds characters other than letters, digits, '-' and '_'.
  [[nodiscard]] static absl::StatusOr<EniId> Create(absl::string_view text) {
    if (text.empty() || text.size() > kMaxLength) {
      return absl::InvalidArgumentError(absl::StrCat("invalid ENI id ", QuoteInput(text),
                                                     ": want 1 to ", kMaxLength,
                                                     " characters, e.g. eni-0a1b2c3d"));
    }
    for (char c : text) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_';
      if (!ok) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid ENI id ", QuoteInput(text),
                         ": only letters, digits, '-' and '_' are allowed"));
      }
    }
    EniId id;
    std::copy(text.begin(), text.end(), id.chars_.begin());
    id.size_ = static_cast<std::uint8_t>(text.size());
    return id;
  }

  [[nodiscard]] constexpr absl::string_view view() const noexcept {
    return absl::string_view(chars_.data(), size_);
  }
  [[nodiscard]] std::string ToString() const { return std::string(view()); }
  [[nodiscard]] constexpr bool empty() const noexcept { return size_ == 0; }

  friend constexpr bool operator==(const EniId& a, const EniId& b) noexcept {
    return a.view() == b.view();
  }
  friend constexpr bool operator==(const EniId& a, absl::string_view b) noexcept {
    return a.view() == b;
  }
  friend constexpr bool operator==(const EniId& a, const char* b) noexcept {
    return a.view() == absl::string_view(b);
  }
  friend std::strong_ordering operator<=>(const EniId& a, const EniId& b) noexcept {
    const int c = a.view().compare(b.view());
    return c < 0 ? std::strong_ordering::less
                 : (c > 0 ? std::strong_ordering::greater : std::strong_ordering::equal);
  }
  template <typename H>
  friend H AbslHashValue(H h, const EniId& id) {
    return H::combine(std::move(h), id.view());
  }

 private:
  std::array<char, kMaxLength> chars_{};
  std::uint8_t size_ = 0;
};

}  // namespace enipool

#endif  // ENIPOOL_POD_KEY_H_
