// File: protobuf.hpp (private)
//
// Kubernetes' protobuf encoding (application/vnd.kubernetes.protobuf): the
// "k8s\0" prefix before a runtime.Unknown envelope {typeMeta, raw} whose raw
// bytes are the object's message from the generated.proto files of k8s.io/api
// and k8s.io/apimachinery.
//
// The JSON form stays the single source of truth: a protobuf request body is
// decoded to the JSON object the verbs work on, and an answer is encoded from
// the JSON the verbs produce. Covered (see docs/apiserver.md):
//  - decode and encode: the resource.k8s.io/v1 kinds (ResourceSlice,
//    ResourceClaim, ResourceClaimTemplate, DeviceClass and their lists),
//    core/v1 Event, ConfigMap, Secret, Namespace and Node, events.k8s.io/v1
//    Event, coordination.k8s.io/v1 Lease (and their lists), meta/v1 Status
//    and DeleteOptions (decode), one schema table (protobuf_schema.cpp)
//    walked by one decoder and one encoder.
#ifndef DRAHIL_APISERVER_PROTOBUF_HPP_INCLUDED
#define DRAHIL_APISERVER_PROTOBUF_HPP_INCLUDED

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace drahil::apiserver::internal {

inline constexpr const char* kProtobufMediaType = "application/vnd.kubernetes.protobuf";
inline constexpr const char* kProtobufWatchMediaType =
    "application/vnd.kubernetes.protobuf;stream=watch";

// DecodeProtobufObject(): the object as JSON (apiVersion and kind from the
// envelope); nullopt and *error for bodies that are not such an envelope, hold
// a kind without a message here (*unsupported set) or are malformed (the
// error names the message and field number).
std::optional<nlohmann::json> DecodeProtobufObject(std::string_view body, std::string* error,
                                                   bool* unsupported = nullptr);

// ProtobufEncodable(): objects of this apiVersion and kind can be encoded.
bool ProtobufEncodable(const std::string& api_version, const std::string& kind);

// EncodeProtobufObject(): obj (with apiVersion and kind) as "k8s\0" +
// runtime.Unknown; nullopt and *error when its kind has no message here or a
// field has no place in the message.
std::optional<std::string> EncodeProtobufObject(const nlohmann::json& obj, std::string* error);

// ProtobufWatchFrame(): one watch event line ({"type":…,"object":…}) as the
// protobuf stream framing of upstream's watch encoder: a 4-byte big-endian
// length, then a meta/v1 WatchEvent {type = 1, object = 2 RawExtension
// {raw = 1}} without prefix or envelope, its raw being the object's
// EncodeProtobufObject(). An object that cannot be encoded becomes an ERROR
// event with an InternalError Status.
std::string ProtobufWatchFrame(std::string_view line);

// DecodeProtobufWatchEvent(): one frame's WatchEvent bytes (no length) as
// the JSON event; for tests and the fuzz target.
std::optional<nlohmann::json> DecodeProtobufWatchEvent(std::string_view event, std::string* error);

// Output media negotiation (apiserver's negotiation.NegotiateOutputMediaType):
// the Accept ranges by falling q, in order among equals; the first one the
// server can produce wins. "*/*" and "application/*" mean JSON; ranges with
// parameters other than q, charset and (protobuf) stream=watch ask for other
// shapes (as=Table, g=, v=) and do not match.
enum class OutputMedia { kJson, kProtobuf, kNone };
OutputMedia NegotiateOutput(const std::string& accept, bool protobuf_ok);
// AcceptsJsonOutput(): plain JSON is one of the acceptable answers.
bool AcceptsJsonOutput(const std::string& accept);

}  // namespace drahil::apiserver::internal

#endif  // DRAHIL_APISERVER_PROTOBUF_HPP_INCLUDED
