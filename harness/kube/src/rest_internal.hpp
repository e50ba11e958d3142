// File: rest_internal.hpp (private)
//
// The pieces the REST client's sources share:
//   - Transport (rest_transport.cpp): the parsed server URL, the TLS context
//     and one request/response on its own io_context, every step (resolve,
//     connect, handshake, write, read) bounded by a timeout through
//     beast::tcp_stream::expires_after; RestClient::Impl is a Transport;
//   - the mapping of HTTP answers to Status (rest_client.cpp), used by the
//     verbs and by the watch (rest_watch.cpp).
//
// Thread-safety: a Transport does not change after RestClient::Create();
// each request runs on its own io_context, so requests may run concurrently.
#ifndef DRAHIL_KUBE_SRC_REST_INTERNAL_HPP_INCLUDED
#define DRAHIL_KUBE_SRC_REST_INTERNAL_HPP_INCLUDED

// <utility> first: Boost 1.74's asio/awaitable.hpp uses std::exchange without
// including it.
#include <utility>
// Asio with its coroutine support, and Beast: every source of the client
// takes them from here, after <utility>.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "drahil/core/status.hpp"
#include "drahil/kube/rest_client.hpp"

namespace drahil::kube::internal {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;

// ---- URL ----------------------------------------------------------------------

struct Endpoint {
  bool tls = false;
  std::string host;  // without brackets
  std::string port;
  std::string base_path;  // "" or "/prefix"
};

Result<Endpoint> ParseServer(const std::string& server);
std::string UrlEncode(std::string_view s);
void AddQuery(std::string& path, std::string_view key, std::string_view value);

// OpenSslErrors(): the OpenSSL error queue as text (and emptied).
std::string OpenSslErrors();

// ---- HTTP status → Status -----------------------------------------------------

Code CodeForHttp(int http, const std::string& reason);
Status ErrorFromResponse(std::string_view method, std::string_view path, const HttpResponse& r);
Result<Object> ParseJsonBody(std::string_view method, std::string_view path, const HttpResponse& r);
Status TransportError(const beast::error_code& ec, const std::string& what);

// ---- transport ----------------------------------------------------------------

// Outcome of one attempt; `sent` tells whether the request may have reached
// the server (for retry decisions on non-idempotent verbs).
struct Attempt {
  Status status;
  HttpResponse response;
  bool sent = false;
};

// A connected stream of either kind, with the operations we need.
struct Conn {
  net::io_context& ioc;
  std::variant<std::monostate, beast::tcp_stream, beast::ssl_stream<beast::tcp_stream>> s;
  explicit Conn(net::io_context& c) : ioc(c) {}
  beast::tcp_stream& Tcp() {
    if (auto* t = std::get_if<beast::tcp_stream>(&s)) return *t;
    return beast::get_lowest_layer(std::get<beast::ssl_stream<beast::tcp_stream>>(s));
  }
};

struct Transport {
  KubeConfig config;
  RestOptions options;
  Endpoint endpoint;
  std::unique_ptr<ssl::context> ssl_ctx;

  void SetHeaders(http::request<http::string_body>& req, std::string_view content_type,
                  bool has_body) const;

  // Connect(): resolve, connect, TLS handshake; each step bounded by timeout.
  net::awaitable<void> Connect(Conn& c, std::chrono::steady_clock::duration timeout);

  template <typename Fn>
  net::awaitable<void> WithStream(Conn& c, Fn fn) {
    if (auto* t = std::get_if<beast::tcp_stream>(&c.s)) {
      co_await fn(*t);
    } else {
      co_await fn(std::get<beast::ssl_stream<beast::tcp_stream>>(c.s));
    }
  }

  // Once(): one request/response with an overall timeout.
  Attempt Once(std::string_view method, const std::string& target, std::string_view body,
               std::string_view content_type);
};

}  // namespace drahil::kube::internal

namespace drahil::kube {

// The client's state is its transport; the verbs add none.
struct RestClient::Impl : internal::Transport {};

}  // namespace drahil::kube

#endif  // DRAHIL_KUBE_SRC_REST_INTERNAL_HPP_INCLUDED
