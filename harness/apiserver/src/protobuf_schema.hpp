// File: protobuf_schema.hpp (private)
//
// The schema table the protobuf codec (protobuf.cpp) walks: each message a
// list of fields mapping the JSON name to the field number of upstream's
// generated.proto, a value type and, for nested messages, the message.
#ifndef DRAHIL_APISERVER_PROTOBUF_SCHEMA_HPP_INCLUDED
#define DRAHIL_APISERVER_PROTOBUF_SCHEMA_HPP_INCLUDED

#include <cstdint>
#include <string>
#include <vector>

namespace drahil::apiserver::internal::pb {

enum class Type : uint8_t {
  kString,       // string (wire type 2)
  kInt64,        // int64 (varint)
  kInt32,        // int32 (varint, sign-extended)
  kBool,         // bool (varint)
  kMessage,      // nested message (JSON object)
  kTime,         // meta/v1 Time {seconds = 1, nanos = 2}; JSON RFC 3339
  kMicroTime,    // meta/v1 MicroTime (Time's wire form); JSON RFC 3339 to the microsecond
  kQuantity,     // api/resource Quantity {string = 1}; JSON string
  kRaw,          // runtime.RawExtension / meta/v1 FieldsV1 {raw = 1}; JSON value
  kMapString,    // map<string, string>
  kMapQuantity,  // map<string, Quantity>
  kMapMessage,   // map<string, message>
  kMapBytes,     // map<string, bytes>; JSON: base64 strings (Go's []byte)
};

enum Flags : uint8_t {
  kRepeated = 1,
  // A zero value (0, false, "") decodes as present: the Go field is a pointer
  // or has no omitempty, so JSON shows it. Others are left out, as Go's JSON
  // encoder leaves out the zero value of an omitempty field.
  kKeepZero = 2,
  // Go's `json:",inline"`: the message's fields sit in the enclosing JSON
  // object (DeviceConfiguration in the config entries).
  kInline = 4,
};

struct Message;

struct Field {
  uint32_t number;
  const char* json;  // "" for inline fields
  Type type;
  const Message* message = nullptr;  // kMessage, kMapMessage
  uint8_t flags = 0;
};

struct Message {
  const char* name;  // "ResourceSliceSpec"
  std::vector<Field> fields;
};

// Kind: a top-level kind the envelope may carry. item_kind, for lists, is the
// kind the items are given back when decoded (list items carry no TypeMeta).
struct Kind {
  const char* api_version;  // "" matches any (DeleteOptions)
  const char* kind;
  const Message* message;
  const char* item_kind = nullptr;
  bool encode = true;  // answers may be encoded (not: request-only kinds)
};

const std::vector<Kind>& Kinds();

}  // namespace drahil::apiserver::internal::pb

#endif  // DRAHIL_APISERVER_PROTOBUF_SCHEMA_HPP_INCLUDED
