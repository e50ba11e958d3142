// File: text.hpp
//
// Making arbitrary bytes (whatever a driver, a kernel log or nvidia-smi
// returned) safe to put in XML, HTML and JSON reports.
//
// XML 1.0 allows only TAB, LF, CR, U+0020..U+D7FF, U+E000..U+FFFD and
// U+10000..U+10FFFF; other C0 controls are illegal even as character
// references. Consumers such as TestGrid also reject invalid UTF-8.
//
// Thread-safety: pure functions.
#ifndef DRAHIL_REPORTS_TEXT_HPP_INCLUDED
#define DRAHIL_REPORTS_TEXT_HPP_INCLUDED

#include <cstddef>
#include <string>
#include <string_view>

namespace drahil::reports {

// SanitizeXmlText(): returns valid UTF-8 containing only characters XML 1.0
// allows. Illegal control characters become the visible text "\xNN" (so an
// ESC in a log still shows where it was); bytes that are not valid UTF-8
// (truncated, overlong, surrogates, above U+10FFFF) and U+FFFE/U+FFFF become
// U+FFFD. Valid input is returned unchanged.
std::string SanitizeXmlText(std::string_view in);

// IsXmlSafe(): true when SanitizeXmlText(in) == in.
bool IsXmlSafe(std::string_view in);

// TruncateUtf8(): at most max_bytes of s (valid UTF-8) without splitting a
// character; when cut, appends "\n… [N bytes truncated]".
std::string TruncateUtf8(std::string_view s, size_t max_bytes);

// EscapeHtml(): sanitises, then escapes & < > " ' for text and attributes.
std::string EscapeHtml(std::string_view in);

}  // namespace drahil::reports

#endif  // DRAHIL_REPORTS_TEXT_HPP_INCLUDED
