// The CUDA probe kernels. Compiled by nvcc into a fatbin that is embedded in
// the probe and loaded through the driver API (cuModuleLoadData), so the
// probe needs no CUDA library at link time. Names are extern "C" so the host
// looks them up unmangled. Each kernel mirrors a CPU reference in
// probes/common/include/drahil/probe_common/reference.hpp and an OpenCL
// kernel in probes/gpu/kernels/. Every loop is bounded by its arguments.

// Device-local copy through the SMs, 16 bytes per thread, grid-stride.
extern "C" __global__ void drahil_copy_u4(uint4* __restrict__ dst, const uint4* __restrict__ src,
                                          unsigned long long n) {
  unsigned long long stride = static_cast<unsigned long long>(gridDim.x) * blockDim.x;
  for (unsigned long long i =
           static_cast<unsigned long long>(blockIdx.x) * blockDim.x + threadIdx.x;
       i < n; i += stride) {
    dst[i] = src[i];
  }
}

// c[i] = a[i]; repeat iters: c[i] = fma(c[i], b[i], alpha). __fmaf_rn is the
// correctly rounded FMA, matching std::fma on the host bit for bit.
extern "C" __global__ void drahil_fma_chain(const float* __restrict__ a,
                                            const float* __restrict__ b, float* __restrict__ c,
                                            unsigned long long n, float alpha, unsigned int iters) {
  unsigned long long i = static_cast<unsigned long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  float x = a[i];
  const float m = b[i];
  for (unsigned int it = 0; it < iters; ++it) x = __fmaf_rn(x, m, alpha);
  c[i] = x;
}

// One partial sum per block (256 threads, tree in shared memory). The probe
// feeds small integers, so every partial is exact in float.
extern "C" __global__ void drahil_reduce_sum(const float* __restrict__ in, unsigned long long n,
                                             float* __restrict__ partials) {
  __shared__ float scratch[256];
  float acc = 0.0f;
  unsigned long long stride = static_cast<unsigned long long>(gridDim.x) * blockDim.x;
  for (unsigned long long i =
           static_cast<unsigned long long>(blockIdx.x) * blockDim.x + threadIdx.x;
       i < n; i += stride) {
    acc += in[i];
  }
  scratch[threadIdx.x] = acc;
  __syncthreads();
  for (unsigned int h = blockDim.x / 2; h > 0; h >>= 1) {
    if (threadIdx.x < h) scratch[threadIdx.x] += scratch[threadIdx.x + h];
    __syncthreads();
  }
  if (threadIdx.x == 0) partials[blockIdx.x] = scratch[0];
}
