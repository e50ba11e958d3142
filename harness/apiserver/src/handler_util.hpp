// File: handler_util.hpp (private)
//
// Request and response helpers the Handler's sources share (handler.cpp,
// discovery.cpp, verbs.cpp); defined in handler.cpp.
#ifndef DRAHIL_APISERVER_HANDLER_UTIL_HPP_INCLUDED
#define DRAHIL_APISERVER_HANDLER_UTIL_HPP_INCLUDED

#include <nlohmann/json.hpp>
#include <string>

#include "api_error.hpp"
#include "handler.hpp"

namespace drahil::apiserver::internal {

Response JsonResponse(int status, const nlohmann::json& body);
// NoSuchPath(): the 404 of a path the server does not serve.
ApiError NoSuchPath();
// MediaType(): "application/json" from "Application/JSON; charset=utf-8".
std::string MediaType(const std::string& content_type);
// Param(): a query parameter, "" when absent.
std::string Param(const Request& req, const std::string& key);
// ParseBool(): Go's strconv.ParseBool, which Kubernetes uses for query
// flags (the Python client sends "True").
bool ParseBool(const std::string& v);
bool ParamTrue(const Request& req, const std::string& key);

}  // namespace drahil::apiserver::internal

#endif  // DRAHIL_APISERVER_HANDLER_UTIL_HPP_INCLUDED
