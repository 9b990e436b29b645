// Builds against the installed headers and runs one assign/release.
#include <cstdio>

#include <enipool/enipool.h>

int main() {
  enipool::ManualClock clock;
  enipool::NodeDatastore datastore(enipool::AddressMode::kPrefix, clock);
  if (!datastore.AddEni({.id = "eni-0123456789abcdef0", .device_number = 0, .primary = true}).ok())
    return 1;
  auto prefix = enipool::Ipv4Prefix::Parse("10.0.0.16/28");
  if (!prefix.ok() || !datastore.AddCidr("eni-0123456789abcdef0", *prefix).ok()) return 1;
  auto assignment = datastore.Assign({"aws-cni", "container-1", "eth0"});
  if (!assignment.ok() || assignment->address.ToString() != "10.0.0.16") return 1;
  if (!datastore.Release({"aws-cni", "container-1", "eth0"}).ok()) return 1;
  std::printf("installed enipool works: %s\n", assignment->address.ToString().c_str());
  return 0;
}
