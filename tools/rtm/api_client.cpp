// ApiClient: JSON encoding of calls and decoding of rtm answers for the CLI.
#include "api_client.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace rtm::cli {

namespace json = boost::json;

namespace {

// The first line of a non-rtm answer, shortened, for an error message.
std::string excerpt(std::string_view body) {
  std::string_view line = body.substr(0, body.find('\n'));
  if (line.size() > 200) line = line.substr(0, 200);
  return std::string(line);
}

json::object check(const http::Reply& reply) {
  boost::system::error_code ec;
  json::value v = json::parse(reply.body, ec);
  const json::object* obj = (!ec) ? v.if_object() : nullptr;
  const json::value* rc = obj ? obj->if_contains("rc") : nullptr;
  if (!rc || !rc->is_int64()) {
    throw ApiError(-1, "HTTP " + std::to_string(reply.status),
                   reply.body.empty() ? std::string("empty answer") : excerpt(reply.body));
  }
  if (rc->as_int64() != 0) {
    std::string name = "Error";
    std::string msg;
    if (auto* e = obj->if_contains("error"); e && e->is_string()) name = e->as_string().c_str();
    if (auto* m = obj->if_contains("msg"); m && m->is_string()) msg = m->as_string().c_str();
    throw ApiError(rc->as_int64(), name, msg);
  }
  return std::move(*v.if_object());
}

}  // namespace

json::object ApiClient::call(std::string_view method, const json::object& params, Scope scope,
                             std::chrono::milliseconds timeout, std::string* raw) {
  std::string path = scope == Scope::server ? "/v1/server/" : "/v1/";
  path.append(method);
  if (scope == Scope::server && api_key_.empty())
    throw UsageError("no API key for server method " + std::string(method) +
                     ": give --api-key, set RTM_API_KEY, or point --data-dir at the server's "
                     "data directory");
  std::string body = json::serialize(params);
  http::Reply reply = http_.request(
      "POST", path, body, scope == Scope::server ? std::string_view(api_key_) : "", timeout);
  if (raw) *raw = reply.body;
  return check(reply);
}

json::object ApiClient::health(std::string* raw) {
  http::Reply reply = http_.request("GET", "/healthz", "", "", kDefaultTimeout);
  if (raw) *raw = reply.body;
  json::object obj = check(reply);
  if (reply.status != 200)
    throw ApiError(-1, "HTTP " + std::to_string(reply.status), "not healthy");
  return obj;
}

}  // namespace rtm::cli
