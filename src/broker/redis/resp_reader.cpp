// RESP2/RESP3 replies from a byte stream (resp_reader.hpp). A reply that is not all here yet
// is parsed again from its start when more bytes come: replies of the engines are small
// (a status, an id, a short array), so keeping no partial state keeps the parser simple.
#include "broker/redis/resp_reader.hpp"

#include <charconv>
#include <limits>

namespace rtm::redis {

namespace {

// A RESP integer: an optional '-', then 1-19 digits, within int64.
std::optional<std::int64_t> parse_int(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  if (s[0] == '+') return std::nullopt;  // from_chars refuses it anyway; stated for the reader
  return v;
}

}  // namespace

void RespReader::feed(std::string_view bytes) {
  if (broken_) return;
  // Consumed bytes are dropped once they are most of the buffer: the copy stays linear.
  if (pos_ > 0 && pos_ >= buffer_.size() / 2) {
    buffer_.erase(0, pos_);
    pos_ = 0;
  }
  if (buffered() + bytes.size() > limits_.max_buffered) {
    broken_ = fail("more than " + std::to_string(limits_.max_buffered) +
                   " bytes buffered without a complete reply");
    return;
  }
  buffer_.append(bytes);
}

Error RespReader::fail(std::string why) {
  return make_error(Rc::Unavailable, "redis: protocol error: " + why);
}

std::optional<Result<RespValue>> RespReader::next() {
  if (broken_) return Result<RespValue>(*broken_);
  std::size_t at = pos_;
  auto value = parse(at, 0);
  if (!value) return std::nullopt;
  if (!*value) {
    broken_ = value->error();
    return value;
  }
  pos_ = at;
  return value;
}

std::optional<Result<std::string_view>> RespReader::line(std::size_t& at) {
  std::size_t end = buffer_.find("\r\n", at);
  if (end == std::string::npos) {
    if (buffer_.size() - at > limits_.max_line)
      return Result<std::string_view>(
          fail("a line longer than " + std::to_string(limits_.max_line) + " bytes"));
    return std::nullopt;
  }
  if (end - at > limits_.max_line)
    return Result<std::string_view>(
        fail("a line longer than " + std::to_string(limits_.max_line) + " bytes"));
  std::string_view out(buffer_.data() + at, end - at);
  if (out.find('\n') != std::string_view::npos || out.find('\r') != std::string_view::npos)
    return Result<std::string_view>(fail("a bare CR or LF inside a line"));
  at = end + 2;
  return Result<std::string_view>(out);
}

std::optional<Result<RespValue>> RespReader::parse(std::size_t& at, std::size_t depth) {
  using T = RespValue::Type;
  if (at >= buffer_.size()) return std::nullopt;
  char kind = buffer_[at];
  std::size_t cursor = at + 1;
  auto header = line(cursor);
  if (!header) return std::nullopt;
  if (!*header) return Result<RespValue>(header->error());
  std::string_view h = **header;
  RespValue v;

  switch (kind) {
    case '+':
    case '-':
      v.type = kind == '+' ? T::SimpleString : T::Error;
      v.text = std::string(h);
      at = cursor;
      return Result<RespValue>(std::move(v));
    case ':': {
      auto n = parse_int(h);
      if (!n) return Result<RespValue>(fail("an integer that is not one"));
      v.type = T::Integer;
      v.integer = *n;
      at = cursor;
      return Result<RespValue>(std::move(v));
    }
    case '_':
      if (!h.empty()) return Result<RespValue>(fail("a null with a payload"));
      at = cursor;
      return Result<RespValue>(std::move(v));
    case '#':
      if (h != "t" && h != "f") return Result<RespValue>(fail("a boolean that is not t or f"));
      v.type = T::Boolean;
      v.integer = h == "t" ? 1 : 0;
      at = cursor;
      return Result<RespValue>(std::move(v));
    case ',':
    case '(':
      if (h.empty()) return Result<RespValue>(fail("an empty number"));
      v.type = kind == ',' ? T::Double : T::BigNumber;
      v.text = std::string(h);
      at = cursor;
      return Result<RespValue>(std::move(v));
    case '$':
    case '!':
    case '=': {
      auto n = parse_int(h);
      if (!n || *n < -1) return Result<RespValue>(fail("a bad string length"));
      if (*n == -1) {
        if (kind != '$') return Result<RespValue>(fail("a null that only $ may carry"));
        at = cursor;
        return Result<RespValue>(std::move(v));
      }
      auto len = static_cast<std::uint64_t>(*n);
      if (len > limits_.max_bulk)
        return Result<RespValue>(fail("a string of " + std::to_string(len) + " bytes, over " +
                                      std::to_string(limits_.max_bulk)));
      if (buffer_.size() - cursor < len + 2) {
        if (buffered() + (len + 2 - (buffer_.size() - cursor)) > limits_.max_buffered)
          return Result<RespValue>(fail("a string larger than the buffer may hold"));
        return std::nullopt;
      }
      if (buffer_.compare(cursor + len, 2, "\r\n") != 0)
        return Result<RespValue>(fail("a string not followed by CRLF"));
      v.type = kind == '!' ? T::Error : T::BulkString;
      v.text.assign(buffer_, cursor, len);
      at = cursor + len + 2;
      return Result<RespValue>(std::move(v));
    }
    case '*':
    case '~':
    case '%':
    case '>': {
      auto n = parse_int(h);
      if (!n || *n < -1) return Result<RespValue>(fail("a bad aggregate length"));
      if (*n == -1) {
        if (kind != '*') return Result<RespValue>(fail("a null that only * may carry"));
        at = cursor;
        return Result<RespValue>(std::move(v));
      }
      if (depth + 1 > limits_.max_depth)
        return Result<RespValue>(
            fail("aggregates nested deeper than " + std::to_string(limits_.max_depth)));
      auto count = static_cast<std::uint64_t>(*n);
      if (kind == '%') {
        if (count > limits_.max_elements / 2)
          return Result<RespValue>(fail("a map of " + std::to_string(count) + " entries"));
        count *= 2;
      } else if (count > limits_.max_elements) {
        return Result<RespValue>(fail("an aggregate of " + std::to_string(count) + " elements"));
      }
      v.type = kind == '%' ? T::Map : kind == '>' ? T::Push : T::Array;
      // Each element takes at least 3 bytes ("_\r\n"): a count the bytes cannot hold yet
      // reserves nothing.
      if (count <= (buffer_.size() - cursor) / 3) v.items.reserve(count);
      for (std::uint64_t i = 0; i < count; ++i) {
        auto item = parse(cursor, depth + 1);
        if (!item) return std::nullopt;
        if (!*item) return item;
        v.items.push_back(std::move(**item));
      }
      at = cursor;
      return Result<RespValue>(std::move(v));
    }
    default:
      return Result<RespValue>(
          fail("an unknown type byte " + std::to_string(static_cast<unsigned char>(kind))));
  }
}

std::string encode_command(const std::vector<std::string_view>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (auto a : args) {
    out += '$';
    out += std::to_string(a.size());
    out += "\r\n";
    out.append(a);
    out += "\r\n";
  }
  return out;
}

}  // namespace rtm::redis
