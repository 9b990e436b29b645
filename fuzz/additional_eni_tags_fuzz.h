// Fuzz target: ParseAdditionalEniTags (ADDITIONAL_ENI_TAGS) on arbitrary
// text. Properties: no crash or UB; what parses has no reserved key
// ("k8s.amazonaws.com") and no key twice; written back as a JSON object it
// parses to the same tags.

#ifndef ENIPOOL_FUZZ_ADDITIONAL_ENI_TAGS_FUZZ_H_
#define ENIPOOL_FUZZ_ADDITIONAL_ENI_TAGS_FUZZ_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "enipool/additional_eni_tags.h"
#include "fuzz_check.h"

namespace enipool::fuzz {

// A JSON string literal: quotes, backslashes and control characters escaped.
inline std::string JsonQuote(absl::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

inline int FuzzAdditionalEniTags(const std::uint8_t* data, std::size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<std::vector<Ec2Tag>> tags = ParseAdditionalEniTags(text);
  if (!tags.ok()) {
    ENIPOOL_FUZZ_CHECK(absl::StartsWith(tags.status().message(), "ADDITIONAL_ENI_TAGS"),
                       "an error that does not name the variable: ", tags.status().message());
    return 0;
  }
  absl::flat_hash_set<std::string> keys;
  std::string written = "{";
  for (const Ec2Tag& tag : *tags) {
    ENIPOOL_FUZZ_CHECK(!absl::StrContains(tag.key, kReservedEniTagKeyPart), "reserved key \"",
                       tag.key, "\" kept from ", text);
    ENIPOOL_FUZZ_CHECK(keys.insert(tag.key).second, "key \"", tag.key, "\" twice from ", text);
    if (written.size() > 1) written += ',';
    written += JsonQuote(tag.key) + ":" + JsonQuote(tag.value);
  }
  written += "}";
  const absl::StatusOr<std::vector<Ec2Tag>> again = ParseAdditionalEniTags(written);
  ENIPOOL_FUZZ_CHECK(again.ok() && *again == *tags, "tags of ", text, " written as ", written,
                     " do not read back the same");
  return 0;
}

}  // namespace enipool::fuzz

#endif  // ENIPOOL_FUZZ_ADDITIONAL_ENI_TAGS_FUZZ_H_
