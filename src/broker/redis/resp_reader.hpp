// RespReader: the Redis protocol's replies (RESP2 and RESP3) read from a byte stream, for the
// redis:// engines (issue 10 section 3), which speak to Redis on the node's own Asio loop
// rather than through a client library with a thread per connection. Bytes come in as the
// socket gives them (any split, one byte at a time included); next() answers each complete
// reply in order. Redis is a dependency we start, not a client, but its bytes are still
// checked: a reply past the limits below, or one that breaks the grammar, is an error after
// which the connection must be dropped (the stream can no longer be framed).
//
// Also encode_command(): a command as the array of bulk strings Redis reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace rtm::redis {

struct RespValue {
  enum class Type {
    SimpleString,  // +OK
    Error,         // -ERR ...   and RESP3's !<len> bulk error
    Integer,       // :1
    BulkString,    // $3 foo     and RESP3's =<len> verbatim string (its "txt:" kept)
    Null,          // $-1, *-1, RESP3's _
    Array,         // *n         and RESP3's ~ set
    Map,           // RESP3's %n: elements are key, value, key, value...
    Push,          // RESP3's >n: out-of-band (a pub/sub message)
    Boolean,       // RESP3's #t / #f (integer: 1 / 0)
    Double,        // RESP3's ,1.5 (text as sent)
    BigNumber,     // RESP3's (123... (text as sent)
  };
  Type type = Type::Null;
  std::string text;              // strings, errors, doubles, big numbers
  std::int64_t integer = 0;      // integers, booleans
  std::vector<RespValue> items;  // arrays, maps (2 per entry), pushes

  bool is_error() const { return type == Type::Error; }
};

struct RespLimits {
  std::size_t max_bulk = 64 << 20;       // bytes of one string
  std::size_t max_elements = 1 << 20;    // elements of one aggregate
  std::size_t max_depth = 16;            // aggregates inside aggregates
  std::size_t max_line = 64 << 10;       // a header or simple line, CRLF excluded
  std::size_t max_buffered = 128 << 20;  // bytes fed and not yet consumed
};

class RespReader {
 public:
  explicit RespReader(RespLimits limits = {}) : limits_(limits) {}

  // Appends bytes read from the connection.
  void feed(std::string_view bytes);
  // The next complete reply; nullopt while it is not all here. An Error (Rc::Unavailable)
  // when the bytes break the protocol or a limit; every later call answers the same.
  std::optional<Result<RespValue>> next();
  // Bytes fed and not consumed yet.
  std::size_t buffered() const { return buffer_.size() - pos_; }

 private:
  // Parses one value at `at` in buffer_; nullopt when more bytes are needed. Advances `at`.
  std::optional<Result<RespValue>> parse(std::size_t& at, std::size_t depth);
  // The line at `at` up to CRLF (excluded); nullopt when the CRLF is not here yet.
  std::optional<Result<std::string_view>> line(std::size_t& at);
  Error fail(std::string why);

  const RespLimits limits_;
  std::string buffer_;
  std::size_t pos_ = 0;  // start of the first reply not answered yet
  std::optional<Error> broken_;
};

// "*<n>\r\n" then "$<len>\r\n<arg>\r\n" per argument.
std::string encode_command(const std::vector<std::string_view>& args);

}  // namespace rtm::redis
