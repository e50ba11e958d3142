#include "test_server.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <stdexcept>

namespace drahil::kube::testing {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

namespace {

std::string BioString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

void AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) throw std::runtime_error("X509V3_EXT_conf_nid failed");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

}  // namespace

KeyCert MakeCert(const std::string& cn, const KeyCert* issuer, bool is_ca,
                 const std::string& sans) {
  static int serial = 1;
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* issuer_cert = cert;
  EVP_PKEY* issuer_key = key;
  if (issuer != nullptr) {
    BIO* cb = BIO_new_mem_buf(issuer->cert_pem.data(), static_cast<int>(issuer->cert_pem.size()));
    issuer_cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
    BIO_free(cb);
    BIO* kb = BIO_new_mem_buf(issuer->key_pem.data(), static_cast<int>(issuer->key_pem.size()));
    issuer_key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
    BIO_free(kb);
  }
  X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert));
  AddExt(cert, issuer_cert, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "CA:FALSE");
  if (is_ca)
    AddExt(cert, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
  if (!sans.empty()) AddExt(cert, issuer_cert, NID_subject_alt_name, sans);
  X509_sign(cert, issuer_key, EVP_sha256());
  KeyCert out;
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, cert);
  out.cert_pem = BioString(b);
  BIO_free(b);
  b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
  out.key_pem = BioString(b);
  BIO_free(b);
  if (issuer != nullptr) {
    X509_free(issuer_cert);
    EVP_PKEY_free(issuer_key);
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

TestServer::TestServer(Handler handler, const Tls* tls)
    : handler_(std::move(handler)),
      acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
  port_ = acceptor_.local_endpoint().port();
  if (tls != nullptr) {
    tls_ = true;
    ssl_ctx_ = std::make_unique<ssl::context>(ssl::context::tls_server);
    ssl_ctx_->use_certificate_chain(net::buffer(tls->server.cert_pem));
    ssl_ctx_->use_private_key(net::buffer(tls->server.key_pem), ssl::context::pem);
    if (!tls->client_ca_pem.empty()) {
      ssl_ctx_->add_certificate_authority(net::buffer(tls->client_ca_pem));
      ssl_ctx_->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    }
  }
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

TestServer::~TestServer() {
  stopping_ = true;
  boost::system::error_code ec;
  // Wake the accept() with a connection of our own, then close everything.
  {
    tcp::socket s(ioc_);
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)),
              ec);
  }
  accept_thread_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& s : open_) s->shutdown(tcp::socket::shutdown_both, ec);
  }
  for (auto& t : threads_) t.join();
}

std::string TestServer::Url() const {
  return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
}

std::vector<TestRequest> TestServer::Requests() {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

size_t TestServer::RequestCount() {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_.size();
}

void TestServer::AcceptLoop() {
  while (!stopping_) {
    boost::system::error_code ec;
    tcp::socket sock(ioc_);
    acceptor_.accept(sock, ec);
    if (ec || stopping_) break;
    std::lock_guard<std::mutex> lock(mu_);
    threads_.emplace_back([this, s = std::move(sock)]() mutable { Serve(std::move(s)); });
  }
}

void TestServer::Serve(tcp::socket sock) {
  auto shared = std::make_shared<tcp::socket>(std::move(sock));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    open_.push_back(shared);
  }
  try {
    if (!tls_) {
      ServeStream(*shared, "");
      return;
    }
    ssl::stream<tcp::socket&> s(*shared, *ssl_ctx_);
    boost::system::error_code ec;
    s.handshake(ssl::stream_base::server, ec);
    if (ec) return;
    std::string cn;
    if (X509* peer = SSL_get_peer_certificate(s.native_handle())) {
      char buf[256] = {0};
      X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, buf, sizeof(buf));
      cn = buf;
      X509_free(peer);
    }
    ServeStream(s, cn);
  } catch (const std::exception&) {
    // The client went away: nothing to do in a test server.
  }
}

template <typename Stream>
void TestServer::ServeStream(Stream& s, const std::string& peer_cn) {
  beast::flat_buffer buf;
  while (!stopping_) {
    http::request<http::string_body> req;
    boost::system::error_code ec;
    http::read(s, buf, req, ec);
    if (ec) return;
    TestRequest tr;
    tr.method = std::string(req.method_string());
    tr.target = std::string(req.target());
    for (const auto& f : req) {
      std::string n(f.name_string());
      for (auto& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      tr.headers[n] = std::string(f.value());
    }
    tr.body = req.body();
    tr.peer_cn = peer_cn;
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(tr);
    }
    TestResponse resp = handler_(tr);
    if (resp.hang && resp.chunks.empty()) {
      char c;
      net::read(s, net::buffer(&c, 1), ec);  // returns when the client closes
      return;
    }
    if (!resp.chunks.empty()) {
      http::response<http::empty_body> res{static_cast<http::status>(resp.code), 11};
      res.set(http::field::content_type, resp.content_type);
      res.chunked(true);
      http::response_serializer<http::empty_body> sr{res};
      http::write_header(s, sr, ec);
      for (const auto& chunk : resp.chunks) {
        net::write(s, http::make_chunk(net::buffer(chunk)), ec);
        if (ec) return;
      }
      if (resp.hang) {
        char c;
        net::read(s, net::buffer(&c, 1), ec);
        return;
      }
      net::write(s, http::make_chunk_last(), ec);
      return;
    }
    http::response<http::string_body> res{static_cast<http::status>(resp.code), 11};
    res.set(http::field::content_type, resp.content_type);
    for (const auto& [k, v] : resp.headers) res.set(k, v);
    res.body() = resp.body;
    res.keep_alive(false);
    res.prepare_payload();
    http::write(s, res, ec);
    return;
  }
}

}  // namespace drahil::kube::testing
