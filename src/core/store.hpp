// Store: the durable state of rtm behind one interface, so that the embedded SQLite engine and
// PostgreSQL (many nodes) plug in the same way (centrifuge's Broker/PresenceManager model).
// The core never includes a driver header; engines live in src/store/<engine>/.
//
// Store is the sum of small role interfaces, one header each, and each of them states the
// guarantees of its own methods:
//   core/user_store.hpp        UserStore        logins and password hashes
//   core/membership_store.hpp  MembershipStore  group and room members
//   core/message_store.hpp     MessageStore     durable appends, client_mid dedupe, history
//   core/moderation_store.hpp  ModerationStore  bans
//   core/file_store.hpp        FileStore        records of uploaded files
//   core/outbox_store.hpp      OutboxStore      the webhook outbox
//   core/meta_store.hpp        MetaStore        secrets and settings shared by all nodes
//   core/session_store.hpp     SessionStore     authorized sessions, kept across restarts
//   core/server_event_store.hpp ServerEventStore the server event stream, kept across restarts
//   core/channel_store.hpp     ChannelStore     channels and their queues, kept across restarts
// An engine implements them all in one object, the Store; its engine directory mirrors them
// (store/sqlite/sqlite_users.cpp, sqlite_members.cpp, ...).
//
// Guarantees every engine gives for every method (tests/unit/store_contract_test.cpp checks
// them, and those of the role interfaces, against each engine):
//  - Ids (uid, gid, rid, mid) are positive and at most INT64_MAX: engines keep them as signed
//    64-bit integers. The api/ layer refuses larger ones (InvalidParameter); should one reach
//    a store anyway, a call that would store it answers InvalidParameter, and one that looks
//    it up or removes it finds nothing there (no wrap-around onto another id).
//  - A store is never destroyed from inside one of its own callbacks.
//  - Every method is safe to call from any thread. Synchronous methods may block briefly on
//    local I/O; a store that cannot be reached answers Rc::Unavailable, never half-writes.
#pragma once

#include "core/channel_store.hpp"
#include "core/file_store.hpp"
#include "core/membership_store.hpp"
#include "core/message_store.hpp"
#include "core/meta_store.hpp"
#include "core/moderation_store.hpp"
#include "core/outbox_store.hpp"
#include "core/server_event_store.hpp"
#include "core/session_store.hpp"
#include "core/user_store.hpp"

namespace rtm {

class Store : public UserStore,
              public MembershipStore,
              public MessageStore,
              public ModerationStore,
              public FileStore,
              public OutboxStore,
              public MetaStore,
              public SessionStore,
              public ServerEventStore,
              public ChannelStore {
 public:
  ~Store() override = default;

  // Waits until every append accepted so far is durable and its callback has run; the store
  // accepts no more appends afterwards (Unavailable). Called once at shutdown.
  virtual void close() = 0;
};

}  // namespace rtm
