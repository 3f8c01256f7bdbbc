// Bridges from the engine's callbacks (called on store or other threads) back into a
// coroutine on its own executor, and from a coroutine to the blocking pool. The resumption
// is always posted to the coroutine's executor, so a connection's state is touched by one
// thread only.
//
// These are plain functions returning the awaitable of async_initiate, not coroutines. g++ 12
// mis-copies closures that are temporaries of a co_await expression (an SSO string inside
// ends up pointing into the old frame): callers name the closure as a local first, then
// co_await await_callback(std::move(local)).
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <optional>
#include <type_traits>

namespace rtm::api {

// `start(done)` begins work that later calls done(T) once, from any thread. co_await the
// result to get a std::optional<T> that is always engaged (Result<T> has no default
// constructor, so it travels in an optional).
template <class T, class Start>
boost::asio::awaitable<std::optional<T>> await_callback(Start start) {
  namespace asio = boost::asio;
  return asio::async_initiate<decltype(asio::use_awaitable), void(std::optional<T>)>(
      [start = std::move(start)](auto handler) mutable {
        auto ex = asio::get_associated_executor(handler);
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        start([ex, h](T value) mutable {
          asio::post(ex, [h, v = std::optional<T>(std::move(value))]() mutable {
            std::move (*h)(std::move(v));
          });
        });
      },
      asio::use_awaitable);
}

// Runs f() on the blocking pool; co_await gives std::optional<result of f>, always engaged.
template <class Pool, class F>
boost::asio::awaitable<std::optional<std::invoke_result_t<F>>> run_blocking(Pool& pool, F f) {
  using T = std::invoke_result_t<F>;
  return await_callback<T>([&pool, f = std::move(f)](auto done) mutable {
    boost::asio::post(pool, [f = std::move(f), done = std::move(done)]() mutable { done(f()); });
  });
}

}  // namespace rtm::api
