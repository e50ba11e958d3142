#include "drahil/probe_common/reference.hpp"

#include <cmath>
#include <vector>

#include "drahil/testing/testing.hpp"

namespace pc = drahil::probe_common;

TEST_CASE("Reference: pattern is deterministic and seed-dependent", "[probe_common]") {
  std::vector<uint32_t> a(1024), b(1024), c(1024);
  pc::FillPattern(7, a.data(), a.size());
  pc::FillPattern(7, b.data(), b.size());
  pc::FillPattern(8, c.data(), c.size());
  CHECK(a == b);
  CHECK(a != c);
  CHECK(pc::Checksum(a.data(), a.size()) == pc::Checksum(b.data(), b.size()));
  std::swap(b[3], b[4]);  // the checksum sees order
  CHECK(pc::Checksum(a.data(), a.size()) != pc::Checksum(b.data(), b.size()));
}

TEST_CASE("Reference: FMA chains stay in [0,1] and reductions are exact", "[probe_common]") {
  std::vector<float> a(4096), b(4096);
  pc::FmaInputs(3, a.data(), b.data(), a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    float r = pc::FmaReference(a[i], b[i], pc::kFmaAlpha, 20000);
    REQUIRE(std::isfinite(r));
    REQUIRE(r >= 0.0f);
    REQUIRE(r <= 1.0f);
  }
  std::vector<float> v(pc::kReduceMaxCount);
  pc::ReduceInputs(5, v.data(), v.size());
  double forward = pc::ReduceReference(v.data(), v.size());
  float backward = 0;
  for (size_t i = v.size(); i-- > 0;) backward += v[i];
  CHECK(static_cast<double>(backward) == forward);  // order does not matter
  CHECK(forward < 16777216.0);
}

TEST_CASE("Reference: canary scan finds own records and names foreign runs", "[probe_common]") {
  uint64_t mine = pc::RunIdHash("run-A");
  uint64_t other = pc::RunIdHash("run-B");
  CHECK(mine != other);
  std::vector<uint32_t> mem(4096, 0);
  pc::FillCanary(other, mem.data(), mem.size());
  auto scan = pc::ScanCanary(mine, mem.data(), mem.size());
  CHECK(scan.own_matches == 0);
  CHECK(scan.foreign.at(other) == 1024);
  pc::FillCanary(mine, mem.data(), 2048);
  mem[7] ^= 1;  // corrupt slot 1's check word
  scan = pc::ScanCanary(mine, mem.data(), mem.size());
  CHECK(scan.own_matches == 512);
  CHECK(scan.first_own_slot == 0);
  CHECK(scan.corrupt == 1);
  CHECK(scan.foreign.at(other) == 512);
  std::vector<uint32_t> zero(64, 0);
  CHECK(pc::ScanCanary(mine, zero.data(), zero.size()).own_matches == 0);
}
