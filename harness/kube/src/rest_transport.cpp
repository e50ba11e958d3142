// Transport: the connection side of the REST client (rest_internal.hpp).
// Each request runs on its own io_context with C++20 coroutines, so every
// step (resolve, connect, handshake, write, read) has a timeout through
// beast::tcp_stream::expires_after.
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <vector>

#include "drahil/core/strings.hpp"
#include "rest_internal.hpp"

namespace drahil::kube::internal {

using tcp = boost::asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace {

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

std::string UrlEncode(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

void AddQuery(std::string& path, std::string_view key, std::string_view value) {
  path += path.find('?') == std::string::npos ? '?' : '&';
  path += std::string(key) + "=" + UrlEncode(value);
}

std::string OpenSslErrors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

Result<Endpoint> ParseServer(const std::string& server) {
  Endpoint ep;
  std::string rest;
  if (server.rfind("https://", 0) == 0) {
    ep.tls = true;
    rest = server.substr(8);
  } else if (server.rfind("http://", 0) == 0) {
    rest = server.substr(7);
  } else {
    return InvalidArgumentError("server \"" + server + "\": must start with http:// or https://");
  }
  size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  if (slash != std::string::npos) {
    ep.base_path = rest.substr(slash);
    while (!ep.base_path.empty() && ep.base_path.back() == '/') ep.base_path.pop_back();
  }
  if (!hostport.empty() && hostport[0] == '[') {
    size_t close = hostport.find(']');
    if (close == std::string::npos)
      return InvalidArgumentError("server \"" + server + "\": bad IPv6 literal");
    ep.host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size() && hostport[close + 1] == ':')
      ep.port = hostport.substr(close + 2);
  } else {
    size_t colon = hostport.rfind(':');
    ep.host = hostport.substr(0, colon);
    if (colon != std::string::npos) ep.port = hostport.substr(colon + 1);
  }
  if (ep.host.empty()) return InvalidArgumentError("server \"" + server + "\": no host");
  if (ep.port.empty()) ep.port = ep.tls ? "443" : "80";
  if (!std::all_of(ep.port.begin(), ep.port.end(), ::isdigit) || ep.port.size() > 5 ||
      std::stoi(ep.port) > 65535) {
    return InvalidArgumentError("server \"" + server + "\": bad port");
  }
  return ep;
}

Status TransportError(const beast::error_code& ec, const std::string& what) {
  if (ec == beast::error::timeout) return DeadlineExceededError(what + ": timed out");
  return UnavailableError(what + ": " + ec.message());
}

void Transport::SetHeaders(http::request<http::string_body>& req, std::string_view content_type,
                           bool has_body) const {
  std::string host =
      endpoint.host.find(':') != std::string::npos ? "[" + endpoint.host + "]" : endpoint.host;
  req.set(http::field::host, host + ":" + endpoint.port);
  req.set(http::field::user_agent, options.user_agent);
  req.set(http::field::accept, "application/json, */*");
  if (has_body) req.set(http::field::content_type, std::string(content_type));
  if (!config.token.empty()) {
    req.set(http::field::authorization, "Bearer " + config.token);
  } else if (!config.username.empty()) {
    static const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string in = config.username + ":" + config.password, out;
    uint32_t acc = 0;
    int bits = 0;
    for (unsigned char c : in) {
      acc = (acc << 8) | c;
      bits += 8;
      while (bits >= 6) {
        bits -= 6;
        out += kB64[(acc >> bits) & 63];
      }
    }
    if (bits > 0) out += kB64[(acc << (6 - bits)) & 63];
    while (out.size() % 4) out += '=';
    req.set(http::field::authorization, "Basic " + out);
  }
}

net::awaitable<void> Transport::Connect(Conn& c, SteadyClock::duration timeout) {
  // IP literals (what drahil's own kubeconfigs hold) skip the resolver, whose
  // getaddrinfo cannot be bounded by our timeout.
  std::vector<tcp::endpoint> results;
  if (IsIpLiteral(endpoint.host)) {
    results.emplace_back(net::ip::make_address(endpoint.host),
                         static_cast<unsigned short>(std::stoi(endpoint.port)));
  } else {
    tcp::resolver resolver(c.ioc);
    auto resolved =
        co_await resolver.async_resolve(endpoint.host, endpoint.port, net::use_awaitable);
    for (const auto& r : resolved) results.push_back(r.endpoint());
  }
  if (!endpoint.tls) {
    auto& t = c.s.emplace<beast::tcp_stream>(c.ioc);
    t.expires_after(timeout);
    co_await t.async_connect(results, net::use_awaitable);
    co_return;
  }
  auto& ss = c.s.emplace<beast::ssl_stream<beast::tcp_stream>>(c.ioc, *ssl_ctx);
  std::string name = config.tls_server_name.empty() ? endpoint.host : config.tls_server_name;
  if (!IsIpLiteral(name)) SSL_set_tlsext_host_name(ss.native_handle(), name.c_str());
  if (!config.insecure_skip_tls_verify) {
    ss.set_verify_callback([name](bool preverified, ssl::verify_context& vctx) {
      if (!preverified) return false;
      X509_STORE_CTX* sctx = vctx.native_handle();
      if (X509_STORE_CTX_get_error_depth(sctx) > 0) return true;
      X509* cert = X509_STORE_CTX_get_current_cert(sctx);
      if (IsIpLiteral(name)) return X509_check_ip_asc(cert, name.c_str(), 0) == 1;
      return X509_check_host(cert, name.data(), name.size(), 0, nullptr) == 1;
    });
  }
  beast::get_lowest_layer(ss).expires_after(timeout);
  co_await beast::get_lowest_layer(ss).async_connect(results, net::use_awaitable);
  beast::get_lowest_layer(ss).expires_after(timeout);
  co_await ss.async_handshake(ssl::stream_base::client, net::use_awaitable);
}

Attempt Transport::Once(std::string_view method, const std::string& target, std::string_view body,
                        std::string_view content_type) {
  Attempt out;
  net::io_context ioc;
  Conn conn(ioc);
  auto timeout = std::chrono::duration_cast<SteadyClock::duration>(options.timeout);
  http::request<http::string_body> req;
  req.method_string(std::string(method));
  req.target(endpoint.base_path + target);
  req.version(11);
  SetHeaders(req, content_type, !body.empty());
  req.body() = std::string(body);
  req.prepare_payload();
  std::exception_ptr failure;
  bool done = false;
  auto run = [&]() -> net::awaitable<void> {
    co_await Connect(conn, timeout);
    out.sent = true;
    conn.Tcp().expires_after(timeout);
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(options.max_response_bytes);
    co_await WithStream(conn, [&](auto& s) -> net::awaitable<void> {
      co_await http::async_write(s, req, net::use_awaitable);
      co_await http::async_read(s, buf, parser, net::use_awaitable);
    });
    auto& res = parser.get();
    out.response.code = static_cast<int>(res.result_int());
    out.response.reason = std::string(res.reason());
    for (const auto& f : res)
      out.response.headers[ToLower(std::string(f.name_string()))] = std::string(f.value());
    out.response.body = std::move(res.body());
    done = true;
  };
  net::co_spawn(ioc, run(), [&](std::exception_ptr e) { failure = e; });
  ioc.run();
  std::string what = std::string(method) + " " + target;
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const beast::system_error& e) {
      out.status = TransportError(e.code(), what);
      if (e.code().category() == net::error::get_ssl_category()) {
        out.status =
            UnavailableError(what + ": TLS: " + e.code().message() + " " + OpenSslErrors());
      }
    } catch (const std::exception& e) {
      out.status = UnavailableError(what + ": " + e.what());
    }
    return out;
  }
  if (!done) out.status = InternalError(what + ": request did not complete");
  return out;
}

}  // namespace drahil::kube::internal
