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

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "drahil/core/child_process.hpp"
#include "drahil/core/file_util.hpp"
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
// SpawnLogged(): starts argv (argv[0] a path) with its stdout written to
// out_path and its stderr to err_path, or into out_path too when err_path is
// "". Tests read the files while the child runs.
Result<ChildProcess> SpawnLogged(std::vector<std::string> argv, const std::string& out_path,
                                 const std::string& err_path = "");
// JUnitSchemaErrors(): what xmllint says is wrong with the JUnit file at
// path against reports/schema/junit-ant-strict.xsd; "" when it is valid.
// Callers check FindOnPath("xmllint") first.
std::string JUnitSchemaErrors(const std::string& path);
// WaitFor(): checks pred every 20 ms (real time) until it holds or timeout
// has passed; whether it held. For a test waiting on another process.
bool WaitFor(std::chrono::milliseconds timeout, const std::function<bool()>& pred);
// WaitForText(): WaitFor() until the file at path contains text; returns the
// file's last contents read ("" if it never existed).
std::string WaitForText(const std::string& path, const std::string& text,
                        std::chrono::milliseconds timeout);

// AbsentFromBuild("drahil-fakenode"): true when the test binary declared the
// target in drahil_add_test(NEEDS ...) and this build configuration left it
// out (DRAHIL_MODULES). A target the test did not declare is never absent.
inline bool AbsentFromBuild(const std::string& target) {
#ifdef DRAHIL_TEST_ABSENT_TARGETS
  const std::string absent = "," DRAHIL_TEST_ABSENT_TARGETS ",";
  return absent.find("," + target + ",") != std::string::npos;
#else
  (void)target;
  return false;
#endif
}

// RequireBuilt(target, path): for a case that runs `path`, an output of a
// target its test declared in NEEDS. "" when the file is there; a missing
// file fails the case (REQUIRE), unless this build configuration leaves the
// target out: then the reason to skip.
inline std::string RequireBuilt(const std::string& target, const std::string& path) {
  if (AbsentFromBuild(target)) return target + " is not part of this build (DRAHIL_MODULES)";
  INFO(target << " should have built " << path);
  REQUIRE(::drahil::PathExists(path));
  return "";
}

}  // namespace drahil::testing

// DRAHIL_REQUIRE_BUILT("drahil-fakenode", path): the current TEST_CASE needs
// the output `path` of a target listed in its drahil_add_test(NEEDS ...).
// Skips, naming the build setting, when this configuration leaves the target
// out; otherwise the file must exist (a missing output is a failure, never a
// skip). Top level of a TEST_CASE body only, like DRAHIL_SKIP.
#define DRAHIL_REQUIRE_BUILT(target, path)                                          \
  do {                                                                              \
    std::string drahil_absent_ = ::drahil::testing::RequireBuilt((target), (path)); \
    if (!drahil_absent_.empty()) DRAHIL_SKIP(drahil_absent_);                       \
  } while (0)

#define DRAHIL_SKIP(reason)                                        \
  do {                                                             \
    std::string drahil_skip_reason_ = (reason);                    \
    std::printf("DRAHIL-SKIP: %s\n", drahil_skip_reason_.c_str()); \
    std::fflush(stdout);                                           \
    WARN("skipped: " << drahil_skip_reason_);                      \
    return;                                                        \
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
