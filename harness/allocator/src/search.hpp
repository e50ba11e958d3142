// Internal: the state of one Allocate() call, a depth-first backtracking
// search over requests, subrequests and devices. Set-up in search_setup.cpp,
// the search in search.cpp, the results in results.cpp.
#ifndef DRAHIL_ALLOCATOR_SRC_SEARCH_HPP_INCLUDED
#define DRAHIL_ALLOCATOR_SRC_SEARCH_HPP_INCLUDED

#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "allocator_internal.hpp"

namespace drahil::allocator::internal {

struct Alt {
  std::string result_name;  // "req" or "req/sub"
  std::string sub_name;
  const ClassInfo* cls = nullptr;
  std::string class_name;
  std::vector<std::pair<std::string, std::shared_ptr<const cel::Program>>>
      selectors;  // (who, program)
  bool all = false;
  int64_t count = 1;
  bool admin = false;
  Json tolerations;
  std::vector<std::pair<std::string, Nanos>> capacity_requests;  // raw key, amount
};

// resource.k8s.io AllocationResultsMaxSize: the most devices one claim's
// allocation may hold.
inline constexpr int64_t kAllocationResultsMaxSize = 32;

struct Request {
  int claim = 0;
  std::string name;
  std::vector<Alt> alts;
};

struct Constraint {
  std::set<std::string> requests;   // empty = all
  bool match = true;                // matchAttribute, else distinctAttribute
  std::string attribute;            // fully qualified
  std::vector<const Json*> values;  // values of the devices picked so far
  bool Applies(const std::string& req, const std::string& result_name) const {
    return requests.empty() || requests.count(req) || requests.count(result_name);
  }
};

struct ClaimState {
  const Json* claim = nullptr;
  std::string ns, name, uid;
  bool preallocated = false;
  std::vector<Constraint> constraints;
};

struct Pick {
  int request = 0;
  int alt = 0;
  int device = 0;
  bool charged_counters = false;
  std::vector<std::pair<int, Nanos>> consumed;  // capacity index, amount (multi only)
};

// Static eligibility of (alt, device), memoised per Allocate call.
struct Eligibility {
  enum State : int8_t { kUnknown, kYes, kNo };
  std::vector<int8_t> state;
  // stage: how far a rejected device got (1 class, 2 selectors, 3 taints,
  // 4 capacity names, 5 capacity amounts), so the explanation can name the closest miss.
  std::vector<int8_t> stage;
  // Sparse: most devices pass or fail without either, and the search state
  // is rebuilt for every Allocate() call.
  std::unordered_map<int, std::string> reason;
  std::unordered_map<int, std::vector<std::pair<int, Nanos>>> consumed;
};

// OrderKey(): where a pool or slice named `name` goes in the order of seed.
uint64_t OrderKey(uint64_t seed, const std::string& name);
// SliceOrderKey(): a slice's place under seed, from what it holds (its first
// device's name, else its first counter set's, else its own name): slice
// names are mostly generated (generateName), so a key from them would give
// every node, and every restart of the driver, another order for one seed.
uint64_t SliceOrderKey(uint64_t seed, const Json& slice);

class Search {
 public:
  Search(const Allocator::Impl& impl, const NodeInfo& node) : impl_(impl), node_(node) {}

  Status Prepare(const std::vector<Json>& claims);
  Result<std::vector<Json>> Run();

 private:
  const DeviceInfo& Dev(int d) const { return impl_.devices[d]; }
  Status BuildAlt(const ClaimState& cs, const std::string& req_name, const Json& spec,
                  bool allow_admin, Alt* alt);
  Status AddInUse(const Json& allocation);
  Status AddAllocatedClaims(const std::vector<Json>& claims);
  Status AddClaim(size_t ci, const Json& c);
  Status AddPreallocated(ClaimState cs, const Json& alloc, const std::string& where);
  Status AddRequest(size_t ci, const ClaimState& cs, const Json& r, const std::string& where);
  Status CheckFeatures(const ClaimState& cs, const std::string& req_name, const Json& exactly,
                       const Json& first) const;
  Status CheckAllModePools() const;
  Status CheckClaimLimits() const;
  Result<bool> OnNode(const DeviceInfo& d) const;
  Status GatherDevices();

  // SearchFrom(): requests ri and after; true when all are allocated (picks_).
  bool SearchFrom(size_t ri);
  // How one alternative of a request ended: allocated (with every request
  // after it), failed (the next alternative may still do), or the search
  // must stop (an error, the step budget, or no hope).
  enum class AltOutcome { kAllocated, kFailed, kAbort };
  AltOutcome TryAll(size_t ri, int ai, const std::string& prefix, std::string* why,
                    bool* any_static);
  std::string ApplyAll(size_t ri, int ai, std::vector<Pick>* added);
  AltOutcome TryCount(size_t ri, int ai, const std::string& prefix, std::string* why,
                      bool* any_static);
  void CountStatic(size_t ri, int ai, int64_t* eligible, std::string* first_static);
  void NameFirstBusy(size_t ri, int ai);
  bool PickDevices(size_t ri, int alt, size_t start, int64_t remaining);
  // StaticCheck(): "" when (alt, device) passes selectors, taints and capacity.
  const std::string& StaticCheck(size_t ri, int alt, int d);
  // StaticOk(): the same verdict without the rejection's text.
  bool StaticOk(size_t ri, int alt, int d) {
    int8_t s = elig_[ri][alt].state[d];
    if (s != Eligibility::kUnknown) return s == Eligibility::kYes;
    return StaticEval(ri, alt, d, /*explain=*/false);
  }
  bool StaticEval(size_t ri, int alt, int d, bool explain);
  std::string DynamicCheck(size_t ri, int alt, int d);
  void Apply(Pick& p);
  void Undo(const Pick& p);
  void NoteFailure(size_t ri, const std::string& why);
  std::string Describe(size_t ri) const;
  Result<Json> BuildAllocation(size_t claim_index);
  Json ResultEntry(const Pick& p, const ClaimState& cs, size_t* share_index, bool* binding) const;
  Json ClaimConfig(size_t claim_index, const ClaimState& cs) const;

  const Allocator::Impl& impl_;
  const NodeInfo& node_;
  std::vector<ClaimState> claims_;
  std::vector<Request> requests_;
  std::vector<int> node_devices_;              // indices of usable devices on this node, in order
  std::vector<std::string> incomplete_pools_;  // problems of incomplete pools relevant to this node
  std::vector<std::string> invalid_pools_;     // problems of invalid pools relevant to this node
  std::vector<std::vector<Eligibility>> elig_;  // [request][alt]
  // In-use state.
  std::vector<char> exclusive_;
  // Consumed(): per capacity, what the shares of a multi-allocatable device use.
  std::vector<Nanos>& Consumed(int d) {
    auto& v = consumed_[d];
    if (v.empty()) v.assign(impl_.devices[d].capacity.size(), 0);
    return v;
  }
  std::unordered_map<int, std::vector<Nanos>> consumed_;
  std::vector<int> shares_;  // allocations per multi device
  std::vector<std::vector<Nanos>> counters_used_;
  std::vector<Pick> picks_;
  std::vector<int> chosen_alt_;
  int64_t steps_ = 0;
  bool budget_exceeded_ = false;
  bool hopeless_ = false;
  Status error_;
  size_t fail_ri_ = 0;
  std::string fail_why_;
  std::string scan_reason_;  // first rejection seen in the current request's scan
};

}  // namespace drahil::allocator::internal

#endif  // DRAHIL_ALLOCATOR_SRC_SEARCH_HPP_INCLUDED
