// The mixed load of rtm-bench soak and its checks as it runs: logins (token, password, mode
// kill replacing a session whose waiting poll must be told), P2P sends (some retried with the
// same client mid) to long-polling and WebSocket receivers, group publishes to WebSocket
// subscribers, uploads and downloads, WebSocket sockets that drop and resume with
// session.attach + `after`, and channel sends and polls. Every acknowledged message must reach
// each of its receivers exactly once (DeliveryLedger), every session's event ids must follow
// each other, every answer must be rc 0 except where an error is the point (ErrorBook).
//
// SoakLoad::setup() makes the users, the group, the sessions and the channels; start() spawns
// the coroutines on the workers; stop_generating() ends the senders and logins, drain() waits
// for what is still on its way, stop() closes every socket and waits for the coroutines.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bench_common.hpp"
#include "soak_ledger.hpp"

namespace rtm::bench {

// How much of each kind, per second (before --scale), and how many of each actor.
struct SoakPlan {
  int lp_receivers = 8;   // users receiving p2p by long polling, one session each
  int ws_receivers = 8;   // users receiving p2p on a WebSocket that drops now and then
  int senders = 4;        // sessions sending p2p over HTTP
  int subscribers = 300;  // WebSocket subscribers of the group
  int kill_users = 2;     // users whose session is replaced by a mode-kill login in turn
  int churn_users = 4;    // users of the token logins
  int channels = 4;
  double scale = 1;  // multiplies every rate below

  double p2p_per_s = 100;
  double group_per_s = 2;
  double token_logins_per_s = 2;
  double kills_per_s = 1;
  double password_logins_per_s = 0.2;
  double uploads_per_s = 0.5;
  double channel_sends_per_s = 4;
  double ws_receiver_drop_every_s = 20;  // mean time between drops of one p2p WebSocket
  // (exponentially distributed, at least 1 s)
  double subscriber_drop_every_s = 300;  // the same for one group subscriber
  double channel_token_every_s = 300;    // a new token for each channel (channel.create again)
  int download_every = 4;                // one upload in this many is downloaded and compared
  std::size_t upload_min_bytes = 1024, upload_max_bytes = 256 * 1024;
  int queue_limit = 100;  // session.set on every receiving session (see docs/benchmarks.md)

  // Sets one of the rates above by its name in --rate NAME=PER_S (p2p, group, token_logins,
  // kills, password_logins, uploads, channel); false for an unknown name.
  bool set_rate(std::string_view name, double per_s);
  static constexpr const char* kRateNames =
      "p2p, group, token_logins, kills, password_logins, uploads, channel";
};

// The correctness figures so far.
struct SoakChecks {
  DeliveryLedger::Tally p2p, group, channel;
  std::uint64_t event_id_breaks = 0;  // an event id that does not follow the one before
};

class SoakLoad {
 public:
  SoakLoad(Workers& w, const Server& s, SoakPlan plan);
  ~SoakLoad();

  void setup();  // throws on a failed setup call
  void start();
  void stop_generating();  // the senders and logins stop; waits for them (bounded)
  // Waits until nothing acknowledged is still on its way to a live receiver, or `limit`.
  bool drain(std::chrono::milliseconds limit);
  void stop();  // closes every socket; waits for the coroutines (bounded)

  const OpCounters& ops() const { return ops_; }
  const ErrorBook& errors() const { return errors_; }
  SoakChecks checks(std::int64_t grace_us) const;
  std::size_t sockets_connected() const { return sockets_connected_.load(); }
  std::size_t sockets_total() const;  // WebSockets the load keeps attached

  struct Impl;  // the actors and their coroutines (soak_load.cpp)

 private:
  OpCounters ops_;
  ErrorBook errors_;
  std::atomic<std::size_t> sockets_connected_{0};  // WebSockets attached right now
  std::unique_ptr<Impl> impl_;                     // last: its coroutines use the above
};

}  // namespace rtm::bench
