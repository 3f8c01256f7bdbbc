// See file_link.hpp.
#include "core/file_link.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>

#include "core/random.hpp"

namespace rtm {

std::string file_link_signature(std::string_view secret, std::string_view id, std::int64_t exp_s) {
  std::string text = "file:";
  text.append(id).append(":").append(std::to_string(exp_s));
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), out, &len);
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(out), len));
}

Status check_file_link(std::string_view secret, std::string_view id, std::string_view exp,
                       std::string_view sig, std::int64_t now_s) {
  if (exp.empty() || sig.empty())
    return make_error(Rc::InvalidToken, "the link is not signed (exp and sig are missing)");
  std::int64_t exp_s = 0;
  auto [end, ec] = std::from_chars(exp.data(), exp.data() + exp.size(), exp_s);
  if (ec != std::errc() || end != exp.data() + exp.size() || exp_s <= 0)
    return make_error(Rc::InvalidToken, "the link's exp is not a time");
  std::string want = file_link_signature(secret, id, exp_s);
  if (want.size() != sig.size() || CRYPTO_memcmp(want.data(), sig.data(), want.size()) != 0)
    return make_error(Rc::PermissionDenied, "the link's signature does not match");
  if (exp_s <= now_s) return make_error(Rc::TokenExpired, "the link has expired; ask file.url");
  return ok_status();
}

}  // namespace rtm
