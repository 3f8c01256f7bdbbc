// TokenSigner: the node's signing secret and what is signed with it: user tokens, channel
// tokens (HS256 JWTs, core/jwt.hpp) and file download links (core/file_link.hpp). The secret
// lives in the store (meta "token_secret"), made by the first node that starts, so every
// node of a cluster signs and checks alike. Set once at start, before any call; read-only
// afterwards, so it needs no lock.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace rtm {

class TokenSigner {
 public:
  void set_secret(std::string secret) { secret_ = std::move(secret); }

  std::string sign(const boost::json::object& claims) const;
  // The claims of a token with a good signature whose exp is after now_s; InvalidToken or
  // TokenExpired otherwise (jwt_verify).
  Result<boost::json::object> verify(std::string_view token, std::int64_t now_s) const;

  std::string file_link_signature(std::string_view id, std::int64_t exp_s) const;
  Status check_file_link(std::string_view id, std::string_view exp, std::string_view sig,
                         std::int64_t now_s) const;

 private:
  std::string secret_;
};

}  // namespace rtm
