// File: strings.hpp
//
// The string helpers every module shares. Prefix and suffix tests are the
// standard's (C++20 `s.starts_with(p)`, `s.ends_with(p)`), so there are none
// here.
//
// Whitespace means the C locale's isspace(): ' ', \t, \n, \v, \f, \r. Case
// mapping is ASCII only; other bytes (UTF-8 included) pass through unchanged.
//
// Thread-safety: pure functions.
#ifndef DRAHIL_CORE_STRINGS_HPP_INCLUDED
#define DRAHIL_CORE_STRINGS_HPP_INCLUDED

#include <string>
#include <string_view>
#include <vector>

namespace drahil {

// TrimView(): s without leading and trailing whitespace; a view into s.
std::string_view TrimView(std::string_view s);
// Trim(): the same, as a new string.
std::string Trim(std::string_view s);

// ToLower() / ToUpper(): ASCII letters mapped, every other byte kept.
std::string ToLower(std::string_view s);
std::string ToUpper(std::string_view s);

struct SplitOptions {
  bool trim = false;        // trim whitespace from each field
  bool skip_empty = false;  // drop fields that are empty (after trimming, if trim)
};

// Split(): the fields of s between separators, in order. Without options
// every field is kept: Split("a,,b", ',') is {"a", "", "b"}, Split("", ',')
// is {""} (one empty field). With {.trim = true, .skip_empty = true},
// Split(" a, ,b ", ',') is {"a", "b"} and Split("", ',') is {}.
std::vector<std::string> Split(std::string_view s, char sep, SplitOptions options = {});

// Join(): parts with sep between them; "" for no parts.
std::string Join(const std::vector<std::string>& parts, std::string_view sep);

}  // namespace drahil

#endif  // DRAHIL_CORE_STRINGS_HPP_INCLUDED
