// HS256 JWT signing and verification with OpenSSL's HMAC and a constant-time compare.
#include "core/jwt.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/random.hpp"

namespace rtm {

namespace {

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

const std::string& header_b64() {
  static const std::string h = base64url_encode(R"({"alg":"HS256","typ":"JWT"})");
  return h;
}

Error invalid(std::string msg) { return make_error(Rc::InvalidToken, std::move(msg)); }

}  // namespace

std::string jwt_sign(const boost::json::object& claims, std::string_view secret) {
  std::string signing_input = header_b64() + "." + base64url_encode(boost::json::serialize(claims));
  std::string sig = hmac_sha256(secret, signing_input);
  return signing_input + "." + base64url_encode(sig);
}

Result<boost::json::object> jwt_verify(std::string_view token, std::string_view secret,
                                       std::int64_t now_s) {
  if (token.size() > 4096) return invalid("token too long");
  auto dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return invalid("token is not a JWT");
  auto dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return invalid("token is not a JWT");

  std::string header_json, payload_json, sig;
  if (!base64url_decode(token.substr(0, dot1), header_json) ||
      !base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1), payload_json) ||
      !base64url_decode(token.substr(dot2 + 1), sig))
    return invalid("token is not base64url");

  boost::system::error_code ec;
  auto header = boost::json::parse(header_json, ec);
  if (ec || !header.is_object()) return invalid("token header is not JSON");
  auto* alg = header.as_object().if_contains("alg");
  if (!alg || !alg->is_string() || alg->as_string() != "HS256")
    return invalid("token algorithm must be HS256");

  std::string expected = hmac_sha256(secret, token.substr(0, dot2));
  if (sig.size() != expected.size() || CRYPTO_memcmp(sig.data(), expected.data(), sig.size()) != 0)
    return invalid("token signature does not match");

  auto payload = boost::json::parse(payload_json, ec);
  if (ec || !payload.is_object()) return invalid("token payload is not a JSON object");
  auto& claims = payload.as_object();
  auto* exp = claims.if_contains("exp");
  if (!exp || !exp->is_int64()) return invalid("token has no exp");
  if (exp->as_int64() <= now_s) return make_error(Rc::TokenExpired, "token expired");
  return std::move(claims);
}

}  // namespace rtm
