// RateLimiter: a rate limit per key (a client address, a uid) as a token bucket: each key may
// make `burst` calls at once and `per_second` calls a second on average. RateLimits
// (core/node/rate_limits.hpp) keeps one per limited call. `TokenBuckets`
// (core/token_buckets.hpp) is the local engine, this process's own buckets; an engine
// shared by the nodes of a cluster (Redis) makes the limit hold for the cluster.
//
// Guarantees every engine gives (tests/unit/rate_limiter_contract_test.cpp):
//  - disabled (per_second 0): every call passes;
//  - a key's first `burst` calls pass at once, then one call per 1/per_second; a refused
//    call takes nothing and answers the milliseconds until a call would pass (at least 1);
//  - keys are independent;
//  - callers on many threads (and many nodes, for a shared engine) never pass more than the
//    bucket allows;
//  - a clock that steps back drains nothing.
// An engine may bound what it tracks (the local one: max_keys), never by letting a key
// through untracked. take() may block on the network for a remote engine: callers run off
// the event loops.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/rate_limit.hpp"

namespace rtm {

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  virtual bool enabled() const = 0;
  // 0 when the call may go, else the milliseconds until it may (nothing is taken).
  virtual std::int64_t take(const std::string& key, std::int64_t now_ms) = 0;
  // Lets the engine forget what it no longer needs (refilled buckets); run once a second.
  virtual void sweep(std::int64_t now_ms) = 0;
};

// Makes the limiter of one limit (app/ picks the engine; tests the local one).
using RateLimiterFactory = std::function<std::unique_ptr<RateLimiter>(const RateLimit&)>;
RateLimiterFactory local_rate_limiters();

}  // namespace rtm
