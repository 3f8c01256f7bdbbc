// Fuzz target: api::encode_json / api::encode_xml of a Reply made from arbitrary bytes.
//
// Input: byte 0 picks the rc (0 = success); then the bytes up to the first NUL are the
// error text `msg` (any bytes: messages echo client input such as method names), and the rest
// is JSON text whose object, when it parses, becomes the success fields.
// Round trip: the JSON answer must parse back (strict UTF-8) with the same rc, the same fields
// and the same msg where msg was valid UTF-8. The XML answer must be well-formed XML 1.0 in
// UTF-8 (balanced elements, XML names, legal characters, only the predefined or numeric
// entities) and carry the same msg text.
#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "api/call_metrics.hpp"
#include "api/reply.hpp"

namespace {

using rtm::Rc;
using rtm::api::Reply;

[[noreturn]] void fail(const char* what, const std::string& text) {
  std::fprintf(stderr, "%s\n--- output (first 1000 bytes) ---\n%s\n", what,
               text.substr(0, 1000).c_str());
  std::abort();
}

// Decodes one UTF-8 sequence at s[i]; returns its length and sets cp, or 0 when invalid
// (overlong forms, surrogates and values past U+10FFFF are invalid).
std::size_t utf8_at(std::string_view s, std::size_t i, std::uint32_t& cp) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned char c = b(0);
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
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

bool valid_utf8(std::string_view s) {
  std::uint32_t cp;
  for (std::size_t i = 0, n; i < s.size(); i += n)
    if ((n = utf8_at(s, i, cp)) == 0) return false;
  return true;
}

// XML 1.0 Char production.
bool xml_char(std::uint32_t cp) {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
         (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

bool name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.'; }

// A small checker for the XML rtm writes: a declaration, then elements and text only.
// Returns the text content of the first <msg> child of <out> (entities decoded).
std::string check_xml(const std::string& xml) {
  const std::string decl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  if (xml.rfind(decl, 0) != 0) fail("XML: no declaration", xml);
  if (!valid_utf8(xml)) fail("XML: not valid UTF-8", xml);
  std::vector<std::string> open;
  std::string msg, text;
  bool in_msg = false, seen_msg = false, root_closed = false;
  for (std::size_t i = decl.size(); i < xml.size();) {
    if (root_closed) fail("XML: content after the root element", xml);
    char c = xml[i];
    if (c == '<') {
      bool closing = i + 1 < xml.size() && xml[i + 1] == '/';
      std::size_t start = i + (closing ? 2 : 1);
      std::size_t end = xml.find('>', start);
      if (end == std::string::npos) fail("XML: unterminated tag", xml);
      std::string name = xml.substr(start, end - start);
      if (name.empty() || !name_start(name[0])) fail("XML: bad element name", xml);
      for (char n : name)
        if (!name_char(n)) fail("XML: bad element name", xml);
      if (closing) {
        if (open.empty() || open.back() != name) fail("XML: unbalanced end tag", xml);
        if (in_msg && open.size() == 2) {
          in_msg = false;
          seen_msg = true;
        }
        open.pop_back();
        if (open.empty()) root_closed = true;
      } else {
        if (open.empty() && name != "out") fail("XML: root is not <out>", xml);
        open.push_back(name);
        if (open.size() == 2 && name == "msg" && !seen_msg) in_msg = true;
      }
      i = end + 1;
    } else if (c == '&') {
      std::size_t end = xml.find(';', i);
      if (end == std::string::npos) fail("XML: unterminated entity", xml);
      std::string ent = xml.substr(i + 1, end - i - 1);
      std::string decoded;
      if (ent == "lt")
        decoded = "<";
      else if (ent == "gt")
        decoded = ">";
      else if (ent == "amp")
        decoded = "&";
      else if (ent == "quot")
        decoded = "\"";
      else if (ent == "apos")
        decoded = "'";
      else if (ent.size() > 2 && ent[0] == '#' && ent[1] == 'x') {
        std::uint32_t cp = std::strtoul(ent.c_str() + 2, nullptr, 16);
        if (!xml_char(cp)) fail("XML: character reference to an illegal character", xml);
        decoded = "\xEF\xBF\xBD";  // the only one rtm writes is U+FFFD
      } else {
        fail("XML: unknown entity", xml);
      }
      if (in_msg) msg += decoded;
      i = end + 1;
    } else {
      std::uint32_t cp;
      std::size_t n = utf8_at(xml, i, cp);
      if (!xml_char(cp)) fail("XML: illegal character", xml);
      if (c == '>') fail("XML: raw '>' in text", xml);  // legal, but rtm escapes it
      if (open.empty() && c != '\n') fail("XML: text outside the root", xml);
      if (in_msg) msg.append(xml, i, n);
      i += n;
    }
  }
  if (!root_closed) fail("XML: root element not closed", xml);
  return msg;
}

// Equality of JSON values where doubles may differ in the last bit: Boost.JSON 1.81 parses
// numbers with up to 1 ulp of error (exact parsing came in 1.83), so a double that was
// serialized exactly can come back one ulp away. That is the parser, not the encoder.
bool same_value(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_double() && b.is_double()) {
    double x = a.get_double(), y = b.get_double();
    return x == y || std::fabs(x - y) <= 4 * std::numeric_limits<double>::epsilon() *
                                             std::max(std::fabs(x), std::fabs(y));
  }
  if (a.is_array() && b.is_array()) {
    const auto &x = a.get_array(), &y = b.get_array();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!same_value(x[i], y[i])) return false;
    return true;
  }
  if (a.is_object() && b.is_object()) {
    const auto &x = a.get_object(), &y = b.get_object();
    if (x.size() != y.size()) return false;
    for (const auto& [k, v] : x)
      if (!y.contains(k) || !same_value(v, y.at(k))) return false;
    return true;
  }
  return a == b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const auto& codes = rtm::api::CallMetrics::kCodes;
  Reply reply;
  reply.rc = data[0] % (codes.size() + 1) == 0 ? Rc::Ok : codes[data[0] % (codes.size() + 1) - 1];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::size_t nul = rest.find('\0');
  reply.msg = std::string(rest.substr(0, nul));
  if (nul != std::string_view::npos) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(rest.substr(nul + 1), ec);
    if (!ec && v.is_object()) reply.fields = v.get_object();
    // Handlers never name a field like the envelope's own (rc) or a raw field.
    reply.fields.erase("rc");
    reply.fields.erase("events");
  }
  if (reply.ok()) reply.raw_fields.push_back({"events", "[]"});

  const std::string json = rtm::api::encode_json(reply);
  boost::system::error_code ec;
  boost::json::value back = boost::json::parse(json, ec);
  if (ec || !back.is_object()) fail("JSON answer does not parse", json);
  const boost::json::object& o = back.get_object();
  if (!o.contains("rc") || o.at("rc") != static_cast<int>(reply.rc)) fail("JSON: rc lost", json);
  if (reply.ok()) {
    for (const auto& [k, v] : reply.fields)
      if (!o.contains(k) || !same_value(o.at(k), v))
        fail("JSON: a field did not survive the round trip", json);
  } else if (valid_utf8(reply.msg)) {
    if (!o.contains("msg") || !o.at("msg").is_string() || o.at("msg").get_string() != reply.msg)
      fail("JSON: msg changed", json);
  }

  const std::string xml = rtm::api::encode_xml(reply);
  std::string msg = check_xml(xml);
  if (!reply.ok() && valid_utf8(reply.msg)) {
    // Control characters come back as U+FFFD; everything else as it was.
    std::string expect;
    for (std::size_t i = 0, n; i < reply.msg.size(); i += n) {
      std::uint32_t cp;
      n = utf8_at(reply.msg, i, cp);
      if (xml_char(cp)) {
        expect.append(reply.msg, i, n);
      } else {
        expect += "\xEF\xBF\xBD";
      }
    }
    if (msg != expect) fail("XML: msg changed", xml);
  }
  return 0;
}
