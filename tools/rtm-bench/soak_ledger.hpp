// The bookkeeping of rtm-bench soak's correctness checks: which messages were acknowledged and
// which each receiver got (DeliveryLedger), the operations done per kind (OpCounters), and the
// errors seen, counted by where and which rc (ErrorBook). Shared by the load's coroutines on
// every worker thread, so each is safe to call from any thread; their mutexes are leaf locks
// (nothing else is locked or called under them).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rtm::bench {

// The messages of one stream (the p2p messages to one user, the publishes to the group, the
// texts of one channel) and its receivers. Every message carries a sequence number from
// next(); a send that was acknowledged must reach each receiver exactly once. A receiver may
// see a message before its sender sees the acknowledgement; a message whose send failed may
// still arrive (the answer was lost, not the message) and is no error.
class DeliveryLedger {
 public:
  explicit DeliveryLedger(std::size_t receivers = 1);

  std::uint64_t next();                             // a new sequence number
  void acked(std::uint64_t n, std::int64_t at_us);  // its send was acknowledged at at_us

  enum class Seen { first, duplicate, unknown };
  // Receiver `r` got message n. `unknown`: no such sequence number was handed out.
  Seen delivered(std::size_t r, std::uint64_t n);

  struct Tally {
    std::uint64_t acked = 0;       // acknowledged sends
    std::uint64_t deliveries = 0;  // first deliveries (receiver, message)
    std::uint64_t duplicates = 0;  // a receiver got a message again
    std::uint64_t unknown = 0;     // a message nobody sent
    std::uint64_t pending = 0;     // (receiver, acknowledged message) not delivered yet
    std::uint64_t overdue = 0;     // of those, acknowledged more than `grace` ago
  };
  Tally tally(std::int64_t now_us, std::int64_t grace_us) const;

 private:
  mutable std::mutex mu_;
  const std::size_t receivers_;
  std::uint64_t next_ = 1;
  std::vector<std::uint32_t> seen_count_;          // by n: receivers that got it
  std::vector<std::vector<bool>> seen_;            // by receiver, by n
  std::map<std::uint64_t, std::int64_t> waiting_;  // acked, not yet at every receiver: ack time
  std::uint64_t acked_ = 0, deliveries_ = 0, duplicates_ = 0, unknown_ = 0;
};

// What the load did, per kind.
enum class Op : std::size_t {
  login_token,
  login_password,
  login_kill,
  kill_seen,  // a killed session's waiting poll got its final `session` event
  session_destroy,
  session_expire,  // sessions left to expire by their idle timeout
  p2p_send,
  p2p_retry,  // a send repeated with the same client mid
  p2p_delivery,
  group_publish,
  group_delivery,
  upload,
  download,
  ws_reconnect,
  channel_send,
  channel_delivery,
  channel_token,
  count_
};
constexpr std::size_t kOpCount = static_cast<std::size_t>(Op::count_);
const char* op_name(Op op);  // for the summary table: "logins (mode kill)"
const char* op_key(Op op);   // for the CSV and JSON: "login_kill"

class OpCounters {
 public:
  void add(Op op, std::uint64_t n = 1) {
    c_[static_cast<std::size_t>(op)].fetch_add(n, std::memory_order_relaxed);
  }
  std::uint64_t get(Op op) const {
    return c_[static_cast<std::size_t>(op)].load(std::memory_order_relaxed);
  }
  std::array<std::uint64_t, kOpCount> snapshot() const;

 private:
  std::array<std::atomic<std::uint64_t>, kOpCount> c_{};
};

// Errors by kind ("message.send 1005 RateLimited", "check: duplicate p2p delivery"). The
// first few of each kind are printed to stderr at once, so a soak that goes wrong says so
// while it runs.
class ErrorBook {
 public:
  // `where`: the operation; `what`: "1005 RateLimited", a transport error, a failed check;
  // `detail`: a line of context for the printed report.
  void note(std::string_view where, std::string_view what, std::string_view detail = {});
  std::uint64_t total() const { return total_.load(std::memory_order_relaxed); }
  std::vector<std::pair<std::string, std::uint64_t>> by_kind() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::uint64_t> kinds_;
  std::atomic<std::uint64_t> total_{0};
};

}  // namespace rtm::bench
