// ApiClient: calls rtm methods (POST /v1/<method>, /v1/server/<method>) for the CLI and turns
// answers into JSON objects or ApiError, per the error table of API.md section 2.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "http_client/blocking_client.hpp"

namespace rtm::cli {

// An answer with rc != 0 (or one that is not an rtm answer at all: rc -1, name "HTTP <status>").
class ApiError : public std::runtime_error {
 public:
  ApiError(std::int64_t rc, std::string name, const std::string& msg)
      : std::runtime_error(msg), rc_(rc), name_(std::move(name)) {}
  std::int64_t rc() const { return rc_; }
  const std::string& name() const { return name_; }

 private:
  std::int64_t rc_;
  std::string name_;
};

// Wrong use of the CLI found after parsing (missing API key, bad password input): exit 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Scope { client, server };

class ApiClient {
 public:
  // `tls`: what an https URL is verified with (null: the system's CA store).
  ApiClient(http::BaseUrl url, std::string api_key,
            std::shared_ptr<boost::asio::ssl::context> tls = nullptr)
      : http_(std::move(url), std::move(tls)), api_key_(std::move(api_key)) {}

  // Calls `method` with `params`. Returns the answer object (rc 0); throws ApiError,
  // http::TransportError or UsageError (server scope without an API key). `raw`, when given,
  // receives the answer body as received.
  boost::json::object call(std::string_view method, const boost::json::object& params, Scope scope,
                           std::chrono::milliseconds timeout = kDefaultTimeout,
                           std::string* raw = nullptr);

  // GET /healthz: the answer's body; throws like call().
  boost::json::object health(std::string* raw);

  http::BlockingClient& http() { return http_; }

  static constexpr std::chrono::milliseconds kDefaultTimeout{15000};

 private:
  http::BlockingClient http_;
  std::string api_key_;
};

}  // namespace rtm::cli
