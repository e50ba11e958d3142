// ResourceSlice content: what the driver publishes for its inventory.
#include <algorithm>
#include <cstdio>

#include "drahil/core/quantity.hpp"
#include "driver.hpp"

namespace drahil::refdriver {
namespace {

std::string Bytes(int64_t b) {
  return Quantity::FromInt(b, Quantity::Format::kBinarySI).ToString();
}
std::string Count(int64_t v) { return Quantity::FromInt(v).ToString(); }

Json Str(const std::string& s) { return Json{{"string", s.substr(0, 64)}}; }
Json Int(int64_t v) { return Json{{"int", v}}; }

std::string CounterSetName(const Device& gpu) { return gpu.name + "-counters"; }

// Counters of a MIG-enabled GPU: one per memory slice (so placements never
// overlap), plus memory and multiprocessors totals.
Json CounterSet(const Device& gpu) {
  Json counters = Json::object();
  for (int k = 0; k < gpu.memory_slices; ++k)
    counters["memslice" + std::to_string(k)] = {{"value", "1"}};
  counters["memory"] = {{"value", Bytes(gpu.memory_bytes)}};
  counters["multiprocessors"] = {{"value", Count(gpu.sm_count)}};
  return Json{{"name", CounterSetName(gpu)}, {"counters", counters}};
}

Json MigConsumption(const Options& opts, const Device& gpu, const Device& mig) {
  Json counters = Json::object();
  int size = mig.placement_size;
  // Planted bug: partitions consume half the memory slices they occupy.
  if (opts.Bug("wrong-counters")) size = std::max(1, size / 2);
  for (int k = mig.placement_start; k < mig.placement_start + size && k < gpu.memory_slices; ++k)
    counters["memslice" + std::to_string(k)] = {{"value", "1"}};
  counters["memory"] = {
      {"value", Bytes(opts.Bug("wrong-counters") ? mig.memory_bytes / 2 : mig.memory_bytes)}};
  counters["multiprocessors"] = {{"value", Count(mig.sm_count)}};
  return Json::array({Json{{"counterSet", CounterSetName(gpu)}, {"counters", counters}}});
}

std::string TaintValue(const std::string& message) {
  // A label value: [A-Za-z0-9_.-], at most 63 characters, alphanumeric ends.
  std::string v;
  for (char c : message) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')
      v.push_back(c);
    else if (c == ' ' || c == ':')
      v.push_back('-');
    if (v.size() >= 63) break;
  }
  while (!v.empty() && !std::isalnum(static_cast<unsigned char>(v.back()))) v.pop_back();
  while (!v.empty() && !std::isalnum(static_cast<unsigned char>(v.front()))) v.erase(v.begin());
  return v;
}

}  // namespace

Json DeviceJson(const Options& opts, const Inventory& inv, const Device& d,
                const std::map<std::string, DeviceHealthState>& health) {
  Json attrs = Json::object();
  Json cap = Json::object();
  attrs[opts.Attr("uuid")] = Str(d.uuid);
  attrs[opts.Attr("model")] = Str(d.model);
  attrs[opts.Attr("index")] = Int(d.index);
  attrs[opts.Attr("driverVersion")] = Json{{"version", inv.driver_version}};
  if (!d.pci_bus_id.empty()) attrs[opts.Attr("pciBusID")] = Str(d.pci_bus_id);
  if (d.numa_node >= 0) attrs[opts.Attr("numaNode")] = Int(d.numa_node);
  switch (d.type) {
    case DeviceType::kGpu:
      attrs[opts.Attr("type")] = Str("gpu");
      attrs[opts.Attr("minor")] = Int(d.minor);
      break;
    case DeviceType::kMig:
      attrs[opts.Attr("type")] = Str("mig");
      attrs[opts.Attr("minor")] = Int(d.minor);
      attrs[opts.Attr("profile")] = Str(d.mig_profile);
      attrs[opts.Attr("parentUUID")] = Str(inv.devices[static_cast<size_t>(d.parent)].uuid);
      attrs[opts.Attr("placementStart")] = Int(d.placement_start);
      break;
    case DeviceType::kFpga:
    case DeviceType::kFpgaVf:
      attrs[opts.Attr("type")] = Str(d.type == DeviceType::kFpga ? "fpga" : "fpga-vf");
      attrs[opts.Attr("vendor")] = Str(d.vendor);
      if (!d.shell.empty()) attrs[opts.Attr("shell")] = Str(d.shell);
      if (!d.region.empty()) attrs[opts.Attr("region")] = Str(d.region);
      break;
  }
  Json dev{{"name", d.name}, {"attributes", attrs}};
  bool gpu_like = d.type == DeviceType::kGpu || d.type == DeviceType::kMig;
  if (gpu_like) {
    if (opts.consumable_capacity && d.type == DeviceType::kGpu) {
      // Consumable capacity (KEP-5075): memory is shared in 1Gi steps; the
      // SM share follows the memory share (MPS active-thread percentage).
      dev["allowMultipleAllocations"] = true;
      cap["memory"] = {
          {"value", Bytes(d.memory_bytes)},
          {"requestPolicy",
           {{"default", "1Gi"},
            {"validRange", {{"min", "1Gi"}, {"max", Bytes(d.memory_bytes)}, {"step", "1Gi"}}}}}};
      attrs[opts.Attr("multiprocessors")] = Int(d.sm_count);
      dev["attributes"] = attrs;
    } else {
      cap["memory"] = {{"value", Bytes(d.memory_bytes)}};
      cap["multiprocessors"] = {{"value", Count(d.sm_count)}};
    }
    dev["capacity"] = cap;
  }
  if (d.type == DeviceType::kMig) {
    dev["consumesCounters"] = MigConsumption(opts, inv.devices[static_cast<size_t>(d.parent)], d);
  }
  if ((d.type == DeviceType::kFpga || d.type == DeviceType::kFpgaVf) && opts.binding_conditions) {
    // Programming a PR region takes time: the pod waits until the driver
    // reports the region ready on the claim (KEP-5007).
    dev["bindsToNode"] = true;
    dev["bindingConditions"] = Json::array({"RegionProgrammed"});
    dev["bindingFailureConditions"] = Json::array({"RegionProgrammingFailed"});
  }
  auto h = health.find(d.name);
  if (h != health.end() && h->second.health == 2 && !opts.Bug("no-taint-on-fault")) {
    std::string value = TaintValue(h->second.message);
    Json taint{{"key", opts.TaintKey()}, {"effect", h->second.lost ? "NoExecute" : "NoSchedule"}};
    if (!value.empty()) taint["value"] = value;
    dev["taints"] = Json::array({taint});
  }
  return dev;
}

std::vector<Json> BuildSlices(const Options& opts, const Inventory& inv,
                              const std::map<std::string, DeviceHealthState>& health) {
  Json counter_sets = Json::array();
  std::vector<Json> devices;
  for (const auto& d : inv.devices) {
    if (d.type == DeviceType::kGpu && d.mig_enabled) {
      // A GPU in MIG mode is not usable whole: publish its partitions (with
      // --partitioning mig-static) and the counters they draw from.
      if (opts.partitioning == "mig-static") counter_sets.push_back(CounterSet(d));
      continue;
    }
    devices.push_back(DeviceJson(opts, inv, d, health));
  }
  bool limited =
      !counter_sets.empty() || std::any_of(devices.begin(), devices.end(), [](const Json& d) {
        return d.contains("taints") || d.contains("consumesCounters");
      });
  // Planted bug: the 64-device limit for slices with counters or taints is
  // ignored.
  size_t per_slice = (limited && !opts.Bug("slice-too-big")) ? 64 : 128;
  if (opts.devices_per_slice > 0)
    per_slice = std::min(per_slice, static_cast<size_t>(opts.devices_per_slice));

  std::vector<Json> specs;
  // Since 1.35 a slice carries either devices or sharedCounters, not both.
  for (size_t i = 0; i < counter_sets.size(); i += 8) {
    Json chunk = Json::array();
    for (size_t j = i; j < std::min(counter_sets.size(), i + 8); ++j)
      chunk.push_back(counter_sets[j]);
    specs.push_back(Json{{"sharedCounters", chunk}});
  }
  for (size_t i = 0; i < devices.size(); i += per_slice) {
    Json chunk = Json::array();
    for (size_t j = i; j < std::min(devices.size(), i + per_slice); ++j)
      chunk.push_back(devices[j]);
    specs.push_back(Json{{"devices", chunk}});
  }
  if (specs.empty()) specs.push_back(Json{{"devices", Json::array()}});
  std::vector<Json> slices;
  for (size_t i = 0; i < specs.size(); ++i) {
    Json spec = specs[i];
    spec["driver"] = opts.driver_name;
    spec["nodeName"] = opts.node_name;
    spec["pool"] = {
        {"name", opts.node_name}, {"generation", 0}, {"resourceSliceCount", specs.size()}};
    char prefix[32];
    std::snprintf(prefix, sizeof(prefix), "%05zx", i);
    slices.push_back(Json{{"apiVersion", "resource.k8s.io/v1"},
                          {"kind", "ResourceSlice"},
                          {"metadata",
                           {{"generateName", std::string(prefix) + "-" + opts.driver_name + "-" +
                                                 opts.node_name + "-"}}},
                          {"spec", spec}});
  }
  return slices;
}

}  // namespace drahil::refdriver
