// One-line human renderings of rtm messages and session events for `rtm tail` and
// `rtm history` (the event shapes are those of docs/semantics.md "Events").
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>

namespace rtm::cli {

// "2024-05-01T12:00:00.123Z" for a Unix time in milliseconds.
std::string format_mtime(std::int64_t ms);

// "2024-05-01T12:00:00.123Z mid=123 p2p 1->2 mtype=30: hello [attrs: x]"
std::string format_message(const boost::json::object& message);

// "#7 message ...", "#8 presence uid=42 online (presence:42)", "#10 session killed", ...
std::string format_event(const boost::json::object& event);

}  // namespace rtm::cli
