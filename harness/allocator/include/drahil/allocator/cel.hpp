// File: cel.hpp
//
// The CEL subset that DRA device selectors use (resource.k8s.io/v1
// CELDeviceSelector), compiled once and evaluated against one device at a time.
//
//   auto prog = cel::Compile(R"(device.driver == "gpu.example.com" &&
//                               device.capacity["gpu.example.com"].memory
//                                   .isGreaterThan(quantity("10Gi")))");
//   auto dev = cel::Device::FromJson("gpu.example.com", slice["spec"]["devices"][0]);
//   Result<bool> r = (*prog)->Evaluate(dev);
//
// Semantics follow cel-go as configured by Kubernetes (see docs/allocator.md):
//   - the only variable is `device` (driver, attributes, capacity,
//     allowMultipleAllocations); an unknown attribute domain is an empty map,
//     an unknown key inside a domain is a runtime error;
//   - `&&`, `||` and the all/exists macros absorb errors when the other side
//     decides the result, as CEL's commutative logic does;
//   - every evaluation is charged cost units and stops with kResourceExhausted
//     past CompileOptions::cost_limit (1,000,000 as in Kubernetes);
//   - the libraries of Kubernetes' base environment (strings, lists, sets,
//     regex, IP, CIDR, URL, quantity, semver, optionals, two-variable
//     comprehensions, timestamps and durations) per CompileOptions::version
//     and ::environment; anything outside it (message literals, unknown
//     functions) is a compile error naming the construct, never a wrong
//     answer.
// Errors: compile errors are kInvalidArgument "<line>:<col>: <what>";
// runtime errors are kInvalidArgument "CEL runtime error: <what>"; the cost
// limit is kResourceExhausted "CEL runtime error: operation cancelled: actual
// cost limit exceeded" (cel-go's text).
//
// Thread-safety: Program and Device are immutable after construction and may
// be shared across threads. CompileCache is internally synchronised.
#ifndef DRAHIL_ALLOCATOR_CEL_HPP_INCLUDED
#define DRAHIL_ALLOCATOR_CEL_HPP_INCLUDED

#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <unordered_map>

#include "drahil/core/feature_gates.hpp"
#include "drahil/core/status.hpp"

namespace drahil::allocator::cel {

inline constexpr int64_t kDefaultCostLimit = 1'000'000;    // CELSelectorExpressionMaxCost
inline constexpr size_t kMaxExpressionLength = 10 * 1024;  // CELSelectorExpressionMaxLength

// Environment: which of Kubernetes' CEL environments a selector is compiled
// in (apiserver/pkg/cel/environment: StoredExpressions, NewExpressions).
// kStored has every library of the release and is what kube-scheduler
// evaluates with; kNew is what the API server accepts in a new or changed
// selector: only libraries introduced up to the release's minimum
// compatibility version (one minor below it, DefaultCompatibilityVersion()).
enum class Environment { kStored, kNew };

struct CompileOptions {
  // The runtime cost limit (resource.k8s.io CELSelectorExpressionMaxCost).
  int64_t cost_limit = kDefaultCostLimit;
  Environment environment = Environment::kStored;
  // The Kubernetes release whose base environment (base.go) applies.
  KubeVersion version = KubeVersion::Newest();
  // Nesting depth of the parse tree; deeper expressions are refused so that a
  // hostile expression cannot exhaust the stack.
  int max_depth = 96;
};

namespace internal {
struct DeviceData;
struct ProgramData;
}  // namespace internal

// Device: the `device` variable built from a resource.k8s.io/v1 Device object
// of a ResourceSlice. Build it once per device and reuse it for every selector.
class Device {
 public:
  Device();
  // FromJson(): driver is the slice's spec.driver (the domain of unqualified
  // attribute names). Malformed attribute values (e.g. a bad version string)
  // are an error naming the attribute.
  static Result<Device> FromJson(std::string_view driver, const nlohmann::json& device);
  const internal::DeviceData& data() const { return *data_; }

 private:
  std::shared_ptr<const internal::DeviceData> data_;
};

// Program: a compiled, type-checked expression.
class Program {
 public:
  explicit Program(std::shared_ptr<const internal::ProgramData> data) : data_(std::move(data)) {}
  // Evaluate(): the boolean result, or a runtime error / cost-limit error.
  // cost, when given, receives the cost units charged.
  Result<bool> Evaluate(const Device& device, int64_t* cost = nullptr) const;
  const std::string& expression() const;
  // max_cost(): the static worst-case cost estimate, in the same units as
  // the runtime limit; the API server refuses a selector whose estimate
  // exceeds kDefaultCostLimit ("too complex, exceeds cost limit").
  uint64_t max_cost() const;

 private:
  std::shared_ptr<const internal::ProgramData> data_;
};

// Compile(): parse and type-check. The expression must yield a bool.
Result<std::shared_ptr<const Program>> Compile(std::string_view expression,
                                               const CompileOptions& options = {});

// ValidationDetail(): the message kube-apiserver's validateCELSelector
// (pkg/apis/resource/validation) gives for a selector Compile() refused:
// "compilation failed: ERROR: <input>:L:C: what" with the source line and a
// caret as cel-go's Issues.String() prints them, or "must evaluate to bool
// or the unknown type, not T" for a non-bool expression.
std::string ValidationDetail(std::string_view expression, const Status& compile_error);

// CompileCache: Compile() memoised by expression text (errors are cached too,
// so a bad selector is reported the same way every time).
class CompileCache {
 public:
  explicit CompileCache(CompileOptions options = {}) : options_(options) {}
  Result<std::shared_ptr<const Program>> Get(const std::string& expression);
  size_t size() const;

 private:
  CompileOptions options_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Result<std::shared_ptr<const Program>>> entries_;
};

}  // namespace drahil::allocator::cel

#endif  // DRAHIL_ALLOCATOR_CEL_HPP_INCLUDED
