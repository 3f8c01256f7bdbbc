// Password hashing with argon2id (libsodium's crypto_pwhash_str). Hashing and verifying are
// deliberately slow (tens of ms): callers on an event loop run them on a blocking pool.
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace rtm {

struct PasswordPolicy {
  unsigned long long opslimit = 2;          // t=2
  std::size_t memlimit = 19 * 1024 * 1024;  // m=19 MiB (OWASP's argon2id minimum)
};

Result<std::string> hash_password(std::string_view password, const PasswordPolicy& policy);
// Constant-time with respect to the password (libsodium); false on any mismatch.
bool verify_password(std::string_view password, const std::string& encoded_hash);

}  // namespace rtm
