// Signed, expiring download links of files: `?exp=<unix s>&sig=<base64url HMAC-SHA256 of
// "file:<id>:<exp>">` with the server's secret. Anyone holding the link may download until
// exp; nobody can make one without the secret or stretch its expiry.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace rtm {

std::string file_link_signature(std::string_view secret, std::string_view id, std::int64_t exp_s);

// InvalidToken when exp or sig is missing or malformed, PermissionDenied when the signature
// does not match (constant-time), TokenExpired when exp <= now_s.
Status check_file_link(std::string_view secret, std::string_view id, std::string_view exp,
                       std::string_view sig, std::int64_t now_s);

}  // namespace rtm
