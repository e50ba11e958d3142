// Allocation tests: one scenario per feature, with the inventories and claims
// in tests/testdata/*.yaml.
#include "drahil/allocator/allocator.hpp"

#include <map>
#include <set>

#include "drahil/allocator/yaml.hpp"
#include "drahil/core/clock.hpp"
#include "drahil/core/quantity.hpp"
#include "drahil/testing/testing.hpp"

namespace alloc = drahil::allocator;
using alloc::Json;
using drahil::Code;

namespace {

std::vector<Json> Load(const std::string& name) {
  auto docs = alloc::LoadYamlPath(drahil::testing::SourceDir() +
                                  "/harness/allocator/tests/testdata/" + name);
  REQUIRE_OK(docs);
  return *docs;
}

// Fixture: the inventory of some testdata files plus their claims by name.
struct World {
  alloc::Inventory inv;
  std::map<std::string, Json> claims;  // "ns/name"
  std::vector<Json> pods;

  explicit World(std::initializer_list<std::string> files) {
    for (const auto& f : files) {
      for (auto& o : Load(f)) {
        std::string kind = o.value("kind", "");
        if (kind == "ResourceSlice")
          inv.slices.push_back(o);
        else if (kind == "DeviceClass")
          inv.device_classes.push_back(o);
        else if (kind == "DeviceTaintRule")
          inv.taint_rules.push_back(o);
        else if (kind == "Namespace")
          inv.namespaces.push_back(o);
        else if (kind == "Pod")
          pods.push_back(o);
        else if (kind == "ResourceClaim")
          claims[o["metadata"].value("namespace", "default") + "/" +
                 o["metadata"]["name"].get<std::string>()] = o;
      }
    }
  }
  Json Claim(const std::string& key) const {
    auto it = claims.find(key);
    REQUIRE(it != claims.end());
    return it->second;
  }
};

const alloc::NodeInfo kNode1{"node-1", {{"kubernetes.io/hostname", "node-1"}}};

std::vector<std::string> Devices(const Json& allocation) {
  std::vector<std::string> out;
  for (const auto& r : allocation["devices"]["results"])
    out.push_back(r["device"].get<std::string>());
  return out;
}

// AllocateOne(): allocate and record the claim as in use.
drahil::Result<Json> AllocateOne(alloc::Allocator& a, Json claim,
                                 const alloc::NodeInfo& node = kNode1) {
  auto r = a.Allocate({claim}, node);
  if (!r.ok()) return r.status();
  claim["status"]["allocation"] = (*r)[0];
  a.AddAllocatedClaim(claim);
  return claim;
}

}  // namespace

TEST_CASE("Allocator: exact count writes results, config and node selector as kube-scheduler does",
          "[allocator]") {
  World w({"gpus.yaml", "claims.yaml"});
  alloc::Allocator a(w.inv);
  auto r = a.Allocate({w.Claim("default/two-gpus")}, kNode1);
  REQUIRE_OK(r);
  const Json& al = (*r)[0];
  CHECK(Devices(al) == std::vector<std::string>{"gpu-0", "gpu-1"});
  const Json& r0 = al["devices"]["results"][0];
  CHECK(r0 == Json{{"request", "gpu"},
                   {"driver", "gpu.example.com"},
                   {"pool", "node-1"},
                   {"device", "gpu-0"}});
  // Class config first (FromClass, naming the request), then the claim's.
  REQUIRE(al["devices"]["config"].size() == 2);
  CHECK(al["devices"]["config"][0]["source"] == "FromClass");
  CHECK(al["devices"]["config"][0]["requests"] == Json::array({"gpu"}));
  CHECK(al["devices"]["config"][0]["opaque"]["parameters"]["sharing"]["strategy"] == "TimeSlicing");
  CHECK(al["devices"]["config"][1]["source"] == "FromClaim");
  CHECK(al["devices"]["config"][1]["opaque"]["parameters"]["sharing"]["strategy"] == "MPS");
  CHECK(al["nodeSelector"]["nodeSelectorTerms"][0]["matchFields"][0] ==
        Json{{"key", "metadata.name"}, {"operator", "In"}, {"values", {"node-1"}}});
  CHECK_FALSE(al.contains("allocationTimestamp"));

  SECTION("deterministic: same inputs, same result") {
    alloc::Allocator b(w.inv);
    auto again = b.Allocate({w.Claim("default/two-gpus")}, kNode1);
    REQUIRE_OK(again);
    CHECK((*again)[0] == al);
  }
  SECTION("devices in use are skipped; a claim already allocated is returned unchanged") {
    Json c = w.Claim("default/two-gpus");
    c["status"]["allocation"] = al;
    a.AddAllocatedClaim(c);
    Json other = w.Claim("default/two-gpus");
    other["metadata"]["name"] = "two-more";
    auto next = a.Allocate({other, c}, kNode1);
    REQUIRE_OK(next);
    CHECK(Devices((*next)[0]) == std::vector<std::string>{"gpu-2", "gpu-3"});
    CHECK((*next)[1] == al);
  }
  SECTION("a node without the slices cannot host the claim") {
    auto none = a.Allocate({w.Claim("default/two-gpus")}, alloc::NodeInfo{"node-2", {}});
    REQUIRE_FALSE(none.ok());
    CHECK(none.status().code() == Code::kResourceExhausted);
    CHECK(none.status().message().find("0 of 0 on node \"node-2\"") != std::string::npos);
  }
}

TEST_CASE("Allocator: unschedulable explains the request and the first failing selector",
          "[allocator]") {
  World w({"gpus.yaml", "claims.yaml"});
  alloc::Allocator a(w.inv);
  auto r = a.Allocate({w.Claim("default/tpu")}, kNode1);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kResourceExhausted);
  std::string m = r.status().message();
  INFO(m);
  CHECK(m.rfind("unschedulable: claim default/tpu, request \"tpu\": needs 1 device(s), 0 of 10",
                0) == 0);
  CHECK(m.find("device gpu.example.com/node-1/gpu-0: selector 0 of request \"tpu\" "
               "`device.attributes[\"gpu.example.com\"].model == \"TPUv5\"` is false") !=
        std::string::npos);
  auto nine = a.Allocate({w.Claim("default/nine-gpus")}, kNode1);
  REQUIRE_FALSE(nine.ok());
  CHECK(nine.status().message().find("needs 9 device(s), 8 of 10") != std::string::npos);
  CHECK(nine.status().message().find("selector 0 of device class \"gpu.example.com\"") !=
        std::string::npos);
}

TEST_CASE("Allocator: a CEL runtime error aborts the allocation with the expression",
          "[allocator][cel]") {
  World w({"gpus.yaml", "claims.yaml"});
  alloc::Allocator a(w.inv);
  auto r = a.Allocate({w.Claim("default/unknown-key")}, kNode1);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kInvalidArgument);
  CHECK(r.status().message().find("no such key: productName") != std::string::npos);
  CHECK(r.status().message().find("device gpu.example.com/node-1/gpu-0") != std::string::npos);
  // A selector that does not compile is reported as such.
  Json bad = w.Claim("default/tpu");
  bad["spec"]["devices"]["requests"][0]["exactly"]["selectors"][0]["cel"]["expression"] =
      "device.driver ==";
  auto c = a.Allocate({bad}, kNode1);
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == Code::kInvalidArgument);
  CHECK(c.status().message().find("selector 0 of request \"tpu\"") != std::string::npos);
}

TEST_CASE("Allocator: firstAvailable falls back in order and names the subrequest", "[allocator]") {
  World w({"gpus.yaml", "claims.yaml"});
  alloc::Allocator a(w.inv);
  // First choice: one 80Gi GPU with a new driver (gpu-4).
  auto first = AllocateOne(a, w.Claim("default/prioritized"));
  REQUIRE_OK(first);
  CHECK((*first)["status"]["allocation"]["devices"]["results"][0]["request"] == "gpu/big");
  CHECK(Devices((*first)["status"]["allocation"]) == std::vector<std::string>{"gpu-4"});
  // Occupy the other H100s; the next claim falls back to two A100s.
  for (int i = 0; i < 3; ++i) {
    Json c = w.Claim("default/prioritized");
    c["metadata"]["name"] = "p" + std::to_string(i);
    REQUIRE_OK(AllocateOne(a, c));
  }
  Json c = w.Claim("default/prioritized");
  c["metadata"]["name"] = "fallback";
  auto r = AllocateOne(a, c);
  REQUIRE_OK(r);
  const Json& res = (*r)["status"]["allocation"]["devices"]["results"];
  REQUIRE(res.size() == 2);
  CHECK(res[0]["request"] == "gpu/small");
  CHECK(res[1]["request"] == "gpu/small");
  // When neither fits, the reason lists both subrequests.
  alloc::Inventory inv = w.inv;
  inv.slices.resize(1);
  Json only_one = inv.slices[0];
  only_one["spec"]["devices"] = Json::array({only_one["spec"]["devices"][0]});
  inv.slices[0] = only_one;
  alloc::Allocator small(inv);
  auto none = small.Allocate({w.Claim("default/prioritized")}, kNode1);
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().message().find("subrequest \"big\"") != std::string::npos);
  CHECK(none.status().message().find("subrequest \"small\": needs 2 device(s), 1 of 1") !=
        std::string::npos);
}

TEST_CASE("Allocator: matchAttribute across two requests backtracks to a common PCIe root",
          "[allocator]") {
  World w({"gpus.yaml", "claims.yaml"});
  alloc::Allocator a(w.inv);
  auto r = a.Allocate({w.Claim("default/gpu-and-nic")}, kNode1);
  REQUIRE_OK(r);
  // gpu-0 (pci0000:00) has no NIC on its root; the search must move to gpu-4.
  CHECK(Devices((*r)[0]) == std::vector<std::string>{"gpu-4", "nic-0"});
  // Without a NIC on pci0000:80 the constraint cannot hold; the reason says so.
  alloc::Inventory inv = w.inv;
  for (auto& s : inv.slices) {
    if (s["spec"]["driver"] == "nic.example.com") s["spec"]["devices"].erase(0);
  }
  alloc::Allocator b(inv);
  auto none = b.Allocate({w.Claim("default/gpu-and-nic")}, kNode1);
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().message().find("request \"nic\"") != std::string::npos);
  CHECK(none.status().message().find("matchAttribute resource.kubernetes.io/pcieRoot") !=
        std::string::npos);

  SECTION("distinctAttribute picks devices with different values") {
    auto d = a.Allocate({w.Claim("default/distinct-models")}, kNode1);
    REQUIRE_OK(d);
    CHECK(Devices((*d)[0]) == std::vector<std::string>{"gpu-0", "gpu-4"});
  }
}

TEST_CASE("Allocator: allocationMode All takes every matching device and fails if one is busy",
          "[allocator]") {
  World w({"gpus.yaml", "claims.yaml"});
  alloc::Allocator a(w.inv);
  auto r = a.Allocate({w.Claim("default/all-gpus")}, kNode1);
  REQUIRE_OK(r);
  CHECK(Devices((*r)[0]).size() == 8);
  REQUIRE_OK(AllocateOne(a, w.Claim("default/two-gpus")));
  auto busy = a.Allocate({w.Claim("default/all-gpus")}, kNode1);
  REQUIRE_FALSE(busy.ok());
  CHECK(busy.status().message().find("asks for all 8 matching device(s)") != std::string::npos);
  CHECK(busy.status().message().find("gpu-0 is already allocated") != std::string::npos);
  // And the other way round: with every GPU taken, an exact request says why.
  Json all = w.Claim("default/all-gpus");
  all["metadata"]["name"] = "everything";
  all["spec"]["devices"]["requests"][0]["exactly"]["allocationMode"] = "ExactCount";
  all["spec"]["devices"]["requests"][0]["exactly"]["count"] = 6;
  REQUIRE_OK(AllocateOne(a, all));
  Json one = w.Claim("default/tpu");
  one["spec"]["devices"]["requests"][0]["exactly"].erase("selectors");
  auto full = a.Allocate({one}, kNode1);
  REQUIRE_FALSE(full.ok());
  CHECK(full.status().message().find(
            "needs 1 device(s) and 8 match, but they cannot be allocated "
            "(first rejection: device gpu.example.com/node-1/gpu-0 is already allocated)") !=
        std::string::npos);
}

TEST_CASE("Allocator: admin access ignores exclusivity and needs a labelled namespace",
          "[allocator]") {
  World w({"gpus.yaml", "claims.yaml"});
  alloc::Allocator a(w.inv);
  REQUIRE_OK(AllocateOne(a, w.Claim("default/two-gpus")));
  auto r = a.Allocate({w.Claim("monitoring/admin")}, kNode1);
  REQUIRE_OK(r);
  CHECK(Devices((*r)[0]).size() == 8);  // including the two in use
  for (const auto& res : (*r)[0]["devices"]["results"]) CHECK(res["adminAccess"] == true);
  // Admin allocations do not count as allocated.
  Json admin = w.Claim("monitoring/admin");
  admin["status"]["allocation"] = (*r)[0];
  a.AddAllocatedClaim(admin);
  Json more = w.Claim("default/two-gpus");
  more["metadata"]["name"] = "more";
  auto m = a.Allocate({more}, kNode1);
  REQUIRE_OK(m);
  CHECK(Devices((*m)[0]) == std::vector<std::string>{"gpu-2", "gpu-3"});
  // Unlabelled namespace: refused (unless the check is turned off).
  auto denied = a.Allocate({w.Claim("default/admin")}, kNode1);
  REQUIRE_FALSE(denied.ok());
  CHECK(denied.status().code() == Code::kPermissionDenied);
  CHECK(denied.status().message().find("resource.kubernetes.io/admin-access") != std::string::npos);
  alloc::Options lax;
  lax.check_admin_namespace = false;
  alloc::Allocator b(w.inv, lax);
  CHECK(b.Allocate({w.Claim("default/admin")}, kNode1).ok());
}

TEST_CASE("Allocator: 8 GPUs x 19 partitions never over-consume the shared counters",
          "[allocator][counters]") {
  World w({"mig.yaml"});
  alloc::Allocator a(w.inv);
  REQUIRE(a.warnings().empty());
  auto claim = [](const std::string& name, const std::string& profile) {
    return Json{
        {"apiVersion", "resource.k8s.io/v1"},
        {"kind", "ResourceClaim"},
        {"metadata", {{"name", name}, {"namespace", "default"}}},
        {"spec",
         {{"devices",
           {{"requests",
             {{{"name", "mig"},
               {"exactly",
                {{"deviceClassName", "mig.example.com"},
                 {"selectors",
                  {{{"cel",
                     {{"expression", "device.attributes[\"gpu.example.com\"].profile == \"" +
                                         profile + "\""}}}}}}}}}}}}}}}};
  };
  // A whole GPU first: gpu-0 then excludes all of gpu-0's partitions.
  auto whole = AllocateOne(a, claim("whole", "whole"));
  REQUIRE_OK(whole);
  CHECK(Devices((*whole)["status"]["allocation"]) == std::vector<std::string>{"gpu-0"});
  // Then 1g.5gb slices: 7 fit per GPU on the 7 other GPUs (7 multiprocessors).
  std::map<int, int> per_gpu;
  int allocated = 0;
  for (int i = 0; i < 100; ++i) {
    auto r = AllocateOne(a, claim("small-" + std::to_string(i), "1g.5gb"));
    if (!r.ok()) {
      CHECK(r.status().code() == Code::kResourceExhausted);
      CHECK(r.status().message().find("counter gpu-") != std::string::npos);
      break;
    }
    std::string dev = Devices((*r)["status"]["allocation"])[0];
    per_gpu[dev[4] - '0']++;
    ++allocated;
  }
  CHECK(allocated == 49);
  CHECK(per_gpu.count(0) == 0);
  for (int g = 1; g < 8; ++g) CHECK(per_gpu[g] == 7);
  // Memory is left (5Gi per GPU) but no multiprocessor, so 1g.10gb cannot fit anywhere.
  auto r = a.Allocate({claim("late", "1g.10gb")}, kNode1);
  REQUIRE_FALSE(r.ok());
  INFO(r.status().message());
  CHECK(r.status().message().find("counter gpu-0-counters/memory has 0 left, 10Gi needed") !=
        std::string::npos);
  // Releasing the whole GPU frees its counters for a 3g + 4g layout.
  a.RemoveAllocatedClaim("default", "whole");
  REQUIRE_OK(AllocateOne(a, claim("g3", "3g.20gb")));
  REQUIRE_OK(AllocateOne(a, claim("g4", "4g.20gb")));
  CHECK_FALSE(a.Allocate({claim("g3b", "3g.20gb")}, kNode1).ok());
}

TEST_CASE("Allocator: consumable capacity 4Gi+8Gi+4Gi on an 8Gi device", "[allocator][capacity]") {
  World w({"shared.yaml"});
  alloc::Allocator a(w.inv);
  auto first = AllocateOne(a, w.Claim("default/mem-4g-a"));
  REQUIRE_OK(first);
  const Json& res = (*first)["status"]["allocation"]["devices"]["results"][0];
  CHECK(res["device"] == "gpu-0");
  // cores is not requested: its policy default (10) is consumed.
  CHECK(res["consumedCapacity"] == Json{{"memory", "4Gi"}, {"cores", "10"}});
  REQUIRE(res.contains("shareID"));
  std::string share_a = res["shareID"].get<std::string>();
  CHECK(share_a.size() == 36);
  // The 8Gi claim waits: only 4Gi is left.
  auto second = a.Allocate({w.Claim("default/mem-8g")}, kNode1);
  REQUIRE_FALSE(second.ok());
  INFO(second.status().message());
  CHECK(second.status().message().find("capacity memory has 4Gi left, 8Gi needed") !=
        std::string::npos);
  // The third claim (4Gi) shares the device with the first.
  auto third = AllocateOne(a, w.Claim("default/mem-4g-b"));
  REQUIRE_OK(third);
  const Json& res3 = (*third)["status"]["allocation"]["devices"]["results"][0];
  CHECK(res3["device"] == "gpu-0");
  CHECK(res3["shareID"] != share_a);
  // Releasing one share is not enough; releasing both lets the 8Gi claim in.
  a.RemoveAllocatedClaim("default", "mem-4g-a");
  CHECK_FALSE(a.Allocate({w.Claim("default/mem-8g")}, kNode1).ok());
  a.RemoveAllocatedClaim("default", "mem-4g-b");
  auto again = AllocateOne(a, w.Claim("default/mem-8g"));
  REQUIRE_OK(again);
  CHECK((*again)["status"]["allocation"]["devices"]["results"][0]["consumedCapacity"]["memory"] ==
        "8Gi");
}

TEST_CASE("Allocator: shares of one device get distinct shareIDs and rounded consumption",
          "[allocator][capacity]") {
  World w({"shared.yaml"});
  alloc::Allocator a(w.inv);
  auto r = a.Allocate({w.Claim("default/rounding")}, kNode1);
  REQUIRE_OK(r);
  const Json& res = (*r)[0]["devices"]["results"];
  REQUIRE(res.size() == 2);
  // The fabric device rounds 3G up to the 2G step: 4G.
  CHECK(res[0]["device"] == "fabric");
  CHECK(res[0]["consumedCapacity"]["bandwidth"] == "4G");
  // 1500Mi rounds up to 2Gi on a 1Gi step; 20 cores rounds up to the valid value 25.
  CHECK(res[1]["device"] == "gpu-0");
  CHECK(res[1]["consumedCapacity"] == Json{{"memory", "2Gi"}, {"cores", "25"}});
  CHECK(res[0]["shareID"] != res[1]["shareID"]);
  // With 25 cores taken, three more 25-core shares fit, a fourth does not.
  Json first = w.Claim("default/rounding");
  first["status"]["allocation"] = (*r)[0];
  a.AddAllocatedClaim(first);
  for (int i = 0; i < 3; ++i) {
    Json c = w.Claim("default/rounding");
    c["metadata"]["name"] = "r" + std::to_string(i);
    c["spec"]["devices"]["requests"].erase(0);
    REQUIRE_OK(AllocateOne(a, c));
  }
  Json c = w.Claim("default/rounding");
  c["metadata"]["name"] = "r-last";
  c["spec"]["devices"]["requests"].erase(0);
  CHECK_FALSE(a.Allocate({c}, kNode1).ok());
  // Above the policy maximum: refused with the reason.
  auto big = a.Allocate({w.Claim("default/too-much-bandwidth")}, kNode1);
  REQUIRE_FALSE(big.ok());
  INFO(big.status().message());
  CHECK(big.status().message().find("exceeds the policy maximum 8G") != std::string::npos);
}

TEST_CASE("Allocator: taints need tolerations, effect None is informational",
          "[allocator][taints]") {
  World w({"taints.yaml"});
  alloc::Allocator a(w.inv);
  // fpga-0 NoSchedule, fpga-2 NoExecute (from the DeviceTaintRule): only fpga-1 is usable.
  auto r = a.Allocate({w.Claim("default/two-fpgas")}, kNode1);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("needs 2 device(s), 1 of 3") != std::string::npos);
  CHECK(r.status().message().find(
            "taint fpga.example.com/unhealthy=bitstream-crc:NoSchedule is not tolerated") !=
        std::string::npos);
  auto t = a.Allocate({w.Claim("default/tolerant")}, kNode1);
  REQUIRE_OK(t);
  CHECK(Devices((*t)[0]) == std::vector<std::string>{"fpga-0", "fpga-1", "fpga-2"});
  CHECK((*t)[0]["devices"]["results"][0]["tolerations"].size() == 2);
  // Without the rule, fpga-2 is clean and two devices fit.
  alloc::Inventory inv = w.inv;
  inv.taint_rules.clear();
  alloc::Allocator b(inv);
  auto two = b.Allocate({w.Claim("default/two-fpgas")}, kNode1);
  REQUIRE_OK(two);
  CHECK(Devices((*two)[0]) == std::vector<std::string>{"fpga-1", "fpga-2"});
}

TEST_CASE("Allocator: binding conditions surface in results and time out", "[allocator][binding]") {
  World w({"binding.yaml"});
  auto t0 = std::chrono::system_clock::from_time_t(1795000000);
  alloc::Options opts;
  opts.now = [t0] { return t0; };
  alloc::Allocator a(w.inv, opts);
  auto r = a.Allocate({w.Claim("default/attach")}, alloc::NodeInfo{"node-7", {}});
  REQUIRE_OK(r);
  const Json& al = (*r)[0];
  const Json& res = al["devices"]["results"][0];
  CHECK(res["bindingConditions"] == Json::array({"dra.example.com/programmed"}));
  CHECK(res["bindingFailureConditions"] == Json::array({"dra.example.com/program-failed"}));
  CHECK(al["allocationTimestamp"] == drahil::FormatRfc3339(t0));
  // bindsToNode pins the allocation to the chosen node.
  CHECK(al["nodeSelector"]["nodeSelectorTerms"][0]["matchFields"][0]["values"][0] == "node-7");

  Json claim = w.Claim("default/attach");
  claim["status"]["allocation"] = al;
  using std::chrono::seconds;
  auto st = alloc::EvaluateBindingConditions(claim, t0 + seconds(30));
  CHECK(st.state == alloc::BindingState::kPending);
  CHECK(st.reason.find("dra.example.com/programmed") != std::string::npos);
  st = alloc::EvaluateBindingConditions(claim, t0 + seconds(601));
  CHECK(st.state == alloc::BindingState::kTimedOut);
  Json timed_out = claim;
  alloc::Deallocate(timed_out);
  CHECK_FALSE(timed_out["status"].contains("allocation"));

  Json device_status = {
      {"driver", "attach.example.com"},
      {"pool", "fabric"},
      {"device", "fpga-0"},
      {"conditions", {{{"type", "dra.example.com/programmed"}, {"status", "True"}}}}};
  claim["status"]["devices"] = Json::array({device_status});
  CHECK(alloc::EvaluateBindingConditions(claim, t0 + seconds(700)).state ==
        alloc::BindingState::kReady);
  claim["status"]["devices"][0]["conditions"].push_back(
      {{"type", "dra.example.com/program-failed"}, {"status", "True"}});
  CHECK(alloc::EvaluateBindingConditions(claim, t0).state == alloc::BindingState::kFailed);
  CHECK(alloc::EvaluateBindingConditions(w.Claim("default/attach"), t0).state ==
        alloc::BindingState::kNotRequired);
}

TEST_CASE("Allocator: reservedFor sharing deallocates when the last consumer goes", "[allocator]") {
  World w({"gpus.yaml", "claims.yaml"});
  alloc::Allocator a(w.inv);
  auto r = AllocateOne(a, w.Claim("default/two-gpus"));
  REQUIRE_OK(r);
  Json claim = *r;
  Json pod_a = {{"metadata", {{"name", "a"}, {"uid", "uid-a"}}}};
  Json pod_b = {{"metadata", {{"name", "b"}, {"uid", "uid-b"}}}};
  REQUIRE_OK(alloc::Reserve(claim, pod_a));
  REQUIRE_OK(alloc::Reserve(claim, pod_b));
  REQUIRE_OK(alloc::Reserve(claim, pod_b));  // idempotent
  CHECK(claim["status"]["reservedFor"].size() == 2);
  CHECK(claim["status"]["reservedFor"][0] ==
        Json{{"resource", "pods"}, {"name", "a"}, {"uid", "uid-a"}});
  CHECK_FALSE(alloc::Unreserve(claim, "uid-a"));
  CHECK(claim["status"].contains("allocation"));
  CHECK(alloc::Unreserve(claim, "uid-b"));
  CHECK_FALSE(claim["status"].contains("allocation"));
  CHECK_FALSE(alloc::Reserve(claim, Json{{"metadata", {{"name", "x"}}}}).ok());
}

TEST_CASE("Allocator: extended resources build the special claim with container-i-request-j",
          "[allocator][extended]") {
  World w({"extended.yaml"});
  REQUIRE(w.pods.size() == 1);
  auto classes = alloc::ExtendedResourceClasses(w.inv.device_classes);
  CHECK(classes.at("example.com/gpu") == "gpu.example.com");
  CHECK(classes.at("deviceclass.resource.kubernetes.io/gpu.example.com") == "gpu.example.com");
  CHECK(classes.at("deviceclass.resource.kubernetes.io/fpga.example.com") == "fpga.example.com");
  auto ext = alloc::BuildExtendedResourceClaim(w.pods[0], w.inv.device_classes);
  REQUIRE_OK(ext);
  const Json& claim = ext->claim;
  CHECK(claim["metadata"]["generateName"] == "trainer-extended-resources-");
  CHECK(claim["metadata"]["namespace"] == "ml");
  CHECK(claim["metadata"]["annotations"]["resource.kubernetes.io/extended-resource-claim"] ==
        "true");
  CHECK(claim["metadata"]["ownerReferences"][0]["uid"] == "5d1f7c4e-0000-4000-8000-0000000000aa");
  const Json& reqs = claim["spec"]["devices"]["requests"];
  // init container 0: its only resource; container 1 ("main"): sorted
  // [cpu, deviceclass..., example.com/gpu, memory] → indexes 1 and 2;
  // the sidecar's zero request asks for nothing.
  REQUIRE(reqs.size() == 3);
  CHECK(reqs[0]["name"] == "container-0-request-0");
  CHECK(reqs[0]["exactly"] == Json{{"deviceClassName", "gpu.example.com"},
                                   {"allocationMode", "ExactCount"},
                                   {"count", 1}});
  CHECK(reqs[1]["name"] == "container-1-request-1");
  CHECK(reqs[1]["exactly"]["deviceClassName"] == "fpga.example.com");
  CHECK(reqs[2]["name"] == "container-1-request-2");
  CHECK(reqs[2]["exactly"]["count"] == 2);
  const Json& st = ext->status;
  CHECK(st["resourceClaimName"] == claim["metadata"]["name"]);
  CHECK(st["requestMappings"][2] == Json{{"containerName", "main"},
                                         {"resourceName", "example.com/gpu"},
                                         {"requestName", "container-1-request-2"}});
  // A pod without extended resources needs no claim.
  Json plain = {{"metadata", {{"name", "p"}}}, {"spec", {{"containers", {{{"name", "c"}}}}}}};
  auto none = alloc::BuildExtendedResourceClaim(plain, w.inv.device_classes);
  REQUIRE_OK(none);
  CHECK(none->claim.is_null());
}

TEST_CASE("Allocator: only complete pools at their highest generation are used",
          "[allocator][pools]") {
  World w({"gpus.yaml", "claims.yaml"});
  alloc::Inventory inv = w.inv;
  // An older generation of the GPU pool with other device names is ignored.
  Json old = inv.slices[0];
  old["metadata"]["name"] = "old";
  old["spec"]["pool"]["generation"] = 0;
  for (auto& d : old["spec"]["devices"]) d["name"] = "stale-" + d["name"].get<std::string>();
  inv.slices.insert(inv.slices.begin(), old);
  {
    alloc::Allocator a(inv);
    auto r = a.Allocate({w.Claim("default/two-gpus")}, kNode1);
    REQUIRE_OK(r);
    CHECK(Devices((*r)[0]) == std::vector<std::string>{"gpu-0", "gpu-1"});
  }
  // The pool says two slices but only one is published: incomplete.
  inv.slices[1]["spec"]["pool"]["resourceSliceCount"] = 2;
  alloc::Allocator a(inv);
  REQUIRE(a.warnings().size() == 1);
  CHECK(a.warnings()[0].find("incomplete (1 of 2 slices") != std::string::npos);
  CHECK_FALSE(a.Allocate({w.Claim("default/two-gpus")}, kNode1).ok());
  auto all = a.Allocate({w.Claim("default/all-gpus")}, kNode1);
  REQUIRE_FALSE(all.ok());
  CHECK(all.status().message().find(
            "asks for all devices, but pool gpu.example.com/node-1 is incomplete") !=
        std::string::npos);
}

TEST_CASE("Allocator: the step budget bounds the search", "[allocator]") {
  World w({"gpus.yaml", "claims.yaml"});
  alloc::Options opts;
  opts.max_steps = 3;
  alloc::Allocator a(w.inv, opts);
  auto r = a.Allocate({w.Claim("default/gpu-and-nic")}, kNode1);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kResourceExhausted);
  CHECK(r.status().message().find("step budget of 3") != std::string::npos);
}

TEST_CASE("Allocator: several claims of one pod are allocated together", "[allocator]") {
  World w({"gpus.yaml", "claims.yaml"});
  alloc::Allocator a(w.inv);
  Json six = w.Claim("default/two-gpus");
  six["metadata"]["name"] = "six";
  six["spec"]["devices"]["requests"][0]["exactly"]["count"] = 6;
  auto r = a.Allocate({six, w.Claim("default/two-gpus")}, kNode1);
  REQUIRE_OK(r);
  CHECK(Devices((*r)[0]).size() == 6);
  CHECK(Devices((*r)[1]) == std::vector<std::string>{"gpu-6", "gpu-7"});
  Json three = w.Claim("default/two-gpus");
  three["spec"]["devices"]["requests"][0]["exactly"]["count"] = 3;
  CHECK_FALSE(a.Allocate({six, three}, kNode1).ok());
}

TEST_CASE("Allocator: dry run schedules pods and claims from manifests", "[allocator][dryrun]") {
  auto objs = Load("dryrun");
  auto r = alloc::DryRun(objs);
  REQUIRE_OK(r);
  std::string all;
  for (const auto& l : r->report) all += l + "\n";
  INFO(all);
  CHECK_FALSE(r->all_allocated);
  CHECK(all.find("pod default/inference: scheduled on node node-1 (claims: inference-gpu-") !=
        std::string::npos);
  CHECK(all.find("pod default/trainer-a: scheduled on node node-1 (claims: shared-gpus)") !=
        std::string::npos);
  CHECK(all.find("pod default/trainer-b: scheduled on node node-1 (claims: shared-gpus)") !=
        std::string::npos);
  CHECK(all.find("claim default/greedy: node node-1: unschedulable: claim default/greedy") !=
        std::string::npos);
  for (const auto& c : r->claims) {
    if (c["metadata"]["name"] == "shared-gpus") {
      CHECK(c["status"]["reservedFor"].size() == 2);
      CHECK(Devices(c["status"]["allocation"]) ==
            std::vector<std::string>{"gpu-1", "gpu-2", "gpu-3"});
    }
    if (c["metadata"]["name"].get<std::string>().rfind("inference-gpu-", 0) == 0) {
      CHECK(c["metadata"]["labels"]["app"] == "inference");
      CHECK(Devices(c["status"]["allocation"]) == std::vector<std::string>{"gpu-0"});
    }
  }
  // The YAML printed for users reads back to the same objects.
  for (const auto& c : r->claims) {
    auto back = alloc::ParseYamlDocuments(alloc::ToYaml(c), "roundtrip");
    REQUIRE_OK(back);
    REQUIRE(back->size() == 1);
    CHECK((*back)[0] == c);
  }
}

TEST_CASE("Allocator: node selection by nodeSelector, allNodes and per-device nodeName",
          "[allocator][nodes]") {
  World w({"nodes.yaml"});
  alloc::Allocator a(w.inv);
  CHECK(a.Nodes() == std::vector<std::string>{"node-2"});
  // node-1 in zone a: the zone pool and the all-nodes fabric.
  alloc::NodeInfo zone_a{"node-1", {{"topology.kubernetes.io/zone", "a"}}};
  auto r = a.Allocate({w.Claim("default/two-net")}, zone_a);
  REQUIRE_OK(r);
  CHECK(Devices((*r)[0]) == std::vector<std::string>{"shared-fabric", "switch-port-0"});
  // No device is node-local, so the slice's node selector is the claim's.
  CHECK((*r)[0]["nodeSelector"]["nodeSelectorTerms"][0]["matchExpressions"][0]["key"] ==
        "topology.kubernetes.io/zone");
  // node-2 (zone b): its own NIC and the fabric; pinned to node-2.
  alloc::NodeInfo node2{"node-2", {{"topology.kubernetes.io/zone", "b"}}};
  auto r2 = a.Allocate({w.Claim("default/two-net")}, node2);
  REQUIRE_OK(r2);
  CHECK(Devices((*r2)[0]) == std::vector<std::string>{"local-nic", "shared-fabric"});
  CHECK((*r2)[0]["nodeSelector"]["nodeSelectorTerms"][0]["matchFields"][0]["values"][0] ==
        "node-2");
  // node-3 in zone b sees only the fabric.
  auto r3 = a.Allocate({w.Claim("default/two-net")},
                       alloc::NodeInfo{"node-3", {{"topology.kubernetes.io/zone", "b"}}});
  REQUIRE_FALSE(r3.ok());
  CHECK(r3.status().message().find("needs 2 device(s), 1 of 1 on node \"node-3\"") !=
        std::string::npos);
}

TEST_CASE("Allocator: dry run allocates the extended-resource claim of a pod",
          "[allocator][extended][dryrun]") {
  auto objs = Load("gpus.yaml");
  for (auto& o : Load("extended-pod.yaml")) objs.push_back(o);
  auto r = alloc::DryRun(objs);
  REQUIRE_OK(r);
  CHECK(r->all_allocated);
  REQUIRE(r->pods.size() == 1);
  const Json& st = r->pods[0]["status"]["extendedResourceClaimStatus"];
  CHECK(st["requestMappings"][0] ==
        Json{{"containerName", "app"},
             {"resourceName", "deviceclass.resource.kubernetes.io/gpu.example.com"},
             {"requestName", "container-0-request-0"}});
  CHECK(r->pods[0]["spec"]["nodeName"] == "node-1");
  bool found = false;
  for (const auto& c : r->claims) {
    if (c["metadata"]["name"] != st["resourceClaimName"]) continue;
    found = true;
    const Json& res = c["status"]["allocation"]["devices"]["results"];
    REQUIRE(res.size() == 2);
    CHECK(res[0]["request"] == "container-0-request-0");
    CHECK(c["status"]["reservedFor"][0]["uid"] == "0e9b2f10-0000-4000-8000-0000000000bb");
  }
  CHECK(found);
}
