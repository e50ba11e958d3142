// Compute throughput: one dependent FMA chain per item,
//   c[i] = a[i]; repeat iters: c[i] = fma(c[i], b[i], alpha)
// (the same workload the emulated runtime's GPURT_KERNEL_FMA runs; the CPU
// reference is probe_common::FmaReference). Many items in flight hide the
// FMA latency. `iters` bounds the loop, so the kernel always terminates.
__kernel void fma_chain(__global const float* restrict a, __global const float* restrict b,
                        __global float* restrict c, ulong n, float alpha, uint iters) {
  ulong i = get_global_id(0);
  if (i >= n) return;
  float x = a[i];
  float m = b[i];
  for (uint it = 0; it < iters; ++it) x = fma(x, m, alpha);
  c[i] = x;
}
