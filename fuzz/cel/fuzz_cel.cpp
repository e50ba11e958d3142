// Fuzzes CEL compilation and, for expressions that compile, evaluation
// against a fixed device: neither may crash, hang or exceed the cost limit
// silently (the evaluator must return a value or a Status).
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "drahil/allocator/cel.hpp"

namespace cel = drahil::allocator::cel;

namespace {
const cel::Device& FuzzDevice() {
  static const cel::Device kDevice = [] {
    auto j = nlohmann::json::parse(R"({
      "name": "gpu-0",
      "attributes": {"model": {"string": "A100"}, "index": {"int": 3},
                     "v": {"version": "1.2.3-rc.1"}, "ok": {"bool": true},
                     "tags": {"strings": ["a", "b"]}},
      "capacity": {"memory": {"value": "40Gi"}}
    })");
    auto d = cel::Device::FromJson("gpu.example.com", j);
    return d.ok() ? *d : cel::Device();
  }();
  return kDevice;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string expr(reinterpret_cast<const char*>(data), size);
  auto prog = cel::Compile(expr);
  if (!prog.ok()) return 0;
  int64_t cost = 0;
  auto r = (*prog)->Evaluate(FuzzDevice(), &cost);
  if (r.ok() && cost > cel::kDefaultCostLimit) __builtin_trap();
  return 0;
}
