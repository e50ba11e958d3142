// Per-device checks of the search: tolerations and capacity request policies.
#include <algorithm>

#include "allocator_internal.hpp"
#include "quantity_util.hpp"

namespace drahil::allocator::internal {
namespace {

bool Tolerates(const Json& tol, const Json& taint) {
  std::string effect = Str(tol, "effect");
  if (!effect.empty() && effect != Str(taint, "effect")) return false;
  std::string op = Str(tol, "operator");
  if (op.empty()) op = "Equal";
  std::string key = Str(tol, "key");
  if (op == "Exists") return key.empty() || key == Str(taint, "key");
  return key == Str(taint, "key") && Str(tol, "value") == Str(taint, "value");
}

}  // namespace

// UntoleratedTaint(): the first NoSchedule/NoExecute taint not tolerated.
const Json* UntoleratedTaint(const std::vector<Json>& taints, const Json& tolerations) {
  for (const auto& t : taints) {
    std::string effect = Str(t, "effect");
    if (effect != "NoSchedule" && effect != "NoExecute") continue;  // "None" is informational
    bool ok = false;
    if (tolerations.is_array()) {
      for (const auto& tol : tolerations) {
        if (Tolerates(tol, t)) {
          ok = true;
          break;
        }
      }
    }
    if (!ok) return &t;
  }
  return nullptr;
}

// RoundUp(): the amount a request consumes under a capacity's requestPolicy
// (KEP-5075): validValues → the smallest valid value ≥ request; validRange →
// at least min, rounded up to min + k*step, at most max.
std::optional<Nanos> ApplyPolicy(const Capacity& cap, std::optional<Nanos> requested,
                                 std::string* why) {
  const Json* pol = cap.policy;
  if (!requested) {
    if (pol) {
      auto def = ParseQuantityJson(Field(*pol, "default"));
      if (def.ok() && !Field(*pol, "default").is_null()) return def->nanos();
    }
    return cap.value;  // no request and no default: the whole capacity
  }
  Nanos r = *requested;
  if (!pol) return r;
  const Json& values = Field(*pol, "validValues");
  if (values.is_array() && !values.empty()) {
    std::vector<Nanos> vs;
    for (const auto& v : values) {
      auto q = ParseQuantityJson(v);
      if (q.ok()) vs.push_back(q->nanos());
    }
    std::sort(vs.begin(), vs.end());
    for (Nanos v : vs) {
      if (v >= r) return v;
    }
    *why = "no valid value of capacity " + cap.key + " is large enough for " +
           FormatNanos(r, cap.format);
    return std::nullopt;
  }
  const Json& range = Field(*pol, "validRange");
  if (range.is_object()) {
    auto min = ParseQuantityJson(Field(range, "min"));
    Nanos lo = min.ok() ? min->nanos() : 0;
    Nanos v = r < lo ? lo : r;
    if (!Field(range, "step").is_null()) {
      auto step = ParseQuantityJson(Field(range, "step"));
      if (step.ok() && step->nanos() > 0) {
        Nanos s = step->nanos();
        Nanos k = (v - lo + s - 1) / s;
        v = lo + k * s;
      }
    }
    if (!Field(range, "max").is_null()) {
      auto max = ParseQuantityJson(Field(range, "max"));
      if (max.ok() && v > max->nanos()) {
        *why = "request " + FormatNanos(r, cap.format) + " for capacity " + cap.key +
               " exceeds the policy maximum " + max->ToString();
        return std::nullopt;
      }
    }
    return v;
  }
  return r;
}

}  // namespace drahil::allocator::internal
