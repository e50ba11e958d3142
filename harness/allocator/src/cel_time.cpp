// CEL timestamps and durations as cel-go implements them (common/types
// timestamp.go, duration.go; the standard library's getters): timestamps
// between 0001-01-01 and 9999-12-31 UTC with nanoseconds, parsed as Go's
// time.Parse(time.RFC3339); durations as Go's time.Duration (int64
// nanoseconds), parsed as time.ParseDuration(). Kubernetes sets
// cel.DefaultUTCTimeZone(true), so getters without a time zone use UTC.
#include <cinttypes>
#include <cstdio>
#include <string>

#include "cel_functions.hpp"

namespace drahil::allocator::cel::internal {
namespace {

using K = Value::Kind;

constexpr int64_t kMinUnix = -62135596800;  // 0001-01-01T00:00:00Z
constexpr int64_t kMaxUnix = 253402300799;  // 9999-12-31T23:59:59Z
constexpr int64_t kNanosPerSecond = 1000000000;

// Days from civil (proleptic Gregorian), Howard Hinnant's algorithm.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct Civil {
  int64_t year;
  unsigned month, day;
};

Civil CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

bool Digits(const std::string& s, size_t at, size_t n, int* out) {
  if (at + n > s.size()) return false;
  int v = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

std::string ConversionError(const char* to) {
  return std::string("type conversion error from 'string' to '") + to + "'";
}

}  // namespace

Value MakeTimestamp(int64_t seconds, int32_t nanos) {
  while (nanos < 0) {
    nanos += kNanosPerSecond;
    --seconds;
  }
  while (nanos >= kNanosPerSecond) {
    nanos -= kNanosPerSecond;
    ++seconds;
  }
  if (seconds < kMinUnix || seconds > kMaxUnix) return Value::Error("timestamp overflow");
  return Value::Timestamp(TimestampValue{seconds, nanos});
}

// ParseTimestamp(): time.Parse(time.RFC3339, s): YYYY-MM-DDTHH:MM:SS with
// optional fractional seconds and Z or ±HH:MM.
Value ParseTimestamp(const std::string& s) {
  int y, mo, d, h, mi, se;
  if (!Digits(s, 0, 4, &y) || s.size() < 19 || s[4] != '-' || !Digits(s, 5, 2, &mo) ||
      s[7] != '-' || !Digits(s, 8, 2, &d) || s[10] != 'T' || !Digits(s, 11, 2, &h) ||
      s[13] != ':' || !Digits(s, 14, 2, &mi) || s[16] != ':' || !Digits(s, 17, 2, &se)) {
    return Value::Error(ConversionError("google.protobuf.Timestamp"));
  }
  size_t at = 19;
  int64_t nanos = 0;
  if (at < s.size() && (s[at] == '.' || s[at] == ',')) {
    size_t start = ++at;
    int64_t scale = kNanosPerSecond;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') {
      if (scale > 1) {
        scale /= 10;
        nanos += (s[at] - '0') * scale;
      }
      ++at;
    }
    if (at == start) return Value::Error(ConversionError("google.protobuf.Timestamp"));
  }
  int64_t offset = 0;
  if (at < s.size() && s[at] == 'Z' && at + 1 == s.size()) {
    ++at;
  } else if (at < s.size() && (s[at] == '+' || s[at] == '-')) {
    int oh, om;
    if (!Digits(s, at + 1, 2, &oh) || at + 3 >= s.size() || s[at + 3] != ':' ||
        !Digits(s, at + 4, 2, &om) || at + 6 != s.size() || oh > 23 || om > 59) {
      return Value::Error(ConversionError("google.protobuf.Timestamp"));
    }
    offset = (oh * 3600 + om * 60) * (s[at] == '-' ? -1 : 1);
    at += 6;
  }
  static const int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (at != s.size() || mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] ||
      (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || se > 59) {
    return Value::Error(ConversionError("google.protobuf.Timestamp"));
  }
  int64_t secs = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
                 h * 3600 + mi * 60 + se - offset;
  return MakeTimestamp(secs, static_cast<int32_t>(nanos));
}

// ParseDuration(): time.ParseDuration(): [-+]?([0-9]*(\.[0-9]*)?unit)+ with
// units ns us µs ms s m h, or "0".
Value ParseDuration(const std::string& s) {
  const Value bad = Value::Error(ConversionError("google.protobuf.Duration"));
  size_t i = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
  if (s.substr(i) == "0") return Value::Duration(0);
  if (i == s.size()) return bad;
  __int128 total = 0;
  while (i < s.size()) {
    __int128 whole = 0, frac = 0, scale = 1;
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      whole = whole * 10 + (s[i++] - '0');
      if (whole > (static_cast<__int128>(1) << 63)) return bad;
    }
    bool digits = i > start;
    if (i < s.size() && s[i] == '.') {
      ++i;
      size_t fs = i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        if (scale < static_cast<__int128>(1) << 62) {
          frac = frac * 10 + (s[i] - '0');
          scale *= 10;
        }
        ++i;
      }
      digits = digits || i > fs;
    }
    if (!digits) return bad;
    size_t us = i;
    while (i < s.size() && !(s[i] == '.' || (s[i] >= '0' && s[i] <= '9'))) ++i;
    std::string unit = s.substr(us, i - us);
    int64_t mult;
    if (unit == "ns") {
      mult = 1;
    } else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") {
      mult = 1000;
    } else if (unit == "ms") {
      mult = 1000000;
    } else if (unit == "s") {
      mult = kNanosPerSecond;
    } else if (unit == "m") {
      mult = 60 * kNanosPerSecond;
    } else if (unit == "h") {
      mult = 3600 * kNanosPerSecond;
    } else {
      return bad;
    }
    total += whole * mult + frac * mult / scale;
    if (total > (static_cast<__int128>(1) << 63)) return bad;
  }
  if (neg) total = -total;
  if (total > INT64_MAX || total < INT64_MIN) return bad;
  return Value::Duration(static_cast<int64_t>(total));
}

std::string TimestampToString(const TimestampValue& t) {
  int64_t days = t.seconds >= 0 ? t.seconds / 86400 : (t.seconds - 86399) / 86400;
  int64_t rem = t.seconds - days * 86400;
  Civil c = CivilFromDays(days);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d", c.year, c.month, c.day,
                static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60),
                static_cast<int>(rem % 60));
  std::string out = buf;
  if (t.nanos) {
    std::snprintf(buf, sizeof(buf), ".%09d", t.nanos);
    std::string frac = buf;
    while (frac.back() == '0') frac.pop_back();
    out += frac;
  }
  return out + "Z";
}

// DurationToString(): cel-go prints the seconds as a float with an "s".
std::string DurationToString(int64_t nanos) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9f", static_cast<double>(nanos) / 1e9);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s + "s";
}

// TimeGetter(): the timestamp getters (in `tz`: "UTC", "" or ±HH:MM; IANA
// names are not known) and the duration getters.
Value TimeGetter(const Node& n, const Value& a, const Value* tz) {
  if (a.kind == K::kDuration) {
    if (tz) return NoOverload(n.name.c_str(), a, *tz);
    int64_t d = a.i;
    if (n.name == "getHours") return Value::Int(d / (3600 * kNanosPerSecond));
    if (n.name == "getMinutes") return Value::Int(d / (60 * kNanosPerSecond));
    if (n.name == "getSeconds") return Value::Int(d / kNanosPerSecond);
    if (n.name == "getMilliseconds") return Value::Int(d / 1000000);
    return NoOverload(n.name.c_str(), a);
  }
  if (a.kind != K::kTimestamp) return NoOverload(n.name.c_str(), a);
  int64_t offset = 0;
  if (tz) {
    if (tz->kind != K::kString) return NoOverload(n.name.c_str(), a, *tz);
    const std::string& z = tz->str();
    int oh, om;
    if (z.find(':') != std::string::npos) {
      // cel-go: an offset "[+-]HH:MM" (the sign optional).
      size_t at = (z[0] == '+' || z[0] == '-') ? 1 : 0;
      if (!Digits(z, at, 2, &oh) || z.size() != at + 5 || z[at + 2] != ':' ||
          !Digits(z, at + 3, 2, &om)) {
        return Value::Error("unknown time zone " + z);
      }
      offset = (oh * 3600 + om * 60) * (z[0] == '-' ? -1 : 1);
    } else if (!(z == "UTC" || z.empty())) {
      return Value::Error("unknown time zone " + z);
    }
  }
  const TimestampValue& t = a.timestamp();
  int64_t secs = t.seconds + offset;
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t rem = secs - days * 86400;
  Civil c = CivilFromDays(days);
  const std::string& g = n.name;
  if (g == "getFullYear") return Value::Int(c.year);
  if (g == "getMonth") return Value::Int(c.month - 1);
  if (g == "getDate") return Value::Int(c.day);
  if (g == "getDayOfMonth") return Value::Int(c.day - 1);
  if (g == "getDayOfYear") {
    return Value::Int(days - DaysFromCivil(c.year, 1, 1));
  }
  if (g == "getDayOfWeek") return Value::Int(((days % 7) + 7 + 4) % 7);  // 1970-01-01: Thursday
  if (g == "getHours") return Value::Int(rem / 3600);
  if (g == "getMinutes") return Value::Int(rem / 60 % 60);
  if (g == "getSeconds") return Value::Int(rem % 60);
  if (g == "getMilliseconds") return Value::Int(t.nanos / 1000000);
  return NoOverload(n.name.c_str(), a);
}

// TimeArith(): timestamp and duration + and -; nullopt-like kNull when the
// operands are not time values.
Value TimeArith(Op op, const Value& a, const Value& b) {
  auto dur = [](__int128 v) {
    if (v > INT64_MAX || v < INT64_MIN) return Value::Error("integer overflow");
    return Value::Duration(static_cast<int64_t>(v));
  };
  auto plus = [](const TimestampValue& t, __int128 d) {
    __int128 n = static_cast<__int128>(t.seconds) * kNanosPerSecond + t.nanos + d;
    __int128 s = n / kNanosPerSecond;
    __int128 r = n % kNanosPerSecond;
    if (r < 0) {
      r += kNanosPerSecond;
      --s;
    }
    if (s < kMinUnix || s > kMaxUnix) return Value::Error("timestamp overflow");
    return MakeTimestamp(static_cast<int64_t>(s), static_cast<int32_t>(r));
  };
  if (a.kind == K::kDuration && b.kind == K::kDuration) {
    if (op == Op::kAdd) return dur(static_cast<__int128>(a.i) + b.i);
    if (op == Op::kSub) return dur(static_cast<__int128>(a.i) - b.i);
  } else if (a.kind == K::kTimestamp && b.kind == K::kDuration) {
    if (op == Op::kAdd) return plus(a.timestamp(), b.i);
    if (op == Op::kSub) return plus(a.timestamp(), -static_cast<__int128>(b.i));
  } else if (a.kind == K::kDuration && b.kind == K::kTimestamp && op == Op::kAdd) {
    return plus(b.timestamp(), a.i);
  } else if (a.kind == K::kTimestamp && b.kind == K::kTimestamp && op == Op::kSub) {
    __int128 x =
        static_cast<__int128>(a.timestamp().seconds) * kNanosPerSecond + a.timestamp().nanos;
    __int128 y =
        static_cast<__int128>(b.timestamp().seconds) * kNanosPerSecond + b.timestamp().nanos;
    return dur(x - y);
  }
  return NoOverload("arithmetic", a, b);
}

int TimeCompare(const Value& a, const Value& b) {
  if (a.kind == K::kDuration) return a.i < b.i ? -1 : (a.i > b.i ? 1 : 0);
  const TimestampValue& x = a.timestamp();
  const TimestampValue& y = b.timestamp();
  if (x.seconds != y.seconds) return x.seconds < y.seconds ? -1 : 1;
  return x.nanos < y.nanos ? -1 : (x.nanos > y.nanos ? 1 : 0);
}

}  // namespace drahil::allocator::cel::internal
