// channel.* methods (API.md section 7): server create, send, info, clear; client poll.
// Channels live in memory only (no store), so every handler runs on its event loop; a poll
// that finds nothing parks a timer that the channel's waiter cancels (as session.get_events).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>

#include "api/method_table.hpp"

namespace rtm::api {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

Reply messages_reply(const std::vector<std::string>& messages) {
  boost::json::array a;
  a.reserve(messages.size());
  for (const auto& m : messages) a.emplace_back(m);
  Reply r;
  r.fields["messages"] = std::move(a);
  return r;
}

// The messages a poll took, with the hook that gives them back to the channel if the answer
// cannot be written.
Reply returnable_reply(Node& node, const std::string& client_id,
                       std::vector<std::string> messages) {
  Reply r = messages_reply(messages);
  if (!messages.empty()) {
    r.undelivered = [&node, client_id,
                     taken = std::make_shared<std::vector<std::string>>(std::move(messages))] {
      node.channels().give_back(client_id, std::move(*taken));
    };
  }
  return r;
}

// duration_minutes (1-1440, default 120) or duration_seconds (1-86400), not both.
std::int64_t channel_duration_s(const Params& p) {
  if (p.has("duration_minutes") && p.has("duration_seconds"))
    fail(Rc::InvalidRequest, "give duration_minutes or duration_seconds, not both");
  if (auto s = p.optional_integer("duration_seconds", 1, 86'400)) return *s;
  return p.integer("duration_minutes", 120, 1, 1440) * 60;
}

awaitable<Reply> channel_create(Call& c) {
  std::string client_id = c.params.string("client_id");
  auto duration_s = channel_duration_s(c.params);
  Reply r;
  r.fields["token"] = unwrap(c.node().channels().create(client_id, duration_s));
  co_return r;
}

awaitable<Reply> channel_send(Call& c) {
  std::string client_id = c.params.string("client_id");
  std::string message = c.params.string("message");
  unwrap(c.node().channels().send(client_id, std::move(message)));
  co_return Reply{};
}

awaitable<Reply> channel_info(Call& c) {
  std::string client_id = c.params.string("client_id");
  auto info = unwrap(c.node().channels().info(client_id));
  Reply r;
  r.fields["connected"] = info.connected;
  r.fields["pending"] = info.pending;
  co_return r;
}

awaitable<Reply> channel_clear(Call& c) {
  std::string client_id = c.params.string("client_id");
  Reply r;
  r.fields["cleared"] = unwrap(c.node().channels().clear(client_id));
  co_return r;
}

// Long poll: answers at once with everything queued, else waits up to `timeout` s for the
// next channel.send. timeout 0 only reads (and still counts as a poll: it connects).
awaitable<Reply> channel_poll(Call& c) {
  unwrap(c.node().rate_limits().check_address(RateLimitKind::ChannelPoll, c.caller.address));
  std::string token = c.params.string("token");
  auto timeout = c.params.integer("timeout", 30, 0, 60);
  Node& node = c.node();
  std::uint64_t ticket = 0;
  if (timeout == 0) {
    auto polled = unwrap(node.channels().poll(token, nullptr, ticket));
    co_return returnable_reply(node, polled.client_id, std::move(*polled.messages));
  }

  auto ex = co_await asio::this_coro::executor;
  auto timer = std::make_shared<asio::steady_timer>(ex, std::chrono::seconds(timeout));
  std::weak_ptr<asio::steady_timer> weak = timer;
  ChannelQueues::Waiter waiter = [ex, weak] {
    asio::post(ex, [weak] {
      if (auto t = weak.lock()) t->cancel();
    });
  };
  auto polled = unwrap(node.channels().poll(token, std::move(waiter), ticket));
  if (polled.messages)
    co_return returnable_reply(node, polled.client_id, std::move(*polled.messages));
  auto wait_began = std::chrono::steady_clock::now();
  co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
  c.waited += std::chrono::steady_clock::now() - wait_began;
  node.channels().cancel_wait(polled.client_id, ticket);
  co_return returnable_reply(node, polled.client_id, node.channels().take(polled.client_id));
}

}  // namespace

void add_channel_methods(std::vector<MethodSpec>& t) {
  t.push_back({"channel.create", Scope::Server, channel_create});
  t.push_back({"channel.send", Scope::Server, channel_send});
  t.push_back({"channel.info", Scope::Server, channel_info});
  t.push_back({"channel.clear", Scope::Server, channel_clear});
  t.push_back({"channel.poll", Scope::Client, channel_poll});
}

}  // namespace rtm::api
