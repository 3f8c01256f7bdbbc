// The SQLite store against a real database file in a temporary directory: durability and
// group commit of appends, idempotency of (from, client_mid), history order and scopes, users,
// groups, rooms, meta, open errors, and calls from many threads at once.
#include "store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite/sqlite_schema.hpp"

namespace rtm {
namespace {

using namespace std::chrono_literals;

constexpr auto kWait = 30s;  // long enough for a loaded machine, short of hanging CI forever

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "rtm-sqlite-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = (dir_ / "rtm.db").string();
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::unique_ptr<Store> open(SqliteStoreOptions options = {}) {
    auto store = open_sqlite_store(path_, options);
    EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error().msg);
    return store.ok() ? std::move(*store) : nullptr;
  }

  std::filesystem::path dir_;
  std::string path_;
};

Message p2p(Uid from, Uid to, Mid mid, std::int64_t mtime = 1000, std::string text = "hi") {
  Message m;
  m.kind = MessageKind::P2p;
  m.from = from;
  m.to = to;
  m.mid = mid;
  m.mtime = mtime;
  m.msg = std::move(text);
  return m;
}

Message group_message(Uid from, Gid gid, Mid mid, std::int64_t mtime = 1000) {
  Message m;
  m.kind = MessageKind::Group;
  m.from = from;
  m.gid = gid;
  m.mid = mid;
  m.mtime = mtime;
  m.msg = std::string("g").append(std::to_string(mid));
  return m;
}

Message room_message(Uid from, Rid rid, Mid mid) {
  Message m;
  m.kind = MessageKind::Room;
  m.from = from;
  m.rid = rid;
  m.mid = mid;
  m.mtime = 1000;
  m.msg = std::string("r").append(std::to_string(mid));
  return m;
}

Message with_client_mid(Message m, Mid client_mid) {
  m.client_mid = client_mid;
  return m;
}

// Appends and waits for the callback.
Result<AppendOutcome> append_and_wait(Store& store, Message m) {
  auto promise = std::make_shared<std::promise<Result<AppendOutcome>>>();
  auto future = promise->get_future();
  store.append_message(std::move(m),
                       [promise](Result<AppendOutcome> r) { promise->set_value(std::move(r)); });
  if (future.wait_for(kWait) != std::future_status::ready)
    return Error{Rc::Internal, "test: the append callback never ran"};
  return future.get();
}

// An append whose answer is awaited later.
struct PendingAppend {
  std::shared_ptr<std::promise<Result<AppendOutcome>>> promise =
      std::make_shared<std::promise<Result<AppendOutcome>>>();
  std::future<Result<AppendOutcome>> future = promise->get_future();

  Store::AppendCallback callback() {
    return [p = promise](Result<AppendOutcome> r) { p->set_value(std::move(r)); };
  }
  Result<AppendOutcome> get() {
    if (future.wait_for(kWait) != std::future_status::ready)
      return Error{Rc::Internal, "test: the append callback never ran"};
    return future.get();
  }
};

// Holds the writer thread before it takes its next batch (through the store's before_batch
// seam). Everything appended while it holds is then written as one batch, which makes batch
// contents deterministic for the tests that need several messages in one transaction.
class WriterGate {
 public:
  // The seam to put into SqliteStoreOptions; the gate must outlive the store.
  std::function<void()> seam() {
    return [this] {
      std::unique_lock lock(mu_);
      if (!armed_) return;
      holding_ = true;
      cv_.notify_all();
      cv_.wait(lock, [this] { return !armed_; });
      holding_ = false;
    };
  }
  // Arms the gate; the writer stops at it when the next append arrives.
  void arm() {
    std::lock_guard lock(mu_);
    armed_ = true;
  }
  // Waits until the writer stands at the gate.
  bool wait_holding() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kWait, [this] { return holding_; });
  }
  void release() {
    std::lock_guard lock(mu_);
    armed_ = false;
    cv_.notify_all();
  }
  ~WriterGate() { release(); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool armed_ = false;
  bool holding_ = false;
};

// A second connection to the file, opened by the test to look at or interfere with it.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    sqlite3_open(path.c_str(), &db_);
    sqlite3_busy_timeout(db_, 10000);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  int exec(const std::string& sql) {
    return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  }
  std::string query_text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) return "<error>";
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, sqlite3_column_count(stmt) - 1);
      if (!out.empty()) out += '|';
      out += text ? reinterpret_cast<const char*>(text) : "";
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

HistoryQuery p2p_query(Uid uid, Uid with, int limit = 1000) {
  HistoryQuery q;
  q.scope = HistoryQuery::Scope::P2p;
  q.uid = uid;
  q.with = with;
  q.limit = limit;
  return q;
}

std::vector<Mid> mids_of(const std::vector<Message>& messages) {
  std::vector<Mid> out;
  for (const auto& m : messages) out.push_back(m.mid);
  return out;
}

// --- appends ---------------------------------------------------------------------------------

TEST_F(SqliteStoreTest, AppendIsDurableBeforeCallback) {
  constexpr int kCount = 300;
  {
    auto store = open();
    ASSERT_TRUE(store);
    std::atomic<int> answered{0};
    std::atomic<int> visible_in_callback{0};
    Store* s = store.get();
    for (int i = 1; i <= kCount; ++i) {
      s->append_message(p2p(1, 2, i, 1000 + i), [s, i, &answered, &visible_in_callback](auto r) {
        // Another connection already sees the row when the callback runs: it was committed.
        auto q = p2p_query(1, 2, 1);
        q.before_mid = static_cast<Mid>(i) + 1;
        auto h = s->history(q);
        if (r.ok() && !r->duplicate && h.ok() && h->size() == 1 && (*h)[0].mid == Mid(i))
          visible_in_callback.fetch_add(1);
        answered.fetch_add(1);
      });
    }
    store->close();
    EXPECT_EQ(answered.load(), kCount);
    EXPECT_EQ(visible_in_callback.load(), kCount);
  }
  auto reopened = open();
  ASSERT_TRUE(reopened);
  auto h = reopened->history(p2p_query(2, 1));
  ASSERT_TRUE(h.ok()) << h.error().msg;
  ASSERT_EQ(h->size(), static_cast<std::size_t>(kCount));
  EXPECT_EQ(h->front().mid, Mid(kCount));
  EXPECT_EQ(h->front().mtime, 1000 + kCount);
  EXPECT_EQ(h->back().mid, 1u);
}

TEST_F(SqliteStoreTest, AcknowledgedAppendsSurviveKill9) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child appends without end and reports each acknowledged mid through the pipe; it
    // never returns into GoogleTest.
    ::close(fds[0]);
    auto store = open_sqlite_store(path_);
    if (!store.ok()) _exit(2);
    for (Mid mid = 1;; ++mid) {
      (*store)->append_message(p2p(1, 2, mid), [fd = fds[1], mid](Result<AppendOutcome> r) {
        if (r.ok() && write(fd, &mid, sizeof mid) != sizeof mid) _exit(3);
      });
      if (mid % 32 == 0) usleep(200);  // keeps the queue short: batches, not a backlog
    }
  }
  ::close(fds[1]);
  std::vector<Mid> acked;
  Mid mid = 0;
  while (acked.size() < 2000 && read(fds[0], &mid, sizeof mid) == sizeof mid) acked.push_back(mid);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  // Acks written before the kill count too.
  while (read(fds[0], &mid, sizeof mid) == sizeof mid) acked.push_back(mid);
  ::close(fds[0]);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child ended by itself, status " << status;
  ASSERT_GE(acked.size(), 2000u);

  auto store = open();
  ASSERT_TRUE(store);
  auto h = store->history(p2p_query(1, 2, 1'000'000));
  ASSERT_TRUE(h.ok()) << h.error().msg;
  std::set<Mid> stored;
  for (const auto& m : *h) stored.insert(m.mid);
  std::size_t missing = 0;
  for (Mid m : acked) missing += stored.count(m) == 0 ? 1 : 0;
  EXPECT_EQ(missing, 0u) << "of " << acked.size() << " acknowledged appends";
}

TEST_F(SqliteStoreTest, DuplicateFromAndClientMidIsStoredOnceAndAnswersFirstMidAndMtime) {
  auto store = open();
  ASSERT_TRUE(store);
  auto first = append_and_wait(*store, with_client_mid(p2p(1, 2, 10, 1111, "first"), 77));
  ASSERT_TRUE(first.ok()) << first.error().msg;
  EXPECT_FALSE(first->duplicate);
  EXPECT_EQ(first->mid, 10u);
  EXPECT_EQ(first->mtime, 1111);

  // A retry gets a fresh mid from the engine; the answer is still the first message's.
  auto again = append_and_wait(*store, with_client_mid(p2p(1, 2, 11, 2222, "second"), 77));
  ASSERT_TRUE(again.ok()) << again.error().msg;
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->mid, 10u);
  EXPECT_EQ(again->mtime, 1111);

  // The same client_mid from another sender is another message.
  auto other = append_and_wait(*store, with_client_mid(p2p(2, 1, 12, 3333, "other sender"), 77));
  ASSERT_TRUE(other.ok()) << other.error().msg;
  EXPECT_FALSE(other->duplicate);
  EXPECT_EQ(other->mid, 12u);

  // Without a client_mid nothing is deduplicated.
  auto plain = append_and_wait(*store, p2p(1, 2, 13, 4444, "plain"));
  ASSERT_TRUE(plain.ok()) << plain.error().msg;
  EXPECT_FALSE(plain->duplicate);

  auto h = store->history(p2p_query(1, 2));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(mids_of(*h), (std::vector<Mid>{13, 12, 10}));
  EXPECT_EQ(h->back().msg, "first");
}

TEST_F(SqliteStoreTest, DuplicateWithinOneBatchIsStoredOnce) {
  WriterGate gate;
  auto store = open(SqliteStoreOptions{std::chrono::milliseconds(5000), gate.seam()});
  ASSERT_TRUE(store);
  gate.arm();
  PendingAppend a, b;
  store->append_message(with_client_mid(p2p(1, 2, 77, 5000, "a"), 5), a.callback());
  ASSERT_TRUE(gate.wait_holding());
  store->append_message(with_client_mid(p2p(1, 2, 78, 6000, "b"), 5), b.callback());
  gate.release();

  auto ra = a.get();
  auto rb = b.get();
  ASSERT_TRUE(ra.ok()) << ra.error().msg;
  ASSERT_TRUE(rb.ok()) << rb.error().msg;
  EXPECT_FALSE(ra->duplicate);
  EXPECT_EQ(ra->mtime, 5000);
  EXPECT_TRUE(rb->duplicate);
  EXPECT_EQ(rb->mid, 77u);
  EXPECT_EQ(rb->mtime, 5000);
  auto h = store->history(p2p_query(1, 2));
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 1u);
  EXPECT_EQ((*h)[0].msg, "a");
}

TEST_F(SqliteStoreTest, FailedBatchKeepsNothingAndAnswersUnavailableToEveryAppend) {
  WriterGate gate;
  auto store = open(SqliteStoreOptions{std::chrono::milliseconds(5000), gate.seam()});
  ASSERT_TRUE(store);
  ASSERT_TRUE(append_and_wait(*store, p2p(1, 2, 1)).ok());
  RawDb raw(path_);
  // A fault the test can aim: inserting the text "boom" aborts its statement.
  ASSERT_EQ(raw.exec("CREATE TRIGGER boom BEFORE INSERT ON messages WHEN NEW.msg = 'boom' "
                     "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"),
            SQLITE_OK);
  {
    gate.arm();
    PendingAppend before, failing, after;
    store->append_message(p2p(1, 2, 2, 1000, "before"), before.callback());
    ASSERT_TRUE(gate.wait_holding());
    store->append_message(p2p(1, 2, 3, 1000, "boom"), failing.callback());
    store->append_message(p2p(1, 2, 4, 1000, "after"), after.callback());
    gate.release();
    for (auto* p : {&before, &failing, &after}) {
      auto r = p->get();
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().rc, Rc::Unavailable);
      EXPECT_FALSE(r.error().msg.empty());
    }
  }
  auto h = store->history(p2p_query(1, 2));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(mids_of(*h), (std::vector<Mid>{1}));  // "before" was rolled back with the batch

  // The writer goes on serving.
  auto later = append_and_wait(*store, p2p(1, 2, 5));
  EXPECT_TRUE(later.ok()) << later.error().msg;
}

FileRecord file_for(const std::string& id, Uid from, Uid to) {
  FileRecord f;
  f.id = id;
  f.sha256 = std::string(64, 'a');
  f.name = "f.txt";
  f.type = "text/plain";
  f.size = 3;
  f.from = from;
  f.to = to;
  f.created_ms = 1000;
  return f;
}

Result<AppendOutcome> append_file_and_wait(Store& store, Message m, FileRecord f) {
  PendingAppend p;
  store.append_file_message(std::move(m), std::move(f), p.callback());
  return p.get();
}

TEST_F(SqliteStoreTest, AFileRecordIsStoredWithItsMessageOrNotAtAll) {
  auto store = open();
  ASSERT_TRUE(store);
  auto stored = append_file_and_wait(*store, p2p(1, 2, 1, 1000, "{file}"), file_for("f1", 1, 2));
  ASSERT_TRUE(stored.ok()) << stored.error().msg;
  auto found = store->find_file("f1");
  ASSERT_TRUE(found.ok()) << found.error().msg;
  EXPECT_EQ(found->from, 1u);
  EXPECT_EQ(found->to, 2u);
  EXPECT_EQ(found->name, "f.txt");

  RawDb raw(path_);
  ASSERT_EQ(raw.exec("CREATE TRIGGER boom BEFORE INSERT ON messages WHEN NEW.msg = 'boom' "
                     "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"),
            SQLITE_OK);
  auto failed = append_file_and_wait(*store, p2p(1, 2, 2, 1000, "boom"), file_for("f2", 1, 2));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().rc, Rc::Unavailable);
  EXPECT_EQ(store->find_file("f2").error().rc, Rc::NotFound) << "a record without its message";
  EXPECT_EQ(store->list_files(1'000'000, 10)->size(), 1u);
}

TEST_F(SqliteStoreTest, AppendAnswersUnavailableWhenAnotherProcessKeepsTheWriteLock) {
  auto store = open(SqliteStoreOptions{std::chrono::milliseconds(100)});
  ASSERT_TRUE(store);
  RawDb raw(path_);
  ASSERT_EQ(raw.exec("BEGIN IMMEDIATE"), SQLITE_OK);
  auto blocked = append_and_wait(*store, p2p(1, 2, 1));
  ASSERT_FALSE(blocked.ok());
  EXPECT_EQ(blocked.error().rc, Rc::Unavailable);
  EXPECT_NE(blocked.error().msg.find("SQLITE_BUSY"), std::string::npos) << blocked.error().msg;
  ASSERT_EQ(raw.exec("COMMIT"), SQLITE_OK);

  auto later = append_and_wait(*store, p2p(1, 2, 2));
  ASSERT_TRUE(later.ok()) << later.error().msg;
  auto h = store->history(p2p_query(1, 2));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(mids_of(*h), (std::vector<Mid>{2}));
}

TEST_F(SqliteStoreTest, CloseDrainsQueuedAppendsAndRunsTheirCallbacks) {
  auto store = open();
  ASSERT_TRUE(store);
  std::atomic<int> ok{0};
  for (int i = 1; i <= 2000; ++i)
    store->append_message(p2p(1, 2, i), [&ok](auto r) { ok.fetch_add(r.ok() ? 1 : 0); });
  store->close();
  EXPECT_EQ(ok.load(), 2000);
}

TEST_F(SqliteStoreTest, AppendAfterCloseIsUnavailable) {
  auto store = open();
  ASSERT_TRUE(store);
  store->close();
  bool called = false;
  Result<AppendOutcome> outcome = Error{Rc::Ok, ""};
  store->append_message(p2p(1, 2, 1), [&](Result<AppendOutcome> r) {
    called = true;
    outcome = std::move(r);
  });
  ASSERT_TRUE(called) << "after close the callback must run at once";
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error().rc, Rc::Unavailable);
  store->close();  // a second close is harmless
  auto h = store->history(p2p_query(1, 2));
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->empty());
}

TEST_F(SqliteStoreTest, CloseFromSeveralThreadsEachWaitsForTheQueue) {
  auto store = open();
  ASSERT_TRUE(store);
  std::atomic<int> ok{0};
  for (int i = 1; i <= 1000; ++i)
    store->append_message(p2p(1, 2, i), [&ok](auto r) { ok.fetch_add(r.ok() ? 1 : 0); });
  std::vector<int> seen_after_close(4, -1);
  std::vector<std::thread> closers;
  for (int t = 0; t < 4; ++t)
    closers.emplace_back([&, t] {
      store->close();
      seen_after_close[t] = ok.load();
    });
  for (auto& th : closers) th.join();
  for (int seen : seen_after_close) EXPECT_EQ(seen, 1000);
}

TEST_F(SqliteStoreTest, CloseFromACallbackStopsIntakeWithoutDeadlock) {
  auto store = open();
  ASSERT_TRUE(store);
  Store* s = store.get();
  auto closing = append_and_wait(*store, p2p(1, 2, 1));
  ASSERT_TRUE(closing.ok());
  PendingAppend inside;
  s->append_message(p2p(1, 2, 2), [s, &inside](Result<AppendOutcome> r) {
    s->close();  // on the writer thread: must return, not join itself
    s->append_message(p2p(1, 2, 3), inside.callback());
  });
  auto refused = inside.get();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().rc, Rc::Unavailable);
  store.reset();  // joins the writer
  auto reopened = open();
  ASSERT_TRUE(reopened);
  auto h = reopened->history(p2p_query(1, 2));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(mids_of(*h), (std::vector<Mid>{2, 1}));
}

TEST_F(SqliteStoreTest, ConcurrentAppendsFromManyThreadsAllArriveOnce) {
  auto store = open();
  ASSERT_TRUE(store);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  constexpr int kResent = 50;  // each thread also sends its first mids a second time
  std::atomic<int> fresh{0}, duplicates{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto count = [&](Result<AppendOutcome> r) {
        if (!r.ok())
          failed.fetch_add(1);
        else if (r->duplicate)
          duplicates.fetch_add(1);
        else
          fresh.fetch_add(1);
      };
      // Each sender numbers its messages from 1 (the client_mid) while the mids are unique.
      auto message = [t](int i, Mid mid) {
        return with_client_mid(p2p(100 + t, 999, mid), static_cast<Mid>(i));
      };
      Mid base = static_cast<Mid>(t) * 10'000;
      for (int i = 1; i <= kPerThread; ++i) store->append_message(message(i, base + i), count);
      for (int i = 1; i <= kResent; ++i)
        store->append_message(message(i, base + kPerThread + i), count);
    });
  }
  for (auto& th : threads) th.join();
  store->close();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(fresh.load(), kThreads * kPerThread);
  EXPECT_EQ(duplicates.load(), kThreads * kResent);
  for (int t = 0; t < kThreads; ++t) {
    auto h = store->history(p2p_query(999, 100 + t));
    ASSERT_TRUE(h.ok());
    std::set<Mid> distinct;
    for (const auto& m : *h) distinct.insert(m.mid);
    EXPECT_EQ(h->size(), static_cast<std::size_t>(kPerThread));
    EXPECT_EQ(distinct.size(), static_cast<std::size_t>(kPerThread));
  }
}

TEST_F(SqliteStoreTest, SyncCallsAndAppendsFromManyThreadsNeverAnswerBusy) {
  auto store = open();
  ASSERT_TRUE(store);
  std::atomic<int> errors{0};
  std::string first_error;
  std::mutex error_mu;
  auto check = [&](bool ok, const std::string& what) {
    if (ok) return;
    std::lock_guard lock(error_mu);
    if (errors.fetch_add(1) == 0) first_error = what;
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        auto uid = store->add_user(std::to_string(t).append("_").append(std::to_string(i)), "h", 0);
        check(uid.ok(), uid.ok() ? "" : uid.error().msg);
        if (!uid.ok()) continue;
        auto added = store->add_group_members(t + 1, {*uid});
        check(added.ok(), added.ok() ? "" : added.error().msg);
        auto meta = store->get_or_init_meta("shared", std::to_string(t));
        check(meta.ok(), meta.ok() ? "" : meta.error().msg);
        store->append_message(p2p(*uid, 1, i + 1),
                              [&](auto r) { check(r.ok(), r.ok() ? "" : r.error().msg); });
        auto h = store->history(p2p_query(1, *uid));
        check(h.ok(), h.ok() ? "" : h.error().msg);
      }
    });
  }
  for (auto& th : threads) th.join();
  store->close();
  EXPECT_EQ(errors.load(), 0) << first_error;
  for (int t = 0; t < 6; ++t) {
    auto members = store->group_members(t + 1);
    ASSERT_TRUE(members.ok());
    EXPECT_EQ(members->size(), 100u);
  }
}

// --- history ---------------------------------------------------------------------------------

TEST_F(SqliteStoreTest, HistoryIsNewestFirstAndPagesByBeforeMid) {
  auto store = open();
  ASSERT_TRUE(store);
  // Appended out of order: history orders by mid, not by arrival.
  for (Mid mid : {3, 1, 10, 2, 7, 5, 9, 4, 8, 6})
    ASSERT_TRUE(append_and_wait(*store, group_message(1, 42, mid)).ok());

  HistoryQuery q;
  q.scope = HistoryQuery::Scope::Group;
  q.gid = 42;
  q.limit = 4;
  auto page1 = store->history(q);
  ASSERT_TRUE(page1.ok());
  EXPECT_EQ(mids_of(*page1), (std::vector<Mid>{10, 9, 8, 7}));
  q.before_mid = 7;
  auto page2 = store->history(q);
  ASSERT_TRUE(page2.ok());
  EXPECT_EQ(mids_of(*page2), (std::vector<Mid>{6, 5, 4, 3}));
  q.before_mid = 3;
  auto page3 = store->history(q);
  ASSERT_TRUE(page3.ok());
  EXPECT_EQ(mids_of(*page3), (std::vector<Mid>{2, 1}));
  q.before_mid = 1;
  auto page4 = store->history(q);
  ASSERT_TRUE(page4.ok());
  EXPECT_TRUE(page4->empty());
}

TEST_F(SqliteStoreTest, HistoryReturnsEveryFieldAsAppended) {
  auto store = open();
  ASSERT_TRUE(store);
  Message m = p2p(5, 6, 123, 1'700'000'000'123, "h\xC3\xA9llo \"quoted\"\nline two");
  m.mtype = 42;
  m.attrs = R"({"k":"v"})";
  ASSERT_TRUE(append_and_wait(*store, m).ok());
  auto h = store->history(p2p_query(5, 6));
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 1u);
  const Message& got = (*h)[0];
  EXPECT_EQ(got.mid, 123u);
  EXPECT_EQ(got.from, 5u);
  EXPECT_EQ(got.kind, MessageKind::P2p);
  EXPECT_EQ(got.to, 6u);
  EXPECT_EQ(got.mtype, 42);
  EXPECT_EQ(got.msg, m.msg);
  EXPECT_EQ(got.attrs, m.attrs);
  EXPECT_EQ(got.mtime, 1'700'000'000'123);
}

TEST_F(SqliteStoreTest, P2pHistoryCoversBothDirectionsOnly) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(append_and_wait(*store, p2p(1, 2, 1)).ok());
  ASSERT_TRUE(append_and_wait(*store, p2p(2, 1, 2)).ok());
  ASSERT_TRUE(append_and_wait(*store, p2p(1, 3, 3)).ok());            // another conversation of 1
  ASSERT_TRUE(append_and_wait(*store, p2p(3, 2, 4)).ok());            // another conversation of 2
  ASSERT_TRUE(append_and_wait(*store, group_message(1, 2, 5)).ok());  // gid 2, not uid 2
  Message multi;
  multi.kind = MessageKind::Multi;
  multi.from = 1;
  multi.to_uids = {2, 3};
  multi.mid = 6;
  ASSERT_TRUE(append_and_wait(*store, multi).ok());
  Message broadcast;
  broadcast.kind = MessageKind::Broadcast;
  broadcast.from = 1;
  broadcast.mid = 7;
  ASSERT_TRUE(append_and_wait(*store, broadcast).ok());

  auto from_1 = store->history(p2p_query(1, 2));
  auto from_2 = store->history(p2p_query(2, 1));
  ASSERT_TRUE(from_1.ok());
  ASSERT_TRUE(from_2.ok());
  EXPECT_EQ(mids_of(*from_1), (std::vector<Mid>{2, 1}));
  EXPECT_EQ(mids_of(*from_2), (std::vector<Mid>{2, 1}));
  auto none = store->history(p2p_query(2, 4));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(SqliteStoreTest, GroupAndRoomHistoryHoldOnlyTheirKindAndId) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(append_and_wait(*store, group_message(1, 5, 1)).ok());
  ASSERT_TRUE(append_and_wait(*store, group_message(1, 6, 2)).ok());
  ASSERT_TRUE(append_and_wait(*store, room_message(1, 5, 3)).ok());
  ASSERT_TRUE(append_and_wait(*store, room_message(1, 6, 4)).ok());
  ASSERT_TRUE(append_and_wait(*store, p2p(1, 5, 5)).ok());

  HistoryQuery g;
  g.scope = HistoryQuery::Scope::Group;
  g.gid = 5;
  auto groups = store->history(g);
  ASSERT_TRUE(groups.ok());
  EXPECT_EQ(mids_of(*groups), (std::vector<Mid>{1}));
  EXPECT_EQ((*groups)[0].gid, 5u);
  EXPECT_EQ((*groups)[0].kind, MessageKind::Group);

  HistoryQuery r;
  r.scope = HistoryQuery::Scope::Room;
  r.rid = 5;
  auto rooms = store->history(r);
  ASSERT_TRUE(rooms.ok());
  EXPECT_EQ(mids_of(*rooms), (std::vector<Mid>{3}));
  EXPECT_EQ((*rooms)[0].rid, 5u);
  EXPECT_EQ((*rooms)[0].kind, MessageKind::Room);
}

TEST_F(SqliteStoreTest, HistoryQueriesUseTheirIndexes) {
  auto store = open();
  ASSERT_TRUE(store);
  RawDb raw(path_);
  // A partial index serves a query only if the query repeats its WHERE term literally; a
  // full scan would pass every other test and be slow on a real history.
  EXPECT_NE(raw.query_text("EXPLAIN QUERY PLAN " + sqlite::history_p2p_sql()).find("messages_p2p"),
            std::string::npos);
  EXPECT_NE(
      raw.query_text("EXPLAIN QUERY PLAN " + sqlite::history_group_sql()).find("messages_group"),
      std::string::npos);
  EXPECT_NE(
      raw.query_text("EXPLAIN QUERY PLAN " + sqlite::history_room_sql()).find("messages_room"),
      std::string::npos);
}

// --- users -----------------------------------------------------------------------------------

TEST_F(SqliteStoreTest, AddUserAssignsIncreasingUids) {
  auto store = open();
  ASSERT_TRUE(store);
  auto a = store->add_user("alice", "hash-a", 0);
  auto b = store->add_user("bob", "hash-b", 0);
  auto c = store->add_user("carol", "hash-c", 10);
  auto d = store->add_user("dave", "hash-d", 0);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && d.ok());
  EXPECT_EQ(*a, 1u);
  EXPECT_EQ(*b, 2u);
  EXPECT_EQ(*c, 10u);
  EXPECT_EQ(*d, 11u);

  auto found = store->find_user(2);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->uid, 2u);
  EXPECT_EQ(found->login, "bob");
  EXPECT_EQ(found->password_hash, "hash-b");
  auto by_login = store->find_user_by_login("carol");
  ASSERT_TRUE(by_login.ok());
  EXPECT_EQ(by_login->uid, 10u);
}

TEST_F(SqliteStoreTest, AddUserRejectsTakenLogin) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->add_user("alice", "h", 0).ok());
  auto again = store->add_user("alice", "h2", 0);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().rc, Rc::AlreadyExists);
  auto user = store->find_user_by_login("alice");
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->password_hash, "h");  // the first one is untouched
}

TEST_F(SqliteStoreTest, AddUserRejectsTakenUid) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->add_user("alice", "h", 7).ok());
  auto again = store->add_user("bob", "h", 7);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().rc, Rc::AlreadyExists);
  auto bob = store->find_user_by_login("bob");
  ASSERT_FALSE(bob.ok());
  EXPECT_EQ(bob.error().rc, Rc::NotFound);
}

TEST_F(SqliteStoreTest, UnknownUsersAnswerNotFound) {
  auto store = open();
  ASSERT_TRUE(store);
  auto by_uid = store->find_user(5);
  ASSERT_FALSE(by_uid.ok());
  EXPECT_EQ(by_uid.error().rc, Rc::NotFound);
  auto by_login = store->find_user_by_login("nobody");
  ASSERT_FALSE(by_login.ok());
  EXPECT_EQ(by_login.error().rc, Rc::NotFound);
  auto set = store->set_password(5, "x");
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.error().rc, Rc::NotFound);
  auto del = store->delete_user(5);
  ASSERT_FALSE(del.ok());
  EXPECT_EQ(del.error().rc, Rc::NotFound);
}

TEST_F(SqliteStoreTest, SetPasswordReplacesTheHash) {
  auto store = open();
  ASSERT_TRUE(store);
  auto uid = store->add_user("alice", "old", 0);
  ASSERT_TRUE(uid.ok());
  ASSERT_TRUE(store->set_password(*uid, "new").ok());
  auto user = store->find_user(*uid);
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->password_hash, "new");
}

TEST_F(SqliteStoreTest, DeleteUserRemovesMemberships) {
  auto store = open();
  ASSERT_TRUE(store);
  auto alice = store->add_user("alice", "h", 0);
  auto bob = store->add_user("bob", "h", 0);
  ASSERT_TRUE(alice.ok() && bob.ok());
  ASSERT_TRUE(store->add_group_members(1, {*alice, *bob}).ok());
  ASSERT_TRUE(store->add_group_members(2, {*alice}).ok());
  ASSERT_TRUE(store->add_room_member(3, *alice).ok());
  ASSERT_TRUE(store->add_room_member(3, *bob).ok());

  ASSERT_TRUE(store->delete_user(*alice).ok());
  EXPECT_EQ(store->find_user(*alice).error().rc, Rc::NotFound);
  auto groups = store->user_groups(*alice);
  ASSERT_TRUE(groups.ok());
  EXPECT_TRUE(groups->empty());
  auto g1 = store->group_members(1);
  ASSERT_TRUE(g1.ok());
  EXPECT_EQ(*g1, (std::vector<Uid>{*bob}));
  auto g2 = store->group_members(2);
  ASSERT_TRUE(g2.ok());
  EXPECT_TRUE(g2->empty());
  auto r3 = store->room_members(3);
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ(*r3, (std::vector<Uid>{*bob}));
  auto in_room = store->is_room_member(3, *alice);
  ASSERT_TRUE(in_room.ok());
  EXPECT_FALSE(*in_room);

  auto again = store->delete_user(*alice);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().rc, Rc::NotFound);
}

// --- groups and rooms --------------------------------------------------------------------------

TEST_F(SqliteStoreTest, GroupMembersAreSortedAndIdempotent) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->add_group_members(7, {5, 3, 9, 3}).ok());
  ASSERT_TRUE(store->add_group_members(7, {3}).ok());
  auto members = store->group_members(7);
  ASSERT_TRUE(members.ok());
  EXPECT_EQ(*members, (std::vector<Uid>{3, 5, 9}));

  ASSERT_TRUE(store->del_group_members(7, {5, 100}).ok());
  ASSERT_TRUE(store->del_group_members(7, {5}).ok());
  members = store->group_members(7);
  ASSERT_TRUE(members.ok());
  EXPECT_EQ(*members, (std::vector<Uid>{3, 9}));
  EXPECT_TRUE(*store->is_group_member(7, 3));
  EXPECT_FALSE(*store->is_group_member(7, 5));

  ASSERT_TRUE(store->add_group_members(2, {3}).ok());
  ASSERT_TRUE(store->add_group_members(12, {3}).ok());
  auto groups = store->user_groups(3);
  ASSERT_TRUE(groups.ok());
  EXPECT_EQ(*groups, (std::vector<Gid>{2, 7, 12}));

  ASSERT_TRUE(store->delete_group(7).ok());
  members = store->group_members(7);
  ASSERT_TRUE(members.ok());
  EXPECT_TRUE(members->empty());
  groups = store->user_groups(3);
  ASSERT_TRUE(groups.ok());
  EXPECT_EQ(*groups, (std::vector<Gid>{2, 12}));
  EXPECT_TRUE(store->delete_group(7).ok());  // deleting an empty group is not an error
}

TEST_F(SqliteStoreTest, RoomMembersAreSortedAndIdempotent) {
  auto store = open();
  ASSERT_TRUE(store);
  for (Uid u : {8, 2, 5, 2}) ASSERT_TRUE(store->add_room_member(4, u).ok());
  auto members = store->room_members(4);
  ASSERT_TRUE(members.ok());
  EXPECT_EQ(*members, (std::vector<Uid>{2, 5, 8}));
  ASSERT_TRUE(store->del_room_member(4, 5).ok());
  ASSERT_TRUE(store->del_room_member(4, 5).ok());
  members = store->room_members(4);
  ASSERT_TRUE(members.ok());
  EXPECT_EQ(*members, (std::vector<Uid>{2, 8}));
  EXPECT_TRUE(*store->is_room_member(4, 8));
  EXPECT_FALSE(*store->is_room_member(4, 5));
  EXPECT_FALSE(*store->is_room_member(5, 8));
}

// --- meta, opening, limits -------------------------------------------------------------------

TEST_F(SqliteStoreTest, MetaInitIsStable) {
  {
    auto store = open();
    ASSERT_TRUE(store);
    auto first = store->get_or_init_meta("token_secret", "aaa");
    ASSERT_TRUE(first.ok());
    EXPECT_EQ(*first, "aaa");
    auto second = store->get_or_init_meta("token_secret", "bbb");
    ASSERT_TRUE(second.ok());
    EXPECT_EQ(*second, "aaa");
  }
  auto reopened = open();
  ASSERT_TRUE(reopened);
  auto third = reopened->get_or_init_meta("token_secret", "ccc");
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(*third, "aaa");
}

TEST_F(SqliteStoreTest, MetaInitFromManyStoresAgreesOnOneValue) {
  // Two stores on one file behave like two processes: separate connections and locks.
  auto a = open();
  auto b = open();
  ASSERT_TRUE(a && b);
  std::vector<std::string> seen(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto v = (t % 2 ? a : b)->get_or_init_meta("k", std::to_string(t));
      seen[t] = v.ok() ? *v : "error: " + v.error().msg;
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& v : seen) EXPECT_EQ(v, seen[0]);
  EXPECT_EQ(seen[0].size(), 1u) << seen[0];  // one thread's fallback, not an error
}

TEST_F(SqliteStoreTest, OpenFailsWithUnavailableOnMissingDirectory) {
  std::string path = (dir_ / "no-such-dir" / "rtm.db").string();
  auto store = open_sqlite_store(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().rc, Rc::Unavailable);
  EXPECT_NE(store.error().msg.find(path), std::string::npos) << store.error().msg;
  EXPECT_EQ(store.error().msg.find('\n'), std::string::npos) << store.error().msg;
}

TEST_F(SqliteStoreTest, OpenFailsWithUnavailableOnAFileThatIsNotADatabase) {
  {
    std::ofstream junk(path_);
    junk << std::string(8192, 'x');
  }
  auto store = open_sqlite_store(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().rc, Rc::Unavailable);
  EXPECT_NE(store.error().msg.find("not a database"), std::string::npos) << store.error().msg;
}

// --- store errors that are not about the data ----------------------------------------------

// The log lines written meanwhile: stdout and stderr both, since where lines go depends on
// whether logging::configure() ran (rtmd: stderr; a test that never calls it: spdlog's stdout).
void start_capturing_log() {
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
}
std::string captured_log() {
  std::string out = testing::internal::GetCapturedStdout();
  return out + testing::internal::GetCapturedStderr();
}

// Overwrites the first bytes of the page of `table`'s b-tree root in the (checkpointed) file,
// as a failing disk or a stray write would.
void corrupt_root_page(const std::string& path, const std::string& table) {
  int root = 0, page_size = 0;
  {
    RawDb raw(path);
    ASSERT_EQ(raw.exec("PRAGMA wal_checkpoint(TRUNCATE)"), SQLITE_OK);
    root = std::stoi(
        raw.query_text("SELECT rootpage FROM sqlite_master WHERE name = '" + table + "'"));
    page_size = std::stoi(raw.query_text("PRAGMA page_size"));
  }
  ASSERT_GT(root, 1);
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(root - 1) * page_size);
  std::string junk(64, '\xAA');
  f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  ASSERT_TRUE(f.good());
}

TEST_F(SqliteStoreTest, ACorruptPageAnswersUnavailableWithTheSqliteTextAndIsLogged) {
  {
    auto store = open();
    ASSERT_TRUE(store);
    for (Mid mid = 1; mid <= 200; ++mid)
      ASSERT_TRUE(append_and_wait(*store, p2p(1, 2, mid, 1000, std::string(500, 'm'))).ok());
    ASSERT_TRUE(store->add_user("alice", "hash", 0).ok());
  }
  corrupt_root_page(path_, "messages");
  auto store = open();
  ASSERT_TRUE(store);

  start_capturing_log();
  auto h = store->history(p2p_query(1, 2));
  auto appended = append_and_wait(*store, p2p(1, 2, 201));
  std::string log = captured_log();

  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().rc, Rc::Unavailable);
  EXPECT_NE(h.error().msg.find("database disk image is malformed (SQLITE_CORRUPT)"),
            std::string::npos)
      << h.error().msg;
  ASSERT_FALSE(appended.ok());
  EXPECT_EQ(appended.error().rc, Rc::Unavailable);
  EXPECT_NE(appended.error().msg.find("SQLITE_CORRUPT"), std::string::npos) << appended.error().msg;
  EXPECT_NE(log.find("store.error op=history rc=Unavailable error=\"sqlite: "), std::string::npos)
      << log;
  EXPECT_NE(log.find("store.error op=append_message rc=Unavailable"), std::string::npos) << log;
  EXPECT_NE(log.find("malformed"), std::string::npos) << log;

  // The other tables are whole: the store keeps serving what it can.
  auto alice = store->find_user_by_login("alice");
  ASSERT_TRUE(alice.ok()) << alice.error().msg;
  auto added = store->add_user("bob", "hash", 0);
  EXPECT_TRUE(added.ok()) << added.error().msg;
}

TEST_F(SqliteStoreTest, RepeatedStoreErrorsOfOneCallAreLoggedOnceASecond) {
  SqliteStoreOptions options;
  options.busy_timeout = std::chrono::milliseconds(1);
  auto store = open(options);
  ASSERT_TRUE(store);
  RawDb raw(path_);
  ASSERT_EQ(raw.exec("BEGIN IMMEDIATE"), SQLITE_OK);  // every write of the store is refused
  start_capturing_log();
  for (int i = 0; i < 20; ++i) {
    auto s = store->set_password(1, "x");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().rc, Rc::Unavailable);
  }
  std::string log = captured_log();
  std::size_t lines = 0;
  for (std::size_t at = log.find("op=set_password"); at != std::string::npos;
       at = log.find("op=set_password", at + 1))
    ++lines;
  EXPECT_EQ(lines, 1u) << log;
  EXPECT_NE(log.find("SQLITE_BUSY"), std::string::npos) << log;
  ASSERT_EQ(raw.exec("COMMIT"), SQLITE_OK);
}

TEST_F(SqliteStoreTest, AnswersAboutTheDataAreNotLoggedAsStoreErrors) {
  auto store = open();
  ASSERT_TRUE(store);
  start_capturing_log();
  EXPECT_EQ(store->find_user(42).error().rc, Rc::NotFound);
  ASSERT_TRUE(store->add_user("carol", "hash", 0).ok());
  EXPECT_EQ(store->add_user("carol", "hash", 0).error().rc, Rc::AlreadyExists);
  std::string log = captured_log();
  EXPECT_EQ(log.find("store.error"), std::string::npos) << log;
}

TEST_F(SqliteStoreTest, AnAppendCallbackThatThrowsIsLoggedAndTheOthersAreAnswered) {
  WriterGate gate;
  auto store = open(SqliteStoreOptions{std::chrono::milliseconds(5000), gate.seam()});
  ASSERT_TRUE(store);
  start_capturing_log();
  gate.arm();
  PendingAppend first, after;
  store->append_message(p2p(1, 2, 1), first.callback());
  ASSERT_TRUE(gate.wait_holding());
  store->append_message(
      p2p(1, 2, 2), [](Result<AppendOutcome>) { throw std::runtime_error("the caller's bug"); });
  store->append_message(p2p(1, 2, 3), after.callback());
  gate.release();
  EXPECT_TRUE(first.get().ok());
  EXPECT_TRUE(after.get().ok());
  auto later = append_and_wait(*store, p2p(1, 2, 4));
  std::string log = captured_log();
  EXPECT_TRUE(later.ok());
  EXPECT_NE(log.find("store.callback_threw op=append_message error=\"the caller's bug\""),
            std::string::npos)
      << log;
}

TEST_F(SqliteStoreTest, OutboxDeadCountCountsOnlyDeadLetters) {
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->outbox_dead_count(), 0u);
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(*store->outbox_add("http://x/", "\"type\":\"t\"}", 1));
  ASSERT_TRUE(store->outbox_failed(ids[0], 8, 2, true, "HTTP 500").ok());
  ASSERT_TRUE(store->outbox_failed(ids[1], 8, 2, true, "HTTP 500").ok());
  ASSERT_TRUE(store->outbox_failed(ids[2], 1, 2, false, "HTTP 500").ok());
  ASSERT_TRUE(store->outbox_delivered(ids[3]).ok());
  EXPECT_EQ(*store->outbox_dead_count(), 2u);
  EXPECT_EQ(store->outbox_dead(1000)->size(), 2u);
}

TEST_F(SqliteStoreTest, OpenWritesTheSchemaVersionAndRefusesAnother) {
  {
    auto store = open();
    ASSERT_TRUE(store);
  }
  {
    RawDb raw(path_);
    EXPECT_EQ(raw.query_text("SELECT value FROM meta WHERE key = 'schema_version'"), "2");
    EXPECT_EQ(raw.query_text("PRAGMA journal_mode"), "wal");
    ASSERT_EQ(raw.exec("UPDATE meta SET value = '99' WHERE key = 'schema_version'"), SQLITE_OK);
  }
  auto store = open_sqlite_store(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().rc, Rc::Unavailable);
  EXPECT_NE(store.error().msg.find("99"), std::string::npos) << store.error().msg;
}

TEST_F(SqliteStoreTest, OpeningAVersion1FileUpgradesItAndKeepsEveryMessage) {
  {
    // The layout version 1 wrote: the sender's mid unique per sender, no client_mid.
    RawDb raw(path_);
    ASSERT_EQ(raw.exec("PRAGMA journal_mode = WAL"), SQLITE_OK);
    ASSERT_EQ(raw.exec(R"sql(
      CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;
      INSERT INTO meta VALUES ('schema_version', '1');
      CREATE TABLE messages (
        rowid INTEGER PRIMARY KEY, mid INTEGER NOT NULL, from_uid INTEGER NOT NULL,
        kind INTEGER NOT NULL, to_uid INTEGER NOT NULL, to_uids TEXT NOT NULL,
        gid INTEGER NOT NULL, rid INTEGER NOT NULL, conv_lo INTEGER, conv_hi INTEGER,
        mtype INTEGER NOT NULL, msg TEXT NOT NULL, attrs TEXT NOT NULL, mtime INTEGER NOT NULL,
        UNIQUE (from_uid, mid));
      CREATE INDEX messages_p2p ON messages (conv_lo, conv_hi, mid) WHERE kind = 0;
      CREATE INDEX messages_group ON messages (gid, mid) WHERE kind = 2;
      CREATE INDEX messages_room ON messages (rid, mid) WHERE kind = 3;
      INSERT INTO messages VALUES (1, 5, 1, 0, 2, '', 0, 0, 1, 2, 30, 'old p2p', 'a', 100);
      INSERT INTO messages VALUES (2, 5, 2, 0, 1, '', 0, 0, 1, 2, 30, 'old reply', '', 200);
      INSERT INTO messages VALUES (3, 9, 1, 2, 0, '', 7, 0, NULL, NULL, 51, 'old group', '', 300);
    )sql"),
              SQLITE_OK);
  }
  auto store = open();
  ASSERT_TRUE(store);
  {
    RawDb raw(path_);
    EXPECT_EQ(raw.query_text("SELECT value FROM meta WHERE key = 'schema_version'"), "2");
  }
  auto h = store->history(p2p_query(1, 2));
  ASSERT_TRUE(h.ok()) << h.error().msg;
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].msg, "old reply");
  EXPECT_EQ((*h)[1].msg, "old p2p");
  EXPECT_EQ((*h)[1].attrs, "a");
  EXPECT_EQ((*h)[1].mtime, 100);
  HistoryQuery gq;
  gq.scope = HistoryQuery::Scope::Group;
  gq.gid = 7;
  auto g = store->history(gq);
  ASSERT_TRUE(g.ok()) << g.error().msg;
  ASSERT_EQ(g->size(), 1u);
  EXPECT_EQ((*g)[0].mid, 9u);
  EXPECT_EQ((*g)[0].mtype, 51);

  // The upgraded file takes new messages, and the old per-sender uniqueness of mid is gone.
  auto fresh = append_and_wait(*store, with_client_mid(p2p(1, 2, 1000, 400, "new"), 5));
  ASSERT_TRUE(fresh.ok()) << fresh.error().msg;
  EXPECT_FALSE(fresh->duplicate);
  auto after = store->history(p2p_query(1, 2));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->size(), 3u);
}

TEST_F(SqliteStoreTest, IdsAboveInt64MaxAreRefusedNotWrapped) {
  auto store = open();
  ASSERT_TRUE(store);
  constexpr std::uint64_t kHuge = (std::uint64_t{1} << 63) + 5;
  auto user = store->add_user("huge", "h", kHuge);
  ASSERT_FALSE(user.ok());
  EXPECT_EQ(user.error().rc, Rc::InvalidParameter);
  auto appended = append_and_wait(*store, p2p(1, 2, kHuge));
  ASSERT_FALSE(appended.ok());
  EXPECT_EQ(appended.error().rc, Rc::InvalidParameter);
  auto found = store->find_user(kHuge);
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().rc, Rc::NotFound);
  // A huge before_mid means "no bound", not "nothing".
  ASSERT_TRUE(append_and_wait(*store, p2p(1, 2, 3)).ok());
  auto q = p2p_query(1, 2);
  q.before_mid = kHuge;
  auto h = store->history(q);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(mids_of(*h), (std::vector<Mid>{3}));
}

}  // namespace
}  // namespace rtm

namespace rtm {
namespace {

TEST_F(SqliteStoreTest, BansAreKeptReplacedAndDeletedAcrossReopen) {
  {
    auto store = open();
    ASSERT_TRUE(store->put_ban(Ban{BanScope::Group, 7, 42, 1'000}).ok());
    ASSERT_TRUE(store->put_ban(Ban{BanScope::Group, 7, 42, 9'000}).ok());  // replaces
    ASSERT_TRUE(store->put_ban(Ban{BanScope::Project, 0, 5, Ban::kForever}).ok());
    ASSERT_TRUE(store->put_ban(Ban{BanScope::Room, 3, 6, 2'000}).ok());
    ASSERT_TRUE(store->delete_ban(BanScope::Room, 3, 6).ok());
    ASSERT_TRUE(store->delete_ban(BanScope::Room, 3, 6).ok());  // none: not an error
    store->close();
  }
  auto store = open();
  auto bans = store->bans();
  ASSERT_TRUE(bans.ok());
  ASSERT_EQ(bans->size(), 2u);
  std::sort(bans->begin(), bans->end(), [](const Ban& a, const Ban& b) { return a.uid > b.uid; });
  EXPECT_EQ((*bans)[0].scope, BanScope::Group);
  EXPECT_EQ((*bans)[0].target, 7u);
  EXPECT_EQ((*bans)[0].uid, 42u);
  EXPECT_EQ((*bans)[0].until_ms, 9'000);
  EXPECT_EQ((*bans)[1].scope, BanScope::Project);
  EXPECT_EQ((*bans)[1].until_ms, Ban::kForever);
  store->close();
}

}  // namespace
}  // namespace rtm
