// Fuzz target: HS256 tokens (core/jwt.hpp), which clients and applications hand the server.
// Input: a mode byte, then bytes used twice. As a token, they must never verify under a
// secret nobody signed them with (no forgery, no "alg":"none", no crash on any shape). As
// the JSON of claims, signed with the fuzzer's own secret (exp set by the mode byte), the
// token verifies exactly when jwt_verify's rules say and gives back the claims that were
// signed; and a token changed in one byte no longer verifies, unless the change is in the
// signature's last character and only touches the bits past its 256th, which base64url
// decoding drops (then it is the same signature and the same claims).
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/jwt.hpp"
#include "core/random.hpp"

namespace json = boost::json;
using rtm::Rc;

namespace {

constexpr std::int64_t kNow = 1'700'000'000;
// Neither secret signed any seed: a token that verifies under kForeign is a forgery.
constexpr std::string_view kForeign = "a secret no token of the corpus was signed with";
constexpr std::string_view kOwn = "the fuzzer's own secret";

std::string sig_bytes(std::string_view token) {
  std::string out;
  auto dot = token.rfind('.');
  if (dot == std::string_view::npos || !rtm::base64url_decode(token.substr(dot + 1), out))
    return "<none>";
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);

  // 1. The bytes as a token.
  if (rtm::jwt_verify(in, kForeign, kNow)) std::abort();

  // 2. The bytes as claims, signed.
  boost::system::error_code ec;
  json::value parsed = json::parse(in, ec);
  json::object claims;
  if (!ec && parsed.is_object()) claims = std::move(parsed.get_object());
  switch (mode % 4) {
    case 0: break;  // exp as the JSON says, if at all
    case 1: claims["exp"] = kNow - static_cast<std::int64_t>(mode / 4); break;  // expired
    case 2: claims["exp"] = kNow + 1 + static_cast<std::int64_t>(mode / 4); break;
    case 3: claims.erase("exp"); break;
  }
  const std::string token = rtm::jwt_sign(claims, kOwn);
  // What a verifier reads back: the signed JSON parsed again (Boost.JSON's double parsing may
  // differ from the value serialized in the last digit, but it is the same both times).
  // Boost.JSON 1.81 reads 1e400 as infinity and writes it as Infinity, which is not JSON:
  // such claims are not signable, and the server only signs strings and integers.
  json::value signed_claims = json::parse(json::serialize(claims), ec);
  if (ec) return 0;
  const json::object& expected = signed_claims.get_object();
  const json::value* exp = expected.if_contains("exp");

  auto verified = rtm::jwt_verify(token, kOwn, kNow);
  if (token.size() > 4096 || !exp || !exp->is_int64()) {
    if (verified || verified.error().rc != Rc::InvalidToken) std::abort();
    return 0;
  }
  if (exp->as_int64() <= kNow) {
    if (verified || verified.error().rc != Rc::TokenExpired) std::abort();
    return 0;
  }
  if (!verified || *verified != expected) std::abort();
  if (rtm::jwt_verify(token, kForeign, kNow)) std::abort();

  // 3. One byte changed, at positions and to values the input picks, and always at the end.
  const std::string sig = sig_bytes(token);
  const std::size_t sig_start = token.rfind('.') + 1;
  for (std::size_t k = 0; k < 9; ++k) {
    std::size_t pos = token.size() - 1;
    unsigned char to = static_cast<unsigned char>(token.back()) ^ (1u << (k % 8));
    if (k < 8 && in.size() >= 2 * (k + 1)) {
      pos = static_cast<unsigned char>(in[2 * k]) * 131u % token.size();
      to = static_cast<unsigned char>(in[2 * k + 1]);
    }
    if (static_cast<unsigned char>(token[pos]) == to) continue;
    std::string changed = token;
    changed[pos] = static_cast<char>(to);
    auto r = rtm::jwt_verify(changed, kOwn, kNow);
    if (!r) continue;
    // Only the signature's unused low bits may change without effect.
    if (pos != token.size() - 1 || pos < sig_start || sig_bytes(changed) != sig || *r != expected)
      std::abort();
  }
  return 0;
}
