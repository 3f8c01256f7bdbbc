// argon2id through libsodium; the encoded string carries its own salt and parameters.
#include "core/password.hpp"

#include <sodium.h>

namespace rtm {

namespace {
bool sodium_ready() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}
}  // namespace

Result<std::string> hash_password(std::string_view password, const PasswordPolicy& policy) {
  if (!sodium_ready()) return make_error(Rc::Internal, "libsodium failed to initialise");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), policy.opslimit, policy.memlimit,
                            crypto_pwhash_ALG_ARGON2ID13) != 0)
    return make_error(Rc::Internal, "out of memory while hashing a password");
  return std::string(out);
}

bool verify_password(std::string_view password, const std::string& encoded_hash) {
  if (!sodium_ready()) return false;
  return crypto_pwhash_str_verify(encoded_hash.c_str(), password.data(), password.size()) == 0;
}

}  // namespace rtm
