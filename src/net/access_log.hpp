// The access log (`--access-log`): one `http.access` line per answered HTTP request, in the
// same log as every other line (docs/semantics.md "Logs"). The path is logged without its
// query string: tokens and download signatures travel there (/v1/files/upload?token=,
// /v1/channel?token=, /v1/files/ID?exp=&sig=), and a log is no place for them.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

namespace rtm::net {

// `target` is the request target as received; `bytes` what was written back, head included.
void log_access(std::string_view method, std::string_view target, unsigned status,
                std::chrono::steady_clock::time_point started, std::uint64_t bytes,
                std::string_view address);

}  // namespace rtm::net
