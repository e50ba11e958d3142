// Kubernetes' name rules (drahil/core/names.hpp), against
// k8s.io/apimachinery/pkg/util/validation's messages.
#include "drahil/core/names.hpp"

#include "drahil/testing/testing.hpp"

using drahil::IsDns1035Label;
using drahil::IsDns1123Label;
using drahil::NameIsDns1035Label;
using drahil::NameIsDnsLabel;
using drahil::NameIsDnsSubdomain;

TEST_CASE("Names: IsDNS1035Label starts with a letter and has at most 63 characters",
          "[core][names]") {
  CHECK(IsDns1035Label("abc-123").empty());
  CHECK(IsDns1035Label("a").empty());
  for (const char* bad : {"", "1abc", "-abc", "abc-", "ABC", "a_b"}) {
    INFO(bad);
    auto errs = IsDns1035Label(bad);
    REQUIRE(errs.size() == 1);
    CHECK(errs[0] ==
          "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
          "an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
          "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')");
  }
  auto too_long = IsDns1035Label(std::string(64, 'a'));
  REQUIRE(too_long.size() == 1);
  CHECK(too_long[0] == "must be no more than 63 characters");
  // RFC 1123 labels may start with a digit; RFC 1035 ones may not.
  CHECK(IsDns1123Label("1abc").empty());
}

TEST_CASE("Names: the prefix forms (generateName) allow one trailing dash", "[core][names]") {
  CHECK(NameIsDnsLabel("my-prefix-", true).empty());
  CHECK_FALSE(NameIsDnsLabel("my-prefix-", false).empty());
  CHECK(NameIsDnsLabel("my-prefix--", true).empty());  // "my-prefix-a", as upstream masks it
  CHECK_FALSE(NameIsDnsLabel("My-prefix-", true).empty());
  CHECK(NameIsDnsSubdomain("a.b-", true).empty());
  CHECK(NameIsDns1035Label("abc-", true).empty());
  CHECK_FALSE(NameIsDns1035Label("-", true).empty());  // a lone dash is not masked
}
