// expect: counters
#include "../setup.hpp"
#include "drahil/core/quantity.hpp"
#include "drahil/core/strings.hpp"
#include "expectations.hpp"

namespace drahil::node {
namespace {

Result<Quantity> ValueOf(const Json& counter, const std::string& what) {
  if (!counter.is_object() || !counter.contains("value") || !counter["value"].is_string())
    return InvalidArgumentError(what + " has no value");
  auto q = Quantity::Parse(counter["value"].get<std::string>());
  if (!q.ok()) return q.status().WithContext(what);
  return q;
}

// CapacityNamed(): the device's capacity called `name`, qualified or not
// (counter names carry no domain; capacity names may).
const Json* CapacityNamed(const Json& device, const std::string& name) {
  auto cap = device.find("capacity");
  if (cap == device.end() || !cap->is_object()) return nullptr;
  for (const auto& [k, val] : cap->items()) {
    auto slash = k.rfind('/');
    if (k == name || (slash != std::string::npos && k.substr(slash + 1) == name)) return &val;
  }
  return nullptr;
}

// CheckDevice(): one device's consumesCounters against the published sets.
void CheckDevice(const Json& d, const std::map<std::string, Json>& sets,
                 std::vector<std::string>& findings) {
  const std::string name = d.value("name", "");
  for (const auto& cc : d["consumesCounters"]) {
    const std::string set = cc.value("counterSet", "");
    auto it = sets.find(set);
    if (it == sets.end()) {
      findings.push_back(name + ": counter set \"" + set + "\" is not published");
      continue;
    }
    const Json counters = cc.value("counters", Json::object());
    for (const auto& [k, use] : counters.items()) {
      if (!it->second.contains(k)) {
        findings.push_back(name + ": consumes counter \"" + k + "\", which set \"" + set +
                           "\" does not have");
        continue;
      }
      auto used = ValueOf(use, name + " counter " + k);
      auto total = ValueOf(it->second[k], "counter set " + set + " counter " + k);
      if (!used.ok() || !total.ok()) {
        findings.push_back(!used.ok() ? used.status().message() : total.status().message());
        continue;
      }
      if (*used > *total)
        findings.push_back(name + ": consumes " + used->ToString() + " of counter " + k +
                           ", more than set \"" + set + "\" has (" + total->ToString() + ")");
      // A counter that measures what the device offers (its memory, say)
      // must be consumed in full: consuming less lets the scheduler place
      // overlapping partitions on one parent.
      const Json* cap = CapacityNamed(d, k);
      if (cap == nullptr) continue;
      auto offered = ValueOf(*cap, name + " capacity " + k);
      if (offered.ok() && *offered != *used)
        findings.push_back(name + ": consumes " + used->ToString() + " of counter " + k +
                           " but offers " + offered->ToString() + " of capacity " + k);
    }
  }
}

}  // namespace

// The driver's partitionable devices (KEP-4815) are consistent: every counter
// a device consumes exists in a published counter set, no device consumes
// more than the set holds, and a counter named like one of the device's
// capacities is consumed exactly as much as the device offers. With `kind`,
// every device of that kind (discovery) consumes counters.
StepOutcome ExpectCounters(const Json& v, CaseContext& ctx, NodeEnv& env) {
  auto slices = DriverSlices(env, env.driver);
  std::map<std::string, Json> sets;  // name → counters
  for (const auto& s : slices)
    for (const auto& cs : s["spec"].value("sharedCounters", Json::array()))
      sets[cs.value("name", "")] = cs.value("counters", Json::object());
  std::vector<std::string> findings;
  std::set<std::string> consuming;  // pool/device
  for (const auto& s : slices) {
    const std::string pool = s["spec"].value("pool", Json::object()).value("name", "");
    for (const auto& d : s["spec"].value("devices", Json::array())) {
      if (!d.contains("consumesCounters") || d["consumesCounters"].empty()) continue;
      consuming.insert(pool + "/" + d.value("name", ""));
      CheckDevice(d, sets, findings);
    }
  }
  if (v.contains("kind")) {
    // The kinds of the devices published now (discovery evaluates each
    // kind's class selector; names are never looked at).
    const std::string kind = v["kind"].get<std::string>();
    auto inv = Discover(ctx);
    if (!inv.ok()) return StepOutcome::FromStatus(inv.status(), "expect counters: discovery");
    for (const auto& rec : inv->device_list)
      if (rec.kinds.count(kind) && !consuming.count(rec.pool + "/" + rec.name))
        findings.push_back(rec.name + " (kind " + kind + ") consumes no counters");
  }
  int min = v.value("min-devices", 1);
  if (static_cast<int>(consuming.size()) < min)
    findings.push_back(std::to_string(consuming.size()) +
                       " device(s) consume counters, expected at least " + std::to_string(min));
  if (!findings.empty())
    return StepOutcome::Fail("partition counters are inconsistent: " + Join(findings, "; "),
                             "Counters");
  ctx.Measure({"partitions", static_cast<double>(consuming.size()), "", "", {}});
  return StepOutcome::Pass();
}

}  // namespace drahil::node
