// -----------------------------------------------------------------------------
// File: status.h
// -----------------------------------------------------------------------------
//
// Two macros that Debian's Abseil (20220623) lacks, and the error vocabulary
// every enipool function uses, and `QuoteInput`, which every message that
// echoes its input goes through.
//
// enipool never throws. Functions that can fail return `absl::Status` or
// `absl::StatusOr<T>`; an expected outcome (a full bitmap) is a
// `std::optional`. Messages name the input they reject, and an EC2 error code,
// when there is one, leads the message: "InsufficientCidrBlocks: subnet-1 has
// no free aligned /28". A failed call changes nothing.
//
// Example:
//
//   absl::StatusOr<enipool::Assignment> AddPod(Datastore& ds, const PodKey& pod) {
//     ENIPOOL_RETURN_IF_ERROR(ds.AddEni({.id = "eni-1"}));
//     ENIPOOL_ASSIGN_OR_RETURN(auto prefix, enipool::Ipv4Prefix::Parse("10.0.0.0/28"));
//     ENIPOOL_RETURN_IF_ERROR(ds.AddCidr("eni-1", prefix));
//     return ds.Assign(pod);
//   }

#ifndef ENIPOOL_STATUS_H_
#define ENIPOOL_STATUS_H_

#include <cstddef>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace enipool {

// QuoteInput()
//
// The input a message rejects, quoted for the message: at most `max_bytes`
// bytes of it (cut back to a whole UTF-8 character), with quotes, backslashes
// and control bytes escaped (a NUL shows as \000, a newline as \n), and, when
// it was cut, "..." and its whole length in bytes. A message must name what it
// refuses, but a 1 MB input must not become a 1 MB message (logs, metrics
// labels and CNI answers carry these messages). 256 bytes hold any real pod
// key (a 64-character container id plus network and interface names).
//
//   QuoteInput("10.0.0.300")                  // "\"10.0.0.300\""
//   QuoteInput(std::string(1 << 20, 'a'))     // "\"aaa...a\"... (1048576 bytes)",
//                                             // 256 a's between the quotes
inline constexpr std::size_t kQuotedInputBytes = 256;
[[nodiscard]] inline std::string QuoteInput(absl::string_view input,
                                            std::size_t max_bytes = kQuotedInputBytes) {
  if (input.size() <= max_bytes) return absl::StrCat("\"", absl::Utf8SafeCEscape(input), "\"");
  std::size_t cut = max_bytes;
  // Never split a UTF-8 sequence: step back over continuation bytes (10xxxxxx).
  while (cut > 0 && (static_cast<unsigned char>(input[cut]) & 0xC0) == 0x80) --cut;
  return absl::StrCat("\"", absl::Utf8SafeCEscape(input.substr(0, cut)), "\"... (", input.size(),
                      " bytes)");
}

}  // namespace enipool

// ENIPOOL_RETURN_IF_ERROR(expr)
//
// Evaluates `expr` (an absl::Status) and returns it from the enclosing
// function when it is not OK.
#define ENIPOOL_RETURN_IF_ERROR(expr)                                       \
  do {                                                                      \
    if (::absl::Status enipool_status_ = (expr); !enipool_status_.ok()) {   \
      return enipool_status_;                                               \
    }                                                                       \
  } while (false)

// ENIPOOL_ASSIGN_OR_RETURN(lhs, expr)
//
// Evaluates `expr` (an absl::StatusOr<T>); on error returns its status from
// the enclosing function, otherwise moves the value into `lhs`, which may be a
// declaration (`auto x`) or an existing variable.
#define ENIPOOL_ASSIGN_OR_RETURN(lhs, expr)                                              \
  ENIPOOL_INTERNAL_ASSIGN_OR_RETURN(ENIPOOL_INTERNAL_CONCAT(enipool_statusor_, __LINE__), \
                                    lhs, expr)

#define ENIPOOL_INTERNAL_CONCAT_IMPL(a, b) a##b
#define ENIPOOL_INTERNAL_CONCAT(a, b) ENIPOOL_INTERNAL_CONCAT_IMPL(a, b)
#define ENIPOOL_INTERNAL_ASSIGN_OR_RETURN(tmp, lhs, expr) \
  auto tmp = (expr);                                      \
  if (!tmp.ok()) return std::move(tmp).status();          \
  lhs = *std::move(tmp)

#endif  // ENIPOOL_STATUS_H_
