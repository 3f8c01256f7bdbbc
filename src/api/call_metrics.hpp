// Counters of calls and errors by method scope and error code, read by /metrics.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "core/error.hpp"

namespace rtm::api {

struct CallMetrics {
  std::atomic<std::uint64_t> calls{0};
  std::atomic<std::uint64_t> errors{0};
  // Error counts by code, indexed by code_slot().
  std::array<std::atomic<std::uint64_t>, 32> errors_by_rc{};

  static constexpr std::array<Rc, 18> kCodes = {Rc::InvalidRequest,
                                                Rc::InvalidParameter,
                                                Rc::UnknownMethod,
                                                Rc::PayloadTooLarge,
                                                Rc::RateLimited,
                                                Rc::InvalidSession,
                                                Rc::SessionAlreadyAuthorized,
                                                Rc::AuthorizeFailed,
                                                Rc::SessionExists,
                                                Rc::NotAuthorized,
                                                Rc::Unauthorized,
                                                Rc::PermissionDenied,
                                                Rc::InvalidToken,
                                                Rc::TokenExpired,
                                                Rc::NotFound,
                                                Rc::AlreadyExists,
                                                Rc::Internal,
                                                Rc::Unavailable};

  void record(Rc rc) {
    calls.fetch_add(1, std::memory_order_relaxed);
    if (rc == Rc::Ok) return;
    errors.fetch_add(1, std::memory_order_relaxed);
    for (std::size_t i = 0; i < kCodes.size(); ++i)
      if (kCodes[i] == rc) errors_by_rc[i].fetch_add(1, std::memory_order_relaxed);
  }
};

}  // namespace rtm::api
