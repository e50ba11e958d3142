#include "drahil/allocator/allocator.hpp"
#include "drahil/allocator/cel.hpp"
#include "setup.hpp"

namespace drahil::node {

namespace {

// HealthDelivers(): whether the driver's health stream, opened although the
// plugin lists no health service, delivers. Waits (at most 2 s) until the
// first attempt has sent a message or ended: a driver without the service
// answers UNIMPLEMENTED at once, one serving it sends its first snapshot.
bool HealthDelivers(const kubelet::KubeletStandIn& kubelet, const std::string& driver) {
  auto settled = kubelet.WaitForHealth(
      driver,
      [](const kubelet::HealthSnapshot& h) {
        return h.messages > 0 || (h.stream_starts > 0 && !h.stream_open);
      },
      std::chrono::seconds(2));
  return settled.ok() && settled->messages > 0;
}

}  // namespace

// Discover(): what the driver offers, read from its registration and its
// slices. Device kinds come from the profile's device model: a device is of
// a kind when that kind's class selector (CEL, evaluated by the allocator's
// evaluator) accepts it. Names are never looked at.
Result<Inventory> Discover(CaseContext& ctx) {
  auto env = Env(ctx);
  if (!env) return FailedPreconditionError("no node environment");
  const DriverProfile& prof = ctx.profile;
  std::vector<std::pair<std::string, std::shared_ptr<const allocator::cel::Program>>> kinds;
  struct Shape {
    std::string kind, name;
    std::shared_ptr<const allocator::cel::Program> program;
  };
  std::vector<Shape> shapes;
  for (const auto& [kind, k] : prof.devices.kinds) {
    std::string expr = ClassSelector(prof, k);
    if (expr.empty()) {
      // A class the profile names only: it must exist on the node.
      auto c = env->api->Get("deviceclasses", "", k.class_name);
      if (!c.ok()) {
        return FailedPreconditionError("profile devices." + kind + ".class.name: DeviceClass \"" +
                                       k.class_name +
                                       "\" does not exist on the node: " + c.status().message());
      }
      expr = DeviceClassSelector(*c, prof.driver_name);
    }
    auto prog = allocator::cel::Compile(expr);
    if (!prog.ok()) {
      return InvalidArgumentError("profile devices." + kind +
                                  ".class: selector does not compile: " + prog.status().message());
    }
    kinds.emplace_back(kind, *prog);
    for (const auto& [shape, sel] : k.shapes) {
      auto sp = allocator::cel::Compile(sel);
      if (!sp.ok()) {
        return InvalidArgumentError("profile devices." + kind + ".shapes." + shape +
                                    ": selector does not compile: " + sp.status().message());
      }
      shapes.push_back({kind, shape, *sp});
    }
  }
  Inventory inv;
  // Devices are listed in the order the scheduler stand-in tries them (the
  // run's seed shuffles pools and slices): roles bind from the end of it.
  std::vector<Json> slices = DriverSlices(*env, env->driver);
  for (size_t at : allocator::SearchOrder(slices, env->order_seed)) {
    const Json& s = slices[at];
    const auto& spec = s["spec"];
    if (spec.contains("sharedCounters")) inv.capabilities.insert("partitionable-devices");
    for (const auto& d : spec.value("devices", Json::array())) {
      DeviceRecord rec;
      rec.name = d.value("name", "");
      rec.pool = spec.value("pool", Json::object()).value("name", "");
      rec.attributes = d.value("attributes", Json::object());
      rec.tainted = d.contains("taints") && !d["taints"].empty();
      rec.shareable = d.value("allowMultipleAllocations", false);
      auto dev = allocator::cel::Device::FromJson(env->driver, d);
      if (!dev.ok())
        return InvalidArgumentError("device " + rec.name +
                                    " in the driver's slices: " + dev.status().message());
      for (const auto& [kind, prog] : kinds) {
        auto match = prog->Evaluate(*dev);
        if (!match.ok()) {
          return InvalidArgumentError("profile devices." + kind + ".class selector on device " +
                                      rec.name + ": " + match.status().message());
        }
        if (*match) {
          rec.kinds.insert(kind);
          inv.devices[kind]++;
          if (!rec.shareable) inv.exclusive[kind]++;
        }
      }
      // Partition shapes, for the kinds the device is of. A selector that
      // fails on a device (an attribute it lacks) does not give it the shape;
      // the first such error is kept for the skip message.
      for (const auto& sh : shapes) {
        if (!rec.kinds.count(sh.kind)) continue;
        auto match = sh.program->Evaluate(*dev);
        std::string key = ShapeKey(sh.kind, sh.name);
        if (!match.ok()) {
          inv.shape_errors.emplace(key, "device " + rec.name + ": " + match.status().message());
        } else if (*match) {
          rec.shapes.insert(key);
        }
      }
      inv.device_names.insert(rec.name);
      inv.device_list.push_back(std::move(rec));
      if (d.contains("taints")) inv.capabilities.insert("device-taints");
      if (d.value("allowMultipleAllocations", false))
        inv.capabilities.insert("consumable-capacity");
      if (d.contains("bindingConditions")) inv.capabilities.insert("binding-conditions");
      if (d.contains("consumesCounters")) inv.capabilities.insert("partitionable-devices");
    }
  }
  for (const auto& p : env->kubelet->Plugins()) {
    if (p.name != env->driver) continue;
    for (const auto& v : p.supported_versions) {
      if (v == kubelet::kDraV1Service) inv.capabilities.insert("dra-v1");
      if (v == kubelet::kDraV1beta1Service) inv.capabilities.insert("dra-v1beta1");
    }
    // The 1.34-1.36 kubelet watches every plugin (HealthMode::kAlways), so a
    // watched service alone says nothing: health is shown by the
    // registration or by the stream delivering (a driver may serve the
    // service without listing it; a driver without it answers UNIMPLEMENTED).
    bool advertised = false;
    for (const auto& v : p.supported_versions) {
      if (v == kubelet::kHealthV1Service || v == kubelet::kHealthV1alpha1Service) advertised = true;
    }
    if (advertised || (!p.health_service.empty() && HealthDelivers(*env->kubelet, p.name))) {
      inv.capabilities.insert("health");
    }
  }
  // A claim the driver's registration contradicts is the profile's error,
  // not a reason to skip: those cases end in Error with the reason. (What
  // slices show depends on the hardware too, e.g. MIG mode, so a claimed
  // slice feature that is absent leaves its cases to their device needs.)
  static const std::map<std::string, std::string> kShownBy = {
      {"dra-v1", "its registration (supported versions)"},
      {"dra-v1beta1", "its registration (supported versions)"},
      {"health",
       "its registration and its health stream (no DRAResourceHealth service listed; the "
       "stream delivered nothing)"}};
  // With ResourceHealthStatus off the kubelet opens no health stream, so the
  // registration cannot show whether the driver serves one: a claimed
  // "health" stands (the driver's own fault handling, e.g. taints, is what
  // cases then test).
  bool health_shown = env->gates.Enabled(features::kResourceHealthStatus);
  for (const auto& c : prof.capabilities) {
    if (c == "health" && !health_shown) continue;
    auto it = kShownBy.find(c);
    if (it != kShownBy.end() && !inv.capabilities.count(c)) inv.contradicted[c] = it->second;
  }
  return inv;
}

}  // namespace drahil::node
