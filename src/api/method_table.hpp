// The method table of API.md as data: one entry per (scope, name) with its handler. The HTTP
// router and the WebSocket dispatcher both go through dispatch(); docs and tests can list
// the methods from method_table().
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "api/async_bridge.hpp"
#include "api/call_log.hpp"
#include "api/call_metrics.hpp"
#include "api/params.hpp"
#include "api/reply.hpp"
#include "core/node/node.hpp"

namespace rtm::files {
class BlobStore;
}

namespace rtm::api {

enum class Scope { Client, Server };

// What handlers may use. Owned by the app; outlives every call.
struct Services {
  Node& node;
  BlockingPool& blocking;  // argon2id and SQLite writes, off the event loops (bounded)
  CallMetrics& metrics;
  std::string api_key;
  files::BlobStore* blobs = nullptr;  // uploaded files' bytes (net/file_transfer.hpp)
  CallLog* call_log = nullptr;        // refusals, rate limits, errors, slow calls; null: none
};

// Who is calling, as the transport saw it.
struct Caller {
  // The client's IP address: the socket's peer, or the client named by X-Forwarded-For when
  // the peer is a trusted proxy (net/). Empty when the transport has none (tests, fuzzing).
  std::string address;
  // The token of the Authorization header (server methods need the API key).
  std::string_view bearer;
  // Whether an Authorization header came at all, of whatever form: a refusal says "wrong API
  // key" then, "missing Authorization header" otherwise.
  bool authorization_given = false;
};

struct Call {
  Services& services;
  Params params;
  const Caller& caller;
  // What the call spent waiting by design (a long poll's wait for events): a handler that
  // waits adds it, and the slow-call log counts only the rest.
  std::chrono::steady_clock::duration waited{};
  Node& node() const { return services.node; }
};

using Handler = boost::asio::awaitable<Reply> (*)(Call&);

struct MethodSpec {
  std::string_view name;
  Scope scope;
  Handler handler;
};

// Whether `given` is the server API key, compared in constant time. An empty key (none set)
// matches nothing.
bool api_key_matches(std::string_view given, const std::string& expected);

const std::vector<MethodSpec>& method_table();
const MethodSpec* find_method(Scope scope, std::string_view name);

// The handlers of each area append their entries (methods_*.cpp).
void add_session_methods(std::vector<MethodSpec>& table);
void add_message_methods(std::vector<MethodSpec>& table);
void add_admin_methods(std::vector<MethodSpec>& table);
void add_channel_methods(std::vector<MethodSpec>& table);
void add_moderation_methods(std::vector<MethodSpec>& table);
void add_file_methods(std::vector<MethodSpec>& table);
void add_server_event_methods(std::vector<MethodSpec>& table);

// Decodes `body` (a JSON object; empty means {}), checks the API key for server methods
// (`caller.bearer`), runs the method and answers its Reply. `caller` must outlive the call.
// Never throws: every failure is an error Reply of the contract's table.
boost::asio::awaitable<Reply> dispatch(Services& services, Scope scope, std::string_view method,
                                       std::string_view body, const Caller& caller);
// The same with params already decoded (WebSocket frames).
boost::asio::awaitable<Reply> dispatch_params(Services& services, Scope scope,
                                              std::string_view method,
                                              const boost::json::object& params,
                                              const Caller& caller);

}  // namespace rtm::api
