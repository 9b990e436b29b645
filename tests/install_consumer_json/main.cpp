// Builds against the installed json component and reads one checkpoint back.
#include <cstdio>

#include <enipool/persist/vpc_cni_checkpoint_json.h>

int main() {
  const auto checkpoint = enipool::ParseVpcCniCheckpoint(
      R"({"version":"vpc-cni-ipam/1","allocations":[{"networkName":"aws-cni",)"
      R"("containerID":"c1","ifName":"eth0","ipv4":"10.0.0.5"}]})");
  if (!checkpoint.ok() || checkpoint->allocations.size() != 1) return 1;
  const std::string again = enipool::SerializeVpcCniCheckpoint(*checkpoint);
  if (!enipool::ParseVpcCniCheckpoint(again).ok()) return 1;
  std::printf("installed enipool::json works: %zu allocation\n", checkpoint->allocations.size());
  return 0;
}
