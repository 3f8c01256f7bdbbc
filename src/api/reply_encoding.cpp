// JSON and XML encodings of a Reply. The XML form maps object fields to elements and array
// items to repeated <item> elements, so any result can be read by an XML client.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>
#include <string_view>

#include "api/reply.hpp"

namespace rtm::api {

namespace {

// Length of the well-formed UTF-8 sequence at text[i] and its code point in cp; 0 when the
// bytes there are not one (overlong forms, surrogates and values past U+10FFFF included).
std::size_t utf8_sequence(std::string_view text, std::size_t i, std::uint32_t& cp) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  unsigned char c = byte(0);
  std::size_t n;
  if (c < 0x80) {
    cp = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    n = 2, cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3, cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4, cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(k) & 0x3F);
  }
  static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

// `text` with every broken UTF-8 sequence replaced by U+FFFD: error texts can echo request
// bytes (a method name from the URL), and a JSON answer must be valid UTF-8 to parse.
std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    std::uint32_t cp;
    std::size_t n = utf8_sequence(text, i, cp);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text, i, n);
      i += n;
    }
  }
  return out;
}

}  // namespace

std::string encode_json(const Reply& reply) {
  if (!reply.ok()) {
    boost::json::object o;
    o["rc"] = static_cast<int>(reply.rc);
    o["error"] = rc_name(reply.rc);
    o["msg"] = valid_utf8(reply.msg);
    if (reply.retry_after_s > 0) o["retry_after"] = reply.retry_after_s;
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
  for (std::size_t i = 0; i < text.size();) {
    char c = text[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      // The document says UTF-8: a broken sequence (error texts echo raw request bytes) or a
      // code point XML 1.0 does not allow (U+FFFE, U+FFFF) becomes U+FFFD.
      std::uint32_t cp = 0;
      std::size_t n = utf8_sequence(text, i, cp);
      if (n == 0 || cp == 0xFFFE || cp == 0xFFFF) {
        out += "&#xFFFD;";
        i += n == 0 ? 1 : n;
      } else {
        out.append(text, i, n);
        i += n;
      }
      continue;
    }
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
    ++i;
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
    out += "</msg>";
    if (reply.retry_after_s > 0)
      out += "<retry_after>" + std::to_string(reply.retry_after_s) + "</retry_after>";
    out += "</out>";
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
