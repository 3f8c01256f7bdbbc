// See unauthorized_sessions.hpp.
#include "core/unauthorized_sessions.hpp"

namespace rtm {

UnauthorizedSessions::Admission UnauthorizedSessions::try_add(const std::string& address) {
  std::lock_guard lock(mu_);
  if (total_ >= total_cap_) return Admission::TotalFull;
  if (!address.empty()) {
    auto& held = by_address_[address];
    if (held >= per_address_) return Admission::AddressFull;
    ++held;
  }
  ++total_;
  return Admission::Admitted;
}

void UnauthorizedSessions::remove(const std::string& address) {
  std::lock_guard lock(mu_);
  if (total_ > 0) --total_;
  if (address.empty()) return;
  auto it = by_address_.find(address);
  if (it == by_address_.end()) return;
  if (--it->second == 0) by_address_.erase(it);
}

std::size_t UnauthorizedSessions::total() const {
  std::lock_guard lock(mu_);
  return total_;
}

std::size_t UnauthorizedSessions::of(const std::string& address) const {
  std::lock_guard lock(mu_);
  auto it = by_address_.find(address);
  return it == by_address_.end() ? 0 : it->second;
}

}  // namespace rtm
