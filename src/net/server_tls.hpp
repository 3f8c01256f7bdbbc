// ServerTls: the certificate and key rtmd serves HTTPS and WSS with (--tls-cert, --tls-key,
// PEM). TLS 1.2 and 1.3 only, forward-secret AEAD ciphers for 1.2 (Mozilla's "intermediate"
// list), OpenSSL's defaults for 1.3, no compression, no renegotiation.
//
// reload() reads the files again (on SIGHUP: an ACME client renews the certificate in place)
// and swaps the context new connections get; connections already open keep the one they
// were made with (OpenSSL counts the references to it), so none is dropped. A reload that
// fails keeps the old certificate and says why.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "core/result.hpp"

namespace boost::asio::ssl {
class context;
}

namespace rtm::net {

class ServerTls {
 public:
  // Loads and checks the pair (the key must match the certificate). Unavailable with a
  // one-line reason naming the file on failure.
  static Result<std::unique_ptr<ServerTls>> load(std::string cert_file, std::string key_file);

  Status reload();
  // The context for a connection accepted now. Thread-safe.
  std::shared_ptr<boost::asio::ssl::context> current() const;
  // The subject and expiry of the certificate in use, for the log line of a (re)load.
  std::string describe() const;

 private:
  ServerTls(std::string cert_file, std::string key_file)
      : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)) {}

  const std::string cert_file_;
  const std::string key_file_;
  mutable std::mutex mu_;  // guards current_ and description_; nothing is locked under it
  std::shared_ptr<boost::asio::ssl::context> current_;
  std::string description_;
};

}  // namespace rtm::net
