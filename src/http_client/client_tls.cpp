// See client_tls.hpp.
#include "http_client/client_tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>

namespace rtm::http {

std::shared_ptr<boost::asio::ssl::context> make_client_tls(const std::string& ca_file,
                                                           std::string& error) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  boost::system::error_code ec;
  if (ca_file.empty())
    ctx->set_default_verify_paths(ec);
  else
    ctx->load_verify_file(ca_file, ec);
  if (ec) {
    error = (ca_file.empty() ? std::string("the system's CA store") : "CA file " + ca_file) + ": " +
            ec.message();
    return nullptr;
  }
  ctx->set_verify_mode(ssl::verify_peer);
  return ctx;
}

}  // namespace rtm::http
