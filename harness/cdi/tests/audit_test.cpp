#include "drahil/cdi/audit.hpp"

#include <unistd.h>

#include <set>

#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/testing/testing.hpp"
#include "fixtures.hpp"

namespace drahil::cdi {
namespace {

std::set<std::string> Rules(const std::vector<Finding>& fs) {
  std::set<std::string> r;
  for (const auto& f : fs) r.insert(f.rule);
  return r;
}

TEST_CASE("CdiAudit: every hostile fixture is flagged with what and why", "[cdi]") {
  auto files = testdata::Files("hostile");
  REQUIRE(files.size() >= 20);
  for (const auto& f : files) {
    INFO(f);
    auto spec = LoadSpecFile(f);
    REQUIRE_OK(spec);
    auto findings = AuditSpec(*spec, AuditOptions{});
    auto rules = Rules(findings);
    for (const auto& want : testdata::ExpectWords(f, "expect-audit")) {
      INFO(want);
      CHECK(rules.count(want) == 1);
    }
    REQUIRE(MaxSeverity(findings).has_value());
    CHECK(*MaxSeverity(findings) >= Severity::kWarning);
    for (const auto& finding : findings) {
      CHECK_FALSE(finding.what.empty());
      CHECK_FALSE(finding.why.empty());
      CHECK(finding.file == f);
      CHECK(finding.json_path.rfind("$.", 0) == 0);
      CHECK(finding.device.rfind("evil.com/gpu", 0) == 0);
    }
  }
}

TEST_CASE("CdiAudit: a clean driver spec on an emulated node has no warnings", "[cdi]") {
  auto spec = LoadSpecFile(testdata::Dir("valid/example-driver-050.yaml"));
  REQUIRE_OK(spec);
  AuditOptions opts;
  opts.device_roots = {"/var/lib/fake/dev"};
  auto findings = AuditSpec(*spec, opts);
  for (const auto& f : findings) INFO(f.ToString());
  CHECK(findings.empty());
  // Without the device root the emulated node's host path is suspicious.
  auto rules = Rules(AuditSpec(*spec, AuditOptions{}));
  CHECK(rules.count("node-host-path") == 1);
}

Spec ClaimSpec() {
  Spec s;
  s.kind = "k8s.gpu.example.com/gpu";
  s.path = "claim.json";
  for (int i = 0; i < 3; ++i) {
    Device d;
    d.name = "claim-gpu-" + std::to_string(i);
    DeviceNode n;
    n.path = "/dev/nvidia" + std::to_string(i);
    n.host_path = "/fake/dev/nvidia" + std::to_string(i);
    n.permissions = "rw";
    d.edits.device_nodes.push_back(n);
    DeviceNode ctl;
    ctl.path = "/dev/nvidiactl";
    ctl.host_path = "/fake/dev/nvidiactl";
    ctl.permissions = "rw";
    d.edits.device_nodes.push_back(ctl);
    s.devices.push_back(d);
  }
  Device common;
  common.name = "common";
  common.edits.env = {"DRA_RESOURCE_DRIVER_NAME=gpu.example.com"};
  s.devices.push_back(common);
  return s;
}

TEST_CASE("CdiAudit: more devices granted than allocated", "[cdi]") {
  Registry reg = Registry::FromSpecs({ClaimSpec()});
  auto res = reg.Resolve({"k8s.gpu.example.com/gpu=common", "k8s.gpu.example.com/gpu=claim-gpu-0",
                          "k8s.gpu.example.com/gpu=claim-gpu-1"});
  REQUIRE_OK(res);
  AuditOptions opts;
  opts.device_roots = {"/fake/dev"};
  opts.stat_host = false;
  opts.allocated_count = 2;
  auto ok_findings = AuditResolution(*res, opts);
  CHECK(Rules(ok_findings).count("too-many-devices") == 0);
  CHECK(Rules(ok_findings).count("duplicate-node") == 1);  // nvidiactl twice

  opts.allocated_count = 1;
  auto findings = AuditResolution(*res, opts);
  REQUIRE(Rules(findings).count("too-many-devices") == 1);
  for (const auto& f : findings) {
    if (f.rule == "too-many-devices") {
      CHECK(f.severity == Severity::kCritical);
      CHECK(f.what.find("allocated 1") != std::string::npos);
    }
  }

  opts.allocated_count.reset();
  opts.allocated_host_paths = {"/fake/dev/nvidia0"};
  auto na = AuditResolution(*res, opts);
  int not_allocated = 0;
  for (const auto& f : na) {
    if (f.rule == "not-allocated") {
      ++not_allocated;
      CHECK(f.device == "k8s.gpu.example.com/gpu=claim-gpu-1");
      CHECK(f.json_path == "$.devices[1].containerEdits.deviceNodes[0]");
    }
  }
  CHECK(not_allocated == 1);
}

TEST_CASE("CdiAudit: device roots accept emulated nodes, a mount of the root is critical",
          "[cdi]") {
  Spec s;
  s.kind = "v.com/gpu";
  Device d;
  d.name = "g0";
  d.edits.mounts.push_back({"/tmp/node-root/dev", "/dev/all", {"rbind"}, ""});
  s.devices.push_back(d);
  AuditOptions opts;
  opts.device_roots = {"/tmp/node-root/dev"};
  auto findings = AuditSpec(s, opts);
  REQUIRE(Rules(findings).count("device-dir-mount") == 1);
  CHECK(*MaxSeverity(findings) == Severity::kCritical);
  CHECK(findings[0].ToString().find("critical [device-dir-mount] v.com/gpu=g0") == 0);
}

TEST_CASE("CdiAudit: a spec file behind a symlink out of its dir and '..' paths are critical",
          "[cdi]") {
  auto dir = TempDir::Create("cdi-audit-");
  REQUIRE_OK(dir);
  REQUIRE_OK(MakeDirs(dir->Join("cdi")));
  REQUIRE_OK(MakeDirs(dir->Join("outside")));
  const std::string text =
      R"({"cdiVersion":"0.5.0","kind":"x.com/d","devices":[{"name":"a","containerEdits":)"
      R"({"deviceNodes":[{"path":"/dev/../run/x","hostPath":"/dev/null"}]}}]})";
  REQUIRE_OK(AtomicWriteFile(dir->Join("outside/real.json"), text));
  REQUIRE(::symlink(dir->Join("outside/real.json").c_str(), dir->Join("cdi/x.json").c_str()) == 0);
  REQUIRE_OK(AtomicWriteFile(dir->Join("cdi/inside-target.json.txt"), text));
  REQUIRE(::symlink("inside-target.json.txt", dir->Join("cdi/y.json").c_str()) == 0);
  auto out = LoadSpecFile(dir->Join("cdi/x.json"));
  REQUIRE_OK(out);
  auto findings = AuditSpec(*out, AuditOptions{});
  bool link = false, traversal = false;
  for (const auto& f : findings) {
    INFO(f.ToString());
    if (f.rule == "spec-symlink") {
      link = true;
      CHECK(f.severity == Severity::kCritical);
      CHECK(f.what.find("outside/real.json") != std::string::npos);
    }
    if (f.rule == "path-traversal") {
      traversal = true;
      CHECK(f.severity == Severity::kCritical);
    }
  }
  CHECK(link);
  CHECK(traversal);
  // A link that stays inside the dir is fine.
  auto in = LoadSpecFile(dir->Join("cdi/y.json"));
  REQUIRE_OK(in);
  CHECK(Rules(AuditSpec(*in, AuditOptions{})).count("spec-symlink") == 0);
}

}  // namespace
}  // namespace drahil::cdi
