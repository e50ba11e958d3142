// File: cel_lex.hpp (private to the allocator module)
//
// The CEL lexer (cel_lex.cpp) the parser reads tokens from, and source
// positions for messages.
#ifndef DRAHIL_ALLOCATOR_CEL_LEX_HPP_INCLUDED
#define DRAHIL_ALLOCATOR_CEL_LEX_HPP_INCLUDED

#include <cstdint>
#include <string>
#include <string_view>

#include "cel_internal.hpp"

namespace drahil::allocator::cel::internal {

// Where(): "line:column" (1-based) of byte offset `pos` in `text`.
std::string Where(std::string_view text, int pos);

enum class Tok : uint8_t { kEof, kInt, kUint, kDouble, kString, kBytes, kIdent, kPunct };

struct Token {
  Tok kind = Tok::kEof;
  int pos = 0;
  std::string text;  // identifier, punctuation, or decoded string/bytes
  uint64_t u = 0;    // kInt magnitude / kUint value
  double d = 0;
};

// Lexer: CEL tokens of one expression, in order; reserved identifiers and
// malformed literals are errors.
class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  // Next(): the next token into *t (kEof at the end); InvalidArgument with
  // the position for a lexical error.
  Status Next(Token* t);
  // Error(): InvalidArgument "line:col: what" for byte offset `pos`.
  Status Error(int pos, const std::string& what) const;

 private:
  void SkipSpace();
  Status LexNumber(Token* t);
  Status FinishInt(Token* t, uint64_t v);
  Status LexString(Token* t, bool raw, bool bytes);
  // ConsumeClosingQuote(): steps over the literal's closing quote(s) when
  // they come next.
  bool ConsumeClosingQuote(char q, bool triple);
  // LexEscape() and the two below: the escape at the backslash at i_,
  // decoded onto *out (bytes literals take raw bytes, strings UTF-8).
  Status LexEscape(bool bytes, std::string* out);
  Status LexHexEscape(char e, int esc_pos, bool bytes, std::string* out);
  Status LexOctalEscape(char e, int esc_pos, bool bytes, std::string* out);

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace drahil::allocator::cel::internal

#endif  // DRAHIL_ALLOCATOR_CEL_LEX_HPP_INCLUDED
