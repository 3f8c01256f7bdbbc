// See client_address.hpp.
#include "net/client_address.hpp"

#include <array>
#include <charconv>
#include <optional>

#include "net/trim_ows.hpp"

namespace rtm::net {

namespace ip = boost::asio::ip;

namespace {

// ::ffff:a.b.c.d is the IPv4 client of a dual-stack socket: the same client as a.b.c.d.
ip::address unmapped(const ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, a.to_v6());
  return a;
}

std::optional<ip::address> read_address(std::string_view text) {
  boost::system::error_code ec;
  auto a = ip::make_address(text, ec);
  if (ec) return std::nullopt;
  return unmapped(a);
}

// One X-Forwarded-For entry: an address, maybe with a port ("1.2.3.4:80", "[::1]:80"), as
// some proxies write it.
std::optional<ip::address> read_forwarded(std::string_view entry) {
  entry = trim_ows(entry);
  if (entry.size() > 2 && entry.front() == '[') {
    auto close = entry.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    return read_address(entry.substr(1, close - 1));
  }
  auto colon = entry.find(':');
  if (colon != std::string_view::npos && entry.find(':', colon + 1) == std::string_view::npos)
    entry = entry.substr(0, colon);  // IPv4:port (an IPv6 address has several colons)
  return read_address(entry);
}

template <std::size_t N>
bool prefix_matches(const std::array<unsigned char, N>& a, const std::array<unsigned char, N>& b,
                    unsigned bits) {
  for (std::size_t i = 0; i < N && bits > 0; ++i) {
    unsigned take = bits >= 8 ? 8 : bits;
    unsigned mask = (0xFFu << (8 - take)) & 0xFFu;
    if ((a[i] & mask) != (b[i] & mask)) return false;
    bits -= take;
  }
  return true;
}

}  // namespace

Result<TrustedProxies> TrustedProxies::parse(std::string_view list) {
  TrustedProxies out;
  std::size_t start = 0;
  while (start <= list.size()) {
    auto comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view entry = trim_ows(list.substr(start, comma - start));
    start = comma + 1;
    if (entry.empty()) continue;
    auto bad = [&] {
      return make_error(Rc::InvalidParameter,
                        "--trusted-proxies: '" + std::string(entry.substr(0, 64)) +
                            "' is not an IP address or CIDR range (10.0.0.0/8, ::1)");
    };
    Range r;
    std::string_view addr = entry;
    std::optional<unsigned> prefix;
    if (auto slash = entry.find('/'); slash != std::string_view::npos) {
      addr = entry.substr(0, slash);
      std::string_view bits = entry.substr(slash + 1);
      unsigned v = 0;
      auto [p, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), v);
      if (bits.empty() || ec != std::errc() || p != bits.data() + bits.size()) return bad();
      prefix = v;
    }
    auto a = read_address(addr);
    if (!a) return bad();
    unsigned max_bits = a->is_v4() ? 32 : 128;
    // A mapped range (::ffff:10.0.0.0/104) is an IPv4 range (10.0.0.0/8).
    if (prefix && a->is_v4() && ip::make_address(addr).is_v6()) {
      if (*prefix < 96) return bad();
      *prefix -= 96;
    }
    if (prefix && *prefix > max_bits) return bad();
    r.network = *a;
    r.prefix = prefix.value_or(max_bits);
    out.ranges_.push_back(r);
    if (comma == list.size()) break;
  }
  return out;
}

bool TrustedProxies::contains(const ip::address& address) const {
  ip::address a = unmapped(address);
  for (const auto& r : ranges_) {
    if (a.is_v4() && r.network.is_v4()) {
      if (prefix_matches(a.to_v4().to_bytes(), r.network.to_v4().to_bytes(), r.prefix)) return true;
    } else if (a.is_v6() && r.network.is_v6()) {
      if (prefix_matches(a.to_v6().to_bytes(), r.network.to_v6().to_bytes(), r.prefix)) return true;
    }
  }
  return false;
}

std::string client_address(std::string_view peer,
                           const std::vector<std::string_view>& forwarded_for,
                           const TrustedProxies& proxies) {
  if (proxies.empty() || forwarded_for.empty()) return std::string(peer);
  auto peer_address = read_address(peer);
  if (!peer_address) return std::string(peer);
  if (!proxies.contains(*peer_address)) return peer_address->to_string();
  // Every entry, left to right: several header lines are one list in their order (RFC 9110
  // section 5.3), and a proxy may add its own line after the client's.
  std::vector<std::string_view> entries;
  for (std::string_view line : forwarded_for) {
    std::size_t start = 0;
    for (;;) {
      auto comma = line.find(',', start);
      std::string_view entry = trim_ows(line.substr(start, comma - start));
      if (!entry.empty()) entries.push_back(entry);
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  }
  ip::address vouched = *peer_address;  // the nearest hop a trusted proxy has vouched for
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    auto hop = read_forwarded(*it);
    if (!hop) break;  // not written by a trusted proxy: believe nothing further left
    vouched = *hop;
    if (!proxies.contains(*hop)) break;  // the first hop that is not ours: the client
  }
  return vouched.to_string();
}

}  // namespace rtm::net
