// The call a client sends on its WebSocket (API.md section 6): one JSON text message
// {"id":N,"method":"...","params":{}}, decoded into the call or the InvalidRequest it is
// answered with. Pure text to values, no socket, so that a fuzzer drives the server's own
// decoding (tests/fuzz/ws_call_frame_fuzz.cpp).
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace rtm::net {

struct WsCallFrame {
  // The call's id as JSON text, echoed in its reply: an integer or a string, "null" when the
  // frame has none (or an id of another type), which is then an error.
  std::string id = "null";
  std::string method;
  boost::json::object params;  // empty when the frame has none
  // Set when the frame is not a call: the reply it gets (InvalidRequest), with `id`.
  std::optional<Error> error;
};

// Objects and arrays nested deeper than this make the frame InvalidRequest.
inline constexpr int kWsCallMaxDepth = 32;

WsCallFrame decode_ws_call(std::string_view text);

}  // namespace rtm::net
