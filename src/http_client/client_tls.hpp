// Client TLS for the rtm HTTP client (https:// webhooks, the CLI): a context that verifies the
// server's certificate chain against the system's CA store, or against one PEM file of CAs
// (a private CA: --webhook-ca, rtm --ca), and its host name (SNI sent, name checked) in
// AsyncConnection. TLS 1.2 at least. Made once and shared by every connection, since
// loading the system's store takes milliseconds.
#pragma once

#include <memory>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace rtm::http {

// Null and a one-line reason in `error` when the CA file cannot be read.
std::shared_ptr<boost::asio::ssl::context> make_client_tls(const std::string& ca_file,
                                                           std::string& error);

}  // namespace rtm::http
