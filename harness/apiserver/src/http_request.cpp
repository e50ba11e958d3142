#include "http_request.hpp"

#include <cctype>

namespace drahil::apiserver::internal {

namespace http = boost::beast::http;

std::string PercentDecode(std::string_view in, bool plus_is_space) {
  auto hex = [](char c) {
    return std::isdigit(static_cast<unsigned char>(c))
               ? c - '0'
               : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10;
  };
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < in.size() &&
               std::isxdigit(static_cast<unsigned char>(in[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      out.push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Request FromHttp(http::request<http::string_body>&& msg) {
  Request req;
  req.method = std::string(msg.method_string());
  std::string_view target(msg.target().data(), msg.target().size());
  size_t q = target.find('?');
  req.path = PercentDecode(target.substr(0, q), false);
  if (q != std::string_view::npos) {
    req.query = std::string(target.substr(q + 1));
    std::string_view rest = req.query;
    while (!rest.empty()) {
      size_t amp = rest.find('&');
      std::string_view kv = rest.substr(0, amp);
      size_t eq = kv.find('=');
      std::string k = PercentDecode(kv.substr(0, eq), true);
      std::string v = eq == std::string_view::npos ? "" : PercentDecode(kv.substr(eq + 1), true);
      if (!k.empty()) req.params[k] = v;
      if (amp == std::string_view::npos) break;
      rest.remove_prefix(amp + 1);
    }
  }
  auto header = [&](http::field f) {
    auto it = msg.find(f);
    return it == msg.end() ? std::string() : std::string(it->value());
  };
  req.content_type = header(http::field::content_type);
  req.accept = header(http::field::accept);
  req.authorization = header(http::field::authorization);
  req.user_agent = header(http::field::user_agent);
  req.body = std::move(msg.body());
  return req;
}

}  // namespace drahil::apiserver::internal
