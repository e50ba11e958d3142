// Reduction: each work-group sums its grid-stride share of n floats into one
// partial (tree in local memory); the host adds the partials in double. The
// probe feeds small integers so every partial sum is exact in float and the
// answer does not depend on summation order. Local size: a power of two.
__kernel void reduce_sum(__global const float* restrict in, ulong n,
                         __global float* restrict partials, __local float* scratch) {
  float acc = 0.0f;
  ulong stride = get_global_size(0);
  for (ulong i = get_global_id(0); i < n; i += stride) acc += in[i];
  uint lid = get_local_id(0);
  scratch[lid] = acc;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint h = get_local_size(0) / 2; h > 0; h >>= 1) {
    if (lid < h) scratch[lid] += scratch[lid + h];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0) partials[get_group_id(0)] = scratch[0];
}
