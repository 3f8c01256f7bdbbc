// channel.* methods (API.md section 7): server create, send, info, clear; client poll.
// Channels live in memory and are kept in the store across restarts: create writes the
// channel (Exec::Blocking), send answers once its message is durable (Exec::Deferred, on
// the loop); info
// and clear are memory only (Inline; clear's rows go with the next checkpoint), and the poll
// an Exec::Poll that the dispatcher parks until the channel's waiter wakes it (as
// get_events).
#include <chrono>

#include "api/method_table.hpp"

namespace rtm::api {

namespace {

Reply messages_reply(const std::vector<ChannelMessage>& messages) {
  boost::json::array a;
  a.reserve(messages.size());
  for (const auto& m : messages) a.emplace_back(m.text);
  Reply r;
  r.fields["messages"] = std::move(a);
  return r;
}

// The messages a poll took, with the hook that gives them back to the channel if the answer
// cannot be written.
Reply returnable_reply(Node& node, const std::string& client_id,
                       std::vector<ChannelMessage> messages) {
  Reply r = messages_reply(messages);
  if (!messages.empty()) {
    r.undelivered = [&node, client_id,
                     taken = std::make_shared<std::vector<ChannelMessage>>(std::move(messages))] {
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

Result<Reply> channel_create(Call& c) {
  std::string client_id = c.params.string("client_id");
  auto duration_s = channel_duration_s(c.params);
  Reply r;
  RTM_TRY(r.fields["token"], c.node().channels().create(client_id, duration_s));
  return r;
}

// channel.send's checks (the channel is live) are the engine's memory, and its append goes
// to the store's writer: it starts on the event loop.
bool checks_in_memory(Call&) { return true; }

void channel_send(Call& c, Respond respond) {
  std::string client_id = c.params.string("client_id");
  std::string message = c.params.string("message");
  c.node().channels().send(client_id, std::move(message),
                           [respond = std::move(respond)](Status sent) {
                             if (!sent) return respond(sent.error());
                             respond(Reply{});
                           });
}

Result<Reply> channel_info(Call& c) {
  RTM_TRY(auto info, c.node().channels().info(c.params.string("client_id")));
  Reply r;
  r.fields["connected"] = info.connected;
  r.fields["pending"] = info.pending;
  return r;
}

Result<Reply> channel_clear(Call& c) {
  Reply r;
  RTM_TRY(r.fields["cleared"], c.node().channels().clear(c.params.string("client_id")));
  return r;
}

// Long poll (Exec::Poll): answers at once with everything queued, else waits up to `timeout`
// s for the next channel.send. timeout 0 only reads (and still counts as a poll: it connects).
Result<PollStart> channel_poll(Call& c, const Waiter& waiter) {
  RTM_CHECK(c.node().rate_limits().check_address(RateLimitKind::ChannelPoll, c.caller.address));
  std::string token = c.params.string("token");
  auto timeout = c.params.integer("timeout", 30, 0, 60);
  Node& node = c.node();
  std::uint64_t ticket = 0;
  if (timeout == 0) {
    RTM_TRY(auto polled, node.channels().poll(token, nullptr, ticket));
    return PollStart(returnable_reply(node, polled.client_id, std::move(*polled.messages)));
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout);
  RTM_TRY(auto polled, node.channels().poll(token, waiter, ticket));
  if (polled.messages)
    return PollStart(returnable_reply(node, polled.client_id, std::move(*polled.messages)));
  return PollStart(Park{deadline,
                        [&node, client_id = polled.client_id, ticket](
                            bool, const Waiter&) -> Result<std::optional<Reply>> {
                          node.channels().cancel_wait(client_id, ticket);
                          return std::optional<Reply>(
                              returnable_reply(node, client_id, node.channels().take(client_id)));
                        }});
}

}  // namespace

void add_channel_methods(std::vector<MethodSpec>& t) {
  using M = MethodSpec;
  t.push_back(M::blocking("channel.create", Scope::Server, channel_create));
  t.push_back(M::deferred_call("channel.send", Scope::Server, channel_send, checks_in_memory));
  t.push_back(M::inline_call("channel.info", Scope::Server, channel_info));
  t.push_back(M::inline_call("channel.clear", Scope::Server, channel_clear));
  t.push_back(M::long_poll("channel.poll", Scope::Client, channel_poll));
}

}  // namespace rtm::api
