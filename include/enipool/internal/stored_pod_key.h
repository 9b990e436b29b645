// -----------------------------------------------------------------------------
// File: internal/stored_pod_key.h
// -----------------------------------------------------------------------------
//
// How a datastore keeps pod keys in its index: the three strings encoded
// into one small inline buffer, and hashed and compared as those bytes. Not
// part of the public API.
//
// The encoding keeps a real CNI key — network "aws-cni", a 64-character
// lowercase hexadecimal container id, interface "eth0" — in 34 bytes: the two
// common names become a flag bit each and the id is packed two hex digits a
// byte. Any other key is kept as it is, behind a length. So the key fits a
// 44-byte inline buffer (interface names up to 10 characters too) and a map
// slot (key and entry) is one 64-byte cache line rather than two: the index
// is the largest part of a datastore, and a simulator of 100,000 nodes keeps
// 11 million of these. A key that does not fit (long names) goes to the
// heap, for one allocation where it is stored and one per lookup; nothing is
// ever lost or confused, since the encoding is decoded back exactly
// (ToPodKey()). Encoding costs a CNI ADD or DEL about 20 ns
// (benchmarks/datastore_benchmark.cpp).

#ifndef ENIPOOL_INTERNAL_STORED_POD_KEY_H_
#define ENIPOOL_INTERNAL_STORED_POD_KEY_H_

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "enipool/pod_key.h"

namespace enipool::internal {

// A pod key as three views: what StoredPodKey is made from.
struct PodKeyRef {
  absl::string_view network_name;
  absl::string_view container_id;
  absl::string_view if_name;

  static PodKeyRef Of(const PodKey& key) noexcept {
    return {key.network_name, key.container_id, key.if_name};
  }
};

class StoredPodKey {
 public:
  static constexpr std::size_t kInlineBytes = 44;  // with the size: 48 bytes
  static constexpr char kCommonNetwork[] = "aws-cni";
  static constexpr char kCommonInterface[] = "eth0";

  // Layout: a flags byte; the network name (length, bytes) unless it is
  // kCommonNetwork; the container id's stored length and bytes (packed hex
  // or as given); the interface name to the end unless it is
  // kCommonInterface. Lengths are LEB128.
  explicit StoredPodKey(const PodKeyRef& key) {
    // One pass packs and checks the id; an id that turns out not to be
    // lowercase hex (rare: the CNI's are) is written again as given.
    if (!Encode(key, LooksPackable(key.container_id))) (void)Encode(key, false);
  }

  // The key it was made from.
  [[nodiscard]] PodKey ToPodKey() const {
    PodKey key;
    const char* in = data();
    const char* const end = in + size_;
    const auto flags = static_cast<unsigned char>(*in++);
    if (flags & kCommonNetworkBit) {
      key.network_name = std::string(kCommonNetwork);
    } else {
      const std::size_t n = GetVarint(in);
      key.network_name.assign(in, n);
      in += n;
    }
    const std::size_t id_bytes = GetVarint(in);
    if (flags & kPackedBit) {
      static constexpr char kDigits[] = "0123456789abcdef";
      key.container_id.resize(id_bytes * 2);
      for (std::size_t i = 0; i < id_bytes; ++i) {
        const auto byte = static_cast<unsigned char>(in[i]);
        key.container_id[2 * i] = kDigits[byte >> 4];
        key.container_id[2 * i + 1] = kDigits[byte & 0xf];
      }
    } else {
      key.container_id.assign(in, id_bytes);
    }
    in += id_bytes;
    key.if_name =
        (flags & kCommonInterfaceBit) ? std::string(kCommonInterface) : std::string(in, end);
    return key;
  }

  // The encoded bytes: equal exactly when the keys are.
  [[nodiscard]] absl::string_view bytes() const noexcept {
    return absl::string_view(data(), size_);
  }

  friend bool operator==(const StoredPodKey& a, const StoredPodKey& b) noexcept {
    return a.size_ == b.size_ && std::memcmp(a.data(), b.data(), a.size_) == 0;
  }

  StoredPodKey(const StoredPodKey& other) {
    std::memcpy(Allocate(other.size_), other.data(), other.size_);
  }
  StoredPodKey(StoredPodKey&& other) noexcept : size_(other.size_) {
    std::memcpy(inline_, other.inline_, sizeof(inline_));  // the bytes, or the heap pointer
    other.size_ = 0;
  }
  StoredPodKey& operator=(StoredPodKey other) noexcept {
    std::swap(size_, other.size_);
    char scratch[kInlineBytes];
    std::memcpy(scratch, inline_, sizeof(inline_));
    std::memcpy(inline_, other.inline_, sizeof(inline_));
    std::memcpy(other.inline_, scratch, sizeof(inline_));
    return *this;
  }
  ~StoredPodKey() {
    if (size_ > kInlineBytes) delete[] Heap();
  }

 private:
  // Writes the layout above, the id packed or not; false if `packed` and
  // the id is not lowercase hex after all.
  bool Encode(const PodKeyRef& key, bool packed) {
    const bool common_network = Is(key.network_name, kCommonNetwork);
    const bool common_interface = Is(key.if_name, kCommonInterface);
    const std::size_t id_bytes = packed ? key.container_id.size() / 2 : key.container_id.size();
    std::size_t size = 1 + VarintSize(id_bytes) + id_bytes;
    if (!common_network) size += VarintSize(key.network_name.size()) + key.network_name.size();
    if (!common_interface) size += key.if_name.size();
    char* out = Allocate(size);
    char* const first = out;
    *out++ = static_cast<char>((common_network ? kCommonNetworkBit : 0) |
                               (common_interface ? kCommonInterfaceBit : 0) |
                               (packed ? kPackedBit : 0));
    if (!common_network) {
      out = PutVarint(out, key.network_name.size());
      out = std::copy(key.network_name.begin(), key.network_name.end(), out);
    }
    out = PutVarint(out, id_bytes);
    if (packed) {
      out = PackHex(key.container_id, out);
      if (out == nullptr) return false;
    } else {
      out = std::copy(key.container_id.begin(), key.container_id.end(), out);
    }
    if (!common_interface) out = std::copy(key.if_name.begin(), key.if_name.end(), out);
    (void)first;
    assert(out == first + size);
    return true;
  }

  // Storage: the encoded bytes in inline_ when they fit, else a heap
  // block whose pointer inline_ holds.
  [[nodiscard]] const char* data() const noexcept {
    return size_ <= kInlineBytes ? inline_ : Heap();
  }
  [[nodiscard]] char* Heap() const noexcept {
    char* heap;
    std::memcpy(&heap, inline_, sizeof(heap));
    return heap;
  }
  char* Allocate(std::size_t size) {
    if (size_ > kInlineBytes) delete[] Heap();  // a second Encode()
    size_ = static_cast<std::uint32_t>(size);
    if (size <= kInlineBytes) return inline_;
    char* heap = new char[size];
    std::memcpy(inline_, &heap, sizeof(heap));
    return heap;
  }
  // Equality to a constant, without a call to memcmp for the length.
  template <std::size_t N>
  static bool Is(absl::string_view text, const char (&constant)[N]) noexcept {
    return text.size() == N - 1 && std::memcmp(text.data(), constant, N - 1) == 0;
  }

  static constexpr unsigned kCommonNetworkBit = 1;
  static constexpr unsigned kCommonInterfaceBit = 2;
  static constexpr unsigned kPackedBit = 4;

  // Lowercase hexadecimal of even length: packed two digits a byte (upper
  // case stays as given, so that decoding gives back the same text). Eight
  // characters at a time, as 64-bit words (SWAR): a CNI ADD encodes its key
  // once, and a byte-by-byte loop cost more than the index lookup itself.
  static constexpr std::uint64_t kOnes = 0x0101010101010101u;
  static constexpr std::uint64_t kHighs = 0x8080808080808080u;

  // Eight characters, the first in the lowest byte, whatever the machine.
  static std::uint64_t Load8(const char* p) noexcept {
    std::uint64_t w;
    std::memcpy(&w, p, sizeof(w));
    if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
    return w;
  }
  // Per byte of `w` (each < 0x80): 0x80 where it is in [lo, hi], else 0.
  // x + (0x80 - lo) sets the byte's high bit when x >= lo, x + (0x7f - hi)
  // when x > hi, and neither carries into the next byte.
  static std::uint64_t BytesIn(std::uint64_t w, unsigned lo, unsigned hi) noexcept {
    const std::uint64_t ge_lo = w + kOnes * (0x80 - lo);
    const std::uint64_t gt_hi = w + kOnes * (0x7f - hi);
    return ge_lo & ~gt_hi & kHighs;
  }
  // Worth trying to pack: even length, a hex digit first.
  static bool LooksPackable(absl::string_view id) noexcept {
    return !id.empty() && id.size() % 2 == 0 && IsHexDigit(id[0]);
  }
  static bool IsHexDigit(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  }
  static unsigned HexValue(char c) noexcept {
    return c <= '9' ? static_cast<unsigned>(c - '0') : static_cast<unsigned>(c - 'a' + 10);
  }
  // Packs `id` (even length) two digits a byte, the first digit high, and
  // returns the end; nullptr if a character is not a lowercase hex digit.
  static char* PackHex(absl::string_view id, char* out) noexcept {
    std::size_t i = 0;
    for (; i + 8 <= id.size(); i += 8) {
      const std::uint64_t w = Load8(id.data() + i);
      if ((w & kHighs) != 0 || (BytesIn(w, '0', '9') | BytesIn(w, 'a', 'f')) != kHighs) {
        return nullptr;
      }
      // '0'..'9' are 0x30..0x39 and 'a'..'f' 0x61..0x66: the low nibble,
      // plus 9 where bit 6 is set, is the digit's value.
      const std::uint64_t v = (w & (kOnes * 0x0f)) + ((w >> 6) & kOnes) * 9;
      // Bytes d0 d1 d2 … (d0 first): pair (d0 << 4 | d1) into each even byte.
      std::uint64_t pairs = ((v << 4) | (v >> 8)) & 0x00ff00ff00ff00ffu;
      // Then the even bytes side by side, in the low four.
      pairs = (pairs | (pairs >> 8)) & 0x0000ffff0000ffffu;
      pairs = (pairs | (pairs >> 16)) & 0x00000000ffffffffu;
      for (int b = 0; b < 4; ++b) out[b] = static_cast<char>(pairs >> (8 * b));
      out += 4;
    }
    for (; i < id.size(); i += 2) {
      if (!IsHexDigit(id[i]) || !IsHexDigit(id[i + 1])) return nullptr;
      *out++ = static_cast<char>((HexValue(id[i]) << 4) | HexValue(id[i + 1]));
    }
    return out;
  }
  static std::size_t VarintSize(std::size_t n) noexcept {
    std::size_t size = 1;
    while (n >= 0x80) {
      n >>= 7;
      ++size;
    }
    return size;
  }
  static char* PutVarint(char* out, std::size_t n) noexcept {
    while (n >= 0x80) {
      *out++ = static_cast<char>((n & 0x7f) | 0x80);
      n >>= 7;
    }
    *out++ = static_cast<char>(n);
    return out;
  }
  static std::size_t GetVarint(const char*& in) noexcept {
    std::size_t n = 0;
    for (int shift = 0;; shift += 7) {
      const auto byte = static_cast<unsigned char>(*in++);
      n |= static_cast<std::size_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return n;
    }
  }

  std::uint32_t size_ = 0;
  char inline_[kInlineBytes];
};

struct PodKeyHash {
  std::size_t operator()(const StoredPodKey& key) const noexcept {
    return absl::Hash<absl::string_view>{}(key.bytes());
  }
};

}  // namespace enipool::internal

#endif  // ENIPOOL_INTERNAL_STORED_POD_KEY_H_
