// Node: the services of one rtmd, started, swept and shut down together (node.hpp).
#include "core/node/node.hpp"

#include <chrono>

#include "core/random.hpp"

namespace rtm {

namespace {

std::int64_t system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

NodeConfig with_clock(NodeConfig config) {
  if (!config.now_ms) config.now_ms = system_now_ms;
  return config;
}

}  // namespace

Node::Node(Store& store, Broker& broker, LiveState live, NodeConfig config)
    : config_(with_clock(std::move(config))),
      store_(store),
      broker_(broker),
      publisher_(broker),
      limits_(config_, live.rate_limiters),
      access_(config_, store_, bans_),
      server_events_(config_, store_, live.server_events, shutting_down_),
      sessions_(config_, store_, broker_, publisher_, access_, limits_, server_events_, signer_,
                shutting_down_, live.login_attempts, live.session_directory),
      messages_(config_, store_, publisher_, access_, limits_, server_events_),
      channels_(config_, store_, live.channels, server_events_, signer_, shutting_down_),
      directory_(config_, store_, publisher_, access_, sessions_, signer_),
      moderation_(config_, store_, bans_, access_, sessions_, directory_),
      files_(config_, store_, access_, messages_, server_events_, signer_) {}

Status Node::start() {
  auto secret = store_.get_or_init_meta("token_secret", random_token(32));
  if (!secret) return secret.error();
  signer_.set_secret(std::move(*secret));
  if (auto loaded = moderation_.load(); !loaded) return loaded;
  if (auto loaded = server_events_.load_listen(); !loaded) return loaded;
  if (auto restored = server_events_.restore(); !restored) return restored;
  if (auto restored = channels_.restore(); !restored) return restored;
  broker_.set_handler([this](const Publication& p) { sessions_.deliver(p); });
  broker_.subscribe(Target::all());  // broadcasts reach every node
  return sessions_.restore();
}

void Node::checkpoint(bool final) {
  sessions_.checkpoint(final);
  server_events_.checkpoint();
  channels_.checkpoint();
}

void Node::sweep() {
  std::int64_t now = now_ms();
  sessions_.sweep(now);
  channels_.sweep(now);
  limits_.sweep(now);
  files_.sweep(now);
}

void Node::shutdown() {
  // Set before the wakes: a poll that registers after its session was woken here has seen
  // the flag under Session::mu_ and answered at once instead (Session::take_or_wait).
  shutting_down_ = true;
  sessions_.wake_all();
  channels_.wake_all();
  server_events_.wake_all();
}

NodeStats Node::stats() const {
  NodeStats st;
  auto s = sessions_.counts();
  st.sessions = s.sessions;
  st.unauthorized_sessions = s.unauthorized;
  st.online_users = s.online_users;
  st.events_queued = s.events_queued;
  st.polls_waiting = s.polls_waiting;
  st.events_delivered = s.events_delivered;
  st.rate_limited = limits_.refused();
  auto m = messages_.counts();
  st.messages_sent = m.messages_sent;
  st.store_appends = m.store_appends;
  st.store_append_us_total = m.store_append_us_total;
  st.store_append_us_max = m.store_append_us_max;
  st.channels = channels_.stats();
  st.server_events_kept = server_events_.kept();
  st.server_events_last_id = server_events_.last_id();
  st.server_event_polls_waiting = server_events_.waiting();
  st.broker_publish_failures = publisher_.failures();
  return st;
}

}  // namespace rtm
