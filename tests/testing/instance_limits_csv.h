// Test helper: reads data/instance-limits.csv at test time, independently of
// the generated table, so tests can compare the table (and everything computed
// from it) with the data it claims to come from.

#ifndef ENIPOOL_TESTS_TESTING_INSTANCE_LIMITS_CSV_H_
#define ENIPOOL_TESTS_TESTING_INSTANCE_LIMITS_CSV_H_

#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace enipool::testing {

// The CSV's path in the source tree (ENIPOOL_SOURCE_DIR is defined for every
// test executable by tests/CMakeLists.txt).
inline constexpr const char* kInstanceLimitsCsvPath = ENIPOOL_SOURCE_DIR "/data/instance-limits.csv";

inline constexpr std::string_view kInstanceLimitsCsvHeader =
    "instance_type,max_enis,ipv4_per_eni,hypervisor,is_nitro,is_bare_metal,pd_supported,"
    "network_cards,default_network_card_index,enis_all_cards,per_card_max_enis";

struct CsvInstanceLimits {
  std::string instance_type;
  int max_enis = 0;
  int ipv4_per_eni = 0;
  std::string hypervisor;
  bool is_nitro = false;
  bool is_bare_metal = false;
  bool pd_supported = false;
  int network_cards = 0;
  int default_network_card_index = 0;
  int enis_all_cards = 0;
  std::vector<std::pair<int, int>> per_card_max_enis;  // (card index, max ENIs)
};

inline std::vector<std::string> SplitCsv(std::string_view text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find(separator, start);
    parts.emplace_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

inline std::optional<int> ParseCsvInt(std::string_view text) {
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

inline std::optional<bool> ParseCsvBool(std::string_view text) {
  if (text == "true") return true;
  if (text == "false") return false;
  return std::nullopt;
}

// The parsed rows in file order, or an error message naming the bad line.
struct InstanceLimitsCsv {
  std::vector<CsvInstanceLimits> rows;
  std::string error;  // empty when every line parsed
};

inline InstanceLimitsCsv ReadInstanceLimitsCsv(const char* path = kInstanceLimitsCsvPath) {
  InstanceLimitsCsv csv;
  std::ifstream in(path);
  if (!in) {
    csv.error = std::string("cannot open ") + path;
    return csv;
  }
  std::string line;
  int line_number = 0;
  auto fail = [&](const std::string& why) {
    std::ostringstream message;
    message << path << ":" << line_number << ": " << why << ": " << line;
    csv.error = message.str();
    return csv;
  };
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_number == 1) {
      if (line != kInstanceLimitsCsvHeader) return fail("unexpected header");
      continue;
    }
    const std::vector<std::string> f = SplitCsv(line, ',');
    if (f.size() != 11) return fail("expected 11 fields");
    CsvInstanceLimits row;
    row.instance_type = f[0];
    row.hypervisor = f[3];
    const std::optional<int> max_enis = ParseCsvInt(f[1]);
    const std::optional<int> ipv4 = ParseCsvInt(f[2]);
    const std::optional<bool> nitro = ParseCsvBool(f[4]);
    const std::optional<bool> metal = ParseCsvBool(f[5]);
    const std::optional<bool> pd = ParseCsvBool(f[6]);
    const std::optional<int> cards = ParseCsvInt(f[7]);
    const std::optional<int> default_card = ParseCsvInt(f[8]);
    const std::optional<int> all_cards = ParseCsvInt(f[9]);
    if (!max_enis || !ipv4 || !nitro || !metal || !pd || !cards || !default_card || !all_cards) {
      return fail("bad number or boolean");
    }
    row.max_enis = *max_enis;
    row.ipv4_per_eni = *ipv4;
    row.is_nitro = *nitro;
    row.is_bare_metal = *metal;
    row.pd_supported = *pd;
    row.network_cards = *cards;
    row.default_network_card_index = *default_card;
    row.enis_all_cards = *all_cards;
    for (const std::string& entry : SplitCsv(f[10], ';')) {
      const std::vector<std::string> kv = SplitCsv(entry, ':');
      if (kv.size() != 2) return fail("bad per_card_max_enis entry " + entry);
      const std::optional<int> card = ParseCsvInt(kv[0]);
      const std::optional<int> max = ParseCsvInt(kv[1]);
      if (!card || !max) return fail("bad per_card_max_enis entry " + entry);
      row.per_card_max_enis.emplace_back(*card, *max);
    }
    csv.rows.push_back(std::move(row));
  }
  return csv;
}

}  // namespace enipool::testing

#endif  // ENIPOOL_TESTS_TESTING_INSTANCE_LIMITS_CSV_H_
