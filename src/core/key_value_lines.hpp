// The small text format rtm keeps some records in (the stored server/listen selection, an
// upload token's grant): "key=value" lines joined by '\n', list values joined by ','. The
// callers know their keys and decode each value; this is only the splitting, in one place.
#pragma once

#include <string_view>

namespace rtm {

// Calls on_field(key, value) for each line of `text`; answers how many lines there were, or
// -1 when a line has no '=' or on_field answered false (the record is not one).
template <class OnField>
int read_key_value_lines(std::string_view text, OnField&& on_field) {
  int lines = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    auto eq = line.find('=');
    if (eq == std::string_view::npos || !on_field(line.substr(0, eq), line.substr(eq + 1)))
      return -1;
    ++lines;
  }
  return lines;
}

// Calls on_item(item) for each ','-separated item of a non-empty `list`; false as soon as
// on_item answers false. An empty list has no items.
template <class OnItem>
bool read_list_items(std::string_view list, OnItem&& on_item) {
  while (!list.empty()) {
    auto comma = list.find(',');
    if (!on_item(list.substr(0, comma))) return false;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return true;
}

}  // namespace rtm
