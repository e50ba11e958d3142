// File: testing.hpp
//
// Helpers shared by every drahil test binary.
//
// DRAHIL_SKIP("needs kubectl on PATH"): ends the current TEST_CASE as skipped.
// Catch2 v2 has no SKIP, so the macro prints "DRAHIL-SKIP: <reason>" and
// returns; drahil_add_test() registers each test with
// SKIP_REGULAR_EXPRESSION "DRAHIL-SKIP:" so CTest reports it as skipped, with
// the reason in the output. Use it only at the top level of a TEST_CASE body
// (it returns from the enclosing function).
#ifndef DRAHIL_TESTING_TESTING_HPP_INCLUDED
#define DRAHIL_TESTING_TESTING_HPP_INCLUDED

#include <cstdio>
#include <string>

#include <catch2/catch.hpp>

#include "drahil/core/status.hpp"

namespace drahil::testing {

// BinDir(): build/bin, where every executable of the build lands.
std::string BinDir();
// LibDir(): build/lib, where shared libraries (fake NVML, emulated runtime) land.
std::string LibDir();
// SourceDir(): the repository root.
std::string SourceDir();
// Bin("drahil"): BinDir() + "/drahil".
std::string Bin(const std::string& name);
// FindOnPath("kubectl"): absolute path or "" when absent.
std::string FindOnPath(const std::string& name);
// DebianPython(): "/usr/bin/python3" if it exists, else "".
std::string DebianPython();

}  // namespace drahil::testing

#define DRAHIL_SKIP(reason)                                                   \
  do {                                                                        \
    std::string drahil_skip_reason_ = (reason);                               \
    std::printf("DRAHIL-SKIP: %s\n", drahil_skip_reason_.c_str());           \
    std::fflush(stdout);                                                      \
    WARN("skipped: " << drahil_skip_reason_);                                 \
    return;                                                                   \
  } while (0)

// REQUIRE_OK(expr): expr is a Status or Result; fails with its message.
#define REQUIRE_OK(expr)                                                      \
  do {                                                                        \
    ::drahil::Status drahil_req_status_ = ::drahil::internal::AsStatus(expr); \
    INFO(drahil_req_status_.ToString());                                      \
    REQUIRE(drahil_req_status_.ok());                                         \
  } while (0)
#define CHECK_OK(expr)                                                        \
  do {                                                                        \
    ::drahil::Status drahil_chk_status_ = ::drahil::internal::AsStatus(expr); \
    INFO(drahil_chk_status_.ToString());                                      \
    CHECK(drahil_chk_status_.ok());                                           \
  } while (0)

#endif  // DRAHIL_TESTING_TESTING_HPP_INCLUDED
