#include "drahil/core/semver.hpp"

#include "drahil/testing/testing.hpp"

using drahil::SemVer;

TEST_CASE("SemVer: precedence follows the 2.0.0 spec", "[core][semver]") {
  // The spec's own example ordering.
  const char* ordered[] = {"1.0.0-alpha",  "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
                           "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1",       "1.0.0",
                           "1.0.1",        "1.1.0",         "1.10.0",           "2.0.0"};
  for (size_t i = 0; i + 1 < std::size(ordered); ++i) {
    INFO(ordered[i] << " < " << ordered[i + 1]);
    auto a = SemVer::Parse(ordered[i]);
    auto b = SemVer::Parse(ordered[i + 1]);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a->Compare(*b) < 0);
    CHECK(b->Compare(*a) > 0);
  }
  CHECK(SemVer::Parse("1.2.3+build.1")->Compare(*SemVer::Parse("1.2.3+other")) == 0);
}

TEST_CASE("SemVer: parse and print", "[core][semver]") {
  auto v = SemVer::Parse("12.4.0-rc.1+sha.abc");
  REQUIRE(v.ok());
  CHECK(v->major == 12);
  CHECK(v->minor == 4);
  CHECK(v->prerelease == std::vector<std::string>{"rc", "1"});
  CHECK(v->build == std::vector<std::string>{"sha", "abc"});
  CHECK(v->ToString() == "12.4.0-rc.1+sha.abc");
  CHECK(SemVer::Parse("v1.2", true)->ToString() == "1.2.0");
  CHECK(SemVer::Parse("1", true)->ToString() == "1.0.0");
}

TEST_CASE("SemVer: bad input names the input", "[core][semver]") {
  for (const char* s : {"", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.3-", "1.2.3-01",
                        "v1.2.3", "1.2.x", "1.2.3+", "1.2.3-a..b", "1.2.3-a_b"}) {
    INFO(s);
    auto v = SemVer::Parse(s);
    REQUIRE_FALSE(v.ok());
    CHECK(v.status().message().find(std::string("semver \"") + s + "\"") == 0);
  }
}
