// -----------------------------------------------------------------------------
// File: ec2/aws/http_client.h
// -----------------------------------------------------------------------------
//
// `CurlHttpClient`: one blocking HTTP exchange over libcurl, with a connect
// timeout and a whole-exchange timeout, as the EC2, STS, container
// credentials and IMDS clients need. Transport failures are statuses whose
// message leads with a code the retry policy knows: "ConnectionError: ..."
// (UNAVAILABLE: refused, reset, DNS) and "ReadTimeout: ..."
// (DEADLINE_EXCEEDED). Part of the opt-in target enipool::aws.
//
// Thread-safety: one CurlHttpClient may be used from several threads (each
// exchange has its own curl handle); libcurl's global initialisation is done
// once, on first construction.
//
// Example:
//
//   enipool::ec2::aws::CurlHttpClient http;
//   absl::StatusOr<enipool::ec2::aws::HttpResponse> answer = http.Send(
//       {.method = "GET", .url = "http://127.0.0.1:8080/", .timeout = absl::Seconds(2)});

#ifndef ENIPOOL_EC2_AWS_HTTP_CLIENT_H_
#define ENIPOOL_EC2_AWS_HTTP_CLIENT_H_

#include <curl/curl.h>

#include <cstddef>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/ec2/aws/sigv4.h"

namespace enipool::ec2::aws {

// HttpRequest
struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<HttpHeader> headers;
  std::string body;
  absl::Duration connect_timeout = absl::Seconds(2);
  absl::Duration timeout = absl::Seconds(10);  // the whole exchange
};

// HttpResponse
struct HttpResponse {
  int status = 0;
  std::string body;
};

// HostOfUrl()
//
// The Host header a URL gets: "host" or "host:port" (default ports
// dropped), lower-cased as SigV4 signs it. Empty for a URL without
// "scheme://".
inline std::string HostOfUrl(absl::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) return "";
  const absl::string_view scheme = url.substr(0, scheme_end);
  absl::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const auto at = rest.rfind('@'); at != absl::string_view::npos) rest.remove_prefix(at + 1);
  std::string host = absl::AsciiStrToLower(rest);
  if ((scheme == "http" && absl::EndsWith(host, ":80")) ||
      (scheme == "https" && absl::EndsWith(host, ":443"))) {
    host.resize(host.rfind(':'));
  }
  return host;
}

// PathOfUrl()
//
// The path of a URL ("/" when it has none), without the query.
inline std::string PathOfUrl(absl::string_view url) {
  const auto scheme_end = url.find("://");
  const absl::string_view rest =
      scheme_end == absl::string_view::npos ? url : url.substr(scheme_end + 3);
  const auto slash = rest.find('/');
  if (slash == absl::string_view::npos) return "/";
  absl::string_view path = rest.substr(slash);
  path = path.substr(0, path.find_first_of("?#"));
  return std::string(path);
}

// CurlHttpClient
//
// See the file comment.
class CurlHttpClient {
 public:
  CurlHttpClient() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  }

  // CurlHttpClient::Send()
  //
  // The answer to `request` (any HTTP status), or a transport error.
  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) const {
    CURL* curl = curl_easy_init();
    if (curl == nullptr) return absl::InternalError("ConnectionError: curl_easy_init failed");
    curl_slist* headers = nullptr;
    for (const HttpHeader& header : request.headers) {
      headers = curl_slist_append(headers, absl::StrCat(header.name, ": ", header.value).c_str());
    }
    // No "Expect: 100-continue" round trip for a POST body.
    headers = curl_slist_append(headers, "Expect:");
    HttpResponse response;
    curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (request.method == "POST" || request.method == "PUT" || !request.body.empty()) {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // thread-safe timeouts
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(absl::ToInt64Milliseconds(request.connect_timeout)));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(absl::ToInt64Milliseconds(request.timeout)));
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "127.0.0.1,localhost,169.254.169.254");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &CurlHttpClient::Append);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
    const CURLcode code = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (code == CURLE_OPERATION_TIMEDOUT) {
      return absl::DeadlineExceededError(
          absl::StrCat("ReadTimeout: no complete answer from ", request.url, " within ",
                       absl::FormatDuration(request.timeout), ": ", curl_easy_strerror(code)));
    }
    if (code != CURLE_OK) {
      return absl::UnavailableError(absl::StrCat("ConnectionError: ", request.method, " ",
                                                 request.url, ": ", curl_easy_strerror(code)));
    }
    response.status = static_cast<int>(status);
    return response;
  }

 private:
  static std::size_t Append(char* data, std::size_t size, std::size_t count, void* out) {
    static_cast<std::string*>(out)->append(data, size * count);
    return size * count;
  }
};

}  // namespace enipool::ec2::aws

#endif  // ENIPOOL_EC2_AWS_HTTP_CLIENT_H_
