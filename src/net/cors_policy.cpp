// See cors_policy.hpp.
#include "net/cors_policy.hpp"

#include <algorithm>

#include "net/trim_ows.hpp"

namespace rtm::net {

namespace {

// scheme://host[:port], the form browsers send in Origin: no path, no user info, no query.
bool is_origin(std::string_view o) {
  auto sep = o.find("://");
  if (sep == std::string_view::npos || sep == 0) return false;
  for (char ch : o.substr(0, sep))
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '+' || ch == '-' ||
          ch == '.'))
      return false;
  std::string_view rest = o.substr(sep + 3);
  if (rest.empty()) return false;
  return std::all_of(rest.begin(), rest.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.' || ch == ':' || ch == '[' || ch == ']';
  });
}

}  // namespace

Result<CorsPolicy> CorsPolicy::parse(std::string_view list) {
  CorsPolicy p;
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string_view item = trim_ows(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (item.empty()) continue;
    if (item == "*") {
      p.any_ = true;
      continue;
    }
    if (item.back() == '/') item.remove_suffix(1);  // "http://a.example/" means the origin
    if (!is_origin(item))
      return make_error(Rc::InvalidParameter,
                        "cors origin '" + std::string(item) + "' is not scheme://host[:port] or *");
    p.origins_.emplace_back(item);
  }
  return p;
}

bool CorsPolicy::allows(std::string_view origin) const {
  if (origin.empty()) return false;
  if (any_) return true;
  return std::find(origins_.begin(), origins_.end(), origin) != origins_.end();
}

std::string CorsPolicy::answer_headers(std::string_view origin) const {
  if (!allows(origin)) return {};
  // The origin is echoed rather than "*" so that the answer is right for exactly the page
  // that asked; Vary keeps caches from handing it to another origin.
  std::string h;
  h.append("Access-Control-Allow-Origin: ").append(origin).append("\r\nVary: Origin\r\n");
  return h;
}

std::string CorsPolicy::preflight_headers(std::string_view origin) const {
  std::string h = answer_headers(origin);
  if (h.empty()) return h;
  h.append(
      "Access-Control-Allow-Methods: GET, POST, OPTIONS\r\n"
      "Access-Control-Allow-Headers: Content-Type, Accept, Last-Event-ID\r\n"
      "Access-Control-Max-Age: 600\r\n");
  return h;
}

}  // namespace rtm::net
