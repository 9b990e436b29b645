// -----------------------------------------------------------------------------
// File: testing/subprocess.h
// -----------------------------------------------------------------------------
//
// Running other programs from a test: RunCommand() runs a shell command to
// completion and captures its standard output; ChildProcess starts a program
// in the background, reads its output line by line and stops it with
// SIGTERM. Used by the tests that check enipool::aws against AWS's own
// clients (botocore, the AWS CLI) and that drive examples/ec2_endpoint.cpp.
//
// Example:
//
//   auto result = enipool::testing::RunCommand("/usr/bin/python3 -c 'print(1)'");
//   result.exit_code;   // 0
//   result.output;      // "1\n"

#ifndef ENIPOOL_TESTS_TESTING_SUBPROCESS_H_
#define ENIPOOL_TESTS_TESTING_SUBPROCESS_H_

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace enipool::testing {

struct CommandResult {
  int exit_code = -1;  // -1 when the command could not run or was killed
  std::string output;  // standard output
};

// RunCommand()
//
// Runs `command` with /bin/sh and waits for it. Standard error passes
// through to the test's, so a failure explains itself in the CTest log.
inline CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  std::size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, got);
  const int status = pclose(pipe);
  if (status != -1 && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

// ShellQuote()
//
// `text` as one single-quoted shell word.
inline std::string ShellQuote(absl::string_view text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  out.push_back('\'');
  return out;
}

// ChildProcess
//
// A program running in the background with its standard output on a pipe.
// The destructor sends SIGTERM and waits.
class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() { (void)Stop(); }

  // ChildProcess::Start()
  //
  // Starts `argv[0]` with `argv`. False if it could not start.
  bool Start(const std::vector<std::string>& argv) {
    int fds[2];
    if (pipe(fds) != 0) return false;
    pid_ = fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
      std::vector<char*> args;
      for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(fds[1]);
    out_fd_ = fds[0];
    return true;
  }

  // ChildProcess::ReadLine()
  //
  // The next line of output (without '\n'), or nullopt at end of output or
  // after `timeout`.
  std::optional<std::string> ReadLine(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (true) {
      const auto newline = buffer_.find('\n');
      if (newline != std::string::npos) {
        std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return line;
      }
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration() || out_fd_ < 0) return std::nullopt;
      pollfd pfd{out_fd_, POLLIN, 0};
      if (poll(&pfd, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1) <= 0) continue;
      char chunk[1024];
      const ssize_t got = read(out_fd_, chunk, sizeof chunk);
      if (got <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(got));
    }
  }

  // ChildProcess::Stop()
  //
  // Sends SIGTERM and waits; returns the exit code (-1 if killed by a
  // signal or not running).
  int Stop() {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    if (out_fd_ >= 0) close(out_fd_);
    out_fd_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string buffer_;
};

}  // namespace enipool::testing

#endif  // ENIPOOL_TESTS_TESTING_SUBPROCESS_H_
