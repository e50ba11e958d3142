// The extension libraries of Kubernetes' CEL base environment
// (k8s.io/apiserver/pkg/cel/environment/base.go) for the evaluator
// (cel_eval.cpp): cel-go's ext.Strings (version 2), ext.Lists (version 3) and
// ext.Sets, and Kubernetes' list, regex, IP, CIDR and URL libraries
// (apiserver/pkg/cel/library). Results and error texts follow those
// implementations; each function is pure, costs are charged by the evaluator.
#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "cel_functions.hpp"
#include "drahil/core/names.hpp"

namespace drahil::allocator::cel::internal {
namespace {

using K = Value::Kind;

Value Err(std::string s) { return Value::Error(std::move(s)); }

// ---------------------------------------------------------------- UTF-8

// Runes(): the byte offset of each code point of `s`, plus s.size() at the
// end; invalid bytes count as one code point each (as Go's range loop does).
std::vector<size_t> Runes(const std::string& s) {
  std::vector<size_t> out;
  size_t i = 0;
  while (i < s.size()) {
    out.push_back(i);
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (i + n > s.size()) n = 1;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) {
        n = 1;
        break;
      }
    }
    i += n;
  }
  out.push_back(s.size());
  return out;
}

std::string OutOfRange(int64_t i) { return "index out of range: " + std::to_string(i); }

// ---------------------------------------------------------------- ext.Strings

Value CharAt(const std::string& s, int64_t i) {
  auto r = Runes(s);
  int64_t len = static_cast<int64_t>(r.size()) - 1;
  if (i < 0 || i > len) return Err(OutOfRange(i));
  if (i == len) return Value::String("");
  return Value::String(s.substr(r[i], r[i + 1] - r[i]));
}

// RuneIndex(): the code point index of byte offset `b`.
int64_t RuneIndex(const std::vector<size_t>& r, size_t b) {
  return static_cast<int64_t>(std::lower_bound(r.begin(), r.end(), b) - r.begin());
}

Value IndexOf(const std::string& s, const std::string& sub, int64_t offset, bool has_offset) {
  auto r = Runes(s);
  int64_t len = static_cast<int64_t>(r.size()) - 1;
  // cel-go indexOfOffset(): an empty substring returns the offset as given;
  // otherwise the offset must be a code point of the string.
  if (!has_offset) offset = 0;
  if (sub.empty()) return Value::Int(offset);
  if (has_offset && (offset < 0 || offset >= len)) return Err(OutOfRange(offset));
  size_t pos = s.find(sub, r[offset]);
  if (pos == std::string::npos) return Value::Int(-1);
  return Value::Int(RuneIndex(r, pos));
}

Value LastIndexOf(const std::string& s, const std::string& sub, int64_t offset, bool has_offset) {
  auto r = Runes(s);
  int64_t len = static_cast<int64_t>(r.size()) - 1;
  if (!has_offset) {
    if (sub.empty()) return Value::Int(len);
    size_t pos = s.rfind(sub);
    return Value::Int(pos == std::string::npos ? -1 : RuneIndex(r, pos));
  }
  if (sub.empty()) return Value::Int(offset);  // before the range check, as cel-go
  if (offset < 0 || offset >= len) return Err(OutOfRange(offset));
  size_t pos = s.rfind(sub, r[offset]);
  return Value::Int(pos == std::string::npos ? -1 : RuneIndex(r, pos));
}

// Replace(): Go's strings.Replace(s, old, new, n).
Value Replace(const std::string& s, const std::string& from, const std::string& to, int64_t n) {
  if (n == 0 || from == to) return Value::String(s);
  std::string out;
  int64_t done = 0;
  if (from.empty()) {
    // An empty pattern matches before every code point and at the end.
    auto r = Runes(s);
    for (size_t i = 0; i + 1 < r.size(); ++i) {
      if (n < 0 || done < n) {
        out += to;
        ++done;
      }
      out += s.substr(r[i], r[i + 1] - r[i]);
    }
    if (n < 0 || done < n) out += to;
    return Value::String(std::move(out));
  }
  size_t at = 0;
  while (n < 0 || done < n) {
    size_t pos = s.find(from, at);
    if (pos == std::string::npos) break;
    out += s.substr(at, pos - at);
    out += to;
    at = pos + from.size();
    ++done;
  }
  out += s.substr(at);
  return Value::String(std::move(out));
}

// Split(): Go's strings.SplitN(s, sep, n).
Value Split(const std::string& s, const std::string& sep, int64_t n) {
  ValueList out;
  if (n == 0) return Value::List(std::move(out));
  if (sep.empty()) {
    auto r = Runes(s);
    for (size_t i = 0; i + 1 < r.size(); ++i) {
      if (n > 0 && static_cast<int64_t>(out.size()) == n - 1) {
        out.push_back(Value::String(s.substr(r[i])));
        return Value::List(std::move(out));
      }
      out.push_back(Value::String(s.substr(r[i], r[i + 1] - r[i])));
    }
    return Value::List(std::move(out));
  }
  size_t at = 0;
  while (n < 0 || static_cast<int64_t>(out.size()) < n - 1) {
    size_t pos = s.find(sep, at);
    if (pos == std::string::npos) break;
    out.push_back(Value::String(s.substr(at, pos - at)));
    at = pos + sep.size();
  }
  out.push_back(Value::String(s.substr(at)));
  return Value::List(std::move(out));
}

Value Substring(const std::string& s, int64_t start, int64_t end, bool has_end) {
  auto r = Runes(s);
  int64_t len = static_cast<int64_t>(r.size()) - 1;
  // cel-go substrRange() checks the order first, then each index.
  if (has_end && start > end) {
    return Err("invalid substring range. start: " + std::to_string(start) +
               ", end: " + std::to_string(end));
  }
  if (start < 0 || start > len) return Err(OutOfRange(start));
  if (!has_end) return Value::String(s.substr(r[start]));
  if (end < 0 || end > len) return Err(OutOfRange(end));
  return Value::String(s.substr(r[start], r[end] - r[start]));
}

Value Join(const ValueList& l, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < l.size(); ++i) {
    if (l[i].kind != K::kString) return NoOverload("join", l[i]);
    if (i) out += sep;
    out += l[i].str();
  }
  return Value::String(std::move(out));
}

// Quote(): strings.quote(): the string in double quotes with Go's escapes
// for \a \b \f \n \r \t \v \\ and \"; invalid UTF-8 becomes U+FFFD.
Value Quote(const std::string& s) {
  std::string out = "\"";
  auto r = Runes(s);
  for (size_t i = 0; i + 1 < r.size(); ++i) {
    std::string ch = s.substr(r[i], r[i + 1] - r[i]);
    unsigned char c = static_cast<unsigned char>(ch[0]);
    if (ch.size() == 1 && c >= 0x80) {
      out += "\xEF\xBF\xBD";
      continue;
    }
    switch (c) {
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      default:
        out += ch;
    }
  }
  return Value::String(out + "\"");
}

// FormatArg(): one clause of string.format(): %s, %d, %f/%e (with an
// optional precision), %x/%X, %o, %b.
Value FormatArg(char verb, int precision, const Value& v) {
  char buf[128];
  switch (verb) {
    case 's': {
      if (v.kind == K::kList || v.kind == K::kMap) {
        return Err(
            "string clause can only be used on strings, bools, bytes, ints, doubles, "
            "maps, lists, types, durations, and timestamps, was given " +
            std::string(KindName(v.kind)));
      }
      if (v.kind == K::kNull) return Value::String("null");
      return ToString(v);
    }
    case 'd':
      if (v.kind == K::kInt) return Value::String(std::to_string(v.i));
      if (v.kind == K::kUint) return Value::String(std::to_string(v.u));
      return Err(std::string("decimal clause can only be used on integers, was given ") +
                 KindName(v.kind));
    case 'f':
    case 'e': {
      double d;
      if (v.kind == K::kDouble) {
        d = v.d;
      } else if (v.kind == K::kInt) {
        d = static_cast<double>(v.i);
      } else if (v.kind == K::kUint) {
        d = static_cast<double>(v.u);
      } else {
        return Err(std::string(verb == 'f' ? "fixed-point" : "scientific") +
                   " clause can only be used on doubles, was given " + KindName(v.kind));
      }
      if (std::isnan(d)) return Value::String("NaN");
      if (std::isinf(d)) return Value::String(d > 0 ? "Infinity" : "-Infinity");
      std::snprintf(buf, sizeof(buf), verb == 'f' ? "%.*f" : "%.*e", precision < 0 ? 6 : precision,
                    d);
      return Value::String(buf);
    }
    case 'x':
    case 'X':
    case 'o':
    case 'b': {
      if (v.kind == K::kString || v.kind == K::kBytes) {
        if (verb == 'o' || verb == 'b') break;
        std::string out;
        for (unsigned char c : v.str()) {
          std::snprintf(buf, sizeof(buf), verb == 'x' ? "%02x" : "%02X", c);
          out += buf;
        }
        return Value::String(out);
      }
      bool neg = v.kind == K::kInt && v.i < 0;
      uint64_t u = v.kind == K::kUint ? v.u
                   : v.kind == K::kInt
                       ? (neg ? 0 - static_cast<uint64_t>(v.i) : static_cast<uint64_t>(v.i))
                       : 0;
      if (v.kind != K::kInt && v.kind != K::kUint) {
        if (verb == 'b' && v.kind == K::kBool) return Value::String(v.b ? "1" : "0");
        break;
      }
      std::string digits;
      unsigned base = verb == 'o' ? 8 : verb == 'b' ? 2 : 16;
      const char* alphabet = verb == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
      do {
        digits.insert(digits.begin(), alphabet[u % base]);
        u /= base;
      } while (u);
      return Value::String((neg ? "-" : "") + digits);
    }
    default:
      break;
  }
  const char* what = verb == 'o' ? "octal" : verb == 'b' ? "binary" : "hex";
  std::string kinds = verb == 'b'   ? "integers and bools"
                      : verb == 'o' ? "integers"
                                    : "integers, byte buffers, and strings";
  return Err(std::string(what) + " clause can only be used on " + kinds + ", was given " +
             KindName(v.kind));
}

Value Format(const std::string& f, const ValueList& args) {
  std::string out;
  size_t next = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      out += f[i];
      continue;
    }
    if (++i >= f.size()) return Err("unexpected end of format string");
    if (f[i] == '%') {
      out += '%';
      continue;
    }
    int precision = -1;
    if (f[i] == '.') {
      precision = 0;
      while (++i < f.size() && f[i] >= '0' && f[i] <= '9')
        precision = std::min(precision * 10 + (f[i] - '0'), 1000);
      if (i >= f.size()) return Err("unexpected end of format string");
    }
    char verb = f[i];
    if (std::strchr("sdfexXob", verb) == nullptr) {
      return Err(
          std::string("could not parse formatting clause: unrecognized formatting clause \"") +
          verb + "\"");
    }
    if (next >= args.size()) return Err("index " + std::to_string(next) + " out of range");
    Value v = FormatArg(verb, precision, args[next++]);
    if (v.is_error()) return v;
    out += v.str();
  }
  return Value::String(std::move(out));
}

// ---------------------------------------------------------------- lists

int OrderCompare(const Value& a, const Value& b, bool* ok) {
  Value lt = Compare(Op::kLt, a, b);
  if (lt.is_error()) {
    *ok = false;
    return 0;
  }
  if (lt.b) return -1;
  Value gt = Compare(Op::kGt, a, b);
  return gt.b ? 1 : 0;
}

bool Orderable(K k) {
  return k == K::kInt || k == K::kUint || k == K::kDouble || k == K::kString || k == K::kBytes ||
         k == K::kBool;
}

Value Slice(const ValueList& l, int64_t start, int64_t end) {
  std::string range = "cannot slice(" + std::to_string(start) + ", " + std::to_string(end) + ")";
  if (start < 0 || end < 0) return Err(range + ", negative indexes not supported");
  if (start > end) return Err(range + ", start index must be less than or equal to end index");
  if (end > static_cast<int64_t>(l.size())) {
    return Err(range + ", list is length " + std::to_string(l.size()));
  }
  return Value::List(ValueList(l.begin() + start, l.begin() + end));
}

void FlattenInto(const ValueList& l, int64_t depth, ValueList* out) {
  for (const Value& v : l) {
    if (v.kind == K::kList && depth > 0) {
      FlattenInto(v.list(), depth - 1, out);
    } else {
      out->push_back(v);
    }
  }
}

Value Distinct(const ValueList& l) {
  ValueList out;
  for (const Value& v : l) {
    bool seen = false;
    for (const Value& o : out) {
      if (ValueEquals(v, o)) {
        seen = true;
        break;
      }
    }
    if (!seen) out.push_back(v);
  }
  return Value::List(std::move(out));
}

Value Sum(const ValueList& l) {
  if (l.empty()) return Value::Int(0);
  Value acc = l[0];
  for (size_t i = 1; i < l.size(); ++i) {
    const Value& v = l[i];
    if (v.kind != acc.kind) return NoOverload("sum", acc, v);
    switch (v.kind) {
      case K::kInt:
        acc = IntArith(Op::kAdd, acc.i, v.i);
        break;
      case K::kUint:
        acc = UintArith(Op::kAdd, acc.u, v.u);
        break;
      case K::kDouble:
        acc = Value::Double(acc.d + v.d);
        break;
      default:
        return NoOverload("sum", v);
    }
    if (acc.is_error()) return acc;
  }
  if (acc.kind != K::kInt && acc.kind != K::kUint && acc.kind != K::kDouble) {
    return NoOverload("sum", acc);
  }
  return acc;
}

Value MinMax(const ValueList& l, bool max) {
  const char* name = max ? "max" : "min";
  if (l.empty()) return Err(std::string(name) + "(list) argument must not be empty");
  Value best = l[0];
  for (size_t i = 1; i < l.size(); ++i) {
    bool ok = true;
    int c = OrderCompare(l[i], best, &ok);
    if (!ok) return NoOverload(name, best, l[i]);
    if (max ? c > 0 : c < 0) best = l[i];
  }
  if (l.size() == 1 && !Orderable(best.kind)) return NoOverload(name, best);
  return best;
}

Value IsSorted(const ValueList& l) {
  for (size_t i = 1; i < l.size(); ++i) {
    bool ok = true;
    int c = OrderCompare(l[i - 1], l[i], &ok);
    if (!ok) return NoOverload("isSorted", l[i - 1], l[i]);
    if (c > 0) return Value::Bool(false);
  }
  return Value::Bool(true);
}

Value ListIndexOf(const ValueList& l, const Value& v, bool last) {
  int64_t n = static_cast<int64_t>(l.size());
  for (int64_t k = 0; k < n; ++k) {
    int64_t i = last ? n - 1 - k : k;
    if (ValueEquals(l[i], v)) return Value::Int(i);
  }
  return Value::Int(-1);
}

// ---------------------------------------------------------------- sets

bool ListHas(const ValueList& l, const Value& v) {
  for (const Value& e : l) {
    if (ValueEquals(e, v)) return true;
  }
  return false;
}

bool SetContains(const ValueList& a, const ValueList& b) {
  for (const Value& v : b) {
    if (!ListHas(a, v)) return false;
  }
  return true;
}

// ---------------------------------------------------------------- regex

Value Find(const Node& n, const std::string& s, const std::string& pattern, int64_t limit,
           bool all) {
  std::shared_ptr<const std::regex> re = n.regex;
  if (!re) {
    auto compiled = CompileRegex(pattern);
    if (!compiled.ok()) return Err(compiled.status().message());
    re = *compiled;
  }
  ValueList out;
  try {
    auto begin = std::sregex_iterator(s.begin(), s.end(), *re);
    for (auto it = begin; it != std::sregex_iterator(); ++it) {
      if (!all) return Value::String(it->str());
      if (limit >= 0 && static_cast<int64_t>(out.size()) >= limit) break;
      out.push_back(Value::String(it->str()));
    }
  } catch (const std::regex_error& e) {
    return Err(std::string("regex evaluation failed: ") + e.what());
  }
  if (!all) return Value::String("");
  return Value::List(std::move(out));
}

// ---------------------------------------------------------------- IP / CIDR

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

// ParseAddr(): Go's netip.ParseAddr() as the Kubernetes IP library's
// parseIPAddr() uses it: no zones, no IPv4-mapped IPv6 addresses; IPv4
// octets without leading zeros.
Result<IpAddr> ParseAddr(const std::string& raw) {
  IpAddr a;
  auto fail = [&](const std::string& why) -> Status {
    return InvalidArgumentError("IP Address " + Quoted(raw) +
                                " parse error during conversion from string: ParseAddr(" +
                                Quoted(raw) + "): " + why);
  };
  if (raw.empty()) return fail("unable to parse IP");
  if (raw.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, raw.c_str(), a.b) != 1) return fail("unable to parse IP");
    return a;
  }
  size_t pct = raw.find('%');
  std::string host = raw.substr(0, pct);
  if (inet_pton(AF_INET6, host.c_str(), a.b) != 1) return fail("unable to parse IP");
  if (pct != std::string::npos) {
    if (pct + 1 == raw.size()) return fail("missing zone");
    return InvalidArgumentError("IP address " + Quoted(raw) + " with zone value is not allowed");
  }
  a.v6 = true;
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(a.b, kMapped, 12) == 0) {
    return InvalidArgumentError("IPv4-mapped IPv6 address " + Quoted(raw) + " is not allowed");
  }
  return a;
}

bool InPrefix(const IpAddr& a, std::initializer_list<uint8_t> prefix, int bits) {
  auto it = prefix.begin();
  for (int i = 0; bits > 0; ++i, bits -= 8, ++it) {
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((a.b[i] & mask) != (*it & mask)) return false;
  }
  return true;
}

bool IsZero(const IpAddr& a) {
  for (int i = 0; i < a.size(); ++i) {
    if (a.b[i]) return false;
  }
  return true;
}

bool IsLoopback(const IpAddr& a) {
  if (!a.v6) return a.b[0] == 127;
  for (int i = 0; i < 15; ++i) {
    if (a.b[i]) return false;
  }
  return a.b[15] == 1;
}
bool IsMulticast(const IpAddr& a) { return a.v6 ? a.b[0] == 0xff : (a.b[0] & 0xf0) == 0xe0; }
bool IsLinkLocalUnicast(const IpAddr& a) {
  return a.v6 ? InPrefix(a, {0xfe, 0x80}, 10) : InPrefix(a, {169, 254}, 16);
}
bool IsLinkLocalMulticast(const IpAddr& a) {
  return a.v6 ? InPrefix(a, {0xff, 0x02}, 16) : InPrefix(a, {224, 0, 0}, 24);
}
// IsGlobalUnicast(): netip.Addr.IsGlobalUnicast(): private IPv4 and ULA
// IPv6 addresses count as global unicast.
bool IsGlobalUnicast(const IpAddr& a) {
  if (!a.v6 && (IsZero(a) || (a.b[0] == 255 && a.b[1] == 255 && a.b[2] == 255 && a.b[3] == 255)))
    return false;
  return !IsZero(a) && !IsLoopback(a) && !IsMulticast(a) && !IsLinkLocalUnicast(a);
}

// Cidr(): Go's netip.ParsePrefix() as the CIDR library's parseCIDR() uses it.
Result<CidrValue> ParseCidr(const std::string& raw) {
  auto fail = [&](const std::string& why) -> Status {
    return InvalidArgumentError(
        "network address parse error during conversion from string: netip.ParsePrefix(" +
        Quoted(raw) + "): " + why);
  };
  size_t slash = raw.rfind('/');
  if (slash == std::string::npos) return fail("no '/'");
  std::string addr = raw.substr(0, slash);
  std::string bits = raw.substr(slash + 1);
  if (addr.find('%') != std::string::npos) return fail("IPv6 zones cannot be present in a prefix");
  CidrValue c;
  if (addr.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, addr.c_str(), c.addr.b) != 1) {
      return fail("ParseAddr(" + Quoted(addr) + "): unable to parse IP");
    }
  } else {
    if (inet_pton(AF_INET6, addr.c_str(), c.addr.b) != 1) {
      return fail("ParseAddr(" + Quoted(addr) + "): unable to parse IP");
    }
    c.addr.v6 = true;
  }
  bool digits = !bits.empty() && bits.size() <= 3 &&
                bits.find_first_not_of("0123456789") == std::string::npos &&
                !(bits.size() > 1 && bits[0] == '0');
  int n = digits ? std::stoi(bits) : -1;
  if (n < 0 || n > c.addr.size() * 8) return fail("bad bits after slash: " + Quoted(bits));
  c.bits = n;
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (c.addr.v6 && std::memcmp(c.addr.b, kMapped, 12) == 0) {
    return InvalidArgumentError("IPv4-mapped IPv6 address " + Quoted(raw) + " is not allowed");
  }
  return c;
}

IpAddr Mask(IpAddr a, int bits) {
  for (int i = 0; i < a.size(); ++i, bits -= 8) {
    if (bits >= 8) continue;
    a.b[i] = bits <= 0 ? 0 : static_cast<uint8_t>(a.b[i] & (0xff << (8 - bits)));
  }
  return a;
}

bool CidrContains(const CidrValue& c, const IpAddr& a) {
  if (c.addr.v6 != a.v6) return false;
  IpAddr x = Mask(c.addr, c.bits);
  IpAddr y = Mask(a, c.bits);
  return std::memcmp(x.b, y.b, 16) == 0;
}

// ---------------------------------------------------------------- URL

bool IsHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

// Unescape(): percent-decoding of a path; nullopt for a bad escape.
std::optional<std::string> Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size() + 0 || !IsHex(s[i + 1]) || !IsHex(s[i + 2])) return std::nullopt;
    out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
    i += 2;
  }
  return out;
}

// ParseRequestUri(): Go's url.ParseRequestURI(), which the Kubernetes URL
// library uses: an absolute URI or an absolute path; no fragment splitting.
Result<UrlValue> ParseRequestUri(const std::string& raw) {
  auto fail = [&](const std::string& why) -> Status {
    return InvalidArgumentError("URL parse error during conversion from string: parse " +
                                Quoted(raw) + ": " + why);
  };
  for (unsigned char c : raw) {
    if (c < 0x20 || c == 0x7f) return fail("net/url: invalid control character in URL");
  }
  if (raw.empty()) return fail("empty url");
  UrlValue u;
  std::string rest = raw;
  // Scheme.
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (std::isalpha(static_cast<unsigned char>(c))) continue;
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.') {
      if (i == 0) break;
      continue;
    }
    if (c == ':') {
      if (i == 0) return fail("missing protocol scheme");
      u.scheme = raw.substr(0, i);
      std::transform(u.scheme.begin(), u.scheme.end(), u.scheme.begin(),
                     [](unsigned char x) { return static_cast<char>(std::tolower(x)); });
      rest = raw.substr(i + 1);
    }
    break;
  }
  if (size_t q = rest.find('?'); q != std::string::npos) {
    u.raw_query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (rest.empty() || rest[0] != '/') {
    if (!u.scheme.empty()) {
      u.opaque = rest;
      return u;
    }
    return fail("invalid URI for request");
  }
  if (!u.scheme.empty() && rest.rfind("//", 0) == 0) {
    std::string authority = rest.substr(2);
    size_t slash = authority.find('/');
    rest = slash == std::string::npos ? "" : authority.substr(slash);
    authority = authority.substr(0, slash);
    if (size_t at = authority.rfind('@'); at != std::string::npos) {
      u.has_user = true;
      authority = authority.substr(at + 1);
    }
    // Host: a bracketed IPv6 literal or a name, then an optional :port of digits.
    std::string port;
    if (!authority.empty() && authority[0] == '[') {
      size_t close = authority.find(']');
      if (close == std::string::npos) return fail("missing ']' in host");
      port = authority.substr(close + 1);
      if (!port.empty() && port[0] != ':') {
        return fail("invalid port " + Quoted(port) + " after host");
      }
    } else if (size_t colon = authority.rfind(':'); colon != std::string::npos) {
      port = authority.substr(colon);
    }
    if (port.size() > 1 && port.find_first_not_of("0123456789", 1) != std::string::npos) {
      return fail("invalid port " + Quoted(port) + " after host");
    }
    u.host = authority;
  }
  auto path = Unescape(rest);
  if (!path) return fail("invalid URL escape");
  u.path = *path;
  if (*path != rest) u.raw_path = rest;
  return u;
}

std::string Hostname(const UrlValue& u) {
  const std::string& h = u.host;
  if (!h.empty() && h[0] == '[') return h.substr(1, h.find(']') - 1);
  size_t colon = h.rfind(':');
  return colon == std::string::npos ? h : h.substr(0, colon);
}

std::string Port(const UrlValue& u) {
  const std::string& h = u.host;
  size_t colon = h.rfind(':');
  if (colon == std::string::npos) return "";
  if (!h.empty() && h[0] == '[' && colon < h.find(']')) return "";
  return h.substr(colon + 1);
}

// EscapedPath(): the path as written when that is a valid escaping, else
// the path with the characters Go escapes in paths percent-encoded.
std::string EscapedPath(const UrlValue& u) {
  if (!u.raw_path.empty()) return u.raw_path;
  std::string out;
  for (unsigned char c : u.path) {
    if (std::isalnum(c) || std::strchr("-_.~$&+,/:;=@!*'()", c) != nullptr) {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::optional<std::string> QueryUnescape(const std::string& s) {
  std::string plus = s;
  std::replace(plus.begin(), plus.end(), '+', ' ');
  return Unescape(plus);
}

// Query(): url.Values of the raw query (pairs that fail to decode, or carry
// a ';', are dropped as Go's ParseQuery does).
Value Query(const UrlValue& u) {
  ValueMap m;
  size_t at = 0;
  const std::string& q = u.raw_query;
  while (at <= q.size() && !q.empty()) {
    size_t amp = q.find('&', at);
    std::string pair = q.substr(at, amp == std::string::npos ? std::string::npos : amp - at);
    at = amp == std::string::npos ? q.size() + 1 : amp + 1;
    if (pair.empty() || pair.find(';') != std::string::npos) continue;
    size_t eq = pair.find('=');
    auto key = QueryUnescape(pair.substr(0, eq));
    auto val = QueryUnescape(eq == std::string::npos ? "" : pair.substr(eq + 1));
    if (!key || !val) continue;
    Value k = Value::String(*key);
    bool found = false;
    for (auto& e : m.entries) {
      if (e.first.str() == *key) {
        ValueList l = e.second.list();
        l.push_back(Value::String(*val));
        e.second = Value::List(std::move(l));
        found = true;
        break;
      }
    }
    if (!found) m.entries.emplace_back(k, Value::List({Value::String(*val)}));
  }
  return Value::Map(std::move(m));
}

}  // namespace

std::string IpToString(const IpAddr& a) {
  if (!a.v6) {
    return std::to_string(a.b[0]) + "." + std::to_string(a.b[1]) + "." + std::to_string(a.b[2]) +
           "." + std::to_string(a.b[3]);
  }
  // RFC 5952, as netip.Addr.String(): the longest run (≥ 2) of zero
  // groups, the first on a tie, becomes "::".
  uint16_t g[8];
  for (int i = 0; i < 8; ++i) g[i] = static_cast<uint16_t>(a.b[2 * i] << 8 | a.b[2 * i + 1]);
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len && j - i >= 2) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  std::string out;
  char buf[8];
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    std::snprintf(buf, sizeof(buf), "%x", g[i]);
    out += buf;
  }
  return out;
}

std::string CidrToString(const CidrValue& c) {
  return IpToString(c.addr) + "/" + std::to_string(c.bits);
}

int64_t SortCost(size_t n) {
  int64_t log = 1;
  for (size_t x = n; x > 1; x >>= 1) ++log;
  return static_cast<int64_t>(n) * log;
}

Value SortList(const ValueList& list, const ValueList& keys) {
  if (keys.empty()) return Value::List(list);
  K kind = keys[0].kind;
  if (!Orderable(kind)) return Err("list elements must be comparable");
  for (const Value& k : keys) {
    if (k.kind != kind) return Err("list elements must have the same type");
  }
  std::vector<size_t> order(list.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    bool ok = true;
    return OrderCompare(keys[x], keys[y], &ok) < 0;
  });
  ValueList out;
  out.reserve(list.size());
  for (size_t i : order) out.push_back(list[i]);
  return Value::List(std::move(out));
}

// ---- the Kubernetes format library (library/format.go) ---------------------

namespace {

bool AllHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

// kube-openapi strfmt's UUIDPattern: 8-4-4-4-12 hex digits, any case, each
// dash optional.
bool IsUuid(const std::string& s) {
  static const size_t kGroups[] = {8, 4, 4, 4, 12};
  size_t at = 0;
  for (size_t g = 0; g < 5; ++g) {
    if (g > 0 && at < s.size() && s[at] == '-') ++at;
    if (at + kGroups[g] > s.size() || !AllHex(std::string_view(s).substr(at, kGroups[g])))
      return false;
    at += kGroups[g];
  }
  return at == s.size();
}

// strfmt "byte": Go's base64.StdEncoding.DecodeString() succeeds (padded;
// '\r' and '\n' are skipped, as Go's decoder does).
bool IsBase64(const std::string& s) {
  std::string t;
  for (char c : s)
    if (c != '\r' && c != '\n') t += c;
  if (t.size() % 4 != 0) return false;
  size_t pad = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    bool alpha = std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/';
    if (c == '=') {
      ++pad;
      continue;
    }
    if (!alpha || pad > 0) return false;  // data after padding
  }
  return pad <= 2;
}

bool Digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// strfmt "date": time.Parse("2006-01-02", s): four digits of year, two of
// month and day, a real calendar day.
bool IsFullDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  if (!Digits(s.substr(0, 4)) || !Digits(s.substr(5, 2)) || !Digits(s.substr(8, 2))) return false;
  int y = std::stoi(std::string(s.substr(0, 4)));
  int m = std::stoi(std::string(s.substr(5, 2)));
  int d = std::stoi(std::string(s.substr(8, 2)));
  if (m < 1 || m > 12 || d < 1) return false;
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

// strfmt "datetime" (kube-openapi IsDateTime()): lower-cased and split at
// 't': the first part a date, the second HH:MM:SS, any one character and
// digits (fraction), then 'z' or ±HH:MM; hours ≤ 23, minutes and seconds ≤ 59.
bool IsDateTimeString(const std::string& raw) {
  std::string s = raw;
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  size_t t = s.find('t');
  if (t == std::string::npos || !IsFullDate(std::string_view(s).substr(0, t))) return false;
  size_t end = s.find('t', t + 1);
  std::string_view rest =
      std::string_view(s).substr(t + 1, end == std::string::npos ? s.npos : end - t - 1);
  if (rest.size() < 9 || rest[2] != ':' || rest[5] != ':' || !Digits(rest.substr(0, 2)) ||
      !Digits(rest.substr(3, 2)) || !Digits(rest.substr(6, 2))) {
    return false;
  }
  if (rest.substr(0, 2) > "23" || rest.substr(3, 2) > "59" || rest.substr(6, 2) > "59")
    return false;
  std::string_view zone = rest.substr(8);
  // (.[0-9]+)? : any character, then digits.
  if (zone.size() >= 2 && zone[0] != 'z' && zone[0] != '+' && zone[0] != '-') {
    size_t k = 1;
    while (k < zone.size() && zone[k] >= '0' && zone[k] <= '9') ++k;
    if (k == 1) return false;
    zone = zone.substr(k);
  }
  if (zone == "z") return true;
  return zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && Digits(zone.substr(1, 2)) &&
         zone[3] == ':' && Digits(zone.substr(4, 2));
}

struct NamedFormat {
  const char* name;
  std::vector<std::string> (*validate)(const std::string&);
};

std::vector<std::string> One(bool ok, const char* message) {
  if (ok) return {};
  return {message};
}

const NamedFormat kFormats[] = {
    {"dns1123Label", [](const std::string& s) { return NameIsDnsLabel(s, false); }},
    {"dns1123Subdomain", [](const std::string& s) { return NameIsDnsSubdomain(s, false); }},
    {"dns1035Label", [](const std::string& s) { return NameIsDns1035Label(s, false); }},
    {"qualifiedName", [](const std::string& s) { return IsQualifiedName(s); }},
    {"dns1123LabelPrefix", [](const std::string& s) { return NameIsDnsLabel(s, true); }},
    {"dns1123SubdomainPrefix", [](const std::string& s) { return NameIsDnsSubdomain(s, true); }},
    {"dns1035LabelPrefix", [](const std::string& s) { return NameIsDns1035Label(s, true); }},
    {"labelValue", [](const std::string& s) { return IsValidLabelValue(s); }},
    {"uri",
     [](const std::string& s) {
       // url.ParseRequestURI()'s error, as Go prints it: parse "s": why.
       auto u = ParseRequestUri(s);
       if (u.ok()) return std::vector<std::string>();
       std::string m = u.status().message();
       const std::string prefix = "URL parse error during conversion from string: ";
       if (m.rfind(prefix, 0) == 0) m = m.substr(prefix.size());
       return std::vector<std::string>{m};
     }},
    {"uuid", [](const std::string& s) { return One(IsUuid(s), "does not match the UUID format"); }},
    {"byte", [](const std::string& s) { return One(IsBase64(s), "invalid base64"); }},
    {"date", [](const std::string& s) { return One(IsFullDate(s), "invalid date"); }},
    {"datetime", [](const std::string& s) { return One(IsDateTimeString(s), "invalid datetime"); }},
};

}  // namespace

int FormatIndex(std::string_view name) {
  for (size_t i = 0; i < std::size(kFormats); ++i)
    if (name == kFormats[i].name) return static_cast<int>(i);
  return -1;
}

std::vector<std::string> ValidateFormat(int index, const std::string& s) {
  if (index < 0 || static_cast<size_t>(index) >= std::size(kFormats)) return {"unknown format"};
  return kFormats[index].validate(s);
}

int64_t LibraryCost(const Node& n, const Value* args, size_t nargs) {
  int64_t units = 1;
  for (size_t i = 0; i < nargs; ++i) {
    const Value& v = args[i];
    if (v.kind == K::kString || v.kind == K::kBytes) {
      units += static_cast<int64_t>(v.str().size() / 10);
    } else if (v.kind == K::kList) {
      units += static_cast<int64_t>(v.list().size());
    }
  }
  switch (n.fn) {
    case Fn::kReplace:
      // Charged by the largest result too: an empty pattern inserts the
      // replacement around every code point.
      if (args[0].kind == K::kString && args[1].kind == K::kString && args[2].kind == K::kString) {
        size_t matches = args[1].str().empty() ? args[0].str().size() + 1
                                               : args[0].str().size() / args[1].str().size();
        return units + static_cast<int64_t>(matches * args[2].str().size() / 10);
      }
      return units;
    case Fn::kSort:
      if (args[0].kind != K::kList) return units;
      return units + SortCost(args[0].list().size());
    case Fn::kDistinct:
    case Fn::kSetsContains:
    case Fn::kSetsEquivalent:
    case Fn::kSetsIntersects: {
      // Pairwise equality.
      int64_t a = static_cast<int64_t>(args[0].kind == K::kList ? args[0].list().size() : 0);
      int64_t b = nargs > 1 && args[1].kind == K::kList ? args[1].list().size() : a;
      return units + a * b / 10;
    }
    case Fn::kRange:
      return units + (args[0].kind == K::kInt && args[0].i > 0 ? args[0].i : 0);
    case Fn::kFind:
    case Fn::kFindAll:
      if (args[0].kind == K::kString && args[1].kind == K::kString) {
        return units + static_cast<int64_t>(args[0].str().size() * (args[1].str().size() + 1) / 4);
      }
      return units;
    default:
      return units;
  }
}

Value LibraryCall(const Node& n, const Value* args, size_t nargs) {
  const Value& a = args[0];
  const Value& b = args[1];
  const Value& c = args[2];
  const char* name = n.name.c_str();
  auto is = [](const Value& v, K k) { return v.kind == k; };
  switch (n.fn) {
    case Fn::kCharAt:
      if (!is(a, K::kString) || !is(b, K::kInt)) return NoOverload(name, a, b);
      return CharAt(a.str(), b.i);
    case Fn::kIndexOf:
    case Fn::kLastIndexOf: {
      bool last = n.fn == Fn::kLastIndexOf;
      if (is(a, K::kList) && nargs == 2) return ListIndexOf(a.list(), b, last);
      if (!is(a, K::kString) || !is(b, K::kString)) return NoOverload(name, a, b);
      bool has_offset = nargs == 3;
      if (has_offset && !is(c, K::kInt)) return NoOverload(name, a, c);
      int64_t off = has_offset ? c.i : 0;
      return last ? LastIndexOf(a.str(), b.str(), off, has_offset)
                  : IndexOf(a.str(), b.str(), off, has_offset);
    }
    case Fn::kReplace: {
      if (!is(a, K::kString) || !is(b, K::kString) || !is(c, K::kString))
        return NoOverload(name, a, b);
      int64_t limit = -1;
      if (nargs == 4) {
        if (!is(args[3], K::kInt)) return NoOverload(name, a, args[3]);
        limit = args[3].i;
      }
      return Replace(a.str(), b.str(), c.str(), limit);
    }
    case Fn::kSplit: {
      if (!is(a, K::kString) || !is(b, K::kString)) return NoOverload(name, a, b);
      int64_t limit = -1;
      if (nargs == 3) {
        if (!is(c, K::kInt)) return NoOverload(name, a, c);
        limit = c.i;
      }
      return Split(a.str(), b.str(), limit);
    }
    case Fn::kSubstring:
      if (!is(a, K::kString) || !is(b, K::kInt)) return NoOverload(name, a, b);
      if (nargs == 3 && !is(c, K::kInt)) return NoOverload(name, a, c);
      return Substring(a.str(), b.i, nargs == 3 ? c.i : 0, nargs == 3);
    case Fn::kJoin:
      if (!is(a, K::kList)) return NoOverload(name, a);
      if (nargs == 2 && !is(b, K::kString)) return NoOverload(name, a, b);
      return Join(a.list(), nargs == 2 ? b.str() : "");
    case Fn::kQuote:
      if (!is(a, K::kString)) return NoOverload(name, a);
      return Quote(a.str());
    case Fn::kFormat:
      if (!is(a, K::kString) || !is(b, K::kList)) return NoOverload(name, a, b);
      return Format(a.str(), b.list());
    case Fn::kSlice:
      if (!is(a, K::kList) || !is(b, K::kInt) || !is(c, K::kInt)) return NoOverload(name, a, b);
      return Slice(a.list(), b.i, c.i);
    case Fn::kFlatten: {
      if (!is(a, K::kList)) return NoOverload(name, a);
      int64_t depth = 1;
      if (nargs == 2) {
        if (!is(b, K::kInt)) return NoOverload(name, a, b);
        if (b.i < 0) return Err("level must be non-negative");
        depth = b.i;
      }
      ValueList out;
      FlattenInto(a.list(), depth, &out);
      return Value::List(std::move(out));
    }
    case Fn::kDistinct:
      if (!is(a, K::kList)) return NoOverload(name, a);
      return Distinct(a.list());
    case Fn::kReverse: {
      if (!is(a, K::kList)) return NoOverload(name, a);
      ValueList l = a.list();
      std::reverse(l.begin(), l.end());
      return Value::List(std::move(l));
    }
    case Fn::kSort:
      if (!is(a, K::kList)) return NoOverload(name, a);
      return SortList(a.list(), a.list());
    case Fn::kRange: {
      if (!is(a, K::kInt)) return NoOverload(name, a);
      ValueList out;
      for (int64_t i = 0; i < a.i; ++i) out.push_back(Value::Int(i));
      return Value::List(std::move(out));
    }
    case Fn::kIsSorted:
      if (!is(a, K::kList)) return NoOverload(name, a);
      return IsSorted(a.list());
    case Fn::kSum:
      if (!is(a, K::kList)) return NoOverload(name, a);
      return Sum(a.list());
    case Fn::kMin:
    case Fn::kMax:
      if (!is(a, K::kList)) return NoOverload(name, a);
      return MinMax(a.list(), n.fn == Fn::kMax);
    case Fn::kSetsContains:
    case Fn::kSetsEquivalent:
    case Fn::kSetsIntersects: {
      if (!is(a, K::kList) || !is(b, K::kList)) return NoOverload(name, a, b);
      if (n.fn == Fn::kSetsContains) return Value::Bool(SetContains(a.list(), b.list()));
      if (n.fn == Fn::kSetsEquivalent) {
        return Value::Bool(SetContains(a.list(), b.list()) && SetContains(b.list(), a.list()));
      }
      for (const Value& v : b.list()) {
        if (ListHas(a.list(), v)) return Value::Bool(true);
      }
      return Value::Bool(false);
    }
    case Fn::kFind:
    case Fn::kFindAll: {
      if (!is(a, K::kString) || !is(b, K::kString)) return NoOverload(name, a, b);
      int64_t limit = -1;
      if (nargs == 3) {
        if (!is(c, K::kInt)) return NoOverload(name, a, c);
        limit = c.i;
      }
      return Find(n, a.str(), b.str(), limit, n.fn == Fn::kFindAll);
    }
    case Fn::kIp:
    case Fn::kIsIp:
    case Fn::kIpIsCanonical: {
      if (!is(a, K::kString)) return NoOverload(name, a);
      auto ip = ParseAddr(a.str());
      if (n.fn == Fn::kIsIp) return Value::Bool(ip.ok());
      if (!ip.ok()) return Err(ip.status().message());
      if (n.fn == Fn::kIpIsCanonical) return Value::Bool(IpToString(*ip) == a.str());
      return Value::Ip(*ip);
    }
    case Fn::kFamily:
    case Fn::kIsUnspecified:
    case Fn::kIsLoopback:
    case Fn::kIsLinkLocalMulticast:
    case Fn::kIsLinkLocalUnicast:
    case Fn::kIsGlobalUnicast: {
      if (!is(a, K::kIp)) return NoOverload(name, a);
      const IpAddr& ip = a.ip();
      switch (n.fn) {
        case Fn::kFamily:
          return Value::Int(ip.v6 ? 6 : 4);
        case Fn::kIsUnspecified:
          return Value::Bool(IsZero(ip));
        case Fn::kIsLoopback:
          return Value::Bool(IsLoopback(ip));
        case Fn::kIsLinkLocalMulticast:
          return Value::Bool(IsLinkLocalMulticast(ip));
        case Fn::kIsLinkLocalUnicast:
          return Value::Bool(IsLinkLocalUnicast(ip));
        default:
          return Value::Bool(IsGlobalUnicast(ip));
      }
    }
    case Fn::kCidr:
    case Fn::kIsCidr: {
      if (!is(a, K::kString)) return NoOverload(name, a);
      auto cidr = ParseCidr(a.str());
      if (n.fn == Fn::kIsCidr) return Value::Bool(cidr.ok());
      if (!cidr.ok()) return Err(cidr.status().message());
      return Value::Cidr(*cidr);
    }
    case Fn::kContainsIp: {
      if (!is(a, K::kCidr)) return NoOverload(name, a, b);
      if (is(b, K::kIp)) return Value::Bool(CidrContains(a.cidr(), b.ip()));
      if (!is(b, K::kString)) return NoOverload(name, a, b);
      auto ip = ParseAddr(b.str());
      if (!ip.ok()) return Err(ip.status().message());
      return Value::Bool(CidrContains(a.cidr(), *ip));
    }
    case Fn::kContainsCidr: {
      if (!is(a, K::kCidr)) return NoOverload(name, a, b);
      CidrValue other;
      if (is(b, K::kCidr)) {
        other = b.cidr();
      } else if (is(b, K::kString)) {
        auto parsed = ParseCidr(b.str());
        if (!parsed.ok()) return Err(parsed.status().message());
        other = *parsed;
      } else {
        return NoOverload(name, a, b);
      }
      return Value::Bool(CidrContains(a.cidr(), other.addr) && a.cidr().bits <= other.bits);
    }
    case Fn::kPrefixLength:
      if (!is(a, K::kCidr)) return NoOverload(name, a);
      return Value::Int(a.cidr().bits);
    case Fn::kMasked: {
      if (!is(a, K::kCidr)) return NoOverload(name, a);
      CidrValue m = a.cidr();
      m.addr = Mask(m.addr, m.bits);
      return Value::Cidr(m);
    }
    case Fn::kCidrIp:
      if (!is(a, K::kCidr)) return NoOverload(name, a);
      return Value::Ip(a.cidr().addr);
    case Fn::kUrl:
    case Fn::kIsUrl: {
      if (!is(a, K::kString)) return NoOverload(name, a);
      auto u = ParseRequestUri(a.str());
      if (n.fn == Fn::kIsUrl) return Value::Bool(u.ok());
      if (!u.ok()) return Err(u.status().message());
      return Value::Url(*u);
    }
    case Fn::kGetScheme:
    case Fn::kGetHost:
    case Fn::kGetHostname:
    case Fn::kGetPort:
    case Fn::kGetEscapedPath:
    case Fn::kGetQuery: {
      if (!is(a, K::kUrl)) return NoOverload(name, a);
      const UrlValue& u = a.url();
      switch (n.fn) {
        case Fn::kGetScheme:
          return Value::String(u.scheme);
        case Fn::kGetHost:
          return Value::String(u.host);
        case Fn::kGetHostname:
          return Value::String(Hostname(u));
        case Fn::kGetPort:
          return Value::String(Port(u));
        case Fn::kGetEscapedPath:
          return Value::String(EscapedPath(u));
        default:
          return Query(u);
      }
    }
    case Fn::kFormatNamed: {
      if (!is(a, K::kString)) return NoOverload(name, a);
      int index = FormatIndex(a.str());
      return index < 0 ? Value::OptionalNone() : Value::OptionalOf(Value::Format(index));
    }
    case Fn::kFormatConst: {
      // "format.dns1123Label": the format named after the namespace.
      int index = FormatIndex(std::string_view(n.name).substr(n.name.rfind('.') + 1));
      if (index < 0) return Err("internal: unknown format " + n.name);
      return Value::Format(index);
    }
    case Fn::kFormatValidate: {
      if (!is(a, K::kFormat) || !is(b, K::kString)) return NoOverload(name, a, b);
      std::vector<std::string> errs = ValidateFormat(static_cast<int>(a.i), b.str());
      if (errs.empty()) return Value::OptionalNone();
      ValueList out;
      for (auto& e : errs) out.push_back(Value::String(std::move(e)));
      return Value::OptionalOf(Value::List(std::move(out)));
    }
    default:
      break;
  }
  return Err("internal: unknown function " + n.name);
}

}  // namespace drahil::allocator::cel::internal
