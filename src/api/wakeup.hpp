// Wakeup: a timer that a source's waiter wakes early, for everything that waits on a queue
// with take_or_wait (long polls in the dispatcher, SSE, the push sockets). waiter() is what
// the source keeps: calling it, from any thread, posts the wake-up onto the Wakeup's executor;
// it does nothing once the Wakeup is gone. A wake-up that comes before the wait begins is not
// lost: the next wait returns at once.
//
// One Wakeup belongs to one coroutine on one executor (a single-threaded io_context):
// wait_until() and the posted wake-ups run there only.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>

namespace rtm::api {

class Wakeup {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Wakeup(const boost::asio::any_io_executor& ex) : state_(std::make_shared<State>(ex)) {}

  // For the source's take_or_wait: wakes the current (or the next) wait.
  std::function<void()> waiter() const {
    std::weak_ptr<State> weak = state_;
    auto ex = state_->timer.get_executor();
    return [weak, ex] {
      boost::asio::post(ex, [weak] {
        if (auto s = weak.lock()) {
          s->woken = true;
          s->timer.cancel();
        }
      });
    };
  }

  // Waits until a waiter was called (true) or `deadline` passed (false). A plain function
  // returning the awaitable of a member coroutine: no parameter outlives its co_await.
  boost::asio::awaitable<bool> wait_until(Clock::time_point deadline) {
    return wait(state_, deadline);
  }
  // Waits with no deadline: until a waiter, or cancel(), wakes it.
  boost::asio::awaitable<bool> wait() { return wait(state_, Clock::time_point::max()); }
  // Ends the current wait (on this executor) as if it timed out.
  void cancel() { state_->timer.cancel(); }

 private:
  struct State {
    explicit State(const boost::asio::any_io_executor& ex) : timer(ex) {}
    boost::asio::steady_timer timer;
    bool woken = false;
  };

  static boost::asio::awaitable<bool> wait(std::shared_ptr<State> s, Clock::time_point deadline) {
    if (!s->woken) {
      s->timer.expires_at(deadline);
      co_await s->timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
    bool woken = s->woken;
    s->woken = false;
    co_return woken;
  }

  std::shared_ptr<State> state_;
};

}  // namespace rtm::api
