// ImdsService (ec2/aws/imds_service.h) serving a simulated instance's
// per-interface metadata as IMDSv2 does, the IPv6 fields in particular
// (docs/reference-behavior.md §7.2): the MAC's listing, ipv6-prefix and
// subnet-ipv6-cidr-blocks, and 404 where real IMDS has nothing.

#include "enipool/ec2/aws/imds_service.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "enipool/ec2/backend.h"
#include "enipool/ipv4.h"
#include "enipool/ipv6.h"

namespace {

namespace aws = enipool::ec2::aws;

enipool::Ipv6Prefix P6(const char* text) { return *enipool::Ipv6Prefix::Parse(text); }

struct Instance {
  Instance() {
    view.instance_id = "i-1";
    view.instance_type = "c5.large";
    view.region = "us-east-1";
    view.availability_zone = "us-east-1a";
    enipool::NetworkInterface primary;
    primary.id = "eni-00000000000000001";
    primary.subnet_id = "subnet-v6";
    primary.primary_ip = *enipool::Ipv4Address::Parse("10.0.0.10");
    primary.device_index = 0;
    primary.attachment_id = "eni-attach-1";
    primary.ipv6_prefixes = {P6("2600:1f14:abc:1::/80"), P6("2600:1f14:abc:1:1::/80")};
    enipool::NetworkInterface v4only;
    v4only.id = "eni-00000000000000002";
    v4only.subnet_id = "subnet-v4";
    v4only.primary_ip = *enipool::Ipv4Address::Parse("10.1.0.10");
    v4only.device_index = 1;
    v4only.attachment_id = "eni-attach-2";
    view.enis = {primary, v4only};
    view.subnet_cidrs = {{"subnet-v6", *enipool::Ipv4Prefix::Parse("10.0.0.0/24")},
                         {"subnet-v4", *enipool::Ipv4Prefix::Parse("10.1.0.0/24")}};
    view.subnet_ipv6_cidrs = {{"subnet-v6", P6("2600:1f14:abc:1::/64")}};
    const aws::HttpAnswer token =
        imds.Handle(view, "PUT", "/latest/api/token",
                    {{"X-aws-ec2-metadata-token-ttl-seconds", "60"}}, now);
    REQUIRE(token.status == 200);
    session = token.body;
  }
  aws::HttpAnswer Get(const std::string& path) {
    return imds.Handle(view, "GET", absl::StrCat("/latest/meta-data/", path),
                       {{"X-aws-ec2-metadata-token", session}}, now);
  }
  std::string Mac(int i) { return aws::MacAddressOf(view.enis[static_cast<std::size_t>(i)].id); }

  absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  aws::ImdsService imds;
  aws::ImdsInstance view;
  std::string session;
};

TEST_CASE("IMDS serves an interface's delegated IPv6 prefixes one a line, and 404 when it has none") {
  Instance t;
  const aws::HttpAnswer prefixes =
      t.Get(absl::StrCat("network/interfaces/macs/", t.Mac(0), "/ipv6-prefix"));
  CHECK(prefixes.status == 200);
  CHECK(prefixes.body == "2600:1f14:abc:1::/80\n2600:1f14:abc:1:1::/80");
  // Each line parses back to what the ENI holds.
  std::vector<enipool::Ipv6Prefix> read;
  for (absl::string_view line : absl::StrSplit(prefixes.body, '\n')) {
    auto prefix = enipool::Ipv6Prefix::Parse(line);
    REQUIRE(prefix.ok());
    read.push_back(*prefix);
  }
  CHECK(read == t.view.enis[0].ipv6_prefixes);
  CHECK(t.Get(absl::StrCat("network/interfaces/macs/", t.Mac(1), "/ipv6-prefix")).status == 404);
  // The subnet's IPv6 block, where it has one.
  const aws::HttpAnswer block =
      t.Get(absl::StrCat("network/interfaces/macs/", t.Mac(0), "/subnet-ipv6-cidr-blocks"));
  CHECK(block.status == 200);
  CHECK(block.body == "2600:1f14:abc:1::/64");
  CHECK(t.Get(absl::StrCat("network/interfaces/macs/", t.Mac(1), "/subnet-ipv6-cidr-blocks"))
            .status == 404);
  // The ENI's own IPv6 addresses are not modelled: not served.
  CHECK(t.Get(absl::StrCat("network/interfaces/macs/", t.Mac(0), "/ipv6s")).status == 404);
}

TEST_CASE("IMDS lists an interface's fields, the IPv6 ones only where there is something to read") {
  Instance t;
  for (const char* suffix : {"/", ""}) {
    CAPTURE(suffix);
    const aws::HttpAnswer v6 = t.Get(absl::StrCat("network/interfaces/macs/", t.Mac(0), suffix));
    REQUIRE(v6.status == 200);
    const std::vector<std::string> fields = absl::StrSplit(v6.body, '\n');
    CHECK(fields == std::vector<std::string>{"device-number", "interface-id", "ipv6-prefix",
                                             "local-ipv4s", "mac", "network-card",
                                             "security-group-ids", "subnet-id",
                                             "subnet-ipv4-cidr-block", "subnet-ipv6-cidr-blocks",
                                             "vpc-id"});
    // Every listed field is served.
    for (const std::string& field : fields) {
      CAPTURE(field);
      CHECK(t.Get(absl::StrCat("network/interfaces/macs/", t.Mac(0), "/", field)).status == 200);
    }
  }
  const aws::HttpAnswer v4 = t.Get(absl::StrCat("network/interfaces/macs/", t.Mac(1), "/"));
  REQUIRE(v4.status == 200);
  CHECK(v4.body.find("ipv6") == std::string::npos);
  CHECK(t.Get("network/interfaces/macs/02:00:00:00:00:00/").status == 404);
}

TEST_CASE("IMDS refuses the IPv6 fields without a session token, as every IMDSv2 read") {
  Instance t;
  const aws::HttpAnswer anonymous = t.imds.Handle(
      t.view, "GET",
      absl::StrCat("/latest/meta-data/network/interfaces/macs/", t.Mac(0), "/ipv6-prefix"), {},
      t.now);
  CHECK(anonymous.status == 401);
}

}  // namespace
