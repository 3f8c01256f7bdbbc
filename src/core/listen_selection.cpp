// See listen_selection.hpp.
#include "core/listen_selection.hpp"

#include <algorithm>
#include <charconv>

#include "core/key_value_lines.hpp"

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
  return read_list_items(text, [&](std::string_view item) {
    std::uint64_t id = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), id);
    if (ec != std::errc() || end != item.data() + item.size() || item.empty()) return false;
    ids.insert(id);
    return true;
  });
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
  int parts = read_key_value_lines(text, [&](std::string_view key, std::string_view value) {
    if (key == "p2p") return parse_ids(value, sel.all_p2p, sel.uids);
    if (key == "groups") return parse_ids(value, sel.all_groups, sel.gids);
    if (key == "rooms") return parse_ids(value, sel.all_rooms, sel.rids);
    if (key == "events")
      return read_list_items(value, [&](std::string_view type) {
        if (std::find(std::begin(kListenableEvents), std::end(kListenableEvents), type) ==
            std::end(kListenableEvents))
          return false;
        sel.events.emplace(type);
        return true;
      });
    return false;
  });
  if (parts != 4) return std::nullopt;
  return sel;
}

}  // namespace rtm
