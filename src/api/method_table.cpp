// The method table and the dispatcher: decode, authenticate, run, count.
#include "api/method_table.hpp"

#include <openssl/crypto.h>

#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>

#include "api/call_log.hpp"
#include "core/quote_input.hpp"

namespace rtm::api {

const std::vector<MethodSpec>& method_table() {
  static const std::vector<MethodSpec> table = [] {
    std::vector<MethodSpec> t;
    add_session_methods(t);
    add_message_methods(t);
    add_admin_methods(t);
    add_channel_methods(t);
    add_moderation_methods(t);
    add_file_methods(t);
    add_server_event_methods(t);
    return t;
  }();
  return table;
}

const MethodSpec* find_method(Scope scope, std::string_view name) {
  for (const auto& m : method_table())
    if (m.scope == scope && m.name == name) return &m;
  return nullptr;
}

bool api_key_matches(std::string_view given, const std::string& expected) {
  if (expected.empty() || given.size() != expected.size()) return false;
  return CRYPTO_memcmp(given.data(), expected.data(), given.size()) == 0;
}

namespace {

// An unknown method that exists on the other path: say where it is.
std::string unknown_method_message(Scope scope, std::string_view method) {
  if (scope == Scope::Client && find_method(Scope::Server, method))
    return std::string(method) + " is a server method: POST /v1/server/" + std::string(method) +
           " with the API key";
  if (scope == Scope::Server && find_method(Scope::Client, method))
    return std::string(method) + " is a client method: POST /v1/" + std::string(method) +
           " (no API key)";
  return "no such method: " + quote_input(method);
}

}  // namespace

boost::asio::awaitable<Reply> dispatch_params(Services& services, Scope scope,
                                              std::string_view method,
                                              const boost::json::object& params,
                                              const Caller& caller) {
  Reply reply;
  const MethodSpec* spec = find_method(scope, method);
  if (!spec) {
    // The name comes from the raw request path: any length, any bytes (a name found on the
    // other path is one of the table's).
    reply = Reply::error(Rc::UnknownMethod, unknown_method_message(scope, method));
  } else if (scope == Scope::Server && !api_key_matches(caller.bearer, services.api_key)) {
    // A missing key is a client's mistake, a wrong one may be a guess: both are logged.
    bool given = caller.authorization_given || !caller.bearer.empty();
    reply =
        Reply::error(Rc::Unauthorized, given ? "wrong API key"
                                             : "missing Authorization header: server methods need "
                                               "Authorization: Bearer <api key>");
    if (services.call_log) services.call_log->refused_key(spec->name, caller.address, given);
  } else {
    Call call{services, Params(params), caller};
    auto started = std::chrono::steady_clock::now();
    try {
      reply = co_await spec->handler(call);
    } catch (const CallError& e) {
      reply = Reply::error(e.error);
    } catch (const std::bad_alloc&) {
      reply = Reply::error(Rc::Internal, "out of memory");
    } catch (const std::exception& e) {
      // A bug, not an input error: answer Internal and keep serving (API.md rc 1500).
      reply = Reply::error(Rc::Internal, std::string("internal error: ") + e.what());
    }
    if (services.call_log)
      services.call_log->answered(spec->name, caller.address, reply,
                                  std::chrono::steady_clock::now() - started - call.waited);
  }
  services.metrics.record(reply.rc);
  co_return reply;
}

boost::asio::awaitable<Reply> dispatch(Services& services, Scope scope, std::string_view method,
                                       std::string_view body, const Caller& caller) {
  boost::json::object params;
  if (!body.empty()) {
    boost::json::parse_options opts;
    opts.max_depth = 32;
    boost::system::error_code ec;
    auto value = boost::json::parse(body, ec, {}, opts);
    if (ec || !value.is_object()) {
      auto reply = Reply::error(Rc::InvalidRequest, ec ? "body is not valid JSON: " + ec.message()
                                                       : "body must be a JSON object");
      services.metrics.record(reply.rc);
      co_return reply;
    }
    params = std::move(value.get_object());
  }
  co_return co_await dispatch_params(services, scope, method, params, caller);
}

}  // namespace rtm::api
