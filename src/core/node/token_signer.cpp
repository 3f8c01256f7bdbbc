// TokenSigner: signing and checking with the node's secret (token_signer.hpp).
#include "core/node/token_signer.hpp"

#include "core/file_link.hpp"
#include "core/jwt.hpp"

namespace rtm {

std::string TokenSigner::sign(const boost::json::object& claims) const {
  return jwt_sign(claims, secret_);
}

Result<boost::json::object> TokenSigner::verify(std::string_view token, std::int64_t now_s) const {
  return jwt_verify(token, secret_, now_s);
}

std::string TokenSigner::file_link_signature(std::string_view id, std::int64_t exp_s) const {
  return rtm::file_link_signature(secret_, id, exp_s);
}

Status TokenSigner::check_file_link(std::string_view id, std::string_view exp, std::string_view sig,
                                    std::int64_t now_s) const {
  return rtm::check_file_link(secret_, id, exp, sig, now_s);
}

}  // namespace rtm
