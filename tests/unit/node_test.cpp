// Node driven directly (no sockets) on a real SQLite file and the local broker: logins and
// their modes, delivery, subscriptions, presence, expiry, idempotent sends.
#include "core/node/node.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "broker/local/local_broker.hpp"
#include "core/jwt.hpp"
#include "core/local_channel_queues.hpp"
#include "core/local_server_event_log.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace rtm {
namespace {

// The local engines of the live state with config's limits, as app/engines.cpp builds them.
struct LocalLive {
  explicit LocalLive(const NodeConfig& config)
      : server_events(config.server_events_limit),
        channels(ChannelOptions{config.channel_queue_limit, config.channel_timeout_ms}) {}
  LiveState state() { return LiveState{server_events, channels}; }
  LocalServerEventLog server_events;
  LocalChannelQueues channels;
};

class NodeTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }
  // (Re)starts the engine with config changed by `tweak` (limits), on a fresh database.
  void start(const std::function<void(NodeConfig&)>& tweak) {
    if (node_) TearDown();
    char tmpl[] = "/tmp/rtm-node-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto store = open_sqlite_store(dir_ + "/rtm.db");
    ASSERT_TRUE(store.ok()) << store.error().msg;
    store_ = std::move(*store);
    NodeConfig config;
    config.password_policy = PasswordPolicy{1, 8 * 1024};
    config.now_ms = [this] { return now_; };
    if (tweak) tweak(config);
    live_ = std::make_unique<LocalLive>(config);
    node_ = std::make_unique<Node>(*store_, broker_, live_->state(), config);
    ASSERT_TRUE(node_->start().ok());
  }
  void TearDown() override {
    node_.reset();
    live_.reset();
    if (store_) store_->close();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  Uid add_user(const std::string& login) {
    auto uid = node_->directory().add_user(login, "pw-" + login, 0);
    EXPECT_TRUE(uid.ok());
    return *uid;
  }
  std::string login(const std::string& login, LoginMode mode = LoginMode::Multi) {
    auto sid = node_->sessions().create().value();
    auto r = node_->sessions().authorize(sid, Credentials{login, "pw-" + login, ""}, mode);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().msg);
    return r.ok() ? r->session : sid;
  }
  Result<SendAck> send(SendRequest r) {
    std::promise<Result<SendAck>> p;
    auto f = p.get_future();
    node_->messages().send(std::move(r), [&p](Result<SendAck> a) { p.set_value(std::move(a)); });
    return f.get();
  }
  SendRequest p2p(Uid from, Uid to, std::string msg) {
    SendRequest r;
    r.from = from;
    r.to = to;
    r.msg = std::move(msg);
    return r;
  }
  // Sends a one-byte file `id` the way an upload with `grant` would, once its bytes are
  // stored (FileService::send), and answers what the uploader is told.
  Result<FileSendAck> send_file(const UploadGrant& grant, const std::string& id) {
    FileRecord file;
    file.id = id;
    file.name = "a.txt";
    file.sha256 = std::string(64, 'a');
    file.size = 1;
    file.type = "text/plain";
    std::promise<Result<FileSendAck>> p;
    node_->files().send(grant, file, 40, "",
                        [&](Result<FileSendAck> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  std::vector<std::string> event_texts(const std::string& sid) {
    std::vector<std::string> out;
    auto batch = node_->sessions().take_events(sid, std::nullopt);
    if (!batch) return out;
    for (auto& e : batch->events) out.push_back(*e.body);
    return out;
  }

  std::string dir_;
  std::int64_t now_ = 1'800'000'000'000;
  std::unique_ptr<Store> store_;
  LocalBroker broker_;
  std::unique_ptr<LocalLive> live_;  // outlives node_
  std::unique_ptr<Node> node_;
};

bool contains(const std::vector<std::string>& v, const std::string& needle) {
  for (auto& s : v)
    if (s.find(needle) != std::string::npos) return true;
  return false;
}

TEST_F(NodeTest, P2pSendIsDeliveredToEveryRecipientSessionButNotTheSender) {
  Uid alice = add_user("alice"), bob = add_user("bob");
  auto a = login("alice");
  auto b1 = login("bob");
  auto b2 = login("bob");
  auto ack = send(p2p(alice, bob, "hello"));
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->mtime, now_);
  EXPECT_TRUE(contains(event_texts(b1), "\"msg\":\"hello\""));
  EXPECT_TRUE(contains(event_texts(b2), "\"msg\":\"hello\""));
  EXPECT_FALSE(contains(event_texts(a), "hello"));
}

TEST_F(NodeTest, WrongPasswordIsAuthorizeFailedAndUnknownLoginToo) {
  add_user("alice");
  auto sid = node_->sessions().create().value();
  EXPECT_EQ(node_->sessions().authorize(sid, {"alice", "nope", ""}, LoginMode::Kill).error().rc,
            Rc::AuthorizeFailed);
  EXPECT_EQ(node_->sessions().authorize(sid, {"nobody", "x", ""}, LoginMode::Kill).error().rc,
            Rc::AuthorizeFailed);
}

TEST_F(NodeTest, AuthorizingTwiceIsSessionAlreadyAuthorized) {
  add_user("alice");
  auto sid = login("alice");
  EXPECT_EQ(
      node_->sessions().authorize(sid, {"alice", "pw-alice", ""}, LoginMode::Multi).error().rc,
      Rc::SessionAlreadyAuthorized);
}

TEST_F(NodeTest, KillModeEndsOtherSessionsWithAFinalKilledEventThenInvalidSession) {
  add_user("alice");
  auto first = login("alice", LoginMode::Kill);
  auto second = login("alice", LoginMode::Kill);
  EXPECT_NE(first, second);
  EXPECT_EQ(node_->sessions().authorized_uid(first).error().rc, Rc::InvalidSession);
  auto events = event_texts(first);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], "\"type\":\"session\",\"state\":\"killed\"}");
  EXPECT_EQ(node_->sessions().take_events(first, std::nullopt).error().rc, Rc::InvalidSession);
  EXPECT_TRUE(node_->sessions().authorized_uid(second).ok());
}

TEST_F(NodeTest, KillModeNeverShowsUserOfflineDuringRelogin) {
  Uid bob = add_user("bob");
  add_user("watcher");
  auto w = login("watcher");
  ASSERT_TRUE(node_->sessions().subscribe(w, "presence:" + std::to_string(bob)).ok());
  login("bob", LoginMode::Kill);
  auto first = event_texts(w);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(contains(first, "\"state\":\"online\""));
  // Two more kill logins: each replaces the live session; bob never goes offline.
  login("bob", LoginMode::Kill);
  login("bob", LoginMode::Kill);
  EXPECT_TRUE(event_texts(w).empty());
  EXPECT_EQ(node_->sessions().online({bob}), std::vector<Uid>{bob});
}

TEST_F(NodeTest, RefuseModeIsSessionExistsWhileTheUserHasALiveSession) {
  add_user("alice");
  auto first = login("alice", LoginMode::Refuse);
  auto sid = node_->sessions().create().value();
  EXPECT_EQ(
      node_->sessions().authorize(sid, {"alice", "pw-alice", ""}, LoginMode::Refuse).error().rc,
      Rc::SessionExists);
  ASSERT_TRUE(node_->sessions().destroy(first).ok());
  EXPECT_TRUE(node_->sessions().authorize(sid, {"alice", "pw-alice", ""}, LoginMode::Refuse).ok());
}

TEST_F(NodeTest, PossessModeAnswersTheExistingSessionWithItsQueuedEvents) {
  Uid alice = add_user("alice"), bob = add_user("bob");
  auto existing = login("bob");
  ASSERT_TRUE(send(p2p(alice, bob, "queued")).ok());
  auto fresh = node_->sessions().create().value();
  auto r = node_->sessions().authorize(fresh, {"bob", "pw-bob", ""}, LoginMode::Possess);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->session, existing);
  EXPECT_EQ(node_->sessions().live(fresh).error().rc, Rc::InvalidSession);
  EXPECT_TRUE(contains(event_texts(existing), "queued"));
}

TEST_F(NodeTest, PossessModeWithoutASessionBindsTheNewOne) {
  add_user("bob");
  auto fresh = node_->sessions().create().value();
  auto r = node_->sessions().authorize(fresh, {"bob", "pw-bob", ""}, LoginMode::Possess);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->session, fresh);
  EXPECT_TRUE(node_->sessions().authorized_uid(fresh).ok());
}

TEST_F(NodeTest, AuthModeChecksCredentialsAndLeavesTheSessionUnauthorized) {
  Uid alice = add_user("alice");
  auto sid = node_->sessions().create().value();
  auto r = node_->sessions().authorize(sid, {"alice", "pw-alice", ""}, LoginMode::Auth);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->uid, alice);
  EXPECT_EQ(node_->sessions().authorized_uid(sid).error().rc, Rc::NotAuthorized);
  EXPECT_TRUE(node_->sessions().online({alice}).empty());
}

TEST_F(NodeTest, UserTokenAuthorizesAndExpires) {
  Uid alice = add_user("alice");
  auto token = node_->directory().user_token(alice, 60);
  ASSERT_TRUE(token.ok());
  auto sid = node_->sessions().create().value();
  auto r = node_->sessions().authorize(sid, {"", "", *token}, LoginMode::Multi);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->uid, alice);
  now_ += 61'000;
  auto late = node_->sessions().create().value();
  EXPECT_EQ(node_->sessions().authorize(late, {"", "", *token}, LoginMode::Multi).error().rc,
            Rc::TokenExpired);
  EXPECT_EQ(node_->sessions().authorize(late, {"", "", *token + "x"}, LoginMode::Multi).error().rc,
            Rc::InvalidToken);
}

TEST_F(NodeTest, WaitingPollIsWokenByADelivery) {
  Uid alice = add_user("alice"), bob = add_user("bob");
  auto b = login("bob");
  std::promise<void> woke;
  std::uint64_t ticket = 0;
  auto ready = node_->sessions().take_or_wait(
      b, std::nullopt, [&] { woke.set_value(); }, ticket);
  ASSERT_TRUE(ready.ok());
  EXPECT_FALSE(ready->has_value());
  ASSERT_TRUE(send(p2p(alice, bob, "wake")).ok());
  EXPECT_EQ(woke.get_future().wait_for(std::chrono::seconds(2)), std::future_status::ready);
  EXPECT_TRUE(contains(event_texts(b), "wake"));
}

TEST_F(NodeTest, PollStartedAfterShutdownAnswersAtOnce) {
  add_user("bob");
  auto b = login("bob");
  node_->shutdown();
  std::uint64_t ticket = 0;
  auto ready = node_->sessions().take_or_wait(
      b, std::nullopt, [] {}, ticket);
  ASSERT_TRUE(ready.ok());
  EXPECT_TRUE(ready->has_value());
  EXPECT_EQ(node_->stats().polls_waiting, 0u);
}

TEST_F(NodeTest, ShutdownWakesOrRefusesEveryPollThatRacesWithIt) {
  std::vector<std::string> sids;
  for (int i = 0; i < 2000; ++i) sids.push_back(node_->sessions().create().value());
  std::atomic<int> registered{0}, woken{0};
  std::thread poller([&] {
    for (auto& sid : sids) {
      std::uint64_t ticket = 0;
      auto ready = node_->sessions().take_or_wait(
          sid, std::nullopt, [&] { woken.fetch_add(1); }, ticket);
      if (ready.ok() && !ready->has_value()) registered.fetch_add(1);
    }
  });
  while (registered.load() < 50) std::this_thread::yield();
  node_->shutdown();
  poller.join();
  // A waiter registered is always called: by shutdown() or not registered at all.
  EXPECT_EQ(woken.load(), registered.load());
  EXPECT_EQ(node_->stats().polls_waiting, 0u);
}

// The node is called from every event-loop thread and the store's writer at once: senders,
// a reader taking its queue, and logins and logouts of another user, all in parallel. Every
// message reaches its recipient exactly once, in each sender's order. `make tsan` runs this
// under ThreadSanitizer, where a missing lock is a report even when the counts come out right.
TEST_F(NodeTest, ConcurrentSendsPollsAndLoginsDeliverEveryMessageOnceInSenderOrder) {
  constexpr int kSenders = 4, kPerSender = 150;
  Uid bob = add_user("bob");
  std::vector<Uid> senders;
  for (int i = 0; i < kSenders; ++i) senders.push_back(add_user("s" + std::to_string(i)));
  add_user("churn");
  auto b = login("bob");
  std::atomic<bool> done{false};
  std::atomic<int> failed_sends{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kSenders; ++i)
    threads.emplace_back([&, i] {
      for (int n = 0; n < kPerSender; ++n)
        if (!send(p2p(senders[i], bob, "m" + std::to_string(i) + "-" + std::to_string(n))).ok())
          failed_sends.fetch_add(1);
    });
  std::thread churn([&] {
    while (!done.load()) {
      auto sid = login("churn", LoginMode::Kill);
      (void)node_->sessions().destroy(sid);
    }
  });
  std::vector<int> next(kSenders, 0);
  int got = 0, out_of_order = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (got < kSenders * kPerSender && std::chrono::steady_clock::now() < deadline) {
    for (const auto& text : event_texts(b)) {
      auto at = text.find("\"msg\":\"m");
      if (at == std::string::npos) continue;
      int sender = 0, n = 0;
      ASSERT_EQ(std::sscanf(text.c_str() + at + 8, "%d-%d", &sender, &n), 2) << text;
      ASSERT_TRUE(sender >= 0 && sender < kSenders) << text;
      if (n != next[sender]) ++out_of_order;
      next[sender] = n + 1;
      ++got;
    }
    std::this_thread::yield();
  }
  for (auto& t : threads) t.join();
  done = true;
  churn.join();
  EXPECT_EQ(failed_sends.load(), 0);
  EXPECT_EQ(got, kSenders * kPerSender);
  EXPECT_EQ(out_of_order, 0);
  EXPECT_TRUE(event_texts(b).empty());  // nothing twice
}

TEST_F(NodeTest, IdleSessionExpiresAfterItsIdleTimeout) {
  add_user("alice");
  auto sid = login("alice");
  now_ += 119'000;
  node_->sweep();
  EXPECT_TRUE(node_->sessions().live(sid).ok());  // the call touched it
  now_ += 120'000;
  node_->sweep();
  EXPECT_EQ(node_->sessions().live(sid).error().rc, Rc::InvalidSession);
}

TEST_F(NodeTest, SettingsOutOfRangeAreInvalidParameterAndChangeNothing) {
  auto sid = node_->sessions().create().value();
  SettingsPatch bad;
  bad.max_events = 5;
  bad.queue_limit = 5;  // below 10
  EXPECT_EQ(node_->sessions().update_settings(sid, bad).error().rc, Rc::InvalidParameter);
  auto s = node_->sessions().update_settings(sid, {});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->max_events, 100);
  EXPECT_EQ(s->queue_limit, 1000);
}

TEST_F(NodeTest, GroupTopicNeedsMembershipAndCarriesGroupMessages) {
  Uid alice = add_user("alice"), bob = add_user("bob");
  auto b = login("bob");
  EXPECT_EQ(node_->sessions().subscribe(b, "group:7").error().rc, Rc::PermissionDenied);
  ASSERT_TRUE(node_->directory().add_group_members(7, {alice, bob}).ok());
  ASSERT_TRUE(node_->sessions().subscribe(b, "group:7").ok());
  SendRequest r;
  r.from = alice;
  r.kind = MessageKind::Group;
  r.gid = 7;
  r.msg = "to the group";
  ASSERT_TRUE(send(r).ok());
  EXPECT_TRUE(contains(event_texts(b), "to the group"));
  ASSERT_TRUE(node_->directory().del_group_members(7, {bob}).ok());
  ASSERT_TRUE(send(r).ok());
  EXPECT_TRUE(event_texts(b).empty());
}

TEST_F(NodeTest, NonMemberCannotSendToAGroup) {
  Uid alice = add_user("alice");
  SendRequest r;
  r.from = alice;
  r.kind = MessageKind::Group;
  r.gid = 9;
  r.msg = "x";
  EXPECT_EQ(send(r).error().rc, Rc::PermissionDenied);
}

TEST_F(NodeTest, RoomSubscribeEntersAndUnsubscribeLeaves) {
  Uid alice = add_user("alice"), bob = add_user("bob");
  auto a = login("alice");
  auto b = login("bob");
  ASSERT_TRUE(node_->sessions().subscribe(a, "room:3").ok());
  auto key = node_->sessions().subscribe(b, "room:3");
  ASSERT_TRUE(key.ok());
  auto seen = event_texts(a);
  EXPECT_TRUE(contains(seen, "\"type\":\"room\",\"rid\":3,\"uid\":" + std::to_string(bob) +
                                 ",\"state\":\"entered\""));
  EXPECT_EQ(node_->directory().room_members(3)->size(), 2u);
  ASSERT_TRUE(node_->sessions().unsubscribe(b, *key).ok());
  EXPECT_TRUE(contains(event_texts(a), "\"state\":\"left\""));
  EXPECT_EQ(*node_->directory().room_members(3), std::vector<Uid>{alice});
}

TEST_F(NodeTest, PresenceSubscribersSeeOnlineAndOfflineUnlessPresenceIsOff) {
  Uid bob = add_user("bob");
  add_user("watcher");
  auto w = login("watcher");
  ASSERT_TRUE(node_->sessions().subscribe(w, "presence:" + std::to_string(bob)).ok());
  auto b = login("bob");
  EXPECT_TRUE(contains(event_texts(w), "\"state\":\"online\""));
  ASSERT_TRUE(node_->sessions().destroy(b).ok());
  EXPECT_TRUE(contains(event_texts(w), "\"state\":\"offline\""));
  SettingsPatch off;
  off.presence = false;
  ASSERT_TRUE(node_->sessions().update_settings(w, off).ok());
  login("bob");
  EXPECT_TRUE(event_texts(w).empty());
}

TEST_F(NodeTest, RetriedSendWithTheSameMidIsStoredAndDeliveredOnceUnderTheFirstServerMid) {
  Uid alice = add_user("alice"), bob = add_user("bob");
  auto b = login("bob");
  auto r = p2p(alice, bob, "once");
  r.mid = 12345;  // the sender's retry key
  auto first = send(r);
  now_ += 5000;
  auto second = send(r);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(first->mid, 12345u);  // the message's own mid comes from the generator
  EXPECT_EQ(second->mid, first->mid);
  EXPECT_EQ(second->mtime, first->mtime);
  EXPECT_EQ(event_texts(b).size(), 1u);
}

TEST_F(NodeTest, MtypeRulesAndSizeLimitsAreChecked) {
  Uid alice = add_user("alice"), bob = add_user("bob");
  for (int bad : {-1, 40, 45, 50, 256}) {
    auto r = p2p(alice, bob, "x");
    r.mtype = bad;
    EXPECT_EQ(send(r).error().rc, Rc::InvalidParameter) << bad;
  }
  for (int good : {0, 30, 39, 51, 255}) {
    auto r = p2p(alice, bob, "x");
    r.mtype = good;
    EXPECT_TRUE(send(r).ok()) << good;
  }
  EXPECT_EQ(send(p2p(alice, bob, std::string(64 * 1024 + 1, 'x'))).error().rc, Rc::PayloadTooLarge);
  auto r = p2p(alice, bob, "x");
  r.attrs = std::string(4 * 1024 + 1, 'a');
  EXPECT_EQ(send(r).error().rc, Rc::PayloadTooLarge);
  EXPECT_EQ(send(p2p(alice, 999, "x")).error().rc, Rc::NotFound);
}

TEST_F(NodeTest, FailedLoginsBecomeRateLimitedEvenWithTheRightPassword) {
  add_user("alice");
  auto sid = node_->sessions().create().value();
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(node_->sessions().authorize(sid, {"alice", "bad", ""}, LoginMode::Multi).error().rc,
              Rc::AuthorizeFailed);
  EXPECT_EQ(
      node_->sessions().authorize(sid, {"alice", "pw-alice", ""}, LoginMode::Multi).error().rc,
      Rc::RateLimited);
  now_ += 61'000;
  EXPECT_TRUE(node_->sessions().authorize(sid, {"alice", "pw-alice", ""}, LoginMode::Multi).ok());
}

TEST_F(NodeTest, ParallelWrongPasswordsGetNoMoreTriesThanTheLimit) {
  add_user("alice");
  std::atomic<int> failed{0}, limited{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        auto sid = node_->sessions().create().value();
        auto r = node_->sessions().authorize(sid, {"alice", "guess", ""}, LoginMode::Multi);
        if (r.ok())
          other.fetch_add(1);
        else if (r.error().rc == Rc::AuthorizeFailed)
          failed.fetch_add(1);
        else if (r.error().rc == Rc::RateLimited)
          limited.fetch_add(1);
        else
          other.fetch_add(1);
      }
    });
  for (auto& th : threads) th.join();
  // Each attempt is counted before its argon2 check, so no more than the limit (10) get one.
  EXPECT_EQ(failed.load(), 10);
  EXPECT_EQ(limited.load(), 30);
  EXPECT_EQ(other.load(), 0);
}

TEST_F(NodeTest, RightPasswordClearsTheFailedCount) {
  add_user("alice");
  auto sid = node_->sessions().create().value();
  for (int i = 0; i < 9; ++i)
    EXPECT_EQ(node_->sessions().authorize(sid, {"alice", "bad", ""}, LoginMode::Multi).error().rc,
              Rc::AuthorizeFailed);
  EXPECT_TRUE(node_->sessions().authorize(sid, {"alice", "pw-alice", ""}, LoginMode::Multi).ok());
  auto next = node_->sessions().create().value();
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(node_->sessions().authorize(next, {"alice", "bad", ""}, LoginMode::Multi).error().rc,
              Rc::AuthorizeFailed);
}

TEST_F(NodeTest, SettingsPatchesFromTwoThreadsNeverUndoEachOther) {
  auto sid = node_->sessions().create().value();
  constexpr int kRounds = 3000;
  std::atomic<bool> go{false};
  auto patcher = [&](bool events) {
    while (!go.load()) std::this_thread::yield();
    for (int i = 1; i <= kRounds; ++i) {
      SettingsPatch p;
      if (events)
        p.max_events = 1 + i % 1000;
      else
        p.queue_limit = 10 + i;
      ASSERT_TRUE(node_->sessions().update_settings(sid, p).ok());
    }
  };
  std::thread a(patcher, true), b(patcher, false);
  go = true;
  a.join();
  b.join();
  auto s = node_->sessions().update_settings(sid, {});
  ASSERT_TRUE(s.ok());
  // Each field holds the last value its own writer gave, whatever the interleaving.
  EXPECT_EQ(s->max_events, 1 + kRounds % 1000);
  EXPECT_EQ(s->queue_limit, 10 + kRounds);
}

TEST_F(NodeTest, SessionsPerUserAreLimitedAndMoreIsRateLimited) {
  start([](NodeConfig& c) { c.max_sessions_per_user = 2; });
  Uid alice = add_user("alice");
  auto a1 = login("alice");
  login("alice");
  auto sid = node_->sessions().create().value();
  auto third = node_->sessions().authorize(sid, {"alice", "pw-alice", ""}, LoginMode::Multi);
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().rc, Rc::RateLimited);
  EXPECT_EQ(node_->sessions().authorized_uid(sid).error().rc, Rc::NotAuthorized);  // nothing bound
  // Kill replaces the sessions instead of adding one: allowed at the limit.
  auto k = node_->sessions().authorize(sid, {"alice", "pw-alice", ""}, LoginMode::Kill);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(node_->sessions().authorized_uid(a1).error().rc, Rc::InvalidSession);
  // Below the limit again: multi binds.
  EXPECT_TRUE(node_->sessions()
                  .authorize(node_->sessions().create().value(), {"alice", "pw-alice", ""},
                             LoginMode::Multi)
                  .ok());
  EXPECT_EQ(node_->sessions().online({alice}), std::vector<Uid>{alice});
}

TEST_F(NodeTest, SubscriptionsPerSessionAreLimitedAndMoreIsRateLimited) {
  start([](NodeConfig& c) { c.max_subscriptions_per_session = 2; });
  add_user("alice");
  auto a = login("alice");
  auto k1 = node_->sessions().subscribe(a, "channel:one");
  ASSERT_TRUE(k1.ok());
  ASSERT_TRUE(node_->sessions().subscribe(a, "presence:5").ok());
  EXPECT_EQ(node_->sessions().subscribe(a, "channel:three").error().rc, Rc::RateLimited);
  EXPECT_EQ(node_->sessions().subscribe(a, "room:4").error().rc, Rc::RateLimited);
  EXPECT_TRUE(node_->directory().room_members(4)->empty());  // refused before entering the room
  // Subscribing again to a topic it has is no new subscription: the same key.
  EXPECT_EQ(*node_->sessions().subscribe(a, "channel:one"), *k1);
  ASSERT_TRUE(node_->sessions().unsubscribe(a, *k1).ok());
  EXPECT_TRUE(node_->sessions().subscribe(a, "channel:three").ok());
}

TEST_F(NodeTest, KickoutEndsEverySessionWithAKickedEvent) {
  Uid alice = add_user("alice");
  auto a1 = login("alice");
  auto a2 = login("alice");
  auto n = node_->sessions().kickout(alice);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2);
  EXPECT_TRUE(contains(event_texts(a1), "\"state\":\"kicked\""));
  EXPECT_EQ(node_->sessions().authorized_uid(a2).error().rc, Rc::InvalidSession);
  EXPECT_TRUE(node_->sessions().online({alice}).empty());
}

TEST_F(NodeTest, BroadcastReachesEveryOnlineUser) {
  add_user("alice");
  add_user("bob");
  auto a = login("alice");
  auto b = login("bob");
  SendRequest r;
  r.as_server = true;
  r.kind = MessageKind::Broadcast;
  r.msg = "everyone";
  ASSERT_TRUE(send(r).ok());
  EXPECT_TRUE(contains(event_texts(a), "everyone"));
  EXPECT_TRUE(contains(event_texts(b), "everyone"));
}

TEST_F(NodeTest, HistoryIsNewestFirstAndGroupHistoryNeedsMembership) {
  Uid alice = add_user("alice"), bob = add_user("bob");
  for (int i = 0; i < 3; ++i) {
    now_ += 1;
    ASSERT_TRUE(send(p2p(alice, bob, "m" + std::to_string(i))).ok());
  }
  HistoryQuery q;
  q.uid = bob;
  q.with = alice;
  auto h = node_->messages().history(q, bob);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 3u);
  EXPECT_EQ((*h)[0].msg, "m2");
  HistoryQuery g;
  g.scope = HistoryQuery::Scope::Group;
  g.gid = 5;
  EXPECT_EQ(node_->messages().history(g, alice).error().rc, Rc::PermissionDenied);
}

}  // namespace

// --- channels and server events (API.md sections 7 and 8) --------------------------------

namespace {

std::vector<std::string> server_event_texts(Node& node, std::optional<std::uint64_t> after) {
  std::vector<std::string> out;
  for (auto& e : node.server_events().take(after).events) out.push_back(*e.body);
  return out;
}

std::vector<std::string> texts(const std::vector<ChannelMessage>& messages) {
  std::vector<std::string> out;
  for (const auto& m : messages) out.push_back(m.text);
  return out;
}

std::vector<std::string> poll_now(Node& node, const std::string& token) {
  std::uint64_t ticket = 0;
  auto polled = node.channels().poll(token, nullptr, ticket);
  EXPECT_TRUE(polled.ok()) << (polled.ok() ? "" : polled.error().msg);
  return polled.ok() ? texts(*polled->messages) : std::vector<std::string>{};
}

// channel.send, waited for: its answer comes once the store has the message.
Status send_to_channel(Node& node, const std::string& client_id, std::string message) {
  std::promise<Status> sent;
  node.channels().send(client_id, std::move(message), [&](Status s) { sent.set_value(s); });
  return sent.get_future().get();
}

}  // namespace

TEST_F(NodeTest, ChannelTokenCarriesTheClientIdAndMessagesWaitForThePoll) {
  auto token = node_->channels().create("client-1", 120 * 60);
  ASSERT_TRUE(token.ok());
  auto checked = node_->channels().check_token(*token);
  ASSERT_TRUE(checked.ok());
  EXPECT_EQ(checked->client_id, "client-1");
  EXPECT_EQ(checked->expires_ms, now_ + 120 * 60 * 1000);
  ASSERT_TRUE(send_to_channel(*node_, "client-1", "a").ok());
  ASSERT_TRUE(send_to_channel(*node_, "client-1", "b").ok());
  EXPECT_EQ(node_->channels().info("client-1")->pending, 2u);
  EXPECT_EQ(poll_now(*node_, *token), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(node_->channels().info("client-1")->connected);
}

TEST_F(NodeTest, ChannelTokenExpiredIsTokenExpiredAndTamperedIsInvalidToken) {
  auto token = node_->channels().create("c", 10);
  ASSERT_TRUE(token.ok());
  std::string tampered = *token;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  std::uint64_t ticket = 0;
  EXPECT_EQ(node_->channels().poll(tampered, nullptr, ticket).error().rc, Rc::InvalidToken);
  EXPECT_EQ(node_->channels().poll("", nullptr, ticket).error().rc, Rc::InvalidToken);
  EXPECT_EQ(node_->channels().poll("not.a.jwt", nullptr, ticket).error().rc, Rc::InvalidToken);
  now_ += 10'000;
  EXPECT_EQ(node_->channels().poll(*token, nullptr, ticket).error().rc, Rc::TokenExpired);
  EXPECT_EQ(node_->channels().attach(*token).error().rc, Rc::TokenExpired);
}

TEST_F(NodeTest, AUserTokenIsNotAChannelTokenNorTheOtherWayRound) {
  Uid alice = add_user("alice");
  auto user_token = node_->directory().user_token(alice, 60);
  ASSERT_TRUE(user_token.ok());
  EXPECT_EQ(node_->channels().check_token(*user_token).error().rc, Rc::InvalidToken);
  auto channel_token = node_->channels().create(std::to_string(alice), 60);
  auto sid = node_->sessions().create().value();
  EXPECT_EQ(node_->sessions().authorize(sid, {"", "", *channel_token}, LoginMode::Multi).error().rc,
            Rc::InvalidToken);
}

TEST_F(NodeTest, AChannelExtendedByAnApplicationsOwnTokenIsStoredWithItsLaterExpiry) {
  auto secret = store_->get_or_init_meta("token_secret", "unused");
  ASSERT_TRUE(secret.ok());
  auto mint = [&](std::int64_t exp_s) {
    boost::json::object claims;
    claims["typ"] = "channel";
    claims["sub"] = "minted";
    claims["exp"] = exp_s;
    return jwt_sign(claims, *secret);
  };
  auto stored_expiry = [&] {
    auto channels = store_->load_channels(now_, 10);
    EXPECT_TRUE(channels.ok());
    for (const auto& c : *channels)
      if (c.client_id == "minted") return c.expires_ms;
    return std::int64_t{0};
  };
  const std::int64_t first = now_ / 1000 + 60, later = now_ / 1000 + 3600;
  poll_now(*node_, mint(first));  // opens and connects it
  node_->checkpoint();
  EXPECT_EQ(stored_expiry(), first * 1000);
  // Already connected: no presence change, only the longer token.
  poll_now(*node_, mint(later));
  node_->checkpoint();
  EXPECT_EQ(stored_expiry(), later * 1000) << "a restart after the first expiry keeps it";
}

TEST_F(NodeTest, AnApplicationCanMintAChannelTokenWithTheSharedSecret) {
  auto secret = store_->get_or_init_meta("token_secret", "unused");
  ASSERT_TRUE(secret.ok());
  boost::json::object claims;
  claims["typ"] = "channel";
  claims["sub"] = "self-made";
  claims["exp"] = now_ / 1000 + 60;
  auto token = jwt_sign(claims, *secret);
  EXPECT_TRUE(poll_now(*node_, token).empty());
  // The poll opened the channel: the server may now send to it.
  ASSERT_TRUE(send_to_channel(*node_, "self-made", "hi").ok());
  EXPECT_EQ(poll_now(*node_, token), std::vector<std::string>{"hi"});
  EXPECT_EQ(node_->channels().check_token(jwt_sign(claims, "another secret")).error().rc,
            Rc::InvalidToken);
}

TEST_F(NodeTest, ChannelArgumentsOutOfRangeAreRejected) {
  EXPECT_EQ(node_->channels().create("", 60).error().rc, Rc::InvalidParameter);
  EXPECT_EQ(node_->channels().create(std::string(257, 'x'), 60).error().rc, Rc::InvalidParameter);
  EXPECT_EQ(node_->channels().create("c", 0).error().rc, Rc::InvalidParameter);
  EXPECT_EQ(send_to_channel(*node_, "unknown", "x").error().rc, Rc::NotFound);
  ASSERT_TRUE(node_->channels().create("c", 60).ok());
  EXPECT_EQ(send_to_channel(*node_, "c", std::string(64 * 1024 + 1, 'x')).error().rc,
            Rc::PayloadTooLarge);
}

TEST_F(NodeTest, ChannelConnectsAtTheFirstPollAndDisconnectsAfterTheTimeout) {
  auto token = node_->channels().create("c", 3600);
  poll_now(*node_, *token);
  poll_now(*node_, *token);
  now_ += 15'000;
  node_->sweep();
  auto events = server_event_texts(*node_, std::nullopt);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0], "\"type\":\"channel.connected\",\"client_id\":\"c\",\"time\":" +
                           std::to_string(now_ - 15'000) + "}");
  EXPECT_EQ(events[1], "\"type\":\"channel.disconnected\",\"client_id\":\"c\",\"time\":" +
                           std::to_string(now_) + "}");
  EXPECT_FALSE(node_->channels().info("c")->connected);
}

TEST_F(NodeTest, ChannelWaitingPollIsWokenBySendAndShutdown) {
  auto token = node_->channels().create("c", 3600);
  std::promise<void> woke;
  std::uint64_t ticket = 0;
  auto polled = node_->channels().poll(
      *token, [&] { woke.set_value(); }, ticket);
  ASSERT_TRUE(polled.ok());
  EXPECT_FALSE(polled->messages.has_value());
  EXPECT_EQ(node_->stats().channels.waiting, 1u);
  std::thread sender([&] { ASSERT_TRUE(send_to_channel(*node_, "c", "now").ok()); });
  EXPECT_EQ(woke.get_future().wait_for(std::chrono::seconds(2)), std::future_status::ready);
  sender.join();
  node_->channels().cancel_wait("c", ticket);
  EXPECT_EQ(texts(node_->channels().take("c")), std::vector<std::string>{"now"});

  int woken = 0;
  ASSERT_FALSE(node_->channels()
                   .poll(
                       *token, [&] { ++woken; }, ticket)
                   ->messages);
  node_->shutdown();
  EXPECT_EQ(woken, 1);
  EXPECT_TRUE(node_->channels()
                  .poll(
                      *token, [] {}, ticket)
                  ->messages.has_value());
}

TEST_F(NodeTest, UserOnlineAndOfflineAreServerEvents) {
  Uid alice = add_user("alice");
  auto s1 = login("alice");
  auto s2 = login("alice");  // a second session: the user is already online
  ASSERT_TRUE(node_->sessions().destroy(s1).ok());
  ASSERT_TRUE(node_->sessions().destroy(s2).ok());
  std::string u = std::to_string(alice), t = std::to_string(now_);
  EXPECT_EQ(server_event_texts(*node_, std::nullopt),
            (std::vector<std::string>{
                "\"type\":\"user.online\",\"uid\":" + u + ",\"time\":" + t + "}",
                "\"type\":\"user.offline\",\"uid\":" + u + ",\"time\":" + t + "}"}));
  EXPECT_TRUE(server_event_texts(*node_, std::nullopt).empty());  // the cursor moved
  EXPECT_EQ(server_event_texts(*node_, 0).size(), 2u);            // after: again
}

TEST_F(NodeTest, ServerEventRingIsBoundedByItsLimit) {
  start([](NodeConfig& c) { c.server_events_limit = 3; });
  for (int i = 0; i < 5; ++i) {
    auto token = node_->channels().create("c" + std::to_string(i), 60);
    poll_now(*node_, *token);
  }
  EXPECT_EQ(node_->stats().server_events_kept, 3u);
  auto batch = node_->server_events().take(std::nullopt);
  ASSERT_EQ(batch.events.size(), 4u);  // a gap, then the 3 kept
  EXPECT_EQ(*batch.events[0].body, "\"type\":\"gap\",\"dropped\":2}");
  EXPECT_EQ(batch.last, 5u);
}

}  // namespace rtm

namespace rtm {
namespace {

TEST_F(NodeTest, AnUploadTokenWorksOnceAndNotAfterTenMinutes) {
  Uid a = add_user("ft-a"), b = add_user("ft-b");
  auto once = node_->files().token(p2p(a, b, ""));
  ASSERT_TRUE(once.ok()) << once.error().msg;
  auto grant = node_->files().take_upload(*once);
  ASSERT_TRUE(grant.ok());
  EXPECT_EQ(grant->request.from, a);
  EXPECT_EQ(grant->request.to, b);
  auto again = node_->files().take_upload(*once);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().rc, Rc::InvalidToken);

  auto late = node_->files().token(p2p(a, b, ""));
  ASSERT_TRUE(late.ok());
  now_ += 10 * 60'000;
  auto expired = node_->files().take_upload(*late);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().rc, Rc::TokenExpired);
}

// A broker that takes every publication and delivers none; the tests below override what
// they probe.
class SilentBroker : public Broker {
 public:
  const std::string& node_id() const override { return id_; }
  void set_handler(Handler) override {}
  void set_control_handler(ControlHandler) override {}
  void subscribe(const Target&) override {}
  void unsubscribe(const Target&) override {}
  void publish(Publication, Done done) override {
    if (done) done(ok_status());
  }
  void publish_control(ControlMessage, Done done) override {
    if (done) done(ok_status());
  }
  void close() override {}

 private:
  std::string id_ = "silent";
};

// Runs out of memory on every publish: live delivery fails after the store took the message.
class OutOfMemoryBroker final : public SilentBroker {
 public:
  void publish(Publication, Done) override { throw std::bad_alloc(); }
};

// Refuses every publication, as a broker that cannot be reached does.
class UnreachableBroker final : public SilentBroker {
 public:
  void publish(Publication, Done done) override {
    if (done) done(make_error(Rc::Unavailable, "the broker cannot be reached"));
  }
};

// A local broker that also records the interest the node tells it.
class InterestRecordingBroker final : public Broker {
 public:
  const std::string& node_id() const override { return local_.node_id(); }
  void set_handler(Handler h) override { local_.set_handler(std::move(h)); }
  void set_control_handler(ControlHandler h) override { local_.set_control_handler(std::move(h)); }
  void subscribe(const Target& t) override { record("+" + t.text()); }
  void unsubscribe(const Target& t) override { record("-" + t.text()); }
  void publish(Publication p, Done done) override { local_.publish(std::move(p), std::move(done)); }
  void publish_control(ControlMessage m, Done done) override {
    local_.publish_control(std::move(m), std::move(done));
  }
  void close() override { local_.close(); }
  std::vector<std::string> interest() {
    std::lock_guard lock(mu_);
    return interest_;
  }

 private:
  void record(std::string change) {
    std::lock_guard lock(mu_);
    interest_.push_back(std::move(change));
  }
  LocalBroker local_;
  std::mutex mu_;
  std::vector<std::string> interest_;
};

// A started node on a real SQLite file in a temporary directory, over the broker a test
// gives, with users alice and bob.
class NodeOverBroker {
 public:
  explicit NodeOverBroker(Broker& broker) {
    char tmpl[] = "/tmp/rtm-node-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    store_ = std::move(open_sqlite_store(dir_ + "/rtm.db").value());
    config_.password_policy = PasswordPolicy{1, 8 * 1024};
    live_ = std::make_unique<LocalLive>(config_);
    node_ = std::make_unique<Node>(*store_, broker, live_->state(), config_);
    EXPECT_TRUE(node_->start().ok());
    alice = node_->directory().add_user("alice", "pw-alice", 0).value();
    bob = node_->directory().add_user("bob", "pw-bob", 0).value();
  }
  ~NodeOverBroker() {
    node_.reset();
    store_->close();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  Node& node() { return *node_; }
  // A p2p send from alice to bob, waited for (at most 30 s: a send never answered fails).
  Result<SendAck> send_to_bob(const std::string& text) {
    SendRequest r;
    r.from = alice;
    r.to = bob;
    r.msg = text;
    auto answered = std::make_shared<std::promise<Result<SendAck>>>();
    auto future = answered->get_future();
    node_->messages().send(r, [answered](Result<SendAck> a) { answered->set_value(std::move(a)); });
    if (future.wait_for(std::chrono::seconds(30)) != std::future_status::ready)
      return make_error(Rc::Internal, "the send was never answered");
    return future.get();
  }
  // What bob's history with alice holds.
  std::vector<Message> bobs_history() {
    HistoryQuery q;
    q.uid = bob;
    q.with = alice;
    return node_->messages().history(q, bob).value();
  }

  Uid alice = 0, bob = 0;

 private:
  std::string dir_;
  NodeConfig config_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<LocalLive> live_;
  std::unique_ptr<Node> node_;
};

TEST(NodeInterest, TheNodeWantsAUserWhileItHoldsTheirSessionAndATopicWhileOneIsSubscribed) {
  InterestRecordingBroker broker;
  NodeOverBroker n(broker);
  Node& node = n.node();
  ASSERT_TRUE(node.directory().add_group_members(5, {n.alice}).ok());
  auto login = [&] {
    auto sid = node.sessions().create().value();
    return node.sessions().authorize(sid, {"alice", "pw-alice", ""}, LoginMode::Multi)->session;
  };
  std::string s1 = login(), s2 = login();
  auto k1 = node.sessions().subscribe(s1, "group:5");
  auto k2 = node.sessions().subscribe(s2, "group:5");
  ASSERT_TRUE(k1.ok() && k2.ok());
  std::string u = "u:" + std::to_string(n.alice);
  // Once for the first session or subscriber, once for the last to go.
  EXPECT_EQ(broker.interest(), (std::vector<std::string>{"+all", "+" + u, "+t:group:5"}));
  ASSERT_TRUE(node.sessions().unsubscribe(s1, *k1).ok());
  ASSERT_TRUE(node.sessions().destroy(s1).ok());
  EXPECT_EQ(broker.interest().size(), 3u);
  ASSERT_TRUE(node.sessions().destroy(s2).ok());
  EXPECT_EQ(broker.interest(),
            (std::vector<std::string>{"+all", "+" + u, "+t:group:5", "-" + u, "-t:group:5"}));
}

TEST(NodeDeliveryFailure, ASendTheBrokerRefusesIsStoredAnsweredAndCounted) {
  UnreachableBroker broker;
  NodeOverBroker n(broker);
  auto ack = n.send_to_bob("stored, not delivered");
  ASSERT_TRUE(ack.ok()) << ack.error().msg;
  EXPECT_EQ(n.node().stats().broker_publish_failures, 1u);
  auto h = n.bobs_history();
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].mid, ack->mid);
}

TEST(NodeDeliveryFailure, ASendWhoseDeliveryThrowsIsStillAnsweredWithItsMid) {
  OutOfMemoryBroker broker;
  NodeOverBroker n(broker);
  auto ack = n.send_to_bob("stored, not delivered");
  ASSERT_TRUE(ack.ok()) << ack.error().msg;
  auto h = n.bobs_history();
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].mid, ack->mid);
}

}  // namespace
}  // namespace rtm

// --- limits on what a flood can make the node hold (docs/semantics.md "Limits") ---------

namespace rtm {
namespace {

std::uint64_t refusals(const Node& e, RateLimitKind kind) {
  return e.stats().rate_limited[static_cast<std::size_t>(kind)];
}

TEST_F(NodeTest, UnauthorizedSessionsArePerAddressCappedAndOtherAddressesStillGetSessions) {
  start([](NodeConfig& c) { c.max_unauthorized_sessions_per_address = 3; });
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(node_->sessions().create("10.0.0.1").ok());
  auto refused = node_->sessions().create("10.0.0.1");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().rc, Rc::RateLimited);
  EXPECT_NE(refused.error().msg.find("max_unauthorized_sessions_per_address"), std::string::npos);
  // Every place is free once the sessions holding it have expired (30 s) and been swept.
  EXPECT_EQ(refused.error().retry_after_s, 31);
  EXPECT_EQ(refusals(*node_, RateLimitKind::UnauthorizedPerAddress), 1u);
  EXPECT_TRUE(node_->sessions().create("10.0.0.2").ok());
  EXPECT_EQ(node_->stats().unauthorized_sessions, 4u);
}

TEST_F(NodeTest, AuthorizingOrDestroyingAnUnauthorizedSessionGivesItsPlaceBack) {
  start([](NodeConfig& c) { c.max_unauthorized_sessions_per_address = 2; });
  add_user("alice");
  auto a = node_->sessions().create("10.0.0.1").value();
  auto b = node_->sessions().create("10.0.0.1").value();
  ASSERT_FALSE(node_->sessions().create("10.0.0.1").ok());
  ASSERT_TRUE(node_->sessions().authorize(a, {"alice", "pw-alice", ""}, LoginMode::Multi).ok());
  EXPECT_EQ(node_->stats().unauthorized_sessions, 1u);
  auto c = node_->sessions().create("10.0.0.1");
  ASSERT_TRUE(c.ok());
  ASSERT_FALSE(node_->sessions().create("10.0.0.1").ok());
  ASSERT_TRUE(node_->sessions().destroy(b).ok());
  EXPECT_TRUE(node_->sessions().create("10.0.0.1").ok());
  // Ending the authorized one gives back nothing: it holds no place any more.
  ASSERT_TRUE(node_->sessions().destroy(a).ok());
  EXPECT_EQ(node_->stats().unauthorized_sessions, 2u);
  EXPECT_FALSE(node_->sessions().create("10.0.0.1").ok());
}

TEST_F(NodeTest, ModeAuthAndARefusedLoginLeaveTheSessionCountedUnauthorized) {
  start([](NodeConfig& c) { c.max_sessions_per_user = 1; });
  add_user("alice");
  login("alice");
  auto checked = node_->sessions().create("10.0.0.1").value();
  ASSERT_TRUE(
      node_->sessions().authorize(checked, {"alice", "pw-alice", ""}, LoginMode::Auth).ok());
  auto refused = node_->sessions().create("10.0.0.1").value();
  ASSERT_EQ(
      node_->sessions().authorize(refused, {"alice", "pw-alice", ""}, LoginMode::Multi).error().rc,
      Rc::RateLimited);
  EXPECT_EQ(node_->stats().unauthorized_sessions, 2u);
  EXPECT_EQ(refusals(*node_, RateLimitKind::SessionsPerUser), 1u);
}

TEST_F(NodeTest, PossessGivesBackThePlaceOfTheSessionItDrops) {
  add_user("alice");
  login("alice");
  auto fresh = node_->sessions().create("10.0.0.1").value();
  ASSERT_TRUE(
      node_->sessions().authorize(fresh, {"alice", "pw-alice", ""}, LoginMode::Possess).ok());
  EXPECT_EQ(node_->stats().unauthorized_sessions, 0u);
}

TEST_F(NodeTest, UnauthorizedSessionsAreCappedInAllAcrossAddresses) {
  start([](NodeConfig& c) { c.max_unauthorized_sessions = 3; });
  ASSERT_TRUE(node_->sessions().create("10.0.0.1").ok());
  ASSERT_TRUE(node_->sessions().create("10.0.0.2").ok());
  ASSERT_TRUE(node_->sessions().create("").ok());
  auto refused = node_->sessions().create("10.0.0.3");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().rc, Rc::RateLimited);
  EXPECT_NE(refused.error().msg.find("max_unauthorized_sessions)"), std::string::npos);
  EXPECT_EQ(refusals(*node_, RateLimitKind::UnauthorizedTotal), 1u);
}

TEST_F(NodeTest, AnUnauthorizedSessionExpiresItsTtlAfterCreationHoweverBusy) {
  start([](NodeConfig& c) { c.unauthorized_session_ttl_ms = 5'000; });
  add_user("alice");
  auto idle = node_->sessions().create("10.0.0.1").value();
  auto busy = node_->sessions().create("10.0.0.1").value();
  auto authorized = login("alice");
  now_ += 4'999;
  ASSERT_TRUE(node_->sessions().subscribe(busy, "channel:x").ok());  // a call: no extra life
  node_->sweep();
  EXPECT_TRUE(node_->sessions().live(idle).ok());
  now_ += 1;
  node_->sweep();
  EXPECT_EQ(node_->sessions().live(idle).error().rc, Rc::InvalidSession);
  EXPECT_EQ(node_->sessions().live(busy).error().rc, Rc::InvalidSession);
  EXPECT_EQ(node_->sessions().take_events(busy, std::nullopt).error().rc, Rc::InvalidSession);
  EXPECT_TRUE(node_->sessions().live(authorized).ok());  // an authorized one is not held by it
  EXPECT_EQ(node_->stats().unauthorized_sessions, 0u);
  EXPECT_EQ(node_->stats().sessions, 1u);  // nothing left behind in the registry
}

TEST_F(NodeTest, AWaitingPollOnAnUnauthorizedSessionGetsExpiredAtItsTtl) {
  start([](NodeConfig& c) { c.unauthorized_session_ttl_ms = 5'000; });
  auto sid = node_->sessions().create("10.0.0.1").value();
  std::atomic<bool> woken{false};
  std::uint64_t ticket = 0;
  auto waiting = node_->sessions().take_or_wait(
      sid, std::nullopt, [&] { woken = true; }, ticket);
  ASSERT_TRUE(waiting.ok());
  ASSERT_FALSE(waiting->has_value());
  now_ += 5'000;
  node_->sweep();
  EXPECT_TRUE(woken.load());
  EXPECT_EQ(event_texts(sid),
            std::vector<std::string>{"\"type\":\"session\",\"state\":\"expired\"}"});
  EXPECT_EQ(node_->sessions().take_events(sid, std::nullopt).error().rc, Rc::InvalidSession);
}

TEST_F(NodeTest, SessionCreateRateIsPerAddressAndSaysWhenToComeBack) {
  start([](NodeConfig& c) { c.rate_session_create = parse_rate_limit("2/s", "x").value(); });
  ASSERT_TRUE(node_->sessions().create("10.0.0.1").ok());
  ASSERT_TRUE(node_->sessions().create("10.0.0.1").ok());
  auto refused = node_->sessions().create("10.0.0.1");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().rc, Rc::RateLimited);
  EXPECT_NE(refused.error().msg.find("rate_session_create"), std::string::npos);
  EXPECT_EQ(refused.error().retry_after_s, 1);
  EXPECT_TRUE(node_->sessions().create("10.0.0.2").ok());
  EXPECT_TRUE(node_->sessions().create("").ok());  // no address: not held per address
  now_ += 500;
  EXPECT_TRUE(node_->sessions().create("10.0.0.1").ok());
  EXPECT_EQ(refusals(*node_, RateLimitKind::SessionCreate), 1u);
}

TEST_F(NodeTest, AuthorizeAndChannelPollRatesArePerAddress) {
  start([](NodeConfig& c) {
    c.rate_session_authorize = parse_rate_limit("1/m", "x").value();
    c.rate_channel_poll = parse_rate_limit("2/m", "x").value();
  });
  EXPECT_TRUE(node_->rate_limits().check_address(RateLimitKind::SessionAuthorize, "10.0.0.1").ok());
  auto refused = node_->rate_limits().check_address(RateLimitKind::SessionAuthorize, "10.0.0.1");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().rc, Rc::RateLimited);
  EXPECT_EQ(refused.error().retry_after_s, 60);
  EXPECT_NE(refused.error().msg.find("rate_session_authorize"), std::string::npos);
  EXPECT_TRUE(node_->rate_limits().check_address(RateLimitKind::SessionAuthorize, "10.0.0.2").ok());
  EXPECT_TRUE(node_->rate_limits().check_address(RateLimitKind::ChannelPoll, "10.0.0.1").ok());
  EXPECT_TRUE(node_->rate_limits().check_address(RateLimitKind::ChannelPoll, "10.0.0.1").ok());
  EXPECT_EQ(node_->rate_limits()
                .check_address(RateLimitKind::ChannelPoll, "10.0.0.1")
                .error()
                .retry_after_s,
            30);
  EXPECT_EQ(refusals(*node_, RateLimitKind::SessionAuthorize), 1u);
  EXPECT_EQ(refusals(*node_, RateLimitKind::ChannelPoll), 1u);
}

TEST_F(NodeTest, EveryPerAddressLimitCountsAnIPv6Slash64AsOneClient) {
  start([](NodeConfig& c) {
    c.max_unauthorized_sessions_per_address = 3;
    c.rate_session_create = parse_rate_limit("4/m", "x").value();
    c.rate_session_authorize = parse_rate_limit("1/m", "x").value();
    c.rate_channel_poll = parse_rate_limit("1/m", "x").value();
  });
  std::vector<std::string> made;
  for (int i = 1; i <= 3; ++i)
    made.push_back(node_->sessions().create("2001:db8::" + std::to_string(i)).value());
  auto capped = node_->sessions().create("2001:db8::ffff:4");
  ASSERT_FALSE(capped.ok());
  EXPECT_NE(capped.error().msg.find("max_unauthorized_sessions_per_address"), std::string::npos);
  EXPECT_TRUE(node_->sessions().create("2001:db8:0:1::1").ok());  // another /64
  // The place is given back under the same key it was taken by.
  ASSERT_TRUE(node_->sessions().destroy(made[0]).ok());
  auto rated = node_->sessions().create("2001:db8::5");  // the 5th create of this /64 a minute
  ASSERT_FALSE(rated.ok());
  EXPECT_NE(rated.error().msg.find("rate_session_create"), std::string::npos);
  // IPv4-mapped IPv6 is the IPv4 client.
  ASSERT_TRUE(
      node_->rate_limits().check_address(RateLimitKind::SessionAuthorize, "192.0.2.1").ok());
  EXPECT_FALSE(
      node_->rate_limits().check_address(RateLimitKind::SessionAuthorize, "::ffff:192.0.2.1").ok());
  ASSERT_TRUE(node_->rate_limits().check_address(RateLimitKind::ChannelPoll, "2001:db8::a").ok());
  EXPECT_FALSE(node_->rate_limits().check_address(RateLimitKind::ChannelPoll, "2001:db8::b").ok());
  EXPECT_TRUE(
      node_->rate_limits().check_address(RateLimitKind::ChannelPoll, "2001:db8:0:1::b").ok());
}

TEST_F(NodeTest, TheSendRateHoldsEachUserAndEveryKindOfClientSendButNotTheServer) {
  start([](NodeConfig& c) { c.rate_send = parse_rate_limit("3/m", "x").value(); });
  Uid a = add_user("alice"), b = add_user("bob");
  ASSERT_TRUE(send(p2p(a, b, "1")).ok());
  SendRequest many = p2p(a, 0, "2");
  many.kind = MessageKind::Multi;
  many.to_uids = {b};
  ASSERT_TRUE(send(many).ok());
  ASSERT_TRUE(node_->files().token(p2p(a, b, "")).ok());  // a file counts when its token is made
  auto refused = send(p2p(a, b, "4"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().rc, Rc::RateLimited);
  EXPECT_NE(refused.error().msg.find("rate_send"), std::string::npos);
  EXPECT_EQ(refused.error().retry_after_s, 20);
  EXPECT_EQ(node_->files().token(p2p(a, b, "")).error().rc, Rc::RateLimited);
  EXPECT_TRUE(send(p2p(b, a, "bob is another user")).ok());
  SendRequest server = p2p(a, b, "the server is trusted");
  server.as_server = true;
  EXPECT_TRUE(send(server).ok());
  now_ += 20'000;
  EXPECT_TRUE(send(p2p(a, b, "5")).ok());
  EXPECT_EQ(refusals(*node_, RateLimitKind::Send), 2u);
}

TEST_F(NodeTest, AnUploadIsNotCountedAgainWhenItsFileIsSent) {
  start([](NodeConfig& c) { c.rate_send = parse_rate_limit("1/h", "x").value(); });
  Uid a = add_user("alice"), b = add_user("bob");
  auto token = node_->files().token(p2p(a, b, ""));
  ASSERT_TRUE(token.ok());
  auto grant = node_->files().take_upload(*token);
  ASSERT_TRUE(grant.ok());
  auto sent = send_file(*grant, "f1");
  EXPECT_TRUE(sent.ok()) << (sent.ok() ? "" : sent.error().msg);
}

// The one access rule (core/node/access_policy.hpp): a room member the backend added while
// banned is still held by the ban as a client, for sends, history and file links alike
// (history and file links of rooms used to skip the ban).
TEST_F(NodeTest, ARoomMemberBannedFromTheRoomMayNotSendReadItsHistoryOrGetItsFileLinks) {
  Uid alice = add_user("alice"), bob = add_user("bob");
  const Rid rid = 7;
  ASSERT_TRUE(node_->directory().add_room_member(rid, bob).ok());
  SendRequest file_to_room;
  file_to_room.from = bob;
  file_to_room.kind = MessageKind::Room;
  file_to_room.rid = rid;
  auto token = node_->files().token(file_to_room);
  ASSERT_TRUE(token.ok()) << token.error().msg;
  auto grant = node_->files().take_upload(*token);
  ASSERT_TRUE(grant.ok());
  ASSERT_TRUE(send_file(*grant, "room-file").ok());

  ASSERT_TRUE(node_->moderation().ban(BanScope::Room, rid, alice, std::nullopt).ok());
  ASSERT_TRUE(node_->directory().add_room_member(rid, alice).ok());  // the server is not held
  HistoryQuery q;
  q.scope = HistoryQuery::Scope::Room;
  q.rid = rid;
  auto read = node_->messages().history(q, alice);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().rc, Rc::PermissionDenied);
  EXPECT_EQ(read.error().msg, "banned from this room");
  EXPECT_EQ(node_->files().url(alice, "room-file").error().rc, Rc::PermissionDenied);
  SendRequest r;
  r.from = alice;
  r.kind = MessageKind::Room;
  r.rid = rid;
  r.msg = "hi";
  EXPECT_EQ(send(r).error().rc, Rc::PermissionDenied);
  // Bob, a member not banned, does all three.
  EXPECT_TRUE(node_->messages().history(q, bob).ok());
  EXPECT_TRUE(node_->files().url(bob, "room-file").ok());
  r.from = bob;
  EXPECT_TRUE(send(r).ok());
  // Lifted: alice reads again.
  ASSERT_TRUE(node_->moderation().unban(BanScope::Room, rid, alice).ok());
  EXPECT_TRUE(node_->messages().history(q, alice).ok());
}

TEST_F(NodeTest, FailedLoginsThatAreRateLimitedSayWhenTheMinuteIsOver) {
  add_user("alice");
  auto sid = node_->sessions().create().value();
  for (int i = 0; i < 10; ++i)
    (void)node_->sessions().authorize(sid, {"alice", "no", ""}, LoginMode::Kill);
  now_ += 45'000;
  auto refused = node_->sessions().authorize(sid, {"alice", "pw-alice", ""}, LoginMode::Kill);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().rc, Rc::RateLimited);
  EXPECT_EQ(refused.error().retry_after_s, 15);
  EXPECT_EQ(refusals(*node_, RateLimitKind::LoginFailures), 1u);
}

// --- restarts: the idle pass (SessionService::checkpoint) ----------------------------------

TEST_F(NodeTest, AMinuteOnTheCheckpointMovesIdleSessionsToTheDeliveredEndOfTheStream) {
  Uid alice = add_user("alice"), bob = add_user("bob"), carol = add_user("carol");
  std::string idle = login("alice");
  std::string reader = login("bob");
  login("carol");
  node_->checkpoint();  // the first pass: nothing delivered yet
  for (const char* m : {"one", "two", "three"}) ASSERT_TRUE(send(p2p(carol, bob, m)).ok());
  auto end = store_->last_position();
  ASSERT_TRUE(end.ok());
  auto stored = [&](const std::string& id) {
    auto records = store_->load_sessions();
    EXPECT_TRUE(records.ok());
    for (const auto& r : *records)
      if (r.id == id) return r;
    ADD_FAILURE() << "no record for " << id;
    return SessionRecord{};
  };
  std::uint64_t before = stored(idle).read_position;
  node_->checkpoint();
  EXPECT_EQ(stored(idle).read_position, before) << "the pass waits its minute";
  now_ += SessionService::kIdlePassMs;
  node_->checkpoint();
  // Delivered through the message before the newest (the newest is done once the next
  // begins): alice's restart reads from there, not from her login.
  EXPECT_EQ(stored(idle).read_position, *end - 1);
  EXPECT_EQ(stored(reader).read_position, *end - 3) << "bob has all three unread";
  (void)alice;
}

}  // namespace
}  // namespace rtm
