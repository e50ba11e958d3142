// Small synchronous HTTP client for the API server tests (Beast), plus a
// streaming reader for watch responses. Tests only: exceptions are fine here.
#ifndef DRAHIL_APISERVER_TESTS_TEST_CLIENT_HPP_INCLUDED
#define DRAHIL_APISERVER_TESTS_TEST_CLIENT_HPP_INCLUDED

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "drahil/apiserver/apiserver.hpp"

namespace drahil::apiserver::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using nlohmann::json;

struct HttpResult {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
  json Json() const { return json::parse(body, nullptr, false); }
};

inline HttpResult Http(uint16_t port, const std::string& method, const std::string& target,
                       const std::string& body, const std::string& token,
                       const std::string& content_type = "application/json") {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(std::chrono::seconds(10));
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  http::request<http::string_body> req(http::string_to_verb(method), target, 11);
  req.set(http::field::host, "127.0.0.1");
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  if (!body.empty()) req.set(http::field::content_type, content_type);
  req.set(http::field::accept, "application/json");
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64u << 20);
  http::read(stream, buf, parser);
  HttpResult r;
  auto& res = parser.get();
  r.status = res.result_int();
  r.body = res.body();
  for (const auto& f : res) r.headers[std::string(f.name_string())] = std::string(f.value());
  return r;
}

inline HttpResult Http(const ApiServer& s, const std::string& method, const std::string& target,
                       const std::string& body = "",
                       const std::string& content_type = "application/json") {
  return Http(s.port(), method, target, body, s.admin_token(), content_type);
}

// As(): a request with the given bearer token (a node's, a policy's) and a
// JSON body (none when null).
inline HttpResult As(const ApiServer& s, const std::string& token, const std::string& method,
                     const std::string& target, const json& body = nullptr,
                     const std::string& content_type = "application/json") {
  return Http(s.port(), method, target, body.is_null() ? "" : body.dump(), token, content_type);
}

// WatchStream: a GET ?watch=true whose chunked body is read incrementally.
class WatchStream {
 public:
  WatchStream(uint16_t port, const std::string& target, const std::string& token) : stream_(ioc_) {
    stream_.expires_after(std::chrono::seconds(10));
    stream_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    http::request<http::empty_body> req(http::verb::get, target, 11);
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::authorization, "Bearer " + token);
    http::write(stream_, req);
    parser_.body_limit(1u << 30);
    on_chunk_ = [this](std::uint64_t, beast::string_view body, beast::error_code&) {
      pending_.append(body.data(), body.size());
      size_t nl;
      while ((nl = pending_.find('\n')) != std::string::npos) {
        lines_.push_back(pending_.substr(0, nl));
        pending_.erase(0, nl + 1);
      }
      return body.size();
    };
    parser_.on_chunk_body(on_chunk_);
    http::read_header(stream_, buf_, parser_);
    status_ = parser_.get().result_int();
  }

  int status() const { return status_; }

  // Next(): the next event, or nullopt when the stream ended or timeout passed.
  std::optional<json> Next(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (lines_.empty()) {
      if (ended_ || parser_.is_done()) {
        ended_ = true;
        return std::nullopt;
      }
      auto left = deadline - std::chrono::steady_clock::now();
      if (left <= std::chrono::steady_clock::duration::zero()) return std::nullopt;
      stream_.expires_after(left);
      beast::error_code ec;
      http::read_some(stream_, buf_, parser_, ec);
      if (ec == beast::error::timeout) return std::nullopt;
      if (ec) {
        ended_ = true;
        error_ = ec;
      }
    }
    std::string line = std::move(lines_.front());
    lines_.pop_front();
    return json::parse(line, nullptr, false);
  }
  // Ended(): the server finished the response (final chunk) or closed.
  bool Ended() const { return ended_; }
  // CleanEnd(): ended with the final chunk rather than a cut connection.
  bool CleanEnd() const { return ended_ && !error_; }

 private:
  asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buf_;
  http::response_parser<http::empty_body> parser_;
  std::function<size_t(std::uint64_t, beast::string_view, beast::error_code&)> on_chunk_;
  std::string pending_;
  std::deque<std::string> lines_;
  int status_ = 0;
  bool ended_ = false;
  beast::error_code error_;
};

inline json Slice(const std::string& name, const std::string& node,
                  const std::string& driver = "gpu.example.com", int devices = 1) {
  json devs = json::array();
  for (int i = 0; i < devices; ++i) devs.push_back({{"name", "gpu-" + std::to_string(i)}});
  json spec = {{"driver", driver},
               {"pool", {{"name", node}, {"generation", 1}, {"resourceSliceCount", 1}}},
               {"nodeName", node},
               {"devices", devs}};
  json obj = {{"apiVersion", "resource.k8s.io/v1"}, {"kind", "ResourceSlice"}, {"spec", spec}};
  if (!name.empty()) obj["metadata"]["name"] = name;
  return obj;
}

inline json Claim(const std::string& ns, const std::string& name, bool admin_access = false) {
  json exactly = {{"deviceClassName", "gpu.example.com"}};
  if (admin_access) exactly["adminAccess"] = true;
  return {{"apiVersion", "resource.k8s.io/v1"},
          {"kind", "ResourceClaim"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", {{"devices", {{"requests", {{{"name", "gpu"}, {"exactly", exactly}}}}}}}}};
}

}  // namespace drahil::apiserver::testing

#endif  // DRAHIL_APISERVER_TESTS_TEST_CLIENT_HPP_INCLUDED
