// See server_tls.hpp.
#include "net/server_tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/context.hpp>

namespace rtm::net {

namespace ssl = boost::asio::ssl;

namespace {

// TLS 1.2 suites with forward secrecy and AEAD, strongest first (Mozilla "intermediate").
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

std::string describe_certificate(SSL_CTX* ctx) {
  X509* cert = SSL_CTX_get0_certificate(ctx);
  if (!cert) return "no certificate";
  char subject[256];
  X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
  std::string out = subject;
  if (const ASN1_TIME* until = X509_get0_notAfter(cert)) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (bio && ASN1_TIME_print(bio, until)) {
      char* data = nullptr;
      long n = BIO_get_mem_data(bio, &data);
      out.append(", valid until ").append(data, static_cast<std::size_t>(n));
    }
    BIO_free(bio);
  }
  return out;
}

Result<std::shared_ptr<ssl::context>> make_context(const std::string& cert_file,
                                                   const std::string& key_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(
      native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1)
    return make_error(Rc::Unavailable, "TLS cipher list: " + openssl_error());
  if (SSL_CTX_use_certificate_chain_file(native, cert_file.c_str()) != 1)
    return make_error(Rc::Unavailable,
                      "cannot load TLS certificate " + cert_file + ": " + openssl_error());
  if (SSL_CTX_use_PrivateKey_file(native, key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    return make_error(Rc::Unavailable, "cannot load TLS key " + key_file + ": " + openssl_error());
  if (SSL_CTX_check_private_key(native) != 1)
    return make_error(Rc::Unavailable,
                      "TLS key " + key_file + " does not match the certificate " + cert_file);
  return ctx;
}

}  // namespace

Result<std::unique_ptr<ServerTls>> ServerTls::load(std::string cert_file, std::string key_file) {
  std::unique_ptr<ServerTls> tls(new ServerTls(std::move(cert_file), std::move(key_file)));
  if (auto s = tls->reload(); !s) return s.error();
  return tls;
}

Status ServerTls::reload() {
  auto ctx = make_context(cert_file_, key_file_);
  if (!ctx) return ctx.error();
  std::string description = describe_certificate((*ctx)->native_handle());
  std::lock_guard lock(mu_);
  current_ = std::move(*ctx);
  description_ = std::move(description);
  return ok_status();
}

std::shared_ptr<ssl::context> ServerTls::current() const {
  std::lock_guard lock(mu_);
  return current_;
}

std::string ServerTls::describe() const {
  std::lock_guard lock(mu_);
  return description_;
}

}  // namespace rtm::net
