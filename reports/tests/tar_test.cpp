#include "drahil/reports/tar.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <functional>

#include "drahil/testing/testing.hpp"

using namespace drahil::reports;

namespace {
std::string Pack(const std::vector<TarMember>& m) {
  auto t = WriteTar(m);
  INFO(t.status().ToString());
  REQUIRE(t.ok());
  return *t;
}
std::string ReadError(std::string_view archive, const TarLimits& limits = {}) {
  auto r = ReadTar(archive, limits);
  REQUIRE_FALSE(r.ok());
  return r.status().message();
}
}  // namespace

TEST_CASE("Tar: members round-trip with their data, mode and mtime", "[tar]") {
  std::string binary(1500, '\0');
  for (size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<char>(i * 7);
  std::vector<TarMember> in = {{"a.txt", "hello\n", 0644, 1782907200},
                               {"dir/empty", "", 0600, 0},
                               {"dir/sub/bin", binary, 0755, 42},
                               {"exact", std::string(512, 'x'), 0644, 1}};
  std::string tar = Pack(in);
  CHECK(tar.size() % 512 == 0);
  // headers + data blocks (0, 0, 3, 1 of them) + two end blocks
  CHECK(tar.size() == 512 * (4 + 1 + 0 + 3 + 1 + 2));
  CHECK(tar.substr(257, 6) == std::string("ustar\0", 6));
  auto out = ReadTar(tar);
  REQUIRE_OK(out);
  REQUIRE(out->size() == in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    CHECK((*out)[i].path == in[i].path);
    CHECK((*out)[i].data == in[i].data);
    CHECK((*out)[i].mode == in[i].mode);
    CHECK((*out)[i].mtime == in[i].mtime);
  }
}

TEST_CASE("Tar: long paths use the prefix field up to 255 bytes, longer ones are refused",
          "[tar]") {
  std::string dir(150, 'd'), name(100, 'n');
  std::string path = dir + "/" + name;  // 251 bytes
  std::string tar = Pack({{path, "x"}});
  CHECK(tar.substr(0, 100) == name);
  CHECK(tar.substr(345, 150) == dir);
  auto out = ReadTar(tar);
  REQUIRE_OK(out);
  CHECK(out->at(0).path == path);

  auto too_long_name = WriteTar({{"d/" + std::string(101, 'n'), "x"}});
  REQUIRE_FALSE(too_long_name.ok());
  CHECK_THAT(too_long_name.status().message(), Catch::Contains("too long for ustar"));
  auto too_long_dir = WriteTar({{std::string(156, 'd') + "/n", "x"}});
  CHECK_FALSE(too_long_dir.ok());
}

TEST_CASE("Tar: the writer refuses paths the reader would refuse", "[tar]") {
  for (const char* bad : {"/etc/passwd", "../up", "a/../b", "", "a//b", "./a"}) {
    INFO(bad);
    CHECK_FALSE(WriteTar({{bad, "x"}}).ok());
  }
  CHECK_FALSE(WriteTar({{"a", "x"}, {"a", "y"}}).ok());
}

TEST_CASE("Tar: truncated or corrupt input is an error naming where", "[tar]") {
  std::string tar = Pack({{"one", std::string(700, 'a')}, {"two", "b"}});
  CHECK_THAT(ReadError(""), Catch::Contains("truncated"));
  // Every cut through the archive is an error, never a crash or a short read.
  for (size_t cut = 1; cut < tar.size(); cut += 97) {
    INFO(cut);
    CHECK_FALSE(ReadTar(std::string_view(tar).substr(0, cut)).ok());
  }
  CHECK_THAT(ReadError(std::string_view(tar).substr(0, 512 + 512)),
             Catch::Contains("\"one\": truncated"));
  std::string flipped = tar;
  flipped[3] ^= 1;  // a byte of the first name
  CHECK_THAT(ReadError(flipped), Catch::Contains("checksum"));
  std::string junk = tar + std::string(512, 'j');
  CHECK_THAT(ReadError(junk), Catch::Contains("after the end-of-archive"));
  CHECK_FALSE(ReadTar(std::string(1024, 'z')).ok());
}

TEST_CASE("Tar: non-regular members, unsafe paths and absurd sizes are refused", "[tar]") {
  auto with_header = [](const std::function<void(std::string&)>& edit) {
    std::string tar = Pack({{"member", "data"}});
    edit(tar);
    // Recompute the checksum so that only the edit is wrong.
    std::memset(tar.data() + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < 512; ++i) sum += static_cast<unsigned char>(tar[i]);
    std::snprintf(tar.data() + 148, 8, "%06o", sum);
    return tar;
  };
  CHECK_THAT(ReadError(with_header([](std::string& t) { t[156] = '2'; })),
             Catch::Contains("\"member\" is a symbolic link"));
  CHECK_THAT(ReadError(with_header([](std::string& t) { t[156] = '5'; })),
             Catch::Contains("directory"));
  CHECK_THAT(ReadError(with_header([](std::string& t) { std::memcpy(t.data(), "../x\0", 5); })),
             Catch::Contains("\"..\""));
  CHECK_THAT(ReadError(with_header([](std::string& t) { std::memcpy(t.data(), "/abs\0", 5); })),
             Catch::Contains("absolute"));
  CHECK_THAT(ReadError(with_header(
                 [](std::string& t) { std::memcpy(t.data() + 124, "77777777777", 11); })),
             Catch::Contains("over the limit"));
  TarLimits small;
  small.max_member_bytes = 3;
  CHECK_THAT(ReadError(Pack({{"member", "data"}}), small), Catch::Contains("over the limit"));
  small = {};
  small.max_members = 1;
  CHECK_THAT(ReadError(Pack({{"a", ""}, {"b", ""}}), small), Catch::Contains("more than 1"));
}

TEST_CASE("Gzip: round trip, truncated, corrupt and oversized input are errors", "[tar]") {
  std::string data(100000, 'q');
  data += "tail";
  auto gz = Gzip(data);
  REQUIRE_OK(gz);
  CHECK(gz->size() < data.size() / 10);
  CHECK(static_cast<unsigned char>((*gz)[0]) == 0x1f);
  auto back = Gunzip(*gz, 1 << 20);
  REQUIRE_OK(back);
  CHECK(*back == data);
  auto empty = Gzip("");
  REQUIRE_OK(empty);
  CHECK(Gunzip(*empty, 10).value() == "");

  CHECK_THAT(Gunzip(std::string_view(*gz).substr(0, gz->size() / 2), 1 << 20).status().message(),
             Catch::Contains("truncated"));
  CHECK_THAT(Gunzip(*gz, 1000).status().message(), Catch::Contains("expands past 1000"));
  CHECK_THAT(Gunzip(*gz + "x", 1 << 20).status().message(), Catch::Contains("after the end"));
  std::string bad = *gz;
  bad[bad.size() - 6] ^= 0x55;  // the CRC-32 in the trailer
  CHECK_FALSE(Gunzip(bad, 1 << 20).ok());
  CHECK_FALSE(Gunzip("not gzip at all", 1 << 20).ok());
}
