// File: cel_internal.hpp (private to the allocator module)
//
// Values, types and the syntax tree shared by the CEL lexer (cel_lex.cpp),
// parser (cel_parse.cpp), checker (cel_analyze.cpp) and evaluator
// (cel_eval.cpp).
#ifndef DRAHIL_ALLOCATOR_CEL_INTERNAL_HPP_INCLUDED
#define DRAHIL_ALLOCATOR_CEL_INTERNAL_HPP_INCLUDED

#include <cstdint>
#include <memory>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "drahil/allocator/cel.hpp"
#include "drahil/core/quantity.hpp"
#include "drahil/core/semver.hpp"

namespace drahil::allocator::cel::internal {

// Value: a CEL runtime value. Scalars live inline; strings, bytes, errors,
// lists, maps, quantities, semvers and optionals are shared immutable payloads
// so copying a value is cheap.
struct Value;
using ValueList = std::vector<Value>;
struct ValueMap;

// IpAddr: an IPv4 (the first 4 bytes) or IPv6 address, as Go's netip.Addr
// without zones (the Kubernetes IP library refuses zones and IPv4-mapped
// IPv6 addresses).
struct IpAddr {
  bool v6 = false;
  uint8_t b[16] = {};
  int size() const { return v6 ? 16 : 4; }
};
// CidrValue: a prefix as Go's netip.Prefix: the address as written (host
// bits kept) and the prefix length.
struct CidrValue {
  IpAddr addr;
  int bits = 0;
};
// TimestampValue: seconds since the Unix epoch (years 1..9999) and nanos.
struct TimestampValue {
  int64_t seconds = 0;
  int32_t nanos = 0;
};
// UrlValue: the parts of a URL as Go's url.URL keeps them.
struct UrlValue {
  std::string scheme, host, path, raw_path, raw_query, opaque;
  bool has_user = false;
};

struct Value {
  enum class Kind : uint8_t {
    kNull,
    kBool,
    kInt,
    kUint,
    kDouble,
    kString,
    kBytes,
    kList,
    kMap,
    kQuantity,
    kSemver,
    kOptional,
    kIp,         // Kubernetes IP library (library/ip.go): net.IP
    kCidr,       // Kubernetes CIDR library (library/cidr.go): net.CIDR
    kUrl,        // Kubernetes URL library (library/urls.go): kubernetes.URL
    kTimestamp,  // google.protobuf.Timestamp
    kDuration,   // google.protobuf.Duration: nanoseconds in `i`
    kFormat,     // Kubernetes format library (library/format.go): its index in `i`
    kError,
  };
  Kind kind = Kind::kNull;
  union {
    bool b;
    int64_t i;
    uint64_t u;
    double d;
  };
  std::shared_ptr<const void> p;

  Value() : i(0) {}
  static Value Bool(bool v) {
    Value x;
    x.kind = Kind::kBool;
    x.b = v;
    return x;
  }
  static Value Int(int64_t v) {
    Value x;
    x.kind = Kind::kInt;
    x.i = v;
    return x;
  }
  static Value Uint(uint64_t v) {
    Value x;
    x.kind = Kind::kUint;
    x.u = v;
    return x;
  }
  static Value Double(double v) {
    Value x;
    x.kind = Kind::kDouble;
    x.d = v;
    return x;
  }
  static Value String(std::string s) {
    return Shared(Kind::kString, std::make_shared<const std::string>(std::move(s)));
  }
  static Value Bytes(std::string s) {
    return Shared(Kind::kBytes, std::make_shared<const std::string>(std::move(s)));
  }
  static Value Error(std::string s) {
    return Shared(Kind::kError, std::make_shared<const std::string>(std::move(s)));
  }
  static Value List(ValueList l) {
    return Shared(Kind::kList, std::make_shared<const ValueList>(std::move(l)));
  }
  static Value Map(ValueMap m);
  static Value Quantity(drahil::Quantity q) {
    return Shared(Kind::kQuantity, std::make_shared<const drahil::Quantity>(std::move(q)));
  }
  static Value Semver(drahil::SemVer v) {
    return Shared(Kind::kSemver, std::make_shared<const drahil::SemVer>(std::move(v)));
  }
  // Optional: of(v) when v is given, none() otherwise.
  static Value OptionalOf(Value v) {
    return Shared(Kind::kOptional, std::make_shared<const Value>(std::move(v)));
  }
  static Value Duration(int64_t nanos) {
    Value x;
    x.kind = Kind::kDuration;
    x.i = nanos;
    return x;
  }
  static Value Format(int index) {
    Value x;
    x.kind = Kind::kFormat;
    x.i = index;
    return x;
  }
  static Value Timestamp(TimestampValue t);
  static Value Ip(IpAddr a);
  static Value Cidr(CidrValue c);
  static Value Url(UrlValue u);
  static Value OptionalNone() {
    Value x;
    x.kind = Kind::kOptional;
    return x;
  }

  bool is_error() const { return kind == Kind::kError; }
  const std::string& str() const { return *static_cast<const std::string*>(p.get()); }
  const ValueList& list() const { return *static_cast<const ValueList*>(p.get()); }
  const ValueMap& map() const;
  const drahil::Quantity& quantity() const {
    return *static_cast<const drahil::Quantity*>(p.get());
  }
  const drahil::SemVer& semver() const { return *static_cast<const drahil::SemVer*>(p.get()); }
  const TimestampValue& timestamp() const { return *static_cast<const TimestampValue*>(p.get()); }
  const IpAddr& ip() const { return *static_cast<const IpAddr*>(p.get()); }
  const CidrValue& cidr() const { return *static_cast<const CidrValue*>(p.get()); }
  const UrlValue& url() const { return *static_cast<const UrlValue*>(p.get()); }
  // optional_value(): nullptr for none().
  const Value* optional_value() const { return static_cast<const Value*>(p.get()); }

 private:
  static Value Shared(Kind k, std::shared_ptr<const void> ptr) {
    Value x;
    x.kind = k;
    x.p = std::move(ptr);
    return x;
  }
};

struct ValueMap {
  std::vector<std::pair<Value, Value>> entries;
  // missing_is_empty: lookups of absent keys yield an empty map instead of an
  // error. DRA's device.attributes and device.capacity behave this way for
  // unknown domains.
  bool missing_is_empty = false;
};

inline Value Value::Map(ValueMap m) {
  return Shared(Kind::kMap, std::make_shared<const ValueMap>(std::move(m)));
}
inline Value Value::Timestamp(TimestampValue t) {
  return Shared(Kind::kTimestamp, std::make_shared<const TimestampValue>(t));
}
inline Value Value::Ip(IpAddr a) { return Shared(Kind::kIp, std::make_shared<const IpAddr>(a)); }
inline Value Value::Cidr(CidrValue c) {
  return Shared(Kind::kCidr, std::make_shared<const CidrValue>(c));
}
inline Value Value::Url(UrlValue u) {
  return Shared(Kind::kUrl, std::make_shared<const UrlValue>(std::move(u)));
}
inline const ValueMap& Value::map() const { return *static_cast<const ValueMap*>(p.get()); }

const char* KindName(Value::Kind k);

// The Kubernetes format library's named formats (library/format.go
// ConstantFormats): FormatIndex("dns1123Label") → its index, -1 if unknown;
// ValidateFormat(index, s): the validation errors, empty when s is valid.
int FormatIndex(std::string_view name);
std::vector<std::string> ValidateFormat(int index, const std::string& s);

// Static types for the checker. kDyn accepts anything.
enum class TypeKind : uint8_t {
  kDyn,
  kNull,
  kBool,
  kInt,
  kUint,
  kDouble,
  kString,
  kBytes,
  kList,
  kMap,
  kQuantity,
  kSemver,
  kOptional,
  kDevice,
  kIp,
  kCidr,
  kUrl,
  kTimestamp,
  kDuration,
  kFormat,
};
struct Type {
  TypeKind kind = TypeKind::kDyn;
  std::shared_ptr<const Type> a;  // list element, map key, optional value
  std::shared_ptr<const Type> b;  // map value
};

// Built-in functions and methods, resolved by the checker.
enum class Fn : uint8_t {
  kSize,
  kContains,
  kStartsWith,
  kEndsWith,
  kMatches,
  kLowerAscii,
  kUpperAscii,
  kTrim,
  kToInt,
  kToUint,
  kToDouble,
  kToString,
  kToBytes,
  kToBool,
  kDyn,
  kQuantity,
  kIsQuantity,
  kSemver,
  kIsSemver,
  kCompareTo,
  kIsGreaterThan,
  kIsLessThan,
  kAdd,
  kSub,
  kAsInteger,
  kAsApproximateFloat,
  kIsInteger,
  kSign,
  kMajor,
  kMinor,
  kPatch,
  kOrValue,
  kHasValue,
  kValue,
  kOptionalOf,
  kOptionalNone,
  // cel-go ext.Strings (version 2)
  kCharAt,
  kIndexOf,  // also the Kubernetes list library's list.indexOf()
  kLastIndexOf,
  kReplace,
  kSplit,
  kSubstring,
  kJoin,
  kQuote,
  kFormat,
  // cel-go ext.Lists (version 3)
  kSlice,
  kFlatten,
  kDistinct,
  kReverse,
  kSort,
  kRange,
  // Kubernetes list library (library/lists.go)
  kIsSorted,
  kSum,
  kMin,
  kMax,
  // cel-go ext.Sets
  kSetsContains,
  kSetsEquivalent,
  kSetsIntersects,
  // Kubernetes regex library (library/regex.go)
  kFind,
  kFindAll,
  // Kubernetes IP and CIDR libraries (library/ip.go, library/cidr.go)
  kIp,
  kIsIp,
  kIpIsCanonical,
  kFamily,
  kIsUnspecified,
  kIsLoopback,
  kIsLinkLocalMulticast,
  kIsLinkLocalUnicast,
  kIsGlobalUnicast,
  kCidr,
  kIsCidr,
  kContainsIp,
  kContainsCidr,
  kPrefixLength,
  kMasked,
  kCidrIp,
  // Kubernetes URL library (library/urls.go)
  kUrl,
  kIsUrl,
  kGetScheme,
  kGetHost,
  kGetHostname,
  kGetPort,
  kGetEscapedPath,
  kGetQuery,
  kFormatNamed,     // format.named(string) → optional(format)
  kFormatConst,     // format.dns1123Label() ...: the format named after the dot
  kFormatValidate,  // <format>.validate(string) → optional(list(string))
  // timestamps and durations (the CEL standard library)
  kTimestamp,
  kDuration,
  kTimeGetter,  // getFullYear, getMonth, ..., getMilliseconds: by name
};

enum class Op : uint8_t {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kLt,
  kLe,
  kGt,
  kGe,
  kEq,
  kNe,
  kIn,
};

enum class NodeKind : uint8_t {
  kLiteral,    // literal
  kVar,        // slot (0 = device); before analysis slot = -1 and name is the identifier
  kSelect,     // args[0].name
  kOptSelect,  // args[0].?name
  kIndex,      // args[0][args[1]]
  kOptIndex,   // args[0][?args[1]]
  kHas,        // has(args[0].name): args[0] is the operand, name the field
  kCall,       // fn(args...); for methods args[0] is the receiver
  kList,       // [args...]
  kMap,        // {args[0]: args[1], ...}
  kAnd,
  kOr,
  kNot,
  kNeg,
  kCond,
  kBinary,         // op
  kComprehension,  // macro over args[0] with slot; args[1] predicate/transform, args[2] transform
  kBind,           // cel.bind: slot = args[0]; body args[1]
};

// The two-variable forms (cel-go ext.TwoVarComprehensions) bind Node::slot to
// the index or key and Node::slot2 to the value; sortBy is cel-go ext.Lists'.
enum class Macro : uint8_t {
  kAll,
  kExists,
  kExistsOne,
  kMap,
  kMapFilter,
  kFilter,
  kTransformList,
  kTransformListFilter,
  kTransformMap,
  kTransformMapFilter,
  kTransformMapEntry,  // the transform is a map whose entries are added
  kTransformMapEntryFilter,
  kSortBy,
};

struct Node {
  NodeKind kind = NodeKind::kLiteral;
  Op op = Op::kAdd;
  Fn fn = Fn::kSize;
  Macro macro = Macro::kAll;
  int slot = 0;
  int slot2 = -1;       // kComprehension: the value variable of a two-variable form
  bool method = false;  // kCall: receiver-style call (args[0] is the receiver)
  int pos = 0;          // byte offset in the expression, for messages
  std::string name;
  Value literal;
  std::vector<std::unique_ptr<Node>> args;
  std::shared_ptr<const std::regex> regex;  // precompiled literal pattern for matches()
};

struct ProgramData {
  std::string expression;
  std::unique_ptr<Node> root;
  int slots = 1;
  int64_t cost_limit = kDefaultCostLimit;
  uint64_t max_cost = 0;  // the static worst-case estimate (cel_cost.cpp)
};

struct DeviceData {
  Value device;  // a map with driver, attributes, capacity, allowMultipleAllocations
};

// CompileRegex(): RE2-compatible subset on std::regex (cel_lex.cpp). Fails
// with a message for constructs RE2 rejects (backreferences, lookaround) or
// std::regex lacks (\p classes, \Q..\E).
Result<std::shared_ptr<const std::regex>> CompileRegex(const std::string& pattern);

// CompileProgram(): parse + analyze (cel_parse.cpp).
Result<std::shared_ptr<const ProgramData>> CompileProgram(std::string_view expression,
                                                          const CompileOptions& options);

// AnalyzeProgram(): expands macros, binds variables to slots, resolves
// functions and checks types of prog->root in place (cel_analyze.cpp);
// InvalidArgument with the position for an ill-typed expression or one
// that is neither bool nor dyn.
Status AnalyzeProgram(ProgramData* prog, const CompileOptions& options);

// EstimateMaxCost(): the worst-case cost of an analysed program
// (cel_cost.cpp), saturating at UINT64_MAX.
uint64_t EstimateMaxCost(const ProgramData& prog);

// Helpers shared by parser (constant folding of literals) and evaluator.
bool ValueEquals(const Value& a, const Value& b);

}  // namespace drahil::allocator::cel::internal

#endif  // DRAHIL_ALLOCATOR_CEL_INTERNAL_HPP_INCLUDED
