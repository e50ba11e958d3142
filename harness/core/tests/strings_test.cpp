#include "drahil/core/strings.hpp"

#include "drahil/testing/testing.hpp"

namespace drahil {
namespace {

using Fields = std::vector<std::string>;

TEST_CASE("Strings: Trim removes every kind of surrounding whitespace", "[core][strings]") {
  CHECK(Trim("  a b \t\r\n") == "a b");
  CHECK(Trim("\v\fx\f") == "x");
  CHECK(Trim("") == "");
  CHECK(Trim(" \t ") == "");
  CHECK(TrimView(" keep inner  space ") == "keep inner  space");
}

TEST_CASE("Strings: case mapping touches ASCII letters only", "[core][strings]") {
  CHECK(ToLower("AF:00.1 GPU") == "af:00.1 gpu");
  CHECK(ToUpper("nvidia-0x10de") == "NVIDIA-0X10DE");
  CHECK(ToLower("\xc3\x84") == "\xc3\x84");  // UTF-8 "Ä" is left alone
}

TEST_CASE("Strings: Split keeps every field unless told otherwise", "[core][strings]") {
  CHECK(Split("a.b.c", '.') == Fields{"a", "b", "c"});
  CHECK(Split("a,,b,", ',') == Fields{"a", "", "b", ""});
  CHECK(Split("", ',') == Fields{""});
  CHECK(Split(" a , b ", ',', {.trim = true}) == Fields{"a", "b"});
  CHECK(Split("/apis//v1/", '/', {.skip_empty = true}) == Fields{"apis", "v1"});
  CHECK(Split(" a, ,b ,", ',', {.trim = true, .skip_empty = true}) == Fields{"a", "b"});
  CHECK(Split("", ',', {.skip_empty = true}).empty());
}

TEST_CASE("Strings: Join puts the separator between parts only", "[core][strings]") {
  CHECK(Join({"a", "b", "c"}, ", ") == "a, b, c");
  CHECK(Join({"only"}, "; ") == "only");
  CHECK(Join({}, ", ") == "");
  CHECK(Join({"", ""}, "/") == "/");
}

}  // namespace
}  // namespace drahil
