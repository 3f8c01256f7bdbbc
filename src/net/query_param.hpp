// The value of one query parameter of a request target (`/v1/channel?token=T`), decoded;
// nullopt when the target does not parse or has no such key. The transports that take a
// token or a signature in the URL (channel sockets, file uploads and downloads) share it.
#pragma once

#include <boost/url/parse.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace rtm::net {

inline std::optional<std::string> query_param(std::string_view target, std::string_view key) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return std::nullopt;
  for (auto param : url->params())
    if (param.key == key) return std::string(param.value);
  return std::nullopt;
}

}  // namespace rtm::net
