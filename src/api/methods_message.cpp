// message.* and user.online, for clients (from = the session's user) and for the server API
// (from given by the caller) (API.md section 4).
#include <boost/json/parse.hpp>
#include <limits>

#include "api/method_table.hpp"
#include "core/event_body.hpp"

namespace rtm::api {

namespace {

constexpr std::int64_t kMaxId = std::numeric_limits<std::int64_t>::max();

// Fills the fields every send shares (mtype, msg, attrs, mid) and the sender.
Result<SendRequest> decode_send(Call& c, Scope scope, MessageKind kind) {
  SendRequest r;
  r.kind = kind;
  if (scope == Scope::Client) {
    RTM_TRY(r.from, c.node().sessions().authorized_uid(c.params.string("session")));
  } else {
    r.as_server = true;
    // 0, like no `from` at all, is the system: messages show it as from 0, so it is accepted.
    r.from = static_cast<Uid>(c.params.optional_integer("from", 0, kMaxId).value_or(0));
  }
  if (!c.params.has("mtype")) return make_error(Rc::InvalidRequest, "mtype is missing");
  r.mtype = static_cast<int>(c.params.integer("mtype", 30, -(1 << 30), 1 << 30));
  r.msg = c.params.string("msg");
  r.attrs = c.params.optional_string("attrs").value_or("");
  r.mid = c.params.optional_id("mid");
  return r;
}

// Exec::Deferred's on_loop: whether a send's checks need only memory (every uid it names is
// a user this node knows, and no membership to read), so it starts on the event loop. The
// sender and the recipients as decode_send and the handlers read them; a param it cannot
// read raises, and the dispatcher starts the call on the loop, where it is refused.
template <Scope S, MessageKind K>
bool send_checks_in_memory(Call& c) {
  Uid from = 0;
  if (S == Scope::Client) {
    auto uid = c.node().sessions().authorized_uid(c.params.string("session"));
    if (!uid) return true;  // refused on the loop: NotAuthorized or InvalidSession
    from = *uid;
  } else {
    from = static_cast<Uid>(c.params.optional_integer("from", 0, kMaxId).value_or(0));
  }
  std::vector<Uid> to;
  if (K == MessageKind::P2p) to.push_back(c.params.id("to"));
  if (K == MessageKind::Multi) to = c.params.id_list("to_uids", 1000);
  return c.node().messages().checks_in_memory(K, S == Scope::Server, from, to);
}

// Exec::Deferred, on the pool unless its checks need only memory (above): the checks read
// the store (users, membership), and the answer comes from the store once the message is
// durable. `c` is not touched after send().
void run_send(Call& c, Result<SendRequest> request, Respond respond) {
  if (!request) return respond(request.error());
  c.node().messages().send(std::move(*request),
                           [respond = std::move(respond)](Result<SendAck> ack) {
                             if (!ack) return respond(ack.error());
                             Reply reply;
                             reply.fields["mid"] = ack->mid;
                             reply.fields["mtime"] = ack->mtime;
                             respond(std::move(reply));
                           });
}

template <Scope S>
void send_p2p(Call& c, Respond respond) {
  auto r = decode_send(c, S, MessageKind::P2p);
  if (r) r->to = c.params.id("to");
  run_send(c, std::move(r), std::move(respond));
}

template <Scope S>
void send_many(Call& c, Respond respond) {
  auto r = decode_send(c, S, MessageKind::Multi);
  if (r) r->to_uids = c.params.id_list("to_uids", 1000);
  run_send(c, std::move(r), std::move(respond));
}

// message.send_group (gid) and message.send_room (rid).
template <Scope S, MessageKind K>
void send_to_container(Call& c, Respond respond) {
  static_assert(K == MessageKind::Group || K == MessageKind::Room);
  auto r = decode_send(c, S, K);
  if (r) {
    if constexpr (K == MessageKind::Group) {
      r->gid = c.params.id("gid");
    } else {
      r->rid = c.params.id("rid");
    }
  }
  run_send(c, std::move(r), std::move(respond));
}

void broadcast(Call& c, Respond respond) {
  run_send(c, decode_send(c, Scope::Server, MessageKind::Broadcast), std::move(respond));
}

// Blocking: the access rule reads membership, and the messages are read from the store.
template <Scope S>
Result<Reply> history(Call& c) {
  HistoryQuery q;
  std::optional<Uid> viewer;
  if (S == Scope::Client) {
    RTM_TRY(viewer, c.node().sessions().authorized_uid(c.params.string("session")));
  }
  int scopes = c.params.has("with") + c.params.has("gid") + c.params.has("rid");
  if (scopes != 1) return make_error(Rc::InvalidRequest, "give exactly one of with, gid or rid");
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
  RTM_TRY(auto messages, c.node().messages().history(q, viewer));
  std::string raw = "[";
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (i) raw += ',';
    raw += message_json(messages[i]);
  }
  raw += ']';
  Reply reply;
  reply.raw_fields.emplace_back("messages", std::move(raw));
  return reply;
}

template <Scope S>
Result<Reply> user_online(Call& c) {
  if (S == Scope::Client) {
    RTM_CHECK(c.node().sessions().authorized_uid(c.params.string("session")));
  }
  auto uids = c.params.id_list("uids", 1000);
  boost::json::array out;
  for (Uid u : c.node().sessions().online(uids)) out.push_back(u);
  Reply reply;
  reply.fields["uids"] = std::move(out);
  return reply;
}

}  // namespace

void add_message_methods(std::vector<MethodSpec>& t) {
  using M = MethodSpec;
  constexpr Scope C = Scope::Client, S = Scope::Server;
  t.push_back(
      M::deferred_call("message.send", C, send_p2p<C>, send_checks_in_memory<C, MessageKind::P2p>));
  t.push_back(M::deferred_call("message.send_many", C, send_many<C>,
                               send_checks_in_memory<C, MessageKind::Multi>));
  t.push_back(M::deferred_call("message.send_group", C, send_to_container<C, MessageKind::Group>,
                               send_checks_in_memory<C, MessageKind::Group>));
  t.push_back(M::deferred_call("message.send_room", C, send_to_container<C, MessageKind::Room>,
                               send_checks_in_memory<C, MessageKind::Room>));
  t.push_back(M::blocking("message.history", C, history<C>));
  t.push_back(M::inline_call("user.online", C, user_online<C>));

  t.push_back(
      M::deferred_call("message.send", S, send_p2p<S>, send_checks_in_memory<S, MessageKind::P2p>));
  t.push_back(M::deferred_call("message.send_many", S, send_many<S>,
                               send_checks_in_memory<S, MessageKind::Multi>));
  t.push_back(M::deferred_call("message.send_group", S, send_to_container<S, MessageKind::Group>,
                               send_checks_in_memory<S, MessageKind::Group>));
  t.push_back(M::deferred_call("message.send_room", S, send_to_container<S, MessageKind::Room>,
                               send_checks_in_memory<S, MessageKind::Room>));
  t.push_back(M::deferred_call("message.broadcast", S, broadcast,
                               send_checks_in_memory<S, MessageKind::Broadcast>));
  t.push_back(M::blocking("message.history", S, history<S>));
  t.push_back(M::inline_call("user.online", S, user_online<S>));
}

}  // namespace rtm::api
