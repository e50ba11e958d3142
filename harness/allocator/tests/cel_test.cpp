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
  CHECK(True("null == null && [dyn(1), dyn([2])] == [dyn(1), dyn([2])]"));
  // cel.HomogeneousAggregateLiterals (base.go): literal elements share a type.
  CHECK(CompileError("[1, 'a'] == []").message().find("expected type 'int' but found 'string'") !=
        std::string::npos);
  CHECK(CompileError("{'a': 1, 'b': 2.0} == {}")
            .message()
            .find("expected type 'int' but found 'double'") != std::string::npos);
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
  CHECK(CompileError("google.protobuf.Int64Value{value: 1} == 1")
            .message()
            .find("message construction") != std::string::npos);
  // ext.Strings version 3 (string reverse) is not in the base environment.
  CHECK(CompileError("'abc'.reverse() == 'cba'").message().find("no matching overload") !=
        std::string::npos);
  CHECK(CompileError("math.greatest(1, 2) == 2")
            .message()
            .find("unsupported function 'math.greatest'") != std::string::npos);
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
  // cel-go's text for a program past its cel.CostLimit().
  CHECK(r.status().message() ==
        "CEL runtime error: operation cancelled: actual cost limit exceeded");
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

// ---------------------------------------------------------------------------
// The Kubernetes CEL base environment (apiserver pkg/cel/environment/base.go)
// that dynamic-resource-allocation/cel CompileCELExpression() extends.

namespace {

drahil::Result<std::shared_ptr<const cel::Program>> CompileIn(const std::string& expr,
                                                              cel::Environment env, int minor) {
  cel::CompileOptions o;
  o.environment = env;
  o.version = drahil::KubeVersion{minor};
  return cel::Compile(expr, o);
}

std::string RuntimeMessage(const std::string& expr) { return RuntimeError(expr).message(); }

}  // namespace

// cel-go ext/strings.go (ext.Strings(ext.StringsVersion(2)), base.go from 1.29).
TEST_CASE("Cel: upstream ext.Strings version 2 functions", "[allocator][cel][cel-lib]") {
  CHECK(True("'hello'.charAt(1) == 'e' && 'hello'.charAt(5) == ''"));
  CHECK(True("'hello mellow'.indexOf('ello') == 1 && 'hello mellow'.indexOf('ello', 2) == 7"));
  CHECK(True("'hello'.indexOf('') == 0 && 'hello'.indexOf('x') == -1"));
  CHECK(True("'héllo'.indexOf('l') == 2"));  // code points, not bytes
  CHECK(True(
      "'hello mellow'.lastIndexOf('ello') == 7 && 'hello mellow'.lastIndexOf('ello', 6) == 1"));
  CHECK(True("'hello'.lastIndexOf('') == 5"));
  CHECK(True("'hello hello'.replace('he', 'we') == 'wello wello'"));
  CHECK(True("'hello hello'.replace('he', 'we', 1) == 'wello hello'"));
  CHECK(True("'hello'.replace('he', 'we', 0) == 'hello'"));
  CHECK(True("'a,b,c'.split(',') == ['a', 'b', 'c'] && 'a,b,c'.split(',', 2) == ['a', 'b,c']"));
  CHECK(True("'a,b'.split(',', 0) == [] && 'ab'.split('') == ['a', 'b']"));
  CHECK(True("'tacocat'.substring(4) == 'cat' && 'tacocat'.substring(0, 4) == 'taco'"));
  CHECK(True("['a', 'b'].join() == 'ab' && ['a', 'b'].join('-') == 'a-b'"));
  CHECK(True(R"(strings.quote('a"b') == '"a\\"b"')"));
  CHECK(
      True("'%s has %d GPUs at %.2f'.format([dyn('node'), dyn(3), dyn(1.5)]) == 'node has 3 GPUs "
           "at 1.50'"));
  CHECK(True("'%x'.format([255]) == 'ff' && '%%'.format([]) == '%'"));
  CHECK(True(R"(device.attributes["gpu.nvidia.com"].model.split("-")[0] == "A100")"));
  CHECK(True(R"(device.attributes["gpu.nvidia.com"].uuid.substring(0, 4) == "GPU-")"));
  // Errors: cel-go's texts.
  CHECK(RuntimeMessage("'hello'.charAt(6) == ''") == "CEL runtime error: index out of range: 6");
  CHECK(RuntimeMessage("'tacocat'.indexOf('a', 30) == 1") ==
        "CEL runtime error: index out of range: 30");
  CHECK(RuntimeMessage("'tacocat'.substring(4, 3) == ''") ==
        "CEL runtime error: invalid substring range. start: 4, end: 3");
  CHECK(RuntimeMessage("'tacocat'.substring(9, 8) == ''") ==
        "CEL runtime error: invalid substring range. start: 9, end: 8");
  CHECK(RuntimeMessage("'abc'.indexOf('c', 3) == 2") == "CEL runtime error: index out of range: 3");
  CHECK(True("'abc'.indexOf('', 7) == 7 && 'abc'.lastIndexOf('', 9) == 9"));
  CHECK(RuntimeMessage("'tacocat'.substring(-1) == ''") ==
        "CEL runtime error: index out of range: -1");
  CHECK(RuntimeMessage("'%d'.format(['x']) == ''")
            .find("decimal clause can only be used on integers") != std::string::npos);
  CHECK(CompileError("'a'.charAt('b') == 'a'").message().find("no matching overload") !=
        std::string::npos);
  CHECK(CompileError("[1, 2].join() == ''").message().find("no matching overload") !=
        std::string::npos);
}

// cel-go ext/lists.go (ext.Lists(ext.ListsVersion(3)), base.go from 1.34).
TEST_CASE("Cel: upstream ext.Lists version 3 functions", "[allocator][cel][cel-lib]") {
  CHECK(True("[1, 2, 3, 4].slice(1, 3) == [2, 3] && [1].slice(0, 0) == []"));
  CHECK(True("[[1], [2, 3]].flatten() == [1, 2, 3] && [[[1]], [[2]]].flatten() == [[1], [2]]"));
  CHECK(True("[[[1]], [[2]]].flatten(2) == [1, 2] && [[1]].flatten(0) == [[1]]"));
  CHECK(True("[1, 2, 1, 3].distinct() == [1, 2, 3] && [1, 2].reverse() == [2, 1]"));
  CHECK(True("[3, 1, 2].sort() == [1, 2, 3] && ['b', 'a'].sort() == ['a', 'b']"));
  CHECK(True("lists.range(3) == [0, 1, 2] && lists.range(0) == []"));
  CHECK(True("[{'n': 2}, {'n': 1}].sortBy(e, e.n) == [{'n': 1}, {'n': 2}]"));
  CHECK(True(R"(device.attributes["gpu.nvidia.com"].features.sort() == ["mps", "timeslicing"])"));
  CHECK(
      RuntimeMessage("[1, 2, 3, 4].slice(3, 1) == []") ==
      "CEL runtime error: cannot slice(3, 1), start index must be less than or equal to end index");
  CHECK(RuntimeMessage("[1, 2, 3, 4].slice(0, 5) == []") ==
        "CEL runtime error: cannot slice(0, 5), list is length 4");
  CHECK(RuntimeMessage("[1].slice(-1, 0) == []") ==
        "CEL runtime error: cannot slice(-1, 0), negative indexes not supported");
  CHECK(RuntimeMessage("[[1]].flatten(-1) == []") ==
        "CEL runtime error: level must be non-negative");
  CHECK(RuntimeMessage("[dyn(1), dyn('a')].sort() == []") ==
        "CEL runtime error: list elements must have the same type");
  CHECK(CompileError("[{'a': 1}].sort() == []").message().find("no matching overload") !=
        std::string::npos);
}

// apiserver pkg/cel/library/lists.go (library.Lists, every release).
TEST_CASE("Cel: upstream Kubernetes list library", "[allocator][cel][cel-lib]") {
  CHECK(True("[1, 2, 3].isSorted() && ![3, 1].isSorted() && [].isSorted()"));
  CHECK(True("[1, 2, 3].sum() == 6 && [1.5, 2.5].sum() == 4.0 && [].sum() == 0"));
  CHECK(True("[3, 1, 2].min() == 1 && [3, 1, 2].max() == 3 && ['b', 'a'].min() == 'a'"));
  CHECK(True("['a', 'b', 'a'].indexOf('a') == 0 && ['a', 'b', 'a'].lastIndexOf('a') == 2"));
  CHECK(True("[1, 2].indexOf(5) == -1"));
  CHECK(RuntimeMessage("[].min() == 1") ==
        "CEL runtime error: min(list) argument must not be empty");
  CHECK(RuntimeMessage("[].max() == 1") ==
        "CEL runtime error: max(list) argument must not be empty");
  CHECK(RuntimeMessage("[9223372036854775807, 1].sum() == 0") ==
        "CEL runtime error: integer overflow");
  CHECK(CompileError("['a'].sum() == 'a'").message().find("no matching overload") !=
        std::string::npos);
}

// cel-go ext/sets.go (ext.Sets(), base.go from 1.29).
TEST_CASE("Cel: upstream ext.Sets functions", "[allocator][cel][cel-lib]") {
  CHECK(True(
      "sets.contains([1, 2, 3], [2, 3]) && !sets.contains([1], [2]) && sets.contains([1], [])"));
  CHECK(True("sets.equivalent([1, 2], [2, 1, 1]) && !sets.equivalent([1], [1, 2])"));
  CHECK(True("sets.intersects([1, 2], [2, 5]) && !sets.intersects([1], [])"));
  CHECK(True("sets.contains([dyn(1.0), dyn(2u)], [1, 2])"));  // numeric equality across kinds
  CHECK(True(R"(sets.contains(device.attributes["gpu.nvidia.com"].features, ["mps"]))"));
  CHECK(CompileError("sets.contains([1], 1)").message().find("no matching overload") !=
        std::string::npos);
}

// apiserver pkg/cel/library/regex.go (library.Regex, every release).
TEST_CASE("Cel: upstream Kubernetes regex library find and findAll", "[allocator][cel][cel-lib]") {
  CHECK(True("'abc 123'.find('[0-9]+') == '123' && 'abc'.find('[0-9]+') == ''"));
  CHECK(True("'123 abc 456'.findAll('[0-9]+') == ['123', '456']"));
  CHECK(True("'123 abc 456'.findAll('[0-9]+', 1) == ['123'] && '1 2'.findAll('[0-9]', 0) == []"));
  CHECK(True(R"(device.attributes["gpu.nvidia.com"].model.find("[0-9]+GB") == "40GB")"));
  // A literal pattern is checked at compile time (cel.ValidateRegexLiterals).
  CHECK_FALSE(cel::Compile("'a'.find('(') == ''").ok());
  CHECK_FALSE(cel::Compile("'a'.findAll('(?=x)') == []").ok());
}

// apiserver pkg/cel/library/ip.go and cidr.go (base.go from 1.30).
TEST_CASE("Cel: upstream Kubernetes IP and CIDR libraries", "[allocator][cel][cel-lib]") {
  CHECK(True("ip('192.168.0.1').family() == 4 && ip('::1').family() == 6"));
  CHECK(True("isIP('1.2.3.4') && !isIP('1.2.3') && !isIP('01.2.3.4') && !isIP('::ffff:1.2.3.4')"));
  CHECK(True(
      "ip('::1').isLoopback() && ip('127.0.0.2').isLoopback() && !ip('10.0.0.1').isLoopback()"));
  CHECK(True("ip('0.0.0.0').isUnspecified() && ip('::').isUnspecified()"));
  CHECK(True("ip('fe80::1').isLinkLocalUnicast() && ip('169.254.1.1').isLinkLocalUnicast()"));
  CHECK(True("ip('ff02::1').isLinkLocalMulticast() && ip('224.0.0.1').isLinkLocalMulticast()"));
  CHECK(True("ip('10.0.0.1').isGlobalUnicast() && !ip('255.255.255.255').isGlobalUnicast()"));
  CHECK(True("ip.isCanonical('2001:db8::1') && !ip.isCanonical('2001:DB8::1')"));
  CHECK(True(
      "string(ip('2001:db8:0:0:0:0:0:1')) == '2001:db8::1' && ip('1.2.3.4') == ip('1.2.3.4')"));
  CHECK(True("string(ip('2001:db8:0:1:0:0:0:1')) == '2001:db8:0:1::1'"));
  CHECK(True("cidr('192.168.0.0/24').containsIP(ip('192.168.0.5'))"));
  CHECK(True(
      "!cidr('192.168.0.0/24').containsIP('192.168.1.1') && !cidr('::/0').containsIP('1.2.3.4')"));
  CHECK(True("cidr('192.168.0.0/24').containsCIDR('192.168.0.0/25')"));
  CHECK(True("!cidr('192.168.0.0/24').containsCIDR(cidr('192.168.0.0/23'))"));
  CHECK(True("cidr('192.168.0.5/24').masked() == cidr('192.168.0.0/24')"));
  CHECK(True(
      "cidr('192.168.0.5/24').prefixLength() == 24 && cidr('10.0.0.0/8').ip() == ip('10.0.0.0')"));
  CHECK(True("string(cidr('2001:db8::/32')) == '2001:db8::/32' && !isCIDR('10.0.0.0/33')"));
  CHECK(RuntimeMessage("ip('1.2.3').family() == 4")
            .find(R"(IP Address "1.2.3" parse error during conversion from string)") !=
        std::string::npos);
  CHECK(RuntimeMessage("ip('fe80::1%eth0').family() == 6") ==
        R"(CEL runtime error: IP address "fe80::1%eth0" with zone value is not allowed)");
  CHECK(RuntimeMessage("ip('::ffff:1.2.3.4').family() == 6") ==
        R"(CEL runtime error: IPv4-mapped IPv6 address "::ffff:1.2.3.4" is not allowed)");
  CHECK(RuntimeMessage("cidr('10.0.0.0').prefixLength() == 8")
            .find("network address parse error during conversion from string") !=
        std::string::npos);
  CHECK(CompileError("ip('1.2.3.4').prefixLength() == 1").message().find("no matching overload") !=
        std::string::npos);
}

// apiserver pkg/cel/library/urls.go (library.URLs, every release).
TEST_CASE("Cel: upstream Kubernetes URL library", "[allocator][cel][cel-lib]") {
  const std::string u = "url('https://example.com:8080/a%20b?x=1&x=2&y=z')";
  CHECK(True(u + ".getScheme() == 'https' && " + u + ".getHost() == 'example.com:8080'"));
  CHECK(True(u + ".getHostname() == 'example.com' && " + u + ".getPort() == '8080'"));
  CHECK(True(u + ".getEscapedPath() == '/a%20b'"));
  CHECK(True(u + ".getQuery() == {'x': ['1', '2'], 'y': ['z']}"));
  CHECK(
      True("url('https://[::1]:80/').getHostname() == '::1' && url('https://h/').getPort() == ''"));
  CHECK(True("isURL('/absolute/path') && !isURL('relative/path') && isURL('https://h')"));
  CHECK(
      RuntimeMessage("url('x').getScheme() == ''") ==
      R"(CEL runtime error: URL parse error during conversion from string: parse "x": invalid URI for request)");
}

// apiserver pkg/cel/library/format.go (library.Format, base.go from 1.31):
// format.named() and one function per named format; validate() is none for a
// valid string, else the apimachinery / strfmt messages.
TEST_CASE("Cel: upstream Kubernetes format library", "[allocator][cel][cel-lib]") {
  CHECK(True("format.named('dns1123Label').hasValue() && !format.named('nope').hasValue()"));
  CHECK(True("!format.dns1123Label().validate('my-name').hasValue()"));
  CHECK(True(
      "format.named('dns1123Label').value().validate('My_Name').value() == "
      "['a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
      "\\'-\\', and must start and end with an alphanumeric character (e.g. \\'my-name\\',  or "
      "\\'123-abc\\', regex used for validation is \\'[a-z0-9]([-a-z0-9]*[a-z0-9])?\\')']"));
  CHECK(True("format.dns1123Label().validate('" + std::string(64, 'a') +
             "').value() == ['must be no more than 63 characters']"));
  // The prefix forms allow one trailing '-' (a generateName).
  CHECK(
      True("!format.dns1123LabelPrefix().validate('my-prefix-').hasValue() && "
           "format.dns1123Label().validate('my-prefix-').hasValue()"));
  CHECK(True("!format.dns1123SubdomainPrefix().validate('a.b-').hasValue()"));
  CHECK(
      True("format.dns1035Label().validate('1abc').value()[0].startsWith("
           "'a DNS-1035 label must consist of lower case alphanumeric characters or \\'-\\', "
           "start with an alphabetic character')"));
  CHECK(
      True("!format.dns1035Label().validate('abc-1').hasValue() && "
           "!format.dns1035LabelPrefix().validate('abc-').hasValue()"));
  CHECK(
      True("!format.dns1123Subdomain().validate('apiextensions.k8s.io').hasValue() && "
           "format.dns1123Subdomain().validate('Upper.case').hasValue()"));
  CHECK(
      True("!format.qualifiedName().validate('example.com/MyName').hasValue() && "
           "format.qualifiedName().validate('/x').value() == ['prefix part must be non-empty']"));
  CHECK(
      True("!format.labelValue().validate('').hasValue() && "
           "format.labelValue().validate('-x').hasValue()"));
  CHECK(
      True("!format.uri().validate('http://example.com').hasValue() && "
           "format.uri().validate('x').value() == ['parse \"x\": invalid URI for request']"));
  CHECK(
      True("!format.uuid().validate('123e4567-e89b-12d3-a456-426614174000').hasValue() && "
           "!format.uuid().validate('123E4567E89B12D3A456426614174000').hasValue() && "
           "format.uuid().validate('123e4567').value() == ['does not match the UUID format']"));
  CHECK(
      True("!format.byte().validate('aGVsbG8=').hasValue() && "
           "!format.byte().validate('').hasValue() && "
           "format.byte().validate('aGVsbG8').value() == ['invalid base64'] && "
           "format.byte().validate('aG=sbG8=').hasValue()"));
  CHECK(
      True("!format.date().validate('2024-02-29').hasValue() && "
           "format.date().validate('2021-02-29').value() == ['invalid date'] && "
           "format.date().validate('2021-1-01').hasValue()"));
  CHECK(
      True("!format.datetime().validate('2021-01-01T00:00:00Z').hasValue() && "
           "!format.datetime().validate('2021-01-01t23:59:59.123+02:00').hasValue() && "
           "format.datetime().validate('2021-01-01').value() == ['invalid datetime'] && "
           "format.datetime().validate('2021-01-01T24:00:00Z').hasValue() && "
           "format.datetime().validate('2021-01-01T00:00:00').hasValue()"));
  // On device data, as a DeviceClass selector would use it.
  CHECK(True(
      R"(!format.dns1123Label().validate(device.attributes["gpu.nvidia.com"].model.lowerAscii()).hasValue())"));
  CHECK(True(
      R"(format.dns1123Label().validate(device.attributes["gpu.nvidia.com"].model).hasValue())"));
  CHECK(True("format.dns1123Label() == format.named('dns1123Label').value()"));
  CHECK(CompileError("format.dns1123Label().validate(1)").message().find("validate") !=
        std::string::npos);
  CHECK(CompileError("format.nope()").message().find("format.nope") != std::string::npos);
}

// cel-go ext/comprehensions.go (ext.TwoVarComprehensions(), base.go from 1.32).
TEST_CASE("Cel: upstream two-variable comprehensions", "[allocator][cel][cel-lib]") {
  CHECK(True("{'a': 1, 'b': 2}.all(k, v, v > 0) && !{'a': 1}.all(k, v, k == 'b')"));
  CHECK(True("[10, 20].exists(i, v, i == 1 && v == 20)"));
  CHECK(True("[1, 2, 1].existsOne(i, v, v == 2) && ![1, 1].existsOne(i, v, v == 1)"));
  CHECK(True("[1, 2, 3].transformList(i, v, v * i) == [0, 2, 6]"));
  CHECK(True("[1, 2, 3].transformList(i, v, i > 0, v) == [2, 3]"));
  CHECK(True("{'a': 1}.transformMap(k, v, v + 1) == {'a': 2}"));
  CHECK(True("{'a': 1, 'b': 2}.transformMap(k, v, v > 1, k) == {'b': 'b'}"));
  CHECK(True(R"(device.attributes["gpu.nvidia.com"].exists(k, v, k == "index" && v == 0))"));
  // transformMapEntry: the transform is a map whose entries are added; a key
  // that is already there is an error (cel.@mapInsert).
  CHECK(True("{'greeting': 'hello'}.transformMapEntry(k, v, {v: k}) == {'hello': 'greeting'}"));
  CHECK(True("[1, 2, 3].transformMapEntry(i, v, {v: i}) == {1: 0, 2: 1, 3: 2}"));
  CHECK(True("[1, 2, 3].transformMapEntry(i, v, v > 1, {v: i}) == {2: 1, 3: 2}"));
  CHECK(True("[1, 2].transformMapEntry(i, v, {}) == {}"));
  CHECK(True("{'a': 1}.transformMapEntry(k, v, {k: v, k + k: v * 2}) == {'a': 1, 'aa': 2}"));
  CHECK(RuntimeMessage("{'greeting': 'aloha', 'farewell': 'aloha'}"
                       ".transformMapEntry(k, v, {v: k}) == {}") ==
        "CEL runtime error: insert failed: key aloha already exists");
  CHECK(RuntimeMessage("[7, 7].transformMapEntry(i, v, {v: i}) == {}") ==
        "CEL runtime error: insert failed: key 7 already exists");
  CHECK(CompileError("[1].transformMapEntry(i, v, v) == {}")
            .message()
            .find("found no matching overload for 'cel.@mapInsert'") != std::string::npos);
  CHECK(CompileError("[1].transformMapEntry(i, v, {v: i}, true) == {}")
            .message()
            .find("must be bool") != std::string::npos);
  CHECK(CompileError("[1].all(i, i, true)").message().find("duplicate variable name") !=
        std::string::npos);
  CHECK(CompileError("[1].transformList(i, v, 'x', v) == []").message().find("must be bool") !=
        std::string::npos);
}

// base.go: ext.Lists(ext.ListsVersion(3)) is IntroducedVersion 1.34; new
// expressions compile against DefaultCompatibilityVersion() (one minor below
// the release), stored ones against everything (environment.go EnvSet).
TEST_CASE("Cel: upstream base environment per version gates ext.Lists",
          "[allocator][cel][cel-lib]") {
  for (const char* expr : {"[3, 1].sort() == [1, 3]", "lists.range(2) == [0, 1]",
                           "[[1]].flatten() == [1]", "[1].sortBy(x, x) == [1]"}) {
    INFO(expr);
    auto fresh = CompileIn(expr, cel::Environment::kNew, 34);
    REQUIRE_FALSE(fresh.ok());
    CHECK(fresh.status().message().find("undeclared reference to '") != std::string::npos);
    CHECK(fresh.status().message().find("(in container '')") != std::string::npos);
    CHECK(CompileIn(expr, cel::Environment::kStored, 34).ok());
    CHECK(CompileIn(expr, cel::Environment::kNew, 35).ok());
    CHECK(CompileIn(expr, cel::Environment::kNew, 36).ok());
  }
  // Libraries from before 1.33 are in every supported release's new-expression environment.
  for (const char* expr :
       {"sets.contains([1], [1])", "ip('1.2.3.4').family() == 4", "'a'.indexOf('a') == 0",
        "[1].all(i, v, v == 1)", "semver('1.0.0').major() == 1", "[1, 2].isSorted()"}) {
    INFO(expr);
    CHECK(CompileIn(expr, cel::Environment::kNew, 34).ok());
  }
}

// dynamic-resource-allocation/cel CompileCELExpression(): MaxCost from
// env.EstimateCost(); pkg/apis/resource/validation validateCELSelector()
// refuses MaxCost > CELSelectorExpressionMaxCost. The runtime limit is the
// same constant (cel.CostLimit()).
TEST_CASE("Cel: upstream static cost estimate and runtime cost limit",
          "[allocator][cel][cel-lib]") {
  auto cheap = cel::Compile(
      R"(device.driver == "gpu.nvidia.com" && device.attributes["gpu.nvidia.com"].model.matches("^A100") &&
         device.attributes["gpu.nvidia.com"].exists(k, k.startsWith("c")))");
  REQUIRE_OK(cheap);
  CHECK((*cheap)->max_cost() < 10'000);
  // Nested loops over literal ranges: too complex statically, and over the
  // limit at run time.
  auto heavy = cel::Compile("lists.range(2000).all(i, lists.range(2000).all(j, i + j >= 0))");
  REQUIRE_OK(heavy);
  CHECK((*heavy)->max_cost() > static_cast<uint64_t>(cel::kDefaultCostLimit));
  auto r = (*heavy)->Evaluate(GpuDevice());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kResourceExhausted);
  CHECK(r.status().message() ==
        "CEL runtime error: operation cancelled: actual cost limit exceeded");
  // A loop whose length is not known statically is unbounded.
  auto unbounded =
      cel::Compile(R"(lists.range(device.attributes["gpu.nvidia.com"].index).all(i, i >= 0))");
  REQUIRE_OK(unbounded);
  CHECK((*unbounded)->max_cost() > static_cast<uint64_t>(cel::kDefaultCostLimit));
  // Loops over device attributes are bounded by the per-device limits (32).
  auto nested = cel::Compile(
      R"(device.attributes["gpu.nvidia.com"].all(a, device.attributes["gpu.nvidia.com"].all(b, a != b || a == b)))");
  REQUIRE_OK(nested);
  CHECK((*nested)->max_cost() < static_cast<uint64_t>(cel::kDefaultCostLimit));
}

// dynamic-resource-allocation/cel CompileCELExpression(): "compilation
// failed: " + cel-go Issues.String(), or the output type message.
TEST_CASE("Cel: upstream validation detail for compile errors", "[allocator][cel][cel-lib]") {
  auto p = cel::Compile("device.driver == 'x' &&\n  devices.x");
  REQUIRE_FALSE(p.ok());
  CHECK(cel::ValidationDetail("device.driver == 'x' &&\n  devices.x", p.status()) ==
        "compilation failed: ERROR: <input>:2:3: undeclared reference to 'devices' (in container "
        "'')\n"
        " |   devices.x\n"
        " | ..^");
  auto t = cel::Compile("device.driver");
  REQUIRE_FALSE(t.ok());
  CHECK(cel::ValidationDetail("device.driver", t.status()) ==
        "must evaluate to bool or the unknown type, not string");
}

// cel-go common/types/timestamp.go and duration.go, the standard library's
// getters (checker/decls, interpreter functions); base.go sets
// cel.DefaultUTCTimeZone(true) and validates literals (1.29).
TEST_CASE("Cel: upstream timestamps and durations", "[allocator][cel][cel-lib]") {
  CHECK(True("timestamp('2024-01-01T00:00:00Z') > timestamp('2023-01-01T00:00:00Z')"));
  CHECK(True("timestamp('2024-03-01T10:00:00+02:00') == timestamp('2024-03-01T08:00:00Z')"));
  CHECK(True(
      "timestamp('2024-01-01T00:00:00Z') - timestamp('2023-12-31T23:00:00Z') == duration('1h')"));
  CHECK(True(
      "timestamp('2024-01-01T00:00:00Z') + duration('90m') == timestamp('2024-01-01T01:30:00Z')"));
  CHECK(
      True("duration('1h30m') + duration('30m') == duration('2h') && duration('-1.5s') < "
           "duration('0')"));
  CHECK(
      True("duration('1h30m').getMinutes() == 90 && duration('1500ms').getMilliseconds() == 1500"));
  CHECK(
      True("int(timestamp('1970-01-01T00:01:00Z')) == 60 && timestamp(60) == "
           "timestamp('1970-01-01T00:01:00Z')"));
  CHECK(True("string(timestamp('2024-02-29T12:30:45.5Z')) == '2024-02-29T12:30:45.5Z'"));
  CHECK(True("string(duration('1m30s')) == '90s' && string(duration('1.5s')) == '1.5s'"));
  const std::string t = "timestamp('2024-02-29T23:30:45.123Z')";
  CHECK(True(t + ".getFullYear() == 2024 && " + t + ".getMonth() == 1 && " + t +
             ".getDate() == 29 && " + t + ".getDayOfMonth() == 28"));
  CHECK(True(t + ".getDayOfYear() == 59 && " + t + ".getDayOfWeek() == 4 && " + t +
             ".getHours() == 23 && " + t + ".getMinutes() == 30"));
  CHECK(True(t + ".getSeconds() == 45 && " + t + ".getMilliseconds() == 123"));
  CHECK(True(t + ".getHours('+02:00') == 1 && " + t + ".getDate('+02:00') == 1 && " + t +
             ".getHours('UTC') == 23"));
  // Literals are validated at compile time; runtime strings at run time.
  CHECK(CompileError("timestamp('2024-13-01T00:00:00Z') > timestamp(0)")
            .message()
            .find("timestamp validation failed") != std::string::npos);
  CHECK(
      CompileError("duration('1x') > duration('0')").message().find("duration validation failed") !=
      std::string::npos);
  CHECK(RuntimeMessage("timestamp(device.driver) > timestamp(0)") ==
        "CEL runtime error: type conversion error from 'string' to 'google.protobuf.Timestamp'");
  CHECK(RuntimeMessage("timestamp('9999-12-31T23:59:59Z') + duration('1s') > timestamp(0)") ==
        "CEL runtime error: timestamp overflow");
  CHECK(RuntimeMessage(t + ".getHours('Mars/Olympus') == 1") ==
        "CEL runtime error: unknown time zone Mars/Olympus");
  CHECK(CompileError("timestamp(0) + timestamp(0) > timestamp(0)")
            .message()
            .find("no matching overload") != std::string::npos);
  CHECK(CompileError("duration('1s') < timestamp(0)").message().find("no matching overload") !=
        std::string::npos);
}

// cel-go charges string work by size (interpreter/runtimecost.go); a
// replace() that would build a huge string is stopped by the limit, not by
// memory.
TEST_CASE("Cel: upstream runtime cost limit covers library functions",
          "[allocator][cel][cel-lib]") {
  std::string big = "'" + std::string(5000, 'x') + "'";
  auto p = cel::Compile(big + ".replace('', " + big + ").size() > 0");
  REQUIRE_OK(p);
  auto r = (*p)->Evaluate(GpuDevice());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kResourceExhausted);
  auto range = cel::Compile("lists.range(2000000).size() > 0");
  REQUIRE_OK(range);
  CHECK((*range)->Evaluate(GpuDevice()).status().code() == Code::kResourceExhausted);
}

// Functions reached through dyn() with a receiver or argument of another kind
// give cel-go's "no such overload" (or the function's own error) at run
// time, never undefined behaviour.
TEST_CASE("Cel: upstream dynamic dispatch of library functions on wrong kinds",
          "[allocator][cel][cel-lib]") {
  const std::vector<std::string> receivers = {"dyn('abc')",        "dyn(1)",   "dyn([1, 2])",
                                              "dyn({'a': 1})",     "dyn(1.5)", "dyn(ip('1.2.3.4'))",
                                              "dyn(timestamp(0))", "dyn(null)"};
  const std::vector<std::string> calls = {"charAt(0)",
                                          "indexOf('a')",
                                          "indexOf('a', 0)",
                                          "lastIndexOf('a')",
                                          "replace('a', 'b')",
                                          "split(',')",
                                          "substring(0)",
                                          "join()",
                                          "format([])",
                                          "slice(0, 1)",
                                          "flatten()",
                                          "distinct()",
                                          "reverse()",
                                          "sort()",
                                          "isSorted()",
                                          "sum()",
                                          "min()",
                                          "max()",
                                          "find('a')",
                                          "findAll('a')",
                                          "family()",
                                          "isLoopback()",
                                          "containsIP('1.2.3.4')",
                                          "prefixLength()",
                                          "masked()",
                                          "ip()",
                                          "getScheme()",
                                          "getQuery()",
                                          "getHours()",
                                          "getFullYear('UTC')",
                                          "sortBy(x, x)",
                                          "all(i, v, true)",
                                          "transformList(i, v, v)",
                                          "transformMap(k, v, v)",
                                          "transformMapEntry(k, v, {k: v})"};
  for (const auto& r : receivers) {
    for (const auto& c : calls) {
      std::string expr = r + "." + c + " == " + r;
      INFO(expr);
      auto p = cel::Compile(expr);
      if (!p.ok()) continue;
      auto v = (*p)->Evaluate(GpuDevice());
      if (!v.ok()) CHECK(v.status().code() == Code::kInvalidArgument);
    }
  }
  CHECK(RuntimeMessage("dyn('abc').sort() == []").find("no such overload") != std::string::npos);
  CHECK(RuntimeMessage("dyn({'a': 1}).sortBy(x, x) == []").find("no such overload") !=
        std::string::npos);
}
