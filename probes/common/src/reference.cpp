#include "drahil/probe_common/reference.hpp"

#include <cmath>

namespace drahil::probe_common {

void FillPattern(uint32_t seed, uint32_t* words, size_t count) {
  for (size_t i = 0; i < count; ++i) words[i] = PatternWord(seed, static_cast<uint32_t>(i));
}

uint64_t Checksum(const uint32_t* words, size_t count) {
  uint64_t sum = 0;
  for (size_t i = 0; i < count; ++i)
    sum += static_cast<uint64_t>(words[i] ^ static_cast<uint32_t>(i));
  return sum;
}

void VectorAdd(const uint32_t* a, const uint32_t* b, uint32_t* c, size_t count) {
  for (size_t i = 0; i < count; ++i) c[i] = a[i] + b[i];
}

float FmaReference(float a, float b, float alpha, uint32_t iters) {
  float x = a;
  for (uint32_t it = 0; it < iters; ++it) x = std::fma(x, b, alpha);
  return x;
}

void FmaInputs(uint32_t seed, float* a, float* b, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    uint32_t w = PatternWord(seed, static_cast<uint32_t>(i));
    // a in [0, 1); b in [0.99, 0.999]: x' = x*b + 2^-10 stays in [0, 1].
    a[i] = static_cast<float>(w & 0xFFFFu) * (1.0f / 65536.0f);
    b[i] = 0.99f + static_cast<float>((w >> 16) & 0x3FFu) * (0.009f / 1024.0f);
  }
}

void ReduceInputs(uint32_t seed, float* values, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    values[i] = static_cast<float>(PatternWord(seed, static_cast<uint32_t>(i)) & 0xFFu);
  }
}

double ReduceReference(const float* values, size_t count) {
  double sum = 0;
  for (size_t i = 0; i < count; ++i) sum += values[i];
  return sum;
}

uint64_t RunIdHash(std::string_view run_id) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char ch : run_id) {
    h ^= ch;
    h *= 0x100000001b3ull;
  }
  return h;
}

void FillCanary(uint64_t hash, uint32_t* words, size_t count) {
  size_t slots = count / 4;
  for (size_t s = 0; s < slots; ++s) {
    words[4 * s] = kCanaryMagic;
    words[4 * s + 1] = static_cast<uint32_t>(hash);
    words[4 * s + 2] = static_cast<uint32_t>(hash >> 32);
    words[4 * s + 3] = CanaryCheckWord(hash, static_cast<uint32_t>(s));
  }
}

CanaryScan ScanCanary(uint64_t hash, const uint32_t* words, size_t count) {
  CanaryScan scan;
  size_t slots = count / 4;
  scan.slots_scanned = slots;
  for (size_t s = 0; s < slots; ++s) {
    if (words[4 * s] != kCanaryMagic) continue;
    uint64_t h =
        static_cast<uint64_t>(words[4 * s + 1]) | (static_cast<uint64_t>(words[4 * s + 2]) << 32);
    if (h != hash) {
      // A foreign record counts only with a valid check word at its own slot
      // index, so random data that happens to start with the magic is ignored.
      if (words[4 * s + 3] == CanaryCheckWord(h, static_cast<uint32_t>(s))) ++scan.foreign[h];
      continue;
    }
    ++scan.own_matches;
    if (scan.first_own_slot < 0) scan.first_own_slot = static_cast<int64_t>(s);
    if (words[4 * s + 3] != CanaryCheckWord(hash, static_cast<uint32_t>(s))) ++scan.corrupt;
  }
  return scan;
}

}  // namespace drahil::probe_common
