// File: binding.hpp
//
// Binding the catalog to one driver. Suites never name a driver, a device, an
// attribute or a CDI vendor: they write placeholders, and a driver profile's
// device model (DriverProfile::devices) plus the devices discovered in the
// driver's ResourceSlices give them values when a case starts.
//
//   {driver}                 the DRA driver name
//   {class.KIND}             the DeviceClass name for an abstract kind
//   {cel.class.KIND}         the CEL selector of that class (driver included)
//   {attr.KIND.identity}     qualified attribute naming one device ("d/uuid"),
//   {attr.KIND.parent}       ... and the one partitions share with their parent
//   {memory.KIND}            the capacity name of the device memory
//   {cel.shape.KIND.SHAPE}   a CEL selector for one partition shape
//   {role.ROLE}              the device name bound to a role of the case
//   {cel.role.ROLE}          a CEL test true for that device only
//   {config.NAME}            an opaque device config (a whole value: JSON)
//   {taint.FAULT}            the taint key the driver publishes for a fault
//   {cdi.pattern}            a regex the driver's CDI IDs are expected to match
//   {device.*}               left alone: filled per container at run time
//
// An unknown placeholder is a load error naming file:line. A known one the
// profile does not bind makes the case Skip with the profile key it needs.
//
// Thread-safety: plain functions over values.
#ifndef DRAHIL_RUNNER_BINDING_HPP_INCLUDED
#define DRAHIL_RUNNER_BINDING_HPP_INCLUDED

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "drahil/core/status.hpp"
#include "drahil/runner/suite.hpp"

namespace drahil::runner {

// DeviceRecord: one device as the driver published it, with the abstract
// kinds whose class selectors match it (discovery fills it).
struct DeviceRecord {
  std::string name;
  std::string pool;
  std::set<std::string> kinds;
  nlohmann::json attributes =
      nlohmann::json::object();  // as in the slice: name → {string|int|bool|version: v}
  bool tainted = false;
  // allowMultipleAllocations: several claims may hold the device at once.
  bool shareable = false;
  // The profile's partition shapes the device has, as ShapeKey(): its
  // kind's shape selector accepts it.
  std::set<std::string> shapes;
};

// ShapeKey(): "KIND.SHAPE", how DeviceRecord::shapes and
// Inventory::shape_errors name a partition shape of a kind.
inline std::string ShapeKey(const std::string& kind, const std::string& shape) {
  return kind + "." + shape;
}

// Binding: what the placeholders of one case resolve against.
struct Binding {
  const DriverProfile* profile = nullptr;
  std::map<std::string, DeviceRecord> roles;  // role → device
};

// PlaceholderUse: one {…} found in a suite, with where it was written.
struct PlaceholderUse {
  std::string name;  // without braces
  Location where;    // the manifest, step or case it is in
};

// CasePlaceholders(): the placeholders of a case (its fixtures and steps) and
// of its suite's fixtures, {device.*} excluded.
std::vector<PlaceholderUse> CasePlaceholders(const Suite& suite, const Case& kase);

// CheckPlaceholder(): OK when `name` is a placeholder of the vocabulary
// above and every role it names is declared in the case's requires.
Status CheckPlaceholder(const std::string& name, const Case& kase);

// CheckSuitePlaceholders(): CheckPlaceholder() for every use; the error names
// file:line and the case.
Status CheckSuitePlaceholders(const Suite& suite);

// ResolvePlaceholder(): the value (a string, or JSON for {config.*}); an
// unbound one is kFailedPrecondition whose message is the profile key needed.
Result<nlohmann::json> ResolvePlaceholder(const std::string& name, const Binding& binding);

// RenderedCase: a case with its placeholders replaced.
struct RenderedCase {
  std::vector<Manifest> fixtures;  // the suite's, then the case's
  std::vector<Step> steps;
  std::set<std::string> missing;  // profile keys that would bind the rest
};
RenderedCase RenderCase(const Suite& suite, const Case& kase, const Binding& binding);

// RenderedManifest: one manifest a case sends to the API server, rendered
// for a profile.
struct RenderedManifest {
  Manifest manifest;
  std::string case_id;
  bool bound = true;  // false: a placeholder stayed (the profile does not bind it)
};
// ManifestsForCheck(): what `drahil validate` checks with the API server's
// create-time rules: every fixture and every manifest an apply step sends
// (not those the step expects refused, `expect-status` ≥ 400), rendered
// against `profile` with a stand-in device for each role of the case (named
// "validate-ROLE", its kind's identity attribute set to that name). A
// suite's own fixtures come once per case.
std::vector<RenderedManifest> ManifestsForCheck(const Suite& suite, const DriverProfile& profile);

// ProfileKeysNeeded(): the profile keys a case needs that `profile` does not
// bind (its placeholders and device kinds); the devices of its roles are not
// keys (discovery binds them). Empty: the profile binds the case.
std::set<std::string> ProfileKeysNeeded(const Suite& suite, const Case& kase,
                                        const DriverProfile& profile);

// Attribute helpers. A profile names an attribute "name" (in the driver's
// domain) or "domain/name"; these return the qualified form, the CEL that
// reads it, and its value in a published attribute map.
std::string QualifiedAttribute(const std::string& driver, const std::string& attr);
std::string AttributeCel(const std::string& qualified);
const nlohmann::json* FindAttribute(const nlohmann::json& attributes, const std::string& driver,
                                    const std::string& qualified);
// AttributeText(): the plain value of a typed attribute ("GPU-1", "5", "true").
std::optional<std::string> AttributeText(const nlohmann::json& typed);
// CelLiteral(): a typed attribute as a CEL literal ("\"GPU-1\"", "5").
std::optional<std::string> CelLiteral(const nlohmann::json& typed);

// ClassSelector(): the CEL a kind's class selects with (driver included), or
// "" when the class is given by name only.
std::string ClassSelector(const DriverProfile& profile, const DeviceKindModel& kind);
// DeviceClassSelector(): the CEL of a DeviceClass object (its selectors and-ed;
// "device.driver == DRIVER" when it has none).
std::string DeviceClassSelector(const nlohmann::json& device_class, const std::string& driver);
// ClassManifests(): the DeviceClass objects drahil creates for the profile.
std::vector<nlohmann::json> ClassManifests(const DriverProfile& profile);
// DefaultCdiPattern(): "^k8s\\.<driver, regex-escaped>/" (the vendor-prefix convention).
std::string DefaultCdiPattern(const std::string& driver);
// RegexEscape(): text as an ECMAScript regex matching exactly it.
std::string RegexEscape(const std::string& text);

}  // namespace drahil::runner

#endif  // DRAHIL_RUNNER_BINDING_HPP_INCLUDED
