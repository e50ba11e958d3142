#include "drahil/probe_common/util.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>

#include "drahil/core/quantity.hpp"

namespace drahil::probe_common {

double HostMemcpyBandwidth(size_t bytes, int reps) {
  if (bytes == 0 || reps <= 0) return 0;
  std::unique_ptr<char[]> src(new char[bytes]);
  std::unique_ptr<char[]> dst(new char[bytes]);
  // Touch every page first so the timing sees copies, not page faults.
  std::memset(src.get(), 0x5a, bytes);
  std::memset(dst.get(), 0, bytes);
  std::memcpy(dst.get(), src.get(), bytes);  // warm-up, like the device paths get
  // Timed like the device figures: all reps back to back, total time.
  auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) {
    std::memcpy(dst.get(), src.get(), bytes);
    // Make each copy observable so none can be elided.
    src[static_cast<size_t>(r) % bytes] = dst[bytes - 1 - static_cast<size_t>(r) % bytes];
  }
  double s = SecondsSince(t0);
  if (dst[bytes / 2] != 0x5a) return 0;
  return s > 0 ? static_cast<double>(bytes) * reps / s / 1e9 : 0;
}

Result<uint64_t> ParseBytes(std::string_view text, std::string_view flag) {
  auto q = Quantity::Parse(text);
  if (!q.ok()) return q.status().WithContext(std::string(flag));
  if (q->Sign() < 0) {
    return InvalidArgumentError(std::string(flag) + ": \"" + std::string(text) + "\" is negative");
  }
  if (q->nanos() % 1000000000 != 0) {
    return InvalidArgumentError(std::string(flag) + ": \"" + std::string(text) +
                                "\" is not a whole number of bytes");
  }
  return static_cast<uint64_t>(q->Value());
}

std::string FormatBytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) {
    std::snprintf(buf, sizeof(buf), "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f %s", v, kUnits[u]);
  }
  return buf;
}

}  // namespace drahil::probe_common
