// File: reference.hpp
//
// CPU reference implementations of every probe kernel (probes/*/kernels/*.cl
// and probes/gpu/cuda/*.cu). A device result is only trusted after it matches
// these bit for bit; keep the formulas here and in the kernels identical.
//
// All functions are pure and thread-safe.
#ifndef DRAHIL_PROBE_COMMON_REFERENCE_HPP_INCLUDED
#define DRAHIL_PROBE_COMMON_REFERENCE_HPP_INCLUDED

#include <cstddef>
#include <cstdint>
#include <map>
#include <string_view>
#include <vector>

namespace drahil::probe_common {

// PatternWord(): the deterministic 32-bit fill used for copy/bandwidth and
// vector-add inputs: a multiplicative hash of (seed, index), so a shifted,
// truncated or stale buffer never checks out.
inline uint32_t PatternWord(uint32_t seed, uint32_t index) {
  uint32_t x = index * 0x9E3779B1u + seed;
  x ^= x >> 16;
  x *= 0x85EBCA6Bu;
  x ^= x >> 13;
  return x;
}

// FillPattern(): words[i] = PatternWord(seed, i).
void FillPattern(uint32_t seed, uint32_t* words, size_t count);

// Checksum(): order-sensitive 64-bit checksum of 32-bit words, computed the
// same way by the vadd kernel's per-group partial sums (sum of (w ^ index)
// as 64-bit), so it can be reduced in parallel.
uint64_t Checksum(const uint32_t* words, size_t count);

// VectorAdd(): c[i] = a[i] + b[i] (wrapping).
void VectorAdd(const uint32_t* a, const uint32_t* b, uint32_t* c, size_t count);

// FmaReference(): the compute kernel's result for one item:
//   x = a; repeat iters: x = fma(x, b, alpha)
// std::fma is correctly rounded, as OpenCL's fma() and CUDA's fmaf() are, so
// the probe's own kernels match it exactly.
float FmaReference(float a, float b, float alpha, uint32_t iters);
// FmaInputs(): deterministic inputs that keep every chain inside [0, 1] for
// any iteration count (multipliers just under 1, alpha = 1 - max multiplier
// complement), so no overflow or denormal path is exercised.
void FmaInputs(uint32_t seed, float* a, float* b, size_t count);
inline constexpr float kFmaAlpha = 0.0009765625f;  // 2^-10
// FmaFlops(): floating point operations of one compute launch.
inline double FmaFlops(uint64_t items, uint32_t iters) {
  return 2.0 * static_cast<double>(items) * iters;
}

// ReduceInputs(): small integers (0..255) as floats: with count <= 65536
// every partial sum is an integer below 2^24, exact in float whatever the
// summation order, so the device's answer must equal the CPU's exactly.
inline constexpr size_t kReduceMaxCount = 65536;
void ReduceInputs(uint32_t seed, float* values, size_t count);
// ReduceReference(): the exact sum.
double ReduceReference(const float* values, size_t count);

// Canary records: 16-byte slots {kCanaryMagic, hash_lo, hash_hi, mix(index)}
// written over a whole buffer. The run id is reduced to a 64-bit FNV-1a hash.
inline constexpr uint32_t kCanaryMagic = 0x4C485244u;  // "DRHL" little-endian
uint64_t RunIdHash(std::string_view run_id);
inline uint32_t CanaryCheckWord(uint64_t hash, uint32_t slot) {
  return PatternWord(static_cast<uint32_t>(hash ^ (hash >> 32)), slot);
}
void FillCanary(uint64_t hash, uint32_t* words, size_t count);

// CanaryScan: what ScanCanary() found in a buffer.
struct CanaryScan {
  uint64_t slots_scanned = 0;
  uint64_t own_matches = 0;              // slots carrying the looked-for run hash
  int64_t first_own_slot = -1;           // first such slot, or -1
  std::map<uint64_t, uint64_t> foreign;  // other run hashes seen -> slot count
  uint64_t corrupt = 0;                  // own-hash slots whose check word is wrong
};
// ScanCanary(): finds canary records of any run; those with `hash` count as
// own matches. count is in 32-bit words.
CanaryScan ScanCanary(uint64_t hash, const uint32_t* words, size_t count);

}  // namespace drahil::probe_common

#endif  // DRAHIL_PROBE_COMMON_REFERENCE_HPP_INCLUDED
