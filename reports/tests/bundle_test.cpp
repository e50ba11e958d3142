#include "drahil/reports/bundle.hpp"

#include <catch2/catch.hpp>

#include "drahil/core/file_util.hpp"
#include "drahil/core/temp_dir.hpp"
#include "drahil/reports/tar.hpp"
#include "drahil/testing/testing.hpp"
#include "sample_report.hpp"

using namespace drahil::reports;

namespace {

struct Fixture {
  drahil::TempDir dir = std::move(drahil::TempDir::Create("drahil-bundle-").value());
  BundleInputs in;
  Fixture() {
    in.report = testing::SampleReport();
    in.profile_path = dir.Join("gpu.yaml");
    REQUIRE_OK(drahil::AtomicWriteFile(in.profile_path, "spec: drahil.driver/v1\nname: gpu\n"));
    REQUIRE_OK(drahil::AtomicWriteFile(dir.Join("driver.log"), "driver started\n"));
    in.files = {{"logs/prepare-basics/prepare-single-gpu/driver.log", dir.Join("driver.log")},
                {"logs/prepare-basics/gone/driver.log", dir.Join("missing.log")}};
    in.versions = {{"drahil", "0.1.0"}, {"drahil_commit", "abc123"}};
    in.inventory_json = "{\"discovered\": false}\n";
  }
};

std::vector<TarMember> Unpack(const std::string& gz) {
  auto tar = Gunzip(gz, 1 << 30);
  REQUIRE_OK(tar);
  auto m = ReadTar(*tar);
  REQUIRE_OK(m);
  return *m;
}

std::string Repack(const std::vector<TarMember>& m) {
  auto tar = WriteTar(m);
  REQUIRE_OK(tar);
  auto gz = Gzip(*tar);
  REQUIRE_OK(gz);
  return *gz;
}

TarMember& Member(std::vector<TarMember>& m, const std::string& path) {
  for (auto& t : m)
    if (t.path == path) return t;
  FAIL("no member " << path);
  throw std::logic_error("unreachable");
}

std::string VerifyError(const std::string& gz) {
  auto v = VerifyBundle(gz);
  REQUIRE_FALSE(v.ok());
  return v.status().message();
}

}  // namespace

TEST_CASE("Bundle: members, manifest and bundle.json, it verifies", "[bundle]") {
  Fixture f;
  auto gz = BuildBundle(f.in);
  REQUIRE_OK(gz);
  auto members = Unpack(*gz);
  std::vector<std::string> paths;
  for (const auto& m : members) paths.push_back(m.path);
  CHECK(paths == std::vector<std::string>{"bundle.json", "junit.xml", "report.json", "report.html",
                                          "profile/gpu.yaml", "inventory.json",
                                          "logs/prepare-basics/prepare-single-gpu/driver.log",
                                          "MANIFEST.sha256"});
  std::string manifest = Member(members, "MANIFEST.sha256").data;
  CHECK_THAT(manifest, Catch::Contains(Sha256Hex("driver started\n") +
                                       "  logs/prepare-basics/prepare-single-gpu/driver.log\n"));
  CHECK(std::count(manifest.begin(), manifest.end(), '\n') == 7);
  std::string info = Member(members, "bundle.json").data;
  CHECK_THAT(info, Catch::Contains("\"format_version\": 1"));
  CHECK_THAT(info, Catch::Contains("left out logs/prepare-basics/gone/driver.log"));
  CHECK_THAT(info, Catch::Contains("\"drahil_commit\": \"abc123\""));

  auto v = VerifyBundle(*gz);
  REQUIRE_OK(v);
  CHECK(v->driver_name == "gpu.drahil.dev");
  CHECK(v->versions.at("drahil") == "0.1.0");
  CHECK(v->json_counts.tests == v->junit_counts.tests);
  CHECK(v->json_counts.tests > 0);
  CHECK_FALSE(v->certification.empty());
  std::string text = BundleSummaryText(*v);
  CHECK_THAT(text, Catch::Contains("driver: gpu.drahil.dev 0.1.0"));
  CHECK_THAT(text, Catch::Contains("certification:"));
}

TEST_CASE("Bundle: Sha256Hex matches the standard test vector", "[bundle]") {
  CHECK(Sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("Bundle: a changed, added or dropped member is named", "[bundle]") {
  Fixture f;
  auto gz = BuildBundle(f.in);
  REQUIRE_OK(gz);
  {
    auto m = Unpack(*gz);
    Member(m, "report.html").data[10] ^= 1;
    std::string err = VerifyError(Repack(m));
    CHECK_THAT(err, Catch::StartsWith("report.html: sha256"));
    CHECK_THAT(err, Catch::Contains("changed"));
  }
  {
    auto m = Unpack(*gz);
    m.push_back({"extra.txt", "sneaked in"});
    CHECK_THAT(VerifyError(Repack(m)), Catch::StartsWith("extra.txt: not listed"));
  }
  {
    auto m = Unpack(*gz);
    m.erase(m.begin() + 2);  // report.json
    CHECK_THAT(VerifyError(Repack(m)), Catch::StartsWith("report.json: listed in the manifest"));
  }
  {
    auto m = Unpack(*gz);
    m.pop_back();  // the manifest
    CHECK_THAT(VerifyError(Repack(m)), Catch::StartsWith("MANIFEST.sha256: missing"));
  }
  {
    auto m = Unpack(*gz);
    Member(m, "MANIFEST.sha256").data += "garbage\n";
    CHECK_THAT(VerifyError(Repack(m)), Catch::StartsWith("MANIFEST.sha256: line 8"));
  }
}

TEST_CASE("Bundle: reports that disagree or do not parse are invalid even with a fresh manifest",
          "[bundle]") {
  Fixture f;
  auto gz = BuildBundle(f.in);
  REQUIRE_OK(gz);
  auto rehash = [](std::vector<TarMember>& m) {
    std::string manifest;
    for (const auto& t : m)
      if (t.path != "MANIFEST.sha256") manifest += Sha256Hex(t.data) + "  " + t.path + "\n";
    Member(m, "MANIFEST.sha256").data = manifest;
  };
  {
    auto m = Unpack(*gz);
    std::string& junit = Member(m, "junit.xml").data;
    auto at = junit.find("tests=\"");
    REQUIRE(at != std::string::npos);
    junit.insert(at + 7, "9");
    rehash(m);
    CHECK_THAT(VerifyError(Repack(m)), Catch::StartsWith("junit.xml: counts"));
  }
  {
    auto m = Unpack(*gz);
    Member(m, "report.json").data = "{";
    rehash(m);
    CHECK_THAT(VerifyError(Repack(m)), Catch::StartsWith("report.json: "));
  }
  {
    auto m = Unpack(*gz);
    Member(m, "bundle.json").data = "{\"format_version\": 7}";
    rehash(m);
    CHECK_THAT(VerifyError(Repack(m)), Catch::Contains("format_version 7 is not supported"));
  }
}

TEST_CASE("Bundle: WriteBundle writes the file, a missing profile is an error", "[bundle]") {
  Fixture f;
  std::string out = f.dir.Join("out/cert.tar.gz");
  REQUIRE_OK(WriteBundle(out, f.in));
  auto bytes = drahil::ReadFile(out);
  REQUIRE_OK(bytes);
  CHECK(VerifyBundle(*bytes).ok());
  f.in.profile_path = f.dir.Join("nope.yaml");
  auto s = WriteBundle(out, f.in);
  CHECK_FALSE(s.ok());
  CHECK_THAT(s.message(), Catch::Contains("driver profile"));
}
