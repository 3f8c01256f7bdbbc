// BaseUrl parsing with Boost.URL.
#include "http_client/base_url.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace rtm::http {

std::optional<BaseUrl> parse_base_url(std::string_view text, std::string& error) {
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) {
    error = "not a URL: '" + std::string(text) + "'";
    return std::nullopt;
  }
  boost::urls::url_view u = *parsed;
  BaseUrl b;
  if (u.scheme() == "https") {
    b.tls = true;
  } else if (u.scheme() != "http") {
    error = "unsupported URL scheme '" + std::string(u.scheme()) + "' (http:// or https://)";
    return std::nullopt;
  }
  switch (u.host_type()) {
    case boost::urls::host_type::ipv6:
    case boost::urls::host_type::name:
    case boost::urls::host_type::ipv4: b.host = std::string(u.host_address()); break;
    default: error = "URL has no usable host: '" + std::string(text) + "'"; return std::nullopt;
  }
  if (b.host.empty()) {
    error = "URL has no host: '" + std::string(text) + "'";
    return std::nullopt;
  }
  b.port = u.has_port() && !u.port().empty() ? std::string(u.port()) : b.tls ? "443" : "80";
  bool v6 = u.host_type() == boost::urls::host_type::ipv6;
  b.host_header = (v6 ? "[" + b.host + "]" : b.host) + ":" + b.port;
  b.prefix = std::string(u.encoded_path());
  while (!b.prefix.empty() && b.prefix.back() == '/') b.prefix.pop_back();
  if (u.has_query()) b.query = "?" + std::string(u.encoded_query());
  b.text = (b.tls ? "https://" : "http://") + b.host_header + b.prefix;
  return b;
}

}  // namespace rtm::http
