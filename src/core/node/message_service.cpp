// MessageService: checks, durable append, fan-out and history (message_service.hpp).
#include "core/node/message_service.hpp"

#include <chrono>
#include <unordered_set>

#include "core/event_body.hpp"
#include "logging/log.hpp"

namespace rtm {

MessageService::MessageService(const NodeConfig& config, Store& store, Publisher& publisher,
                               AccessPolicy& access, RateLimits& limits,
                               ServerEventService& server_events)
    : config_(config),
      store_(store),
      publisher_(publisher),
      access_(access),
      limits_(limits),
      server_events_(server_events),
      mids_(config.node_id) {}

Status MessageService::check(const SendRequest& r) {
  if (r.mtype < 0 || r.mtype > 255)
    return make_error(Rc::InvalidParameter, "mtype must be between 0 and 255");
  if (r.mtype >= 40 && r.mtype <= 50 && !r.file_message)
    return make_error(Rc::InvalidParameter, "mtype 40-50 is reserved for file messages");
  if (r.msg.size() > config_.max_msg_bytes)
    return make_error(Rc::PayloadTooLarge,
                      "msg is over " + std::to_string(config_.max_msg_bytes) + " bytes");
  if (r.attrs.size() > config_.max_attrs_bytes)
    return make_error(Rc::PayloadTooLarge,
                      "attrs is over " + std::to_string(config_.max_attrs_bytes) + " bytes");
  if (r.mid && *r.mid == 0) return make_error(Rc::InvalidParameter, "mid must be positive");
  if (r.from != 0) {
    if (auto s = access_.user_exists(r.from); !s) return s;
  } else if (!r.as_server) {
    return make_error(Rc::NotAuthorized, "a client send needs an authorized session");
  }

  switch (r.kind) {
    case MessageKind::P2p:
      if (r.to == 0) return make_error(Rc::InvalidParameter, "to must be a positive uid");
      return access_.user_exists(r.to);
    case MessageKind::Multi:
      if (r.to_uids.empty() || r.to_uids.size() > 1000)
        return make_error(Rc::InvalidParameter, "to_uids must hold 1 to 1000 uids");
      for (Uid u : r.to_uids) {
        if (u == 0) return make_error(Rc::InvalidParameter, "to_uids must be positive uids");
        if (auto s = access_.user_exists(u); !s) return s;
      }
      return ok_status();
    case MessageKind::Group:
      if (r.gid == 0) return make_error(Rc::InvalidParameter, "gid must be positive");
      if (r.as_server) return ok_status();
      return access_.check(Act::Send, Place::group(r.gid), r.from);
    case MessageKind::Room:
      if (r.rid == 0) return make_error(Rc::InvalidParameter, "rid must be positive");
      if (r.as_server) return ok_status();
      return access_.check(Act::Send, Place::room(r.rid), r.from);
    case MessageKind::Broadcast:
      if (!r.as_server)
        return make_error(Rc::PermissionDenied, "only the server API may broadcast");
      return ok_status();
    case MessageKind::Channel:
      return make_error(Rc::InvalidParameter, "channel messages are sent with channel.send");
  }
  return ok_status();
}

Status MessageService::check_rate(const SendRequest& r) {
  if (r.as_server || r.from == 0) return ok_status();
  return limits_.check_send(r.from);
}

bool MessageService::checks_in_memory(MessageKind kind, bool as_server, Uid from,
                                      const std::vector<Uid>& to) {
  if (from != 0 && !access_.known_user(from)) return false;
  switch (kind) {
    case MessageKind::P2p:
    case MessageKind::Multi:
      for (Uid u : to)
        if (!access_.known_user(u)) return false;
      return true;
    case MessageKind::Group:
    case MessageKind::Room: return as_server;  // a client's needs its membership read
    case MessageKind::Broadcast: return true;
  }
  return false;
}

void MessageService::send(SendRequest r, SendCallback done) {
  // Every client send takes a token first, before any work, valid or not; a file message took
  // its token with its upload token (FileService::token), so its upload is not counted twice.
  if (!r.file_message) {
    if (auto within = check_rate(r); !within) return done(within.error());
  }
  if (auto valid = check(r); !valid) return done(valid.error());
  store_and_deliver(std::move(r), std::nullopt, std::move(done));
}

void MessageService::count_append(std::uint64_t us) {
  store_appends_.fetch_add(1, std::memory_order_relaxed);
  store_append_us_total_.fetch_add(us, std::memory_order_relaxed);
  auto prev = store_append_us_max_.load(std::memory_order_relaxed);
  while (us > prev && !store_append_us_max_.compare_exchange_weak(prev, us)) {
  }
}

void MessageService::store_and_deliver(SendRequest r, std::optional<FileRecord> file,
                                       SendCallback done) {
  Message m;
  m.mtime = config_.now_ms();
  m.mid = mids_.next(m.mtime);
  m.client_mid = r.mid.value_or(0);
  m.from = r.from;
  m.kind = r.kind;
  m.to = r.to;
  if (r.kind == MessageKind::Multi) {
    std::unordered_set<Uid> seen;
    for (Uid u : r.to_uids)
      if (seen.insert(u).second) m.to_uids.push_back(u);
  }
  m.gid = r.gid;
  m.rid = r.rid;
  m.mtype = r.mtype;
  m.msg = std::move(r.msg);
  m.attrs = std::move(r.attrs);

  // Serialized once, before the store takes the message: every recipient shares this body.
  EventBody body = message_event(m);
  auto targets = std::make_shared<Message>();
  targets->from = m.from;
  targets->kind = m.kind;
  targets->to = m.to;
  targets->to_uids = m.to_uids;
  targets->gid = m.gid;
  targets->rid = m.rid;
  auto started = std::chrono::steady_clock::now();

  auto stored = [this, body = std::move(body), targets, started,
                 done = std::move(done)](Result<AppendOutcome> out) {
    count_append(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                std::chrono::steady_clock::now() - started)
                                                .count()));
    if (!out) return done(out.error());
    if (!out->duplicate) {
      messages_sent_.fetch_add(1, std::memory_order_relaxed);
      // The message is durable: whatever goes wrong with live delivery (out of memory in a
      // queue), the sender is answered with its mid below, never left waiting, and the
      // recipients find the message in history.
      try {
        fan_out(*targets, body, out->position);
        server_events_.record_message_copy(*targets, body, out->mtime);
      } catch (const std::exception& e) {
        logging::error("send.delivery_failed", {{"mid", out->mid}, {"error", e.what()}});
      }
    }
    done(SendAck{out->mid, out->mtime});
  };
  if (file)
    store_.append_file_message(std::move(m), std::move(*file), std::move(stored));
  else
    store_.append_message(std::move(m), std::move(stored));
}

void MessageService::fan_out(const Message& m, const EventBody& body, std::uint64_t position) {
  for (auto& target : message_targets(m)) publisher_.publish(std::move(target), body, position);
}

Result<std::vector<Message>> MessageService::history(const HistoryQuery& q,
                                                     std::optional<Uid> viewer) {
  if (q.limit < 1 || q.limit > 1000)
    return make_error(Rc::InvalidParameter, "limit must be between 1 and 1000");
  if (viewer) {
    if (q.scope == HistoryQuery::Scope::Group) {
      if (auto allowed = access_.check(Act::Read, Place::group(q.gid), *viewer); !allowed)
        return allowed.error();
    } else if (q.scope == HistoryQuery::Scope::Room) {
      if (auto allowed = access_.check(Act::Read, Place::room(q.rid), *viewer); !allowed)
        return allowed.error();
    }
  }
  return store_.history(q);
}

MessageService::Counts MessageService::counts() const {
  return Counts{messages_sent_.load(), store_appends_.load(), store_append_us_total_.load(),
                store_append_us_max_.load()};
}

}  // namespace rtm
