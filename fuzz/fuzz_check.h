// -----------------------------------------------------------------------------
// File: fuzz/fuzz_check.h
// -----------------------------------------------------------------------------
//
// ENIPOOL_FUZZ_CHECK(condition, message...): the fuzz targets' assertion. A
// violated property prints the message and aborts, which libFuzzer reports as
// a crash (and saves the input) and the corpus replay test reports as a
// failure. Each target lives in a header (fuzz/<target>_fuzz.h) so that the
// normal test suite can replay fuzz/corpus/<target>/ through it without
// libFuzzer (tests/fuzz_corpus_test.cpp).

#ifndef ENIPOOL_FUZZ_FUZZ_CHECK_H_
#define ENIPOOL_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"

#define ENIPOOL_FUZZ_CHECK(condition, ...)                                                  \
  do {                                                                                     \
    if (!(condition)) {                                                                    \
      const std::string enipool_fuzz_message = ::absl::StrCat(__VA_ARGS__);                \
      std::fprintf(stderr, "%s:%d: fuzz check failed: %s: %s\n", __FILE__, __LINE__,        \
                   #condition, enipool_fuzz_message.c_str());                              \
      std::abort();                                                                        \
    }                                                                                      \
  } while (false)

#endif  // ENIPOOL_FUZZ_FUZZ_CHECK_H_
