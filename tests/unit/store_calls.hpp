// What the store suites append and ask (store_contract_test.cpp, sqlite_store_test.cpp): the
// messages, history queries and file records they build, and appends that wait for their
// callback, so a test reads as the calls it makes.
#pragma once

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/store.hpp"

namespace rtm::store_calls {

using namespace std::chrono_literals;

inline constexpr auto kWait = 30s;  // long enough for a loaded machine, short of hanging CI

inline Message p2p(Uid from, Uid to, Mid mid, std::int64_t mtime = 1000, std::string text = "hi") {
  Message m;
  m.kind = MessageKind::P2p;
  m.from = from;
  m.to = to;
  m.mid = mid;
  m.mtime = mtime;
  m.msg = std::move(text);
  return m;
}

inline Message group_message(Uid from, Gid gid, Mid mid, std::int64_t mtime = 1000) {
  Message m;
  m.kind = MessageKind::Group;
  m.from = from;
  m.gid = gid;
  m.mid = mid;
  m.mtime = mtime;
  m.msg = std::string("g").append(std::to_string(mid));
  return m;
}

inline Message room_message(Uid from, Rid rid, Mid mid) {
  Message m;
  m.kind = MessageKind::Room;
  m.from = from;
  m.rid = rid;
  m.mid = mid;
  m.mtime = 1000;
  m.msg = std::string("r").append(std::to_string(mid));
  return m;
}

inline Message with_client_mid(Message m, Mid client_mid) {
  m.client_mid = client_mid;
  return m;
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

// Appends and waits for the callback.
inline Result<AppendOutcome> append_and_wait(Store& store, Message m) {
  PendingAppend p;
  store.append_message(std::move(m), p.callback());
  return p.get();
}

inline FileRecord file_for(const std::string& id, Uid from, Uid to) {
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

inline Result<AppendOutcome> append_file_and_wait(Store& store, Message m, FileRecord f) {
  PendingAppend p;
  store.append_file_message(std::move(m), std::move(f), p.callback());
  return p.get();
}

inline HistoryQuery p2p_query(Uid uid, Uid with, int limit = 1000) {
  HistoryQuery q;
  q.scope = HistoryQuery::Scope::P2p;
  q.uid = uid;
  q.with = with;
  q.limit = limit;
  return q;
}

inline std::vector<Mid> mids_of(const std::vector<Message>& messages) {
  std::vector<Mid> out;
  for (const auto& m : messages) out.push_back(m.mid);
  return out;
}

}  // namespace rtm::store_calls
