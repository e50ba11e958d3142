// Internal: the GPU probe's OpenCL kernel sources, embedded at build time from
// probes/gpu/kernels/*.cl (see ProbeEmbed.cmake).
#ifndef DRAHIL_PROBE_GPU_SRC_KERNELS_HPP_INCLUDED
#define DRAHIL_PROBE_GPU_SRC_KERNELS_HPP_INCLUDED

#include <string>

namespace drahil::probe_gpu {
// GpuKernelProgram(): common.cl followed by every other kernel file.
std::string GpuKernelProgram();
}  // namespace drahil::probe_gpu

#endif
