// Tests for additional_eni_tags.h: ADDITIONAL_ENI_TAGS read as the
// reference reads it (docs/reference-behavior.md §7.1), bad text refused.

#include "enipool/additional_eni_tags.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "enipool/ec2/backend.h"

namespace {

using enipool::Ec2Tag;
using enipool::ParseAdditionalEniTags;

std::vector<Ec2Tag> Tags(std::vector<std::pair<std::string, std::string>> pairs) {
  std::vector<Ec2Tag> out;
  for (auto& [k, v] : pairs) out.push_back(Ec2Tag{k, v});
  return out;
}

// docs/reference-behavior.md §7.1: "plus ADDITIONAL_ENI_TAGS (keys containing
// k8s.amazonaws.com dropped)".
TEST_CASE("ADDITIONAL_ENI_TAGS is a JSON object of strings whose reserved keys are dropped") {
  CHECK(*ParseAdditionalEniTags(R"({"team":"payments","env":"prod"})") ==
        Tags({{"team", "payments"}, {"env", "prod"}}));
  CHECK(*ParseAdditionalEniTags(
            R"( { "node.k8s.amazonaws.com/instance_id" : "i-x" , "a":"1", "k8s.amazonaws.com":"y" } )") ==
        Tags({{"a", "1"}}));
  CHECK(ParseAdditionalEniTags("")->empty());
  CHECK(ParseAdditionalEniTags("{}")->empty());
  CHECK(ParseAdditionalEniTags("null")->empty());
  // A key given twice keeps its last value (Go's map), in its first place.
  CHECK(*ParseAdditionalEniTags(R"({"a":"1","b":"2","a":"3"})") == Tags({{"a", "3"}, {"b", "2"}}));
  // A null value is Go's zero value.
  CHECK(*ParseAdditionalEniTags(R"({"a":null})") == Tags({{"a", ""}}));
  // Escapes, \u included (a surrogate pair is one character).
  CHECK(*ParseAdditionalEniTags(R"({"q\"\\\/\b\f\n\r\t":"\u00e9\ud83d\ude00"})") ==
        Tags({{"q\"\\/\b\f\n\r\t", "\xc3\xa9\xf0\x9f\x98\x80"}}));
  CHECK(*ParseAdditionalEniTags(R"({"x":"\ud800"})") == Tags({{"x", "\xef\xbf\xbd"}}));
}

TEST_CASE("ADDITIONAL_ENI_TAGS that is not a JSON object of strings is refused naming the variable") {
  for (const char* bad :
       {"{", "}", "[]", "\"a\"", "{\"a\":1}", "{\"a\":\"1\",}", "{a:\"1\"}", "{\"a\" \"1\"}",
        "{\"a\":\"1\"} x", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"1", "{\"a\":true}",
        "{\"a\":{\"b\":\"c\"}}", "{\"a\":[\"b\"]}", "{\"a\":\"line\nbreak\"}", "nul", "  "}) {
    CAPTURE(bad);
    const absl::StatusOr<std::vector<Ec2Tag>> parsed = ParseAdditionalEniTags(bad);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StartsWith(parsed.status().message(), "ADDITIONAL_ENI_TAGS is not a JSON object"));
    CHECK(absl::StrContains(parsed.status().message(), " at offset "));
  }
}

// Writes `s` as a JSON string, escaping at random where JSON allows.
std::string Quote(const std::string& s, std::mt19937_64& rng) {
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || (u < 0x80 && rng() % 4 == 0)) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

TEST_CASE("ADDITIONAL_ENI_TAGS objects written at random read back as a map keeps them") {
  std::mt19937_64 rng(17);
  const std::string alphabet = "ab.k8s.amazonaws.com/\"\\ \n\t\x01\xc3\xa9";
  auto word = [&] {
    std::string w;
    const int n = static_cast<int>(rng() % 6);
    for (int i = 0; i < n; ++i) w += alphabet[rng() % alphabet.size()];
    return w;
  };
  for (int round = 0; round < 500; ++round) {
    CAPTURE(round);
    // The model: keys in first-seen order, each with its last value.
    std::vector<std::string> order;
    std::map<std::string, std::string> last;
    std::string text = "{";
    const int n = static_cast<int>(rng() % 6);
    for (int i = 0; i < n; ++i) {
      std::string key = rng() % 4 == 0 && !order.empty() ? order[rng() % order.size()] : word();
      if (rng() % 8 == 0) key += "k8s.amazonaws.com";
      const std::string value = word();
      if (!last.contains(key)) order.push_back(key);
      last[key] = value;
      if (i > 0) text += rng() % 2 == 0 ? "," : " ,\n";
      text += Quote(key, rng) + (rng() % 2 == 0 ? ":" : " : ") + Quote(value, rng);
    }
    text += "}";
    CAPTURE(text);
    std::vector<Ec2Tag> want;
    for (const std::string& key : order) {
      if (!absl::StrContains(key, "k8s.amazonaws.com")) want.push_back(Ec2Tag{key, last[key]});
    }
    const absl::StatusOr<std::vector<Ec2Tag>> got = ParseAdditionalEniTags(text);
    REQUIRE_MESSAGE(got.ok(), got.status());
    CHECK(*got == want);
    // Cut short anywhere, it is refused.
    const std::size_t cut = 1 + rng() % (text.size() - 1);
    CHECK_FALSE(ParseAdditionalEniTags(text.substr(0, cut)).ok());
  }
}

}  // namespace
