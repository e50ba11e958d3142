#include "drahil/cdi/registry.hpp"

#include <sys/stat.h>

#include <set>

#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/testing/testing.hpp"

namespace drahil::cdi {
namespace {

std::string SpecText(const std::string& kind, const std::string& device, const std::string& env,
                     const std::string& spec_env = "") {
  std::string s = "cdiVersion: 0.5.0\nkind: " + kind + "\n";
  if (!spec_env.empty()) s += "containerEdits:\n  env: [" + spec_env + "]\n";
  s += "devices:\n  - name: " + device + "\n    containerEdits:\n      env: [" + env + "]\n";
  return s;
}

struct Dirs {
  TempDir root = std::move(TempDir::Create("cdi-reg-")).value();
  std::string etc = root.Join("etc-cdi");
  std::string run = root.Join("run-cdi");
  Dirs() {
    (void)MakeDirs(etc);
    (void)MakeDirs(run);
  }
  void Write(const std::string& dir, const std::string& name, const std::string& text) {
    REQUIRE_OK(AtomicWriteFile(dir + "/" + name, text));
  }
};

TEST_CASE("CdiRegistry: later dir wins, resolve merges in runtime order", "[cdi]") {
  Dirs d;
  d.Write(d.etc, "a.yaml", SpecText("v.com/gpu", "g0", "WHO=etc", "SPEC=etc"));
  d.Write(d.run, "a.yaml", SpecText("v.com/gpu", "g0", "WHO=run", "SPEC=run"));
  d.Write(d.run, "b.json",
          R"({"cdiVersion":"0.5.0","kind":"v.com/gpu","containerEdits":{"env":["SPEC_B=1"]},)"
          R"("devices":[{"name":"g1","containerEdits":{"env":["WHO=b1"]}},)"
          R"({"name":"g2","containerEdits":{"env":["WHO=b2"]}}]})");
  d.Write(d.run, "ignored.txt", "not a spec");
  auto reg = Registry::Load({d.etc, d.run, d.root.Join("missing")});
  REQUIRE_OK(reg);
  CHECK(reg->errors().empty());
  CHECK(reg->DeviceIds() ==
        std::vector<std::string>{"v.com/gpu=g0", "v.com/gpu=g1", "v.com/gpu=g2"});

  auto g0 = reg->Find("v.com/gpu=g0");
  REQUIRE_OK(g0);
  CHECK(g0->spec->path == d.run + "/a.yaml");

  auto res = reg->Resolve({"v.com/gpu=g1", "v.com/gpu=g0", "v.com/gpu=g2", "v.com/gpu=g1"});
  REQUIRE_OK(res);
  CHECK(res->edits.env ==
        std::vector<std::string>{"SPEC_B=1", "WHO=b1", "SPEC=run", "WHO=run", "WHO=b2"});
  REQUIRE(res->devices.size() == 3);
  CHECK(res->devices[2].device->name == "g2");
}

TEST_CASE("CdiRegistry: same-priority duplicates are a conflict", "[cdi]") {
  Dirs d;
  d.Write(d.etc, "a.yaml", SpecText("v.com/gpu", "g0", "A=1"));
  d.Write(d.etc, "b.yaml", SpecText("v.com/gpu", "g0", "A=2"));
  d.Write(d.etc, "c.yaml", SpecText("v.com/gpu", "g9", "A=3"));
  auto reg = Registry::Load({d.etc, d.run});
  REQUIRE_OK(reg);
  auto g0 = reg->Find("v.com/gpu=g0");
  CHECK(g0.status().code() == Code::kFailedPrecondition);
  CHECK(g0.status().message().find("a.yaml") != std::string::npos);
  CHECK(g0.status().message().find("b.yaml") != std::string::npos);
  REQUIRE(reg->errors().size() == 1);
  CHECK_OK(reg->Find("v.com/gpu=g9"));
  // As in the Go cache, a higher-priority definition does not revive it.
  d.Write(d.run, "z.yaml", SpecText("v.com/gpu", "g0", "A=9"));
  auto reg2 = Registry::Load({d.etc, d.run});
  REQUIRE_OK(reg2);
  CHECK(reg2->Find("v.com/gpu=g0").status().code() == Code::kFailedPrecondition);
}

TEST_CASE("CdiRegistry: broken files are reported and skipped", "[cdi]") {
  Dirs d;
  d.Write(d.etc, "bad.yaml", "cdiVersion: 0.5.0\nkind: v.com/gpu\ndevices: []\n");
  d.Write(d.etc, "good.yaml", SpecText("v.com/gpu", "g0", "A=1"));
  auto reg = Registry::Load({d.etc});
  REQUIRE_OK(reg);
  REQUIRE(reg->errors().size() == 1);
  CHECK(reg->errors()[0].path == d.etc + "/bad.yaml");
  CHECK(reg->errors()[0].status.message().find("[no-devices]") != std::string::npos);
  CHECK_OK(reg->Find("v.com/gpu=g0"));
}

TEST_CASE("CdiRegistry: unresolvable and malformed IDs", "[cdi]") {
  Dirs d;
  d.Write(d.etc, "good.yaml", SpecText("v.com/gpu", "g0", "A=1"));
  auto reg = Registry::Load({d.etc});
  REQUIRE_OK(reg);
  CHECK(reg->Find("v.com/gpu=nope").status().code() == Code::kNotFound);
  CHECK(reg->Find("gpu0").status().code() == Code::kInvalidArgument);
  auto res = reg->Resolve({"v.com/gpu=g0", "v.com/gpu=x", "bad"});
  REQUIRE_FALSE(res.ok());
  CHECK(res.status().message().find("v.com/gpu=x") != std::string::npos);
  CHECK(res.status().message().find("\"bad\"") != std::string::npos);
}

TEST_CASE("CdiRegistry: a FIFO or directory named *.json is an error, never opened", "[cdi]") {
  Dirs d;
  d.Write(d.run, "good.yaml", SpecText("v.com/gpu", "g0", "A=1"));
  std::string fifo = d.run + "/fifo.json";
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);  // opening it for reading would block
  REQUIRE_OK(MakeDirs(d.run + "/dir.yaml"));
  auto reg = Registry::Load({d.etc, d.run});
  REQUIRE_OK(reg);
  CHECK_OK(reg->Find("v.com/gpu=g0"));
  auto special = reg->SpecialFiles();
  REQUIRE(special.size() == 2);
  std::set<std::string> messages;
  for (const auto& e : special) messages.insert(e.status.message());
  CHECK(messages.count(d.run +
                       "/dir.yaml: [file-type] a directory, not a regular file; not read (a "
                       "container runtime reading the CDI dir would block or fail on it)") == 1);
  CHECK(messages.count(fifo +
                       ": [file-type] a FIFO, not a regular file; not read (a container runtime "
                       "reading the CDI dir would block or fail on it)") == 1);
  // LoadSpecFile() checks the opened file itself, too.
  auto one = LoadSpecFile(fifo);
  CHECK(one.status().code() == Code::kInvalidArgument);
  CHECK(one.status().message().find(fifo + ": [file-type] a FIFO, not a regular file") == 0);
}

TEST_CASE("CdiRegistry: default dirs are the runtime's", "[cdi]") {
  CHECK(DefaultSpecDirs() == std::vector<std::string>{"/etc/cdi", "/var/run/cdi"});
}

}  // namespace
}  // namespace drahil::cdi
