// The doctest main shared by every test executable (Debian's doctest-dev has
// no doctest_with_main library).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
