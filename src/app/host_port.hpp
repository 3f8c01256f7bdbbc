// host_port: "HOST:PORT" as an address is written for people and URLs, an IPv6 host in
// brackets ("[::1]:8080"), so that the port cannot be read as part of the address. Used for
// the listen address in the lock file (data_dir.cpp) and in `rtmd.started` (startup_log.cpp).
#pragma once

#include <string>

namespace rtm::app {

inline std::string host_port(const std::string& host, unsigned port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace rtm::app
