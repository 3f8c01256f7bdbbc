// UserStore: the accounts of rtm, one login and one password hash per uid (the part of Store
// that user.add/user.delete, logins and password changes go through).
//
// Guarantees (besides those of every Store method, core/store.hpp):
//  - add_user() with uid == 0 assigns the next free uid: one above the highest uid stored.
//  - Logins and uids are unique: add_user() of a taken one answers AlreadyExists and changes
//    nothing.
//  - delete_user() removes the user's group and room memberships with it (MembershipStore).
#pragma once

#include <string>

#include "core/message.hpp"
#include "core/result.hpp"

namespace rtm {

struct UserRecord {
  Uid uid = 0;
  std::string login;
  std::string password_hash;  // argon2id encoded string (libsodium crypto_pwhash_str)
};

class UserStore {
 public:
  virtual ~UserStore() = default;

  // uid == 0: the store assigns the next free uid. AlreadyExists if login or uid is taken.
  virtual Result<Uid> add_user(const std::string& login, const std::string& password_hash,
                               Uid uid) = 0;
  virtual Result<UserRecord> find_user(Uid uid) = 0;                            // NotFound
  virtual Result<UserRecord> find_user_by_login(const std::string& login) = 0;  // NotFound
  virtual Status set_password(Uid uid, const std::string& password_hash) = 0;   // NotFound
  // Removes the user, its group and room memberships. NotFound if unknown.
  virtual Status delete_user(Uid uid) = 0;
};

}  // namespace rtm
