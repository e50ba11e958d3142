// CEL lexer, parser, macro expansion and type checker for DRA selectors.
//
// The grammar is CEL's (github.com/google/cel-spec, langdef.md):
//   Expr     = Or ["?" Or ":" Expr]
//   Or       = And {"||" And}          And = Rel {"&&" Rel}
//   Rel      = Add {("<"|"<="|">"|">="|"=="|"!="|"in") Add}
//   Add      = Mul {("+"|"-") Mul}     Mul = Unary {("*"|"/"|"%") Unary}
//   Unary    = Member | "!" Unary | "-" Unary
//   Member   = Primary {"." IDENT ["(" args ")"] | ".?" IDENT | "[" Expr "]" | "[?" Expr "]"}
//   Primary  = IDENT ["(" args ")"] | "(" Expr ")" | "[" list "]" | "{" map "}" | literal
// Parsing produces an untyped tree; Analyze() then expands macros, binds
// variables to slots, resolves functions and checks types in one pass.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <unordered_map>

#include "cel_internal.hpp"

namespace drahil::allocator::cel::internal {
namespace {

// ---------------------------------------------------------------- positions

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

// ---------------------------------------------------------------- lexer

enum class Tok : uint8_t { kEof, kInt, kUint, kDouble, kString, kBytes, kIdent, kPunct };

struct Token {
  Tok kind = Tok::kEof;
  int pos = 0;
  std::string text;  // identifier, punctuation, or decoded string/bytes
  uint64_t u = 0;    // kInt magnitude / kUint value
  double d = 0;
};

const char* const kReserved[] = {"as",     "break",   "const", "continue", "else",
                                 "for",    "function", "if",   "import",   "let",
                                 "loop",   "package", "namespace", "return", "var",
                                 "void",   "while"};

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  Status Next(Token* t) {
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

  Status Error(int pos, const std::string& what) const {
    return InvalidArgumentError(Where(s_, pos) + ": " + what);
  }

 private:
  static bool IsIdentStart(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  }

  void SkipSpace() {
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

  Status LexNumber(Token* t) {
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

  Status FinishInt(Token* t, uint64_t v) {
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

  static void AppendUtf8(std::string* out, uint32_t cp) {
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

  Status LexString(Token* t, bool raw, bool bytes) {
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

  std::string_view s_;
  size_t i_ = 0;
};

// ---------------------------------------------------------------- parser

using NodePtr = std::unique_ptr<Node>;

NodePtr MakeNode(NodeKind k, int pos) {
  auto n = std::make_unique<Node>();
  n->kind = k;
  n->pos = pos;
  return n;
}

class Parser {
 public:
  Parser(std::string_view text, int max_depth) : lex_(text), max_depth_(max_depth) {}

  Result<NodePtr> Parse() {
    DRAHIL_RETURN_IF_ERROR(Advance());
    NodePtr root;
    DRAHIL_RETURN_IF_ERROR(ParseExpr(&root));
    if (tok_.kind != Tok::kEof) return Err(tok_.pos, "unexpected " + Describe(tok_));
    return root;
  }

 private:
  Status Err(int pos, const std::string& what) const { return lex_.Error(pos, what); }

  static std::string Describe(const Token& t) {
    switch (t.kind) {
      case Tok::kEof: return "end of expression";
      case Tok::kIdent: return "identifier '" + t.text + "'";
      case Tok::kPunct: return "'" + t.text + "'";
      case Tok::kString: return "string literal";
      case Tok::kBytes: return "bytes literal";
      default: return "number";
    }
  }

  Status Advance() {
    if (has_peek_) {
      tok_ = std::move(peek_);
      has_peek_ = false;
      return OkStatus();
    }
    return lex_.Next(&tok_);
  }
  Result<const Token*> Peek() {
    if (!has_peek_) {
      DRAHIL_RETURN_IF_ERROR(lex_.Next(&peek_));
      has_peek_ = true;
    }
    return &peek_;
  }
  bool Is(const char* p) const { return tok_.kind == Tok::kPunct && tok_.text == p; }
  Status Expect(const char* p) {
    if (!Is(p)) return Err(tok_.pos, std::string("expected '") + p + "', found " + Describe(tok_));
    return Advance();
  }

  struct DepthGuard {
    explicit DepthGuard(int* d) : d_(d) { ++*d_; }
    ~DepthGuard() { --*d_; }
    int* d_;
  };
  Status CheckDepth() {
    if (depth_ > max_depth_) return Err(tok_.pos, "expression nested too deeply (limit " + std::to_string(max_depth_) + ")");
    return OkStatus();
  }

  Status ParseExpr(NodePtr* out) {
    DepthGuard g(&depth_);
    DRAHIL_RETURN_IF_ERROR(CheckDepth());
    NodePtr cond;
    DRAHIL_RETURN_IF_ERROR(ParseOr(&cond));
    if (!Is("?")) {
      *out = std::move(cond);
      return OkStatus();
    }
    int pos = tok_.pos;
    DRAHIL_RETURN_IF_ERROR(Advance());
    NodePtr a, b;
    DRAHIL_RETURN_IF_ERROR(ParseOr(&a));
    DRAHIL_RETURN_IF_ERROR(Expect(":"));
    DRAHIL_RETURN_IF_ERROR(ParseExpr(&b));
    auto n = MakeNode(NodeKind::kCond, pos);
    n->args.push_back(std::move(cond));
    n->args.push_back(std::move(a));
    n->args.push_back(std::move(b));
    *out = std::move(n);
    return OkStatus();
  }

  Status ParseOr(NodePtr* out) {
    DRAHIL_RETURN_IF_ERROR(ParseAnd(out));
    while (Is("||")) {
      int pos = tok_.pos;
      DRAHIL_RETURN_IF_ERROR(Advance());
      NodePtr r;
      DRAHIL_RETURN_IF_ERROR(ParseAnd(&r));
      auto n = MakeNode(NodeKind::kOr, pos);
      n->args.push_back(std::move(*out));
      n->args.push_back(std::move(r));
      *out = std::move(n);
    }
    return OkStatus();
  }

  Status ParseAnd(NodePtr* out) {
    DRAHIL_RETURN_IF_ERROR(ParseRel(out));
    while (Is("&&")) {
      int pos = tok_.pos;
      DRAHIL_RETURN_IF_ERROR(Advance());
      NodePtr r;
      DRAHIL_RETURN_IF_ERROR(ParseRel(&r));
      auto n = MakeNode(NodeKind::kAnd, pos);
      n->args.push_back(std::move(*out));
      n->args.push_back(std::move(r));
      *out = std::move(n);
    }
    return OkStatus();
  }

  Status Binary(NodePtr* out, Op op, int pos, NodePtr r) {
    auto n = MakeNode(NodeKind::kBinary, pos);
    n->op = op;
    n->args.push_back(std::move(*out));
    n->args.push_back(std::move(r));
    *out = std::move(n);
    return OkStatus();
  }

  Status ParseRel(NodePtr* out) {
    DRAHIL_RETURN_IF_ERROR(ParseAdd(out));
    for (;;) {
      Op op;
      if (Is("<")) op = Op::kLt;
      else if (Is("<=")) op = Op::kLe;
      else if (Is(">")) op = Op::kGt;
      else if (Is(">=")) op = Op::kGe;
      else if (Is("==")) op = Op::kEq;
      else if (Is("!=")) op = Op::kNe;
      else if (Is("in")) op = Op::kIn;
      else return OkStatus();
      int pos = tok_.pos;
      DRAHIL_RETURN_IF_ERROR(Advance());
      NodePtr r;
      DRAHIL_RETURN_IF_ERROR(ParseAdd(&r));
      DRAHIL_RETURN_IF_ERROR(Binary(out, op, pos, std::move(r)));
    }
  }

  Status ParseAdd(NodePtr* out) {
    DRAHIL_RETURN_IF_ERROR(ParseMul(out));
    while (Is("+") || Is("-")) {
      Op op = Is("+") ? Op::kAdd : Op::kSub;
      int pos = tok_.pos;
      DRAHIL_RETURN_IF_ERROR(Advance());
      NodePtr r;
      DRAHIL_RETURN_IF_ERROR(ParseMul(&r));
      DRAHIL_RETURN_IF_ERROR(Binary(out, op, pos, std::move(r)));
    }
    return OkStatus();
  }

  Status ParseMul(NodePtr* out) {
    DRAHIL_RETURN_IF_ERROR(ParseUnary(out));
    while (Is("*") || Is("/") || Is("%")) {
      Op op = Is("*") ? Op::kMul : (Is("/") ? Op::kDiv : Op::kMod);
      int pos = tok_.pos;
      DRAHIL_RETURN_IF_ERROR(Advance());
      NodePtr r;
      DRAHIL_RETURN_IF_ERROR(ParseUnary(&r));
      DRAHIL_RETURN_IF_ERROR(Binary(out, op, pos, std::move(r)));
    }
    return OkStatus();
  }

  Status ParseUnary(NodePtr* out) {
    DepthGuard g(&depth_);
    DRAHIL_RETURN_IF_ERROR(CheckDepth());
    if (Is("!")) {
      int pos = tok_.pos;
      DRAHIL_RETURN_IF_ERROR(Advance());
      NodePtr x;
      DRAHIL_RETURN_IF_ERROR(ParseUnary(&x));
      auto n = MakeNode(NodeKind::kNot, pos);
      n->args.push_back(std::move(x));
      *out = std::move(n);
      return OkStatus();
    }
    if (Is("-")) {
      int pos = tok_.pos;
      DRAHIL_RETURN_IF_ERROR(Advance());
      // Fold "-<int literal>" so that -9223372036854775808 is representable.
      if (tok_.kind == Tok::kInt || tok_.kind == Tok::kDouble) {
        DRAHIL_ASSIGN_OR_RETURN(const Token* nx, Peek());
        bool member = nx->kind == Tok::kPunct && (nx->text == "." || nx->text == "[");
        if (!member) {
          auto n = MakeNode(NodeKind::kLiteral, pos);
          if (tok_.kind == Tok::kDouble) {
            n->literal = Value::Double(-tok_.d);
          } else {
            if (tok_.u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1) {
              return Err(tok_.pos, "integer literal out of range");
            }
            n->literal = Value::Int(static_cast<int64_t>(0 - tok_.u));
          }
          DRAHIL_RETURN_IF_ERROR(Advance());
          *out = std::move(n);
          return OkStatus();
        }
      }
      NodePtr x;
      DRAHIL_RETURN_IF_ERROR(ParseUnary(&x));
      auto n = MakeNode(NodeKind::kNeg, pos);
      n->args.push_back(std::move(x));
      *out = std::move(n);
      return OkStatus();
    }
    return ParseMember(out);
  }

  Status ParseArgs(std::vector<NodePtr>* args, const char* close) {
    DRAHIL_RETURN_IF_ERROR(Advance());  // the opening bracket
    while (!Is(close)) {
      NodePtr a;
      DRAHIL_RETURN_IF_ERROR(ParseExpr(&a));
      args->push_back(std::move(a));
      if (Is(",")) {
        DRAHIL_RETURN_IF_ERROR(Advance());
        continue;
      }
      if (!Is(close)) return Err(tok_.pos, std::string("expected ',' or '") + close + "', found " + Describe(tok_));
    }
    return Advance();
  }

  Status ParseMember(NodePtr* out) {
    DRAHIL_RETURN_IF_ERROR(ParsePrimary(out));
    for (;;) {
      if (Is(".")) {
        int pos = tok_.pos;
        DRAHIL_RETURN_IF_ERROR(Advance());
        bool opt = false;
        if (Is("?") && tok_.pos == pos + 1) {
          opt = true;
          DRAHIL_RETURN_IF_ERROR(Advance());
        }
        if (tok_.kind != Tok::kIdent) return Err(tok_.pos, "expected field name after '.', found " + Describe(tok_));
        std::string name = tok_.text;
        int name_pos = tok_.pos;
        DRAHIL_RETURN_IF_ERROR(Advance());
        if (!opt && Is("(")) {
          auto n = MakeNode(NodeKind::kCall, name_pos);
          n->name = name;
          n->method = true;
          n->args.push_back(std::move(*out));
          DRAHIL_RETURN_IF_ERROR(ParseArgs(&n->args, ")"));
          *out = std::move(n);
          continue;
        }
        auto n = MakeNode(opt ? NodeKind::kOptSelect : NodeKind::kSelect, name_pos);
        n->name = name;
        n->args.push_back(std::move(*out));
        *out = std::move(n);
        continue;
      }
      if (Is("[")) {
        int pos = tok_.pos;
        DRAHIL_RETURN_IF_ERROR(Advance());
        bool opt = false;
        if (Is("?") && tok_.pos == pos + 1) {
          opt = true;
          DRAHIL_RETURN_IF_ERROR(Advance());
        }
        NodePtr idx;
        DRAHIL_RETURN_IF_ERROR(ParseExpr(&idx));
        DRAHIL_RETURN_IF_ERROR(Expect("]"));
        auto n = MakeNode(opt ? NodeKind::kOptIndex : NodeKind::kIndex, pos);
        n->args.push_back(std::move(*out));
        n->args.push_back(std::move(idx));
        *out = std::move(n);
        continue;
      }
      if (Is("{")) return Err(tok_.pos, "unsupported construct: message construction");
      return OkStatus();
    }
  }

  Status ParsePrimary(NodePtr* out) {
    DepthGuard g(&depth_);
    DRAHIL_RETURN_IF_ERROR(CheckDepth());
    int pos = tok_.pos;
    switch (tok_.kind) {
      case Tok::kEof:
        return Err(pos, "unexpected end of expression");
      case Tok::kInt: {
        if (tok_.u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          return Err(pos, "integer literal out of range");
        }
        auto n = MakeNode(NodeKind::kLiteral, pos);
        n->literal = Value::Int(static_cast<int64_t>(tok_.u));
        *out = std::move(n);
        return Advance();
      }
      case Tok::kUint: {
        auto n = MakeNode(NodeKind::kLiteral, pos);
        n->literal = Value::Uint(tok_.u);
        *out = std::move(n);
        return Advance();
      }
      case Tok::kDouble: {
        auto n = MakeNode(NodeKind::kLiteral, pos);
        n->literal = Value::Double(tok_.d);
        *out = std::move(n);
        return Advance();
      }
      case Tok::kString:
      case Tok::kBytes: {
        auto n = MakeNode(NodeKind::kLiteral, pos);
        n->literal = tok_.kind == Tok::kString ? Value::String(tok_.text) : Value::Bytes(tok_.text);
        *out = std::move(n);
        return Advance();
      }
      case Tok::kIdent: {
        std::string name = tok_.text;
        DRAHIL_RETURN_IF_ERROR(Advance());
        if (name == "true" || name == "false" || name == "null") {
          auto n = MakeNode(NodeKind::kLiteral, pos);
          if (name != "null") n->literal = Value::Bool(name == "true");
          *out = std::move(n);
          return OkStatus();
        }
        if (Is("(")) {
          auto n = MakeNode(NodeKind::kCall, pos);
          n->name = name;
          DRAHIL_RETURN_IF_ERROR(ParseArgs(&n->args, ")"));
          *out = std::move(n);
          return OkStatus();
        }
        auto n = MakeNode(NodeKind::kVar, pos);
        n->name = name;
        n->slot = -1;
        *out = std::move(n);
        return OkStatus();
      }
      case Tok::kPunct:
        break;
    }
    if (Is("(")) {
      DRAHIL_RETURN_IF_ERROR(Advance());
      DRAHIL_RETURN_IF_ERROR(ParseExpr(out));
      return Expect(")");
    }
    if (Is("[")) {
      auto n = MakeNode(NodeKind::kList, pos);
      DRAHIL_RETURN_IF_ERROR(ParseArgs(&n->args, "]"));
      *out = std::move(n);
      return OkStatus();
    }
    if (Is("{")) {
      auto n = MakeNode(NodeKind::kMap, pos);
      DRAHIL_RETURN_IF_ERROR(Advance());
      while (!Is("}")) {
        if (Is("?")) return Err(tok_.pos, "unsupported construct: optional map entry");
        NodePtr k, v;
        DRAHIL_RETURN_IF_ERROR(ParseExpr(&k));
        DRAHIL_RETURN_IF_ERROR(Expect(":"));
        DRAHIL_RETURN_IF_ERROR(ParseExpr(&v));
        n->args.push_back(std::move(k));
        n->args.push_back(std::move(v));
        if (Is(",")) {
          DRAHIL_RETURN_IF_ERROR(Advance());
          continue;
        }
        if (!Is("}")) return Err(tok_.pos, "expected ',' or '}', found " + Describe(tok_));
      }
      DRAHIL_RETURN_IF_ERROR(Advance());
      *out = std::move(n);
      return OkStatus();
    }
    if (Is(".")) return Err(pos, "unsupported construct: leading '.' (qualified root identifier)");
    return Err(pos, "unexpected " + Describe(tok_));
  }

  Lexer lex_;
  Token tok_;
  Token peek_;
  bool has_peek_ = false;
  int depth_ = 0;
  int max_depth_;
};

// ---------------------------------------------------------------- types

using TypePtr = std::shared_ptr<const Type>;

TypePtr T(TypeKind k, TypePtr a = nullptr, TypePtr b = nullptr) {
  auto t = std::make_shared<Type>();
  t->kind = k;
  t->a = std::move(a);
  t->b = std::move(b);
  return t;
}

std::string TypeName(const TypePtr& t) {
  switch (t->kind) {
    case TypeKind::kDyn: return "dyn";
    case TypeKind::kNull: return "null_type";
    case TypeKind::kBool: return "bool";
    case TypeKind::kInt: return "int";
    case TypeKind::kUint: return "uint";
    case TypeKind::kDouble: return "double";
    case TypeKind::kString: return "string";
    case TypeKind::kBytes: return "bytes";
    case TypeKind::kList: return "list(" + TypeName(t->a) + ")";
    case TypeKind::kMap: return "map(" + TypeName(t->a) + ", " + TypeName(t->b) + ")";
    case TypeKind::kQuantity: return "kubernetes.Quantity";
    case TypeKind::kSemver: return "kubernetes.Semver";
    case TypeKind::kOptional: return "optional_type(" + TypeName(t->a) + ")";
    case TypeKind::kDevice: return "kubernetes.DRADevice";
  }
  return "?";
}

bool IsDyn(const TypePtr& t) { return t->kind == TypeKind::kDyn; }
bool IsNumeric(TypeKind k) { return k == TypeKind::kInt || k == TypeKind::kUint || k == TypeKind::kDouble; }
// Accepts(): may a value of type `have` be passed where `want` is expected?
bool Accepts(TypeKind want, const TypePtr& have) { return have->kind == TypeKind::kDyn || have->kind == want; }

TypePtr LiteralType(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNull: return T(TypeKind::kNull);
    case Value::Kind::kBool: return T(TypeKind::kBool);
    case Value::Kind::kInt: return T(TypeKind::kInt);
    case Value::Kind::kUint: return T(TypeKind::kUint);
    case Value::Kind::kDouble: return T(TypeKind::kDouble);
    case Value::Kind::kString: return T(TypeKind::kString);
    case Value::Kind::kBytes: return T(TypeKind::kBytes);
    default: return T(TypeKind::kDyn);
  }
}

// Join(): the common type of list elements / conditional branches.
TypePtr Join(const TypePtr& a, const TypePtr& b) {
  if (a->kind == b->kind && a->kind != TypeKind::kList && a->kind != TypeKind::kMap &&
      a->kind != TypeKind::kOptional) {
    return a;
  }
  if (a->kind == b->kind && TypeName(a) == TypeName(b)) return a;
  return T(TypeKind::kDyn);
}

// ---------------------------------------------------------------- analysis

struct FnSpec {
  const char* name;
  bool method;
  int nargs;  // excluding the receiver; -1 = 1 or 2
  Fn fn;
};

const FnSpec kFunctions[] = {
    {"size", false, 1, Fn::kSize},          {"size", true, 0, Fn::kSize},
    {"contains", true, 1, Fn::kContains},   {"startsWith", true, 1, Fn::kStartsWith},
    {"endsWith", true, 1, Fn::kEndsWith},   {"matches", true, 1, Fn::kMatches},
    {"matches", false, 2, Fn::kMatches},    {"lowerAscii", true, 0, Fn::kLowerAscii},
    {"upperAscii", true, 0, Fn::kUpperAscii}, {"trim", true, 0, Fn::kTrim},
    {"int", false, 1, Fn::kToInt},          {"uint", false, 1, Fn::kToUint},
    {"double", false, 1, Fn::kToDouble},    {"string", false, 1, Fn::kToString},
    {"bytes", false, 1, Fn::kToBytes},      {"bool", false, 1, Fn::kToBool},
    {"dyn", false, 1, Fn::kDyn},            {"quantity", false, 1, Fn::kQuantity},
    {"isQuantity", false, 1, Fn::kIsQuantity}, {"semver", false, -1, Fn::kSemver},
    {"isSemver", false, -1, Fn::kIsSemver}, {"compareTo", true, 1, Fn::kCompareTo},
    {"isGreaterThan", true, 1, Fn::kIsGreaterThan}, {"isLessThan", true, 1, Fn::kIsLessThan},
    {"add", true, 1, Fn::kAdd},             {"sub", true, 1, Fn::kSub},
    {"asInteger", true, 0, Fn::kAsInteger}, {"asApproximateFloat", true, 0, Fn::kAsApproximateFloat},
    {"isInteger", true, 0, Fn::kIsInteger}, {"sign", true, 0, Fn::kSign},
    {"major", true, 0, Fn::kMajor},         {"minor", true, 0, Fn::kMinor},
    {"patch", true, 0, Fn::kPatch},         {"orValue", true, 1, Fn::kOrValue},
    {"hasValue", true, 0, Fn::kHasValue},   {"value", true, 0, Fn::kValue},
};

class Analyzer {
 public:
  Analyzer(std::string_view text, ProgramData* prog) : text_(text), prog_(prog) {}

  Result<TypePtr> Analyze(Node& n) {
    switch (n.kind) {
      case NodeKind::kLiteral:
        return LiteralType(n.literal);
      case NodeKind::kVar:
        return AnalyzeVar(n);
      case NodeKind::kSelect:
      case NodeKind::kOptSelect:
        return AnalyzeSelect(n);
      case NodeKind::kIndex:
      case NodeKind::kOptIndex:
        return AnalyzeIndex(n);
      case NodeKind::kCall:
        return AnalyzeCall(n);
      case NodeKind::kList: {
        TypePtr elem;
        for (auto& a : n.args) {
          DRAHIL_ASSIGN_OR_RETURN(TypePtr t, Analyze(*a));
          elem = elem ? Join(elem, t) : t;
        }
        return T(TypeKind::kList, elem ? elem : T(TypeKind::kDyn));
      }
      case NodeKind::kMap: {
        TypePtr k, v;
        for (size_t i = 0; i < n.args.size(); i += 2) {
          DRAHIL_ASSIGN_OR_RETURN(TypePtr kt, Analyze(*n.args[i]));
          DRAHIL_ASSIGN_OR_RETURN(TypePtr vt, Analyze(*n.args[i + 1]));
          if (!(IsDyn(kt) || kt->kind == TypeKind::kString || kt->kind == TypeKind::kInt ||
                kt->kind == TypeKind::kUint || kt->kind == TypeKind::kBool)) {
            return Err(n.args[i]->pos, "unsupported map key type '" + TypeName(kt) + "'");
          }
          k = k ? Join(k, kt) : kt;
          v = v ? Join(v, vt) : vt;
        }
        return T(TypeKind::kMap, k ? k : T(TypeKind::kDyn), v ? v : T(TypeKind::kDyn));
      }
      case NodeKind::kAnd:
      case NodeKind::kOr:
      case NodeKind::kNot: {
        for (auto& a : n.args) {
          DRAHIL_ASSIGN_OR_RETURN(TypePtr t, Analyze(*a));
          if (!Accepts(TypeKind::kBool, t)) {
            const char* op = n.kind == NodeKind::kAnd ? "_&&_" : (n.kind == NodeKind::kOr ? "_||_" : "!_");
            return Err(a->pos, std::string("found no matching overload for '") + op + "' applied to '" + TypeName(t) + "'");
          }
        }
        return T(TypeKind::kBool);
      }
      case NodeKind::kNeg: {
        DRAHIL_ASSIGN_OR_RETURN(TypePtr t, Analyze(*n.args[0]));
        if (!(IsDyn(t) || t->kind == TypeKind::kInt || t->kind == TypeKind::kDouble)) {
          return Err(n.pos, "found no matching overload for '-_' applied to '" + TypeName(t) + "'");
        }
        return t;
      }
      case NodeKind::kCond: {
        DRAHIL_ASSIGN_OR_RETURN(TypePtr c, Analyze(*n.args[0]));
        if (!Accepts(TypeKind::kBool, c)) {
          return Err(n.args[0]->pos, "conditional requires a bool condition, got '" + TypeName(c) + "'");
        }
        DRAHIL_ASSIGN_OR_RETURN(TypePtr a, Analyze(*n.args[1]));
        DRAHIL_ASSIGN_OR_RETURN(TypePtr b, Analyze(*n.args[2]));
        return Join(a, b);
      }
      case NodeKind::kBinary:
        return AnalyzeBinary(n);
      case NodeKind::kHas:
      case NodeKind::kComprehension:
      case NodeKind::kBind:
        break;  // produced only by analysis itself
    }
    return Err(n.pos, "internal: unexpected node");
  }

 private:
  Status Err(int pos, const std::string& what) const {
    return InvalidArgumentError(Where(text_, pos) + ": " + what);
  }

  int NewSlot(const std::string& name, TypePtr t) {
    int slot = prog_->slots++;
    scopes_.push_back({name, slot});
    slot_types_.resize(prog_->slots);
    slot_types_[slot] = std::move(t);
    return slot;
  }

  Result<TypePtr> AnalyzeVar(Node& n) {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      if (it->first == n.name) {
        n.slot = it->second;
        return slot_types_[n.slot];
      }
    }
    if (n.name == "device") {
      n.slot = 0;
      return T(TypeKind::kDevice);
    }
    return Err(n.pos, "undeclared reference to '" + n.name + "'");
  }

  static TypePtr AttributesType() {
    return T(TypeKind::kMap, T(TypeKind::kString),
             T(TypeKind::kMap, T(TypeKind::kString), T(TypeKind::kDyn)));
  }
  static TypePtr CapacityType() {
    return T(TypeKind::kMap, T(TypeKind::kString),
             T(TypeKind::kMap, T(TypeKind::kString), T(TypeKind::kQuantity)));
  }

  Result<TypePtr> FieldType(const Node& n, const TypePtr& operand) {
    switch (operand->kind) {
      case TypeKind::kDevice:
        if (n.name == "driver") return T(TypeKind::kString);
        if (n.name == "attributes") return AttributesType();
        if (n.name == "capacity") return CapacityType();
        if (n.name == "allowMultipleAllocations") return T(TypeKind::kBool);
        return Err(n.pos, "undefined field '" + n.name + "' of kubernetes.DRADevice");
      case TypeKind::kMap:
        if (!(IsDyn(operand->a) || operand->a->kind == TypeKind::kString)) {
          return Err(n.pos, "field selection on map with '" + TypeName(operand->a) + "' keys");
        }
        return operand->b;
      case TypeKind::kDyn:
        return T(TypeKind::kDyn);
      default:
        return Err(n.pos, "type '" + TypeName(operand) + "' does not support field selection");
    }
  }

  Result<TypePtr> AnalyzeSelect(Node& n) {
    DRAHIL_ASSIGN_OR_RETURN(TypePtr operand, Analyze(*n.args[0]));
    bool through_optional = operand->kind == TypeKind::kOptional;
    if (through_optional) operand = operand->a;
    DRAHIL_ASSIGN_OR_RETURN(TypePtr ft, FieldType(n, operand));
    if (n.kind == NodeKind::kOptSelect || through_optional) return T(TypeKind::kOptional, ft);
    return ft;
  }

  Result<TypePtr> AnalyzeIndex(Node& n) {
    DRAHIL_ASSIGN_OR_RETURN(TypePtr operand, Analyze(*n.args[0]));
    DRAHIL_ASSIGN_OR_RETURN(TypePtr idx, Analyze(*n.args[1]));
    bool through_optional = operand->kind == TypeKind::kOptional;
    if (through_optional) operand = operand->a;
    TypePtr result;
    switch (operand->kind) {
      case TypeKind::kList:
        if (!(IsDyn(idx) || idx->kind == TypeKind::kInt || idx->kind == TypeKind::kUint)) {
          return Err(n.args[1]->pos, "list index must be int, got '" + TypeName(idx) + "'");
        }
        result = operand->a;
        break;
      case TypeKind::kMap:
        if (!IsDyn(idx) && !IsDyn(operand->a) && idx->kind != operand->a->kind &&
            !(IsNumeric(idx->kind) && IsNumeric(operand->a->kind))) {
          return Err(n.args[1]->pos, "map key must be '" + TypeName(operand->a) + "', got '" + TypeName(idx) + "'");
        }
        result = operand->b;
        break;
      case TypeKind::kDyn:
        result = T(TypeKind::kDyn);
        break;
      default:
        return Err(n.pos, "type '" + TypeName(operand) + "' does not support indexing");
    }
    if (n.kind == NodeKind::kOptIndex || through_optional) return T(TypeKind::kOptional, result);
    return result;
  }

  Result<TypePtr> AnalyzeBinary(Node& n) {
    DRAHIL_ASSIGN_OR_RETURN(TypePtr a, Analyze(*n.args[0]));
    DRAHIL_ASSIGN_OR_RETURN(TypePtr b, Analyze(*n.args[1]));
    static const char* const kOpNames[] = {"_+_", "_-_", "_*_", "_/_", "_%_", "_<_",
                                           "_<=_", "_>_", "_>=_", "_==_", "_!=_", "@in"};
    auto no_overload = [&]() {
      return Err(n.pos, std::string("found no matching overload for '") + kOpNames[static_cast<int>(n.op)] +
                            "' applied to '(" + TypeName(a) + ", " + TypeName(b) + ")'");
    };
    bool dyn = IsDyn(a) || IsDyn(b);
    switch (n.op) {
      case Op::kAdd:
        if (dyn) return IsDyn(a) ? b : a;
        if (a->kind == b->kind && (IsNumeric(a->kind) || a->kind == TypeKind::kString ||
                                   a->kind == TypeKind::kBytes)) {
          return a;
        }
        if (a->kind == TypeKind::kList && b->kind == TypeKind::kList) return Join(a, b);
        return no_overload();
      case Op::kSub:
      case Op::kMul:
      case Op::kDiv:
        if (dyn) return IsDyn(a) ? b : a;
        if (a->kind == b->kind && IsNumeric(a->kind)) return a;
        return no_overload();
      case Op::kMod:
        if (dyn) return IsDyn(a) ? b : a;
        if (a->kind == b->kind && (a->kind == TypeKind::kInt || a->kind == TypeKind::kUint)) return a;
        return no_overload();
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe: {
        auto orderable = [](TypeKind k) {
          return IsNumeric(k) || k == TypeKind::kString || k == TypeKind::kBytes || k == TypeKind::kBool;
        };
        if (dyn && (IsDyn(a) || orderable(a->kind)) && (IsDyn(b) || orderable(b->kind))) {
          return T(TypeKind::kBool);
        }
        // Kubernetes enables cross-type numeric comparisons (CEL 1.28 env).
        if (IsNumeric(a->kind) && IsNumeric(b->kind)) return T(TypeKind::kBool);
        if (a->kind == b->kind && orderable(a->kind)) return T(TypeKind::kBool);
        return no_overload();
      }
      case Op::kEq:
      case Op::kNe:
        if (dyn || a->kind == TypeKind::kNull || b->kind == TypeKind::kNull) return T(TypeKind::kBool);
        if (IsNumeric(a->kind) && IsNumeric(b->kind)) return T(TypeKind::kBool);
        if (a->kind == b->kind) return T(TypeKind::kBool);
        return no_overload();
      case Op::kIn:
        if (IsDyn(b)) return T(TypeKind::kBool);
        if (b->kind == TypeKind::kList || b->kind == TypeKind::kMap) return T(TypeKind::kBool);
        return no_overload();
    }
    return no_overload();
  }

  Result<TypePtr> AnalyzeCall(Node& n) {
    // Macros first: they are recognised by name and shape, as cel-go does.
    if (!n.method && n.name == "has") return AnalyzeHas(n);
    if (n.method && (n.name == "all" || n.name == "exists" || n.name == "exists_one" ||
                     n.name == "map" || n.name == "filter")) {
      return AnalyzeComprehension(n);
    }
    if (n.method && n.args[0]->kind == NodeKind::kVar && n.args[0]->slot == -1 &&
        !InScope(n.args[0]->name)) {
      const std::string& ns = n.args[0]->name;
      if (ns == "cel" && n.name == "bind") return AnalyzeBind(n);
      if (ns == "optional" && (n.name == "of" || n.name == "none")) {
        n.args.erase(n.args.begin());
        n.method = false;
        if (n.name == "none") {
          if (!n.args.empty()) return Err(n.pos, "optional.none() takes no arguments");
          n.fn = Fn::kOptionalNone;
          return T(TypeKind::kOptional, T(TypeKind::kDyn));
        }
        if (n.args.size() != 1) return Err(n.pos, "optional.of() takes one argument");
        DRAHIL_ASSIGN_OR_RETURN(TypePtr t, Analyze(*n.args[0]));
        n.fn = Fn::kOptionalOf;
        return T(TypeKind::kOptional, t);
      }
      if (ns != "device") {
        return Err(n.pos, "unsupported function '" + ns + "." + n.name + "'");
      }
    }
    int nargs = static_cast<int>(n.args.size()) - (n.method ? 1 : 0);
    const FnSpec* spec = nullptr;
    bool name_known = false;
    for (const FnSpec& s : kFunctions) {
      if (n.name != s.name || s.method != n.method) continue;
      name_known = true;
      if (s.nargs == nargs || (s.nargs == -1 && (nargs == 1 || nargs == 2))) {
        spec = &s;
        break;
      }
    }
    if (!spec) {
      std::string what = n.method ? "method" : "function";
      if (name_known) return Err(n.pos, "wrong number of arguments to " + what + " '" + n.name + "'");
      return Err(n.pos, "unsupported " + what + " '" + n.name + "'");
    }
    n.fn = spec->fn;
    std::vector<TypePtr> at;
    for (auto& a : n.args) {
      DRAHIL_ASSIGN_OR_RETURN(TypePtr t, Analyze(*a));
      at.push_back(std::move(t));
    }
    // Unify the global form of matches(s, re) with the method form.
    auto want = [&](size_t i, std::initializer_list<TypeKind> kinds) -> Status {
      if (IsDyn(at[i])) return OkStatus();
      for (TypeKind k : kinds) {
        if (at[i]->kind == k) return OkStatus();
      }
      std::string sig = n.name + "(";
      for (size_t j = 0; j < at.size(); ++j) sig += (j ? ", " : "") + TypeName(at[j]);
      return Err(n.args[i]->pos, "found no matching overload for '" + sig + ")'");
    };
    using K = TypeKind;
    switch (n.fn) {
      case Fn::kSize:
        DRAHIL_RETURN_IF_ERROR(want(0, {K::kString, K::kBytes, K::kList, K::kMap}));
        return T(K::kInt);
      case Fn::kContains:
      case Fn::kStartsWith:
      case Fn::kEndsWith:
      case Fn::kMatches:
        DRAHIL_RETURN_IF_ERROR(want(0, {K::kString}));
        DRAHIL_RETURN_IF_ERROR(want(1, {K::kString}));
        if (n.fn == Fn::kMatches && n.args[1]->kind == NodeKind::kLiteral &&
            n.args[1]->literal.kind == Value::Kind::kString) {
          auto re = CompileRegex(n.args[1]->literal.str());
          if (!re.ok()) return Err(n.args[1]->pos, re.status().message());
          n.regex = *re;
        }
        return T(K::kBool);
      case Fn::kLowerAscii:
      case Fn::kUpperAscii:
      case Fn::kTrim:
        DRAHIL_RETURN_IF_ERROR(want(0, {K::kString}));
        return T(K::kString);
      case Fn::kToInt:
        DRAHIL_RETURN_IF_ERROR(want(0, {K::kInt, K::kUint, K::kDouble, K::kString}));
        return T(K::kInt);
      case Fn::kToUint:
        DRAHIL_RETURN_IF_ERROR(want(0, {K::kInt, K::kUint, K::kDouble, K::kString}));
        return T(K::kUint);
      case Fn::kToDouble:
        DRAHIL_RETURN_IF_ERROR(want(0, {K::kInt, K::kUint, K::kDouble, K::kString}));
        return T(K::kDouble);
      case Fn::kToString:
        DRAHIL_RETURN_IF_ERROR(want(0, {K::kInt, K::kUint, K::kDouble, K::kString, K::kBytes, K::kBool}));
        return T(K::kString);
      case Fn::kToBytes:
        DRAHIL_RETURN_IF_ERROR(want(0, {K::kString, K::kBytes}));
        return T(K::kBytes);
      case Fn::kToBool:
        DRAHIL_RETURN_IF_ERROR(want(0, {K::kString, K::kBool}));
        return T(K::kBool);
      case Fn::kDyn:
        return T(K::kDyn);
      case Fn::kQuantity:
        DRAHIL_RETURN_IF_ERROR(want(0, {K::kString}));
        if (n.args[0]->kind == NodeKind::kLiteral && n.args[0]->literal.kind == Value::Kind::kString) {
          auto q = Quantity::Parse(n.args[0]->literal.str());
          if (!q.ok()) return Err(n.args[0]->pos, "invalid quantity literal: " + q.status().message());
        }
        return T(K::kQuantity);
      case Fn::kIsQuantity:
        DRAHIL_RETURN_IF_ERROR(want(0, {K::kString}));
        return T(K::kBool);
      case Fn::kSemver:
      case Fn::kIsSemver:
        DRAHIL_RETURN_IF_ERROR(want(0, {K::kString}));
        if (at.size() == 2) DRAHIL_RETURN_IF_ERROR(want(1, {K::kBool}));
        if (n.fn == Fn::kSemver && n.args[0]->kind == NodeKind::kLiteral &&
            n.args[0]->literal.kind == Value::Kind::kString &&
            (at.size() == 1 || n.args[1]->kind == NodeKind::kLiteral)) {
          bool normalize = at.size() == 2 && n.args[1]->literal.kind == Value::Kind::kBool && n.args[1]->literal.b;
          auto v = SemVer::Parse(n.args[0]->literal.str(), normalize);
          if (!v.ok()) return Err(n.args[0]->pos, "invalid semver literal: " + v.status().message());
        }
        return T(n.fn == Fn::kSemver ? K::kSemver : K::kBool);
      case Fn::kCompareTo:
      case Fn::kIsGreaterThan:
      case Fn::kIsLessThan:
        DRAHIL_RETURN_IF_ERROR(want(0, {K::kQuantity, K::kSemver}));
        DRAHIL_RETURN_IF_ERROR(want(1, {K::kQuantity, K::kSemver}));
        if (!IsDyn(at[0]) && !IsDyn(at[1]) && at[0]->kind != at[1]->kind) {
          return Err(n.pos, "found no matching overload for '" + n.name + "' applied to '" +
                                TypeName(at[0]) + "." + n.name + "(" + TypeName(at[1]) + ")'");
        }
        return T(n.fn == Fn::kCompareTo ? K::kInt : K::kBool);
      case Fn::kAdd:
      case Fn::kSub:
        DRAHIL_RETURN_IF_ERROR(want(0, {K::kQuantity}));
        DRAHIL_RETURN_IF_ERROR(want(1, {K::kQuantity, K::kInt}));
        return T(K::kQuantity);
      case Fn::kAsInteger:
      case Fn::kSign:
        DRAHIL_RETURN_IF_ERROR(want(0, {K::kQuantity}));
        return T(K::kInt);
      case Fn::kAsApproximateFloat:
        DRAHIL_RETURN_IF_ERROR(want(0, {K::kQuantity}));
        return T(K::kDouble);
      case Fn::kIsInteger:
        DRAHIL_RETURN_IF_ERROR(want(0, {K::kQuantity}));
        return T(K::kBool);
      case Fn::kMajor:
      case Fn::kMinor:
      case Fn::kPatch:
        DRAHIL_RETURN_IF_ERROR(want(0, {K::kSemver}));
        return T(K::kInt);
      case Fn::kOrValue:
      case Fn::kHasValue:
      case Fn::kValue:
        DRAHIL_RETURN_IF_ERROR(want(0, {K::kOptional}));
        if (n.fn == Fn::kHasValue) return T(K::kBool);
        if (IsDyn(at[0])) return T(K::kDyn);
        if (n.fn == Fn::kOrValue) return Join(at[0]->a, at[1]);
        return at[0]->a;
      case Fn::kOptionalOf:
      case Fn::kOptionalNone:
        break;
    }
    return Err(n.pos, "internal: unresolved function");
  }

  bool InScope(const std::string& name) const {
    for (const auto& s : scopes_) {
      if (s.first == name) return true;
    }
    return false;
  }

  Result<TypePtr> AnalyzeHas(Node& n) {
    if (n.args.size() != 1 || n.args[0]->kind != NodeKind::kSelect) {
      return Err(n.pos, "invalid argument to has() macro (want a field selection like has(a.b))");
    }
    NodePtr sel = std::move(n.args[0]);
    n.kind = NodeKind::kHas;
    n.name = sel->name;
    n.args.clear();
    n.args.push_back(std::move(sel->args[0]));
    DRAHIL_ASSIGN_OR_RETURN(TypePtr operand, Analyze(*n.args[0]));
    switch (operand->kind) {
      case TypeKind::kDevice:
        if (n.name != "driver" && n.name != "attributes" && n.name != "capacity" &&
            n.name != "allowMultipleAllocations") {
          return Err(n.pos, "undefined field '" + n.name + "' of kubernetes.DRADevice");
        }
        break;
      case TypeKind::kMap:
      case TypeKind::kDyn:
        break;
      default:
        return Err(n.pos, "has() does not apply to type '" + TypeName(operand) + "'");
    }
    return T(TypeKind::kBool);
  }

  Result<TypePtr> AnalyzeComprehension(Node& n) {
    size_t nargs = n.args.size() - 1;
    if (nargs == 3 && n.name != "map") {
      return Err(n.pos, "unsupported construct: two-variable comprehension '" + n.name + "(k, v, ...)'");
    }
    if (nargs != 2 && !(nargs == 3 && n.name == "map")) {
      return Err(n.pos, "wrong number of arguments to macro '" + n.name + "'");
    }
    if (n.args[1]->kind != NodeKind::kVar || n.args[1]->slot != -1) {
      return Err(n.args[1]->pos, "argument 1 of macro '" + n.name + "' must be a simple name");
    }
    std::string var = n.args[1]->name;
    if (var == "device") return Err(n.args[1]->pos, "iteration variable may not shadow 'device'");
    DRAHIL_ASSIGN_OR_RETURN(TypePtr range, Analyze(*n.args[0]));
    TypePtr elem;
    if (range->kind == TypeKind::kList) {
      elem = range->a;
    } else if (range->kind == TypeKind::kMap) {
      elem = range->a;
    } else if (IsDyn(range)) {
      elem = T(TypeKind::kDyn);
    } else {
      return Err(n.args[0]->pos, "macro '" + n.name + "' needs a list or map, got '" + TypeName(range) + "'");
    }
    if (n.name == "all") n.macro = Macro::kAll;
    else if (n.name == "exists") n.macro = Macro::kExists;
    else if (n.name == "exists_one") n.macro = Macro::kExistsOne;
    else if (n.name == "filter") n.macro = Macro::kFilter;
    else n.macro = nargs == 3 ? Macro::kMapFilter : Macro::kMap;
    n.kind = NodeKind::kComprehension;
    n.slot = NewSlot(var, elem);
    n.args.erase(n.args.begin() + 1);  // drop the variable name node
    TypePtr result;
    for (size_t i = 1; i < n.args.size(); ++i) {
      DRAHIL_ASSIGN_OR_RETURN(TypePtr t, Analyze(*n.args[i]));
      bool is_pred = n.macro != Macro::kMap && !(n.macro == Macro::kMapFilter && i == 2);
      if (is_pred && !Accepts(TypeKind::kBool, t)) {
        return Err(n.args[i]->pos, "predicate of macro '" + n.name + "' must be bool, got '" + TypeName(t) + "'");
      }
      result = t;
    }
    scopes_.pop_back();
    switch (n.macro) {
      case Macro::kAll:
      case Macro::kExists:
      case Macro::kExistsOne:
        return T(TypeKind::kBool);
      case Macro::kMap:
      case Macro::kMapFilter:
        return T(TypeKind::kList, result);
      case Macro::kFilter:
        return T(TypeKind::kList, elem);
    }
    return T(TypeKind::kDyn);
  }

  Result<TypePtr> AnalyzeBind(Node& n) {
    if (n.args.size() != 4) return Err(n.pos, "cel.bind() takes three arguments");
    if (n.args[1]->kind != NodeKind::kVar || n.args[1]->slot != -1) {
      return Err(n.args[1]->pos, "argument 1 of cel.bind() must be a simple name");
    }
    std::string var = n.args[1]->name;
    DRAHIL_ASSIGN_OR_RETURN(TypePtr init, Analyze(*n.args[2]));
    n.kind = NodeKind::kBind;
    NodePtr init_node = std::move(n.args[2]);
    NodePtr body = std::move(n.args[3]);
    n.args.clear();
    n.args.push_back(std::move(init_node));
    n.args.push_back(std::move(body));
    n.slot = NewSlot(var, init);
    DRAHIL_ASSIGN_OR_RETURN(TypePtr t, Analyze(*n.args[1]));
    scopes_.pop_back();
    return t;
  }

  std::string_view text_;
  ProgramData* prog_;
  std::vector<std::pair<std::string, int>> scopes_;
  std::vector<TypePtr> slot_types_{T(TypeKind::kDevice)};
};

// ---------------------------------------------------------------- regex

}  // namespace

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

Result<std::shared_ptr<const ProgramData>> CompileProgram(std::string_view expression,
                                                          const CompileOptions& options) {
  if (expression.size() > kMaxExpressionLength) {
    return InvalidArgumentError("expression is " + std::to_string(expression.size()) +
                                " bytes, longer than the limit of " + std::to_string(kMaxExpressionLength));
  }
  auto prog = std::make_shared<ProgramData>();
  prog->expression = std::string(expression);
  prog->cost_limit = options.cost_limit;
  Parser parser(prog->expression, options.max_depth);
  DRAHIL_ASSIGN_OR_RETURN(prog->root, parser.Parse());
  // Operator and member chains ("1+1+...", "a.b.c...") are parsed in loops
  // but make a deep tree; the checker and evaluator recurse over it, so bound
  // its height (measured without recursion).
  {
    constexpr int kMaxHeight = 250;  // cel-go's default recursion limit
    std::vector<std::pair<const Node*, int>> stack{{prog->root.get(), 1}};
    while (!stack.empty()) {
      auto [n, h] = stack.back();
      stack.pop_back();
      if (h > kMaxHeight) {
        return InvalidArgumentError(Where(prog->expression, n->pos) + ": expression nested too deeply (tree height over " +
                                    std::to_string(kMaxHeight) + ")");
      }
      for (const auto& a : n->args) stack.emplace_back(a.get(), h + 1);
    }
  }
  Analyzer analyzer(prog->expression, prog.get());
  DRAHIL_ASSIGN_OR_RETURN(TypePtr t, analyzer.Analyze(*prog->root));
  if (t->kind != TypeKind::kBool && t->kind != TypeKind::kDyn) {
    return InvalidArgumentError("1:1: must evaluate to bool, not " + TypeName(t));
  }
  return std::shared_ptr<const ProgramData>(std::move(prog));
}

}  // namespace drahil::allocator::cel::internal
