// Bridges from the engine's callbacks (called on store or other threads) back into a
// coroutine on its own executor, and from a coroutine to the blocking pool. The resumption
// is always posted to the coroutine's executor, so a connection's state is touched by one
// thread only.
//
// The blocking pool runs what must not run on an event loop (argon2id, SQLite writes). Its
// queue is bounded: past `max_jobs` queued or running jobs, run_blocking answers the call
// RateLimited at once instead of letting a flood of logins grow the queue (and every
// caller's wait) without end.
//
// These are plain functions returning the awaitable of async_initiate, not coroutines. g++ 12
// mis-copies closures that are temporaries of a co_await expression (an SSO string inside
// ends up pointing into the old frame): callers name the closure as a local first, then
// co_await await_callback(std::move(local)).
#pragma once

#include <atomic>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <type_traits>

#include "api/params.hpp"

namespace rtm::api {

class BlockingPool {
 public:
  BlockingPool(std::size_t threads, std::size_t max_jobs) : pool_(threads), max_jobs_(max_jobs) {}

  // A place in the queue, held until the job it was taken for has run (or been dropped
  // unrun when the pool stops): the count can neither leak nor go negative.
  class Slot {
   public:
    explicit Slot(BlockingPool& pool) : pool_(pool) {}
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() { pool_.jobs_.fetch_sub(1, std::memory_order_relaxed); }

   private:
    BlockingPool& pool_;
  };

  // A slot, or null when max_jobs are queued or running.
  std::shared_ptr<Slot> try_reserve() {
    if (jobs_.fetch_add(1, std::memory_order_relaxed) >= max_jobs_) {
      jobs_.fetch_sub(1, std::memory_order_relaxed);
      return nullptr;
    }
    return std::make_shared<Slot>(*this);
  }

  // Queues f without a slot: for the server's own upkeep (the sweep), never for a call.
  template <class F>
  void post(F f) {
    boost::asio::post(pool_, std::move(f));
  }

  std::size_t jobs() const { return jobs_.load(std::memory_order_relaxed); }
  std::size_t max_jobs() const { return max_jobs_; }
  void stop() { pool_.stop(); }
  void join() { pool_.join(); }

 private:
  boost::asio::thread_pool pool_;
  const std::size_t max_jobs_;
  std::atomic<std::size_t> jobs_{0};
};

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
// When the pool's queue is full, raises CallError RateLimited before anything is queued
// (thrown here, in the caller's coroutine, so the dispatcher answers it).
template <class F>
boost::asio::awaitable<std::optional<std::invoke_result_t<F>>> run_blocking(BlockingPool& pool,
                                                                            F f) {
  using T = std::invoke_result_t<F>;
  auto slot = pool.try_reserve();
  if (!slot) fail(Rc::RateLimited, "the server is busy; try again shortly");
  return await_callback<T>([&pool, slot, f = std::move(f)](auto done) mutable {
    pool.post([slot = std::move(slot), f = std::move(f), done = std::move(done)]() mutable {
      T result = f();
      // Free the slot before the answer is on its way: a caller that got its answer and
      // calls again must find the place free.
      slot.reset();
      done(std::move(result));
    });
  });
}

}  // namespace rtm::api
