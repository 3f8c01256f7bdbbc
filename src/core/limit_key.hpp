// The key under which the limits per client address count a caller (the unauthorized-session
// caps and the rates of session.create, session.authorize and channel.poll;
// docs/semantics.md "Limits"). One host is given a whole IPv6 /64 by its provider (SLAAC,
// privacy addresses), so keying IPv6 by the full address would give one client 2^64 of them:
// IPv6 counts by its /64, IPv4 by the address, and an IPv4-mapped IPv6 address
// (::ffff:a.b.c.d, a dual-stack socket's IPv4 client) as the IPv4 address. Every per-address
// limit goes through this one function, so they all agree on who a client is.
#pragma once

#include <string>
#include <string_view>

namespace rtm {

// "203.0.113.7" for 203.0.113.7 and ::ffff:203.0.113.7; "2001:db8:1:2::/64" for any address
// in 2001:db8:1:2::/64 (a zone, fe80::1%eth0, is dropped first). Text that is not an IP
// address is its own key, unchanged (empty stays empty: no address, held by the total caps
// only).
std::string limit_key(std::string_view address);

}  // namespace rtm
