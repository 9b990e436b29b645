// Quickstart: a prefix-delegation pool for one node, one pod in and out.
//
//   cmake --preset release && cmake --build --preset release
//   build/release/examples/enipool_example_quickstart
#include <cstdio>

#include <enipool/enipool.h>

int main() {
  enipool::ManualClock clock;  // virtual time; enipool::RealClock in production
  enipool::NodeDatastore datastore(enipool::AddressMode::kPrefix, clock);

  // The node's primary ENI with one delegated /28 (16 pod addresses).
  if (auto s = datastore.AddEni({.id = "eni-0a1b2c3d4e5f60718", .device_number = 0,
                                 .primary = true});
      !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  auto prefix = enipool::Ipv4Prefix::Parse("10.0.32.16/28");
  if (!prefix.ok() || !datastore.AddCidr("eni-0a1b2c3d4e5f60718", *prefix).ok()) return 1;

  // CNI ADD: the first pod on a fresh /28 gets its base address.
  const enipool::PodKey web{"aws-cni", "3f9a8c1e4b7d", "eth0"};
  absl::StatusOr<enipool::Assignment> assigned = datastore.Assign(web);
  if (!assigned.ok()) return 1;
  std::printf("ADD %s -> %s\n", web.container_id.c_str(), assigned->ToString().c_str());
  std::printf("stats: %s\n", datastore.Stats().ToString().c_str());

  // CNI DEL: the address cools down for 30 s before anyone gets it again.
  if (!datastore.Release(web).ok()) return 1;
  std::printf("DEL %s; stats: %s\n", web.container_id.c_str(),
              datastore.Stats().ToString().c_str());
  clock.AdvanceTime(absl::Seconds(31));
  std::printf("31 s later; stats: %s\n", datastore.Stats().ToString().c_str());

  // Bad input is an error that names it, and changes nothing.
  std::printf("%s\n", enipool::Ipv4Prefix::Parse("10.0.32.17/28").status().ToString().c_str());
  return 0;
}
