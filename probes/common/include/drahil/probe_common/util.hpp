// File: util.hpp
//
// Small helpers shared by the probes: deadlines for device waits, the host
// memcpy baseline, and command-line value parsing.
//
// Thread-safety: pure functions; Deadline is a value.
#ifndef DRAHIL_PROBE_COMMON_UTIL_HPP_INCLUDED
#define DRAHIL_PROBE_COMMON_UTIL_HPP_INCLUDED

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "drahil/core/status.hpp"

namespace drahil::probe_common {

// Deadline: the point after which a device wait gives up. Every loop that
// waits on a device takes one (kernels cannot be trusted to finish: a wedged
// GPU or a runaway kernel must end the probe with an error, not a hang).
class Deadline {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Deadline(std::chrono::milliseconds budget) : at_(Clock::now() + budget) {}
  static Deadline At(Clock::time_point t) { return Deadline(t); }
  [[nodiscard]] bool Expired() const { return Clock::now() >= at_; }
  [[nodiscard]] std::chrono::milliseconds Remaining() const {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(at_ - Clock::now());
    return left.count() > 0 ? left : std::chrono::milliseconds(0);
  }
  [[nodiscard]] Clock::time_point at() const { return at_; }

 private:
  explicit Deadline(Clock::time_point t) : at_(t) {}
  Clock::time_point at_;
};

// Seconds(): a steady-clock stopwatch reading.
inline double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// HostMemcpyBandwidth(): GB/s (1e9 bytes/s of data copied, not counting the
// read and the write separately) of std::memcpy between two page-touched
// buffers of `bytes`: one warm-up, then `reps` copies timed together, the
// same way the device copy figures are taken. The baseline the OpenCL/emulated
// bandwidth figures are compared with: on PoCL both are host memory.
double HostMemcpyBandwidth(size_t bytes, int reps);

// ParseBytes(): a Kubernetes quantity ("80Gi", "10G", "1048576") as bytes;
// fractional or negative values are errors naming the flag.
Result<uint64_t> ParseBytes(std::string_view text, std::string_view flag);

// FormatBytes(): 1536 -> "1.5 KiB".
std::string FormatBytes(uint64_t bytes);

}  // namespace drahil::probe_common

#endif  // DRAHIL_PROBE_COMMON_UTIL_HPP_INCLUDED
