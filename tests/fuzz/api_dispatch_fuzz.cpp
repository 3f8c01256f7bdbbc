// Fuzz target: arbitrary bytes as the JSON body of an API call, through the real
// api::dispatch with a Node over a real SQLite store in a temporary directory.
//
// Input: byte 0 = flags (bit 0: call in the other scope than the method's, so scope checks
// run too; bit 1: give a wrong API key), byte 1 = method (index into method_table(); one past
// the end is an unknown name), the rest = the body. In the body, the word SESSION is replaced
// by a live authorized session of user 1 and UID2 by user 2's uid, so that calls get past the
// session and user checks into the method's own decoding. Every answer must encode to JSON
// that parses back, with the same rc.
#include <stdlib.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <optional>
#include <string>

#include "api/async_bridge.hpp"
#include "api/method_table.hpp"
#include "broker/local/local_broker.hpp"
#include "core/local_channel_queues.hpp"
#include "core/local_server_event_log.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace {

using namespace rtm;
namespace asio = boost::asio;

constexpr const char* kApiKey = "fuzz-api-key";

template <class T>
T must(Result<T> r, const char* what) {
  if (!r.ok()) {
    std::fprintf(stderr, "harness: %s: %s\n", what, r.error().msg.c_str());
    std::abort();
  }
  return std::move(*r);
}

// The server under test, built once per process and never destroyed: libFuzzer may exit from
// any point, and the engine's threads must not race static destructors.
struct World {
  std::string dir;
  std::unique_ptr<Store> store;
  LocalBroker broker;
  // The live state's local engines, with NodeConfig's default limits (as app/engines.cpp).
  LocalServerEventLog server_events{NodeConfig{}.server_events_limit};
  LocalChannelQueues channels{
      ChannelOptions{NodeConfig{}.channel_queue_limit, NodeConfig{}.channel_timeout_ms}};
  std::unique_ptr<Node> node;
  api::BlockingPool blocking{1, 64};
  api::CallMetrics metrics;
  std::unique_ptr<api::Services> services;
  asio::io_context ioc;
  std::int64_t now = 1'800'000'000'000;
  Uid alice = 0, bob = 0;
  std::string session;  // alice's, authorized; made again when an input ended it

  World() {
    char tmpl[] = "/tmp/rtm-fuzz-XXXXXX";
    if (!mkdtemp(tmpl)) std::abort();
    dir = tmpl;
    auto s = open_sqlite_store(dir + "/rtm.db");
    store = must(std::move(s), "open the store");
    NodeConfig config;
    config.password_policy = PasswordPolicy{1, 8 * 1024};  // argon2id at its cheapest
    config.now_ms = [this] { return now; };
    node = std::make_unique<Node>(*store, broker, LiveState{server_events, channels}, config);
    if (auto st = node->start(); !st.ok()) {
      std::fprintf(stderr, "harness: node start: %s\n", st.error().msg.c_str());
      std::abort();
    }
    services = std::make_unique<api::Services>(
        api::Services{*node, blocking, metrics, std::string(kApiKey)});
    alice = must(node->directory().add_user("alice", "pw-alice", 0), "add alice");
    bob = must(node->directory().add_user("bob", "pw-bob", 0), "add bob");
  }

  // A live authorized session of alice. The clock moves on a minute per input so that login
  // throttling from the inputs' failed logins never locks the harness out.
  const std::string& live_session() {
    now += 61'000;
    if (!session.empty() && node->sessions().authorized_uid(session).ok()) return session;
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto token = node->directory().user_token(alice, 3600);
      if (token.ok()) {
        auto sid = node->sessions().create();
        if (!sid.ok()) break;  // the cap on unauthorized sessions: no sweep runs here
        auto r = node->sessions().authorize(*sid, Credentials{"", "", *token}, LoginMode::Multi);
        if (r.ok()) return session = r->session;
      }
      // An input deleted alice (user.delete): carry on with a new user in her place.
      auto uid = node->directory().add_user("alice-" + std::to_string(now), "pw-alice", 0);
      if (!uid.ok()) break;
      alice = *uid;
    }
    std::fprintf(stderr, "harness: cannot log a user in any more\n");
    std::abort();
  }

  // Wakes a long poll of alice's session: one server message to her.
  void wake() {
    SendRequest r;
    r.as_server = true;  // from nobody: works even when an input deleted bob
    r.to = alice;
    r.mtype = 30;
    r.msg = "wake";
    std::promise<void> p;
    node->messages().send(std::move(r), [&p](Result<SendAck>) { p.set_value(); });
    p.get_future().wait();
  }
};

World& world() {
  static World* w = new World;
  return *w;
}

void replace_all(std::string& s, std::string_view from, const std::string& to) {
  for (std::size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size())
    s.replace(at, from.size(), to);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  world();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  World& w = world();
  const auto& table = api::method_table();
  const std::uint8_t flags = data[0];
  const std::size_t index = data[1] % (table.size() + 1);
  std::string method = index < table.size() ? std::string(table[index].name) : "no.such_method";
  api::Scope scope = index < table.size() ? table[index].scope : api::Scope::Client;
  if (flags & 1) scope = scope == api::Scope::Client ? api::Scope::Server : api::Scope::Client;
  std::string bearer = (flags & 2) ? "wrong-key" : kApiKey;

  std::string body(reinterpret_cast<const char*>(data + 2), size - 2);
  replace_all(body, "SESSION", w.live_session());
  replace_all(body, "UID2", std::to_string(w.bob));

  std::optional<api::Reply> reply;
  api::Caller caller{"127.0.0.1", bearer};
  asio::co_spawn(w.ioc, api::dispatch(*w.services, scope, method, body, caller),
                 [&reply](std::exception_ptr e, api::Reply r) {
                   // dispatch promises never to throw.
                   if (e) std::abort();
                   reply = std::move(r);
                 });
  // A long poll waits up to 60 s: wake it with a message after a moment.
  w.ioc.restart();
  w.ioc.run_for(std::chrono::milliseconds(5));
  for (int round = 0; !reply; ++round) {
    if (round == 1) w.wake();
    if (round == 2) (void)w.node->sessions().destroy(w.session);
    if (round > 400) {
      std::fprintf(stderr, "%s did not answer within 2 s after its session was woken\n",
                   method.c_str());
      std::abort();
    }
    w.ioc.restart();
    w.ioc.run_for(std::chrono::milliseconds(5));
  }

  // The answer must be JSON that a client can parse, with the same rc.
  const std::string json = api::encode_json(*reply);
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(json, ec);
  if (ec || !v.is_object() || !v.get_object().contains("rc") ||
      v.get_object().at("rc") != static_cast<int>(reply->rc)) {
    std::fprintf(stderr, "%s answered unparsable JSON (%s): %s\n", method.c_str(),
                 ec.message().c_str(), json.substr(0, 500).c_str());
    std::abort();
  }
  (void)api::encode_xml(*reply);
  return 0;
}
