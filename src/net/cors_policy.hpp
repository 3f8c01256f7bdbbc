// CorsPolicy: which browser origins may call rtmd's client side from a page served elsewhere
// (the application's own site calling rtmd on another host or port). rtmd's client API
// carries no cookies (the session id is in the body), so allowing an origin only lets pages
// of that origin read answers they could already ask for. The server API (/v1/server/...)
// is never opened to browsers: it needs the API key, which must not be in a page.
// docs/semantics.md "Browsers on another origin" explains the choice.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace rtm::net {

class CorsPolicy {
 public:
  CorsPolicy() = default;  // no origin allowed: no CORS header is ever sent

  // `list`: comma-separated origins ("https://app.example.com,http://localhost:3000"), or
  // "*" for any. Empty: none. InvalidParameter for an entry that is not scheme://host[:port].
  static Result<CorsPolicy> parse(std::string_view list);

  bool enabled() const { return any_ || !origins_.empty(); }
  bool allows(std::string_view origin) const;

  // The header lines (each ending in \r\n) an answer to a request from `origin` carries;
  // empty when the origin is not allowed (or the request has none).
  std::string answer_headers(std::string_view origin) const;
  // The same for the answer to a preflight (OPTIONS with Access-Control-Request-Method).
  std::string preflight_headers(std::string_view origin) const;

 private:
  bool any_ = false;
  std::vector<std::string> origins_;
};

}  // namespace rtm::net
