// -----------------------------------------------------------------------------
// File: persist/journal_format.h
// -----------------------------------------------------------------------------
//
// The bytes of a journal file (persist/journal.h writes and replays them):
// record kinds and their encoders, the decoder, and ParseJournal(), which
// splits a file into records and tells a torn tail from damage before it.
// Pure functions over bytes; no I/O.
//
// Example:
//
//   ENIPOOL_ASSIGN_OR_RETURN(enipool::ParsedJournal parsed, enipool::ParseJournal(file_bytes));
//   for (const enipool::JournalRecord& record : parsed.records) use(record.ToString());
//   parsed.torn_bytes;   // bytes of a torn tail after the last good record
//
// File format (little-endian), version 2:
//   header  "ENIPJRN" | u8 format version (2) | u64 salt | u32 CRC-32C of the 16 bytes before
//   record  u32 payload length | u8 kind | u64 sequence | payload | u32 checksum
// The checksum is the CRC-32C of the file's salt (8 bytes) followed by the
// record's length, kind, sequence and payload. Sequences count from 0 in
// each file. Each new file (a new journal, every snapshot) gets a new salt:
// drawn from a std::mt19937_64 seeded with JournalOptions::salt_seed and the
// clock's time for a new journal, from the previous salt for a snapshot.
// Payload fields: strings are u16 length + bytes, addresses u32, times i64
// Unix nanoseconds, flags u8. See `JournalRecordType` for each kind's fields;
// a new kind is a new value there, its encoder and a case in DecodeRecord().
// Version 1 files (records without sequence numbers or salt) are refused
// with FAILED_PRECONDITION naming the version, and left alone: move one away
// to start a new journal.
//
// Recovery rules: see persist/journal.h.

#ifndef ENIPOOL_PERSIST_JOURNAL_FORMAT_H_
#define ENIPOOL_PERSIST_JOURNAL_FORMAT_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/datastore.h"
#include "enipool/internal/crc32c.h"
#include "enipool/ipv4.h"
#include "enipool/ipv6.h"
#include "enipool/pod_key.h"
#include "enipool/pool_store.h"
#include "enipool/status.h"

namespace enipool {

// JournalRecordType
//
// The kinds of record and their payloads.
enum class JournalRecordType : std::uint8_t {
  kAddEni = 1,      // id, device number (i32), flags (primary|trunk|efa|excluded), subnet id
  kRemoveEni = 2,   // id, force
  kAddCidr = 3,     // ENI id, network (u32), length (u8)
  kRemoveCidr = 4,  // ENI id, network, length, force
  kAssign = 5,      // network name, container id, interface, address, assigned time
  kRelease = 6,     // network name, container id, interface, released time
  kCooling = 7,     // address, released time (snapshots only)
  // A NodeController's own records (pool_store.h, DurablePoolStore):
  kIntent = 8,      // id (u64), kind (u8), ENI id, CIDR count (u16), CIDRs (network, length)
  kEndIntent = 9,   // id (u64)
  kMark = 10,       // mark (u8), time
  // An IPv6 node's records (persist/ipv6_journal.h); kAddEni and kRelease
  // serve both families. An IPv6 address is u64 high, u64 low.
  kAddIpv6Prefix = 11,  // ENI id, network (16 bytes), length (u8)
  kAssignIpv6 = 12,     // network name, container id, interface, address, assigned time
  kCoolingIpv6 = 13,    // address, released time (snapshots only)
};

// JournalRecord
//
// One decoded record; only the fields of its type are meaningful.
struct JournalRecord {
  JournalRecordType type = JournalRecordType::kAssign;
  std::uint64_t offset = 0;    // byte offset of the record in the file
  std::uint64_t sequence = 0;  // its place in the file's history, from 0
  EniSpec eni;               // kAddEni: all of it; ENI and CIDR records: id
  Ipv4Prefix cidr;
  bool force = false;
  PodKey pod;
  Ipv4Address address;
  Ipv6Prefix prefix6;    // kAddIpv6Prefix
  Ipv6Address address6;  // kAssignIpv6, kCoolingIpv6
  absl::Time time;    // kAssign, kRelease, kCooling, kMark, kAssignIpv6, kCoolingIpv6
  PoolIntent intent;  // kIntent: all of it; kEndIntent: id
  ControllerMark mark = ControllerMark::kLastDecrease;

  [[nodiscard]] std::string ToString() const;
};

namespace internal {

inline constexpr absl::string_view kJournalMagic = "ENIPJRN";  // + version byte
inline constexpr std::uint8_t kJournalVersion = 2;
inline constexpr std::size_t kJournalHeaderSize = 20;  // magic, version, salt, checksum
inline constexpr std::size_t kRecordHeaderSize = 13;   // length, kind, sequence
inline constexpr std::size_t kRecordOverhead = kRecordHeaderSize + 4;  // + checksum
inline constexpr std::uint32_t kMaxRecordPayload = 1u << 18;

inline void PutU8(std::string& out, std::uint8_t v) { out.push_back(static_cast<char>(v)); }
inline void PutU16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v & 0xFFu));
  out.push_back(static_cast<char>(v >> 8));
}
inline void PutU32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
}
inline void PutU64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
}
inline void PutString(std::string& out, absl::string_view s) {
  PutU16(out, static_cast<std::uint16_t>(s.size()));  // callers check size <= 65535
  out.append(s.data(), s.size());
}
inline void PutTime(std::string& out, absl::Time t) {
  PutU64(out, static_cast<std::uint64_t>(absl::ToUnixNanos(t)));
}
inline std::uint32_t GetU32(absl::string_view bytes, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) {
    v = (v << 8) | static_cast<unsigned char>(bytes[at + static_cast<std::size_t>(i)]);
  }
  return v;
}

inline std::uint64_t GetU64(absl::string_view bytes, std::size_t at) {
  return (std::uint64_t{GetU32(bytes, at + 4)} << 32) | GetU32(bytes, at);
}

// The file header for a journal whose records are salted with `salt`.
inline std::string JournalHeader(std::uint64_t salt) {
  std::string header(kJournalMagic);
  PutU8(header, kJournalVersion);
  PutU64(header, salt);
  PutU32(header, Crc32c(header));
  return header;
}

// The CRC-32C of the salt's 8 bytes: every record's checksum starts from it.
inline std::uint32_t SaltCrc(std::uint64_t salt) {
  std::string bytes;
  PutU64(bytes, salt);
  return Crc32c(bytes);
}

// The salt of a brand-new journal (see JournalOptions::salt_seed).
inline std::uint64_t NewJournalSalt(std::uint64_t seed, absl::Time now) {
  std::mt19937_64 rng(seed ^ static_cast<std::uint64_t>(absl::ToUnixNanos(now)));
  return rng();
}

// The salt of the file that replaces one salted with `salt` (a snapshot):
// different from it, and a function of it only, so that a snapshot's bytes
// are a function of the state.
inline std::uint64_t NextJournalSalt(std::uint64_t salt) {
  std::mt19937_64 rng(salt ^ 0x9E3779B97F4A7C15u);
  std::uint64_t next = rng();
  while (next == salt) next = rng();
  return next;
}

// Starts a record in `out` (cleared); FinishRecord() fills in its length.
// The sequence and checksum are left for SealRecord(), which the writer
// calls as it appends (it knows the file's salt and next sequence).
// Encoders append straight into a reused buffer: no allocation in steady
// state.
inline void BeginRecord(std::string& out, JournalRecordType type) {
  out.clear();
  PutU32(out, 0);
  PutU8(out, static_cast<std::uint8_t>(type));
  PutU64(out, 0);
}
inline void FinishRecord(std::string& out) {
  const auto length = static_cast<std::uint32_t>(out.size() - kRecordHeaderSize);
  for (int i = 0; i < 4; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((length >> (8 * i)) & 0xFFu);
}

// Gives an encoded (finished) record its sequence number and appends its
// checksum under the salt whose CRC is `salt_crc`.
inline void SealRecord(std::string& record, std::uint32_t salt_crc, std::uint64_t sequence) {
  for (int i = 0; i < 8; ++i) {
    record[5 + static_cast<std::size_t>(i)] = static_cast<char>((sequence >> (8 * i)) & 0xFFu);
  }
  PutU32(record, Crc32cExtend(salt_crc, record));
}

inline void EncodeAddEni(std::string& out, const EniSpec& spec) {
  BeginRecord(out, JournalRecordType::kAddEni);
  PutString(out, spec.id);
  PutU32(out, static_cast<std::uint32_t>(spec.device_number));
  PutU8(out, static_cast<std::uint8_t>((spec.primary ? 1 : 0) | (spec.trunk ? 2 : 0) |
                                       (spec.efa ? 4 : 0) | (spec.excluded ? 8 : 0)));
  PutString(out, spec.subnet_id);
  FinishRecord(out);
}
inline void EncodeRemoveEni(std::string& out, absl::string_view id, bool force) {
  BeginRecord(out, JournalRecordType::kRemoveEni);
  PutString(out, id);
  PutU8(out, force ? 1 : 0);
  FinishRecord(out);
}
inline void EncodeCidr(std::string& out, JournalRecordType type, absl::string_view eni,
                       Ipv4Prefix cidr, bool force) {
  BeginRecord(out, type);
  PutString(out, eni);
  PutU32(out, cidr.network().value());
  PutU8(out, static_cast<std::uint8_t>(cidr.length()));
  if (type == JournalRecordType::kRemoveCidr) PutU8(out, force ? 1 : 0);
  FinishRecord(out);
}
inline void EncodeAssign(std::string& out, const PodKey& pod, Ipv4Address address, absl::Time at) {
  BeginRecord(out, JournalRecordType::kAssign);
  PutString(out, pod.network_name);
  PutString(out, pod.container_id);
  PutString(out, pod.if_name);
  PutU32(out, address.value());
  PutTime(out, at);
  FinishRecord(out);
}
inline void EncodeRelease(std::string& out, const PodKey& pod, absl::Time at) {
  BeginRecord(out, JournalRecordType::kRelease);
  PutString(out, pod.network_name);
  PutString(out, pod.container_id);
  PutString(out, pod.if_name);
  PutTime(out, at);
  FinishRecord(out);
}
inline void EncodeCooling(std::string& out, Ipv4Address address, absl::Time released) {
  BeginRecord(out, JournalRecordType::kCooling);
  PutU32(out, address.value());
  PutTime(out, released);
  FinishRecord(out);
}
inline void EncodeIntent(std::string& out, const PoolIntent& intent) {
  BeginRecord(out, JournalRecordType::kIntent);
  PutU64(out, intent.id);
  PutU8(out, static_cast<std::uint8_t>(intent.kind));
  PutString(out, intent.eni_id);
  PutU16(out, static_cast<std::uint16_t>(intent.cidrs.size()));  // callers check <= 65535
  for (const Ipv4Prefix& cidr : intent.cidrs) {
    PutU32(out, cidr.network().value());
    PutU8(out, static_cast<std::uint8_t>(cidr.length()));
  }
  FinishRecord(out);
}
inline void EncodeEndIntent(std::string& out, std::uint64_t id) {
  BeginRecord(out, JournalRecordType::kEndIntent);
  PutU64(out, id);
  FinishRecord(out);
}
inline void EncodeMark(std::string& out, ControllerMark mark, absl::Time time) {
  BeginRecord(out, JournalRecordType::kMark);
  PutU8(out, static_cast<std::uint8_t>(mark));
  PutTime(out, time);
  FinishRecord(out);
}

inline void PutIpv6(std::string& out, Ipv6Address address) {
  PutU64(out, address.high());
  PutU64(out, address.low());
}
inline void EncodeAddIpv6Prefix(std::string& out, absl::string_view eni, Ipv6Prefix prefix) {
  BeginRecord(out, JournalRecordType::kAddIpv6Prefix);
  PutString(out, eni);
  PutIpv6(out, prefix.network());
  PutU8(out, static_cast<std::uint8_t>(prefix.length()));
  FinishRecord(out);
}
inline void EncodeAssignIpv6(std::string& out, const PodKey& pod, Ipv6Address address,
                             absl::Time at) {
  BeginRecord(out, JournalRecordType::kAssignIpv6);
  PutString(out, pod.network_name);
  PutString(out, pod.container_id);
  PutString(out, pod.if_name);
  PutIpv6(out, address);
  PutTime(out, at);
  FinishRecord(out);
}
inline void EncodeCoolingIpv6(std::string& out, Ipv6Address address, absl::Time released) {
  BeginRecord(out, JournalRecordType::kCoolingIpv6);
  PutIpv6(out, address);
  PutTime(out, released);
  FinishRecord(out);
}

// Reads a payload field by field; any overrun sets `ok` to false.
class PayloadReader {
 public:
  explicit PayloadReader(absl::string_view payload) : rest_(payload) {}
  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] bool done() const { return ok_ && rest_.empty(); }

  std::uint64_t Fixed(int bytes) {
    if (!ok_ || rest_.size() < static_cast<std::size_t>(bytes)) {
      ok_ = false;
      return 0;
    }
    std::uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) {
      v = (v << 8) | static_cast<unsigned char>(rest_[static_cast<std::size_t>(i)]);
    }
    rest_.remove_prefix(static_cast<std::size_t>(bytes));
    return v;
  }
  std::string String() {
    const auto size = static_cast<std::size_t>(Fixed(2));
    if (!ok_ || rest_.size() < size) {
      ok_ = false;
      return {};
    }
    std::string s(rest_.substr(0, size));
    rest_.remove_prefix(size);
    return s;
  }
  absl::Time Time() { return absl::FromUnixNanos(static_cast<std::int64_t>(Fixed(8))); }
  Ipv6Address Address6() {
    const std::uint64_t high = Fixed(8);
    return Ipv6Address(high, Fixed(8));
  }

 private:
  absl::string_view rest_;
  bool ok_ = true;
};

// Decodes the payload of a record whose checksum matched.
inline absl::StatusOr<JournalRecord> DecodeRecord(JournalRecordType type, absl::string_view payload,
                                                  std::uint64_t offset) {
  JournalRecord r;
  r.type = type;
  r.offset = offset;
  PayloadReader in(payload);
  auto read_cidr = [&]() -> bool {
    const auto network = static_cast<std::uint32_t>(in.Fixed(4));
    const auto length = static_cast<int>(in.Fixed(1));
    if (!in.ok()) return false;
    auto cidr = Ipv4Prefix::Create(Ipv4Address(network), length);
    if (!cidr.ok()) return false;
    r.cidr = *cidr;
    return true;
  };
  bool fields_ok = true;
  switch (type) {
    case JournalRecordType::kAddEni: {
      r.eni.id = in.String();
      r.eni.device_number = static_cast<int>(static_cast<std::int32_t>(in.Fixed(4)));
      const auto flags = in.Fixed(1);
      r.eni.primary = (flags & 1u) != 0;
      r.eni.trunk = (flags & 2u) != 0;
      r.eni.efa = (flags & 4u) != 0;
      r.eni.excluded = (flags & 8u) != 0;
      r.eni.subnet_id = in.String();
      fields_ok = flags < 16;
      break;
    }
    case JournalRecordType::kRemoveEni:
      r.eni.id = in.String();
      r.force = in.Fixed(1) != 0;
      break;
    case JournalRecordType::kAddCidr:
      r.eni.id = in.String();
      fields_ok = read_cidr();
      break;
    case JournalRecordType::kRemoveCidr:
      r.eni.id = in.String();
      fields_ok = read_cidr();
      r.force = in.Fixed(1) != 0;
      break;
    case JournalRecordType::kAssign:
      r.pod.network_name = in.String();
      r.pod.container_id = in.String();
      r.pod.if_name = in.String();
      r.address = Ipv4Address(static_cast<std::uint32_t>(in.Fixed(4)));
      r.time = in.Time();
      break;
    case JournalRecordType::kRelease:
      r.pod.network_name = in.String();
      r.pod.container_id = in.String();
      r.pod.if_name = in.String();
      r.time = in.Time();
      break;
    case JournalRecordType::kCooling:
      r.address = Ipv4Address(static_cast<std::uint32_t>(in.Fixed(4)));
      r.time = in.Time();
      break;
    case JournalRecordType::kIntent: {
      r.intent.id = in.Fixed(8);
      const auto kind = in.Fixed(1);
      r.intent.eni_id = in.String();
      const auto count = in.Fixed(2);
      fields_ok = kind >= 1 && kind <= 4;
      r.intent.kind = static_cast<PoolIntentKind>(kind);
      for (std::uint64_t i = 0; fields_ok && i < count; ++i) {
        fields_ok = read_cidr();
        r.intent.cidrs.push_back(r.cidr);
      }
      r.cidr = Ipv4Prefix();
      break;
    }
    case JournalRecordType::kEndIntent:
      r.intent.id = in.Fixed(8);
      break;
    case JournalRecordType::kMark: {
      const auto mark = in.Fixed(1);
      fields_ok = mark >= 1 && mark <= kControllerMarkCount;
      r.mark = static_cast<ControllerMark>(mark);
      r.time = in.Time();
      break;
    }
    case JournalRecordType::kAddIpv6Prefix: {
      r.eni.id = in.String();
      const Ipv6Address network = in.Address6();
      const auto length = static_cast<int>(in.Fixed(1));
      if (!in.ok()) break;
      auto prefix = Ipv6Prefix::Create(network, length);
      fields_ok = prefix.ok();
      if (prefix.ok()) r.prefix6 = *prefix;
      break;
    }
    case JournalRecordType::kAssignIpv6:
      r.pod.network_name = in.String();
      r.pod.container_id = in.String();
      r.pod.if_name = in.String();
      r.address6 = in.Address6();
      r.time = in.Time();
      break;
    case JournalRecordType::kCoolingIpv6:
      r.address6 = in.Address6();
      r.time = in.Time();
      break;
    default:
      return absl::DataLossError(absl::StrCat("journal record at byte offset ", offset,
                                              " has unknown type ", static_cast<int>(type)));
  }
  if (!fields_ok || !in.done()) {
    return absl::DataLossError(absl::StrCat("journal record at byte offset ", offset,
                                            " (type ", static_cast<int>(type),
                                            ") has a malformed payload of ", payload.size(),
                                            " bytes"));
  }
  return r;
}

// A record of this journal found after damage: where, and its sequence.
struct FoundRecord {
  std::uint64_t offset = 0;
  std::uint64_t sequence = 0;
};

// Looks for a record whose checksum matches under the salt whose CRC is
// `salt_crc`, starting anywhere in bytes[from, end). O(n log n) in the bytes
// searched, whatever they hold: one running CRC over them, and each
// candidate's checksum computed from the running CRCs at its two ends
// (crc(bytes[i, j)) = C(j) ^ C(i)·x^(8(j-i)), with C the CRC from `from`),
// instead of rereading up to 256 KiB per candidate. Candidates wait in a
// heap keyed by their end; any byte offset whose length field fits is one.
inline std::optional<FoundRecord> FindRecordAfter(absl::string_view bytes, std::size_t from,
                                                  std::uint32_t salt_crc) {
  struct Candidate {
    std::size_t end;         // where its checksum is stored
    std::size_t start;
    std::uint32_t crc_from;  // C(start)
    bool operator>(const Candidate& other) const { return end > other.end; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> pending;
  const auto& table = kCrc32cTables[0];
  std::uint32_t reg = 0xFFFFFFFFu;  // the running CRC's register: C(k) = ~reg
  for (std::size_t k = from; k < bytes.size(); ++k) {
    const std::uint32_t crc_here = ~reg;
    while (!pending.empty() && pending.top().end == k) {
      const Candidate c = pending.top();
      pending.pop();
      // crc(salt + bytes[start, k)) from C(k), C(start) and the salt's CRC.
      const std::uint32_t crc = crc_here ^ Crc32cShift(salt_crc ^ c.crc_from, k - c.start);
      if (crc == GetU32(bytes, k)) return FoundRecord{c.start, GetU64(bytes, c.start + 5)};
    }
    if (bytes.size() - k >= kRecordOverhead) {
      const std::uint32_t length = GetU32(bytes, k);
      if (length <= kMaxRecordPayload && length <= bytes.size() - k - kRecordOverhead) {
        pending.push({k + kRecordHeaderSize + length, k, crc_here});
      }
    }
    reg = (reg >> 8) ^ table[(reg ^ static_cast<unsigned char>(bytes[k])) & 0xFFu];
  }
  return std::nullopt;
}

}  // namespace internal

// ParsedJournal
//
// The records of a journal file and where its valid part ends.
struct ParsedJournal {
  std::vector<JournalRecord> records;
  std::uint64_t valid_bytes = 0;  // 0 with a torn header: start the file again
  std::uint64_t torn_bytes = 0;
  std::string torn_reason;
  std::uint64_t salt = 0;           // of the file's records (0 with a torn header)
  std::uint64_t next_sequence = 0;  // the sequence the next record gets
};

// ParseJournal()
//
// Splits journal file contents into records and checks them (see the file
// comment's recovery rules). Pure: reads nothing, writes nothing. DATA_LOSS
// naming the byte offset for corruption before the tail; FAILED_PRECONDITION
// for a journal of another format version (an older or a newer one).
[[nodiscard]] inline absl::StatusOr<ParsedJournal> ParseJournal(absl::string_view bytes) {
  using internal::kJournalHeaderSize;
  using internal::kRecordHeaderSize;
  using internal::kRecordOverhead;
  ParsedJournal parsed;
  const absl::string_view magic = internal::kJournalMagic;
  if (bytes.substr(0, magic.size()) != magic.substr(0, std::min(bytes.size(), magic.size()))) {
    return absl::DataLossError(absl::StrCat("byte offset 0: not an enipool journal (",
                                            bytes.size(), " bytes, bad magic)"));
  }
  if (bytes.size() > magic.size()) {
    const auto version = static_cast<std::uint8_t>(bytes[magic.size()]);
    if (version != internal::kJournalVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          "journal format version ", static_cast<int>(version),
          " is not supported: this build reads version ", internal::kJournalVersion,
          version == 1 ? " (version 1 records have no sequence numbers; the file was left as it "
                         "is: move it away to start a new journal)"
          : version > internal::kJournalVersion ? " (written by a newer enipool)"
                                                : ""));
    }
  }
  if (bytes.size() < kJournalHeaderSize) {
    parsed.torn_bytes = bytes.size();
    parsed.torn_reason = "the file header is incomplete";
    return parsed;
  }
  if (internal::Crc32c(bytes.substr(0, kJournalHeaderSize - 4)) !=
      internal::GetU32(bytes, kJournalHeaderSize - 4)) {
    return absl::DataLossError("journal corrupt at byte offset 8: the file header's checksum does not match");
  }
  parsed.salt = internal::GetU64(bytes, magic.size() + 1);
  const std::uint32_t salt_crc = internal::SaltCrc(parsed.salt);
  std::size_t at = kJournalHeaderSize;
  while (at < bytes.size()) {
    std::string problem;
    const std::size_t left = bytes.size() - at;
    std::uint32_t length = 0;
    std::uint64_t sequence = 0;
    if (left < kRecordOverhead) {
      problem = absl::StrCat("only ", left, " bytes left, less than a record header");
    } else if (length = internal::GetU32(bytes, at); length > internal::kMaxRecordPayload) {
      problem = absl::StrCat("record length ", length, " is over the limit");
    } else if (length > left - kRecordOverhead) {
      problem = absl::StrCat("record of ", length, " payload bytes is cut short at ", left - kRecordOverhead);
    } else if (internal::Crc32cExtend(salt_crc, bytes.substr(at, kRecordHeaderSize + length)) !=
               internal::GetU32(bytes, at + kRecordHeaderSize + length)) {
      problem = "checksum mismatch (damaged, or a record of another journal)";
    } else if (sequence = internal::GetU64(bytes, at + 5); sequence != parsed.next_sequence) {
      problem = absl::StrCat("record has sequence number ", sequence, " where ",
                             parsed.next_sequence, " was expected");
    }
    if (!problem.empty()) {
      // A torn append leaves only garbage after it; a record of this journal
      // further on means bytes in the middle went bad (or were reordered).
      if (auto found = internal::FindRecordAfter(bytes, at + 1, salt_crc); found.has_value()) {
        return absl::DataLossError(absl::StrCat(
            "journal corrupt at byte offset ", at, ": ", problem,
            "; a record of this journal (sequence number ", found->sequence,
            ") follows at byte offset ", found->offset, ", so this is not a torn tail"));
      }
      parsed.torn_bytes = left;
      parsed.torn_reason = absl::StrCat("byte offset ", at, ": ", problem);
      break;
    }
    const auto type = static_cast<JournalRecordType>(static_cast<unsigned char>(bytes[at + 4]));
    ENIPOOL_ASSIGN_OR_RETURN(
        JournalRecord record,
        internal::DecodeRecord(type, bytes.substr(at + kRecordHeaderSize, length), at));
    record.sequence = sequence;
    parsed.records.push_back(std::move(record));
    parsed.next_sequence += 1;
    at += kRecordOverhead + length;
  }
  parsed.valid_bytes = bytes.size() - parsed.torn_bytes;
  return parsed;
}

inline std::string JournalRecord::ToString() const {
  switch (type) {
    case JournalRecordType::kAddEni:
      return absl::StrCat("add ENI ", eni.id, " (device ", eni.device_number, ")");
    case JournalRecordType::kRemoveEni:
      return absl::StrCat("remove ENI ", eni.id, force ? " (forced)" : "");
    case JournalRecordType::kAddCidr:
      return absl::StrCat("add CIDR ", cidr.ToString(), " to ", eni.id);
    case JournalRecordType::kRemoveCidr:
      return absl::StrCat("remove CIDR ", cidr.ToString(), " from ", eni.id, force ? " (forced)" : "");
    case JournalRecordType::kAssign:
      return absl::StrCat("assign ", address.ToString(), " to ", pod.ToString());
    case JournalRecordType::kRelease:
      return absl::StrCat("release ", pod.ToString());
    case JournalRecordType::kCooling:
      return absl::StrCat("cooling ", address.ToString());
    case JournalRecordType::kIntent:
      return absl::StrCat("begin ", intent.ToString());
    case JournalRecordType::kEndIntent:
      return absl::StrCat("end intent ", intent.id);
    case JournalRecordType::kMark:
      return absl::StrCat("mark ", static_cast<int>(mark), " at ", absl::FormatTime(time));
    case JournalRecordType::kAddIpv6Prefix:
      return absl::StrCat("add IPv6 prefix ", prefix6.ToString(), " to ", eni.id);
    case JournalRecordType::kAssignIpv6:
      return absl::StrCat("assign ", address6.ToString(), " to ", pod.ToString());
    case JournalRecordType::kCoolingIpv6:
      return absl::StrCat("cooling ", address6.ToString());
  }
  return "unknown record";
}


}  // namespace enipool

#endif  // ENIPOOL_PERSIST_JOURNAL_FORMAT_H_
