// BaseUrl: the server address the rtm tools and webhooks talk to ("http://127.0.0.1:8080",
// "https://host", with a path prefix "http://host/rtm", with a query string for webhooks),
// parsed once with Boost.URL into what a request needs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rtm::http {

struct BaseUrl {
  std::string text;         // as given, without a trailing '/'
  std::string host;         // name or address to resolve (IPv6 without brackets)
  std::string port;         // "8080"
  std::string host_header;  // value of the Host header ("host:port", "[::1]:port")
  std::string prefix;       // path before "/v1/...", "" or "/rtm"
  std::string query;        // "?a=b" or ""; sent with requests to the URL itself (webhooks)
  bool tls = false;         // https://

  // prefix + path, path starting with '/'.
  // scheme://host:port, without the path: what error texts name, since a path may be a
  // secret (webhook URLs such as https://hooks.example/services/T0/B0/SECRET).
  std::string origin() const { return (tls ? "https://" : "http://") + host_header; }

  std::string target(std::string_view path) const {
    std::string t = prefix;
    t.append(path);
    return t;
  }
};

// Parses an http:// or https:// URL (default ports 80 and 443). nullopt and a one-line
// reason in `error` when it is not one.
std::optional<BaseUrl> parse_base_url(std::string_view text, std::string& error);

}  // namespace rtm::http
