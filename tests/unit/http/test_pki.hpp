#pragma once
// A throw-away PKI for TLS tests: a CA and a server certificate it signs, generated with the
// OpenSSL API at test time. The CA certificate is written to a temporary directory that is
// removed when the object dies.

#include <string>
#include <vector>

namespace taskpoller::http::test {

class test_pki {
  public:
    /// `dns_names` and `ip_addresses` go into the server certificate's subjectAltName.
    test_pki(std::vector<std::string> dns_names, std::vector<std::string> ip_addresses = {});
    ~test_pki();
    test_pki(const test_pki&) = delete;
    test_pki& operator=(const test_pki&) = delete;

    const std::string& ca_file() const { return ca_file_; }  ///< PEM, for client_options::ca_file
    const std::string& server_cert_pem() const { return server_cert_pem_; }
    const std::string& server_key_pem() const { return server_key_pem_; }
    const std::string& dir() const { return dir_; }

  private:
    std::string dir_;
    std::string ca_file_;
    std::string server_cert_pem_;
    std::string server_key_pem_;
};

}  // namespace taskpoller::http::test
