// Fidelity tests: each case mirrors one behaviour of kube-scheduler's
// structured allocator (k8s.io/dynamic-resource-allocation/structured,
// Kubernetes 1.34-1.36), named after it, with the upstream file and function
// in a comment. docs/allocator.md has the fidelity table.
#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "drahil/allocator/allocator.hpp"
#include "drahil/testing/testing.hpp"

namespace alloc = drahil::allocator;
using alloc::Json;
using drahil::Code;

namespace {

Json Class(const std::string& name) {
  return {{"apiVersion", "resource.k8s.io/v1"},
          {"kind", "DeviceClass"},
          {"metadata", {{"name", name}}},
          {"spec",
           {{"selectors",
             Json::array({{{"cel", {{"expression", "device.driver == \"gpu.example.com\""}}}}})}}}};
}

// Slice(): a slice of pool `pool` with devices named `names`; `where` is
// merged into the spec (nodeName, nodeSelector, ...).
Json Slice(const std::string& name, const std::string& pool, const std::vector<std::string>& names,
           Json where, int64_t generation = 1, int64_t count = 1) {
  Json devices = Json::array();
  for (const auto& n : names)
    devices.push_back({{"name", n}, {"attributes", {{"index", {{"string", n}}}}}});
  Json spec = {
      {"driver", "gpu.example.com"},
      {"pool", {{"name", pool}, {"generation", generation}, {"resourceSliceCount", count}}},
      {"devices", devices}};
  for (const auto& [k, v] : where.items()) spec[k] = v;
  return {{"apiVersion", "resource.k8s.io/v1"},
          {"kind", "ResourceSlice"},
          {"metadata", {{"name", name}}},
          {"spec", spec}};
}

// Claim(): one request; `selector` is a CEL expression ("" = none).
Json Claim(const std::string& name, const std::string& selector = "", int64_t count = 1,
           bool all = false) {
  Json exactly = {{"deviceClassName", "gpu"}};
  if (all) {
    exactly["allocationMode"] = "All";
  } else {
    exactly["count"] = count;
  }
  if (!selector.empty())
    exactly["selectors"] = Json::array({{{"cel", {{"expression", selector}}}}});
  return {{"apiVersion", "resource.k8s.io/v1"},
          {"kind", "ResourceClaim"},
          {"metadata", {{"name", name}, {"namespace", "default"}, {"uid", "uid-" + name}}},
          {"spec",
           {{"devices", {{"requests", Json::array({{{"name", "gpu"}, {"exactly", exactly}}})}}}}}};
}

alloc::Inventory Inventory(std::vector<Json> slices) {
  alloc::Inventory inv;
  inv.slices = std::move(slices);
  inv.device_classes = {Class("gpu")};
  return inv;
}

std::vector<std::string> Devices(const Json& allocation) {
  std::vector<std::string> out;
  for (const auto& r : allocation["devices"]["results"])
    out.push_back(r["device"].get<std::string>());
  return out;
}

Json Term(Json exprs, Json fields = Json()) {
  Json t = Json::object();
  if (!exprs.is_null()) t["matchExpressions"] = std::move(exprs);
  if (!fields.is_null()) t["matchFields"] = std::move(fields);
  return t;
}

Json Selector(std::vector<Json> terms) { return {{"nodeSelectorTerms", terms}}; }

Json Req(const std::string& key, const std::string& op, std::vector<std::string> values = {}) {
  Json r = {{"key", key}, {"operator", op}};
  if (!values.empty()) r["values"] = values;
  return r;
}

const alloc::NodeInfo kNode{"node-1",
                            {{"kubernetes.io/hostname", "node-1"},
                             {"kubernetes.io/os", "linux"},
                             {"kubernetes.io/arch", "amd64"},
                             {"gpu-count", "8"}}};

}  // namespace

// allocator_stable.go, Allocator.Allocate() / allocateOne(): all claims of a
// pod are allocated in one search that backtracks across claims, so a claim
// that could take either device leaves the only device the next claim can
// use.
TEST_CASE("Upstream allocateOne: a pod's claims backtrack across claims", "[allocator][fidelity]") {
  alloc::Allocator a(
      Inventory({Slice("s", "node-1", {"gpu-0", "gpu-1"}, {{"nodeName", "node-1"}})}));
  Json any = Claim("a");
  Json only0 = Claim("b", "device.attributes[\"gpu.example.com\"].index == \"gpu-0\"");
  auto r = a.Allocate({any, only0}, kNode);
  REQUIRE_OK(r);
  CHECK(Devices((*r)[0]) == std::vector<std::string>{"gpu-1"});
  CHECK(Devices((*r)[1]) == std::vector<std::string>{"gpu-0"});
  // One claim after the other (what the node used to do) cannot succeed.
  auto first = a.Allocate({any}, kNode);
  REQUIRE_OK(first);
  CHECK(Devices((*first)[0]) == std::vector<std::string>{"gpu-0"});
}

// pools_stable.go, NodeMatches() with nodeaffinity.NewNodeSelector(): slice
// node selectors match the Node's labels (matchExpressions) and name
// (matchFields); terms are ORed, an empty term matches nothing.
TEST_CASE("Upstream NodeMatches: slice nodeSelector terms match node labels and fields",
          "[allocator][fidelity]") {
  auto pick = [](const Json& selector, const alloc::NodeInfo& node) {
    alloc::Allocator a(Inventory({Slice("s", "net", {"nic-0"}, {{"nodeSelector", selector}})}));
    return a.Allocate({Claim("c")}, node);
  };
  auto on = [&](const Json& selector) { return pick(selector, kNode).ok(); };
  CHECK(on(Selector({Term(Json::array({Req("kubernetes.io/os", "In", {"windows", "linux"})}))})));
  CHECK_FALSE(on(Selector({Term(Json::array({Req("kubernetes.io/arch", "NotIn", {"amd64"})}))})));
  CHECK(on(Selector({Term(Json::array({Req("zone", "NotIn", {"a"})}))})));  // absent label
  CHECK(on(Selector({Term(Json::array({Req("kubernetes.io/hostname", "Exists")}))})));
  CHECK(on(Selector({Term(Json::array({Req("zone", "DoesNotExist")}))})));
  CHECK(on(Selector({Term(Json::array({Req("gpu-count", "Gt", {"4"})}))})));
  CHECK_FALSE(on(Selector({Term(Json::array({Req("gpu-count", "Lt", {"4"})}))})));
  CHECK_FALSE(
      on(Selector({Term(Json::array({Req("kubernetes.io/os", "Gt", {"4"})}))})));  // not an integer
  CHECK(on(Selector({Term(Json(), Json::array({Req("metadata.name", "In", {"node-1"})}))})));
  CHECK_FALSE(
      on(Selector({Term(Json(), Json::array({Req("metadata.name", "NotIn", {"node-1"})}))})));
  // Requirements in a term are ANDed, terms ORed; an empty term selects nothing.
  CHECK_FALSE(on(Selector(
      {Term(Json::array({Req("kubernetes.io/os", "In", {"linux"}), Req("zone", "Exists")}))})));
  CHECK_FALSE(on(Selector({Json::object()})));
  // Terms are ORed (shown with an allocated claim's node selector: a slice
  // selector has one term, as API validation demands).
  auto fits = [](const Json& selector) {
    alloc::Allocator a(Inventory({}));
    Json done = Claim("done");
    done["status"]["allocation"] = {{"devices", {{"results", Json::array()}}},
                                    {"nodeSelector", selector}};
    return a.Allocate({done}, kNode).ok();
  };
  CHECK(fits(Selector({Term(Json::array({Req("zone", "Exists")})),
                       Term(Json::array({Req("kubernetes.io/os", "Exists")}))})));
  CHECK_FALSE(fits(Selector({Term(Json::array({Req("zone", "Exists")})), Json::object()})));
  // Selectors that do not parse are errors, not mismatches, even when
  // another term would match.
  for (const Json& bad :
       {Selector({Term(Json::array({Req("kubernetes.io/os", "In")}))}),
        Selector({Term(Json::array({Req("kubernetes.io/os", "Exists", {"linux"})}))}),
        Selector({Term(Json::array({Req("gpu-count", "Gt", {"four"})}))}),
        Selector({Term(Json(), Json::array({Req("metadata.name", "In", {"node-1", "node-2"})}))}),
        Selector({Term(Json(), Json::array({Req("metadata.name", "Exists")})),
                  Term(Json::array({Req("kubernetes.io/os", "Exists")}))})}) {
    INFO(bad.dump());
    auto r = pick(bad, kNode);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
    CHECK(r.status().message().find("node selection for slice s") != std::string::npos);
  }
}

// pools_stable.go, GatherPools(): with perDeviceNodeSelection each device
// carries its own nodeName/allNodes/nodeSelector.
TEST_CASE("Upstream GatherPools: perDeviceNodeSelection selects devices by node labels",
          "[allocator][fidelity]") {
  Json slice = Slice("s", "fabric", {"port-a", "port-b"}, {{"perDeviceNodeSelection", true}});
  slice["spec"]["devices"][0]["nodeSelector"] =
      Selector({Term(Json::array({Req("kubernetes.io/arch", "In", {"arm64"})}))});
  slice["spec"]["devices"][1]["nodeSelector"] =
      Selector({Term(Json::array({Req("kubernetes.io/arch", "In", {"amd64"})}))});
  alloc::Allocator a(Inventory({slice}));
  auto r = a.Allocate({Claim("c")}, kNode);
  REQUIRE_OK(r);
  CHECK(Devices((*r)[0]) == std::vector<std::string>{"port-b"});
  CHECK((*r)[0]["nodeSelector"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"][0] ==
        "amd64");
}

// allocator_stable.go, createNodeSelector(): the allocation's node selector
// is one term with the requirements of all devices' node selectors.
TEST_CASE("Upstream createNodeSelector: requirements of all devices merge into one term",
          "[allocator][fidelity]") {
  Json linux = Req("kubernetes.io/os", "In", {"linux"});
  Json rack = Req("gpu-count", "Exists");
  Json a =
      Slice("a", "pool-a", {"gpu-0"}, {{"nodeSelector", Selector({Term(Json::array({linux}))})}});
  Json b = Slice("b", "pool-b", {"gpu-1"},
                 {{"nodeSelector", Selector({Term(Json::array({linux, rack}))})}});
  alloc::Allocator al(Inventory({a, b}));
  auto r = al.Allocate({Claim("two", "", 2)}, kNode);
  REQUIRE_OK(r);
  const Json& terms = (*r)[0]["nodeSelector"]["nodeSelectorTerms"];
  REQUIRE(terms.size() == 1);
  CHECK(terms[0]["matchExpressions"] == Json::array({linux, rack}));
  CHECK_FALSE(terms[0].contains("matchFields"));
}

// allocator_stable.go, allocateOne(): devices of incomplete pools are not
// allocated (ExactCount looks elsewhere); validateDeviceRequest():
// allocationMode All fails when a pool relevant to the node is incomplete,
// even inside firstAvailable. Pools whose slices do not select the node are
// not relevant (GatherPools()).
TEST_CASE(
    "Upstream GatherPools/allocateOne: incomplete pools are skipped, All fails on a relevant one",
    "[allocator][fidelity][pools]") {
  Json complete = Slice("a", "node-1-a", {"gpu-0"}, {{"nodeName", "node-1"}});
  Json incomplete = Slice("b", "node-1-b", {"gpu-1"}, {{"nodeName", "node-1"}}, 1, 2);
  Json elsewhere =
      Slice("c", "zone-b", {"gpu-9"},
            {{"nodeSelector", Selector({Term(Json::array({Req("zone", "In", {"b"})}))})}}, 1, 2);
  {
    alloc::Allocator a(Inventory({complete, incomplete, elsewhere}));
    auto one = a.Allocate({Claim("one")}, kNode);
    REQUIRE_OK(one);
    CHECK(Devices((*one)[0]) == std::vector<std::string>{"gpu-0"});
    CHECK_FALSE(a.Allocate({Claim("two", "", 2)}, kNode).ok());
    auto all = a.Allocate({Claim("all", "", 1, true)}, kNode);
    REQUIRE_FALSE(all.ok());
    CHECK(all.status().message().find(
              "asks for all devices, but pool gpu.example.com/node-1-b is incomplete") !=
          std::string::npos);
    // firstAvailable: the All subrequest fails the claim, although the
    // second subrequest alone would fit.
    Json fa = Claim("fa");
    Json sub_all = {{"name", "all"}, {"deviceClassName", "gpu"}, {"allocationMode", "All"}};
    Json sub_one = {{"name", "one"}, {"deviceClassName", "gpu"}, {"count", 1}};
    fa["spec"]["devices"]["requests"][0] = {{"name", "gpu"},
                                            {"firstAvailable", Json::array({sub_all, sub_one})}};
    CHECK_FALSE(a.Allocate({fa}, kNode).ok());
  }
  // The incomplete pool of another zone does not stop All on this node.
  alloc::Allocator b(Inventory({complete, elsewhere}));
  auto all = b.Allocate({Claim("all", "", 1, true)}, kNode);
  REQUIRE_OK(all);
  CHECK(Devices((*all)[0]) == std::vector<std::string>{"gpu-0"});
}

// pools_stable.go, addSlice(): only the highest generation of a pool counts;
// allocator_stable.go, Allocate(): a node without a solution that saw an
// invalid pool says so.
TEST_CASE("Upstream addSlice/Allocate: older generations are ignored, invalid pools are named",
          "[allocator][fidelity][pools]") {
  Json old = Slice("old", "node-1", {"stale-0", "stale-1"}, {{"nodeName", "node-1"}}, 1);
  Json cur = Slice("cur", "node-1", {"gpu-0"}, {{"nodeName", "node-1"}}, 2);
  Json dup = Slice("dup", "node-1-dup", {"gpu-5", "gpu-5"}, {{"nodeName", "node-1"}});
  alloc::Allocator a(Inventory({old, cur, dup}));
  auto one = a.Allocate({Claim("one")}, kNode);
  REQUIRE_OK(one);
  CHECK(Devices((*one)[0]) == std::vector<std::string>{"gpu-0"});
  auto two = a.Allocate({Claim("two", "", 2)}, kNode);
  REQUIRE_FALSE(two.ok());
  CHECK(two.status().message().find(
            "invalid resource pools were encountered: pool gpu.example.com/node-1-dup "
            "is invalid: duplicate device name gpu-5") != std::string::npos);
}

// allocator_stable.go, Allocator.Allocate(): pools come from a Go map, so
// kube-scheduler tries them in no fixed order. Options::order_seed shuffles
// pools and slices reproducibly; unset, the order is fixed.
TEST_CASE("Upstream GatherPools order: order_seed shuffles pools reproducibly",
          "[allocator][fidelity][order]") {
  std::vector<Json> slices;
  for (int i = 0; i < 8; ++i) {
    std::string n = std::to_string(i);
    slices.push_back(Slice("s-" + n, "pool-" + n, {"gpu-" + n}, {{"nodeName", "node-1"}}));
  }
  auto first = [&](std::optional<uint64_t> seed) {
    alloc::Options o;
    o.order_seed = seed;
    alloc::Allocator a(Inventory(slices), o);
    auto r = a.Allocate({Claim("c")}, kNode);
    REQUIRE_OK(r);
    return Devices((*r)[0])[0];
  };
  CHECK(first(std::nullopt) == "gpu-0");
  std::set<std::string> seen;
  for (uint64_t seed = 1; seed <= 16; ++seed) {
    std::string d = first(seed);
    CHECK(first(seed) == d);  // the same seed, the same order
    seen.insert(d);
  }
  CHECK(seen.size() > 2);
}

// SearchOrder() is what the runner binds device roles by (from its end), so
// it must be the order the search walks under every seed: an unpinned claim
// for all devices but one gets the first ones and leaves out the last.
TEST_CASE("SearchOrder: the allocator's walk, with and without a seed",
          "[allocator][fidelity][order]") {
  std::vector<Json> slices;
  std::vector<std::string> device_of;  // slice index → its device
  // Three pools of three slices each (resourceSliceCount 3), listed with the
  // pools interleaved, so neither the listing nor the names give the order.
  for (int s = 0; s < 3; ++s) {
    for (const char* pool : {"pool-b", "pool-a", "pool-c"}) {
      std::string dev = std::string(pool) + "-dev-" + std::to_string(s);
      slices.push_back(Slice(std::string(pool) + "-slice-" + std::to_string(2 - s), pool, {dev},
                             {{"nodeName", "node-1"}}, 1, 3));
      device_of.push_back(dev);
    }
  }
  std::set<std::string> lasts;
  for (std::optional<uint64_t> seed :
       {std::optional<uint64_t>(), std::optional<uint64_t>(1), std::optional<uint64_t>(7),
        std::optional<uint64_t>(42), std::optional<uint64_t>(1234567890123ull)}) {
    INFO("seed " << (seed ? std::to_string(*seed) : "none"));
    std::vector<size_t> order = alloc::SearchOrder(slices, seed);
    REQUIRE(order.size() == slices.size());
    CHECK(std::set<size_t>(order.begin(), order.end()).size() == slices.size());
    alloc::Options o;
    o.order_seed = seed;
    alloc::Allocator a(Inventory(slices), o);
    auto first = a.Allocate({Claim("one")}, kNode);
    REQUIRE_OK(first);
    CHECK(Devices((*first)[0]) == std::vector<std::string>{device_of[order.front()]});
    auto most = a.Allocate({Claim("most", "", static_cast<int64_t>(slices.size()) - 1)}, kNode);
    REQUIRE_OK(most);
    std::vector<std::string> got = Devices((*most)[0]);
    CHECK(std::find(got.begin(), got.end(), device_of[order.back()]) == got.end());
    lasts.insert(device_of[order.back()]);
    if (!seed) {
      // Pools by name, slices as listed.
      CHECK(device_of[order.front()] == "pool-a-dev-0");
      CHECK(device_of[order.back()] == "pool-c-dev-2");
    }
  }
  CHECK(lasts.size() > 1);  // the seeds move the end of the order
}

// allocator_stable.go Allocate(): a claim's allocation holds at most
// AllocationResultsMaxSize (32) devices. The fewest devices each request can
// take are summed per claim (a firstAvailable list counts its smallest
// subrequest) and the call fails above the limit, however many devices the
// node has; an All request is checked on its result.
TEST_CASE("Upstream Allocate: a claim asking for more than 32 devices exceeds the claim limit",
          "[allocator][fidelity]") {
  std::vector<std::string> names;
  for (int i = 0; i < 40; ++i) names.push_back("gpu-" + std::to_string(i));
  alloc::Allocator a(Inventory({Slice("s", "node-1", names, {{"nodeName", "node-1"}})}));
  auto fits = a.Allocate({Claim("fits", "", 32)}, kNode);
  REQUIRE_OK(fits);
  CHECK(Devices((*fits)[0]).size() == 32);
  auto over = a.Allocate({Claim("over", "", 33)}, kNode);
  REQUIRE_FALSE(over.ok());
  CHECK(over.status().code() == drahil::Code::kResourceExhausted);
  CHECK(over.status().message() ==
        "claim default/over: number of requested devices 33 exceeds the claim limit of 32");
  // firstAvailable: the smallest subrequest counts (50 or 40 → 40).
  Json first = Claim("first");
  first["spec"]["devices"]["requests"][0] = {
      {"name", "gpu"},
      {"firstAvailable",
       Json::array({{{"name", "many"}, {"deviceClassName", "gpu"}, {"count", 50}},
                    {{"name", "more"}, {"deviceClassName", "gpu"}, {"count", 40}}})}};
  auto sub = a.Allocate({first}, kNode);
  REQUIRE_FALSE(sub.ok());
  CHECK(sub.status().message().find("number of requested devices 40 exceeds the claim limit") !=
        std::string::npos);
  // Two requests of 20: 40 in one claim.
  Json two = Claim("two", "", 20);
  Json second = two["spec"]["devices"]["requests"][0];
  second["name"] = "gpu2";
  two["spec"]["devices"]["requests"].push_back(second);
  auto both = a.Allocate({two}, kNode);
  REQUIRE_FALSE(both.ok());
  CHECK(both.status().message().find("devices 40 exceeds") != std::string::npos);
  // All 40 devices: refused on the result.
  auto all = a.Allocate({Claim("all", "", 1, true)}, kNode);
  REQUIRE_FALSE(all.ok());
  CHECK(all.status().message().find("devices 40 exceeds the claim limit of 32") !=
        std::string::npos);
}
