// The error table of API.md section 2 as values. Every failure that reaches a client is one
// of these codes; the api/ layer turns it into JSON or XML with the code's HTTP status.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rtm {

enum class Rc : int {
  Ok = 0,
  InvalidRequest = 1001,
  InvalidParameter = 1002,
  UnknownMethod = 1003,
  PayloadTooLarge = 1004,
  RateLimited = 1005,
  InvalidSession = 1100,
  SessionAlreadyAuthorized = 1101,
  AuthorizeFailed = 1102,
  SessionExists = 1103,
  NotAuthorized = 1104,
  Unauthorized = 1105,
  PermissionDenied = 1106,
  InvalidToken = 1200,
  TokenExpired = 1201,
  NotFound = 1300,
  AlreadyExists = 1301,
  Internal = 1500,
  Unavailable = 1503,
};

// The contract's name of a code ("InvalidRequest"), "" for Ok.
std::string_view rc_name(Rc rc);

// The HTTP status the contract gives a code (200 for Ok).
int rc_http_status(Rc rc);

struct Error {
  Rc rc = Rc::Internal;
  std::string msg;
  // RateLimited only: whole seconds after which the call may succeed (0: not said). HTTP
  // answers carry it as Retry-After, JSON and XML answers as `retry_after`.
  std::int64_t retry_after_s = 0;
};

// A RateLimited error saying when to come back: retry_after_ms rounded up to whole seconds,
// at least 1.
Error rate_limited(std::string msg, std::int64_t retry_after_ms);

}  // namespace rtm
