// REST client on Boost.Beast. Each request runs on its own io_context with
// C++20 coroutines, so every step (resolve, connect, handshake, write, read)
// has a timeout through beast::tcp_stream::expires_after, and a watch can be
// cancelled from another thread by posting a cancel to that context.
#include "drahil/kube/rest_client.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <random>
#include <thread>
#include <variant>
#include <vector>

#include "drahil/core/file_util.hpp"
#include "drahil/kube/manifest.hpp"

namespace drahil::kube {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// ---- small helpers ------------------------------------------------------------

Result<std::string> Base64Decode(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=' || c == '\n' || c == '\r' || c == ' ' || c == '\t') continue;
    int v = val(c);
    if (v < 0) return InvalidArgumentError("invalid base64 data");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

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

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
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

// ---- kubeconfig -------------------------------------------------------------------

const Object* NamedEntry(const Object& root, const char* list, const std::string& name,
                         const char* inner) {
  auto it = root.find(list);
  if (it == root.end() || !it->is_array()) return nullptr;
  for (const auto& e : *it) {
    if (e.is_object() && e.value("name", "") == name) {
      auto in = e.find(inner);
      if (in != e.end() && in->is_object()) return &*in;
      return nullptr;
    }
  }
  return nullptr;
}

std::string Str(const Object* o, const char* key) {
  if (o == nullptr) return {};
  auto it = o->find(key);
  if (it == o->end() || !it->is_string()) return {};
  return it->get<std::string>();
}

// ReadData(): "<key>-data" (base64) or the file named by "<key>".
Result<std::string> ReadData(const Object* o, const std::string& key, const std::string& base_dir) {
  std::string data = Str(o, (key + "-data").c_str());
  if (!data.empty()) {
    auto decoded = Base64Decode(data);
    if (!decoded.ok()) return decoded.status().WithContext(key + "-data");
    return decoded;
  }
  std::string file = Str(o, key.c_str());
  if (file.empty()) return std::string();
  if (file[0] != '/' && !base_dir.empty()) file = base_dir + "/" + file;
  auto text = ReadFile(file, 1u << 20);
  if (!text.ok()) return text.status().WithContext(key);
  return text;
}

// ---- URL ------------------------------------------------------------------------

struct Endpoint {
  bool tls = false;
  std::string host;  // without brackets
  std::string port;
  std::string base_path;  // "" or "/prefix"
};

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

// ---- HTTP status → Status ---------------------------------------------------------

Code CodeForHttp(int http, const std::string& reason) {
  switch (http) {
    case 400:
    case 415:
    case 422:
      return Code::kInvalidArgument;
    case 401:
      return Code::kUnauthenticated;
    case 403:
      return Code::kPermissionDenied;
    case 404:
      return Code::kNotFound;
    case 409:
      return reason == "AlreadyExists" ? Code::kAlreadyExists : Code::kAborted;
    case 410:
      return Code::kOutOfRange;
    case 413:
    case 429:
      return Code::kResourceExhausted;
    case 504:
      return Code::kDeadlineExceeded;
    default:
      break;
  }
  if (http >= 500) return Code::kUnavailable;
  return Code::kUnknown;
}

Status ErrorFromResponse(std::string_view method, std::string_view path, const HttpResponse& r) {
  std::string message, reason;
  try {
    Object body = Object::parse(r.body);
    if (body.is_object()) {
      message = body.value("message", "");
      reason = body.value("reason", "");
    }
  } catch (const std::exception&) {
    message = r.body.substr(0, 512);
  }
  std::string text = std::string(method) + " " + std::string(path) + ": HTTP " +
                     std::to_string(r.code) + " " + (reason.empty() ? r.reason : reason);
  if (!message.empty()) text += ": " + message;
  return Status(CodeForHttp(r.code, reason), text);
}

Result<Object> ParseJsonBody(std::string_view method, std::string_view path,
                             const HttpResponse& r) {
  try {
    return Object::parse(r.body);
  } catch (const std::exception& e) {
    return InternalError(std::string(method) + " " + std::string(path) +
                         ": response is not JSON: " + e.what());
  }
}

// Outcome of one attempt; `sent` tells whether the request may have reached
// the server (for retry decisions on non-idempotent verbs).
struct Attempt {
  Status status;
  HttpResponse response;
  bool sent = false;
};

Status TransportError(const beast::error_code& ec, const std::string& what) {
  if (ec == beast::error::timeout) return DeadlineExceededError(what + ": timed out");
  return UnavailableError(what + ": " + ec.message());
}

}  // namespace

int HttpCodeOf(const Status& status) {
  const std::string& m = status.message();
  size_t pos = 0;
  while ((pos = m.find("HTTP ", pos)) != std::string::npos) {
    if (pos + 8 <= m.size() && std::isdigit(static_cast<unsigned char>(m[pos + 5])) &&
        std::isdigit(static_cast<unsigned char>(m[pos + 6])) &&
        std::isdigit(static_cast<unsigned char>(m[pos + 7])) &&
        (pos + 8 == m.size() || m[pos + 8] == ' ')) {
      return std::stoi(m.substr(pos + 5, 3));
    }
    pos += 5;
  }
  return 0;
}

// ---- KubeConfig ----------------------------------------------------------------------

Result<KubeConfig> KubeConfig::Parse(std::string_view text, const std::string& base_dir,
                                     const std::string& context) {
  auto parsed = YamlToJson(text);
  if (!parsed.ok()) return parsed.status().WithContext("kubeconfig");
  const Object& root = *parsed;
  if (!root.is_object()) return InvalidArgumentError("kubeconfig: not a mapping");
  KubeConfig cfg;
  cfg.context = context.empty() ? Str(&root, "current-context") : context;
  if (cfg.context.empty())
    return InvalidArgumentError("kubeconfig: no current-context and no context given");
  const Object* ctx = NamedEntry(root, "contexts", cfg.context, "context");
  if (ctx == nullptr) return NotFoundError("kubeconfig: context \"" + cfg.context + "\" not found");
  std::string cluster_name = Str(ctx, "cluster");
  const Object* cluster = NamedEntry(root, "clusters", cluster_name, "cluster");
  if (cluster == nullptr)
    return NotFoundError("kubeconfig: cluster \"" + cluster_name + "\" not found");
  cfg.server = Str(cluster, "server");
  if (cfg.server.empty())
    return InvalidArgumentError("kubeconfig: cluster \"" + cluster_name + "\" has no server");
  cfg.tls_server_name = Str(cluster, "tls-server-name");
  if (auto it = cluster->find("insecure-skip-tls-verify");
      it != cluster->end() && it->is_boolean()) {
    cfg.insecure_skip_tls_verify = it->get<bool>();
  }
  DRAHIL_ASSIGN_OR_RETURN(cfg.ca_pem, ReadData(cluster, "certificate-authority", base_dir));
  std::string ns = Str(ctx, "namespace");
  if (!ns.empty()) cfg.namespace_ = ns;
  std::string user_name = Str(ctx, "user");
  if (!user_name.empty()) {
    const Object* user = NamedEntry(root, "users", user_name, "user");
    if (user == nullptr) return NotFoundError("kubeconfig: user \"" + user_name + "\" not found");
    cfg.token = Str(user, "token");
    std::string token_file = Str(user, "tokenFile");
    if (cfg.token.empty() && !token_file.empty()) {
      if (token_file[0] != '/' && !base_dir.empty()) token_file = base_dir + "/" + token_file;
      auto t = ReadFile(token_file, 1u << 20);
      if (!t.ok()) return t.status().WithContext("kubeconfig tokenFile");
      cfg.token = *t;
      while (!cfg.token.empty() && (cfg.token.back() == '\n' || cfg.token.back() == '\r'))
        cfg.token.pop_back();
    }
    DRAHIL_ASSIGN_OR_RETURN(cfg.client_cert_pem, ReadData(user, "client-certificate", base_dir));
    DRAHIL_ASSIGN_OR_RETURN(cfg.client_key_pem, ReadData(user, "client-key", base_dir));
    cfg.username = Str(user, "username");
    cfg.password = Str(user, "password");
    if (user->contains("exec") || user->contains("auth-provider")) {
      return UnimplementedError(
          "kubeconfig: user \"" + user_name +
          "\" uses exec/auth-provider credentials, which drahil does not run");
    }
  }
  return cfg;
}

Result<KubeConfig> KubeConfig::Load(const std::string& path, const std::string& context) {
  std::string p = path;
  if (p.empty()) {
    const char* env = std::getenv("KUBECONFIG");
    if (env != nullptr && *env != '\0') {
      p = env;
      p = p.substr(0, p.find(':'));
    } else if (const char* home = std::getenv("HOME")) {
      p = std::string(home) + "/.kube/config";
    }
  }
  if (p.empty()) return NotFoundError("kubeconfig: no path, $KUBECONFIG or $HOME");
  auto text = ReadFile(p, 16u << 20);
  if (!text.ok()) return text.status().WithContext("kubeconfig");
  std::string dir = p.find('/') == std::string::npos ? "." : p.substr(0, p.rfind('/'));
  if (dir.empty()) dir = "/";
  auto cfg = Parse(*text, dir, context);
  if (!cfg.ok()) return cfg.status().WithContext(p);
  return cfg;
}

// ---- RestClient::Impl --------------------------------------------------------------------

struct RestClient::Impl {
  KubeConfig config;
  RestOptions options;
  Endpoint endpoint;
  std::unique_ptr<ssl::context> ssl_ctx;

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

  void SetHeaders(http::request<http::string_body>& req, std::string_view content_type,
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

  // Connect(): resolve, connect, TLS handshake; each step bounded by timeout.
  net::awaitable<void> Connect(Conn& c, Clock::duration timeout) {
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
               std::string_view content_type) {
    Attempt out;
    net::io_context ioc;
    Conn conn(ioc);
    auto timeout = std::chrono::duration_cast<Clock::duration>(options.timeout);
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
        out.response.headers[Lower(std::string(f.name_string()))] = std::string(f.value());
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
};

// ---- RestClient --------------------------------------------------------------------

RestClient::RestClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RestClient::~RestClient() = default;

const KubeConfig& RestClient::config() const { return impl_->config; }

Result<std::unique_ptr<RestClient>> RestClient::Create(const KubeConfig& config,
                                                       const RestOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->options = options;
  DRAHIL_ASSIGN_OR_RETURN(impl->endpoint, ParseServer(config.server));
  if (impl->endpoint.tls) {
    try {
      impl->ssl_ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
      if (config.insecure_skip_tls_verify) {
        impl->ssl_ctx->set_verify_mode(ssl::verify_none);
      } else {
        impl->ssl_ctx->set_verify_mode(ssl::verify_peer);
        if (!config.ca_pem.empty()) {
          impl->ssl_ctx->add_certificate_authority(net::buffer(config.ca_pem));
        } else {
          impl->ssl_ctx->set_default_verify_paths();
        }
      }
      if (!config.client_cert_pem.empty()) {
        impl->ssl_ctx->use_certificate_chain(net::buffer(config.client_cert_pem));
        impl->ssl_ctx->use_private_key(net::buffer(config.client_key_pem), ssl::context::pem);
      }
    } catch (const std::exception& e) {
      return InvalidArgumentError("TLS setup for " + config.server + ": " + e.what() + " " +
                                  OpenSslErrors());
    }
  }
  return std::unique_ptr<RestClient>(new RestClient(std::move(impl)));
}

Result<std::string> RestClient::Path(std::string_view resource, std::string_view ns,
                                     std::string_view name, std::string_view subresource) {
  const ResourceInfo* info = FindByResource(resource);
  if (info == nullptr)
    return InvalidArgumentError("unknown resource \"" + std::string(resource) + "\"");
  std::string p = info->group.empty() ? "/api/v1" : "/apis/" + info->GroupVersion();
  if (info->namespaced && !ns.empty()) p += "/namespaces/" + UrlEncode(ns);
  p += "/" + std::string(info->resource);
  if (!name.empty()) p += "/" + UrlEncode(name);
  if (!subresource.empty()) {
    if (name.empty()) return InvalidArgumentError("subresource without a name");
    p += "/" + std::string(subresource);
  }
  return p;
}

Result<HttpResponse> RestClient::Request(std::string_view method, std::string_view path,
                                         std::string_view body, std::string_view content_type,
                                         bool retry) {
  const RestOptions& o = impl_->options;
  int attempts = retry ? 1 + std::max(0, o.max_retries) : 1;
  bool idempotent = method == "GET" || method == "PUT" || method == "DELETE" || method == "HEAD";
  auto backoff = o.initial_backoff;
  Attempt a;
  for (int i = 0; i < attempts; ++i) {
    a = impl_->Once(method, std::string(path), body, content_type);
    bool last = i + 1 == attempts;
    std::chrono::milliseconds wait = backoff;
    if (!a.status.ok()) {
      // Connection failures before sending are always safe to retry.
      if (last || (a.sent && !idempotent)) return a.status;
    } else {
      int c = a.response.code;
      bool retryable = c == 429 || c == 502 || c == 503 || c == 504 || (c == 500 && idempotent);
      if (!retryable || last) return a.response;
      if (auto it = a.response.headers.find("retry-after"); it != a.response.headers.end()) {
        int secs = std::atoi(it->second.c_str());
        if (secs > 0) wait = std::chrono::seconds(secs);
      }
    }
    o.clock->SleepFor(std::min(wait, o.max_backoff));
    backoff = std::min(backoff * 2, o.max_backoff);
  }
  return a.status.ok() ? Result<HttpResponse>(a.response) : Result<HttpResponse>(a.status);
}

namespace {
Result<Object> ExpectObject(std::string_view method, const std::string& path,
                            const Result<HttpResponse>& r) {
  if (!r.ok()) return r.status();
  if (r->code < 200 || r->code > 299) return ErrorFromResponse(method, path, *r);
  return ParseJsonBody(method, path, *r);
}
}  // namespace

Result<Object> RestClient::Get(std::string_view resource, std::string_view ns,
                               std::string_view name) {
  DRAHIL_ASSIGN_OR_RETURN(std::string path, Path(resource, ns, name));
  return ExpectObject("GET", path, Request("GET", path));
}

Result<Object> RestClient::List(std::string_view resource, std::string_view ns,
                                const ListOptions& options) {
  DRAHIL_ASSIGN_OR_RETURN(std::string path, Path(resource, ns));
  if (!options.label_selector.empty()) AddQuery(path, "labelSelector", options.label_selector);
  if (!options.field_selector.empty()) AddQuery(path, "fieldSelector", options.field_selector);
  if (options.limit > 0) AddQuery(path, "limit", std::to_string(options.limit));
  if (!options.continue_token.empty()) AddQuery(path, "continue", options.continue_token);
  if (!options.resource_version.empty())
    AddQuery(path, "resourceVersion", options.resource_version);
  return ExpectObject("GET", path, Request("GET", path));
}

Result<Object> RestClient::ListAll(std::string_view resource, std::string_view ns,
                                   ListOptions options) {
  Object all;
  for (int page = 0; page < 100000; ++page) {
    DRAHIL_ASSIGN_OR_RETURN(Object list, List(resource, ns, options));
    if (all.is_null()) {
      all = list;
      if (!all.contains("items") || !all["items"].is_array()) all["items"] = Object::array();
    } else if (list.contains("items") && list["items"].is_array()) {
      for (auto& item : list["items"]) all["items"].push_back(std::move(item));
      all["metadata"] = list.value("metadata", Object::object());
    }
    std::string next = FieldValue(list, "metadata.continue");
    if (next.empty()) break;
    options.continue_token = next;
  }
  if (all.contains("metadata") && all["metadata"].is_object()) all["metadata"].erase("continue");
  return all;
}

namespace {
Result<std::string> ObjectPath(const Object& obj, const std::string& default_ns, bool with_name,
                               std::string_view subresource) {
  const ResourceInfo* info = ResourceFor(obj);
  if (info == nullptr) {
    return InvalidArgumentError("no resource for apiVersion \"" + ApiVersion(obj) + "\" kind \"" +
                                Kind(obj) + "\"");
  }
  std::string ns = Namespace(obj);
  if (ns.empty()) ns = default_ns;
  std::string name = Name(obj);
  if (with_name && name.empty())
    return InvalidArgumentError(ObjectRef(obj) + ": metadata.name is required");
  return RestClient::Path(info->resource, ns, with_name ? name : "", subresource);
}
}  // namespace

Result<Object> RestClient::CreateObject(const Object& obj) {
  DRAHIL_ASSIGN_OR_RETURN(std::string path, ObjectPath(obj, impl_->config.namespace_, false, ""));
  return ExpectObject("POST", path, Request("POST", path, obj.dump()));
}

Result<Object> RestClient::Update(const Object& obj) {
  DRAHIL_ASSIGN_OR_RETURN(std::string path, ObjectPath(obj, impl_->config.namespace_, true, ""));
  return ExpectObject("PUT", path, Request("PUT", path, obj.dump()));
}

Result<Object> RestClient::UpdateStatus(const Object& obj) {
  DRAHIL_ASSIGN_OR_RETURN(std::string path,
                          ObjectPath(obj, impl_->config.namespace_, true, "status"));
  return ExpectObject("PUT", path, Request("PUT", path, obj.dump()));
}

Result<Object> RestClient::UpdateWithRetry(std::string_view resource, std::string_view ns,
                                           std::string_view name,
                                           const std::function<Status(Object&)>& mutate,
                                           bool status) {
  const RestOptions& o = impl_->options;
  auto backoff = o.initial_backoff;
  Status last;
  for (int i = 0; i <= std::max(0, o.max_retries); ++i) {
    DRAHIL_ASSIGN_OR_RETURN(Object obj, Get(resource, ns, name));
    DRAHIL_RETURN_IF_ERROR(mutate(obj));
    auto r = status ? UpdateStatus(obj) : Update(obj);
    if (r.ok() || HttpCodeOf(r.status()) != 409) return r;
    last = r.status();
    o.clock->SleepFor(backoff);
    backoff = std::min(backoff * 2, o.max_backoff);
  }
  return last;
}

Result<Object> RestClient::Patch(std::string_view resource, std::string_view ns,
                                 std::string_view name, PatchType type, const Object& patch,
                                 std::string_view subresource) {
  DRAHIL_ASSIGN_OR_RETURN(std::string path, Path(resource, ns, name, subresource));
  const char* ct = type == PatchType::kMerge  ? "application/merge-patch+json"
                   : type == PatchType::kJson ? "application/json-patch+json"
                                              : "application/strategic-merge-patch+json";
  return ExpectObject("PATCH", path, Request("PATCH", path, patch.dump(), ct));
}

Status RestClient::Delete(std::string_view resource, std::string_view ns, std::string_view name,
                          const DeleteOptions& options) {
  DRAHIL_ASSIGN_OR_RETURN(std::string path, Path(resource, ns, name));
  std::string body;
  if (!options.precondition_uid.empty() || !options.precondition_resource_version.empty() ||
      !options.propagation_policy.empty()) {
    Object b = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
    if (!options.precondition_uid.empty()) b["preconditions"]["uid"] = options.precondition_uid;
    if (!options.precondition_resource_version.empty()) {
      b["preconditions"]["resourceVersion"] = options.precondition_resource_version;
    }
    if (!options.propagation_policy.empty()) b["propagationPolicy"] = options.propagation_policy;
    body = b.dump();
  }
  DRAHIL_ASSIGN_OR_RETURN(HttpResponse r, Request("DELETE", path, body));
  if (r.code == 404 && options.ignore_not_found) return OkStatus();
  if (r.code < 200 || r.code > 299) return ErrorFromResponse("DELETE", path, r);
  return OkStatus();
}

Status RestClient::Watch(std::string_view resource, std::string_view ns,
                         const WatchOptions& options, const WatchCallback& callback,
                         std::stop_token stop) {
  DRAHIL_ASSIGN_OR_RETURN(std::string path, Path(resource, ns));
  AddQuery(path, "watch", "true");
  if (!options.resource_version.empty())
    AddQuery(path, "resourceVersion", options.resource_version);
  if (options.allow_bookmarks) AddQuery(path, "allowWatchBookmarks", "true");
  if (options.send_initial_events) {
    AddQuery(path, "sendInitialEvents", "true");
    AddQuery(path, "resourceVersionMatch", "NotOlderThan");
  }
  if (!options.label_selector.empty()) AddQuery(path, "labelSelector", options.label_selector);
  if (!options.field_selector.empty()) AddQuery(path, "fieldSelector", options.field_selector);
  if (options.timeout_seconds > 0)
    AddQuery(path, "timeoutSeconds", std::to_string(options.timeout_seconds));

  Impl& impl = *impl_;
  const std::string what = "WATCH " + path;
  const auto deadline = Clock::now() + options.deadline;
  auto op_timeout = std::chrono::duration_cast<Clock::duration>(impl.options.timeout);
  net::io_context ioc;
  Impl::Conn conn(ioc);
  Status result;
  bool stopped = false;  // callback asked to stop, or stop requested (ioc thread only)
  std::exception_ptr failure;

  std::stop_callback on_stop(stop, [&] {
    net::post(ioc, [&] {
      stopped = true;
      if (!std::holds_alternative<std::monostate>(conn.s)) conn.Tcp().cancel();
    });
  });

  auto run = [&]() -> net::awaitable<void> {
    co_await impl.Connect(conn, std::min(op_timeout, Clock::duration(options.deadline)));
    // A stop that arrived while resolving had no socket to cancel.
    if (stopped) co_return;
    http::request<http::string_body> req{http::verb::get, impl.endpoint.base_path + path, 11};
    impl.SetHeaders(req, "", false);
    conn.Tcp().expires_after(op_timeout);
    beast::flat_buffer buf;
    http::response_parser<http::buffer_body> parser;
    // A watch streams indefinitely. (Not boost::none: Beast 1.74 compares a
    // Content-Length against the optional and refuses every body then.)
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    co_await impl.WithStream(conn, [&](auto& s) -> net::awaitable<void> {
      co_await http::async_write(s, req, net::use_awaitable);
      co_await http::async_read_header(s, buf, parser, net::use_awaitable);
    });
    int code = static_cast<int>(parser.get().result_int());
    std::string pending;  // bytes of an incomplete line
    char chunk[16384];
    auto read_some = [&]() -> net::awaitable<size_t> {
      parser.get().body().data = chunk;
      parser.get().body().size = sizeof(chunk);
      auto left = deadline - Clock::now();
      auto idle = std::chrono::duration_cast<Clock::duration>(options.idle_timeout);
      conn.Tcp().expires_after(
          std::max(Clock::duration(std::chrono::milliseconds(1)), std::min(left, idle)));
      beast::error_code ec;
      co_await impl.WithStream(conn, [&](auto& s) -> net::awaitable<void> {
        co_await http::async_read_some(s, buf, parser, net::redirect_error(net::use_awaitable, ec));
      });
      if (ec == http::error::need_buffer) ec = {};
      if (ec) throw beast::system_error(ec);
      co_return sizeof(chunk) - parser.get().body().size;
    };
    if (code != 200) {
      HttpResponse r;
      r.code = code;
      r.reason = std::string(parser.get().reason());
      while (!parser.is_done() && r.body.size() < (1u << 20)) {
        size_t n = co_await read_some();
        r.body.append(chunk, n);
      }
      result = ErrorFromResponse("WATCH", path, r);
      co_return;
    }
    while (!stopped) {
      if (parser.is_done()) co_return;  // server ended the watch
      size_t n = co_await read_some();
      pending.append(chunk, n);
      size_t nl;
      while (!stopped && (nl = pending.find('\n')) != std::string::npos) {
        std::string line = pending.substr(0, nl);
        pending.erase(0, nl + 1);
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        WatchEvent ev;
        try {
          Object j = Object::parse(line);
          ev.type = j.value("type", "");
          if (j.contains("object")) ev.object = std::move(j["object"]);
        } catch (const std::exception& e) {
          result = InternalError(what + ": malformed watch event: " + e.what());
          co_return;
        }
        if (ev.type.empty()) {
          result = InternalError(what + ": watch event without type");
          co_return;
        }
        bool keep = callback(ev);
        if (ev.type == "ERROR") {
          std::string msg = ev.object.is_object() ? ev.object.value("message", "") : "";
          int c = ev.object.is_object() ? ev.object.value("code", 500) : 500;
          result =
              Status(CodeForHttp(c, ev.object.is_object() ? ev.object.value("reason", "") : ""),
                     what + ": HTTP " + std::to_string(c) + " watch ERROR event: " + msg);
          co_return;
        }
        if (!keep) stopped = true;
      }
    }
  };
  net::co_spawn(ioc, run(), [&](std::exception_ptr e) { failure = e; });
  ioc.run();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const beast::system_error& e) {
      if (stopped || stop.stop_requested()) return OkStatus();
      if (e.code() == beast::error::timeout &&
          Clock::now() >= deadline - std::chrono::milliseconds(5)) {
        return OkStatus();  // the watch's own deadline: a normal end
      }
      if (e.code() == http::error::end_of_stream || e.code() == net::error::eof ||
          e.code() == http::error::partial_message) {
        return OkStatus();  // the server ended the stream (clients then re-watch)
      }
      return TransportError(e.code(), what);
    } catch (const std::exception& e) {
      return UnavailableError(what + ": " + e.what());
    }
  }
  return result;
}

}  // namespace drahil::kube
