// The `rtmd.started` line: the settings rtmd runs with, once it listens, so an operator sees
// in the log what a flag, a variable or the config file made of them. Never the API key or
// a webhook's secret; URLs with their passwords and secret query values redacted
// (logging/redact.hpp); of TLS only the paths of the certificate and key files.
#pragma once

#include <cstdint>
#include <string>

#include "app/config.hpp"

namespace rtm::app {

// `port` is the bound port (the configured one may be 0), `threads` the event loops started,
// `api_key_file` the key's file when it came from DATA_DIR/api-key (empty otherwise).
void log_startup(const Config& config, std::uint16_t port, unsigned threads,
                 const std::string& api_key_file);

}  // namespace rtm::app
