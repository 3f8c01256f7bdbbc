// SessionStore: the durable records of authorized sessions, from which a restarted node gives
// every client its session back (docs/semantics.md "Restarts"). A record holds what a session
// is (user, settings, subscriptions) and where its reader stands; the events themselves are
// not stored per session: a restarted node reads the messages after `kept_position` from the
// MessageStore's stream and hands each to the sessions it targets, as on the live path.
//
// Guarantees (besides those of every Store method, core/store.hpp):
//  - save_session() and delete_session() are durable when they return (they survive kill -9).
//  - save_session_positions() writes every given position in one transaction, durable when it
//    returns; a session that is not stored (deleted meanwhile) is skipped, never re-created.
//  - load_sessions() answers every stored record, subscriptions in key order.
//  - A stored id_limit never decreases: a write that carries a lower one keeps the stored
//    one. save_session() of a stored session keeps its read position (the checkpoint's).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/message.hpp"
#include "core/result.hpp"
#include "core/session_settings.hpp"

namespace rtm {

struct SessionPositions {
  std::string id;
  // Every message of the stream at or before this position that reached the session was
  // read by its client; later ones may not have been.
  std::uint64_t read_position = 0;
  // The session still keeps (for readers that pass `after`) the messages after this one:
  // a restart gives those back too, the read ones as read. At most read_position.
  std::uint64_t kept_position = 0;
  // Event ids up to this one may have been handed to the client; a restarted session
  // numbers its events from the one after it, so that ids only ever increase.
  std::uint64_t id_limit = 0;
};

struct SessionRecord {
  std::string id;
  Uid uid = 0;
  std::int64_t created_ms = 0;
  SessionSettings settings;
  // (subscription key, topic) in key order; keys are "s<n>", n below next_key.
  std::vector<std::pair<std::string, std::string>> subscriptions;
  std::uint64_t next_key = 1;
  std::uint64_t read_position = 0;
  std::uint64_t kept_position = 0;
  std::uint64_t id_limit = 0;
};

class SessionStore {
 public:
  virtual ~SessionStore() = default;

  // Inserts the record or replaces the stored one of its id, subscriptions included.
  virtual Status save_session(const SessionRecord& record) = 0;
  // Moves the positions of stored sessions (see above).
  virtual Status save_session_positions(const std::vector<SessionPositions>& positions) = 0;
  // Removes the record; an unknown id is no error.
  virtual Status delete_session(const std::string& id) = 0;
  virtual Result<std::vector<SessionRecord>> load_sessions() = 0;
};

}  // namespace rtm
