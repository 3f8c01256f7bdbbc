// Result<T>: a value or an Error of the contract's table. g++ 12 has no std::expected, and
// errors on normal paths are values here, not exceptions (the dragonfly OpResult model).
#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include "core/error.hpp"

namespace rtm {

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Error> v_;
};

struct Unit {};
using Status = Result<Unit>;

inline Status ok_status() { return Unit{}; }
inline Error make_error(Rc rc, std::string msg) { return Error{rc, std::move(msg)}; }

}  // namespace rtm
