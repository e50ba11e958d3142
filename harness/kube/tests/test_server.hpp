// A tiny HTTP/HTTPS server for the REST client tests: real sockets, real
// TLS, one thread per connection. Handlers decide the response; a response
// may be streamed in chunks (for watches) or withheld (to test timeouts).
#ifndef DRAHIL_KUBE_TESTS_TEST_SERVER_HPP_INCLUDED
#define DRAHIL_KUBE_TESTS_TEST_SERVER_HPP_INCLUDED

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace drahil::kube::testing {

struct KeyCert {
  std::string key_pem;
  std::string cert_pem;
};

// MakeCert(): an EC P-256 key and certificate for cn, signed by issuer (self-
// signed when issuer is null), with the given subjectAltNames
// ("IP:127.0.0.1,DNS:localhost").
KeyCert MakeCert(const std::string& cn, const KeyCert* issuer, bool is_ca, const std::string& sans);

struct TestRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string peer_cn;  // client certificate CN (TLS with client certs)
};

struct TestResponse {
  int code = 200;
  std::string body;
  std::string content_type = "application/json";
  std::map<std::string, std::string> headers;
  // Chunked streaming: each chunk is written and flushed in turn.
  std::vector<std::string> chunks;
  // After the chunks (or instead of any response): keep the connection open
  // without writing until the client goes away or the server stops.
  bool hang = false;
};

class TestServer {
 public:
  using Handler = std::function<TestResponse(const TestRequest&)>;
  struct Tls {
    KeyCert server;
    std::string client_ca_pem;  // non-empty: require a client certificate
  };

  explicit TestServer(Handler handler, const Tls* tls = nullptr);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  int port() const { return port_; }
  std::string Url() const;
  std::vector<TestRequest> Requests();
  size_t RequestCount();

 private:
  void AcceptLoop();
  void Serve(boost::asio::ip::tcp::socket sock);
  template <typename Stream>
  void ServeStream(Stream& s, const std::string& peer_cn);

  Handler handler_;
  bool tls_ = false;
  std::unique_ptr<boost::asio::ssl::context> ssl_ctx_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::vector<TestRequest> requests_;
  std::vector<std::shared_ptr<boost::asio::ip::tcp::socket>> open_;
  std::vector<std::thread> threads_;
  std::thread accept_thread_;
};

}  // namespace drahil::kube::testing

#endif  // DRAHIL_KUBE_TESTS_TEST_SERVER_HPP_INCLUDED
