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

}  // namespace rtm
