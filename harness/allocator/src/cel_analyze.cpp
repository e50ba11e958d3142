// CEL checker for DRA selectors: macro expansion, variable binding,
// function resolution and type checking over the parsed tree, in one pass.
#include <string>
#include <utility>
#include <vector>

#include "cel_functions.hpp"
#include "cel_internal.hpp"
#include "cel_lex.hpp"

namespace drahil::allocator::cel::internal {
namespace {

using NodePtr = std::unique_ptr<Node>;

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
    case TypeKind::kDyn:
      return "dyn";
    case TypeKind::kNull:
      return "null_type";
    case TypeKind::kBool:
      return "bool";
    case TypeKind::kInt:
      return "int";
    case TypeKind::kUint:
      return "uint";
    case TypeKind::kDouble:
      return "double";
    case TypeKind::kString:
      return "string";
    case TypeKind::kBytes:
      return "bytes";
    case TypeKind::kList:
      return "list(" + TypeName(t->a) + ")";
    case TypeKind::kMap:
      return "map(" + TypeName(t->a) + ", " + TypeName(t->b) + ")";
    case TypeKind::kQuantity:
      return "kubernetes.Quantity";
    case TypeKind::kSemver:
      return "kubernetes.Semver";
    case TypeKind::kOptional:
      return "optional_type(" + TypeName(t->a) + ")";
    case TypeKind::kDevice:
      return "kubernetes.DRADevice";
    case TypeKind::kIp:
      return "net.IP";
    case TypeKind::kCidr:
      return "net.CIDR";
    case TypeKind::kUrl:
      return "kubernetes.URL";
    case TypeKind::kTimestamp:
      return "google.protobuf.Timestamp";
    case TypeKind::kDuration:
      return "google.protobuf.Duration";
    case TypeKind::kFormat:
      return "kubernetes.NamedFormat";
  }
  return "?";
}

bool IsDyn(const TypePtr& t) { return t->kind == TypeKind::kDyn; }
bool IsNumeric(TypeKind k) {
  return k == TypeKind::kInt || k == TypeKind::kUint || k == TypeKind::kDouble;
}
// Accepts(): may a value of type `have` be passed where `want` is expected?
bool Accepts(TypeKind want, const TypePtr& have) {
  return have->kind == TypeKind::kDyn || have->kind == want;
}

TypePtr LiteralType(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNull:
      return T(TypeKind::kNull);
    case Value::Kind::kBool:
      return T(TypeKind::kBool);
    case Value::Kind::kInt:
      return T(TypeKind::kInt);
    case Value::Kind::kUint:
      return T(TypeKind::kUint);
    case Value::Kind::kDouble:
      return T(TypeKind::kDouble);
    case Value::Kind::kString:
      return T(TypeKind::kString);
    case Value::Kind::kBytes:
      return T(TypeKind::kBytes);
    default:
      return T(TypeKind::kDyn);
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
  // The Kubernetes minor release whose base environment (apiserver
  // pkg/cel/environment/base.go) introduced the library; 0 for those every
  // release has (the standard library, and those base.go files under 1.0 or
  // dynamic-resource-allocation/cel/compile.go adds at 1.31: semver,
  // cel.bind).
  int since = 0;
};

// Introduced versions from base.go.
constexpr int kStringsV2 = 29;  // ext.Strings(ext.StringsVersion(2))
constexpr int kSets = 29;       // ext.Sets()
constexpr int kIpCidr = 30;     // library.IP, library.CIDR
constexpr int kFormatLib = 31;  // library.Format
constexpr int kTwoVar = 32;     // ext.TwoVarComprehensions()
constexpr int kExtLists = 34;   // ext.Lists(ext.ListsVersion(3))

const FnSpec kFunctions[] = {
    {"size", false, 1, Fn::kSize},
    {"size", true, 0, Fn::kSize},
    {"contains", true, 1, Fn::kContains},
    {"startsWith", true, 1, Fn::kStartsWith},
    {"endsWith", true, 1, Fn::kEndsWith},
    {"matches", true, 1, Fn::kMatches},
    {"matches", false, 2, Fn::kMatches},
    {"lowerAscii", true, 0, Fn::kLowerAscii},
    {"upperAscii", true, 0, Fn::kUpperAscii},
    {"trim", true, 0, Fn::kTrim},
    {"int", false, 1, Fn::kToInt},
    {"uint", false, 1, Fn::kToUint},
    {"double", false, 1, Fn::kToDouble},
    {"string", false, 1, Fn::kToString},
    {"bytes", false, 1, Fn::kToBytes},
    {"bool", false, 1, Fn::kToBool},
    {"dyn", false, 1, Fn::kDyn},
    {"quantity", false, 1, Fn::kQuantity},
    {"isQuantity", false, 1, Fn::kIsQuantity},
    {"semver", false, -1, Fn::kSemver},
    {"isSemver", false, -1, Fn::kIsSemver},
    {"compareTo", true, 1, Fn::kCompareTo},
    {"isGreaterThan", true, 1, Fn::kIsGreaterThan},
    {"isLessThan", true, 1, Fn::kIsLessThan},
    {"add", true, 1, Fn::kAdd},
    {"sub", true, 1, Fn::kSub},
    {"asInteger", true, 0, Fn::kAsInteger},
    {"asApproximateFloat", true, 0, Fn::kAsApproximateFloat},
    {"isInteger", true, 0, Fn::kIsInteger},
    {"sign", true, 0, Fn::kSign},
    {"major", true, 0, Fn::kMajor},
    {"minor", true, 0, Fn::kMinor},
    {"patch", true, 0, Fn::kPatch},
    {"orValue", true, 1, Fn::kOrValue},
    {"hasValue", true, 0, Fn::kHasValue},
    {"value", true, 0, Fn::kValue},
    // cel-go ext.Strings, version 2 (lowerAscii, upperAscii and trim above
    // are part of it too; before 1.29 Kubernetes had version 0).
    {"charAt", true, 1, Fn::kCharAt, kStringsV2},
    {"indexOf", true, -1, Fn::kIndexOf, kStringsV2},
    {"lastIndexOf", true, -1, Fn::kLastIndexOf, kStringsV2},
    {"replace", true, 2, Fn::kReplace, kStringsV2},
    {"replace", true, 3, Fn::kReplace, kStringsV2},
    {"split", true, -1, Fn::kSplit, kStringsV2},
    {"substring", true, -1, Fn::kSubstring, kStringsV2},
    {"join", true, 0, Fn::kJoin, kStringsV2},
    {"join", true, 1, Fn::kJoin, kStringsV2},
    {"strings.quote", false, 1, Fn::kQuote, kStringsV2},
    {"format", true, 1, Fn::kFormat, kStringsV2},
    // cel-go ext.Lists, version 3 (sortBy is a macro).
    {"slice", true, 2, Fn::kSlice, kExtLists},
    {"flatten", true, 0, Fn::kFlatten, kExtLists},
    {"flatten", true, 1, Fn::kFlatten, kExtLists},
    {"distinct", true, 0, Fn::kDistinct, kExtLists},
    {"reverse", true, 0, Fn::kReverse, kExtLists},
    {"sort", true, 0, Fn::kSort, kExtLists},
    {"lists.range", false, 1, Fn::kRange, kExtLists},
    // Kubernetes list library (library/lists.go), in every release.
    {"isSorted", true, 0, Fn::kIsSorted},
    {"sum", true, 0, Fn::kSum},
    {"min", true, 0, Fn::kMin},
    {"max", true, 0, Fn::kMax},
    // cel-go ext.Sets.
    {"sets.contains", false, 2, Fn::kSetsContains, kSets},
    {"sets.equivalent", false, 2, Fn::kSetsEquivalent, kSets},
    {"sets.intersects", false, 2, Fn::kSetsIntersects, kSets},
    // Kubernetes regex library (library/regex.go), in every release.
    {"find", true, 1, Fn::kFind},
    {"findAll", true, 1, Fn::kFindAll},
    {"findAll", true, 2, Fn::kFindAll},
    // Kubernetes IP and CIDR libraries (library/ip.go, library/cidr.go).
    {"ip", false, 1, Fn::kIp, kIpCidr},
    {"isIP", false, 1, Fn::kIsIp, kIpCidr},
    {"ip.isCanonical", false, 1, Fn::kIpIsCanonical, kIpCidr},
    {"family", true, 0, Fn::kFamily, kIpCidr},
    {"isUnspecified", true, 0, Fn::kIsUnspecified, kIpCidr},
    {"isLoopback", true, 0, Fn::kIsLoopback, kIpCidr},
    {"isLinkLocalMulticast", true, 0, Fn::kIsLinkLocalMulticast, kIpCidr},
    {"isLinkLocalUnicast", true, 0, Fn::kIsLinkLocalUnicast, kIpCidr},
    {"isGlobalUnicast", true, 0, Fn::kIsGlobalUnicast, kIpCidr},
    {"cidr", false, 1, Fn::kCidr, kIpCidr},
    {"isCIDR", false, 1, Fn::kIsCidr, kIpCidr},
    {"containsIP", true, 1, Fn::kContainsIp, kIpCidr},
    {"containsCIDR", true, 1, Fn::kContainsCidr, kIpCidr},
    {"prefixLength", true, 0, Fn::kPrefixLength, kIpCidr},
    {"masked", true, 0, Fn::kMasked, kIpCidr},
    {"ip", true, 0, Fn::kCidrIp, kIpCidr},
    // Kubernetes format library (library/format.go): format.named() and a
    // function per named format, each with validate().
    {"format.named", false, 1, Fn::kFormatNamed, kFormatLib},
    {"format.dns1123Label", false, 0, Fn::kFormatConst, kFormatLib},
    {"format.dns1123Subdomain", false, 0, Fn::kFormatConst, kFormatLib},
    {"format.dns1035Label", false, 0, Fn::kFormatConst, kFormatLib},
    {"format.qualifiedName", false, 0, Fn::kFormatConst, kFormatLib},
    {"format.dns1123LabelPrefix", false, 0, Fn::kFormatConst, kFormatLib},
    {"format.dns1123SubdomainPrefix", false, 0, Fn::kFormatConst, kFormatLib},
    {"format.dns1035LabelPrefix", false, 0, Fn::kFormatConst, kFormatLib},
    {"format.labelValue", false, 0, Fn::kFormatConst, kFormatLib},
    {"format.uri", false, 0, Fn::kFormatConst, kFormatLib},
    {"format.uuid", false, 0, Fn::kFormatConst, kFormatLib},
    {"format.byte", false, 0, Fn::kFormatConst, kFormatLib},
    {"format.date", false, 0, Fn::kFormatConst, kFormatLib},
    {"format.datetime", false, 0, Fn::kFormatConst, kFormatLib},
    {"validate", true, 1, Fn::kFormatValidate, kFormatLib},
    // Kubernetes URL library (library/urls.go), in every release.
    {"url", false, 1, Fn::kUrl},
    {"isURL", false, 1, Fn::kIsUrl},
    {"getScheme", true, 0, Fn::kGetScheme},
    {"getHost", true, 0, Fn::kGetHost},
    {"getHostname", true, 0, Fn::kGetHostname},
    {"getPort", true, 0, Fn::kGetPort},
    {"getEscapedPath", true, 0, Fn::kGetEscapedPath},
    {"getQuery", true, 0, Fn::kGetQuery},
    // Timestamps and durations (CEL standard library).
    {"timestamp", false, 1, Fn::kTimestamp},
    {"duration", false, 1, Fn::kDuration},
    {"getFullYear", true, -1, Fn::kTimeGetter},
    {"getMonth", true, -1, Fn::kTimeGetter},
    {"getDate", true, -1, Fn::kTimeGetter},
    {"getDayOfMonth", true, -1, Fn::kTimeGetter},
    {"getDayOfYear", true, -1, Fn::kTimeGetter},
    {"getDayOfWeek", true, -1, Fn::kTimeGetter},
    {"getHours", true, -1, Fn::kTimeGetter},
    {"getMinutes", true, -1, Fn::kTimeGetter},
    {"getSeconds", true, -1, Fn::kTimeGetter},
    {"getMilliseconds", true, -1, Fn::kTimeGetter},
    {"getFullYear", true, 0, Fn::kTimeGetter},
    {"getMonth", true, 0, Fn::kTimeGetter},
    {"getDate", true, 0, Fn::kTimeGetter},
    {"getDayOfMonth", true, 0, Fn::kTimeGetter},
    {"getDayOfYear", true, 0, Fn::kTimeGetter},
    {"getDayOfWeek", true, 0, Fn::kTimeGetter},
    {"getHours", true, 0, Fn::kTimeGetter},
    {"getMinutes", true, 0, Fn::kTimeGetter},
    {"getSeconds", true, 0, Fn::kTimeGetter},
    {"getMilliseconds", true, 0, Fn::kTimeGetter},
};

class Analyzer {
 public:
  Analyzer(std::string_view text, ProgramData* prog, const CompileOptions& options)
      : text_(text), prog_(prog) {
    // The newest library a selector may use: the release itself for stored
    // expressions, its minimum compatibility version (one minor below,
    // environment.DefaultCompatibilityVersion()) for new ones.
    max_since_ = options.version.minor - (options.environment == Environment::kNew ? 1 : 0);
  }

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
        TypePtr elem, first;
        for (auto& a : n.args) {
          DRAHIL_ASSIGN_OR_RETURN(TypePtr t, Analyze(*a));
          DRAHIL_RETURN_IF_ERROR(Homogeneous(*a, &first, t));
          elem = elem ? Join(elem, t) : t;
        }
        return T(TypeKind::kList, elem ? elem : T(TypeKind::kDyn));
      }
      case NodeKind::kMap: {
        TypePtr k, v, first_k, first_v;
        for (size_t i = 0; i < n.args.size(); i += 2) {
          DRAHIL_ASSIGN_OR_RETURN(TypePtr kt, Analyze(*n.args[i]));
          DRAHIL_ASSIGN_OR_RETURN(TypePtr vt, Analyze(*n.args[i + 1]));
          if (!(IsDyn(kt) || kt->kind == TypeKind::kString || kt->kind == TypeKind::kInt ||
                kt->kind == TypeKind::kUint || kt->kind == TypeKind::kBool)) {
            return Err(n.args[i]->pos, "unsupported map key type '" + TypeName(kt) + "'");
          }
          DRAHIL_RETURN_IF_ERROR(Homogeneous(*n.args[i], &first_k, kt));
          DRAHIL_RETURN_IF_ERROR(Homogeneous(*n.args[i + 1], &first_v, vt));
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
            const char* op =
                n.kind == NodeKind::kAnd ? "_&&_" : (n.kind == NodeKind::kOr ? "_||_" : "!_");
            return Err(a->pos, std::string("found no matching overload for '") + op +
                                   "' applied to '" + TypeName(t) + "'");
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
          return Err(n.args[0]->pos,
                     "conditional requires a bool condition, got '" + TypeName(c) + "'");
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

  // Assignable(): may a value of type `b` stand where `a` is expected, dyn
  // matching anything?
  static bool Assignable(const TypePtr& a, const TypePtr& b) {
    if (!a || !b || IsDyn(a) || IsDyn(b)) return true;
    if (a->kind != b->kind) return false;
    return Assignable(a->a, b->a) && Assignable(a->b, b->b);
  }

  // Homogeneous(): cel.HomogeneousAggregateLiterals (base.go, every
  // release): the elements (keys, values) of a list or map literal share one
  // type; `first` is the first element's type that is not dyn.
  Status Homogeneous(const Node& elem, TypePtr* first, const TypePtr& t) const {
    if (IsDyn(t)) return OkStatus();
    if (!*first) {
      *first = t;
      return OkStatus();
    }
    if (Assignable(*first, t)) return OkStatus();
    return Err(elem.pos,
               "expected type '" + TypeName(*first) + "' but found '" + TypeName(t) + "'");
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
    return Undeclared(n, n.name);
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
          return Err(n.args[1]->pos,
                     "map key must be '" + TypeName(operand->a) + "', got '" + TypeName(idx) + "'");
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
    static const char* const kOpNames[] = {"_+_",  "_-_", "_*_",  "_/_",  "_%_",  "_<_",
                                           "_<=_", "_>_", "_>=_", "_==_", "_!=_", "@in"};
    auto no_overload = [&]() {
      return Err(n.pos, std::string("found no matching overload for '") +
                            kOpNames[static_cast<int>(n.op)] + "' applied to '(" + TypeName(a) +
                            ", " + TypeName(b) + ")'");
    };
    bool dyn = IsDyn(a) || IsDyn(b);
    if (!dyn && (IsTime(a->kind) || IsTime(b->kind))) return TimeBinary(n, a, b, no_overload);
    switch (n.op) {
      case Op::kAdd:
        if (dyn) return IsDyn(a) ? b : a;
        if (a->kind == b->kind &&
            (IsNumeric(a->kind) || a->kind == TypeKind::kString || a->kind == TypeKind::kBytes)) {
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
        if (a->kind == b->kind && (a->kind == TypeKind::kInt || a->kind == TypeKind::kUint))
          return a;
        return no_overload();
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe: {
        auto orderable = [](TypeKind k) {
          return IsNumeric(k) || k == TypeKind::kString || k == TypeKind::kBytes ||
                 k == TypeKind::kBool;
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
        if (dyn || a->kind == TypeKind::kNull || b->kind == TypeKind::kNull)
          return T(TypeKind::kBool);
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

  static bool IsTime(TypeKind k) { return k == TypeKind::kTimestamp || k == TypeKind::kDuration; }

  // TimeBinary(): operators on timestamps and durations: ts - ts and
  // d ± d are durations, ts ± d and d + ts timestamps; both orderable.
  template <typename F>
  Result<TypePtr> TimeBinary(const Node& n, const TypePtr& a, const TypePtr& b, F no_overload) {
    using K = TypeKind;
    switch (n.op) {
      case Op::kAdd:
        if (a->kind == K::kDuration && b->kind == K::kDuration) return a;
        if (a->kind == K::kTimestamp && b->kind == K::kDuration) return a;
        if (a->kind == K::kDuration && b->kind == K::kTimestamp) return b;
        return no_overload();
      case Op::kSub:
        if (a->kind == K::kTimestamp && b->kind == K::kTimestamp) return T(K::kDuration);
        if (b->kind == K::kDuration && IsTime(a->kind)) return a;
        return no_overload();
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe:
      case Op::kEq:
      case Op::kNe:
        if (a->kind == b->kind) return T(K::kBool);
        if ((n.op == Op::kEq || n.op == Op::kNe) && (a->kind == K::kNull || b->kind == K::kNull)) {
          return T(K::kBool);
        }
        return no_overload();
      case Op::kIn:
        if (b->kind == K::kList || b->kind == K::kMap) return T(K::kBool);
        return no_overload();
      default:
        return no_overload();
    }
  }

  // IsComprehensionMacro(): the method names cel-go expands as
  // comprehensions (standard macros, ext.TwoVarComprehensions, ext.Lists'
  // sortBy).
  static bool IsComprehensionMacro(const std::string& name) {
    return name == "all" || name == "exists" || name == "exists_one" || name == "map" ||
           name == "filter" || name == "existsOne" || name == "transformList" ||
           name == "transformMap" || name == "transformMapEntry" || name == "sortBy";
  }

  // IsNamespaceCall(): a method call on an undeclared name, which names a
  // function namespace (cel.bind, optional.of).
  bool IsNamespaceCall(const Node& n) const {
    return n.method && n.args[0]->kind == NodeKind::kVar && n.args[0]->slot == -1 &&
           !InScope(n.args[0]->name);
  }

  Result<TypePtr> AnalyzeCall(Node& n) {
    // Macros first: they are recognised by name and shape, as cel-go does.
    if (!n.method && n.name == "has") return AnalyzeHas(n);
    if (n.method && IsComprehensionMacro(n.name)) return AnalyzeComprehension(n);
    if (IsNamespaceCall(n)) {
      const std::string& ns = n.args[0]->name;
      if (ns == "cel" && n.name == "bind") return AnalyzeBind(n);
      if (ns == "optional" && (n.name == "of" || n.name == "none")) return AnalyzeOptional(n);
      if (ns == "sets" || ns == "lists" || ns == "strings" || ns == "ip" || ns == "format") {
        // A qualified function name (sets.contains, lists.range,
        // strings.quote, ip.isCanonical, format.named): a global call.
        n.name = ns + "." + n.name;
        n.args.erase(n.args.begin());
        n.method = false;
      } else if (ns != "device") {
        return Err(n.pos, "unsupported function '" + ns + "." + n.name + "'");
      }
    }
    DRAHIL_ASSIGN_OR_RETURN(const FnSpec* spec, ResolveFunction(n));
    n.fn = spec->fn;
    std::vector<TypePtr> at;
    for (auto& a : n.args) {
      DRAHIL_ASSIGN_OR_RETURN(TypePtr t, Analyze(*a));
      at.push_back(std::move(t));
    }
    return CallType(n, at);
  }

  // AnalyzeOptional(): optional.of(x) and optional.none(), rewritten as
  // global calls.
  Result<TypePtr> AnalyzeOptional(Node& n) {
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

  // ResolveFunction(): the overload of kFunctions a call names, by name,
  // call style and argument count.
  Result<const FnSpec*> ResolveFunction(const Node& n) const {
    int nargs = static_cast<int>(n.args.size()) - (n.method ? 1 : 0);
    bool name_known = false;
    bool unavailable = false;
    for (const FnSpec& s : kFunctions) {
      if (n.name != s.name || s.method != n.method) continue;
      if (!Available(s.since)) {
        unavailable = true;
        continue;
      }
      name_known = true;
      if (s.nargs == nargs || (s.nargs == -1 && (nargs == 1 || nargs == 2))) return &s;
    }
    if (unavailable && !name_known) return Undeclared(n, n.name);
    std::string what = n.method ? "method" : "function";
    if (name_known) return Err(n.pos, "wrong number of arguments to " + what + " '" + n.name + "'");
    return Err(n.pos, "unsupported " + what + " '" + n.name + "'");
  }

  // Want(): argument `i` of call `n` (argument types `at`, the receiver
  // first) must be dyn or one of `kinds`. The global form of matches(s, re)
  // is unified with the method form.
  Status Want(const Node& n, const std::vector<TypePtr>& at, size_t i,
              std::initializer_list<TypeKind> kinds) const {
    if (IsDyn(at[i])) return OkStatus();
    for (TypeKind k : kinds) {
      if (at[i]->kind == k) return OkStatus();
    }
    std::string sig = n.name + "(";
    for (size_t j = 0; j < at.size(); ++j) sig += (j ? ", " : "") + TypeName(at[j]);
    return Err(n.args[i]->pos, "found no matching overload for '" + sig + ")'");
  }

  static bool IsStringLiteral(const Node& n) {
    return n.kind == NodeKind::kLiteral && n.literal.kind == Value::Kind::kString;
  }

  // PrecompileRegex(): a literal pattern of matches() is compiled once, here.
  Status PrecompileRegex(Node& n) const {
    if (n.fn != Fn::kMatches || !IsStringLiteral(*n.args[1])) return OkStatus();
    auto re = CompileRegex(n.args[1]->literal.str());
    if (!re.ok()) return Err(n.args[1]->pos, re.status().message());
    n.regex = *re;
    return OkStatus();
  }

  // CheckQuantityLiteral(): quantity("...") of a literal must parse.
  Status CheckQuantityLiteral(const Node& n) const {
    if (!IsStringLiteral(*n.args[0])) return OkStatus();
    auto q = Quantity::Parse(n.args[0]->literal.str());
    if (!q.ok()) return Err(n.args[0]->pos, "invalid quantity literal: " + q.status().message());
    return OkStatus();
  }

  // CheckSemverLiteral(): semver("..."[, normalize]) of literals must parse.
  Status CheckSemverLiteral(const Node& n) const {
    size_t nargs = n.args.size();
    if (n.fn != Fn::kSemver || !IsStringLiteral(*n.args[0])) return OkStatus();
    if (nargs != 1 && n.args[1]->kind != NodeKind::kLiteral) return OkStatus();
    bool normalize =
        nargs == 2 && n.args[1]->literal.kind == Value::Kind::kBool && n.args[1]->literal.b;
    auto v = SemVer::Parse(n.args[0]->literal.str(), normalize);
    if (!v.ok()) return Err(n.args[0]->pos, "invalid semver literal: " + v.status().message());
    return OkStatus();
  }

  // CheckComparable(): compareTo() and friends compare two quantities or two
  // semvers, not one of each.
  Status CheckComparable(const Node& n, const std::vector<TypePtr>& at) const {
    if (IsDyn(at[0]) || IsDyn(at[1]) || at[0]->kind == at[1]->kind) return OkStatus();
    return Err(n.pos, "found no matching overload for '" + n.name + "' applied to '" +
                          TypeName(at[0]) + "." + n.name + "(" + TypeName(at[1]) + ")'");
  }

  // OptionalResultType(): the type of orValue(), hasValue() and value().
  static TypePtr OptionalResultType(const Node& n, const std::vector<TypePtr>& at) {
    if (n.fn == Fn::kHasValue) return T(TypeKind::kBool);
    if (IsDyn(at[0])) return T(TypeKind::kDyn);
    if (n.fn == Fn::kOrValue) return Join(at[0]->a, at[1]);
    return at[0]->a;
  }

  // CallType(): checks the argument types `at` of the resolved call `n`
  // (and its literal arguments where they can be checked now); its type.
  Result<TypePtr> CallType(Node& n, const std::vector<TypePtr>& at) {
    using K = TypeKind;
    switch (n.fn) {
      case Fn::kSize:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kString, K::kBytes, K::kList, K::kMap}));
        return T(K::kInt);
      case Fn::kContains:
      case Fn::kStartsWith:
      case Fn::kEndsWith:
      case Fn::kMatches:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kString}));
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 1, {K::kString}));
        DRAHIL_RETURN_IF_ERROR(PrecompileRegex(n));
        return T(K::kBool);
      case Fn::kLowerAscii:
      case Fn::kUpperAscii:
      case Fn::kTrim:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kString}));
        return T(K::kString);
      case Fn::kToInt:
        DRAHIL_RETURN_IF_ERROR(
            Want(n, at, 0, {K::kInt, K::kUint, K::kDouble, K::kString, K::kTimestamp}));
        return T(K::kInt);
      case Fn::kToUint:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kInt, K::kUint, K::kDouble, K::kString}));
        return T(K::kUint);
      case Fn::kToDouble:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kInt, K::kUint, K::kDouble, K::kString}));
        return T(K::kDouble);
      case Fn::kToString:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0,
                                    {K::kInt, K::kUint, K::kDouble, K::kString, K::kBytes, K::kBool,
                                     K::kIp, K::kCidr, K::kTimestamp, K::kDuration}));
        return T(K::kString);
      case Fn::kToBytes:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kString, K::kBytes}));
        return T(K::kBytes);
      case Fn::kToBool:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kString, K::kBool}));
        return T(K::kBool);
      case Fn::kDyn:
        return T(K::kDyn);
      case Fn::kQuantity:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kString}));
        DRAHIL_RETURN_IF_ERROR(CheckQuantityLiteral(n));
        return T(K::kQuantity);
      case Fn::kIsQuantity:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kString}));
        return T(K::kBool);
      case Fn::kSemver:
      case Fn::kIsSemver:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kString}));
        if (at.size() == 2) DRAHIL_RETURN_IF_ERROR(Want(n, at, 1, {K::kBool}));
        DRAHIL_RETURN_IF_ERROR(CheckSemverLiteral(n));
        return T(n.fn == Fn::kSemver ? K::kSemver : K::kBool);
      case Fn::kCompareTo:
      case Fn::kIsGreaterThan:
      case Fn::kIsLessThan:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kQuantity, K::kSemver}));
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 1, {K::kQuantity, K::kSemver}));
        DRAHIL_RETURN_IF_ERROR(CheckComparable(n, at));
        return T(n.fn == Fn::kCompareTo ? K::kInt : K::kBool);
      case Fn::kAdd:
      case Fn::kSub:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kQuantity}));
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 1, {K::kQuantity, K::kInt}));
        return T(K::kQuantity);
      case Fn::kAsInteger:
      case Fn::kSign:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kQuantity}));
        return T(K::kInt);
      case Fn::kAsApproximateFloat:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kQuantity}));
        return T(K::kDouble);
      case Fn::kIsInteger:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kQuantity}));
        return T(K::kBool);
      case Fn::kMajor:
      case Fn::kMinor:
      case Fn::kPatch:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kSemver}));
        return T(K::kInt);
      case Fn::kOrValue:
      case Fn::kHasValue:
      case Fn::kValue:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kOptional}));
        return OptionalResultType(n, at);
      case Fn::kOptionalOf:
      case Fn::kOptionalNone:
        break;
      default:
        return LibraryCallType(n, at);
    }
    return Err(n.pos, "internal: unresolved function");
  }

  static TypePtr ElemType(const TypePtr& list) {
    return list->kind == TypeKind::kList && list->a ? list->a : T(TypeKind::kDyn);
  }

  // PrecompileFind(): find()/findAll() of a literal pattern: compiled once,
  // and refused now when invalid (cel.ValidateRegexLiterals, base.go 1.29).
  Status PrecompileFind(Node& n) const {
    if (!IsStringLiteral(*n.args[1])) return OkStatus();
    auto re = CompileRegex(n.args[1]->literal.str());
    if (!re.ok()) return Err(n.args[1]->pos, re.status().message());
    n.regex = *re;
    return OkStatus();
  }

  // LibraryCallType(): the extension libraries of the base environment.
  Result<TypePtr> LibraryCallType(Node& n, const std::vector<TypePtr>& at) {
    using K = TypeKind;
    switch (n.fn) {
      case Fn::kCharAt:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kString}));
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 1, {K::kInt}));
        return T(K::kString);
      case Fn::kIndexOf:
      case Fn::kLastIndexOf:
        // string.indexOf(string[, int]) (ext.Strings) or
        // list.indexOf(elem) (Kubernetes list library).
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kString, K::kList}));
        if (at[0]->kind == K::kString) {
          DRAHIL_RETURN_IF_ERROR(Want(n, at, 1, {K::kString}));
          if (at.size() == 3) DRAHIL_RETURN_IF_ERROR(Want(n, at, 2, {K::kInt}));
        } else if (at.size() == 3) {
          return Err(n.pos, "found no matching overload for '" + n.name + "' applied to '" +
                                TypeName(at[0]) + ".(" + TypeName(at[1]) + ", " + TypeName(at[2]) +
                                ")'");
        }
        return T(K::kInt);
      case Fn::kReplace:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kString}));
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 1, {K::kString}));
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 2, {K::kString}));
        if (at.size() == 4) DRAHIL_RETURN_IF_ERROR(Want(n, at, 3, {K::kInt}));
        return T(K::kString);
      case Fn::kSplit:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kString}));
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 1, {K::kString}));
        if (at.size() == 3) DRAHIL_RETURN_IF_ERROR(Want(n, at, 2, {K::kInt}));
        return T(K::kList, T(K::kString));
      case Fn::kSubstring:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kString}));
        for (size_t i = 1; i < at.size(); ++i) DRAHIL_RETURN_IF_ERROR(Want(n, at, i, {K::kInt}));
        return T(K::kString);
      case Fn::kJoin:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kList}));
        if (!IsDyn(at[0]) && !IsDyn(ElemType(at[0])) && ElemType(at[0])->kind != K::kString) {
          return Want(n, at, 0, {});
        }
        if (at.size() == 2) DRAHIL_RETURN_IF_ERROR(Want(n, at, 1, {K::kString}));
        return T(K::kString);
      case Fn::kQuote:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kString}));
        return T(K::kString);
      case Fn::kFormat:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kString}));
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 1, {K::kList}));
        return T(K::kString);
      case Fn::kSlice:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kList}));
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 1, {K::kInt}));
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 2, {K::kInt}));
        return at[0];
      case Fn::kFlatten: {
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kList}));
        if (at.size() == 2) {
          DRAHIL_RETURN_IF_ERROR(Want(n, at, 1, {K::kInt}));
          return T(K::kList, T(K::kDyn));
        }
        TypePtr e = ElemType(at[0]);
        return e->kind == K::kList ? e : T(K::kList, T(K::kDyn));
      }
      case Fn::kDistinct:
      case Fn::kReverse:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kList}));
        return at[0];
      case Fn::kSort:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kList}));
        DRAHIL_RETURN_IF_ERROR(WantOrderedElems(n, at));
        return at[0];
      case Fn::kRange:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kInt}));
        return T(K::kList, T(K::kInt));
      case Fn::kIsSorted:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kList}));
        DRAHIL_RETURN_IF_ERROR(WantOrderedElems(n, at));
        return T(K::kBool);
      case Fn::kSum: {
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kList}));
        TypePtr e = ElemType(at[0]);
        if (!IsDyn(e) && !IsNumeric(e->kind)) return Want(n, at, 0, {});
        return e;
      }
      case Fn::kMin:
      case Fn::kMax:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kList}));
        DRAHIL_RETURN_IF_ERROR(WantOrderedElems(n, at));
        return ElemType(at[0]);
      case Fn::kSetsContains:
      case Fn::kSetsEquivalent:
      case Fn::kSetsIntersects:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kList}));
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 1, {K::kList}));
        return T(K::kBool);
      case Fn::kFind:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kString}));
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 1, {K::kString}));
        DRAHIL_RETURN_IF_ERROR(PrecompileFind(n));
        return T(K::kString);
      case Fn::kFindAll:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kString}));
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 1, {K::kString}));
        if (at.size() == 3) DRAHIL_RETURN_IF_ERROR(Want(n, at, 2, {K::kInt}));
        DRAHIL_RETURN_IF_ERROR(PrecompileFind(n));
        return T(K::kList, T(K::kString));
      case Fn::kIp:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kString}));
        return T(K::kIp);
      case Fn::kCidr:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kString}));
        return T(K::kCidr);
      case Fn::kUrl:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kString}));
        return T(K::kUrl);
      case Fn::kIsIp:
      case Fn::kIsCidr:
      case Fn::kIsUrl:
      case Fn::kIpIsCanonical:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kString}));
        return T(K::kBool);
      case Fn::kFamily:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kIp}));
        return T(K::kInt);
      case Fn::kIsUnspecified:
      case Fn::kIsLoopback:
      case Fn::kIsLinkLocalMulticast:
      case Fn::kIsLinkLocalUnicast:
      case Fn::kIsGlobalUnicast:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kIp}));
        return T(K::kBool);
      case Fn::kContainsIp:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kCidr}));
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 1, {K::kIp, K::kString}));
        return T(K::kBool);
      case Fn::kContainsCidr:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kCidr}));
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 1, {K::kCidr, K::kString}));
        return T(K::kBool);
      case Fn::kPrefixLength:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kCidr}));
        return T(K::kInt);
      case Fn::kMasked:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kCidr}));
        return T(K::kCidr);
      case Fn::kCidrIp:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kCidr}));
        return T(K::kIp);
      case Fn::kGetScheme:
      case Fn::kGetHost:
      case Fn::kGetHostname:
      case Fn::kGetPort:
      case Fn::kGetEscapedPath:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kUrl}));
        return T(K::kString);
      case Fn::kGetQuery:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kUrl}));
        return T(K::kMap, T(K::kString), T(K::kList, T(K::kString)));
      case Fn::kFormatNamed:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kString}));
        return T(K::kOptional, T(K::kFormat));
      case Fn::kFormatConst:
        return T(K::kFormat);
      case Fn::kFormatValidate:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kFormat}));
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 1, {K::kString}));
        return T(K::kOptional, T(K::kList, T(K::kString)));
      case Fn::kTimestamp:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kString, K::kInt, K::kTimestamp}));
        DRAHIL_RETURN_IF_ERROR(CheckTimeLiteral(n));
        return T(K::kTimestamp);
      case Fn::kDuration:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kString, K::kDuration}));
        DRAHIL_RETURN_IF_ERROR(CheckTimeLiteral(n));
        return T(K::kDuration);
      case Fn::kTimeGetter:
        DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kTimestamp, K::kDuration}));
        if (at.size() == 2) {
          DRAHIL_RETURN_IF_ERROR(Want(n, at, 0, {K::kTimestamp}));
          DRAHIL_RETURN_IF_ERROR(Want(n, at, 1, {K::kString}));
        }
        return T(K::kInt);
      default:
        break;
    }
    return Err(n.pos, "internal: unresolved function");
  }

  // CheckTimeLiteral(): timestamp() and duration() of a string literal must
  // parse (cel.ValidateTimestampLiterals, cel.ValidateDurationLiterals;
  // base.go from 1.29).
  Status CheckTimeLiteral(const Node& n) const {
    if (!IsStringLiteral(*n.args[0])) return OkStatus();
    const std::string& text = n.args[0]->literal.str();
    Value v = n.fn == Fn::kTimestamp ? ParseTimestamp(text) : ParseDuration(text);
    if (!v.is_error()) return OkStatus();
    return Err(n.args[0]->pos, std::string(n.fn == Fn::kTimestamp ? "timestamp" : "duration") +
                                   " validation failed. reason: " + v.str());
  }

  // WantOrderedElems(): sort(), isSorted(), min() and max() need elements
  // with an ordering.
  Status WantOrderedElems(const Node& n, const std::vector<TypePtr>& at) const {
    TypePtr e = ElemType(at[0]);
    if (IsDyn(at[0]) || IsDyn(e) || IsNumeric(e->kind) || e->kind == TypeKind::kString ||
        e->kind == TypeKind::kBytes || e->kind == TypeKind::kBool) {
      return OkStatus();
    }
    return Want(n, at, 0, {});
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

  // IterVar(): argument `i` of macro `n` must be a simple, new name.
  Result<std::string> IterVar(const Node& n, size_t i) const {
    const Node& v = *n.args[i];
    if (v.kind != NodeKind::kVar || v.slot != -1) {
      return Err(v.pos, "argument " + std::to_string(i) + " of macro '" + n.name +
                            "' must be a simple name");
    }
    if (v.name == "device") return Err(v.pos, "iteration variable may not shadow 'device'");
    return v.name;
  }

  Result<TypePtr> AnalyzeComprehension(Node& n) {
    size_t nargs = n.args.size() - 1;
    const std::string& m = n.name;
    bool single = (nargs == 2 && (m == "all" || m == "exists" || m == "exists_one" || m == "map" ||
                                  m == "filter" || m == "sortBy")) ||
                  (nargs == 3 && m == "map");
    bool two =
        (nargs == 3 && (m == "all" || m == "exists" || m == "existsOne" || m == "transformList" ||
                        m == "transformMap" || m == "transformMapEntry")) ||
        (nargs == 4 && (m == "transformList" || m == "transformMap" || m == "transformMapEntry"));
    if (!single && !two) return Err(n.pos, "wrong number of arguments to macro '" + m + "'");
    // ext.Lists (sortBy) and ext.TwoVarComprehensions arrived in later
    // releases than the standard macros.
    if ((m == "sortBy" && !Available(kExtLists)) || (two && !Available(kTwoVar))) {
      return Undeclared(n, m);
    }
    DRAHIL_ASSIGN_OR_RETURN(std::string var, IterVar(n, 1));
    std::string var2;
    if (two) {
      DRAHIL_ASSIGN_OR_RETURN(var2, IterVar(n, 2));
      if (var2 == var) {
        return Err(n.args[2]->pos, "duplicate variable name: " + var);
      }
    }
    DRAHIL_ASSIGN_OR_RETURN(TypePtr range, Analyze(*n.args[0]));
    TypePtr elem, value;
    if (range->kind == TypeKind::kList) {
      elem = two ? T(TypeKind::kInt) : range->a;
      value = range->a;
    } else if (range->kind == TypeKind::kMap && m != "sortBy") {
      elem = range->a;
      value = range->b;
    } else if (IsDyn(range)) {
      elem = T(TypeKind::kDyn);
      value = T(TypeKind::kDyn);
    } else {
      return Err(n.args[0]->pos, "macro '" + m + "' needs a list" +
                                     (m == "sortBy" ? "" : " or map") + ", got '" +
                                     TypeName(range) + "'");
    }
    if (m == "all")
      n.macro = Macro::kAll;
    else if (m == "exists")
      n.macro = Macro::kExists;
    else if (m == "exists_one" || m == "existsOne")
      n.macro = Macro::kExistsOne;
    else if (m == "filter")
      n.macro = Macro::kFilter;
    else if (m == "sortBy")
      n.macro = Macro::kSortBy;
    else if (m == "transformList")
      n.macro = nargs == 4 ? Macro::kTransformListFilter : Macro::kTransformList;
    else if (m == "transformMap")
      n.macro = nargs == 4 ? Macro::kTransformMapFilter : Macro::kTransformMap;
    else if (m == "transformMapEntry")
      n.macro = nargs == 4 ? Macro::kTransformMapEntryFilter : Macro::kTransformMapEntry;
    else
      n.macro = nargs == 3 ? Macro::kMapFilter : Macro::kMap;
    n.kind = NodeKind::kComprehension;
    n.slot = NewSlot(var, elem);
    if (two) n.slot2 = NewSlot(var2, value);
    // Drop the variable name nodes: args become range, then the
    // predicate/filter and transform.
    n.args.erase(n.args.begin() + 1, n.args.begin() + (two ? 3 : 2));
    TypePtr result;
    bool has_filter = n.macro == Macro::kMapFilter || n.macro == Macro::kTransformListFilter ||
                      n.macro == Macro::kTransformMapFilter ||
                      n.macro == Macro::kTransformMapEntryFilter;
    bool entries =
        n.macro == Macro::kTransformMapEntry || n.macro == Macro::kTransformMapEntryFilter;
    bool transforms = n.macro == Macro::kMap || n.macro == Macro::kMapFilter ||
                      n.macro == Macro::kTransformList || n.macro == Macro::kTransformMap ||
                      n.macro == Macro::kTransformListFilter ||
                      n.macro == Macro::kTransformMapFilter || n.macro == Macro::kSortBy || entries;
    for (size_t i = 1; i < n.args.size(); ++i) {
      DRAHIL_ASSIGN_OR_RETURN(TypePtr t, Analyze(*n.args[i]));
      bool is_pred = !transforms || (has_filter && i == 1);
      if (is_pred && !Accepts(TypeKind::kBool, t)) {
        return Err(n.args[i]->pos,
                   "predicate of macro '" + m + "' must be bool, got '" + TypeName(t) + "'");
      }
      // transformMapEntry inserts the transform's entries (cel-go's
      // cel.@mapInsert(map, map) overload): the transform must be a map.
      if (entries && !is_pred && t->kind != TypeKind::kMap && !IsDyn(t)) {
        return Err(n.args[i]->pos,
                   "found no matching overload for 'cel.@mapInsert' applied to '(map(dyn, dyn), " +
                       TypeName(t) + ")'");
      }
      result = t;
    }
    scopes_.pop_back();
    if (two) scopes_.pop_back();
    switch (n.macro) {
      case Macro::kAll:
      case Macro::kExists:
      case Macro::kExistsOne:
        return T(TypeKind::kBool);
      case Macro::kMap:
      case Macro::kMapFilter:
      case Macro::kTransformList:
      case Macro::kTransformListFilter:
        return T(TypeKind::kList, result);
      case Macro::kTransformMap:
      case Macro::kTransformMapFilter:
        return T(TypeKind::kMap, elem, result);
      case Macro::kTransformMapEntry:
      case Macro::kTransformMapEntryFilter:
        if (result->kind == TypeKind::kMap) return result;
        return T(TypeKind::kMap, T(TypeKind::kDyn), T(TypeKind::kDyn));
      case Macro::kFilter:
        return T(TypeKind::kList, elem);
      case Macro::kSortBy:
        return range;
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

  // Available(): is a library introduced in release 1.`since` in this
  // environment?
  bool Available(int since) const { return since <= max_since_; }
  // Undeclared(): cel-go's checker message for a name the environment lacks.
  Status Undeclared(const Node& n, const std::string& name) const {
    return Err(n.pos, "undeclared reference to '" + name + "' (in container '')");
  }

  std::string_view text_;
  ProgramData* prog_;
  int max_since_ = 0;
  std::vector<std::pair<std::string, int>> scopes_;
  std::vector<TypePtr> slot_types_{T(TypeKind::kDevice)};
};
}  // namespace

Status AnalyzeProgram(ProgramData* prog, const CompileOptions& options) {
  Analyzer analyzer(prog->expression, prog, options);
  DRAHIL_ASSIGN_OR_RETURN(TypePtr t, analyzer.Analyze(*prog->root));
  if (t->kind != TypeKind::kBool && t->kind != TypeKind::kDyn) {
    // dynamic-resource-allocation/cel CompileCELExpression()'s text.
    return InvalidArgumentError("must evaluate to bool or the unknown type, not " + TypeName(t));
  }
  return OkStatus();
}

}  // namespace drahil::allocator::cel::internal
