#include "unit/http/test_pki.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>

namespace taskpoller::http::test {
namespace {

struct key_free {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct cert_free {
    void operator()(X509* c) const { X509_free(c); }
};
using key_ptr = std::unique_ptr<EVP_PKEY, key_free>;
using cert_ptr = std::unique_ptr<X509, cert_free>;

void check(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("test_pki: ") + what + " failed");
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    check(ext != nullptr, "X509V3_EXT_conf_nid");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

cert_ptr make_cert(EVP_PKEY* key, const std::string& cn, X509* issuer, long serial) {
    cert_ptr cert(X509_new());
    check(cert != nullptr, "X509_new");
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
    X509* signer = issuer ? issuer : cert.get();
    add_ext(cert.get(), signer, NID_subject_key_identifier, "hash");
    return cert;
}

void sign(X509* cert, EVP_PKEY* key) {
    check(X509_sign(cert, key, EVP_sha256()) > 0, "X509_sign");
}

std::string pem_of(X509* cert) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
}

std::string pem_of(EVP_PKEY* key) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
}

}  // namespace

test_pki::test_pki(std::vector<std::string> dns_names, std::vector<std::string> ip_addresses) {
    key_ptr ca_key(EVP_EC_gen("P-256"));
    key_ptr server_key(EVP_EC_gen("P-256"));
    check(ca_key && server_key, "EVP_EC_gen");

    cert_ptr ca = make_cert(ca_key.get(), "taskpoller test CA", nullptr, 1);
    add_ext(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE");
    add_ext(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
    sign(ca.get(), ca_key.get());

    std::string san;
    for (const auto& d : dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + d;
    for (const auto& ip : ip_addresses) san += (san.empty() ? "IP:" : ",IP:") + ip;
    cert_ptr server =
        make_cert(server_key.get(), dns_names.empty() ? "server" : dns_names.front(), ca.get(), 2);
    add_ext(server.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
    add_ext(server.get(), ca.get(), NID_ext_key_usage, "serverAuth");
    add_ext(server.get(), ca.get(), NID_authority_key_identifier, "keyid");
    if (!san.empty()) add_ext(server.get(), ca.get(), NID_subject_alt_name, san);
    sign(server.get(), ca_key.get());

    std::string pattern =
        (std::filesystem::temp_directory_path() / "taskpoller-pki-XXXXXX").string();
    check(::mkdtemp(pattern.data()) != nullptr, "mkdtemp");
    dir_ = pattern;
    ca_file_ = dir_ + "/ca.pem";
    std::ofstream(ca_file_) << pem_of(ca.get());
    server_cert_pem_ = pem_of(server.get());
    server_key_pem_ = pem_of(server_key.get());
}

test_pki::~test_pki() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

}  // namespace taskpoller::http::test
