// CEL evaluator for DRA selectors: a tree-walking interpreter over the
// analysed tree from cel_parse.cpp. Errors are values (Value::Kind::kError) so
// that `&&`, `||` and the all/exists macros can absorb them the way CEL's
// commutative logical operators do; the cost limit is not absorbable and
// aborts the whole evaluation.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>

#include "cel_functions.hpp"
#include "cel_internal.hpp"

namespace drahil::allocator::cel {
namespace internal {

const char* KindName(Value::Kind k) {
  switch (k) {
    case Value::Kind::kNull:
      return "null_type";
    case Value::Kind::kBool:
      return "bool";
    case Value::Kind::kInt:
      return "int";
    case Value::Kind::kUint:
      return "uint";
    case Value::Kind::kDouble:
      return "double";
    case Value::Kind::kString:
      return "string";
    case Value::Kind::kBytes:
      return "bytes";
    case Value::Kind::kList:
      return "list";
    case Value::Kind::kMap:
      return "map";
    case Value::Kind::kQuantity:
      return "kubernetes.Quantity";
    case Value::Kind::kSemver:
      return "kubernetes.Semver";
    case Value::Kind::kOptional:
      return "optional_type";
    case Value::Kind::kIp:
      return "net.IP";
    case Value::Kind::kCidr:
      return "net.CIDR";
    case Value::Kind::kUrl:
      return "kubernetes.URL";
    case Value::Kind::kTimestamp:
      return "google.protobuf.Timestamp";
    case Value::Kind::kDuration:
      return "google.protobuf.Duration";
    case Value::Kind::kFormat:
      return "kubernetes.NamedFormat";
    case Value::Kind::kError:
      return "error";
  }
  return "?";
}

namespace {

using K = Value::Kind;

const Value& EmptyMap() {
  static const Value kEmpty = Value::Map(ValueMap{});
  return kEmpty;
}

std::string Show(const Value& v) {
  switch (v.kind) {
    case K::kString:
      return "\"" + v.str() + "\"";
    case K::kInt:
      return std::to_string(v.i);
    case K::kUint:
      return std::to_string(v.u) + "u";
    case K::kBool:
      return v.b ? "true" : "false";
    default:
      return KindName(v.kind);
  }
}

struct Ctx {
  std::vector<Value> slots;
  int64_t cost = 0;
  int64_t limit = kDefaultCostLimit;
  bool aborted = false;
};

// ListIndex(): a list index from an int, a uint or an integral double;
// nullopt for any other key.
std::optional<int64_t> ListIndex(const Value& key) {
  if (key.kind == K::kInt) return key.i;
  if (key.kind == K::kUint && key.u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return static_cast<int64_t>(key.u);
  if (key.kind == K::kDouble && std::trunc(key.d) == key.d && std::fabs(key.d) < 9e18)
    return static_cast<int64_t>(key.d);
  return std::nullopt;
}

// IsMapKeyKind(): the kinds a CEL map key may have.
bool IsMapKeyKind(K k) { return k == K::kString || k == K::kInt || k == K::kUint || k == K::kBool; }

// The running result of a comprehension.
struct Fold {
  Value first_error;  // all/exists: the first non-bool result, absorbed
  bool have_error = false;
  int64_t count = 0;  // exists_one: true results
  ValueList out;      // map/filter/transformList; sortBy: the keys
  ValueMap out_map;   // transformMap
};

// StepQuantifier(): all (decisive false) and exists (decisive true): a
// decisive result ends the comprehension; errors wait for the end.
std::optional<Value> StepQuantifier(bool exists, Value v, Fold* f) {
  if (v.kind == K::kBool) {
    if (v.b == exists) return v;
    return std::nullopt;
  }
  if (!f->have_error) {
    f->first_error = v.is_error() ? std::move(v) : NoOverload(exists ? "exists" : "all", v);
    f->have_error = true;
  }
  return std::nullopt;
}

// CheckPredicate(): a predicate result of exists_one, map (filtered) or
// filter: an error or a non-bool ends the comprehension.
std::optional<Value> CheckPredicate(const char* macro, const Value& v) {
  if (v.is_error()) return v;
  if (v.kind != K::kBool) return NoOverload(macro, v);
  return std::nullopt;
}

// FoldResult(): the comprehension's value once every element is folded.
Value FoldResult(Macro macro, Fold f) {
  switch (macro) {
    case Macro::kAll:
    case Macro::kExists:
      if (f.have_error) return f.first_error;
      return Value::Bool(macro == Macro::kAll);
    case Macro::kExistsOne:
      return Value::Bool(f.count == 1);
    case Macro::kTransformMap:
    case Macro::kTransformMapFilter:
    case Macro::kTransformMapEntry:
    case Macro::kTransformMapEntryFilter:
      return Value::Map(std::move(f.out_map));
    default:
      return Value::List(std::move(f.out));
  }
}

class Evaluator {
 public:
  explicit Evaluator(Ctx& c) : c_(c) {}

  Value Eval(const Node& n) {
    if (!Charge(1)) return Aborted();
    switch (n.kind) {
      case NodeKind::kLiteral:
        return n.literal;
      case NodeKind::kVar:
        return c_.slots[n.slot];
      case NodeKind::kSelect:
      case NodeKind::kOptSelect:
        return Select(Eval(*n.args[0]), Value::String(n.name), n.kind == NodeKind::kOptSelect,
                      true);
      case NodeKind::kIndex:
      case NodeKind::kOptIndex:
        return EvalIndex(n);
      case NodeKind::kHas:
        return EvalHas(n);
      case NodeKind::kCall:
        return Call(n);
      case NodeKind::kList:
        return EvalList(n);
      case NodeKind::kMap:
        return EvalMap(n);
      case NodeKind::kAnd:
      case NodeKind::kOr:
        return EvalLogic(n);
      case NodeKind::kNot:
        return EvalUnary(n, Not);
      case NodeKind::kNeg:
        return EvalUnary(n, Negate);
      case NodeKind::kCond:
        return EvalCond(n);
      case NodeKind::kBinary:
        return EvalBinary(n);
      case NodeKind::kComprehension:
        return Comprehension(n);
      case NodeKind::kBind:
        return EvalBind(n);
    }
    return Value::Error("internal: unknown node");
  }

  Value Aborted() { return Value::Error("cost limit exceeded"); }

 private:
  bool Charge(int64_t units) {
    if (c_.aborted) return false;
    c_.cost += units;
    if (c_.cost > c_.limit) {
      c_.aborted = true;
      return false;
    }
    return true;
  }

  Value EvalIndex(const Node& n) {
    Value v = Eval(*n.args[0]);
    if (v.is_error()) return v;
    Value k = Eval(*n.args[1]);
    if (k.is_error()) return k;
    return Select(v, k, n.kind == NodeKind::kOptIndex, false);
  }

  Value EvalHas(const Node& n) {
    Value v = Eval(*n.args[0]);
    if (v.is_error()) return v;
    if (v.kind != K::kMap)
      return Value::Error(std::string("has() does not apply to ") + KindName(v.kind));
    return Value::Bool(MapFind(v.map(), Value::String(n.name)) != nullptr);
  }

  Value EvalList(const Node& n) {
    ValueList out;
    out.reserve(n.args.size());
    for (const auto& a : n.args) {
      Value v = Eval(*a);
      if (v.is_error()) return v;
      out.push_back(std::move(v));
    }
    return Value::List(std::move(out));
  }

  Value EvalMap(const Node& n) {
    ValueMap m;
    for (size_t i = 0; i < n.args.size(); i += 2) {
      Value k = Eval(*n.args[i]);
      if (k.is_error()) return k;
      Value v = Eval(*n.args[i + 1]);
      if (v.is_error()) return v;
      if (!IsMapKeyKind(k.kind)) {
        return Value::Error(std::string("unsupported map key type ") + KindName(k.kind));
      }
      if (MapFind(m, k)) return Value::Error("duplicate map key " + Show(k));
      m.entries.emplace_back(std::move(k), std::move(v));
    }
    return Value::Map(std::move(m));
  }

  // EvalLogic(): && and ||, CEL's commutative logic: a decisive operand wins
  // over an error on the other side, in either order.
  Value EvalLogic(const Node& n) {
    bool decisive = n.kind == NodeKind::kOr;
    Value l = Eval(*n.args[0]);
    if (c_.aborted) return Aborted();
    if (l.kind == K::kBool && l.b == decisive) return l;
    Value r = Eval(*n.args[1]);
    if (c_.aborted) return Aborted();
    if (r.kind == K::kBool && r.b == decisive) return r;
    if (l.is_error()) return l;
    if (r.is_error()) return r;
    if (l.kind != K::kBool || r.kind != K::kBool)
      return NoOverload(decisive ? "_||_" : "_&&_", l, r);
    return Value::Bool(!decisive);
  }

  Value EvalUnary(const Node& n, Value (*op)(const Value&)) {
    Value v = Eval(*n.args[0]);
    if (v.is_error()) return v;
    return op(v);
  }

  Value EvalCond(const Node& n) {
    Value cond = Eval(*n.args[0]);
    if (cond.is_error()) return cond;
    if (cond.kind != K::kBool) return NoOverload("_?_:_", cond);
    return Eval(*n.args[cond.b ? 1 : 2]);
  }

  Value EvalBinary(const Node& n) {
    Value a = Eval(*n.args[0]);
    if (a.is_error()) return a;
    Value b = Eval(*n.args[1]);
    if (b.is_error()) return b;
    return Binary(n.op, a, b);
  }

  Value EvalBind(const Node& n) {
    c_.slots[n.slot] = Eval(*n.args[0]);
    if (c_.aborted) return Aborted();
    return Eval(*n.args[1]);
  }

  // Select(): field selection (by_name) or indexing, optionally in the
  // optional-chaining form.
  Value Select(const Value& v, const Value& key, bool opt, bool by_name) {
    if (v.is_error()) return v;
    if (v.kind == K::kOptional) {
      const Value* inner = v.optional_value();
      if (!inner) return v;
      return Select(*inner, key, true, by_name);
    }
    if (v.kind == K::kMap) return SelectKey(v.map(), key, opt);
    if (v.kind == K::kList && !by_name) return SelectIndex(v, key, opt);
    return Value::Error(std::string(by_name ? "type " : "no such overload: _[_] on ") +
                        KindName(v.kind) + (by_name ? " does not support field selection" : ""));
  }

  static Value SelectKey(const ValueMap& m, const Value& key, bool opt) {
    if (const Value* found = MapFind(m, key)) return opt ? Value::OptionalOf(*found) : *found;
    if (m.missing_is_empty) return opt ? Value::OptionalOf(EmptyMap()) : EmptyMap();
    if (opt) return Value::OptionalNone();
    return Value::Error("no such key: " + (key.kind == K::kString ? key.str() : Show(key)));
  }

  static Value SelectIndex(const Value& v, const Value& key, bool opt) {
    std::optional<int64_t> index = ListIndex(key);
    if (!index) return NoOverload("_[_]", v, key);
    int64_t idx = *index;
    const auto& l = v.list();
    if (idx < 0 || idx >= static_cast<int64_t>(l.size())) {
      if (opt) return Value::OptionalNone();
      return Value::Error("index out of range: " + std::to_string(idx));
    }
    return opt ? Value::OptionalOf(l[idx]) : l[idx];
  }

  Value Binary(Op op, const Value& a, const Value& b) {
    switch (op) {
      case Op::kEq:
        return Value::Bool(ValueEquals(a, b));
      case Op::kNe:
        return Value::Bool(!ValueEquals(a, b));
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe:
        return Compare(op, a, b);
      case Op::kIn:
        return In(a, b);
      default:
        return Arithmetic(op, a, b);
    }
  }

  // Arithmetic(): + - * / % of two values of one kind; + also concatenates
  // strings, bytes and lists.
  Value Arithmetic(Op op, const Value& a, const Value& b) {
    if (a.kind == K::kTimestamp || a.kind == K::kDuration || b.kind == K::kTimestamp ||
        b.kind == K::kDuration) {
      return TimeArith(op, a, b);
    }
    if (a.kind != b.kind) return NoOverload("arithmetic", a, b);
    switch (a.kind) {
      case K::kInt:
        return IntArith(op, a.i, b.i);
      case K::kUint:
        return UintArith(op, a.u, b.u);
      case K::kDouble:
        return DoubleArith(op, a, b);
      case K::kString:
      case K::kBytes:
      case K::kList:
        if (op != Op::kAdd) break;
        return Concat(a, b);
      default:
        break;
    }
    return NoOverload("arithmetic", a, b);
  }

  // Concat(): strings, bytes or lists joined, charged by their length.
  Value Concat(const Value& a, const Value& b) {
    if (a.kind != K::kList) {
      if (!Charge(static_cast<int64_t>((a.str().size() + b.str().size()) / 10))) return Aborted();
      return a.kind == K::kString ? Value::String(a.str() + b.str())
                                  : Value::Bytes(a.str() + b.str());
    }
    ValueList l = a.list();
    l.insert(l.end(), b.list().begin(), b.list().end());
    if (!Charge(static_cast<int64_t>(l.size() / 10))) return Aborted();
    return Value::List(std::move(l));
  }

  Value Comprehension(const Node& n) {
    Value range = Eval(*n.args[0]);
    if (range.is_error()) return range;
    if (range.kind != K::kList && range.kind != K::kMap) {
      return Value::Error(std::string("cannot iterate over ") + KindName(range.kind));
    }
    // A list ranges over its elements (two variables: index and element), a
    // map over its keys (two variables: key and value).
    ValueList keys;
    const ValueMap* map = range.kind == K::kMap ? &range.map() : nullptr;
    if (map && n.slot2 < 0) {
      for (const auto& e : map->entries) keys.push_back(e.first);
    }
    size_t count = map ? map->entries.size() : range.list().size();
    Fold fold;
    for (size_t i = 0; i < count; ++i) {
      if (!Charge(1)) return Aborted();
      Value item;
      if (n.slot2 >= 0) {
        item = map ? map->entries[i].first : Value::Int(static_cast<int64_t>(i));
        c_.slots[n.slot2] = map ? map->entries[i].second : range.list()[i];
      } else {
        item = map ? keys[i] : range.list()[i];
      }
      c_.slots[n.slot] = item;
      Value v = Eval(*n.args[1]);
      if (c_.aborted) return Aborted();
      if (std::optional<Value> done = Step(n, item, std::move(v), &fold)) return *std::move(done);
    }
    if (n.macro == Macro::kSortBy) {
      if (range.kind != K::kList) return NoOverload("sortBy", range);
      return SortByKeys(range.list(), fold.out);
    }
    return FoldResult(n.macro, std::move(fold));
  }

  // Step(): folds one element's result `v` into `f`; a value when that ends
  // the comprehension.
  std::optional<Value> Step(const Node& n, const Value& item, Value v, Fold* f) {
    switch (n.macro) {
      case Macro::kAll:
      case Macro::kExists:
        return StepQuantifier(n.macro == Macro::kExists, std::move(v), f);
      case Macro::kExistsOne:
        if (auto bad = CheckPredicate(n.name.c_str(), v)) return bad;
        if (v.b) ++f->count;
        return std::nullopt;
      case Macro::kMap:
      case Macro::kTransformList:
      case Macro::kSortBy:
        if (v.is_error()) return v;
        f->out.push_back(std::move(v));
        return std::nullopt;
      case Macro::kTransformMap:
        if (v.is_error()) return v;
        f->out_map.entries.emplace_back(item, std::move(v));
        return std::nullopt;
      case Macro::kTransformMapEntry:
        return InsertEntries(v, f);
      case Macro::kMapFilter:
      case Macro::kTransformListFilter:
      case Macro::kTransformMapFilter:
      case Macro::kTransformMapEntryFilter:
        return StepMapFilter(n, item, v, f);
      case Macro::kFilter:
        if (auto bad = CheckPredicate("filter", v)) return bad;
        if (v.b) f->out.push_back(item);
        return std::nullopt;
    }
    return std::nullopt;
  }

  // InsertEntries(): transformMapEntry: the transform's entries go into the
  // result; a key already there is cel-go's mutable map insert error
  // ("insert failed: key K already exists", K printed as Go's %v does).
  std::optional<Value> InsertEntries(const Value& v, Fold* f) {
    if (v.is_error()) return v;
    if (v.kind != K::kMap) return NoOverload("cel.@mapInsert", v);
    for (const auto& [key, value] : v.map().entries) {
      // The duplicate check walks the result: charged by its size, so a
      // long comprehension cannot make it quadratic for free.
      if (!Charge(1 + static_cast<int64_t>(f->out_map.entries.size() / 10))) return Aborted();
      if (MapFind(f->out_map, key) != nullptr) {
        return Value::Error("insert failed: key " +
                            (key.kind == K::kString ? key.str() : Show(key)) + " already exists");
      }
      f->out_map.entries.emplace_back(key, value);
    }
    return std::nullopt;
  }

  // SortByKeys(): ext.Lists sortBy(): the elements ordered by their keys
  // (stable; the keys must be of one orderable kind).
  Value SortByKeys(const ValueList& list, const ValueList& keys) {
    if (!Charge(SortCost(list.size()))) return Aborted();
    return SortList(list, keys);
  }

  // StepMapFilter(): map(x, predicate, transform): the transform of each
  // element the predicate `v` keeps.
  std::optional<Value> StepMapFilter(const Node& n, const Value& item, const Value& v, Fold* f) {
    if (auto bad = CheckPredicate(n.name.c_str(), v)) return bad;
    if (!v.b) return std::nullopt;
    Value t = Eval(*n.args[2]);
    if (t.is_error()) return t;
    if (n.macro == Macro::kTransformMapFilter) {
      f->out_map.entries.emplace_back(item, std::move(t));
    } else if (n.macro == Macro::kTransformMapEntryFilter) {
      return InsertEntries(t, f);
    } else {
      f->out.push_back(std::move(t));
    }
    return std::nullopt;
  }

  Value Call(const Node& n) {
    if (n.fn == Fn::kOptionalNone) return Value::OptionalNone();
    Value args[4];
    size_t nargs = n.args.size();
    for (size_t i = 0; i < nargs && i < 4; ++i) {
      args[i] = Eval(*n.args[i]);
      if (args[i].is_error()) return args[i];
    }
    const Value& a = args[0];
    const Value& b = args[1];
    switch (n.fn) {
      case Fn::kSize:
        return Size(a);
      case Fn::kContains:
      case Fn::kStartsWith:
      case Fn::kEndsWith:
        return StringTest(n, a, b);
      case Fn::kMatches:
        return Matches(n, a, b);
      case Fn::kLowerAscii:
      case Fn::kUpperAscii:
      case Fn::kTrim:
        return StringCase(n, a);
      case Fn::kToInt:
        return ToInt(a);
      case Fn::kToUint:
        return ToUint(a);
      case Fn::kToDouble:
        return ToDouble(a);
      case Fn::kToString:
        return ToString(a);
      case Fn::kToBytes:
        return ToBytes(a);
      case Fn::kToBool:
        return ToBool(a);
      case Fn::kDyn:
        return a;
      case Fn::kQuantity:
      case Fn::kIsQuantity:
        return ParseQuantity(n, a);
      case Fn::kSemver:
      case Fn::kIsSemver:
        return ParseSemver(n, nargs, a, b);
      case Fn::kCompareTo:
      case Fn::kIsGreaterThan:
      case Fn::kIsLessThan:
        return CompareTo(n, a, b);
      case Fn::kAdd:
      case Fn::kSub:
        return QuantityArith(n, a, b);
      case Fn::kAsInteger:
      case Fn::kIsInteger:
        return AsInteger(n, a);
      case Fn::kAsApproximateFloat:
      case Fn::kSign:
        return QuantityUnary(n, a);
      case Fn::kMajor:
      case Fn::kMinor:
      case Fn::kPatch:
        return SemverPart(n, a);
      case Fn::kOrValue:
      case Fn::kHasValue:
      case Fn::kValue:
        return OptionalAccess(n, a, b);
      case Fn::kOptionalOf:
        return Value::OptionalOf(a);
      case Fn::kOptionalNone:
        return Value::OptionalNone();
      case Fn::kTimestamp:
        if (a.kind == K::kTimestamp) return a;
        if (a.kind == K::kInt) return MakeTimestamp(a.i, 0);
        if (a.kind == K::kString) return ParseTimestamp(a.str());
        return NoOverload("timestamp", a);
      case Fn::kDuration:
        if (a.kind == K::kDuration) return a;
        if (a.kind == K::kString) return ParseDuration(a.str());
        return NoOverload("duration", a);
      case Fn::kTimeGetter:
        return TimeGetter(n, a, nargs == 2 ? &b : nullptr);
      default:
        if (!Charge(LibraryCost(n, args, nargs))) return Aborted();
        return LibraryCall(n, args, nargs);
    }
  }

  // StringTest(): contains(), startsWith() and endsWith(), charged by the
  // receiver's length.
  Value StringTest(const Node& n, const Value& a, const Value& b) {
    if (a.kind != K::kString || b.kind != K::kString) return NoOverload(n.name.c_str(), a, b);
    if (!Charge(static_cast<int64_t>(a.str().size() / 10))) return Aborted();
    const std::string& s = a.str();
    const std::string& t = b.str();
    if (n.fn == Fn::kContains) return Value::Bool(s.find(t) != std::string::npos);
    if (t.size() > s.size()) return Value::Bool(false);
    if (n.fn == Fn::kStartsWith) return Value::Bool(s.compare(0, t.size(), t) == 0);
    return Value::Bool(s.compare(s.size() - t.size(), t.size(), t) == 0);
  }

  // Matches(): matches(), with the regex compiled at analysis when the
  // pattern is a literal, charged by both lengths.
  Value Matches(const Node& n, const Value& a, const Value& b) {
    if (a.kind != K::kString || b.kind != K::kString) return NoOverload("matches", a, b);
    if (!Charge(static_cast<int64_t>(1 + a.str().size() * (b.str().size() + 1) / 4)))
      return Aborted();
    std::shared_ptr<const std::regex> re = n.regex;
    if (!re) {
      auto compiled = CompileRegex(b.str());
      if (!compiled.ok()) return Value::Error(compiled.status().message());
      re = *compiled;
    }
    try {
      return Value::Bool(std::regex_search(a.str(), *re));
    } catch (const std::regex_error& e) {
      return Value::Error(std::string("regex evaluation failed: ") + e.what());
    }
  }

  Ctx& c_;
};

// AttributeValue(): a DeviceAttribute (exactly one member set) as a CEL value.
Result<Value> AttributeValue(const nlohmann::json& attr) {
  if (!attr.is_object() || attr.size() != 1) {
    return InvalidArgumentError(
        "must set exactly one of int, bool, string, version, ints, bools, strings, versions");
  }
  // (Not a structured binding over items(): its proxy is a temporary.)
  const nlohmann::json& v = attr.begin().value();
  auto scalar = [](const std::string& k, const nlohmann::json& x) -> Result<Value> {
    if (k == "int" && x.is_number_integer()) return Value::Int(x.get<int64_t>());
    if (k == "bool" && x.is_boolean()) return Value::Bool(x.get<bool>());
    if (k == "string" && x.is_string()) return Value::String(x.get<std::string>());
    if (k == "version" && x.is_string()) {
      DRAHIL_ASSIGN_OR_RETURN(SemVer s, SemVer::Parse(x.get<std::string>()));
      return Value::Semver(std::move(s));
    }
    return InvalidArgumentError("bad value for '" + k + "'");
  };
  std::string k = attr.begin().key();
  if (k == "ints" || k == "bools" || k == "strings" || k == "versions") {
    if (!v.is_array()) return InvalidArgumentError("'" + k + "' must be a list");
    ValueList l;
    for (const auto& x : v) {
      DRAHIL_ASSIGN_OR_RETURN(Value e, scalar(k.substr(0, k.size() - 1), x));
      l.push_back(std::move(e));
    }
    return Value::List(std::move(l));
  }
  return scalar(k, v);
}

// QualifiedName split: "domain/id" or "id" in the driver's domain.
std::pair<std::string, std::string> SplitName(const std::string& name, std::string_view driver) {
  size_t slash = name.find('/');
  if (slash == std::string::npos) return {std::string(driver), name};
  return {name.substr(0, slash), name.substr(slash + 1)};
}

void PutNested(ValueMap& outer, const std::string& domain, const std::string& id, Value v) {
  for (auto& e : outer.entries) {
    if (e.first.str() == domain) {
      ValueMap inner = e.second.map();
      inner.entries.emplace_back(Value::String(id), std::move(v));
      e.second = Value::Map(std::move(inner));
      return;
    }
  }
  ValueMap inner;
  inner.entries.emplace_back(Value::String(id), std::move(v));
  outer.entries.emplace_back(Value::String(domain), Value::Map(std::move(inner)));
}

}  // namespace
}  // namespace internal

using internal::Value;
using internal::ValueMap;

Device::Device() {
  auto d = std::make_shared<internal::DeviceData>();
  ValueMap m;
  m.entries.emplace_back(Value::String("driver"), Value::String(""));
  ValueMap empty;
  empty.missing_is_empty = true;
  m.entries.emplace_back(Value::String("attributes"), Value::Map(empty));
  m.entries.emplace_back(Value::String("capacity"), Value::Map(empty));
  m.entries.emplace_back(Value::String("allowMultipleAllocations"), Value::Bool(false));
  d->device = Value::Map(std::move(m));
  data_ = std::move(d);
}

Result<Device> Device::FromJson(std::string_view driver, const nlohmann::json& device) {
  if (!device.is_object()) return InvalidArgumentError("device must be an object");
  std::string name = device.value("name", std::string());
  ValueMap attrs;
  attrs.missing_is_empty = true;
  if (auto it = device.find("attributes"); it != device.end() && it->is_object()) {
    for (const auto& [k, v] : it->items()) {
      auto val = internal::AttributeValue(v);
      if (!val.ok()) return val.status().WithContext("device " + name + " attribute " + k);
      auto [domain, id] = internal::SplitName(k, driver);
      internal::PutNested(attrs, domain, id, std::move(*val));
    }
  }
  ValueMap caps;
  caps.missing_is_empty = true;
  if (auto it = device.find("capacity"); it != device.end() && it->is_object()) {
    for (const auto& [k, v] : it->items()) {
      const nlohmann::json* qv = v.is_object() && v.contains("value") ? &v["value"] : &v;
      std::string text = qv->is_string() ? qv->get<std::string>() : qv->dump();
      auto q = Quantity::Parse(text);
      if (!q.ok()) return q.status().WithContext("device " + name + " capacity " + k);
      auto [domain, id] = internal::SplitName(k, driver);
      internal::PutNested(caps, domain, id, Value::Quantity(*q));
    }
  }
  bool multi = false;
  if (auto it = device.find("allowMultipleAllocations"); it != device.end() && it->is_boolean()) {
    multi = it->get<bool>();
  }
  ValueMap m;
  m.entries.emplace_back(Value::String("driver"), Value::String(std::string(driver)));
  m.entries.emplace_back(Value::String("attributes"), Value::Map(std::move(attrs)));
  m.entries.emplace_back(Value::String("capacity"), Value::Map(std::move(caps)));
  m.entries.emplace_back(Value::String("allowMultipleAllocations"), Value::Bool(multi));
  auto d = std::make_shared<internal::DeviceData>();
  d->device = Value::Map(std::move(m));
  Device out;
  out.data_ = std::move(d);
  return out;
}

Result<bool> Program::Evaluate(const Device& device, int64_t* cost) const {
  internal::Ctx ctx;
  ctx.limit = data_->cost_limit;
  ctx.slots.resize(static_cast<size_t>(data_->slots));
  ctx.slots[0] = device.data().device;
  internal::Evaluator ev(ctx);
  Value v = ev.Eval(*data_->root);
  if (cost) *cost = ctx.cost;
  if (ctx.aborted) {
    // cel-go's text when a program's cel.CostLimit() is passed; the limit
    // is CompileOptions::cost_limit (CELSelectorExpressionMaxCost).
    return ResourceExhaustedError(
        "CEL runtime error: operation cancelled: actual cost limit exceeded");
  }
  if (v.is_error()) return InvalidArgumentError("CEL runtime error: " + v.str());
  if (v.kind != Value::Kind::kBool) {
    return InvalidArgumentError(std::string("CEL runtime error: expression returned ") +
                                internal::KindName(v.kind) + ", not bool");
  }
  return v.b;
}

const std::string& Program::expression() const { return data_->expression; }

uint64_t Program::max_cost() const { return data_->max_cost; }

std::string ValidationDetail(std::string_view expression, const Status& compile_error) {
  const std::string& msg = compile_error.message();
  if (msg.rfind("must evaluate to", 0) == 0) return msg;
  // "L:C: what" → cel-go's Issues.String(): "ERROR: <input>:L:C: what",
  // then the source line and a caret under the column.
  size_t c1 = msg.find(':');
  size_t c2 = c1 == std::string::npos ? c1 : msg.find(':', c1 + 1);
  int line = 0, col = 0;
  if (c2 == std::string::npos || msg.compare(c2, 2, ": ") != 0 ||
      std::sscanf(msg.c_str(), "%d:%d:", &line, &col) != 2 || line < 1 || col < 1) {
    return "compilation failed: ERROR: <input>:1:1: " + msg;
  }
  std::string out = "compilation failed: ERROR: <input>:" + msg;
  // The source line.
  size_t start = 0;
  for (int l = 1; l < line && start != std::string_view::npos; ++l) {
    start = expression.find('\n', start);
    if (start != std::string_view::npos) ++start;
  }
  if (start == std::string_view::npos) return out;
  size_t end = expression.find('\n', start);
  std::string_view text =
      expression.substr(start, end == std::string_view::npos ? end : end - start);
  out +=
      "\n | " + std::string(text) + "\n | " + std::string(static_cast<size_t>(col - 1), '.') + "^";
  return out;
}

Result<std::shared_ptr<const Program>> Compile(std::string_view expression,
                                               const CompileOptions& options) {
  auto data = internal::CompileProgram(expression, options);
  if (!data.ok()) return data.status();
  return std::make_shared<const Program>(std::move(*data));
}

Result<std::shared_ptr<const Program>> CompileCache::Get(const std::string& expression) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(expression);
    if (it != entries_.end()) return it->second;
  }
  // Compile outside the lock: compiling is pure, and a racing duplicate is harmless.
  auto compiled = Compile(expression, options_);
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.emplace(expression, std::move(compiled)).first->second;
}

size_t CompileCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

}  // namespace drahil::allocator::cel
