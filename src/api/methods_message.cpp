// message.* and user.online, for clients (from = the session's user) and for the server API
// (from given by the caller) (API.md section 4).
#include <boost/json/parse.hpp>
#include <limits>

#include "api/async_bridge.hpp"
#include "api/method_table.hpp"
#include "core/event_body.hpp"

namespace rtm::api {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

constexpr std::int64_t kMaxId = std::numeric_limits<std::int64_t>::max();

// Fills the fields every send shares (mtype, msg, attrs, mid) and the sender.
SendRequest decode_send(Call& c, Scope scope, MessageKind kind) {
  SendRequest r;
  r.kind = kind;
  if (scope == Scope::Client) {
    r.from = unwrap(c.node().sessions().authorized_uid(c.params.string("session")));
  } else {
    r.as_server = true;
    // 0, like no `from` at all, is the system: messages show it as from 0, so it is accepted.
    r.from = static_cast<Uid>(c.params.optional_integer("from", 0, kMaxId).value_or(0));
  }
  if (!c.params.has("mtype")) fail(Rc::InvalidRequest, "mtype is missing");
  r.mtype = static_cast<int>(c.params.integer("mtype", 30, -(1 << 30), 1 << 30));
  r.msg = c.params.string("msg");
  r.attrs = c.params.optional_string("attrs").value_or("");
  r.mid = c.params.optional_id("mid");
  return r;
}

// `r` by reference: coroutine parameters are never non-trivial values (see async_bridge.hpp).
awaitable<Reply> run_send(Call& c, SendRequest& r) {
  Node& node = c.node();
  auto start = [&node, r = std::move(r)](auto done) mutable {
    node.messages().send(std::move(r), std::move(done));
  };
  auto ack = co_await await_callback<Result<SendAck>>(std::move(start));
  auto a = unwrap(std::move(*ack));
  Reply reply;
  reply.fields["mid"] = a.mid;
  reply.fields["mtime"] = a.mtime;
  co_return reply;
}

template <Scope S>
awaitable<Reply> send_p2p(Call& c) {
  auto r = decode_send(c, S, MessageKind::P2p);
  r.to = c.params.id("to");
  co_return co_await run_send(c, r);
}

template <Scope S>
awaitable<Reply> send_many(Call& c) {
  auto r = decode_send(c, S, MessageKind::Multi);
  r.to_uids = c.params.id_list("to_uids", 1000);
  co_return co_await run_send(c, r);
}

// message.send_group (gid) and message.send_room (rid).
template <Scope S, MessageKind K>
awaitable<Reply> send_to_container(Call& c) {
  static_assert(K == MessageKind::Group || K == MessageKind::Room);
  auto r = decode_send(c, S, K);
  if constexpr (K == MessageKind::Group) {
    r.gid = c.params.id("gid");
  } else {
    r.rid = c.params.id("rid");
  }
  co_return co_await run_send(c, r);
}

awaitable<Reply> broadcast(Call& c) {
  auto r = decode_send(c, Scope::Server, MessageKind::Broadcast);
  co_return co_await run_send(c, r);
}

template <Scope S>
awaitable<Reply> history(Call& c) {
  HistoryQuery q;
  std::optional<Uid> viewer;
  if (S == Scope::Client)
    viewer = unwrap(c.node().sessions().authorized_uid(c.params.string("session")));
  int scopes = c.params.has("with") + c.params.has("gid") + c.params.has("rid");
  if (scopes != 1) fail(Rc::InvalidRequest, "give exactly one of with, gid or rid");
  if (c.params.has("with")) {
    q.scope = HistoryQuery::Scope::P2p;
    q.with = c.params.id("with");
    q.uid = viewer ? *viewer : c.params.id("uid");
  } else if (c.params.has("gid")) {
    q.scope = HistoryQuery::Scope::Group;
    q.gid = c.params.id("gid");
  } else {
    q.scope = HistoryQuery::Scope::Room;
    q.rid = c.params.id("rid");
  }
  q.before_mid = c.params.optional_id("before_mid");
  q.limit = static_cast<int>(c.params.integer("limit", 100, 1, 1000));
  auto messages = unwrap(c.node().messages().history(q, viewer));
  std::string raw = "[";
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (i) raw += ',';
    raw += message_json(messages[i]);
  }
  raw += ']';
  Reply reply;
  reply.raw_fields.emplace_back("messages", std::move(raw));
  co_return reply;
}

template <Scope S>
awaitable<Reply> user_online(Call& c) {
  if (S == Scope::Client) unwrap(c.node().sessions().authorized_uid(c.params.string("session")));
  auto uids = c.params.id_list("uids", 1000);
  boost::json::array out;
  for (Uid u : c.node().sessions().online(uids)) out.push_back(u);
  Reply reply;
  reply.fields["uids"] = std::move(out);
  co_return reply;
}

}  // namespace

void add_message_methods(std::vector<MethodSpec>& t) {
  t.push_back({"message.send", Scope::Client, send_p2p<Scope::Client>});
  t.push_back({"message.send_many", Scope::Client, send_many<Scope::Client>});
  t.push_back(
      {"message.send_group", Scope::Client, send_to_container<Scope::Client, MessageKind::Group>});
  t.push_back(
      {"message.send_room", Scope::Client, send_to_container<Scope::Client, MessageKind::Room>});
  t.push_back({"message.history", Scope::Client, history<Scope::Client>});
  t.push_back({"user.online", Scope::Client, user_online<Scope::Client>});

  t.push_back({"message.send", Scope::Server, send_p2p<Scope::Server>});
  t.push_back({"message.send_many", Scope::Server, send_many<Scope::Server>});
  t.push_back(
      {"message.send_group", Scope::Server, send_to_container<Scope::Server, MessageKind::Group>});
  t.push_back(
      {"message.send_room", Scope::Server, send_to_container<Scope::Server, MessageKind::Room>});
  t.push_back({"message.broadcast", Scope::Server, broadcast});
  t.push_back({"message.history", Scope::Server, history<Scope::Server>});
  t.push_back({"user.online", Scope::Server, user_online<Scope::Server>});
}

}  // namespace rtm::api
