// Node selection: core/v1 NodeSelector matching and NodeInfo.
//
// Mirrors NodeMatches() in
// k8s.io/dynamic-resource-allocation/structured/internal/stable/pools_stable.go,
// which parses selectors with nodeaffinity.NewNodeSelector()
// (k8s.io/component-helpers/scheduling/corev1/nodeaffinity): terms are ORed,
// requirements within a term ANDed, an empty term matches nothing, and a
// selector that does not parse is an error, not a mismatch.
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <string>

#include "allocator_internal.hpp"

namespace drahil::allocator {
namespace internal {
namespace {

// ParseInt64(): a whole decimal int64, as strconv.ParseInt(s, 10, 64).
std::optional<int64_t> ParseInt64(const std::string& s) {
  if (s.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || end != s.c_str() + s.size() || std::isspace(static_cast<unsigned char>(s[0]))) {
    return std::nullopt;
  }
  return static_cast<int64_t>(v);
}

std::vector<std::string> Values(const Json& req) {
  std::vector<std::string> out;
  const Json& values = Field(req, "values");
  if (!values.is_array()) return out;
  for (const auto& v : values) out.push_back(v.is_string() ? v.get<std::string>() : v.dump());
  return out;
}

// MatchLabelRequirement(): one matchExpressions entry, after
// labels.NewRequirement() (validation) and Requirement.Matches().
Result<bool> MatchLabelRequirement(const Json& req, const NodeInfo& node) {
  std::string key = Str(req, "key");
  std::string op = Str(req, "operator");
  std::vector<std::string> values = Values(req);
  if (key.empty()) return InvalidArgumentError("matchExpressions: key must not be empty");
  auto it = node.labels.find(key);
  const std::string* have = it == node.labels.end() ? nullptr : &it->second;
  auto in_values = [&] {
    for (const auto& v : values) {
      if (have && v == *have) return true;
    }
    return false;
  };
  if (op == "In" || op == "NotIn") {
    if (values.empty()) {
      return InvalidArgumentError("matchExpressions " + key + ": operator " + op +
                                  " needs at least one value");
    }
    return op == "In" ? have && in_values() : !have || !in_values();
  }
  if (op == "Exists" || op == "DoesNotExist") {
    if (!values.empty()) {
      return InvalidArgumentError("matchExpressions " + key + ": operator " + op +
                                  " takes no values");
    }
    return op == "Exists" ? have != nullptr : have == nullptr;
  }
  if (op == "Gt" || op == "Lt") {
    std::optional<int64_t> want = values.size() == 1 ? ParseInt64(values[0]) : std::nullopt;
    if (!want) {
      return InvalidArgumentError("matchExpressions " + key + ": operator " + op +
                                  " needs one integer value");
    }
    if (!have) return false;
    std::optional<int64_t> got = ParseInt64(*have);
    if (!got) return false;  // a label that is not an integer never matches
    return op == "Gt" ? *got > *want : *got < *want;
  }
  return InvalidArgumentError("matchExpressions " + key + ": unknown operator \"" + op + "\"");
}

// MatchFieldRequirement(): one matchFields entry, after
// nodeSelectorRequirementsAsFieldSelector(): In/NotIn with exactly one
// value, against the node's fields (only metadata.name; other keys read "").
Result<bool> MatchFieldRequirement(const Json& req, const NodeInfo& node) {
  std::string key = Str(req, "key");
  std::string op = Str(req, "operator");
  std::vector<std::string> values = Values(req);
  if (op != "In" && op != "NotIn") {
    return InvalidArgumentError("matchFields " + key + ": operator \"" + op +
                                "\" is not supported (In, NotIn)");
  }
  if (values.size() != 1)
    return InvalidArgumentError("matchFields " + key + ": values must have one element");
  std::string have = key == "metadata.name" ? node.name : "";
  return op == "In" ? have == values[0] : have != values[0];
}

}  // namespace

Result<bool> MatchNodeSelector(const Json& sel, const NodeInfo& node) {
  const Json& terms = Field(sel, "nodeSelectorTerms");
  if (!terms.is_array()) return InvalidArgumentError("node selector without nodeSelectorTerms");
  // Every term is parsed (a bad one fails the selector even when another
  // term matches), then the terms are ORed.
  bool matched = false;
  for (const auto& term : terms) {
    const Json& exprs = Field(term, "matchExpressions");
    const Json& fields = Field(term, "matchFields");
    bool empty = (!exprs.is_array() || exprs.empty()) && (!fields.is_array() || fields.empty());
    if (empty) continue;  // an empty term selects nothing
    bool ok = true;
    if (exprs.is_array()) {
      for (const auto& r : exprs) {
        DRAHIL_ASSIGN_OR_RETURN(bool m, MatchLabelRequirement(r, node));
        ok = ok && m;
      }
    }
    if (fields.is_array()) {
      for (const auto& r : fields) {
        DRAHIL_ASSIGN_OR_RETURN(bool m, MatchFieldRequirement(r, node));
        // Without a node name there are no fields to match (as upstream).
        if (!node.name.empty()) ok = ok && m;
      }
    }
    matched = matched || ok;
  }
  return matched;
}

Result<bool> NodeMatches(const Json& where, const NodeInfo& node) {
  std::string name = Str(where, "nodeName");
  if (!name.empty()) return name == node.name;
  if (Bool(where, "allNodes")) return true;
  const Json& sel = Field(where, "nodeSelector");
  if (sel.is_object()) return MatchNodeSelector(sel, node);
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
