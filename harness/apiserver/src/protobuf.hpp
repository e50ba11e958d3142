// File: protobuf.hpp (private)
//
// Kubernetes' protobuf encoding (application/vnd.kubernetes.protobuf) of
// request bodies, for the few kinds kubectl's typed generators send that way
// (`kubectl create configmap|secret|namespace`): the "k8s\0" envelope around a
// runtime.Unknown, and the ConfigMap, Secret and Namespace messages of
// k8s.io/api/core/v1/generated.proto with the ObjectMeta fields a create
// carries. Answers stay JSON (client-go decodes by the response's type).
#ifndef DRAHIL_APISERVER_PROTOBUF_HPP_INCLUDED
#define DRAHIL_APISERVER_PROTOBUF_HPP_INCLUDED

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace drahil::apiserver::internal {

inline constexpr const char* kProtobufMediaType = "application/vnd.kubernetes.protobuf";

// DecodeProtobufObject(): the object as JSON; nullopt and *error for bodies
// that are not such an envelope or hold another kind.
std::optional<nlohmann::json> DecodeProtobufObject(const std::string& body, std::string* error);

}  // namespace drahil::apiserver::internal

#endif  // DRAHIL_APISERVER_PROTOBUF_HPP_INCLUDED
