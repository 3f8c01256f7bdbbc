// What a client's event stream request asks for: `GET /v1/events?session=S&after=N` with
// the Last-Event-ID a browser's EventSource sends when it reconnects (API.md section 6), and
// the `after` of the server event socket (/v1/server/ws?after=N). Pure text to values, no
// socket, so that a fuzzer drives the server's own parsing
// (tests/fuzz/stream_request_fuzz.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace rtm::net {

// An event id as `after` and Last-Event-ID carry it: decimal digits only (no sign, no
// spaces), at most 2^64-1; nullopt for anything else, the empty text included.
std::optional<std::uint64_t> parse_event_id(std::string_view text);

struct StreamRequest {
  std::string session;
  std::optional<std::uint64_t> after;
  // Why the request cannot be served (InvalidRequest); unset when it can.
  std::optional<Error> error;
};

// `target`: the request target (origin form, "/v1/events?session=S"); `last_event_id`: the
// Last-Event-ID header, empty when there is none. Last-Event-ID wins over `after`.
StreamRequest parse_stream_request(std::string_view target, std::string_view last_event_id);

}  // namespace rtm::net
