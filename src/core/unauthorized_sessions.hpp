// UnauthorizedSessions: how many sessions that are not (yet) authorized each client address
// holds, and all of them together, with a cap on each (docs/semantics.md "Limits"). A
// session.create costs nothing to make, so without these caps one address could fill the
// server's memory with sessions nobody will ever log in; with them a flood from one address
// is refused while other addresses still get sessions.
//
// The engine takes a place when it creates a session and gives it back exactly once: when
// the session is authorized, or when it ends (destroyed, expired). The address is a plain
// string: the engine passes limit_key() of the client's address (core/limit_key.hpp: an IPv6
// /64 is one client); the empty address (an embedded engine, tests) is held by the total cap
// only.
//
// Locking: mu_ is a leaf lock held only to count (docs/lock-order.md).
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace rtm {

class UnauthorizedSessions {
 public:
  enum class Admission { Admitted, AddressFull, TotalFull };

  UnauthorizedSessions(std::size_t per_address, std::size_t total)
      : per_address_(per_address), total_cap_(total) {}

  // Takes a place for a new session from `address`, unless a cap is reached.
  Admission try_add(const std::string& address);
  // Gives back a place taken by try_add.
  void remove(const std::string& address);
  std::size_t total() const;
  std::size_t of(const std::string& address) const;

 private:
  const std::size_t per_address_;
  const std::size_t total_cap_;
  mutable std::mutex mu_;
  std::size_t total_ = 0;
  // Only addresses holding at least one place: at most total_cap_ entries.
  std::unordered_map<std::string, std::size_t> by_address_;
};

}  // namespace rtm
