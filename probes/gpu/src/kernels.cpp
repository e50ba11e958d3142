#include "kernels.hpp"

#include <string_view>
#include <utility>

namespace drahil::probe_gpu {
namespace {
constexpr std::pair<std::string_view, std::string_view> kFiles[] = {
#include "gpu_kernels.inc"
};
}  // namespace

std::string GpuKernelProgram() {
  std::string out;
  for (const auto& [name, text] : kFiles) {
    if (name == "common.cl")
      out.insert(0, std::string(text) + "\n");
    else
      out.append(text).append("\n");
  }
  return out;
}
}  // namespace drahil::probe_gpu
