// Runs the built `drahil cdi ...` commands over the fixtures.
#include <sys/stat.h>

#include <set>

#include "drahil/core/child_process.hpp"
#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/testing/testing.hpp"
#include "fixtures.hpp"

namespace drahil::cdi {
namespace {

using namespace std::chrono_literals;

// DrahilBin(): the built `drahil`; cdi_tests depends on the target, so a
// missing binary is a broken build and fails the test.
std::string DrahilBin() {
  const std::string drahil = drahil::testing::Bin("drahil");
  INFO("drahil CLI not built at " << drahil);
  REQUIRE(PathExists(drahil));
  return drahil;
}

TEST_CASE("drahil cdi audit: flags every hostile fixture with what and why", "[cdi][cli]") {
  const std::string drahil = DrahilBin();
  auto r = RunCommand(
      {drahil, "cdi", "audit", "--min-severity", "warning", testdata::Dir("hostile")}, 30s);
  REQUIRE_OK(r);
  INFO(r->output);
  CHECK(r->exit.exit_code == 1);  // findings at warning or above
  for (const auto& f : testdata::Files("hostile")) {
    INFO(f);
    auto head = r->output.find(f + ": ");
    REQUIRE(head != std::string::npos);
    CHECK(r->output.compare(head + f.size() + 2, 2, "0 ") != 0);  // at least one finding
    for (const auto& rule : testdata::ExpectWords(f, "expect-audit")) {
      INFO(rule);
      CHECK(r->output.find("[" + rule + "]", head) != std::string::npos);
    }
  }
  CHECK(r->output.find("    what: ") != std::string::npos);
  CHECK(r->output.find("    why:  ") != std::string::npos);
}

TEST_CASE("drahil cdi validate/audit: a FIFO named *.json is reported, never read", "[cdi][cli]") {
  const std::string drahil = DrahilBin();
  auto dir = TempDir::Create("drahil-cdi-fifo-");
  REQUIRE_OK(dir);
  std::string fifo = dir->Join("vendor.json");
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  REQUIRE_OK(AtomicWriteFile(dir->Join("ok.yaml"),
                             "cdiVersion: 0.3.0\nkind: v.com/gpu\ndevices:\n"
                             "  - name: g0\n    containerEdits: {env: [A=1]}\n"));
  for (const std::string& target : {dir->path(), fifo}) {
    auto v = RunCommand({drahil, "cdi", "validate", target}, 20s);
    REQUIRE_OK(v);
    INFO(v->output);
    CHECK(v->exit.exit_code == 1);
    CHECK(v->output.find("FAIL " + fifo + ": [file-type]") != std::string::npos);
    CHECK(v->output.find("FIFO, not a regular file") != std::string::npos);
  }
  auto a = RunCommand({drahil, "cdi", "audit", dir->path()}, 20s);
  REQUIRE_OK(a);
  INFO(a->output);
  CHECK(a->output.find("INVALID " + fifo + ": [file-type]") != std::string::npos);
  CHECK(a->output.find(dir->Join("ok.yaml") + ": ") != std::string::npos);
  auto dev = RunCommand({drahil, "cdi", "audit", dir->path(), "--device", "v.com/gpu=g0"}, 20s);
  REQUIRE_OK(dev);
  INFO(dev->output);
  CHECK(dev->exit.exit_code == 1);
  CHECK(dev->output.find("INVALID " + fifo + ": [file-type]") != std::string::npos);
  CHECK(dev->output.find("v.com/gpu=g0: ") != std::string::npos);
}

TEST_CASE("drahil cdi validate: valid fixtures pass, invalid ones fail with the rule",
          "[cdi][cli]") {
  const std::string drahil = DrahilBin();
  auto ok = RunCommand({drahil, "cdi", "validate", testdata::Dir("valid")}, 30s);
  REQUIRE_OK(ok);
  INFO(ok->output);
  CHECK(ok->exit.exit_code == 0);
  CHECK(ok->output.find("0 problem(s)") != std::string::npos);
  auto bad =
      RunCommand({drahil, "cdi", "validate", testdata::Dir("invalid/node-bad-perms.yaml")}, 30s);
  REQUIRE_OK(bad);
  CHECK(bad->exit.exit_code == 1);
  CHECK(bad->output.find("[node-permissions]") != std::string::npos);
}

TEST_CASE(
    "drahil sandbox: injects CDI devices, masks the node dev dir, passes the exit code through",
    "[cdi][cli][sandbox]") {
  const std::string drahil = DrahilBin();
  auto dir = TempDir::Create("cdi-cli-");
  REQUIRE_OK(dir);
  const std::string root = dir->Join("node");
  const std::string cdi_dir = dir->Join("cdi");
  REQUIRE_OK(MakeDirs(root + "/dev"));
  REQUIRE_OK(MakeDirs(cdi_dir));
  REQUIRE_OK(AtomicWriteFile(root + "/dev/gpu0", "gpu0\n"));
  REQUIRE_OK(AtomicWriteFile(root + "/dev/gpu1", "gpu1\n"));
  REQUIRE_OK(AtomicWriteFile(
      cdi_dir + "/claim.yaml",
      "cdiVersion: 0.5.0\nkind: example.com/gpu\ndevices:\n  - name: 0claim-gpu0\n"
      "    containerEdits:\n      env: [GPU=gpu0]\n      deviceNodes: [{path: /dev/gpu0, "
      "hostPath: " +
          root + "/dev/gpu0, permissions: rw}]\n"));
  auto r = RunCommand(
      {drahil, "sandbox", "--cdi-dir", cdi_dir, "--device", "example.com/gpu=0claim-gpu0",
       "--fake-root", root, "--timeout", "20", "--", "/bin/sh", "-c",
       "ls /dev | grep gpu; echo GPU=$GPU; cat " + root + "/dev/gpu1 2>/dev/null; exit 5"},
      60s);
  REQUIRE_OK(r);
  INFO(r->output);
  if (r->output.find("sandbox unavailable") != std::string::npos) DRAHIL_SKIP(r->output);
  CHECK(r->exit.exit_code == 5);
  CHECK(r->output.find("gpu0\nGPU=gpu0\n") != std::string::npos);
  CHECK(r->output.find("gpu1") == std::string::npos);

  auto t = RunCommand({drahil, "sandbox", "--timeout", "0.5", "--", "sleep", "100"}, 60s);
  REQUIRE_OK(t);
  INFO(t->output);
  CHECK(t->exit.exit_code == 124);
  CHECK(t->output.find("timed out") != std::string::npos);

  auto bad = RunCommand(
      {drahil, "sandbox", "--cdi-dir", cdi_dir, "--device", "example.com/gpu=nope", "--", "true"},
      60s);
  REQUIRE_OK(bad);
  CHECK(bad->exit.exit_code == 1);
  CHECK(bad->output.find("example.com/gpu=nope") != std::string::npos);
}

}  // namespace
}  // namespace drahil::cdi
