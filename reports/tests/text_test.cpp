#include "drahil/reports/text.hpp"

#include "drahil/testing/testing.hpp"

using drahil::reports::EscapeHtml;
using drahil::reports::IsXmlSafe;
using drahil::reports::SanitizeXmlText;
using drahil::reports::TruncateUtf8;

TEST_CASE("SanitizeXmlText: keeps or replaces every kind of input", "[reports][escape]") {
  SECTION("valid text, including multi-byte UTF-8, is unchanged") {
    std::string s = "GPU-0 \xC3\xA9t\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 tab\tnl\ncr\r & < >";
    CHECK(SanitizeXmlText(s) == s);
    CHECK(IsXmlSafe(s));
  }
  SECTION("C0 control bytes become visible \\xNN text") {
    CHECK(SanitizeXmlText(std::string("a\x1b[0mb")) == "a\\x1B[0mb");
    CHECK(SanitizeXmlText(std::string("x\0y", 3)) == "x\\x00y");
    CHECK(SanitizeXmlText("\x01\x1f") == "\\x01\\x1F");
    CHECK_FALSE(IsXmlSafe(std::string("\x07")));
  }
  SECTION("invalid UTF-8 becomes U+FFFD, one per bad byte") {
    const std::string r = "\xEF\xBF\xBD";
    CHECK(SanitizeXmlText("a\xC3") == "a" + r);                   // truncated
    CHECK(SanitizeXmlText("\xC0\xAF") == r + r);                  // overlong '/'
    CHECK(SanitizeXmlText("\xED\xA0\x80") == r + r + r);          // surrogate U+D800
    CHECK(SanitizeXmlText("\xF4\x90\x80\x80") == r + r + r + r);  // above U+10FFFF
    CHECK(SanitizeXmlText("\xFF") == r);
    CHECK(SanitizeXmlText("\x80z") == r + "z");  // stray continuation
  }
  SECTION("U+FFFE and U+FFFF are not XML characters") {
    CHECK(SanitizeXmlText("\xEF\xBF\xBE\xEF\xBF\xBF") == "\xEF\xBF\xBD\xEF\xBF\xBD");
  }
  SECTION("the output is always XML-safe") {
    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
    CHECK(IsXmlSafe(SanitizeXmlText(all)));
  }
}

TEST_CASE("TruncateUtf8: never splits a character and says how much was cut", "[reports]") {
  CHECK(TruncateUtf8("short", 10) == "short");
  std::string euro3 = "\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC";  // 9 bytes
  std::string cut = TruncateUtf8(euro3, 4);
  CHECK(cut.rfind("\xE2\x82\xAC\n", 0) == 0);  // one whole euro sign kept
  CHECK(cut.find("[6 bytes truncated]") != std::string::npos);
  CHECK(IsXmlSafe(cut));
}

TEST_CASE("EscapeHtml: escapes markup characters after sanitising", "[reports][escape]") {
  CHECK(EscapeHtml("<a href=\"x\">'&'</a>") ==
        "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  CHECK(EscapeHtml(std::string("\x1b")) == "\\x1B");
}
