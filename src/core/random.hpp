// Randomness from the OS (OpenSSL's RAND_bytes, seeded by getrandom) for session ids,
// secrets and API keys. Never std::rand or a seeded PRNG.
#pragma once

#include <cstddef>
#include <string>

namespace rtm {

// `bytes` random bytes from the OS, encoded base64url without padding.
std::string random_token(std::size_t bytes);

// base64url without padding (RFC 4648 section 5), as JWTs use it.
std::string base64url_encode(std::string_view data);
// Decodes base64url without padding; false if `text` is not valid base64url.
bool base64url_decode(std::string_view text, std::string& out);

}  // namespace rtm
