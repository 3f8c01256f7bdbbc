// Bridges from the engine's callbacks (called on store or other threads) back into a
// coroutine on its own executor, and from a coroutine to the blocking pool. The resumption
// is always posted to the coroutine's executor, so a connection's state is touched by one
// thread only.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <optional>
#include <type_traits>

namespace rtm::api {

// `start(done)` begins work that later calls done(T) once, from any thread.
template <class T, class Start>
boost::asio::awaitable<T> await_callback(Start start) {
  namespace asio = boost::asio;
  auto ex = co_await asio::this_coro::executor;
  // Result<T> has no default constructor; carry it in an optional through the handler.
  auto out = co_await asio::async_initiate<decltype(asio::use_awaitable), void(std::optional<T>)>(
      [ex, start = std::move(start)](auto handler) mutable {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        start([ex, h](T value) mutable {
          asio::post(ex, [h, v = std::optional<T>(std::move(value))]() mutable {
            std::move (*h)(std::move(v));
          });
        });
      },
      asio::use_awaitable);
  co_return std::move(*out);
}

// Runs f() on the blocking pool and resumes with its result on the caller's executor.
template <class Pool, class F>
boost::asio::awaitable<std::invoke_result_t<F>> run_blocking(Pool& pool, F f) {
  using T = std::invoke_result_t<F>;
  co_return co_await await_callback<T>([&pool, f = std::move(f)](auto done) mutable {
    boost::asio::post(pool, [f = std::move(f), done = std::move(done)]() mutable { done(f()); });
  });
}

}  // namespace rtm::api
