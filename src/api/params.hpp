// Params: typed access to a call's JSON params. This is the edge where outside input is
// decoded, so a missing or mistyped field raises CallError (InvalidRequest), an out-of-range
// value CallError (InvalidParameter); the dispatcher turns it into the contract's error.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/result.hpp"

namespace rtm::api {

// An error decoded at the edge: the one exception type the dispatcher catches. Handlers
// return their other errors as values (Result<Reply>, RTM_TRY in method_table.hpp).
struct CallError {
  Error error;
};

[[noreturn]] inline void fail(Rc rc, std::string msg) {
  throw CallError{Error{rc, std::move(msg)}};
}

class Params {
 public:
  explicit Params(const boost::json::object& object) : o_(object) {}

  bool has(const char* key) const;
  std::string string(const char* key) const;
  std::optional<std::string> optional_string(const char* key) const;
  // A positive 64-bit id (uid, gid, rid, mid).
  std::uint64_t id(const char* key) const;
  std::optional<std::uint64_t> optional_id(const char* key) const;
  // A non-negative 64-bit integer (cursors such as `after`).
  std::optional<std::uint64_t> optional_u64(const char* key) const;
  std::int64_t integer(const char* key, std::int64_t fallback, std::int64_t lo,
                       std::int64_t hi) const;
  std::optional<std::int64_t> optional_integer(const char* key, std::int64_t lo,
                                               std::int64_t hi) const;
  std::optional<bool> optional_bool(const char* key) const;
  // A non-empty array of positive ids, at most max_items.
  std::vector<std::uint64_t> id_list(const char* key, std::size_t max_items) const;
  const boost::json::object& object(const char* key) const;
  // The raw value, or null when absent: for a parameter that takes more than one type.
  const boost::json::value* find(const char* key) const;

 private:
  const boost::json::object& o_;
};

}  // namespace rtm::api
