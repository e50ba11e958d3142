// File: tls.hpp (private)
//
// A throw-away PKI for the API server: a CA and a serving certificate for
// 127.0.0.1/localhost (and the listen address), made at start with OpenSSL.
// Clients trust the CA through the kubeconfig's certificate-authority-data.
// TLS matters for real clients: client-go (kubectl, Go drivers) never sends a
// bearer token to a plain-http server.
#ifndef DRAHIL_APISERVER_TLS_HPP_INCLUDED
#define DRAHIL_APISERVER_TLS_HPP_INCLUDED

#include <string>
#include <string_view>

#include "drahil/core/status.hpp"

namespace drahil::apiserver::internal {

struct TlsMaterial {
  std::string ca_pem;    // the CA certificate clients trust
  std::string cert_pem;  // serving certificate, signed by the CA
  std::string key_pem;   // its private key (P-256)
};

// GenerateTls(): host is an IP address or DNS name added to the SANs next to
// 127.0.0.1, ::1 and localhost. Valid from an hour ago for 10 years.
Result<TlsMaterial> GenerateTls(const std::string& host);

// Base64(): standard alphabet with padding (kubeconfig *-data fields).
std::string Base64(std::string_view data);

}  // namespace drahil::apiserver::internal

#endif  // DRAHIL_APISERVER_TLS_HPP_INCLUDED
