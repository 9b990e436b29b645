// Command-line handling shared by the example programs, on top of Abseil's
// flags library (ABSL_FLAG definitions in each program):
//
//   * flag names may be written with '-' or '_' (--warm-ip-target or
//     --warm_ip_target); Abseil itself knows only '_';
//   * a flag given twice is refused (Abseil would keep the last silently),
//     except the repeatable ones a program names: their values are joined;
//   * --help (or -h) prints the program's usage text and the flags it defines,
//     from their definitions, and exits 0;
//   * unknown flags and bad typed values are refused by Abseil (exit 1);
//     positional arguments are refused here;
//   * OutputFile opens an output path before the work starts, so a bad path
//     fails in a second, with the reason (strerror), not after a long run.
//
// Example:
//
//   ABSL_FLAG(int, nodes, 10, "node count");
//   int main(int argc, char** argv) {
//     if (!examples::ParseFlagsOrExit(argc, argv, kUsage, "my_example.cpp")) return 1;
//     ...
//   }

#ifndef ENIPOOL_EXAMPLES_EXAMPLE_FLAGS_H_
#define ENIPOOL_EXAMPLES_EXAMPLE_FLAGS_H_

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace examples {

// UnitDuration
//
// A flag value that is an absl::Duration written with its unit ("30s", "5m",
// "1h30m"): a bare "5" is refused, since it could mean seconds or minutes.
struct UnitDuration {
  absl::Duration value;
};

inline bool AbslParseFlag(absl::string_view text, UnitDuration* out, std::string* error) {
  absl::Duration d;
  if (!absl::ParseDuration(std::string(text), &d) || d < absl::ZeroDuration() ||
      d == absl::InfiniteDuration()) {
    *error = "want a duration with its unit, such as 30s, 5m or 1h30m";
    return false;
  }
  out->value = d;
  return true;
}

inline std::string AbslUnparseFlag(const UnitDuration& d) { return absl::FormatDuration(d.value); }

namespace internal {

// "--warm-ip-target=3" -> "--warm_ip_target=3"; a token that is not a flag
// name (a value, or anything after "--") is left alone.
inline std::string NormalizeFlagToken(absl::string_view token) {
  std::string out(token);
  const std::size_t name_start = out.find_first_not_of('-');
  const std::size_t name_end = std::min(out.find('='), out.size());
  for (std::size_t i = name_start; i < name_end; ++i) {
    if (out[i] == '-') out[i] = '_';
  }
  return out;
}

// `text` cut at spaces into lines of at most `width` columns, each starting
// with `indent` (a word longer than a line gets a line of its own).
inline std::string Wrap(absl::string_view text, absl::string_view indent, std::size_t width) {
  std::string out;
  std::string line(indent);
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (line.size() > indent.size() && line.size() + 1 + word.size() > width) {
      absl::StrAppend(&out, line, "\n");
      line = std::string(indent);
    }
    absl::StrAppend(&line, line.size() > indent.size() ? " " : "", word);
  }
  absl::StrAppend(&out, line, "\n");
  return out;
}

}  // namespace internal

// PrintFlagsHelp()
//
// `usage`, then every flag defined in a file whose name ends with
// `defining_file`, sorted, with its help text and default.
inline void PrintFlagsHelp(std::ostream& out, absl::string_view usage,
                           absl::string_view defining_file) {
  out << usage;
  std::vector<const absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (absl::EndsWith(flag->Filename(), defining_file)) flags.push_back(flag);
  }
  std::sort(flags.begin(), flags.end(),
            [](const auto* a, const auto* b) { return a->Name() < b->Name(); });
  out << "\nFlags (names take '-' or '_'; --flag=value or --flag value):\n";
  if (flags.empty()) out << "  (none besides --help)\n";
  for (const absl::CommandLineFlag* flag : flags) {
    std::string name(flag->Name());
    std::replace(name.begin(), name.end(), '_', '-');
    std::string help = flag->Help();
    const std::string default_value = flag->DefaultValue();
    if (!default_value.empty()) absl::StrAppend(&help, " (default: ", default_value, ")");
    out << "  --" << name << "\n" << internal::Wrap(help, "      ", 80);
  }
  out << "  --help, -h\n      this text\n";
}

// ParseFlagsOrExit()
//
// Parses argv into the ABSL_FLAGs. Returns true to go on. On --help prints
// the help and exits 0; on a bad argument prints "<program>: <why>" to stderr
// and returns false (Abseil itself exits 1 on an unknown flag or a bad value).
// `repeatable` maps the names of flags that may be given several times to
// the separator their values are joined with ("workload" → " + ").
inline bool ParseFlagsOrExit(
    int argc, char** argv, absl::string_view usage, absl::string_view defining_file,
    const absl::flat_hash_map<std::string, std::string>& repeatable = {}) {
  const std::string program = argc > 0 ? std::string(argv[0]) : "example";
  const std::string short_name = program.substr(program.find_last_of('/') + 1);
  std::vector<std::string> tokens;
  tokens.reserve(static_cast<std::size_t>(argc));
  absl::flat_hash_set<std::string> seen;
  absl::flat_hash_map<std::string, std::size_t> repeated_at;  // repeatable flag → its token
  bool flags_over = false;
  for (int i = 0; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (i == 0 || flags_over || arg.size() < 2 || arg[0] != '-') {
      tokens.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_over = true;
      tokens.emplace_back(arg);
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      PrintFlagsHelp(std::cout, usage, defining_file);
      std::exit(0);
    }
    std::string token = internal::NormalizeFlagToken(arg);
    const std::size_t name_start = token.find_first_not_of('-');
    if (name_start == std::string::npos) {  // "---": Abseil reports it
      tokens.push_back(std::move(token));
      continue;
    }
    const std::string name = token.substr(name_start, token.find('=') - name_start);
    if (const auto joiner = repeatable.find(name); joiner != repeatable.end()) {
      // Kept as one "--name=a<joiner>b" token.
      std::string value;
      if (token.find('=') != std::string::npos) {
        value = token.substr(token.find('=') + 1);
      } else if (i + 1 < argc) {
        value = argv[++i];
      }
      if (const auto first = repeated_at.find(name); first != repeated_at.end()) {
        absl::StrAppend(&tokens[first->second], joiner->second, value);
      } else {
        repeated_at[name] = tokens.size();
        tokens.push_back(absl::StrCat("--", name, "=", value));
      }
      continue;
    }
    if (!seen.insert(name).second) {
      std::cerr << short_name << ": --" << name
                << " is given twice; give each flag once (see --help)\n";
      return false;
    }
    const bool has_value = token.find('=') != std::string::npos;
    tokens.push_back(std::move(token));
    // "--flag value": the next token is the value, whatever it looks like.
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (!has_value && flag != nullptr && !flag->IsOfType<bool>() && i + 1 < argc) {
      tokens.emplace_back(argv[++i]);
    }
  }
  std::vector<char*> args;
  args.reserve(tokens.size());
  for (std::string& token : tokens) args.push_back(token.data());
  absl::SetProgramUsageMessage(absl::StrCat(short_name, ": see --help"));
  const std::vector<char*> positional =
      absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  if (positional.size() > 1) {
    std::cerr << short_name << ": unexpected argument \"" << positional[1]
              << "\": this program takes only flags (--name=value); see --help\n";
    return false;
  }
  return true;
}

// OutputFile
//
// A file opened for writing before the work that fills it, so that a bad
// path is reported at once, with the reason.
class OutputFile {
 public:
  // OutputFile::Open()
  //
  // Creates or truncates `path`. UNAVAILABLE "cannot write PATH: <strerror>".
  static absl::StatusOr<OutputFile> Open(const std::string& path) {
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (file == nullptr) return Error(path);
    return OutputFile(path, file);
  }

  // OutputFile::WriteAndClose()
  //
  // Writes `text` and closes the file; UNAVAILABLE with the reason if either fails.
  absl::Status WriteAndClose(absl::string_view text) {
    std::FILE* file = file_.release();
    const bool written = std::fwrite(text.data(), 1, text.size(), file) == text.size();
    const int write_errno = errno;
    if (std::fclose(file) != 0 || !written) {
      if (!written) errno = write_errno;
      return Error(path_);
    }
    return absl::OkStatus();
  }

  const std::string& path() const { return path_; }

 private:
  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  OutputFile(std::string path, std::FILE* file) : path_(std::move(path)), file_(file) {}
  static absl::Status Error(const std::string& path) {
    return absl::UnavailableError(
        absl::StrCat("cannot write \"", path, "\": ", std::strerror(errno)));
  }

  std::string path_;
  std::unique_ptr<std::FILE, Closer> file_;
};

}  // namespace examples

#endif  // ENIPOOL_EXAMPLES_EXAMPLE_FLAGS_H_
