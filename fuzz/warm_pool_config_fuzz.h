// Fuzz target: WarmPoolConfig::FromEnvironment / ValidateEnvironment /
// Validate on an environment written as NAME=value lines. Properties: no
// crash or UB; the lenient reading never yields a negative target or an ENI
// limit above the instance's; ValidateEnvironment is OK or INVALID_ARGUMENT.

#ifndef ENIPOOL_FUZZ_WARM_POOL_CONFIG_FUZZ_H_
#define ENIPOOL_FUZZ_WARM_POOL_CONFIG_FUZZ_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "enipool/policy/warm_pool.h"
#include "fuzz_check.h"

namespace enipool::fuzz {

inline int FuzzWarmPoolConfig(const std::uint8_t* data, std::size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::flat_hash_map<std::string, std::string> env;
  while (!text.empty()) {
    const auto end = text.find('\n');
    const absl::string_view line = text.substr(0, end);
    text = end == absl::string_view::npos ? absl::string_view() : text.substr(end + 1);
    const auto eq = line.find('=');
    if (eq == absl::string_view::npos) continue;
    env[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  auto lookup = [&](absl::string_view name) -> std::optional<std::string> {
    const auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  WarmPoolConfig base;
  base.max_enis = 4;
  base.ipv4_per_eni = 15;
  base.max_pods = 58;
  base.prefix_delegation_supported = !env.contains("NO_PD");
  const WarmPoolConfig config = WarmPoolConfig::FromEnvironment(lookup, base);
  ENIPOOL_FUZZ_CHECK(config.warm_eni_target >= 0 && config.warm_ip_target >= 0 &&
                         config.minimum_ip_target >= 0 && config.warm_prefix_target >= 0,
                     "negative target from ", config.ToString());
  ENIPOOL_FUZZ_CHECK(config.max_enis >= 1 && config.max_enis <= base.max_enis,
                     "max_enis out of range: ", config.max_enis);
  ENIPOOL_FUZZ_CHECK(config.mode == AddressMode::kSecondaryIp || base.prefix_delegation_supported,
                     "prefix mode on an instance without prefix delegation");
  const absl::Status env_status = WarmPoolConfig::ValidateEnvironment(lookup, base);
  ENIPOOL_FUZZ_CHECK(env_status.ok() || env_status.code() == absl::StatusCode::kInvalidArgument,
                     env_status.ToString());
  const absl::Status status = config.Validate();
  ENIPOOL_FUZZ_CHECK(status.ok() || status.code() == absl::StatusCode::kInvalidArgument,
                     status.ToString());
  // What ValidateEnvironment accepts, FromEnvironment reads into a valid config.
  if (env_status.ok()) ENIPOOL_FUZZ_CHECK(status.ok(), "environment OK but ", status.ToString());
  return 0;
}

}  // namespace enipool::fuzz

#endif  // ENIPOOL_FUZZ_WARM_POOL_CONFIG_FUZZ_H_
