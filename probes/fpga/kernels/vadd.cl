// Vector add with a checksum: c[i] = a[i] + b[i] (wrapping), and one 64-bit
// partial per work-group of sum(c[i] ^ i), so the host can verify the whole
// result without reading it back (probe_common::VectorAdd / Checksum).
// Local size: a power of two.
__kernel void vadd_checksum(__global const uint* restrict a, __global const uint* restrict b,
                            __global uint* restrict c, ulong n,
                            __global ulong* restrict partials, __local ulong* scratch) {
  ulong acc = 0;
  ulong stride = get_global_size(0);
  for (ulong i = get_global_id(0); i < n; i += stride) {
    uint v = a[i] + b[i];
    c[i] = v;
    acc += (ulong)(v ^ (uint)i);
  }
  uint lid = get_local_id(0);
  scratch[lid] = acc;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint h = get_local_size(0) / 2; h > 0; h >>= 1) {
    if (lid < h) scratch[lid] += scratch[lid + h];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0) partials[get_group_id(0)] = scratch[0];
}
