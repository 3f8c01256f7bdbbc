// Server events.poll (API.md section 8): the server event stream by long poll, read like
// session.get_events (cursor without `after`, re-delivery with it).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>

#include "api/method_table.hpp"

namespace rtm::api {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

Reply events_reply(const EventBatch& batch) {
  Reply r;
  r.fields["last"] = batch.last;
  r.raw_fields.emplace_back("events", batch.to_json_array());
  return r;
}

// Several backend workers may poll at once and every event wakes them all; a poll that
// woke to find the events already taken by another goes back to waiting until its timeout,
// so it never answers [] early.
awaitable<Reply> events_poll(Call& c) {
  auto after = c.params.optional_u64("after");
  auto timeout = c.params.integer("timeout", 30, 0, 60);
  Engine& engine = c.engine();
  if (timeout == 0) co_return events_reply(engine.take_server_events(after));

  auto ex = co_await asio::this_coro::executor;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout);
  for (;;) {
    auto timer = std::make_shared<asio::steady_timer>(ex, deadline);
    std::weak_ptr<asio::steady_timer> weak = timer;
    ServerEventStream::Waiter waiter = [ex, weak] {
      asio::post(ex, [weak] {
        if (auto t = weak.lock()) t->cancel();
      });
    };
    std::uint64_t ticket = 0;
    auto ready = engine.take_or_wait_server_events(after, std::move(waiter), ticket);
    if (ready) co_return events_reply(*ready);
    co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    engine.cancel_server_events_wait(ticket);
    auto batch = engine.take_server_events(after);
    if (!batch.events.empty() || engine.shutting_down() ||
        std::chrono::steady_clock::now() >= deadline)
      co_return events_reply(batch);
  }
}

}  // namespace

void add_server_event_methods(std::vector<MethodSpec>& t) {
  t.push_back({"events.poll", Scope::Server, events_poll});
}

}  // namespace rtm::api
