// CEL lexer for DRA selectors (tokens as in github.com/google/cel-spec,
// langdef.md), and the translation of RE2 patterns to std::regex.
#include "cel_lex.hpp"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>
#include <string_view>

namespace drahil::allocator::cel::internal {
namespace {

const char* const kReserved[] = {"as",        "break",  "const",  "continue", "else", "for",
                                 "function",  "if",     "import", "let",      "loop", "package",
                                 "namespace", "return", "var",    "void",     "while"};

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

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

// SimpleEscape(): the character a one-letter escape (\n, \", ...) stands
// for; 0 for any other escape.
char SimpleEscape(char e) {
  switch (e) {
    case 'a':
      return '\a';
    case 'b':
      return '\b';
    case 'f':
      return '\f';
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 't':
      return '\t';
    case 'v':
      return '\v';
    case '\\':
    case '\'':
    case '"':
    case '`':
    case '?':
      return e;
    default:
      return 0;
  }
}

// HexDigitValue(): 0..15 for a hex digit.
uint32_t HexDigitValue(char h) {
  bool digit = std::isdigit(static_cast<unsigned char>(h));
  return static_cast<uint32_t>(digit ? h - '0' : (std::tolower(h) - 'a' + 10));
}

// RegexTranslator: an RE2 pattern in ECMAScript (std::regex) syntax. RE2 and
// ECMAScript agree on the common subset; the RE2-only spellings that can be
// translated are, the rest is refused rather than matched differently.
class RegexTranslator {
 public:
  explicit RegexTranslator(const std::string& pattern) : p_(pattern) {}

  // Translate(): the pattern from byte offset `start` on.
  Result<std::string> Translate(size_t start) {
    for (i_ = start; i_ < p_.size(); ++i_) DRAHIL_RETURN_IF_ERROR(Step());
    return out_;
  }

  // Error(): InvalidArgument naming the pattern.
  Status Error(const std::string& what) const {
    return InvalidArgumentError("regex \"" + p_ + "\": " + what);
  }

 private:
  // Step(): translates the construct at i_, leaving i_ on its last byte.
  Status Step() {
    char c = p_[i_];
    if (c == '\\' && i_ + 1 < p_.size()) return Escape();
    if (in_class_) {
      if (c == ']') in_class_ = false;
      out_ += c;
      return OkStatus();
    }
    if (c == '[') {
      OpenClass();
      return OkStatus();
    }
    if (c == '(' && NextIs('?')) return Group();
    out_ += c;
    return OkStatus();
  }

  bool NextIs(char c) const { return i_ + 1 < p_.size() && p_[i_ + 1] == c; }

  Status Escape() {
    char e = p_[i_ + 1];
    if (e >= '1' && e <= '9' && !in_class_) return Error("backreferences are not supported by RE2");
    if (e == 'p' || e == 'P') return Error("unsupported construct \\p (Unicode classes)");
    if (e == 'Q' || e == 'E') return Error("unsupported construct \\Q...\\E");
    if (e == 'C') return Error("unsupported construct \\C");
    ++i_;
    if (e == 'A' && !in_class_) {
      out_ += '^';
    } else if (e == 'z' && !in_class_) {
      out_ += '$';
    } else {
      out_ += '\\';
      out_ += e;
    }
    return OkStatus();
  }

  // OpenClass(): "[", keeping a leading "^" and a literal leading "]".
  void OpenClass() {
    in_class_ = true;
    out_ += '[';
    if (NextIs('^')) {
      out_ += '^';
      ++i_;
    }
    if (NextIs(']')) {
      out_ += "\\]";
      ++i_;
    }
  }

  // Group(): "(?" groups: non-capturing and named groups translate; flags
  // and lookaround do not.
  Status Group() {
    std::string_view rest(p_.data() + i_ + 2, p_.size() - i_ - 2);
    if (rest.rfind(":", 0) == 0) {
      out_ += "(?:";
      i_ += 2;
      return OkStatus();
    }
    if (rest.rfind("P<", 0) == 0 || rest.rfind("<", 0) == 0) {
      size_t close = p_.find('>', i_);
      if (close == std::string::npos || rest.rfind("<=", 0) == 0 || rest.rfind("<!", 0) == 0) {
        return Error("lookbehind is not supported by RE2");
      }
      out_ += '(';
      i_ = close;
      return OkStatus();
    }
    if (rest.rfind("=", 0) == 0 || rest.rfind("!", 0) == 0) {
      return Error("lookahead is not supported by RE2");
    }
    return Error("unsupported group flags '(?" + std::string(rest.substr(0, 2)) + "'");
  }

  const std::string& p_;
  size_t i_ = 0;
  bool in_class_ = false;
  std::string out_;
};

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
  static const char* const kPuncts[] = {"&&", "||", "<=", ">=", "==", "!=", "(", ")",
                                        "[",  "]",  "{",  "}",  ".",  ",",  "?", ":",
                                        "!",  "-",  "+",  "*",  "/",  "%",  "<", ">"};
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
    if (ConsumeClosingQuote(q, triple)) break;
    char c = s_[i_];
    if (!triple && (c == '\n' || c == '\r')) return Error(t->pos, "newline in string literal");
    if (c != '\\' || raw) {
      out.push_back(c);
      ++i_;
      continue;
    }
    DRAHIL_RETURN_IF_ERROR(LexEscape(bytes, &out));
  }
  t->kind = bytes ? Tok::kBytes : Tok::kString;
  t->text = std::move(out);
  return OkStatus();
}

bool Lexer::ConsumeClosingQuote(char q, bool triple) {
  if (triple) {
    if (s_.substr(i_, 3) != std::string(3, q)) return false;
    i_ += 3;
    return true;
  }
  if (s_[i_] != q) return false;
  ++i_;
  return true;
}

Status Lexer::LexEscape(bool bytes, std::string* out) {
  int esc_pos = static_cast<int>(i_);
  if (++i_ >= s_.size()) return Error(esc_pos, "unterminated escape");
  char e = s_[i_++];
  if (char c = SimpleEscape(e); c != 0) {
    out->push_back(c);
    return OkStatus();
  }
  switch (e) {
    case 'x':
    case 'X':
    case 'u':
    case 'U':
      return LexHexEscape(e, esc_pos, bytes, out);
    case '0':
    case '1':
    case '2':
    case '3':
      return LexOctalEscape(e, esc_pos, bytes, out);
    default:
      return Error(esc_pos, std::string("invalid escape '\\") + e + "'");
  }
}

Status Lexer::LexHexEscape(char e, int esc_pos, bool bytes, std::string* out) {
  int n = (e == 'x' || e == 'X') ? 2 : (e == 'u' ? 4 : 8);
  if (bytes && (e == 'u' || e == 'U')) return Error(esc_pos, "\\u escape in bytes literal");
  if (i_ + n > s_.size()) return Error(esc_pos, "short escape sequence");
  uint32_t cp = 0;
  for (int k = 0; k < n; ++k) {
    char h = s_[i_ + k];
    if (!std::isxdigit(static_cast<unsigned char>(h))) return Error(esc_pos, "bad hex escape");
    cp = cp * 16 + HexDigitValue(h);
  }
  i_ += n;
  if (bytes) {
    out->push_back(static_cast<char>(cp));
    return OkStatus();
  }
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return Error(esc_pos, "invalid code point in escape");
  AppendUtf8(out, cp);
  return OkStatus();
}

Status Lexer::LexOctalEscape(char e, int esc_pos, bool bytes, std::string* out) {
  if (i_ + 2 > s_.size()) return Error(esc_pos, "short octal escape");
  uint32_t v = static_cast<uint32_t>(e - '0');
  for (int k = 0; k < 2; ++k) {
    char o = s_[i_ + k];
    if (o < '0' || o > '7') return Error(esc_pos, "bad octal escape");
    v = v * 8 + static_cast<uint32_t>(o - '0');
  }
  i_ += 2;
  if (bytes) {
    out->push_back(static_cast<char>(v));
  } else {
    AppendUtf8(out, v);
  }
  return OkStatus();
}

Result<std::shared_ptr<const std::regex>> CompileRegex(const std::string& pattern) {
  auto flags = std::regex::ECMAScript;
  size_t start = 0;
  if (pattern.rfind("(?i)", 0) == 0) {
    flags |= std::regex::icase;
    start = 4;
  }
  RegexTranslator translator(pattern);
  DRAHIL_ASSIGN_OR_RETURN(std::string out, translator.Translate(start));
  try {
    return std::make_shared<const std::regex>(out, flags);
  } catch (const std::regex_error& e) {
    return translator.Error(e.what());
  }
}

}  // namespace drahil::allocator::cel::internal
