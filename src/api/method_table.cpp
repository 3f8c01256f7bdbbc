// The method table and the dispatcher: decode, authenticate, run, count.
#include "api/method_table.hpp"

#include <openssl/crypto.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>
#include <memory>

#include "api/call_log.hpp"
#include "api/wakeup.hpp"
#include "core/quote_input.hpp"

namespace rtm::api {

using boost::asio::awaitable;

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

std::string_view exec_name(Exec exec) {
  switch (exec) {
    case Exec::Inline: return "inline";
    case Exec::Blocking: return "blocking";
    case Exec::Hashing: return "hashing";
    case Exec::Deferred: return "deferred";
    case Exec::Poll: return "poll";
  }
  return "?";
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

// Runs f (a handler's body) and turns what it raised into the contract's error: CallError
// from Params decoding (the edge), and anything else as the bug it is.
template <class F>
Result<Reply> guarded(F&& f) {
  try {
    return f();
  } catch (const CallError& e) {
    return e.error;
  } catch (const std::bad_alloc&) {
    return make_error(Rc::Internal, "out of memory");
  } catch (const std::exception& e) {
    // A bug, not an input error: answer Internal and keep serving (API.md rc 1500).
    return make_error(Rc::Internal, std::string("internal error: ") + e.what());
  }
}

Error pool_busy() { return make_error(Rc::RateLimited, "the server is busy; try again shortly"); }

// Exec::Blocking and Hashing: the handler runs on `pool`; the answer is posted back to this
// coroutine's executor (await_callback).
awaitable<Result<Reply>> run_blocking_call(const MethodSpec& spec, Call& call, BlockingPool& pool) {
  auto slot = pool.try_reserve();
  if (!slot) co_return pool_busy();
  Handler handler = spec.handler;
  auto start = [&pool, &call, handler, slot = std::move(slot)](auto done) mutable {
    pool.post([&call, handler, slot = std::move(slot), done = std::move(done)]() mutable {
      Result<Reply> reply = guarded([&] { return handler(call); });
      // Free the slot before the answer is on its way: a caller that got its answer and
      // calls again must find the place free.
      slot.reset();
      done(std::move(reply));
    });
  };
  auto reply = co_await await_callback<Result<Reply>>(std::move(start));
  co_return std::move(*reply);
}

// Starts a Deferred handler on this thread and answers through `done` once: by its Respond,
// from whichever thread (the store's, for a send), or with what it raised. `call` is not
// touched once respond has run: the answer may already be on its way.
// `returned` runs once the handler has returned, before a raised error is answered.
template <class Done, class Returned>
void start_deferred(DeferredHandler handler, Call& call, Done done, Returned returned) {
  auto once = std::make_shared<std::atomic<bool>>(false);
  Respond respond = [once, done = std::move(done)](Result<Reply> reply) mutable {
    if (!once->exchange(true)) done(std::move(reply));
  };
  Respond respond_error = respond;
  auto raised = guarded([&] {
    handler(call, std::move(respond));
    return Result<Reply>(Reply{});
  });
  returned();
  if (!raised) respond_error(std::move(raised));
}

bool starts_on_loop(const MethodSpec& spec, Call& call) {
  if (!spec.on_loop) return false;
  try {
    return spec.on_loop(call);
  } catch (const CallError&) {
    return true;  // undecodable: the handler refuses it on the loop before any store call
  }
}

// Exec::Deferred: the handler starts on the pool (or on this loop when on_loop says its
// checks need only memory) and answers once through its Respond.
awaitable<Result<Reply>> run_deferred_call(const MethodSpec& spec, Call& call) {
  DeferredHandler handler = spec.deferred;
  if (starts_on_loop(spec, call)) {
    auto here = [&call, handler](auto done) {
      start_deferred(handler, call, std::move(done), [] {});
    };
    auto reply = co_await await_callback<Result<Reply>>(std::move(here));
    co_return std::move(*reply);
  }
  BlockingPool& pool = call.services.pool_for_store();
  auto slot = pool.try_reserve();
  if (!slot) co_return pool_busy();
  auto start = [&pool, &call, handler, slot = std::move(slot)](auto done) mutable {
    pool.post([&call, handler, slot = std::move(slot), done = std::move(done)]() mutable {
      // The place is free once the handler returned: a send waits for the store without
      // holding one, and a caller that got its refusal and calls again finds it free.
      start_deferred(handler, call, std::move(done), [&slot] { slot.reset(); });
    });
  };
  auto reply = co_await await_callback<Result<Reply>>(std::move(start));
  co_return std::move(*reply);
}

// Exec::Poll: the first attempt on this loop, then waits on a Wakeup (its waiter is what the
// source keeps) until woken or due, and resumes. Only the wait counts as call.waited.
awaitable<Result<Reply>> run_poll(const MethodSpec& spec, Call& call) {
  Wakeup wakeup(co_await boost::asio::this_coro::executor);
  Waiter waiter = wakeup.waiter();
  std::optional<Park> park;
  Result<Reply> first = guarded([&]() -> Result<Reply> {
    auto started = spec.poll(call, waiter);
    if (!started) return started.error();
    if (auto* reply = std::get_if<Reply>(&*started)) return std::move(*reply);
    park = std::move(std::get<Park>(*started));
    return Reply{};
  });
  if (!first || !park) co_return first;
  for (;;) {
    auto began = std::chrono::steady_clock::now();
    co_await wakeup.wait_until(park->deadline);
    auto now = std::chrono::steady_clock::now();
    call.waited += now - began;
    bool due = now >= park->deadline;
    std::optional<Reply> answer;
    Result<Reply> step = guarded([&]() -> Result<Reply> {
      auto resumed = park->resume(due, waiter);
      if (!resumed) return resumed.error();
      answer = std::move(*resumed);
      return Reply{};
    });
    if (!step) co_return step;
    if (answer) co_return std::move(*answer);
  }
}

awaitable<Result<Reply>> run_method(const MethodSpec& spec, Call& call) {
  switch (spec.exec) {
    case Exec::Inline: co_return guarded([&] { return spec.handler(call); });
    case Exec::Blocking:
      co_return co_await run_blocking_call(spec, call, call.services.pool_for_store());
    case Exec::Hashing: co_return co_await run_blocking_call(spec, call, call.services.blocking);
    case Exec::Deferred: co_return co_await run_deferred_call(spec, call);
    case Exec::Poll: co_return co_await run_poll(spec, call);
  }
  co_return make_error(Rc::Internal, "internal error: no execution policy");
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
    Result<Reply> answer = co_await run_method(*spec, call);
    reply = answer ? std::move(*answer) : Reply::error(answer.error());
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
