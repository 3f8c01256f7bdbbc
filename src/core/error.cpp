// Names and HTTP statuses of the error table (API.md section 2).
#include "core/error.hpp"

namespace rtm {

std::string_view rc_name(Rc rc) {
  switch (rc) {
    case Rc::Ok: return "";
    case Rc::InvalidRequest: return "InvalidRequest";
    case Rc::InvalidParameter: return "InvalidParameter";
    case Rc::UnknownMethod: return "UnknownMethod";
    case Rc::PayloadTooLarge: return "PayloadTooLarge";
    case Rc::RateLimited: return "RateLimited";
    case Rc::InvalidSession: return "InvalidSession";
    case Rc::SessionAlreadyAuthorized: return "SessionAlreadyAuthorized";
    case Rc::AuthorizeFailed: return "AuthorizeFailed";
    case Rc::SessionExists: return "SessionExists";
    case Rc::NotAuthorized: return "NotAuthorized";
    case Rc::Unauthorized: return "Unauthorized";
    case Rc::PermissionDenied: return "PermissionDenied";
    case Rc::InvalidToken: return "InvalidToken";
    case Rc::TokenExpired: return "TokenExpired";
    case Rc::NotFound: return "NotFound";
    case Rc::AlreadyExists: return "AlreadyExists";
    case Rc::Internal: return "Internal";
    case Rc::Unavailable: return "Unavailable";
  }
  return "Internal";
}

int rc_http_status(Rc rc) {
  switch (rc) {
    case Rc::Ok: return 200;
    case Rc::InvalidRequest:
    case Rc::InvalidParameter: return 400;
    case Rc::UnknownMethod: return 404;
    case Rc::PayloadTooLarge: return 413;
    case Rc::RateLimited: return 429;
    case Rc::InvalidSession: return 404;
    case Rc::SessionAlreadyAuthorized: return 409;
    case Rc::AuthorizeFailed: return 401;
    case Rc::SessionExists: return 409;
    case Rc::NotAuthorized:
    case Rc::Unauthorized: return 401;
    case Rc::PermissionDenied: return 403;
    case Rc::InvalidToken:
    case Rc::TokenExpired: return 401;
    case Rc::NotFound: return 404;
    case Rc::AlreadyExists: return 409;
    case Rc::Internal: return 500;
    case Rc::Unavailable: return 503;
  }
  return 500;
}

Error rate_limited(std::string msg, std::int64_t retry_after_ms) {
  std::int64_t seconds = retry_after_ms <= 0 ? 1 : (retry_after_ms + 999) / 1000;
  return Error{Rc::RateLimited, std::move(msg), seconds};
}

}  // namespace rtm
