// A complete HTTP error answer as one string, for the transports that answer a request
// themselves before (or instead of) switching protocols: the event stream and the WebSocket
// endpoints. The normal request path formats its answers in http_server.cpp.
#pragma once

#include <boost/beast/http/status.hpp>
#include <string>

#include "api/reply.hpp"

namespace rtm::net {

// The contract's JSON error body with its HTTP status; the connection closes after it.
inline std::string error_answer(unsigned version, const api::Reply& reply) {
  namespace http = boost::beast::http;
  std::string body = api::encode_json(reply);
  std::string out = version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(reply.http_status()) + " ";
  out += std::string(http::obsolete_reason(static_cast<http::status>(reply.http_status())));
  out += "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size());
  out += "\r\nConnection: close\r\n\r\n" + body;
  return out;
}

}  // namespace rtm::net
