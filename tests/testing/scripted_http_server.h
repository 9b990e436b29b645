// -----------------------------------------------------------------------------
// File: testing/scripted_http_server.h
// -----------------------------------------------------------------------------
//
// A loopback HTTP server (cpp-httplib) that answers from a script: each
// request takes the next scripted answer (the last one repeats), after an
// optional delay. It records what it received. For the tests of enipool's
// EC2 client against bad answers: malformed XML, HTTP errors, slow answers.
//
// Example:
//
//   enipool::testing::ScriptedHttpServer server;
//   server.Script({{503, "<Response>...RequestLimitExceeded...</Response>"}, {200, ok_xml}});
//   REQUIRE(server.Start());
//   ... point a client at server.url() ...
//   server.requests();   // 2

#ifndef ENIPOOL_TESTS_TESTING_SCRIPTED_HTTP_SERVER_H_
#define ENIPOOL_TESTS_TESTING_SCRIPTED_HTTP_SERVER_H_

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace enipool::testing {

struct ScriptedAnswer {
  int status = 200;
  std::string body;
  absl::Duration delay = absl::ZeroDuration();
};

class ScriptedHttpServer {
 public:
  ScriptedHttpServer() = default;
  ScriptedHttpServer(const ScriptedHttpServer&) = delete;
  ScriptedHttpServer& operator=(const ScriptedHttpServer&) = delete;
  ~ScriptedHttpServer() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  void Script(std::vector<ScriptedAnswer> answers) {
    std::lock_guard<std::mutex> lock(mutex_);
    answers_ = std::move(answers);
    next_ = 0;
  }

  // Starts serving on 127.0.0.1 at a free port.
  bool Start() {
    auto handler = [this](const httplib::Request& request, httplib::Response& response) {
      ScriptedAnswer answer;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        bodies_.push_back(request.body);
        if (!answers_.empty()) answer = answers_[std::min(next_, answers_.size() - 1)];
        ++next_;
      }
      if (answer.delay > absl::ZeroDuration()) {
        std::this_thread::sleep_for(absl::ToChronoNanoseconds(answer.delay));
      }
      response.status = answer.status;
      response.set_content(answer.body, "text/xml");
    };
    server_.Post(".*", handler);
    server_.Get(".*", handler);
    server_.Put(".*", handler);
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) return false;
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() before the loop runs would be lost (and the destructor hang).
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return true;
  }

  [[nodiscard]] std::string url() const { return absl::StrCat("http://127.0.0.1:", port_); }
  [[nodiscard]] std::size_t requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return bodies_.size();
  }
  [[nodiscard]] std::vector<std::string> bodies() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return bodies_;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mutex_;
  std::vector<ScriptedAnswer> answers_;
  std::size_t next_ = 0;
  std::vector<std::string> bodies_;
};

}  // namespace enipool::testing

#endif  // ENIPOOL_TESTS_TESTING_SCRIPTED_HTTP_SERVER_H_
