// -----------------------------------------------------------------------------
// File: ec2/aws/sigv4.h
// -----------------------------------------------------------------------------
//
// AWS Signature Version 4 (the "AWS4-HMAC-SHA256" scheme every AWS service
// accepts): the canonical request, the string to sign, the signing key, the
// Authorization header; and the other side, VerifySigV4(), which checks a
// received request the way an AWS endpoint does (used by the loopback EC2
// endpoint). Part of the opt-in target enipool::aws (OpenSSL's libcrypto for
// SHA-256 and HMAC).
//
// The signer follows the published algorithm as AWS's own clients apply it
// to non-S3 services (tests/aws_sigv4_test.cpp checks the Authorization
// header byte for byte against botocore's SigV4Auth on random requests):
//   * the path is normalized (NormalizePath()) and URI-encoded once ('/'
//     and the unreserved set kept);
//   * query parameters are encoded (unreserved set kept) and sorted by
//     encoded key, then encoded value;
//   * every header given is signed, except User-Agent, Expect and
//     X-Amzn-Trace-Id; names are lower-cased, values trimmed with inner
//     runs of whitespace collapsed; Host, X-Amz-Date and (with a session
//     token) X-Amz-Security-Token are added;
//   * the payload hash is the hex SHA-256 of the body.
//
// Example:
//
//   enipool::ec2::aws::SigV4Signer signer("us-west-2", "ec2");
//   enipool::ec2::aws::SignableRequest request{
//       .method = "POST", .host = "ec2.us-west-2.amazonaws.com", .path = "/",
//       .headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}},
//       .body = "Action=DescribeNetworkInterfaces&Version=2016-11-15"};
//   std::vector<enipool::ec2::aws::HttpHeader> added =
//       signer.Sign(request, {.access_key_id = "AKID", .secret_access_key = "secret"}, absl::Now());
//   // added: X-Amz-Date, Authorization (and X-Amz-Security-Token with a session token)

#ifndef ENIPOOL_EC2_AWS_SIGV4_H_
#define ENIPOOL_EC2_AWS_SIGV4_H_

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace enipool::ec2::aws {

// Credentials
//
// An access key pair, with the session token of temporary credentials and
// when they expire (InfiniteFuture for long-term keys).
struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  absl::Time expiration = absl::InfiniteFuture();

  [[nodiscard]] bool empty() const noexcept {
    return access_key_id.empty() || secret_access_key.empty();
  }
};

// HttpHeader
struct HttpHeader {
  std::string name;
  std::string value;
  friend bool operator==(const HttpHeader&, const HttpHeader&) = default;
};

// SignableRequest
//
// What the signature covers. `host` is the Host header's value: the host,
// with ":port" unless it is the scheme's default port. `query` holds the
// decoded query parameters in any order.
struct SignableRequest {
  std::string method = "POST";
  std::string host;
  std::string path = "/";
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<HttpHeader> headers;
  std::string body;
};

namespace sigv4_internal {

inline constexpr absl::string_view kAlgorithm = "AWS4-HMAC-SHA256";
inline constexpr absl::string_view kTerminator = "aws4_request";

inline std::string Hex(const unsigned char* bytes, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xF];
  }
  return out;
}

inline bool IsUnreserved(unsigned char c) {
  return absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

}  // namespace sigv4_internal

// Sha256()
//
// The SHA-256 digest of `data`, raw (32 bytes) or as lower-case hex.
inline std::array<unsigned char, 32> Sha256(absl::string_view data) {
  std::array<unsigned char, 32> digest{};
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr);
  return digest;
}
inline std::string Sha256Hex(absl::string_view data) {
  const auto digest = Sha256(data);
  return sigv4_internal::Hex(digest.data(), digest.size());
}

// HmacSha256()
//
// HMAC-SHA-256 of `data` under `key`.
inline std::array<unsigned char, 32> HmacSha256(absl::string_view key, absl::string_view data) {
  std::array<unsigned char, 32> mac{};
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), &size);
  return mac;
}

// UriEncode()
//
// Percent-encodes every byte outside A-Z a-z 0-9 - _ . ~ (and '/' too
// unless `keep_slash`), with upper-case hex digits: SigV4's encoding.
inline std::string UriEncode(absl::string_view text, bool keep_slash = false) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (sigv4_internal::IsUnreserved(c) || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 0xF]);
    }
  }
  return out;
}

// CanonicalQueryString()
//
// The query parameters encoded and sorted as SigV4 wants them.
inline std::string CanonicalQueryString(
    const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [key, value] : query) encoded.emplace_back(UriEncode(key), UriEncode(value));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [key, value] : encoded) {
    if (!out.empty()) out.push_back('&');
    absl::StrAppend(&out, key, "=", value);
  }
  return out;
}

// TrimHeaderValue()
//
// A header value as SigV4 signs it: leading and trailing whitespace removed
// and every inner run of whitespace turned into one space.
inline std::string TrimHeaderValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool pending_space = false;
  for (const char c : value) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

// IsUnsignedHeader()
//
// Headers AWS's clients leave out of the signature, because proxies and the
// HTTP stack may change them.
inline bool IsUnsignedHeader(absl::string_view lower_name) {
  return lower_name == "user-agent" || lower_name == "expect" || lower_name == "x-amzn-trace-id";
}

// SigV4Scope
//
// The credential scope: date (YYYYMMDD), region, service.
struct SigV4Scope {
  std::string date;
  std::string region;
  std::string service;

  [[nodiscard]] std::string ToString() const {
    return absl::StrCat(date, "/", region, "/", service, "/", sigv4_internal::kTerminator);
  }
};

// FormatAmzDate()
//
// `time` as SigV4's timestamp, "20240131T235959Z" (UTC, whole seconds).
inline std::string FormatAmzDate(absl::Time time) {
  return absl::FormatTime("%Y%m%dT%H%M%SZ", time, absl::UTCTimeZone());
}

// ParseAmzDate()
//
// The time of a "20240131T235959Z" timestamp; nullopt for anything else
// (absl::ParseTime's %Y would swallow the whole digit run).
inline std::optional<absl::Time> ParseAmzDate(absl::string_view text) {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return std::nullopt;
  auto number = [&](std::size_t at, std::size_t digits) -> int {
    int value = 0;
    for (std::size_t i = at; i < at + digits; ++i) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(text[i]))) return -1;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  const int year = number(0, 4), month = number(4, 2), day = number(6, 2);
  const int hour = number(9, 2), minute = number(11, 2), second = number(13, 2);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return std::nullopt;
  const absl::CivilSecond civil(year, month, day, hour, minute, second);
  if (civil.month() != month || civil.day() != day || civil.hour() != hour ||
      civil.minute() != minute || civil.second() != second) {
    return std::nullopt;  // out of range: 20240230, 25:00 ...
  }
  return absl::FromCivil(civil, absl::UTCTimeZone());
}

// CanonicalHeaders
//
// The signed headers of a request: lower-cased names, sorted, with the
// values of a repeated name joined by ','.
struct CanonicalHeaders {
  std::string canonical;  // "name:value\n" per header
  std::string signed_names;  // "name;name"
};

// BuildCanonicalHeaders()
//
// The signed part of `headers` (every header but the unsigned ones).
inline CanonicalHeaders BuildCanonicalHeaders(const std::vector<HttpHeader>& headers) {
  std::vector<std::pair<std::string, std::string>> lowered;
  lowered.reserve(headers.size());
  for (const HttpHeader& header : headers) {
    std::string name = absl::AsciiStrToLower(header.name);
    if (IsUnsignedHeader(name)) continue;
    lowered.emplace_back(std::move(name), TrimHeaderValue(header.value));
  }
  // Stable: repeated names keep their order, as their values are joined.
  std::stable_sort(lowered.begin(), lowered.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  CanonicalHeaders out;
  for (std::size_t i = 0; i < lowered.size(); ++i) {
    if (i > 0 && lowered[i].first == lowered[i - 1].first) {
      absl::StrAppend(&out.canonical, ",", lowered[i].second);
      continue;
    }
    if (i > 0) {
      out.canonical.push_back('\n');
      out.signed_names.push_back(';');
    }
    absl::StrAppend(&out.canonical, lowered[i].first, ":", lowered[i].second);
    out.signed_names.append(lowered[i].first);
  }
  if (!lowered.empty()) out.canonical.push_back('\n');
  return out;
}

// NormalizePath()
//
// The path with "." and ".." segments resolved and empty segments (runs of
// '/') dropped, a leading and a trailing '/' kept: what AWS services other
// than S3 sign. "" → "/".
inline std::string NormalizePath(absl::string_view path) {
  if (path.empty()) return "/";
  std::vector<absl::string_view> segments;
  for (absl::string_view segment : absl::StrSplit(path, '/')) {
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
      continue;
    }
    segments.push_back(segment);
  }
  std::string out = path.front() == '/' ? "/" : "";
  absl::StrAppend(&out, absl::StrJoin(segments, "/"));
  if (path.back() == '/' && !segments.empty()) out.push_back('/');
  return out;
}

// CanonicalRequest()
//
// The canonical request: method, normalized and encoded path, canonical query, canonical
// headers, signed header names and the payload hash, one per line.
inline std::string CanonicalRequest(absl::string_view method, absl::string_view path,
                                    absl::string_view canonical_query,
                                    const CanonicalHeaders& headers,
                                    absl::string_view payload_hash) {
  return absl::StrCat(absl::AsciiStrToUpper(method), "\n",
                      UriEncode(NormalizePath(path), true), "\n",
                      canonical_query, "\n", headers.canonical, "\n", headers.signed_names, "\n",
                      payload_hash);
}

// StringToSign()
inline std::string StringToSign(absl::string_view amz_date, const SigV4Scope& scope,
                                absl::string_view canonical_request) {
  return absl::StrCat(sigv4_internal::kAlgorithm, "\n", amz_date, "\n", scope.ToString(), "\n",
                      Sha256Hex(canonical_request));
}

// DeriveSigningKey()
//
// HMAC chain "AWS4"+secret → date → region → service → "aws4_request".
inline std::array<unsigned char, 32> DeriveSigningKey(absl::string_view secret_access_key,
                                                      const SigV4Scope& scope) {
  auto as_view = [](const std::array<unsigned char, 32>& key) {
    return absl::string_view(reinterpret_cast<const char*>(key.data()), key.size());
  };
  const auto date_key = HmacSha256(absl::StrCat("AWS4", secret_access_key), scope.date);
  const auto region_key = HmacSha256(as_view(date_key), scope.region);
  const auto service_key = HmacSha256(as_view(region_key), scope.service);
  return HmacSha256(as_view(service_key), sigv4_internal::kTerminator);
}

// SignatureHex()
//
// The hex HMAC of the string to sign under the signing key.
inline std::string SignatureHex(const std::array<unsigned char, 32>& signing_key,
                                absl::string_view string_to_sign) {
  const auto mac = HmacSha256(
      absl::string_view(reinterpret_cast<const char*>(signing_key.data()), signing_key.size()),
      string_to_sign);
  return sigv4_internal::Hex(mac.data(), mac.size());
}

// SigV4Signer
//
// Signs requests for one region and service. The signing key depends only
// on the secret key and the date, so it is derived once per day (and per
// secret) and cached: a signature then costs two SHA-256 and one HMAC over
// short strings instead of five HMACs. Thread-safe (the cache is locked).
class SigV4Signer {
 public:
  SigV4Signer(std::string region, std::string service)
      : region_(std::move(region)), service_(std::move(service)) {}

  [[nodiscard]] const std::string& region() const noexcept { return region_; }
  [[nodiscard]] const std::string& service() const noexcept { return service_; }

  // SigV4Signer::Sign()
  //
  // The headers to add to `request` so that AWS accepts it at `now`:
  // X-Amz-Date, X-Amz-Security-Token (when the credentials have a session
  // token) and Authorization, in that order. Any of those already in
  // `request.headers` are replaced, not signed twice.
  [[nodiscard]] std::vector<HttpHeader> Sign(const SignableRequest& request,
                                             const Credentials& credentials,
                                             absl::Time now) const {
    const std::string amz_date = FormatAmzDate(now);
    std::vector<HttpHeader> added;
    added.push_back({"X-Amz-Date", amz_date});
    if (!credentials.session_token.empty()) {
      added.push_back({"X-Amz-Security-Token", credentials.session_token});
    }
    std::vector<HttpHeader> headers;
    headers.reserve(request.headers.size() + 3);
    bool has_host = false;
    for (const HttpHeader& header : request.headers) {
      if (absl::EqualsIgnoreCase(header.name, "authorization") ||
          absl::EqualsIgnoreCase(header.name, "x-amz-date") ||
          absl::EqualsIgnoreCase(header.name, "x-amz-security-token")) {
        continue;
      }
      has_host = has_host || absl::EqualsIgnoreCase(header.name, "host");
      headers.push_back(header);
    }
    if (!has_host) headers.push_back({"host", request.host});
    headers.insert(headers.end(), added.begin(), added.end());

    const SigV4Scope scope{amz_date.substr(0, 8), region_, service_};
    const CanonicalHeaders canonical_headers = BuildCanonicalHeaders(headers);
    const std::string canonical =
        CanonicalRequest(request.method, request.path, CanonicalQueryString(request.query),
                         canonical_headers, Sha256Hex(request.body));
    const std::string signature =
        SignatureHex(SigningKey(credentials.secret_access_key, scope.date),
                     StringToSign(amz_date, scope, canonical));
    added.push_back({"Authorization",
                     absl::StrCat(sigv4_internal::kAlgorithm,
                                  " Credential=", credentials.access_key_id, "/", scope.ToString(),
                                  ", SignedHeaders=", canonical_headers.signed_names,
                                  ", Signature=", signature)});
    return added;
  }

 private:
  std::array<unsigned char, 32> SigningKey(const std::string& secret, const std::string& date) const {
    absl::MutexLock lock(&mutex_);
    if (cached_date_ != date || cached_secret_ != secret) {
      cached_key_ = DeriveSigningKey(secret, {date, region_, service_});
      cached_date_ = date;
      cached_secret_ = secret;
    }
    return cached_key_;
  }

  std::string region_;
  std::string service_;
  mutable absl::Mutex mutex_;
  mutable std::string cached_date_ ABSL_GUARDED_BY(mutex_);
  mutable std::string cached_secret_ ABSL_GUARDED_BY(mutex_);
  mutable std::array<unsigned char, 32> cached_key_ ABSL_GUARDED_BY(mutex_){};
};

// -----------------------------------------------------------------------------
// Verification (the endpoint's side)
// -----------------------------------------------------------------------------

// ParsedAuthorization
//
// The fields of an "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
// Signature=..." header.
struct ParsedAuthorization {
  std::string access_key_id;
  SigV4Scope scope;
  std::vector<std::string> signed_headers;
  std::string signature;
};

// ParseAuthorization()
//
// INVALID_ARGUMENT naming the header when it is not a well-formed SigV4
// Authorization header.
inline absl::StatusOr<ParsedAuthorization> ParseAuthorization(absl::string_view header) {
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("IncompleteSignature: Authorization header \"", header, "\": ", why));
  };
  absl::string_view rest = header;
  if (!absl::ConsumePrefix(&rest, sigv4_internal::kAlgorithm) || !absl::ConsumePrefix(&rest, " ")) {
    return invalid("does not start with AWS4-HMAC-SHA256");
  }
  ParsedAuthorization parsed;
  bool have_credential = false, have_signed = false, have_signature = false;
  for (absl::string_view part : absl::StrSplit(rest, ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (absl::ConsumePrefix(&part, "Credential=")) {
      std::vector<std::string> fields = absl::StrSplit(part, '/');
      if (fields.size() != 5 || fields[4] != sigv4_internal::kTerminator || fields[0].empty()) {
        return invalid("Credential is not AKID/date/region/service/aws4_request");
      }
      parsed.access_key_id = fields[0];
      parsed.scope = {fields[1], fields[2], fields[3]};
      have_credential = true;
    } else if (absl::ConsumePrefix(&part, "SignedHeaders=")) {
      parsed.signed_headers = absl::StrSplit(part, ';');
      have_signed = true;
    } else if (absl::ConsumePrefix(&part, "Signature=")) {
      parsed.signature = std::string(part);
      have_signature = true;
    } else {
      return invalid(absl::StrCat("unknown field \"", part, "\""));
    }
  }
  if (!have_credential || !have_signed || !have_signature) {
    return invalid("needs Credential, SignedHeaders and Signature");
  }
  return parsed;
}

// VerifySigV4()
//
// Checks that `request` (its headers as received, Authorization included)
// carries a valid signature by the secret that `secret_for` returns for its
// access key id (an empty string for an unknown key), for `region` and
// `service`, made within `max_skew` of `now` (AWS allows 15 minutes).
// Errors lead with the code AWS answers: IncompleteSignature,
// InvalidClientTokenId (unknown key), SignatureDoesNotMatch,
// RequestExpired (clock skew) — all PERMISSION_DENIED or UNAUTHENTICATED.
template <typename SecretLookup>
absl::Status VerifySigV4(const SignableRequest& request, absl::string_view region,
                         absl::string_view service, SecretLookup&& secret_for, absl::Time now,
                         absl::Duration max_skew = absl::Minutes(15)) {
  const HttpHeader* authorization = nullptr;
  const HttpHeader* amz_date = nullptr;
  for (const HttpHeader& header : request.headers) {
    if (absl::EqualsIgnoreCase(header.name, "authorization")) authorization = &header;
    if (absl::EqualsIgnoreCase(header.name, "x-amz-date")) amz_date = &header;
  }
  if (authorization == nullptr) {
    return absl::UnauthenticatedError("MissingAuthenticationToken: the request is not signed");
  }
  auto parsed = ParseAuthorization(authorization->value);
  if (!parsed.ok()) return absl::UnauthenticatedError(parsed.status().message());
  if (amz_date == nullptr) {
    return absl::UnauthenticatedError("IncompleteSignature: the request has no X-Amz-Date header");
  }
  const std::optional<absl::Time> signed_at = ParseAmzDate(amz_date->value);
  if (!signed_at.has_value()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "IncompleteSignature: X-Amz-Date \"", amz_date->value, "\" is not YYYYMMDDTHHMMSSZ"));
  }
  if (absl::AbsDuration(now - *signed_at) > max_skew) {
    return absl::PermissionDeniedError(absl::StrCat(
        "RequestExpired: request signed at ", amz_date->value, ", more than ",
        absl::FormatDuration(max_skew), " from the server's time ", FormatAmzDate(now)));
  }
  if (parsed->scope.date != amz_date->value.substr(0, 8) || parsed->scope.region != region ||
      parsed->scope.service != service) {
    return absl::PermissionDeniedError(absl::StrCat(
        "SignatureDoesNotMatch: credential scope ", parsed->scope.ToString(), " is not ",
        amz_date->value.substr(0, 8), "/", region, "/", service, "/aws4_request"));
  }
  const std::string secret = secret_for(parsed->access_key_id);
  if (secret.empty()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "InvalidClientTokenId: the access key id ", parsed->access_key_id, " is not known"));
  }
  // The signed headers, as the client listed them; each must be present.
  std::vector<HttpHeader> signed_headers;
  for (const std::string& name : parsed->signed_headers) {
    bool found = false;
    for (const HttpHeader& header : request.headers) {
      if (absl::EqualsIgnoreCase(header.name, name)) {
        signed_headers.push_back({name, header.value});
        found = true;
      }
    }
    if (!found) {
      return absl::PermissionDeniedError(
          absl::StrCat("SignatureDoesNotMatch: signed header ", name, " is missing"));
    }
  }
  bool host_signed = false;
  for (const std::string& name : parsed->signed_headers) host_signed = host_signed || name == "host";
  if (!host_signed) {
    return absl::PermissionDeniedError("SignatureDoesNotMatch: the Host header must be signed");
  }
  const CanonicalHeaders canonical_headers = BuildCanonicalHeaders(signed_headers);
  const std::string canonical =
      CanonicalRequest(request.method, request.path, CanonicalQueryString(request.query),
                       canonical_headers, Sha256Hex(request.body));
  const std::string expected = SignatureHex(DeriveSigningKey(secret, parsed->scope),
                                            StringToSign(amz_date->value, parsed->scope, canonical));
  if (expected.size() != parsed->signature.size() ||
      CRYPTO_memcmp(expected.data(), parsed->signature.data(), expected.size()) != 0) {
    return absl::PermissionDeniedError(
        "SignatureDoesNotMatch: the request signature we calculated does not match the signature "
        "you provided");
  }
  return absl::OkStatus();
}

}  // namespace enipool::ec2::aws

#endif  // ENIPOOL_EC2_AWS_SIGV4_H_
