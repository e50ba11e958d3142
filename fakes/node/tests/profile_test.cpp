#include <algorithm>
#include <set>
#include <string>

#include "drahil/core/file_util.hpp"
#include "drahil/fakenode/fakenode.hpp"
#include "drahil/testing/testing.hpp"

using namespace drahil;
using namespace drahil::fakenode;

namespace {
std::string ProfilePath(const std::string& name) {
  return testing::SourceDir() + "/fakes/profiles/" + name + ".yaml";
}

const char* kMinimal = R"(schema: drahil.fakenode/v1
name: t
gpuModels:
  m:
    name: Test GPU
    deviceId: 0x2330
    memory: 8Gi
    sms: 10
    architecture: hopper
    computeCapability: "9.0"
    mig:
      memorySlices: 8
      maxDevices: 7
      profiles:
        - {name: 1g.1gb, memory: 1Gi, sms: 1, placementSize: 1, placements: [0, 1, 2]}
        - {name: 2g.2gb, memory: 2Gi, sms: 2, placementSize: 2, placements: [0, 2]}
gpus:
  - model: m
    bdf: "0000:01:00.0"
)";
}  // namespace

TEST_CASE("Profile: every shipped profile loads and matches its description", "[fakenode]") {
  auto server = LoadProfile(ProfilePath("gpu-8x-mig-server"));
  REQUIRE_OK(server);
  CHECK(server->gpus.size() == 8);
  const GpuModel& h100 = server->gpu_models.at("h100-sxm5-80gb");
  CHECK(h100.memory_bytes == 80ull << 30);
  std::vector<std::string> names;
  for (const auto& p : h100.mig_profiles) names.push_back(p.name);
  CHECK(names == std::vector<std::string>{"1g.10gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"});
  CHECK(server->gpus[0].nvlink_peers.size() == 7);

  auto laptop = LoadProfile(ProfilePath("laptop-1gpu"));
  REQUIRE_OK(laptop);
  CHECK(laptop->gpus.size() == 1);
  CHECK(laptop->fpgas.empty());

  auto fpga = LoadProfile(ProfilePath("fpga-2card-vfs"));
  REQUIRE_OK(fpga);
  REQUIRE(fpga->fpgas.size() == 2);
  CHECK(fpga->fpgas[0].vendor == "xilinx");
  CHECK(fpga->fpgas[1].vendor == "intel");
  CHECK(fpga->fpgas[1].num_vfs == 3);

  auto mixed = LoadProfile(ProfilePath("mixed"));
  REQUIRE_OK(mixed);
  CHECK(mixed->gpus.size() == 2);
  CHECK(mixed->fpgas.size() == 1);
}

TEST_CASE("Profile: unknown keys are rejected with file:line:col", "[fakenode]") {
  std::string text = kMinimal;
  text += "    numaNod: 1\n";  // typo, line 20
  auto p = ParseProfile(text, "typo.yaml");
  REQUIRE_FALSE(p.ok());
  CHECK(p.status().code() == Code::kInvalidArgument);
  INFO(p.status().message());
  CHECK(p.status().message().find("typo.yaml:20:5: unknown key \"numaNod\" in gpus[0]") !=
        std::string::npos);
}

TEST_CASE("Profile: impossible hardware is rejected", "[fakenode]") {
  REQUIRE_OK(ParseProfile(kMinimal, "ok.yaml"));
  struct Case {
    std::string extra;
    std::string want;
  };
  std::vector<Case> cases = {
      {"    mig: {enabled: true, devices: [{profile: 2g.2gb, placement: 0}, {profile: 1g.1gb, "
       "placement: 1}]}\n",
       "overlaps another MIG device"},
      {"    mig: {enabled: true, devices: [{profile: 2g.2gb, placement: 1}]}\n",
       "is not a valid placement of 2g.2gb"},
      {"    mig: {enabled: true, devices: [{profile: 9g.9gb, placement: 0}]}\n",
       "has no MIG profile \"9g.9gb\""},
      {"    nvlinkPeers: [0]\n", "is not another GPU's index"},
      {"  - model: m\n    bdf: \"0000:01:00.0\"\n", "is used twice"},
      {"  - model: nope\n    bdf: \"0000:02:00.0\"\n", "no gpuModels entry \"nope\""},
      {"  - model: m\n    bdf: \"zz:01\"\n", "is not a PCI address"},
      {"    numaNode: many\n", "is not a non-negative integer"},
  };
  for (const auto& c : cases) {
    auto p = ParseProfile(std::string(kMinimal) + c.extra, "bad.yaml");
    INFO(c.extra);
    REQUIRE_FALSE(p.ok());
    INFO(p.status().message());
    CHECK(p.status().message().find(c.want) != std::string::npos);
    CHECK(p.status().message().rfind("bad.yaml:", 0) == 0);
  }
  auto syntax = ParseProfile("schema: [unclosed\n", "syntax.yaml");
  REQUIRE_FALSE(syntax.ok());
  CHECK(syntax.status().message().rfind("syntax.yaml:", 0) == 0);
  auto schema = ParseProfile("schema: other/v9\nname: x\n", "s.yaml");
  REQUIRE_FALSE(schema.ok());
  CHECK(schema.status().message().find("want \"drahil.fakenode/v1\"") != std::string::npos);
  auto missing = LoadProfile("/nonexistent/profile.yaml");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Code::kNotFound);
}

namespace {
// Inconsistency(): the first rule of "impossible hardware" an accepted profile
// breaks, or "" when it keeps them all (what the loader promises callers).
std::string Inconsistency(const Profile& p) {
  std::set<std::string> bdfs;
  for (size_t i = 0; i < p.gpus.size(); ++i) {
    const GpuSpec& g = p.gpus[i];
    std::string at = "gpus[" + std::to_string(i) + "]";
    auto model = p.gpu_models.find(g.model);
    if (model == p.gpu_models.end()) return at + ": no gpuModels entry " + g.model;
    if (!bdfs.insert(g.bdf).second) return at + ": bdf " + g.bdf + " used twice";
    for (uint32_t peer : g.nvlink_peers) {
      if (peer >= p.gpus.size() || peer == i) return at + ": nvlink peer " + std::to_string(peer);
    }
    for (const auto& d : g.mig_devices) {
      const auto& profiles = model->second.mig_profiles;
      if (std::none_of(profiles.begin(), profiles.end(),
                       [&](const MigProfile& m) { return m.name == d.profile; })) {
        return at + ": no MIG profile " + d.profile;
      }
    }
  }
  return "";
}
}  // namespace

TEST_CASE("Profile: truncated and mutated profiles fail cleanly, never crash",
          "[fakenode][robust]") {
  auto text = ReadFile(ProfilePath("gpu-8x-mig-server"));
  REQUIRE_OK(text);
  REQUIRE_OK(ParseProfile(*text, "m.yaml"));
  size_t ok = 0, errors = 0;
  auto check = [&](const std::string& t) {
    auto p = ParseProfile(t, "m.yaml");
    if (p.ok()) {
      ++ok;
      // Whatever is accepted still describes possible hardware.
      INFO(t);
      CHECK(Inconsistency(*p) == "");
      return;
    }
    ++errors;
    CHECK(p.status().code() == Code::kInvalidArgument);
    CHECK(p.status().message().rfind("m.yaml", 0) == 0);
  };
  for (size_t n = 0; n < text->size(); n += 37) check(text->substr(0, n));
  uint64_t seed = 42;
  const std::string alphabet = "{}[]:,-#&*!|>'\"\n 0x9Gi";
  for (int i = 0; i < 400; ++i) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    std::string t = *text;
    size_t pos = (seed >> 33) % t.size();
    t[pos] = alphabet[(seed >> 20) % alphabet.size()];
    check(t);
  }
  // Both outcomes occur: the empty prefix and most cuts are refused, while
  // some mutations (inside comments, descriptions, ids) leave a valid profile.
  CHECK_FALSE(ParseProfile("", "m.yaml").ok());
  CHECK(errors > 0);
  CHECK(ok > 0);
}
