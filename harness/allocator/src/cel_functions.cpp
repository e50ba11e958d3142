// CEL values' equality and ordering, the operators and the built-in
// functions of the evaluator (cel_eval.cpp): pure functions of their
// arguments, costs being charged by the evaluator.
#include "cel_functions.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

namespace drahil::allocator::cel::internal {
namespace {

using K = Value::Kind;

bool IsNum(K k) { return k == K::kInt || k == K::kUint || k == K::kDouble; }

// NumCompare(): -1/0/1, or 2 when unordered (NaN).
int NumCompare(const Value& a, const Value& b) {
  auto cmp = [](auto x, auto y) { return x < y ? -1 : (x > y ? 1 : 0); };
  if (a.kind == K::kDouble || b.kind == K::kDouble) {
    if (a.kind == K::kDouble && b.kind == K::kDouble) {
      if (std::isnan(a.d) || std::isnan(b.d)) return 2;
      return cmp(a.d, b.d);
    }
    // Compare an integer with a double exactly enough for int64 range.
    const Value& dv = a.kind == K::kDouble ? a : b;
    const Value& iv = a.kind == K::kDouble ? b : a;
    if (std::isnan(dv.d)) return 2;
    long double x =
        iv.kind == K::kInt ? static_cast<long double>(iv.i) : static_cast<long double>(iv.u);
    int r = cmp(x, static_cast<long double>(dv.d));
    return a.kind == K::kDouble ? -r : r;
  }
  if (a.kind == K::kInt && b.kind == K::kInt) return cmp(a.i, b.i);
  if (a.kind == K::kUint && b.kind == K::kUint) return cmp(a.u, b.u);
  if (a.kind == K::kInt) return a.i < 0 ? -1 : cmp(static_cast<uint64_t>(a.i), b.u);
  return b.i < 0 ? 1 : cmp(a.u, static_cast<uint64_t>(b.i));
}

size_t CodePoints(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

bool ValidUtf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
    if (n < 0 || i + static_cast<size_t>(n) + 1 > s.size()) return false;
    for (int k = 1; k <= n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += static_cast<size_t>(n) + 1;
  }
  return true;
}

std::string FormatDouble(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), d);
  return std::string(buf, r.ptr);
}

constexpr __int128 kNanoPerUnit = 1000000000;

}  // namespace

const Value* MapFind(const ValueMap& m, const Value& key) {
  for (const auto& e : m.entries) {
    if (ValueEquals(e.first, key)) return &e.second;
  }
  return nullptr;
}

Value NoOverload(const char* fn, const Value& a) {
  return Value::Error(std::string("no such overload: ") + fn + "(" + KindName(a.kind) + ")");
}

Value NoOverload(const char* fn, const Value& a, const Value& b) {
  return Value::Error(std::string("no such overload: ") + fn + "(" + KindName(a.kind) + ", " +
                      KindName(b.kind) + ")");
}

bool ValueEquals(const Value& a, const Value& b) {
  if (IsNum(a.kind) && IsNum(b.kind)) return NumCompare(a, b) == 0;
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case K::kNull:
      return true;
    case K::kBool:
      return a.b == b.b;
    case K::kString:
    case K::kBytes:
    case K::kError:
      return a.str() == b.str();
    case K::kList: {
      const auto& x = a.list();
      const auto& y = b.list();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!ValueEquals(x[i], y[i])) return false;
      }
      return true;
    }
    case K::kMap: {
      const auto& x = a.map();
      const auto& y = b.map();
      if (x.entries.size() != y.entries.size()) return false;
      for (const auto& e : x.entries) {
        const Value* o = MapFind(y, e.first);
        if (!o || !ValueEquals(e.second, *o)) return false;
      }
      return true;
    }
    case K::kQuantity:
      return a.quantity().Cmp(b.quantity()) == 0;
    case K::kSemver:
      return a.semver().Compare(b.semver()) == 0;
    case K::kTimestamp:
    case K::kDuration:
      return TimeCompare(a, b) == 0;
    case K::kIp:
      return a.ip().v6 == b.ip().v6 && std::memcmp(a.ip().b, b.ip().b, 16) == 0;
    case K::kCidr:
      return a.cidr().bits == b.cidr().bits && a.cidr().addr.v6 == b.cidr().addr.v6 &&
             std::memcmp(a.cidr().addr.b, b.cidr().addr.b, 16) == 0;
    case K::kFormat:
      return a.i == b.i;
    case K::kUrl:
      return a.url().scheme == b.url().scheme && a.url().host == b.url().host &&
             a.url().path == b.url().path && a.url().raw_query == b.url().raw_query &&
             a.url().opaque == b.url().opaque;
    case K::kOptional: {
      const Value* x = a.optional_value();
      const Value* y = b.optional_value();
      if (!x || !y) return x == y;
      return ValueEquals(*x, *y);
    }
    default:
      return false;
  }
}

// Compare(): the ordering operators over numbers (unordered NaN compares
// false), strings, bytes and bools.
Value Compare(Op op, const Value& a, const Value& b) {
  int r;
  if (IsNum(a.kind) && IsNum(b.kind)) {
    r = NumCompare(a, b);
    if (r == 2) return Value::Bool(false);
  } else if (a.kind == b.kind && (a.kind == K::kString || a.kind == K::kBytes)) {
    int c = a.str().compare(b.str());
    r = c < 0 ? -1 : (c > 0 ? 1 : 0);
  } else if (a.kind == K::kBool && b.kind == K::kBool) {
    r = static_cast<int>(a.b) - static_cast<int>(b.b);
  } else if (a.kind == b.kind && (a.kind == K::kTimestamp || a.kind == K::kDuration)) {
    r = TimeCompare(a, b);
  } else {
    return NoOverload("_<_", a, b);
  }
  bool res = op == Op::kLt ? r < 0 : op == Op::kLe ? r <= 0 : op == Op::kGt ? r > 0 : r >= 0;
  return Value::Bool(res);
}

// In(): `a in b` for a list (an equal element) or a map (a key).
Value In(const Value& a, const Value& b) {
  if (b.kind == K::kList) {
    for (const auto& e : b.list()) {
      if (ValueEquals(a, e)) return Value::Bool(true);
    }
    return Value::Bool(false);
  }
  if (b.kind == K::kMap) return Value::Bool(MapFind(b.map(), a) != nullptr);
  return NoOverload("@in", a, b);
}

// IntArith(): int64 + - * / %, overflow and division by zero being errors.
Value IntArith(Op op, int64_t x, int64_t y) {
  int64_t r = 0;
  bool overflow = false;
  switch (op) {
    case Op::kAdd:
      overflow = __builtin_add_overflow(x, y, &r);
      break;
    case Op::kSub:
      overflow = __builtin_sub_overflow(x, y, &r);
      break;
    case Op::kMul:
      overflow = __builtin_mul_overflow(x, y, &r);
      break;
    case Op::kDiv:
    case Op::kMod:
      if (y == 0) return Value::Error(op == Op::kDiv ? "division by zero" : "modulus by zero");
      overflow = x == std::numeric_limits<int64_t>::min() && y == -1;
      if (!overflow) r = op == Op::kDiv ? x / y : x % y;
      break;
    default:
      break;
  }
  if (overflow) return Value::Error("integer overflow");
  return Value::Int(r);
}

// UintArith(): uint64 + - * / %, overflow and division by zero being errors.
Value UintArith(Op op, uint64_t x, uint64_t y) {
  uint64_t r = 0;
  bool overflow = false;
  switch (op) {
    case Op::kAdd:
      overflow = __builtin_add_overflow(x, y, &r);
      break;
    case Op::kSub:
      overflow = __builtin_sub_overflow(x, y, &r);
      break;
    case Op::kMul:
      overflow = __builtin_mul_overflow(x, y, &r);
      break;
    case Op::kDiv:
    case Op::kMod:
      if (y == 0) return Value::Error(op == Op::kDiv ? "division by zero" : "modulus by zero");
      r = op == Op::kDiv ? x / y : x % y;
      break;
    default:
      break;
  }
  if (overflow) return Value::Error("unsigned integer overflow");
  return Value::Uint(r);
}

// DoubleArith(): double + - * /; there is no double modulus.
Value DoubleArith(Op op, const Value& a, const Value& b) {
  switch (op) {
    case Op::kAdd:
      return Value::Double(a.d + b.d);
    case Op::kSub:
      return Value::Double(a.d - b.d);
    case Op::kMul:
      return Value::Double(a.d * b.d);
    case Op::kDiv:
      return Value::Double(a.d / b.d);
    default:
      return NoOverload("_%_", a, b);
  }
}

Value Not(const Value& v) {
  if (v.kind != K::kBool) return NoOverload("!_", v);
  return Value::Bool(!v.b);
}

Value Negate(const Value& v) {
  if (v.kind == K::kInt) {
    if (v.i == std::numeric_limits<int64_t>::min()) return Value::Error("integer overflow");
    return Value::Int(-v.i);
  }
  if (v.kind == K::kDouble) return Value::Double(-v.d);
  return NoOverload("-_", v);
}

Value Size(const Value& a) {
  switch (a.kind) {
    case K::kString:
      return Value::Int(static_cast<int64_t>(CodePoints(a.str())));
    case K::kBytes:
      return Value::Int(static_cast<int64_t>(a.str().size()));
    case K::kList:
      return Value::Int(static_cast<int64_t>(a.list().size()));
    case K::kMap:
      return Value::Int(static_cast<int64_t>(a.map().entries.size()));
    default:
      return NoOverload("size", a);
  }
}

// StringCase(): lowerAscii(), upperAscii() and trim().
Value StringCase(const Node& n, const Value& a) {
  if (a.kind != K::kString) return NoOverload(n.name.c_str(), a);
  std::string s = a.str();
  if (n.fn == Fn::kTrim) {
    size_t l = s.find_first_not_of(" \t\n\r\f\v");
    size_t r = s.find_last_not_of(" \t\n\r\f\v");
    return Value::String(l == std::string::npos ? "" : s.substr(l, r - l + 1));
  }
  bool lower = n.fn == Fn::kLowerAscii;
  char from = lower ? 'A' : 'a';
  char to = lower ? 'a' : 'A';
  for (char& ch : s) {
    if (ch >= from && ch <= from + 25) ch = static_cast<char>(ch - from + to);
  }
  return Value::String(std::move(s));
}

Value ToInt(const Value& a) {
  switch (a.kind) {
    case K::kInt:
      return a;
    case K::kTimestamp:
      return Value::Int(a.timestamp().seconds);
    case K::kUint:
      if (a.u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return Value::Error("int() range error");
      return Value::Int(static_cast<int64_t>(a.u));
    case K::kDouble:
      if (!(a.d > -9223372036854775808.0 && a.d < 9223372036854775808.0))
        return Value::Error("int() range error");
      return Value::Int(static_cast<int64_t>(a.d));
    case K::kString: {
      int64_t v = 0;
      const std::string& s = a.str();
      auto r = std::from_chars(s.data(), s.data() + s.size(), v);
      if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) {
        return Value::Error("int(): invalid syntax: \"" + s + "\"");
      }
      return Value::Int(v);
    }
    default:
      return NoOverload("int", a);
  }
}

Value ToUint(const Value& a) {
  switch (a.kind) {
    case K::kUint:
      return a;
    case K::kInt:
      if (a.i < 0) return Value::Error("uint() range error");
      return Value::Uint(static_cast<uint64_t>(a.i));
    case K::kDouble:
      if (!(a.d > -1.0 && a.d < 18446744073709551616.0)) return Value::Error("uint() range error");
      return Value::Uint(static_cast<uint64_t>(a.d));
    case K::kString: {
      uint64_t v = 0;
      const std::string& s = a.str();
      auto r = std::from_chars(s.data(), s.data() + s.size(), v);
      if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) {
        return Value::Error("uint(): invalid syntax: \"" + s + "\"");
      }
      return Value::Uint(v);
    }
    default:
      return NoOverload("uint", a);
  }
}

Value ToDouble(const Value& a) {
  switch (a.kind) {
    case K::kDouble:
      return a;
    case K::kInt:
      return Value::Double(static_cast<double>(a.i));
    case K::kUint:
      return Value::Double(static_cast<double>(a.u));
    case K::kString: {
      const std::string& s = a.str();
      char* end = nullptr;
      double d = std::strtod(s.c_str(), &end);
      if (s.empty() || end != s.c_str() + s.size())
        return Value::Error("double(): invalid syntax: \"" + s + "\"");
      return Value::Double(d);
    }
    default:
      return NoOverload("double", a);
  }
}

Value ToString(const Value& a) {
  switch (a.kind) {
    case K::kString:
      return a;
    case K::kInt:
      return Value::String(std::to_string(a.i));
    case K::kUint:
      return Value::String(std::to_string(a.u));
    case K::kDouble:
      return Value::String(FormatDouble(a.d));
    case K::kBool:
      return Value::String(a.b ? "true" : "false");
    case K::kBytes:
      if (!ValidUtf8(a.str())) return Value::Error("string(): invalid UTF-8 in bytes");
      return Value::String(a.str());
    case K::kTimestamp:
      return Value::String(TimestampToString(a.timestamp()));
    case K::kDuration:
      return Value::String(DurationToString(a.i));
    case K::kIp:
      return Value::String(IpToString(a.ip()));
    case K::kCidr:
      return Value::String(CidrToString(a.cidr()));
    default:
      return NoOverload("string", a);
  }
}

Value ToBytes(const Value& a) {
  if (a.kind == K::kBytes) return a;
  if (a.kind == K::kString) return Value::Bytes(a.str());
  return NoOverload("bytes", a);
}

Value ToBool(const Value& a) {
  if (a.kind == K::kBool) return a;
  if (a.kind != K::kString) return NoOverload("bool", a);
  const std::string& s = a.str();
  if (s == "1" || s == "t" || s == "true" || s == "TRUE" || s == "True") return Value::Bool(true);
  if (s == "0" || s == "f" || s == "false" || s == "FALSE" || s == "False")
    return Value::Bool(false);
  return Value::Error("bool(): invalid syntax: \"" + s + "\"");
}

// ParseQuantity(): quantity() and isQuantity().
Value ParseQuantity(const Node& n, const Value& a) {
  if (a.kind != K::kString) return NoOverload(n.name.c_str(), a);
  auto q = Quantity::Parse(a.str());
  if (n.fn == Fn::kIsQuantity) return Value::Bool(q.ok());
  if (!q.ok()) return Value::Error(q.status().message());
  return Value::Quantity(*q);
}

// ParseSemver(): semver() and isSemver(), normalizing when the second
// argument is true.
Value ParseSemver(const Node& n, size_t nargs, const Value& a, const Value& b) {
  if (a.kind != K::kString) return NoOverload(n.name.c_str(), a);
  bool normalize = nargs == 2 && b.kind == K::kBool && b.b;
  auto v = SemVer::Parse(a.str(), normalize);
  if (n.fn == Fn::kIsSemver) return Value::Bool(v.ok());
  if (!v.ok()) return Value::Error(v.status().message());
  return Value::Semver(*v);
}

// CompareTo(): compareTo(), isGreaterThan() and isLessThan() of two
// quantities or two semvers.
Value CompareTo(const Node& n, const Value& a, const Value& b) {
  int r;
  if (a.kind == K::kQuantity && b.kind == K::kQuantity) {
    r = a.quantity().Cmp(b.quantity());
  } else if (a.kind == K::kSemver && b.kind == K::kSemver) {
    int c = a.semver().Compare(b.semver());
    r = c < 0 ? -1 : (c > 0 ? 1 : 0);
  } else {
    return NoOverload(n.name.c_str(), a, b);
  }
  if (n.fn == Fn::kCompareTo) return Value::Int(r);
  return Value::Bool(n.fn == Fn::kIsGreaterThan ? r > 0 : r < 0);
}

// QuantityArith(): quantity add() and sub() of a quantity or an int.
Value QuantityArith(const Node& n, const Value& a, const Value& b) {
  if (a.kind != K::kQuantity) return NoOverload(n.name.c_str(), a, b);
  Quantity other;
  if (b.kind == K::kQuantity) {
    other = b.quantity();
  } else if (b.kind == K::kInt) {
    other = Quantity::FromInt(b.i);
  } else {
    return NoOverload(n.name.c_str(), a, b);
  }
  return Value::Quantity(n.fn == Fn::kAdd ? a.quantity().Add(other) : a.quantity().Sub(other));
}

// AsInteger(): quantity asInteger() and isInteger().
Value AsInteger(const Node& n, const Value& a) {
  if (a.kind != K::kQuantity) return NoOverload(n.name.c_str(), a);
  __int128 nanos = a.quantity().nanos();
  bool integral = nanos % kNanoPerUnit == 0;
  __int128 units = nanos / kNanoPerUnit;
  bool fits =
      units >= std::numeric_limits<int64_t>::min() && units <= std::numeric_limits<int64_t>::max();
  if (n.fn == Fn::kIsInteger) return Value::Bool(integral && fits);
  if (!integral || !fits)
    return Value::Error("cannot convert value to integer: " + a.quantity().ToString());
  return Value::Int(static_cast<int64_t>(units));
}

// QuantityUnary(): quantity asApproximateFloat() and sign().
Value QuantityUnary(const Node& n, const Value& a) {
  if (a.kind != K::kQuantity) return NoOverload(n.name.c_str(), a);
  if (n.fn == Fn::kSign) return Value::Int(a.quantity().Sign());
  return Value::Double(a.quantity().AsApproximateDouble());
}

// SemverPart(): semver major(), minor() and patch().
Value SemverPart(const Node& n, const Value& a) {
  if (a.kind != K::kSemver) return NoOverload(n.name.c_str(), a);
  const SemVer& v = a.semver();
  uint64_t x = n.fn == Fn::kMajor ? v.major : (n.fn == Fn::kMinor ? v.minor : v.patch);
  if (x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return Value::Error("integer overflow");
  return Value::Int(static_cast<int64_t>(x));
}

// OptionalAccess(): optional orValue(), hasValue() and value().
Value OptionalAccess(const Node& n, const Value& a, const Value& b) {
  if (a.kind != K::kOptional) return NoOverload(n.name.c_str(), a);
  const Value* inner = a.optional_value();
  if (n.fn == Fn::kHasValue) return Value::Bool(inner != nullptr);
  if (n.fn == Fn::kOrValue) return inner ? *inner : b;
  if (!inner) return Value::Error("optional.none() dereference");
  return *inner;
}

}  // namespace drahil::allocator::cel::internal
