#include "enipool/status.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace {

absl::Status FailIf(bool fail, int* calls) {
  ++*calls;
  return fail ? absl::NotFoundError("no such thing") : absl::OkStatus();
}

absl::Status TwoSteps(bool fail_first, bool fail_second, int* calls, int* reached_end) {
  ENIPOOL_RETURN_IF_ERROR(FailIf(fail_first, calls));
  ENIPOOL_RETURN_IF_ERROR(FailIf(fail_second, calls));
  ++*reached_end;
  return absl::OkStatus();
}

TEST_CASE("ENIPOOL_RETURN_IF_ERROR returns the first error and evaluates its argument once") {
  int calls = 0;
  int reached_end = 0;
  CHECK(TwoSteps(false, false, &calls, &reached_end) == absl::OkStatus());
  CHECK(calls == 2);
  CHECK(reached_end == 1);

  calls = 0;
  CHECK(TwoSteps(true, false, &calls, &reached_end) == absl::NotFoundError("no such thing"));
  CHECK(calls == 1);
  CHECK(reached_end == 1);

  calls = 0;
  CHECK(TwoSteps(false, true, &calls, &reached_end) == absl::NotFoundError("no such thing"));
  CHECK(calls == 2);
  CHECK(reached_end == 1);
}

TEST_CASE("ENIPOOL_RETURN_IF_ERROR works as a single statement under if/else") {
  auto f = [](bool check) -> absl::Status {
    if (check)
      ENIPOOL_RETURN_IF_ERROR(absl::InternalError("checked"));
    else
      return absl::OkStatus();
    return absl::UnknownError("unreachable");
  };
  CHECK(f(true) == absl::InternalError("checked"));
  CHECK(f(false) == absl::OkStatus());
}

absl::StatusOr<std::unique_ptr<int>> MakeInt(bool fail, int value) {
  if (fail) return absl::InvalidArgumentError("bad value");
  return std::make_unique<int>(value);
}

absl::StatusOr<int> Sum(bool fail_a, bool fail_b) {
  ENIPOOL_ASSIGN_OR_RETURN(std::unique_ptr<int> a, MakeInt(fail_a, 2));  // move-only value
  std::unique_ptr<int> b;
  ENIPOOL_ASSIGN_OR_RETURN(b, MakeInt(fail_b, 40));          // into an existing variable
  ENIPOOL_ASSIGN_OR_RETURN(auto c, absl::StatusOr<int>(0));  // two uses on one function
  return *a + *b + c;
}

TEST_CASE("ENIPOOL_ASSIGN_OR_RETURN moves the value out or returns the error") {
  CHECK(Sum(false, false).value() == 42);
  CHECK(Sum(true, false).status() == absl::InvalidArgumentError("bad value"));
  CHECK(Sum(false, true).status() == absl::InvalidArgumentError("bad value"));
}

absl::Status IntoStatus(bool fail, std::string* out) {
  ENIPOOL_ASSIGN_OR_RETURN(*out, fail ? absl::StatusOr<std::string>(absl::AbortedError("stop"))
                                      : absl::StatusOr<std::string>("value"));
  return absl::OkStatus();
}

TEST_CASE(
    "ENIPOOL_ASSIGN_OR_RETURN works in a function returning absl::Status and leaves lhs alone on "
    "error") {
  std::string out = "untouched";
  CHECK(IntoStatus(true, &out) == absl::AbortedError("stop"));
  CHECK(out == "untouched");
  CHECK(IntoStatus(false, &out) == absl::OkStatus());
  CHECK(out == "value");
}

}  // namespace
