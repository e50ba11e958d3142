#include "drahil/reports/text.hpp"

#include <cstdint>
#include <cstdio>

namespace drahil::reports {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// DecodeOne(): decodes one UTF-8 sequence at in[i]. Returns the number of bytes
// consumed (>= 1) and sets cp, or sets cp = -1 for an invalid sequence (then
// exactly one byte is consumed, so resynchronisation happens at the next byte).
size_t DecodeOne(std::string_view in, size_t i, int32_t& cp) {
  auto b0 = static_cast<uint8_t>(in[i]);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  size_t len;
  int32_t min;
  int32_t v;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, min = 0x80, v = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, min = 0x800, v = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, min = 0x10000, v = b0 & 0x07;
  } else {
    cp = -1;
    return 1;
  }
  if (i + len > in.size()) {
    cp = -1;
    return 1;
  }
  for (size_t k = 1; k < len; ++k) {
    auto b = static_cast<uint8_t>(in[i + k]);
    if ((b & 0xC0) != 0x80) {
      cp = -1;
      return 1;
    }
    v = (v << 6) | (b & 0x3F);
  }
  // Overlong forms, UTF-16 surrogates and values past U+10FFFF are invalid UTF-8.
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
    cp = -1;
    return 1;
  }
  cp = v;
  return len;
}

bool XmlAllowed(int32_t cp) {
  if (cp == 0x9 || cp == 0xA || cp == 0xD) return true;
  if (cp < 0x20) return false;
  if (cp == 0xFFFE || cp == 0xFFFF) return false;
  return true;  // surrogates were rejected by DecodeOne
}

}  // namespace

std::string SanitizeXmlText(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    int32_t cp;
    size_t n = DecodeOne(in, i, cp);
    if (cp < 0) {
      out += kReplacement;
    } else if (!XmlAllowed(cp)) {
      if (cp < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\x%02X", static_cast<unsigned>(cp));
        out += buf;
      } else {
        out += kReplacement;
      }
    } else {
      out.append(in.substr(i, n));
    }
    i += n;
  }
  return out;
}

bool IsXmlSafe(std::string_view in) {
  size_t i = 0;
  while (i < in.size()) {
    int32_t cp;
    size_t n = DecodeOne(in, i, cp);
    if (cp < 0 || !XmlAllowed(cp)) return false;
    i += n;
  }
  return true;
}

std::string TruncateUtf8(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  size_t cut = max_bytes;
  // Back up over continuation bytes so no character is split.
  while (cut > 0 && (static_cast<uint8_t>(s[cut]) & 0xC0) == 0x80) --cut;
  std::string out(s.substr(0, cut));
  out += "\n\xE2\x80\xA6 [" + std::to_string(s.size() - cut) + " bytes truncated]";
  return out;
}

std::string EscapeHtml(std::string_view in) {
  std::string clean = SanitizeXmlText(in);
  std::string out;
  out.reserve(clean.size() + 16);
  for (char c : clean) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace drahil::reports
