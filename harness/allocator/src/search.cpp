// The backtracking search of one Allocate() call, after allocateOne() in
// k8s.io/dynamic-resource-allocation/structured/internal/stable/allocator_stable.go:
// requests in claim and request order, subrequests in priority order,
// devices in pool, slice and device order; it backtracks into earlier
// requests and into earlier claims of the same call.
#include "search.hpp"

#include "quantity_util.hpp"

namespace drahil::allocator::internal {

const std::string& Search::StaticCheck(size_t ri, int ai, int d) {
  Eligibility& e = elig_[ri][ai];
  static const std::string kPass;
  if (e.state[d] == Eligibility::kYes) return kPass;
  if (e.state[d] == Eligibility::kNo) {
    auto it = e.reason.find(d);
    if (it != e.reason.end()) return it->second;
    e.state[d] = Eligibility::kUnknown;  // rejected without the text: evaluate again to explain
  }
  return StaticEval(ri, ai, d, /*explain=*/true) ? kPass : e.reason[d];
}

// StaticEval(): evaluates (alt, device) into elig_ once; the rejection's text
// is built only when `explain` (most rejections are never shown, and
// building them cost more than the checks in large pods).
bool Search::StaticEval(size_t ri, int ai, int d, bool explain) {
  Eligibility& e = elig_[ri][ai];
  const Alt& alt = requests_[ri].alts[ai];
  const DeviceInfo& dev = Dev(d);
  int8_t stage = 1;
  auto no = [&](const auto& why) {
    e.state[d] = Eligibility::kNo;
    e.stage[d] = stage;
    if (explain) e.reason[d] = "device " + dev.Id() + ": " + why();
    return false;
  };
  if (!alt.cls) return no([&] { return "device class \"" + alt.class_name + "\" not found"; });
  const Features& f = impl_.opts.features;
  // DeviceBindingAndStatus off: devices with binding conditions are not
  // selectable (isSelectable() in allocator_stable.go/allocator_incubating.go).
  if (!f.device_binding_and_status && dev.has_binding_conditions) {
    return no([&] {
      return "has bindingConditions, and DRADeviceBindingConditions with "
             "DRAResourceClaimDeviceStatus is off";
    });
  }
  stage = 2;
  for (const auto& selector : alt.selectors) {
    // Named, not bound: the rejection's text captures them (clang 14 does
    // not capture structured bindings).
    const std::string& who = selector.first;
    const auto& prog = selector.second;
    auto r = impl_.EvaluateSelector(*prog, d);
    if (!r.ok()) {
      if (error_.ok()) {
        error_ = r.status().WithContext("claim " + claims_[requests_[ri].claim].ns + "/" +
                                        claims_[requests_[ri].claim].name + ", request \"" +
                                        alt.result_name + "\", device " + dev.Id() + ", " + who +
                                        " `" + prog->expression() + "`");
      }
      return no([&] { return "selector error"; });
    }
    if (!*r) return no([&] { return who + " `" + prog->expression() + "` is false"; });
  }
  stage = 3;
  // PartitionableDevices off: a device that consumes counters is not
  // allocatable (allocateDevice() in allocator_stable.go).
  if (!f.partitionable_devices && dev.consumes_counters)
    return no([&] { return "consumes counters, and DRAPartitionableDevices is off"; });
  // DeviceTaints off: taints are not checked (allocateDevice()).
  if (const Json* t = f.device_taints ? UntoleratedTaint(dev.taints, alt.tolerations) : nullptr) {
    return no([&] {
      return "taint " + Str(*t, "key") + "=" + Str(*t, "value") + ":" + Str(*t, "effect") +
             " is not tolerated";
    });
  }
  stage = 4;
  // Capacity requests must name capacities the device has.
  std::vector<std::optional<Nanos>> requested(dev.capacity.size());
  for (const auto& request : alt.capacity_requests) {
    const std::string& key = request.first;
    const auto& amount = request.second;
    std::string fqn = Qualify(key, dev.driver);
    bool found = false;
    for (size_t ci = 0; ci < dev.capacity.size(); ++ci) {
      if (dev.capacity[ci].fqn == fqn) {
        requested[ci] = amount;
        found = true;
      }
    }
    if (!found) return no([&] { return "has no capacity " + key; });
  }
  stage = 5;
  if (dev.multi) {
    std::vector<std::pair<int, Nanos>> consumed;
    for (size_t ci = 0; ci < dev.capacity.size(); ++ci) {
      std::string why;
      auto v = ApplyPolicy(dev.capacity[ci], requested[ci], &why);
      if (!v) return no([&] { return why; });
      if (*v > dev.capacity[ci].value) {
        return no([&] {
          return "capacity " + dev.capacity[ci].key + " is " +
                 FormatNanos(dev.capacity[ci].value, dev.capacity[ci].format) + ", less than the " +
                 FormatNanos(*v, dev.capacity[ci].format) + " requested";
        });
      }
      consumed.emplace_back(static_cast<int>(ci), *v);
    }
    e.consumed[d] = std::move(consumed);
  } else {
    for (size_t ci = 0; ci < dev.capacity.size(); ++ci) {
      if (requested[ci] && *requested[ci] > dev.capacity[ci].value) {
        return no([&] {
          return "capacity " + dev.capacity[ci].key + " is " +
                 FormatNanos(dev.capacity[ci].value, dev.capacity[ci].format) + ", less than the " +
                 FormatNanos(*requested[ci], dev.capacity[ci].format) + " requested";
        });
      }
    }
  }
  e.state[d] = Eligibility::kYes;
  return true;
}

std::string Search::DynamicCheck(size_t ri, int ai, int d) {
  const Alt& alt = requests_[ri].alts[ai];
  const DeviceInfo& dev = Dev(d);
  const Request& req = requests_[ri];
  if (!alt.admin) {
    if (dev.multi) {
      const auto& need = elig_[ri][ai].consumed[d];
      for (const auto& [ci, amt] : need) {
        if (Consumed(d)[ci] + amt > dev.capacity[ci].value) {
          return "device " + dev.Id() + ": capacity " + dev.capacity[ci].key + " has " +
                 FormatNanos(dev.capacity[ci].value - Consumed(d)[ci], dev.capacity[ci].format) +
                 " left, " + FormatNanos(amt, dev.capacity[ci].format) + " needed";
        }
      }
    } else if (exclusive_[d]) {
      return "device " + dev.Id() + " is already allocated";
    }
    if (!dev.multi || shares_[d] == 0) {
      for (const auto& [set, amounts] : dev.consumes) {
        const CounterSet& cs = impl_.counter_sets[set];
        for (const auto& [ci, amt] : amounts) {
          if (counters_used_[set][ci] + amt > cs.capacity[ci]) {
            return "device " + dev.Id() + ": counter " + cs.name + "/" + cs.names[ci] + " has " +
                   FormatNanos(cs.capacity[ci] - counters_used_[set][ci], cs.formats[ci]) +
                   " left, " + FormatNanos(amt, cs.formats[ci]) + " needed";
          }
        }
      }
    }
  }
  for (const auto& con : claims_[req.claim].constraints) {
    if (!con.Applies(req.name, alt.result_name)) continue;
    auto it = dev.attributes.find(con.attribute);
    if (it == dev.attributes.end()) {
      return "device " + dev.Id() + " lacks attribute " + con.attribute + " (constraint " +
             (con.match ? "matchAttribute" : "distinctAttribute") + ")";
    }
    if (con.match) {
      if (!con.values.empty() && *con.values.front() != it->second) {
        return "device " + dev.Id() + ": matchAttribute " + con.attribute + " is " +
               it->second.dump() + ", not " + con.values.front()->dump();
      }
    } else {
      for (const Json* v : con.values) {
        if (*v == it->second) {
          return "device " + dev.Id() + ": distinctAttribute " + con.attribute + " value " +
                 it->second.dump() + " is already used";
        }
      }
    }
  }
  return "";
}

void Search::Apply(Pick& p) {
  const Alt& alt = requests_[p.request].alts[p.alt];
  const DeviceInfo& dev = Dev(p.device);
  if (!alt.admin) {
    if (dev.multi) {
      p.charged_counters = shares_[p.device] == 0;
      ++shares_[p.device];
      p.consumed = elig_[p.request][p.alt].consumed[p.device];
      for (const auto& [ci, amt] : p.consumed) Consumed(p.device)[ci] += amt;
    } else {
      exclusive_[p.device] = 1;
      p.charged_counters = true;
    }
    if (p.charged_counters) {
      for (const auto& [set, amounts] : dev.consumes) {
        for (const auto& [ci, amt] : amounts) counters_used_[set][ci] += amt;
      }
    }
  } else if (dev.multi) {
    p.consumed = elig_[p.request][p.alt].consumed[p.device];
  }
  const Request& req = requests_[p.request];
  for (auto& con : claims_[req.claim].constraints) {
    if (con.Applies(req.name, alt.result_name))
      con.values.push_back(&dev.attributes.at(con.attribute));
  }
}

void Search::Undo(const Pick& p) {
  const Alt& alt = requests_[p.request].alts[p.alt];
  const DeviceInfo& dev = Dev(p.device);
  if (!alt.admin) {
    if (dev.multi) {
      --shares_[p.device];
      for (const auto& [ci, amt] : p.consumed) Consumed(p.device)[ci] -= amt;
    } else {
      exclusive_[p.device] = 0;
    }
    if (p.charged_counters) {
      for (const auto& [set, amounts] : dev.consumes) {
        for (const auto& [ci, amt] : amounts) counters_used_[set][ci] -= amt;
      }
    }
  }
  const Request& req = requests_[p.request];
  for (auto& con : claims_[req.claim].constraints) {
    if (con.Applies(req.name, alt.result_name)) con.values.pop_back();
  }
}

std::string Search::Describe(size_t ri) const {
  const Request& r = requests_[ri];
  const ClaimState& cs = claims_[r.claim];
  return "claim " + cs.ns + "/" + cs.name + ", request \"" + r.name + "\"";
}

void Search::NoteFailure(size_t ri, const std::string& why) {
  if (fail_why_.empty() || ri > fail_ri_) {
    fail_ri_ = ri;
    fail_why_ = why;
  }
}

// CountStatic(): how many of the node's devices pass StaticCheck for
// (ri, ai), and in *first_static the rejection of the device that got
// furthest. Stops at a selector error (error_).
void Search::CountStatic(size_t ri, int ai, int64_t* eligible, std::string* first_static) {
  int8_t best_stage = 0;
  for (int d : node_devices_) {
    const std::string& r = StaticCheck(ri, ai, d);
    if (!error_.ok()) return;
    if (r.empty()) {
      ++*eligible;
    } else if (elig_[ri][ai].stage[d] > best_stage) {
      best_stage = elig_[ri][ai].stage[d];
      *first_static = r;
    }
  }
}

// TryAll(): alternative ai of request ri in allocationMode All: every
// statically eligible device, then the requests after it. On failure
// appends the reason to *why.
Search::AltOutcome Search::TryAll(size_t ri, int ai, const std::string& prefix, std::string* why,
                                  bool* any_static) {
  int64_t eligible = 0;
  std::string first_static;
  CountStatic(ri, ai, &eligible, &first_static);
  if (!error_.ok()) return AltOutcome::kAbort;
  if (!incomplete_pools_.empty()) {
    *why += (why->empty() ? "" : "; ") + prefix + "asks for all devices, but " +
            incomplete_pools_.front();
    return AltOutcome::kFailed;
  }
  if (eligible == 0) {
    *why += (why->empty() ? "" : "; ") + prefix +
            "asks for all devices, but none match on node \"" + node_.name + "\"" +
            (first_static.empty() ? "" : " (closest match rejected: " + first_static + ")");
    return AltOutcome::kFailed;
  }
  *any_static = true;
  std::vector<Pick> added;
  std::string dyn = ApplyAll(ri, ai, &added);
  if (dyn.empty()) {
    for (auto& p : added) picks_.push_back(p);
    if (SearchFrom(ri + 1)) return AltOutcome::kAllocated;
    for (size_t k = 0; k < added.size(); ++k) picks_.pop_back();
    if (hopeless_ || budget_exceeded_ || !error_.ok()) {
      for (auto it = added.rbegin(); it != added.rend(); ++it) Undo(*it);
      return AltOutcome::kAbort;
    }
    dyn = "the requests after it cannot be satisfied with this choice";
  }
  for (auto it = added.rbegin(); it != added.rend(); ++it) Undo(*it);
  *why += (why->empty() ? "" : "; ") + prefix + "asks for all " + std::to_string(eligible) +
          " matching device(s): " + dyn;
  return AltOutcome::kFailed;
}

// ApplyAll(): applies every statically eligible device for (ri, ai) into
// *added, in order; the first device's DynamicCheck rejection ends it and is
// returned ("" when all were applied).
std::string Search::ApplyAll(size_t ri, int ai, std::vector<Pick>* added) {
  std::string dyn;
  for (int d : node_devices_) {
    if (!StaticOk(ri, ai, d)) continue;
    ++steps_;
    dyn = DynamicCheck(ri, ai, d);
    if (!dyn.empty()) break;
    Pick p;
    p.request = static_cast<int>(ri);
    p.alt = ai;
    p.device = d;
    Apply(p);
    added->push_back(std::move(p));
  }
  return dyn;
}

// TryCount(): alternative ai of request ri in allocationMode ExactCount:
// PickDevices(), and on failure the reason appended to *why.
Search::AltOutcome Search::TryCount(size_t ri, int ai, const std::string& prefix, std::string* why,
                                    bool* any_static) {
  const Alt& alt = requests_[ri].alts[ai];
  if (PickDevices(ri, ai, 0, alt.count)) return AltOutcome::kAllocated;
  if (!error_.ok() || budget_exceeded_ || hopeless_) return AltOutcome::kAbort;
  int64_t eligible = 0;
  std::string first_static;
  CountStatic(ri, ai, &eligible, &first_static);
  if (!error_.ok()) return AltOutcome::kAbort;
  if (scan_reason_.empty()) NameFirstBusy(ri, ai);
  if (eligible < alt.count) {
    *why += (why->empty() ? "" : "; ") + prefix + "needs " + std::to_string(alt.count) +
            " device(s), " + std::to_string(eligible) + " of " +
            std::to_string(node_devices_.size()) + " on node \"" + node_.name + "\" match" +
            (first_static.empty() ? "" : " (closest match rejected: " + first_static + ")");
    return AltOutcome::kFailed;
  }
  *any_static = true;
  *why += (why->empty() ? "" : "; ") + prefix + "needs " + std::to_string(alt.count) +
          " device(s) and " + std::to_string(eligible) + " match, but they cannot be allocated" +
          (scan_reason_.empty() ? "" : " (first rejection: " + scan_reason_ + ")");
  return AltOutcome::kFailed;
}

// NameFirstBusy(): busy devices were skipped unexplained; scan_reason_
// becomes the DynamicCheck rejection of the first one.
void Search::NameFirstBusy(size_t ri, int ai) {
  for (int d : node_devices_) {
    if (!StaticOk(ri, ai, d)) continue;
    scan_reason_ = DynamicCheck(ri, ai, d);
    if (!scan_reason_.empty()) break;
  }
}

bool Search::SearchFrom(size_t ri) {
  if (ri == requests_.size()) return true;
  const Request& req = requests_[ri];
  std::string why;
  bool any_static = false;
  for (size_t ai = 0; ai < req.alts.size(); ++ai) {
    const Alt& alt = req.alts[ai];
    chosen_alt_[ri] = static_cast<int>(ai);
    scan_reason_.clear();
    std::string prefix = req.alts.size() > 1 ? "subrequest \"" + alt.sub_name + "\": " : "";
    // Statically eligible devices: with too few of them no choice made by
    // earlier requests can help (see hopeless_). ExactCount requests scan
    // lazily and count only when the search fails, so CEL runs on as few
    // devices as kube-scheduler's allocator would evaluate.
    AltOutcome outcome = alt.all ? TryAll(ri, static_cast<int>(ai), prefix, &why, &any_static)
                                 : TryCount(ri, static_cast<int>(ai), prefix, &why, &any_static);
    if (outcome == AltOutcome::kAllocated) return true;
    if (outcome == AltOutcome::kAbort) return false;
  }
  NoteFailure(ri, Describe(ri) + ": " + why);
  // With no statically eligible devices for any alternative, backtracking
  // into earlier requests cannot help: stop the whole search.
  if (!any_static) hopeless_ = true;
  return false;
}

bool Search::PickDevices(size_t ri, int ai, size_t start, int64_t remaining) {
  if (remaining == 0) return SearchFrom(ri + 1);
  for (size_t pos = start; pos < node_devices_.size(); ++pos) {
    if (node_devices_.size() - pos < static_cast<size_t>(remaining)) return false;
    int d = node_devices_[pos];
    // A device taken exclusively cannot be picked: skip it before paying for
    // its selectors (they still run when the failure is explained).
    if (exclusive_[d] && !Dev(d).multi && !requests_[ri].alts[ai].admin &&
        elig_[ri][ai].state[d] == Eligibility::kUnknown) {
      continue;
    }
    if (!StaticOk(ri, ai, d)) {
      if (!error_.ok()) return false;
      continue;
    }
    if (++steps_ > impl_.opts.max_steps) {
      budget_exceeded_ = true;
      return false;
    }
    std::string dyn = DynamicCheck(ri, ai, d);
    if (!dyn.empty()) {
      if (scan_reason_.empty()) scan_reason_ = dyn;
      continue;
    }
    Pick p;
    p.request = static_cast<int>(ri);
    p.alt = ai;
    p.device = d;
    Apply(p);
    picks_.push_back(p);
    if (PickDevices(ri, ai, pos + 1, remaining - 1)) return true;
    picks_.pop_back();
    Undo(p);
    if (!error_.ok() || budget_exceeded_ || hopeless_) return false;
  }
  return false;
}

Result<std::vector<Json>> Search::Run() {
  bool ok = SearchFrom(0);
  if (!error_.ok()) return error_;
  if (!ok) {
    if (budget_exceeded_) {
      return ResourceExhaustedError("unschedulable: search exceeded the step budget of " +
                                    std::to_string(impl_.opts.max_steps) + " device trials" +
                                    (fail_why_.empty() ? "" : "; deepest failure: " + fail_why_));
    }
    // As upstream, a failure on a node with invalid pools says so: their
    // devices might have been the solution.
    std::string invalid = invalid_pools_.empty() ? ""
                                                 : "; invalid resource pools were encountered: " +
                                                       invalid_pools_.front();
    return ResourceExhaustedError("unschedulable: " + fail_why_ + invalid);
  }
  std::vector<Json> out;
  for (size_t ci = 0; ci < claims_.size(); ++ci) {
    if (claims_[ci].preallocated) {
      out.push_back(Field(Field(*claims_[ci].claim, "status"), "allocation"));
    } else {
      DRAHIL_ASSIGN_OR_RETURN(Json a, BuildAllocation(ci));
      out.push_back(std::move(a));
    }
  }
  return out;
}

Result<std::vector<Json>> RunSearch(const Allocator::Impl& impl, const std::vector<Json>& claims,
                                    const NodeInfo& node) {
  Search search(impl, node);
  DRAHIL_RETURN_IF_ERROR(search.Prepare(claims));
  return search.Run();
}

}  // namespace drahil::allocator::internal
