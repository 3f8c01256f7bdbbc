// JSON and XML encodings of a Reply. The XML form maps object fields to elements and array
// items to repeated <item> elements, so any result can be read by an XML client.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "api/reply.hpp"

namespace rtm::api {

std::string encode_json(const Reply& reply) {
  if (!reply.ok()) {
    boost::json::object o;
    o["rc"] = static_cast<int>(reply.rc);
    o["error"] = rc_name(reply.rc);
    o["msg"] = reply.msg;
    return boost::json::serialize(o);
  }
  std::string out = "{\"rc\":0";
  for (const auto& [key, value] : reply.fields) {
    out += ',';
    out += boost::json::serialize(boost::json::string_view(key));
    out += ':';
    out += boost::json::serialize(value);
  }
  for (const auto& [key, raw] : reply.raw_fields) {
    out += ",\"";
    out += key;  // raw field names are compile-time identifiers, never client input
    out += "\":";
    out += raw;
  }
  out += '}';
  return out;
}

namespace {

void escape_xml(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // Control characters other than tab/newline are not allowed in XML 1.0.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r')
          out += "&#xFFFD;";
        else
          out += c;
    }
  }
}

// Object keys from clients could be anything; element names must be XML names.
std::string element_name(std::string_view key) {
  std::string name;
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (!name.empty() && ((c >= '0' && c <= '9') || c == '-' || c == '.'));
    name += ok ? c : '_';
  }
  return name.empty() ? "_" : name;
}

void write_value(std::string& out, std::string_view key, const boost::json::value& v) {
  std::string name = element_name(key);
  out += '<' + name + '>';
  switch (v.kind()) {
    case boost::json::kind::object:
      for (const auto& [k, child] : v.get_object()) write_value(out, k, child);
      break;
    case boost::json::kind::array:
      for (const auto& child : v.get_array()) write_value(out, "item", child);
      break;
    case boost::json::kind::string: escape_xml(out, v.get_string()); break;
    case boost::json::kind::null: break;
    default: out += boost::json::serialize(v);
  }
  out += "</" + name + '>';
}

}  // namespace

std::string encode_xml(const Reply& reply) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<out><rc>";
  out += std::to_string(static_cast<int>(reply.rc));
  out += "</rc>";
  if (!reply.ok()) {
    out += "<error>";
    out += rc_name(reply.rc);
    out += "</error><msg>";
    escape_xml(out, reply.msg);
    out += "</msg></out>";
    return out;
  }
  out += "<msg>ok</msg>";
  for (const auto& [key, value] : reply.fields) write_value(out, key, value);
  for (const auto& [key, raw] : reply.raw_fields) {
    boost::system::error_code ec;
    auto value = boost::json::parse(raw, ec);
    if (!ec) write_value(out, key, value);
  }
  out += "</out>";
  return out;
}

}  // namespace rtm::api
