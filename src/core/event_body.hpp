// Builders of event bodies (docs/semantics.md "Events"). A body is serialized once per
// event and shared by every session that receives it; the session prepends its own id.
#pragma once

#include <string_view>

#include "core/message.hpp"
#include "core/session.hpp"

namespace rtm {

// The message as a JSON object text, as history and send answers show it.
std::string message_json(const Message& m);
EventBody message_event(const Message& m);
EventBody presence_event(Uid uid, std::string_view state);
EventBody room_event(Rid rid, Uid uid, std::string_view state);

}  // namespace rtm
