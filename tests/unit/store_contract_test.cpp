// The contract of core/store.hpp, one suite run against every Store engine. Each test pins a
// guarantee written on Store or on one of its role interfaces (core/*_store.hpp) through the
// interface alone, so that another engine is held to the same tests by one more factory in
// engines() below. What only one engine can show (SQLite's WAL and indexes, a corrupt file,
// kill -9 of the process, another process holding the lock, the writer's batches) stays in
// that engine's own suite (sqlite_store_test.cpp).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <limits>
#include <memory>
#include <mutex>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/store.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store_calls.hpp"

namespace rtm {
namespace {

using namespace store_calls;

constexpr std::uint64_t kMaxId = std::numeric_limits<std::int64_t>::max();
constexpr std::uint64_t kHuge = (std::uint64_t{1} << 63) + 5;  // above every storable id

// One engine under test: how to get a fresh, empty store for one test and get rid of it.
struct StoreFactory {
  std::string name;  // ends the test names: Engines/StoreContractTest.X/Sqlite
  // Opens a store on the test's data, kept under `dir` (the test's own temporary directory)
  // and created empty by the first call. Opening again while a store is open is a second node
  // on the same data; opening again after the store is gone is a restart.
  std::function<Result<std::unique_ptr<Store>>(const std::filesystem::path& dir)> open;
  // Removes what open() made outside `dir` (the fixture removes `dir` itself); may be empty.
  std::function<void(const std::filesystem::path& dir)> destroy;
};

void PrintTo(const StoreFactory& factory, std::ostream* os) { *os << factory.name; }

StoreFactory sqlite_factory() {
  return StoreFactory{
      "Sqlite",
      [](const std::filesystem::path& dir) { return open_sqlite_store((dir / "rtm.db").string()); },
      nullptr,
  };
}

// Every engine the contract runs against. PostgreSQL's factory is the next line here: its
// open() starts (once per test) a server of its own on a loopback port with its data under
// `dir` and opens the `postgres://` store on a fresh database, and destroy() stops that
// server by its pid (DESIGN.md "Testing").
std::vector<StoreFactory> engines() { return {sqlite_factory()}; }

class StoreContractTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "rtm-store-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    if (GetParam().destroy) GetParam().destroy(dir_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // A store on this test's data; null (and the test failed) if it cannot be opened.
  std::unique_ptr<Store> open() {
    auto store = GetParam().open(dir_);
    EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error().msg);
    return store.ok() ? std::move(*store) : nullptr;
  }

  std::filesystem::path dir_;
};

INSTANTIATE_TEST_SUITE_P(Engines, StoreContractTest, ::testing::ValuesIn(engines()),
                         [](const ::testing::TestParamInfo<StoreFactory>& info) {
                           return info.param.name;
                         });

HistoryQuery group_query(Gid gid, int limit = 1000) {
  HistoryQuery q;
  q.scope = HistoryQuery::Scope::Group;
  q.gid = gid;
  q.limit = limit;
  return q;
}

HistoryQuery room_query(Rid rid, int limit = 1000) {
  HistoryQuery q;
  q.scope = HistoryQuery::Scope::Room;
  q.rid = rid;
  q.limit = limit;
  return q;
}

// --- MessageStore: the stream ----------------------------------------------------------------

TEST_P(StoreContractTest, PositionsIncreaseInCommitOrderAndMessagesAfterReadsThemBack) {
  auto store = open();
  ASSERT_TRUE(store);
  auto empty = store->last_position();
  ASSERT_TRUE(empty.ok()) << empty.error().msg;
  EXPECT_EQ(*empty, 0u);
  std::vector<std::uint64_t> positions;
  for (Mid mid = 1; mid <= 5; ++mid) {
    auto out = append_and_wait(*store, mid % 2 ? p2p(1, 2, mid) : group_message(1, 7, mid));
    ASSERT_TRUE(out.ok()) << out.error().msg;
    positions.push_back(out->position);
  }
  EXPECT_TRUE(std::is_sorted(positions.begin(), positions.end()));
  EXPECT_EQ(std::set<std::uint64_t>(positions.begin(), positions.end()).size(), 5u);
  EXPECT_GT(positions.front(), 0u);
  auto last = store->last_position();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, positions.back());

  auto after_second = store->messages_after(positions[1], 10);
  ASSERT_TRUE(after_second.ok()) << after_second.error().msg;
  ASSERT_EQ(after_second->size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*after_second)[i].position, positions[i + 2]);
    EXPECT_EQ((*after_second)[i].message.mid, Mid(i + 3));
  }
  EXPECT_EQ((*after_second)[1].message.kind, MessageKind::Group);
  EXPECT_EQ((*after_second)[1].message.gid, 7u);
  auto limited = store->messages_after(0, 2);
  ASSERT_TRUE(limited.ok());
  ASSERT_EQ(limited->size(), 2u);
  EXPECT_EQ((*limited)[1].position, positions[1]);
  auto none = store->messages_after(positions.back(), 10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  store->close();
}

TEST_P(StoreContractTest, ADuplicateAppendHasNoPositionAndAddsNothingToTheStream) {
  auto store = open();
  ASSERT_TRUE(store);
  auto first = append_and_wait(*store, with_client_mid(p2p(1, 2, 10), 77));
  ASSERT_TRUE(first.ok());
  auto again = append_and_wait(*store, with_client_mid(p2p(1, 2, 11), 77));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->position, 0u);
  auto stream = store->messages_after(0, 10);
  ASSERT_TRUE(stream.ok());
  EXPECT_EQ(stream->size(), 1u);
  store->close();
}

TEST_P(StoreContractTest, AppendCallbacksRunInPositionOrder) {
  auto store = open();
  ASSERT_TRUE(store);
  std::mutex mu;
  std::vector<std::uint64_t> seen;
  std::vector<std::thread> senders;
  for (int t = 0; t < 4; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        store->append_message(p2p(1 + t, 9, static_cast<Mid>(t * 1000 + i + 1)),
                              [&](Result<AppendOutcome> r) {
                                std::lock_guard lock(mu);
                                if (r.ok()) seen.push_back(r->position);
                              });
      }
    });
  }
  for (auto& t : senders) t.join();
  store->close();
  ASSERT_EQ(seen.size(), 200u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
}

// --- SessionStore ------------------------------------------------------------------------------

SessionRecord session_record(const std::string& id, Uid uid) {
  SessionRecord r;
  r.id = id;
  r.uid = uid;
  r.created_ms = 1234;
  r.settings.max_events = 7;
  r.settings.queue_limit = 50;
  r.settings.presence = false;
  r.settings.idle_timeout = 600;
  r.subscriptions = {{"s1", "group:3"}, {"s2", "presence:9"}, {"s10", "room:4"}};
  r.next_key = 11;
  r.read_position = 40;
  r.kept_position = 30;
  r.id_limit = 65536;
  return r;
}

TEST_P(StoreContractTest, ASavedSessionReadsBackEveryFieldAfterARestart) {
  {
    auto store = open();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->save_session(session_record("abc", 5)).ok());
    ASSERT_TRUE(store->save_session(session_record("xyz", 6)).ok());
    store->close();
  }
  auto store = open();
  ASSERT_TRUE(store);
  auto loaded = store->load_sessions();
  ASSERT_TRUE(loaded.ok()) << loaded.error().msg;
  ASSERT_EQ(loaded->size(), 2u);
  const SessionRecord& r = loaded->front().id == "abc" ? loaded->front() : loaded->back();
  EXPECT_EQ(r.id, "abc");
  EXPECT_EQ(r.uid, 5u);
  EXPECT_EQ(r.created_ms, 1234);
  EXPECT_EQ(r.settings.max_events, 7);
  EXPECT_EQ(r.settings.queue_limit, 50);
  EXPECT_FALSE(r.settings.presence);
  EXPECT_EQ(r.settings.idle_timeout, 600);
  EXPECT_EQ(r.next_key, 11u);
  EXPECT_EQ(r.read_position, 40u);
  EXPECT_EQ(r.kept_position, 30u);
  EXPECT_EQ(r.id_limit, 65536u);
  std::vector<std::pair<std::string, std::string>> in_key_order = {
      {"s1", "group:3"}, {"s2", "presence:9"}, {"s10", "room:4"}};
  EXPECT_EQ(r.subscriptions, in_key_order);
  store->close();
}

TEST_P(StoreContractTest, SavingASessionAgainReplacesItsSubscriptionsButNotItsReadPosition) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->save_session(session_record("abc", 5)).ok());
  ASSERT_TRUE(store->save_session_positions({{"abc", 90, 60, 70000}}).ok());
  SessionRecord changed = session_record("abc", 5);
  changed.subscriptions = {{"s11", "channel:news"}};
  changed.next_key = 12;
  changed.settings.max_events = 9;
  changed.read_position = 1;  // a snapshot older than the checkpoint
  changed.id_limit = 65536;   // lower than the stored reservation
  ASSERT_TRUE(store->save_session(changed).ok());
  auto loaded = store->load_sessions();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 1u);
  const auto& r = loaded->front();
  EXPECT_EQ(r.settings.max_events, 9);
  EXPECT_EQ(r.next_key, 12u);
  ASSERT_EQ(r.subscriptions.size(), 1u);
  EXPECT_EQ(r.subscriptions[0].second, "channel:news");
  EXPECT_EQ(r.read_position, 90u);
  EXPECT_EQ(r.kept_position, 60u);
  EXPECT_EQ(r.id_limit, 70000u);
  store->close();
}

TEST_P(StoreContractTest, SessionPositionsMoveReadPositionBothWaysAndIdLimitOnlyUp) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->save_session(session_record("abc", 5)).ok());
  ASSERT_TRUE(store->save_session_positions({{"abc", 100, 50, 131072}}).ok());
  // A rewound read (an answer that could not be delivered) moves it back; the ids stay.
  ASSERT_TRUE(store->save_session_positions({{"abc", 80, 50, 65536}}).ok());
  auto loaded = store->load_sessions();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ(loaded->front().read_position, 80u);
  EXPECT_EQ(loaded->front().id_limit, 131072u);
  store->close();
}

TEST_P(StoreContractTest, PositionsOfADeletedSessionDoNotBringItBack) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->save_session(session_record("gone", 5)).ok());
  ASSERT_TRUE(store->save_session(session_record("kept", 6)).ok());
  ASSERT_TRUE(store->delete_session("gone").ok());
  ASSERT_TRUE(store->delete_session("never-stored").ok());
  ASSERT_TRUE(store->save_session_positions({{"gone", 5, 5, 70000}, {"kept", 41, 35, 70000}}).ok());
  auto loaded = store->load_sessions();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ(loaded->front().id, "kept");
  EXPECT_EQ(loaded->front().read_position, 41u);
  EXPECT_EQ(loaded->front().kept_position, 35u);
  EXPECT_EQ(loaded->front().subscriptions.size(), 3u);
  store->close();
}

// --- MessageStore: appends -------------------------------------------------------------------

TEST_P(StoreContractTest, AnAppendIsInHistoryWhenItsCallbackRunsAndAfterARestart) {
  constexpr int kCount = 300;
  {
    auto store = open();
    ASSERT_TRUE(store);
    std::atomic<int> answered{0};
    std::atomic<int> visible_in_callback{0};
    Store* s = store.get();
    for (int i = 1; i <= kCount; ++i) {
      s->append_message(p2p(1, 2, i, 1000 + i), [s, i, &answered, &visible_in_callback](auto r) {
        // History already shows the message when its callback runs: it was committed.
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

TEST_P(StoreContractTest, AnAppendsCallbackRunsOnAStoreThreadNotTheCallers) {
  auto store = open();
  ASSERT_TRUE(store);
  const auto caller = std::this_thread::get_id();
  std::promise<std::thread::id> ran_on;
  auto future = ran_on.get_future();
  store->append_message(p2p(1, 2, 1), [&ran_on](Result<AppendOutcome>) {
    ran_on.set_value(std::this_thread::get_id());
  });
  ASSERT_EQ(future.wait_for(kWait), std::future_status::ready);
  EXPECT_NE(future.get(), caller);
  store->close();
}

TEST_P(StoreContractTest, AppendWithAnExistingClientMidAnswersTheFirstMessage) {
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
  auto plain_again = append_and_wait(*store, p2p(1, 2, 14, 5555, "plain"));
  ASSERT_TRUE(plain_again.ok()) << plain_again.error().msg;
  EXPECT_FALSE(plain_again->duplicate);

  auto h = store->history(p2p_query(1, 2));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(mids_of(*h), (std::vector<Mid>{14, 13, 12, 10}));
  EXPECT_EQ(h->back().msg, "first");
}

TEST_P(StoreContractTest, AClientMidStaysTakenAfterARestart) {
  {
    auto store = open();
    ASSERT_TRUE(store);
    ASSERT_TRUE(append_and_wait(*store, with_client_mid(p2p(1, 2, 10, 1111), 5)).ok());
    store->close();
  }
  auto store = open();
  ASSERT_TRUE(store);
  auto again = append_and_wait(*store, with_client_mid(p2p(1, 2, 20, 2222), 5));
  ASSERT_TRUE(again.ok()) << again.error().msg;
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->mid, 10u);
  EXPECT_EQ(again->mtime, 1111);
  auto h = store->history(p2p_query(1, 2));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(mids_of(*h), (std::vector<Mid>{10}));
}

TEST_P(StoreContractTest, ConcurrentAppendsOfOneClientMidStoreOneMessage) {
  auto store = open();
  ASSERT_TRUE(store);
  constexpr int kCopies = 16;
  std::vector<PendingAppend> pending(kCopies);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCopies; ++i)
    threads.emplace_back([&, i] {
      store->append_message(with_client_mid(p2p(1, 2, 100 + i, 5000 + i), 9),
                            pending[i].callback());
    });
  for (auto& t : threads) t.join();
  int fresh = 0;
  std::set<Mid> answered_mids;
  std::set<std::int64_t> answered_mtimes;
  for (auto& p : pending) {
    auto r = p.get();
    ASSERT_TRUE(r.ok()) << r.error().msg;
    if (!r->duplicate) ++fresh;
    answered_mids.insert(r->mid);
    answered_mtimes.insert(r->mtime);
  }
  EXPECT_EQ(fresh, 1);
  ASSERT_EQ(answered_mids.size(), 1u);
  ASSERT_EQ(answered_mtimes.size(), 1u);
  auto h = store->history(p2p_query(1, 2));
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 1u);
  EXPECT_EQ((*h)[0].mid, *answered_mids.begin());
  EXPECT_EQ((*h)[0].mtime, *answered_mtimes.begin());
  EXPECT_EQ((*h)[0].mtime - 5000, static_cast<std::int64_t>((*h)[0].mid) - 100);
}

TEST_P(StoreContractTest, AppendsFromManyThreadsAreEachStoredOnce) {
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

TEST_P(StoreContractTest, CloseRunsTheCallbackOfEveryAppendAcceptedBeforeIt) {
  auto store = open();
  ASSERT_TRUE(store);
  std::atomic<int> ok{0};
  for (int i = 1; i <= 2000; ++i)
    store->append_message(p2p(1, 2, i), [&ok](auto r) { ok.fetch_add(r.ok() ? 1 : 0); });
  store->close();
  EXPECT_EQ(ok.load(), 2000);
  auto h = store->history(p2p_query(1, 2, 5000));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->size(), 2000u);
}

TEST_P(StoreContractTest, AppendAfterCloseAnswersUnavailableAtOnceOnTheCallersThread) {
  auto store = open();
  ASSERT_TRUE(store);
  store->close();
  const auto caller = std::this_thread::get_id();
  bool called = false;
  std::thread::id ran_on;
  Result<AppendOutcome> outcome = Error{Rc::Ok, ""};
  store->append_message(p2p(1, 2, 1), [&](Result<AppendOutcome> r) {
    called = true;
    ran_on = std::this_thread::get_id();
    outcome = std::move(r);
  });
  ASSERT_TRUE(called) << "after close the callback must run at once";
  EXPECT_EQ(ran_on, caller);
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error().rc, Rc::Unavailable);

  bool file_called = false;
  Result<AppendOutcome> file_outcome = Error{Rc::Ok, ""};
  store->append_file_message(p2p(1, 2, 2), file_for("late", 1, 2), [&](Result<AppendOutcome> r) {
    file_called = true;
    file_outcome = std::move(r);
  });
  ASSERT_TRUE(file_called) << "after close the callback must run at once";
  ASSERT_FALSE(file_outcome.ok());
  EXPECT_EQ(file_outcome.error().rc, Rc::Unavailable);

  auto h = store->history(p2p_query(1, 2));
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->empty());
  auto late = store->find_file("late");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().rc, Rc::NotFound);
}

TEST_P(StoreContractTest, AFileMessageStoresItsRecordWithIt) {
  auto store = open();
  ASSERT_TRUE(store);
  auto stored = append_file_and_wait(*store, p2p(1, 2, 1, 1000, "{file}"), file_for("f1", 1, 2));
  ASSERT_TRUE(stored.ok()) << stored.error().msg;
  EXPECT_FALSE(stored->duplicate);
  auto found = store->find_file("f1");
  ASSERT_TRUE(found.ok()) << found.error().msg;
  EXPECT_EQ(found->from, 1u);
  EXPECT_EQ(found->to, 2u);
  EXPECT_EQ(found->name, "f.txt");
  auto h = store->history(p2p_query(1, 2));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(mids_of(*h), (std::vector<Mid>{1}));
  EXPECT_EQ((*h)[0].msg, "{file}");
}

TEST_P(StoreContractTest, AFileMessageThatIsRefusedLeavesNoRecord) {
  auto store = open();
  ASSERT_TRUE(store);
  // The message cannot be stored (its mid is above INT64_MAX), so its record is not either.
  auto refused = append_file_and_wait(*store, p2p(1, 2, kHuge), file_for("f1", 1, 2));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().rc, Rc::InvalidParameter);
  auto found = store->find_file("f1");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().rc, Rc::NotFound) << "a record without its message";
  // Nor the other way round: a record that cannot be stored keeps its message out.
  auto bad_record = append_file_and_wait(*store, p2p(1, 2, 2), file_for("f2", 1, kHuge));
  ASSERT_FALSE(bad_record.ok());
  EXPECT_EQ(bad_record.error().rc, Rc::InvalidParameter);
  EXPECT_EQ(store->find_file("f2").error().rc, Rc::NotFound);
  auto h = store->history(p2p_query(1, 2));
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->empty()) << "a message without its record";
  auto files = store->list_files(1'000'000, 10);
  ASSERT_TRUE(files.ok());
  EXPECT_TRUE(files->empty());
}

TEST_P(StoreContractTest, CallsFromManyThreadsAtOnceAllSucceed) {
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
  std::set<Uid> uids;
  for (int t = 0; t < 6; ++t) {
    auto members = store->group_members(t + 1);
    ASSERT_TRUE(members.ok());
    EXPECT_EQ(members->size(), 100u);
    uids.insert(members->begin(), members->end());
  }
  EXPECT_EQ(uids.size(), 600u) << "two users were given one uid";
}

// --- MessageStore: history -------------------------------------------------------------------

TEST_P(StoreContractTest, HistoryIsNewestFirstAndPagesByBeforeMid) {
  auto store = open();
  ASSERT_TRUE(store);
  // Appended out of order: history orders by mid, not by arrival.
  for (Mid mid : {3, 1, 10, 2, 7, 5, 9, 4, 8, 6})
    ASSERT_TRUE(append_and_wait(*store, group_message(1, 42, mid)).ok());

  HistoryQuery q = group_query(42, 4);
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

TEST_P(StoreContractTest, HistoryReturnsEveryFieldAsAppended) {
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

TEST_P(StoreContractTest, P2pHistoryHoldsBothDirectionsOfOneConversationOnly) {
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

TEST_P(StoreContractTest, GroupAndRoomHistoryHoldOnlyTheirKindAndId) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(append_and_wait(*store, group_message(1, 5, 1)).ok());
  ASSERT_TRUE(append_and_wait(*store, group_message(1, 6, 2)).ok());
  ASSERT_TRUE(append_and_wait(*store, room_message(1, 5, 3)).ok());
  ASSERT_TRUE(append_and_wait(*store, room_message(1, 6, 4)).ok());
  ASSERT_TRUE(append_and_wait(*store, p2p(1, 5, 5)).ok());

  auto groups = store->history(group_query(5));
  ASSERT_TRUE(groups.ok());
  EXPECT_EQ(mids_of(*groups), (std::vector<Mid>{1}));
  EXPECT_EQ((*groups)[0].gid, 5u);
  EXPECT_EQ((*groups)[0].kind, MessageKind::Group);

  auto rooms = store->history(room_query(5));
  ASSERT_TRUE(rooms.ok());
  EXPECT_EQ(mids_of(*rooms), (std::vector<Mid>{3}));
  EXPECT_EQ((*rooms)[0].rid, 5u);
  EXPECT_EQ((*rooms)[0].kind, MessageKind::Room);
}

// --- UserStore -------------------------------------------------------------------------------

TEST_P(StoreContractTest, AddUserWithoutAUidAssignsOneAboveTheHighest) {
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
  EXPECT_EQ(by_login->password_hash, "hash-c");
}

TEST_P(StoreContractTest, AddUserWithATakenLoginAnswersAlreadyExistsAndKeepsTheFirst) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->add_user("alice", "h", 0).ok());
  auto again = store->add_user("alice", "h2", 0);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().rc, Rc::AlreadyExists);
  auto with_uid = store->add_user("alice", "h3", 50);
  ASSERT_FALSE(with_uid.ok());
  EXPECT_EQ(with_uid.error().rc, Rc::AlreadyExists);
  auto user = store->find_user_by_login("alice");
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->uid, 1u);
  EXPECT_EQ(user->password_hash, "h");  // the first one is untouched
  EXPECT_EQ(store->find_user(50).error().rc, Rc::NotFound);
}

TEST_P(StoreContractTest, AddUserWithATakenUidAnswersAlreadyExistsAndStoresNothing) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->add_user("alice", "h", 7).ok());
  auto again = store->add_user("bob", "h", 7);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().rc, Rc::AlreadyExists);
  auto bob = store->find_user_by_login("bob");
  ASSERT_FALSE(bob.ok());
  EXPECT_EQ(bob.error().rc, Rc::NotFound);
  EXPECT_EQ(store->find_user(7)->login, "alice");
}

TEST_P(StoreContractTest, UnknownUsersAnswerNotFound) {
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

TEST_P(StoreContractTest, SetPasswordReplacesTheHash) {
  auto store = open();
  ASSERT_TRUE(store);
  auto uid = store->add_user("alice", "old", 0);
  ASSERT_TRUE(uid.ok());
  ASSERT_TRUE(store->set_password(*uid, "new").ok());
  auto user = store->find_user(*uid);
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->password_hash, "new");
  auto by_login = store->find_user_by_login("alice");
  ASSERT_TRUE(by_login.ok());
  EXPECT_EQ(by_login->password_hash, "new");
}

TEST_P(StoreContractTest, DeleteUserRemovesItsGroupAndRoomMemberships) {
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
  EXPECT_EQ(store->find_user_by_login("alice").error().rc, Rc::NotFound);
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

// --- MembershipStore -------------------------------------------------------------------------

TEST_P(StoreContractTest, GroupMembersAreAscendingAndAddedOnce) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->add_group_members(7, {5, 3, 9, 3}).ok());
  ASSERT_TRUE(store->add_group_members(7, {3}).ok());
  auto members = store->group_members(7);
  ASSERT_TRUE(members.ok());
  EXPECT_EQ(*members, (std::vector<Uid>{3, 5, 9}));

  ASSERT_TRUE(store->del_group_members(7, {5}).ok());
  members = store->group_members(7);
  ASSERT_TRUE(members.ok());
  EXPECT_EQ(*members, (std::vector<Uid>{3, 9}));
  EXPECT_TRUE(*store->is_group_member(7, 3));
  EXPECT_FALSE(*store->is_group_member(7, 5));

  ASSERT_TRUE(store->add_group_members(12, {3}).ok());
  ASSERT_TRUE(store->add_group_members(2, {3}).ok());
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
}

TEST_P(StoreContractTest, RoomMembersAreAscendingAndAddedOnce) {
  auto store = open();
  ASSERT_TRUE(store);
  for (Uid u : {8, 2, 5, 2}) ASSERT_TRUE(store->add_room_member(4, u).ok());
  auto members = store->room_members(4);
  ASSERT_TRUE(members.ok());
  EXPECT_EQ(*members, (std::vector<Uid>{2, 5, 8}));
  ASSERT_TRUE(store->del_room_member(4, 5).ok());
  members = store->room_members(4);
  ASSERT_TRUE(members.ok());
  EXPECT_EQ(*members, (std::vector<Uid>{2, 8}));
  EXPECT_TRUE(*store->is_room_member(4, 8));
  EXPECT_FALSE(*store->is_room_member(4, 5));
  EXPECT_FALSE(*store->is_room_member(5, 8));
}

TEST_P(StoreContractTest, RemovingAbsentMembersAndGroupsIsNotAnError) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->add_group_members(7, {3, 9}).ok());
  ASSERT_TRUE(store->add_room_member(4, 8).ok());

  EXPECT_TRUE(store->del_group_members(7, {5, 100}).ok());  // not members
  EXPECT_TRUE(store->del_group_members(7, {3, 100}).ok());  // one of them is
  EXPECT_TRUE(store->del_group_members(8, {3}).ok());       // no such group
  EXPECT_TRUE(store->del_group_members(7, {}).ok());
  EXPECT_TRUE(store->delete_group(8).ok());
  EXPECT_TRUE(store->del_room_member(4, 5).ok());
  EXPECT_TRUE(store->del_room_member(5, 8).ok());  // no such room

  auto members = store->group_members(7);
  ASSERT_TRUE(members.ok());
  EXPECT_EQ(*members, (std::vector<Uid>{9}));
  auto room = store->room_members(4);
  ASSERT_TRUE(room.ok());
  EXPECT_EQ(*room, (std::vector<Uid>{8}));

  ASSERT_TRUE(store->delete_group(7).ok());
  EXPECT_TRUE(store->delete_group(7).ok()) << "a group without members is not an error";
}

TEST_P(StoreContractTest, GroupsAndRoomsWithoutMembersAreEmpty) {
  auto store = open();
  ASSERT_TRUE(store);
  auto group = store->group_members(70);
  ASSERT_TRUE(group.ok());
  EXPECT_TRUE(group->empty());
  auto in_group = store->is_group_member(70, 1);
  ASSERT_TRUE(in_group.ok());
  EXPECT_FALSE(*in_group);
  auto groups = store->user_groups(1);
  ASSERT_TRUE(groups.ok());
  EXPECT_TRUE(groups->empty());
  auto room = store->room_members(40);
  ASSERT_TRUE(room.ok());
  EXPECT_TRUE(room->empty());
  auto in_room = store->is_room_member(40, 1);
  ASSERT_TRUE(in_room.ok());
  EXPECT_FALSE(*in_room);

  // A group whose last member left is as if it never was.
  ASSERT_TRUE(store->add_group_members(71, {1}).ok());
  ASSERT_TRUE(store->del_group_members(71, {1}).ok());
  group = store->group_members(71);
  ASSERT_TRUE(group.ok());
  EXPECT_TRUE(group->empty());
  groups = store->user_groups(1);
  ASSERT_TRUE(groups.ok());
  EXPECT_TRUE(groups->empty());
}

// --- ModerationStore -------------------------------------------------------------------------

TEST_P(StoreContractTest, BansAreKeptReplacedAndDeletedAcrossARestart) {
  {
    auto store = open();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->put_ban(Ban{BanScope::Group, 7, 42, 1'000}).ok());
    ASSERT_TRUE(store->put_ban(Ban{BanScope::Group, 7, 42, 9'000}).ok());  // replaces
    ASSERT_TRUE(store->put_ban(Ban{BanScope::Project, 0, 5, Ban::kForever}).ok());
    ASSERT_TRUE(store->put_ban(Ban{BanScope::Room, 3, 6, 2'000}).ok());
    ASSERT_TRUE(store->delete_ban(BanScope::Room, 3, 6).ok());
    ASSERT_TRUE(store->delete_ban(BanScope::Room, 3, 6).ok());    // none: not an error
    ASSERT_TRUE(store->delete_ban(BanScope::Group, 7, 43).ok());  // another uid: none
    store->close();
  }
  auto store = open();
  ASSERT_TRUE(store);
  auto bans = store->bans();
  ASSERT_TRUE(bans.ok());
  ASSERT_EQ(bans->size(), 2u);
  std::sort(bans->begin(), bans->end(), [](const Ban& a, const Ban& b) { return a.uid > b.uid; });
  EXPECT_EQ((*bans)[0].scope, BanScope::Group);
  EXPECT_EQ((*bans)[0].target, 7u);
  EXPECT_EQ((*bans)[0].uid, 42u);
  EXPECT_EQ((*bans)[0].until_ms, 9'000);
  EXPECT_EQ((*bans)[1].scope, BanScope::Project);
  EXPECT_EQ((*bans)[1].target, 0u);
  EXPECT_EQ((*bans)[1].uid, 5u);
  EXPECT_EQ((*bans)[1].until_ms, Ban::kForever);
  store->close();
}

TEST_P(StoreContractTest, BansOfOneUidInOtherScopesOrTargetsAreSeparate) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put_ban(Ban{BanScope::Group, 7, 42, 1'000}).ok());
  ASSERT_TRUE(store->put_ban(Ban{BanScope::Group, 8, 42, 2'000}).ok());
  ASSERT_TRUE(store->put_ban(Ban{BanScope::Room, 7, 42, 3'000}).ok());
  ASSERT_TRUE(store->delete_ban(BanScope::Group, 8, 42).ok());
  auto bans = store->bans();
  ASSERT_TRUE(bans.ok());
  ASSERT_EQ(bans->size(), 2u);
  std::sort(bans->begin(), bans->end(),
            [](const Ban& a, const Ban& b) { return a.until_ms < b.until_ms; });
  EXPECT_EQ((*bans)[0].scope, BanScope::Group);
  EXPECT_EQ((*bans)[0].target, 7u);
  EXPECT_EQ((*bans)[0].until_ms, 1'000);
  EXPECT_EQ((*bans)[1].scope, BanScope::Room);
  EXPECT_EQ((*bans)[1].target, 7u);
  EXPECT_EQ((*bans)[1].until_ms, 3'000);
}

// --- FileStore -------------------------------------------------------------------------------

FileRecord file_created_at(const std::string& id, std::int64_t created_ms, std::string sha256) {
  FileRecord f = file_for(id, 1, 2);
  f.created_ms = created_ms;
  f.sha256 = std::move(sha256);
  return f;
}

// Appends the file message of `f` with mid `mid`; false (and the test failed) if it failed.
bool append_file(Store& store, Mid mid, FileRecord f) {
  auto r = append_file_and_wait(store, p2p(f.from, f.to, mid, f.created_ms, "{file}"), f);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().msg);
  return r.ok();
}

std::vector<std::string> ids_of(const std::vector<FileRecord>& files) {
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back(f.id);
  return out;
}

TEST_P(StoreContractTest, AFileRecordReadsBackEveryField) {
  auto store = open();
  ASSERT_TRUE(store);
  FileRecord f;
  f.id = "Zx-9_file";
  f.sha256 = std::string(64, 'c');
  f.name = "r\xC3\xA9sum\xC3\xA9 \"final\".pdf";
  f.type = "application/pdf";
  f.size = 5'000'000'000;
  f.from = 3;
  f.kind = MessageKind::Multi;
  f.to_uids = {4, 5, 9'000'000'000};
  f.created_ms = 1'700'000'000'123;
  Message m;
  m.kind = MessageKind::Multi;
  m.from = 3;
  m.to_uids = f.to_uids;
  m.mid = 1;
  ASSERT_TRUE(append_file_and_wait(*store, m, f).ok());
  FileRecord g = file_for("group-file", 3, 0);
  g.kind = MessageKind::Group;
  g.gid = 77;
  ASSERT_TRUE(append_file_and_wait(*store, group_message(3, 77, 2), g).ok());
  FileRecord r = file_for("room-file", 3, 0);
  r.kind = MessageKind::Room;
  r.rid = 88;
  ASSERT_TRUE(append_file_and_wait(*store, room_message(3, 88, 3), r).ok());

  auto got = store->find_file("Zx-9_file");
  ASSERT_TRUE(got.ok()) << got.error().msg;
  EXPECT_EQ(got->id, f.id);
  EXPECT_EQ(got->sha256, f.sha256);
  EXPECT_EQ(got->name, f.name);
  EXPECT_EQ(got->type, f.type);
  EXPECT_EQ(got->size, f.size);
  EXPECT_EQ(got->from, 3u);
  EXPECT_EQ(got->kind, MessageKind::Multi);
  EXPECT_EQ(got->to_uids, f.to_uids);
  EXPECT_EQ(got->created_ms, f.created_ms);
  auto group_file = store->find_file("group-file");
  ASSERT_TRUE(group_file.ok());
  EXPECT_EQ(group_file->kind, MessageKind::Group);
  EXPECT_EQ(group_file->gid, 77u);
  EXPECT_TRUE(group_file->to_uids.empty());
  auto room_file = store->find_file("room-file");
  ASSERT_TRUE(room_file.ok());
  EXPECT_EQ(room_file->kind, MessageKind::Room);
  EXPECT_EQ(room_file->rid, 88u);
}

TEST_P(StoreContractTest, FindFileOfAnUnknownIdAnswersNotFound) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(append_file(*store, 1, file_for("known", 1, 2)));
  auto found = store->find_file("unknown");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().rc, Rc::NotFound);
}

TEST_P(StoreContractTest, ListFilesIsNewestFirstBeforeAnExclusiveTimeAndAtMostTheLimit) {
  auto store = open();
  ASSERT_TRUE(store);
  const std::string sha(64, 'a');
  ASSERT_TRUE(append_file(*store, 1, file_created_at("t100", 100, sha)));
  ASSERT_TRUE(append_file(*store, 2, file_created_at("t300", 300, sha)));
  ASSERT_TRUE(append_file(*store, 3, file_created_at("t200", 200, sha)));
  ASSERT_TRUE(append_file(*store, 4, file_created_at("t400", 400, sha)));

  auto all = store->list_files(1'000, 10);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(ids_of(*all), (std::vector<std::string>{"t400", "t300", "t200", "t100"}));
  auto before_300 = store->list_files(300, 10);
  ASSERT_TRUE(before_300.ok());
  EXPECT_EQ(ids_of(*before_300), (std::vector<std::string>{"t200", "t100"}));
  auto two = store->list_files(1'000, 2);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(ids_of(*two), (std::vector<std::string>{"t400", "t300"}));
  auto none = store->list_files(100, 10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreContractTest, DeleteFilesBeforeForgetsOnlyOlderFilesAndCountsThem) {
  auto store = open();
  ASSERT_TRUE(store);
  const std::string sha(64, 'a');
  ASSERT_TRUE(append_file(*store, 1, file_created_at("t100", 100, sha)));
  ASSERT_TRUE(append_file(*store, 2, file_created_at("t200", 200, sha)));
  ASSERT_TRUE(append_file(*store, 3, file_created_at("t300", 300, sha)));

  auto removed = store->delete_files_before(300);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 2u);
  EXPECT_EQ(store->find_file("t100").error().rc, Rc::NotFound);
  EXPECT_EQ(store->find_file("t200").error().rc, Rc::NotFound);
  EXPECT_TRUE(store->find_file("t300").ok()) << "created at the bound, not before it";
  auto again = store->delete_files_before(300);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0u);
  // The messages that announced them stay: only the records are forgotten.
  auto h = store->history(p2p_query(1, 2));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->size(), 3u);
}

TEST_P(StoreContractTest, BlobsInUseAreThoseOfTheRemainingFiles) {
  auto store = open();
  ASSERT_TRUE(store);
  const std::string shared(64, 'a'), old_only(64, 'b'), recent(64, 'c');
  ASSERT_TRUE(append_file(*store, 1, file_created_at("old-shared", 100, shared)));
  ASSERT_TRUE(append_file(*store, 2, file_created_at("old-only", 100, old_only)));
  ASSERT_TRUE(append_file(*store, 3, file_created_at("new-shared", 500, shared)));
  ASSERT_TRUE(append_file(*store, 4, file_created_at("new", 500, recent)));

  auto in_use = store->blobs_in_use();
  ASSERT_TRUE(in_use.ok());
  EXPECT_EQ(std::set<std::string>(in_use->begin(), in_use->end()),
            (std::set<std::string>{shared, old_only, recent}));
  ASSERT_TRUE(store->delete_files_before(200).ok());
  in_use = store->blobs_in_use();
  ASSERT_TRUE(in_use.ok());
  EXPECT_EQ(std::set<std::string>(in_use->begin(), in_use->end()),
            (std::set<std::string>{shared, recent}));
}

// --- OutboxStore -----------------------------------------------------------------------------

TEST_P(StoreContractTest, AnUploadGrantIsTakenOnceAndSurvivesARestart) {
  {
    auto store = open();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->put_upload_grant("tok", "the grant", 5000).ok());
    store->close();
  }
  auto store = open();
  ASSERT_TRUE(store);
  auto first = store->take_upload_grant("tok");
  ASSERT_TRUE(first.ok()) << first.error().msg;
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->grant, "the grant");
  EXPECT_EQ((*first)->expires_ms, 5000);
  auto second = store->take_upload_grant("tok");
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->has_value());
  auto unknown = store->take_upload_grant("never");
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->has_value());
}

TEST_P(StoreContractTest, AnUploadGrantTakenByManyThreadsAtOnceGoesToOne) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put_upload_grant("tok", "g", 5000).ok());
  std::atomic<int> got{0};
  std::vector<std::thread> takers;
  for (int i = 0; i < 8; ++i)
    takers.emplace_back([&] {
      auto r = store->take_upload_grant("tok");
      if (r.ok() && r->has_value()) got.fetch_add(1);
    });
  for (auto& t : takers) t.join();
  EXPECT_EQ(got.load(), 1);
}

TEST_P(StoreContractTest, ExpiredUploadGrantsAreForgottenAndLiveOnesKept) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put_upload_grant("old", "g", 1000).ok());
  ASSERT_TRUE(store->put_upload_grant("edge", "g", 2000).ok());
  ASSERT_TRUE(store->put_upload_grant("live", "g", 3000).ok());
  auto forgotten = store->delete_expired_upload_grants(2000);
  ASSERT_TRUE(forgotten.ok());
  EXPECT_EQ(*forgotten, 2u);
  EXPECT_FALSE(store->take_upload_grant("old")->has_value());
  EXPECT_FALSE(store->take_upload_grant("edge")->has_value());
  EXPECT_TRUE(store->take_upload_grant("live")->has_value());
}

TEST_P(StoreContractTest, ServerEventsAreKeptToTheNewestWithTheirCursorAcrossARestart) {
  {
    auto store = open();
    ASSERT_TRUE(store);
    auto empty = store->load_server_events(10);
    ASSERT_TRUE(empty.ok()) << empty.error().msg;
    EXPECT_TRUE(empty->events.empty());
    EXPECT_EQ(empty->last_id, 0u);
    EXPECT_EQ(empty->cursor, 0u);
    ASSERT_TRUE(store->save_server_events({{1, "a"}, {2, "b"}, {3, "c"}}, 1, 4).ok());
    ASSERT_TRUE(store->save_server_events({{3, "not again"}, {4, "d"}, {5, "e"}}, 4, 4).ok());
    ASSERT_TRUE(store->save_server_events({}, 5, 4).ok());  // only the cursor moved
    store->close();
  }
  auto store = open();
  ASSERT_TRUE(store);
  auto got = store->load_server_events(4);
  ASSERT_TRUE(got.ok()) << got.error().msg;
  std::vector<std::pair<std::uint64_t, std::string>> newest = {
      {2, "b"}, {3, "c"}, {4, "d"}, {5, "e"}};
  EXPECT_EQ(got->events, newest);
  EXPECT_EQ(got->last_id, 5u);
  EXPECT_EQ(got->cursor, 5u);
  auto fewer = store->load_server_events(2);
  ASSERT_TRUE(fewer.ok());
  ASSERT_EQ(fewer->events.size(), 2u);
  EXPECT_EQ(fewer->events.front().first, 4u);
}

// --- ChannelStore --------------------------------------------------------------------------

namespace {

std::uint64_t append_channel(Store& store, const std::string& client_id, std::int64_t expires_ms,
                             const std::string& text) {
  std::promise<Result<std::uint64_t>> done;
  store.append_channel_message(client_id, expires_ms, text,
                               [&](Result<std::uint64_t> r) { done.set_value(std::move(r)); });
  auto r = done.get_future().get();
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().msg);
  return r.ok() ? *r : 0;
}

std::vector<std::string> channel_texts(const ChannelRecord& c) {
  std::vector<std::string> out;
  for (const auto& m : c.messages) out.push_back(m.text);
  return out;
}

}  // namespace

TEST_P(StoreContractTest, ChannelMessagesComeBackInOrderWithTheirChannelAcrossARestart) {
  const std::int64_t now = 1'000'000, hour = 3'600'000;
  std::uint64_t a = 0, b = 0, c = 0;
  {
    auto store = open();
    ASSERT_TRUE(store);
    // Saved by create, then by its first message: the later expiry wins, never the earlier.
    ASSERT_TRUE(store->save_channel(ChannelRecord{"ch", now + 2 * hour, false, {}}).ok());
    a = append_channel(*store, "ch", now + hour, "one");
    b = append_channel(*store, "ch", now + hour, "two");
    c = append_channel(*store, "other", now + hour, "three");  // its channel comes with it
    EXPECT_GT(a, 0u);
    EXPECT_LT(a, b);
    EXPECT_LT(b, c);
    store->close();
  }
  auto store = open();
  ASSERT_TRUE(store);
  auto got = store->load_channels(now, 10);
  ASSERT_TRUE(got.ok()) << got.error().msg;
  ASSERT_EQ(got->size(), 2u);
  const ChannelRecord& ch = (*got)[0].client_id == "ch" ? (*got)[0] : (*got)[1];
  const ChannelRecord& other = (*got)[0].client_id == "ch" ? (*got)[1] : (*got)[0];
  EXPECT_EQ(ch.expires_ms, now + 2 * hour);
  EXPECT_FALSE(ch.connected);
  EXPECT_EQ(channel_texts(ch), (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(ch.messages[0].position, a);
  EXPECT_EQ(ch.messages[1].position, b);
  EXPECT_EQ(other.expires_ms, now + hour);
  EXPECT_EQ(channel_texts(other), (std::vector<std::string>{"three"}));
}

TEST_P(StoreContractTest, SaveChannelsForgetsGonePositionsPutsBackRestoredOnesAndDropsExpired) {
  const std::int64_t now = 1'000'000, hour = 3'600'000;
  auto store = open();
  ASSERT_TRUE(store);
  std::uint64_t one = append_channel(*store, "ch", now + hour, "one");
  std::uint64_t two = append_channel(*store, "ch", now + hour, "two");
  append_channel(*store, "short", now + 1'000, "dies with its channel");
  // "one" was taken and delivered, "two" taken, forgotten, then given back; "ch" connected.
  ASSERT_TRUE(store->save_channels({}, {}, {one, two}, now).ok());
  ASSERT_TRUE(store
                  ->save_channels({ChannelRecord{"ch", now, true, {}}},
                                  {ChannelMessageRow{"ch", ChannelMessage{two, "two"}}}, {},
                                  now + 1'000)
                  .ok());
  auto got = store->load_channels(now + 1'000, 10);
  ASSERT_TRUE(got.ok()) << got.error().msg;
  ASSERT_EQ(got->size(), 1u) << "the channel that expired is gone with its message";
  EXPECT_EQ((*got)[0].client_id, "ch");
  EXPECT_TRUE((*got)[0].connected);
  EXPECT_EQ((*got)[0].expires_ms, now + hour) << "a save never shortens a channel";
  EXPECT_EQ(channel_texts((*got)[0]), (std::vector<std::string>{"two"}));
  EXPECT_EQ((*got)[0].messages[0].position, two) << "back under its own position";
  std::uint64_t three = append_channel(*store, "ch", now + hour, "three");
  EXPECT_GT(three, two) << "a position is never handed out twice";
}

TEST_P(StoreContractTest, LoadChannelsAnswersAtMostTheNewestQueueLimitMessages) {
  const std::int64_t now = 1'000'000, hour = 3'600'000;
  auto store = open();
  ASSERT_TRUE(store);
  for (int i = 1; i <= 5; ++i) append_channel(*store, "ch", now + hour, std::to_string(i));
  auto got = store->load_channels(now, 3);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ(channel_texts((*got)[0]), (std::vector<std::string>{"3", "4", "5"}));
  EXPECT_TRUE(store->load_channels(now + hour, 3)->empty()) << "expired at its expiry";
}

TEST_P(StoreContractTest, OutboxDueAnswersLiveEntriesThatAreDueOldestFirst) {
  auto store = open();
  ASSERT_TRUE(store);
  auto a = store->outbox_add("http://a/", R"("type":"a"})", 100);
  auto b = store->outbox_add("http://b/", R"("type":"b"})", 100);
  auto c = store->outbox_add("http://c/", R"("type":"c"})", 200);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_LT(*a, *b);
  EXPECT_LT(*b, *c);

  auto early = store->outbox_due(99, 10);
  ASSERT_TRUE(early.ok());
  EXPECT_TRUE(early->empty());
  auto at_100 = store->outbox_due(100, 10);
  ASSERT_TRUE(at_100.ok());
  ASSERT_EQ(at_100->size(), 2u);
  const OutboxEntry& first = (*at_100)[0];
  EXPECT_EQ(first.id, *a);
  EXPECT_EQ(first.url, "http://a/");
  EXPECT_EQ(first.body, R"("type":"a"})");
  EXPECT_EQ(first.attempts, 0);
  EXPECT_EQ(first.next_at_ms, 100);
  EXPECT_FALSE(first.dead);
  EXPECT_EQ(first.last_error, "");
  EXPECT_EQ(first.created_ms, 100);
  EXPECT_EQ((*at_100)[1].id, *b);
  auto one = store->outbox_due(1'000, 1);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].id, *a);

  // A retry later is not due before its time; a dead letter is never due.
  ASSERT_TRUE(store->outbox_failed(*a, 1, 5'000, false, "HTTP 503").ok());
  ASSERT_TRUE(store->outbox_failed(*b, 8, 300, true, "HTTP 500").ok());
  auto at_1000 = store->outbox_due(1'000, 10);
  ASSERT_TRUE(at_1000.ok());
  ASSERT_EQ(at_1000->size(), 1u);
  EXPECT_EQ((*at_1000)[0].id, *c);
  auto at_5000 = store->outbox_due(5'000, 10);
  ASSERT_TRUE(at_5000.ok());
  ASSERT_EQ(at_5000->size(), 2u);
  EXPECT_EQ((*at_5000)[0].id, *a);
  EXPECT_EQ((*at_5000)[1].id, *c);
}

TEST_P(StoreContractTest, OutboxFailedRecordsTheAttempt) {
  auto store = open();
  ASSERT_TRUE(store);
  auto id = store->outbox_add("http://a/", R"("type":"a"})", 100);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(store->outbox_failed(*id, 1, 600, false, "HTTP 503").ok());
  ASSERT_TRUE(store->outbox_failed(*id, 2, 700, false, "timed out").ok());
  auto due = store->outbox_due(700, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].attempts, 2);
  EXPECT_EQ((*due)[0].next_at_ms, 700);
  EXPECT_EQ((*due)[0].last_error, "timed out");
  EXPECT_FALSE((*due)[0].dead);
  EXPECT_EQ((*due)[0].created_ms, 100);
  EXPECT_EQ((*due)[0].url, "http://a/");
  EXPECT_EQ((*due)[0].body, R"("type":"a"})");
}

TEST_P(StoreContractTest, OutboxDeliveredRemovesTheEntry) {
  auto store = open();
  ASSERT_TRUE(store);
  auto a = store->outbox_add("http://a/", "\"type\":\"t\"}", 100);
  auto b = store->outbox_add("http://a/", "\"type\":\"t\"}", 100);
  auto dead = store->outbox_add("http://a/", "\"type\":\"t\"}", 100);
  ASSERT_TRUE(a.ok() && b.ok() && dead.ok());
  ASSERT_TRUE(store->outbox_failed(*dead, 8, 100, true, "HTTP 500").ok());
  ASSERT_TRUE(store->outbox_delivered(*a).ok());
  auto due = store->outbox_due(1'000, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].id, *b);
  // A dead letter is removed the same way.
  ASSERT_TRUE(store->outbox_delivered(*dead).ok());
  EXPECT_EQ(*store->outbox_dead_count(), 0u);
}

TEST_P(StoreContractTest, OutboxIdsIncreaseEvenAfterTheNewestWasDelivered) {
  auto store = open();
  ASSERT_TRUE(store);
  auto a = store->outbox_add("http://a/", "\"type\":\"t\"}", 100);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(store->outbox_delivered(*a).ok());
  auto b = store->outbox_add("http://a/", "\"type\":\"t\"}", 100);
  ASSERT_TRUE(b.ok());
  EXPECT_GT(*b, *a) << "a receiver would see one event id twice";
}

TEST_P(StoreContractTest, OutboxDeadListsDeadLettersNewestFirstAndCountsThem) {
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->outbox_dead_count(), 0u);
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(*store->outbox_add("http://x/", "\"type\":\"t\"}", 1));
  ASSERT_TRUE(store->outbox_failed(ids[0], 8, 2, true, "HTTP 500").ok());
  ASSERT_TRUE(store->outbox_failed(ids[1], 8, 2, true, "HTTP 404").ok());
  ASSERT_TRUE(store->outbox_failed(ids[2], 1, 2, false, "HTTP 500").ok());
  ASSERT_TRUE(store->outbox_delivered(ids[3]).ok());
  EXPECT_EQ(*store->outbox_dead_count(), 2u);
  auto dead = store->outbox_dead(1000);
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 2u);
  EXPECT_EQ((*dead)[0].id, ids[1]);
  EXPECT_EQ((*dead)[0].last_error, "HTTP 404");
  EXPECT_TRUE((*dead)[0].dead);
  EXPECT_EQ((*dead)[0].attempts, 8);
  EXPECT_EQ((*dead)[1].id, ids[0]);
  auto newest = store->outbox_dead(1);
  ASSERT_TRUE(newest.ok());
  ASSERT_EQ(newest->size(), 1u);
  EXPECT_EQ((*newest)[0].id, ids[1]);
}

TEST_P(StoreContractTest, OutboxEntriesSurviveARestart) {
  std::uint64_t live = 0, dead = 0;
  {
    auto store = open();
    ASSERT_TRUE(store);
    live = *store->outbox_add("http://a/", R"("type":"a"})", 100);
    dead = *store->outbox_add("http://b/", R"("type":"b"})", 100);
    ASSERT_TRUE(store->outbox_failed(dead, 8, 100, true, "HTTP 500").ok());
    store->close();
  }
  auto store = open();
  ASSERT_TRUE(store);
  auto due = store->outbox_due(100, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].id, live);
  EXPECT_EQ((*due)[0].body, R"("type":"a"})");
  auto dead_letters = store->outbox_dead(10);
  ASSERT_TRUE(dead_letters.ok());
  ASSERT_EQ(dead_letters->size(), 1u);
  EXPECT_EQ((*dead_letters)[0].id, dead);
  auto next = store->outbox_add("http://a/", R"("type":"c"})", 200);
  ASSERT_TRUE(next.ok());
  EXPECT_GT(*next, dead);
}

// --- MetaStore -------------------------------------------------------------------------------

TEST_P(StoreContractTest, GetOrInitMetaKeepsTheFirstValueAcrossARestart) {
  {
    auto store = open();
    ASSERT_TRUE(store);
    auto first = store->get_or_init_meta("token_secret", "aaa");
    ASSERT_TRUE(first.ok());
    EXPECT_EQ(*first, "aaa");
    auto second = store->get_or_init_meta("token_secret", "bbb");
    ASSERT_TRUE(second.ok());
    EXPECT_EQ(*second, "aaa");
    auto other_key = store->get_or_init_meta("other", "xyz");
    ASSERT_TRUE(other_key.ok());
    EXPECT_EQ(*other_key, "xyz");
  }
  auto reopened = open();
  ASSERT_TRUE(reopened);
  auto third = reopened->get_or_init_meta("token_secret", "ccc");
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(*third, "aaa");
  auto other_key = reopened->get_or_init_meta("other", "zzz");
  ASSERT_TRUE(other_key.ok());
  EXPECT_EQ(*other_key, "xyz");
}

TEST_P(StoreContractTest, PutMetaReplacesTheValueForGetOrInitAndAfterARestart) {
  {
    auto store = open();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->get_or_init_meta("listen", "first").ok());
    ASSERT_TRUE(store->put_meta("listen", "second").ok());
    EXPECT_EQ(*store->get_or_init_meta("listen", "fallback"), "second");
    ASSERT_TRUE(store->put_meta("fresh", "made by put").ok());
    store->close();
  }
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->get_or_init_meta("listen", "fallback"), "second");
  EXPECT_EQ(*store->get_or_init_meta("fresh", "fallback"), "made by put");
}

TEST_P(StoreContractTest, GetOrInitMetaFromTwoStoresAtOnceAgreesOnOneValue) {
  // Two stores on the same data are two nodes: separate connections, separate locks.
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

// --- ids -------------------------------------------------------------------------------------

TEST_P(StoreContractTest, IdsUpToInt64MaxAreStoredAndReadBack) {
  auto store = open();
  ASSERT_TRUE(store);
  auto uid = store->add_user("max", "h", kMaxId);
  ASSERT_TRUE(uid.ok()) << uid.error().msg;
  EXPECT_EQ(*uid, kMaxId);
  EXPECT_EQ(store->find_user(kMaxId)->login, "max");
  EXPECT_EQ(store->find_user_by_login("max")->uid, kMaxId);

  ASSERT_TRUE(store->add_group_members(kMaxId, {1, kMaxId}).ok());
  EXPECT_EQ(*store->group_members(kMaxId), (std::vector<Uid>{1, kMaxId}));
  EXPECT_TRUE(*store->is_group_member(kMaxId, kMaxId));
  EXPECT_EQ(*store->user_groups(kMaxId), (std::vector<Gid>{kMaxId}));
  ASSERT_TRUE(store->add_room_member(kMaxId, kMaxId).ok());
  EXPECT_EQ(*store->room_members(kMaxId), (std::vector<Uid>{kMaxId}));

  // The highest mid sorts above the others, and a before_mid of it excludes only it.
  ASSERT_TRUE(append_and_wait(*store, p2p(kMaxId, 1, 1)).ok());
  ASSERT_TRUE(append_and_wait(*store, p2p(1, kMaxId, kMaxId)).ok());
  ASSERT_TRUE(append_and_wait(*store, p2p(kMaxId, 1, kMaxId - 1)).ok());
  auto h = store->history(p2p_query(1, kMaxId));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(mids_of(*h), (std::vector<Mid>{kMaxId, kMaxId - 1, 1}));
  auto q = p2p_query(kMaxId, 1);
  q.before_mid = kMaxId;
  h = store->history(q);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(mids_of(*h), (std::vector<Mid>{kMaxId - 1, 1}));
  ASSERT_TRUE(append_and_wait(*store, group_message(kMaxId, kMaxId, 5)).ok());
  auto g = store->history(group_query(kMaxId));
  ASSERT_TRUE(g.ok());
  ASSERT_EQ(mids_of(*g), (std::vector<Mid>{5}));
  EXPECT_EQ((*g)[0].gid, kMaxId);
  EXPECT_EQ((*g)[0].from, kMaxId);

  ASSERT_TRUE(store->put_ban(Ban{BanScope::Room, kMaxId, kMaxId, 1}).ok());
  auto bans = store->bans();
  ASSERT_TRUE(bans.ok());
  ASSERT_EQ(bans->size(), 1u);
  EXPECT_EQ((*bans)[0].target, kMaxId);
  EXPECT_EQ((*bans)[0].uid, kMaxId);
}

TEST_P(StoreContractTest, IdsAboveInt64MaxAreRefusedNotWrapped) {
  auto store = open();
  ASSERT_TRUE(store);
  // Stored ids that equal the huge one without its top bit: what a store that lost the bit
  // on the way to a signed 64-bit column would touch instead.
  const Uid wrapped = kHuge - (std::uint64_t{1} << 63);  // 5
  ASSERT_TRUE(store->add_user("five", "h", wrapped).ok());
  ASSERT_TRUE(store->add_group_members(wrapped, {wrapped}).ok());
  ASSERT_TRUE(store->add_room_member(wrapped, wrapped).ok());

  // Writes that would store one answer InvalidParameter and store nothing.
  auto user = store->add_user("huge", "h", kHuge);
  ASSERT_FALSE(user.ok());
  EXPECT_EQ(user.error().rc, Rc::InvalidParameter);
  EXPECT_EQ(store->find_user_by_login("huge").error().rc, Rc::NotFound);
  auto appended = append_and_wait(*store, p2p(1, 2, kHuge));
  ASSERT_FALSE(appended.ok());
  EXPECT_EQ(appended.error().rc, Rc::InvalidParameter);
  auto to_huge = append_and_wait(*store, p2p(1, kHuge, 2));
  ASSERT_FALSE(to_huge.ok());
  EXPECT_EQ(to_huge.error().rc, Rc::InvalidParameter);
  EXPECT_EQ(store->add_group_members(kHuge, {1}).error().rc, Rc::InvalidParameter);
  EXPECT_EQ(store->add_group_members(1, {2, kHuge}).error().rc, Rc::InvalidParameter);
  EXPECT_TRUE(store->group_members(1)->empty()) << "half of a refused call was stored";
  EXPECT_EQ(store->add_room_member(kHuge, 1).error().rc, Rc::InvalidParameter);
  EXPECT_EQ(store->add_room_member(1, kHuge).error().rc, Rc::InvalidParameter);
  EXPECT_EQ(store->put_ban(Ban{BanScope::Group, kHuge, 1, 1}).error().rc, Rc::InvalidParameter);
  EXPECT_EQ(store->put_ban(Ban{BanScope::Group, 1, kHuge, 1}).error().rc, Rc::InvalidParameter);
  EXPECT_TRUE(store->bans()->empty());

  // Look-ups find nothing, and removals remove nothing (the wrapped ids are untouched).
  auto found = store->find_user(kHuge);
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().rc, Rc::NotFound);
  EXPECT_EQ(store->set_password(kHuge, "x").error().rc, Rc::NotFound);
  EXPECT_EQ(store->delete_user(kHuge).error().rc, Rc::NotFound);
  EXPECT_TRUE(store->group_members(kHuge)->empty());
  EXPECT_FALSE(*store->is_group_member(kHuge, wrapped));
  EXPECT_FALSE(*store->is_group_member(wrapped, kHuge));
  EXPECT_TRUE(store->user_groups(kHuge)->empty());
  EXPECT_TRUE(store->room_members(kHuge)->empty());
  EXPECT_FALSE(*store->is_room_member(wrapped, kHuge));
  EXPECT_TRUE(store->del_group_members(kHuge, {wrapped}).ok());
  EXPECT_TRUE(store->del_group_members(wrapped, {kHuge}).ok());
  EXPECT_TRUE(store->delete_group(kHuge).ok());
  EXPECT_TRUE(store->del_room_member(kHuge, wrapped).ok());
  EXPECT_TRUE(store->delete_ban(BanScope::Group, kHuge, 1).ok());
  EXPECT_EQ(store->find_user(wrapped)->login, "five");
  EXPECT_EQ(*store->group_members(wrapped), (std::vector<Uid>{wrapped}));
  EXPECT_EQ(*store->room_members(wrapped), (std::vector<Uid>{wrapped}));

  // A huge before_mid means "no bound", not "nothing"; huge keys of a scope hold nothing.
  ASSERT_TRUE(append_and_wait(*store, p2p(1, 2, 3)).ok());
  auto q = p2p_query(1, 2);
  q.before_mid = kHuge;
  auto h = store->history(q);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(mids_of(*h), (std::vector<Mid>{3}));
  auto huge_p2p = store->history(p2p_query(1, kHuge));
  ASSERT_TRUE(huge_p2p.ok());
  EXPECT_TRUE(huge_p2p->empty());
  auto huge_group = store->history(group_query(kHuge));
  ASSERT_TRUE(huge_group.ok());
  EXPECT_TRUE(huge_group->empty());
}

}  // namespace
}  // namespace rtm
