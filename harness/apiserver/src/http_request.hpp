// File: http_request.hpp (private)
//
// FromHttp(): an HTTP request as Beast parsed it, turned into the Request the
// Handler serves: the method, the percent-decoded path, the raw query and its
// decoded parameters ('+' is a space there), the headers the handler reads
// and the body. Shared by the sessions and the HTTP fuzz target.
#ifndef DRAHIL_APISERVER_HTTP_REQUEST_HPP_INCLUDED
#define DRAHIL_APISERVER_HTTP_REQUEST_HPP_INCLUDED

#include <boost/beast/http.hpp>
#include <string>
#include <string_view>

#include "handler.hpp"

namespace drahil::apiserver::internal {

// PercentDecode(): %XX escapes decoded; a malformed escape stays as it is.
std::string PercentDecode(std::string_view in, bool plus_is_space);

Request FromHttp(boost::beast::http::request<boost::beast::http::string_body>&& msg);

}  // namespace drahil::apiserver::internal

#endif  // DRAHIL_APISERVER_HTTP_REQUEST_HPP_INCLUDED
