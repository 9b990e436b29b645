// A model of what a journal file means, written from the format and the
// recovery rules in include/enipool/persist/journal_format.h and journal.h
// alone, as the oracle of the journal replay fuzz target
// (fuzz/journal_replay_fuzz.h). It decodes the bytes itself (its own
// CRC-32C, its own field readers) and applies each record's meaning to a few
// ordered maps; it calls none of the library's decoding or replay code and
// uses none of its types, so a mistake there cannot hide in here.
//
//   const auto replay = enipool::testing::journal_model::Replay(bytes);
//   replay.outcome;      // kOpens, kDataLoss or kFailedPrecondition
//   replay.valid_bytes;  // where a torn tail is cut
//   replay.state;        // ENIs, CIDRs, pods, releases, intents, marks
//   replay.state.Cooling(now_ns, cooldown_ns);  // the addresses still cooling
//
// What it knows, record by record (a record that does not apply makes the
// whole file DATA_LOSS):
//   add ENI       id of 1–31 letters, digits, '-' or '_'; device ≥ 0; not yet known
//   remove ENI    known; with pods on its CIDRs only when forced (they go too)
//   add CIDR      a /32 or /28 on a known ENI, sharing no address with any CIDR
//   remove CIDR   a /32 or /28 that ENI holds; with pods only when forced
//   assign        every key part non-empty; the address in some CIDR (any
//                 mode, any ENI); the same pod on the same address changes
//                 nothing (its first time stays); the pod holding another
//                 address, or the address held by another pod, does not
//                 apply; the address stops cooling
//   release       the pod, or else its legacy key ("_migrated-from-cri", same
//                 container, "unknown"); its address cools from the record's time
//   cooling       an address in some CIDR that no pod holds cools from that time
//   intent        id ≠ 0 and not open; kind 1–4; the next id is past every id begun
//   end intent    an open id
//   mark          mark 1–3 takes the record's time
// An address is still cooling at `now` while now − released ≤ cooldown; a
// release so late that released + cooldown passes the largest i64 never ends
// and is kept as (largest i64 − cooldown).

#ifndef ENIPOOL_TESTS_TESTING_JOURNAL_REPLAY_MODEL_H_
#define ENIPOOL_TESTS_TESTING_JOURNAL_REPLAY_MODEL_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace enipool::testing::journal_model {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), one bit at a time;
// the table is only that loop run once per byte value.
inline std::uint32_t Crc32cByte(std::uint32_t reg, unsigned char byte) {
  reg ^= byte;
  for (int bit = 0; bit < 8; ++bit) reg = (reg >> 1) ^ ((reg & 1u) ? 0x82F63B78u : 0u);
  return reg;
}
inline const std::array<std::uint32_t, 256>& Crc32cTable() {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (unsigned v = 0; v < 256; ++v) t[v] = Crc32cByte(0, static_cast<unsigned char>(v));
    return t;
  }();
  return table;
}
// The CRC of `prefix` followed by `bytes`.
inline std::uint32_t Crc32c(std::string_view prefix, std::string_view bytes) {
  const auto& table = Crc32cTable();
  std::uint32_t reg = 0xFFFFFFFFu;
  for (std::string_view part : {prefix, bytes}) {
    for (char c : part) reg = (reg >> 8) ^ table[(reg ^ static_cast<unsigned char>(c)) & 0xFFu];
  }
  return ~reg;
}

inline std::uint64_t LittleEndian(std::string_view bytes, std::size_t at, int width) {
  std::uint64_t v = 0;
  for (int i = width - 1; i >= 0; --i) {
    v = (v << 8) | static_cast<unsigned char>(bytes[at + static_cast<std::size_t>(i)]);
  }
  return v;
}

using Prefix = std::pair<std::uint32_t, int>;  // network, length
using Pod = std::tuple<std::string, std::string, std::string>;  // network, container, interface

inline bool Contains(const Prefix& p, std::uint32_t address) {
  const std::uint64_t size = std::uint64_t{1} << (32 - p.second);
  return address >= p.first && address - p.first < size;
}

struct Eni {
  std::int32_t device = 0;
  bool primary = false, trunk = false, efa = false, excluded = false;
  std::string subnet;
  friend bool operator==(const Eni&, const Eni&) = default;
};
struct Intent {
  std::uint64_t id = 0;
  int kind = 0;
  std::string eni;
  std::vector<Prefix> cidrs;
  friend bool operator==(const Intent&, const Intent&) = default;
};

// What a journal holds once replayed.
struct State {
  std::map<std::string, Eni> enis;
  std::map<Prefix, std::string> cidrs;                          // → its ENI
  std::map<Pod, std::pair<std::uint32_t, std::int64_t>> pods;   // → address, assigned time
  std::map<std::uint32_t, std::int64_t> released;               // free address → last release
  std::vector<Intent> intents;                                  // open, oldest first
  std::array<std::optional<std::int64_t>, 3> marks{};
  std::uint64_t next_intent = 1;

  std::optional<Prefix> CidrOf(std::uint32_t address) const {
    for (const auto& [cidr, eni] : cidrs) {
      if (Contains(cidr, address)) return cidr;
    }
    return std::nullopt;
  }
  bool Held(std::uint32_t address) const {
    for (const auto& [pod, held] : pods) {
      if (held.first == address) return true;
    }
    return false;
  }
  void DropCidr(const Prefix& cidr) {
    std::erase_if(pods, [&](const auto& e) { return Contains(cidr, e.second.first); });
    std::erase_if(released, [&](const auto& e) { return Contains(cidr, e.first); });
    cidrs.erase(cidr);
  }
  bool HasPods(const Prefix& cidr) const {
    for (const auto& [pod, held] : pods) {
      if (Contains(cidr, held.first)) return true;
    }
    return false;
  }
  // The addresses still cooling at `now`, with their release times.
  std::map<std::uint32_t, std::int64_t> Cooling(std::int64_t now, std::int64_t cooldown) const {
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    std::map<std::uint32_t, std::int64_t> out;
    for (const auto& [address, at] : released) {
      const std::int64_t kept = std::min(at, kMax - cooldown);
      if (at > kMax - cooldown || at >= now - cooldown) out[address] = kept;
    }
    return out;
  }
};

enum class Outcome { kOpens, kDataLoss, kFailedPrecondition };

struct Result {
  Outcome outcome = Outcome::kOpens;
  std::string why;               // for kDataLoss / kFailedPrecondition
  std::uint64_t valid_bytes = 0;  // the part kept (0: a torn header, a new journal)
  std::uint64_t records = 0;
  State state;
};

inline constexpr std::string_view kMagic = "ENIPJRN";
inline constexpr std::size_t kHeaderSize = 20;       // magic, version, salt (8), CRC (4)
inline constexpr std::size_t kRecordFraming = 17;    // length (4), kind (1), sequence (8), CRC (4)
inline constexpr std::uint64_t kMaxPayload = 1u << 18;

// Field reader over one payload; any overrun or leftover byte is a
// malformed payload.
class Fields {
 public:
  explicit Fields(std::string_view payload) : rest_(payload) {}
  std::uint64_t Int(int width) {
    if (rest_.size() < static_cast<std::size_t>(width)) {
      bad_ = true;
      return 0;
    }
    const std::uint64_t v = LittleEndian(rest_, 0, width);
    rest_.remove_prefix(static_cast<std::size_t>(width));
    return v;
  }
  std::string Text() {
    const auto size = static_cast<std::size_t>(Int(2));
    if (bad_ || rest_.size() < size) {
      bad_ = true;
      return {};
    }
    std::string s(rest_.substr(0, size));
    rest_.remove_prefix(size);
    return s;
  }
  std::int64_t Time() { return static_cast<std::int64_t>(Int(8)); }
  // A network and a length that make an aligned IPv4 prefix.
  Prefix Cidr() {
    const auto network = static_cast<std::uint32_t>(Int(4));
    const auto length = static_cast<int>(Int(1));
    if (length > 32) {
      bad_ = true;
      return {};
    }
    const std::uint32_t host = length == 0 ? 0xFFFFFFFFu : (std::uint32_t{1} << (32 - length)) - 1;
    if ((network & host) != 0) bad_ = true;
    return {network, length};
  }
  void Require(bool ok) { bad_ |= !ok; }
  [[nodiscard]] bool overrun() const { return bad_; }
  // Every field read and valid, and nothing left over.
  [[nodiscard]] bool ok() const { return !bad_ && rest_.empty(); }

 private:
  std::string_view rest_;
  bool bad_ = false;
};

inline bool ValidEniId(const std::string& id) {
  if (id.empty() || id.size() > 31) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
  });
}

// Applies one well-framed record to `s`: false if its payload is malformed
// or it does not apply (both DATA_LOSS).
inline bool ApplyRecord(State& s, int kind, std::string_view payload) {
  Fields in(payload);
  switch (kind) {
    case 1: {  // add ENI: id, device (i32), flags, subnet
      const std::string id = in.Text();
      Eni eni;
      eni.device = static_cast<std::int32_t>(static_cast<std::uint32_t>(in.Int(4)));
      const std::uint64_t flags = in.Int(1);
      in.Require(flags < 16);
      eni.primary = flags & 1u;
      eni.trunk = flags & 2u;
      eni.efa = flags & 4u;
      eni.excluded = flags & 8u;
      eni.subnet = in.Text();
      if (!in.ok() || !ValidEniId(id) || eni.device < 0 || s.enis.contains(id)) return false;
      s.enis[id] = eni;
      return true;
    }
    case 2: {  // remove ENI: id, force
      const std::string id = in.Text();
      const bool force = in.Int(1) != 0;
      if (!in.ok() || !s.enis.contains(id)) return false;
      std::vector<Prefix> mine;
      bool pods = false;
      for (const auto& [cidr, owner] : s.cidrs) {
        if (owner != id) continue;
        mine.push_back(cidr);
        pods |= s.HasPods(cidr);
      }
      if (pods && !force) return false;
      for (const Prefix& cidr : mine) s.DropCidr(cidr);
      s.enis.erase(id);
      return true;
    }
    case 3: {  // add CIDR: ENI, prefix
      const std::string id = in.Text();
      const Prefix cidr = in.Cidr();
      if (!in.ok()) return false;
      if ((cidr.second != 32 && cidr.second != 28) || !s.enis.contains(id)) return false;
      for (const auto& [other, owner] : s.cidrs) {
        if (Contains(other, cidr.first) || Contains(cidr, other.first)) return false;
      }
      s.cidrs[cidr] = id;
      return true;
    }
    case 4: {  // remove CIDR: ENI, prefix, force
      const std::string id = in.Text();
      const Prefix cidr = in.Cidr();
      const bool force = in.Int(1) != 0;
      if (!in.ok()) return false;
      const auto it = s.cidrs.find(cidr);
      if (it == s.cidrs.end() || it->second != id) return false;
      if (s.HasPods(cidr) && !force) return false;
      s.DropCidr(cidr);
      return true;
    }
    case 5: {  // assign: network, container, interface, address, time
      Pod pod;
      std::get<0>(pod) = in.Text();
      std::get<1>(pod) = in.Text();
      std::get<2>(pod) = in.Text();
      const auto address = static_cast<std::uint32_t>(in.Int(4));
      const std::int64_t at = in.Time();
      if (!in.ok()) return false;
      if (std::get<0>(pod).empty() || std::get<1>(pod).empty() || std::get<2>(pod).empty()) {
        return false;
      }
      if (!s.CidrOf(address).has_value()) return false;
      if (const auto held = s.pods.find(pod); held != s.pods.end()) {
        return held->second.first == address;  // the same: nothing changes
      }
      if (s.Held(address)) return false;
      s.pods[pod] = {address, at};
      s.released.erase(address);
      return true;
    }
    case 6: {  // release: network, container, interface, time
      Pod pod;
      std::get<0>(pod) = in.Text();
      std::get<1>(pod) = in.Text();
      std::get<2>(pod) = in.Text();
      const std::int64_t at = in.Time();
      if (!in.ok()) return false;
      auto held = s.pods.find(pod);
      if (held == s.pods.end()) held = s.pods.find({"_migrated-from-cri", std::get<1>(pod), "unknown"});
      if (held == s.pods.end()) return false;
      s.released[held->second.first] = at;
      s.pods.erase(held);
      return true;
    }
    case 7: {  // cooling: address, time
      const auto address = static_cast<std::uint32_t>(in.Int(4));
      const std::int64_t at = in.Time();
      if (!in.ok() || !s.CidrOf(address).has_value() || s.Held(address)) return false;
      s.released[address] = at;
      return true;
    }
    case 8: {  // intent: id, kind, ENI, count, CIDRs
      Intent intent;
      intent.id = in.Int(8);
      intent.kind = static_cast<int>(in.Int(1));
      in.Require(intent.kind >= 1 && intent.kind <= 4);
      intent.eni = in.Text();
      const std::uint64_t count = in.Int(2);
      for (std::uint64_t i = 0; i < count && !in.overrun(); ++i) intent.cidrs.push_back(in.Cidr());
      if (!in.ok() || intent.id == 0) return false;
      for (const Intent& open : s.intents) {
        if (open.id == intent.id) return false;
      }
      s.next_intent = std::max(s.next_intent, intent.id + 1);
      s.intents.push_back(std::move(intent));
      return true;
    }
    case 9: {  // end intent: id
      const std::uint64_t id = in.Int(8);
      if (!in.ok()) return false;
      for (auto it = s.intents.begin(); it != s.intents.end(); ++it) {
        if (it->id == id) {
          s.intents.erase(it);
          return true;
        }
      }
      return false;
    }
    case 10: {  // mark: which, time
      const std::uint64_t mark = in.Int(1);
      const std::int64_t at = in.Time();
      if (!in.ok() || mark < 1 || mark > 3) return false;
      s.marks[mark - 1] = at;
      return true;
    }
    default:
      return false;  // an unknown kind
  }
}

// Whether a record of the journal salted `salt` (checksum good, whatever its
// sequence) starts anywhere at or after `from`: every offset is tried.
inline std::optional<std::size_t> AnyRecordFrom(std::string_view bytes, std::size_t from,
                                                std::string_view salt) {
  for (std::size_t at = from; at + kRecordFraming <= bytes.size(); ++at) {
    const std::uint64_t length = LittleEndian(bytes, at, 4);
    if (length > kMaxPayload || length > bytes.size() - at - kRecordFraming) continue;
    const std::size_t body = 13 + static_cast<std::size_t>(length);
    if (Crc32c(salt, bytes.substr(at, body)) == LittleEndian(bytes, at + body, 4)) return at;
  }
  return std::nullopt;
}

// Replays a journal file as JournaledDatastore::Open must: the outcome, the
// part of the file kept, and the state.
// Replay accepts CIDRs of both kinds whatever the mode; which addresses are
// still cooling is State::Cooling()'s question, asked when the state is read.
inline Result Replay(std::string_view bytes) {
  Result r;
  auto fail = [&](Outcome outcome, std::string why) {
    r.outcome = outcome;
    r.why = std::move(why);
    return r;
  };
  const std::size_t magic_seen = std::min(bytes.size(), kMagic.size());
  if (bytes.substr(0, magic_seen) != kMagic.substr(0, magic_seen)) return fail(Outcome::kDataLoss, "magic");
  if (bytes.size() > kMagic.size() && static_cast<unsigned char>(bytes[kMagic.size()]) != 2) {
    return fail(Outcome::kFailedPrecondition, "version");
  }
  if (bytes.size() < kHeaderSize) return r;  // a torn header: a new journal
  if (Crc32c({}, bytes.substr(0, 16)) != LittleEndian(bytes, 16, 4)) {
    return fail(Outcome::kDataLoss, "header checksum");
  }
  const std::string_view salt = bytes.substr(8, 8);
  // Frame the records first: damage anywhere refuses the file, whatever
  // the records before it say.
  struct Framed {
    int kind;
    std::string_view payload;
  };
  std::vector<Framed> records;
  std::size_t at = kHeaderSize;
  r.valid_bytes = bytes.size();
  while (at < bytes.size()) {
    const std::size_t left = bytes.size() - at;
    bool good = left >= kRecordFraming;
    std::uint64_t length = 0;
    if (good) {
      length = LittleEndian(bytes, at, 4);
      good = length <= kMaxPayload && length <= left - kRecordFraming;
    }
    if (good) {
      const std::size_t body = 13 + static_cast<std::size_t>(length);
      good = Crc32c(salt, bytes.substr(at, body)) == LittleEndian(bytes, at + body, 4) &&
             LittleEndian(bytes, at + 5, 8) == records.size();
    }
    if (!good) {
      if (AnyRecordFrom(bytes, at + 1, salt).has_value()) return fail(Outcome::kDataLoss, "damage before the tail");
      r.valid_bytes = at;  // a torn tail
      break;
    }
    records.push_back({static_cast<unsigned char>(bytes[at + 4]),
                       bytes.substr(at + 13, static_cast<std::size_t>(length))});
    at += kRecordFraming + static_cast<std::size_t>(length);
  }
  for (const Framed& record : records) {
    if (!ApplyRecord(r.state, record.kind, record.payload)) {
      return fail(Outcome::kDataLoss, "record " + std::to_string(r.records) + " (kind " +
                                          std::to_string(record.kind) + ") does not apply");
    }
    ++r.records;
  }
  return r;
}

}  // namespace enipool::testing::journal_model

#endif  // ENIPOOL_TESTS_TESTING_JOURNAL_REPLAY_MODEL_H_
