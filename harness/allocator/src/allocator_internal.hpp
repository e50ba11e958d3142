// Internal to drahil::allocator: the indexed inventory shared by pools.cpp,
// node_selector.cpp, device_checks.cpp and the search (search*.cpp,
// results.cpp). Not a public header: allocator.hpp is the contract.
#ifndef DRAHIL_ALLOCATOR_SRC_ALLOCATOR_INTERNAL_HPP_INCLUDED
#define DRAHIL_ALLOCATOR_SRC_ALLOCATOR_INTERNAL_HPP_INCLUDED

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "drahil/allocator/allocator.hpp"
#include "drahil/core/quantity.hpp"
#include "drahil/formats/json_fields.hpp"

namespace drahil::allocator {
namespace internal {

using Nanos = __int128;

// Lenient one-key readers (drahil/formats/json_fields.hpp).
constexpr auto Str = &formats::MemberString;
constexpr auto Field = &formats::Member;
constexpr auto Bool = &formats::MemberBool;

// Qualify(): "memory" in driver d's domain is "d/memory".
inline std::string Qualify(const std::string& name, const std::string& driver) {
  return name.find('/') == std::string::npos ? driver + "/" + name : name;
}

// MatchNodeSelector(): core/v1 NodeSelector against a node (node_selector.cpp);
// kInvalidArgument when the selector does not parse, as upstream.
Result<bool> MatchNodeSelector(const Json& sel, const NodeInfo& node);
// NodeMatches(): the node selection of a slice spec or of a device with
// perDeviceNodeSelection: nodeName, allNodes or nodeSelector (false when
// none is set).
Result<bool> NodeMatches(const Json& where, const NodeInfo& node);

// UntoleratedTaint(): the first NoSchedule/NoExecute taint not tolerated
// (device_checks.cpp).
const Json* UntoleratedTaint(const std::vector<Json>& taints, const Json& tolerations);

// ---- indexed inventory --------------------------------------------------------

struct Capacity {
  std::string key;  // as written in the slice
  std::string fqn;
  Nanos value = 0;
  Quantity::Format format = Quantity::Format::kDecimalSI;
  const Json* policy = nullptr;  // requestPolicy or null
};

struct CounterSet {
  std::string name;
  std::vector<std::string> names;
  std::vector<Nanos> capacity;
  std::vector<Quantity::Format> formats;  // as written, for messages
};

struct DeviceInfo {
  std::string driver, pool, name;
  int pool_index = 0;
  int slice_index = 0;  // position of its slice in PoolInfo::slices
  Json json;
  cel::Device cel;
  enum class NodeKind { kNodeName, kAllNodes, kSelector } node_kind = NodeKind::kAllNodes;
  std::string node_name;
  Json node_selector;
  bool multi = false;  // allowMultipleAllocations, and ConsumableCapacity on
  bool binds_to_node = false;
  bool consumes_counters = false;       // has consumesCounters (read or not)
  bool has_binding_conditions = false;  // bindingConditions not empty
  std::vector<Capacity> capacity;
  // consumes: (global counter set index, [(counter index, amount)]).
  std::vector<std::pair<int, std::vector<std::pair<int, Nanos>>>> consumes;
  std::vector<Json> taints;
  std::map<std::string, Json> attributes;  // FQN → DeviceAttribute
  std::string Id() const { return driver + "/" + pool + "/" + name; }
};

struct PoolInfo {
  std::string driver, name;
  int64_t generation = 0;
  bool complete = true;
  std::string problem;
  bool invalid = false;             // unusable as a whole (problem says why)
  std::vector<const Json*> slices;  // its slices at that generation (in Inventory::slices)
  // Per slice: ignored under Options::features (IgnoredSlice()), its
  // devices not indexed and the slice not counted for relevance.
  std::vector<char> ignored;
};

// IgnoredSlice(): why the allocator, under these features, does not use the
// devices of a slice spec ("" = it does). PartitionableDevices off: slices
// with perDeviceNodeSelection or sharedCounters (GatherPools() in
// structured/internal/*/pools_*.go skips them; 1.34 skipped only
// perDeviceNodeSelection). PartitionableDevices on, 1.35+: the devices of a
// slice that also has sharedCounters (buildPool() files such a slice as a
// counter-set slice only; 1.34's layout, which 1.35's API refuses).
std::string IgnoredSlice(const Json& spec, const Features& f);

struct ClassInfo {
  std::string name;
  const Json* json = nullptr;
};

// ApplyPolicy(): the amount a request consumes under a capacity's
// requestPolicy (device_checks.cpp); nullopt with *why when it cannot fit.
std::optional<Nanos> ApplyPolicy(const Capacity& cap, std::optional<Nanos> requested,
                                 std::string* why);

}  // namespace internal

struct Allocator::Impl {
  Inventory inv;
  Options opts;
  std::vector<internal::PoolInfo> pools;
  std::vector<internal::DeviceInfo> devices;
  std::vector<internal::CounterSet> counter_sets;
  std::map<std::string, internal::ClassInfo> classes;
  std::unordered_map<std::string, int> device_index;  // driver/pool/device → index
  std::vector<std::string> warnings;
  mutable cel::CompileCache cache;
  // Selector results per (program, device): CEL is pure and devices do not
  // change for the Allocator's lifetime, so a result computed for one claim
  // holds for the next. Errors are not cached (they abort anyway).
  mutable std::mutex selector_mu;
  mutable std::unordered_map<const cel::Program*, std::vector<int8_t>> selector_results;

  Result<bool> EvaluateSelector(const cel::Program& prog, int d) const {
    {
      std::lock_guard<std::mutex> lock(selector_mu);
      auto it = selector_results.find(&prog);
      if (it != selector_results.end() && it->second[d] != 0) return it->second[d] > 0;
    }
    auto r = prog.Evaluate(devices[d].cel);
    if (r.ok()) {
      std::lock_guard<std::mutex> lock(selector_mu);
      auto& v = selector_results[&prog];
      if (v.empty()) v.assign(devices.size(), 0);
      v[d] = *r ? 1 : -1;
    }
    return r;
  }

  Impl(Inventory i, Options o) : inv(std::move(i)), opts(std::move(o)), cache(opts.cel) {}
  void Index();
  Status IndexPool(const std::vector<const Json*>& slices, int pool_index);
};

namespace internal {

// RunSearch(): one Allocate() call (search.cpp).
Result<std::vector<Json>> RunSearch(const Allocator::Impl& impl, const std::vector<Json>& claims,
                                    const NodeInfo& node);

}  // namespace internal
}  // namespace drahil::allocator

#endif  // DRAHIL_ALLOCATOR_SRC_ALLOCATOR_INTERNAL_HPP_INCLUDED
