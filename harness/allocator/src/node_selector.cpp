// Node selection: core/v1 NodeSelector matching and NodeInfo.
#include <string>

#include "allocator_internal.hpp"

namespace drahil::allocator {
namespace internal {
namespace {

bool MatchRequirement(const Json& req, const std::string* value) {
  std::string op = Str(req, "operator");
  const Json& values = Field(req, "values");
  auto in_values = [&](const std::string& v) {
    if (!values.is_array()) return false;
    for (const auto& x : values) {
      if (x.is_string() && x.get<std::string>() == v) return true;
    }
    return false;
  };
  if (op == "In") return value && in_values(*value);
  if (op == "NotIn") return !value || !in_values(*value);
  if (op == "Exists") return value != nullptr;
  if (op == "DoesNotExist") return value == nullptr;
  if (op == "Gt" || op == "Lt") {
    if (!value || !values.is_array() || values.size() != 1 || !values[0].is_string()) return false;
    try {
      long long have = std::stoll(*value);
      long long want = std::stoll(values[0].get<std::string>());
      return op == "Gt" ? have > want : have < want;
    } catch (...) {
      return false;
    }
  }
  return false;
}

}  // namespace

// MatchNodeSelector(): core/v1 NodeSelector: terms are ORed, requirements in
// a term ANDed; an empty term matches nothing.
bool MatchNodeSelector(const Json& sel, const NodeInfo& node) {
  const Json& terms = Field(sel, "nodeSelectorTerms");
  if (!terms.is_array()) return false;
  for (const auto& term : terms) {
    const Json& exprs = Field(term, "matchExpressions");
    const Json& fields = Field(term, "matchFields");
    bool any = false, ok = true;
    if (exprs.is_array()) {
      for (const auto& r : exprs) {
        any = true;
        std::string key = Str(r, "key");
        auto it = node.labels.find(key);
        if (!MatchRequirement(r, it == node.labels.end() ? nullptr : &it->second)) ok = false;
      }
    }
    if (fields.is_array()) {
      for (const auto& r : fields) {
        any = true;
        if (Str(r, "key") != "metadata.name" || !MatchRequirement(r, &node.name)) ok = false;
      }
    }
    if (any && ok) return true;
  }
  return false;
}

}  // namespace internal

using internal::Field;
using internal::Str;

NodeInfo NodeInfo::FromJson(const Json& node) {
  NodeInfo n;
  const Json& md = Field(node, "metadata");
  n.name = Str(md, "name");
  const Json& labels = Field(md, "labels");
  if (labels.is_object()) {
    for (const auto& [k, v] : labels.items()) {
      if (v.is_string()) n.labels[k] = v.get<std::string>();
    }
  }
  return n;
}

}  // namespace drahil::allocator
