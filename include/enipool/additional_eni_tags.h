// -----------------------------------------------------------------------------
// File: additional_eni_tags.h
// -----------------------------------------------------------------------------
//
// ADDITIONAL_ENI_TAGS, the reference's variable for more tags on the ENIs a
// node creates (docs/reference-behavior.md §7.1): a JSON object of string
// keys to string values, `{"team":"payments","env":"prod"}`. Keys that
// contain "k8s.amazonaws.com" are the node's own and are dropped, as the
// reference drops them. The reader is a small one written for this object
// (strings, the JSON escapes, whitespace), so the core needs no JSON
// library.
//
// Example:
//
//   absl::StatusOr<std::vector<enipool::Ec2Tag>> tags =
//       enipool::ParseAdditionalEniTags(R"({"team":"payments","env":"prod"})");
//   // tags: {team, payments}, {env, prod}
//   config.additional_eni_tags = *tags;   // ControllerConfig (controller.h)
//
// Differences from the reference: it logs a warning and tags nothing more
// when the text is not such an object; enipool refuses it with an error
// naming the variable and the position (NodeConfigFromEnvironment then
// reports it with the other bad variables, docs/reference-behavior.md
// §11.6). Go keeps a key given twice once, with its last value; so does
// this, in the position of its first. Bytes that are not UTF-8 are kept as
// they are, where Go would replace them with U+FFFD (EC2 refuses such a
// tag either way).

#ifndef ENIPOOL_ADDITIONAL_ENI_TAGS_H_
#define ENIPOOL_ADDITIONAL_ENI_TAGS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "enipool/ec2/backend.h"

namespace enipool {

// kReservedEniTagKeyPart
//
// An ADDITIONAL_ENI_TAGS key containing this is dropped (the reference's
// reservedTagKeyPrefix).
inline constexpr absl::string_view kReservedEniTagKeyPart = "k8s.amazonaws.com";

namespace internal {

// A reader of one JSON object of string values over `text`.
class TagObjectReader {
 public:
  explicit TagObjectReader(absl::string_view text) : text_(text) {}

  absl::StatusOr<std::vector<Ec2Tag>> Read() {
    std::vector<Ec2Tag> tags;
    SkipSpace();
    if (Consume("null")) return End(std::move(tags));  // Go: a nil map
    if (!Consume("{")) return Error("want '{' to open the object");
    SkipSpace();
    if (Consume("}")) return End(std::move(tags));
    for (;;) {
      SkipSpace();
      std::optional<std::string> key = String();
      if (!key.has_value()) return Error(error_.empty() ? "want a string key" : error_);
      SkipSpace();
      if (!Consume(":")) return Error("want ':' after a key");
      SkipSpace();
      std::optional<std::string> value;
      if (Consume("null")) {
        value = std::string();  // Go: the zero value
      } else {
        value = String();
        if (!value.has_value()) {
          return Error(error_.empty() ? "want a string value (tag values are strings)" : error_);
        }
      }
      Put(tags, *std::move(key), *std::move(value));
      SkipSpace();
      if (Consume(",")) continue;
      if (Consume("}")) return End(std::move(tags));
      return Error("want ',' or '}' after a value");
    }
  }

 private:
  static void Put(std::vector<Ec2Tag>& tags, std::string key, std::string value) {
    for (Ec2Tag& tag : tags) {
      if (tag.key == key) {
        tag.value = std::move(value);
        return;
      }
    }
    tags.push_back(Ec2Tag{std::move(key), std::move(value)});
  }

  absl::StatusOr<std::vector<Ec2Tag>> End(std::vector<Ec2Tag> tags) {
    SkipSpace();
    if (pos_ != text_.size()) return Error("text after the object");
    std::erase_if(tags, [](const Ec2Tag& tag) {
      return absl::StrContains(tag.key, kReservedEniTagKeyPart);
    });
    return tags;
  }

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(
        "ADDITIONAL_ENI_TAGS is not a JSON object of string values: ", what, " at offset ",
        pos_));
  }

  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool Consume(absl::string_view token) {
    if (text_.substr(pos_, token.size()) != token) return false;
    pos_ += token.size();
    return true;
  }

  std::optional<std::uint32_t> Hex4() {
    if (pos_ + 4 > text_.size()) return std::nullopt;
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      value <<= 4;
      if (c >= '0' && c <= '9') {
        value |= static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        value |= static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        value |= static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        return std::nullopt;
      }
    }
    return value;
  }

  static void AppendUtf8(std::string& out, std::uint32_t code) {
    if (code < 0x80) {
      out.push_back(static_cast<char>(code));
    } else if (code < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (code >> 6)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else if (code < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (code >> 12)));
      out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (code >> 18)));
      out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    }
  }

  // A JSON string at pos_; std::nullopt (and error_ set when it began as
  // one) when there is none.
  std::optional<std::string> String() {
    if (!Consume("\"")) return std::nullopt;
    std::string out;
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) {
        --pos_;
        error_ = "a control character inside a string";
        return std::nullopt;
      }
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) break;
      const char e = text_[pos_++];
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          std::optional<std::uint32_t> code = Hex4();
          if (!code.has_value()) {
            error_ = "a \\u escape without four hex digits";
            return std::nullopt;
          }
          if (*code >= 0xD800 && *code < 0xDC00 && Consume("\\u")) {
            std::optional<std::uint32_t> low = Hex4();
            if (!low.has_value()) {
              error_ = "a \\u escape without four hex digits";
              return std::nullopt;
            }
            if (*low >= 0xDC00 && *low < 0xE000) {
              AppendUtf8(out, 0x10000 + ((*code - 0xD800) << 10) + (*low - 0xDC00));
              break;
            }
            AppendUtf8(out, 0xFFFD);  // Go replaces a lone surrogate
            AppendUtf8(out, *low >= 0xD800 && *low < 0xE000 ? 0xFFFD : *low);
            break;
          }
          AppendUtf8(out, *code >= 0xD800 && *code < 0xE000 ? 0xFFFD : *code);
          break;
        }
        default:
          --pos_;
          error_ = "an unknown escape";
          return std::nullopt;
      }
    }
    error_ = "an unterminated string";
    return std::nullopt;
  }

  absl::string_view text_;
  std::size_t pos_ = 0;
  std::string error_;
};

}  // namespace internal

// ParseAdditionalEniTags()
//
// The tags ADDITIONAL_ENI_TAGS names, in the order of their first keys, the
// reserved ones dropped (see the file comment). Empty text or `null`: no
// tags. INVALID_ARGUMENT naming the variable and the offset for anything
// else than one JSON object of string (or null) values. O(length).
[[nodiscard]] inline absl::StatusOr<std::vector<Ec2Tag>> ParseAdditionalEniTags(
    absl::string_view text) {
  if (text.empty()) return std::vector<Ec2Tag>{};
  return internal::TagObjectReader(text).Read();
}

}  // namespace enipool

#endif  // ENIPOOL_ADDITIONAL_ENI_TAGS_H_
