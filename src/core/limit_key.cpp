// See limit_key.hpp. inet_pton/inet_ntop are plain text conversions (no socket is opened), so
// core/ stays free of network code.
#include "core/limit_key.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace rtm {

std::string limit_key(std::string_view address) {
  // Longer than any IPv6 text (45 characters with an embedded IPv4): not an address.
  if (address.empty() || address.size() > 64) return std::string(address);
  std::string text(address.substr(0, address.find('%')));
  std::array<unsigned char, 16> v6{};
  std::array<char, INET6_ADDRSTRLEN> out{};
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    inet_ntop(AF_INET, &v4, out.data(), out.size());  // canonical: no leading zeros
    return out.data();
  }
  if (inet_pton(AF_INET6, text.c_str(), v6.data()) != 1) return std::string(address);
  static constexpr std::array<unsigned char, 12> kV4MappedPrefix = {0, 0, 0, 0, 0,    0,
                                                                    0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), v6.begin())) {
    std::memcpy(&v4, v6.data() + 12, 4);
    inet_ntop(AF_INET, &v4, out.data(), out.size());
    return out.data();
  }
  std::fill(v6.begin() + 8, v6.end(), 0);  // the interface half: one host may use all of it
  inet_ntop(AF_INET6, v6.data(), out.data(), out.size());
  return std::string(out.data()) + "/64";
}

}  // namespace rtm
