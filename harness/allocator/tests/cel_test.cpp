// CEL subset tests: expressions taken from the shapes real DeviceClasses and
// claims use (NVIDIA, Intel, dra-example-driver), plus error cases.
#include "drahil/allocator/cel.hpp"

#include <nlohmann/json.hpp>

#include "drahil/testing/testing.hpp"

namespace cel = drahil::allocator::cel;
using drahil::Code;

namespace {

cel::Device GpuDevice() {
  auto j = nlohmann::json::parse(R"({
    "name": "gpu-0",
    "attributes": {
      "model": {"string": "A100-SXM4-40GB"},
      "index": {"int": 0},
      "uuid": {"string": "GPU-0a1b2c3d"},
      "driverVersion": {"version": "550.54.15"},
      "cudaComputeCapability": {"version": "8.0.0"},
      "mig-capable": {"bool": true},
      "resource.kubernetes.io/pcieRoot": {"string": "pci0000:00"},
      "features": {"strings": ["mps", "timeslicing"]}
    },
    "capacity": {
      "memory": {"value": "40Gi"},
      "multiprocessors": {"value": "108"}
    }
  })");
  auto d = cel::Device::FromJson("gpu.nvidia.com", j);
  REQUIRE_OK(d);
  return *d;
}

drahil::Result<bool> Eval(const std::string& expr, const cel::Device& dev) {
  auto p = cel::Compile(expr);
  if (!p.ok()) return p.status();
  return (*p)->Evaluate(dev);
}

bool True(const std::string& expr) {
  auto r = Eval(expr, GpuDevice());
  INFO(expr << " -> " << r.status().ToString());
  REQUIRE(r.ok());
  return *r;
}

drahil::Status CompileError(const std::string& expr) {
  auto p = cel::Compile(expr);
  INFO(expr);
  REQUIRE_FALSE(p.ok());
  return p.status();
}

drahil::Status RuntimeError(const std::string& expr) {
  auto p = cel::Compile(expr);
  INFO(expr << " -> " << p.status().ToString());
  REQUIRE(p.ok());
  auto r = (*p)->Evaluate(GpuDevice());
  REQUIRE_FALSE(r.ok());
  return r.status();
}

}  // namespace

TEST_CASE("Cel: DeviceClass selectors from real drivers", "[allocator][cel]") {
  // gpu.nvidia.com DeviceClass and dra-example-driver classes.
  CHECK(True(R"(device.driver == "gpu.nvidia.com")"));
  CHECK(True(
      R"(device.driver == 'gpu.nvidia.com' && device.attributes['gpu.nvidia.com'].model == "A100-SXM4-40GB")"));
  CHECK_FALSE(True(R"(device.driver == "gpu.example.com")"));
  CHECK(True(R"(device.attributes["gpu.nvidia.com"].index == 0)"));
  CHECK(True(R"(device.attributes["gpu.nvidia.com"]["mig-capable"])"));
  CHECK(True(R"(device.attributes["resource.kubernetes.io"].pcieRoot.startsWith("pci0000"))"));
  // Quantity comparisons on capacity.
  CHECK(True(R"(device.capacity["gpu.nvidia.com"].memory.compareTo(quantity("40Gi")) >= 0)"));
  CHECK(True(R"(device.capacity["gpu.nvidia.com"].memory.isGreaterThan(quantity("10Gi")))"));
  CHECK_FALSE(True(R"(device.capacity["gpu.nvidia.com"].memory.isLessThan(quantity("40960Mi")))"));
  CHECK(True(
      R"(device.capacity["gpu.nvidia.com"].memory.add(quantity("8Gi")).compareTo(quantity("48Gi")) == 0)"));
  CHECK(True(R"(device.capacity["gpu.nvidia.com"].memory.sub(1).asInteger() == 42949672959)"));
  CHECK(True(R"(device.capacity["gpu.nvidia.com"].multiprocessors.asApproximateFloat() == 108.0)"));
  // Semver checks (NVIDIA: driverVersion / cudaComputeCapability).
  CHECK(True(
      R"(device.attributes["gpu.nvidia.com"].driverVersion.isGreaterThan(semver("535.0.0")))"));
  CHECK(True(
      R"(device.attributes["gpu.nvidia.com"].cudaComputeCapability.compareTo(semver("8.0.0")) == 0)"));
  CHECK(True(R"(device.attributes["gpu.nvidia.com"].driverVersion.major() == 550 &&
                device.attributes["gpu.nvidia.com"].driverVersion.minor() == 54 &&
                device.attributes["gpu.nvidia.com"].driverVersion.patch() == 15)"));
  CHECK(True(R"(semver("v1.2", true).isLessThan(semver("1.2.1")))"));
  // has() guards and optional syntax for attributes that may be absent.
  CHECK_FALSE(True(
      R"(has(device.attributes["gpu.nvidia.com"].productName) && device.attributes["gpu.nvidia.com"].productName == "x")"));
  CHECK(True(R"(!has(device.attributes["dra.example.com"].model))"));
  CHECK(True(R"(device.attributes["gpu.nvidia.com"].?productName.orValue("none") == "none")"));
  CHECK(True(R"(device.attributes["gpu.nvidia.com"].?model.hasValue())"));
  CHECK(True(R"(device.attributes[?"other.com"].?x.orValue(1) == 1)"));
  // Unknown domain is an empty map.
  CHECK(True(R"(size(device.attributes["intel.com"]) == 0)"));
  CHECK_FALSE(True(R"(device.allowMultipleAllocations)"));
  // String functions.
  CHECK(True(R"(device.attributes["gpu.nvidia.com"].model.matches("^A100-.*-40GB$"))"));
  CHECK(True(R"(device.attributes["gpu.nvidia.com"].uuid.contains("0a1b"))"));
  CHECK(True(
      R"(device.attributes["gpu.nvidia.com"].model.endsWith("40GB") && device.attributes["gpu.nvidia.com"].model.lowerAscii() == "a100-sxm4-40gb")"));
  CHECK(True(R"(matches("abc", "(?i)ABC"))"));
  // Macros over lists and maps.
  CHECK(True(R"(device.attributes["gpu.nvidia.com"].features.exists(f, f == "mps"))"));
  CHECK(True(R"(device.attributes["gpu.nvidia.com"].features.all(f, size(f) > 2))"));
  CHECK(True(R"([1, 2, 3].exists_one(x, x > 2))"));
  CHECK(True(R"([1, 2, 3].map(x, x * 2) == [2, 4, 6])"));
  CHECK(True(R"([1, 2, 3, 4].filter(x, x % 2 == 0) == [2, 4])"));
  CHECK(True(R"([1, 2, 3].map(x, x > 1, x * 10) == [20, 30])"));
  CHECK(True(R"(device.attributes["gpu.nvidia.com"].exists(k, k == "uuid"))"));
  CHECK(True(
      R"(cel.bind(attrs, device.attributes["gpu.nvidia.com"], attrs.index == 0 && attrs.model.startsWith("A100")))"));
}

TEST_CASE("Cel: literals, operators and CEL semantics", "[allocator][cel]") {
  CHECK(True("1 + 2 * 3 == 7"));
  CHECK(True("7 / 2 == 3 && 7 % 2 == 1 && -7 / 2 == -3"));
  CHECK(True("3u + 4u == 7u"));
  CHECK(True("1.5 * 2.0 == 3.0"));
  CHECK(True("0x1F == 31"));
  CHECK(True("1 < 1.5 && 2u > 1 && 1.0 == 1"));  // cross-type numeric comparisons
  CHECK(True("-9223372036854775808 < 0"));
  CHECK(True(R"('a' + "b" == 'ab' && "abc" < "abd")"));
  CHECK(True(R"(r"\d" == "\\d" && b"\x01" == bytes("\x01"))"));
  CHECK(True(R"('''multi
line''' .contains("line"))"));
  CHECK(True(R"(size("héllo") == 5 && size(b"h\303\251") == 3)"));
  CHECK(True(R"(2 in [1, 2] && "a" in {"a": 1} && !(3 in [1, 2]))"));
  CHECK(True(R"({"a": 1, "b": 2}["b"] == 2)"));
  CHECK(True("true ? 1 == 1 : false"));
  CHECK(True("null == null && [1, [2]] == [1, [2]]"));
  CHECK(True(R"(int("42") == 42 && uint(3) == 3u && double("1.5") == 1.5 && string(12) == "12")"));
  CHECK(True("dyn(1) == 1.0"));
  CHECK(
      True(R"(isQuantity("1Gi") && !isQuantity("1 Gi") && isSemver("1.0.0") && !isSemver("1.0"))"));
  CHECK(True(
      R"(quantity("1.5").isInteger() == false && quantity("1500m").compareTo(quantity("1.5")) == 0)"));
  CHECK(True("// a comment\n true"));

  SECTION("&& and || absorb errors when the other side decides") {
    CHECK_FALSE(True(R"(device.attributes["gpu.nvidia.com"].missing == "x" && false)"));
    CHECK_FALSE(True(R"(false && device.attributes["gpu.nvidia.com"].missing == "x")"));
    CHECK(True(R"(device.attributes["gpu.nvidia.com"].missing == "x" || true)"));
    CHECK(True(R"([1, 0].exists(x, 1 / x == 1))"));
    CHECK_FALSE(True(R"([0, 1].all(x, 1 / x == 2))"));
  }
}

TEST_CASE("Cel: runtime errors abort with a message", "[allocator][cel]") {
  auto s = RuntimeError(R"(device.attributes["gpu.nvidia.com"].productName == "x")");
  CHECK(s.code() == Code::kInvalidArgument);
  CHECK(s.message().find("no such key: productName") != std::string::npos);
  CHECK(RuntimeError(R"(device.attributes["gpu.nvidia.com"].missing == "x" && true)")
            .message()
            .find("no such key") != std::string::npos);
  CHECK(RuntimeError("1 / (1 - 1) == 0").message().find("division by zero") != std::string::npos);
  CHECK(RuntimeError("9223372036854775807 + 1 > 0").message().find("overflow") !=
        std::string::npos);
  CHECK(RuntimeError("[1][3] == 1").message().find("index out of range") != std::string::npos);
  CHECK(RuntimeError(R"(quantity(device.attributes["gpu.nvidia.com"].model).sign() == 1)")
            .message()
            .find("quantity") != std::string::npos);
  CHECK(RuntimeError(R"(dyn("a") == "a" && dyn(1) + dyn("x") == 2)")
            .message()
            .find("no such overload") != std::string::npos);
  CHECK(RuntimeError(R"(optional.none().value() == 1)").message().find("optional.none()") !=
        std::string::npos);
  CHECK(RuntimeError(R"(device.attributes["gpu.nvidia.com"].index)").message().find("not bool") !=
        std::string::npos);
}

TEST_CASE("Cel: compile errors name the position and the construct", "[allocator][cel]") {
  // Type errors.
  auto s = CompileError(R"(device.driver > 1)");
  CHECK(s.message().find("1:15") != std::string::npos);
  CHECK(s.message().find("no matching overload") != std::string::npos);
  CHECK(CompileError("1 + 1.0 == 2.0").message().find("'(int, double)'") != std::string::npos);
  CHECK(CompileError("device.driver").message().find("must evaluate to bool") != std::string::npos);
  CHECK(CompileError("device.name == 'x'").message().find("undefined field 'name'") !=
        std::string::npos);
  CHECK(CompileError("devices.driver == 'x'").message().find("undeclared reference to 'devices'") !=
        std::string::npos);
  CHECK(CompileError("!1").message().find("no matching overload") != std::string::npos);
  // Syntax errors, with line:col.
  auto syn = CompileError("device.driver ==\n  ");
  CHECK(syn.message().find("2:3") != std::string::npos);
  CHECK(CompileError("device.driver = 'x'").message().find("'=='") != std::string::npos);
  CHECK(CompileError("'unterminated").message().find("unterminated") != std::string::npos);
  CHECK(CompileError("if == 1").message().find("reserved") != std::string::npos);
  CHECK(CompileError("99999999999999999999 > 1").message().find("out of range") !=
        std::string::npos);
  // Unsupported constructs are refused by name.
  CHECK(CompileError("timestamp('2024-01-01T00:00:00Z') > timestamp('2023-01-01T00:00:00Z')")
            .message()
            .find("unsupported function 'timestamp'") != std::string::npos);
  CHECK(CompileError("google.protobuf.Int64Value{value: 1} == 1")
            .message()
            .find("message construction") != std::string::npos);
  CHECK(CompileError("{'a': 1}.all(k, v, v > 0)").message().find("two-variable comprehension") !=
        std::string::npos);
  CHECK(CompileError("'abc'.indexOf('b') == 1").message().find("unsupported method 'indexOf'") !=
        std::string::npos);
  CHECK(CompileError("sets.contains([1], [1])")
            .message()
            .find("unsupported function 'sets.contains'") != std::string::npos);
  CHECK(CompileError("'a'.matches('(a)\\\\1')").message().find("backreferences") !=
        std::string::npos);
  CHECK(CompileError("'a'.matches('a(?=b)')").message().find("lookahead") != std::string::npos);
  CHECK(CompileError("quantity('12 Gi').sign() == 1").message().find("invalid quantity literal") !=
        std::string::npos);
  CHECK(CompileError("semver('1.0').major() == 1").message().find("invalid semver literal") !=
        std::string::npos);
  CHECK(CompileError("has(device)").message().find("has()") != std::string::npos);
  // Limits.
  CHECK(CompileError(std::string(11 * 1024, ' ') + "true").message().find("limit") !=
        std::string::npos);
  CHECK(CompileError(std::string(500, '(') + "true" + std::string(500, ')'))
            .message()
            .find("nested too deeply") != std::string::npos);
  std::string chain = "1";
  for (int i = 0; i < 3000; ++i) chain += "+1";
  CHECK(CompileError(chain + " > 0").message().find("nested too deeply") != std::string::npos);
  std::string ok_chain = "1";
  for (int i = 0; i < 200; ++i) ok_chain += "+1";
  CHECK(True(ok_chain + " == 201"));
  std::string members = "device";
  for (int i = 0; i < 2000; ++i) members += ".a";
  CHECK(CompileError(members).message().find("nested too deeply") != std::string::npos);
}

TEST_CASE("Cel: cost limit stops runaway expressions", "[allocator][cel]") {
  std::string list = "[";
  for (int i = 0; i < 100; ++i) list += (i ? "," : "") + std::to_string(i);
  list += "]";
  std::string expr = list + ".all(a, " + list + ".all(b, " + list + ".all(c, a + b + c >= 0)))";
  auto p = cel::Compile(expr);
  REQUIRE_OK(p);
  int64_t cost = 0;
  auto r = (*p)->Evaluate(GpuDevice(), &cost);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kResourceExhausted);
  CHECK(r.status().message().find("1000000") != std::string::npos);
  CHECK(cost > cel::kDefaultCostLimit);
  // A cheap expression reports its (small) cost.
  auto cheap = cel::Compile("device.driver == 'gpu.nvidia.com'");
  REQUIRE_OK(cheap);
  REQUIRE_OK((*cheap)->Evaluate(GpuDevice(), &cost));
  CHECK(cost > 0);
  CHECK(cost < 20);
}

TEST_CASE("Cel: compile cache returns the same program and caches errors", "[allocator][cel]") {
  cel::CompileCache cache;
  auto a = cache.Get("device.driver == 'x'");
  auto b = cache.Get("device.driver == 'x'");
  REQUIRE_OK(a);
  REQUIRE_OK(b);
  CHECK(a->get() == b->get());
  CHECK_FALSE(cache.Get("device.driver ==").ok());
  CHECK_FALSE(cache.Get("device.driver ==").ok());
  CHECK(cache.size() == 2);
}

TEST_CASE("Cel: bad device attributes are reported", "[allocator][cel]") {
  auto bad = cel::Device::FromJson(
      "d.example.com",
      nlohmann::json::parse(R"({"name": "x", "attributes": {"v": {"version": "not-a-version"}}})"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("attribute v") != std::string::npos);
  auto two = cel::Device::FromJson(
      "d.example.com",
      nlohmann::json::parse(R"({"name": "x", "attributes": {"v": {"int": 1, "bool": true}}})"));
  CHECK_FALSE(two.ok());
}
