// Fuzzes the API server's request path below the socket: Beast's parser
// with the session's limits, the conversion to a Request, classification
// (authentication, routing) and the handler's verbs on a fresh store. No input
// may crash, hang or leak; every answer is a valid HTTP status, an error
// answer is a Kubernetes Status object, and a protobuf answer decodes again.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "handler.hpp"
#include "http_request.hpp"
#include "protobuf.hpp"
#include "store.hpp"

namespace http = boost::beast::http;
using drahil::apiserver::internal::Handler;
using drahil::apiserver::internal::Store;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  http::request_parser<http::string_body> parser;
  parser.eager(true);
  parser.body_limit(1u << 20);
  parser.header_limit(64 * 1024);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return 0;  // the session answers 400 and closes

  Store store(Store::Options{});
  Handler handler(store, Handler::Config{"v1.34.0", "admin-token", false, std::chrono::seconds(1)});
  auto req = drahil::apiserver::internal::FromHttp(parser.release());
  auto cls = handler.Classify(req);
  auto res = handler.Serve(req, cls);
  if (res.status < 100 || res.status > 599) {
    std::fprintf(stderr, "status %d for %s %s\n", res.status, req.method.c_str(), req.path.c_str());
    std::abort();
  }
  if (res.status >= 400 && !res.watcher && res.content_type.find("json") != std::string::npos) {
    auto body = nlohmann::json::parse(res.body, nullptr, false);
    if (body.is_discarded() || body.value("kind", "") != "Status") {
      std::fprintf(stderr, "error %d is not a Status: %.200s\n", res.status, res.body.c_str());
      std::abort();
    }
  }
  if (!res.watcher && res.content_type == drahil::apiserver::internal::kProtobufMediaType) {
    // A protobuf answer decodes again; an error one is a Status.
    std::string err;
    auto obj = drahil::apiserver::internal::DecodeProtobufObject(res.body, &err);
    if (!obj || (res.status >= 400 && obj->value("kind", "") != "Status")) {
      std::fprintf(stderr, "protobuf answer %d does not decode: %s\n", res.status, err.c_str());
      std::abort();
    }
  }
  return 0;
}
