// trim_ows: a header value or list item without the optional whitespace (OWS: spaces and
// tabs, RFC 9110 section 5.6.3) around it. The one copy for net/ (X-Forwarded-For entries,
// --trusted-proxies and --cors-origins lists); http_client/ sits below net/ and keeps its own.
#pragma once

#include <string_view>

namespace rtm::net {

inline std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace rtm::net
