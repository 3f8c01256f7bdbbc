// JSON Web Tokens signed with HS256 (RFC 7519), the format of user tokens and, later,
// channel tokens: an application holding the secret can mint them itself.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace rtm {

// header.payload.signature with {"alg":"HS256","typ":"JWT"}.
std::string jwt_sign(const boost::json::object& claims, std::string_view secret);

// Checks the shape, the algorithm (only HS256 is accepted), the signature (constant-time)
// and `exp` against now_s. InvalidToken for anything malformed or wrongly signed,
// TokenExpired when exp <= now_s. Returns the claims.
Result<boost::json::object> jwt_verify(std::string_view token, std::string_view secret,
                                       std::int64_t now_s);

}  // namespace rtm
