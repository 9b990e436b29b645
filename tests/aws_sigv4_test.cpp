#include "enipool/ec2/aws/sigv4.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "testing/subprocess.h"

namespace {

using enipool::ec2::aws::Credentials;
using enipool::ec2::aws::HttpHeader;
using enipool::ec2::aws::SignableRequest;
using enipool::ec2::aws::SigV4Signer;

// One random request, as both signers see it.
struct RandomRequest {
  SignableRequest request;
  std::string url;  // what botocore is given
  std::string region;
  std::string service;
  Credentials credentials;
  std::int64_t unix_seconds = 0;
};

std::string RandomText(std::mt19937_64& rng, absl::string_view alphabet, int min_length,
                       int max_length) {
  std::uniform_int_distribution<int> length(min_length, max_length);
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::string out;
  const int n = length(rng);
  for (int i = 0; i < n; ++i) out.push_back(alphabet[pick(rng)]);
  return out;
}

// Text with reserved characters and multi-byte UTF-8, for query parameters.
std::string RandomParamText(std::mt19937_64& rng) {
  static const std::vector<std::string> kPieces = {
      "a", "Z", "0", "-", "_", ".", "~", " ", "+", "=", "&", "/", "%", "*", "?", "#", ":", "'",
      "\xC3\xA9", "\xE6\x97\xA5", "Action", "Version", "NetworkInterfaceId", "10.0.0.1"};
  std::uniform_int_distribution<int> length(0, 6);
  std::uniform_int_distribution<std::size_t> pick(0, kPieces.size() - 1);
  std::string out;
  const int n = length(rng);
  for (int i = 0; i < n; ++i) out += kPieces[pick(rng)];
  return out;
}

RandomRequest MakeRandomRequest(std::mt19937_64& rng) {
  static const std::vector<std::string> kRegions = {"us-east-1", "us-west-2", "eu-central-1",
                                                    "ap-southeast-2", "cn-north-1",
                                                    "us-gov-west-1"};
  static const std::vector<std::string> kServices = {"ec2", "sts", "iam", "s3-like", "execute-api"};
  static constexpr absl::string_view kLower = "abcdefghijklmnopqrstuvwxyz0123456789";
  static constexpr absl::string_view kKey = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  static constexpr absl::string_view kSecret =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/";
  static constexpr absl::string_view kPath = "abcXYZ019-_.~ %:@!$'()*+,;=";
  static constexpr absl::string_view kHeaderName = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-0123456789";
  static constexpr absl::string_view kHeaderValue =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789 \t;=,/:-_.\"()";

  RandomRequest r;
  std::uniform_int_distribution<int> coin(0, 1);
  std::uniform_int_distribution<int> small(0, 4);
  r.region = kRegions[std::uniform_int_distribution<std::size_t>(0, kRegions.size() - 1)(rng)];
  r.service = kServices[std::uniform_int_distribution<std::size_t>(0, kServices.size() - 1)(rng)];
  r.request.method = coin(rng) ? "POST" : "GET";
  const std::string host = absl::StrCat(RandomText(rng, kLower, 1, 12), ".example.com");
  const int port = coin(rng) ? std::uniform_int_distribution<int>(1024, 65535)(rng) : 0;
  r.request.host = port ? absl::StrCat(host, ":", port) : host;
  // Path segments, some of them "." / ".." / empty, to exercise normalization.
  std::string path;
  const int segments = small(rng);
  for (int i = 0; i < segments; ++i) {
    switch (small(rng)) {
      case 0: path += "/."; break;
      case 1: path += "/.."; break;
      case 2: path += "/"; break;
      default: path += "/" + RandomText(rng, kPath, 1, 8); break;
    }
  }
  if (coin(rng)) path += "/";
  r.request.path = path.empty() ? "/" : path;
  r.url = absl::StrCat("http://", r.request.host, r.request.path);
  const int params = small(rng);
  for (int i = 0; i < params; ++i) {
    std::string key = RandomParamText(rng);
    // Repeated keys, sorted by value.
    if (i > 0 && coin(rng)) key = r.request.query.front().first;
    r.request.query.emplace_back(key, RandomParamText(rng));
  }
  const int headers = small(rng);
  for (int i = 0; i < headers; ++i) {
    std::string name = RandomText(rng, kHeaderName, 1, 10);
    const std::string lower = absl::AsciiStrToLower(name);
    if (lower == "host" || lower == "date" || lower.rfind("x-amz", 0) == 0 ||
        lower == "authorization") {
      continue;
    }
    bool duplicate = false;
    for (const HttpHeader& h : r.request.headers) {
      duplicate = duplicate || absl::AsciiStrToLower(h.name) == lower;
    }
    if (duplicate) continue;
    r.request.headers.push_back({name, RandomText(rng, kHeaderValue, 0, 20)});
  }
  if (coin(rng)) r.request.headers.push_back({"User-Agent", "aws-cli/2.9 Python/3.11 (unsigned)"});
  if (coin(rng)) {
    r.request.headers.push_back(
        {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"});
  }
  r.request.body = RandomText(rng, absl::string_view("Action=Describe&Version=2016-11-15\x01\xff", 36),
                              0, coin(rng) ? 0 : 200);
  r.credentials.access_key_id = absl::StrCat("AKIA", RandomText(rng, kKey, 16, 16));
  r.credentials.secret_access_key = RandomText(rng, kSecret, 40, 40);
  if (coin(rng)) r.credentials.session_token = RandomText(rng, kSecret, 20, 300);
  r.unix_seconds = std::uniform_int_distribution<std::int64_t>(946'684'800, 2'208'988'800)(rng);
  return r;
}

// One line of the botocore driver's input (tests/testing/botocore_sigv4.py):
// hex fields, each prefixed with 'x' so that an empty one survives split().
std::string ToBotocoreLine(const RandomRequest& r) {
  std::string line;
  auto add = [&line](absl::string_view text) {
    absl::StrAppend(&line, "x", absl::BytesToHexString(text), " ");
  };
  add(r.request.method);
  add(r.url);
  add(r.request.body);
  add(r.region);
  add(r.service);
  add(r.credentials.access_key_id);
  add(r.credentials.secret_access_key);
  add(r.credentials.session_token);
  add(absl::StrCat(r.unix_seconds));
  add(absl::StrCat(r.request.query.size()));
  for (const auto& [key, value] : r.request.query) {
    add(key);
    add(value);
  }
  add(absl::StrCat(r.request.headers.size()));
  for (const HttpHeader& header : r.request.headers) {
    add(header.name);
    add(header.value);
  }
  line.push_back('\n');
  return line;
}

std::string SignedAuthorization(const SigV4Signer& signer, const RandomRequest& r) {
  for (const HttpHeader& header :
       signer.Sign(r.request, r.credentials, absl::FromUnixSeconds(r.unix_seconds))) {
    if (header.name == "Authorization") return header.value;
  }
  return "";
}

TEST_CASE("SigV4Signer's Authorization header is byte-identical to botocore's for random requests") {
  constexpr int kRequests = 1200;
  std::mt19937_64 rng(20240611);
  std::vector<RandomRequest> requests;
  std::string input;
  for (int i = 0; i < kRequests; ++i) {
    requests.push_back(MakeRandomRequest(rng));
    input += ToBotocoreLine(requests.back());
  }
  const std::string input_path = absl::StrCat(ENIPOOL_BINARY_DIR, "/aws_sigv4_test_requests.txt");
  {
    std::ofstream file(input_path, std::ios::binary | std::ios::trunc);
    file << input;
    REQUIRE(file.good());
  }
  const auto botocore = enipool::testing::RunCommand(
      absl::StrCat("/usr/bin/python3 ", ENIPOOL_SOURCE_DIR, "/tests/testing/botocore_sigv4.py ",
                   input_path));
  REQUIRE(botocore.exit_code == 0);
  const std::vector<std::string> expected =
      absl::StrSplit(absl::StripSuffix(botocore.output, "\n"), '\n');
  REQUIRE(expected.size() == requests.size());

  // One signer per (region, service), reused: the signing-key cache is
  // exercised across dates and secrets.
  std::map<std::string, std::unique_ptr<SigV4Signer>> signers;
  int matched = 0;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const RandomRequest& r = requests[i];
    std::unique_ptr<SigV4Signer>& signer = signers[absl::StrCat(r.region, "/", r.service)];
    if (signer == nullptr) signer = std::make_unique<SigV4Signer>(r.region, r.service);
    CAPTURE(i);
    CAPTURE(r.url);
    CHECK(SignedAuthorization(*signer, r) == expected[i]);
    matched += SignedAuthorization(*signer, r) == expected[i] ? 1 : 0;
  }
  CHECK(matched == kRequests);
}

TEST_CASE("SigV4Signer adds X-Amz-Date, the session token and Authorization, in that order") {
  SigV4Signer signer("us-west-2", "ec2");
  SignableRequest request{.host = "127.0.0.1:8080", .body = "Action=DescribeNetworkInterfaces"};
  const auto added = signer.Sign(
      request, {.access_key_id = "AKID", .secret_access_key = "secret", .session_token = "token"},
      absl::FromUnixSeconds(1'700'000'000));
  REQUIRE(added.size() == 3);
  CHECK(added[0] == HttpHeader{"X-Amz-Date", "20231114T221320Z"});
  CHECK(added[1] == HttpHeader{"X-Amz-Security-Token", "token"});
  CHECK(added[2].name == "Authorization");
  CHECK(absl::StartsWith(added[2].value,
                         "AWS4-HMAC-SHA256 Credential=AKID/20231114/us-west-2/ec2/aws4_request, "
                         "SignedHeaders=host;x-amz-date;x-amz-security-token, Signature="));
}

// The request as an endpoint receives it: the signer's headers added.
SignableRequest AsReceived(SignableRequest request, const std::vector<HttpHeader>& added) {
  request.headers.push_back({"Host", request.host});
  request.headers.insert(request.headers.end(), added.begin(), added.end());
  return request;
}

TEST_CASE("VerifySigV4 accepts what SigV4Signer signs and rejects any change") {
  const Credentials credentials{.access_key_id = "AKIDEXAMPLE", .secret_access_key = "wJalr/K7"};
  auto secret_for = [&](absl::string_view key) {
    return key == credentials.access_key_id ? credentials.secret_access_key : std::string();
  };
  const absl::Time now = absl::FromUnixSeconds(1'750'000'000);
  SigV4Signer signer("us-east-1", "ec2");
  const SignableRequest original{
      .host = "127.0.0.1:4566",
      .headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}},
      .body = "Action=AssignPrivateIpAddresses&NetworkInterfaceId=eni-1&Ipv4PrefixCount=1"};
  const SignableRequest received = AsReceived(original, signer.Sign(original, credentials, now));
  const absl::Status verified =
      enipool::ec2::aws::VerifySigV4(received, "us-east-1", "ec2", secret_for, now);
  INFO(verified.ToString());
  REQUIRE(verified.ok());

  SUBCASE("a changed body") {
    SignableRequest tampered = received;
    tampered.body.back() = '2';
    const absl::Status status =
        enipool::ec2::aws::VerifySigV4(tampered, "us-east-1", "ec2", secret_for, now);
    CHECK(status.code() == absl::StatusCode::kPermissionDenied);
    CHECK(absl::StartsWith(status.message(), "SignatureDoesNotMatch: "));
  }
  SUBCASE("a changed signed header") {
    SignableRequest tampered = received;
    tampered.headers[0].value = "text/plain";
    CHECK(absl::StartsWith(
        enipool::ec2::aws::VerifySigV4(tampered, "us-east-1", "ec2", secret_for, now).message(),
        "SignatureDoesNotMatch: "));
  }
  SUBCASE("another region") {
    CHECK(absl::StartsWith(
        enipool::ec2::aws::VerifySigV4(received, "eu-west-1", "ec2", secret_for, now).message(),
        "SignatureDoesNotMatch: "));
  }
  SUBCASE("an unknown access key") {
    auto nobody = [](absl::string_view) { return std::string(); };
    CHECK(absl::StartsWith(
        enipool::ec2::aws::VerifySigV4(received, "us-east-1", "ec2", nobody, now).message(),
        "InvalidClientTokenId: "));
  }
  SUBCASE("a request signed 20 minutes ago") {
    CHECK(absl::StartsWith(enipool::ec2::aws::VerifySigV4(received, "us-east-1", "ec2", secret_for,
                                                           now + absl::Minutes(20))
                               .message(),
                           "RequestExpired: "));
  }
  SUBCASE("no Authorization header") {
    SignableRequest unsigned_request = original;
    CHECK(enipool::ec2::aws::VerifySigV4(unsigned_request, "us-east-1", "ec2", secret_for, now)
              .code() == absl::StatusCode::kUnauthenticated);
  }
  SUBCASE("a malformed Authorization header") {
    SignableRequest tampered = received;
    for (HttpHeader& h : tampered.headers) {
      if (h.name == "Authorization") h.value = "AWS4-HMAC-SHA256 Credential=AKID/x";
    }
    CHECK(absl::StartsWith(
        enipool::ec2::aws::VerifySigV4(tampered, "us-east-1", "ec2", secret_for, now).message(),
        "IncompleteSignature: "));
  }
}

TEST_CASE("NormalizePath resolves dot segments and repeated slashes as AWS services do") {
  using enipool::ec2::aws::NormalizePath;
  CHECK(NormalizePath("") == "/");
  CHECK(NormalizePath("/") == "/");
  CHECK(NormalizePath("/a/./b/../c/") == "/a/c/");
  CHECK(NormalizePath("//a//b") == "/a/b");
  CHECK(NormalizePath("/..") == "/");
}

}  // namespace
