#include "drahil/probe_gpu/backend.hpp"

#include <cstdlib>

namespace drahil::probe_gpu {

DeviceBuffer::~DeviceBuffer() { Release(); }

DeviceBuffer::DeviceBuffer(DeviceBuffer&& o) noexcept
    : owner_(std::exchange(o.owner_, nullptr)),
      handle_(std::exchange(o.handle_, 0)),
      bytes_(std::exchange(o.bytes_, 0)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    Release();
    owner_ = std::exchange(o.owner_, nullptr);
    handle_ = std::exchange(o.handle_, 0);
    bytes_ = std::exchange(o.bytes_, 0);
  }
  return *this;
}

void DeviceBuffer::Release() {
  if (owner_ != nullptr) owner_->FreeHandle(handle_);
  owner_ = nullptr;
}

double KnownPeakMemoryGbps(const std::string& name) {
  // docs/reference/hardware.md section 2.4 (spec-sheet figures, GB/s).
  if (name.find("H200") != std::string::npos) return 4800;
  if (name.find("H100") != std::string::npos &&
      (name.find("HBM3") != std::string::npos || name.find("SXM") != std::string::npos)) {
    return 3350;
  }
  return 0;
}

#ifndef DRAHIL_PROBE_HAVE_CUDA
bool CudaBuilt() { return false; }
Result<std::unique_ptr<GpuBackend>> OpenCudaBackend(const BackendOptions&) {
  return UnavailableError("drahil-probe-gpu was built without CUDA (DRAHIL_WITH_CUDA=OFF)");
}
#endif

Result<std::unique_ptr<GpuBackend>> OpenBackend(const std::string& kind,
                                                const BackendOptions& options) {
  if (kind == "cuda") return OpenCudaBackend(options);
  if (kind == "opencl") return OpenOpenClBackend(options);
  if (kind == "emulated") return OpenEmulatedBackend(options);
  if (kind != "auto") {
    return InvalidArgumentError("unknown backend \"" + kind +
                                "\" (want cuda, opencl, emulated or auto)");
  }
  std::string tried;
  if (CudaBuilt()) {
    auto b = OpenCudaBackend(options);
    if (b.ok()) {
      auto devs = (*b)->Devices();
      if (devs.ok() && !devs->empty()) return b;
    }
    tried += "cuda: " + (b.ok() ? std::string("no device") : b.status().message()) + "; ";
  }
  const char* root = std::getenv("DRAHIL_FAKE_ROOT");
  if (root != nullptr && *root != '\0') {
    auto b = OpenEmulatedBackend(options);
    if (b.ok()) return b;
    tried += "emulated: " + b.status().message() + "; ";
  }
  auto b = OpenOpenClBackend(options);
  if (b.ok()) return b;
  return UnavailableError("no backend available (" + tried + "opencl: " + b.status().message() +
                          ")");
}

}  // namespace drahil::probe_gpu
