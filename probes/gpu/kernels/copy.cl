// Device-local copy through the compute units ("SM copy" in nvbandwidth
// terms): one 16-byte element per work item, so consecutive items touch
// consecutive memory (coalesced on GPUs; vectorised across items by PoCL).
__kernel void copy_u4(__global uint4* restrict dst, __global const uint4* restrict src,
                      ulong n) {
  ulong i = get_global_id(0);
  if (i < n) dst[i] = src[i];
}
