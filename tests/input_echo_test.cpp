// Messages that name a bad input quote a bounded prefix of it and its length,
// so a huge input never becomes a huge message (QuoteInput in status.h).

#include <doctest/doctest.h>

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "enipool/datastore.h"
#include "enipool/instance_limits.h"
#include "enipool/ipv4.h"
#include "enipool/pod_key.h"
#include "enipool/policy/warm_pool.h"
#include "enipool/sim/scenario.h"
#include "enipool/sim/workload.h"
#include "enipool/status.h"

namespace {

constexpr std::size_t kHuge = std::size_t{1} << 20;  // 1 MiB, as in the review's reproduction

// A message that quotes a cut input: short, with the input's length and its
// first bytes, and never the whole input.
void CheckBounded(const absl::Status& status, absl::string_view prefix,
                  std::size_t input_bytes = kHuge) {
  INFO("message: ", status.message().substr(0, 300));
  CHECK(!status.ok());
  CHECK(status.message().size() < enipool::kQuotedInputBytes + 300);
  CHECK(absl::StrContains(status.message(), absl::StrCat("(", input_bytes, " bytes)")));
  CHECK(absl::StrContains(status.message(), prefix));
}

}  // namespace

TEST_CASE("QuoteInput quotes a short input whole and escapes what cannot be printed") {
  CHECK(enipool::QuoteInput("10.0.0.300") == "\"10.0.0.300\"");
  CHECK(enipool::QuoteInput(absl::string_view("a\0z\"c\n", 6)) == "\"a\\000z\\\"c\\n\"");
  CHECK(enipool::QuoteInput("eni-\xc3\xa9") == "\"eni-\xc3\xa9\"");  // UTF-8 stays readable
  CHECK(enipool::QuoteInput(std::string(enipool::kQuotedInputBytes, 'x')) ==
        absl::StrCat("\"", std::string(enipool::kQuotedInputBytes, 'x'), "\""));
}

TEST_CASE("QuoteInput cuts a long input to its first bytes and says how long it was") {
  const std::string huge(kHuge, 'a');
  const std::string quoted = enipool::QuoteInput(huge);
  CHECK(quoted == absl::StrCat("\"", std::string(enipool::kQuotedInputBytes, 'a'), "\"... (", kHuge,
                               " bytes)"));
  CHECK(enipool::QuoteInput("abcdef", 3) == "\"abc\"... (6 bytes)");
  // A cut inside a two-byte character keeps the character out whole.
  CHECK(enipool::QuoteInput("ab\xc3\xa9z", 3) == "\"ab\"... (5 bytes)");
}

TEST_CASE("A 1 MiB bad address, prefix, ENI id or instance type gives a short message") {
  const std::string huge = "10.0.0." + std::string(kHuge - 7, '9');
  CheckBounded(enipool::Ipv4Address::Parse(huge).status(), "\"10.0.0.999");
  CheckBounded(enipool::Ipv4Prefix::Parse(huge).status(), "\"10.0.0.999");
  CheckBounded(enipool::EniId::Create(std::string(kHuge, 'e')).status(), "\"eeee");
  CheckBounded(enipool::FindInstanceLimits(std::string(kHuge, 'm')).status(), "\"mmmm");
}

TEST_CASE("A 1 MiB environment variable gives a short message naming the variable") {
  const std::string huge(kHuge, 'x');
  const auto lookup = [&](absl::string_view name) -> std::optional<std::string> {
    if (name == "WARM_IP_TARGET" || name == "ENABLE_PREFIX_DELEGATION") return huge;
    return std::nullopt;
  };
  const absl::Status status = enipool::WarmPoolConfig::ValidateEnvironment(lookup);
  INFO("message: ", status.message().substr(0, 300));
  CHECK(!status.ok());
  CHECK(status.message().size() < 2 * enipool::kQuotedInputBytes + 600);
  CHECK(absl::StrContains(status.message(), "WARM_IP_TARGET="));
  CHECK(absl::StrContains(status.message(), "ENABLE_PREFIX_DELEGATION="));
  CHECK(absl::StrContains(status.message(), absl::StrCat("(", kHuge, " bytes)")));
}

TEST_CASE("A 1 MiB scenario setting, scenario line or workload spec gives a short message") {
  enipool::sim::ClusterConfig config;
  CheckBounded(enipool::sim::ApplySetting(config, "nodes", std::string(kHuge, '7')), "\"7777");
  CheckBounded(enipool::sim::ParseScenario(std::string(kHuge, 'k')).status(), "\"kkkk");
  // The spec's bad part is quoted: here the burst size, all but "burst:".
  CheckBounded(enipool::sim::ParseWorkloadSpec("burst:" + std::string(kHuge - 6, 'b')).status(),
               "burst size \"bbbb", kHuge - 6);
}

TEST_CASE("An unknown pod with a 1 MiB container id gives a short message") {
  enipool::ManualClock clock;
  enipool::NodeDatastore<enipool::ManualClock> datastore(enipool::AddressMode::kSecondaryIp, clock);
  const enipool::PodKey pod{"aws-cni", std::string(kHuge, 'c'), "eth0"};
  CheckBounded(datastore.Release(pod).status(), "\"aws-cni/cccc", pod.ToString().size());
}
