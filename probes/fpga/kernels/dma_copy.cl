// The on-card leg of a DMA-style round trip (host -> card buffer -> card
// buffer -> host): one 16-byte beat per work item, consecutive items on
// consecutive addresses, as a streaming data mover would issue them.
__kernel void dma_copy(__global uint4* restrict dst, __global const uint4* restrict src, ulong n) {
  ulong i = get_global_id(0);
  if (i < n) dst[i] = src[i];
}
