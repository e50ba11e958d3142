// Static (compile-time) worst-case cost of a DRA selector, the counterpart
// of cel-go's checker.Cost() as dynamic-resource-allocation/cel
// CompileCELExpression() runs it with the sizes of the `device` variable
// (its sizeEstimator: at most 32 attributes or capacities per device and
// domain, attribute values of at most 64 bytes). The API server refuses a
// selector whose estimate exceeds CELSelectorExpressionMaxCost.
//
// The units are those of the runtime tracker in cel_eval.cpp (one per node
// and per iteration, string and list work by size), so a selector that is
// refused statically could indeed cost more than the limit at run time.
#include <algorithm>
#include <limits>
#include <memory>
#include <vector>

#include "cel_internal.hpp"

namespace drahil::allocator::cel::internal {
namespace {

constexpr uint64_t kUnknown = std::numeric_limits<uint64_t>::max();
// resource.k8s.io limits the sizeEstimator uses.
constexpr uint64_t kMaxAttributes = 32;    // ResourceSliceMaxAttributesAndCapacitiesPerDevice
constexpr uint64_t kMaxValueLength = 64;   // DeviceAttributeMaxValueLength
constexpr uint64_t kMaxDriverLength = 63;  // DriverNameMaxLength

uint64_t Add(uint64_t a, uint64_t b) { return a > kUnknown - b ? kUnknown : a + b; }
uint64_t Mul(uint64_t a, uint64_t b) {
  if (a == 0 || b == 0) return 0;
  return a > kUnknown / b ? kUnknown : a * b;
}

// Shape: the largest size of a value (string bytes, list or map entries)
// and the shape of its elements (map values).
struct Shape {
  uint64_t size = kUnknown;
  std::shared_ptr<const Shape> elem;
};
using ShapePtr = std::shared_ptr<const Shape>;

ShapePtr MakeShape(uint64_t size, ShapePtr elem = nullptr) {
  auto s = std::make_shared<Shape>();
  s->size = size;
  s->elem = std::move(elem);
  return s;
}

ShapePtr Unknown() {
  static const ShapePtr kShape = MakeShape(kUnknown);
  return kShape;
}

ShapePtr ElemOf(const ShapePtr& s) { return s && s->elem ? s->elem : Unknown(); }

struct Est {
  uint64_t cost = 0;
  ShapePtr shape = Unknown();
};

ShapePtr DeviceShape() {
  // driver, attributes (domain → id → value) and capacity.
  static const ShapePtr kShape = [] {
    ShapePtr attrs =
        MakeShape(kMaxAttributes, MakeShape(kMaxAttributes, MakeShape(kMaxValueLength)));
    return MakeShape(4, attrs);
  }();
  return kShape;
}

class Estimator {
 public:
  explicit Estimator(int slots) : slots_(static_cast<size_t>(slots), Unknown()) {
    slots_[0] = DeviceShape();
  }

  Est Run(const Node& n) {
    switch (n.kind) {
      case NodeKind::kLiteral:
        return {0, LiteralShape(n.literal)};
      case NodeKind::kVar:
        return {1, slots_[static_cast<size_t>(n.slot)]};
      case NodeKind::kSelect:
      case NodeKind::kOptSelect:
      case NodeKind::kHas:
        return Select(n);
      case NodeKind::kIndex:
      case NodeKind::kOptIndex: {
        Est a = Run(*n.args[0]);
        Est b = Run(*n.args[1]);
        return {Add(1, Add(a.cost, b.cost)), ElemOf(a.shape)};
      }
      case NodeKind::kList: {
        uint64_t cost = 10;  // cel-go: list creation
        ShapePtr elem;
        for (const auto& a : n.args) {
          Est e = Run(*a);
          cost = Add(cost, e.cost);
          elem = elem ? Larger(elem, e.shape) : e.shape;
        }
        return {cost, MakeShape(n.args.size(), elem)};
      }
      case NodeKind::kMap: {
        uint64_t cost = 30;  // cel-go: map creation
        ShapePtr elem;
        for (size_t i = 0; i < n.args.size(); ++i) {
          Est e = Run(*n.args[i]);
          cost = Add(cost, e.cost);
          if (i % 2 == 1) elem = elem ? Larger(elem, e.shape) : e.shape;
        }
        return {cost, MakeShape(n.args.size() / 2, elem)};
      }
      case NodeKind::kAnd:
      case NodeKind::kOr:
      case NodeKind::kNot:
      case NodeKind::kNeg: {
        uint64_t cost = 0;
        for (const auto& a : n.args) cost = Add(cost, Run(*a).cost);
        return {cost, MakeShape(1)};
      }
      case NodeKind::kCond: {
        Est c = Run(*n.args[0]);
        Est a = Run(*n.args[1]);
        Est b = Run(*n.args[2]);
        return {Add(c.cost, std::max(a.cost, b.cost)), Larger(a.shape, b.shape)};
      }
      case NodeKind::kBinary:
        return Binary(n);
      case NodeKind::kCall:
        return Call(n);
      case NodeKind::kComprehension:
        return Comprehension(n);
      case NodeKind::kBind: {
        Est init = Run(*n.args[0]);
        slots_[static_cast<size_t>(n.slot)] = init.shape;
        Est body = Run(*n.args[1]);
        return {Add(init.cost, body.cost), body.shape};
      }
    }
    return {kUnknown, Unknown()};
  }

 private:
  static ShapePtr LiteralShape(const Value& v) {
    if (v.kind == Value::Kind::kString || v.kind == Value::Kind::kBytes) {
      return MakeShape(v.str().size());
    }
    return MakeShape(1);
  }

  static ShapePtr Larger(const ShapePtr& a, const ShapePtr& b) {
    if (!a) return b;
    if (!b) return a;
    return MakeShape(std::max(a->size, b->size), a->elem ? a->elem : b->elem);
  }

  Est Select(const Node& n) {
    Est a = Run(*n.args[0]);
    ShapePtr s = ElemOf(a.shape);
    if (a.shape == DeviceShape()) {
      // device.driver, device.attributes, device.capacity.
      if (n.name == "driver") s = MakeShape(kMaxDriverLength);
      if (n.name == "allowMultipleAllocations") s = MakeShape(1);
    }
    return {Add(1, a.cost), s};
  }

  Est Binary(const Node& n) {
    Est a = Run(*n.args[0]);
    Est b = Run(*n.args[1]);
    uint64_t cost = Add(1, Add(a.cost, b.cost));
    uint64_t sa = a.shape->size;
    uint64_t sb = b.shape->size;
    switch (n.op) {
      case Op::kAdd:
        // Concatenation of strings or lists: charged by the result's size.
        return {Add(cost, Add(sa, sb) / 10), MakeShape(Add(sa, sb), a.shape->elem)};
      case Op::kEq:
      case Op::kNe:
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe:
      case Op::kIn:
        return {Add(cost, std::min(sa, sb) / 10), MakeShape(1)};
      default:
        return {cost, MakeShape(1)};
    }
  }

  Est Call(const Node& n) {
    uint64_t cost = 1;
    std::vector<Est> args;
    for (const auto& a : n.args) {
      args.push_back(Run(*a));
      cost = Add(cost, args.back().cost);
    }
    auto size = [&](size_t i) { return i < args.size() ? args[i].shape->size : 0; };
    switch (n.fn) {
      case Fn::kMatches:
      case Fn::kFind:
      case Fn::kFindAll:
        return {Add(cost, Mul(size(0), Add(size(1), 1)) / 4), MakeShape(size(0))};
      case Fn::kContains:
      case Fn::kStartsWith:
      case Fn::kEndsWith:
      case Fn::kLowerAscii:
      case Fn::kUpperAscii:
      case Fn::kTrim:
      case Fn::kCharAt:
      case Fn::kIndexOf:
      case Fn::kLastIndexOf:
      case Fn::kSubstring:
      case Fn::kQuote:
        return {Add(cost, size(0) / 10), MakeShape(Add(size(0), 2))};
      case Fn::kReplace:
        return {Add(cost, size(0) / 10), MakeShape(Mul(Add(size(0), 1), Add(size(2), 1)))};
      case Fn::kSplit:
        return {Add(cost, size(0) / 10), MakeShape(Add(size(0), 1), MakeShape(size(0)))};
      case Fn::kJoin:
      case Fn::kFormat:
        return {Add(cost, size(0)), Unknown()};
      case Fn::kRange: {
        const Node& arg = *n.args[0];
        uint64_t len = arg.kind == NodeKind::kLiteral && arg.literal.kind == Value::Kind::kInt &&
                               arg.literal.i > 0
                           ? static_cast<uint64_t>(arg.literal.i)
                           : (arg.kind == NodeKind::kLiteral ? 0 : kUnknown);
        return {Add(cost, len), MakeShape(len, MakeShape(1))};
      }
      case Fn::kSort:
        return {Add(cost, Mul(size(0), 64)), args[0].shape};
      case Fn::kDistinct:
      case Fn::kSetsContains:
      case Fn::kSetsEquivalent:
      case Fn::kSetsIntersects:
        return {Add(cost, Mul(size(0), std::max<uint64_t>(size(1), size(0))) / 10),
                n.fn == Fn::kDistinct ? args[0].shape : MakeShape(1)};
      case Fn::kSlice:
      case Fn::kReverse:
      case Fn::kIsSorted:
      case Fn::kSum:
      case Fn::kMin:
      case Fn::kMax:
        return {Add(cost, size(0)),
                n.fn == Fn::kSlice || n.fn == Fn::kReverse ? args[0].shape : ElemOf(args[0].shape)};
      case Fn::kFlatten:
        return {Add(cost, size(0)), Unknown()};
      case Fn::kDyn:
      case Fn::kOrValue:
      case Fn::kValue:
      case Fn::kOptionalOf:
        return {cost, args.empty() ? Unknown() : args[0].shape};
      default:
        return {cost, Unknown()};
    }
  }

  Est Comprehension(const Node& n) {
    Est range = Run(*n.args[0]);
    // The loop variables take the shape of the range's elements.
    slots_[static_cast<size_t>(n.slot)] =
        n.slot2 >= 0 ? MakeShape(kMaxValueLength) : ElemOf(range.shape);
    if (n.slot2 >= 0) slots_[static_cast<size_t>(n.slot2)] = ElemOf(range.shape);
    uint64_t body = 1;  // per iteration
    ShapePtr result;
    for (size_t i = 1; i < n.args.size(); ++i) {
      Est e = Run(*n.args[i]);
      body = Add(body, e.cost);
      result = e.shape;
    }
    uint64_t iterations = range.shape->size;
    uint64_t cost = Add(range.cost, Mul(iterations, body));
    switch (n.macro) {
      case Macro::kAll:
      case Macro::kExists:
      case Macro::kExistsOne:
        return {cost, MakeShape(1)};
      case Macro::kFilter:
      case Macro::kSortBy:
        return {n.macro == Macro::kSortBy ? Add(cost, Mul(iterations, 64)) : cost, range.shape};
      default:
        return {cost, MakeShape(iterations, result)};
    }
  }

  std::vector<ShapePtr> slots_;
};

}  // namespace

uint64_t EstimateMaxCost(const ProgramData& prog) {
  Estimator e(prog.slots);
  return e.Run(*prog.root).cost;
}

}  // namespace drahil::allocator::cel::internal
