// See listen_selection.hpp.
#include "core/listen_selection.hpp"

#include <algorithm>
#include <charconv>

namespace rtm {

bool ListenSelection::copies(const Message& m) const {
  switch (m.kind) {
    case MessageKind::P2p: return all_p2p || uids.count(m.from) || uids.count(m.to);
    case MessageKind::Multi:
      if (all_p2p || uids.count(m.from)) return true;
      for (Uid u : m.to_uids)
        if (uids.count(u)) return true;
      return false;
    case MessageKind::Group: return all_groups || gids.count(m.gid);
    case MessageKind::Room: return all_rooms || rids.count(m.rid);
    case MessageKind::Broadcast:
    case MessageKind::Channel: return false;
  }
  return false;
}

namespace {

std::string ids_text(bool all, const std::set<std::uint64_t>& ids) {
  if (all) return "all";
  std::string out;
  for (auto id : ids) {
    if (!out.empty()) out += ',';
    out += std::to_string(id);
  }
  return out;
}

bool parse_ids(std::string_view text, bool& all, std::set<std::uint64_t>& ids) {
  if (text == "all") {
    all = true;
    return true;
  }
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    std::uint64_t id = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), id);
    if (ec != std::errc() || end != item.data() + item.size() || item.empty()) return false;
    ids.insert(id);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return true;
}

}  // namespace

std::string ListenSelection::encode() const {
  std::string out = "p2p=" + ids_text(all_p2p, uids) + "\ngroups=" + ids_text(all_groups, gids) +
                    "\nrooms=" + ids_text(all_rooms, rids) + "\nevents=";
  bool first = true;
  for (const auto& e : events) {
    if (!first) out += ',';
    out += e;
    first = false;
  }
  return out;
}

std::optional<ListenSelection> ListenSelection::decode(std::string_view text) {
  ListenSelection sel;
  sel.events.clear();
  int parts = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    auto eq = line.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    bool ok = true;
    if (key == "p2p") {
      ok = parse_ids(value, sel.all_p2p, sel.uids);
    } else if (key == "groups") {
      ok = parse_ids(value, sel.all_groups, sel.gids);
    } else if (key == "rooms") {
      ok = parse_ids(value, sel.all_rooms, sel.rids);
    } else if (key == "events") {
      while (!value.empty()) {
        auto comma = value.find(',');
        std::string_view type = value.substr(0, comma);
        if (std::find(std::begin(kListenableEvents), std::end(kListenableEvents), type) ==
            std::end(kListenableEvents))
          return std::nullopt;
        sel.events.emplace(type);
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
      }
    } else {
      return std::nullopt;
    }
    if (!ok) return std::nullopt;
    ++parts;
  }
  if (parts != 4) return std::nullopt;
  return sel;
}

}  // namespace rtm
