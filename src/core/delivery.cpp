// Delivery targets' text form (delivery.hpp).
#include "core/delivery.hpp"

#include <charconv>

namespace rtm {

std::string Target::text() const {
  switch (kind) {
    case Kind::User: return "u:" + std::to_string(uid);
    case Kind::Topic: return "t:" + topic;
    case Kind::All: return "all";
  }
  return "all";
}

std::optional<Target> Target::parse(std::string_view text) {
  if (text == "all") return all();
  if (text.substr(0, 2) == "t:" && text.size() > 2) return of_topic(std::string(text.substr(2)));
  if (text.substr(0, 2) == "u:") {
    Uid uid = 0;
    auto digits = text.substr(2);
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), uid);
    if (ec == std::errc() && p == digits.data() + digits.size() && uid != 0) return user(uid);
  }
  return std::nullopt;
}

std::vector<Target> message_targets(const Message& m) {
  switch (m.kind) {
    case MessageKind::P2p: return {Target::user(m.to)};
    case MessageKind::Multi: {
      std::vector<Target> out;
      out.reserve(m.to_uids.size());
      for (Uid u : m.to_uids) out.push_back(Target::user(u));
      return out;
    }
    case MessageKind::Group: return {Target::of_topic("group:" + std::to_string(m.gid))};
    case MessageKind::Room: return {Target::of_topic("room:" + std::to_string(m.rid))};
    case MessageKind::Broadcast: return {Target::all()};
    case MessageKind::Channel: break;
  }
  return {};
}

}  // namespace rtm
