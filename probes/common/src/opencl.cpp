#include "drahil/probe_common/opencl.hpp"

#include <algorithm>
#include <cctype>
#include <thread>

#include "drahil/core/strings.hpp"

namespace drahil::probe_common {
namespace {

#ifndef CL_DEVICE_UUID_KHR
#define CL_DEVICE_UUID_KHR 0x106A
#endif

std::string PlatformString(cl_platform_id p, cl_platform_info what) {
  size_t n = 0;
  if (clGetPlatformInfo(p, what, 0, nullptr, &n) != CL_SUCCESS || n == 0) return "";
  std::string s(n, '\0');
  if (clGetPlatformInfo(p, what, n, s.data(), nullptr) != CL_SUCCESS) return "";
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

std::string DeviceString(cl_device_id d, cl_device_info what) {
  size_t n = 0;
  if (clGetDeviceInfo(d, what, 0, nullptr, &n) != CL_SUCCESS || n == 0) return "";
  std::string s(n, '\0');
  if (clGetDeviceInfo(d, what, n, s.data(), nullptr) != CL_SUCCESS) return "";
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

template <typename T>
T DeviceValue(cl_device_id d, cl_device_info what) {
  T v{};
  if (clGetDeviceInfo(d, what, sizeof(T), &v, nullptr) != CL_SUCCESS) return T{};
  return v;
}

ClDeviceInfo DescribeDevice(const std::string& platform, cl_device_id d) {
  ClDeviceInfo info;
  info.platform = platform;
  info.name = DeviceString(d, CL_DEVICE_NAME);
  info.vendor = DeviceString(d, CL_DEVICE_VENDOR);
  info.version = DeviceString(d, CL_DEVICE_VERSION);
  info.driver_version = DeviceString(d, CL_DRIVER_VERSION);
  info.global_mem_bytes = DeviceValue<cl_ulong>(d, CL_DEVICE_GLOBAL_MEM_SIZE);
  info.max_alloc_bytes = DeviceValue<cl_ulong>(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE);
  info.compute_units = DeviceValue<cl_uint>(d, CL_DEVICE_MAX_COMPUTE_UNITS);
  info.max_clock_mhz = DeviceValue<cl_uint>(d, CL_DEVICE_MAX_CLOCK_FREQUENCY);
  if (DeviceString(d, CL_DEVICE_EXTENSIONS).find("cl_khr_device_uuid") != std::string::npos) {
    unsigned char uuid[16] = {};
    if (clGetDeviceInfo(d, CL_DEVICE_UUID_KHR, sizeof(uuid), uuid, nullptr) == CL_SUCCESS) {
      static const char* kHex = "0123456789abcdef";
      for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) info.uuid.push_back('-');
        info.uuid.push_back(kHex[uuid[i] >> 4]);
        info.uuid.push_back(kHex[uuid[i] & 15]);
      }
    }
  }
  return info;
}

Result<std::vector<cl_platform_id>> PlatformIds() {
  cl_uint n = 0;
  cl_int err = clGetPlatformIDs(0, nullptr, &n);
  // The ICD loader answers CL_PLATFORM_NOT_FOUND_KHR (-1001) when no ICD is
  // registered; that is an environment problem, not a probe bug.
  if (err == -1001 || (err == CL_SUCCESS && n == 0)) {
    return UnavailableError("no OpenCL platform (is an ICD such as pocl-opencl-icd installed?)");
  }
  if (err != CL_SUCCESS) return ClStatus(err, "clGetPlatformIDs");
  std::vector<cl_platform_id> ids(n);
  DRAHIL_RETURN_IF_ERROR(ClStatus(clGetPlatformIDs(n, ids.data(), nullptr), "clGetPlatformIDs"));
  return ids;
}

std::vector<cl_device_id> DeviceIds(cl_platform_id p) {
  cl_uint n = 0;
  if (clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, nullptr, &n) != CL_SUCCESS || n == 0) return {};
  std::vector<cl_device_id> ids(n);
  if (clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, n, ids.data(), nullptr) != CL_SUCCESS) return {};
  return ids;
}

bool IsAllocationRefusal(cl_int err) {
  return err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_RESOURCES ||
         err == CL_INVALID_BUFFER_SIZE || err == CL_OUT_OF_HOST_MEMORY;
}

}  // namespace

std::string ClErrorName(cl_int err) {
  switch (err) {
#define DRAHIL_CL_CASE(x) \
  case x:                 \
    return #x;
    DRAHIL_CL_CASE(CL_SUCCESS)
    DRAHIL_CL_CASE(CL_DEVICE_NOT_FOUND)
    DRAHIL_CL_CASE(CL_DEVICE_NOT_AVAILABLE)
    DRAHIL_CL_CASE(CL_COMPILER_NOT_AVAILABLE)
    DRAHIL_CL_CASE(CL_MEM_OBJECT_ALLOCATION_FAILURE)
    DRAHIL_CL_CASE(CL_OUT_OF_RESOURCES)
    DRAHIL_CL_CASE(CL_OUT_OF_HOST_MEMORY)
    DRAHIL_CL_CASE(CL_BUILD_PROGRAM_FAILURE)
    DRAHIL_CL_CASE(CL_INVALID_VALUE)
    DRAHIL_CL_CASE(CL_INVALID_DEVICE)
    DRAHIL_CL_CASE(CL_INVALID_CONTEXT)
    DRAHIL_CL_CASE(CL_INVALID_COMMAND_QUEUE)
    DRAHIL_CL_CASE(CL_INVALID_MEM_OBJECT)
    DRAHIL_CL_CASE(CL_INVALID_BUFFER_SIZE)
    DRAHIL_CL_CASE(CL_INVALID_PROGRAM)
    DRAHIL_CL_CASE(CL_INVALID_PROGRAM_EXECUTABLE)
    DRAHIL_CL_CASE(CL_INVALID_KERNEL_NAME)
    DRAHIL_CL_CASE(CL_INVALID_KERNEL)
    DRAHIL_CL_CASE(CL_INVALID_ARG_INDEX)
    DRAHIL_CL_CASE(CL_INVALID_ARG_VALUE)
    DRAHIL_CL_CASE(CL_INVALID_ARG_SIZE)
    DRAHIL_CL_CASE(CL_INVALID_KERNEL_ARGS)
    DRAHIL_CL_CASE(CL_INVALID_WORK_GROUP_SIZE)
    DRAHIL_CL_CASE(CL_INVALID_WORK_ITEM_SIZE)
    DRAHIL_CL_CASE(CL_INVALID_GLOBAL_WORK_SIZE)
    DRAHIL_CL_CASE(CL_INVALID_EVENT)
    DRAHIL_CL_CASE(CL_INVALID_OPERATION)
    DRAHIL_CL_CASE(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
#undef DRAHIL_CL_CASE
    default:
      return "CL error " + std::to_string(err);
  }
}

Status ClStatus(cl_int err, std::string_view call) {
  if (err == CL_SUCCESS) return OkStatus();
  std::string msg = std::string(call) + ": " + ClErrorName(err);
  if (IsAllocationRefusal(err)) return ResourceExhaustedError(std::move(msg));
  if (err == CL_DEVICE_NOT_AVAILABLE || err == CL_DEVICE_NOT_FOUND) {
    return UnavailableError(std::move(msg));
  }
  return InternalError(std::move(msg));
}

Result<std::vector<ClPlatformInfo>> ListOpenClPlatforms() {
  DRAHIL_ASSIGN_OR_RETURN(auto ids, PlatformIds());
  std::vector<ClPlatformInfo> out;
  for (auto p : ids) {
    ClPlatformInfo info;
    info.name = PlatformString(p, CL_PLATFORM_NAME);
    info.vendor = PlatformString(p, CL_PLATFORM_VENDOR);
    info.version = PlatformString(p, CL_PLATFORM_VERSION);
    for (auto d : DeviceIds(p)) info.devices.push_back(DescribeDevice(info.name, d));
    out.push_back(std::move(info));
  }
  return out;
}

ClBuffer::~ClBuffer() {
  if (mem_ != nullptr) clReleaseMemObject(mem_);
}
ClBuffer& ClBuffer::operator=(ClBuffer&& o) noexcept {
  if (this != &o) {
    if (mem_ != nullptr) clReleaseMemObject(mem_);
    mem_ = std::exchange(o.mem_, nullptr);
    bytes_ = std::exchange(o.bytes_, 0);
  }
  return *this;
}

ClKernel::~ClKernel() {
  if (k_ != nullptr) clReleaseKernel(k_);
}
ClKernel& ClKernel::operator=(ClKernel&& o) noexcept {
  if (this != &o) {
    if (k_ != nullptr) clReleaseKernel(k_);
    k_ = std::exchange(o.k_, nullptr);
    name_ = std::move(o.name_);
  }
  return *this;
}
Status ClKernel::SetArg(cl_uint index, size_t size, const void* value) {
  return ClStatus(clSetKernelArg(k_, index, size, value),
                  "clSetKernelArg(" + name_ + ", " + std::to_string(index) + ")");
}

Result<std::unique_ptr<ClSession>> ClSession::Open(std::string_view platform_match,
                                                   int device_index) {
  DRAHIL_ASSIGN_OR_RETURN(auto ids, PlatformIds());
  std::string want = ToLower(platform_match);
  std::string seen;
  for (auto p : ids) {
    std::string name = PlatformString(p, CL_PLATFORM_NAME);
    std::string vendor = PlatformString(p, CL_PLATFORM_VENDOR);
    seen += (seen.empty() ? "" : ", ") + ("\"" + name + "\"");
    if (!want.empty() && ToLower(name).find(want) == std::string::npos &&
        ToLower(vendor).find(want) == std::string::npos) {
      continue;
    }
    auto devices = DeviceIds(p);
    if (devices.empty()) continue;
    if (device_index < 0 || static_cast<size_t>(device_index) >= devices.size()) {
      return NotFoundError("OpenCL platform \"" + name + "\" has " +
                           std::to_string(devices.size()) + " device(s); index " +
                           std::to_string(device_index) + " requested");
    }
    std::unique_ptr<ClSession> s(new ClSession());
    s->device_ = devices[static_cast<size_t>(device_index)];
    s->info_ = DescribeDevice(name, s->device_);
    cl_int err = CL_SUCCESS;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM,
                                     reinterpret_cast<cl_context_properties>(p), 0};
    s->context_ = clCreateContext(props, 1, &s->device_, nullptr, nullptr, &err);
    DRAHIL_RETURN_IF_ERROR(ClStatus(err, "clCreateContext(" + s->info_.name + ")"));
    s->queue_ = clCreateCommandQueueWithProperties(s->context_, s->device_, nullptr, &err);
    DRAHIL_RETURN_IF_ERROR(ClStatus(err, "clCreateCommandQueueWithProperties"));
    return s;
  }
  if (want.empty()) return UnavailableError("no OpenCL platform has a device");
  return NotFoundError("no OpenCL platform matching \"" + std::string(platform_match) +
                       "\" with a device (platforms: " + seen + ")");
}

ClSession::~ClSession() {
  if (wedged_) return;  // see the header: never block on a device that stopped
  if (queue_ != nullptr) {
    clFinish(queue_);
    clReleaseCommandQueue(queue_);
  }
  for (auto p : programs_) clReleaseProgram(p);
  if (context_ != nullptr) clReleaseContext(context_);
}

Status ClSession::BuildProgram(std::string_view source, std::string_view options) {
  const char* text = source.data();
  size_t len = source.size();
  cl_int err = CL_SUCCESS;
  cl_program prog = clCreateProgramWithSource(context_, 1, &text, &len, &err);
  DRAHIL_RETURN_IF_ERROR(ClStatus(err, "clCreateProgramWithSource"));
  std::string opts(options);
  err = clBuildProgram(prog, 1, &device_, opts.c_str(), nullptr, nullptr);
  if (err != CL_SUCCESS) {
    size_t n = 0;
    clGetProgramBuildInfo(prog, device_, CL_PROGRAM_BUILD_LOG, 0, nullptr, &n);
    std::string log(n, '\0');
    if (n > 0) clGetProgramBuildInfo(prog, device_, CL_PROGRAM_BUILD_LOG, n, log.data(), nullptr);
    clReleaseProgram(prog);
    if (log.size() > 4000) log.resize(4000);
    return InternalError("clBuildProgram: " + ClErrorName(err) + ": " + log);
  }
  programs_.push_back(prog);
  return OkStatus();
}

Result<ClKernel> ClSession::Kernel(const std::string& name) {
  for (auto p : programs_) {
    cl_int err = CL_SUCCESS;
    cl_kernel k = clCreateKernel(p, name.c_str(), &err);
    if (err == CL_SUCCESS) return ClKernel(k, name);
    if (err != CL_INVALID_KERNEL_NAME) return ClStatus(err, "clCreateKernel(" + name + ")");
  }
  return NotFoundError("kernel " + name + " is in no built program");
}

Result<ClBuffer> ClSession::Allocate(uint64_t bytes) {
  if (bytes == 0) return InvalidArgumentError("zero-byte buffer");
  cl_int err = CL_SUCCESS;
  cl_mem m = clCreateBuffer(context_, CL_MEM_READ_WRITE, bytes, nullptr, &err);
  DRAHIL_RETURN_IF_ERROR(ClStatus(err, "clCreateBuffer(" + std::to_string(bytes) + ")"));
  return ClBuffer(m, bytes);
}

Status ClSession::Write(const ClBuffer& dst, uint64_t offset, const void* src, uint64_t bytes) {
  return ClStatus(
      clEnqueueWriteBuffer(queue_, dst.get(), CL_FALSE, offset, bytes, src, 0, nullptr, nullptr),
      "clEnqueueWriteBuffer");
}

Status ClSession::Read(void* dst, const ClBuffer& src, uint64_t offset, uint64_t bytes) {
  return ClStatus(
      clEnqueueReadBuffer(queue_, src.get(), CL_FALSE, offset, bytes, dst, 0, nullptr, nullptr),
      "clEnqueueReadBuffer");
}

Status ClSession::Copy(const ClBuffer& dst, const ClBuffer& src, uint64_t bytes) {
  return ClStatus(
      clEnqueueCopyBuffer(queue_, src.get(), dst.get(), 0, 0, bytes, 0, nullptr, nullptr),
      "clEnqueueCopyBuffer");
}

Status ClSession::Fill(const ClBuffer& dst, uint32_t pattern, uint64_t bytes) {
  return ClStatus(clEnqueueFillBuffer(queue_, dst.get(), &pattern, sizeof(pattern), 0,
                                      bytes / 4 * 4, 0, nullptr, nullptr),
                  "clEnqueueFillBuffer");
}

Status ClSession::Launch(const ClKernel& kernel, size_t global, size_t local) {
  if (global == 0) return OkStatus();
  if (local != 0 && global % local != 0) global = (global + local - 1) / local * local;
  return ClStatus(clEnqueueNDRangeKernel(queue_, kernel.get(), 1, nullptr, &global,
                                         local ? &local : nullptr, 0, nullptr, nullptr),
                  "clEnqueueNDRangeKernel(" + kernel.name() + ")");
}

Status ClSession::Drain(const Deadline& deadline) {
  wedged_ = false;
  return Finish(deadline);  // sets wedged_ again on timeout
}

Status ClSession::Finish(const Deadline& deadline) {
  if (wedged_) return FailedPreconditionError("OpenCL queue timed out earlier");
  cl_event marker = nullptr;
  DRAHIL_RETURN_IF_ERROR(
      ClStatus(clEnqueueMarkerWithWaitList(queue_, 0, nullptr, &marker), "clEnqueueMarker"));
  Status st = ClStatus(clFlush(queue_), "clFlush");
  auto sleep = std::chrono::microseconds(50);
  while (st.ok()) {
    cl_int exec = CL_QUEUED;
    st = ClStatus(
        clGetEventInfo(marker, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(exec), &exec, nullptr),
        "clGetEventInfo");
    if (!st.ok()) break;
    if (exec == CL_COMPLETE) break;
    if (exec < 0) {
      // A failed command (for example a lazy allocation the device refused)
      // poisons the marker with that command's error code.
      st = ClStatus(exec, "queued command");
      break;
    }
    if (deadline.Expired()) {
      wedged_ = true;
      st = DeadlineExceededError("OpenCL device did not finish before the deadline");
      break;
    }
    std::this_thread::sleep_for(sleep);
    sleep = std::min(sleep * 2, std::chrono::microseconds(2000));
  }
  clReleaseEvent(marker);
  return st;
}

}  // namespace drahil::probe_common
