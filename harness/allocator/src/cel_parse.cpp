// CEL parser for DRA selectors, and CompileProgram().
//
// The grammar is CEL's (github.com/google/cel-spec, langdef.md):
//   Expr     = Or ["?" Or ":" Expr]
//   Or       = And {"||" And}          And = Rel {"&&" Rel}
//   Rel      = Add {("<"|"<="|">"|">="|"=="|"!="|"in") Add}
//   Add      = Mul {("+"|"-") Mul}     Mul = Unary {("*"|"/"|"%") Unary}
//   Unary    = Member | "!" Unary | "-" Unary
//   Member   = Primary {"." IDENT ["(" args ")"] | ".?" IDENT | "[" Expr "]" | "[?" Expr "]"}
//   Primary  = IDENT ["(" args ")"] | "(" Expr ")" | "[" list "]" | "{" map "}" | literal
// Parsing produces an untyped tree; AnalyzeProgram() (cel_analyze.cpp) then
// expands macros, binds variables to slots, resolves functions and checks
// types in one pass. The lexer is in cel_lex.cpp.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <unordered_map>

#include "cel_internal.hpp"
#include "cel_lex.hpp"

namespace drahil::allocator::cel::internal {
namespace {

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
      case Tok::kEof:
        return "end of expression";
      case Tok::kIdent:
        return "identifier '" + t.text + "'";
      case Tok::kPunct:
        return "'" + t.text + "'";
      case Tok::kString:
        return "string literal";
      case Tok::kBytes:
        return "bytes literal";
      default:
        return "number";
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
    if (depth_ > max_depth_)
      return Err(tok_.pos,
                 "expression nested too deeply (limit " + std::to_string(max_depth_) + ")");
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
      if (Is("<"))
        op = Op::kLt;
      else if (Is("<="))
        op = Op::kLe;
      else if (Is(">"))
        op = Op::kGt;
      else if (Is(">="))
        op = Op::kGe;
      else if (Is("=="))
        op = Op::kEq;
      else if (Is("!="))
        op = Op::kNe;
      else if (Is("in"))
        op = Op::kIn;
      else
        return OkStatus();
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
      if (!Is(close))
        return Err(tok_.pos,
                   std::string("expected ',' or '") + close + "', found " + Describe(tok_));
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
        if (tok_.kind != Tok::kIdent)
          return Err(tok_.pos, "expected field name after '.', found " + Describe(tok_));
        std::string name = tok_.text;
        DRAHIL_RETURN_IF_ERROR(Advance());
        // Positions as cel-go's parser records them (VisitMemberCall: the
        // '(' token; VisitSelect: the '.' token), so messages name the same
        // column.
        if (!opt && Is("(")) {
          auto n = MakeNode(NodeKind::kCall, tok_.pos);
          n->name = name;
          n->method = true;
          n->args.push_back(std::move(*out));
          DRAHIL_RETURN_IF_ERROR(ParseArgs(&n->args, ")"));
          *out = std::move(n);
          continue;
        }
        auto n = MakeNode(opt ? NodeKind::kOptSelect : NodeKind::kSelect, pos);
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
          auto n = MakeNode(NodeKind::kCall, tok_.pos);  // cel-go: the '(' token
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
}  // namespace

Result<std::shared_ptr<const ProgramData>> CompileProgram(std::string_view expression,
                                                          const CompileOptions& options) {
  if (expression.size() > kMaxExpressionLength) {
    return InvalidArgumentError("expression is " + std::to_string(expression.size()) +
                                " bytes, longer than the limit of " +
                                std::to_string(kMaxExpressionLength));
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
        return InvalidArgumentError(Where(prog->expression, n->pos) +
                                    ": expression nested too deeply (tree height over " +
                                    std::to_string(kMaxHeight) + ")");
      }
      for (const auto& a : n->args) stack.emplace_back(a.get(), h + 1);
    }
  }
  DRAHIL_RETURN_IF_ERROR(AnalyzeProgram(prog.get(), options));
  prog->max_cost = EstimateMaxCost(*prog);
  return std::shared_ptr<const ProgramData>(std::move(prog));
}

}  // namespace drahil::allocator::cel::internal
