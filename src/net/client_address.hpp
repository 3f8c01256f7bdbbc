// Which address a request comes from, for the limits kept per client address
// (docs/semantics.md "Limits"). It is the socket's peer, unless that peer is one of the
// trusted proxies (--trusted-proxies): then it is the rightmost X-Forwarded-For entry that is
// not a trusted proxy, since each proxy appends the address it got the request from and
// only the entries our own proxies wrote can be believed (a client may send any
// X-Forwarded-For it likes). Pure functions on text: no sockets.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace rtm::net {

class TrustedProxies {
 public:
  TrustedProxies() = default;  // none: X-Forwarded-For is never read

  // `list`: comma-separated IP addresses and CIDR ranges ("10.0.0.0/8, ::1, fd00::/8").
  // Empty: none. InvalidParameter (naming the entry) for anything else.
  static Result<TrustedProxies> parse(std::string_view list);

  bool empty() const { return ranges_.empty(); }
  bool contains(const boost::asio::ip::address& address) const;

 private:
  struct Range {
    boost::asio::ip::address network;  // IPv4, or IPv6
    unsigned prefix = 0;               // leading bits that must match
  };
  std::vector<Range> ranges_;
};

// The client's address of a request whose socket peer is `peer` (an address as
// address::to_string() writes it; empty when unknown) and whose X-Forwarded-For header lines
// are `forwarded_for`, in the order they came. The peer when it is not a trusted proxy (or
// none is configured) or no entry is given. Otherwise the rightmost entry that is not a
// trusted proxy; when an entry cannot be read as an address, the nearest one to its right
// (the last hop that a trusted proxy vouched for); when all are trusted proxies, the leftmost.
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are answered, and matched, as IPv4.
std::string client_address(std::string_view peer,
                           const std::vector<std::string_view>& forwarded_for,
                           const TrustedProxies& proxies);

}  // namespace rtm::net
