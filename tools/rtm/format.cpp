// Rendering of messages and events as single lines (control characters escaped).
#include "format.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <ctime>

namespace rtm::cli {

namespace json = boost::json;

namespace {

// A field as text: strings unquoted, numbers as numbers, anything else as JSON; "" if absent.
std::string field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v) return {};
  if (v->is_string()) return std::string(v->as_string());
  return json::serialize(*v);
}

// Keeps the output one line per message: \n, \r, \t and other control bytes are escaped.
std::string one_line(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

std::string target_of(const json::object& m) {
  std::string kind = field(m, "kind");
  if (kind == "p2p") return field(m, "to");
  if (kind == "multi") return field(m, "to_uids");
  if (kind == "group") return "group:" + field(m, "gid");
  if (kind == "room") return "room:" + field(m, "rid");
  if (kind == "broadcast") return "*";
  if (kind == "channel") return "client:" + field(m, "client_id");
  // Unknown kind: whichever target field is there.
  for (auto key : {"to", "to_uids", "gid", "rid", "client_id"})
    if (m.contains(key)) return field(m, key);
  return "?";
}

}  // namespace

std::string format_mtime(std::int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

std::string format_message(const json::object& m) {
  std::string out;
  if (auto* t = m.if_contains("mtime"); t && t->is_int64())
    out = format_mtime(t->as_int64());
  else if (t && t->is_uint64())
    out = format_mtime(static_cast<std::int64_t>(t->as_uint64()));
  else
    out.push_back('-');
  out += " mid=" + field(m, "mid") + " " + field(m, "kind") + " " + field(m, "from") + "->" +
         target_of(m) + " mtype=" + field(m, "mtype") + ": " + one_line(field(m, "msg"));
  std::string attrs = field(m, "attrs");
  if (!attrs.empty()) out += " [attrs: " + one_line(attrs) + "]";
  return out;
}

std::string format_event(const json::object& e) {
  std::string type = field(e, "type");
  std::string out(1, '#');
  out.append(field(e, "id")).append(" ").append(type);
  if (type == "message") {
    if (auto* m = e.if_contains("message"); m && m->is_object())
      return out + " " + format_message(m->as_object());
  } else if (type == "presence") {
    out += " uid=" + field(e, "uid") + " " + field(e, "state");
    if (e.contains("topic")) out += " (" + field(e, "topic") + ")";
    return out;
  } else if (type == "room") {
    return out + " rid=" + field(e, "rid") + " uid=" + field(e, "uid") + " " + field(e, "state");
  } else if (type == "session") {
    return out + " " + field(e, "state");
  } else if (type == "gap") {
    return out + " dropped=" + field(e, "dropped");
  }
  return out + " " + json::serialize(e);
}

}  // namespace rtm::cli
