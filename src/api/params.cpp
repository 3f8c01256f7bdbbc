// See params.hpp.
#include "api/params.hpp"

#include <cmath>

namespace rtm::api {

namespace {
[[noreturn]] void wrong_type(const char* key, const char* want) {
  fail(Rc::InvalidRequest, std::string(key) + " must be " + want);
}

// Boost.JSON hands integers beyond 64 bits (18446744073709551616, 1e30) over as doubles. A
// number with no fractional part is an integer out of range: InvalidParameter. A fraction
// (1.5) is not an integer at all: the wrong type, InvalidRequest.
[[noreturn]] void not_an_integer(const char* key, const boost::json::value& v, const char* range) {
  double d = v.get_double();
  if (!std::isfinite(d) || std::trunc(d) == d)
    fail(Rc::InvalidParameter, std::string(key) + " must be " + range);
  wrong_type(key, "an integer");
}

constexpr const char* kIdRange = "an integer from 1 to 9223372036854775807";
}  // namespace

const boost::json::value* Params::find(const char* key) const {
  const auto* v = o_.if_contains(key);
  return (v && !v->is_null()) ? v : nullptr;
}

bool Params::has(const char* key) const { return find(key) != nullptr; }

std::string Params::string(const char* key) const {
  auto v = optional_string(key);
  if (!v) fail(Rc::InvalidRequest, std::string(key) + " is missing");
  return *v;
}

std::optional<std::string> Params::optional_string(const char* key) const {
  const auto* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_string()) wrong_type(key, "a string");
  return std::string(v->get_string());
}

std::uint64_t Params::id(const char* key) const {
  auto v = optional_id(key);
  if (!v) fail(Rc::InvalidRequest, std::string(key) + " is missing");
  return *v;
}

std::optional<std::uint64_t> Params::optional_id(const char* key) const {
  const auto* v = find(key);
  if (!v) return std::nullopt;
  if (v->is_uint64()) {
    // Stores keep ids as signed 64-bit integers (SQLite, PostgreSQL bigint).
    fail(Rc::InvalidParameter, std::string(key) + " must be at most 9223372036854775807");
  }
  if (v->is_int64()) {
    if (v->get_int64() <= 0) fail(Rc::InvalidParameter, std::string(key) + " must be positive");
    return static_cast<std::uint64_t>(v->get_int64());
  }
  if (v->is_double()) not_an_integer(key, *v, kIdRange);
  wrong_type(key, "an integer");
}

std::optional<std::uint64_t> Params::optional_u64(const char* key) const {
  const auto* v = find(key);
  if (!v) return std::nullopt;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64()) {
    if (v->get_int64() < 0) fail(Rc::InvalidParameter, std::string(key) + " must not be negative");
    return static_cast<std::uint64_t>(v->get_int64());
  }
  if (v->is_double()) not_an_integer(key, *v, "an integer from 0 to 18446744073709551615");
  wrong_type(key, "an integer");
}

std::optional<std::int64_t> Params::optional_integer(const char* key, std::int64_t lo,
                                                     std::int64_t hi) const {
  const auto* v = find(key);
  if (!v) return std::nullopt;
  std::int64_t n;
  if (v->is_int64()) {
    n = v->get_int64();
  } else if (v->is_uint64()) {
    n = hi;  // beyond int64: certainly out of range
    if (v->get_uint64() <= static_cast<std::uint64_t>(hi))
      n = static_cast<std::int64_t>(v->get_uint64());
    else
      fail(Rc::InvalidParameter, std::string(key) + " is out of range");
  } else if (v->is_double()) {
    std::string range = "between " + std::to_string(lo) + " and " + std::to_string(hi);
    not_an_integer(key, *v, range.c_str());
  } else {
    wrong_type(key, "an integer");
  }
  if (n < lo || n > hi)
    fail(Rc::InvalidParameter, std::string(key) + " must be between " + std::to_string(lo) +
                                   " and " + std::to_string(hi));
  return n;
}

std::int64_t Params::integer(const char* key, std::int64_t fallback, std::int64_t lo,
                             std::int64_t hi) const {
  return optional_integer(key, lo, hi).value_or(fallback);
}

std::optional<bool> Params::optional_bool(const char* key) const {
  const auto* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_bool()) wrong_type(key, "true or false");
  return v->get_bool();
}

std::vector<std::uint64_t> Params::id_list(const char* key, std::size_t max_items) const {
  const auto* v = find(key);
  if (!v) fail(Rc::InvalidRequest, std::string(key) + " is missing");
  if (!v->is_array()) wrong_type(key, "an array of integers");
  const auto& a = v->get_array();
  if (a.empty() || a.size() > max_items)
    fail(Rc::InvalidParameter,
         std::string(key) + " must hold 1 to " + std::to_string(max_items) + " ids");
  std::vector<std::uint64_t> out;
  out.reserve(a.size());
  for (const auto& item : a) {
    if (item.is_uint64())
      fail(Rc::InvalidParameter, std::string(key) + " ids must be at most 9223372036854775807");
    else if (item.is_int64() && item.get_int64() > 0)
      out.push_back(static_cast<std::uint64_t>(item.get_int64()));
    else if (item.is_int64() || item.is_uint64())
      fail(Rc::InvalidParameter, std::string(key) + " must hold positive ids");
    else if (item.is_double())
      not_an_integer(key, item, "a list of integers from 1 to 9223372036854775807");
    else
      wrong_type(key, "an array of integers");
  }
  return out;
}

const boost::json::object& Params::object(const char* key) const {
  const auto* v = find(key);
  if (!v) fail(Rc::InvalidRequest, std::string(key) + " is missing");
  if (!v->is_object()) wrong_type(key, "an object");
  return v->get_object();
}

}  // namespace rtm::api
