// TokenBuckets: a rate limit per key (a client address, a uid), as a token bucket: each key
// may make `burst` calls at once and `per_second` calls a second on average. The engine keeps
// one per limited call (session.create, session.authorize, channel.poll per address; sends per
// user; docs/semantics.md "Limits"). Keys are plain strings (for addresses, limit_key() of
// the address, core/limit_key.hpp): no sockets here.
//
// A bucket that has refilled to `burst` is the same as no bucket, so sweep() forgets those and
// the table holds only keys that called lately. It holds at most max_keys: a new key that
// finds it full makes room by forgetting the key that called longest ago if that one has
// refilled, and is refused otherwise (never let through untracked: a table filled by a flood
// of keys must not switch the rate off for everyone, the login rate included).
//
// Locking: mu_ is a leaf lock held for one bucket's arithmetic (docs/lock-order.md).
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/rate_limit.hpp"
#include "core/rate_limiter.hpp"
#include "core/result.hpp"

namespace rtm {

// The local RateLimiter engine (core/rate_limiter.hpp).
class TokenBuckets final : public RateLimiter {
 public:
  explicit TokenBuckets(RateLimit limit, std::size_t max_keys = 100'000)
      : limit_(limit), max_keys_(max_keys) {}

  bool enabled() const override { return limit_.enabled(); }
  // Takes a token from key's bucket: 0 when the call may go, else the milliseconds until a
  // token is there (the call is refused and nothing is taken). A new key when max_keys are
  // tracked and the longest-idle of them has not refilled is refused too: the milliseconds
  // until that one has. Always 0 when disabled.
  std::int64_t take(const std::string& key, std::int64_t now_ms) override;
  // Forgets the buckets that have refilled (they would let the next call through anyway).
  void sweep(std::int64_t now_ms) override;
  std::size_t size() const;

 private:
  struct Bucket {
    std::string key;
    double tokens;
    std::int64_t updated_ms;
  };
  using Buckets = std::list<Bucket>;
  // Adds what has dripped in since the bucket was last seen; mu_ held.
  void refill(Bucket& b, std::int64_t now_ms) const;
  // Milliseconds until `b` holds `want` tokens (at least 1); mu_ held, b refilled to now.
  std::int64_t ms_until(const Bucket& b, double want) const;
  void forget(Buckets::iterator it);

  const RateLimit limit_;
  const std::size_t max_keys_;
  mutable std::mutex mu_;
  // Most recently called first, so the back is the key idle longest: the one that makes room.
  Buckets buckets_;
  // Views into the keys held by buckets_ (list nodes never move).
  std::unordered_map<std::string_view, Buckets::iterator> index_;
};

}  // namespace rtm
