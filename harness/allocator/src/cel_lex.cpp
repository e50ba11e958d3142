// CEL lexer for DRA selectors (tokens as in github.com/google/cel-spec,
// langdef.md), and the translation of RE2 patterns to std::regex.
#include "cel_lex.hpp"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>

namespace drahil::allocator::cel::internal {
namespace {

const char* const kReserved[] = {"as",     "break",   "const", "continue", "else",
                                 "for",    "function", "if",   "import",   "let",
                                 "loop",   "package", "namespace", "return", "var",
                                 "void",   "while"};

bool IsIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

void AppendUtf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

std::string Where(std::string_view text, int pos) {
  int line = 1, col = 1;
  for (int i = 0; i < pos && i < static_cast<int>(text.size()); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

Status Lexer::Next(Token* t) {
  SkipSpace();
  *t = Token{};
  t->pos = static_cast<int>(i_);
  if (i_ >= s_.size()) return OkStatus();
  char c = s_[i_];
  // String and bytes literals, with r/b prefixes in either order.
  if (c == '"' || c == '\'') return LexString(t, false, false);
  {
    size_t j = i_;
    bool raw = false, bytes = false;
    while (j < s_.size() && j < i_ + 2) {
      char p = s_[j];
      if ((p == 'r' || p == 'R') && !raw) {
        raw = true;
      } else if ((p == 'b' || p == 'B') && !bytes) {
        bytes = true;
      } else {
        break;
      }
      ++j;
    }
    if (j > i_ && j < s_.size() && (s_[j] == '"' || s_[j] == '\'')) {
      i_ = j;
      return LexString(t, raw, bytes);
    }
  }
  if (IsIdentStart(c)) {
    size_t j = i_;
    while (j < s_.size() && (IsIdentStart(s_[j]) || (s_[j] >= '0' && s_[j] <= '9'))) ++j;
    t->kind = Tok::kIdent;
    t->text = std::string(s_.substr(i_, j - i_));
    i_ = j;
    for (const char* r : kReserved) {
      if (t->text == r) return Error(t->pos, "reserved identifier '" + t->text + "'");
    }
    if (t->text == "in") t->kind = Tok::kPunct;
    return OkStatus();
  }
  if ((c >= '0' && c <= '9') ||
      (c == '.' && i_ + 1 < s_.size() && s_[i_ + 1] >= '0' && s_[i_ + 1] <= '9')) {
    return LexNumber(t);
  }
  static const char* const kPuncts[] = {"&&", "||", "<=", ">=", "==", "!=", "(", ")", "[", "]",
                                        "{",  "}",  ".",  ",",  "?",  ":",  "!", "-", "+", "*",
                                        "/",  "%",  "<",  ">"};
  for (const char* p : kPuncts) {
    size_t n = std::char_traits<char>::length(p);
    if (s_.substr(i_, n) == p) {
      t->kind = Tok::kPunct;
      t->text = p;
      i_ += n;
      return OkStatus();
    }
  }
  if (c == '=') return Error(t->pos, "unexpected '=' (use '==' for equality)");
  if (c == '`') return Error(t->pos, "unsupported construct: backtick-quoted identifier");
  return Error(t->pos, std::string("unexpected character '") + c + "'");
}

Status Lexer::Error(int pos, const std::string& what) const {
  return InvalidArgumentError(Where(s_, pos) + ": " + what);
}

void Lexer::SkipSpace() {
  while (i_ < s_.size()) {
    char c = s_[i_];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      ++i_;
    } else if (c == '/' && i_ + 1 < s_.size() && s_[i_ + 1] == '/') {
      while (i_ < s_.size() && s_[i_] != '\n') ++i_;
    } else {
      break;
    }
  }
}

Status Lexer::LexNumber(Token* t) {
  size_t start = i_;
  if (s_[i_] == '0' && i_ + 1 < s_.size() && (s_[i_ + 1] == 'x' || s_[i_ + 1] == 'X')) {
    size_t j = i_ + 2;
    while (j < s_.size() && std::isxdigit(static_cast<unsigned char>(s_[j]))) ++j;
    if (j == i_ + 2) return Error(t->pos, "invalid hex literal");
    std::string digits(s_.substr(i_ + 2, j - i_ - 2));
    errno = 0;
    unsigned long long v = std::strtoull(digits.c_str(), nullptr, 16);
    if (errno == ERANGE) return Error(t->pos, "integer literal out of range");
    i_ = j;
    return FinishInt(t, v);
  }
  size_t j = i_;
  while (j < s_.size() && s_[j] >= '0' && s_[j] <= '9') ++j;
  bool is_double = false;
  if (j < s_.size() && s_[j] == '.' && j + 1 < s_.size() && s_[j + 1] >= '0' && s_[j + 1] <= '9') {
    is_double = true;
    ++j;
    while (j < s_.size() && s_[j] >= '0' && s_[j] <= '9') ++j;
  }
  if (j < s_.size() && (s_[j] == 'e' || s_[j] == 'E')) {
    size_t k = j + 1;
    if (k < s_.size() && (s_[k] == '+' || s_[k] == '-')) ++k;
    if (k < s_.size() && s_[k] >= '0' && s_[k] <= '9') {
      is_double = true;
      while (k < s_.size() && s_[k] >= '0' && s_[k] <= '9') ++k;
      j = k;
    }
  }
  std::string text(s_.substr(start, j - start));
  i_ = j;
  if (is_double) {
    t->kind = Tok::kDouble;
    t->d = std::strtod(text.c_str(), nullptr);
    if (!std::isfinite(t->d)) return Error(t->pos, "double literal out of range");
    return OkStatus();
  }
  errno = 0;
  unsigned long long v = std::strtoull(text.c_str(), nullptr, 10);
  if (errno == ERANGE) return Error(t->pos, "integer literal out of range");
  return FinishInt(t, v);
}

Status Lexer::FinishInt(Token* t, uint64_t v) {
  if (i_ < s_.size() && (s_[i_] == 'u' || s_[i_] == 'U')) {
    ++i_;
    t->kind = Tok::kUint;
    t->u = v;
    return OkStatus();
  }
  t->kind = Tok::kInt;
  t->u = v;  // range checked by the parser, which knows about a leading '-'
  return OkStatus();
}

Status Lexer::LexString(Token* t, bool raw, bool bytes) {
  char q = s_[i_];
  bool triple = s_.substr(i_, 3) == std::string(3, q);
  i_ += triple ? 3 : 1;
  std::string out;
  for (;;) {
    if (i_ >= s_.size()) return Error(t->pos, "unterminated string literal");
    char c = s_[i_];
    if (triple) {
      if (s_.substr(i_, 3) == std::string(3, q)) {
        i_ += 3;
        break;
      }
    } else {
      if (c == q) {
        ++i_;
        break;
      }
      if (c == '\n' || c == '\r') return Error(t->pos, "newline in string literal");
    }
    if (c != '\\' || raw) {
      out.push_back(c);
      ++i_;
      continue;
    }
    int esc_pos = static_cast<int>(i_);
    if (++i_ >= s_.size()) return Error(esc_pos, "unterminated escape");
    char e = s_[i_++];
    switch (e) {
      case 'a': out.push_back('\a'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'v': out.push_back('\v'); break;
      case '\\': case '\'': case '"': case '`': case '?': out.push_back(e); break;
      case 'x': case 'X': case 'u': case 'U': {
        int n = (e == 'x' || e == 'X') ? 2 : (e == 'u' ? 4 : 8);
        if (bytes && (e == 'u' || e == 'U')) return Error(esc_pos, "\\u escape in bytes literal");
        if (i_ + n > s_.size()) return Error(esc_pos, "short escape sequence");
        uint32_t cp = 0;
        for (int k = 0; k < n; ++k) {
          char h = s_[i_ + k];
          if (!std::isxdigit(static_cast<unsigned char>(h))) return Error(esc_pos, "bad hex escape");
          cp = cp * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
        }
        i_ += n;
        if (bytes) {
          out.push_back(static_cast<char>(cp));
        } else {
          if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return Error(esc_pos, "invalid code point in escape");
          AppendUtf8(&out, cp);
        }
        break;
      }
      case '0': case '1': case '2': case '3': {
        if (i_ + 2 > s_.size()) return Error(esc_pos, "short octal escape");
        uint32_t v = static_cast<uint32_t>(e - '0');
        for (int k = 0; k < 2; ++k) {
          char o = s_[i_ + k];
          if (o < '0' || o > '7') return Error(esc_pos, "bad octal escape");
          v = v * 8 + static_cast<uint32_t>(o - '0');
        }
        i_ += 2;
        if (bytes) {
          out.push_back(static_cast<char>(v));
        } else {
          AppendUtf8(&out, v);
        }
        break;
      }
      default:
        return Error(esc_pos, std::string("invalid escape '\\") + e + "'");
    }
  }
  t->kind = bytes ? Tok::kBytes : Tok::kString;
  t->text = std::move(out);
  return OkStatus();
}

Result<std::shared_ptr<const std::regex>> CompileRegex(const std::string& pattern) {
  // RE2 and ECMAScript agree on the common subset. Translate the RE2-only
  // spellings we can and refuse the rest rather than match differently.
  std::string out;
  auto flags = std::regex::ECMAScript;
  size_t i = 0;
  if (pattern.rfind("(?i)", 0) == 0) {
    flags |= std::regex::icase;
    i = 4;
  }
  bool in_class = false;
  for (; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      char e = pattern[i + 1];
      if (e >= '1' && e <= '9' && !in_class) return InvalidArgumentError("regex \"" + pattern + "\": backreferences are not supported by RE2");
      if (e == 'p' || e == 'P') return InvalidArgumentError("regex \"" + pattern + "\": unsupported construct \\p (Unicode classes)");
      if (e == 'Q' || e == 'E') return InvalidArgumentError("regex \"" + pattern + "\": unsupported construct \\Q...\\E");
      if (e == 'C') return InvalidArgumentError("regex \"" + pattern + "\": unsupported construct \\C");
      if (e == 'A' && !in_class) { out += '^'; ++i; continue; }
      if (e == 'z' && !in_class) { out += '$'; ++i; continue; }
      out += c;
      out += e;
      ++i;
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      out += c;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out += c;
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') { out += '^'; ++i; }
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') { out += "\\]"; ++i; }
      continue;
    }
    if (c == '(' && i + 1 < pattern.size() && pattern[i + 1] == '?') {
      std::string_view rest(pattern.data() + i + 2, pattern.size() - i - 2);
      if (rest.rfind(":", 0) == 0) {
        out += "(?:";
        i += 2;
        continue;
      }
      if (rest.rfind("P<", 0) == 0 || rest.rfind("<", 0) == 0) {
        size_t close = pattern.find('>', i);
        if (close == std::string::npos || rest.rfind("<=", 0) == 0 || rest.rfind("<!", 0) == 0) {
          return InvalidArgumentError("regex \"" + pattern + "\": lookbehind is not supported by RE2");
        }
        out += '(';
        i = close;
        continue;
      }
      if (rest.rfind("=", 0) == 0 || rest.rfind("!", 0) == 0) {
        return InvalidArgumentError("regex \"" + pattern + "\": lookahead is not supported by RE2");
      }
      return InvalidArgumentError("regex \"" + pattern + "\": unsupported group flags '(?" +
                                  std::string(rest.substr(0, 2)) + "'");
    }
    out += c;
  }
  try {
    return std::make_shared<const std::regex>(out, flags);
  } catch (const std::regex_error& e) {
    return InvalidArgumentError("regex \"" + pattern + "\": " + e.what());
  }
}

}  // namespace drahil::allocator::cel::internal
