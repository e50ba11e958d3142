// Decoding of protobuf request bodies (see protobuf.hpp). Field numbers are
// those of k8s.io/api/core/v1/generated.proto, k8s.io/apimachinery's
// meta/v1 (ObjectMeta) and runtime (Unknown, TypeMeta) generated.proto.
#include "protobuf.hpp"

#include <cstdint>
#include <functional>
#include <string_view>

namespace drahil::apiserver::internal {

using nlohmann::json;

namespace {

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
  // Next(): the next field; length-delimited values in *bytes, others in *num.
  bool Next(uint32_t* field, int* wire, std::string_view* bytes, uint64_t* num) {
    uint64_t key = 0;
    if (!Varint(&key)) return false;
    *field = static_cast<uint32_t>(key >> 3);
    *wire = static_cast<int>(key & 7);
    switch (*wire) {
      case 0:
        return Varint(num);
      case 1:
        return Skip(8);
      case 5:
        return Skip(4);
      case 2: {
        uint64_t len = 0;
        if (!Varint(&len) || len > data_.size() - pos_) return false;
        *bytes = data_.substr(pos_, len);
        pos_ += len;
        return true;
      }
      default:
        return false;
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

// A map<string, X> entry: key = 1, value = 2.
bool MapEntry(std::string_view entry, std::string* key, std::string* value) {
  return Walk(entry, [&](uint32_t f, int w, std::string_view b, uint64_t) {
    if (w == 2 && f == 1) *key = std::string(b);
    if (w == 2 && f == 2) *value = std::string(b);
    return true;
  });
}

bool AddEntry(json& obj, const char* field, std::string_view entry, bool bytes) {
  std::string k, v;
  if (!MapEntry(entry, &k, &v)) return false;
  obj[field][k] = bytes ? Base64(v) : v;
  return true;
}

// ObjectMeta: name 1, generateName 2, namespace 3, labels 11, annotations 12,
// finalizers 14 (server-set fields are ignored on create anyway).
bool ObjectMeta(std::string_view msg, json* meta) {
  *meta = json::object();
  return Walk(msg, [&](uint32_t f, int w, std::string_view b, uint64_t) {
    if (w != 2) return true;
    switch (f) {
      case 1:
        (*meta)["name"] = std::string(b);
        return true;
      case 2:
        (*meta)["generateName"] = std::string(b);
        return true;
      case 3:
        (*meta)["namespace"] = std::string(b);
        return true;
      case 11:
        return AddEntry(*meta, "labels", b, false);
      case 12:
        return AddEntry(*meta, "annotations", b, false);
      case 14:
        (*meta)["finalizers"].push_back(std::string(b));
        return true;
      default:
        return true;
    }
  });
}

// ConfigMap: metadata 1, data 2, binaryData 3, immutable 4.
bool ConfigMap(std::string_view msg, json& obj) {
  return Walk(msg, [&](uint32_t f, int w, std::string_view b, uint64_t n) {
    if (f == 1 && w == 2) return ObjectMeta(b, &obj["metadata"]);
    if (f == 2 && w == 2) return AddEntry(obj, "data", b, false);
    if (f == 3 && w == 2) return AddEntry(obj, "binaryData", b, true);
    if (f == 4 && w == 0) obj["immutable"] = n != 0;
    return true;
  });
}

// Secret: metadata 1, data 2, type 3, stringData 4, immutable 5.
bool Secret(std::string_view msg, json& obj) {
  return Walk(msg, [&](uint32_t f, int w, std::string_view b, uint64_t n) {
    if (f == 1 && w == 2) return ObjectMeta(b, &obj["metadata"]);
    if (f == 2 && w == 2) return AddEntry(obj, "data", b, true);
    if (f == 3 && w == 2) obj["type"] = std::string(b);
    if (f == 4 && w == 2) return AddEntry(obj, "stringData", b, false);
    if (f == 5 && w == 0) obj["immutable"] = n != 0;
    return true;
  });
}

// Namespace: metadata 1 (spec and status are server-set on create).
bool Namespace(std::string_view msg, json& obj) {
  return Walk(msg, [&](uint32_t f, int w, std::string_view b, uint64_t) {
    if (f == 1 && w == 2) return ObjectMeta(b, &obj["metadata"]);
    return true;
  });
}

}  // namespace

std::optional<json> DecodeProtobufObject(const std::string& body, std::string* error) {
  static const std::string_view kMagic("k8s\0", 4);
  if (body.size() < 4 || std::string_view(body).substr(0, 4) != kMagic) {
    *error = "protobuf body without the k8s envelope";
    return std::nullopt;
  }
  // runtime.Unknown: typeMeta 1 {apiVersion 1, kind 2}, raw 2.
  std::string api_version, kind;
  std::string_view raw;
  bool ok =
      Walk(std::string_view(body).substr(4), [&](uint32_t f, int w, std::string_view b, uint64_t) {
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
    *error = "malformed protobuf body";
    return std::nullopt;
  }
  json obj = {{"apiVersion", api_version}, {"kind", kind}, {"metadata", json::object()}};
  bool decoded = false;
  if (api_version == "v1" && kind == "ConfigMap") {
    decoded = ConfigMap(raw, obj);
  } else if (api_version == "v1" && kind == "Secret") {
    decoded = Secret(raw, obj);
  } else if (api_version == "v1" && kind == "Namespace") {
    decoded = Namespace(raw, obj);
  } else {
    *error = "protobuf bodies of " + api_version + " " + kind + " are not supported";
    return std::nullopt;
  }
  if (!decoded) {
    *error = "malformed protobuf " + kind;
    return std::nullopt;
  }
  return obj;
}

}  // namespace drahil::apiserver::internal
