// Which thread a call's store work runs on: api::dispatch of every method of method_table(),
// with valid params, on an io_context thread marked as an event loop, over a Node on a real
// SQLite store wrapped by a Store that records every call made on a marked thread. No method
// may reach the store there (docs/architecture.md "Where calls run"): a store call on an
// event loop stalls every connection of that loop (and, on PostgreSQL, costs a round trip).
// Appends are the exception: they hand the message to the store's group-commit writer (a
// queue push) and are answered from its thread, so a send whose checks need only memory
// appends from the loop.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "api/method_table.hpp"
#include "broker/local/local_broker.hpp"
#include "core/local_channel_queues.hpp"
#include "core/local_server_event_log.hpp"
#include "files/blob_store.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace rtm {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

constexpr const char* kApiKey = "test-api-key";

// Set on the threads that stand for event loops.
thread_local bool t_event_loop = false;

// A Store that forwards to a real one and notes each call made on an event-loop thread.
class LoopCheckingStore final : public Store {
 public:
  explicit LoopCheckingStore(Store& inner) : inner_(inner) {}

  // "method: store call" for each store call made on a marked thread.
  std::vector<std::string> calls_on_loop() {
    std::lock_guard lock(mu_);
    return on_loop_;
  }
  void now_running(std::string method) {
    std::lock_guard lock(mu_);
    running_ = std::move(method);
  }

  Result<Uid> add_user(const std::string& login, const std::string& hash, Uid uid) override {
    note("add_user");
    return inner_.add_user(login, hash, uid);
  }
  Result<UserRecord> find_user(Uid uid) override {
    note("find_user");
    return inner_.find_user(uid);
  }
  Result<UserRecord> find_user_by_login(const std::string& login) override {
    note("find_user_by_login");
    return inner_.find_user_by_login(login);
  }
  Status set_password(Uid uid, const std::string& hash) override {
    note("set_password");
    return inner_.set_password(uid, hash);
  }
  Status delete_user(Uid uid) override {
    note("delete_user");
    return inner_.delete_user(uid);
  }
  Status add_group_members(Gid gid, const std::vector<Uid>& uids) override {
    note("add_group_members");
    return inner_.add_group_members(gid, uids);
  }
  Status del_group_members(Gid gid, const std::vector<Uid>& uids) override {
    note("del_group_members");
    return inner_.del_group_members(gid, uids);
  }
  Result<std::vector<Uid>> group_members(Gid gid) override {
    note("group_members");
    return inner_.group_members(gid);
  }
  Result<bool> is_group_member(Gid gid, Uid uid) override {
    note("is_group_member");
    return inner_.is_group_member(gid, uid);
  }
  Status delete_group(Gid gid) override {
    note("delete_group");
    return inner_.delete_group(gid);
  }
  Result<std::vector<Gid>> user_groups(Uid uid) override {
    note("user_groups");
    return inner_.user_groups(uid);
  }
  Status add_room_member(Rid rid, Uid uid) override {
    note("add_room_member");
    return inner_.add_room_member(rid, uid);
  }
  Status del_room_member(Rid rid, Uid uid) override {
    note("del_room_member");
    return inner_.del_room_member(rid, uid);
  }
  Result<std::vector<Uid>> room_members(Rid rid) override {
    note("room_members");
    return inner_.room_members(rid);
  }
  Result<bool> is_room_member(Rid rid, Uid uid) override {
    note("is_room_member");
    return inner_.is_room_member(rid, uid);
  }
  void append_message(Message message, AppendCallback done) override {
    note_append("append_message");
    inner_.append_message(std::move(message), std::move(done));
  }
  void append_file_message(Message message, FileRecord file, AppendCallback done) override {
    note_append("append_file_message");
    inner_.append_file_message(std::move(message), std::move(file), std::move(done));
  }
  Result<std::vector<Message>> history(const HistoryQuery& query) override {
    note("history");
    return inner_.history(query);
  }
  Status put_ban(const Ban& ban) override {
    note("put_ban");
    return inner_.put_ban(ban);
  }
  Status delete_ban(BanScope scope, std::uint64_t target, Uid uid) override {
    note("delete_ban");
    return inner_.delete_ban(scope, target, uid);
  }
  Result<std::vector<Ban>> bans() override {
    note("bans");
    return inner_.bans();
  }
  Result<FileRecord> find_file(const std::string& id) override {
    note("find_file");
    return inner_.find_file(id);
  }
  Result<std::vector<FileRecord>> list_files(std::int64_t before_ms, std::size_t limit) override {
    note("list_files");
    return inner_.list_files(before_ms, limit);
  }
  Result<std::size_t> delete_files_before(std::int64_t before_ms) override {
    note("delete_files_before");
    return inner_.delete_files_before(before_ms);
  }
  Result<std::vector<std::string>> blobs_in_use() override {
    note("blobs_in_use");
    return inner_.blobs_in_use();
  }
  Result<std::uint64_t> outbox_add(const std::string& url, const std::string& body,
                                   std::int64_t now_ms) override {
    note("outbox_add");
    return inner_.outbox_add(url, body, now_ms);
  }
  Result<std::vector<OutboxEntry>> outbox_due(std::int64_t now_ms, std::size_t limit) override {
    note("outbox_due");
    return inner_.outbox_due(now_ms, limit);
  }
  Status outbox_delivered(std::uint64_t id) override {
    note("outbox_delivered");
    return inner_.outbox_delivered(id);
  }
  Status outbox_failed(std::uint64_t id, int attempts, std::int64_t next_at_ms, bool dead,
                       const std::string& error) override {
    note("outbox_failed");
    return inner_.outbox_failed(id, attempts, next_at_ms, dead, error);
  }
  Result<std::vector<OutboxEntry>> outbox_dead(std::size_t limit) override {
    note("outbox_dead");
    return inner_.outbox_dead(limit);
  }
  Result<std::uint64_t> outbox_dead_count() override {
    note("outbox_dead_count");
    return inner_.outbox_dead_count();
  }
  Result<std::string> get_or_init_meta(const std::string& key,
                                       const std::string& initial) override {
    note("get_or_init_meta");
    return inner_.get_or_init_meta(key, initial);
  }
  Status put_upload_grant(const std::string& token, const std::string& grant,
                          std::int64_t expires_ms) override {
    note("put_upload_grant");
    return inner_.put_upload_grant(token, grant, expires_ms);
  }
  Result<std::optional<StoredUploadGrant>> take_upload_grant(const std::string& token) override {
    note("take_upload_grant");
    return inner_.take_upload_grant(token);
  }
  Result<std::size_t> delete_expired_upload_grants(std::int64_t now_ms) override {
    note("delete_expired_upload_grants");
    return inner_.delete_expired_upload_grants(now_ms);
  }
  Status save_server_events(const std::vector<std::pair<std::uint64_t, std::string>>& events,
                            std::uint64_t cursor, std::size_t keep) override {
    note("save_server_events");
    return inner_.save_server_events(events, cursor, keep);
  }
  Result<StoredServerEvents> load_server_events(std::size_t keep) override {
    note("load_server_events");
    return inner_.load_server_events(keep);
  }
  void append_channel_message(const std::string& client_id, std::int64_t expires_ms,
                              std::string text, ChannelAppendCallback done) override {
    note_append("append_channel_message");
    inner_.append_channel_message(client_id, expires_ms, std::move(text), std::move(done));
  }
  Status save_channel(const ChannelRecord& channel) override {
    note("save_channel");
    return inner_.save_channel(channel);
  }
  Status save_channels(const std::vector<ChannelRecord>& channels,
                       const std::vector<ChannelMessageRow>& restored,
                       const std::vector<std::uint64_t>& gone, std::int64_t now_ms) override {
    note("save_channels");
    return inner_.save_channels(channels, restored, gone, now_ms);
  }
  Result<std::vector<ChannelRecord>> load_channels(std::int64_t now_ms,
                                                   std::size_t queue_limit) override {
    note("load_channels");
    return inner_.load_channels(now_ms, queue_limit);
  }
  Status put_meta(const std::string& key, const std::string& value) override {
    note("put_meta");
    return inner_.put_meta(key, value);
  }
  Result<std::vector<StreamedMessage>> messages_after(std::uint64_t position,
                                                      std::size_t limit) override {
    note("messages_after");
    return inner_.messages_after(position, limit);
  }
  Result<std::uint64_t> last_position() override {
    note("last_position");
    return inner_.last_position();
  }
  Status save_session(const SessionRecord& record) override {
    note("save_session");
    return inner_.save_session(record);
  }
  Status save_session_positions(const std::vector<SessionPositions>& positions) override {
    note("save_session_positions");
    return inner_.save_session_positions(positions);
  }
  Status delete_session(const std::string& id) override {
    note("delete_session");
    return inner_.delete_session(id);
  }
  Result<std::vector<SessionRecord>> load_sessions() override {
    note("load_sessions");
    return inner_.load_sessions();
  }
  void close() override { inner_.close(); }

 private:
  // An append on a loop must not wait for its commit: the writer's callback comes on another
  // thread. Noted only as the appends seen on a loop, for the test that pins them.
  void note_append(const char* call) {
    if (!t_event_loop) return;
    std::lock_guard lock(mu_);
    appends_on_loop_.push_back(running_ + ": " + call);
  }
  void note(const char* call) {
    if (!t_event_loop) return;
    std::lock_guard lock(mu_);
    on_loop_.push_back(running_ + ": " + call);
  }

  Store& inner_;
  std::mutex mu_;
  std::string running_;
  std::vector<std::string> on_loop_;
  std::vector<std::string> appends_on_loop_;

 public:
  std::vector<std::string> appends_on_loop() {
    std::lock_guard lock(mu_);
    return appends_on_loop_;
  }
};

class DispatchThreadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/rtm-dispatch-threads-XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto sqlite = open_sqlite_store(dir_ + "/rtm.db");
    ASSERT_TRUE(sqlite.ok()) << sqlite.error().msg;
    sqlite_ = std::move(*sqlite);
    store_ = std::make_unique<LoopCheckingStore>(*sqlite_);
    auto blobs = files::BlobStore::open(dir_ + "/files", 1 << 20);
    ASSERT_TRUE(blobs.ok()) << blobs.error().msg;
    blobs_ = std::move(*blobs);
    NodeConfig config;
    config.password_policy = PasswordPolicy{1, 8 * 1024};  // argon2id at its cheapest
    server_events_ = std::make_unique<LocalServerEventLog>(config.server_events_limit);
    channels_ = std::make_unique<LocalChannelQueues>(
        ChannelOptions{config.channel_queue_limit, config.channel_timeout_ms});
    node_ =
        std::make_unique<Node>(*store_, broker_, LiveState{*server_events_, *channels_}, config);
    ASSERT_TRUE(node_->start().ok());
    services_ = std::make_unique<api::Services>(
        api::Services{*node_, blocking_, metrics_, kApiKey, blobs_.get()});
    loop_ = std::thread([this] {
      t_event_loop = true;
      ioc_.run();
    });
  }
  void TearDown() override {
    work_.reset();
    if (loop_.joinable()) loop_.join();
    blocking_.stop();
    blocking_.join();
    node_.reset();
    if (sqlite_) sqlite_->close();
    sqlite_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Starts one call through api::dispatch on the event-loop thread.
  std::future<api::Reply> start(api::Scope scope, std::string method, std::string body) {
    store_->now_running((scope == api::Scope::Server ? "server " : "client ") + method);
    auto answered = std::make_shared<std::promise<api::Reply>>();
    auto future = answered->get_future();
    // dispatch() keeps views of the name and the body until it answers.
    auto kept =
        std::make_shared<std::pair<std::string, std::string>>(std::move(method), std::move(body));
    asio::co_spawn(ioc_, api::dispatch(*services_, scope, kept->first, kept->second, caller_),
                   [answered, kept](std::exception_ptr e, api::Reply r) {
                     if (e) r = api::Reply::error(Rc::Internal, "dispatch threw");
                     answered->set_value(std::move(r));
                   });
    return future;
  }
  // Runs one call and answers its Reply.
  api::Reply call(api::Scope scope, const std::string& method, const std::string& body) {
    auto future = start(scope, method, body);
    if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      ADD_FAILURE() << method << " did not answer within 10 s";
      std::abort();  // the call's frame still refers to the fixture
    }
    return future.get();
  }

  std::string login(const std::string& name) {
    auto sid = node_->sessions().create("127.0.0.1").value();
    auto r =
        node_->sessions().authorize(sid, Credentials{name, "pw-" + name, ""}, LoginMode::Multi);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().msg);
    return r.ok() ? r->session : sid;
  }

  std::string dir_;
  std::unique_ptr<Store> sqlite_;
  std::unique_ptr<LoopCheckingStore> store_;
  std::unique_ptr<files::BlobStore> blobs_;
  LocalBroker broker_;
  std::unique_ptr<LocalServerEventLog> server_events_;
  std::unique_ptr<LocalChannelQueues> channels_;
  std::unique_ptr<Node> node_;
  api::BlockingPool blocking_{2, 64};
  api::BlockingPool store_pool_{2, 64};  // used by the tests that set Services::store_calls
  api::CallMetrics metrics_;
  std::unique_ptr<api::Services> services_;
  const api::Caller caller_{"127.0.0.1", kApiKey, true};
  asio::io_context ioc_{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      asio::make_work_guard(ioc_)};
  std::thread loop_;
};

TEST_F(DispatchThreadsTest, NoMethodCallsTheStoreOnAnEventLoopThread) {
  // The world the calls act on, made here (not an event loop): alice and bob in group 1 and
  // room 1, carol and group 2 to be deleted, a file alice sent bob, a channel.
  Node& n = *node_;
  Uid alice = n.directory().add_user("alice", "pw-alice", 0).value();
  Uid bob = n.directory().add_user("bob", "pw-bob", 0).value();
  Uid carol = n.directory().add_user("carol", "pw-carol", 0).value();
  ASSERT_TRUE(n.directory().add_group_members(1, {alice, bob}).ok());
  ASSERT_TRUE(n.directory().add_group_members(2, {bob}).ok());
  ASSERT_TRUE(n.directory().add_room_member(1, alice).ok());
  ASSERT_TRUE(n.directory().add_room_member(1, bob).ok());
  std::string session = login("alice");
  std::string spare = login("alice");                            // for session.destroy
  std::string fresh = n.sessions().create("127.0.0.1").value();  // for session.authorize
  std::string channel_token = n.channels().create("client-1", 600).value();
  std::string key = n.sessions().subscribe(session, "presence:" + std::to_string(bob)).value();
  std::string file_id;
  {
    SendRequest r;
    r.from = alice;
    r.kind = MessageKind::P2p;
    r.to = bob;
    auto upload = n.files().token(r);
    ASSERT_TRUE(upload.ok()) << upload.error().msg;
    auto grant = n.files().take_upload(*upload);
    ASSERT_TRUE(grant.ok());
    FileRecord file;
    file.id = file_id = "file-1";
    file.sha256 = std::string(64, 'a');
    file.size = 1;
    file.name = "a.txt";
    file.type = "text/plain";
    std::promise<Result<FileSendAck>> sent;
    n.files().send(*grant, file, 40, "",
                   [&sent](Result<FileSendAck> a) { sent.set_value(std::move(a)); });
    auto ack = sent.get_future().get();
    ASSERT_TRUE(ack.ok()) << ack.error().msg;
  }
  const std::string S = "\"session\":\"" + session + "\"";
  const std::string A = std::to_string(alice), B = std::to_string(bob), C = std::to_string(carol);
  const std::string msg = "\"mtype\":30,\"msg\":\"hi\"";

  // Valid params of every method, in the order they run (the deletions last).
  using api::Scope;
  const std::vector<std::tuple<Scope, std::string, std::string>> calls = {
      {Scope::Client, "session.create", "{}"},
      {Scope::Client, "session.authorize",
       "{\"session\":\"" + fresh +
           "\",\"login\":\"bob\",\"password\":\"pw-bob\",\"mode\":\"multi\"}"},
      {Scope::Client, "session.set", "{" + S + ",\"settings\":{\"max_events\":50}}"},
      {Scope::Client, "session.get_events", "{" + S + ",\"timeout\":0}"},
      {Scope::Client, "session.subscribe", "{" + S + ",\"topic\":\"group:1\"}"},
      {Scope::Client, "session.subscribe", "{" + S + ",\"topic\":\"room:1\"}"},
      {Scope::Client, "session.unsubscribe", "{" + S + ",\"subscription_key\":\"" + key + "\"}"},
      {Scope::Client, "message.send", "{" + S + ",\"to\":" + B + "," + msg + "}"},
      {Scope::Client, "message.send_many", "{" + S + ",\"to_uids\":[" + B + "]," + msg + "}"},
      {Scope::Client, "message.send_group", "{" + S + ",\"gid\":1," + msg + "}"},
      {Scope::Client, "message.send_room", "{" + S + ",\"rid\":1," + msg + "}"},
      {Scope::Client, "message.history", "{" + S + ",\"with\":" + B + "}"},
      {Scope::Client, "message.history", "{" + S + ",\"gid\":1}"},
      {Scope::Client, "message.history", "{" + S + ",\"rid\":1}"},
      {Scope::Client, "user.online", "{" + S + ",\"uids\":[" + B + "]}"},
      {Scope::Client, "channel.poll", "{\"token\":\"" + channel_token + "\",\"timeout\":0}"},
      {Scope::Client, "file.token", "{" + S + ",\"cmd\":\"sendfile\",\"to\":" + B + "}"},
      {Scope::Client, "file.token", "{" + S + ",\"cmd\":\"sendgroupfile\",\"gid\":1}"},
      {Scope::Client, "file.url", "{" + S + ",\"id\":\"" + file_id + "\"}"},
      {Scope::Server, "message.send", "{\"from\":" + A + ",\"to\":" + B + "," + msg + "}"},
      {Scope::Server, "message.send_many",
       "{\"from\":" + A + ",\"to_uids\":[" + B + "]," + msg + "}"},
      {Scope::Server, "message.send_group", "{\"from\":" + A + ",\"gid\":1," + msg + "}"},
      {Scope::Server, "message.send_room", "{\"from\":" + A + ",\"rid\":1," + msg + "}"},
      {Scope::Server, "message.broadcast", "{" + msg + "}"},
      {Scope::Server, "message.history", "{\"uid\":" + A + ",\"with\":" + B + "}"},
      {Scope::Server, "message.history", "{\"gid\":1}"},
      {Scope::Server, "user.online", "{\"uids\":[" + A + "]}"},
      {Scope::Server, "user.add", "{\"login\":\"dave\",\"password\":\"pw-dave\"}"},
      {Scope::Server, "user.set_password", "{\"uid\":" + B + ",\"password\":\"pw-bob\"}"},
      {Scope::Server, "user.token", "{\"uid\":" + A + "}"},
      {Scope::Server, "user.groups", "{\"uid\":" + A + "}"},
      {Scope::Server, "group.add_members", "{\"gid\":1,\"uids\":[" + C + "]}"},
      {Scope::Server, "group.del_members", "{\"gid\":1,\"uids\":[" + C + "]}"},
      {Scope::Server, "group.members", "{\"gid\":1}"},
      {Scope::Server, "room.add_member", "{\"rid\":2,\"uid\":" + A + "}"},
      {Scope::Server, "room.del_member", "{\"rid\":2,\"uid\":" + A + "}"},
      {Scope::Server, "room.members", "{\"rid\":1}"},
      {Scope::Server, "channel.create", "{\"client_id\":\"client-2\"}"},
      {Scope::Server, "channel.send", "{\"client_id\":\"client-1\",\"message\":\"m\"}"},
      {Scope::Server, "channel.info", "{\"client_id\":\"client-1\"}"},
      {Scope::Server, "channel.clear", "{\"client_id\":\"client-1\"}"},
      {Scope::Server, "group.ban", "{\"gid\":2,\"uid\":" + C + ",\"duration\":60}"},
      {Scope::Server, "group.bans", "{\"gid\":2}"},
      {Scope::Server, "group.unban", "{\"gid\":2,\"uid\":" + C + "}"},
      {Scope::Server, "room.ban", "{\"rid\":2,\"uid\":" + C + "}"},
      {Scope::Server, "room.bans", "{\"rid\":2}"},
      {Scope::Server, "room.unban", "{\"rid\":2,\"uid\":" + C + "}"},
      {Scope::Server, "user.block", "{\"uid\":" + C + "}"},
      {Scope::Server, "user.blocked", "{}"},
      {Scope::Server, "user.unblock", "{\"uid\":" + C + "}"},
      {Scope::Server, "file.token", "{\"cmd\":\"sendfile\",\"from\":" + A + ",\"to\":" + B + "}"},
      {Scope::Server, "file.url", "{\"id\":\"" + file_id + "\"}"},
      {Scope::Server, "files.list", "{}"},
      {Scope::Server, "files.gc", "{\"grace\":0}"},
      {Scope::Server, "webhooks.failed", "{}"},
      {Scope::Server, "listen", "{\"p2p\":true}"},
      {Scope::Server, "events.poll", "{\"timeout\":0}"},
      {Scope::Server, "user.kickout", "{\"uid\":" + B + "}"},
      {Scope::Client, "session.destroy", "{\"session\":\"" + spare + "\"}"},
      {Scope::Server, "group.delete", "{\"gid\":2}"},
      {Scope::Server, "user.delete", "{\"uid\":" + C + "}"},
  };

  // Every method of the table is called at least once, and answers Ok.
  std::map<std::pair<Scope, std::string>, int> called;
  for (const auto& [scope, method, body] : calls) {
    api::Reply reply = call(scope, method, body);
    EXPECT_EQ(reply.rc, Rc::Ok) << method << " " << body << ": " << reply.msg;
    ++called[{scope, method}];
  }
  for (const auto& spec : api::method_table())
    EXPECT_TRUE(called.count({spec.scope, std::string(spec.name)}))
        << spec.name << " is not called by this test";

  EXPECT_EQ(store_->calls_on_loop(), std::vector<std::string>{})
      << "store calls made on the event-loop thread";
}

// The pool is bounded: with every place taken, a Blocking or Deferred method is answered
// RateLimited at once (nothing queued, nothing done), an Inline one still runs.
TEST_F(DispatchThreadsTest, AFullBlockingPoolAnswersStoreCallsRateLimitedAndStillServesMemoryOnes) {
  Uid alice = node_->directory().add_user("alice", "pw-alice", 0).value();
  std::vector<std::shared_ptr<api::BlockingPool::Slot>> taken;
  while (auto slot = blocking_.try_reserve()) taken.push_back(std::move(slot));
  const std::string A = std::to_string(alice);

  api::Reply groups = call(api::Scope::Server, "user.groups", "{\"uid\":" + A + "}");
  EXPECT_EQ(groups.rc, Rc::RateLimited) << groups.msg;
  // A send to a uid this node does not know yet reads the store to check it: it waits for
  // the pool (a send to a known user does not, below).
  api::Reply sent =
      call(api::Scope::Server, "message.send", "{\"to\":424242,\"mtype\":30,\"msg\":\"hi\"}");
  EXPECT_EQ(sent.rc, Rc::RateLimited) << sent.msg;
  EXPECT_EQ(sent.msg, "the server is busy; try again shortly");
  api::Reply online = call(api::Scope::Server, "user.online", "{\"uids\":[" + A + "]}");
  EXPECT_EQ(online.rc, Rc::Ok) << online.msg;

  taken.clear();
  groups = call(api::Scope::Server, "user.groups", "{\"uid\":" + A + "}");
  EXPECT_EQ(groups.rc, Rc::Ok) << groups.msg;
}

// A send whose checks need only memory (its users known, no membership to read) starts on
// the event loop and hands its append to the writer from there: a full pool does not hold
// it up. One that must read the store (an unknown uid, a client's group membership) hops.
TEST_F(DispatchThreadsTest, ASendToKnownUsersStartsOnTheLoopAndOneThatReadsTheStoreHops) {
  using api::Scope;
  Uid alice = node_->directory().add_user("alice", "pw-alice", 0).value();
  Uid bob = node_->directory().add_user("bob", "pw-bob", 0).value();
  ASSERT_TRUE(node_->directory().add_group_members(1, {alice, bob}).ok());
  auto login = node_->sessions().create().value();
  ASSERT_TRUE(node_->sessions()
                  .authorize(login, Credentials{"alice", "pw-alice", ""}, LoginMode::Multi)
                  .ok());
  std::string channel = node_->channels().create("c", 600).value();
  (void)channel;
  const std::string A = std::to_string(alice), B = std::to_string(bob);
  const std::string S = "\"session\":\"" + login + "\"";
  const std::string msg = "\"mtype\":30,\"msg\":\"hi\"";
  std::vector<std::shared_ptr<api::BlockingPool::Slot>> taken;
  while (auto slot = blocking_.try_reserve()) taken.push_back(std::move(slot));

  for (const auto& [scope, method, body] : std::vector<std::tuple<Scope, std::string, std::string>>{
           {Scope::Client, "message.send", "{" + S + ",\"to\":" + B + "," + msg + "}"},
           {Scope::Client, "message.send_many", "{" + S + ",\"to_uids\":[" + B + "]," + msg + "}"},
           {Scope::Server, "message.send", "{\"from\":" + A + ",\"to\":" + B + "," + msg + "}"},
           {Scope::Server, "message.send_group", "{\"gid\":1," + msg + "}"},
           {Scope::Server, "message.broadcast", "{" + msg + "}"},
           {Scope::Server, "channel.send", "{\"client_id\":\"c\",\"message\":\"m\"}"},
       }) {
    api::Reply reply = call(scope, method, body);
    EXPECT_EQ(reply.rc, Rc::Ok) << method << " " << body << ": " << reply.msg;
  }
  for (const auto& [scope, method, body] : std::vector<std::tuple<Scope, std::string, std::string>>{
           {Scope::Client, "message.send", "{" + S + ",\"to\":424242," + msg + "}"},
           {Scope::Client, "message.send_group", "{" + S + ",\"gid\":1," + msg + "}"},
           {Scope::Server, "message.send", "{\"from\":424243,\"to\":" + B + "," + msg + "}"},
       }) {
    api::Reply reply = call(scope, method, body);
    EXPECT_EQ(reply.rc, Rc::RateLimited) << method << " " << body << ": " << reply.msg;
  }
  EXPECT_EQ(store_->calls_on_loop(), std::vector<std::string>{});
  auto appends = store_->appends_on_loop();
  EXPECT_EQ(appends.size(), 6u) << "each send of the first list appended from the loop";
}

// With a pool for store calls, a hashing pool full of logins holds up only what hashes:
// sends, reads and the other store calls go on.
TEST_F(DispatchThreadsTest, AHashingPoolFullOfLoginsHoldsUpNoSendNorStoreCall) {
  services_->store_calls = &store_pool_;
  Uid alice = node_->directory().add_user("alice", "pw-alice", 0).value();
  const std::string A = std::to_string(alice);
  std::string sid =
      json::serialize(call(api::Scope::Client, "session.create", "{}").fields.at("session"));
  std::vector<std::shared_ptr<api::BlockingPool::Slot>> taken;
  while (auto slot = blocking_.try_reserve()) taken.push_back(std::move(slot));

  api::Reply sent =
      call(api::Scope::Server, "message.send", "{\"to\":" + A + ",\"mtype\":30,\"msg\":\"hi\"}");
  EXPECT_EQ(sent.rc, Rc::Ok) << sent.msg;
  api::Reply groups = call(api::Scope::Server, "user.groups", "{\"uid\":" + A + "}");
  EXPECT_EQ(groups.rc, Rc::Ok) << groups.msg;
  api::Reply login =
      call(api::Scope::Client, "session.authorize",
           "{\"session\":" + sid + ",\"login\":\"alice\",\"password\":\"pw-alice\"}");
  EXPECT_EQ(login.rc, Rc::RateLimited) << login.msg;
  api::Reply added =
      call(api::Scope::Server, "user.add", "{\"login\":\"bob\",\"password\":\"pw\"}");
  EXPECT_EQ(added.rc, Rc::RateLimited) << added.msg;

  taken.clear();
  login = call(api::Scope::Client, "session.authorize",
               "{\"session\":" + sid + ",\"login\":\"alice\",\"password\":\"pw-alice\"}");
  EXPECT_EQ(login.rc, Rc::Ok) << login.msg;
}

// A long poll parked by the dispatcher answers as soon as an event comes, not at its timeout,
// and a Deferred send answers once the store made the message durable.
TEST_F(DispatchThreadsTest, AWaitingGetEventsAnswersTheMessageSentMeanwhile) {
  Uid alice = node_->directory().add_user("alice", "pw-alice", 0).value();
  std::string session = login("alice");
  // What is queued already (the login's own events) is read first; the poll starts after it.
  api::Reply queued = call(api::Scope::Client, "session.get_events",
                           "{\"session\":\"" + session + "\",\"timeout\":0}");
  ASSERT_EQ(queued.rc, Rc::Ok) << queued.msg;
  std::string last = json::serialize(queued.fields.at("last"));
  auto began = std::chrono::steady_clock::now();
  auto poll = start(api::Scope::Client, "session.get_events",
                    "{\"session\":\"" + session + "\",\"after\":" + last + ",\"timeout\":30}");
  if (poll.wait_for(std::chrono::milliseconds(100)) != std::future_status::timeout) {
    auto early = poll.get();
    FAIL() << "answered before any message: rc " << static_cast<int>(early.rc) << " " << early.msg
           << " " << (early.raw_fields.empty() ? "" : early.raw_fields[0].second);
  }

  api::Reply sent = call(api::Scope::Server, "message.send",
                         "{\"to\":" + std::to_string(alice) + ",\"mtype\":30,\"msg\":\"wake\"}");
  ASSERT_EQ(sent.rc, Rc::Ok) << sent.msg;
  ASSERT_EQ(poll.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  api::Reply events = poll.get();
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(5));
  ASSERT_EQ(events.rc, Rc::Ok) << events.msg;
  ASSERT_EQ(events.raw_fields.size(), 1u);
  EXPECT_NE(events.raw_fields[0].second.find("\"wake\""), std::string::npos)
      << events.raw_fields[0].second;
}

}  // namespace
}  // namespace rtm
