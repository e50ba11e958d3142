// Shared helpers for the GPU probe kernels; prepended to every program.
// PatternWord must equal drahil::probe_common::PatternWord (reference.hpp).
uint pattern_word(uint seed, uint index) {
  uint x = index * 0x9E3779B1u + seed;
  x ^= x >> 16;
  x *= 0x85EBCA6Bu;
  x ^= x >> 13;
  return x;
}
