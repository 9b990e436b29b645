// -----------------------------------------------------------------------------
// File: testing/ec2_endpoint_process.h
// -----------------------------------------------------------------------------
//
// Runs examples/ec2_endpoint.cpp (the loopback EC2 + IMDS) as a child
// process for a test: starts it on a free port (--listen 127.0.0.1:0), reads
// what it prints until "listening on", and stops it with SIGTERM when the
// object goes away. ENIPOOL_EC2_ENDPOINT is the binary's path (set by
// tests/CMakeLists.txt).
//
// Example:
//
//   enipool::testing::Ec2EndpointProcess endpoint;
//   REQUIRE(endpoint.Start({"--subnet=10.0.0.0/24", "--instance=i-1:c5.large"}));
//   endpoint.url();                // "http://127.0.0.1:40123"
//   endpoint.primary_eni("i-1");   // "eni-00000000000000001"

#ifndef ENIPOOL_TESTS_TESTING_EC2_ENDPOINT_PROCESS_H_
#define ENIPOOL_TESTS_TESTING_EC2_ENDPOINT_PROCESS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "testing/subprocess.h"

namespace enipool::testing {

inline constexpr char kEndpointAccessKey[] = "AKIDENIPOOLEXAMPLE";
inline constexpr char kEndpointSecretKey[] = "enipool-example-secret";
inline constexpr char kEndpointRegion[] = "us-east-1";

class Ec2EndpointProcess {
 public:
  // Ec2EndpointProcess::Start()
  //
  // Starts the endpoint with `flags` (plus --listen 127.0.0.1:0); true once
  // it accepts connections.
  bool Start(const std::vector<std::string>& flags) {
    std::vector<std::string> argv = {ENIPOOL_EC2_ENDPOINT, "--listen=127.0.0.1:0"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    if (!process_.Start(argv)) return false;
    while (auto line = process_.ReadLine(absl::Seconds(20))) {
      lines_.push_back(*line);
      const std::vector<std::string> words = absl::StrSplit(*line, ' ');
      if (words.size() >= 3 && words[0] == "subnet") subnets_.push_back(words[1]);
      if (words.size() >= 7 && words[0] == "instance") {
        primary_enis_[words[1]] = words[3];
        imds_urls_[words[1]] = words[6];
      }
      if (absl::StartsWith(*line, "listening on 127.0.0.1:")) {
        return absl::SimpleAtoi(line->substr(23), &port_);
      }
    }
    return false;
  }

  // Ec2EndpointProcess::Stop()
  //
  // SIGTERM; the endpoint's exit code (0 for a clean stop).
  int Stop() { return process_.Stop(); }

  [[nodiscard]] int port() const noexcept { return port_; }
  [[nodiscard]] std::string url() const { return absl::StrCat("http://127.0.0.1:", port_); }
  [[nodiscard]] const std::vector<std::string>& subnets() const noexcept { return subnets_; }
  [[nodiscard]] std::string primary_eni(const std::string& instance) const {
    const auto it = primary_enis_.find(instance);
    return it == primary_enis_.end() ? std::string() : it->second;
  }
  [[nodiscard]] std::string imds_url(const std::string& instance) const {
    const auto it = imds_urls_.find(instance);
    return it == imds_urls_.end() ? std::string() : it->second;
  }
  [[nodiscard]] const std::vector<std::string>& lines() const noexcept { return lines_; }

 private:
  ChildProcess process_;
  int port_ = 0;
  std::vector<std::string> lines_;
  std::vector<std::string> subnets_;
  std::map<std::string, std::string> primary_enis_;
  std::map<std::string, std::string> imds_urls_;
};

}  // namespace enipool::testing

#endif  // ENIPOOL_TESTS_TESTING_EC2_ENDPOINT_PROCESS_H_
