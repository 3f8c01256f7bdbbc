// The method table of API.md as data: one entry per (scope, name) with where it runs (Exec)
// and its handler. The HTTP router and the WebSocket dispatcher both go through dispatch();
// docs and tests can list the methods from method_table().
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
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
  // Off the event loops, both bounded: `blocking` runs argon2id (Exec::Hashing, a few
  // threads: a flood of logins waits there) and, when `store_calls` is null, everything else;
  // `store_calls` runs the calls that wait on the store (Exec::Blocking and Deferred), so
  // that sends are never queued behind password hashing.
  BlockingPool& blocking;
  CallMetrics& metrics;
  std::string api_key;
  files::BlobStore* blobs = nullptr;  // uploaded files' bytes (net/file_transfer.hpp)
  CallLog* call_log = nullptr;        // refusals, rate limits, errors, slow calls; null: none
  BlockingPool* store_calls = nullptr;

  BlockingPool& pool_for_store() { return store_calls ? *store_calls : blocking; }
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

// Where and how a method runs, decided once per method in its table entry; the dispatcher
// does the rest (the hop to the pool, the wait, the resumption on the connection's executor).
// The rule: a method that may reach the Store (or block otherwise: argon2id, later a Redis or
// PostgreSQL round trip) never runs on an event loop. tests/unit/dispatch_threads_test.cpp
// calls every method on a thread marked as an event loop and fails on any store call there.
enum class Exec {
  Inline,    // memory only: runs on the connection's event loop
  Blocking,  // may block: runs on the store-call pool (a full pool answers RateLimited at once)
  Hashing,   // Blocking whose work is argon2id (tens of ms of CPU): the small hashing pool
  Deferred,  // starts on the store-call pool like Blocking (its checks read the store) and
             // answers later, from any thread, through its Respond (a send: the store's ack);
             // on the event loop instead when its MethodSpec::on_loop says the checks of this
             // call read no store (a send to users already known)
  Poll,      // a long poll, memory only: on the event loop, answers at once or parks until
             // its source's waiter or its deadline wakes it (session.get_events, channel.poll,
             // events.poll)
};

// Inline, Blocking and Hashing: the answer, or the error it is. Params decoding may still raise
// CallError (the edge); the dispatcher answers it.
using Handler = Result<Reply> (*)(Call&);

// Deferred: call it once, from any thread. `Call` stays valid until then, not after.
using Respond = std::function<void(Result<Reply>)>;
using DeferredHandler = void (*)(Call&, Respond);

// Deferred: whether this call's checks need only memory now, so that its handler may start
// on the event loop (what it stores goes to the store's writer, which answers). It reads
// params without raising (a call it cannot decode starts on the loop and is refused there).
using OnLoop = bool (*)(Call&);

// Poll: what a long poll's first attempt gives when nothing is ready yet.
using Waiter = std::function<void()>;
struct Park {
  std::chrono::steady_clock::time_point deadline;
  // Called on the event loop once a waiter woke the poll or the deadline passed (`due`): the
  // answer, or nullopt to wait again until the same deadline (having registered `waiter`,
  // the same wake-up, with the source again).
  std::function<Result<std::optional<Reply>>(bool due, const Waiter& waiter)> resume;
};
using PollStart = std::variant<Reply, Park>;
// `waiter` wakes the poll: the handler hands it to its source's take_or_wait.
using PollHandler = Result<PollStart> (*)(Call&, const Waiter& waiter);

struct MethodSpec {
  std::string_view name;
  Scope scope;
  Exec exec;
  Handler handler = nullptr;           // Inline, Blocking, Hashing
  DeferredHandler deferred = nullptr;  // Deferred
  PollHandler poll = nullptr;          // Poll
  OnLoop on_loop = nullptr;            // Deferred: null, always on the store-call pool

  static MethodSpec inline_call(std::string_view name, Scope scope, Handler h) {
    return {name, scope, Exec::Inline, h};
  }
  static MethodSpec blocking(std::string_view name, Scope scope, Handler h) {
    return {name, scope, Exec::Blocking, h};
  }
  static MethodSpec hashing(std::string_view name, Scope scope, Handler h) {
    return {name, scope, Exec::Hashing, h};
  }
  static MethodSpec deferred_call(std::string_view name, Scope scope, DeferredHandler h,
                                  OnLoop on_loop = nullptr) {
    return {name, scope, Exec::Deferred, nullptr, h, nullptr, on_loop};
  }
  static MethodSpec long_poll(std::string_view name, Scope scope, PollHandler h) {
    return {name, scope, Exec::Poll, nullptr, nullptr, h};
  }
};

std::string_view exec_name(Exec exec);

// In a handler returning a Result: `RTM_TRY(auto uid, service_call());` declares uid with
// the value, or returns the Error from the handler (dragonfly's ASSIGN_OR_RETURN).
#define RTM_TRY_CAT_(a, b) a##b
#define RTM_TRY_CAT(a, b) RTM_TRY_CAT_(a, b)
#define RTM_TRY_IMPL_(tmp, decl, expr) \
  auto tmp = (expr);                   \
  if (!tmp) return tmp.error();        \
  decl = std::move(tmp).value()
#define RTM_TRY(decl, expr) RTM_TRY_IMPL_(RTM_TRY_CAT(rtm_try_, __LINE__), decl, expr)
// A Status: returns its Error from the handler.
#define RTM_CHECK(expr)                                                   \
  do {                                                                    \
    if (auto rtm_check_ = (expr); !rtm_check_) return rtm_check_.error(); \
  } while (0)

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
