#include "tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace drahil::apiserver::internal {

namespace {

struct Deleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
template <typename T>
using Ptr = std::unique_ptr<T, Deleter>;

Status SslError(const std::string& what) {
  unsigned long e = ERR_get_error();
  char buf[256] = "unknown error";
  if (e != 0) ERR_error_string_n(e, buf, sizeof(buf));
  return InternalError("tls: " + what + ": " + buf);
}

Status AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  Ptr<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext) return SslError("extension " + value);
  if (X509_add_ext(cert, ext.get(), -1) != 1) return SslError("add extension " + value);
  return OkStatus();
}

Result<Ptr<X509>> MakeCert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key,
                           bool is_ca, const std::string& san) {
  Ptr<X509> cert(X509_new());
  if (!cert) return SslError("X509_new");
  X509_set_version(cert.get(), 2);
  unsigned char serial[8];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7F;
  uint64_t s = 0;
  for (unsigned char b : serial) s = (s << 8) | b;
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), s);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* iss = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(iss));
  if (is_ca) {
    DRAHIL_RETURN_IF_ERROR(AddExt(cert.get(), iss, NID_basic_constraints, "critical,CA:TRUE"));
    DRAHIL_RETURN_IF_ERROR(
        AddExt(cert.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature"));
  } else {
    DRAHIL_RETURN_IF_ERROR(AddExt(cert.get(), iss, NID_basic_constraints, "critical,CA:FALSE"));
    DRAHIL_RETURN_IF_ERROR(
        AddExt(cert.get(), iss, NID_key_usage, "critical,digitalSignature,keyEncipherment"));
    DRAHIL_RETURN_IF_ERROR(AddExt(cert.get(), iss, NID_ext_key_usage, "serverAuth"));
    DRAHIL_RETURN_IF_ERROR(AddExt(cert.get(), iss, NID_subject_alt_name, san));
  }
  DRAHIL_RETURN_IF_ERROR(AddExt(cert.get(), iss, NID_subject_key_identifier, "hash"));
  if (!is_ca) {
    DRAHIL_RETURN_IF_ERROR(AddExt(cert.get(), iss, NID_authority_key_identifier, "keyid:always"));
  }
  if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
    return SslError("sign " + cn);
  }
  return cert;
}

Result<std::string> CertPem(X509* cert) {
  Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return SslError("PEM_write_bio_X509");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<std::string> KeyPem(EVP_PKEY* key) {
  Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return SslError("PEM_write_bio_PrivateKey");
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

bool LooksLikeIp(const std::string& h) {
  return !h.empty() && (h.find(':') != std::string::npos ||
                        h.find_first_not_of("0123456789.") == std::string::npos);
}

}  // namespace

Result<TlsMaterial> GenerateTls(const std::string& host) {
  Ptr<EVP_PKEY> ca_key(EVP_EC_gen("P-256"));
  Ptr<EVP_PKEY> key(EVP_EC_gen("P-256"));
  if (!ca_key || !key) return SslError("EVP_EC_gen");
  std::string san = "IP:127.0.0.1,IP:::1,DNS:localhost";
  if (!host.empty() && host != "127.0.0.1" && host != "::1" && host != "localhost" &&
      host != "0.0.0.0" && host != "::") {
    san += (LooksLikeIp(host) ? ",IP:" : ",DNS:") + host;
  }
  DRAHIL_ASSIGN_OR_RETURN(
      auto ca, MakeCert(ca_key.get(), "drahil-apiserver-ca", nullptr, nullptr, true, ""));
  DRAHIL_ASSIGN_OR_RETURN(
      auto cert, MakeCert(key.get(), "drahil-apiserver", ca.get(), ca_key.get(), false, san));
  TlsMaterial m;
  DRAHIL_ASSIGN_OR_RETURN(m.ca_pem, CertPem(ca.get()));
  DRAHIL_ASSIGN_OR_RETURN(m.cert_pem, CertPem(cert.get()));
  DRAHIL_ASSIGN_OR_RETURN(m.key_pem, KeyPem(key.get()));
  return m;
}

std::string Base64(std::string_view data) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t v = (static_cast<uint8_t>(data[i]) << 16) | (static_cast<uint8_t>(data[i + 1]) << 8) |
                 static_cast<uint8_t>(data[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < data.size()) {
    uint32_t v = static_cast<uint8_t>(data[i]) << 16;
    if (i + 1 < data.size()) v |= static_cast<uint8_t>(data[i + 1]) << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < data.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace drahil::apiserver::internal
