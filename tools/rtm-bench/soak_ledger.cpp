// See soak_ledger.hpp.
#include "soak_ledger.hpp"

#include <algorithm>
#include <cstdio>

namespace rtm::bench {

DeliveryLedger::DeliveryLedger(std::size_t receivers)
    : receivers_(receivers ? receivers : 1), seen_(receivers_) {}

std::uint64_t DeliveryLedger::next() {
  std::lock_guard lock(mu_);
  const std::uint64_t n = next_++;
  seen_count_.resize(next_, 0);
  return n;
}

void DeliveryLedger::acked(std::uint64_t n, std::int64_t at_us) {
  std::lock_guard lock(mu_);
  if (n == 0 || n >= next_) return;
  ++acked_;
  if (seen_count_[n] < receivers_) waiting_.emplace(n, at_us);
}

DeliveryLedger::Seen DeliveryLedger::delivered(std::size_t r, std::uint64_t n) {
  std::lock_guard lock(mu_);
  if (n == 0 || n >= next_ || r >= receivers_) {
    ++unknown_;
    return Seen::unknown;
  }
  auto& seen = seen_[r];
  if (seen.size() <= n) seen.resize(next_, false);
  if (seen[n]) {
    ++duplicates_;
    return Seen::duplicate;
  }
  seen[n] = true;
  ++deliveries_;
  if (++seen_count_[n] == receivers_) waiting_.erase(n);
  return Seen::first;
}

DeliveryLedger::Tally DeliveryLedger::tally(std::int64_t now_us, std::int64_t grace_us) const {
  std::lock_guard lock(mu_);
  Tally t;
  t.acked = acked_;
  t.deliveries = deliveries_;
  t.duplicates = duplicates_;
  t.unknown = unknown_;
  for (const auto& [n, at] : waiting_) {
    const std::uint64_t missing = receivers_ - seen_count_[n];
    t.pending += missing;
    if (now_us - at > grace_us) t.overdue += missing;
  }
  return t;
}

const char* op_name(Op op) {
  switch (op) {
    case Op::login_token: return "logins (token, multi)";
    case Op::login_password: return "logins (password)";
    case Op::login_kill: return "logins (mode kill)";
    case Op::kill_seen: return "kills seen by the poll";
    case Op::session_destroy: return "sessions destroyed";
    case Op::session_expire: return "sessions left to expire";
    case Op::p2p_send: return "p2p sends";
    case Op::p2p_retry: return "p2p retries (same mid)";
    case Op::p2p_delivery: return "p2p deliveries";
    case Op::group_publish: return "group publishes";
    case Op::group_delivery: return "group deliveries";
    case Op::upload: return "uploads";
    case Op::download: return "downloads";
    case Op::ws_reconnect: return "WebSocket reconnects";
    case Op::channel_send: return "channel sends";
    case Op::channel_delivery: return "channel deliveries";
    case Op::channel_token: return "channel tokens";
    case Op::count_: break;
  }
  return "?";
}

const char* op_key(Op op) {
  switch (op) {
    case Op::login_token: return "login_token";
    case Op::login_password: return "login_password";
    case Op::login_kill: return "login_kill";
    case Op::kill_seen: return "kill_seen";
    case Op::session_destroy: return "session_destroy";
    case Op::session_expire: return "session_expire";
    case Op::p2p_send: return "p2p_send";
    case Op::p2p_retry: return "p2p_retry";
    case Op::p2p_delivery: return "p2p_delivery";
    case Op::group_publish: return "group_publish";
    case Op::group_delivery: return "group_delivery";
    case Op::upload: return "upload";
    case Op::download: return "download";
    case Op::ws_reconnect: return "ws_reconnect";
    case Op::channel_send: return "channel_send";
    case Op::channel_delivery: return "channel_delivery";
    case Op::channel_token: return "channel_token";
    case Op::count_: break;
  }
  return "?";
}

std::array<std::uint64_t, kOpCount> OpCounters::snapshot() const {
  std::array<std::uint64_t, kOpCount> s{};
  for (std::size_t i = 0; i < kOpCount; ++i) s[i] = c_[i].load(std::memory_order_relaxed);
  return s;
}

void ErrorBook::note(std::string_view where, std::string_view what, std::string_view detail) {
  std::string kind(where);
  kind += ": ";
  kind += what;
  std::uint64_t seen;
  {
    std::lock_guard lock(mu_);
    seen = ++kinds_[kind];
  }
  total_.fetch_add(1, std::memory_order_relaxed);
  constexpr std::uint64_t kPrinted = 3;
  if (seen <= kPrinted)
    std::fprintf(stderr, "rtm-bench soak: ERROR %s%s%.*s%s\n", kind.c_str(),
                 detail.empty() ? "" : " — ",
                 static_cast<int>(std::min<std::size_t>(detail.size(), 300)), detail.data(),
                 seen == kPrinted ? " (further ones of this kind only counted)" : "");
}

std::vector<std::pair<std::string, std::uint64_t>> ErrorBook::by_kind() const {
  std::lock_guard lock(mu_);
  return {kinds_.begin(), kinds_.end()};
}

}  // namespace rtm::bench
