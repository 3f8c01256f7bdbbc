// What only the SQLite engine shows, on a real database file in a temporary directory: the
// group-commit writer's batches (through the before_batch seam) and its close() from several
// threads or from a callback, acknowledged appends that survive kill -9 of the process, faults
// injected into the file (triggers, a corrupt page, another connection holding the write
// lock), the `store.error` log lines, the indexes the history queries use, and opening: open
// errors, the schema version and its upgrade. The guarantees every engine gives are pinned
// once, for every engine, in store_contract_test.cpp.
#include "store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite/sqlite_schema.hpp"
#include "store_calls.hpp"

namespace rtm {
namespace {

using namespace store_calls;

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

// --- appends ---------------------------------------------------------------------------------

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

TEST_F(SqliteStoreTest, AFileRecordIsStoredWithItsMessageOrNotAtAll) {
  auto store = open();
  ASSERT_TRUE(store);
  auto stored = append_file_and_wait(*store, p2p(1, 2, 1, 1000, "{file}"), file_for("f1", 1, 2));
  ASSERT_TRUE(stored.ok()) << stored.error().msg;
  ASSERT_TRUE(store->find_file("f1").ok());

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

// --- history ---------------------------------------------------------------------------------

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

// --- opening ---------------------------------------------------------------------------------

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

TEST_F(SqliteStoreTest, OpenWritesTheSchemaVersionAndRefusesAnother) {
  {
    auto store = open();
    ASSERT_TRUE(store);
  }
  {
    RawDb raw(path_);
    EXPECT_EQ(raw.query_text("SELECT value FROM meta WHERE key = 'schema_version'"), "4");
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
    EXPECT_EQ(raw.query_text("SELECT value FROM meta WHERE key = 'schema_version'"), "4");
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

}  // namespace
}  // namespace rtm
