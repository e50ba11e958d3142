// The protobuf codec (see protobuf.hpp): a wire reader and writer, one
// decoder and one encoder walking the schema table of protobuf_schema.cpp,
// the "k8s\0" + runtime.Unknown envelope (apimachinery's
// runtime/serializer/protobuf Serializer), the watch stream framing (its
// RawSerializer with LengthDelimitedFramer, as codec_factory.go pairs them)
// and output media negotiation.
#include "protobuf.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string_view>
#include <vector>

#include "protobuf_schema.hpp"

namespace drahil::apiserver::internal {

using nlohmann::json;

namespace {

const std::string_view kMagic("k8s\0", 4);

// Go's zero time.Time (0001-01-01T00:00:00Z) in Unix seconds: what client-go
// sends for an unset metav1.Time that is not a pointer (creationTimestamp).
constexpr int64_t kZeroTimeSeconds = -62135596800;

// Go's encoding/json nesting limit, for RawExtension payloads.
constexpr int kMaxJsonDepth = 10000;

const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64(std::string_view in) {
  std::string out;
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(in[k])); };
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kB64[(n >> s) & 0x3F]);
  }
  size_t rest = in.size() - i;
  if (rest > 0) {
    uint32_t n = byte(i) << 16;
    if (rest == 2) n |= byte(i + 1) << 8;
    out.push_back(kB64[(n >> 18) & 0x3F]);
    out.push_back(kB64[(n >> 12) & 0x3F]);
    out.push_back(rest == 2 ? kB64[(n >> 6) & 0x3F] : '=');
    out.push_back('=');
  }
  return out;
}

// UnBase64(): Go's base64.StdEncoding as encoding/json decodes []byte
// (padding required); nullopt when not valid.
std::optional<std::string> UnBase64(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '=') {
      // Only at the end, at most two, completing the last quantum.
      if (i + 2 < in.size() || (i + 1 < in.size() && in[i + 1] != '=')) return std::nullopt;
      ++pad;
      continue;
    }
    const char* p = c == '\0' ? nullptr : std::strchr(kB64, c);
    if (p == nullptr || pad > 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  if (pad > 2) return std::nullopt;
  return out;
}

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k) {
      auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

// JsonTooDeep(): more than kMaxJsonDepth nested arrays or objects.
bool JsonTooDeep(std::string_view s) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

// --- wire format ---------------------------------------------------------------

// Reader: protobuf wire format over a byte string.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool done() const { return pos_ >= data_.size(); }
  bool Varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) return false;
      auto b = static_cast<unsigned char>(data_[pos_++]);
      *v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  // Next(): the next field; length-delimited values in *bytes, varints in
  // *num. On failure *why says what was wrong and *field is the field number
  // when the key could be read (0 otherwise).
  bool Next(uint32_t* field, int* wire, std::string_view* bytes, uint64_t* num,
            std::string* why = nullptr) {
    auto fail = [&](const char* w) {
      if (why != nullptr) *why = w;
      return false;
    };
    *field = 0;
    uint64_t key = 0;
    if (!Varint(&key)) return fail("truncated varint (field key)");
    if ((key >> 3) == 0 || (key >> 3) > 0x1FFFFFFF) return fail("invalid field number 0");
    *field = static_cast<uint32_t>(key >> 3);
    *wire = static_cast<int>(key & 7);
    switch (*wire) {
      case 0:
        if (!Varint(num)) return fail("truncated varint");
        return true;
      case 1:
        if (!Skip(8)) return fail("truncated fixed64");
        return true;
      case 5:
        if (!Skip(4)) return fail("truncated fixed32");
        return true;
      case 2: {
        uint64_t len = 0;
        if (!Varint(&len)) return fail("truncated varint (length)");
        if (len > data_.size() - pos_) return fail("length beyond the end of the message");
        *bytes = data_.substr(pos_, len);
        pos_ += len;
        return true;
      }
      default:
        return fail("unsupported wire type (groups or invalid)");
    }
  }

 private:
  bool Skip(size_t n) {
    if (n > data_.size() - pos_) return false;
    pos_ += n;
    return true;
  }
  std::string_view data_;
  size_t pos_ = 0;
};

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutKey(std::string* out, uint32_t field, int wire) {
  PutVarint(out, (static_cast<uint64_t>(field) << 3) | static_cast<uint64_t>(wire));
}

void PutBytes(std::string* out, uint32_t field, std::string_view b) {
  PutKey(out, field, 2);
  PutVarint(out, b.size());
  out->append(b.data(), b.size());
}

void PutInt(std::string* out, uint32_t field, uint64_t v) {
  PutKey(out, field, 0);
  PutVarint(out, v);
}

// --- envelope walking ----------------------------------------------------------

using FieldFn = std::function<bool(uint32_t field, int wire, std::string_view bytes, uint64_t num)>;

bool Walk(std::string_view msg, const FieldFn& fn) {
  Reader r(msg);
  while (!r.done()) {
    uint32_t field = 0;
    int wire = 0;
    std::string_view bytes;
    uint64_t num = 0;
    if (!r.Next(&field, &wire, &bytes, &num)) return false;
    if (!fn(field, wire, bytes, num)) return false;
  }
  return true;
}

// --- time ----------------------------------------------------------------------

// Days since 1970-01-01 of a proleptic Gregorian date, and back (the civil
// calendar algorithms).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2 ? 1 : 0);
}

// FormatTime(): metav1.Time's JSON form, RFC 3339 in UTC to the second.
std::string FormatTime(int64_t seconds) {
  int64_t days = seconds / 86400;
  int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int64_t y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(days, &y, &m, &d);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ",
                static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600),
                static_cast<long long>((rem / 60) % 60), static_cast<long long>(rem % 60));
  return buf;
}

// ParseTime(): RFC 3339 ("2025-01-02T03:04:05Z", fractions, "+01:00").
bool ParseTime(const std::string& s, int64_t* seconds, int32_t* nanos) {
  auto digits = [&](size_t pos, size_t n, int* out) {
    if (pos + n > s.size()) return false;
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
      v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
  };
  int Y = 0, M = 0, D = 0, h = 0, mi = 0, sec = 0;
  if (!digits(0, 4, &Y) || s.size() < 20 || s[4] != '-' || !digits(5, 2, &M) || s[7] != '-' ||
      !digits(8, 2, &D) || (s[10] != 'T' && s[10] != 't') || !digits(11, 2, &h) || s[13] != ':' ||
      !digits(14, 2, &mi) || s[16] != ':' || !digits(17, 2, &sec)) {
    return false;
  }
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || mi > 59 || sec > 60) return false;
  size_t pos = 19;
  int64_t ns = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int n = 0;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      if (n < 9) {
        ns = ns * 10 + (s[pos] - '0');
        ++n;
      }
      ++pos;
    }
    if (n == 0) return false;
    for (; n < 9; ++n) ns *= 10;
  }
  int64_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh = 0, om = 0;
    if (!digits(pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(pos + 4, 2, &om)) {
      return false;
    }
    offset = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return false;
  }
  if (pos != s.size()) return false;
  *seconds = DaysFromCivil(Y, M, D) * 86400 + h * 3600 + mi * 60 + sec - offset;
  *nanos = static_cast<int32_t>(ns);
  return true;
}

// --- schema decoder ---------------------------------------------------------------

using pb::Field;
using pb::Message;
using pb::Type;

struct DecodeError {
  std::string* out;
  bool Fail(const Message& m, uint32_t field, const std::string& path, const std::string& what) {
    std::string where = path.empty() ? m.name : path;
    if (field != 0) {
      const char* name = "";
      for (const auto& f : m.fields) {
        if (f.number == field) name = f.json;
      }
      *out = "field " + std::to_string(field) +
             (name[0] != '\0' ? " (" + std::string(name) + ")" : std::string()) + " of message " +
             m.name + " at " + where + ": " + what;
    } else {
      *out = "message " + std::string(m.name) + " at " + where + ": " + what;
    }
    return false;
  }
};

bool IsVarintType(Type t) { return t == Type::kInt64 || t == Type::kInt32 || t == Type::kBool; }

// VarintJson(): a varint field's value as Go's JSON shows it; *zero says it
// is Go's zero value.
json VarintJson(Type t, uint64_t v, bool* zero) {
  switch (t) {
    case Type::kBool:
      *zero = v == 0;
      return v != 0;
    case Type::kInt32:
      *zero = static_cast<uint32_t>(v) == 0;
      return static_cast<int32_t>(static_cast<uint32_t>(v));
    default:
      *zero = v == 0;
      return static_cast<int64_t>(v);
  }
}

// SubMessage(): the fields of a small fixed message ({seconds, nanos},
// {string}, {raw}, map entries {key, value}); every field must be
// length-delimited or varint as `varint_fields` says, others are errors.
struct Sub {
  uint32_t field;
  int wire;
  std::string_view bytes;
  uint64_t num;
};

bool ReadFixed(std::string_view data, uint32_t max_field, uint32_t varint_mask,
               std::vector<Sub>* out, std::string* why) {
  Reader r(data);
  while (!r.done()) {
    Sub s{};
    if (!r.Next(&s.field, &s.wire, &s.bytes, &s.num, why)) return false;
    if (s.field > max_field) {
      *why = "unknown field " + std::to_string(s.field);
      return false;
    }
    int want = (varint_mask >> s.field) & 1 ? 0 : 2;
    if (s.wire != want) {
      *why = "field " + std::to_string(s.field) + " has wire type " + std::to_string(s.wire) +
             ", want " + std::to_string(want);
      return false;
    }
    out->push_back(s);
  }
  return true;
}

// DecodeScalarLike(): the JSON value of one non-message field value
// (strings, time, quantity, raw). *present false: the value is Go's zero value
// of an omitempty field and stays out of the JSON.
bool DecodeLeaf(const Field& f, std::string_view bytes, json* v, bool* present, std::string* why) {
  *present = true;
  switch (f.type) {
    case Type::kString:
      if (!ValidUtf8(bytes)) {
        *why = "invalid UTF-8";
        return false;
      }
      *v = std::string(bytes);
      *present = !bytes.empty() || (f.flags & (pb::kKeepZero | pb::kRepeated)) != 0;
      return true;
    case Type::kTime:
    case Type::kMicroTime: {
      std::vector<Sub> subs;
      if (!ReadFixed(bytes, 2, 0b110, &subs, why)) {
        *why = "in Time: " + *why;
        return false;
      }
      int64_t seconds = 0;
      int64_t nanos = 0;
      for (const auto& s : subs) {
        if (s.field == 1) seconds = static_cast<int64_t>(s.num);
        if (s.field == 2) nanos = static_cast<int32_t>(s.num);
      }
      if (seconds == kZeroTimeSeconds || seconds < -62135596800 || seconds > 253402300799) {
        *present = false;  // Go's zero time: JSON null
        return true;
      }
      if (f.type == Type::kTime) {
        *v = FormatTime(seconds);
        return true;
      }
      // metav1.RFC3339Micro: six fraction digits, always.
      if (nanos < 0 || nanos > 999999999) {
        *why = "in MicroTime: nanos out of range";
        return false;
      }
      std::string t = FormatTime(seconds);
      char frac[16];
      std::snprintf(frac, sizeof frac, ".%06lld", static_cast<long long>(nanos / 1000));
      t.insert(t.size() - 1, frac);
      *v = t;
      return true;
    }
    case Type::kQuantity: {
      std::vector<Sub> subs;
      if (!ReadFixed(bytes, 1, 0, &subs, why)) {
        *why = "in Quantity: " + *why;
        return false;
      }
      std::string q = "0";
      for (const auto& s : subs) q = std::string(s.bytes);
      if (!ValidUtf8(q)) {
        *why = "invalid UTF-8 in Quantity";
        return false;
      }
      *v = q;
      return true;
    }
    case Type::kRaw: {
      std::vector<Sub> subs;
      if (!ReadFixed(bytes, 1, 0, &subs, why)) {
        *why = "in RawExtension: " + *why;
        return false;
      }
      std::string_view raw;
      for (const auto& s : subs) raw = s.bytes;
      if (raw.empty()) {
        *present = false;
        return true;
      }
      if (JsonTooDeep(raw)) {
        *why = "raw JSON nested too deeply";
        return false;
      }
      *v = json::parse(raw, nullptr, false);
      if (v->is_discarded()) {
        *why = "raw bytes are not JSON";
        return false;
      }
      return true;
    }
    default:
      *why = "internal: not a leaf type";
      return false;
  }
}

bool DecodeMessage(std::string_view data, const Message& m, json& out, const std::string& path,
                   std::string* err, int depth);

bool DecodeMapEntry(const Field& f, std::string_view entry, json& out, const std::string& path,
                    std::string* err, int depth, std::string* why) {
  std::vector<Sub> subs;
  if (!ReadFixed(entry, 2, 0, &subs, why)) {
    *why = "in map entry: " + *why;
    return false;
  }
  std::string key;
  std::string_view value;
  bool has_value = false;
  for (const auto& s : subs) {
    if (s.field == 1) key = std::string(s.bytes);
    if (s.field == 2) {
      value = s.bytes;
      has_value = true;
    }
  }
  if (!ValidUtf8(key)) {
    *why = "invalid UTF-8 in map key";
    return false;
  }
  json& map = out[f.json];
  if (!map.is_object()) map = json::object();
  std::string sub_path = path + "." + f.json + "[" + key + "]";
  switch (f.type) {
    case Type::kMapString:
      if (!ValidUtf8(value)) {
        *why = "invalid UTF-8 in map value";
        return false;
      }
      map[key] = std::string(value);
      return true;
    case Type::kMapBytes:
      map[key] = Base64(value);
      return true;
    case Type::kMapQuantity: {
      Field q{2, "", Type::kQuantity};
      json v;
      bool present = false;
      if (!has_value) {
        map[key] = "0";
        return true;
      }
      if (!DecodeLeaf(q, value, &v, &present, why)) return false;
      map[key] = v;
      return true;
    }
    case Type::kMapMessage: {
      json v = json::object();
      if (!DecodeMessage(value, *f.message, v, sub_path, err, depth + 1)) {
        *why = "";  // *err is set
        return false;
      }
      map[key] = std::move(v);
      return true;
    }
    default:
      *why = "internal: not a map type";
      return false;
  }
}

constexpr int kMaxMessageDepth = 32;

bool DecodeMessage(std::string_view data, const Message& m, json& out, const std::string& path,
                   std::string* err, int depth) {
  DecodeError e{err};
  if (depth > kMaxMessageDepth) return e.Fail(m, 0, path, "nested too deeply");
  Reader r(data);
  while (!r.done()) {
    uint32_t num = 0;
    int wire = 0;
    std::string_view bytes;
    uint64_t v = 0;
    std::string why;
    if (!r.Next(&num, &wire, &bytes, &v, &why)) return e.Fail(m, num, path, why);
    const Field* f = nullptr;
    for (const auto& cand : m.fields) {
      if (cand.number == num) f = &cand;
    }
    if (f == nullptr) return e.Fail(m, num, path, "unknown field");
    bool repeated = (f->flags & pb::kRepeated) != 0;
    if (repeated && wire == 2 && IsVarintType(f->type)) {
      // A packed repeated scalar (parsers take both forms; Go's marshaller
      // writes these proto2 fields unpacked).
      json& arr = out[f->json];
      if (!arr.is_array()) arr = json::array();
      Reader packed(bytes);
      while (!packed.done()) {
        uint64_t x = 0;
        bool zero = false;
        if (!packed.Varint(&x)) return e.Fail(m, num, path, "truncated varint in packed field");
        arr.push_back(VarintJson(f->type, x, &zero));
      }
      continue;
    }
    int want = IsVarintType(f->type) ? 0 : 2;
    if (wire != want) {
      return e.Fail(m, num, path,
                    "wire type " + std::to_string(wire) + ", want " + std::to_string(want));
    }
    std::string sub_path = path + "." + f->json;
    if (repeated) {
      const json& arr = out[f->json];
      sub_path += "[" + std::to_string(arr.is_array() ? arr.size() : 0) + "]";
    }
    json value;
    bool present = true;
    switch (f->type) {
      case Type::kInt64:
      case Type::kInt32:
      case Type::kBool: {
        bool zero = false;
        value = VarintJson(f->type, v, &zero);
        present = !zero || (f->flags & pb::kKeepZero) != 0;
        break;
      }
      case Type::kMessage:
        if ((f->flags & pb::kInline) != 0) {
          if (!DecodeMessage(bytes, *f->message, out, path, err, depth + 1)) return false;
          continue;
        }
        value = json::object();
        if (!DecodeMessage(bytes, *f->message, value, sub_path, err, depth + 1)) return false;
        break;
      case Type::kMapString:
      case Type::kMapQuantity:
      case Type::kMapMessage:
      case Type::kMapBytes:
        if (!DecodeMapEntry(*f, bytes, out, path, err, depth, &why)) {
          return why.empty() ? false : e.Fail(m, num, path, why);
        }
        continue;
      default:
        if (!DecodeLeaf(*f, bytes, &value, &present, &why)) return e.Fail(m, num, path, why);
        break;
    }
    if (repeated) {
      json& arr = out[f->json];
      if (!arr.is_array()) arr = json::array();
      arr.push_back(std::move(value));
    } else if (present) {
      out[f->json] = std::move(value);
    }
  }
  return true;
}

// --- schema encoder ----------------------------------------------------------------

bool IsTopLevel(const Message& m) {
  for (const auto& k : pb::Kinds()) {
    if (k.message == &m) return true;
    if (k.item_kind != nullptr) {
      for (const auto& f : k.message->fields) {
        if (f.number == 2 && f.message == &m) return true;
      }
    }
  }
  return false;
}

struct EncodeError {
  std::string* out;
  bool Fail(const Message& m, const Field* f, const std::string& path, const std::string& what) {
    *out = (f != nullptr ? "field " + std::to_string(f->number) + " (" + f->json + ") of " : "") +
           "message " + m.name + " at " + (path.empty() ? m.name : path) + ": " + what;
    return false;
  }
};

bool EncodeMessage(const json& obj, const Message& m, std::string* out, const std::string& path,
                   std::string* err, bool check_unknown);

// EncodeInt(): a JSON number that is a whole number.
bool JsonInt(const json& v, int64_t* out) {
  if (v.is_number_integer()) {
    *out = v.get<int64_t>();
    return true;
  }
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (d != static_cast<double>(static_cast<int64_t>(d))) return false;
    *out = static_cast<int64_t>(d);
    return true;
  }
  return false;
}

// EncodeValue(): one value of field f (an element, for repeated fields).
bool EncodeValue(const json& v, const Field& f, const Message& m, std::string* out,
                 const std::string& path, std::string* err) {
  EncodeError e{err};
  switch (f.type) {
    case Type::kString:
      if (!v.is_string()) return e.Fail(m, &f, path, "want a string");
      PutBytes(out, f.number, v.get_ref<const std::string&>());
      return true;
    case Type::kInt64:
    case Type::kInt32: {
      int64_t n = 0;
      if (!JsonInt(v, &n)) return e.Fail(m, &f, path, "want an integer");
      if (f.type == Type::kInt32 && (n < INT32_MIN || n > INT32_MAX)) {
        return e.Fail(m, &f, path, "out of the int32 range");
      }
      PutInt(out, f.number, static_cast<uint64_t>(n));
      return true;
    }
    case Type::kBool:
      if (!v.is_boolean()) return e.Fail(m, &f, path, "want a boolean");
      PutInt(out, f.number, v.get<bool>() ? 1 : 0);
      return true;
    case Type::kMessage: {
      std::string sub;
      if (!EncodeMessage(v, *f.message, &sub, path, err, true)) return false;
      PutBytes(out, f.number, sub);
      return true;
    }
    case Type::kTime:
    case Type::kMicroTime: {
      int64_t s = 0;
      int32_t ns = 0;
      if (!v.is_string() || !ParseTime(v.get<std::string>(), &s, &ns)) {
        return e.Fail(m, &f, path, "want an RFC 3339 time");
      }
      std::string sub;
      PutInt(&sub, 1, static_cast<uint64_t>(s));
      if (ns != 0) PutInt(&sub, 2, static_cast<uint64_t>(static_cast<int64_t>(ns)));
      PutBytes(out, f.number, sub);
      return true;
    }
    case Type::kQuantity: {
      std::string q;
      if (v.is_string()) {
        q = v.get<std::string>();
      } else if (v.is_number()) {
        q = v.dump();
      } else {
        return e.Fail(m, &f, path, "want a quantity");
      }
      std::string sub;
      PutBytes(&sub, 1, q);
      PutBytes(out, f.number, sub);
      return true;
    }
    case Type::kRaw: {
      std::string sub;
      PutBytes(&sub, 1, v.dump());
      PutBytes(out, f.number, sub);
      return true;
    }
    case Type::kMapString:
    case Type::kMapQuantity:
    case Type::kMapMessage:
    case Type::kMapBytes: {
      if (!v.is_object()) return e.Fail(m, &f, path, "want an object");
      for (const auto& [key, val] : v.items()) {
        if (val.is_null()) continue;
        std::string entry;
        PutBytes(&entry, 1, key);
        std::string sub_path = path + "[" + key + "]";
        if (f.type == Type::kMapString) {
          if (!val.is_string()) return e.Fail(m, &f, sub_path, "want a string");
          PutBytes(&entry, 2, val.get_ref<const std::string&>());
        } else if (f.type == Type::kMapBytes) {
          auto raw = val.is_string() ? UnBase64(val.get_ref<const std::string&>()) : std::nullopt;
          if (!raw) return e.Fail(m, &f, sub_path, "want a base64 string");
          PutBytes(&entry, 2, *raw);
        } else if (f.type == Type::kMapQuantity) {
          Field q{2, f.json, Type::kQuantity};
          if (!EncodeValue(val, q, m, &entry, sub_path, err)) return false;
        } else {
          std::string sub;
          if (!EncodeMessage(val, *f.message, &sub, sub_path, err, true)) return false;
          PutBytes(&entry, 2, sub);
        }
        PutBytes(out, f.number, entry);
      }
      return true;
    }
  }
  return e.Fail(m, &f, path, "internal: unknown type");
}

bool KnownKey(const Message& m, const std::string& key) {
  for (const auto& f : m.fields) {
    if ((f.flags & pb::kInline) != 0) {
      if (KnownKey(*f.message, key)) return true;
    } else if (key == f.json) {
      return true;
    }
  }
  return false;
}

bool EncodeMessage(const json& obj, const Message& m, std::string* out, const std::string& path,
                   std::string* err, bool check_unknown) {
  EncodeError e{err};
  if (!obj.is_object()) return e.Fail(m, nullptr, path, "want an object");
  if (check_unknown) {
    bool top = IsTopLevel(m);
    for (const auto& [key, val] : obj.items()) {
      if (top && (key == "apiVersion" || key == "kind")) continue;
      if (!KnownKey(m, key)) {
        return e.Fail(m, nullptr, path, "field \"" + key + "\" has no protobuf field here");
      }
    }
  }
  for (const auto& f : m.fields) {
    if ((f.flags & pb::kInline) != 0) {
      std::string sub;
      if (!EncodeMessage(obj, *f.message, &sub, path, err, false)) return false;
      PutBytes(out, f.number, sub);
      continue;
    }
    auto it = obj.find(f.json);
    if (it == obj.end() || it->is_null()) continue;
    std::string sub_path = path + "." + f.json;
    if ((f.flags & pb::kRepeated) != 0) {
      if (!it->is_array()) return e.Fail(m, &f, sub_path, "want an array");
      for (size_t i = 0; i < it->size(); ++i) {
        if (!EncodeValue((*it)[i], f, m, out, sub_path + "[" + std::to_string(i) + "]", err)) {
          return false;
        }
      }
      continue;
    }
    if (!EncodeValue(*it, f, m, out, sub_path, err)) return false;
  }
  return true;
}

const pb::Kind* FindKind(const std::string& api_version, const std::string& kind) {
  for (const auto& k : pb::Kinds()) {
    if (kind == k.kind && (k.api_version[0] == '\0' || api_version == k.api_version)) return &k;
  }
  return nullptr;
}

std::string Envelope(const std::string& api_version, const std::string& kind,
                     std::string_view raw) {
  std::string type_meta;
  PutBytes(&type_meta, 1, api_version);
  PutBytes(&type_meta, 2, kind);
  std::string out(kMagic);
  PutBytes(&out, 1, type_meta);
  PutBytes(&out, 2, raw);
  // contentEncoding and contentType: empty, as upstream's marshaller writes them.
  PutBytes(&out, 3, "");
  PutBytes(&out, 4, "");
  return out;
}

std::string Frame(std::string_view event) {
  std::string out;
  auto n = static_cast<uint32_t>(event.size());
  out.push_back(static_cast<char>((n >> 24) & 0xFF));
  out.push_back(static_cast<char>((n >> 16) & 0xFF));
  out.push_back(static_cast<char>((n >> 8) & 0xFF));
  out.push_back(static_cast<char>(n & 0xFF));
  out.append(event.data(), event.size());
  return out;
}

// --- negotiation ---------------------------------------------------------------

struct Range {
  double q = 1;
  std::string type;
  bool plain = true;  // no as=, g=, v= (another shape of the object)
  bool stream_other = false;
};

std::string Trim(std::string s) {
  auto sp = [](unsigned char c) { return std::isspace(c) != 0; };
  s.erase(s.begin(), std::find_if_not(s.begin(), s.end(), sp));
  s.erase(std::find_if_not(s.rbegin(), s.rend(), sp).base(), s.end());
  return s;
}

std::vector<Range> ParseAccept(const std::string& accept) {
  std::vector<Range> out;
  size_t start = 0;
  while (start <= accept.size()) {
    size_t comma = accept.find(',', start);
    std::string part =
        accept.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? accept.size() + 1 : comma + 1;
    Range r;
    size_t semi = part.find(';');
    r.type = Trim(part.substr(0, semi));
    std::transform(r.type.begin(), r.type.end(), r.type.begin(), ::tolower);
    if (r.type.empty()) continue;
    while (semi != std::string::npos) {
      size_t next = part.find(';', semi + 1);
      std::string param = Trim(
          part.substr(semi + 1, next == std::string::npos ? std::string::npos : next - semi - 1));
      semi = next;
      size_t eq = param.find('=');
      std::string key = Trim(param.substr(0, eq));
      std::string val = eq == std::string::npos ? "" : Trim(param.substr(eq + 1));
      std::transform(key.begin(), key.end(), key.begin(), ::tolower);
      if (key == "q") {
        try {
          r.q = std::stod(val);
        } catch (...) {
          r.q = 0;
        }
        if (!(r.q > 0)) r.q = 0;  // NaN too: the sort needs a strict weak order
        if (r.q > 1) r.q = 1;
      } else if (key == "as" || key == "g" || key == "v") {
        r.plain = false;
      } else if (key == "stream" && val != "watch") {
        r.stream_other = true;
      }
    }
    out.push_back(std::move(r));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Range& a, const Range& b) { return a.q > b.q; });
  return out;
}

}  // namespace

std::optional<json> DecodeProtobufObject(std::string_view body, std::string* error,
                                         bool* unsupported) {
  if (unsupported != nullptr) *unsupported = false;
  if (body.size() < 4 || body.substr(0, 4) != kMagic) {
    *error = "protobuf body without the k8s envelope";
    return std::nullopt;
  }
  // runtime.Unknown: typeMeta 1 {apiVersion 1, kind 2}, raw 2,
  // contentEncoding 3, contentType 4.
  std::string api_version, kind;
  std::string_view raw;
  std::string why;
  bool ok = Walk(body.substr(4), [&](uint32_t f, int w, std::string_view b, uint64_t) {
    if (w != 2) return true;
    if (f == 1) {
      return Walk(b, [&](uint32_t tf, int tw, std::string_view tb, uint64_t) {
        if (tw == 2 && tf == 1) api_version = std::string(tb);
        if (tw == 2 && tf == 2) kind = std::string(tb);
        return true;
      });
    }
    if (f == 2) raw = b;
    return true;
  });
  if (!ok) {
    *error = "malformed protobuf envelope (runtime.Unknown)";
    return std::nullopt;
  }
  if (!ValidUtf8(api_version) || !ValidUtf8(kind)) {
    *error = "invalid UTF-8 in the envelope's apiVersion or kind";
    return std::nullopt;
  }
  json obj = {{"apiVersion", api_version}, {"kind", kind}};
  if (const pb::Kind* k = FindKind(api_version, kind)) {
    if (!DecodeMessage(raw, *k->message, obj, kind, error, 0)) return std::nullopt;
    if (k->item_kind != nullptr && obj.contains("items")) {
      for (auto& item : obj["items"]) {
        item["apiVersion"] = api_version;
        item["kind"] = k->item_kind;
      }
    }
    if (!obj.contains("metadata") && k->message->fields[0].json == std::string("metadata")) {
      obj["metadata"] = json::object();
    }
    return obj;
  }
  if (unsupported != nullptr) *unsupported = true;
  *error = "protobuf bodies of " + api_version + " " + kind + " are not supported";
  return std::nullopt;
}

bool ProtobufEncodable(const std::string& api_version, const std::string& kind) {
  const pb::Kind* k = FindKind(api_version, kind);
  return k != nullptr && k->encode;
}

std::optional<std::string> EncodeProtobufObject(const json& obj, std::string* error) {
  if (!obj.is_object() || !obj.contains("apiVersion") || !obj.contains("kind") ||
      !obj["apiVersion"].is_string() || !obj["kind"].is_string()) {
    *error = "object without apiVersion and kind";
    return std::nullopt;
  }
  const std::string& api_version = obj["apiVersion"].get_ref<const std::string&>();
  const std::string& kind = obj["kind"].get_ref<const std::string&>();
  const pb::Kind* k = FindKind(api_version, kind);
  if (k == nullptr || !k->encode) {
    *error = api_version + " " + kind + " has no protobuf encoding here";
    return std::nullopt;
  }
  std::string raw;
  if (!EncodeMessage(obj, *k->message, &raw, kind, error, true)) return std::nullopt;
  return Envelope(api_version, kind, raw);
}

std::string ProtobufWatchFrame(std::string_view line) {
  json ev = json::parse(line, nullptr, false);
  std::string type = "ERROR";
  std::string err;
  std::optional<std::string> object;
  if (ev.is_object() && ev.contains("type") && ev["type"].is_string() && ev.contains("object")) {
    type = ev["type"].get<std::string>();
    object = EncodeProtobufObject(ev["object"], &err);
  } else {
    err = "malformed watch event";
  }
  if (!object) {
    type = "ERROR";
    json status = {{"kind", "Status"},
                   {"apiVersion", "v1"},
                   {"metadata", json::object()},
                   {"status", "Failure"},
                   {"message", "unable to encode watch object as protobuf: " + err},
                   {"reason", "InternalError"},
                   {"code", 500}};
    object = EncodeProtobufObject(status, &err);
  }
  std::string raw_ext;
  PutBytes(&raw_ext, 1, *object);
  std::string event;
  PutBytes(&event, 1, type);
  PutBytes(&event, 2, raw_ext);
  return Frame(event);
}

std::optional<json> DecodeProtobufWatchEvent(std::string_view event, std::string* error) {
  std::vector<Sub> subs;
  std::string why;
  if (!ReadFixed(event, 2, 0, &subs, &why)) {
    *error = "message WatchEvent: " + why;
    return std::nullopt;
  }
  json out = json::object();
  for (const auto& s : subs) {
    if (s.field == 1) {
      if (!ValidUtf8(s.bytes)) {
        *error = "field 1 (type) of message WatchEvent: invalid UTF-8";
        return std::nullopt;
      }
      out["type"] = std::string(s.bytes);
      continue;
    }
    std::vector<Sub> raw;
    if (!ReadFixed(s.bytes, 1, 0, &raw, &why)) {
      *error = "field 2 (object) of message WatchEvent: " + why;
      return std::nullopt;
    }
    std::string_view bytes;
    for (const auto& r : raw) bytes = r.bytes;
    auto obj = DecodeProtobufObject(bytes, error);
    if (!obj) return std::nullopt;
    out["object"] = std::move(*obj);
  }
  return out;
}

OutputMedia NegotiateOutput(const std::string& accept, bool protobuf_ok) {
  if (Trim(accept).empty()) return OutputMedia::kJson;
  for (const auto& r : ParseAccept(accept)) {
    if (r.q <= 0 || r.stream_other) continue;
    if (r.type == "*/*" || r.type == "application/*") return OutputMedia::kJson;
    if (!r.plain) continue;
    if (r.type == "application/json") return OutputMedia::kJson;
    if (r.type == kProtobufMediaType && protobuf_ok) return OutputMedia::kProtobuf;
  }
  return OutputMedia::kNone;
}

bool AcceptsJsonOutput(const std::string& accept) {
  return NegotiateOutput(accept, false) == OutputMedia::kJson;
}

}  // namespace drahil::apiserver::internal
