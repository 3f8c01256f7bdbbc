// See redact.hpp. Plain string work rather than a URL parser: the input may be no valid URL
// at all (a typo in a flag), and whatever it is, no secret in it may reach the log.
#include "logging/redact.hpp"

#include <array>
#include <cctype>
#include <cstdint>
#include <cstdio>

namespace rtm::logging {

namespace {

bool names_a_secret(std::string_view name) {
  std::string lower;
  for (char c : name)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  static constexpr std::array<std::string_view, 7> kWords = {"pass", "pwd", "secret", "token",
                                                             "key",  "sig", "auth"};
  for (auto w : kWords)
    if (lower.find(w) != std::string::npos) return true;
  return false;
}

// key=value&key=value with the values of secret keys replaced.
std::string redact_query(std::string_view query) {
  std::string out;
  while (true) {
    auto amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    auto eq = part.find('=');
    if (eq != std::string_view::npos && names_a_secret(part.substr(0, eq))) {
      out.append(part.substr(0, eq + 1)).append("***");
    } else {
      out.append(part);
    }
    if (amp == std::string_view::npos) break;
    out.push_back('&');
    query.remove_prefix(amp + 1);
  }
  return out;
}

}  // namespace

std::string redact_url(std::string_view url) {
  std::string out;
  std::size_t rest = 0;  // where the part after the authority starts
  if (auto scheme = url.find("://"); scheme != std::string_view::npos) {
    std::size_t start = scheme + 3;
    std::size_t end = url.find_first_of("/?#", start);
    if (end == std::string_view::npos) end = url.size();
    std::string_view authority = url.substr(start, end - start);
    out.append(url.substr(0, start));
    if (auto at = authority.rfind('@'); at != std::string_view::npos) {
      std::string_view userinfo = authority.substr(0, at);
      if (auto colon = userinfo.find(':'); colon != std::string_view::npos)
        out.append(userinfo.substr(0, colon + 1)).append("***");
      else
        out.append(userinfo);
      out.append(authority.substr(at));
    } else {
      out.append(authority);
    }
    rest = end;
  }
  std::string_view tail = url.substr(rest);
  auto q = tail.find('?');
  if (q == std::string_view::npos) {
    out.append(tail);
    return out;
  }
  auto hash = tail.find('#', q);
  out.append(tail.substr(0, q + 1));
  out.append(
      redact_query(tail.substr(q + 1, hash == std::string_view::npos ? hash : hash - q - 1)));
  if (hash != std::string_view::npos) out.append(tail.substr(hash));
  return out;
}

std::string redact_url_path(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return "…";  // not a URL: nothing of it is shown
  std::size_t end = url.find_first_of("/?#", scheme + 3);
  if (end == std::string_view::npos || end + 1 >= url.size()) return redact_url(url);
  std::uint32_t h = 2166136261u;
  for (unsigned char c : url.substr(end)) h = (h ^ c) * 16777619u;
  char tag[16];
  std::snprintf(tag, sizeof tag, "[%08x]", h);
  return redact_url(url.substr(0, end)) + "/…" + tag;
}

}  // namespace rtm::logging
